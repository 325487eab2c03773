"""Tensor attributes and methods: shape, dtype, device, conversion, detach, to(), no_grad."""

import numpy as np
import pytest

import ferrograd as fg


def test_basic_attributes():
    t = fg.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3
    assert t.dtype == fg.float32 == np.float32
    assert t.device == "cpu" and t.device == fg.device("cpu")
    assert t.requires_grad is False
    assert t.grad is None
    assert fg.tensor(1.0).ndim == 0 and fg.tensor(1.0).shape == ()


def test_numpy_shares_memory_and_refuses_grad_tensors():
    t = fg.tensor([1.0, 2.0, 3.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray)
    a[0] = 9.0
    assert t.tolist() == [9.0, 2.0, 3.0]
    x = fg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        x.numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0])


def test_numpy_protocol_copies_only_when_asked():
    t = fg.tensor([1.0, 2.0])
    a = np.array(t)
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    assert np.shares_memory(np.asarray(t), t.numpy())
    d = np.asarray(t, dtype=np.float64)
    assert d.dtype == np.float64 and d.tolist() == [1.0, 2.0]


def test_item():
    v = fg.tensor(2.5).item()
    assert v == 2.5 and isinstance(v, float)
    v = fg.tensor([[7]]).item()
    assert v == 7 and isinstance(v, int)
    assert fg.tensor(True).item() is True
    with pytest.raises(ValueError):
        fg.tensor([1.0, 2.0]).item()


def test_tolist():
    data = [[1.5, 2.0], [3.0, -4.25]]
    assert fg.tensor(data).tolist() == data
    assert fg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert fg.tensor(3.0).tolist() == 3.0


def test_detach_shares_data_and_drops_graph():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad is None
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])
    xd = x.detach()
    xd._data[0] = 5.0
    assert x._data[0] == 5.0
    with pytest.raises(RuntimeError):
        (d * 3).sum().backward()


def test_requires_grad_():
    x = fg.tensor([1.0, 2.0])
    assert x.requires_grad_() is x
    assert x.requires_grad
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    x.requires_grad_(False)
    assert not x.requires_grad and not (x * 2).requires_grad
    with pytest.raises(TypeError):
        fg.tensor([1, 2]).requires_grad_()


def test_backward_implicit_and_explicit_gradient():
    x = fg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])
    x.grad = None
    g = np.array([0.5, 1.0, -2.0], np.float32)
    (x * 3).backward(gradient=fg.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), 3 * g)
    x.grad = None
    (x * 3).backward(g)  # a numpy gradient works too
    np.testing.assert_allclose(x.grad.numpy(), 3 * g)


def test_to_dtype_and_device():
    t = fg.tensor([1.5, -2.5])
    d = t.to(fg.float64)
    assert d.dtype == np.float64 and d.tolist() == [1.5, -2.5]
    assert t.to("cpu") is t
    assert t.to(fg.device("cpu")).tolist() == [1.5, -2.5]
    both = t.to("cpu", fg.float64)
    assert both.dtype == np.float64
    assert t.to(dtype=fg.int64).tolist() == [1, -2]
    assert t.to(device="cpu", dtype=fg.float64).dtype == np.float64
    with pytest.raises(ValueError):
        t.to("cuda")


def test_float_and_double():
    i = fg.tensor([1, 2])
    f = i.float()
    assert f.dtype == np.float32 and f.tolist() == [1.0, 2.0]
    d = i.double()
    assert d.dtype == np.float64 and d.tolist() == [1.0, 2.0]
    assert fg.tensor([1.0], dtype=fg.float64).float().dtype == np.float32


def test_casts_are_differentiable():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.double() * fg.tensor([3.0, 4.0], dtype=fg.float64)).sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_no_grad_builds_no_graph():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with fg.no_grad():
        assert not fg.is_grad_enabled()
        y = x * 2 + 1
        z = (x @ x).exp()
    assert fg.is_grad_enabled()
    for r in (y, z):
        assert not r.requires_grad and r.is_leaf
    np.testing.assert_allclose(y.numpy(), [3.0, 5.0])
    with pytest.raises(RuntimeError):
        y.sum().backward()
    assert x.grad is None


def test_no_grad_restores_after_exception_and_nests():
    with pytest.raises(KeyError):
        with fg.no_grad():
            raise KeyError
    assert fg.is_grad_enabled()
    with fg.no_grad():
        with fg.enable_grad():
            assert fg.is_grad_enabled()
        with fg.no_grad():
            pass
        assert not fg.is_grad_enabled()
    assert fg.is_grad_enabled()


def test_no_grad_decorator_survives_recursion():
    x = fg.tensor([1.0], requires_grad=True)

    @fg.no_grad()
    def depth(n):
        assert not fg.is_grad_enabled()
        return (x * 2) if n == 0 else depth(n - 1)

    assert not depth(3).requires_grad
    assert fg.is_grad_enabled()
    assert (x * 2).requires_grad
