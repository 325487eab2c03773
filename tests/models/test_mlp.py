"""The MLP family: names against the same torch.nn stack, parity (eval, train, gradients, running
statistics), a plain nn.Sequential checkpoint (.pth, read without torch) loaded through the remap,
widths by list or depth/width, heads, groups + freeze, dropout statistics, wgpu, bad input.
Fixtures: tests/fixtures/gen/models/gen_mlp.py."""

import json
import pathlib

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.models.mlp as M
from ferrograd.models import create_model, list_models, load_pretrained

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
TOL = dict(rtol=1e-4, atol=1e-4)
REF = dict(np.load(FIX / "mlp_tiny.npz"))
NAMES = json.loads((FIX / "mlp_state_dict.json").read_text())

CASES = {  # the fixture's torch models, built the ferrograd way
    "batch": (lambda: create_model("mlp", in_features=12, hidden_sizes=[16, 8], num_classes=3, activation="gelu",
                                   norm="batch"), "mlp_tiny_batch.safetensors"),
    "layer": (lambda: create_model("mlp", in_features=12, depth=3, width=8, num_classes=2, activation="tanh",
                                   norm="layer", dropout=0.5), "mlp_tiny_layer.safetensors"),
    "seq": (lambda: create_model("mlp_small", in_features=6, hidden_sizes=[10, 10], num_classes=1),
            "mlp_tiny_seq.pth"),
}


def sd_entries(model):
    return [[k, list(v.shape), str(v.dtype).removeprefix("ferrograd.")] for k, v in model.state_dict().items()]


def loaded(case):
    build, weights = CASES[case]
    model = build()
    load_pretrained(model, str(FIX / weights))
    return model


@pytest.mark.parametrize("case", ["batch", "layer"])
def test_state_dict_names_and_shapes(case):
    assert sd_entries(CASES[case][0]()) == NAMES[case]


def test_registered_and_defaults():
    assert list_models("mlp*") == ["mlp", "mlp_small"]
    m = create_model("mlp")
    shapes = [tuple(v.shape) for v in m.state_dict().values()]
    assert shapes == [(512, 784), (512,), (256, 512), (256,), (10, 256), (10,)]
    assert create_model("mlp_small").hidden_sizes == [128]
    assert create_model("mlp", depth=3, width=32).hidden_sizes == [32, 32, 32]
    assert create_model("mlp", hidden_sizes=64).hidden_sizes == [64]
    linear = create_model("mlp", hidden_sizes=[], num_classes=1, in_features=5)  # linear regression
    assert list(linear.state_dict()) == ["head.weight", "head.bias"] and linear.num_features == 5


@pytest.mark.parametrize("case", sorted(CASES))
def test_eval_parity(case):
    model = loaded(case).eval()
    with fg.no_grad():
        out = model(fg.tensor(REF[f"{case}:x"]))
    np.testing.assert_allclose(out.numpy(), REF[f"{case}:out_eval"], **TOL)


@pytest.mark.parametrize("case", ["batch", "seq"])
def test_train_parity(case):
    model = loaded(case).train()
    x = fg.tensor(REF[f"{case}:x"], requires_grad=True)
    out = model(x)
    np.testing.assert_allclose(out.detach().numpy(), REF[f"{case}:out_train"], **TOL)
    (out * fg.tensor(REF[f"{case}:g"])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), REF[f"{case}:grad_x"], **TOL)
    # torch's names (for "seq" the nn.Sequential's) in the order of our parameters / buffers
    theirs = [k for k in REF if k.startswith(f"{case}:grad:")]
    ours = list(model.named_parameters())
    assert len(theirs) == len(ours)
    for key, (name, p) in zip(theirs, ours):
        np.testing.assert_allclose(p.grad.numpy(), REF[key], **TOL, err_msg=f"{name} vs {key}")
    stats = [k for k in REF if k.startswith(f"{case}:stat:")]
    for key, (name, b) in zip(stats, model.named_buffers()):
        np.testing.assert_allclose(b.numpy(), REF[key], **TOL, err_msg=f"{name} vs {key}")
    assert len(stats) == len(list(model.named_buffers()))


def test_sequential_checkpoint_remap():
    """A plain nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) .pth loads into an MLP by order."""
    model = CASES["seq"][0]()
    from ferrograd.models import read_state_dict
    sd = read_state_dict(str(FIX / "mlp_tiny_seq.pth"))
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    mapped = M.MLP.remap_state_dict(sd, model)
    assert list(mapped) == ["blocks.0.fc.weight", "blocks.0.fc.bias", "blocks.1.fc.weight", "blocks.1.fc.bias",
                            "head.weight", "head.bias"]
    prefixed = M.MLP.remap_state_dict({"net." + k: v for k, v in sd.items()}, model)
    assert list(prefixed) == list(mapped)
    with pytest.raises(ValueError, match=r"mlp.remap_state_dict: .*3 layers with weights.*this model has 2"):
        M.MLP.remap_state_dict(sd, create_model("mlp", in_features=6, hidden_sizes=[10], num_classes=1))
    own = model.state_dict()
    assert M.MLP.remap_state_dict(own, model) is own  # our own names pass through


def test_flattens_images_and_checks_width():
    model = create_model("mlp_small", in_features=2 * 3 * 2, num_classes=4).eval()
    x = fg.randn(3, 2, 3, 2)
    with fg.no_grad():
        np.testing.assert_allclose(model(x).numpy(), model(x.reshape(3, 12)).numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"mlp_small: expected input of shape \(N, 12\).*got \(3, 13\)"):
        model(fg.randn(3, 13))
    with pytest.raises(ValueError, match=r"mlp_small: .*got \(12,\)"):
        model(fg.randn(12))
    with pytest.raises(TypeError, match="mlp_small: input must be a Tensor.*list"):
        model([[0.0] * 12])


def test_dropout_train_and_eval():
    model = create_model("mlp", in_features=4, hidden_sizes=[4000], num_classes=0, activation="identity",
                         dropout=0.25)
    with fg.no_grad():
        model.blocks[0].fc.weight.fill_(0.0)
        model.blocks[0].fc.bias.fill_(1.0)
        x = fg.randn(2, 4)
        train = model.train()(x).numpy()
        ev = model.eval()(x).numpy()
    np.testing.assert_array_equal(ev, np.ones_like(ev))
    kept = train != 0
    np.testing.assert_allclose(train[kept], 1 / 0.75, rtol=1e-6)  # survivors scaled by 1 / (1 - p)
    assert abs((train == 0).mean() - 0.25) < 0.03


def test_forward_features_head_and_reset_classifier():
    model = create_model("mlp", in_features=6, hidden_sizes=[5, 4], num_classes=3).eval()
    x = fg.randn(2, 6)
    with fg.no_grad():
        f = model.forward_features(x)
        assert tuple(f.shape) == (2, 4) and model.forward_head(f, pre_logits=True) is f
        np.testing.assert_allclose(model(x).numpy(), model.head(f).numpy(), rtol=1e-6)
    model.reset_classifier(7)
    assert tuple(model(x).shape) == (2, 7) and model.num_classes == 7
    model.reset_classifier(0)
    assert tuple(model(x).shape) == (2, 4)


def test_layer_groups_and_freeze():
    model = create_model("mlp", in_features=6, hidden_sizes=[5, 4, 3], num_classes=2, norm="batch")
    assert [g for g, _ in model.layer_groups()] == ["blocks.0", "blocks.1", "blocks.2", "head"]
    fg.nn.utils.freeze(model, unlocked_groups=2)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == [
        "blocks.2.fc.weight", "blocks.2.fc.bias", "blocks.2.norm.weight", "blocks.2.norm.bias",
        "head.weight", "head.bias"]
    model.train()
    assert not model.blocks[0].norm.training and model.blocks[2].norm.training
    model(fg.randn(4, 6)).sum().backward()
    assert model.blocks[0].fc.weight.grad is None and model.head.weight.grad is not None


@pytest.mark.parametrize("activation", sorted(M.ACTIVATIONS))
def test_activations_by_name(activation):
    model = create_model("mlp", in_features=3, hidden_sizes=[4], num_classes=2, activation=activation)
    assert isinstance(model.blocks[0].act, M.ACTIVATIONS[activation])
    assert tuple(model(fg.randn(2, 3)).shape) == (2, 2)
    assert isinstance(create_model("mlp", activation=fg.nn.Hardswish).blocks[1].act, fg.nn.Hardswish)


def test_wgpu_matches_cpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    x, g = REF["batch:x"], REF["batch:g"]
    results = {}
    for device in ("cpu", "wgpu"):
        m = loaded("batch").to(device)
        with fg.no_grad():
            ev = m.eval()(fg.tensor(x, device=device)).numpy()
        xt = fg.tensor(x, device=device, requires_grad=True)
        out = m.train()(xt)
        (out * fg.tensor(g, device=device)).sum().backward()
        results[device] = [ev, out.detach().numpy(), xt.grad.numpy(), m.blocks[0].fc.weight.grad.numpy(),
                           m.head.weight.grad.numpy(), m.blocks[1].norm.running_var.numpy()]
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(results["cpu"][1], REF["batch:out_train"], **TOL)


@pytest.mark.parametrize("kwargs, err, pattern", [
    (dict(in_features=0), ValueError, "mlp: in_features must be a positive int, got 0"),
    (dict(hidden_sizes=[4, 0]), ValueError, r"mlp: hidden_sizes must be a list of positive ints, got \[4, 0\]"),
    (dict(hidden_sizes=[4], depth=2, width=3), ValueError, "mlp: give hidden_sizes or depth and width, not both"),
    (dict(depth=2), ValueError, "mlp: width must be a positive int with depth=2, got None"),
    (dict(depth=-1, width=3), ValueError, "mlp: depth"),
    (dict(activation="relu6x"), ValueError, "mlp: unknown activation 'relu6x'"),
    (dict(activation=3), TypeError, "mlp: activation must be a name"),
    (dict(norm="group"), ValueError, "mlp: norm must be None, 'batch' or 'layer', got 'group'"),
    (dict(dropout=1.0), ValueError, r"mlp: dropout must be a probability in \[0, 1\), got 1.0"),
    (dict(num_classes=-2), ValueError, "num_classes"),
])
def test_bad_config(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        create_model("mlp", **kwargs)
