"""Loss and distance functions with torch.nn.functional's names, arguments and semantics.

cross_entropy is fused with log-softmax in Rust (class indices and class probabilities);
the others are numpy Functions or compositions of differentiable Tensor ops.
"""

from __future__ import annotations

import numpy as np

from ... import dtypes
from ...ops import activation as act_ops
from ...ops._util import ascontiguous, is_device
from ...ops.norm import PNorm
from ...ops.softmax import CrossEntropyIndex, CrossEntropyProb, NllLoss
from ...tensor import Tensor, where

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "cosine_similarity",
    "pairwise_distance",
    "triplet_margin_loss",
    "cosine_embedding_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


def _legacy_reduction(size_average, reduce, reduction):
    """torch's mapping of the deprecated size_average/reduce flags onto `reduction`."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _check_reduction(fn, reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{fn}: reduction must be one of {allowed}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _tensor(x, fn, name) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _float(x, fn, name) -> Tensor:
    x = _tensor(x, fn, name)
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"{fn}: {name} must be float32 or float64, got dtype {x.dtype}")
    return x


def _same_dtype(fn, ref: Tensor, *others):
    for name, t in others:
        if t is not None and t.dtype != ref.dtype:
            raise TypeError(f"{fn}: {name} has dtype {t.dtype} but input has dtype {ref.dtype}")


def _classes_last(input: Tensor):
    """(N, C, d1, ...) -> (N*d1*..., C) contiguous array view order; (C,) -> (1, C)."""
    if input.ndim == 1:
        return input.reshape(1, input.shape[0])
    if input.ndim == 2:
        return input
    perm = (0,) + tuple(range(2, input.ndim)) + (1,)
    return input.permute(perm).reshape(-1, input.shape[1])


def _class_targets(fn, input: Tensor, target: Tensor, ignore_index: int):
    """Checks class-index targets against input and returns them flat as int64."""
    if type(target.data) is not type(input.data):
        raise ValueError(f"{fn}: input is on {input.device}, target on {target.device}")
    if input.ndim == 1:
        want = ()
    else:
        want = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != want:
        raise ValueError(
            f"{fn}: target shape {tuple(target.shape)} does not match input shape {tuple(input.shape)} "
            f"(expected target {want} of class indices, or a float target of the input's shape)"
        )
    t = ascontiguous(target.data, dtype=np.int64).reshape(-1)
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    if is_device(t):
        return t, c  # a range check would need a readback; the device kernels own out-of-range ids
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        v = int(t[np.argmax(bad)])
        raise ValueError(f"{fn}: target holds class index {v}, out of range for {c} classes (input shape {tuple(input.shape)})")
    return t, c


def _kept_mean(loss: Tensor, t, wdata, ignore_index: int, input: Tensor) -> Tensor:
    """Sum of per-sample losses over the (weighted) count of non-ignored targets."""
    keep = t != ignore_index
    if is_device(t):
        # The denominator stays on the device: no readback inside a training step.
        safe = np.where(keep, t, 0)
        denom = keep.sum() if wdata is None else (wdata[safe] * keep).sum()
        return loss.sum() / Tensor._wrap(denom.astype(input.dtype))
    denom = keep.sum() if wdata is None else wdata[t[keep]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return loss.sum() * (input.dtype.type(1) / input.dtype.type(denom))


def _weight(fn, weight, c, input):
    if weight is None:
        return None
    weight = _float(weight, fn, "weight")
    if tuple(weight.shape) != (c,):
        raise ValueError(f"{fn}: weight has shape {tuple(weight.shape)}, expected ({c},) for input {tuple(input.shape)}")
    _same_dtype(fn, input, ("weight", weight))
    return weight


def _sample_shape(input: Tensor):
    return () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits (C,), (N, C) or (N, C, d1, ...) against class indices or class
    probabilities, fused with log-softmax in one Rust kernel (forward and backward)."""
    fn = "cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input = _float(input, fn, "input")
    target = _tensor(target, fn, "target")
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have a class dim, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], got {label_smoothing}")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    w = _weight(fn, weight, c, input)
    wdata = None if w is None else ascontiguous(w.data)
    logits = _classes_last(input)
    if dtypes.is_float(target.dtype):
        # Class probabilities: same shape as input.
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(
                f"{fn}: probability target shape {tuple(target.shape)} must equal input shape {tuple(input.shape)}"
            )
        _same_dtype(fn, input, ("target", target))
        probs = _classes_last(target)
        args = (logits, probs, w, float(label_smoothing)) if w is not None and w.requires_grad else (
            logits, probs, wdata, float(label_smoothing))
        loss = CrossEntropyProb.apply(*args)
        if reduction == "mean":
            n = logits.shape[0]
            return loss.sum() / n if n else loss.sum() * float("nan")
        return _reduce(loss.reshape(_sample_shape(input)), reduction)
    if target.dtype == dtypes.bool_:
        raise TypeError(f"{fn}: target must hold class indices (int) or probabilities (float), got bool")
    t, c = _class_targets(fn, input, target, ignore_index)
    loss = CrossEntropyIndex.apply(logits, t, wdata, int(ignore_index), float(label_smoothing))
    if reduction == "mean":
        return _kept_mean(loss, t, wdata, ignore_index, input)
    return _reduce(loss.reshape(_sample_shape(input)), reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (C,), (N, C) or (N, C, d1, ...)."""
    fn = "nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input = _float(input, fn, "input")
    target = _tensor(target, fn, "target")
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have a class dim, got a 0-d tensor")
    if dtypes.is_float(target.dtype) or target.dtype == dtypes.bool_:
        raise TypeError(f"{fn}: target must hold int class indices, got dtype {target.dtype}")
    t, c = _class_targets(fn, input, target, ignore_index)
    w = _weight(fn, weight, c, input)
    wdata = None if w is None else w.data
    loss = NllLoss.apply(_classes_last(input), t, wdata, int(ignore_index))
    if reduction == "mean":
        return _kept_mean(loss, t, wdata, ignore_index, input)
    return _reduce(loss.reshape(_sample_shape(input)), reduction)


def _pair(fn, input, target, same_shape=False):
    input = _float(input, fn, "input")
    target = _tensor(target, fn, "target")
    if not dtypes.is_float(target.dtype):
        target = target.to(input.dtype)
    if same_shape and tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"{fn}: target size {tuple(target.shape)} must be the same as input size {tuple(input.shape)}"
        )
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(f"{fn}: input shape {tuple(input.shape)} and target shape {tuple(target.shape)} do not broadcast") from None
    return input, target


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("mse_loss", reduction)
    input, target = _pair("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("l1_loss", reduction)
    input, target = _pair("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def _bcast_param(fn, name, p, input):
    if p is None:
        return None
    p = _float(p, fn, name)
    try:
        if np.broadcast_shapes(p.shape, input.shape) != tuple(input.shape):
            raise ValueError
    except ValueError:
        raise ValueError(f"{fn}: {name} shape {tuple(p.shape)} does not broadcast to input shape {tuple(input.shape)}") from None
    return p


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)), logs clamped to >= -100 like torch."""
    fn = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input, target = _pair(fn, input, target, same_shape=True)
    weight = _bcast_param(fn, "weight", weight, input)
    x = input.data
    if x.size and not is_device(x) and (np.nanmin(x) < 0 or np.nanmax(x) > 1):
        raise ValueError(f"{fn}: all elements of input should be between 0 and 1")
    return _reduce(act_ops.BinaryCrossEntropy.apply(input, target, weight), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in the numerically stable form."""
    fn = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input, target = _pair(fn, input, target, same_shape=True)
    weight = _bcast_param(fn, "weight", weight, input)
    pos_weight = _bcast_param(fn, "pos_weight", pos_weight, input)
    return _reduce(act_ops.BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight), reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: target (log target - input). 'mean' averages over
    every element (torch's default); 'batchmean' divides the sum by the batch size."""
    fn = "kl_div"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction, _REDUCTIONS + ("batchmean",))
    input, target = _pair(fn, input, target)
    pointwise = act_ops.KLDiv.apply(input, target, bool(log_target))
    if reduction == "batchmean":
        return pointwise.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(pointwise, reduction)


def _norm(x: Tensor, p, dim, keepdim=False) -> Tensor:
    return PNorm.apply(x, float(p), dim, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1/max(||x1||, eps) * x2/max(||x2||, eps)) along dim (torch's current formula)."""
    fn = "cosine_similarity"
    x1, x2 = _float(x1, fn, "x1"), _float(x2, fn, "x2")
    _same_dtype(fn, x1, ("x2", x2))
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"{fn}: x1 shape {tuple(x1.shape)} and x2 shape {tuple(x2.shape)} do not broadcast") from None
    n = max(len(shape), 1)
    if not -n <= dim < n:
        raise IndexError(f"{fn}: dim {dim} is out of range for shape {shape}")
    d = dim % n
    if x1.shape != shape:
        x1 = x1.expand(shape)
    if x2.shape != shape:
        x2 = x2.expand(shape)
    n1 = _norm(x1, 2, d, True).clamp(min=eps)
    n2 = _norm(x2, 2, d, True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim."""
    fn = "pairwise_distance"
    x1, x2 = _float(x1, fn, "x1"), _float(x2, fn, "x2")
    _same_dtype(fn, x1, ("x2", x2))
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"{fn}: x1 shape {tuple(x1.shape)} and x2 shape {tuple(x2.shape)} do not broadcast") from None
    if len(shape) == 0:
        raise ValueError(f"{fn}: inputs must have at least 1 dim, got shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    return _norm(x1 - x2 + eps, p, len(shape) - 1, keepdim)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    fn = "triplet_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    a, pos, neg = (_float(t, fn, n) for t, n in ((anchor, "anchor"), (positive, "positive"), (negative, "negative")))
    if not (a.ndim == pos.ndim == neg.ndim) or a.ndim not in (1, 2):
        raise ValueError(
            f"{fn}: anchor, positive and negative must all be 1-d or all 2-d, got shapes "
            f"{tuple(a.shape)}, {tuple(pos.shape)}, {tuple(neg.shape)}"
        )
    if a.shape[-1] != pos.shape[-1] or a.shape[-1] != neg.shape[-1]:
        raise ValueError(
            f"{fn}: feature sizes differ: {tuple(a.shape)}, {tuple(pos.shape)}, {tuple(neg.shape)}"
        )
    d_ap = pairwise_distance(a, pos, p, eps)
    d_an = pairwise_distance(a, neg, p, eps)
    if swap:
        d_pn = pairwise_distance(pos, neg, p, eps)
        d_an = d_an.minimum(d_pn)
    return _reduce((d_ap - d_an + margin).clamp(min=0), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target = 1, max(0, cos(x1, x2) - margin) where target = -1."""
    fn = "cosine_embedding_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    x1, x2 = _float(input1, fn, "input1"), _float(input2, fn, "input2")
    target = _tensor(target, fn, "target")
    if x1.shape != x2.shape or x1.ndim not in (1, 2):
        raise ValueError(f"{fn}: input1 {tuple(x1.shape)} and input2 {tuple(x2.shape)} must be equal 1-d or 2-d shapes")
    want = (x1.shape[0],) if x1.ndim == 2 else ()
    if tuple(target.shape) != want:
        raise ValueError(f"{fn}: target shape {tuple(target.shape)} does not match inputs {tuple(x1.shape)} (expected {want})")
    d = x1.ndim - 1
    prod = (x1 * x2).sum(d)
    m1 = (x1 * x1).sum(d) + 1e-12
    m2 = (x2 * x2).sum(d) + 1e-12
    cos = prod / (m1 * m2).sqrt()
    t = target.data
    zeros = cos * 0
    out = where(t == 1, 1 - cos, zeros) + where(t == -1, (cos - margin).clamp(min=0), zeros)
    return _reduce(out, reduction)
