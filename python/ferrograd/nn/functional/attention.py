"""attention functions of nn.functional."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ... import dtypes
from ...ops.attention import SDPAFused, sdpa_composite
from ...tensor import Tensor

__all__ = ["scaled_dot_product_attention"]

_FN = "scaled_dot_product_attention"


def _shapes(query, key, value, attn_mask=None):
    s = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
    if attn_mask is not None:
        s += f", attn_mask {tuple(np.shape(attn_mask._data if isinstance(attn_mask, Tensor) else attn_mask))}"
    return s


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale=None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(query @ keyᵀ · scale + mask) @ value, as `torch.nn.functional.scaled_dot_product_attention`.

    query (..., L, E), key (..., S, E), value (..., S, Ev); their leading dims broadcast.
    `scale` defaults to 1/sqrt(E). `attn_mask` is boolean (True = take part in attention) or a
    float mask added to the scores, broadcastable to (..., L, S). `is_causal` applies torch's
    top-left aligned mask `ones(L, S).tril()` and cannot be combined with `attn_mask`.
    `dropout_p` > 0 drops attention weights (scaling the kept ones by 1/(1 - dropout_p)) with
    ferrograd's generator (`fg.manual_seed`); that path runs the composite (non-fused) kernel,
    as does a float mask that requires grad. A query row whose every key is masked outputs 0
    and passes no gradient, as PyTorch 2.15 does (older PyTorch returned NaN there).
    `enable_gqa=True` lets key/value have fewer heads (dim -3) than query, each shared by a
    group of consecutive query heads.
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{_FN}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype not in (dtypes.float32, dtypes.float64):
            raise TypeError(f"{_FN}: {name} must be float32 or float64, got {t.dtype}")
    if not (query.dtype == key.dtype == value.dtype):
        raise TypeError(
            f"{_FN}: query, key and value must have one dtype, got {query.dtype}, {key.dtype}, {value.dtype}"
        )
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"{_FN}: query, key and value need at least 2 dims (..., L, E), got {_shapes(query, key, value)}")
    L, E = query.shape[-2:]
    S, Ek = key.shape[-2:]
    Sv, Ev = value.shape[-2:]
    if E != Ek:
        raise ValueError(
            f"{_FN}: query and key must have the same embedding size (last dim), got {E} and {Ek} "
            f"({_shapes(query, key, value)})"
        )
    if S != Sv:
        raise ValueError(
            f"{_FN}: key and value must have the same sequence length (dim -2), got {S} and {Sv} "
            f"({_shapes(query, key, value)})"
        )
    if enable_gqa:
        query, key, value, (unflat, hk) = _group_heads(query, key, value)
    else:
        unflat = hk = None
    try:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"{_FN}: the leading (batch) dims do not broadcast: {_shapes(query, key, value)}") from None
    if not isinstance(dropout_p, numbers.Real) or not 0.0 <= float(dropout_p) <= 1.0:
        raise ValueError(f"{_FN}: dropout_p must be a number in [0, 1], got {dropout_p!r}")
    if scale is None:
        scale = 1.0 / math.sqrt(E) if E > 0 else 1.0
    elif not isinstance(scale, numbers.Real):
        raise TypeError(f"{_FN}: scale must be a float or None, got {type(scale).__name__}")
    scale = float(scale)

    mask = None
    mask_tensor = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{_FN}: attn_mask and is_causal cannot both be set ({_shapes(query, key, value, attn_mask)})")
        raw = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if raw.dtype == np.bool_:
            mask = np.where(raw, 0.0, -np.inf).astype(query.dtype)
        elif raw.dtype == query.dtype:
            mask = raw
            if isinstance(attn_mask, Tensor) and attn_mask.requires_grad:
                mask_tensor = attn_mask
        else:
            raise TypeError(f"{_FN}: attn_mask must be bool or {query.dtype} like query, got {raw.dtype}")
        if unflat is not None:
            mask = _group_mask(mask, unflat, hk)
            if mask_tensor is not None:
                mask_tensor = mask_tensor.reshape(mask.shape)
        target = tuple(batch) + (L, S)
        try:
            ok = np.broadcast_shapes(mask.shape, target) == target
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{_FN}: attn_mask of shape {tuple(raw.shape)} does not broadcast to (..., L, S) = {target} "
                f"({_shapes(query, key, value)})"
            )

    if dropout_p > 0.0 or mask_tensor is not None:
        out = sdpa_composite(query, key, value, mask_tensor if mask_tensor is not None else mask,
                             float(dropout_p), is_causal, scale)
    else:
        out = SDPAFused.apply(query, key, value, mask, bool(is_causal), scale)
    if unflat is not None:
        out = out.reshape(unflat)
    return out


def _group_heads(query, key, value):
    """GQA: view query (..., Hq, L, E) as (..., Hkv, Hq/Hkv, L, E) and key/value with a size-1
    group dim, so broadcasting shares each key/value head with its group of query heads."""
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        raise ValueError(f"{_FN}: enable_gqa needs a head dim (-3) on query, key and value, got {_shapes(query, key, value)}")
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hk != hv or hk == 0 or hq % hk:
        raise ValueError(
            f"{_FN}: enable_gqa needs key and value heads equal and dividing the query heads, got {_shapes(query, key, value)}"
        )
    g = hq // hk
    q = query.reshape(query.shape[:-3] + (hk, g) + query.shape[-2:])
    k = key.reshape(key.shape[:-3] + (hk, 1) + key.shape[-2:])
    v = value.reshape(value.shape[:-3] + (hv, 1) + value.shape[-2:])
    lead = np.broadcast_shapes(query.shape[:-3], key.shape[:-3], value.shape[:-3])
    out_shape = tuple(lead) + (hq, query.shape[-2], value.shape[-1])
    return q, k, v, (out_shape, hk)


def _group_mask(mask, out_shape, hk):
    """A mask broadcastable to (..., Hq, L, S) reshaped for the grouped (..., Hkv, G, L, S) view."""
    hq = out_shape[-3]
    if mask.ndim < 3:
        return mask
    h = mask.shape[-3]
    if h == 1:
        return np.expand_dims(mask, -4)
    if h != hq:
        return mask  # fails the broadcast check below, reported with the mask's own shape
    return mask.reshape(mask.shape[:-3] + (hk, hq // hk) + mask.shape[-2:])
