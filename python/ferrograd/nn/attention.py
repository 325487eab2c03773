"""`MultiheadAttention` with PyTorch's packed in-projection, masks and state_dict layout."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ops._util import asarray
from ..ops.attention import SDPAPacked
from ..tensor import Tensor, empty, zeros
from . import functional as F
from . import init
from .linear import Linear
from ._checks import check_positive
from .module import Module
from .parameter import Parameter


def additive_mask(mask, dtype, fn: str, like=None):
    """A boolean (True = masked out, PyTorch's nn convention) or float mask as an additive float
    array, on the device of the array `like` (host masks are uploaded once, device ones stay)."""
    if mask is None:
        return None
    m = asarray(mask._data if isinstance(mask, Tensor) else mask, like=like)
    if m.dtype == np.bool_:
        return np.where(m, -np.inf, 0.0).astype(dtype)
    if m.dtype.kind != "f":
        raise TypeError(f"{fn}: masks must be bool or float, got {m.dtype}")
    return m.astype(dtype, copy=False)


def causal_mask(size: int, dtype=dtypes.float32) -> np.ndarray:
    """Float mask with -inf above the diagonal: position i attends to positions <= i."""
    return np.triu(np.full((size, size), -np.inf, dtype=dtype), k=1)


class MultiheadAttention(Module):
    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, dtype=None):
        super().__init__()
        check_positive("MultiheadAttention", embed_dim=embed_dim, num_heads=num_heads)
        if not isinstance(dropout, (int, float, np.floating)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"MultiheadAttention: dropout probability has to be between 0 and 1, but got {dropout!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype))
        self.in_proj_bias = Parameter(zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        init.xavier_uniform_(self.in_proj_weight)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _project(self, x, i):
        e = self.embed_dim
        w = self.in_proj_weight[i * e : (i + 1) * e]
        b = self.in_proj_bias[i * e : (i + 1) * e] if self.in_proj_bias is not None else None
        return F.linear(x, w, b)

    def _heads(self, x):
        b, t, _ = x.shape
        return x.reshape(b, t, self.num_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        unbatched = query.ndim == 2
        self_attention = query is key and key is value
        if unbatched:
            query, key, value = (t.unsqueeze(0 if self.batch_first else 1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = asarray(getattr(key_padding_mask, "_data", key_padding_mask))[None]
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.shape[-1] != self.embed_dim:
                raise ValueError(f"MultiheadAttention: {name} must be (batch, seq, {self.embed_dim}), got {tuple(t.shape)}")
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(f"MultiheadAttention: key {tuple(key.shape)} and value {tuple(value.shape)} "
                             f"do not fit query {tuple(query.shape)}")
        bsz, tgt, src = query.shape[0], query.shape[1], key.shape[1]
        p = self.dropout if self.training else 0.0
        # Self-attention without weights or dropout: one packed projection and the packed kernel.
        packed = (self_attention and not need_weights and not p and query.dtype == self.in_proj_weight.dtype
                  and query.dtype in (dtypes.float32, dtypes.float64))
        if packed:
            qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)  # (B, L, 3E)
            like = qkv
        else:
            q, k, v = (self._heads(self._project(t, i)) for i, t in enumerate((query, key, value)))
            like = q

        mask = additive_mask(attn_mask, like.dtype, "MultiheadAttention", like=like._data)
        if mask is None and is_causal:
            mask = asarray(causal_mask(tgt, like.dtype)[:, :src], like=like._data)
        if mask is not None:
            if mask.ndim == 3:  # (B*nh, L, S)
                mask = mask.reshape(bsz, self.num_heads, tgt, src)
            elif mask.shape != (tgt, src):
                raise ValueError(f"MultiheadAttention: attn_mask must be ({tgt}, {src}) or "
                                 f"({bsz * self.num_heads}, {tgt}, {src}), got {mask.shape}")
        pad = additive_mask(key_padding_mask, like.dtype, "MultiheadAttention", like=like._data)
        if pad is not None:
            if pad.shape != (bsz, src):
                raise ValueError(f"MultiheadAttention: key_padding_mask must be ({bsz}, {src}), got {pad.shape}")
            pad = pad[:, None, None, :]
            mask = pad if mask is None else mask + pad

        weights, scale = None, 1.0 / np.sqrt(self.head_dim)
        if packed:
            out = SDPAPacked.apply(qkv, self.num_heads, mask, scale)  # (B, L, E)
        elif need_weights:
            scores = (q @ k.mT) * scale
            if mask is not None:
                scores = scores + Tensor(mask)
            attn = F.softmax(scores, -1)
            weights = attn.mean(1) if average_attn_weights else attn
            out = F.dropout(attn, p, True) @ v if p else attn @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else Tensor(mask), dropout_p=p)
        if not packed:
            out = out.transpose(1, 2).reshape(bsz, tgt, self.embed_dim)
        out = self.out_proj(out)
        if not self.batch_first:
            out = out.transpose(0, 1)
        if unbatched:
            out = out.squeeze(0 if self.batch_first else 1)
            weights = weights.squeeze(0) if weights is not None else None
        return out, weights

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
