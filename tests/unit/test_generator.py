"""Random number generators: fg.Generator (seed, state round trip, pickling), the default
generator functions, generator= on every sampling op, data shuffling with a generator, and the
distributions' statistics (the op table pins exact streams; this file checks what they mean)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import random as frandom
from ferrograd.data import DataLoader, TensorDataset, random_split
from ferrograd.data.sampler import BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler
from ferrograd.ops import creation_ops as C
from ferrograd.ops import random_ops as R
from ferrograd.random import Generator


@pytest.fixture(autouse=True)
def _default_state_restored():
    state = frandom.get_rng_state()
    yield
    frandom.set_rng_state(state)


def _wgpu_ready():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


# ---- Generator ---------------------------------------------------------------------------------
def test_new_generator_starts_from_torchs_default_seed():
    g = Generator()
    assert g.initial_seed() == 67280421310721
    assert str(g.device) == "cpu"
    assert Generator(device="wgpu").device == "wgpu"
    with pytest.raises(ValueError, match="cuda"):
        Generator(device="cuda")


def test_manual_seed_returns_self_and_fixes_the_stream():
    g = Generator()
    assert g.manual_seed(5) is g
    a = R.rand(6, generator=g).numpy()
    b = R.rand(6, generator=g).numpy()
    assert not np.array_equal(a, b)  # the stream advances
    g.manual_seed(5)
    np.testing.assert_array_equal(R.rand(6, generator=g).numpy(), a)
    np.testing.assert_array_equal(R.rand(6, generator=g).numpy(), b)
    assert not np.array_equal(R.rand(6, generator=Generator().manual_seed(6)).numpy(), a)
    # The stream is numpy's PCG64 for the same seed.
    np.testing.assert_array_equal(a, np.random.default_rng(5).random(6).astype(np.float32))


def test_seed_rules():
    g = Generator()
    assert g.manual_seed(-1).initial_seed() == 2**64 - 1  # negative seeds wrap, as torch
    assert g.manual_seed(2**64 - 1).initial_seed() == 2**64 - 1
    assert g.manual_seed(np.int64(3)).initial_seed() == 3
    with pytest.raises(ValueError, match="manual_seed"):
        g.manual_seed(2**64)
    with pytest.raises(TypeError, match="manual_seed"):
        g.manual_seed(1.5)
    with pytest.raises(TypeError, match="manual_seed"):
        g.manual_seed("1")
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s


def test_state_round_trip_reproduces_the_stream():
    g = Generator().manual_seed(11)
    R.randn(3, generator=g)
    state = g.get_state()
    assert isinstance(state, fg.Tensor) and state.dtype == np.int64 and state.shape == (8,)
    a = R.randn(5, generator=g).numpy()
    R.randint(0, 10, (7,), generator=g)  # an odd number of 32-bit draws: the buffered half must come back too
    g.manual_seed(0)
    g.set_state(state)
    np.testing.assert_array_equal(R.randn(5, generator=g).numpy(), a)
    assert g.initial_seed() == 11
    # Another generator takes the state too; the state tensor is a copy, not a view of g.
    h = Generator().set_state(state)
    np.testing.assert_array_equal(R.randn(5, generator=h).numpy(), a)


def test_state_survives_save_and_load(tmp_path):
    g = Generator().manual_seed(3)
    fg.save({"rng": g.get_state()}, str(tmp_path / "state.safetensors"))
    want = R.rand(4, generator=g).numpy()
    g.set_state(fg.load(str(tmp_path / "state.safetensors"))["rng"])
    np.testing.assert_array_equal(R.rand(4, generator=g).numpy(), want)


def test_set_state_rejects_other_things():
    g = Generator()
    with pytest.raises(TypeError, match="set_state"):
        g.set_state([1, 2, 3])
    with pytest.raises(ValueError, match="set_state"):
        g.set_state(C.zeros(8, dtype=fg.int64))  # no tag
    with pytest.raises(ValueError, match="set_state"):
        g.set_state(C.zeros(3, dtype=fg.int64))
    with pytest.raises(ValueError, match="PCG64"):
        g.set_state({"bit_generator": "MT19937"})


def test_generator_pickles_and_deepcopies():
    g = Generator().manual_seed(8)
    R.rand(2, generator=g)
    for h in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g)):
        assert h.initial_seed() == 8
        np.testing.assert_array_equal(R.rand(4, generator=h).numpy(), R.rand(4, generator=copy.deepcopy(g)).numpy())


# ---- the default generator -------------------------------------------------------------------------
def test_module_functions_drive_the_default_generator():
    g = fg.manual_seed(21)
    assert g is frandom.default_generator
    assert frandom.initial_seed() == 21
    a = R.rand(4).numpy()
    fg.manual_seed(21)
    np.testing.assert_array_equal(R.rand(4).numpy(), a)
    s = frandom.seed()
    assert frandom.initial_seed() == s
    # What library code draws from (dropout, shuffling) is the default generator's stream.
    fg.manual_seed(21)
    np.testing.assert_array_equal(frandom.generator().random(4).astype(np.float32), a)


def test_rng_state_functions_round_trip():
    fg.manual_seed(4)
    state = fg.get_rng_state()
    a = R.randn(3).numpy()
    fg.set_rng_state(state)
    np.testing.assert_array_equal(R.randn(3).numpy(), a)
    # A numpy PCG64 state dict (what get_rng_state returned before) is still accepted.
    fg.manual_seed(4)
    legacy = frandom.generator().bit_generator.state
    b = R.randn(3).numpy()
    fg.set_rng_state(legacy)
    np.testing.assert_array_equal(R.randn(3).numpy(), b)


def test_a_generator_leaves_the_default_stream_alone():
    fg.manual_seed(9)
    before = fg.get_rng_state().numpy().copy()
    g = Generator().manual_seed(1)
    R.rand(3, generator=g), R.randn(3, generator=g), R.randint(5, (3,), generator=g), R.randperm(4, generator=g)
    R.normal(0.0, 1.0, (2,), generator=g), R.bernoulli(C.full((3,), 0.5), generator=g)
    C.zeros(3).uniform_(generator=g)
    np.testing.assert_array_equal(fg.get_rng_state().numpy(), before)


# ---- generator= on every sampling op ---------------------------------------------------------------
_SAMPLERS = {
    "rand": lambda g: R.rand(2, 3, generator=g),
    "randn": lambda g: R.randn((2, 3), generator=g, dtype=fg.float64),
    "randint": lambda g: R.randint(-4, 4, (5,), generator=g),
    "randperm": lambda g: R.randperm(9, generator=g),
    "rand_like": lambda g: R.rand_like(C.zeros(4), generator=g),
    "randn_like": lambda g: R.randn_like(C.zeros(4), generator=g),
    "randint_like": lambda g: R.randint_like(C.zeros(4), 10, generator=g),
    "normal": lambda g: R.normal(C.zeros(4), 2.0, generator=g),
    "normal_floats": lambda g: R.normal(1.0, 2.0, (4,), generator=g),
    "bernoulli": lambda g: R.bernoulli(C.full((8,), 0.5), generator=g),
    "poisson": lambda g: R.poisson(C.full((8,), 3.0), generator=g),
    "multinomial": lambda g: R.multinomial(C.ones(6), 3, generator=g),
    "uniform_": lambda g: C.zeros(5).uniform_(-1, 1, generator=g),
    "normal_": lambda g: C.zeros(5).normal_(generator=g),
    "bernoulli_": lambda g: C.zeros(5).bernoulli_(0.5, generator=g),
    "random_": lambda g: C.zeros(5).random_(100, generator=g),
    "exponential_": lambda g: C.zeros(5).exponential_(generator=g),
    "geometric_": lambda g: C.zeros(5).geometric_(0.2, generator=g),
    "cauchy_": lambda g: C.zeros(5).cauchy_(generator=g),
    "log_normal_": lambda g: C.zeros(5).log_normal_(generator=g),
}


@pytest.mark.parametrize("name", sorted(_SAMPLERS))
def test_same_seeded_generator_same_samples(name):
    draw = _SAMPLERS[name]
    a = draw(Generator().manual_seed(123)).numpy()
    b = draw(Generator().manual_seed(123)).numpy()
    np.testing.assert_array_equal(a, b)
    g = Generator().manual_seed(123)
    draw(g)
    if name not in ("multinomial",):  # 3 of 6 equal weights can repeat by chance; the rest cannot
        assert not np.array_equal(draw(g).numpy(), a), "the generator's stream does not advance"
    with pytest.raises(TypeError, match="generator"):
        draw(7)


def test_wgpu_draws_the_same_numbers_as_cpu():
    _wgpu_ready()
    a = R.randn(3, 4, generator=Generator().manual_seed(2), device="wgpu")
    assert a.device == "wgpu"
    np.testing.assert_array_equal(a.numpy(), R.randn(3, 4, generator=Generator().manual_seed(2)).numpy())
    t = C.zeros(6, device="wgpu")
    t.uniform_(generator=Generator().manual_seed(3))
    assert t.device == "wgpu"
    np.testing.assert_array_equal(t.numpy(), C.zeros(6).uniform_(generator=Generator().manual_seed(3)).numpy())
    m = R.multinomial(C.tensor([0.0, 1.0, 3.0], device="wgpu"), 2, generator=Generator().manual_seed(1))
    assert m.device == "wgpu" and sorted(m.numpy().tolist()) == [1, 2]


# ---- distributions ---------------------------------------------------------------------------------
def test_moments():
    g = Generator().manual_seed(0)
    n = 40000
    u = C.zeros(n, dtype=fg.float64).uniform_(-2, 4, generator=g).numpy()
    assert u.min() >= -2 and u.max() < 4 and abs(u.mean() - 1) < 0.05
    x = C.zeros(n, dtype=fg.float64).normal_(3, 0.5, generator=g).numpy()
    assert abs(x.mean() - 3) < 0.02 and abs(x.std() - 0.5) < 0.02
    e = C.zeros(n, dtype=fg.float64).exponential_(4.0, generator=g).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.25) < 0.01
    k = C.zeros(n, dtype=fg.int64).geometric_(0.25, generator=g).numpy()
    assert k.min() >= 1 and abs(k.mean() - 4) < 0.1
    b = C.zeros(n, dtype=fg.int64).bernoulli_(0.3, generator=g).numpy()
    assert set(np.unique(b)) <= {0, 1} and abs(b.mean() - 0.3) < 0.01
    r = C.zeros(n, dtype=fg.int32).random_(generator=g).numpy()
    assert r.min() >= 0 and r.max() > 2**30  # [0, 2**31 - 1]
    f = C.zeros(n).random_(generator=g).numpy()
    assert f.min() >= 0 and f.max() <= 2**24 and (f == np.round(f)).all()
    p = R.poisson(C.full((n,), 2.5, dtype=fg.float64), generator=g).numpy()
    assert abs(p.mean() - 2.5) < 0.05 and abs(p.var() - 2.5) < 0.1


def test_multinomial_frequencies_follow_the_weights():
    g = Generator().manual_seed(0)
    w = np.array([1.0, 0.0, 2.0, 5.0])
    draws = R.multinomial(C.tensor(w), 20000, replacement=True, generator=g).numpy()
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.015)
    # Without replacement: each row is distinct and the first pick follows the weights.
    rows = R.multinomial(C.tensor(np.tile(w, (8000, 1))), 3, generator=g).numpy()
    assert all(len(set(r)) == 3 for r in rows[:200].tolist())
    assert (rows != 1).all()  # the zero-weight category is never needed for 3 of 3 non-zero
    first = np.bincount(rows[:, 0], minlength=4) / rows.shape[0]
    np.testing.assert_allclose(first, w / w.sum(), atol=0.02)


def test_parameters_of_samples_get_zero_gradients():
    mean = C.zeros(3, dtype=fg.float64, requires_grad=True)
    std = C.ones(3, dtype=fg.float64, requires_grad=True)
    out = R.normal(mean, std, generator=Generator())
    assert out.requires_grad
    out.sum().backward()
    assert mean.grad.tolist() == [0, 0, 0] and std.grad.tolist() == [0, 0, 0]
    p = C.full((2, 2), 0.5, requires_grad=True)
    R.bernoulli(p).sum().backward()
    assert p.grad.tolist() == [[0, 0], [0, 0]]
    rates = C.full((2,), 2.0, requires_grad=True)
    R.poisson(rates).sum().backward()
    assert rates.grad.tolist() == [0, 0]
    # Broadcast parameters get gradients of their own shape.
    m = C.zeros(2, 1, requires_grad=True)
    R.normal(m, C.ones(3)).sum().backward()
    assert m.grad.shape == (2, 1)


def test_fills_respect_autograd_rules():
    w = C.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.uniform_()
    with fg.no_grad():
        w.normal_(generator=Generator())
    assert w.requires_grad and w.is_leaf
    t = C.zeros(3)
    v = t._version[0]
    t.exponential_()
    assert t._version[0] > v
    with pytest.raises(TypeError, match="uniform_"):
        C.zeros(3, dtype=fg.int64).uniform_()


def test_factory_arguments():
    assert R.rand(2, 3, dtype=fg.float64).dtype == np.float64
    assert R.rand(2, requires_grad=True).requires_grad
    assert R.randn(size=(2, 1)).shape == (2, 1)
    assert R.randint(high=5, size=(4,)).dtype == np.int64
    assert R.randint(3, 10, (2,), dtype=fg.int32).dtype == np.int32
    assert R.randperm(5, dtype=fg.float32).dtype == np.float32
    out = C.zeros(2)
    assert R.rand(4, out=out) is out and out.shape == (4,)  # out= is resized, as torch


# ---- data: shuffling with a generator --------------------------------------------------------------
def _ds(n=40):
    return TensorDataset(C.arange(n).reshape(n, 1), C.arange(n))


def _epoch(loader):
    return [int(v) for _, y in loader for v in y.tolist()]


def test_dataloader_generator_reproduces_the_epochs():
    a = DataLoader(_ds(), batch_size=8, shuffle=True, generator=Generator().manual_seed(5))
    b = DataLoader(_ds(), batch_size=8, shuffle=True, generator=Generator().manual_seed(5))
    ea, eb = [_epoch(a) for _ in range(3)], [_epoch(b) for _ in range(3)]
    assert ea == eb and ea[0] != ea[1] and sorted(ea[0]) == list(range(40))
    c = DataLoader(_ds(), batch_size=8, shuffle=True, generator=Generator().manual_seed(6))
    assert _epoch(c) != ea[0]
    # Re-seeding the same generator object restarts the sequence.
    g = Generator().manual_seed(5)
    d = DataLoader(_ds(), batch_size=8, shuffle=True, generator=g)
    _epoch(d)
    g.manual_seed(5)
    assert _epoch(d) == ea[0]


def test_random_sampler():
    g = Generator().manual_seed(2)
    s = RandomSampler(range(10), generator=g)
    first = list(s)
    assert sorted(first) == list(range(10)) and len(s) == 10
    assert list(RandomSampler(range(10), generator=Generator().manual_seed(2))) == first
    r = list(RandomSampler(range(4), replacement=True, num_samples=50, generator=g))
    assert len(r) == 50 and set(r) <= {0, 1, 2, 3}
    assert len(list(RandomSampler(range(3), num_samples=7, generator=g))) == 7
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    sub = list(SubsetRandomSampler([5, 7, 9], generator=Generator().manual_seed(1)))
    assert sorted(sub) == [5, 7, 9]
    assert list(BatchSampler(range(5), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    assert len(BatchSampler(range(5), 2, drop_last=True)) == 2


def test_dataloader_with_samplers():
    ds = _ds(10)
    sampler = RandomSampler(ds, generator=Generator().manual_seed(3))
    loader = DataLoader(ds, batch_size=4, sampler=sampler)
    assert len(loader) == 3
    got = _epoch(loader)
    assert got == list(RandomSampler(ds, generator=Generator().manual_seed(3)))
    batches = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 3, drop_last=True))
    assert len(batches) == 3 and _epoch(batches) == list(range(9))
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=sampler, shuffle=True)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=BatchSampler(sampler, 2, False))
    with pytest.raises(ValueError, match="generator= or seed="):
        DataLoader(ds, shuffle=True, generator=Generator(), seed=1)
    # torch's extra arguments are accepted.
    assert len(DataLoader(ds, batch_size=5, num_workers=2, pin_memory=True, persistent_workers=False)) == 2


def test_random_split_with_a_generator():
    ds = _ds(30)
    a = random_split(ds, [20, 10], generator=Generator().manual_seed(4))
    b = random_split(ds, [20, 10], generator=Generator().manual_seed(4))
    assert a[0].indices == b[0].indices and a[1].indices == b[1].indices
    assert sorted(a[0].indices + a[1].indices) == list(range(30))
    c = random_split(ds, [20, 10], generator=Generator().manual_seed(5))
    assert c[0].indices != a[0].indices


def test_numpy_generator_hook_for_other_modules():
    """What nn.init / data call to accept generator=: None, an fg.Generator or a numpy Generator."""
    g = Generator().manual_seed(1)
    assert frandom.numpy_generator(g, "x") is g._np
    assert frandom.numpy_generator(None, "x") is frandom.default_generator._np
    rng = np.random.default_rng(0)
    assert frandom.numpy_generator(rng, "x") is rng
    with pytest.raises(TypeError, match="x: generator"):
        frandom.numpy_generator("seed", "x")
