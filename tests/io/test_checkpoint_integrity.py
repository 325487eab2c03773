"""Checkpoints are trustworthy (issue 14, point 6): checksums verified on load, all-or-nothing
training-checkpoint loads, atomic saves that clean up after killed writers, errors that name the
file and the key."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import safetensors.numpy

import ferrograd as fg
from ferrograd import io, nn
from ferrograd.optim import lr_scheduler


# ---- a small trained checkpoint ---------------------------------------------------------------
def _setup(hidden=5, seed=0):
    fg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 2))
    opt = fg.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.95))
    sched = lr_scheduler.StepLR(opt, step_size=2)
    return model, opt, sched


def _train(model, opt, sched, steps=2):
    for _ in range(steps):
        opt.zero_grad()
        model(fg.randn(4, 3)).pow(2).sum().backward()
        opt.step()
        sched.step()


@pytest.fixture
def ckpt(tmp_path):
    model, opt, sched = _setup()
    _train(model, opt, sched)
    path = tmp_path / "ckpt.safetensors"
    fg.save_checkpoint(path, model, opt, sched, step=2, note="x")
    return path


def _regions(path):
    """Byte ranges of a safetensors file: length prefix, header, metadata values, each tensor."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header_bytes = data[8 : 8 + n]
    header = json.loads(header_bytes)
    regions = {"length": (0, 8), "header": (8, 8 + n)}
    for key in (io.TREE_KEY, io.SUMS_KEY, io.DIGEST_KEY, "step"):
        value = json.dumps(header["__metadata__"][key])[1:-1].encode()  # as escaped in the header
        at = header_bytes.index(value)
        regions[f"meta:{key}"] = (8 + at, 8 + at + len(value))
    for name, info in header.items():
        if name != "__metadata__" and info["data_offsets"][1] > info["data_offsets"][0]:
            a, b = info["data_offsets"]
            regions[f"tensor:{name}"] = (8 + n + a, 8 + n + b)
    return data, regions


def _same(a, b):
    if isinstance(a, fg.Tensor):
        return isinstance(b, fg.Tensor) and a.dtype == b.dtype and a.shape == b.shape and \
            a.numpy().tobytes() == b.numpy().tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# ---- checksums ------------------------------------------------------------------------------
def test_region_classes_cover_the_file(ckpt):
    data, regions = _regions(ckpt)
    tensors = [k for k in regions if k.startswith("tensor:")]
    assert {"tensor:model.0.weight", "tensor:optimizer.state.0.exp_avg", "tensor:rng"} <= set(tensors)
    assert max(b for _, b in regions.values()) == len(data)


def test_every_flipped_byte_is_caught_or_harmless(ckpt, tmp_path):
    """Flip random bytes (seeded) in every region of the file: the load raises a ValueError naming
    the file (and the tensor, for a tensor's bytes), or, for a flip that changes no meaning
    (whitespace padding of the header), returns exactly what was saved. Never anything else."""
    data, regions = _regions(ckpt)
    original = fg.load(ckpt)
    rng = np.random.default_rng(14)
    bad = tmp_path / "flipped.safetensors"
    harmless = 0
    for region, (lo, hi) in regions.items():
        positions = rng.integers(lo, hi, size=min(40, hi - lo))
        for pos in positions:
            flipped = bytearray(data)
            flipped[pos] ^= int(rng.integers(1, 256))
            bad.write_bytes(bytes(flipped))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # a damaged file must not pass as an old unverified one
                    loaded = fg.load(bad)
            except ValueError as e:
                msg = str(e)
                assert str(bad) in msg, (region, pos, msg)
                if region.startswith("tensor:"):
                    assert repr(region[len("tensor:"):]) in msg and "checksum" in msg, (region, pos, msg)
                if region == f"meta:{io.TREE_KEY}" and "not a readable safetensors file" not in msg:
                    assert io.TREE_KEY in msg, (region, pos, msg)
                continue
            assert region == "header", (region, pos, "a flipped byte loaded silently")
            assert _same(loaded, original), (pos, "a flipped header byte changed what loads")
            harmless += 1
    assert harmless <= 3


def test_every_data_byte_flip_names_its_tensor(ckpt, tmp_path):
    """What the issue measured: flips in the data region used to load silently, every one."""
    data, regions = _regions(ckpt)
    start = min(lo for k, (lo, _) in regions.items() if k.startswith("tensor:"))
    rng = np.random.default_rng(0)
    bad = tmp_path / "d.safetensors"
    for pos in rng.integers(start, len(data), size=200):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(0, 8))
        bad.write_bytes(bytes(flipped))
        with pytest.raises(ValueError, match="fails its checksum") as e:
            fg.load(bad)
        name = next(k[7:] for k, (lo, hi) in regions.items() if k.startswith("tensor:") and lo <= pos < hi)
        assert repr(name) in str(e.value) and str(bad) in str(e.value)


def test_a_damaged_tuple_tag_is_refused(ckpt):
    """The issue's case: '__tuple__' -> '_dtuple__' turned betas into {'_dtuple__': [...]}."""
    data = ckpt.read_bytes()
    at = data.index(b"__tuple__")
    ckpt.write_bytes(data[:at] + b"_dtuple__" + data[at + 9 :])
    with pytest.raises(ValueError, match=f"{io.TREE_KEY}.*fails its checksum"):
        fg.load(ckpt)
    with pytest.raises(ValueError, match="ckpt.safetensors"):
        fg.io.read_metadata(ckpt)


def test_a_file_without_checksums_from_an_older_ferrograd(tmp_path):
    """Files saved before checksums load with a warning; their structure record is still
    checked strictly (an unknown tag is an error, not a dict)."""
    tree = {"__dict__": [["betas", {"__tuple__": [0.9, 0.999]}], ["w", {"__tensor__": "w"}]]}
    path = tmp_path / "old.safetensors"
    w = np.arange(3, dtype=np.float32)
    safetensors.numpy.save_file({"w": w}, str(path), metadata={"format": "pt", io.TREE_KEY: json.dumps(tree)})
    with pytest.warns(UserWarning, match="without checksums"):
        back = fg.load(path)
    assert back["betas"] == (0.9, 0.999) and back["w"].tolist() == [0.0, 1.0, 2.0]
    tree["__dict__"][0][1] = {"_dtuple__": [0.9, 0.999]}
    safetensors.numpy.save_file({"w": w}, str(path), metadata={"format": "pt", io.TREE_KEY: json.dumps(tree)})
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="old.safetensors.*_dtuple__.*betas"):
        fg.load(path)


def test_a_foreign_safetensors_file_loads_as_a_plain_dict(tmp_path):
    path = tmp_path / "foreign.safetensors"
    tensors = {"encoder.weight": np.ones((2, 3), np.float32), "step": np.array(5, np.int64)}
    safetensors.numpy.save_file(tensors, str(path), metadata={"format": "pt", "source": "elsewhere"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = fg.load(path)
        assert fg.io.read_metadata(path) == {"source": "elsewhere"}
    assert set(back) == set(tensors) and back["encoder.weight"].shape == (2, 3)
    safetensors.numpy.save_file(tensors, str(path))  # no metadata at all
    assert fg.load(path)["step"].item() == 5


def test_metadata_keys_of_ferrograd_are_reserved(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        fg.save({"a": fg.ones(1)}, tmp_path / "r.safetensors", metadata={io.DIGEST_KEY: "0" * 64})


def test_a_changed_user_metadata_value_is_named(tmp_path):
    path = tmp_path / "m.safetensors"
    fg.save({"a": fg.ones(2)}, path, metadata={"epoch": 17})
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"epoch":"17"', b'"epoch":"18"'))
    with pytest.raises(ValueError, match="m.safetensors.*'epoch' fails its checksum"):
        fg.load(path)


# ---- all-or-nothing loads ---------------------------------------------------------------------
def _snapshot(model, opt, sched):
    return (
        {k: v.numpy().copy() for k, v in model.state_dict().items()},
        repr(opt.state_dict()),
        repr(sched.state_dict()),
        fg.random.get_rng_state().numpy().copy(),
    )


def _assert_unchanged(before, model, opt, sched):
    after = _snapshot(model, opt, sched)
    assert before[0].keys() == after[0].keys()
    for k in before[0]:
        np.testing.assert_array_equal(before[0][k], after[0][k], err_msg=k)
    assert before[1:3] == after[1:3]
    np.testing.assert_array_equal(before[3], after[3])


def _fresh():
    model, opt, sched = _setup(seed=7)
    _train(model, opt, sched, steps=1)  # some optimizer state of its own, to see it kept
    fg.manual_seed(99)
    return model, opt, sched


def _rewrite(ckpt, change):
    """Save a checkpoint whose content was changed by `change(state)` (the file itself is sound)."""
    state = fg.load(ckpt)
    change(state)
    fg.save(state, ckpt, metadata={"step": 2})


@pytest.mark.parametrize("damage, match", [
    (lambda s: s["optimizer"]["state"][1].update(exp_avg=fg.zeros(7)), r"optimizer: .*state\[1\]\['exp_avg'\].*shape"),
    (lambda s: s["optimizer"]["state"].update({9: {"step": 1}}), r"optimizer: .*state\[9\]"),
    (lambda s: s["optimizer"].pop("state"), r"optimizer: .*'state'"),
    (lambda s: s["optimizer"]["param_groups"][0].update(betas={"_dtuple__": [0.9, 0.99]}), r"optimizer: .*betas"),
    (lambda s: s["optimizer"]["state"][2].update(step="many"), r"optimizer: .*state\[2\]\['step'\]"),
    (lambda s: s["model"].update({"2.bias": fg.zeros(3)}), r"model: .*size mismatch for '2.bias'"),
    (lambda s: s["model"].pop("0.weight"), r"model: .*missing keys \['0.weight'\]"),
    (lambda s: s.pop("optimizer"), r"missing the checkpoint entries \['optimizer'\]"),
    (lambda s: s.update(scheduler={"last_epoch": 1, "T_max": 3}), r"scheduler: .*unexpected keys \['T_max'\]"),
    (lambda s: s.update(rng=fg.zeros(3, dtype=fg.int64)), r"rng: .*shape"),
    (lambda s: s.update(step="two"), r"'step' is 'two'"),
])
def test_a_bad_part_changes_nothing(ckpt, damage, match):
    _rewrite(ckpt, damage)
    model, opt, sched = _fresh()
    before = _snapshot(model, opt, sched)
    with pytest.raises((ValueError, TypeError, RuntimeError), match=match) as e:
        fg.load_checkpoint(ckpt, model, opt, sched)
    assert str(ckpt) in str(e.value) and not isinstance(e.value, KeyError)
    _assert_unchanged(before, model, opt, sched)


def test_a_model_of_another_shape_changes_nothing(ckpt):
    model, opt, sched = _setup(hidden=6)
    before = _snapshot(model, opt, sched)
    with pytest.raises(RuntimeError, match=r"ckpt.safetensors: model: .*size mismatch for '0.weight'"):
        fg.load_checkpoint(ckpt, model, opt, sched)
    _assert_unchanged(before, model, opt, sched)


def test_flipped_optimizer_bytes_change_nothing(ckpt):
    data, regions = _regions(ckpt)
    lo, hi = regions["tensor:optimizer.state.3.exp_avg_sq"]
    ckpt.write_bytes(data[:lo] + bytes([data[lo] ^ 0x40]) + data[lo + 1 :])
    model, opt, sched = _fresh()
    before = _snapshot(model, opt, sched)
    with pytest.raises(ValueError, match="'optimizer.state.3.exp_avg_sq' .*fails its checksum"):
        fg.load_checkpoint(ckpt, model, opt, sched)
    _assert_unchanged(before, model, opt, sched)


def test_a_sound_checkpoint_still_loads_everything(ckpt):
    model, opt, sched = _fresh()
    assert fg.load_checkpoint(ckpt, model, opt, sched) == {"step": 2, "note": "x"}
    ref_model, ref_opt, ref_sched = _setup()
    _train(ref_model, ref_opt, ref_sched)
    for k, v in ref_model.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[k].numpy(), v.numpy())
    assert opt.param_groups[0]["betas"] == (0.8, 0.95) and sched.last_epoch == ref_sched.last_epoch


def test_module_load_state_dict_checks_everything_first():
    model, _, _ = _setup()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    sd["0.weight"] = fg.zeros(5, 3)
    sd["2.bias"] = np.array(["a", "b"])  # checked after 0.weight in the model's order
    with pytest.raises(TypeError, match="'2.bias' has dtype <U1"):
        model.load_state_dict(sd)
    sd["2.bias"] = [[1.0], [2.0, 3.0]]  # ragged
    with pytest.raises(TypeError, match="'2.bias' is not an array"):
        model.load_state_dict(sd)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


def test_optimizer_load_state_dict_checks_everything_first():
    model, opt, sched = _setup()
    _train(model, opt, sched)
    saved = opt.state_dict()
    saved["param_groups"][0]["lr"] = 0.5
    saved["state"][3]["exp_avg"] = fg.zeros(9)  # the last parameter: the others come first
    before = repr(opt.state_dict())
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: state\[3\]\['exp_avg'\] has shape \(9,\)"):
        opt.load_state_dict(saved)
    assert repr(opt.state_dict()) == before
    with pytest.raises(ValueError, match="no 'param_groups'"):
        opt.load_state_dict({"state": {}})
    with pytest.raises(TypeError, match="expected a dict"):
        opt.load_state_dict([1, 2])
    assert repr(opt.state_dict()) == before


# ---- atomic saves and stale temporary files ----------------------------------------------------
def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _temps(folder):
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


def test_a_save_removes_temps_left_by_killed_saves(tmp_path):
    path = tmp_path / "m.safetensors"
    prefix = f".m.safetensors.tmp-{io._HOST}"
    dead = [f"{prefix}-{_dead_pid()}-0badf00d", f"{prefix}-{os.getpid()}-00000001"]  # gone / this process, idle
    live = f"{prefix}-{os.getppid()}-00000002"  # a live writer of the same target: left alone
    old_other_host = ".m.safetensors.tmp-ffffffff-12345-00000003"  # untouched for two hours
    recent_other_host = ".m.safetensors.tmp-ffffffff-12345-00000004"
    others = [f".n.safetensors.tmp-{io._HOST}-{_dead_pid()}-00000005", ".m.safetensors.tmp-notes", "keep.txt"]
    for name in dead + [live, old_other_host, recent_other_host] + others:
        (tmp_path / name).write_bytes(b"x" * 100)
    two_hours_ago = time.time() - 7200
    os.utime(tmp_path / old_other_host, (two_hours_ago, two_hours_ago))

    fg.save({"a": fg.ones(3)}, path)
    left = set(os.listdir(tmp_path))
    assert not left & set(dead + [old_other_host])
    assert {live, recent_other_host, *others, "m.safetensors"} <= left
    assert fg.load(path)["a"].tolist() == [1.0, 1.0, 1.0]


def test_an_interrupted_write_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    fg.save({"a": fg.ones(3)}, path)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fg.save({"a": fg.zeros(3)}, path)
    monkeypatch.undo()
    assert _temps(tmp_path) == [] and path.read_bytes() == before


_KILLED_WRITER = """
import os, sys, time
import ferrograd as fg
def hang(fd):
    print("writing", flush=True)
    time.sleep(60)
os.fsync = hang
fg.save({"w": fg.ones(1000, 100)}, sys.argv[1])
"""


def test_a_killed_save_is_cleaned_up_by_the_next_save(tmp_path):
    path = tmp_path / "m.safetensors"
    fg.save({"w": fg.zeros(2)}, path)
    for _ in range(2):
        writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)], stdout=subprocess.PIPE)
        assert writer.stdout.readline() == b"writing\n"  # the temp file is written, not yet renamed
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        assert len(_temps(tmp_path)) == 1  # the second writer removed the first one's temp
    assert fg.load(path)["w"].tolist() == [0.0, 0.0]  # the old file is intact
    fg.save({"w": fg.ones(2)}, path)
    assert _temps(tmp_path) == []
    assert fg.load(path)["w"].tolist() == [1.0, 1.0]


def test_saved_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        fg.save({"a": fg.ones(1)}, tmp_path / "p.safetensors")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "p.safetensors").st_mode & 0o777 == 0o644


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.safetensors"):
        fg.load_checkpoint(tmp_path / "absent.safetensors", nn.Linear(1, 1))
    path = tmp_path / "cut.safetensors"
    fg.save({"a": fg.ones(3)}, path)
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(ValueError, match="cut.safetensors"):
        fg.load_checkpoint(path, nn.Linear(1, 1))
