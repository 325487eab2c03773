"""Where tensor.py's hand-written shape methods differ from torch (found while adding the shape
ops). These tests FAIL until tensor.py is fixed: each states torch's behaviour (checked against
torch 2.x). flatten and transpose have registry versions in ops/shape_ops.py that pass; the
methods win over them while tensor.py defines its own."""

from __future__ import annotations

import numpy as np
import pytest

import ferrograd as fg


def test_tensor_flatten_rejects_out_of_range_dims():
    # torch: IndexError "Dimension out of range (expected to be in range of [-3, 2], but got 5)"
    with pytest.raises(IndexError):
        fg.zeros(2, 3, 4).flatten(0, 5)


def test_tensor_transpose_of_a_0d_tensor_is_the_tensor():
    # torch: torch.zeros(()).transpose(0, -1) is a 0-d tensor
    assert fg.zeros(()).transpose(0, -1).shape == ()


def test_tensor_view_of_a_non_contiguous_tensor_raises():
    # torch: RuntimeError "view size is not compatible with input tensor's size and stride";
    # ferrograd copies silently, so writes through the "view" do not reach the tensor.
    x = fg.zeros(2, 3).t()
    with pytest.raises(RuntimeError):
        x.view(6)


def test_tensor_mT_of_a_vector_raises_runtime_error():
    # torch: RuntimeError "tensor.mT is only supported on matrices or batches of matrices"
    with pytest.raises(RuntimeError):
        fg.zeros(3).mT


@pytest.mark.parametrize("call", [
    lambda: fg.zeros(2, 3, 4).t(),  # torch: RuntimeError "t() expects a tensor with <= 2 dimensions"
    lambda: fg.zeros(2, 3, 4).permute(0, 0, 1),  # torch: RuntimeError "duplicate dims are not allowed"
    lambda: fg.stack([fg.zeros(2), fg.zeros(3)]),  # torch: RuntimeError "stack expects each tensor to be equal size"
], ids=["t_3d", "permute_duplicate", "stack_sizes"])
def test_shape_errors_are_runtime_errors(call):
    with pytest.raises(RuntimeError):
        call()


def test_cat_skips_legacy_empty_vectors():
    # torch: torch.cat([x, torch.zeros(0)]) is x (1-d empty tensors are skipped); fg.concat does this
    x = fg.ones(2, 3)
    np.testing.assert_array_equal(fg.cat([x, fg.zeros(0)]).numpy(), x.numpy())
