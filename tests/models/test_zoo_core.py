"""The zoo machinery every family uses: the registry and create_model, weights files (PyTorch's
zip format read without torch, safetensors, npz, model directories), a classifier of another size,
features_only, freeze(unlocked_groups=k), layer-wise lr decay groups and ModelOutput."""

import json
import pathlib

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.models import _registry
from ferrograd.models._pretrained import read_state_dict
from ferrograd.models._torch_format import load_torch_file

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"


# ---- a small model registered for these tests only --------------------------------------------

class TinyNet(fg.models.ZooModel):
    default_cfg = {"classifier": "fc"}

    def __init__(self, num_classes=5, width=4):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.stage1 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.stage2 = nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1)
        self.fc = nn.Linear(4 * width, num_classes)
        self.num_features = 4 * width
        self.feature_info = [dict(num_chs=width, reduction=1, module="stem"),
                             dict(num_chs=2 * width, reduction=2, module="stage1"),
                             dict(num_chs=4 * width, reduction=4, module="stage2")]

    def forward_intermediates(self, x):
        outs = []
        for m in (self.stem, self.stage1, self.stage2):
            x = m(x).relu()
            outs.append(x)
        return outs

    def forward_features(self, x):
        return self.forward_intermediates(x)[-1]

    def forward_head(self, x, pre_logits=False):
        x = x.mean((2, 3))
        return x if pre_logits else self.fc(x)


@pytest.fixture
def tiny_registered():
    def tiny_test_net(**kwargs) -> TinyNet:
        """A three-stage convnet (tests only)."""
        return TinyNet(**kwargs)

    _registry.register_model(tiny_test_net)
    yield "tiny_test_net"
    _registry._MODELS.pop("tiny_test_net", None)


# ---- registry -----------------------------------------------------------------------------

def test_list_models_takes_wildcards_and_create_model_builds(tiny_registered):
    assert "tiny_test_net" in fg.models.list_models("tiny_*")
    assert fg.models.list_models("no_such_*") == []
    model = fg.models.create_model("tiny_test_net", num_classes=7)
    assert model(fg.randn(2, 3, 8, 8)).shape == (2, 7)


def test_unknown_model_name_suggests_close_names(tiny_registered):
    with pytest.raises(ValueError, match=r"unknown model 'tiny_test_nt'.*Did you mean 'tiny_test_net'"):
        fg.models.create_model("tiny_test_nt")
    with pytest.raises(TypeError, match="create_model"):
        fg.models.create_model(3)


def test_pretrained_path_that_does_not_exist_says_what_to_pass(tiny_registered):
    with pytest.raises(FileNotFoundError, match="not a file or a directory"):
        fg.models.create_model("tiny_test_net", pretrained="/no/such/weights.pth")
    with pytest.raises(ValueError, match="never"):
        fg.models.create_model("tiny_test_net", pretrained=True)


# ---- PyTorch's format, read without torch -----------------------------------------------------

def test_torch_zip_checkpoint_reads_every_dtype_view_and_stride():
    got = load_torch_file(str(FIXTURES / "torch_format.pth"))
    expected = np.load(FIXTURES / "torch_format_expected.npz")
    assert list(got) == list(expected.files)  # the order torch saved
    for k in expected.files:
        assert got[k].shape == expected[k].shape, k
        assert got[k].dtype == expected[k].dtype, (k, got[k].dtype, expected[k].dtype)
        np.testing.assert_array_equal(got[k], expected[k], err_msg=k)
        assert got[k].flags.c_contiguous


def test_wrapped_training_checkpoint_and_dataparallel_prefix_are_unwrapped():
    sd = read_state_dict(str(FIXTURES / "torch_format_wrapped.pth"))
    assert list(sd) == ["a"]
    np.testing.assert_array_equal(sd["a"], np.ones(2, np.float32))


def test_a_pickled_module_is_refused_without_running_it():
    with pytest.raises(ValueError, match="not part of a state dict"):
        read_state_dict(str(FIXTURES / "torch_format_module.pth"))


def test_garbage_file_names_the_path(tmp_path):
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="w.pth"):
        read_state_dict(str(bad))


# ---- loading into a model ---------------------------------------------------------------------

def _save(model, path):
    from safetensors.numpy import save_file

    save_file({k: v.numpy() for k, v in model.state_dict().items()}, str(path))


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_create_model_loads_a_weights_file_by_name(tiny_registered, tmp_path, suffix):
    fg.manual_seed(0)
    src = fg.models.create_model("tiny_test_net")
    path = tmp_path / f"w{suffix}"
    if suffix == ".npz":
        np.savez(path, **{k: v.numpy() for k, v in src.state_dict().items()})
    else:
        _save(src, path)
    fg.manual_seed(1)
    dst = fg.models.create_model("tiny_test_net", pretrained=str(path))
    x = fg.randn(2, 3, 8, 8)
    np.testing.assert_allclose(dst(x).detach().numpy(), src(x).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_model_directory_with_config_and_weights(tiny_registered, tmp_path):
    src = fg.models.create_model("tiny_test_net")
    _save(src, tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({}))
    dst = fg.models.create_model("tiny_test_net", pretrained=str(tmp_path))
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_checkpoint_head_of_another_size_resizes_or_is_dropped_for_new_classes(tiny_registered, tmp_path):
    src = fg.models.create_model("tiny_test_net", num_classes=9)
    _save(src, tmp_path / "w.safetensors")
    same = fg.models.create_model("tiny_test_net", pretrained=str(tmp_path / "w.safetensors"))
    assert same.fc.out_features == 9  # the checkpoint's head
    np.testing.assert_array_equal(same.fc.weight.detach().numpy(), src.fc.weight.detach().numpy())
    new = fg.models.create_model("tiny_test_net", pretrained=str(tmp_path / "w.safetensors"), num_classes=3)
    assert new.fc.out_features == 3  # a fresh head for fine-tuning; the backbone is loaded
    np.testing.assert_array_equal(new.stem.weight.detach().numpy(), src.stem.weight.detach().numpy())


def test_mismatched_checkpoint_leaves_the_model_untouched_and_names_file_and_key(tiny_registered, tmp_path):
    src = TinyNet(width=8)
    _save(src, tmp_path / "w.safetensors")
    dst = TinyNet(width=4)
    before = dst.stem.weight.detach().numpy().copy()
    with pytest.raises(Exception, match=r"w\.safetensors.*stem\.weight"):
        fg.models.load_pretrained(dst, str(tmp_path / "w.safetensors"))
    np.testing.assert_array_equal(dst.stem.weight.detach().numpy(), before)


# ---- features, groups, fine-tuning ------------------------------------------------------------

def test_features_only_gives_stage_outputs_with_channels_and_reduction(tiny_registered):
    model = fg.models.create_model("tiny_test_net", features_only=True, out_indices=(1, -1))
    outs = model(fg.randn(2, 3, 16, 16))
    assert [o.shape[1] for o in outs] == model.feature_info.channels() == [8, 16]
    assert [16 // o.shape[-1] for o in outs] == model.feature_info.reduction() == [2, 4]
    assert set(model.state_dict()) == set(TinyNet().state_dict())  # the model's own names
    with pytest.raises(ValueError, match="out_indices"):
        fg.models.create_model("tiny_test_net", features_only=True, out_indices=(5,))


def test_reset_classifier_to_new_classes_and_to_features():
    model = TinyNet()
    model.reset_classifier(2)
    assert model(fg.randn(1, 3, 8, 8)).shape == (1, 2)
    model.reset_classifier(0)
    assert model(fg.randn(1, 3, 8, 8)).shape == (1, 16)
    with pytest.raises(ValueError, match="reset_classifier"):
        model.reset_classifier(-1)


def test_freeze_keeps_the_top_groups_trainable():
    model = TinyNet()
    fg.nn.utils.freeze(model, unlocked_groups=2)  # groups: stem, stage1, stage2, fc
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"stage2.weight", "stage2.bias", "fc.weight", "fc.bias"}
    fg.nn.utils.freeze(model)  # everything
    assert not any(p.requires_grad for p in model.parameters())
    loss = model(fg.randn(1, 3, 8, 8)).sum()
    assert not loss.requires_grad
    with pytest.raises(ValueError, match="unlocked_groups"):
        fg.nn.utils.freeze(model, unlocked_groups=-1)


def test_layer_decay_groups_scale_the_rate_from_the_top_and_train():
    model = TinyNet()
    groups = fg.optim.param_groups_layer_decay(model, lr=0.1, weight_decay=0.05, layer_decay=0.5)
    by_name = {g["name"]: g for g in groups}
    assert by_name["fc"]["lr"] == pytest.approx(0.1)
    assert by_name["stage2"]["lr"] == pytest.approx(0.05)
    assert by_name["stem"]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    assert by_name["stem_no_decay"]["weight_decay"] == 0.0  # biases: no weight decay
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    opt = fg.optim.AdamW(groups, lr=1.0)  # group lrs win over the default
    before = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    model(fg.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    assert all(not np.array_equal(before[n], p.detach().numpy()) for n, p in model.named_parameters())
    with pytest.raises(ValueError, match="layer_decay"):
        fg.optim.param_groups_layer_decay(model, layer_decay=0.0)


def test_frozen_parameters_are_left_out_of_layer_decay_groups():
    model = TinyNet()
    fg.nn.utils.freeze(model, unlocked_groups=1)
    groups = fg.optim.param_groups_layer_decay(model, lr=0.1)
    assert {id(p) for g in groups for p in g["params"]} == {id(model.fc.weight), id(model.fc.bias)}


def test_model_output_reads_like_transformers():
    out = fg.models.ModelOutput(loss=None, logits=fg.ones(2), hidden_states=fg.zeros(3))
    assert out.keys() == ["logits", "hidden_states"]  # None fields are left out
    assert out[0] is out.logits is out["logits"]
    logits, hidden = out
    assert hidden.shape == (3,) and out.loss is None
    assert len(out.to_tuple()) == 2
