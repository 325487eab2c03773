"""Fuzzing the checkpoint path (issue 14, point 6): random objects round-trip exactly; a damaged
file (flipped bytes, cut short, bytes inserted or overwritten) raises a ValueError naming the file
or loads exactly what was saved, never something else; a failed load_checkpoint changes nothing."""

import os
import tempfile

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import ferrograd as fg
from ferrograd import nn

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**62, 2**62), st.floats(allow_nan=False),
                     st.text(max_size=8))
_keys = st.one_of(st.text(alphabet="abc_.", min_size=1, max_size=4), st.integers(0, 9))
_objects = st.recursive(
    st.one_of(_scalars, arrays().map(lambda a: fg.from_numpy(np.array(a)))),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                            st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=8,
)


def _same(a, b):
    if isinstance(a, fg.Tensor):
        return isinstance(b, fg.Tensor) and a.dtype == b.dtype and a.shape == b.shape and \
            a.numpy().tobytes() == b.numpy().tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _save_or_skip(obj, path):
    try:
        fg.save({"obj": obj}, path)
    except ValueError as e:  # two entries that flatten to one tensor name ("a.b" vs nested a/b)
        assert "same tensor name" in str(e)
        return False
    return True


_damages = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.floats(0, 1, exclude_max=True), st.just(0)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("overwrite"), st.floats(0, 1, exclude_max=True), st.integers(0, 2**32)),
)


def _damage(data: bytes, how) -> bytes:
    kind, where, value = how
    pos = int(where * len(data))
    if kind == "flip":
        return data[:pos] + bytes([data[pos] ^ value]) + data[pos + 1 :]
    if kind == "cut":
        return data[:pos]
    if kind == "insert":
        return data[:pos] + bytes([value]) + data[pos:]
    junk = np.random.default_rng(value).integers(0, 256, 16, dtype=np.uint8).tobytes()
    return data[:pos] + junk[: len(data) - pos] + data[pos + 16 :]


@given(_objects)
def test_round_trip(obj):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "o.safetensors")
        if _save_or_skip(obj, path):
            assert _same(fg.load(path)["obj"], obj)


@given(_objects, _damages)
def test_damage_is_caught_or_harmless(obj, how):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "o.safetensors")
        if not _save_or_skip(obj, path):
            return
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(_damage(data, how))
        try:
            back = fg.load(path)
        except ValueError as e:
            assert path in str(e)
            return
        assert _same(back["obj"], obj)


@given(_damages)
def test_a_failed_checkpoint_load_changes_nothing(how):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ck.safetensors")
        fg.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = fg.optim.Adam(model.parameters())
        model(fg.randn(2, 3)).sum().backward()
        opt.step()
        fg.save_checkpoint(path, model, opt, step=1)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(_damage(data, how))
        fg.manual_seed(1)
        fresh = nn.Linear(3, 2)
        fresh_opt = fg.optim.Adam(fresh.parameters())
        before = [p.detach().numpy().copy() for p in fresh.parameters()]
        try:
            fg.load_checkpoint(path, fresh, fresh_opt)
        except ValueError as e:
            assert path in str(e)
            assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(before, fresh.parameters()))
            assert fresh_opt.state == {}
            return
        for a, b in zip(model.parameters(), fresh.parameters()):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
