"""WGSL flash attention (forward, saved lse, backward) against `_native` on the same float32
data: odd sizes, L != S, causal, additive and broadcast masks, fully masked rows, broadcast
batch dims, strided heads, heads wider than one launch, bad inputs."""

import sys
from pathlib import Path

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.wgpu import kernels as K
from ferrograd.wgpu.array import GpuArray

sys.path.insert(0, str(Path(__file__).parent))  # the shared helpers, under either pytest import mode
from _fused_helpers import close, dev, dev_permuted, forbid_dispatch, rand  # noqa: E402


def _check(q, k, v, mask=None, causal=False, scale=0.3, gq=None, gk=None, gv=None, gmask=None, tol=2e-4,
           grad_axes=None):
    """Forward and backward of the wgpu kernels vs `_native`; device operands default to
    contiguous copies of the host ones; `grad_axes` makes dout a permuted (strided) view."""
    rng = np.random.default_rng(99)
    out, lse = _native.sdpa_forward(q, k, v, mask, causal, scale)
    gq, gk, gv = (g if g is not None else dev(a) for g, a in ((gq, q), (gk, k), (gv, v)))
    if mask is not None and gmask is None:
        gmask = dev(mask)
    gout, glse = K.sdpa_forward(gq, gk, gv, gmask, causal, scale)
    close(gout, out, tol)
    close(glse, lse, tol)
    dout = rand(rng, *out.shape)
    want = _native.sdpa_backward(q, k, v, mask, causal, scale, out, lse, dout)
    gdout = dev(dout) if grad_axes is None else dev_permuted(dout, grad_axes)
    got = K.sdpa_backward(gq, gk, gv, gmask, causal, scale, gout, glse, gdout)
    for g, w in zip(got, want):
        close(g, w, tol)
    return gout.numpy(), glse.numpy(), [g.numpy() for g in got]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("l, s", [(37, 37), (37, 21), (9, 40), (1, 1)])
def test_matches_native(causal, l, s):
    rng = np.random.default_rng(l * 100 + s)
    q, k, v = rand(rng, 2, 3, l, 24), rand(rng, 2, 3, s, 24), rand(rng, 2, 3, s, 13)
    _check(q, k, v, causal=causal)


def test_additive_mask_with_fully_masked_row():
    rng = np.random.default_rng(1)
    l, s = 19, 23
    q, k, v = rand(rng, 2, l, 8), rand(rng, 2, s, 8), rand(rng, 2, s, 5)
    mask = np.where(rng.random((2, l, s)) < 0.3, -np.inf, rng.standard_normal((2, l, s))).astype(np.float32)
    mask[1, 4] = -np.inf  # every key hidden: output 0, lse -inf, gradient 0
    out, lse, (dq, _, _) = _check(q, k, v, mask=mask)
    assert np.isneginf(lse[1, 4]) and not out[1, 4].any() and not dq[1, 4].any()


@pytest.mark.parametrize("dtype", [np.int32, np.uint32])
def test_integer_boolean_mask_matches_the_additive_one(dtype):
    rng = np.random.default_rng(7)
    l, s = 13, 18
    q, k, v = rand(rng, 2, l, 8), rand(rng, 2, s, 8), rand(rng, 2, s, 6)
    keep = rng.random((2, l, s)) < 0.6
    keep[0, 3] = False  # a row that attends to nothing
    additive = np.where(keep, 0.0, -np.inf).astype(np.float32)
    _check(q, k, v, mask=additive, gmask=GpuArray.from_numpy(keep.astype(dtype)))


def test_broadcast_mask_is_a_zero_stride_view():
    rng = np.random.default_rng(2)
    b, h, l, s = 2, 3, 17, 17
    q, k, v = rand(rng, b, h, l, 16), rand(rng, b, h, s, 16), rand(rng, b, h, s, 16)
    causal_like = np.where(np.tril(np.ones((l, s), bool)), 0.0, -np.inf).astype(np.float32)
    base = dev(causal_like)
    gmask = GpuArray((b, h, l, s), np.float32, base.storage, (0, 0, s, 1), base.offset)
    _check(q, k, v, mask=np.broadcast_to(causal_like, (b, h, l, s)), gmask=gmask)


def test_broadcast_batch_dims():
    # One key/value head shared by every query head (k, v batch (2, 1)); results in the
    # broadcast batch shape, as `_native` returns them.
    rng = np.random.default_rng(3)
    q, k, v = rand(rng, 2, 4, 11, 6), rand(rng, 2, 1, 13, 6), rand(rng, 1, 13, 7)
    _check(q, k, v, causal=True)


def test_strided_heads_need_no_copy():
    # q, k, v as (B, H, L, E) views of (B, L, H, E) buffers, the layout a fused QKV projection
    # gives; the kernels read them through their strides.
    rng = np.random.default_rng(4)
    q, k, v = (rand(rng, 2, 3, 21, 10) for _ in range(3))
    gq, gk, gv = (dev_permuted(a, (0, 2, 1, 3)) for a in (q, k, v))
    assert not gq.is_contiguous
    _check(q, k, v, gq=gq, gk=gk, gv=gv, causal=True, grad_axes=(0, 2, 1, 3))


def test_heads_wider_than_one_launch():
    rng = np.random.default_rng(5)
    q, k, v = rand(rng, 1, 5, 260, scale=0.1), rand(rng, 1, 7, 260, scale=0.1), rand(rng, 1, 7, 270)
    _check(q, k, v, scale=1.0)


def test_empty_keys_give_zero_output():
    rng = np.random.default_rng(6)
    q, k, v = rand(rng, 2, 5, 4), np.zeros((2, 0, 4), np.float32), np.zeros((2, 0, 3), np.float32)
    out, lse, grads = _check(q, k, v)
    assert not out.any() and np.isneginf(lse).all()


def test_bad_inputs_raise_before_dispatch(monkeypatch):
    q, k, v = dev(np.zeros((2, 5, 4))), dev(np.zeros((2, 6, 4))), dev(np.zeros((2, 6, 3)))
    forbid_dispatch(monkeypatch)
    with pytest.raises(ValueError, match=r"sdpa_forward: query and key differ in their last dim .*\(2, 5, 4\).*\(2, 6, 5\)"):
        K.sdpa_forward(q, dev(np.zeros((2, 6, 5))), v, None, False, 1.0)
    with pytest.raises(ValueError, match=r"sdpa_forward: key and value differ in sequence length"):
        K.sdpa_forward(q, k, dev(np.zeros((2, 7, 3))), None, False, 1.0)
    with pytest.raises(ValueError, match=r"sdpa_forward: batch dims do not broadcast"):
        K.sdpa_forward(q, dev(np.zeros((3, 6, 4))), dev(np.zeros((3, 6, 3))), None, False, 1.0)
    with pytest.raises(ValueError, match=r"sdpa_forward: attn_mask must be a view of shape \(2, 5, 6\)"):
        K.sdpa_forward(q, k, v, dev(np.zeros((5, 6))), False, 1.0)
    with pytest.raises(ValueError, match="sdpa_forward: attn_mask and is_causal cannot both be set"):
        K.sdpa_forward(q, k, v, dev(np.zeros((2, 5, 6))), True, 1.0)
    with pytest.raises(ValueError, match=r"sdpa_backward: out \(2, 5, 4\) and grad \(2, 5, 3\) must both be \(2, 5, 3\)"):
        K.sdpa_backward(q, k, v, None, False, 1.0, dev(np.zeros((2, 5, 4))), dev(np.zeros((2, 5))), dev(np.zeros((2, 5, 3))))
    with pytest.raises(TypeError, match="sdpa_forward: query must be a wgpu GpuArray"):
        K.sdpa_forward(np.zeros((2, 5, 4), np.float32), k, v, None, False, 1.0)
    with pytest.raises(TypeError, match="sdpa_forward: key must be float32"):
        K.sdpa_forward(q, GpuArray.from_numpy(np.zeros((2, 6, 4), np.int32)), v, None, False, 1.0)


@pytest.mark.parametrize("b, l, h, d", [(5, 7, 2, 8), (3, 20, 4, 5), (2, 1, 1, 3), (0, 3, 2, 4)])
@pytest.mark.parametrize("masked", [False, True])
def test_packed_self_attention_matches_native(b, l, h, d, masked):
    """sdpa_packed_forward/backward (one packed projection, (B, L, [q|k|v], heads, d)) against
    `_native`'s on the same data, with a broadcast mask and a strided output gradient."""
    rng = np.random.default_rng(b * 100 + l)
    qkv = rand(rng, b, l, 3 * h * d)
    mask = None
    if masked:
        m = np.where(rng.random((l, l)) < 0.3, -np.inf, 0.0).astype(np.float32)
        m[:, 0] = 0.0
        mask = np.broadcast_to(m, (b, h, l, l))
    out, lse = _native.sdpa_packed_forward(qkv, h, mask, 0.4)
    gmask = None if mask is None else dev(m)
    gmask = None if gmask is None else GpuArray(mask.shape, np.float32, gmask.storage, (0, 0, l, 1), gmask.offset)
    gout, glse = K.sdpa_packed_forward(dev(qkv), h, gmask, 0.4)
    close(gout, out)
    close(glse, lse)
    dout = rand(rng, b, l, h * d)
    want = _native.sdpa_packed_backward(qkv, h, mask, 0.4, out, lse, dout)
    got = K.sdpa_packed_backward(dev(qkv), h, gmask, 0.4, gout, glse, dev_permuted(dout, (1, 0, 2)))
    close(got, want)


def test_packed_bad_heads_raise_before_any_dispatch(monkeypatch):
    forbid_dispatch(monkeypatch)
    with pytest.raises(ValueError, match="heads"):
        K.sdpa_packed_forward(dev(np.zeros((2, 3, 12))), 5, None, 1.0)
