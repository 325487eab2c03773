"""Parameter initialisers with torch.nn.init's names, arguments and formulas.

Each fills its tensor in place, outside autograd, and returns it. Random ones draw from
`ferrograd.random.generator()` (seeded by `fg.manual_seed`), or from `generator` when a numpy
Generator is passed; values are drawn on the host in float64 and written in the tensor's dtype
(on wgpu, uploaded once).
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings

import numpy as np


_GAIN_ONE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
             "sigmoid")
_NONLINEARITIES = _GAIN_ONE + ("tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (param: leaky_relu's negative slope)."""
    if nonlinearity in _GAIN_ONE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # the value torch uses (Klambauer et al. would say 1 with their init)
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}, expected one of {_NONLINEARITIES}")


# ---- helpers -----------------------------------------------------------------------------------
def _check(t, fn: str):
    from ..tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: tensor must be a Tensor, got {type(t).__name__}")
    return t


def _rng(generator, fn: str) -> np.random.Generator:
    from ..random import numpy_generator  # None, an fg.Generator or a numpy Generator

    return numpy_generator(generator, fn)


def _fan_in_out(t):
    if t.ndim < 2:
        raise ValueError(f"init: fan in and fan out cannot be computed for a tensor of fewer than 2 dims, got shape {tuple(t.shape)}")
    receptive = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive


_calculate_fan_in_and_fan_out = _fan_in_out  # torch's private name, which some model code calls


def _calculate_correct_fan(t, mode: str) -> int:
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fan_in_out(t)
    return fan_in if mode == "fan_in" else fan_out


def _fill(t, values):
    """Write `values` (host array or number) into t's storage, in t's dtype, on t's device."""
    data = t._data
    if type(data) is np.ndarray:
        data[...] = values
    else:
        data[...] = np.asarray(values, dtype=data.dtype)
    return t


# ---- constant fills ----------------------------------------------------------------------------
def constant_(tensor, val: float):
    return _fill(_check(tensor, "constant_"), val)


def ones_(tensor):
    return _fill(_check(tensor, "ones_"), 1)


def zeros_(tensor):
    return _fill(_check(tensor, "zeros_"), 0)


def eye_(tensor):
    """The identity matrix in a 2-d tensor (ones on the main diagonal of a non-square one)."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dims are supported, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups: int = 1):
    """A conv weight (3-, 4- or 5-d) that passes its input through: per group, out channel d
    takes in channel d at the kernel centre."""
    _check(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4 or 5 dims are supported, got shape {tuple(tensor.shape)}")
    sizes = tensor.shape
    if groups < 1 or sizes[0] % groups:
        raise ValueError(f"dirac_: dim 0 of shape {tuple(sizes)} must be divisible by groups={groups}")
    per_group = sizes[0] // groups
    values = np.zeros(sizes)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min(per_group, sizes[1])):
            values[(g * per_group + d, d) + centre] = 1
    return _fill(tensor, values)


# ---- random fills ------------------------------------------------------------------------------
def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    _check(tensor, "uniform_")
    return _fill(tensor, _rng(generator, "uniform_").uniform(a, b, tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    _check(tensor, "normal_")
    return _fill(tensor, _rng(generator, "normal_").normal(mean, std, tensor.shape))


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _erfinv(x: np.ndarray) -> np.ndarray:
    try:
        from scipy.special import erfinv  # exact and vectorised when scipy is there

        return erfinv(x)
    except ImportError:  # pragma: no cover - scipy comes with the test extras
        from statistics import NormalDist

        p = np.clip((x + 1) / 2, 1e-300, 1 - 1e-16)  # inv_cdf needs an open interval
        return np.vectorize(NormalDist().inv_cdf, otypes=[np.float64])(p) / math.sqrt(2.0)


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None):
    """Values from N(mean, std^2) truncated to [a, b] (a and b are values, not numbers of std),
    by the inverse CDF of a uniform draw over [cdf(a), cdf(b)], as torch does."""
    fn = "trunc_normal_"
    _check(tensor, fn)
    if not std > 0:
        raise ValueError(f"{fn}: std must be > 0, got {std}")
    if a > b:
        raise ValueError(f"{fn}: a must be <= b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(f"{fn}: mean is more than 2 std from [a, b]; the distribution of values may be incorrect",
                      stacklevel=2)
    lo, hi = _norm_cdf((a - mean) / std), _norm_cdf((b - mean) / std)
    u = _rng(generator, fn).uniform(2 * lo - 1, 2 * hi - 1, tensor.shape)
    values = _erfinv(u) * (std * math.sqrt(2.0)) + mean
    return _fill(tensor, np.clip(values, a, b))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    fan_in, fan_out = _fan_in_out(_check(tensor, "xavier_uniform_"))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    fan_in, fan_out = _fan_in_out(_check(tensor, "xavier_normal_"))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def _empty(tensor, fn) -> bool:
    if 0 in tuple(tensor.shape):
        warnings.warn(f"{fn}: initializing a zero-element tensor is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    _check(tensor, "kaiming_uniform_")
    if _empty(tensor, "kaiming_uniform_"):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    _check(tensor, "kaiming_normal_")
    if _empty(tensor, "kaiming_normal_"):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain: float = 1, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, as PyTorch does;
    dims after the first are flattened."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dims are supported, got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows, cols = tensor.shape[0], int(np.prod(tensor.shape[1:]))
    flat = _rng(generator, "orthogonal_").standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the decomposition unique: uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    """A 2-d matrix of N(0, std^2) values with ceil(sparsity * rows) zeros in each column."""
    fn = "sparse_"
    _check(tensor, fn)
    if tensor.ndim != 2:
        raise ValueError(f"{fn}: only tensors with 2 dims are supported, got shape {tuple(tensor.shape)}")
    if not 0 <= sparsity <= 1:
        raise ValueError(f"{fn}: sparsity must be in [0, 1], got {sparsity}")
    rng = _rng(generator, fn)
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    values = rng.normal(0.0, std, (rows, cols))
    for c in range(cols):
        values[rng.permutation(rows)[:zeros], c] = 0
    return _fill(tensor, values)


# ---- building without initialising -------------------------------------------------------------
_SKIP = [0]


@contextlib.contextmanager
def no_init_weights():
    """Inside, every initialiser above leaves its tensor as allocated (transformers'
    `no_init_weights`): for building a model whose weights are all loaded next, or only counted.
    Building GPT-2 takes a tenth of the time."""
    _SKIP[0] += 1
    try:
        yield
    finally:
        _SKIP[0] -= 1


def _skippable(fn):
    @functools.wraps(fn)
    def initialiser(tensor, *args, **kwargs):
        if _SKIP[0]:
            return tensor
        return fn(tensor, *args, **kwargs)

    return initialiser


for _name in ("constant_", "ones_", "zeros_", "eye_", "dirac_", "uniform_", "normal_", "trunc_normal_",
              "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"):
    globals()[_name] = _skippable(globals()[_name])
