"""Device dropout masks: Philox4x32-10 bit-exact against a numpy reference (itself checked on
Random123's known-answer vectors), determinism per seed, keep rate, p = 0 and p = 1."""

import numpy as np
import pytest

from ferrograd.wgpu.kernels import dropout_mask, random_uint32

M32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counters, key):
    """numpy Philox4x32-10: counters is 4 uint arrays, key 2 ints; returns (..., 4) uint32."""
    c = [np.asarray(x, np.uint64) for x in counters]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c[0]
        p1 = np.uint64(0xCD9E8D57) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & M32, (p0 >> np.uint64(32)) ^ c[3] ^ k1, p0 & M32]
        k0, k1 = (k0 + np.uint64(0x9E3779B9)) & M32, (k1 + np.uint64(0xBB67AE85)) & M32
    return np.stack(c, -1).astype(np.uint32)


def reference_words(n, seed):
    """The device stream: element i = word i % 4 of the block for counter (i // 4, 0, 0, 0)."""
    seed %= 1 << 64
    j = np.arange(-(-n // 4), dtype=np.uint64)
    zero = np.zeros_like(j)
    return philox4x32_10((j, zero, zero, zero), (seed & 0xFFFFFFFF, seed >> 32)).reshape(-1)[:n]


@pytest.mark.parametrize(
    "counter, key, expected",
    [  # Random123 kat_vectors, philox4x32 10
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ],
)
def test_reference_matches_known_answers(counter, key, expected):
    np.testing.assert_array_equal(philox4x32_10(counter, key), np.array(expected, np.uint32))


@pytest.mark.parametrize("n, seed", [(1, 0), (4, 0), (7, 1), (1000, 12345), (4099, 2**40 + 17), (33, -1)])
def test_device_words_are_philox_bit_for_bit(n, seed):
    np.testing.assert_array_equal(random_uint32((n,), seed).numpy(), reference_words(n, seed))


def test_mask_thresholds_the_same_words():
    p, seed, shape = 0.3, 99, (13, 29)
    u = (reference_words(13 * 29, seed) >> 8).astype(np.float32) / np.float32(2**24)
    expected = np.where(u >= np.float32(p), np.float32(1) / np.float32(1 - p), np.float32(0)).reshape(shape)
    np.testing.assert_array_equal(dropout_mask(shape, p, seed).numpy(), expected)


def test_same_seed_same_mask_different_seed_different_mask():
    a = dropout_mask((64, 33), 0.5, seed=7).numpy()
    b = dropout_mask((64, 33), 0.5, seed=7).numpy()
    c = dropout_mask((64, 33), 0.5, seed=8).numpy()
    np.testing.assert_array_equal(a, b)
    # Independent masks agree on about half the elements; identical ones on all of them.
    assert (a == c).mean() < 0.6


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_and_values(p):
    n = 1 << 16
    mask = dropout_mask((n,), p, seed=2024).numpy()
    scale = np.float32(1) / np.float32(1 - p)
    assert set(np.unique(mask)) <= {np.float32(0), scale}
    kept = (mask != 0).mean()
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(kept - (1 - p)) < 5 * sigma, (kept, 1 - p)
    # The mask keeps the expectation: mean(mask) ~ 1.
    assert abs(mask.mean() - 1.0) < 5 * sigma * scale


def test_no_correlation_between_neighbours():
    """Adjacent elements come from one Philox block: their keep decisions must be independent."""
    keep = (dropout_mask((1 << 16,), 0.5, seed=3).numpy() != 0).astype(np.float64)
    corr = np.corrcoef(keep[:-1], keep[1:])[0, 1]
    assert abs(corr) < 5 / np.sqrt(keep.size)


def test_edge_probabilities():
    np.testing.assert_array_equal(dropout_mask((5, 7), 0.0, seed=1).numpy(), np.ones((5, 7), np.float32))
    np.testing.assert_array_equal(dropout_mask((5, 7), 1.0, seed=1).numpy(), np.zeros((5, 7), np.float32))
    assert dropout_mask((0, 3), 0.5, seed=1).numpy().shape == (0, 3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        dropout_mask((3,), 1.5, seed=0)


def test_large_launch_folds_the_grid_and_keeps_the_stream():
    """More blocks than one grid dimension holds: the (x, y) fold must not skip or repeat any."""
    n = 256 * 65535 + 1001  # 256 words per workgroup: past 65535 groups in x
    words = random_uint32((n,), 5).numpy()
    idx = np.concatenate([np.arange(8), np.random.default_rng(0).integers(0, n, 64), np.arange(n - 9, n)])
    j = np.asarray(idx // 4, np.uint64)
    zero = np.zeros_like(j)
    expected = philox4x32_10((j, zero, zero, zero), (5, 0))[np.arange(idx.size), idx % 4]
    np.testing.assert_array_equal(words[idx], expected)
