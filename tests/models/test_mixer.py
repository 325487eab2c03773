"""MLP-Mixer (timm names): state_dict against timm's mixer_b16_224 / mixer_s16_224, numerical
parity with a seeded tiny timm MlpMixer (logits, features, block intermediates, gradients), loading
through create_model, features_only, heads, parameter groups, the small sizes, wgpu, bad input.
Fixtures: tests/fixtures/gen/models/gen_mixer_clip.py (no PyTorch needed here)."""

import json
import pathlib

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.models import create_model, list_models, parameter_groups
from ferrograd.models import mixer as M

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
TOL = dict(rtol=1e-4, atol=1e-4)
NAMES = json.loads((FIX / "mixer_names.json").read_text())
TINY = NAMES["tiny_config"]  # img 16, patch 4, dim 32, 2 blocks, 10 classes
WEIGHTS = FIX / "mixer_tiny.safetensors"


@pytest.fixture(scope="module")
def ref():
    with np.load(FIX / "mixer_tiny.npz") as z:
        return {k: z[k] for k in z.files}


def tiny(**kw):
    return create_model("mixer_tiny", pretrained=str(WEIGHTS), **{**TINY, **kw})


def entries(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


# ---- names and shapes ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mixer_b16_224", "mixer_s16_224"])
def test_state_dict_equals_timm(name):
    with fg.nn.init.no_init_weights():  # names and shapes only: skip the init
        model = create_model(name)
    assert entries(model) == NAMES[name]  # names, order and shapes


def test_tiny_state_dict_equals_timm():
    assert entries(M.MlpMixer(**TINY)) == NAMES["tiny"]


def test_registry_and_sizes():
    assert {"mixer_s32_224", "mixer_s16_224", "mixer_b16_224", "mixer_l16_224", "mixer_tiny",
            "mixer_nano"} <= set(list_models("mixer*"))
    counts = {"mixer_s32_224": 19_104_624, "mixer_tiny": 569_994, "mixer_nano": 139_274}
    for name, n in counts.items():
        assert sum(p.numel() for p in create_model(name).parameters()) == n, name


def test_timm_init():
    m = M.MlpMixer(**TINY)
    assert np.all(m.head.weight.detach().numpy() == 0) and np.all(m.head.bias.detach().numpy() == 0)  # zero head
    assert np.abs(m.blocks[0].mlp_tokens.fc1.bias.detach().numpy()).max() < 1e-4  # normal(std=1e-6)
    w = m.blocks[0].mlp_channels.fc1.weight.detach().numpy()
    bound = np.sqrt(6 / sum(w.shape))  # xavier_uniform
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.isclose(M.MlpMixer(**TINY, nlhb=True).head.bias.detach().numpy(), -np.log(10)).all()


# ---- numerical parity with timm -------------------------------------------------------------

@pytest.mark.parametrize("mode", ["eval", "train"])
def test_parity_with_timm(ref, mode):
    model = tiny()
    getattr(model, mode)()
    x = fg.tensor(ref["x"], requires_grad=True)
    feats = model.forward_features(x)
    logits = model.forward_head(feats)
    np.testing.assert_allclose(feats.detach().numpy(), ref["features"], **TOL)
    np.testing.assert_allclose(logits.detach().numpy(), ref["logits"], **TOL)
    np.testing.assert_allclose(model.forward_head(feats, pre_logits=True).detach().numpy(), ref["pre_logits"], **TOL)
    (logits * fg.tensor(ref["w"])).sum().backward()
    params = dict(model.named_parameters())
    grads = [k for k in ref if k.startswith("grad:")]
    assert len(grads) == 8
    for k in grads:
        got = x.grad if k == "grad:x" else params[k[5:]].grad
        np.testing.assert_allclose(got.numpy(), ref[k], err_msg=k, **TOL)


def test_intermediates_and_features_only(ref):
    model = tiny().eval()
    x = fg.tensor(ref["x"])
    with fg.no_grad():
        inter = model.forward_intermediates(x)
    assert len(inter) == 2
    for i, y in enumerate(inter):
        assert tuple(y.shape) == (3, 32, 4, 4)
        np.testing.assert_allclose(y.numpy(), ref[f"intermediate{i}"], **TOL)
    assert model.feature_info == [dict(num_chs=32, reduction=4, module="blocks.0"),
                                  dict(num_chs=32, reduction=4, module="blocks.1")]
    with fg.no_grad():
        last = model.forward_intermediates(x, indices=1, norm=True, output_fmt="NLC")
        assert len(last) == 1 and tuple(last[0].shape) == (3, 16, 32)
        np.testing.assert_allclose(last[0].numpy(), ref["features"], **TOL)  # last block + norm

    feat = create_model("mixer_tiny", pretrained=str(WEIGHTS), features_only=True, out_indices=[1], **TINY).eval()
    assert feat.feature_info.channels() == [32] and feat.feature_info.reduction() == [4]
    assert list(feat.state_dict()) == [k for k, _ in NAMES["tiny"]]
    with fg.no_grad():
        (out,) = feat(x)
    np.testing.assert_allclose(out.numpy(), ref["intermediate1"], **TOL)


def test_dropout_paths(ref):
    """proj_drop_rate runs the composite MLP in training (the fused kernels otherwise); eval and
    rate 0 give timm's numbers, training with dropout and drop_path changes them."""
    model = tiny(proj_drop_rate=0.3, drop_path_rate=0.2, drop_rate=0.1)
    x = fg.tensor(ref["x"])
    with fg.no_grad():
        np.testing.assert_allclose(model.eval()(x).numpy(), ref["logits"], **TOL)
    fg.manual_seed(0)
    xt = fg.tensor(ref["x"], requires_grad=True)
    out = model.train()(xt)
    assert not np.allclose(out.detach().numpy(), ref["logits"], atol=1e-3)
    out.sum().backward()
    assert np.isfinite(xt.grad.numpy()).all() and model.stem.proj.weight.grad is not None


# ---- heads, groups, sizes -----------------------------------------------------------------------

def test_reset_classifier_and_pooling(ref):
    model = tiny().eval()
    x = fg.tensor(ref["x"])
    model.reset_classifier(0)
    assert isinstance(model.head, fg.nn.Identity)
    with fg.no_grad():
        np.testing.assert_allclose(model(x).numpy(), ref["pre_logits"], **TOL)
    model.reset_classifier(5, global_pool="")
    with fg.no_grad():
        assert tuple(model(x).shape) == (3, 16, 5)  # no pooling: a head per token, as timm
    model.reset_classifier(7, global_pool="avg")
    with fg.no_grad():
        assert tuple(model(x).shape) == (3, 7)
    assert model.num_classes == 7
    with pytest.raises(ValueError, match="global_pool"):
        model.reset_classifier(3, global_pool="max")


def test_layer_groups_freeze_and_layer_decay():
    model = M.MlpMixer(**TINY)
    assert [n for n, _ in model.layer_groups()] == ["stem", "blocks.0", "blocks.1", "head"]
    groups = parameter_groups(model)
    assert sum(len(p) for _, p in groups) == len(list(model.parameters()))
    fg.nn.utils.freeze(model, unlocked_groups=1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"norm.weight", "norm.bias", "head.weight", "head.bias"}
    fg.nn.utils.unfreeze(model)
    pg = fg.optim.param_groups_layer_decay(model, lr=1.0, layer_decay=0.5)
    assert max(g["lr_scale"] for g in pg) == 1.0 and min(g["lr_scale"] for g in pg) == 0.125


@pytest.mark.parametrize("name,kw,shape", [
    ("mixer_tiny", {}, (2, 3, 32, 32)),
    ("mixer_tiny", dict(img_size=28, in_chans=1), (2, 1, 28, 28)),
    ("mixer_nano", {}, (2, 3, 8, 8)),
])
def test_small_sizes(name, kw, shape):
    model = create_model(name, **kw)
    x = fg.randn(*shape, requires_grad=True)
    out = model(x)
    assert tuple(out.shape) == (2, 10)
    out.sum().backward()
    assert x.grad is not None and tuple(x.grad.shape) == shape


# ---- bad input ----------------------------------------------------------------------------------

def test_bad_input_and_config():
    model = M.MlpMixer(**TINY)
    with pytest.raises(ValueError, match=r"MlpMixer.*\(N, 3, 16, 16\).*\(2, 3, 32, 32\)"):
        model(fg.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="MlpMixer"):
        model(fg.randn(3, 16, 16))
    with pytest.raises(TypeError, match="MlpMixer: input must be a Tensor"):
        model(np.zeros((2, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match="patch_size 5 must divide img_size 16"):
        M.MlpMixer(img_size=16, patch_size=5)
    with pytest.raises(ValueError, match="global_pool"):
        M.MlpMixer(**{**TINY, "global_pool": "max"})
    with pytest.raises(ValueError, match="num_classes"):
        M.MlpMixer(**{**TINY, "num_classes": -1})
    with pytest.raises(ValueError, match="embed_dim"):
        M.MlpMixer(**{**TINY, "embed_dim": 0})
    with pytest.raises(ValueError, match="proj_drop_rate"):
        M.MlpMixer(**{**TINY, "proj_drop_rate": 1.5})
    with pytest.raises(ValueError, match="output_fmt"):
        model.forward_intermediates(fg.randn(1, 3, 16, 16), output_fmt="NHWC")


# ---- wgpu ---------------------------------------------------------------------------------------

def test_wgpu_matches_cpu(ref):
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    results = {}
    for device in ("cpu", "wgpu"):
        model = tiny().to(device)
        x = fg.tensor(ref["x"], device=device, requires_grad=True)
        out = model(x)
        (out * fg.tensor(ref["w"], device=device)).sum().backward()
        results[device] = [out.detach().numpy(), x.grad.numpy(), model.blocks[0].mlp_tokens.fc1.weight.grad.numpy(),
                           model.stem.proj.weight.grad.numpy()]
    assert model.blocks[0].mlp_tokens.fc1.weight.device.type == "wgpu"
    np.testing.assert_allclose(results["wgpu"][0], ref["logits"], **TOL)
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, **TOL)
