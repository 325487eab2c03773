"""`fg.special`: torch.special's functions.

Those composed from Tensor ops (expit, logit, xlogy, xlog1py, sinc, ndtr, ndtri, softmax, ...)
run on every device and are differentiable (twice and more). The transcendental ones with no
Tensor-op form (erfc, erfinv, gammaln, digamma, polygamma, log_ndtr, entr) are autograd Functions
whose forward runs numpy on cpu (scipy.special when installed, else the kernels below) and raise
NotImplementedError for wgpu tensors; their backward is written with these same functions, so
they are differentiable twice too (gammaln' = digamma, digamma' = polygamma(1, .), ...).
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from .autograd import Function
from .ops import _generic as G
from .ops._args import check_tensor as _check, floated as _floated, tensor_cls as _tensor_cls

__all__ = ["digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p", "log_ndtr",
           "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
           "sinc", "softmax", "xlog1py", "xlogy"]

_SQRT2 = math.sqrt(2.0)
_SQRT_PI = math.sqrt(math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@functools.cache
def _scipy_special():
    """scipy.special when installed (exact, fast); None makes the numpy kernels below run."""
    try:
        import scipy.special as sc

        return sc
    except ImportError:
        return None


def _cpu_only(a, fn):
    if type(a) is not np.ndarray:
        raise NotImplementedError(f"special.{fn}: runs on cpu only (numpy kernels); got a tensor on the device "
                                  "— move it with .cpu() first")


def _scalar_ufunc(f, a):
    """A math.* scalar function over an array (float64 inside), returned in a's dtype."""
    flat = np.frompyfunc(f, 1, 1)(np.asarray(a, dtype=np.float64))
    return np.asarray(flat, dtype=np.float64).astype(a.dtype, copy=False)


# ---- numpy kernels ------------------------------------------------------------------------------
def _erfc_np(a):
    sc = _scipy_special()
    return sc.erfc(a) if sc else _scalar_ufunc(math.erfc, a)


def _lgamma_scalar(x):
    try:
        return math.lgamma(x)
    except ValueError:  # the poles 0, -1, -2, ...: log|Gamma| is +inf there, as torch.lgamma
        return math.inf


def _lgamma_np(a):
    sc = _scipy_special()
    if sc:
        return sc.gammaln(a)
    return _scalar_ufunc(_lgamma_scalar, a)


def _erfinv_np(a):
    """erfinv: Giles' single-precision approximation, then Newton steps on erf (or on erfc near
    +-1, where 1 - |x| is exact and erfc keeps relative accuracy)."""
    sc = _scipy_special()
    if sc:
        return sc.erfinv(a)
    x = np.asarray(a, dtype=np.float64)
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        y = _erfinv_abs(ax, 1.0 - ax)  # 1 - |x| is exact where it matters (|x| > 0.5, Sterbenz)
        out = np.where(x == 0, x, np.copysign(y, x))  # keeps the sign of zero
    return out.astype(a.dtype, copy=False)


def _erfinv_abs(ax, one_minus):
    """erfinv(ax) >= 0 for ax in [0, 1], given one_minus = 1 - ax exactly (the tail's accuracy
    comes from it): inf at 1, nan above 1."""
    w = -np.log(one_minus * (1.0 + ax))
    ws = w - 2.5
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p1 = c + p1 * ws
    wl = np.sqrt(w) - 3.0
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p2 = c + p2 * wl
    y = np.where(w < 5.0, p1, p2) * ax
    erf_v = np.frompyfunc(math.erf, 1, 1)
    erfc_v = np.frompyfunc(math.erfc, 1, 1)
    tail = ax > 0.5
    finite = np.isfinite(y)
    for _ in range(3):
        yy = np.where(finite, y, 0.0)
        deriv = 2.0 / _SQRT_PI * np.exp(-yy * yy)
        r_erf = np.asarray(erf_v(yy), dtype=np.float64) - ax
        r_erfc = one_minus - np.asarray(erfc_v(yy), dtype=np.float64)
        step = np.where(tail, r_erfc, r_erf) / deriv
        y = np.where(finite & (deriv > 0), y - step, y)
    y = np.where(one_minus == 0, np.inf, y)
    return np.where((ax > 1.0) | (one_minus < 0), np.nan, y)


def _ndtri_np(a):
    """The standard normal quantile: -sqrt 2 erfcinv(2p) below 1/2, sqrt 2 erfinv(2p - 1) above,
    with 1 - |2p - 1| formed exactly (2p, or 2 - 2p) so both tails keep relative accuracy."""
    sc = _scipy_special()
    if sc:
        return sc.ndtri(a)
    p = np.asarray(a, dtype=np.float64)
    with np.errstate(all="ignore"):
        low = p < 0.5
        ax = np.where(low, 1.0 - 2.0 * p, 2.0 * p - 1.0)
        one_minus = np.where(low, 2.0 * p, 2.0 - 2.0 * p)
        y = _erfinv_abs(ax, one_minus) * _SQRT2
        out = np.where(low, -y, y)
        out = np.where((p < 0) | (p > 1) | (p != p), np.nan, out)
    return out.astype(a.dtype, copy=False)


# Bernoulli numbers B_2k, k = 1..7, for the asymptotic series of the polygamma family.
_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)


def _digamma_np(a):
    sc = _scipy_special()
    x = np.asarray(a, dtype=np.float64)
    if sc:
        out = sc.digamma(x)
        out = np.where(x == 0, -np.inf, out)  # torch: digamma(0) = -inf (scipy: nan or -inf by version)
        return out.astype(a.dtype, copy=False)
    with np.errstate(all="ignore"):
        neg = x < 0
        # psi(x) = psi(1 - x) - pi / tan(pi x) for negative x (poles at the negative integers: nan)
        z = np.where(neg, 1.0 - x, x)
        acc = np.zeros_like(z)
        for _ in range(12):  # psi(z) = psi(z + 1) - 1 / z until z >= 12
            m = z < 12.0
            if not m.any():
                break
            acc = acc - np.where(m, 1.0 / np.where(m, z, 1.0), 0.0)
            z = np.where(m, z + 1.0, z)
        inv2 = 1.0 / (z * z)
        series = 0.0
        p = inv2
        for k, b in enumerate(_B2K, start=1):
            series = series + b / (2 * k) * p
            p = p * inv2
        out = acc + np.log(z) - 0.5 / z - series
        refl = np.pi / np.tan(np.pi * x)
        out = np.where(neg, out - refl, out)
        out = np.where(neg & (x == np.floor(x)), np.nan, out)
        out = np.where(x == 0, -np.inf, out)
        out = np.where(x == np.inf, np.inf, out)
    return out.astype(a.dtype, copy=False)


def _polygamma_np(n, a):
    """psi^(n)(x), n >= 1: the recurrence psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1)
    up to x >= 20 + n, then the asymptotic series."""
    if n == 0:
        return _digamma_np(a)
    sc = _scipy_special()
    if sc:
        return sc.polygamma(n, a).astype(a.dtype, copy=False)
    x = np.asarray(a, dtype=np.float64)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    fact = math.factorial(n)
    start = 20.0 + n
    with np.errstate(all="ignore"):
        z = x.copy()
        acc = np.zeros_like(z)
        steps = int(np.ceil(start - np.nanmin(z))) if z.size and np.isfinite(np.nanmin(z)) else 0
        for _ in range(max(0, min(steps, 100000))):
            m = z < start
            if not m.any():
                break
            zs = np.where(m, z, 1.0)
            acc = acc + np.where(m, sign * fact / zs ** (n + 1), 0.0)
            z = np.where(m, z + 1.0, z)
        series = math.factorial(n - 1) / z ** n + fact / (2 * z ** (n + 1))
        for k, b in enumerate(_B2K, start=1):
            series = series + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / z ** (2 * k + n)
        out = acc + sign * series
        out = np.where((x <= 0) & (x == np.floor(x)), np.inf if n % 2 == 1 else np.nan, out)
    return out.astype(a.dtype, copy=False)


def _log_ndtr_np(a):
    """log Phi(x): log(erfc(-x / sqrt 2) / 2) in float64; below -20 the asymptotic series (erfc
    underflows there)."""
    x = np.asarray(a, dtype=np.float64)
    with np.errstate(all="ignore"):
        direct = np.log(0.5 * _erfc_np(-x / _SQRT2))
        xs = np.where(x < -20, x, -30.0)
        inv2 = 1.0 / (xs * xs)
        term, total = np.ones_like(xs), np.ones_like(xs)
        for k in range(1, 10):  # 1 - 1/x^2 + 3/x^4 - 15/x^6 + ...
            term = -term * (2 * k - 1) * inv2
            total = total + term
        asym = -0.5 * xs * xs - np.log(-xs) - _LOG_SQRT_2PI + np.log(total)
        out = np.where(x < -20, asym, direct)
    return out.astype(a.dtype, copy=False)


# ---- autograd Functions (cpu forward, backward in these same functions) -------------------------
class _Erfc(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        _cpu_only(a, "erfc")
        ctx.save_for_backward(a)
        return _erfc_np(a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (-2 / _SQRT_PI) * G.exp(-(x * x))


class _Erfinv(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        _cpu_only(a, "erfinv")
        out = _erfinv_np(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * (_SQRT_PI / 2) * G.exp(y * y)


class _Ndtri(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        _cpu_only(a, "ndtri")
        out = _ndtri_np(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved  # 1 / phi(y) = sqrt(2 pi) exp(y^2 / 2)
        return g * math.sqrt(2 * math.pi) * G.exp(y * y * 0.5)


class _Lgamma(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        _cpu_only(a, "gammaln")
        ctx.save_for_backward(a)
        return _lgamma_np(a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * _polygamma_any(0, x)


class _Polygamma(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, n):
        _cpu_only(a, "digamma" if n == 0 else "polygamma")
        ctx.save_for_backward(a)
        ctx.n = n
        return _polygamma_np(n, a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * _polygamma_any(ctx.n + 1, x), None


def _polygamma_any(n, x):
    """psi^(n) of an array (first-order backward) or a Tensor (create_graph=True)."""
    return _Polygamma.apply(x, n) if G.is_tensor(x) else _polygamma_np(n, x)


class _LogNdtr(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        _cpu_only(a, "log_ndtr")
        out = _log_ndtr_np(a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved  # d/dx log Phi(x) = phi(x) / Phi(x) = exp(-x^2/2 - log Phi(x)) / sqrt(2 pi)
        return g * G.exp(-(x * x) * 0.5 - y - _LOG_SQRT_2PI)


class _Entr(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        with np.errstate(all="ignore"):
            out = np.where(a > 0, -a * np.log(np.where(a > 0, a, 1)), np.where(a == 0, 0, -np.inf))
            out = np.where(a != a, a, out)
        ctx.save_for_backward(a)
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved  # -(1 + log x), as torch (inf at 0, nan below)
        return g * (-(G.log(x) + 1))


# ---- the torch.special functions ---------------------------------------------------------------
def expit(input):
    """1 / (1 + exp(-input)) (torch.sigmoid)."""
    return _floated(input, "special.expit").sigmoid()


def logit(input, eps=None):
    """log(p / (1 - p)); with `eps`, input is first clamped to [eps, 1 - eps]."""
    x = _floated(input, "special.logit")
    if eps is not None:
        if not isinstance(eps, numbers.Real):
            raise TypeError(f"special.logit: eps must be a float or None, got {type(eps).__name__}")
        x = x.clamp(min=eps, max=1 - eps)
    return x.log() - (-x).log1p()


def erf(input):
    return _floated(input, "special.erf").erf()


def erfc(input):
    """1 - erf(input), accurate where erf is close to 1 (cpu)."""
    return _Erfc.apply(_floated(input, "special.erfc"))


def erfinv(input):
    """The inverse of erf on (-1, 1); +-inf at +-1, nan outside (cpu)."""
    return _Erfinv.apply(_floated(input, "special.erfinv"))


def ndtr(input):
    """The standard normal CDF: erfc(-x / sqrt 2) / 2 (cpu)."""
    return erfc(-_floated(input, "special.ndtr") / _SQRT2) * 0.5


def ndtri(input):
    """The inverse of ndtr, the standard normal quantile (cpu)."""
    return _Ndtri.apply(_floated(input, "special.ndtri"))


def log_ndtr(input):
    """log of the standard normal CDF, finite far into the lower tail (cpu)."""
    return _LogNdtr.apply(_floated(input, "special.log_ndtr"))


def log1p(input):
    return _floated(input, "special.log1p").log1p()


def expm1(input):
    return _floated(input, "special.expm1").expm1()


def exp2(input):
    return _floated(input, "special.exp2").exp2()


def _pair(input, other, op):
    """Two operands as Tensors (one may be a Python number), in a float dtype."""
    T = _tensor_cls()
    if not isinstance(input, T) and not isinstance(other, T):
        raise TypeError(f"{op}: expected at least one Tensor argument, got {type(input).__name__} and "
                        f"{type(other).__name__}")
    from .tensor import tensor

    like = input if isinstance(input, T) else other
    x = input if isinstance(input, T) else tensor(float(_number(input, op, "input")), dtype=_float_of(like),
                                                 device=like.device)
    y = other if isinstance(other, T) else tensor(float(_number(other, op, "other")), dtype=_float_of(like),
                                                 device=like.device)
    return _floated(x, op, "input"), _floated(y, op, "other")


def _number(v, op, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a Tensor or a real number, got {type(v).__name__}")
    return v


def _float_of(t):
    from . import dtypes

    return t.dtype if dtypes.is_float(t.dtype) else dtypes.default_float()


def _x_log_fn(x, y, log_y, pole):
    """x * log_y(y), 0 where x == 0 and y is log_y's pole (nan where y is nan). The gradient to x
    is log_y(y) even where x == 0, 0 at the pole, as torch's."""
    from .tensor import where

    zz = (x == 0) & (y == pole)
    return where(zz, 0.0, x * log_y(where(zz, pole + 1.0, y)))


def xlogy(input, other):
    """input * log(other), 0 where input == 0 (nan where other is nan)."""
    x, y = _pair(input, other, "special.xlogy")
    return _x_log_fn(x, y, lambda t: t.log(), 0.0)


def xlog1py(input, other):
    """input * log1p(other), 0 where input == 0 (nan where other is nan)."""
    x, y = _pair(input, other, "special.xlog1py")
    return _x_log_fn(x, y, lambda t: t.log1p(), -1.0)


def sinc(input):
    """sin(pi x) / (pi x), 1 at 0 (gradient 0 there)."""
    from .tensor import where

    x = _floated(input, "special.sinc")
    zero = x == 0
    xs = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, xs.sin() / xs)


def entr(input):
    """-x log x elementwise: 0 at 0, -inf for x < 0."""
    return _Entr.apply(_floated(input, "special.entr"))


def logsumexp(input, dim, keepdim=False):
    return _check(input, "special.logsumexp").logsumexp(dim, keepdim=keepdim)


def softmax(input, dim, *, dtype=None):
    from .ops.registry import OPS

    return OPS["softmax"].fn(_check(input, "special.softmax"), dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    from .ops.registry import OPS

    return OPS["log_softmax"].fn(_check(input, "special.log_softmax"), dim, dtype=dtype)


def gammaln(input):
    """log |Gamma(x)| (torch.lgamma); +inf at 0, -1, -2, ... (cpu)."""
    return _Lgamma.apply(_floated(input, "special.gammaln"))


def digamma(input):
    """psi(x) = d/dx log Gamma(x); -inf at 0, nan at the negative integers (cpu)."""
    return _Polygamma.apply(_floated(input, "special.digamma"), 0)


psi = digamma


def polygamma(n, input):
    """The n-th derivative of digamma (n >= 0) (cpu)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"special.polygamma: n must be a non-negative int, got {n!r}")
    return _Polygamma.apply(_floated(input, "special.polygamma"), int(n))


def multigammaln(input, p):
    """The multivariate log-gamma of dimension p: sum_j lgamma(x - j/2) + p(p-1)/4 log pi (cpu)."""
    x = _floated(input, "special.multigammaln")
    if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1:
        raise ValueError(f"special.multigammaln: p has to be greater than or equal to 1, got {p!r}")
    if not bool((x > (p - 1) / 2).all()):
        raise ValueError(f"special.multigammaln: all elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    out = gammaln(x)
    for j in range(1, p):
        out = out + gammaln(x - j / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)


def round(input, *, decimals=0):  # noqa: A001
    return _check(input, "special.round").round(decimals=decimals)
