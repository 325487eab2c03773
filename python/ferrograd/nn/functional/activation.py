"""Activations, (log-)softmax and dropout, with torch.nn.functional's names and semantics."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ... import dtypes
from ...autograd import is_grad_enabled
from ...ops import activation as act_ops
from ...ops import unary
from ...ops.softmax import Softmax
from ...tensor import Tensor, where

__all__ = [
    "relu", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout",
    "elu", "selu", "celu", "softplus", "softsign", "logsigmoid", "tanhshrink", "mish", "hardswish",
    "hardsigmoid", "hardtanh", "relu6", "threshold", "hardshrink", "softshrink", "rrelu", "prelu",
    "glu", "softmin",
]


def _tensor(x, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _float(x, fn: str, name: str = "input") -> Tensor:
    x = _tensor(x, fn, name)
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"{fn}: {name} must be float32 or float64, got dtype {x.dtype}")
    return x


def _inplace(input: Tensor, compute, inplace: bool) -> Tensor:
    """torch's `inplace=True`: the result becomes `input` (written into its storage when no graph
    needs it, else taking its place in the graph; a leaf that requires grad raises, as in torch)."""
    if not inplace:
        return compute()
    from ...autograd import _SERIAL

    since = _SERIAL[0]  # the nodes `compute` makes saved `input` before it changes, knowingly
    return input._assign_(compute(), "inplace activation", since)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    input = _tensor(input, "relu")
    return _inplace(input, lambda: unary.Relu.apply(input), inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    input = _float(input, "leaky_relu")
    return _inplace(input, lambda: act_ops.LeakyRelu.apply(input, float(negative_slope)), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    input = _float(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    # With a gradient to come, the forward also keeps gelu'(x) (one pass for both; the backward is
    # then one multiply instead of a second pass through erf).
    return act_ops.Gelu.apply(input, approximate, input.requires_grad and is_grad_enabled())


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    input = _float(input, "silu")
    return _inplace(input, lambda: act_ops.Silu.apply(input), inplace)


def sigmoid(input: Tensor) -> Tensor:
    return _tensor(input, "sigmoid").sigmoid()


def tanh(input: Tensor) -> Tensor:
    return _tensor(input, "tanh").tanh()


def _softmax_dim(ndim: int, fn: str) -> int:
    warnings.warn(
        f"{fn}: implicit dimension choice is deprecated; pass dim explicitly", UserWarning, stacklevel=3
    )
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(input, dim, dtype, log, fn):
    input = _tensor(input, fn)
    if dtype is not None:
        input = input.to(dtypes.check_dtype(dtype, fn))
    if not dtypes.is_float(input.dtype):
        raise TypeError(f"{fn}: input must be float32 or float64, got dtype {input.dtype} (pass dtype=)")
    if dim is None:
        dim = _softmax_dim(input.ndim, fn)
    n = max(input.ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{fn}: dim must be an int or None, got {type(dim).__name__} {dim!r}")
    if not -n <= dim < n:
        raise IndexError(f"{fn}: dim {dim} is out of range for input of shape {tuple(input.shape)}")
    return Softmax.apply(input, int(dim) % n if input.ndim else 0, log)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (Rust kernel; any dim, any strides)."""
    return _softmax(input, dim, dtype, False, "softmax")


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x) along `dim` (Rust kernel; any dim, any strides)."""
    return _softmax(input, dim, dtype, True, "log_softmax")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability `p` and scale the rest by 1/(1-p); seeded by
    `ferrograd.random.generator()` (so `fg.manual_seed` makes it repeatable)."""
    input = _float(input, "dropout")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return _inplace(input, lambda: act_ops.Dropout.apply(input, float(p)), inplace)


# ---- activations composed of differentiable Tensor ops ------------------------------------------
# Each is a few Tensor ops, so it runs on every device and its gradient is the ops' gradients.
# Values fed to a branch that `where` discards are clamped first: an inf there would turn the
# zero gradient of the discarded side into 0 * inf = nan.

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _number(v, fn: str, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(v).__name__}")
    return float(v)


def _log1p_exp(z: Tensor) -> Tensor:
    """log(1 + e^z) without overflow. Its gradient is sigmoid(z) everywhere, z == 0 included:
    maximum's tie splits the gradient in halves, abs's is 0 there. The value is exact to one
    ulp of z's dtype relative to the result (log1p keeps softplus(-50) at 2e-22, not 0)."""
    return z.maximum(0.0) + (-z.abs()).exp().log1p()


# The activations below that clip or zero test "x goes to the bound/fill", never "x stays":
# a comparison with NaN is False, so NaN stays NaN, as torch.


def _clip_strict(x: Tensor, lo: float, hi: float) -> Tensor:
    """min(max(x, lo), hi) with gradient 0 on the bounds themselves, as torch's hardtanh; NaN stays."""
    return where(x >= hi, hi, where(x <= lo, lo, x))


def _elu(x: Tensor, alpha: float, input_scale: float = 1.0) -> Tensor:
    neg = x.clamp(max=0)
    if input_scale != 1.0:
        neg = neg * input_scale
    return where(x > 0, x, neg.expm1() * alpha)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, alpha (e^x - 1) elsewhere."""
    input = _float(input, "elu")
    return _inplace(input, lambda: _elu(input, _number(alpha, "elu", "alpha")), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    input = _float(input, "selu")
    return _inplace(input, lambda: _elu(input, _SELU_ALPHA) * _SELU_SCALE, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (e^(x/alpha) - 1))."""
    input = _float(input, "celu")
    alpha = _number(alpha, "celu", "alpha")
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (it divides x)")
    return _inplace(input, lambda: _elu(input, alpha, 1.0 / alpha), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (torch's linear tail)."""
    input = _float(input, "softplus")
    beta = _number(beta, "softplus", "beta")
    threshold = _number(threshold, "softplus", "threshold")
    z = input if beta == 1.0 else input * beta
    soft = _log1p_exp(z)
    if beta != 1.0:
        soft = soft / beta
    return where(z > threshold, input, soft)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    input = _float(input, "softsign")
    return input / (input.abs() + 1)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log(1 + e^-|x|), stable for any x."""
    input = _float(input, "logsigmoid")
    return input.minimum(0.0) - ((-input.abs()).exp() + 1).log()


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    input = _float(input, "tanhshrink")
    return input - input.tanh()


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    input = _float(input, "mish")
    return _inplace(input, lambda: input * _log1p_exp(input).tanh(), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6; the gradient is 0 at x = -3 and 1 at x = 3, as torch's."""
    input = _float(input, "hardswish")
    return _inplace(input, lambda: input * _clip_strict(input + 3, 0.0, 6.0) / 6, inplace)


def _hardsigmoid(x: Tensor) -> Tensor:
    # torch's gradient is g/6 strictly inside (-3, 3) and 0 elsewhere, NaN included: NaN comes
    # out through x - x (value NaN, gradient 0), not through the x / 6 branch.
    inside = (x > -3) & (x < 3)
    return where(inside, x / 6 + 0.5, where(x >= 3, 1.0, where(x <= -3, 0.0, x - x)))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, x / 6 + 1/2 between."""
    input = _float(input, "hardsigmoid")
    return _inplace(input, lambda: _hardsigmoid(input), inplace)


def _hardtanh(input, min_val, max_val, inplace, fn):
    input = _float(input, fn)
    min_val, max_val = _number(min_val, fn, "min_val"), _number(max_val, fn, "max_val")
    if min_val > max_val:
        raise ValueError(f"{fn}: min_val cannot be greater than max_val, got min_val={min_val}, max_val={max_val}")
    return _inplace(input, lambda: _clip_strict(input, min_val, max_val), inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; no gradient on or beyond the bounds."""
    return _hardtanh(input, min_val, max_val, inplace, "hardtanh")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return _hardtanh(input, 0.0, 6.0, inplace, "relu6")


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    input = _float(input, "threshold")
    th, value = _number(threshold, "threshold", "threshold"), _number(value, "threshold", "value")
    return _inplace(input, lambda: where(input <= th, value, input), inplace)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    input = _float(input, "hardshrink")
    return where(input.abs() <= _number(lambd, "hardshrink", "lambd"), 0.0, input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    input = _float(input, "softshrink")
    lambd = _number(lambd, "softshrink", "lambd")
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return where(input.abs() <= lambd, 0.0, where(input > lambd, input - lambd, input + lambd))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training
    (from `ferrograd.random.generator()`), and is (lower + upper) / 2 in evaluation."""
    from ...random import generator
    from ...tensor import tensor

    input = _float(input, "rrelu")
    lower, upper = _number(lower, "rrelu", "lower"), _number(upper, "rrelu", "upper")
    if lower > upper:
        raise ValueError(f"rrelu: lower must be <= upper, got lower={lower}, upper={upper}")
    if not training:
        return _inplace(input, lambda: act_ops.LeakyRelu.apply(input, (lower + upper) / 2), inplace)
    slopes = tensor(generator().uniform(lower, upper, input.shape), dtype=input.dtype, device=input.device)
    return _inplace(input, lambda: where(input > 0, input, input * slopes), inplace)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, weight * x elsewhere; weight holds 1 slope or one per channel (dim 1;
    an input of fewer than 2 dims has 1 channel)."""
    fn = "prelu"
    input, weight = _float(input, fn), _float(weight, fn, "weight")
    if weight.ndim > 1:
        raise ValueError(f"{fn}: weight must be a scalar or 1-D tensor, got shape {tuple(weight.shape)}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    n = weight.numel()
    if n not in (1, channels):
        raise ValueError(
            f"{fn}: weight has {n} elements but input of shape {tuple(input.shape)} has {channels} channels "
            f"(dim 1; an input of fewer than 2 dims has 1); expected 1 or {channels} elements"
        )
    if weight.dtype != input.dtype:
        raise TypeError(f"{fn}: weight has dtype {weight.dtype} but input has dtype {input.dtype}")
    if type(weight._data) is not type(input._data):
        raise ValueError(f"{fn}: input is on {input.device}, weight on {weight.device}")
    w = weight.reshape(()) if n == 1 else weight.reshape((n,) + (1,) * (input.ndim - 2))
    return where(input > 0, input, w * input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the two halves of input along dim."""
    fn = "glu"
    input = _float(input, fn)
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have at least 1 dim (a 0-d tensor has no dim to halve)")
    n = input.ndim
    if not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
        raise IndexError(f"{fn}: dim {dim} is out of range for input of shape {tuple(input.shape)}")
    d = int(dim) % n
    size = input.shape[d]
    if size % 2:
        raise ValueError(f"{fn}: halving dimension must be even, but dimension {d} is size {size} (input shape {tuple(input.shape)})")
    lead = (slice(None),) * d
    a = input[lead + (slice(0, size // 2),)]
    b = input[lead + (slice(size // 2, size),)]
    return a * b.sigmoid()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along dim."""
    input = _tensor(input, "softmin")
    if dtype is not None:
        input = input.to(dtypes.check_dtype(dtype, "softmin"))
    return _softmax(-input, dim, None, False, "softmin")
