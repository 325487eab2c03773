"""Registry entries: random sampling with torch's signatures, each taking `generator=`.

rand, randn, randint, randperm, the *_like family, normal, bernoulli, poisson, multinomial, and
the in-place fills Tensor.uniform_ / normal_ / bernoulli_ / random_ / exponential_ / geometric_ /
cauchy_ / log_normal_. Numbers are drawn on the host from the generator's numpy PCG64 stream
(`fg.Generator`; None: `fg.default_generator`) and uploaded for wgpu, so a seed gives the same
values on every device. Ops whose parameters are tensors (normal, bernoulli, poisson) give zero
gradients to them, as torch does (the samples are not reparameterised).
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..errors import DtypeRuntimeError, ShapeRuntimeError
from ..random import numpy_generator
from . import _generic as G
from ._factory import (default_dtype, device_arg, dtype_arg, finish, place, scalar_arg,
                       size_arg, tensor_cls)
from ._factory import check_alloc
from .registry import register


def _check_tensor(input, op, name="input"):
    if not isinstance(input, tensor_cls()):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(input).__name__}")
    return input


def _float_dtype(dt, op):
    if not dtypes.is_float(dt):
        raise DtypeRuntimeError(f"{op}: expected a floating point dtype (float32 or float64), got {dt}")
    return dt


def _host(t):
    """Host values of a tensor's array (a wgpu tensor is read back: the draw needs them)."""
    a = t._data
    return a if type(a) is np.ndarray else a.numpy()


def _like_device(array, like):
    """`array` (host) on the device of the raw array `like`."""
    if type(like) is np.ndarray:
        return array
    from ._util import asarray

    return asarray(array, like=like)


class Sampled(Function):
    """A sample drawn from a distribution whose parameters are tensors: the value passes through
    and the parameters get zero gradients (torch's derivative for normal/bernoulli/poisson)."""

    generic_backward = True

    @staticmethod
    def forward(ctx, value, *params):
        ctx.shapes = tuple(None if p is None or np.isscalar(p) else tuple(p.shape) for p in params)
        return value

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(None if s is None else G.sum_to(g * 0, s) for s in ctx.shapes)


def _sampled(value, *params):
    T = tensor_cls()
    if not any(isinstance(p, T) and p.requires_grad for p in params):
        return T._wrap(value)
    return Sampled.apply(value, *params)


# ---- rand / randn / randint / randperm --------------------------------------------------------
def _draw(op, args, size, generator, out, dtype, device, requires_grad, draw):
    shape = size_arg(args, op, size)
    check_alloc(shape, np.float64, op)  # numpy draws float64 on the host first
    dt = _float_dtype(dtype_arg(dtype, op, out.dtype if out is not None else default_dtype()), op)
    values = np.asarray(draw(numpy_generator(generator, op), shape)).astype(dt, copy=False)
    dev = device_arg(device, op, default=None if out is None else out.device)
    return finish(place(values, dev, op, requires_grad), out, op)


@register("rand", method=False)
def rand(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """Uniform samples on [0, 1): `rand(2, 3)`, `rand((2, 3), generator=g)`, as torch.rand."""
    return _draw("rand", args, size, generator, out, dtype, device, requires_grad, lambda g, s: g.random(s))


@register("randn", method=False)
def randn(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    """Standard normal samples, as torch.randn."""
    return _draw("randn", args, size, generator, out, dtype, device, requires_grad, lambda g, s: g.standard_normal(s))


def _int_bounds(low, high, dt, op):
    if low >= high:
        raise ShapeRuntimeError(f"{op}: expects 'low' to be less than 'high', but got low={low} >= high={high}")
    if dt == dtypes.bool_:
        lo, hi = 0, 1
    elif dtypes.is_float(dt):
        lo, hi = -(2 ** (np.finfo(dt).nmant + 1)), 2 ** (np.finfo(dt).nmant + 1)
    else:
        lo, hi = int(np.iinfo(dt).min), int(np.iinfo(dt).max)
    if low < lo or high - 1 > hi:
        raise ShapeRuntimeError(f"{op}: the range [{low}, {high}) is out of bounds for dtype {dt}")


def _int_arg(x, op, name):
    v = scalar_arg(x, op, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} {v!r}")
    return int(v)


@register("randint", method=False)
def randint(*args, low=None, high=None, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False):
    """Integers uniform on [low, high): `randint(high, size)` or `randint(low, high, size)` (size a
    tuple), int64 unless dtype says otherwise, as torch.randint."""
    op = "randint"
    args = list(args)
    if size is None:
        if not args or not isinstance(args[-1], (tuple, list)):
            raise TypeError(f"{op}: expected randint(high, size) or randint(low, high, size) with size a tuple "
                            f"of ints, got positional arguments {tuple(args)}")
        size = args.pop()
    if len(args) == 2:
        if low is not None or high is not None:
            raise TypeError(f"{op}: low/high given both positionally and by keyword")
        low, high = args
    elif len(args) == 1:
        if high is not None:
            low, high = args[0], high
        else:
            high = args[0]
    elif len(args) > 2:
        raise TypeError(f"{op}: too many positional arguments {tuple(args)}")
    if high is None:
        raise TypeError(f"{op}: missing the required argument 'high'")
    low = 0 if low is None else _int_arg(low, op, "low")
    high = _int_arg(high, op, "high")
    shape = size_arg((size,), op)
    check_alloc(shape, np.float64, op)
    dt = dtype_arg(dtype, op, out.dtype if out is not None else dtypes.int64)
    _int_bounds(low, high, dt, op)
    values = numpy_generator(generator, op).integers(low, high, shape, dtype=np.int64).astype(dt, copy=False)
    dev = device_arg(device, op, default=None if out is None else out.device)
    return finish(place(values, dev, op, requires_grad), out, op)


@register("randperm", method=False)
def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of 0..n-1 (int64 unless dtype says otherwise), as torch.randperm."""
    op = "randperm"
    n = _int_arg(n, op, "n")
    if n < 0:
        raise ShapeRuntimeError(f"{op}: n must be non-negative, got {n}")
    dt = dtype_arg(dtype, op, out.dtype if out is not None else dtypes.int64)
    values = numpy_generator(generator, op).permutation(n).astype(dt)
    dev = device_arg(device, op, default=None if out is None else out.device)
    return finish(place(values, dev, op, requires_grad), out, op)


# ---- *_like -------------------------------------------------------------------------------------
def _like(op, input, generator, dtype, device, requires_grad, draw, float_only=True):
    _check_tensor(input, op)
    dt = dtype_arg(dtype, op, input.dtype)
    if float_only:
        _float_dtype(dt, op)
    values = np.asarray(draw(numpy_generator(generator, op), tuple(input.shape))).astype(dt, copy=False)
    return place(values, device_arg(device, op, input.device), op, requires_grad)


@register("rand_like", method=False)
def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    """Uniform [0, 1) samples of `input`'s shape, dtype and device."""
    return _like("rand_like", input, generator, dtype, device, requires_grad, lambda g, s: g.random(s))


@register("randn_like", method=False)
def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return _like("randn_like", input, generator, dtype, device, requires_grad, lambda g, s: g.standard_normal(s))


@register("randint_like", method=False)
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    """Integers on [low, high) in `input`'s shape and dtype; `randint_like(x, 5)` is high=5."""
    op = "randint_like"
    if high is None:
        low, high = 0, low
    low, high = _int_arg(low, op, "low"), _int_arg(high, op, "high")
    _check_tensor(input, op)
    _int_bounds(low, high, dtype_arg(dtype, op, input.dtype), op)
    return _like(op, input, generator, dtype, device, requires_grad,
                 lambda g, s: g.integers(low, high, s, dtype=np.int64), float_only=False)


# ---- distributions with tensor parameters ---------------------------------------------------------
@register("normal", method=False)
def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """Normal samples, as torch.normal: `normal(mean_tensor, std_tensor)` (broadcast),
    `normal(mean_tensor, 1.0)`, `normal(0.0, std_tensor)` or `normal(0.0, 1.0, size)`. Tensor
    parameters get zero gradients, as in torch."""
    op = "normal"
    T = tensor_cls()
    g = numpy_generator(generator, op)
    if not isinstance(mean, T) and not isinstance(std, T):
        m, s = scalar_arg(mean, op, "mean"), scalar_arg(std, op, "std")
        if size is None:
            raise TypeError(f"{op}: with a float mean and a float std, size is required (normal(mean, std, size))")
        if s < 0:
            raise ShapeRuntimeError(f"{op}: expects std >= 0.0, but found std {s}")
        shape = size_arg((size,), op)
        check_alloc(shape, np.float64, op)
        dt = _float_dtype(dtype_arg(dtype, op, out.dtype if out is not None else default_dtype()), op)
        values = (m + s * g.standard_normal(shape)).astype(dt)
        dev = device_arg(device, op, default=None if out is None else out.device)
        return finish(place(values, dev, op, requires_grad), out, op)
    if size is not None:
        raise TypeError(f"{op}: size is only accepted with a float mean and a float std")
    tensors = [x for x in (mean, std) if isinstance(x, T)]
    for name, x in (("mean", mean), ("std", std)):
        if isinstance(x, T):
            _float_dtype(x.dtype, op)
        else:
            x = scalar_arg(x, op, name)
            if name == "std" and x < 0:
                raise ShapeRuntimeError(f"{op}: expects std >= 0.0, but found std {x}")
    if len(tensors) == 2:
        if (type(mean._data) is np.ndarray) != (type(std._data) is np.ndarray):
            raise ValueError(f"{op}: mean is on {mean.device}, std on {std.device}")
        dt = dtypes.promote(mean.dtype, std.dtype)
        try:
            shape = np.broadcast_shapes(tuple(mean.shape), tuple(std.shape))
        except ValueError:
            raise ShapeRuntimeError(f"{op}: the shapes of mean {tuple(mean.shape)} and std {tuple(std.shape)} "
                                    "do not broadcast") from None
    else:
        dt, shape = tensors[0].dtype, tuple(tensors[0].shape)
    if isinstance(std, T) and type(std._data) is np.ndarray and bool((std._data < 0).any()):
        raise ShapeRuntimeError(f"{op}: expects all elements of std >= 0.0")
    like = tensors[0]._data
    eps = _like_device(g.standard_normal(shape).astype(dt), like)
    m = mean._data if isinstance(mean, T) else scalar_arg(mean, op, "mean")
    s = std._data if isinstance(std, T) else scalar_arg(std, op, "std")
    value = m + s * eps
    if value.dtype != dt:
        value = value.astype(dt)
    return finish(_sampled(value, *[x if isinstance(x, T) else None for x in (mean, std)]), out, op)


@register("bernoulli")
def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 samples in `input`'s dtype: 1 with probability `input` (elementwise), or `p` when given,
    as torch.bernoulli."""
    op = "bernoulli"
    _check_tensor(input, op)
    _float_dtype(input.dtype, op)
    u = numpy_generator(generator, op).random(tuple(input.shape))
    if p is None:
        probs = input._data
        if type(probs) is np.ndarray and probs.size and bool(((probs < 0) | (probs > 1)).any()):
            raise ShapeRuntimeError(f"{op}: expects all probabilities of input to be in [0, 1]")
        value = (_like_device(u.astype(input.dtype), probs) < probs).astype(input.dtype)
        return finish(_sampled(value, input), out, op)
    p = scalar_arg(p, op, "p")
    if not 0 <= p <= 1:
        raise ShapeRuntimeError(f"{op}: expects p to be in [0, 1], but got p={p}")
    value = _like_device((u < p).astype(input.dtype), input._data)
    return finish(tensor_cls()._wrap(value), out, op)


@register("poisson", method=False)
def poisson(input, generator=None):
    """Poisson samples with rates `input` (float, >= 0), in its dtype, as torch.poisson. On wgpu
    the rates are read back for the draw."""
    op = "poisson"
    _check_tensor(input, op)
    _float_dtype(input.dtype, op)
    rates = _host(input)
    if rates.size and not bool((rates >= 0).all()):
        raise ShapeRuntimeError(f"{op}: invalid Poisson rate, expected rate to be non-negative")
    value = numpy_generator(generator, op).poisson(rates.astype(np.float64)).astype(input.dtype)
    return _sampled(_like_device(value, input._data), input)


@register("multinomial", differentiable=False)
def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """`num_samples` category indices per row of `input` (1-D or 2-D non-negative weights, not
    necessarily normalised). Without replacement the samples of a row are distinct (zero-weight
    categories come last, as torch's exponential-race sampling gives); int64 result."""
    op = "multinomial"
    _check_tensor(input, op)
    if input.ndim not in (1, 2):
        raise ShapeRuntimeError(f"{op}: prob_dist must be 1 or 2 dim, got shape {tuple(input.shape)}")
    if not dtypes.is_float(input.dtype):
        raise DtypeRuntimeError(f"{op}: only supports floating-point dtypes for input, got {input.dtype}")
    k = _int_arg(num_samples, op, "num_samples")
    if k <= 0:
        raise ShapeRuntimeError(f"{op}: cannot sample num_samples={k} <= 0 samples")
    w = _host(input).astype(np.float64).reshape(-1, input.shape[-1])
    n = w.shape[1]
    if not replacement and k > n:
        raise ShapeRuntimeError(f"{op}: cannot sample num_samples={k} > prob_dist.size(-1)={n} samples "
                                "without replacement")
    if w.size and not bool((np.isfinite(w) & (w >= 0)).all()):
        raise ShapeRuntimeError(f"{op}: probability tensor contains either inf, nan or element < 0")
    totals = w.sum(axis=1)
    if w.shape[0] and (n == 0 or bool((totals <= 0).any())):
        raise ShapeRuntimeError(f"{op}: invalid multinomial distribution (sum of probabilities <= 0)")
    g = numpy_generator(generator, op)
    rows = np.empty((w.shape[0], k), np.int64)
    if replacement:
        u = g.random((w.shape[0], k))
        for r in range(w.shape[0]):
            cdf = np.cumsum(w[r])
            idx = np.searchsorted(cdf, u[r] * cdf[-1], side="right")
            rows[r] = np.minimum(idx, np.flatnonzero(w[r])[-1])  # rounding at the top: last nonzero category
    else:
        # The exponential race: category i wins with key w_i / E_i, E_i ~ Exp(1); the k largest keys
        # are a sample without replacement with the right probabilities.
        keys = w / g.exponential(1.0, w.shape)
        rows[:] = np.argsort(-keys, axis=1, kind="stable")[:, :k]
    result = rows.reshape(tuple(input.shape[:-1]) + (k,))
    return finish(tensor_cls()._wrap(_like_device(result, input._data)), out, op)


# ---- in-place fills -----------------------------------------------------------------------------
def _fill(self, op, values):
    """Write host `values` into self (its dtype, its device) as an in-place op: a leaf that
    requires grad raises unless under no_grad, and the version counter moves."""
    T = tensor_cls()
    values = np.asarray(values).astype(self.dtype, copy=False)
    return self._assign_(T._wrap(_like_device(values, self._data)), op)


def _param(x, op, name):
    v = scalar_arg(x, op, name)
    return float(v)


@register("uniform_", function=False)
def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    """Fill with uniform samples on [from, to), in place."""
    op = "uniform_"
    _check_tensor(self, op, "self")
    _float_dtype(self.dtype, op)
    a, b = _param(from_, op, "from"), _param(to, op, "to")
    if a > b:
        raise ShapeRuntimeError(f"{op}: expects to return a [from, to) range, but found from={a} > to={b}")
    return _fill(self, op, numpy_generator(generator, op).uniform(a, b, tuple(self.shape)))


@register("normal_", function=False)
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with N(mean, std^2) samples, in place."""
    op = "normal_"
    _check_tensor(self, op, "self")
    _float_dtype(self.dtype, op)
    m, s = _param(mean, op, "mean"), _param(std, op, "std")
    if s < 0:
        raise ShapeRuntimeError(f"{op}: expects std >= 0.0, but found std {s}")
    return _fill(self, op, m + s * numpy_generator(generator, op).standard_normal(tuple(self.shape)))


@register("bernoulli_", function=False)
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples (1 with probability p: a number or a tensor broadcast to self)."""
    op = "bernoulli_"
    _check_tensor(self, op, "self")
    u = numpy_generator(generator, op).random(tuple(self.shape))
    if isinstance(p, tensor_cls()):
        probs = _host(p)
        if probs.size and bool(((probs < 0) | (probs > 1)).any()):
            raise ShapeRuntimeError(f"{op}: expects all probabilities p to be in [0, 1]")
        try:
            probs = np.broadcast_to(probs, tuple(self.shape))
        except ValueError:
            raise ShapeRuntimeError(f"{op}: p of shape {tuple(p.shape)} does not broadcast to {tuple(self.shape)}") from None
        return _fill(self, op, u < probs)
    p = _param(p, op, "p")
    if not 0 <= p <= 1:
        raise ShapeRuntimeError(f"{op}: expects p to be in [0, 1], but got p={p}")
    return _fill(self, op, u < p)


def _random_top(dt) -> int:
    """The inclusive top of random_() without bounds: 2**mantissa for floats (every integer is
    exact), the dtype's max for ints, 1 for bool."""
    if dt == dtypes.bool_:
        return 1
    if dtypes.is_float(dt):
        return 2 ** (np.finfo(dt).nmant + 1)
    return int(np.iinfo(dt).max)


@register("random_", function=False)
def random_(self, *args, generator=None, **kwargs):
    """Fill with integers, in place: `random_()` on [0, top] (2**24 for float32, 2**53 for
    float64, the max for ints), `random_(to)` on [0, to), `random_(from, to)` on [from, to)."""
    op = "random_"
    _check_tensor(self, op, "self")
    unknown = set(kwargs) - {"from", "from_", "to"}
    if unknown or len(args) > 2:
        raise TypeError(f"{op}: expected random_(), random_(to) or random_(from, to), got {args} {kwargs}")
    lo = kwargs.get("from", kwargs.get("from_"))
    hi = kwargs.get("to")
    if len(args) == 1:
        if lo is None and "to" not in kwargs:
            hi = args[0]
        else:
            lo = args[0]
    elif len(args) == 2:
        lo, hi = args
    lo = 0 if lo is None else _int_arg(lo, op, "from")
    if hi is None:
        hi = _random_top(self.dtype) + 1
    else:
        hi = _int_arg(hi, op, "to")
    if lo >= hi:
        raise ShapeRuntimeError(f"{op}: expects 'from' to be less than 'to', but got from={lo} >= to={hi}")
    _int_bounds(lo, hi, self.dtype, op)
    # endpoint=True: the int64 top (2**63 - 1) is reachable without an out-of-range `high`.
    draw = numpy_generator(generator, op).integers(lo, hi - 1, tuple(self.shape), dtype=np.int64, endpoint=True)
    return _fill(self, op, draw)


@register("exponential_", function=False)
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with Exponential(rate=lambd) samples, in place."""
    op = "exponential_"
    _check_tensor(self, op, "self")
    _float_dtype(self.dtype, op)
    lam = _param(lambd, op, "lambd")
    if not lam > 0:
        raise ShapeRuntimeError(f"{op}: expects lambda > 0.0, but found lambda={lam}")
    return _fill(self, op, numpy_generator(generator, op).exponential(1.0 / lam, tuple(self.shape)))


@register("geometric_", function=False)
def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...), in place."""
    op = "geometric_"
    _check_tensor(self, op, "self")
    p = _param(p, op, "p")
    if not 0 < p < 1:
        raise ShapeRuntimeError(f"{op}: expects p to be in (0, 1), but got p={p}")
    return _fill(self, op, numpy_generator(generator, op).geometric(p, tuple(self.shape)))


@register("cauchy_", function=False)
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy(median, sigma) samples, in place."""
    op = "cauchy_"
    _check_tensor(self, op, "self")
    _float_dtype(self.dtype, op)
    m, s = _param(median, op, "median"), _param(sigma, op, "sigma")
    if not s > 0:
        raise ShapeRuntimeError(f"{op}: expects sigma > 0.0, but found sigma={s}")
    return _fill(self, op, m + s * numpy_generator(generator, op).standard_cauchy(tuple(self.shape)))


@register("log_normal_", function=False)
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(N(mean, std^2)) samples, in place."""
    op = "log_normal_"
    _check_tensor(self, op, "self")
    _float_dtype(self.dtype, op)
    m, s = _param(mean, op, "mean"), _param(std, op, "std")
    if not s > 0:
        raise ShapeRuntimeError(f"{op}: expects std > 0.0, but found std={s}")
    return _fill(self, op, numpy_generator(generator, op).lognormal(m, s, tuple(self.shape)))
