"""default_collate follows torch.utils.data.default_collate."""

import collections

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.data import default_collate


def test_tensors_are_stacked():
    out = default_collate([fg.ones(2, 3), fg.zeros(2, 3)])
    assert isinstance(out, fg.Tensor) and out.shape == (2, 2, 3) and out.dtype == fg.float32
    np.testing.assert_array_equal(out.numpy()[0], 1)


def test_tensor_stack_keeps_grad():
    a = fg.ones(3, requires_grad=True)
    out = default_collate([a, fg.ones(3)])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), 1)


def test_numbers():
    ints = default_collate([1, 2, 3])
    assert ints.dtype == fg.int64 and ints.tolist() == [1, 2, 3]
    floats = default_collate([0.5, 1.5])
    assert floats.dtype == fg.float32 and floats.tolist() == [0.5, 1.5]
    assert default_collate([True, False]).dtype == fg.bool


def test_numpy_arrays_and_scalars():
    out = default_collate([np.zeros((2,), np.float32), np.ones((2,), np.float32)])
    assert out.shape == (2, 2) and out.dtype == fg.float32
    assert default_collate([np.zeros(2), np.zeros(2)]).dtype == fg.float64  # dtype kept, as torch
    assert default_collate([np.uint8(3), np.uint8(4)]).dtype == fg.int64  # no uint8 in ferrograd
    assert default_collate([np.int32(3), np.int32(4)]).dtype == fg.int32
    with pytest.raises(TypeError):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_tuples_become_lists_of_batches():
    batch = [(fg.ones(2), 0), (fg.zeros(2), 1)]
    out = default_collate(batch)
    assert isinstance(out, list) and len(out) == 2
    assert out[0].shape == (2, 2) and out[1].tolist() == [0, 1]


def test_dicts_and_nesting():
    batch = [{"img": np.full((1, 2), i, np.float32), "label": i, "meta": {"name": f"s{i}", "w": 0.5 * i}}
             for i in range(3)]
    out = default_collate(batch)
    assert set(out) == {"img", "label", "meta"}
    assert out["img"].shape == (3, 1, 2)
    assert out["label"].dtype == fg.int64 and out["label"].tolist() == [0, 1, 2]
    assert out["meta"]["name"] == ["s0", "s1", "s2"]
    assert out["meta"]["w"].dtype == fg.float32


def test_namedtuple_and_list():
    Point = collections.namedtuple("Point", "x y")
    out = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(out, Point) and out.x.tolist() == [1, 3] and out.y.dtype == fg.float32
    out = default_collate([[1, 2], [3, 4]])
    assert isinstance(out, list) and out[0].tolist() == [1, 3] and out[1].tolist() == [2, 4]


def test_strings_stay_a_list():
    assert default_collate(["a red circle", "a blue square"]) == ["a red circle", "a blue square"]


def test_errors():
    with pytest.raises(ValueError, match="one shape"):
        default_collate([fg.ones(2), fg.ones(3)])
    with pytest.raises(ValueError, match="same length"):
        default_collate([[1, 2], [3]])
    with pytest.raises(ValueError):
        default_collate([])
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])
