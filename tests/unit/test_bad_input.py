"""Bad input: clear ValueError/TypeError/IndexError messages, and no panics from the extension."""

import operator

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _native


def assert_names(exc_info, op, *shapes):
    msg = str(exc_info.value)
    assert op in msg, msg
    for s in shapes:
        assert str(tuple(s)) in msg, f"{s} not in {msg!r}"


BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow, "maximum": fg.maximum, "minimum": fg.minimum,
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "eq": operator.eq, "ne": operator.ne,
}


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("sa, sb", [((2, 3), (4,)), ((2, 3), (3, 2)), ((5,), (2, 4))])
def test_binary_shape_mismatch(op, sa, sb):
    with pytest.raises(ValueError) as e:
        BINARY[op](fg.ones(sa), fg.ones(sb))
    assert_names(e, op, sa, sb)


def test_binary_shape_mismatch_with_promotion_and_reflection():
    with pytest.raises(ValueError) as e:
        fg.ones(2, 3, requires_grad=True) + fg.tensor([1, 2])
    assert_names(e, "add", (2, 3), (2,))
    with pytest.raises(ValueError) as e:
        np.ones((4,)) * fg.ones(3)
    assert_names(e, "mul", (3,), (4,))


def test_where_shape_mismatch():
    with pytest.raises(ValueError) as e:
        fg.where(fg.tensor([True, False]), fg.ones(3), fg.ones(3))
    assert_names(e, "where", (2,), (3,))
    with pytest.raises(ValueError) as e:
        fg.where(fg.tensor([True]), fg.ones(2), fg.ones(3))
    assert_names(e, "where", (2,), (3,))


@pytest.mark.parametrize(
    "sa, sb",
    [((2, 3), (4, 5)), ((3,), (4,)), ((3,), (4, 5)), ((2, 3), (4,)), ((2, 3, 4), (3, 4, 5)), ((2, 2, 3), (3, 3, 1))],
)
def test_matmul_shape_mismatch(sa, sb):
    for call in (lambda a, b: a @ b, fg.matmul):
        with pytest.raises(ValueError) as e:
            call(fg.ones(sa), fg.ones(sb))
        assert_names(e, "matmul", sa, sb)


def test_matmul_zero_dim_operand():
    with pytest.raises(ValueError) as e:
        fg.tensor(2.0) @ fg.ones(3)
    assert_names(e, "matmul", (), (3,))


def test_cat_stack_mismatch():
    with pytest.raises(ValueError) as e:
        fg.cat([fg.ones(2, 3), fg.ones(3, 4)], dim=1)
    assert_names(e, "cat", (2, 3), (3, 4))
    with pytest.raises(ValueError) as e:
        fg.cat([fg.ones(2, 3), fg.ones(2, 3, 1)])
    assert_names(e, "cat", (2, 3), (2, 3, 1))
    with pytest.raises(ValueError) as e:
        fg.stack([fg.ones(2, 3), fg.ones(2, 4)])
    assert_names(e, "stack", (2, 3), (2, 4))
    with pytest.raises(ValueError):
        fg.cat([])
    with pytest.raises(ValueError):
        fg.stack([])


def test_reshape_view_mismatch():
    for call in (lambda t: t.reshape(4, 2), lambda t: t.view(4, 2)):
        with pytest.raises(ValueError) as e:
            call(fg.ones(2, 3))
        assert_names(e, "reshape", (2, 3), (4, 2))
    with pytest.raises(ValueError) as e:
        fg.ones(2, 3).reshape(-1, 4)
    assert_names(e, "reshape", (2, 3), (-1, 4))
    with pytest.raises(ValueError):
        fg.ones(2, 3).reshape(-1, -1)


def test_expand_mismatch():
    with pytest.raises(ValueError) as e:
        fg.ones(3).expand(3, 4)
    assert_names(e, "expand", (3,), (3, 4))
    with pytest.raises(ValueError) as e:
        fg.ones(2, 3).expand(3)
    assert_names(e, "expand", (2, 3), (3,))


def test_bad_dims():
    x = fg.ones(2, 3)
    with pytest.raises(IndexError):
        x.sum(dim=2)
    with pytest.raises(IndexError):
        x.transpose(0, 2)
    with pytest.raises(IndexError):
        x.unsqueeze(3)
    with pytest.raises(IndexError):
        fg.stack([x, x], dim=3)
    with pytest.raises(IndexError):
        x.max(dim=-3)
    with pytest.raises(IndexError):
        x.permute(1, 2)
    with pytest.raises(ValueError):
        x.permute(0, 0)
    with pytest.raises(ValueError):
        x.permute(0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: fg.tensor(np.array([1 + 2j])),
        lambda: fg.tensor([1j, 2]),
        lambda: fg.tensor(1j),
        lambda: fg.tensor(["a", "b"]),
        lambda: fg.tensor("abc"),
        lambda: fg.tensor(None),
        lambda: fg.tensor([1.0], dtype=np.float16),
        lambda: fg.tensor([1.0], dtype="float16"),
        lambda: fg.tensor([1.0], dtype=np.complex64),
        lambda: fg.tensor([1.0], dtype="not a dtype"),
        lambda: fg.zeros(2, dtype=np.float16),
        lambda: fg.ones(2, dtype=np.complex128),
        lambda: fg.randn(2, dtype=np.float16),
        lambda: fg.from_numpy(np.zeros(2, np.float16)),
        lambda: fg.from_numpy(np.zeros(2, np.complex64)),
        lambda: fg.from_numpy(np.array(["x"])),
        lambda: fg.ones(2).to(np.float16),
        lambda: fg.ones(2).to(np.complex64),
        lambda: fg.ones(2) + 1j,
        lambda: 1j * fg.ones(2),
        lambda: fg.ones(2) + "a",
        lambda: fg.ones(2) * None,
        lambda: fg.ones(2) + np.ones(2, np.complex128),
    ],
)
def test_unsupported_dtype_is_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_int_tensors_cannot_require_grad():
    with pytest.raises(TypeError):
        fg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError):
        fg.zeros(2, dtype=fg.int64, requires_grad=True)


def test_backward_needs_gradient_for_non_scalar():
    x = fg.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError) as e:
        y.backward()
    assert "(2, 3)" in str(e.value)
    with pytest.raises(ValueError):
        y.backward(fg.ones(3, 2))
    assert x.grad is None
    y.backward(fg.ones(2, 3))  # the graph is intact after the refused calls
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))


@pytest.mark.parametrize(
    "sa, sb", [((2, 3), (4, 5)), ((3,), (3,)), ((2, 3), (3,)), ((2, 3, 4), (3, 4, 5)), ((3, 4), (5, 4, 2, 1))]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_matmul_bad_shapes_raise_value_error_not_panic(sa, sb, dtype):
    with pytest.raises(BaseException) as e:
        _native.matmul(np.ones(sa, dtype), np.ones(sb, dtype))
    assert type(e.value).__name__ != "PanicException"
    assert isinstance(e.value, ValueError)
    assert "matmul" in str(e.value)


@pytest.mark.parametrize(
    "a, b",
    [
        (np.ones((2, 3), np.int64), np.ones((3, 2), np.int64)),
        (np.ones((2, 3), np.int32), np.ones((3, 2), np.int32)),
        (np.ones((2, 3), np.float32), np.ones((3, 2), np.float64)),
        (np.ones((2, 3), np.bool_), np.ones((3, 2), np.bool_)),
        ([[1.0, 2.0]], [[1.0], [2.0]]),
    ],
)
def test_native_matmul_bad_dtype_raises_type_error(a, b):
    with pytest.raises(BaseException) as e:
        _native.matmul(a, b)
    assert type(e.value).__name__ != "PanicException"
    assert isinstance(e.value, TypeError)


def test_item_and_bool_of_many_elements():
    with pytest.raises(ValueError):
        fg.ones(2).item()
    with pytest.raises(ValueError):
        bool(fg.ones(2))
    with pytest.raises(RuntimeError):
        x = fg.ones(2, requires_grad=True)
        x[0] = 3.0


def test_reductions_of_empty_without_identity():
    # torch raises IndexError or RuntimeError here, by the case; ferrograd's errors derive from those
    with pytest.raises((ValueError, IndexError)):
        fg.zeros(0).max()
    with pytest.raises((ValueError, IndexError)):
        fg.zeros(0, 3).argmax()
    with pytest.raises((ValueError, IndexError)):
        fg.zeros(0, 3).max(dim=0)
