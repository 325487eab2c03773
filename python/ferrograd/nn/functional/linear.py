"""linear and bilinear layers as functions."""

from __future__ import annotations

from ... import dtypes
from ...ops.linalg import Linear
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, weight (out_features, in_features)."""
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linear: {name} must be a Tensor, got {type(t).__name__} "
                            "(convert it with fg.tensor(...))")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"linear: bias must be a Tensor or None, got {type(bias).__name__}")
    if weight.ndim not in (1, 2) or input.ndim == 0 or input.shape[-1:] != weight.shape[-1:]:
        raise ValueError(f"linear: input shape {tuple(input.shape)} does not end in in_features of weight {tuple(weight.shape)}")
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],) if weight.ndim == 2 else (), (1,)):
        raise ValueError(f"linear: bias shape {tuple(bias.shape)} does not match weight {tuple(weight.shape)}")
    if weight.ndim == 2 and dtypes.is_float(input.dtype) and input.dtype == weight.dtype \
            and (bias is None or (bias.dtype == input.dtype and tuple(bias.shape) == (weight.shape[0],))):
        return Linear.apply(input, weight, bias)  # one op: GEMM + bias, contiguous weight gradient
    y = input @ (weight.mT if weight.ndim == 2 else weight)  # weight (out, in) read transposed by the GEMM
    return y if bias is None else y + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    fn = "bilinear"
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor) or not dtypes.is_float(t.dtype):
            raise TypeError(f"{fn}: {name} must be a float Tensor")
    if weight.ndim != 3:
        raise ValueError(f"{fn}: weight must be (out, in1, in2), got shape {tuple(weight.shape)}")
    out, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != in1 or input2.ndim == 0 or input2.shape[-1] != in2 \
            or input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(
            f"{fn}: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} must share leading dims and end "
            f"in {in1} and {in2} (weight {tuple(weight.shape)})"
        )
    if bias is not None and tuple(bias.shape) != (out,):
        raise ValueError(f"{fn}: bias shape {tuple(bias.shape)}, expected ({out},)")
    lead = input1.shape[:-1]
    # (*, in1) @ (in1, out*in2) -> (*, out, in2), then contract in2 with input2.
    w = weight.permute(1, 0, 2).reshape(in1, out * in2)
    t = (input1 @ w).reshape(lead + (out, in2))
    y = (t * input2.unsqueeze(-2)).sum(-1)
    return y if bias is None else y + bias
