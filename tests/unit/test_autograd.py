"""Backward semantics: topological order, accumulation, freed graphs, no_grad, leaf-only grads."""

import weakref

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.testing import GradcheckError, gradcheck


def leaf(a):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def test_shared_subexpression():
    a = np.array([-1.5, 0.0, 2.0, 3.0])
    x = leaf(a)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * a + 1)


def test_diamond_graph_waits_for_all_consumers():
    a = np.array([0.5, -1.0, 2.0])
    x = leaf(a)
    u = x * 2  # used by three consumers, one of them reached only through another
    v = u * u
    w = u + v
    (w * u).sum().backward()
    # f = (2x + 4x^2) * 2x = 4x^2 + 8x^3  ->  f' = 8x + 24x^2
    np.testing.assert_allclose(x.grad.numpy(), 8 * a + 24 * a**2)
    assert gradcheck(lambda t: ((t * 2) + (t * 2) * (t * 2)) * (t * 2), [leaf(a)])


def test_same_tensor_twice_in_one_op():
    x = leaf([3.0])
    (x * x * x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [27.0])
    y = leaf([2.0])
    (y / y + y - y).backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.0], atol=1e-15)


def test_long_chain_has_no_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(3000):
        y = y * 1.0 + 0.001
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 2 * 1.0, 2 + 2 * 2.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_second_backward_through_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])  # the failed call added nothing
    # A new graph that reuses a freed intermediate also refuses.
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        (h * 2).sum().backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    with pytest.raises(RuntimeError):
        y.backward()


def test_no_graph_under_no_grad():
    x = leaf([1.0, 2.0])
    with fg.no_grad():
        y = (x * 3).sum()
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError):
        y.backward()
    assert x.grad is None


def test_no_graph_without_requires_grad():
    x = fg.tensor([1.0, 2.0])
    y = (x.exp() * 2).sum()
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_only_leaves_that_require_grad_get_grad():
    x = leaf([1.0, 2.0])
    c = fg.tensor([3.0, 4.0], dtype=fg.float64)
    h = x * c
    z = h.sum()
    assert h.requires_grad and not h.is_leaf
    z.backward()
    assert h.grad is None and z.grad is None
    assert c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_retain_grad_keeps_non_leaf_grad():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_leaf_backward_on_itself():
    x = leaf([1.0, 2.0])
    x.backward(fg.tensor([0.5, 0.25], dtype=fg.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.25])


def test_leaf_grads_do_not_alias_each_other_or_the_seed():
    x, z = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seed = np.array([1.0, 1.0])
    (x + z).backward(seed)
    assert not np.shares_memory(x.grad.numpy(), z.grad.numpy())
    assert not np.shares_memory(x.grad.numpy(), seed)
    x.grad.zero_()
    np.testing.assert_array_equal(z.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(seed, [1.0, 1.0])


def test_grad_has_leaf_dtype():
    x = fg.tensor([1.0, 2.0], requires_grad=True)  # float32
    (x * fg.tensor([2.0, 3.0], dtype=fg.float64)).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 3.0])


def test_gradcheck_detects_a_wrong_gradient():
    class Wrong(fg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * a

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2 * a * g

    with pytest.raises(GradcheckError):
        gradcheck(lambda t: Wrong.apply(t), [leaf([1.0, 2.0])])
    with pytest.raises(TypeError):
        gradcheck(lambda t: t * 2, [fg.tensor([1.0], requires_grad=True)])  # float32 input


def test_gradcheck_scalar_output():
    assert gradcheck(lambda t: (t * t).sum(), [leaf([[1.0, -2.0], [0.5, 3.0]])])
    assert gradcheck(lambda t: t[0] * t[1], [leaf([1.5, -2.0])])


class _ReturnsSavedArray(fg.autograd.Function):
    """A backward that hands back an array its ctx keeps: the leaf must not take it over."""

    @staticmethod
    def forward(ctx, x):
        ctx.saved = np.full_like(x, 3.0)
        return x * 3.0

    @staticmethod
    def backward(ctx, grad):
        return ctx.saved


def test_leaf_does_not_take_over_an_array_a_retained_graph_keeps():
    x = leaf([1.0, 2.0])
    y = _ReturnsSavedArray.apply(x)
    y.backward(np.ones(2), retain_graph=True)
    x.grad._data[...] = 100.0  # would corrupt the saved array if the leaf had kept it
    x.grad = None
    y.backward(np.ones(2))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize("op", [
    lambda a, b: (a @ b).sum(),
    lambda a, b: (a.reshape(-1) * b.t().reshape(-1)).sum(),
    lambda a, b: fg.cat([a, b.t()]).sum(),
    lambda a, b: (a + b.t()).sum(),
])
def test_leaf_grads_are_independent_arrays(op):
    rng = np.random.default_rng(0)
    a, b = leaf(rng.standard_normal((3, 3))), leaf(rng.standard_normal((3, 3)))
    op(a, b).backward()
    before = b.grad.numpy().copy()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad._data[...] = 7.0
    np.testing.assert_array_equal(b.grad.numpy(), before)


def test_leaf_keeps_a_fresh_unshared_gradient_without_copying():
    made = []

    class Double(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            fresh = grad * 2.0
            made.append(weakref.ref(fresh))  # a weak reference: does not share the array
            return fresh

    x = leaf([1.0, 2.0])
    Double.apply(x).sum().backward()
    assert made[0]() is x.grad._data
