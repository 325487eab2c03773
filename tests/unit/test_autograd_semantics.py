"""Autograd behaviour PyTorch code relies on: version counters and in-place ops, several outputs,
create_graph (double backward), autograd.grad, hooks, retain_grad, `.data`, contiguous()."""

import numpy as np
import pytest

import ferrograd as fg


def leaf(values, dtype=fg.float64):
    return fg.tensor(values, dtype=dtype, requires_grad=True)


# ---- in-place ops and version counters --------------------------------------------------------
def test_changing_a_saved_tensor_in_place_makes_backward_raise():
    x = fg.tensor([1.0, 2.0, 3.0], dtype=fg.float64)
    w = leaf([1.0, 1.0, 1.0])
    y = (x * w).sum()
    x[0] = 100.0  # x was saved by the multiplication for w's gradient
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_a_change_to_an_unsaved_tensor_is_fine():
    x = fg.tensor([1.0, 2.0])
    w = leaf([3.0, 4.0])
    y = (x + w).sum()  # add saves nothing
    x.add_(5.0)
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 1.0])


def test_in_place_ops_bump_the_version():
    t = fg.zeros(3)
    v0 = t._version_count
    t.add_(1)
    t.mul_(2)
    t[0] = 5
    t.zero_()
    assert t._version_count == v0 + 4


def test_augmented_assignment_changes_the_tensor_itself():
    t = fg.zeros(3)
    u = t
    u += 1
    assert u is t
    np.testing.assert_array_equal(t.numpy(), [1, 1, 1])
    view = t[1:]
    t *= 3
    np.testing.assert_array_equal(view.numpy(), [3, 3])  # storage shared: the view sees it
    i = fg.tensor([1, 2])
    i //= 2
    i %= 2
    assert i.dtype == fg.int64 and i.tolist() == [0, 1]


def test_in_place_on_a_leaf_that_requires_grad_raises_unless_no_grad():
    p = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p.add_(1.0)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        p[0] = 3.0
    with fg.no_grad():
        p.add_(1.0)
        p[1] = 9.0
    np.testing.assert_array_equal(p.detach().numpy(), [2.0, 9.0])
    assert p.requires_grad and p.is_leaf


def test_in_place_on_a_non_leaf_stays_differentiable():
    w = leaf([1.0, 2.0, 3.0])
    z = w * 2
    z.add_(1.0)
    z.mul_(z)  # z = (2w + 1)^2
    z.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 4 * (2 * np.array([1.0, 2.0, 3.0]) + 1))
    assert z.grad_fn is not None and not z.is_leaf


def test_earlier_uses_keep_the_value_from_before_the_in_place_op():
    w = leaf([1.0, 2.0])
    z = w * 2
    q = z * 3  # uses z before it changes
    z.add_(1.0)
    (q.sum() + z.sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), [8.0, 8.0])


def test_assigning_into_a_non_leaf_sends_gradients_to_both_sides():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf(5.0)
    y = x * 1
    y[1] = v * 2
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, 6.0])
    assert v.grad.item() == pytest.approx(40.0)


def test_an_int_tensor_cannot_take_a_float_result_in_place():
    t = fg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        t.add_(1.5)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        fg.zeros(3).add_(fg.ones(2, 3))


def test_generated_in_place_variants_return_the_same_tensor():
    t = fg.tensor([0.5, 1.0])
    assert t.exp_() is t
    np.testing.assert_allclose(t.numpy(), np.exp([0.5, 1.0]), rtol=1e-6)
    assert t.clamp_(max=2.0) is t and t.numpy().max() <= 2.0
    assert t.fill_(7) is t and t.tolist() == [7.0, 7.0]
    s = fg.zeros(2, 2)
    s.copy_(fg.tensor([1.0, 2.0]))  # broadcast
    np.testing.assert_array_equal(s.numpy(), [[1, 2], [1, 2]])


# ---- several outputs ---------------------------------------------------------------------------
class _SplitHalves(fg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        n = x.shape[0] // 2
        return x[:n] * 2, x[n:] * 3, np.arange(n)  # the last output: integers, no gradient

    @staticmethod
    def backward(ctx, g1, g2, g3):
        assert g3 is None
        return np.concatenate([g1 * 2, g2 * 3])


def test_a_function_with_several_outputs_gets_one_gradient_per_output():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    a, b, idx = _SplitHalves.apply(x)
    assert a.requires_grad and b.requires_grad and not idx.requires_grad
    a.sum().backward()  # b unused: its gradient arrives as zeros
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 0, 0])
    x.grad = None
    a2, b2, _ = _SplitHalves.apply(x)
    (a2.sum() + 10 * b2.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 30, 30])


# ---- create_graph and autograd.grad ------------------------------------------------------------
def test_second_derivative_through_create_graph():
    x = leaf([1.0, -2.0, 0.5])
    y = (x ** 3).sum()
    (g,) = fg.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([1.0, -2.0, 0.5]) ** 2)
    assert g.requires_grad
    (h,) = fg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * np.array([1.0, -2.0, 0.5]))


def test_hessian_vector_product_of_an_mlp_loss():
    rng = np.random.default_rng(0)
    w = leaf(rng.standard_normal((3, 4)))
    x = fg.tensor(rng.standard_normal((5, 3)))
    v = fg.tensor(rng.standard_normal((3, 4)))

    def loss(w_):
        return (x @ w_).tanh().pow(2).mean()

    (g,) = fg.autograd.grad(loss(w), w, create_graph=True)
    (hv,) = fg.autograd.grad((g * v).sum(), w)
    eps = 1e-5

    def grad_at(wv):  # central differences of the gradient along v
        t = leaf(wv)
        return fg.autograd.grad(loss(t), t)[0].numpy()

    numeric = (grad_at(w.detach().numpy() + eps * v.numpy()) - grad_at(w.detach().numpy() - eps * v.numpy())) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), numeric, rtol=1e-5, atol=1e-8)


def test_gradient_penalty_backward_through_the_gradient():
    x = leaf([[0.5, -1.0], [2.0, 0.3]])
    out = (x.sin() * x).sum()
    (g,) = fg.autograd.grad(out, x, create_graph=True)
    penalty = (g ** 2).sum()
    penalty.backward()
    xv = x.detach().numpy()
    d1 = np.cos(xv) * xv + np.sin(xv)
    d2 = -np.sin(xv) * xv + 2 * np.cos(xv)
    np.testing.assert_allclose(x.grad.numpy(), 2 * d1 * d2, rtol=1e-10)


def test_autograd_grad_leaves_dot_grad_alone_and_takes_non_leaf_inputs():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    gx, gh = fg.autograd.grad(y, [x, h])
    np.testing.assert_allclose(gh.numpy(), 2 * np.array([3.0, 6.0]))
    np.testing.assert_allclose(gx.numpy(), 18 * np.array([1.0, 2.0]))
    assert x.grad is None


def test_autograd_grad_unused_input():
    x, z = leaf([1.0]), leaf([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        fg.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = fg.autograd.grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.tolist() == [2.0]


def _second_order(fn, *inputs):
    """gradcheck of x -> d(sum(fn(x) * w))/dx built with create_graph=True."""
    from ferrograd.testing import gradcheck

    w = fg.tensor(np.random.default_rng(3).standard_normal(tuple(fn(*inputs).shape)))

    def grads(*xs):
        with fg.enable_grad():
            gs = fg.autograd.grad((fn(*xs) * w).sum(), list(xs), create_graph=True)
        return fg.cat([g.reshape(-1) for g in gs])

    return gradcheck(grads, list(inputs))


F = fg.nn.functional


@pytest.mark.parametrize("name,fn", [
    ("softmax", lambda x: F.softmax(x, dim=1)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=0)),
    ("cross_entropy", lambda x: F.cross_entropy(x, fg.tensor([0, 2, 1]), reduction="none")),
    ("cross_entropy_smooth_weight_ignore", lambda x: F.cross_entropy(
        x, fg.tensor([0, 2, -100]), weight=fg.tensor([0.5, 1.0, 2.0], dtype=fg.float64), label_smoothing=0.1)),
    ("cross_entropy_probs", lambda x: F.cross_entropy(x, fg.tensor(np.full((3, 3), 1 / 3)))),
    ("layer_norm", lambda x: F.layer_norm(x, (3,), fg.tensor([1.0, 2.0, 0.5], dtype=fg.float64))),
    ("gelu", lambda x: F.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
    ("silu", lambda x: F.silu(x)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2)),
])
def test_fused_ops_are_differentiable_twice_through_their_composite(name, fn):
    x = leaf(np.random.default_rng(2).standard_normal((3, 3)))
    assert _second_order(fn, x)


def test_a_fused_kernel_without_a_composite_refuses_a_second_derivative_clearly():
    x = leaf(np.random.default_rng(1).standard_normal((1, 1, 4, 4)))
    y = F.max_pool2d(x, 2).pow(2).sum()
    (g,) = fg.autograd.grad(y, x, create_graph=True)
    with pytest.raises(RuntimeError, match="not differentiable again"):
        g.sum().backward()


def test_backward_twice_needs_retain_graph():
    x = leaf([1.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(4.0)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


# ---- hooks, retain_grad, grad_fn --------------------------------------------------------------
def test_hooks_see_and_replace_gradients():
    x = leaf([1.0, 2.0])
    seen = []
    h = x * 2
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), 10 * np.array([8.0, 16.0]))
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0])


def test_grad_fn_names_the_op():
    x = leaf([1.0])
    y = x * 2
    assert "Mul" in y.grad_fn.name() and x.grad_fn is None
    (prev, _), _ = y.grad_fn.next_functions
    assert prev.name() == "AccumulateGrad"


# ---- .data, detach, contiguous, modes ----------------------------------------------------------
def test_data_is_a_tensor_sharing_storage_outside_autograd():
    p = leaf([1.0, 2.0])
    d = p.data
    assert isinstance(d, fg.Tensor) and not d.requires_grad
    d.mul_(0.5)  # allowed: not tracked
    np.testing.assert_allclose(p.detach().numpy(), [0.5, 1.0])
    p.data = fg.tensor([3.0, 4.0], dtype=fg.float64)
    np.testing.assert_allclose(p.detach().numpy(), [3.0, 4.0])
    assert p.requires_grad


def test_contiguous_copies_a_transposed_tensor_and_keeps_the_gradient():
    x = leaf(np.arange(6.0).reshape(2, 3))
    t = x.t()
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c._data.flags.c_contiguous
    np.testing.assert_array_equal(c.detach().numpy(), np.arange(6.0).reshape(2, 3).T)
    (c * fg.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(6.0).reshape(3, 2).T)
    assert x.contiguous() is x


def test_inference_mode_and_set_grad_enabled():
    x = leaf([1.0])
    with fg.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    fg.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        fg.set_grad_enabled(True)
    with fg.set_grad_enabled(False):
        assert not fg.is_grad_enabled()
    assert fg.is_grad_enabled()


def test_requires_grad_flag_of_a_non_leaf_cannot_be_turned_off():
    x = leaf([1.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
