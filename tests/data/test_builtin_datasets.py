"""The built-in data sets: digits, MNIST-1D, karate club, stdlib text corpus, shapes."""

import importlib.util

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.data import DataLoader, datasets


def _needs(module, pip_name):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"the optional package '{pip_name}' is not installed")


# ---- digits (scikit-learn) ------------------------------------------------------------------
@_needs("sklearn", "scikit-learn")
def test_digits_shapes_and_split():
    d = datasets.load_digits()
    assert len(d) == 1797 and d.num_classes == 10
    assert d.x.shape == (1797, 1, 8, 8) and d.x.dtype == fg.float32
    assert d.y.shape == (1797,) and d.y.dtype == fg.int64
    assert d.x.numpy().min() == 0.0 and d.x.numpy().max() == 1.0
    assert set(d.y.tolist()) == set(range(10))
    train_idx, test_idx = d.split_indices(0.2, seed=0)
    assert np.intersect1d(train_idx, test_idx).size == 0
    assert np.union1d(train_idx, test_idx).tolist() == list(range(1797))
    again, _ = d.split_indices(0.2, seed=0)
    other, _ = d.split_indices(0.2, seed=1)
    assert np.array_equal(train_idx, again) and not np.array_equal(train_idx, other)
    counts = np.bincount(d.y.numpy()[test_idx], minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38  # stratified: ~20 % of ~180 per class
    train, test = d.split(0.2, seed=0)
    assert len(train) + len(test) == 1797
    x, y = next(iter(DataLoader(train, batch_size=32)))
    assert x.shape == (32, 1, 8, 8) and y.dtype == fg.int64


# ---- MNIST-1D ------------------------------------------------------------------------------
@_needs("mnist1d", "mnist1d")
def test_mnist1d_generated_locally():
    state = np.random.get_state()
    m = datasets.load_mnist1d(num_samples=100, seed=3)
    assert np.array_equal(np.random.get_state()[1], state[1]), "global numpy RNG was not restored"
    assert m.x.shape == (100, 40) and m.x.dtype == fg.float32
    assert m.y.shape == (100,) and m.y.dtype == fg.int64
    assert np.bincount(m.y.numpy(), minlength=10).tolist() == [10] * 10
    assert m.info["train_size"] == 80 and np.isfinite(m.x.numpy()).all()
    again = datasets.load_mnist1d(num_samples=100, seed=3)
    np.testing.assert_array_equal(m.x.numpy(), again.x.numpy())
    with pytest.raises(ValueError):
        datasets.load_mnist1d(num_samples=5)


# ---- karate club (networkx) ----------------------------------------------------------------
@_needs("networkx", "networkx")
def test_karate_club_graph():
    g = datasets.load_karate_club()
    assert g.num_nodes == 34 and g.num_edges == 78
    assert g.edge_index.shape == (2, 156) and g.edge_index.dtype == fg.int64
    assert g.x.shape == (34, 34) and g.x.dtype == fg.float32
    np.testing.assert_array_equal(g.x.numpy(), np.eye(34))
    a = g.adjacency.numpy()
    assert a.shape == (34, 34) and (a == a.T).all() and a.sum() == 156 and np.trace(a) == 0
    src, dst = g.edge_index.numpy()
    pairs = set(zip(src.tolist(), dst.tolist()))
    assert all((v, u) in pairs for u, v in pairs) and len(pairs) == 156
    assert (a[src, dst] == 1).all()
    assert g.y.dtype == fg.int64 and set(g.y.tolist()) == {0, 1}
    assert g.y.tolist()[0] == 0 and g.y.tolist()[33] == 1  # Mr. Hi and the officer
    assert np.bincount(g.y.numpy()).tolist() == [17, 17]
    assert g.train_mask.numpy().sum() == 2
    deg = datasets.load_karate_club(features="degree")
    assert deg.x.shape == (34, 1) and deg.x.numpy()[33, 0] == 17 and deg.x.numpy()[0, 0] == 16
    with pytest.raises(ValueError):
        datasets.load_karate_club(features="random")


# ---- text corpus from the standard library --------------------------------------------------
def test_char_corpus_round_trips():
    c = datasets.load_text_corpus("char", max_chars=20_000)
    assert len(c.text) == 20_000 and len(c) == 20_000 and c.files[0].endswith(".py")
    assert c.data.dtype == fg.int64 and c.vocab_size == len(set(c.text))
    assert c.itos == sorted(c.itos) and all(c.stoi[s] == i for i, s in enumerate(c.itos))
    assert c.decode(c.data) == c.text
    sample = "def f(x):\n    return x + 1\n"
    assert c.decode(c.encode(sample)) == sample
    with pytest.raises(ValueError, match="vocabulary"):
        c.encode("\u2603")
    again = datasets.load_text_corpus("char", max_chars=20_000)
    assert again.text == c.text  # deterministic file order


def test_word_corpus_round_trips_and_unk():
    w = datasets.load_text_corpus("word", max_chars=20_000)
    assert w.decode(w.encode(w.text[:3000])) == w.text[:3000]
    assert w.decode(w.data) == w.text
    assert "def" in w.stoi and "import" in w.stoi
    small = datasets.load_text_corpus("word", max_chars=20_000, max_vocab=50)
    assert small.vocab_size == 50 and small.itos[small.stoi["<unk>"]] == "<unk>"
    assert small.stoi["<unk>"] in small.encode("zzz_never_seen_token")


def test_corpus_next_token_windows():
    c = datasets.load_text_corpus("char", max_chars=1_000)
    pairs = list(c.windows(block_size=16))
    assert len(pairs) == 62  # starts 0, 16, ..., 976: every window with a full target
    for i, (x, y) in enumerate(pairs):
        assert x.shape == y.shape == (16,) and x.dtype == fg.int64
        np.testing.assert_array_equal(x.numpy()[1:], y.numpy()[:-1])
        assert c.decode(x) == c.text[16 * i:16 * i + 16]
    ds = c.window_dataset(16, stride=8)
    xs, ys = ds.tensors
    assert xs.shape[1] == 16 and len(ds) == (1000 - 17) // 8 + 1
    np.testing.assert_array_equal(xs.numpy()[:, 1:], ys.numpy()[:, :-1])
    xb, yb = c.random_batch(4, 16, generator=0)
    assert xb.shape == yb.shape == (4, 16)
    np.testing.assert_array_equal(xb.numpy()[:, 1:], yb.numpy()[:, :-1])
    train, val = c.split(0.1)
    assert len(train) == 900 and len(val) == 100 and train.text + val.text == c.text


# ---- shapes --------------------------------------------------------------------------------
def test_shapes_images_and_captions():
    s = datasets.make_shapes(60, image_size=24, seed=0)
    assert s.images.shape == (60, 3, 24, 24) and s.images.dtype == fg.float32
    assert s.shape.dtype == fg.int64 and s.color.dtype == fg.int64 and len(s.captions) == 60
    imgs = s.images.numpy()
    assert imgs.min() >= 0 and imgs.max() <= 1
    for i, cap in enumerate(s.captions):
        color, shape = s.color_names[s.color.tolist()[i]], s.shape_names[s.shape.tolist()[i]]
        assert cap == f"a {color} {shape}"
        lit = imgs[i].max(axis=0) > 0
        assert lit.sum() >= 10, f"image {i} ({cap}) is (nearly) blank"
        assert not lit.all()
        rgb = imgs[i][:, lit].mean(axis=1)  # every lit pixel has the caption's colour
        np.testing.assert_allclose(rgb, datasets.COLORS[color], atol=1e-5)
    assert len(set(s.captions)) > 10
    tok = s.tokens.numpy()
    assert [" ".join(s.vocab[t] for t in row) for row in tok[:5]] == s.captions[:5]


def test_shapes_deterministic_and_loadable():
    a, b = datasets.make_shapes(10, seed=5), datasets.make_shapes(10, seed=5)
    np.testing.assert_array_equal(a.images.numpy(), b.images.numpy())
    assert a.captions == b.captions
    assert datasets.make_shapes(10, seed=6).captions != a.captions
    images, captions = next(iter(DataLoader(a, batch_size=4)))
    assert images.shape == (4, 3, 32, 32) and captions == a.captions[:4]
    with pytest.raises(ValueError):
        datasets.make_shapes(3, shapes=["hexagon"])
