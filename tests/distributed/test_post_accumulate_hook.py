"""Tensor.register_post_accumulate_grad_hook (what DDP starts its all-reduces from)."""

import numpy as np
import pytest

import ferrograd as fg


def test_runs_after_accumulation_during_backward_last_layer_first():
    w1 = fg.randn(3, 4, requires_grad=True)
    w2 = fg.randn(4, 2, requires_grad=True)
    seen = []
    w1.register_post_accumulate_grad_hook(lambda p: seen.append(("w1", p.grad.numpy().copy(), w2.grad is not None)))
    w2.register_post_accumulate_grad_hook(lambda p: seen.append(("w2", p.grad.numpy().copy(), w1.grad is not None)))
    x = fg.randn(5, 3)
    ((x @ w1).tanh() @ w2).sum().backward()
    assert [s[0] for s in seen] == ["w2", "w1"]
    assert seen[0][2] is False  # w2's hook ran before w1's gradient existed: during backward
    xn, a, b = x.numpy(), w1.detach().numpy(), w2.detach().numpy()
    h = np.tanh(xn @ a)
    np.testing.assert_allclose(seen[0][1], h.T @ np.ones((5, 2)), rtol=1e-5)
    np.testing.assert_allclose(seen[1][1], xn.T @ ((1 - h**2) * (np.ones((5, 2)) @ b.T)), rtol=1e-5)


def test_a_leaf_used_twice_is_hooked_once_with_the_summed_gradient_and_accumulates():
    w = fg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.tolist()))
    ((w * w).sum() + (3 * w).sum()).backward()
    assert calls == [[5.0, 7.0]]
    (w * 2).sum().backward()
    assert calls[-1] == [7.0, 9.0]  # after accumulation into the existing .grad
    handle.remove()
    (w * 2).sum().backward()
    assert len(calls) == 2


def test_refused_on_non_leaves_and_tensors_without_grad():
    with pytest.raises(RuntimeError, match="register_post_accumulate_grad_hook: .*doesn't require gradient"):
        fg.zeros(2).register_post_accumulate_grad_hook(lambda p: None)
    w = fg.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
