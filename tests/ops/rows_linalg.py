"""Table rows: linear algebra (ops/linalg_ops.py). References are numpy's."""

from __future__ import annotations

import numpy as np
from optable import Case, Row


def _mat(rng, *shape):
    return rng.standard_normal(shape)


def _spd(rng, n, batch=()):
    """Well-conditioned symmetric positive-definite matrices."""
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _wellcond(rng, n, batch=()):
    return rng.standard_normal(batch + (n, n)) + 3 * np.eye(n)


def _dtype_bad(op, *shapes):
    args = tuple(np.ones(s, np.int64 if i == 1 else np.float64) for i, s in enumerate(shapes))
    return (args, {}, TypeError, op)


def _addmm_ref(inp, m1, m2, beta=1, alpha=1):
    prod = m1 @ m2
    return (alpha * prod if beta == 0 else beta * inp + alpha * prod).astype(m1.dtype)


def _addbmm_ref(inp, b1, b2, beta=1, alpha=1):
    return (beta * inp + alpha * (b1 @ b2).sum(0)).astype(b1.dtype)


def _cross_ref(a, b, dim=None):
    shape = np.broadcast_shapes(a.shape, b.shape)
    if dim is None:
        dim = [d for d, n in enumerate(shape) if n == 3][0]
    return np.cross(np.broadcast_to(a, shape), np.broadcast_to(b, shape), axis=dim).astype(a.dtype)


def _cdist_ref(x1, x2, p=2.0, compute_mode=None):
    d = np.abs(x1[..., :, None, :] - x2[..., None, :, :])
    if p == 0:
        out = (d != 0).sum(-1)
    elif p == np.inf:
        out = d.max(-1) if d.shape[-1] else d.sum(-1)
    else:
        out = (d ** p).sum(-1) ** (1 / p)
    return out.astype(x1.dtype)


def _kron_ref(a, b):
    return np.kron(a, b).astype(a.dtype)


def _tensordot_ref(a, b, dims=2):
    if isinstance(dims, int):
        return np.tensordot(a, b, dims)
    return np.tensordot(a, b, axes=dims)


_CPU = ("cpu",)


def _fg():
    import ferrograd

    return ferrograd

ROWS = {
    "mm": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 3, 4), _mat(rng, 4, 2))),
        "empty": Case((np.zeros((0, 3)), _mat(rng, 3, 2))),
        "inner_empty": Case((np.zeros((2, 0)), np.zeros((0, 3)))),
    }, ref=lambda a, b: a @ b, bad=[
        ((np.ones((2, 3)), np.ones((4, 5))), {}, ValueError, "cannot be multiplied"),
        ((np.ones(3), np.ones((3, 2))), {}, ValueError, "mm"),
        _dtype_bad("mm", (2, 3), (3, 2)),
    ]),
    "bmm": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 2, 3, 4), _mat(rng, 2, 4, 5))),
        "empty": Case((np.zeros((0, 3, 4)), np.zeros((0, 4, 2)))),
    }, ref=lambda a, b: a @ b, bad=[
        ((np.ones((2, 2, 3)), np.ones((3, 3, 5))), {}, ValueError, "batch2"),
        ((np.ones((2, 3)), np.ones((3, 2))), {}, ValueError, "bmm"),
    ]),
    "mv": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 3, 4), _mat(rng, 4))),
        "empty": Case((np.zeros((0, 3)), _mat(rng, 3))),
    }, ref=lambda a, v: a @ v, bad=[((np.ones((2, 3)), np.ones(4)), {}, ValueError, "size mismatch")]),
    "dot": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 5), _mat(rng, 5))),
        "empty": Case((np.zeros(0), np.zeros(0))),
    }, ref=lambda a, b: np.asarray(a @ b), bad=[
        ((np.ones(2), np.ones(3)), {}, ValueError, "dot"),
        ((np.ones((2, 2)), np.ones((2, 2))), {}, ValueError, "1D tensors expected"),
    ]),
    "vdot": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 5), _mat(rng, 5))),
        "empty": Case((np.zeros(0), np.zeros(0))),
    }, ref=lambda a, b: np.asarray(np.vdot(a, b)), bad=[((np.ones(2), np.ones(3)), {}, ValueError, "vdot")]),
    "outer": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 3), _mat(rng, 4))),
        "empty": Case((np.zeros(0), _mat(rng, 2))),
    }, ref=np.outer, bad=[((np.ones((2, 1)), np.ones(3)), {}, ValueError, "outer")]),
    "addmm": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 3, 2), _mat(rng, 3, 4), _mat(rng, 4, 2)), {"beta": 0.5, "alpha": 2.0}),
        "empty": Case((np.zeros((0, 2)), np.zeros((0, 3)), _mat(rng, 3, 2))),
        "broadcast": Case((_mat(rng, 2), _mat(rng, 3, 4), _mat(rng, 4, 2))),
        "beta0_nan": Case((np.full((3, 2), np.nan), _mat(rng, 3, 4), _mat(rng, 4, 2)), {"beta": 0}),
    }, ref=_addmm_ref, bad=[((np.ones((5,)), np.ones((2, 3)), np.ones((3, 4))), {}, ValueError, "addmm")]),
    "addmv": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 3), _mat(rng, 3, 4), _mat(rng, 4)), {"beta": -1.0, "alpha": 0.5}),
        "empty": Case((np.zeros(0), np.zeros((0, 3)), _mat(rng, 3))),
        "broadcast": Case((_mat(rng, 1), _mat(rng, 3, 4), _mat(rng, 4))),
    }, ref=_addmm_ref, bad=[((np.ones(2), np.ones((3, 4)), np.ones(4)), {}, ValueError, "addmv")]),
    "addbmm": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 3, 2), _mat(rng, 4, 3, 5), _mat(rng, 4, 5, 2)), {"alpha": 0.5}),
        "empty": Case((np.zeros((3, 2)), np.zeros((0, 3, 5)), np.zeros((0, 5, 2)))),
        "broadcast": Case((_mat(rng, 1, 2), _mat(rng, 2, 3, 5), _mat(rng, 2, 5, 2))),
    }, ref=_addbmm_ref, bad=[((np.ones((3, 3)), np.ones((2, 3, 5)), np.ones((2, 5, 2))), {}, ValueError, "addbmm")]),
    "baddbmm": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 4, 3, 2), _mat(rng, 4, 3, 5), _mat(rng, 4, 5, 2)), {"beta": 2.0}),
        "empty": Case((np.zeros((0, 3, 2)), np.zeros((0, 3, 5)), np.zeros((0, 5, 2)))),
        "broadcast": Case((_mat(rng, 3, 2), _mat(rng, 2, 3, 5), _mat(rng, 2, 5, 2))),
    }, ref=_addmm_ref, bad=[((np.ones((2, 3, 3)), np.ones((2, 3, 5)), np.ones((2, 5, 2))), {}, ValueError, "baddbmm")]),
    "addr": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 3, 4), _mat(rng, 3), _mat(rng, 4)), {"beta": 0.5, "alpha": -1.0}),
        "empty": Case((np.zeros((0, 4)), np.zeros(0), _mat(rng, 4))),
        "broadcast": Case((_mat(rng, 4), _mat(rng, 3), _mat(rng, 4))),
    }, ref=lambda i, a, b, beta=1, alpha=1: (beta * i + alpha * np.outer(a, b)).astype(a.dtype),
        bad=[((np.ones((2, 2)), np.ones(3), np.ones(4)), {}, ValueError, "addr")]),
    "tensordot": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 2, 3, 4), _mat(rng, 3, 4, 5))),
        "empty": Case((np.zeros((0, 3)), _mat(rng, 3, 2)), {"dims": 1}),
        "lists": Case((_mat(rng, 2, 3, 4), _mat(rng, 4, 3, 5)), {"dims": ([1, 2], [1, 0])}),
        "outer": Case((_mat(rng, 2, 3), _mat(rng, 3)), {"dims": 0}),
    }, ref=_tensordot_ref, bad=[
        ((np.ones((2, 3)), np.ones((4, 4))), {"dims": 1}, ValueError, "contracted dimensions need to match"),
        ((np.ones((2, 3)), np.ones((3, 4))), {"dims": "x"}, TypeError, "tensordot"),
    ]),
    "kron": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 2, 3), _mat(rng, 3, 2))),
        "empty": Case((np.zeros((0, 2)), _mat(rng, 2, 2))),
        "mixed_ndim": Case((_mat(rng, 2, 3), _mat(rng, 4))),
        "vectors": Case((_mat(rng, 2), _mat(rng, 3, 4))),
    }, ref=_kron_ref, bad=[(([1.0], np.ones(2)), {}, TypeError, "kron")]),
    "einsum": Row(samples=lambda rng: {
        # Three operands, a batch label, a contraction and a trace (a repeated subscript).
        "random": Case(("bij,bjk,bll->bik", _mat(rng, 2, 3, 4), _mat(rng, 2, 4, 2), _mat(rng, 2, 3, 3))),
        "empty": Case(("ij,jk->ik", np.zeros((0, 3)), _mat(rng, 3, 2))),
        "matmul": Case(("ij,jk->ik", _mat(rng, 3, 4), _mat(rng, 4, 2))),
        "implicit": Case(("ij,jk", _mat(rng, 3, 4), _mat(rng, 4, 2))),
        "transpose": Case(("ba", _mat(rng, 2, 3))),
        "trace": Case(("ii", _mat(rng, 4, 4))),
        "diagonal": Case(("ii->i", _mat(rng, 4, 4))),
        "outer": Case(("i,j->ij", _mat(rng, 3), _mat(rng, 2))),
        "sum_all": Case(("ijk->", _mat(rng, 2, 3, 4))),
        "ellipsis": Case(("...ij,...jk->...ik", _mat(rng, 5, 2, 3), _mat(rng, 1, 3, 4))),
        "ellipsis_broadcast": Case(("...ij,jk->...ik", _mat(rng, 2, 5, 2, 3), _mat(rng, 3, 4))),
        "bilinear": Case(("bn,anm,bm->ba", _mat(rng, 2, 3), _mat(rng, 4, 3, 5), _mat(rng, 2, 5))),
        "repeated_three": Case(("iii->i", _mat(rng, 3, 3, 3))),
        "scalar": Case(("", np.array(3.0))),
        "spaces": Case(("i j -> j i", _mat(rng, 2, 3))),
    }, ref=lambda eq, *ops: np.asarray(np.einsum(eq.replace(" ", ""), *ops)).astype(ops[0].dtype),
        rtol=1e-4, atol=1e-5, bad=[
        (("ij->ii", np.ones((2, 2))), {}, ValueError, "more than once"),
        (("ij->k", np.ones((2, 2))), {}, ValueError, "does not appear"),
        (("ij,jk->ik", np.ones((2, 3)), np.ones((4, 4))), {}, ValueError, "subscript j has size 4"),
        (("ij,jk->ik", np.ones((2, 3))), {}, ValueError, "fewer operands"),
        (("ijk->ij", np.ones((2, 3))), {}, ValueError, "number of subscripts"),
        (("a1", np.ones((2, 3))), {}, ValueError, "subscripts must be in [a-zA-Z]"),
        (("ii->i", np.ones((3, 2))), {}, ValueError, "repeated"),
        (("i.j", np.ones((2, 3))), {}, ValueError, "ellipsis"),
        (("ij,jk", np.ones((2, 3)), np.ones((3, 4), np.int64)), {}, TypeError, "einsum"),
    ]),
    "cross": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 4, 3), _mat(rng, 4, 3))),
        "empty": Case((np.zeros((0, 3)), np.zeros((0, 3)))),
        "dim0": Case((_mat(rng, 3, 4), _mat(rng, 3, 4)), {"dim": 0}),
        "default_dim": Case((_mat(rng, 2, 3, 3), _mat(rng, 2, 3, 3))),  # the first dim of size 3
        "broadcast": Case((_mat(rng, 2, 1, 3), _mat(rng, 1, 4, 3)), {"dim": -1}),
    }, ref=_cross_ref, bad=[
        ((np.ones((2, 3)), np.ones((2, 4))), {"dim": 1}, ValueError, "must have length 3"),
        ((np.ones((4, 2)), np.ones((4, 2))), {}, ValueError, "size 3"),
    ]),
    "cdist": Row(samples=lambda rng: {
        "random": Case((_mat(rng, 4, 3), _mat(rng, 5, 3))),
        "empty": Case((np.zeros((0, 3)), _mat(rng, 2, 3))),
        "p1": Case((_mat(rng, 3, 2), _mat(rng, 4, 2)), {"p": 1.0}),
        "p3": Case((_mat(rng, 3, 2), _mat(rng, 4, 2)), {"p": 3.0}),
        "pinf": Case((_mat(rng, 3, 2), _mat(rng, 4, 2)), {"p": float("inf")}),
        "p0": Case((np.round(_mat(rng, 3, 2)), np.round(_mat(rng, 4, 2))), {"p": 0.0}),
        "batched": Case((_mat(rng, 2, 3, 4), _mat(rng, 5, 4))),
        "mm_path": Case((_mat(rng, 30, 3), _mat(rng, 4, 3))),
        "mm_forced": Case((_mat(rng, 3, 3), _mat(rng, 4, 3)), {"compute_mode": "use_mm_for_euclid_dist"}),
    }, ref=_cdist_ref, rtol=1e-4, atol=1e-5, bad=[
        ((np.ones((3, 2)), np.ones((4, 3))), {}, ValueError, "same number of columns"),
        ((np.ones((3, 2)), np.ones((4, 2))), {"p": -1.0}, ValueError, "non-negative"),
        ((np.ones(3), np.ones((4, 3))), {}, ValueError, "at least 2D"),
    ]),
    "inverse": Row(samples=lambda rng: {
        "random": Case((_wellcond(rng, 3),)),
        "empty": Case((np.zeros((0, 0)),)),
        "batched": Case((_wellcond(rng, 2, (4,)),)),
    }, ref=lambda a: np.linalg.inv(a), devices=_CPU, rtol=1e-4, atol=1e-5, bad=[
        ((np.zeros((2, 2)),), {}, RuntimeError, "singular"),
        ((np.ones((2, 3)),), {}, ValueError, "square"),
    ]),
    "det": Row(samples=lambda rng: {
        "random": Case((_wellcond(rng, 3),)),
        "empty": Case((np.zeros((0, 2, 2)),)),
        "batched": Case((_wellcond(rng, 2, (4,)),)),
        "singular": Case((np.array([[1.0, 2.0], [2.0, 4.0]]),)),
    }, ref=lambda a: np.asarray(np.linalg.det(a)).astype(a.dtype), devices=_CPU, rtol=1e-4, atol=1e-5,
        bad=[((np.ones((2, 3)),), {}, ValueError, "square")]),
    "cholesky": Row(samples=lambda rng: {
        "random": Case((_spd(rng, 3),)),
        "empty": Case((np.zeros((0, 0)),)),
        "batched": Case((_spd(rng, 2, (3,)),)),
        "upper": Case((_spd(rng, 3),), {"upper": True}),
    }, ref=lambda a, upper=False: np.swapaxes(np.linalg.cholesky(a), -1, -2) if upper else np.linalg.cholesky(a),
        # cholesky reads one triangle: gradcheck through a symmetrised input, as torch's tests do
        call=lambda a, **k: _fg().cholesky((a + a.transpose(-1, -2)) * 0.5, **k), devices=_CPU,
        rtol=1e-4, atol=1e-5, bad=[
        ((np.array([[1.0, 2.0], [2.0, 1.0]]),), {}, RuntimeError, "positive-definite"),
    ]),
}
