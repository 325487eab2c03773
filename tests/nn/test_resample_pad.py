"""F.pad, F.interpolate, pixel/channel shuffles, unfold/fold and their modules: outputs and input
gradients against PyTorch (the RESAMPLE_CASES of tests/fixtures/gen/resample_pool_cases.py,
whose values gen_resample_pool.py wrote from torch), float64 gradchecks, the same calls on wgpu,
torch's argument errors, module attributes and reprs."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("resample_pool_cases", FIXTURES / "gen" / "resample_pool_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

DATA = np.load(FIXTURES / "resample_pool_torch.npz")
CASES = cases.RESAMPLE_CASES


def run_case(name, device="cpu", dtype=None):
    """The case on `device` (input cast to dtype): ([outputs as numpy], input gradient)."""
    build, _, _ = CASES[name]
    x = DATA[f"{name}|in"]
    t = fg.tensor(x if dtype is None else x.astype(dtype), device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = build(nn, F)(t)
    outs = out if isinstance(out, tuple) else (out,)
    assert all(o.device == t.device for o in outs)
    up = fg.tensor(cases.upstream(tuple(outs[0].shape)), dtype=outs[0].dtype, device=device)
    (outs[0] * up).sum().backward()
    return [o.detach().numpy() for o in outs], t.grad.numpy()


def check_against_torch(name, tol):
    outs, grad = run_case(name)
    for i, got in enumerate(outs):
        want = DATA[f"{name}|out{i}"]
        assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
        if want.dtype.kind == "i":
            np.testing.assert_array_equal(got, want, err_msg=f"indices of {name}")
        else:
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"output {i} of {name}")
    if name not in cases.TORCH_GRAD_DIFFERS:
        np.testing.assert_allclose(grad, DATA[f"{name}|grad"], rtol=tol, atol=tol, err_msg=f"gradient of {name}")


def test_every_case_has_a_fixture():
    stored = {k.split("|")[0] for k in DATA.files}
    assert set(CASES) <= stored


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    check_against_torch(name, 1e-5 if CASES[name][2] == "float32" else 1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_wgpu_matches_cpu(name):
    """float32 on wgpu gives what float32 on cpu gives (values and gradients)."""
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    cpu_outs, cpu_grad = run_case(name, "cpu", np.float32)
    dev_outs, dev_grad = run_case(name, "wgpu", np.float32)
    for c, d in zip(cpu_outs, dev_outs):
        np.testing.assert_allclose(d, c, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dev_grad, cpu_grad, rtol=1e-5, atol=1e-5)


def _x(*shape, seed=0):
    return fg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("call", [
    lambda x: F.pad(x, (2, -1, 1, 2), mode="reflect"),
    lambda x: F.pad(x, (1, 2, 2, 0), mode="replicate"),
    lambda x: F.pad(x, (2, 1, -1, 2), mode="circular"),
    lambda x: F.pad(x, (1, -1, 0, 2, 1, 0), value=2.0),
    lambda x: F.interpolate(x, size=(5, 4), mode="bicubic", align_corners=True),
    lambda x: F.interpolate(x, size=(2, 3), mode="bilinear", antialias=True),
    lambda x: F.interpolate(x, scale_factor=1.6, mode="nearest-exact"),
    lambda x: F.interpolate(x[0], scale_factor=2.1),  # where torch's own gradient is inconsistent
    lambda x: F.interpolate(x[None], size=(2, 5, 2), mode="trilinear"),
    lambda x: F.interpolate(x[None], size=(2, 2, 3), mode="area"),
    lambda x: F.unfold(x, 2, dilation=(1, 2), padding=1, stride=(2, 1)),
    lambda x: F.fold(x.reshape(2, 6, 6), (4, 4), (2, 3), padding=(1, 0), stride=(2, 1)),
    lambda x: F.pixel_shuffle(x.reshape(2, 12, 1, 3), 2),
    lambda x: F.pixel_unshuffle(x.reshape(2, 3, 2, 6), 2),
    lambda x: F.channel_shuffle(x.reshape(2, 6, 2, 3), 3),
])
def test_gradcheck_float64(call):
    assert gradcheck(call, [_x(2, 3, 4, 3)])


def test_second_derivative_through_a_composite():
    """Built from registered ops, the gradient itself has a gradient (create_graph=True)."""
    w = fg.tensor(np.random.default_rng(1).standard_normal((2, 3, 7, 5)))

    def grad_of(x):
        with fg.enable_grad():
            y = F.interpolate(F.pad(x * x, (1, 1, 2, 0), mode="reflect"), size=(7, 5), mode="bicubic")
            (g,) = fg.autograd.grad((y * w).sum(), [x], create_graph=True)
        return g

    assert gradcheck(grad_of, [_x(2, 3, 4, 3)])


def test_interpolate_keeps_size_when_scale_rounds_to_it():
    x = _x(1, 2, 5)
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=1.1, mode="linear").detach().numpy(), x.detach().numpy())


def test_pad_fills_integer_tensors_with_the_cast_value():
    y = F.pad(fg.arange(3).reshape(1, 3), (1, 1), value=2.7)
    assert y.dtype == fg.int64 and y.tolist() == [[2, 0, 1, 2, 2]]


@pytest.mark.parametrize("call, exc, fragment", [
    (lambda x: F.pad(x, (1, 1, 1)), ValueError, "pad: padding length must be divisible by 2"),
    (lambda x: F.pad(x, (1,) * 10), ValueError, "pad: padding length should be less than or equal to two times"),
    (lambda x: F.pad(x, (1.5, 1)), TypeError, "pad: argument 'pad' must be a tuple of ints, but found element of type float"),
    (lambda x: F.pad(x, 3), TypeError, "pad: argument 'pad' must be a tuple of ints, got int"),
    (lambda x: F.pad(x, (1, 1), mode="wrap"), NotImplementedError, "pad: unrecognised padding mode 'wrap'"),
    (lambda x: F.pad(x, (1, 1), mode="reflect", value=1.0), ValueError, "padding mode 'reflect' doesn't take in value"),
    (lambda x: F.pad(x[0], (5, 0), mode="reflect"), ValueError, "pad: padding size should be less than the corresponding"),
    (lambda x: F.pad(x[0], (-5, 0), mode="replicate"), ValueError, "pad: input (size 5 at dimension 2) is too small"),
    (lambda x: F.pad(x[0], (6, 0), mode="circular"), ValueError, "causes wrapping around more than once"),
    (lambda x: F.pad(x[0, 0, 0], (1, 1), mode="reflect"), NotImplementedError,
     "pad: padding size 2 is not supported for 1D input tensor"),
    (lambda x: F.pad(x, (1,) * 8, mode="replicate"), NotImplementedError, "padding size 8 is not supported for 4D"),
    (lambda x: F.pad(x, (-3, -3)), ValueError, "resulted in a negative output size"),
    (lambda x: F.pad(x[0, :, :0], (1, 1), mode="reflect"), ValueError, "other non-zero dimensions for input"),
    (lambda x: F.pad([1.0], (1, 1)), TypeError, "pad: input must be a Tensor, got list"),
    (lambda x: F.interpolate(x, size=(0, 2)), ValueError, "interpolate: input and output sizes should be greater than 0"),
    (lambda x: F.interpolate(x, scale_factor=-1.0), ValueError, "interpolate: input and output sizes should be"),
    (lambda x: F.interpolate(x, size=4, mode="linear"), NotImplementedError, "got 4D input, but linear mode needs 3D"),
    (lambda x: F.interpolate(x[0], size=4, mode="bicubic"), NotImplementedError, "bicubic mode needs 4D input"),
    (lambda x: F.interpolate(x, size=4, align_corners=True), ValueError, "align_corners option can only be set with"),
    (lambda x: F.interpolate(x, size=4, mode="cubic"), NotImplementedError, "for the modes: nearest | linear"),
    (lambda x: F.interpolate(x, size=(4, 4, 4)), ValueError, "input and output must have the same number of spatial"),
    (lambda x: F.interpolate(x, scale_factor=(2.0,)), ValueError, "input and scale_factor must have the same number"),
    (lambda x: F.interpolate(x, size=4.0), TypeError, "interpolate: size must be an int or a tuple of ints"),
    (lambda x: F.interpolate(x, 4, 2.0), ValueError, "only one of size or scale_factor should be defined"),
    (lambda x: F.interpolate(x), ValueError, "either size or scale_factor should be defined"),
    (lambda x: F.interpolate(x, size=4, recompute_scale_factor=True), ValueError, "recompute_scale_factor is not"),
    (lambda x: F.interpolate(x, size=4, mode="nearest", antialias=True), ValueError, "anti-alias option is restricted"),
    (lambda x: F.interpolate(x[0, 0], size=4), NotImplementedError, "only 3D, 4D and 5D input tensors are supported"),
    (lambda x: F.interpolate(x.long(), size=4), TypeError, "interpolate: mode 'nearest' needs a float32 or float64"),
    (lambda x: F.pixel_shuffle(x, 3), ValueError, "pixel_shuffle: expects its input's 'channel' dimension to be divisible"),
    (lambda x: F.pixel_shuffle(x, 0), ValueError, "pixel_shuffle: expects a positive upscale_factor, but got 0"),
    (lambda x: F.pixel_shuffle(x[0, 0], 2), ValueError, "pixel_shuffle: expects input to have at least 3 dimensions"),
    (lambda x: F.pixel_unshuffle(x, 2), ValueError, "pixel_unshuffle: expects width to be divisible by downscale_factor"),
    (lambda x: F.pixel_unshuffle(x, 2.0), TypeError, "pixel_unshuffle: downscale_factor must be an int"),
    (lambda x: F.channel_shuffle(x, 3), ValueError, "channel_shuffle: number of channels must be divisible by groups"),
    (lambda x: F.channel_shuffle(x, 0), ValueError, "channel_shuffle: number of groups to divide channels in must be"),
    (lambda x: F.channel_shuffle(x[0, 0], 2), ValueError, "channel_shuffle: expects input with > 2 dims"),
    (lambda x: F.unfold(x, 7), ValueError, "unfold: given input with spatial size (4, 5), kernel_size=(7, 7)"),
    (lambda x: F.unfold(x, 0), ValueError, "unfold: kernel_size should be greater than zero"),
    (lambda x: F.unfold(x, 2, stride=(1, 0)), ValueError, "unfold: stride should be greater than zero"),
    (lambda x: F.unfold(x, 2, padding=-1), ValueError, "unfold: padding should be non-negative"),
    (lambda x: F.unfold(x, (2, 2, 2)), ValueError, "unfold: it is expected kernel_size equals to 2, but got size 3"),
    (lambda x: F.unfold(x[None], 2), ValueError, "unfold: expected 3D or 4D (batch mode) tensor"),
    (lambda x: F.fold(x.reshape(2, 16, 5), (4, 5), 2), ValueError, "fold: given output_size=(4, 5), kernel_size=(2, 2)"),
    (lambda x: F.fold(x.reshape(2, 5, 16), (4, 5), 2), ValueError, "fold: expected size of input's dimension 1 to be "),
    (lambda x: F.fold(x, (4, 5), 2), ValueError, "fold: expected 2D or 3D (batch mode) tensor"),
])
def test_bad_arguments_raise_naming_the_function(call, exc, fragment):
    with pytest.raises(exc) as e:
        call(fg.zeros(2, 4, 4, 5))
    assert fragment in str(e.value)


def test_shape_errors_are_runtime_errors_too():
    with pytest.raises(RuntimeError):
        F.pad(fg.zeros(1, 2, 3), (3, 0), mode="reflect")
    with pytest.raises(RuntimeError):
        F.pixel_shuffle(fg.zeros(1, 3, 2, 2), 2)


def test_pad_modules_attributes_and_reprs():
    m = nn.ConstantPad2d((1, 2, 0, 1), 3.5)
    assert m.padding == (1, 2, 0, 1) and m.value == 3.5 and repr(m) == "ConstantPad2d(padding=(1, 2, 0, 1), value=3.5)"
    assert repr(nn.ZeroPad2d(2)) == "ZeroPad2d((2, 2, 2, 2))" and nn.ZeroPad3d(1).padding == (1,) * 6
    assert repr(nn.ReflectionPad1d((1, 2))) == "ReflectionPad1d((1, 2))"
    assert repr(nn.ReplicationPad3d(1)) == "ReplicationPad3d((1, 1, 1, 1, 1, 1))"
    assert repr(nn.CircularPad2d(1)) == "CircularPad2d((1, 1, 1, 1))"
    for m in (nn.ZeroPad1d(1), nn.ReflectionPad2d(1), nn.CircularPad3d(1)):
        assert m.state_dict() == {} and list(m.parameters()) == []
    with pytest.raises(ValueError, match=r"CircularPad1d: expected 2D or 3D input \(got 4D input\)"):
        nn.CircularPad1d(1)(fg.zeros(1, 1, 2, 2))
    with pytest.raises(TypeError, match="ZeroPad2d: padding must be an int or a tuple of 4 ints"):
        nn.ZeroPad2d((1, 2))


def test_resample_modules_attributes_and_reprs():
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.Upsample(size=(3, 4), mode="bilinear")) == "Upsample(size=(3, 4), mode='bilinear')"
    up = nn.UpsamplingBilinear2d(scale_factor=(2, 3))
    assert up.scale_factor == (2.0, 3.0) and up.align_corners is True and up.mode == "bilinear"
    assert repr(nn.UpsamplingNearest2d(size=3)) == "UpsamplingNearest2d(size=3, mode='nearest')"
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.PixelUnshuffle(3)) == "PixelUnshuffle(downscale_factor=3)"
    assert repr(nn.ChannelShuffle(2)) == "ChannelShuffle(groups=2)"
    assert repr(nn.Unfold(2)) == "Unfold(kernel_size=2, dilation=1, padding=0, stride=1)"
    assert repr(nn.Fold(3, 2)) == "Fold(output_size=3, kernel_size=2, dilation=1, padding=0, stride=1)"
    for m in (nn.Upsample(scale_factor=2), nn.PixelShuffle(2), nn.Fold(3, 2)):
        assert m.state_dict() == {}


def test_fold_of_unfold_counts_block_overlaps():
    """fold(unfold(x)) multiplies each pixel by the number of blocks that cover it."""
    x = _x(2, 3, 5, 6)
    kw = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    twice = F.fold(F.unfold(x, **kw), (5, 6), **kw)
    count = F.fold(F.unfold(fg.ones(1, 1, 5, 6, dtype=fg.float64), **kw), (5, 6), **kw)
    np.testing.assert_allclose(twice.detach().numpy(), (x * count).detach().numpy(), rtol=1e-12)
