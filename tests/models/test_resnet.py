"""ResNet-18/34/50 (torchvision names): state_dict against torchvision's, numerical parity with
torchvision on narrow models (eval, train, gradients, running statistics) loaded from a PyTorch .pth
zip and from safetensors, stage features, the small-image stem, heads, freezing, wgpu, bad input.
Fixtures: tests/fixtures/gen/models/gen_resnet.py (no PyTorch needed here)."""

import json
import pathlib

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.models.resnet as R
from ferrograd.models import create_model, list_models, load_pretrained, read_state_dict

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
TOL = dict(rtol=1e-4, atol=1e-4)

# the narrow torchvision models of the parity fixtures, built the ferrograd way
CASES = {
    "basic": (dict(block=R.BasicBlock, layers=[1, 1, 1, 1], planes=(8, 16, 32, 64), num_classes=10),
              "resnet_tiny_basic.pth"),
    "small": (dict(block=R.BasicBlock, layers=[1, 1, 1, 1], planes=(8, 16, 32, 64), num_classes=10, stem="small"),
              "resnet_tiny_small.safetensors"),
    "bottleneck": (dict(block=R.Bottleneck, layers=[2, 1, 1, 2], planes=(4, 8, 16, 32), num_classes=5, groups=2,
                        replace_stride_with_dilation=[False, False, True]), "resnet_tiny_bottleneck.safetensors"),
}


def tiny(case):
    kwargs, weights = CASES[case]
    model = R.ResNet(**kwargs)
    load_pretrained(model, str(FIX / weights))  # the .pth is read without torch
    return model, dict(np.load(FIX / f"resnet_tiny_{case}.npz"))


def sd_entries(model):
    return [[k, list(v.shape), str(v.dtype).removeprefix("ferrograd.")] for k, v in model.state_dict().items()]


# ---- names and shapes ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_state_dict_equals_torchvision(name):
    expected = json.loads((FIX / "resnet_state_dict.json").read_text())[name]
    assert sd_entries(create_model(name)) == expected  # names, order, shapes, dtypes


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_small_stem_keeps_names_only_conv1_differs(name):
    expected = json.loads((FIX / "resnet_state_dict.json").read_text())[name]
    got = sd_entries(create_model(name + "_small"))
    assert [e[0] for e in got] == [e[0] for e in expected]
    diff = [(g, e) for g, e in zip(got, expected) if g != e]
    assert diff == [(["conv1.weight", [64, 3, 3, 3], "float32"], ["conv1.weight", [64, 3, 7, 7], "float32"])]


def test_registered_and_parameter_counts():
    assert {"resnet18", "resnet34", "resnet50", "resnet18_small"} <= set(list_models("resnet*"))
    counts = {n: sum(p.numel() for p in create_model(n).parameters()) for n in ("resnet18", "resnet34", "resnet50")}
    assert counts == {"resnet18": 11689512, "resnet34": 21797672, "resnet50": 25557032}  # torchvision's


def test_num_classes_and_in_chans():
    m = create_model("resnet18", num_classes=10, in_chans=1)
    assert tuple(m.fc.weight.shape) == (10, 512) and tuple(m.conv1.weight.shape) == (64, 1, 7, 7)
    assert m.num_classes == 10 and m.num_features == 512
    assert create_model("resnet50").num_features == 2048


# ---- numerical parity with torchvision -----------------------------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_eval_parity(case):
    model, ref = tiny(case)
    model.eval()
    with fg.no_grad():
        x = fg.tensor(ref["x"])
        np.testing.assert_allclose(model(x).numpy(), ref["out_eval"], **TOL)
        feats = model.forward_intermediates(x)
    assert len(feats) == len(model.feature_info) == 5
    for i, f in enumerate(feats):
        np.testing.assert_allclose(f.numpy(), ref[f"feat{i}"], **TOL)


def train_step(case, dtype):
    """One train-mode forward + backward of sum(out * g), as the fixture did: what it compares."""
    model, ref = tiny(case)
    model.to(dtype).train()
    x = fg.tensor(ref["x"].astype(dtype), requires_grad=True)
    out = model(x)
    (out * fg.tensor(ref["g"].astype(dtype))).sum().backward()
    params, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    got = {"out_train": out.detach().numpy(), "grad_x": x.grad.numpy()}
    got.update({k: params[k[5:]].grad.numpy() for k in ref if k.startswith("grad:")})
    got.update({k: buffers[k[5:]].numpy() for k in ref if k.startswith("stat:")})
    return got, ref


@pytest.mark.parametrize("case", sorted(CASES))
def test_train_parity_float32(case):
    """Batch statistics, gradients and running statistics against torchvision's float32 run.
    Gradients reach |g| ~ 80 here (batch norm over 4 samples at 1×1), so the absolute tolerance
    scales with each array's largest value: 1e-4 of it (torch's own float32 run is that far from
    its float64 one; test_train_parity_float64 checks the math itself to 1e-12)."""
    got, ref = train_step(case, np.float32)
    for key, value in got.items():
        scale = max(1.0, float(np.abs(ref[key]).max()))
        np.testing.assert_allclose(value, ref[key], rtol=1e-4, atol=1e-4 * scale, err_msg=key)
    assert int(got["stat:bn1.num_batches_tracked"]) == 4  # 3 in the checkpoint, + this forward


@pytest.mark.parametrize("case", sorted(CASES))
def test_train_parity_float64(case):
    got, ref = train_step(case, np.float64)
    for key, value in got.items():
        want = ref["f64:" + key]
        assert value.dtype == want.dtype, key
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-12 * scale, err_msg=key)


@pytest.mark.parametrize("case", sorted(CASES))
def test_eval_parity_float64(case):
    model, ref = tiny(case)
    with fg.no_grad():
        out = model.to(np.float64).eval()(fg.tensor(ref["x"].astype(np.float64)))
    np.testing.assert_allclose(out.numpy(), ref["f64:out_eval"], rtol=1e-12, atol=1e-12)


def test_pth_and_safetensors_read_alike(tmp_path):
    """The .pth (PyTorch zip, read without torch) gives exactly the arrays torchvision saved; a
    checkpoint written by fg.save round-trips through create_model's pretrained= path."""
    sd = read_state_dict(str(FIX / "resnet_tiny_basic.pth"))
    model, _ = tiny("basic")
    assert list(sd) == list(model.state_dict())
    assert sd["bn1.num_batches_tracked"].dtype == np.int64
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k])
    big = create_model("resnet18_small", num_classes=3)
    fg.save(big.state_dict(), tmp_path / "w.safetensors")
    again = create_model("resnet18_small", pretrained=str(tmp_path / "w.safetensors"))
    assert again.num_classes == 3  # the head follows the checkpoint
    for (k, a), b in zip(big.state_dict().items(), again.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_default_checkpoint_into_small_stem_where_shapes_agree():
    """A torchvision (7×7 stem) checkpoint loads into the small stem: everything but conv1, which
    keeps its fresh 3×3 init, with a warning naming both shapes."""
    sd = read_state_dict(str(FIX / "resnet_tiny_basic.pth"))
    model = R.ResNet(R.BasicBlock, [1, 1, 1, 1], planes=(8, 16, 32, 64), num_classes=10, stem="small")
    with pytest.raises((ValueError, RuntimeError), match="conv1.weight"):
        model.load_state_dict(sd)  # a plain strict load still refuses
    fresh = model.conv1.weight.detach().numpy().copy()
    with pytest.warns(UserWarning, match=r"conv1.weight is \(8, 3, 7, 7\).*\(8, 3, 3, 3\) \(stem='small'\)"):
        load_pretrained(model, str(FIX / "resnet_tiny_basic.pth"))
    np.testing.assert_array_equal(model.conv1.weight.detach().numpy(), fresh)
    for k, v in model.state_dict().items():
        if k != "conv1.weight":
            np.testing.assert_array_equal(v.numpy(), sd[k], err_msg=k)


def test_checkpoint_into_other_in_chans():
    """timm's adapt_input_conv: 1 channel sums the RGB filters (a gray image then gives what the
    RGB model gives on that image repeated 3 times); 4 channels repeat them, scaled by 3/4."""
    rgb, ref = tiny("basic")
    kwargs = dict(CASES["basic"][0])
    gray = R.ResNet(**kwargs, in_chans=1)
    load_pretrained(gray, str(FIX / "resnet_tiny_basic.pth"))
    x = ref["x"][:, :1]
    with fg.no_grad():
        want = rgb.eval()(fg.tensor(np.repeat(x, 3, axis=1))).numpy()
        np.testing.assert_allclose(gray.eval()(fg.tensor(x)).numpy(), want, rtol=1e-4, atol=1e-5)
    four = R.ResNet(**kwargs, in_chans=4)
    load_pretrained(four, str(FIX / "resnet_tiny_basic.pth"))
    w = rgb.conv1.weight.detach().numpy()
    np.testing.assert_allclose(four.conv1.weight.detach().numpy(),
                               np.concatenate([w, w[:, :1]], axis=1) * 0.75, rtol=1e-6)


# ---- features, heads, groups ---------------------------------------------------------------------

@pytest.mark.parametrize("name, chs, red", [
    ("resnet18", [64, 64, 128, 256, 512], [2, 4, 8, 16, 32]),
    ("resnet50", [64, 256, 512, 1024, 2048], [2, 4, 8, 16, 32]),
    ("resnet18_small", [64, 64, 128, 256, 512], [1, 1, 2, 4, 8]),
])
def test_features_only(name, chs, red):
    model = create_model(name, features_only=True)
    assert model.feature_info.channels() == chs and model.feature_info.reduction() == red
    assert model.feature_info.module_name() == ["relu", "layer1", "layer2", "layer3", "layer4"]
    size = 64 if red[-1] == 32 else 16
    with fg.no_grad():
        outs = model(fg.randn(2, 3, size, size))
    assert [tuple(o.shape) for o in outs] == [(2, c, size // r, size // r) for c, r in zip(chs, red)]
    picked = create_model(name, features_only=True, out_indices=(1, -1))
    assert picked.feature_info.channels() == [chs[1], chs[-1]]
    assert set(picked.state_dict()) == set(create_model(name).state_dict()) - {"fc.weight", "fc.bias"} | \
        {"fc.weight", "fc.bias"}  # same names as the classifier: weights move either way


def test_dilation_keeps_resolution_in_feature_info():
    model, _ = tiny("bottleneck")
    assert [d["reduction"] for d in model.feature_info] == [2, 4, 8, 16, 16]
    # as torchvision: the stage's first block keeps the previous dilation, the next ones dilate
    assert model.layer4[0].conv2.stride == (1, 1) and model.layer4[0].conv2.dilation == (1, 1)
    assert model.layer4[1].conv2.dilation == (2, 2) and model.layer4[1].conv2.padding == (2, 2)


def test_forward_features_and_head():
    model = R.ResNet(R.BasicBlock, [1, 1, 1, 1], planes=(4, 8, 8, 16), num_classes=6).eval()
    x = fg.randn(3, 3, 64, 64)
    with fg.no_grad():
        f = model.forward_features(x)
        assert tuple(f.shape) == (3, 16, 2, 2)
        pooled = model.forward_head(f, pre_logits=True)
        np.testing.assert_allclose(pooled.numpy(), f.numpy().mean(axis=(2, 3)), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(model(x).numpy(), model.fc(pooled).numpy(), rtol=1e-6, atol=1e-6)


def test_reset_classifier():
    model = create_model("resnet18_small", planes=(4, 8, 8, 16))
    model.reset_classifier(7)
    assert isinstance(model.fc, fg.nn.Linear) and tuple(model.fc.weight.shape) == (7, 16)
    assert tuple(model(fg.randn(2, 3, 8, 8)).shape) == (2, 7)
    model.reset_classifier(0)
    assert isinstance(model.fc, fg.nn.Identity) and "fc.weight" not in model.state_dict()
    assert tuple(model(fg.randn(2, 3, 8, 8)).shape) == (2, 16)
    with pytest.raises(ValueError, match="num_classes"):
        model.reset_classifier(-1)
    assert tuple(create_model("resnet18", num_classes=0).eval()(fg.randn(1, 3, 32, 32)).shape) == (1, 512)


def test_layer_groups_freeze_and_layer_decay():
    model = create_model("resnet18_small", planes=(4, 8, 8, 16), num_classes=3)
    groups = model.layer_groups()
    assert [g for g, _ in groups] == ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]
    grouped = {id(p) for _, mods in groups for m in mods for p in m.parameters()}
    assert grouped == {id(p) for p in model.parameters()}  # every parameter in a group

    fg.nn.utils.freeze(model, unlocked_groups=2)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith(("layer4.", "fc.")) for n in trainable)
    assert "layer4.0.conv1.weight" in trainable and "fc.weight" in trainable
    model.train()
    assert not model.layer3[0].bn1.training and model.layer4[0].bn1.training  # frozen BNs stay in eval
    loss = model(fg.randn(4, 3, 8, 8)).sum()
    loss.backward()
    assert model.conv1.weight.grad is None and model.layer4[0].conv1.weight.grad is not None

    fg.nn.utils.unfreeze(model)
    from ferrograd.optim.layer_decay import param_groups_layer_decay
    pg = param_groups_layer_decay(model, lr=1.0, layer_decay=0.5)
    scales = {g["name"]: g["lr_scale"] for g in pg}
    assert scales["fc_no_decay"] == 1.0 and scales["layer4"] == 0.5 and scales["stem"] == 0.5 ** 5


# ---- the small-image stem ------------------------------------------------------------------------

@pytest.mark.parametrize("size, last", [(8, 1), (32, 4)])
def test_small_stem_on_small_images(size, last):
    model = create_model("resnet18_small", num_classes=10)
    assert tuple(model.conv1.weight.shape) == (64, 3, 3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, fg.nn.Identity)
    x = fg.randn(2, 3, size, size)
    with fg.no_grad():
        assert tuple(model.eval().forward_features(x).shape) == (2, 512, last, last)
    model.train()
    out = model(x)
    assert tuple(out.shape) == (2, 10)
    out.sum().backward()
    assert model.conv1.weight.grad is not None and np.isfinite(model.conv1.weight.grad.numpy()).all()
    # the default stem divides by 32: an 8×8 image ends as 1×1 after layer2 already
    assert tuple(create_model("resnet18").eval().forward_features(fg.randn(1, 3, 8, 8)).shape) == (1, 512, 1, 1)


def test_stem_kwarg_equals_small_name():
    a = create_model("resnet18", stem="small")
    b = create_model("resnet18_small")
    assert sd_entries(a) == sd_entries(b)


# ---- wgpu --------------------------------------------------------------------------------------

def test_wgpu_matches_cpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    model, ref = tiny("basic")
    x = ref["x"][:2, :, :16, :16]
    g = np.random.default_rng(0).standard_normal((2, 10)).astype(np.float32)
    results = {}
    for device in ("cpu", "wgpu"):
        m, _ = tiny("basic")
        m.to(device)
        with fg.no_grad():
            ev = m.eval()(fg.tensor(x, device=device)).numpy()
        xt = fg.tensor(x, device=device, requires_grad=True)
        out = m.train()(xt)
        (out * fg.tensor(g, device=device)).sum().backward()
        results[device] = [ev, out.detach().numpy(), xt.grad.numpy(), m.conv1.weight.grad.numpy(),
                           m.fc.weight.grad.numpy(), m.bn1.running_var.numpy()]
    assert all(r.device.type == "wgpu" for r in [m.conv1.weight, m.bn1.running_var])
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-4)
    del model


# ---- bad input and bad config --------------------------------------------------------------------

def test_bad_input():
    model = create_model("resnet18_small", planes=(4, 8, 8, 16))
    with pytest.raises(ValueError, match=r"resnet18_small.*\(N, 3, H, W\).*\(2, 1, 8, 8\)"):
        model(fg.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"resnet18_small.*\(3, 8, 8\)"):
        model(fg.randn(3, 8, 8))
    with pytest.raises(TypeError, match="resnet18_small.*ndarray"):
        model(np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"resnet18_small.*got \(3, 8, 8\)"):
        create_model("resnet18_small", planes=(4, 8, 8, 16), features_only=True)(fg.randn(1, 3, 8, 8)[0])


@pytest.mark.parametrize("kwargs, err, pattern", [
    (dict(stem="tiny"), ValueError, "resnet18: .*stem must be 'default'.*'tiny'"),
    (dict(planes=(64, 128)), ValueError, "resnet18: .*planes must be 4 positive ints"),
    (dict(num_classes=-1), ValueError, "num_classes"),
    (dict(in_chans=0), ValueError, "resnet18: .*in_chans"),
    (dict(groups=2), ValueError, "resnet18: .*BasicBlock: only groups=1"),
    (dict(replace_stride_with_dilation=[True]), ValueError, "resnet18: .*replace_stride_with_dilation"),
    (dict(replace_stride_with_dilation=[False, True, True]), ValueError, "resnet18: .*dilation > 1"),
    (dict(bogus=1), TypeError, "bogus"),
])
def test_bad_config(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        create_model("resnet18", **kwargs)


def test_bad_layers_and_conflicting_stem():
    with pytest.raises(ValueError, match="layers must be 4 positive ints"):
        R.ResNet(R.BasicBlock, [2, 2, 2])
    with pytest.raises(TypeError, match="block must be"):
        R.ResNet("basic", [2, 2, 2, 2])
    with pytest.raises(ValueError, match="resnet18_small: this model's stem is 'small'"):
        create_model("resnet18_small", stem="default")
