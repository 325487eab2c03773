"""conv1d / conv2d / conv_transpose2d: Rust kernels against the numpy reference (random shapes,
strides, paddings, dilations, groups; odd sizes; parallel and tiled paths), PyTorch fixtures,
float64 gradcheck, non-contiguous inputs, and bad input."""

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd.reference import conv as ref
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def random_config(rng):
    groups = int(rng.integers(1, 4))
    kh, kw = (int(k) for k in rng.integers(1, 5, size=2))
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    dilation = tuple(int(d) for d in rng.integers(1, 4, size=2))
    if rng.random() < 0.2:
        padding = str(rng.choice(["same", "valid"]))
        if padding == "same":
            stride = (1, 1)
    else:
        padding = tuple(int(p) for p in rng.integers(0, 3, size=2))
    pt = (0, 0) if isinstance(padding, str) else padding
    h = int(rng.integers(max(1, dilation[0] * (kh - 1) + 1 - 2 * pt[0]), 12))
    w = int(rng.integers(max(1, dilation[1] * (kw - 1) + 1 - 2 * pt[1]), 12))
    n = int(rng.integers(1, 4))
    c_in, c_out = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return (n, c_in, h, w), (c_out, c_in // groups, kh, kw), kwargs


def run_conv2d(x, w, b, gy, **kw):
    tx, tw = fg.tensor(x, requires_grad=True), fg.tensor(w, requires_grad=True)
    tb = None if b is None else fg.tensor(b, requires_grad=True)
    y = F.conv2d(tx, tw, tb, **kw)
    y.backward(fg.tensor(gy.astype(x.dtype)))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), None if tb is None else tb.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(12))
def test_conv2d_matches_reference_on_random_configs(seed, dtype):
    rng = np.random.default_rng(seed)
    xs, ws, kw = random_config(rng)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype) if seed % 3 else None
    y_ref = ref.conv2d(x, w, b, **kw)
    gy = rng.standard_normal(y_ref.shape)
    y, gx, gw, gb = run_conv2d(x, w, b, gy, **kw)
    assert y.dtype == dtype and y.shape == y_ref.shape, (kw, xs, ws)
    gx_ref, gw_ref, gb_ref = ref.conv2d_backward(x, w, gy.astype(dtype), **kw)
    np.testing.assert_allclose(y, y_ref, **TOL[dtype], err_msg=str(kw))
    np.testing.assert_allclose(gx, gx_ref, **TOL[dtype], err_msg=str(kw))
    np.testing.assert_allclose(gw, gw_ref, **TOL[dtype], err_msg=str(kw))
    if b is not None:
        np.testing.assert_allclose(gb, gb_ref, **TOL[dtype])


@pytest.mark.parametrize(
    "xs, ws, kw",
    [
        ((4, 16, 21, 19), (16, 16, 3, 3), dict(padding=1)),  # images spread over threads
        ((1, 32, 45, 40), (8, 32, 3, 3), dict(padding=1)),  # one image: parallel GEMMs, 3 im2col tiles
        ((3, 24, 17, 15), (12, 24, 1, 1), {}),  # 1×1: plain GEMM on the (C, H·W) view
        ((3, 24, 17, 15), (12, 8, 1, 1), dict(groups=3)),  # grouped 1×1
        ((2, 12, 33, 31), (12, 4, 5, 3), dict(stride=(2, 3), padding=(2, 0), dilation=(1, 2), groups=3)),
        ((5, 8, 40, 40), (16, 8, 3, 3), dict(stride=2, padding="valid")),
        ((2, 64, 9, 11), (6, 32, 3, 2), dict(padding=1, dilation=2, groups=2)),  # gx as a forward conv
        ((2, 32, 9, 8), (6, 32, 4, 2), dict(padding="same", dilation=(1, 2))),  # ... with asymmetric padding
        ((2, 32, 9, 8), (6, 32, 2, 2), dict(padding=(2, 0))),  # padding wider than the kernel: col2im
    ],
)
def test_conv2d_large_shapes_take_every_path(xs, ws, kw):
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(xs, dtype=np.float32), rng.standard_normal(ws, dtype=np.float32)
    b = rng.standard_normal(ws[0], dtype=np.float32)
    y_ref = ref.conv2d(x, w, b, **kw)
    gy = rng.standard_normal(y_ref.shape)
    y, gx, gw, gb = run_conv2d(x, w, b, gy, **kw)
    gx_ref, gw_ref, gb_ref = ref.conv2d_backward(x, w, gy.astype(np.float32), **kw)
    for got, want in ((y, y_ref), (gx, gx_ref), (gw, gw_ref), (gb, gb_ref)):
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)


def test_conv2d_fixture_matches_torch():
    d = np.load(FIXTURES / "conv2d_basic.npz")
    kw = dict(stride=int(d["stride"]), padding=int(d["padding"]), dilation=int(d["dilation"]), groups=int(d["groups"]))
    y, gx, gw, gb = run_conv2d(d["x"], d["w"], d["b"], d["gy"], **kw)
    for got, name in ((y, "y"), (gx, "gx"), (gw, "gw"), (gb, "gb")):
        np.testing.assert_allclose(got, d[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_conv1d_fixture_matches_torch():
    d = np.load(FIXTURES / "conv1d.npz")
    x, w, b = (fg.tensor(d[k], requires_grad=True) for k in ("x", "w", "b"))
    y = F.conv1d(x, w, b, stride=int(d["stride"]), padding=int(d["padding"]))
    y.backward(fg.tensor(d["gy"]))
    for got, name in ((y.detach(), "y"), (x.grad, "gx"), (w.grad, "gw"), (b.grad, "gb")):
        np.testing.assert_allclose(got.numpy(), d[name], rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("seed", range(6))
def test_conv1d_matches_reference(seed):
    rng = np.random.default_rng(100 + seed)
    groups = int(rng.integers(1, 3))
    k, s, d = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    padding = "same" if seed == 0 else int(rng.integers(0, 3))
    if padding == "same":
        s = 1
    n, c_in, c_out = int(rng.integers(1, 4)), groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    length = d * (k - 1) + 1 + int(rng.integers(0, 9))
    x = rng.standard_normal((n, c_in, length))
    w = rng.standard_normal((c_out, c_in // groups, k))
    b = rng.standard_normal(c_out)
    y = F.conv1d(fg.tensor(x), fg.tensor(w), fg.tensor(b), stride=s, padding=padding, dilation=d, groups=groups)
    np.testing.assert_allclose(y.numpy(), ref.conv1d(x, w, b, s, padding, d, groups), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(8))
def test_conv_transpose2d_matches_reference(seed, dtype):
    rng = np.random.default_rng(200 + seed)
    groups = int(rng.integers(1, 3))
    kh, kw_ = (int(k) for k in rng.integers(1, 4, size=2))
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=2))
    padding = tuple(int(rng.integers(0, min(2, k) + 1)) for k in (kh, kw_))
    output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    n, c_in, c_out = int(rng.integers(1, 3)), groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    h, w_ = (int(v) for v in rng.integers(2, 8, size=2))
    x = rng.standard_normal((n, c_in, h, w_)).astype(dtype)
    w = rng.standard_normal((c_in, c_out // groups, kh, kw_)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    want = ref.conv_transpose2d(x, w, b, **kw)
    if min(want.shape[2:]) <= 0:  # padding ate the whole output: take it back
        kw["padding"] = 0
        want = ref.conv_transpose2d(x, w, b, **kw)
    y = F.conv_transpose2d(fg.tensor(x), fg.tensor(w), fg.tensor(b), **kw)
    np.testing.assert_allclose(y.numpy(), want, **TOL[dtype], err_msg=str(kw))


def _t(rng, *shape):
    return fg.tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize(
    "xs, ws, kw",
    [
        ((2, 2, 5, 4), (3, 2, 3, 2), dict(padding=1)),
        ((1, 4, 6, 5), (4, 2, 2, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
        ((2, 3, 4, 5), (2, 3, 2, 2), dict(padding="same", dilation=(1, 2))),  # asymmetric 'same'
        ((2, 3, 3, 3), (2, 3, 1, 1), {}),  # 1×1 GEMM path
    ],
)
def test_conv2d_gradcheck(xs, ws, kw):
    rng = np.random.default_rng(3)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), [_t(rng, *xs), _t(rng, *ws), _t(rng, ws[0])])


def test_conv1d_gradcheck():
    rng = np.random.default_rng(4)
    fn = lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2)  # noqa: E731
    assert gradcheck(fn, [_t(rng, 2, 4, 9), _t(rng, 4, 2, 3), _t(rng, 4)])
    assert gradcheck(lambda x, w: F.conv1d(x, w, padding="same"), [_t(rng, 1, 2, 6), _t(rng, 3, 2, 4)])


@pytest.mark.parametrize(
    "kw",
    [dict(), dict(stride=2, padding=1, output_padding=1), dict(stride=(1, 2), dilation=(2, 1), groups=2, output_padding=(1, 0))],
)
def test_conv_transpose2d_gradcheck(kw):
    rng = np.random.default_rng(5)
    x, w, b = _t(rng, 2, 4, 3, 4), _t(rng, 4, 2, 3, 2), _t(rng, 2 * kw.get("groups", 1))
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [x, w, b])


def test_gradients_only_where_required():
    rng = np.random.default_rng(6)
    x = fg.tensor(rng.standard_normal((2, 3, 6, 6)))
    w = fg.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = fg.tensor(rng.standard_normal(4), requires_grad=True)
    F.conv2d(x, w, b).sum().backward()
    assert x.grad is None and w.grad.shape == (4, 3, 3, 3)
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 2 * 4 * 4))
    x.requires_grad_(True)
    w2 = fg.tensor(w.detach().numpy())
    F.conv2d(x, w2).sum().backward()
    assert w2.grad is None and x.grad.shape == x.shape


def test_non_contiguous_inputs_give_the_same_result():
    rng = np.random.default_rng(8)
    base = rng.standard_normal((3, 5, 9, 2 * 11))
    x_nc = base[:, :, ::-1, ::2].transpose(0, 1, 3, 2)  # negative, strided and transposed
    x_c = np.ascontiguousarray(x_nc)
    w_nc = rng.standard_normal((5, 4, 2, 2)).transpose(1, 0, 2, 3)  # (4, 5, 2, 2) non-contiguous
    b = rng.standard_normal(4)
    for kw in (dict(padding=1, stride=2), dict(groups=1), dict(dilation=2)):
        gy = rng.standard_normal(ref.conv2d(x_c, w_nc, b, **kw).shape)
        got = run_conv2d(x_nc, w_nc, b, gy, **kw)
        want = run_conv2d(x_c, np.ascontiguousarray(w_nc), b, gy, **kw)
        for g, w_ in zip(got, want):
            np.testing.assert_allclose(g, w_, rtol=1e-12, atol=1e-12)
    # 1×1 on an input whose H and W do not merge into one stride (falls back to im2col)
    w1 = rng.standard_normal((4, 3, 1, 1))
    xt = rng.standard_normal((2, 3, 7, 6)).transpose(0, 1, 3, 2)
    np.testing.assert_allclose(F.conv2d(fg.tensor(xt), fg.tensor(w1)).numpy(), ref.conv2d(xt, w1), rtol=1e-12, atol=1e-12)
    # conv1d and conv_transpose2d
    x1 = rng.standard_normal((2, 9, 4)).transpose(0, 2, 1)
    w1d = rng.standard_normal((3, 4, 3))
    np.testing.assert_allclose(F.conv1d(fg.tensor(x1), fg.tensor(w1d), padding=1).numpy(), ref.conv1d(x1, w1d, None, 1, 1), rtol=1e-12, atol=1e-12)
    xt2 = rng.standard_normal((2, 5, 6, 4)).transpose(0, 3, 2, 1)  # (2, 4, 6, 5)
    wt = rng.standard_normal((4, 3, 3, 3))
    np.testing.assert_allclose(
        F.conv_transpose2d(fg.tensor(xt2), fg.tensor(wt), stride=2).numpy(), ref.conv_transpose2d(xt2, wt, stride=2), rtol=1e-12, atol=1e-12
    )


def test_unbatched_input_and_empty_batch():
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((3, 6, 5)), rng.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(F.conv2d(fg.tensor(x), fg.tensor(w), padding=1).numpy(), ref.conv2d(x[None], w, padding=1)[0], atol=1e-12)
    y = F.conv1d(fg.tensor(x[:, 0]), fg.tensor(w[:, :, 0]))
    np.testing.assert_allclose(y.numpy(), ref.conv1d(x[None, :, 0], w[:, :, 0])[0], atol=1e-12)
    assert F.conv2d(fg.tensor(np.zeros((0, 3, 6, 5))), fg.tensor(w)).shape == (0, 2, 4, 3)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda x, w: F.conv2d(x[0, 0], w), "conv2d: expected a 3-d (unbatched) or 4-d"),
        (lambda x, w: F.conv2d(x, w[0]), "conv2d: weight must be 4-d"),
        (lambda x, w: F.conv2d(x[:, :2], w), "conv2d: input (2, 2, 6, 7) has 2 channels but weight (4, 3, 3, 3)"),
        (lambda x, w: F.conv2d(x, w, groups=2), "conv2d: groups=2 must divide"),
        (lambda x, w: F.conv2d(x[:, :, :2], w), "conv2d: kernel (3, 3) (dilation (1, 1)) is larger than the padded input"),
        (lambda x, w: F.conv2d(x, w, dilation=4), "is larger than the padded input"),
        (lambda x, w: F.conv2d(x, w, padding=-1), "conv2d: padding must be non-negative"),
        (lambda x, w: F.conv2d(x, w, stride=0), "conv2d: stride must be positive"),
        (lambda x, w: F.conv2d(x, w, stride=(1, 0)), "conv2d: stride must be positive"),
        (lambda x, w: F.conv2d(x, w, padding="same", stride=2), "conv2d: padding='same' is not supported for strided"),
        (lambda x, w: F.conv2d(x, w, padding="full"), "conv2d: padding must be 'valid', 'same'"),
        (lambda x, w: F.conv2d(x, w, fg.zeros(3, dtype=fg.float64)), "conv2d: bias must have shape (4,)"),
        (lambda x, w: F.conv1d(x[0], w[:, :, 0]), "conv1d: input (2, 3, 7) has 3 channels but weight (4, 3, 3)"[:12]),
        (lambda x, w: F.conv1d(x, w[:, :, 0]), "conv1d: expected a 2-d (unbatched) or 3-d"),
        (lambda x, w: F.conv1d(x[0], w), "conv1d: weight must be 3-d"),
        (lambda x, w: F.conv1d(x[:, :, 0, :2], w[:, :, 0]), "conv1d: kernel (3,)"),
        (lambda x, w: F.conv1d(x[:, :, 0], w[:, :, 0], stride=0), "conv1d: stride must be positive"),
        (lambda x, w: F.conv_transpose2d(x, w), "conv_transpose2d: input (2, 3, 6, 7) has 3 channels but weight (4, 3, 3, 3)"),
        (lambda x, w: F.conv_transpose2d(x, w[:3], groups=2), "conv_transpose2d: groups=2 does not divide"),
        (lambda x, w: F.conv_transpose2d(x, w[:3], stride=2, output_padding=2), "conv_transpose2d: output_padding"),
        (lambda x, w: F.conv_transpose2d(x, w[:3], padding=-1), "conv_transpose2d: padding must be non-negative"),
        (lambda x, w: F.conv_transpose2d(x, w[:3], padding="same"), "conv_transpose2d: padding must be an int"),
        (lambda x, w: F.conv_transpose2d(x[:, :, :1, :1], w[:3], padding=2), "conv_transpose2d: input (2, 3, 1, 1)"),
    ],
)
def test_bad_input_raises_value_error_naming_the_function(call, fragment):
    x = fg.tensor(np.zeros((2, 3, 6, 7)))
    w = fg.tensor(np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError) as e:
        call(x, w)
    assert fragment in str(e.value)


def test_wrong_dtypes_raise_type_error():
    x, w = fg.zeros(1, 3, 5, 5), fg.zeros(2, 3, 3, 3, dtype=fg.float64)
    with pytest.raises(TypeError, match="conv2d: weight has dtype float64"):
        F.conv2d(x, w)
    with pytest.raises(TypeError, match="conv2d: input must be float32 or float64"):
        F.conv2d(fg.zeros(1, 3, 5, 5, dtype=fg.int64), w)
    with pytest.raises(TypeError, match="conv2d: input must be a Tensor"):
        F.conv2d(np.zeros((1, 3, 5, 5)), w)


def test_matches_torch_directly():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    rng = np.random.default_rng(11)
    for seed in range(4):
        xs, ws, kw = random_config(np.random.default_rng(300 + seed))
        x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        ty = TF.conv2d(tx, tw, tb, **kw)
        gy = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(gy))
        y, gx, gw, gb = run_conv2d(x, w, b, gy, **kw)
        for got, want in ((y, ty), (gx, tx.grad), (gw, tw.grad), (gb, tb.grad)):
            np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-9, atol=1e-9)
    x, w, b = rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(6)
    kw = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = TF.conv_transpose2d(tx, tw, tb, **kw)
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    fx, fw, fb = (fg.tensor(a, requires_grad=True) for a in (x, w, b))
    fy = F.conv_transpose2d(fx, fw, fb, **kw)
    fy.backward(fg.tensor(gy))
    for got, want in ((fy.detach(), ty), (fx.grad, tx.grad), (fw.grad, tw.grad), (fb.grad, tb.grad)):
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-9)
