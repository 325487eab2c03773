"""conv functions of nn.functional: conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d
(torch semantics, NC[D][H]W).

Every argument is validated here, once; the ops in `ferrograd.ops.conv` then run the Rust
kernels. conv1d / conv_transpose1d are the 2-d kernels on (N, C, 1, L) views; conv3d is a sum
over the kernel's depth taps of 2-d convolutions of strided depth slices.
"""

from __future__ import annotations

import numbers

from ... import dtypes
from ...ops import conv as conv_ops
from ...tensor import Tensor, cat, zeros

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d"]


def _tuple(value, n, fn, name, minimum):
    """An int or a length-n sequence of ints, each >= minimum, as a tuple."""
    if isinstance(value, (numbers.Integral,)) and not isinstance(value, bool):
        vals = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):
        vals = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{fn}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in vals):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{fn}: {name} must be {what}, got {value!r}")
    return vals


def _check_tensors(fn, input, weight, bias):
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is None and name == "bias":
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {name} must be a Tensor, got {type(t).__name__}")
        if not dtypes.is_float(t.dtype):
            raise TypeError(f"{fn}: {name} must be float32 or float64, got {t.dtype}")
        if t.dtype != input.dtype:
            raise TypeError(f"{fn}: {name} has dtype {t.dtype} but input has dtype {input.dtype}")


def _conv_args(fn, nd, input, weight, bias, stride, padding, dilation, groups, transposed=False, output_padding=0):
    """Checks a conv call with `nd` spatial dims (batched input assumed, shapes as given by the
    user). Returns (stride, pad_before, dilation, out_size) as nd-tuples."""
    x_shape, w_shape = tuple(input.shape), tuple(weight.shape)
    if weight.ndim != nd + 2:
        raise ValueError(f"{fn}: weight must be {nd + 2}-d, got shape {w_shape}")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    c_in = x_shape[1]
    if transposed:
        if w_shape[0] != c_in:
            raise ValueError(
                f"{fn}: input {x_shape} has {c_in} channels but weight {w_shape} expects {w_shape[0]} "
                f"(weight is (in_channels, out_channels/groups, *kernel))"
            )
        if c_in % groups:
            raise ValueError(f"{fn}: groups={groups} does not divide the {c_in} input channels of {x_shape}")
        c_out = w_shape[1] * groups
    else:
        if c_in % groups or w_shape[0] % groups:
            raise ValueError(
                f"{fn}: groups={groups} must divide in_channels {c_in} of input {x_shape} and "
                f"out_channels {w_shape[0]} of weight {w_shape}"
            )
        if w_shape[1] * groups != c_in:
            raise ValueError(
                f"{fn}: input {x_shape} has {c_in} channels but weight {w_shape} with groups={groups} "
                f"expects {w_shape[1] * groups}"
            )
        c_out = w_shape[0]
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"{fn}: bias must have shape ({c_out},), got {tuple(bias.shape)}")
    if any(k == 0 for k in w_shape[2:]):
        raise ValueError(f"{fn}: weight {w_shape} has an empty kernel")
    stride = _tuple(stride, nd, fn, "stride", 1)
    dilation = _tuple(dilation, nd, fn, "dilation", 1)
    kernel = w_shape[2:]
    spatial = x_shape[2:]
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if transposed:
        if isinstance(padding, str):
            raise ValueError(f"{fn}: padding must be an int or a tuple of {nd} ints, got {padding!r}")
        pad = _tuple(padding, nd, fn, "padding", 0)
        opad = _tuple(output_padding, nd, fn, "output_padding", 0)
        for o, s, d in zip(opad, stride, dilation):
            if o >= s and o >= d:
                raise ValueError(
                    f"{fn}: output_padding {opad} must be smaller than either stride {stride} or dilation {dilation}"
                )
        out = tuple((i - 1) * s - 2 * p + sp + o for i, s, p, sp, o in zip(spatial, stride, pad, span, opad))
        if any(o <= 0 for o in out):
            raise ValueError(f"{fn}: input {x_shape} with weight {w_shape} gives a non-positive output size {out}")
        return stride, pad, dilation, out
    if isinstance(padding, str):
        if padding == "valid":
            pad_lo, pad_total = (0,) * nd, (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions (stride {stride})")
            pad_total = tuple(sp - 1 for sp in span)
            pad_lo = tuple(t // 2 for t in pad_total)
        else:
            raise ValueError(f"{fn}: padding must be 'valid', 'same', an int or a tuple, got {padding!r}")
    else:
        pad_lo = _tuple(padding, nd, fn, "padding", 0)
        pad_total = tuple(2 * p for p in pad_lo)
    for i, t, sp in zip(spatial, pad_total, span):
        if i + t < sp:
            raise ValueError(
                f"{fn}: kernel {kernel} (dilation {dilation}) is larger than the padded input: input {x_shape}, "
                f"weight {w_shape}, padding {padding!r}"
            )
    out = tuple((i + t - sp) // s + 1 for i, t, sp, s in zip(spatial, pad_total, span, stride))
    return stride, pad_lo, dilation, out


def _needs(input, weight, bias):
    return (input.requires_grad, weight.requires_grad, bias is not None and bias.requires_grad)


def _batched(fn, input, nd):
    """The input with a batch dim, and whether one was added (torch accepts unbatched input)."""
    if input.ndim == nd + 2:
        return input, False
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    raise ValueError(
        f"{fn}: expected a {nd + 1}-d (unbatched) or {nd + 2}-d (batched) input, got shape {tuple(input.shape)}"
    )


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-d convolution of (N, C_in, H, W) input with (C_out, C_in/groups, kh, kw) weight."""
    fn = "conv2d"
    _check_tensors(fn, input, weight, bias)
    x, unbatched = _batched(fn, input, 2)
    stride, pad, dilation, out = _conv_args(fn, 2, x, weight, bias, stride, padding, dilation, groups)
    y = conv_ops.Conv2d.apply(x, weight, bias, stride, pad, dilation, int(groups), out, _needs(x, weight, bias))
    return y.squeeze(0) if unbatched else y


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-d convolution of (N, C_in, L) input with (C_out, C_in/groups, k) weight (a conv2d with H = 1)."""
    fn = "conv1d"
    _check_tensors(fn, input, weight, bias)
    x, unbatched = _batched(fn, input, 1)
    (s,), (p,), (d,), out = _conv_args(fn, 1, x, weight, bias, stride, padding, dilation, groups)
    x4 = x.unsqueeze(2)  # (N, C, 1, L)
    w4 = weight.unsqueeze(2)  # (O, C/g, 1, k)
    y = conv_ops.Conv2d.apply(x4, w4, bias, (1, s), (0, p), (1, d), int(groups), (1,) + out, _needs(x4, w4, bias))
    y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def conv_transpose2d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """Transposed 2-d convolution of (N, C_in, H, W) input with (C_in, C_out/groups, kh, kw) weight."""
    fn = "conv_transpose2d"
    _check_tensors(fn, input, weight, bias)
    x, unbatched = _batched(fn, input, 2)
    stride, pad, dilation, out = _conv_args(
        fn, 2, x, weight, bias, stride, padding, dilation, groups, transposed=True, output_padding=output_padding
    )
    y = conv_ops.ConvTranspose2d.apply(x, weight, bias, stride, pad, dilation, int(groups), out, _needs(x, weight, bias))
    return y.squeeze(0) if unbatched else y



def conv_transpose1d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """Transposed 1-d convolution of (N, C_in, L) input with (C_in, C_out/groups, k) weight (the
    2-d kernel with H = 1)."""
    fn = "conv_transpose1d"
    _check_tensors(fn, input, weight, bias)
    x, unbatched = _batched(fn, input, 1)
    (s,), (p,), (d,), out = _conv_args(
        fn, 1, x, weight, bias, stride, padding, dilation, groups, transposed=True, output_padding=output_padding
    )
    x4 = x.unsqueeze(2)  # (N, C_in, 1, L)
    w4 = weight.unsqueeze(2)  # (C_in, C_out/g, 1, k)
    y = conv_ops.ConvTranspose2d.apply(x4, w4, bias, (1, s), (0, p), (1, d), int(groups), (1,) + out,
                                       _needs(x4, w4, bias))
    y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """3-d convolution of (N, C_in, D, H, W) input with (C_out, C_in/groups, kd, kh, kw) weight:
    for each depth tap, the 2-d convolution of the depth slices it meets (all output depths
    at once, as a batch), summed over taps. Differentiable through the 2-d kernel."""
    fn = "conv3d"
    _check_tensors(fn, input, weight, bias)
    x, unbatched = _batched(fn, input, 3)
    stride, pad, dilation, out = _conv_args(fn, 3, x, weight, bias, stride, padding, dilation, groups)
    n, c, depth = x.shape[0], x.shape[1], x.shape[2]
    kd = weight.shape[2]
    do, ho, wo = out
    sd, dd = stride[0], dilation[0]
    # Zero-pad the depth so every tap reads rows [t*dd, t*dd + (do-1)*sd] of the padded input.
    lo = pad[0]
    hi = max(0, (do - 1) * sd + dd * (kd - 1) + 1 - lo - depth)
    if lo or hi:
        parts = [x]
        if lo:
            parts.insert(0, zeros(n, c, lo, *x.shape[3:], dtype=x.dtype, device=x.device))
        if hi:
            parts.append(zeros(n, c, hi, *x.shape[3:], dtype=x.dtype, device=x.device))
        x = cat(parts, dim=2)
    y = None
    for t in range(kd):
        start = t * dd
        sl = x[:, :, start:start + (do - 1) * sd + 1:sd]  # (N, C, do, H, W)
        planes = sl.permute(0, 2, 1, 3, 4).reshape(n * do, c, x.shape[3], x.shape[4])
        w2 = weight[:, :, t]  # (O, C/g, kh, kw)
        b = bias if t == 0 else None
        part = conv_ops.Conv2d.apply(planes, w2, b, stride[1:], pad[1:], dilation[1:], int(groups), out[1:],
                                     _needs(planes, w2, b))
        y = part if y is None else y + part
    o = weight.shape[0]
    y = y.reshape(n, do, o, ho, wo).permute(0, 2, 1, 3, 4)
    return y.squeeze(0) if unbatched else y
