"""BERT with Hugging Face transformers' module names, so its checkpoints (config.json +
model.safetensors) load by name:

    embeddings.{word,position,token_type}_embeddings, embeddings.LayerNorm
    encoder.layer.N.attention.self.{query,key,value}, encoder.layer.N.attention.output.{dense,LayerNorm}
    encoder.layer.N.intermediate.dense, encoder.layer.N.output.{dense,LayerNorm}
    pooler.dense
    BertForMaskedLM:               bert.*, cls.predictions.transform.{dense,LayerNorm},
                                   cls.predictions.decoder (weight tied to the word embeddings, bias
                                   tied to cls.predictions.bias)
    BertForSequenceClassification: bert.*, classifier

Loading follows transformers: a BertModel checkpoint loads into BertForX (the head starts fresh)
and a BertForX checkpoint into BertModel (the "bert." prefix is stripped, the head is unused);
what was missing or unused is reported as a warning (and by `output_loading_info=True`).
Outputs are `ModelOutput`s with transformers' field names. Attention is one fused
`F.scaled_dot_product_attention` per layer with the additive padding mask.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass

import numpy as np

from .. import dtypes, nn
from ..nn import functional as F
from ..tensor import Tensor
from ._base import ZooModel
from ._outputs import ModelOutput
from ._registry import register_model

__all__ = ["BertConfig", "BertModel", "BertForMaskedLM", "BertForSequenceClassification", "BertPreTrainedModel"]

# transformers' ACT2FN names for the feed-forward activation
_ACTS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: F.gelu(x, approximate="tanh"),
    "relu": lambda x: F.relu(x),
    "silu": lambda x: F.silu(x),
    "swish": lambda x: F.silu(x),
    "tanh": lambda x: x.tanh(),
    "quick_gelu": lambda x: x * (1.702 * x).sigmoid(),
}
_PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")
_ARCH_TASKS = {"BertModel": "base", "BertForMaskedLM": "masked_lm", "BertForPreTraining": "masked_lm",
               "BertForSequenceClassification": "sequence_classification"}


@dataclass
class BertConfig:
    """transformers' BertConfig fields (defaults: bert-base-uncased). `from_pretrained(dir)` reads
    a config.json; unknown keys there are ignored."""

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    position_embedding_type: str = "absolute"
    classifier_dropout: float | None = None
    num_labels: int = 2
    problem_type: str | None = None
    tie_word_embeddings: bool = True

    def __post_init__(self):
        def bad(arg, got, want):
            return ValueError(f"BertConfig: {arg} must be {want}, got {got!r}")

        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise bad(name, v, "an int >= 1")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size ({self.hidden_size}) must be a multiple of "
                             f"num_attention_heads ({self.num_attention_heads})")
        if self.hidden_act not in _ACTS:
            raise bad("hidden_act", self.hidden_act, f"one of {sorted(_ACTS)}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise bad(name, v, "a probability in [0, 1]")
        if self.position_embedding_type != "absolute":
            raise bad("position_embedding_type", self.position_embedding_type, "'absolute' (the only kind supported)")
        if not isinstance(self.num_labels, int) or isinstance(self.num_labels, bool) or self.num_labels < 0:
            raise bad("num_labels", self.num_labels, "an int >= 0")
        if self.problem_type not in _PROBLEM_TYPES:
            raise bad("problem_type", self.problem_type, f"one of {_PROBLEM_TYPES}")
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise bad("pad_token_id", self.pad_token_id, f"None or an id in [0, vocab_size={self.vocab_size})")
        if not (isinstance(self.layer_norm_eps, (int, float)) and self.layer_norm_eps > 0):
            raise bad("layer_norm_eps", self.layer_norm_eps, "a number > 0")

    @classmethod
    def from_dict(cls, d: dict, **overrides) -> "BertConfig":
        d = dict(d)
        model_type = d.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"BertConfig: config.json describes a {model_type!r} model, not 'bert'")
        for flag in ("is_decoder", "add_cross_attention"):
            if d.get(flag):
                raise ValueError(f"BertConfig: {flag}=True (BERT as a decoder) is not supported")
        if "num_labels" not in d and isinstance(d.get("id2label"), dict):
            d["num_labels"] = len(d["id2label"])
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - fields
        if unknown:
            raise TypeError(f"BertConfig: unknown argument(s) {sorted(unknown)}; the fields are {sorted(fields)}")
        return cls(**{**{k: v for k, v in d.items() if k in fields}, **overrides})

    @classmethod
    def from_pretrained(cls, path, **overrides) -> "BertConfig":
        """The config.json of a model directory (or the file itself)."""
        file = os.path.join(path, "config.json") if os.path.isdir(path) else path
        try:
            with open(file, encoding="utf-8") as f:
                d = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"BertConfig.from_pretrained: no config.json at {path}") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"BertConfig.from_pretrained: {file} is not valid JSON: {e}") from None
        return cls.from_dict(d, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---- the encoder ----------------------------------------------------------------------------

class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None, position_ids=None):
        T = input_ids.shape[1]
        x = self.word_embeddings(input_ids)  # (B, T, C)
        # Without explicit ids, the rows themselves (a slice, broadcast over the batch): the same
        # values and gradients as looking up arange(T) and zeros, without the gathers.
        if token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]
        else:
            x = x + self.token_type_embeddings(token_type_ids)
        if position_ids is None:
            x = x + self.position_embeddings.weight[:T]
        else:
            x = x + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(self, x, mask=None):
        B, T, C = x.shape
        H, D = self.num_attention_heads, self.attention_head_size
        q = self.query(x).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = self.key(x).view(B, T, H, D).transpose(1, 2)
        v = self.value(x).view(B, T, H, D).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout_p if self.training else 0.0)  # (B, H, T, D)
        return y.transpose(1, 2).reshape(B, T, C)


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, x, mask=None):
        return self.output(self.self(x, mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.hidden_act = config.hidden_act

    def forward(self, x):
        return _ACTS[self.hidden_act](self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertLayer(nn.Module):
    """Post-norm block: x = LN(x + attn(x)); x = LN(x + ffn(x))."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, x, mask=None):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, x, mask=None):
        for block in self.layer:
            x = block(x, mask)
        return x


class BertPooler(nn.Module):
    """tanh(dense(hidden state of the first token, [CLS]))."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):
        return self.dense(hidden[:, 0]).tanh()


# ---- shared: config, init, inputs, loading ---------------------------------------------------

class BertPreTrainedModel(ZooModel):
    """What the three models share: the config, transformers' initialisation, input checks and
    checkpoint loading (`from_pretrained`, `remap_state_dict`)."""

    base_model_prefix = "bert"
    default_cfg = dict(classifier=None, family="bert")

    def __init__(self, config: BertConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = BertConfig(**kwargs)
        elif kwargs:
            config = dataclasses.replace(config, **kwargs)
        if not isinstance(config, BertConfig):
            raise TypeError(f"{type(self).__name__}: config must be a BertConfig, got {type(config).__name__}")
        self.config = config

    def _init_weights(self, modules=None):
        """transformers' init: N(0, initializer_range) for Linear and Embedding weights, zero
        biases and padding row, LayerNorm 1/0 (over `modules`, by default all of them)."""
        from ..nn import init

        std = self.config.initializer_range

        for m in (self.modules() if modules is None else modules):
            if isinstance(m, nn.Linear):
                init.normal_(m.weight, 0.0, std)
                if m.bias is not None:
                    init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                init.normal_(m.weight, 0.0, std)
                if m.padding_idx is not None:
                    m.weight._data[m.padding_idx] = 0
            elif isinstance(m, nn.LayerNorm):
                init.ones_(m.weight)
                init.zeros_(m.bias)

    @property
    def device(self):
        return next(self.parameters()).device

    # -- inputs --
    def _as_ids(self, x, arg: str, required: bool = False):
        """input_ids / token_type_ids / position_ids as an int Tensor on the model's device."""
        who = type(self).__name__
        if x is None:
            if required:
                raise ValueError(f"{who}: {arg} is required (token ids of shape (batch, seq_len))")
            return None
        if not isinstance(x, Tensor):
            try:
                arr = np.asarray(x)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{who}: {arg} must be a Tensor or an int array, got {type(x).__name__}: {e}") from None
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{who}: {arg} must hold integer ids, got dtype {arr.dtype}")
            x = Tensor(arr.astype(np.int64)).to(self.device)
        elif x.dtype not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"{who}: {arg} must hold integer ids (int64), got dtype {x.dtype}")
        if x.ndim == 1:
            x = x.unsqueeze(0)  # one sequence
        if x.ndim != 2:
            raise ValueError(f"{who}: {arg} must have shape (batch, seq_len), got {tuple(x.shape)}")
        if x.device != self.device:
            raise ValueError(f"{who}: {arg} is on {x.device} but the model is on {self.device}; "
                             f"move it with .to({str(self.device)!r})")
        return x

    def _extended_mask(self, attention_mask, like: Tensor):
        """(B, T) or (B, T, T) 1 = attend / 0 = padding → the additive (B, 1, 1|T, T) mask that
        transformers builds: 0 where attended, the dtype's most negative value elsewhere.
        None when every position is attended (the unmasked kernel)."""
        who = type(self).__name__
        if attention_mask is None:
            return None
        m = attention_mask
        if not isinstance(m, Tensor):
            m = Tensor(np.asarray(m)).to(self.device)
        B, T = like.shape[:2]
        if tuple(m.shape) not in ((B, T), (B, T, T)):
            raise ValueError(f"{who}: attention_mask must have shape (batch, seq_len) = {(B, T)} or "
                             f"(batch, seq_len, seq_len), got {tuple(m.shape)}")
        if m.device != self.device:
            raise ValueError(f"{who}: attention_mask is on {m.device} but the model is on {self.device}")
        if isinstance(m._data, np.ndarray) and bool((m._data != 0).all()):
            return None
        keep = (m != 0).to(like.dtype)
        add = (1.0 - keep) * float(np.finfo(like._data.dtype).min)
        return add.reshape(B, 1, 1, T) if m.ndim == 2 else add.reshape(B, 1, T, T)

    def _encode(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None):
        """(B, T, C) hidden states of the last layer."""
        bert = self if isinstance(self, BertModel) else self.bert
        ids = self._as_ids(input_ids, "input_ids", required=True)
        B, T = ids.shape
        if T > bert.config.max_position_embeddings:
            raise ValueError(f"{type(self).__name__}: input_ids has sequence length {T} but max_position_embeddings "
                             f"is {bert.config.max_position_embeddings}; truncate the input (tokenizer "
                             f"truncation=True, max_length=...)")
        types = self._as_ids(token_type_ids, "token_type_ids")
        pos = self._as_ids(position_ids, "position_ids")
        for name, t in (("token_type_ids", types), ("position_ids", pos)):
            if t is not None and tuple(t.shape) != (B, T) and not (name == "position_ids" and tuple(t.shape) == (1, T)):
                raise ValueError(f"{type(self).__name__}: {name} must have the shape of input_ids {(B, T)}, "
                                 f"got {tuple(t.shape)}")
        x = bert.embeddings(ids, types, pos)
        mask = self._extended_mask(attention_mask, x)
        return bert.encoder(x, mask)

    # -- loading --
    @classmethod
    def config_from_pretrained(cls, path) -> dict:
        """Factory arguments from a model directory's config.json (create_model merges them)."""
        cfg = BertConfig.from_pretrained(path).to_dict()
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            archs = json.load(f).get("architectures") or []
        task = next((_ARCH_TASKS[a] for a in archs if a in _ARCH_TASKS), None)
        return {**cfg, **({"task": task} if task else {})}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *, output_loading_info: bool = False, **config_overrides):
        """Build from a Hugging Face model directory (config.json + model.safetensors / pytorch_model.bin)
        or a known name (`fg.models.known_pretrained()`, e.g. "all-MiniLM-L6-v2"), as transformers'
        `from_pretrained`. Keyword arguments override config fields (e.g. num_labels=3: a fresh
        classifier of that size). Returns the model in eval mode; with output_loading_info also a dict
        of missing_keys / unexpected_keys (as transformers)."""
        from . import _pretrained

        source = _pretrained.resolve(pretrained_model_name_or_path)
        if not source.is_dir:
            raise ValueError(f"{cls.__name__}.from_pretrained: expected a model directory with config.json, got the "
                             f"file {source.path}; use create_model(..., pretrained=file) or load_state_dict for a "
                             f"bare weights file")
        config = BertConfig.from_pretrained(source.path, **config_overrides)
        with nn.init.no_init_weights():  # the checkpoint overwrites nearly everything: draw only what it lacks
            model = cls(config)
        new_head = _pretrained.load_pretrained(model, source, keep_new_classifier="num_labels" in config_overrides,
                                               report=True)
        model.eval()
        info = getattr(model, "_loading_info", {"missing_keys": [], "unexpected_keys": []})
        head = model.default_cfg.get("classifier")
        fresh = [k for k, _ in model.named_parameters() if new_head and k.startswith(f"{head}.")]
        if fresh:
            warnings.warn(f"Some weights of {cls.__name__} were not initialized from the checkpoint and are newly "
                          f"initialized because the shapes did not match: {fresh}. You should probably train this "
                          "model on a down-stream task.", stacklevel=2)
        model._init_missing(list(dict.fromkeys(info["missing_keys"] + fresh)))
        return (model, info) if output_loading_info else model

    def _init_missing(self, keys) -> None:
        """Initialise only the parameters a checkpoint did not hold (a new head), as transformers;
        a whole module is not redrawn, since one of its weights may be tied to a loaded one."""
        from ..nn import init

        for key in keys:
            owner, _, leaf = key.rpartition(".")
            module = self.get_submodule(owner) if owner else self
            param = getattr(module, leaf)
            if isinstance(module, nn.LayerNorm) and leaf == "weight":
                init.ones_(param)
            elif leaf == "weight" and isinstance(module, (nn.Linear, nn.Embedding)):
                init.normal_(param, 0.0, self.config.initializer_range)
                if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                    param._data[module.padding_idx] = 0
            else:  # biases, and bare ones such as cls.predictions.bias
                init.zeros_(param)

    @staticmethod
    def remap_state_dict(sd: dict, model) -> dict:
        """Adapt a transformers checkpoint to `model`, as transformers' loader does: old
        LayerNorm gamma/beta names, the "bert." prefix added or stripped, tied decoder weights
        filled in, buffers it no longer stores (position_ids) dropped. A head the checkpoint
        lacks keeps the model's fresh initialisation, and checkpoint entries the model has no
        place for are dropped; both are reported (a warning, and `model._loading_info`)."""
        own = dict(model.state_dict())
        prefix = model.base_model_prefix + "." if not isinstance(model, BertModel) else ""
        out = {}
        for k, v in sd.items():
            k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            if prefix and not k.startswith(prefix) and _is_backbone_key(k):
                k = prefix + k  # a BertModel checkpoint into BertForX
            elif not prefix and k.startswith("bert."):
                k = k[len("bert."):]  # a BertForX checkpoint into BertModel
            out[k] = v
        ignored = [k for k in out if k.endswith("embeddings.position_ids") or k.endswith("embeddings.token_type_ids")]
        for k in ignored:
            out.pop(k)
        tied = {"cls.predictions.decoder.weight": prefix + "embeddings.word_embeddings.weight",
                "cls.predictions.decoder.bias": "cls.predictions.bias"}
        for k, src in tied.items():
            if k in own and k not in out and src in out:
                out[k] = out[src]
        backbone = [k for k in own if k.startswith(prefix) and _is_backbone_key(k[len(prefix):])]
        if backbone and not any(k in out for k in backbone):
            raise ValueError(f"{type(model).__name__}: the checkpoint has none of the model's weights (its keys "
                             f"look like {sorted(sd)[:4]}, the model's like {backbone[:4]}); is it a BERT checkpoint?")
        missing = [k for k in own if k not in out]
        unexpected = [k for k in out if k not in own]
        for k in missing:  # keep the fresh initialisation, as transformers does
            out[k] = own[k]._data if isinstance(own[k]._data, np.ndarray) else own[k].numpy()
        for k in unexpected:
            out.pop(k)
        name = type(model).__name__
        if unexpected:
            warnings.warn(f"Some weights of the checkpoint were not used when initializing {name}: {unexpected}",
                          stacklevel=4)
        if missing:
            warnings.warn(f"Some weights of {name} were not initialized from the checkpoint and are newly "
                          f"initialized: {missing}. You should probably train this model on a down-stream task.",
                          stacklevel=4)
        model.__dict__["_loading_info"] = {"missing_keys": missing, "unexpected_keys": unexpected,
                                          "mismatched_keys": [], "error_msgs": []}
        return out

    def save_pretrained(self, save_directory) -> None:
        """config.json + model.safetensors that transformers' from_pretrained reads (tied
        decoder weights are not stored, as transformers does)."""
        from safetensors.numpy import save_file

        os.makedirs(save_directory, exist_ok=True)
        arch = type(self).__name__
        cfg = {**self.config.to_dict(), "model_type": "bert", "architectures": [arch]}
        with open(os.path.join(save_directory, "config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
        skip = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"} if self.config.tie_word_embeddings \
            else set()
        arrays = {k: np.ascontiguousarray(v.numpy()) for k, v in self.state_dict().items() if k not in skip}
        save_file(arrays, os.path.join(save_directory, "model.safetensors"), metadata={"format": "pt"})


def _is_backbone_key(k: str) -> bool:
    return k.startswith(("embeddings.", "encoder.", "pooler."))


# ---- the three models ------------------------------------------------------------------------

class BertModel(BertPreTrainedModel):
    """The encoder: forward(input_ids, attention_mask=None, token_type_ids=None, position_ids=None)
    → ModelOutput(last_hidden_state (B, T, C), pooler_output (B, C) when add_pooling_layer)."""

    def __init__(self, config: BertConfig | None = None, add_pooling_layer: bool = True, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.num_features = config.hidden_size
        self._init_weights()

    def forward_features(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None):
        return self._encode(input_ids, attention_mask, token_type_ids, position_ids)

    def forward_head(self, x, pre_logits: bool = False):
        """The pooled [CLS] vector (the first token's hidden state when there is no pooler)."""
        return self.pooler(x) if self.pooler is not None else x[:, 0]

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, return_dict=True):
        h = self._encode(input_ids, attention_mask, token_type_ids, position_ids)
        out = ModelOutput(last_hidden_state=h, pooler_output=self.pooler(h) if self.pooler is not None else None)
        return out if return_dict else out.to_tuple()

    def layer_groups(self):
        return _groups(self)


class BertForMaskedLM(BertPreTrainedModel):
    """BERT + the masked-language-model head; forward(..., labels=None) → ModelOutput(loss
    (labels given; -100 = ignored), logits (B, T, vocab_size))."""

    def __init__(self, config: BertConfig | None = None, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        if config.tie_word_embeddings:
            self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight
        self.cls.predictions.decoder.bias = self.cls.predictions.bias
        self.num_features = config.hidden_size
        self._init_weights()

    def _init_weights(self, modules=None):
        super()._init_weights(modules)
        if modules is None:
            from ..nn import init

            init.zeros_(self.cls.predictions.bias)

    def forward_features(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None):
        return self._encode(input_ids, attention_mask, token_type_ids, position_ids)

    def forward_head(self, x, pre_logits: bool = False):
        p = self.cls.predictions
        x = p.transform(x)
        return x if pre_logits else p.decoder(x)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                return_dict=True):
        logits = self.forward_head(self._encode(input_ids, attention_mask, token_type_ids, position_ids))
        loss = None
        if labels is not None:
            labels = self._as_ids(labels, "labels")
            loss = F.cross_entropy(logits.reshape(-1, self.config.vocab_size), labels.reshape(-1))
        out = ModelOutput(loss=loss, logits=logits)
        return out if return_dict else out.to_tuple()

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def layer_groups(self):
        return _groups(self.bert, head=[self.cls])


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.hidden_act = config.hidden_act

    def forward(self, x):
        return self.LayerNorm(_ACTS[self.hidden_act](self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        from .. import zeros

        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(zeros(config.vocab_size))

    def forward(self, x):
        return self.decoder(self.transform(x))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, x):
        return self.predictions(x)


class BertForSequenceClassification(BertPreTrainedModel):
    """BERT + dropout + a Linear on the pooled [CLS] vector. forward(..., labels=None) →
    ModelOutput(loss, logits (B, num_labels)); the loss is transformers' choice: MSE for
    num_labels == 1, cross-entropy for integer labels, BCE-with-logits otherwise (or
    config.problem_type)."""

    default_cfg = dict(classifier="classifier", family="bert")

    def __init__(self, config: BertConfig | None = None, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config
        self.bert = BertModel(config)
        p = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.num_classes = config.num_labels
        self.num_features = config.hidden_size
        self._init_weights()

    def forward_features(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None):
        return self._encode(input_ids, attention_mask, token_type_ids, position_ids)

    def forward_head(self, x, pre_logits: bool = False):
        pooled = self.dropout(self.bert.pooler(x))
        return pooled if pre_logits else self.classifier(pooled)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                return_dict=True):
        logits = self.forward_head(self._encode(input_ids, attention_mask, token_type_ids, position_ids))
        loss = self._loss(logits, labels) if labels is not None else None
        out = ModelOutput(loss=loss, logits=logits)
        return out if return_dict else out.to_tuple()

    def _loss(self, logits, labels):
        if not isinstance(labels, Tensor):
            labels = Tensor(np.asarray(labels)).to(self.device)
        n = self.config.num_labels
        problem = self.config.problem_type
        if problem is None:
            if n == 1:
                problem = "regression"
            elif labels.dtype in (dtypes.int32, dtypes.int64):
                problem = "single_label_classification"
            else:
                problem = "multi_label_classification"
            self.config.problem_type = problem  # as transformers: decided once, on the first labels
        if problem == "regression":
            labels = labels.to(logits.dtype)
            return F.mse_loss(logits.squeeze(), labels.squeeze()) if n == 1 else F.mse_loss(logits, labels)
        if problem == "single_label_classification":
            return F.cross_entropy(logits.reshape(-1, n), labels.reshape(-1))
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))

    def reset_classifier(self, num_classes: int) -> None:
        super().reset_classifier(num_classes)
        self.config.num_labels = num_classes

    def layer_groups(self):
        return _groups(self.bert, head=[self.classifier])


def _groups(bert: BertModel, head=()):
    """embeddings, layer.0 … layer.N-1, head (pooler + the task head): bottom → top."""
    groups = [("embeddings", [bert.embeddings])]
    groups += [(f"layer.{i}", [block]) for i, block in enumerate(bert.encoder.layer)]
    top = ([bert.pooler] if bert.pooler is not None else []) + list(head)
    if top:
        groups.append(("head", top))
    return groups


# ---- registered sizes ------------------------------------------------------------------------

_TASKS = {"base": BertModel, "masked_lm": BertForMaskedLM, "sequence_classification": BertForSequenceClassification}


def _bert(preset: dict, num_classes=None, task=None, **kwargs):
    """The model for `task` ("base", "masked_lm", "sequence_classification"); num_classes implies
    a sequence classifier with that many labels (create_model's num_classes)."""
    if num_classes is not None:
        task = "sequence_classification"
        kwargs["num_labels"] = num_classes
    task = task or "base"
    if task not in _TASKS:
        raise ValueError(f"bert: task must be one of {sorted(_TASKS)}, got {task!r}")
    fields = {f.name for f in dataclasses.fields(BertConfig)}
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k not in fields}
    config = BertConfig(**{**preset, **kwargs})
    if extra and not (task == "base" and set(extra) <= {"add_pooling_layer"}):
        raise TypeError(f"bert: unknown argument(s) {sorted(extra)}; BertConfig's fields are {sorted(fields)}")
    return _TASKS[task](config, **extra)


@register_model
def bert_base_uncased(**kwargs) -> BertModel:
    """BERT-base (12 layers, 768 wide, 12 heads; transformers' names; random init unless pretrained)."""
    return _bert(dict(), **kwargs)


@register_model
def bert_large_uncased(**kwargs) -> BertModel:
    """BERT-large (24 layers, 1024 wide, 16 heads; random init unless pretrained)."""
    return _bert(dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
                 **kwargs)


@register_model
def bert_tiny(**kwargs) -> BertModel:
    """BERT-tiny (2 layers, 128 wide, 2 heads: google/bert_uncased_L-2_H-128_A-2's size)."""
    return _bert(dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512), **kwargs)


@register_model
def minilm_l6(**kwargs) -> BertModel:
    """MiniLM-L6-H384 (6 layers, 384 wide, 12 heads: all-MiniLM-L6-v2's encoder size)."""
    return _bert(dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
                 **kwargs)


# The names an installed package ships ("all-MiniLM-L6-v2"), so from_pretrained / create_model find them.
from . import sentence_transformers as _sentence_transformers  # noqa: E402,F401  (imports .bert: keep last)
