"""safetensors files: round trips, readability by other loaders, atomic writes, damaged files."""

import os

import numpy as np
import pytest
import safetensors.numpy

import ferrograd as fg
from ferrograd import nn


def _model():
    fg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_state_dict_is_a_plain_safetensors_file(tmp_path):
    model = _model()
    path = tmp_path / "model.safetensors"
    fg.save(model.state_dict(), path, metadata={"step": 7})
    raw = safetensors.numpy.load_file(str(path))
    assert set(raw) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert raw["0.weight"].shape == (8, 4) and raw["0.weight"].dtype == np.float32
    np.testing.assert_array_equal(raw["2.bias"], model[2].bias._data)
    assert fg.io.read_metadata(path) == {"step": "7"}


def test_round_trip_into_a_fresh_model(tmp_path):
    model, path = _model(), tmp_path / "m.safetensors"
    fg.save(model.state_dict(), path)
    fg.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    other.load_state_dict(fg.load(path))
    x = fg.randn(5, 4)
    np.testing.assert_array_equal(model(x).detach().numpy(), other(x).detach().numpy())


def test_nested_objects_keep_their_types(tmp_path):
    obj = {"a": fg.ones(2, dtype=fg.float64), "b": [1, 2.5, "s", None, (3, 4)], 5: {"c": np.arange(3)}}
    fg.save(obj, tmp_path / "n.safetensors")
    back = fg.load(tmp_path / "n.safetensors")
    assert back["b"] == [1, 2.5, "s", None, (3, 4)]
    assert back["a"].dtype == np.float64 and back["a"].tolist() == [1.0, 1.0]
    assert back[5]["c"].tolist() == [0, 1, 2]


def test_pytorch_reads_the_file_when_installed(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import load_file

    model, path = _model(), tmp_path / "m.safetensors"
    fg.save(model.state_dict(), path)
    loaded = load_file(str(path))
    np.testing.assert_array_equal(loaded["0.weight"].numpy(), model[0].weight._data)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        fg.load(tmp_path / "nothing-here.safetensors")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_file_raises_value_error_naming_it(tmp_path, damage):
    path = tmp_path / "m.safetensors"
    fg.save(_model().state_dict(), path)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x13" * 64, "empty": b""}[damage])
    with pytest.raises(ValueError, match="m.safetensors"):
        fg.load(path)


def test_a_crash_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    model = _model()
    fg.save(model.state_dict(), path)
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk vanished")

    monkeypatch.setattr(os, "fsync", crash)
    model[0].weight._data[...] = 0
    with pytest.raises(OSError, match="disk vanished"):
        fg.save(model.state_dict(), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]  # the temporary file is gone too


def test_unsupported_values_raise_type_error(tmp_path):
    with pytest.raises(TypeError, match="set"):
        fg.save({"x": {1, 2}}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_zero_dim_tensors_keep_their_shape(tmp_path):
    # BatchNorm's num_batches_tracked is 0-d; np.ascontiguousarray alone would save it as (1,)
    # and the model would refuse its own state dict.
    model = nn.BatchNorm1d(3)
    model(fg.randn(4, 3))
    fg.save(model.state_dict(), tmp_path / "bn.safetensors")
    loaded = fg.load(tmp_path / "bn.safetensors")
    assert loaded["num_batches_tracked"].shape == ()
    fresh = nn.BatchNorm1d(3)
    fresh.load_state_dict(loaded)
    assert fresh.num_batches_tracked.item() == 1
