"""Registry entries: linear algebra with torch's signatures.

Products (mm, bmm, mv, dot, vdot, outer/ger, addmm, addmv, addbmm, baddbmm, addr, tensordot,
kron, einsum) and geometry (cross, cdist) are composed from matmul, permute, reshape, sum and
elementwise ops, so they run on cpu and wgpu and are differentiable twice. Decompositions
(inverse, det, cholesky, and linalg.solve in ferrograd.linalg) run numpy's LAPACK on cpu with
their own backward formulas; on wgpu they raise NotImplementedError naming the op.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..errors import DtypeRuntimeError, ShapeRuntimeError
from . import _generic as G
from ._factory import tensor_cls
from .registry import register
from ._args import check_tensor as _check


class LinAlgError(RuntimeError, np.linalg.LinAlgError):
    """A matrix the decomposition cannot handle (singular, not positive-definite), as
    torch.linalg.LinAlgError (a RuntimeError; also numpy's LinAlgError)."""


def _ndim(t, n, op, name):
    if t.ndim != n:
        raise ShapeRuntimeError(f"{op}: expected {name} to be {n}-D, got a {t.ndim}-D tensor of shape {tuple(t.shape)}")


def _same_dtype(op, *ts):
    dts = {t.dtype for t in ts}
    if len(dts) > 1:
        raise DtypeRuntimeError(f"{op}: expected all operands to have the same dtype, got "
                                f"{', '.join(str(t.dtype) for t in ts)}")


def _same_device(op, *ts):
    kinds = {type(t._data) is np.ndarray for t in ts}
    if len(kinds) > 1:
        raise ValueError(f"{op}: expected all tensors on one device, got {', '.join(str(t.device) for t in ts)}")


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


def _fg():
    import ferrograd

    return ferrograd


# ---- products ---------------------------------------------------------------------------------
@register("mm")
def mm(input, mat2, *, out=None):
    """The matrix product of two 2-D tensors, as torch.mm (no broadcasting)."""
    op = "mm"
    _check(input, op), _check(mat2, op, "mat2")
    _ndim(input, 2, op, "self"), _ndim(mat2, 2, op, "mat2")
    _same_dtype(op, input, mat2)
    if input.shape[1] != mat2.shape[0]:
        raise ShapeRuntimeError(f"{op}: mat1 and mat2 shapes cannot be multiplied "
                                f"({input.shape[0]}x{input.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    return _out(input @ mat2, out, op)


@register("bmm")
def bmm(input, mat2, *, out=None):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors, as torch.bmm."""
    op = "bmm"
    _check(input, op), _check(mat2, op, "mat2")
    _ndim(input, 3, op, "batch1"), _ndim(mat2, 3, op, "batch2")
    _same_dtype(op, input, mat2)
    b, n, m = input.shape
    if tuple(mat2.shape[:2]) != (b, m):
        raise ShapeRuntimeError(f"{op}: expected size for first two dimensions of batch2 tensor to be: [{b}, {m}] "
                                f"but got: [{mat2.shape[0]}, {mat2.shape[1]}]")
    return _out(input @ mat2, out, op)


@register("mv")
def mv(input, vec, *, out=None):
    """Matrix (n, m) times vector (m,), as torch.mv."""
    op = "mv"
    _check(input, op), _check(vec, op, "vec")
    _ndim(input, 2, op, "mat"), _ndim(vec, 1, op, "vec")
    _same_dtype(op, input, vec)
    if input.shape[1] != vec.shape[0]:
        raise ShapeRuntimeError(f"{op}: size mismatch, got mat ({input.shape[0]}x{input.shape[1]}), vec ({vec.shape[0]})")
    return _out(input @ vec, out, op)


def _vectors(op, input, other):
    _check(input, op), _check(other, op, "other")
    if input.ndim != 1 or other.ndim != 1:
        raise ShapeRuntimeError(f"{op}: 1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    _same_dtype(op, input, other)
    if input.shape[0] != other.shape[0]:
        raise ShapeRuntimeError(f"{op}: inconsistent tensor size, expected tensors of the same number of elements, "
                                f"got {input.shape[0]} and {other.shape[0]}")


@register("dot")
def dot(input, other, *, out=None):
    """The inner product of two 1-D tensors (a 0-d tensor), as torch.dot."""
    _vectors("dot", input, other)
    return _out(input @ other, out, "dot")


@register("vdot")
def vdot(input, other, *, out=None):
    """conj(input) . other; ferrograd is real-valued, so this is dot."""
    _vectors("vdot", input, other)
    return _out(input @ other, out, "vdot")


@register("outer", aliases=("ger",))
def outer(input, vec2, *, out=None):
    """The outer product of two 1-D tensors: (n,) x (m,) -> (n, m)."""
    op = "outer"
    _check(input, op), _check(vec2, op, "vec2")
    if input.ndim != 1 or vec2.ndim != 1:
        raise ShapeRuntimeError(f"{op}: expected 1-D arguments, got shapes {tuple(input.shape)} and {tuple(vec2.shape)}")
    return _out(input.reshape(-1, 1) * vec2.reshape(1, -1), out, op)


def _scalar(x, op, name):
    if isinstance(x, bool) or not isinstance(x, numbers.Number):
        if isinstance(x, tensor_cls()) and x.numel() == 1:
            return x.item()
        raise TypeError(f"{op}: {name} must be a number, got {type(x).__name__}")
    return x


def _beta_alpha(op, input, product, beta, alpha, shape):
    """beta * input + alpha * product, with input broadcast to `shape`; beta == 0 ignores input
    (its nan and inf do not propagate), as torch."""
    beta, alpha = _scalar(beta, op, "beta"), _scalar(alpha, op, "alpha")
    try:
        if np.broadcast_shapes(tuple(input.shape), shape) != shape:
            raise ValueError
    except ValueError:
        raise ShapeRuntimeError(f"{op}: input of shape {tuple(input.shape)} does not broadcast to the "
                                f"product's shape {shape}") from None
    _same_device(op, input, product)
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return scaled if tuple(scaled.shape) == shape else scaled.expand(shape)
    base = input if beta == 1 else input * beta
    out = base + scaled
    if not dtypes.is_float(input.dtype) and dtypes.is_float(out.dtype):
        out = out.to(input.dtype)
    return out


@register("addmm", inplace=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat1 @ mat2), as torch.addmm."""
    prod = mm(mat1, mat2)
    return _out(_beta_alpha("addmm", _check(input, "addmm"), prod, beta, alpha, tuple(prod.shape)), out, "addmm")


@register("addmv", inplace=True)
def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat @ vec), as torch.addmv."""
    prod = mv(mat, vec)
    return _out(_beta_alpha("addmv", _check(input, "addmv"), prod, beta, alpha, tuple(prod.shape)), out, "addmv")


@register("addbmm", inplace=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * sum_b(batch1[b] @ batch2[b]), as torch.addbmm."""
    prod = bmm(batch1, batch2).sum(dim=0)
    return _out(_beta_alpha("addbmm", _check(input, "addbmm"), prod, beta, alpha, tuple(prod.shape)), out, "addbmm")


@register("baddbmm", inplace=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * bmm(batch1, batch2), as torch.baddbmm."""
    prod = bmm(batch1, batch2)
    return _out(_beta_alpha("baddbmm", _check(input, "baddbmm"), prod, beta, alpha, tuple(prod.shape)), out, "baddbmm")


@register("addr", inplace=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * outer(vec1, vec2), as torch.addr."""
    prod = outer(vec1, vec2)
    return _out(_beta_alpha("addr", _check(input, "addr"), prod, beta, alpha, tuple(prod.shape)), out, "addr")


def _out(result, out, op):
    from ._factory import finish

    return finish(result, out, op)


# ---- tensordot / kron -------------------------------------------------------------------------
def _contract2(a, a_dims, b, b_dims):
    """sum over a_dims of a (in order) against b_dims of b: a's free dims then b's."""
    a_free = [d for d in range(a.ndim) if d not in a_dims]
    b_free = [d for d in range(b.ndim) if d not in b_dims]
    a_shape = [a.shape[d] for d in a_free]
    b_shape = [b.shape[d] for d in b_free]
    k = _prod(a.shape[d] for d in a_dims)
    ap = a.permute(a_free + list(a_dims)) if a.ndim else a
    bp = b.permute(list(b_dims) + b_free) if b.ndim else b
    res = ap.reshape(_prod(a_shape), k) @ bp.reshape(k, _prod(b_shape))
    return res.reshape(tuple(a_shape + b_shape))


@register("tensordot", method=False)
def tensordot(a, b, dims=2, out=None):
    """Contract the last `dims` dims of a with the first `dims` of b, or the dims listed in
    `dims=([a dims], [b dims])`, as torch.tensordot."""
    op = "tensordot"
    _check(a, op, "a"), _check(b, op, "b")
    _same_dtype(op, a, b)
    if isinstance(dims, tensor_cls()):
        dims = dims.tolist()
    if isinstance(dims, numbers.Integral) and not isinstance(dims, bool):
        if dims < 0:
            raise ValueError(f"{op}: dims must be a non-negative int, got {dims}")
        if dims > min(a.ndim, b.ndim):
            raise ShapeRuntimeError(f"{op}: dims={dims} is more than the dims of a {tuple(a.shape)} or b {tuple(b.shape)}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, (tuple, list)) and len(dims) == 2:
        da, db = ([d] if isinstance(d, numbers.Integral) else list(d) for d in dims)
        if len(da) != len(db):
            raise ShapeRuntimeError(f"{op}: both dimension lists should have the same length, got {da} and {db}")
        from .reduce import normalize_dims

        da = [normalize_dims(d, a.ndim, op)[0] for d in da]
        db = [normalize_dims(d, b.ndim, op)[0] for d in db]
    else:
        raise TypeError(f"{op}: dims must be an int or a pair of dim lists, got {dims!r}")
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise ShapeRuntimeError(f"{op}: contracted dimensions need to match, but first has size {a.shape[x]} "
                                    f"in dim {x} and second has size {b.shape[y]} in dim {y}")
    _same_device(op, a, b)
    return _out(_contract2(a, da, b, db), out, op)


@register("kron")
def kron(input, other, *, out=None):
    """The Kronecker product: result[i*m + k, ...] = input[i, ...] * other[k, ...] (dims of the
    shorter operand padded with leading 1s), as torch.kron."""
    op = "kron"
    _check(input, op), _check(other, op, "other")
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(tuple(x for s in sa for x in (s, 1)))
    b = other.reshape(tuple(x for s in sb for x in (1, s)))
    return _out((a * b).reshape(tuple(x * y for x, y in zip(sa, sb))), out, op)


# ---- einsum -------------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _sublist_equation(args, op):
    """einsum(op1, [0, 1], op2, [1, 2], [0, 2]) -> ('ab,bc->ac', [op1, op2])."""
    def term(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, numbers.Integral) and 0 <= s < 52:
                out.append(_LETTERS[s])
            else:
                raise ValueError(f"{op}: subscripts in the sublist format must be ints in [0, 52) or ..., got {s!r}")
        return "".join(out)

    out = args[-1] if len(args) % 2 else None
    pairs = args[:-1] if len(args) % 2 else args
    operands, terms = list(pairs[0::2]), [term(s) for s in pairs[1::2]]
    equation = ",".join(terms)
    return (equation if out is None else equation + "->" + term(out)), operands


def _parse_term(term, t, k, op):
    labels, i, ell = [], 0, False
    while i < len(term):
        c = term[i]
        if c == ".":
            if term[i:i + 3] != "..." or ell:
                raise ValueError(f"{op}: found '.' for operand {k} that is not part of any ellipsis, or a second ellipsis")
            labels.append(None)
            ell = True
            i += 3
            continue
        if c not in _LETTERS:
            raise ValueError(f"{op}: invalid subscript {c!r} for operand {k}, subscripts must be in [a-zA-Z]")
        labels.append(c)
        i += 1
    named = len(labels) - ell
    if (not ell and named != t.ndim) or named > t.ndim:
        raise ShapeRuntimeError(f"{op}: the number of subscripts in the equation ({named}) does not match the number "
                                f"of dimensions ({t.ndim}) for operand {k}"
                                f"{' and no ellipsis was given' if not ell else ''}")
    return labels, t.ndim - named


def _diagonal(t, labels, label):
    """Merge every repetition of `label` in one operand into one dim (the diagonal, moved last),
    as a strided view (torch.diagonal): no off-diagonal value takes part, so a NaN/inf there
    cannot reach the result (a mask multiply would give 0·NaN)."""
    while labels.count(label) > 1:
        d1 = labels.index(label)
        d2 = labels.index(label, d1 + 1)
        t = t.diagonal(0, d1, d2)
        labels = [l for d, l in enumerate(labels) if d not in (d1, d2)] + [label]
    return t, labels


def _sum_labels(t, labels, drop):
    dims = tuple(i for i, l in enumerate(labels) if l in drop)
    if not dims:
        return t, labels
    return t.sum(dim=dims), [l for l in labels if l not in drop]


def _contract(a, la, b, lb, keep, sizes):
    """Contract operand a (labels la) with b (labels lb) by one (batched) matmul; labels in
    `keep` (the output's and later operands') survive."""
    a, la = _sum_labels(a, la, {l for l in la if l not in lb and l not in keep})
    b, lb = _sum_labels(b, lb, {l for l in lb if l not in la and l not in keep})
    batch = [l for l in la if l in lb and l in keep]
    summed = [l for l in la if l in lb and l not in keep]
    a_only = [l for l in la if l not in lb]
    b_only = [l for l in lb if l not in la]

    def arrange(t, lt, order):
        t = t.permute([lt.index(l) for l in order]) if order != lt else t
        target = tuple(sizes[l] for l in order)
        if tuple(t.shape) != target:  # size-1 dims broadcast against the other operand
            t = t.expand(target)
        return t

    a = arrange(a, la, batch + a_only + summed)
    b = arrange(b, lb, batch + summed + b_only)
    nb, m, k, n = (_prod(sizes[l] for l in g) for g in (batch, a_only, summed, b_only))
    if batch:
        res = a.reshape(nb, m, k) @ b.reshape(nb, k, n)
    else:
        res = a.reshape(m, k) @ b.reshape(k, n)
    out_labels = batch + a_only + b_only
    return res.reshape(tuple(sizes[l] for l in out_labels)), out_labels


@register("einsum", method=False)
def einsum(*args):
    """Einstein summation, as torch.einsum: `einsum('bij,bjk->bik', x, y)`, operands as varargs
    or one list, '...' for broadcast dims, repeated subscripts in an operand for diagonals and
    traces, implicit output (the subscripts seen once, sorted), and the sublist format
    `einsum(x, [0, 1], y, [1, 2], [0, 2])`. Composed of permute/reshape/sum/matmul, so it runs
    on every device and is differentiable."""
    op = "einsum"
    T = tensor_cls()
    if not args:
        raise TypeError(f"{op}: expected an equation and operands")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args, op)
    for k, t in enumerate(operands):
        if not isinstance(t, T):
            raise TypeError(f"{op}: operand {k} must be a Tensor, got {type(t).__name__}")
    if not operands:
        raise ValueError(f"{op}: must provide at least one operand")
    _same_dtype(op, *operands)
    _same_device(op, *operands)
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise ValueError(f"{op}: the equation {equation!r} has more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        which = "fewer" if len(operands) < len(terms) else "more"
        raise ValueError(f"{op}: {which} operands were provided ({len(operands)}) than specified in the equation "
                         f"{equation!r} ({len(terms)})")
    parsed = [_parse_term(term, t, k, op) for k, (term, t) in enumerate(zip(terms, operands))]
    n_ell = max(e for _, e in parsed)
    ell_labels = [("...", j) for j in range(n_ell)]

    # Labels per operand (ellipsis dims right-aligned), and each label's size (1 broadcasts).
    ops, sizes = [], {}
    for k, ((labels, e), t) in enumerate(zip(parsed, operands)):
        full = []
        for l in labels:
            full.extend(ell_labels[n_ell - e:] if l is None else [l])
        for d, l in enumerate(full):
            n = t.shape[d]
            first = full.index(l)
            if first != d and t.shape[first] != n:
                raise ShapeRuntimeError(f"{op}: subscript {l} is repeated for operand {k} but the sizes don't match, "
                                        f"{t.shape[first]} != {n}")
            seen = sizes.get(l)
            if seen is not None and seen != n and 1 not in (seen, n):
                name = "..." if isinstance(l, tuple) else l
                raise ShapeRuntimeError(f"{op}: subscript {name} has size {n} for operand {k} which does not broadcast "
                                        f"with previously seen size {seen}")
            if seen is None or seen == 1:
                sizes[l] = n
        ops.append((t, full))

    counts = {}
    for _, full in ops:
        for l in full:
            if not isinstance(l, tuple):
                counts[l] = counts.get(l, 0) + 1
    if arrow:
        out_labels = []
        i = 0
        while i < len(rhs):
            c = rhs[i]
            if rhs[i:i + 3] == "...":
                out_labels.extend(ell_labels)
                i += 3
                continue
            if c not in _LETTERS:
                raise ValueError(f"{op}: invalid subscript {c!r} in the output, subscripts must be in [a-zA-Z]")
            if c in out_labels:
                raise ValueError(f"{op}: output subscript {c} appears more than once in the output")
            if c not in counts:
                raise ValueError(f"{op}: output subscript {c} does not appear in the equation for any input operand")
            out_labels.append(c)
            i += 1
    else:
        out_labels = ell_labels + sorted(l for l, c in counts.items() if c == 1)

    # Per operand: diagonals of repeated labels, then sum out labels no one else needs.
    prepared = []
    for k, (t, full) in enumerate(ops):
        for l in dict.fromkeys(full):
            if full.count(l) > 1:
                t, full = _diagonal(t, full, l)
        others = {l for j, (_, f) in enumerate(ops) if j != k for l in f}
        t, full = _sum_labels(t, full, {l for l in full if l not in others and l not in out_labels})
        prepared.append((t, full))

    t, labels = prepared[0]
    for k in range(1, len(prepared)):
        keep = set(out_labels) | {l for _, f in prepared[k + 1:] for l in f}
        t, labels = _contract(t, labels, prepared[k][0], prepared[k][1], keep, sizes)
    t, labels = _sum_labels(t, labels, {l for l in labels if l not in out_labels})
    if labels != out_labels:
        t = t.permute([labels.index(l) for l in out_labels])
    target = tuple(sizes[l] for l in out_labels)
    if tuple(t.shape) != target:
        t = t.expand(target)
    return t


# ---- cross / cdist ------------------------------------------------------------------------------
def _cross_last(a, b):
    """cross product along the last dim (size 3), with the rolls as index arithmetic (roll, a
    differentiable op on every device): a x b = roll1(a) * roll2(b) - roll2(a) * roll1(b), with
    roll1(v) = (v1, v2, v0), roll2(v) = (v2, v0, v1). Each component reads only the two others,
    so a NaN/inf stays out of its own component (a 3x3 matmul would spread it as 0·NaN)."""
    a1, a2 = a.roll(-1, -1), a.roll(1, -1)
    b1, b2 = b.roll(-1, -1), b.roll(1, -1)
    return a1 * b2 - a2 * b1


def cross_dim(input, other, dim, op):
    _check(input, op), _check(other, op, "other")
    _same_dtype(op, input, other)
    _same_device(op, input, other)
    if input.ndim != other.ndim:
        raise ShapeRuntimeError(f"{op}: inputs must have the same number of dimensions, got {input.ndim} and {other.ndim}")
    if dim is not None:
        from .reduce import normalize_dims

        (d,) = normalize_dims(dim, input.ndim, op)
        if input.shape[d] != 3 or other.shape[d] != 3:
            raise ShapeRuntimeError(f"{op}: inputs dimension {dim} must have length 3. "
                                    f"Got {input.shape[d]} and {other.shape[d]}")
    try:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    except ValueError:
        raise ShapeRuntimeError(f"{op}: shapes {tuple(input.shape)} and {tuple(other.shape)} do not broadcast") from None
    if dim is None:
        found = [d for d, n in enumerate(shape) if n == 3]
        if not found:
            raise ShapeRuntimeError(f"{op}: no dimension of size 3 in input of shape {shape}")
        dim = found[0]
    from .reduce import normalize_dims

    (d,) = normalize_dims(dim, len(shape), op)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise ShapeRuntimeError(f"{op}: inputs dimension {dim} must have length 3. Got {input.shape[d]} and {other.shape[d]}")
    a, b = input.expand(shape), other.expand(shape)
    last = len(shape) - 1
    if d != last:
        a, b = a.transpose(d, last), b.transpose(d, last)
    c = _cross_last(a, b)
    return c.transpose(d, last) if d != last else c


@register("cross")
def cross(input, other, dim=None, *, out=None):
    """The 3-D cross product along `dim` (None: the first dim of size 3, as torch.cross)."""
    return _out(cross_dim(input, other, dim, "cross"), out, "cross")


@register("cdist", method=False)
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M): (..., P, R), as
    torch.cdist. p=2 uses a matmul when P or R > 25 (compute_mode as torch's)."""
    op = "cdist"
    _check(x1, op, "x1"), _check(x2, op, "x2")
    for name, x in (("x1", x1), ("x2", x2)):
        if x.ndim < 2:
            raise ShapeRuntimeError(f"{op}: only supports at least 2D tensors, {name} got: {x.ndim}D")
        if not dtypes.is_float(x.dtype):
            raise DtypeRuntimeError(f"{op}: only supports floating-point dtypes, {name} got: {x.dtype}")
    _same_dtype(op, x1, x2)
    _same_device(op, x1, x2)
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeRuntimeError(f"{op}: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    p = _scalar(p, op, "p")
    if p < 0:
        raise ValueError(f"{op}: only supports non-negative p values, got p={p}")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"{op}: {compute_mode!r} is not a valid value for compute_mode (expected one of {modes})")
    try:
        batch = np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    except ValueError:
        raise ShapeRuntimeError(f"{op}: batch dims of x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} do not broadcast") from None
    P, R, M = x1.shape[-2], x2.shape[-2], x1.shape[-1]
    a = x1.expand(batch + (P, M))
    b = x2.expand(batch + (R, M))
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist"
                         or (compute_mode == modes[0] and (P > 25 or R > 25)))
    if use_mm and M:
        # ||a||^2 + ||b||^2 - 2 a.b, clamped at 0; the sqrt gets a zero gradient at 0 distance.
        d2 = (a * a).sum(dim=-1, keepdim=True) + (b * b).sum(dim=-1).unsqueeze(-2) - 2 * (a @ b.transpose(-1, -2))
        d2 = d2.clamp(min=0)
        zero = d2 == 0
        return G.where(zero, 0.0, G.where(zero, 1.0, d2).sqrt())
    diff = a.unsqueeze(-2) - b.unsqueeze(-3)  # (..., P, R, M)
    return vector_norm(diff, p, dim=-1)


# ---- norms --------------------------------------------------------------------------------------
class VectorNorm(Function):
    """The ord-norm over `dims`: (sum |a|^ord)^(1/ord); 0 counts non-zeros, inf/-inf are the
    max/min |a|. The gradient is zero where the norm is zero (as torch's)."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, ord, dims, keepdim):
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        absa = np.abs(a)
        if ord == 2:
            y = np.sqrt((a * a).sum(axis=dims, keepdims=keepdim))
        elif ord == 1:
            y = absa.sum(axis=dims, keepdims=keepdim)
        elif ord == math.inf:
            y = absa.max(axis=dims, keepdims=keepdim)
        elif ord == -math.inf:
            y = absa.min(axis=dims, keepdims=keepdim)
        elif ord == 0:
            y = (a != 0).sum(axis=dims, keepdims=keepdim).astype(a.dtype)
        else:
            with np.errstate(divide="ignore"):
                y = (absa ** ord).sum(axis=dims, keepdims=keepdim) ** (1.0 / ord)
        from ._util import asarray

        y = asarray(y, a.dtype)
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved
        ord = ctx.ord
        if not ctx.keepdim:
            g, y = G.expand_dims(g, ctx.dims), G.expand_dims(y, ctx.dims)
        if ord == 0:
            return a * 0 * g
        sign = G.sign(a)
        if ord == 1:
            return g * sign
        if ord == 2:
            return g * a / G.where(y == 0, 1.0, y)
        absa = a * sign
        if ord in (math.inf, -math.inf):
            hit = G.astype(absa == y, a.dtype)
            return g * sign * hit / G.reduce_sum(hit, ctx.dims, keepdims=True)
        safe_y = G.where(y == 0, 1.0, y)
        safe_a = G.where(absa == 0, 1.0, absa)
        scale = G.where(absa == 0, 0.0, G.power(safe_a, ord - 1) / G.power(safe_y, ord - 1))
        return g * sign * scale


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """torch.linalg.vector_norm: the ord-norm of x over `dim` (None: every element)."""
    op = "linalg.vector_norm"
    _check(x, op, "x")
    from ._factory import dtype_arg
    from .reduce import normalize_dims

    if dtype is not None:
        x = x.to(dtype_arg(dtype, op))
    if not dtypes.is_float(x.dtype):
        raise DtypeRuntimeError(f"{op}: expected a floating point tensor as input, got {x.dtype}")
    ord = _scalar(ord, op, "ord")
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    dims = normalize_dims(dim, x.ndim, op)
    if ord in (math.inf, -math.inf) or ord < 0:
        if any(x.shape[d] == 0 for d in dims) or (not dims and x.numel() == 0):
            raise ShapeRuntimeError(f"{op}: cannot compute the {ord} norm on an empty tensor because the operation "
                                    "does not have an identity")
    if x.ndim == 0:  # |x|, through a 1-element vector
        return _out(VectorNorm.apply(x.reshape(1), float(ord), (0,), False).reshape(()), out, op)
    if not dims:
        dims = tuple(range(x.ndim))
    return _out(VectorNorm.apply(x, float(ord), dims, bool(keepdim)), out, op)


# ---- decompositions (cpu) -------------------------------------------------------------------
def _cpu_only(t, op):
    if type(t._data) is not np.ndarray:
        raise NotImplementedError(f"{op}: not implemented on the wgpu device (it runs LAPACK through numpy); "
                                  f"move the tensor to cpu first, e.g. {op}(A.cpu())")


def _square(t, op, name="A"):
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ShapeRuntimeError(f"{op}: {name} must be batches of square matrices, got shape {tuple(t.shape)}")
    if not dtypes.is_float(t.dtype):
        raise DtypeRuntimeError(f"{op}: expected a floating point tensor, got {t.dtype}")


def _lapack(fn, op, what):
    try:
        return fn()
    except np.linalg.LinAlgError as e:
        raise LinAlgError(f"{op}: {what} ({e})") from None


def _inv_any(x):
    """inverse of a raw array or (in double backward) a Tensor, differentiably."""
    if G.is_tensor(x):
        return inverse(x)
    return _lapack(lambda: np.linalg.inv(x), "inverse", "the matrix is singular")


class Inverse(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        y = _lapack(lambda: np.linalg.inv(a), "linalg.inv",
                    "the inversion could not be completed because the input matrix is singular")
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        yt = G.swapaxes(y, -1, -2)
        return -G.matmul(G.matmul(yt, g), yt)


@register("inverse")
def inverse(input, *, out=None):
    """The inverse of a square matrix (or a batch), as torch.inverse / torch.linalg.inv (cpu)."""
    op = "inverse"
    _check(input, op, "A")
    _square(input, op)
    _cpu_only(input, op)
    return _out(Inverse.apply(input), out, op)


class Det(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        y = np.asarray(np.linalg.det(a), dtype=a.dtype)
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved
        s = tuple(g.shape) + (1, 1)
        scale = (g * y).reshape(s)
        if not G.is_tensor(a) and bool((y == 0).any()):
            return scale * 0 + _adjugate_t(a) * g.reshape(s)  # singular: d det / dA = adj(A)^T
        return scale * G.swapaxes(_inv_any(a), -1, -2)


def _adjugate_t(a):
    """adj(A)^T for (batches of) possibly singular matrices, from the SVD: A = U S V^T gives
    adj(A) = det(U) det(V) V diag(prod_{j != i} s_j) U^T."""
    u, s, vt = np.linalg.svd(a)
    n = s.shape[-1]
    prods = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1) if n else s
    sign = (np.linalg.det(u) * np.linalg.det(vt))[..., None, None]
    adj = sign * np.matmul(np.swapaxes(vt, -1, -2) * prods[..., None, :], np.swapaxes(u, -1, -2))
    return np.swapaxes(adj, -1, -2).astype(a.dtype)


@register("det")
def det(input):
    """The determinant of a square matrix (or a batch), as torch.det / torch.linalg.det (cpu)."""
    op = "det"
    _check(input, op, "A")
    _square(input, op)
    _cpu_only(input, op)
    return Det.apply(input)


_TRIL_HALF = {}


def _phi_mask(n, dtype):
    """tril(ones) with 0.5 on the diagonal: Phi(X) = X * mask."""
    key = (n, np.dtype(dtype))
    if key not in _TRIL_HALF:
        _TRIL_HALF[key] = (np.tril(np.ones((n, n))) - 0.5 * np.eye(n)).astype(dtype)
    return _TRIL_HALF[key]


class Cholesky(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        low = _lapack(lambda: np.linalg.cholesky(a), "linalg.cholesky",
                      "the factorization could not be completed because the input is not positive-definite")
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def backward(ctx, g):
        # torch's cholesky_backward: L^{-H} Phi(L^H gL) L^{-1}, symmetrised.
        (low,) = ctx.saved
        n = low.shape[-1]
        mask = _phi_mask(n, low.dtype)
        phi = G.matmul(G.swapaxes(low, -1, -2), g) * mask
        linv = _inv_any(low)
        ga = G.matmul(G.matmul(G.swapaxes(linv, -1, -2), phi), linv)
        return (ga + G.swapaxes(ga, -1, -2)) * 0.5


@register("cholesky")
def cholesky(input, upper=False, *, out=None):
    """The Cholesky factor of a symmetric positive-definite matrix: L (lower, L @ L.mT = A) or,
    with upper=True, U = L.mT, as torch.cholesky / torch.linalg.cholesky (cpu)."""
    op = "cholesky"
    _check(input, op, "A")
    _square(input, op)
    _cpu_only(input, op)
    low = Cholesky.apply(input)
    return _out(low.transpose(-1, -2) if upper else low, out, op)


class Solve(Function):
    """X with A X = B for B of shape (..., n, k); batch dims broadcast."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, b):
        x = _lapack(lambda: np.linalg.solve(a, b), "linalg.solve",
                    "the solve could not be completed because the input matrix is singular")
        ctx.save_for_backward(a, x)
        ctx.shapes = (tuple(a.shape), tuple(b.shape))
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved
        at = G.swapaxes(a, -1, -2)
        gb = Solve.apply(at, g) if G.is_tensor(g) or G.is_tensor(at) else _lapack(
            lambda: np.linalg.solve(at, g), "linalg.solve", "singular matrix in backward")
        ga = None
        if ctx.needs_input_grad[0]:
            ga = G.sum_to(-G.matmul(gb, G.swapaxes(x, -1, -2)), ctx.shapes[0])
        return ga, G.sum_to(gb, ctx.shapes[1])


def solve(A, B, *, left=True, out=None):
    """torch.linalg.solve: X with A X = B (left=True) or X A = B. B is a batch of vectors when it
    is 1-D or has A's batch shape plus n; otherwise (..., n, k). cpu only."""
    op = "linalg.solve"
    _check(A, op, "A"), _check(B, op, "B")
    _square(A, op)
    _cpu_only(A, op), _cpu_only(B, op)
    _same_dtype(op, A, B)
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:
        A = A.transpose(-1, -2)
        if not vector:
            B = B.transpose(-1, -2)
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != n:
        raise ShapeRuntimeError(f"{op}: incompatible shapes of A and B for the equation AX = B "
                                f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2] if B.ndim > 1 else ''}x{B.shape[-1]})")
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        raise ShapeRuntimeError(f"{op}: batch dims of A {tuple(A.shape)} and B {tuple(B.shape)} do not broadcast") from None
    x = Solve.apply(A, b)
    if vector:
        x = x.squeeze(-1)
    elif not left:
        x = x.transpose(-1, -2)
    return _out(x, out, op)
