"""Tensor ops on "wgpu" against the same ops on "cpu": forward values and every input's gradient
within float32 tolerance, on random odd shapes. Autograd runs entirely on the device."""

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F

TOL = 2e-4


def run_both(fn, *arrays, grad=True, seed_grad=True):
    """fn(*tensors) on cpu and on wgpu; returns ((out_cpu, grads_cpu), (out_dev, grads_dev))."""
    results = []
    for device in ("cpu", "wgpu"):
        ts = [fg.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(*ts)
        assert out.device == device
        grads = []
        if grad and out.requires_grad:
            # A fixed, non-uniform output gradient exercises every backward path.
            g = np.linspace(-1, 1, max(out.numel(), 1), dtype=np.float32).reshape(out.shape)
            out.backward(fg.tensor(g, device=device)) if seed_grad else out.sum().backward()
            grads = [None if t.grad is None else (t.grad.device, t.grad.numpy()) for t in ts]
        results.append((out.detach().numpy(), grads))
    return results


def assert_same(fn, *arrays, tol=TOL, **kw):
    (oc, gc), (od, gd) = run_both(fn, *arrays, **kw)
    assert oc.dtype == od.dtype and oc.shape == od.shape
    np.testing.assert_allclose(od, oc, rtol=tol, atol=tol)
    assert len(gc) == len(gd)
    for c, d in zip(gc, gd):
        assert (c is None) == (d is None)
        if c is not None:
            assert d[0] == "wgpu"
            np.testing.assert_allclose(d[1], c[1], rtol=tol, atol=tol)


def rnd(*shape, seed=0, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed + 31 * len(shape)).uniform(lo, hi, shape).astype(np.float32)


@pytest.mark.parametrize("sa, sb", [((5, 3), (5, 3)), ((3, 1, 5), (4, 1)), ((7,), (2, 3, 7)), ((), (3, 2))])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_binary_arith_with_broadcasting(op, sa, sb):
    a = rnd(*sa, seed=1, lo=0.5) if op == "pow" else rnd(*sa, seed=1)
    b = rnd(*sb, seed=2, lo=0.5) if op == "div" else rnd(*sb, seed=2)
    fns = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
           "div": lambda x, y: x / y, "pow": lambda x, y: x**y, "maximum": fg.maximum, "minimum": fg.minimum}
    assert_same(fns[op], a, b)


def test_scalar_operands_and_reflected_ops():
    a = rnd(4, 3)
    assert_same(lambda x: 2.0 - x * 3 + 1 / (x * x + 1) - x**2, a)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "neg"])
def test_unary(name):
    a = rnd(3, 5, 7, seed=3)
    if name in ("log", "sqrt"):
        a = np.abs(a) + 0.2
    fn = (lambda x: -x) if name == "neg" else (lambda x: getattr(x, name)())
    assert_same(fn, a)


def test_clamp():
    assert_same(lambda x: x.clamp(-0.5, 0.7), rnd(6, 5))


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_reductions(dim, keepdim):
    a = rnd(3, 9, 5, seed=4)
    assert_same(lambda x: x.sum(dim, keepdim), a)
    assert_same(lambda x: x.mean(dim, keepdim), a)
    assert_same(lambda x: x.var(dim, keepdim=keepdim), a)


def test_max_min_with_and_without_dim():
    a = rnd(5, 7, seed=5)
    assert_same(lambda x: x.max(), a)
    assert_same(lambda x: x.min(), a)
    assert_same(lambda x: x.max(1).values, a)
    assert_same(lambda x: x.min(0, keepdim=True).values, a)
    t = fg.tensor(a, device="wgpu")
    np.testing.assert_array_equal(t.max(1).indices.numpy(), a.argmax(1))
    assert t.argmax(1).dtype == fg.int64 and t.argmax().item() == a.argmax()


@pytest.mark.parametrize("sa, sb", [((5, 3), (3, 7)), ((2, 4, 3), (3, 5)), ((3,), (3, 4)), ((4, 3), (3,)),
                                    ((2, 1, 3, 5), (3, 5, 2)), ((7,), (7,))])
def test_matmul_incl_batched(sa, sb):
    assert_same(lambda x, y: x @ y, rnd(*sa, seed=6), rnd(*sb, seed=7))


def test_linear():
    x, w, b = rnd(5, 3, seed=8), rnd(4, 3, seed=9), rnd(4, seed=10)
    assert_same(F.linear, x, w, b)


def test_reshape_transpose_permute_flatten():
    a = rnd(2, 3, 5, seed=11)
    assert_same(lambda x: x.transpose(0, 2).reshape(5, 6) * 2, a)
    assert_same(lambda x: x.permute(2, 0, 1).flatten(1), a)
    assert_same(lambda x: x.T.unsqueeze(1).squeeze(1) + 1, a)
    assert_same(lambda x: x[:, :1].expand(2, 4, 5), a)


def test_indexing_basic_and_integer_arrays():
    a = rnd(5, 4, 3, seed=12)
    assert_same(lambda x: x[1:4, ::2, -1], a)
    assert_same(lambda x: x[[0, 2, 2, 4]], a)  # repeated rows accumulate in backward
    assert_same(lambda x: x[[1, 1, 3], :, [0, 2, 0]], a)


def test_indexing_with_a_device_index_tensor():
    a = rnd(6, 3, seed=13)
    ids = np.array([5, 0, 5, 2], np.int64)
    (oc, gc), (od, gd) = run_both(lambda x: x[fg.tensor(ids, device=x.device)], a)
    np.testing.assert_allclose(od, oc, rtol=TOL)
    np.testing.assert_allclose(gd[0][1], gc[0][1], rtol=TOL)


def test_cat_stack_where():
    a, b = rnd(2, 3, seed=14), rnd(2, 5, seed=15)
    assert_same(lambda x, y: fg.cat([x, y, x], dim=1), a, b)
    assert_same(lambda x, y: fg.stack([x, y[:, :3]], dim=1), a, b)
    assert_same(lambda x, y: fg.where(x > 0, x, y[:, 1:4]), a, b)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "leaky_relu"])
def test_functional_activations(name):
    a = rnd(4, 7, seed=16, lo=-4, hi=4)
    fns = {"gelu_tanh": lambda x: F.gelu(x, approximate="tanh")}
    assert_same(fns[name] if name in fns else getattr(F, name), a)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits"])
def test_elementwise_losses(name):
    x, t = rnd(5, 3, seed=17), rnd(5, 3, seed=18, lo=0, hi=1)
    fn = getattr(F, name)
    assert_same(lambda a, b: fn(a, b), x, t)


def test_a_graph_reusing_a_tensor_accumulates_on_the_device():
    a = rnd(4, 3, seed=19)
    assert_same(lambda x: (x * x).sum(0) + x.mean(0) - x[0], a)


def test_backward_twice_accumulates_grad():
    for device in ("cpu", "wgpu"):
        x = fg.tensor(rnd(3, 2), device=device, requires_grad=True)
        (x * 2).sum().backward()
        (x * x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 + 2 * rnd(3, 2), rtol=1e-5)
        assert x.grad.device == device


def test_leaf_gradients_never_alias_on_the_device():
    a = fg.ones(3, device="wgpu", requires_grad=True)
    b = fg.ones(3, device="wgpu", requires_grad=True)
    c = fg.ones(2, device="wgpu", requires_grad=True)
    (a + b).sum().backward()  # one gradient array reaches both leaves
    fg.cat([a * 2, c]).sum().backward()  # pieces of one array reach a and c
    a.grad._data += 10  # an optimizer updating one gradient in place
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    assert c.grad.tolist() == [1.0, 1.0]
    assert a.grad.tolist() == [13.0, 13.0, 13.0]
    x = fg.ones(4, device="wgpu", requires_grad=True)
    (x * 3).sum().backward()
    g = x.grad._data
    (x * 3).sum().backward()  # accumulation makes a new array; the old one is not written
    assert g.tolist() == [3.0] * 4 and x.grad.tolist() == [6.0] * 4
