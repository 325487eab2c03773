"""GPT-2-style decoder (nanoGPT's structure) with transformers' GPT2LMHeadModel state_dict names:

    transformer.wte, transformer.wpe, transformer.h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2,
    mlp.c_fc, mlp.c_proj}, transformer.ln_f, lm_head (tied to transformer.wte)

Layout: the four projections are nn.Linear, weight (out, in) as in nanoGPT. transformers stores
them as Conv1D, weight (in, out); `remap_state_dict` transposes them on load (as nanoGPT's
from_pretrained does), so a GPT2LMHeadModel checkpoint, the hub's GPT2Model checkpoint (no
"transformer." prefix, old attn.bias / attn.masked_bias mask buffers) and a nanoGPT checkpoint
(Linear layout, maybe "_orig_mod." from torch.compile) all load by name. Our state_dict() has the
same names as GPT2LMHeadModel's and the same shapes except those four weights, transposed.

Outputs follow transformers: `model(input_ids, labels=ids)` returns ModelOutput(loss=, logits=),
loss on shifted labels (position t predicts labels[t + 1]; -100 ignored). nanoGPT's
`model(idx, targets)` is kept (unshifted targets, -1 ignored) but note the order: ModelOutput
unpacks as (loss, logits), the fields that are set in transformers' order, so nanoGPT's
`logits, loss = model(x, y)` must be written `out = model(x, y); out.logits, out.loss`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields

import numpy as np

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor
from ._base import ZooModel
from ._outputs import ModelOutput
from ._registry import register_model

# transformers' activation_function names -> F call (gelu_new is GPT-2's tanh approximation).
_ACTS = {
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: F.gelu(x, approximate="tanh"),
    "gelu": F.gelu,
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}
_CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


@dataclass
class GPTConfig:
    """nanoGPT's config plus what GPT2Config adds; `n_positions` is an alias of `block_size`."""

    vocab_size: int = 50257
    block_size: int = 1024          # transformers: n_positions
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None      # MLP width; None = 4 * n_embd
    dropout: float = 0.0            # embeddings, attention weights and residual branches
    bias: bool = True               # biases in Linear and LayerNorm (nanoGPT's option; GPT-2 has them)
    layer_norm_epsilon: float = 1e-5
    activation_function: str = "gelu_new"
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    tie_word_embeddings: bool = True

    @property
    def n_positions(self) -> int:
        return self.block_size

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_embd", "n_layer", "n_head"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"GPTConfig: {name} must be an int >= 1, got {v!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.n_inner is not None and (not isinstance(self.n_inner, int) or self.n_inner < 1):
            raise ValueError(f"GPTConfig: n_inner must be None or an int >= 1, got {self.n_inner!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout!r}")
        if self.activation_function not in _ACTS:
            raise ValueError(f"GPTConfig: activation_function must be one of {sorted(_ACTS)}, "
                             f"got {self.activation_function!r}")


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one fused qkv projection, then F.scaled_dot_product_attention."""

    def __init__(self, config: GPTConfig, layer_idx: int = 0):
        super().__init__()
        C = config.n_embd
        self.c_attn = nn.Linear(C, 3 * C, bias=config.bias)
        self.c_proj = nn.Linear(C, C, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.dropout = config.n_head, config.dropout
        hs = C // config.n_head
        self.scale = (hs ** -0.5 if config.scale_attn_weights else 1.0)
        if config.scale_attn_by_inverse_layer_idx:
            self.scale /= layer_idx + 1

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        p = self.dropout if self.training else 0.0
        if attn_mask is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True, scale=self.scale)
        else:  # padding: causal and key mask combined by the caller, (B, 1, T, T) bool
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=p, scale=self.scale)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = nn.Linear(config.n_embd, inner, bias=config.bias)
        self.c_proj = nn.Linear(inner, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        self.act = _ACTS[config.activation_function]

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig, layer_idx: int = 0):
        super().__init__()
        eps = config.layer_norm_epsilon
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=eps, bias=config.bias)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=eps, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, attn_mask=None):
        x = x + self.attn(self.ln_1(x), attn_mask)
        return x + self.mlp(self.ln_2(x))


class GPT(ZooModel):
    """GPT-2 language model. forward(input_ids) -> ModelOutput(logits (B, T, vocab_size)); with
    `labels` (transformers, shifted) or `targets` (nanoGPT, unshifted) also `.loss`."""

    default_cfg = dict(classifier="lm_head", family="gpt")

    def __init__(self, config: GPTConfig | None = None, num_classes: int | None = None, *,
                 init_weights: bool = True, **kwargs):
        super().__init__()
        if config is None:
            config = _make_config(type(self).__name__, kwargs)
        elif kwargs:
            raise TypeError(f"GPT: pass either a GPTConfig or keyword arguments, not both (got {sorted(kwargs)})")
        self.config = config
        C = config.n_embd
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, C),
            wpe=nn.Embedding(config.block_size, C),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config, i) for i in range(config.n_layer)]),
            ln_f=nn.LayerNorm(C, eps=config.layer_norm_epsilon, bias=config.bias),
        ))
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.transformer.wte.weight  # one Parameter under both names
        self.num_features = C
        if init_weights:  # from_pretrained skips GPT-2's init: every weight is overwritten
            self._init_weights()
        if num_classes is not None:
            self.reset_classifier(num_classes)

    def _init_weights(self):
        # GPT-2 / nanoGPT: N(0, 0.02) weights, zero biases; residual projections scaled by 1/sqrt(2 n_layer).
        std = 0.02
        for name, m in self.named_modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                s = std / math.sqrt(2 * self.config.n_layer) if name.endswith("c_proj") else std
                nn.init.normal_(m.weight, mean=0.0, std=s)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    # ---- forward ---------------------------------------------------------------------------
    def forward_features(self, input_ids, attention_mask=None, position_ids=None):
        """Hidden states after ln_f, (B, T, n_embd)."""
        B, T = self._check_ids(input_ids, "input_ids")
        if position_ids is None:
            from .. import arange

            pos = arange(T, device=input_ids.device)  # (T,)
        else:
            self._check_ids(position_ids, "position_ids", limit=self.config.block_size, shape=(B, T))
            pos = position_ids
        mask = None if attention_mask is None else self._attn_mask(attention_mask, B, T)
        try:
            tok = self.transformer.wte(input_ids)  # (B, T, C)
        except IndexError as e:  # the embedding checks the range on every device; say which argument
            raise type(e)(f"GPT.forward: input_ids must be token ids in [0, vocab_size={self.config.vocab_size}): "
                          f"{e}") from None
        x = self.transformer.drop(tok + self.transformer.wpe(pos))  # (B, T, C)
        for block in self.transformer.h:
            x = block(x, mask)
        return self.transformer.ln_f(x)

    def forward_head(self, features, pre_logits: bool = False):
        return features if pre_logits else self.lm_head(features)

    def forward(self, input_ids, targets=None, *, labels=None, attention_mask=None, position_ids=None):
        """input_ids (B, T) int -> ModelOutput(loss=, logits=(B, T, vocab_size)).

        labels (transformers): loss of logits[:, :-1] against labels[:, 1:], -100 ignored.
        targets (nanoGPT): loss of logits against targets at the same position, -1 ignored.
        attention_mask (B, T) of 0/1: padded keys take no part; position_ids (B, T) default 0..T-1."""
        if labels is not None and targets is not None:
            raise ValueError("GPT.forward: pass labels (shifted, transformers) or targets (unshifted, nanoGPT), "
                             "not both")
        logits = self.lm_head(self.forward_features(input_ids, attention_mask, position_ids))  # (B, T, V)
        loss = None
        if labels is not None:
            self._check_targets(labels, input_ids, "labels")
            V = logits.shape[-1]
            loss = F.cross_entropy(logits[:, :-1, :].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
        elif targets is not None:
            self._check_targets(targets, input_ids, "targets")
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
        return ModelOutput(loss=loss, logits=logits)

    # ---- generation ------------------------------------------------------------------------
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 *, generator=None):
        """Append `max_new_tokens` tokens to idx (B, T), as nanoGPT: the context is cropped to the
        last block_size tokens; logits / temperature, only the top_k kept, one multinomial draw
        (with `generator`, a fg.Generator, for a reproducible stream). temperature=0 is greedy
        (argmax), equal to transformers' generate(do_sample=False). Runs without gradients and in
        the current mode: call model.eval() first when dropout > 0 (from_pretrained already does)."""
        from .. import argmax, cat, multinomial, no_grad, softmax, topk, where

        self._check_ids(idx, "idx", check_len=False, who="GPT.generate")
        if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or max_new_tokens < 0:
            raise ValueError(f"GPT.generate: max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature >= 0:
            raise ValueError(f"GPT.generate: temperature must be a number >= 0 (0 = greedy), got {temperature!r}")
        if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1):
            raise ValueError(f"GPT.generate: top_k must be None or an int >= 1, got {top_k!r}")
        with no_grad():
            for _ in range(max_new_tokens):
                ctx = idx if idx.shape[1] <= self.config.block_size else idx[:, -self.config.block_size:]
                logits = self.lm_head(self.forward_features(ctx)[:, -1, :])  # (B, V): only the last position
                if temperature == 0:
                    nxt = argmax(logits, dim=-1, keepdim=True)  # (B, 1)
                else:
                    logits = logits / temperature
                    if top_k is not None:
                        kth = topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]  # (B, 1)
                        logits = where(logits < kth, float("-inf"), logits)
                    nxt = multinomial(softmax(logits, dim=-1), 1, generator=generator)  # (B, 1)
                idx = cat((idx, nxt.to(idx.dtype)), dim=1)
        return idx

    # ---- zoo API ---------------------------------------------------------------------------
    def layer_groups(self):
        """embeddings (wte, wpe), h.0 .. h.{n_layer-1}, head (ln_f, and lm_head when not tied: a tied
        lm_head is the embedding matrix, which belongs to the embeddings group)."""
        t = self.transformer
        head = [t.ln_f] + ([] if self._tied() else [self.lm_head])
        return ([("embeddings", [t.wte, t.wpe])] + [(f"h.{i}", [b]) for i, b in enumerate(t.h)]
                + [("head", head)])

    def reset_classifier(self, num_classes: int) -> None:
        """Replace lm_head by a fresh, untied Linear(n_embd, num_classes, bias=False): a new output
        vocabulary or a per-token classifier; 0 gives nn.Identity (forward's logits are then the
        ln_f hidden states). The input embedding (wte, vocab_size) is kept. On a tied model,
        num_classes == vocab_size keeps the tie: the head already has that size, and load_pretrained
        asks for it when it does not see the shared lm_head.weight among named_parameters()."""
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
            raise ValueError(f"GPT.reset_classifier: num_classes must be an int >= 0, got {num_classes!r}")
        if self._tied() and num_classes == self.config.vocab_size:
            return
        head = nn.Linear(self.config.n_embd, num_classes, bias=False) if num_classes else nn.Identity()
        if num_classes:
            nn.init.normal_(head.weight, mean=0.0, std=0.02)
            head.to(self.transformer.wte.weight.device)
        self.lm_head = head
        self.num_classes = num_classes

    def _tied(self) -> bool:
        return getattr(self.lm_head, "weight", None) is self.transformer.wte.weight

    # ---- pretrained ------------------------------------------------------------------------
    @classmethod
    def config_from_pretrained(cls, path) -> dict:
        """GPTConfig fields from a model directory's config.json (GPT2Config names, or nanoGPT's)."""
        file = os.path.join(os.fspath(path), "config.json")
        if not os.path.isfile(file):
            raise FileNotFoundError(f"GPT.config_from_pretrained: no config.json in {os.fspath(path)!r}")
        with open(file) as f:
            cfg = json.load(f)
        kind = cfg.get("model_type", "gpt2")
        if kind != "gpt2":
            raise ValueError(f"GPT.config_from_pretrained: {file} describes a {kind!r} model, expected 'gpt2'")
        if cfg.get("add_cross_attention"):
            raise ValueError(f"GPT.config_from_pretrained: {file}: add_cross_attention=True is not supported")
        out = {}
        for ours, theirs in (("vocab_size", "vocab_size"), ("block_size", "n_positions"), ("n_embd", "n_embd"),
                             ("n_layer", "n_layer"), ("n_head", "n_head"), ("n_inner", "n_inner"),
                             ("dropout", "resid_pdrop"), ("layer_norm_epsilon", "layer_norm_epsilon"),
                             ("activation_function", "activation_function"),
                             ("scale_attn_weights", "scale_attn_weights"),
                             ("scale_attn_by_inverse_layer_idx", "scale_attn_by_inverse_layer_idx"),
                             ("tie_word_embeddings", "tie_word_embeddings")):
            for key in (theirs, ours):  # GPT2Config's name first, then nanoGPT's (block_size, dropout, bias)
                if key in cfg:
                    out[ours] = cfg[key]
                    break
        if "bias" in cfg:
            out["bias"] = cfg["bias"]
        return out

    @staticmethod
    def remap_state_dict(sd: dict, model) -> dict:
        """transformers' / nanoGPT's checkpoint names and layouts -> ours (see the module docstring)."""
        out = {}
        for k, v in sd.items():
            k = k.removeprefix("_orig_mod.")
            if k.endswith((".attn.bias", ".attn.masked_bias")) and v.ndim != 1:
                continue  # transformers' old causal-mask buffers, not parameters
            if not k.startswith(("transformer.", "lm_head.")):
                k = "transformer." + k  # the hub's GPT2Model checkpoints have no prefix
            out[k] = v
        # Conv1D stores (in, out); c_attn (in, 3 in) is never square, so its shape tells the layout.
        qkv = next((v for k, v in out.items() if k.endswith("attn.c_attn.weight")), None)
        if qkv is not None and qkv.ndim == 2 and qkv.shape[1] == 3 * qkv.shape[0]:
            out = {k: (np.ascontiguousarray(v.T) if k.endswith(_CONV1D) else v) for k, v in out.items()}
        if "lm_head.weight" not in out and model._tied() and "transformer.wte.weight" in out:
            out["lm_head.weight"] = out["transformer.wte.weight"]  # saved once, as transformers does
        return out

    @classmethod
    def from_pretrained(cls, path_or_name):
        """A GPT from a model directory (config.json + model.safetensors / pytorch_model.bin), in
        eval mode as transformers returns it."""
        from ._pretrained import load_pretrained, resolve

        source = resolve(path_or_name)
        kwargs = cls.config_from_pretrained(source.path) if source.is_dir else {}
        model = cls(init_weights=False, **kwargs)
        load_pretrained(model, source)
        return model.eval()

    # ---- checks ----------------------------------------------------------------------------
    def _check_ids(self, ids, name, check_len=True, limit=None, shape=None, who="GPT.forward"):
        if not isinstance(ids, Tensor):
            raise TypeError(f"{who}: {name} must be a Tensor of token ids (B, T), got {type(ids).__name__}")
        if not np.issubdtype(np.dtype(ids.dtype), np.integer):
            raise TypeError(f"{who}: {name} must hold integer token ids, got dtype {ids.dtype}")
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise ValueError(f"{who}: {name} must be (batch, seq_len) with seq_len >= 1, "
                             f"got shape {tuple(ids.shape)}")
        if shape is not None and tuple(ids.shape) != shape:
            raise ValueError(f"{who}: {name} must have input_ids' shape {shape}, got {tuple(ids.shape)}")
        B, T = ids.shape
        if check_len and T > self.config.block_size:
            raise ValueError(f"{who}: {name} has {T} tokens but block_size (n_positions) is "
                             f"{self.config.block_size}; crop the context to the last {self.config.block_size} "
                             f"tokens (generate does)")
        if limit is not None:
            lo, hi = ids.min().item(), ids.max().item()
            if lo < 0 or hi >= limit:
                raise ValueError(f"{who}: {name} must be in [0, {limit}), got values in [{lo}, {hi}]")
        return B, T

    def _check_targets(self, t, input_ids, name):
        if not isinstance(t, Tensor) or not np.issubdtype(np.dtype(t.dtype), np.integer):
            raise TypeError(f"GPT.forward: {name} must be an integer Tensor like input_ids, "
                            f"got {getattr(t, 'dtype', type(t).__name__)}")
        if tuple(t.shape) != tuple(input_ids.shape):
            raise ValueError(f"GPT.forward: {name} must have input_ids' shape {tuple(input_ids.shape)}, "
                             f"got {tuple(t.shape)}")

    def _attn_mask(self, attention_mask, B, T):
        from .. import ones, tril

        if not isinstance(attention_mask, Tensor) or tuple(attention_mask.shape) != (B, T):
            raise ValueError(f"GPT.forward: attention_mask must be a (B, T) = {(B, T)} Tensor of 0/1, got "
                             f"{tuple(getattr(attention_mask, 'shape', ())) or type(attention_mask).__name__}")
        causal = tril(ones(T, T, dtype=attention_mask.dtype, device=attention_mask.device)).bool()  # (T, T)
        keys = attention_mask.bool().reshape(B, 1, 1, T)  # (B, 1, 1, T): padded keys are False
        return causal.reshape(1, 1, T, T) & keys  # (B, 1, T, T)


def _make_config(who: str, kwargs: dict) -> GPTConfig:
    kwargs = dict(kwargs)
    if "n_positions" in kwargs:
        if "block_size" in kwargs and kwargs["block_size"] != kwargs["n_positions"]:
            raise ValueError(f"{who}: n_positions={kwargs['n_positions']} and block_size={kwargs['block_size']} "
                             f"disagree (they are one setting)")
        kwargs["block_size"] = kwargs.pop("n_positions")
    known = {f.name for f in fields(GPTConfig)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"{who}: unknown argument(s) {unknown}; GPTConfig fields are {sorted(known | {'n_positions'})}")
    return GPTConfig(**kwargs)


def _gpt(name: str, defaults: dict, kwargs: dict) -> GPT:
    num_classes = kwargs.pop("num_classes", None)
    return GPT(_make_config(name, {**defaults, **kwargs}), num_classes=num_classes)


def load_tokenizer(path):
    """GPT-2's byte-level BPE tokenizer of a model directory through the `tokenizers` package:
    tokenizer.json when present, else vocab.json + merges.txt."""
    path = os.fspath(path)
    try:
        import tokenizers
    except ImportError:
        raise ImportError("load_tokenizer: needs the `tokenizers` package (pip install tokenizers)") from None
    file = os.path.join(path, "tokenizer.json")
    if os.path.isfile(file):
        return tokenizers.Tokenizer.from_file(file)
    vocab, merges = os.path.join(path, "vocab.json"), os.path.join(path, "merges.txt")
    if os.path.isfile(vocab) and os.path.isfile(merges):
        return tokenizers.ByteLevelBPETokenizer(vocab, merges)
    raise FileNotFoundError(f"load_tokenizer: {path!r} has neither tokenizer.json nor vocab.json + merges.txt")


@register_model
def gpt2(**kwargs) -> GPT:
    """GPT-2 small (124 M parameters; transformers' GPT2LMHeadModel names), random init."""
    return _gpt("gpt2", {}, kwargs)


@register_model
def gpt_mini(**kwargs) -> GPT:
    """A small GPT (6 layers, 6 heads, 192 wide, block 256; vocab 50257 unless given)."""
    return _gpt("gpt_mini", dict(n_layer=6, n_head=6, n_embd=192, block_size=256), kwargs)


@register_model
def gpt_nano(**kwargs) -> GPT:
    """A tiny GPT (3 layers, 3 heads, 48 wide, block 128; vocab 50257 unless given) for tests and toys."""
    return _gpt("gpt_nano", dict(n_layer=3, n_head=3, n_embd=48, block_size=128), kwargs)
