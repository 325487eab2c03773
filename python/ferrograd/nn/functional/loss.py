"""Loss and distance functions with torch.nn.functional's names, arguments and semantics.

cross_entropy is fused with log-softmax in Rust (class indices and class probabilities);
the others are numpy Functions or compositions of differentiable Tensor ops.
"""

from __future__ import annotations

import math

import numpy as np

from ... import dtypes
from ...errors import IndexRuntimeError, ShapeRuntimeError
from ...ops import activation as act_ops
from ...ops import mse as mse_ops
from ...ops._range import OutOfRangeError, first_out_of_range
from ...ops._util import ascontiguous, is_device
from ...ops.norm import PNorm
from ...ops.softmax import CrossEntropyIndex, CrossEntropyProb, KeptMean, NllLoss
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
    "smooth_l1_loss",
    "huber_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "gaussian_nll_loss",
    "poisson_nll_loss",
    "triplet_margin_with_distance_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
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
    if type(target._data) is not type(input._data):
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
    t = ascontiguous(target._data, dtype=np.int64).reshape(-1)
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    # On wgpu the check reads back one bool (a device-side any()): the kernels would give nan.
    v = first_out_of_range(t, 0, c, ignore=ignore_index)
    if v is not None:
        raise OutOfRangeError(f"{fn}: target holds class index {v}, out of range for {c} classes "
                              f"(input shape {tuple(input.shape)})")
    return t, c


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
    wdata = None if w is None else ascontiguous(w._data)
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
    _class_targets(fn, input, target, ignore_index)
    t = target.reshape(-1)  # the op casts to int64: the flat targets stay this call's (fg.compile)
    loss = CrossEntropyIndex.apply(logits, t, wdata, int(ignore_index), float(label_smoothing))
    if reduction == "mean":
        return KeptMean.apply(loss, t, wdata, int(ignore_index))
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
    _, c = _class_targets(fn, input, target, ignore_index)
    w = _weight(fn, weight, c, input)
    wdata = None if w is None else w._data
    t = target.reshape(-1)
    loss = NllLoss.apply(_classes_last(input), t, wdata, int(ignore_index))
    if reduction == "mean":
        return KeptMean.apply(loss, t, wdata, int(ignore_index))
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


def _elementwise_weight(fn, weight, input):
    """torch's per-element `weight` of mse/l1/huber loss: a tensor of the input's shape."""
    if weight is None:
        return None
    weight = _float(weight, fn, "weight")
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{fn}: weight shape {tuple(weight.shape)} must equal input shape {tuple(input.shape)}")
    return weight


def _weighted_reduce(loss: Tensor, weight, reduction: str) -> Tensor:
    """With a weight, 'mean' is sum(w * loss) / sum(w) (torch's mse and l1 loss)."""
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("mse_loss", reduction)
    input, target = _pair("mse_loss", input, target)
    weight = _elementwise_weight("mse_loss", weight, input)
    if weight is None and mse_ops.fusable(input._data, target._data, reduction):
        return mse_ops.MseLoss.apply(input, target, reduction)  # one pass each way
    d = input - target
    return _weighted_reduce(d * d, weight, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction("l1_loss", reduction)
    input, target = _pair("l1_loss", input, target)
    weight = _elementwise_weight("l1_loss", weight, input)
    return _weighted_reduce((input - target).abs(), weight, reduction)


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
    x = input._data
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
    if margin <= 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin}")
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
    t = target._data
    zeros = cos * 0
    out = where(t == 1, 1 - cos, zeros) + where(t == -1, (cos - margin).clamp(min=0), zeros)
    return _reduce(out, reduction)


# ---- losses composed of differentiable Tensor ops (they run on every device) -------------------
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target); beta 0 is L1."""
    fn = "smooth_l1_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    if beta < 0:
        raise ValueError(f"{fn}: beta must be >= 0, got {beta}")
    input, target = _pair(fn, input, target)
    d = input - target
    if beta == 0:
        return _reduce(d.abs(), reduction)
    ad = d.abs()
    return _reduce(where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere; with a per-element weight,
    'mean' is mean(w * loss) (torch's rule for this loss)."""
    fn = "huber_loss"
    _check_reduction(fn, reduction)
    if delta <= 0:
        raise ValueError(f"{fn}: delta must be > 0, got {delta}")
    input, target = _pair(fn, input, target)
    weight = _elementwise_weight(fn, weight, input)
    d = input - target
    ad = d.abs()
    loss = where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _broadcast_all(fn, named):
    try:
        return np.broadcast_shapes(*(t.shape for _, t in named))
    except ValueError:
        shapes = ", ".join(f"{n} {tuple(t.shape)}" for n, t in named)
        raise ValueError(f"{fn}: shapes do not broadcast: {shapes}") from None


def _float_target(fn, target, input):
    target = _tensor(target, fn, "target")
    return target if dtypes.is_float(target.dtype) else target.to(input.dtype)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target (input1 - input2) + margin), target in {1, -1}."""
    fn = "margin_ranking_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    x1, x2 = _float(input1, fn, "input1"), _float(input2, fn, "input2")
    target = _float_target(fn, target, x1)
    if not x1.ndim == x2.ndim == target.ndim:
        raise ValueError(
            f"{fn}: input1, input2 and target must have the same number of dims, got shapes "
            f"{tuple(x1.shape)}, {tuple(x2.shape)} and {tuple(target.shape)}"
        )
    _broadcast_all(fn, (("input1", x1), ("input2", x2), ("target", target)))
    return _reduce((-target * (x1 - x2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """input where target == 1, max(0, margin - input) where target == -1 (torch adds both
    terms for any other target value)."""
    fn = "hinge_embedding_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input, target = _pair(fn, input, target)
    margin_term = where(target != 1, (margin - input).clamp(min=0), 0.0)
    self_term = where(target != -1, input, 0.0)
    return _reduce(margin_term + self_term, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target input)), in a form that does not overflow."""
    from .activation import _log1p_exp

    fn = "soft_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input, target = _pair(fn, input, target)
    return _reduce(_log1p_exp(-target * input), reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 (log var + (input - target)^2 / var) [+ 0.5 log 2 pi]. var: the input's shape, the
    input's shape with one dim of size 1 or without its last dim (one variance shared), or a
    number. var is clamped to >= eps for the value only: the gradient passes as if unclamped,
    as torch's no-grad clamp does."""
    fn = "gaussian_nll_loss"
    _check_reduction(fn, reduction)
    input = _float(input, fn, "input")
    target = _float_target(fn, target, input)
    _broadcast_all(fn, (("input", input), ("target", target)))
    if isinstance(var, (int, float, np.floating, np.integer)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{fn}: var has a negative value: {var}")
        var_value = max(float(var), eps)
        loss = (math.log(var_value) + (input - target) ** 2 / var_value) * 0.5
    else:
        var = _float(var, fn, "var")
        if tuple(var.shape) != tuple(input.shape):
            if tuple(input.shape[:-1]) == tuple(var.shape):
                var = var.unsqueeze(-1)  # one variance per row of the last dim
            elif var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
                pass  # one mismatched dim, of size 1 in var: broadcast
            else:
                raise ValueError(
                    f"{fn}: var shape {tuple(var.shape)} is of incorrect size for input shape {tuple(input.shape)} "
                    "(expected the input's shape, that shape with one dim of size 1, or without its last dim)"
                )
        if not is_device(var._data) and bool((var._data < 0).any()):
            raise ValueError(f"{fn}: var has negative entries")  # on a device the check would need a readback
        clamped = var.detach().clamp(min=eps)
        var = var + (clamped - var.detach()) if var.requires_grad else clamped
        loss = (var.log() + (input - target) ** 2 / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """exp(input) - target input (log_input) or input - target log(input + eps); `full` adds the
    Stirling term target log target - target + 0.5 log(2 pi target) where target > 1."""
    fn = "poisson_nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input, target = _pair(fn, input, target)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target > 1
        t = where(big, target, 1.0)  # a safe value where the term is dropped: no log(0) * 0 = nan
        stirling = t * t.log() - t + (t * (2 * math.pi)).log() * 0.5
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) for any distance function
    (default: pairwise_distance); `swap` uses min(d(a, n), d(p, n)) as the negative distance."""
    fn = "triplet_margin_with_distance_loss"
    _check_reduction(fn, reduction)
    if margin <= 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin}")
    a, pos, neg = (_tensor(t, fn, n) for t, n in ((anchor, "anchor"), (positive, "positive"), (negative, "negative")))
    if not a.ndim == pos.ndim == neg.ndim:
        raise ValueError(
            f"{fn}: anchor, positive and negative must have the same number of dims, got "
            f"{a.ndim}-d, {pos.ndim}-d and {neg.ndim}-d inputs"
        )
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(a, pos)
    d_neg = dist(a, neg)
    if swap:
        d_neg = d_neg.minimum(dist(pos, neg))
    return _reduce((d_pos - d_neg + margin).clamp(min=0), reduction)


# ---- multi-class / multi-label margin losses ------------------------------------------------------
def _int_target(fn, target, input):
    target = _tensor(target, fn, "target")
    if target.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{fn}: target must hold int32/int64 class indices, got dtype {target.dtype}")
    if type(target._data) is not type(input._data):
        raise ValueError(f"{fn}: input is on {input.device}, target on {target.device}")
    return target


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Per sample: sum over classes i != y of w[y] max(0, margin - x[y] + x[i])^p, over C.
    input (N, C) or (C,), target (N,) (or () / (1,)) of class indices; p is 1 or 2."""
    fn = "multi_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    if p != 1 and p != 2:
        raise ValueError(f"{fn}: only p == 1 and p == 2 supported, got p={p!r}")
    input = _float(input, fn, "input")
    if input.ndim > 2 or input.numel() == 0:
        raise ValueError(f"{fn}: Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                         f"{tuple(input.shape)}")
    n = input.shape[0] if input.ndim == 2 else 1
    c = input.shape[-1] if input.ndim else 1
    target = _int_target(fn, target, input)
    if target.ndim > 1 or target.numel() != n:
        raise ShapeRuntimeError(f"{fn}: inconsistent target size, expected {n} but got {tuple(target.shape)}")
    if weight is not None:
        weight = _float(weight, fn, "weight")
        if weight.ndim != 1:
            raise ValueError(f"{fn}: weight must be one-dimensional, got shape {tuple(weight.shape)}")
        if weight.numel() != c:
            raise ShapeRuntimeError(f"{fn}: inconsistent weight size, expected {c} but got {tuple(weight.shape)}")
        _same_dtype(fn, input, ("weight", weight))
    t = target.reshape(n).to(dtypes.int64)
    v = first_out_of_range(t._data, 0, c)  # on wgpu: one small readback
    if v is not None:
        raise IndexRuntimeError(f"{fn}: target out of range: got {v} for {c} classes")
    x = input.reshape(n, c)
    xy = x.gather(1, t.unsqueeze(1))  # (N, 1)
    z = (x - xy + margin).clamp(min=0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight[t].unsqueeze(1)
    classes = Tensor(np.arange(c)).to(device=input.device)
    z = where(classes.unsqueeze(0) == t.unsqueeze(1), 0.0, z)  # the target's own term is left out
    loss = z.sum(dim=1) / c
    if reduction == "none":
        return loss if target.ndim > 0 else loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Per sample: sum over target classes j and non-target classes i of max(0, 1 - (x[j] -
    x[i])), over C. target has input's shape (C,) or (N, C): class indices, ended by the first -1."""
    fn = "multilabel_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input = _float(input, fn, "input")
    target = _int_target(fn, target, input)
    if input.ndim > 2 or (input.ndim >= 1 and input.shape[-1] == 0):
        raise ValueError(f"{fn}: Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                         f"{tuple(input.shape)}")
    if input.ndim <= 1:
        n, c = 1, (input.shape[0] if input.ndim else 1)
        ok = target.ndim <= 1 and target.numel() == c
    else:
        n, c = input.shape
        ok = tuple(target.shape) == (n, c)
    if not ok:
        raise ShapeRuntimeError(f"{fn}: inconsistent target size: {tuple(target.shape)} for input of size: "
                         f"{tuple(input.shape)}")
    # Which targets count, and which classes are targets: host logic on the (small) target.
    tgt = target.numpy().reshape(n, c).astype(np.int64)
    if (tgt < -1).any() or (tgt >= c).any():
        raise IndexRuntimeError(f"{fn}: target index is out of range: targets must lie in [-1, {c}), got {tgt.tolist()}")
    valid = np.cumprod(tgt >= 0, axis=1).astype(bool)  # up to the first -1
    is_target = np.zeros((n, c), bool)
    rows = np.nonzero(valid)
    is_target[rows[0], tgt[rows]] = True
    mask = valid[:, :, None] & ~is_target[:, None, :]  # (N, j, i)
    dev = input.device
    x = input.reshape(n, c)
    xy = x.gather(1, Tensor(np.where(valid, tgt, 0)).to(device=dev))  # (N, j)
    hinge = (x.unsqueeze(1) - xy.unsqueeze(2) + 1.0).clamp(min=0)  # (N, j, i)
    loss = (hinge * Tensor(mask.astype(input.dtype)).to(device=dev)).sum(dim=(1, 2)) / c
    if reduction == "none":
        return loss if target.ndim > 1 else loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """Per sample: the mean over classes of -(y log σ(x) + (1 - y) log σ(-x)) (times weight)."""
    from .activation import logsigmoid

    fn = "multilabel_soft_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(fn, reduction)
    input = _float(input, fn, "input")
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have at least one dim (the classes), got a 0-d tensor")
    target = _float_target(fn, target, input)
    _same_dtype(fn, input, ("target", target))
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{fn}: target shape {tuple(target.shape)} must equal input shape {tuple(input.shape)}")
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        weight = _float(weight, fn, "weight")
        _same_dtype(fn, input, ("weight", weight))
        _broadcast_all(fn, (("input", input), ("weight", weight)))
        loss = loss * weight
    loss = loss.sum(dim=input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)
