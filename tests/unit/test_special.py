"""fg.special against torch.special (tests/fixtures/special_torch.npz, made by
tests/fixtures/gen/gen_special_torch.py on the cases of special_cases.py): values in float64 and
float32, gradients, float64 gradcheck / gradgradcheck, and the cpu-only kernels' errors."""

import importlib.util
import pathlib

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import special
from ferrograd.autograd_functional import gradgradcheck
from ferrograd.testing import gradcheck

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("special_cases", FIXTURES / "gen" / "special_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
REF = np.load(FIXTURES / "special_torch.npz")


def _call(name, dtype, requires_grad=False):
    fn_name, _, kwargs = cases.CASES[name]
    args, first = [], None
    for a in cases.case_args(name):
        if isinstance(a, np.ndarray):
            t = fg.tensor(a, dtype=dtype, requires_grad=requires_grad and first is None)
            first = t if first is None else first
            args.append(t)
        else:
            args.append(a)
    return getattr(special, fn_name)(*args, **kwargs), first


# torch's trigamma (polygamma(1, .), and so digamma's gradient) is a short series good to ~1e-9
# relative; ours converges to float64 precision (checked against the exact values below).
LOOSE = {"polygamma1": 1e-9, "digamma": 1e-9}


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_values_float64_match_torch(name):
    out, _ = _call(name, fg.float64)
    assert out.dtype == fg.float64
    np.testing.assert_allclose(out.numpy(), REF[f"{name}/f64"], rtol=LOOSE.get(name, 1e-12), atol=1e-13,
                               equal_nan=True)


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_values_float32_match_torch(name):
    out, _ = _call(name, fg.float32)
    assert out.dtype == fg.float32
    np.testing.assert_allclose(out.numpy(), REF[f"{name}/f32"], rtol=2e-6, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", sorted(cases.GRAD_CASES))
def test_gradients_match_torch(name):
    out, x = _call(name, fg.float64, requires_grad=True)
    (out * fg.tensor(cases.weights(tuple(out.shape)), dtype=fg.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), REF[f"{name}/grad"], rtol=LOOSE.get(name, 1e-10), atol=1e-12,
                               equal_nan=True)


def test_polygamma_exact_values():
    x = fg.tensor([1.0, 0.5, 2.0], dtype=fg.float64)
    z3 = 1.2020569031595942  # zeta(3)
    np.testing.assert_allclose(special.polygamma(1, x).numpy(), [np.pi ** 2 / 6, np.pi ** 2 / 2, np.pi ** 2 / 6 - 1],
                               rtol=1e-15)
    np.testing.assert_allclose(special.polygamma(2, x).numpy(), [-2 * z3, -14 * z3, -2 * z3 + 2], rtol=1e-14)
    np.testing.assert_allclose(special.digamma(x).numpy(), [-0.5772156649015329, -1.9635100260214235,
                                                            0.42278433509846713], rtol=1e-15)


SMOOTH = {  # fn, a float64 input inside the domain
    "erfc": (special.erfc, [-2.0, -0.3, 0.4, 1.7]),
    "erfinv": (special.erfinv, [-0.9, -0.2, 0.3, 0.7]),
    "gammaln": (special.gammaln, [0.3, 1.5, 4.0, 9.5]),
    "digamma": (special.digamma, [0.3, 1.5, 4.0, 9.5]),
    "log_ndtr": (special.log_ndtr, [-25.0, -3.0, 0.1, 2.0]),
    "entr": (special.entr, [0.2, 0.9, 1.5, 3.0]),
    "sinc": (special.sinc, [-1.3, 0.4, 0.9, 2.2]),
    "xlogy": (lambda x: special.xlogy(x, x * x + 0.5), [-1.3, 0.4, 0.9, 2.2]),
    "logit": (lambda x: special.logit(x, eps=0.05), [0.1, 0.3, 0.6, 0.9]),
    "ndtri": (special.ndtri, [0.1, 0.3, 0.6, 0.9]),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_gradcheck_and_gradgradcheck(name):
    fn, xs = SMOOTH[name]
    x = fg.tensor(xs, dtype=fg.float64, requires_grad=True)
    assert gradcheck(fn, [x], atol=1e-6, rtol=1e-5)
    assert gradgradcheck(fn, x)


def test_erfinv_inverts_erf_to_float64_precision():
    p = np.linspace(-0.999999, 0.999999, 201)
    x = special.erfinv(fg.tensor(p, dtype=fg.float64))
    np.testing.assert_allclose(fg.erf(x).numpy(), p, rtol=0, atol=2e-15)


def test_digamma_is_the_derivative_of_gammaln():
    x = fg.tensor([0.7, 2.5, 11.0], dtype=fg.float64, requires_grad=True)
    special.gammaln(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), special.digamma(x.detach()).numpy(), rtol=1e-14)


def test_integer_input_becomes_float():
    out = special.expit(fg.tensor([0, 1]))
    assert out.dtype == fg.float32
    np.testing.assert_allclose(out.numpy(), [0.5, 1 / (1 + np.exp(-1))], rtol=1e-6)


def test_xlogy_accepts_a_number_on_either_side():
    y = fg.tensor([1.0, 2.0], dtype=fg.float64)
    np.testing.assert_allclose(special.xlogy(2.0, y).numpy(), 2 * np.log([1.0, 2.0]))
    np.testing.assert_allclose(special.xlog1py(y, 0.0).numpy(), [0.0, 0.0])
    with pytest.raises(TypeError, match="special.xlogy"):
        special.xlogy(1.0, 2.0)


def test_bad_arguments_raise_named_errors():
    with pytest.raises(TypeError, match="special.erfinv: input must be a Tensor"):
        special.erfinv([0.1])
    with pytest.raises(ValueError, match="polygamma: n must be a non-negative int"):
        special.polygamma(-1, fg.tensor([1.0]))
    with pytest.raises(ValueError, match=r"multigammaln: all elements must be greater than \(p-1\)/2"):
        special.multigammaln(fg.tensor([0.5]), 3)
    with pytest.raises(TypeError, match="logit: eps"):
        special.logit(fg.tensor([0.5]), eps="x")


def test_cpu_only_kernels_say_so_on_wgpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    x = fg.tensor([0.5]).to("wgpu")
    with pytest.raises(NotImplementedError, match="special.gammaln: runs on cpu only"):
        special.gammaln(x)
    np.testing.assert_allclose(special.expit(x).cpu().numpy(), [1 / (1 + np.exp(-0.5))], rtol=1e-6)
