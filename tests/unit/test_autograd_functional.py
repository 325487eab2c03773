"""fg.autograd_functional (torch.autograd.functional + gradcheck / gradgradcheck) against torch
(tests/fixtures/autograd_functional_torch.npz, made by
tests/fixtures/gen/gen_autograd_functional_torch.py on functional_cases.py): values and output
structures; strict mode, v checks, create_graph; gradcheck passing and failing."""

import importlib.util
import pathlib

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import autograd_functional as AF

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("functional_cases", FIXTURES / "gen" / "functional_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
REF = np.load(FIXTURES / "autograd_functional_torch.npz")


def _flat(value, key, out):
    if isinstance(value, fg.Tensor):
        out[key] = value
    else:
        assert isinstance(value, tuple), f"{key}: expected a Tensor or a tuple, got {type(value).__name__}"
        for i, v in enumerate(value):
            _flat(v, f"{key}/{i}", out)
    return out


def _compare(value, key):
    got = _flat(value, key, {})
    want = {k for k in REF.files if k == key or k.startswith(key + "/")}
    assert set(got) == want, f"structure differs from torch: {sorted(got)} vs {sorted(want)}"
    for k, t in got.items():
        assert not t.requires_grad, f"{k}: create_graph=False results are detached"
        assert tuple(t.shape) == REF[k].shape, k
        np.testing.assert_allclose(t.numpy(), REF[k], rtol=1e-11, atol=1e-12, err_msg=k)


def _setup(name):
    build, arrays, scalar = cases.FUNCS[name]
    f = build(fg)
    ins = tuple(fg.tensor(a, dtype=fg.float64) for a in arrays)
    outs = f(*ins)
    outs = outs if isinstance(outs, tuple) else (outs,)
    v_out = tuple(fg.tensor(v) for v in cases.vectors(name, [o.numpy() for o in outs]))
    v_in = tuple(fg.tensor(v) for v in cases.vectors(name, arrays))
    one = lambda t: t if len(t) > 1 else t[0]  # noqa: E731
    return f, one(ins), one(v_out), one(v_in), scalar


@pytest.mark.parametrize("name", sorted(cases.FUNCS))
def test_jacobian_vjp_jvp_match_torch(name):
    f, inputs, v_out, v_in, _ = _setup(name)
    _compare(AF.jacobian(f, inputs), f"{name}/jacobian")
    out, vjp = AF.vjp(f, inputs, v_out)
    _compare(vjp, f"{name}/vjp")
    assert not (out if isinstance(out, fg.Tensor) else out[0]).requires_grad
    _compare(AF.jvp(f, inputs, v_in)[1], f"{name}/jvp")


@pytest.mark.parametrize("name", sorted(n for n, c in cases.FUNCS.items() if c[2]))
def test_hessian_hvp_vhp_match_torch(name):
    f, inputs, _, v_in, _ = _setup(name)
    _compare(AF.hessian(f, inputs), f"{name}/hessian")
    _compare(AF.hvp(f, inputs, v_in)[1], f"{name}/hvp")
    _compare(AF.vhp(f, inputs, v_in)[1], f"{name}/vhp")


@pytest.mark.parametrize("name", ["vec", "linear_tanh", "two_in_two_out", "matrix"])
def test_forward_mode_jacobian_equals_reverse(name):
    f, inputs, _, _, _ = _setup(name)
    _compare(AF.jacobian(f, inputs, strategy="forward-mode", vectorize=True), f"{name}/jacobian")


def test_forward_over_reverse_hessian():
    f, inputs, _, _, _ = _setup("two_in_scalar")
    _compare(AF.hessian(f, inputs, outer_jacobian_strategy="forward-mode", vectorize=True), "two_in_scalar/hessian")


def test_v_may_be_none_for_single_elements():
    f, x, _, _, _ = _setup("zero_d")
    out, g = AF.vjp(f, x)
    np.testing.assert_allclose(g.numpy(), REF["zero_d/vjp"] / 0.5)  # v was 0.5 in the fixture
    np.testing.assert_allclose(AF.jvp(f, x)[1].numpy(), REF["zero_d/jvp"] / 0.5)
    np.testing.assert_allclose(AF.hvp(f, x)[1].numpy(), REF["zero_d/hvp"] / 0.5)


def test_create_graph_results_are_differentiable():
    x = fg.tensor([0.3, -0.8, 1.1], dtype=fg.float64, requires_grad=True)
    jac = AF.jacobian(lambda t: t.pow(3), x, create_graph=True)  # diag(3 x^2)
    assert jac.requires_grad
    jac.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy())
    x.grad = None
    _, h = AF.hvp(lambda t: t.pow(4).sum(), x, fg.ones(3, dtype=fg.float64), create_graph=True)
    h.sum().backward()  # h = 12 x^2 -> d/dx = 24 x
    np.testing.assert_allclose(x.grad.numpy(), 24 * x.detach().numpy())


def test_independent_inputs_give_zeros_or_strict_errors():
    x, y = fg.tensor([1.0, 2.0], dtype=fg.float64), fg.tensor([3.0], dtype=fg.float64)
    f = lambda a, b: a * 2  # noqa: E731
    jx, jy = AF.jacobian(f, (x, y))
    np.testing.assert_array_equal(jx.numpy(), 2 * np.eye(2))
    assert jy.shape == (2, 1) and not jy.numpy().any()
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1. "
                                           "This is not allowed in strict mode."):
        AF.jacobian(f, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="The output of the user-provided function is independent of input 1"):
        AF.vjp(f, (x, y), fg.ones(2, dtype=fg.float64), strict=True)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function does not require gradients"):
        AF.vjp(lambda a: fg.ones(2), x, fg.ones(2), strict=True)
    h = AF.hessian(lambda a: (a * 3).sum(), x)  # linear: zero Hessian
    assert not h.numpy().any()


def test_bad_arguments():
    x = fg.tensor([1.0, 2.0], dtype=fg.float64)
    with pytest.raises(TypeError, match="The inputs given to jacobian must be either a Tensor or a tuple of Tensors "
                                        "but the given inputs has type"):
        AF.jacobian(lambda a: a, [1.0, 2.0])
    with pytest.raises(TypeError, match="but the value at index 1 has type"):
        AF.vjp(lambda a, b: a, (x, 3.0), x)
    with pytest.raises(RuntimeError, match="v has invalid size: should be ferrograd.Size\\(\\[2\\]\\) but got"):
        AF.vjp(lambda a: a * 2, x, fg.ones(3))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length: should be 2 but got 1."):
        AF.jvp(lambda a, b: a, (x, x), (x,))
    with pytest.raises(RuntimeError, match="The vector v can only be None if the user-provided function returns a "
                                           "single Tensor with a single element."):
        AF.vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="The Tensor returned by the function given to hessian should contain a "
                                           "single element"):
        AF.hessian(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="The function given to hvp should return a single Tensor"):
        AF.hvp(lambda a: (a.sum(), a.sum()), x, x)
    with pytest.raises(ValueError, match="strategy"):
        AF.jacobian(lambda a: a, x, strategy="sideways")
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        AF.jacobian(lambda a: a, x, create_graph=True, strategy="forward-mode")


# ---- gradcheck / gradgradcheck -----------------------------------------------------------------------
class _WrongBackward(fg.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return g * a  # should be 2 a


def test_gradcheck_passes_and_fails():
    x = fg.tensor([0.3, -1.2, 2.0], dtype=fg.float64, requires_grad=True)
    y = fg.tensor([[0.5, 0.1], [0.2, -0.4]], dtype=fg.float64, requires_grad=True)
    assert AF.gradcheck(lambda a: (a.sin() * a.exp()), x) is True
    assert AF.gradcheck(lambda a, b: (a[:2] @ b, b.exp().sum()), (x, y)) is True  # two outputs
    assert AF.gradgradcheck(lambda a, b: (a[:2] @ b).tanh(), (x, y)) is True
    assert AF.gradcheck(lambda a: _WrongBackward.apply(a), x, raise_exception=False) is False
    with pytest.raises(AF.GradcheckError, match="Jacobian mismatch for output 0") as err:
        AF.gradcheck(lambda a: _WrongBackward.apply(a), x)
    assert isinstance(err.value, RuntimeError)
    with pytest.raises(ValueError, match="gradcheck expects at least one input tensor to require gradient"):
        AF.gradcheck(lambda a: a * 2, fg.tensor([1.0], dtype=fg.float64))


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class Once(fg.autograd.Function):  # first derivative right, second derivative wrong (cos -> -sin ignored)
        generic_backward = True

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return np.sin(a)

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved
            return g * (a.detach().cos() if isinstance(a, fg.Tensor) else np.cos(a))

    x = fg.tensor([0.3, -1.2, 2.0], dtype=fg.float64, requires_grad=True)
    assert AF.gradcheck(lambda a: Once.apply(a), x)
    assert AF.gradgradcheck(lambda a: Once.apply(a), x, raise_exception=False) is False
    assert AF.gradgradcheck(lambda a: a.sin(), x)
