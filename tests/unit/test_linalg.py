"""fg.linalg (norms, inv, det, solve, cholesky) against numpy with float64 gradchecks, and einsum /
cdist / dot behaviour beyond the op table rows."""

from __future__ import annotations

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.linalg as LA
from ferrograd.ops import linalg_ops as L
from ferrograd.testing import gradcheck


def t64(a, grad=True):
    return fg.tensor(np.asarray(a, np.float64), requires_grad=grad)


def _wgpu_ready():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


def _gradgrad(fn, inputs):
    """gradcheck of the gradient itself (made with create_graph=True)."""
    weights = fg.tensor(np.random.default_rng(1).standard_normal(tuple(fn(*inputs).shape)))

    def g(*ts):
        with fg.enable_grad():
            grads = fg.autograd.grad((fn(*ts) * weights).sum(), list(ts), create_graph=True)
        return fg.cat([x.reshape(-1) for x in grads])

    return gradcheck(g, inputs)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))


# ---- vector / matrix norms ------------------------------------------------------------------------
def _ref_norm(x, ord, dim, keepdim):
    axis = tuple(range(x.ndim)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    a = np.abs(x)
    if ord == np.inf:
        return a.max(axis, keepdims=keepdim)
    if ord == -np.inf:
        return a.min(axis, keepdims=keepdim)
    if ord == 0:
        return (a != 0).sum(axis, keepdims=keepdim).astype(x.dtype)
    return (a ** ord).sum(axis, keepdims=keepdim) ** (1 / ord)


@pytest.mark.parametrize("ord", [2, 1, np.inf, -np.inf, 0, 3, 0.5, -1])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), ((0, 1), True), (0, True)])
def test_vector_norm_matches_numpy(ord, dim, keepdim):
    got = LA.vector_norm(fg.tensor(X), ord, dim=dim, keepdim=keepdim).numpy()
    want = _ref_norm(X, ord, dim, keepdim)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6)
    if ord == 2 and dim == 1:
        np.testing.assert_allclose(got, np.linalg.norm(X, axis=1))


@pytest.mark.parametrize("ord", [2, 1, np.inf, -np.inf, 3, 0.5])
def test_vector_norm_gradients(ord):
    x = t64(RNG.standard_normal((3, 4)) + 0.1)
    assert gradcheck(lambda a: LA.vector_norm(a, ord, dim=1), [x])
    if ord in (2, 3):
        assert _gradgrad(lambda a: LA.vector_norm(a, ord, dim=1), [x])


def test_vector_norm_gradient_is_zero_at_zero():
    for ord in (2, 3, 1):
        x = t64(np.zeros(3))
        LA.vector_norm(x, ord).backward()
        assert x.grad.tolist() == [0, 0, 0]


def test_vector_norm_arguments():
    assert LA.vector_norm(fg.tensor([3.0, 4.0])).item() == 5
    assert LA.vector_norm(fg.tensor([3.0, 0.0]), 0).item() == 1
    assert LA.vector_norm(fg.tensor(-2.0)).item() == 2
    assert LA.vector_norm(fg.ones(2, 3), dtype=fg.float64).dtype == np.float64
    with pytest.raises(TypeError, match="floating point"):
        LA.vector_norm(fg.tensor([1, 2]))
    with pytest.raises(ValueError, match="empty"):
        LA.vector_norm(fg.zeros(0), float("inf"))


@pytest.mark.parametrize("ord", ["fro", 1, -1, np.inf, -np.inf])
def test_matrix_norm_matches_numpy(ord):
    a = RNG.standard_normal((2, 3, 4))
    got = LA.matrix_norm(fg.tensor(a), ord).numpy()
    np.testing.assert_allclose(got, [np.linalg.norm(m, ord) for m in a], rtol=1e-6)
    got = LA.matrix_norm(fg.tensor(a), ord, dim=(0, 2), keepdim=True)
    assert got.shape == (1, 3, 1)
    want = [np.linalg.norm(a[:, j, :], ord) for j in range(3)]
    np.testing.assert_allclose(got.numpy().reshape(-1), want, rtol=1e-6)
    assert gradcheck(lambda m: LA.matrix_norm(m, ord), [t64(a)])


def test_matrix_norm_errors():
    with pytest.raises(ValueError, match="at least 2"):
        LA.matrix_norm(fg.ones(3))
    with pytest.raises(ValueError, match="not supported"):
        LA.matrix_norm(fg.ones(2, 2), 3)
    with pytest.raises(NotImplementedError, match="nuc"):
        LA.matrix_norm(fg.ones(2, 2), "nuc")


def test_norm_dispatch():
    a = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(LA.norm(fg.tensor(a)).item(), np.linalg.norm(a))
    np.testing.assert_allclose(LA.norm(fg.tensor(a), 1).item(), np.linalg.norm(a, 1))  # 2-D: matrix norm
    np.testing.assert_allclose(LA.norm(fg.tensor(a), dim=1).numpy(), np.linalg.norm(a, axis=1))
    np.testing.assert_allclose(LA.norm(fg.tensor(a), np.inf, dim=(0, 1)).item(), np.linalg.norm(a, np.inf))
    np.testing.assert_allclose(LA.norm(fg.tensor(a[0]), 3).item(), np.linalg.norm(a[0], 3))
    np.testing.assert_allclose(LA.norm(fg.ones(2, 3, 4)).item(), np.sqrt(24))
    with pytest.raises(ValueError, match="1D or 2D"):
        LA.norm(fg.ones(2, 3, 4), 2)


def test_norms_on_wgpu():
    _wgpu_ready()
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    x = fg.tensor(a, device="wgpu")
    np.testing.assert_allclose(LA.vector_norm(x, dim=1).numpy(), np.linalg.norm(a, axis=1), rtol=1e-5)
    np.testing.assert_allclose(LA.matrix_norm(x, 1).numpy(), np.linalg.norm(a, 1), rtol=1e-5)


# ---- inv / det / solve / cholesky -----------------------------------------------------------------
A = RNG.standard_normal((3, 3)) + 3 * np.eye(3)


def test_inv_det():
    np.testing.assert_allclose(LA.inv(fg.tensor(A)).numpy(), np.linalg.inv(A))
    np.testing.assert_allclose(LA.det(fg.tensor(A)).item(), np.linalg.det(A))
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.inv(fg.zeros(2, 2))
    assert issubclass(LA.LinAlgError, RuntimeError)
    assert _gradgrad(LA.inv, [t64(A)])
    assert _gradgrad(LA.det, [t64(A)])


def test_det_gradient_at_a_singular_matrix():
    s = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, 1.0, 2.0]])  # rank 2: the gradient is adj(A)^T != 0
    x = t64(s)
    LA.det(x).backward()
    cof = np.array([[np.linalg.det(np.delete(np.delete(s, i, 0), j, 1)) * (-1) ** (i + j) for j in range(3)]
                    for i in range(3)])
    np.testing.assert_allclose(x.grad.numpy(), cof, atol=1e-10)
    assert np.abs(cof).max() > 0.1


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("bshape", [(3,), (3, 2), (4, 3), (4, 3, 2), (1, 3, 2)])
def test_solve(left, bshape):
    batch_a = RNG.standard_normal((4, 3, 3)) + 3 * np.eye(3)
    a = batch_a if len(bshape) == 3 or bshape == (4, 3) else A
    b = RNG.standard_normal(bshape)
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    if not left and not vector:
        b = np.swapaxes(b, -1, -2).copy()  # X A = B: B is (..., k, n)
    x = LA.solve(fg.tensor(a), fg.tensor(b), left=left).numpy()
    if vector:
        want = np.linalg.solve(a if left else np.swapaxes(a, -1, -2), b[..., None])[..., 0]
    elif left:
        want = np.linalg.solve(a, b)
    else:
        want = np.swapaxes(np.linalg.solve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)
    np.testing.assert_allclose(x, want, rtol=1e-6, atol=1e-9)
    if bshape in ((3, 2), (1, 3, 2)) or vector:
        assert gradcheck(lambda p, q: LA.solve(p, q, left=left), [t64(a), t64(b)])


def test_solve_double_backward_and_errors():
    assert _gradgrad(lambda a, b: LA.solve(a, b), [t64(A), t64(RNG.standard_normal((3, 2)))])
    with pytest.raises(ValueError, match="Incompatible|incompatible"):
        LA.solve(fg.eye(2) if hasattr(fg, "eye") else fg.tensor(np.eye(2)), fg.ones(3, 2))
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.solve(fg.zeros(2, 2), fg.ones(2))


def test_cholesky():
    spd = A @ A.T + np.eye(3)
    np.testing.assert_allclose(LA.cholesky(fg.tensor(spd)).numpy(), np.linalg.cholesky(spd))
    np.testing.assert_allclose(LA.cholesky(fg.tensor(spd), upper=True).numpy(), np.linalg.cholesky(spd).T)
    sym = lambda m: LA.cholesky((m + m.transpose(-1, -2)) * 0.5)  # noqa: E731
    assert gradcheck(sym, [t64(spd)])
    assert _gradgrad(sym, [t64(spd)])
    with pytest.raises(LA.LinAlgError, match="positive-definite"):
        LA.cholesky(fg.tensor([[1.0, 2.0], [2.0, 1.0]]))


def test_decompositions_name_themselves_on_wgpu():
    _wgpu_ready()
    x = fg.tensor(A.astype(np.float32), device="wgpu")
    for fn, name in ((LA.inv, "inverse"), (LA.det, "det"), (LA.cholesky, "cholesky")):
        with pytest.raises(NotImplementedError, match=name):
            fn(x)
    with pytest.raises(NotImplementedError, match="solve"):
        LA.solve(x, fg.ones(3, device="wgpu"))


# ---- einsum and friends --------------------------------------------------------------------------------
def test_einsum_forms():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    want = a @ b
    np.testing.assert_allclose(L.einsum("ij,jk->ik", [fg.tensor(a), fg.tensor(b)]).numpy(), want)
    np.testing.assert_allclose(L.einsum(fg.tensor(a), [0, 1], fg.tensor(b), [1, 2], [0, 2]).numpy(), want)
    np.testing.assert_allclose(L.einsum(fg.tensor(a), [0, 1], fg.tensor(b), [1, 2]).numpy(), want)
    c = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(L.einsum("...ij->ij", fg.tensor(c)).numpy(), c.sum(0))  # unlisted ... is summed
    np.testing.assert_allclose(L.einsum(fg.tensor(c), [Ellipsis, 1], [1]).numpy(), c.sum((0, 1)))
    # Size-1 dims broadcast against the same subscript of another operand, as torch.
    v, w = RNG.standard_normal(3), RNG.standard_normal(1)
    np.testing.assert_allclose(L.einsum("i,i->i", fg.tensor(v), fg.tensor(w)).numpy(), v * w)
    assert L.einsum("i->", fg.zeros(0)).item() == 0


def test_einsum_random_equations_match_numpy():
    rng = np.random.default_rng(7)
    for _ in range(150):
        sizes = {c: int(rng.integers(1, 4)) for c in "abcde"}
        terms = ["".join(rng.choice(list("abcde"), rng.integers(0, 4))) for _ in range(rng.integers(1, 4))]
        ops = [rng.standard_normal([sizes[c] for c in t]) for t in terms]
        seen = sorted(set("".join(terms)))
        eq = ",".join(terms)
        if rng.random() < 0.5:
            eq += "->" + "".join(rng.permutation(seen)[: rng.integers(0, len(seen) + 1)]) if seen else "->"
        got = L.einsum(eq, *[fg.tensor(o) for o in ops]).numpy()
        np.testing.assert_allclose(got, np.einsum(eq, *ops), atol=1e-10, err_msg=eq)


def test_einsum_gradients_with_broadcast_and_diagonals():
    x = t64(RNG.standard_normal((2, 3, 3)))
    y = t64(RNG.standard_normal((1, 3)))
    assert gradcheck(lambda p, q: L.einsum("bii,bi->b", p, q), [x, y])
    assert _gradgrad(lambda p, q: L.einsum("bij,bj->bi", p, q), [x, y])


def test_einsum_on_wgpu():
    _wgpu_ready()
    a = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    b = RNG.standard_normal((2, 4, 4)).astype(np.float32)
    got = L.einsum("bij,bkk->bi", fg.tensor(a, device="wgpu"), fg.tensor(b, device="wgpu"))
    assert got.device == "wgpu"
    np.testing.assert_allclose(got.numpy(), np.einsum("bij,bkk->bi", a, b), rtol=1e-4, atol=1e-5)


def test_products_of_ints_on_cpu():
    a = fg.tensor([1, 2, 3])
    assert L.dot(a, a).item() == 14 and L.dot(a, a).dtype == np.int64
    assert L.mm(fg.tensor([[1, 2]]), fg.tensor([[3], [4]])).tolist() == [[11]]


def test_cdist_gradient_is_finite_at_zero_distance():
    x = t64([[0.0, 0.0], [1.0, 1.0]])
    for mode in ("use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
        x.grad = None
        d = L.cdist(x, fg.tensor([[0.0, 0.0]], dtype=fg.float64), compute_mode=mode)
        d.sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
        np.testing.assert_allclose(x.grad.numpy(), [[0, 0], [2 ** -0.5, 2 ** -0.5]])


def test_cross_default_dim_and_linalg_cross():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    np.testing.assert_allclose(L.cross(fg.tensor(a), fg.tensor(b)).numpy(), np.cross(a, b, axis=0))
    with pytest.raises(ValueError, match="length 3"):
        LA.cross(fg.tensor(a), fg.tensor(b))  # linalg.cross: dim=-1
    c, d = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    np.testing.assert_allclose(LA.cross(fg.tensor(c), fg.tensor(d)).numpy(), np.cross(c, d))
