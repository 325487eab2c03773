"""Registry entries: rearranging and splitting (flip, roll, chunk, split, tensor_split, unbind,
repeat, repeat_interleave, tile, unflatten, narrow, select, movedim, swapaxes, view_as, ravel,
broadcast_to, broadcast_tensors, meshgrid, the *stack family, atleast_*d, concat, adjoint), and
corrected `flatten` / `transpose` (the hand-written Tensor methods accept out-of-range dims and
reject 0-d tensors; see the bottom of the file).

All but flip are compositions of the view Functions in ops/shape.py (Index with basic keys,
Reshape, Permute, Expand, Cat), so narrow/select/unbind/split/chunk/movedim/swapaxes/diagonal
results are views of their input, as in torch, and everything is twice differentiable. flip is a
copy (as torch's), through its own Function.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..errors import ShapeRuntimeError
from . import _generic as G
from . import _index_kernels as K
from ._util import to_host
from .registry import register
from .shape import Cat, Index, Permute
from ._args import tensor_cls as _tensor_cls, check_tensor as _check


def _int(v, op, name):
    if isinstance(v, _tensor_cls()) and v.ndim == 0 and np.dtype(v.dtype).kind in "iu":
        return int(v.item())
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__}")
    return int(v)


def _dim(dim, ndim, op, name="dim"):
    """A dim in [-n, n) (n = max(ndim, 1): a 0-d tensor takes 0 and -1, as torch) as 0..n-1."""
    dim = _int(dim, op, name)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: {name} {dim} is out of range for a tensor of {ndim} dims (expected in [{-n}, {n - 1}])")
    return dim % n


def _dims(dims, ndim, op, name="dims"):
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(_dim(d, ndim, op, name) for d in dims)
    if len(set(out)) != len(out):
        raise ShapeRuntimeError(f"{op}: {name} {tuple(dims)} repeats a dim")
    return out


def _sizes(args, op):
    """Sizes given as varargs (t.repeat(2, 3)) or as one sequence (t.repeat((2, 3)))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(_int(a, op, "sizes") for a in args)


def _along(d, key):
    """An Index key that applies `key` to dim d."""
    return (slice(None),) * d + (key,)


def _slice(input, d, start, stop):
    return Index.apply(input, _along(d, slice(start, stop)))


# ---- flip and roll -----------------------------------------------------------------------------
class Flip(Function):
    """A reversed copy along `dims` (torch.flip copies; numpy's flip is a view)."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return K.flip(a, dims) if dims and a.ndim else a.copy()

    @staticmethod
    def backward(ctx, g):
        if G.is_tensor(g):
            return Flip.apply(g, ctx.dims)
        return K.flip(g, ctx.dims) if ctx.dims and g.ndim else g.copy()


def _dims_varargs(args, dims, op):
    """`dims` given as one sequence (fg.flip(t, (0, 1)), dims=...) or, as the Tensor methods take
    them, as varargs (t.flip(0, 1))."""
    if dims is not None:
        if args:
            raise TypeError(f"{op}: dims given both positionally and as a keyword")
        args = (dims,)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: dims must be a tuple of ints, got {a!r}")
    return tuple(int(a) for a in args)


@register("flip")
def flip(input, *args, dims=None):
    """A copy of input reversed along each of `dims` (a tuple of ints; t.flip(0, 1) also works)."""
    _check(input, "flip")
    dims = _dims_varargs(args, dims, "flip")
    return Flip.apply(input, _dims(dims, input.ndim, "flip") if input.ndim else ())


@register("fliplr")
def fliplr(input):
    """flip(input, (1,)): left-right for a tensor of at least 2 dims."""
    _check(input, "fliplr")
    if input.ndim < 2:
        raise ShapeRuntimeError(f"fliplr: input must be >= 2-d, got shape {tuple(input.shape)}")
    return Flip.apply(input, (1,))


@register("flipud")
def flipud(input):
    """flip(input, (0,)): up-down for a tensor of at least 1 dim."""
    _check(input, "flipud")
    if input.ndim < 1:
        raise ShapeRuntimeError("flipud: input must be >= 1-d, got a 0-d tensor")
    return Flip.apply(input, (0,))


@register("roll")
def roll(input, shifts, dims=None):
    """Elements shifted by `shifts` along `dims` (int or tuples of equal length), wrapping
    around; dims=None rolls the flattened tensor and restores its shape."""
    _check(input, "roll")
    shifts_t = (shifts,) if not isinstance(shifts, (tuple, list)) else tuple(shifts)
    shifts_t = tuple(_int(s, "roll", "shifts") for s in shifts_t)
    if dims is None:
        if len(shifts_t) != 1:
            raise ShapeRuntimeError(f"roll: shifts {shifts_t} need dims (one per shift) when dims is None")
        return roll(input.reshape(-1), shifts_t, 0).reshape(tuple(input.shape))
    dims_t = (dims,) if not isinstance(dims, (tuple, list)) else tuple(dims)
    if len(shifts_t) != len(dims_t):
        raise ShapeRuntimeError(f"roll: shifts and dimensions must align, got {len(shifts_t)} shifts and {len(dims_t)} dims")
    out = input
    for s, dim in zip(shifts_t, dims_t):
        d = _dim(dim, input.ndim, "roll")
        n = input.shape[d] if input.ndim else 1
        s = s % n if n else 0
        if s and input.ndim:
            out = Cat.apply(d, _slice(out, d, n - s, n), _slice(out, d, 0, n - s))
    return input.clone() if out is input else out


# ---- splitting -------------------------------------------------------------------------------
def _pieces(input, d, bounds):
    """The views input[..., a:b, ...] along d for consecutive (a, b) in bounds."""
    return tuple(_slice(input, d, a, b) for a, b in bounds)


def _split_dim(input, dim, op):
    if input.ndim == 0:
        raise ShapeRuntimeError(f"{op}: expects a tensor of at least 1 dim, got a 0-d tensor")
    return _dim(dim, input.ndim, op)


@register("chunk")
def chunk(input, chunks, dim=0):
    """At most `chunks` views along dim of ceil(size / chunks) elements (the last smaller)."""
    _check(input, "chunk")
    chunks = _int(chunks, "chunk", "chunks")
    if chunks <= 0:
        raise ShapeRuntimeError(f"chunk: expects `chunks` to be greater than 0, got: {chunks}")
    d = _split_dim(input, dim, "chunk")
    n = input.shape[d]
    if n == 0:
        return _pieces(input, d, [(0, 0)] * chunks)
    step = -(-n // chunks)
    return _pieces(input, d, [(a, min(a + step, n)) for a in range(0, n, step)])


@register("split")
def split(tensor, split_size_or_sections, dim=0):
    """Views along dim: of split_size elements each (the last smaller), or of the listed sizes
    (which must sum to the dim's size)."""
    _check(tensor, "split", "tensor")
    d = _split_dim(tensor, dim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = [_int(s, "split", "split_size_or_sections") for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ShapeRuntimeError(f"split: split sizes {sizes} must be non-negative and sum exactly to {n} "
                                    f"(the input's size at dimension {d})")
        edges = np.cumsum([0] + sizes).tolist()
        return _pieces(tensor, d, list(zip(edges[:-1], edges[1:])))
    size = _int(split_size_or_sections, "split", "split_size_or_sections")
    if size < 0 or (size == 0 and n != 0):
        raise ShapeRuntimeError(f"split: split_size must be positive (0 only for an empty dim), got {size} for size {n}")
    if n == 0:
        return _pieces(tensor, d, [(0, 0)])
    return _pieces(tensor, d, [(a, min(a + size, n)) for a in range(0, n, size)])


@register("tensor_split")
def tensor_split(input, indices_or_sections, dim=0):
    """Views along dim: `sections` (int) parts as equal as possible (the first ones one longer),
    or the parts between the given indices (Python slice rules: negatives count from the end)."""
    _check(input, "tensor_split")
    T = _tensor_cls()
    spec = indices_or_sections
    if isinstance(spec, T):
        if np.dtype(spec.dtype).kind not in "iu" or spec.ndim > 1:
            raise TypeError(f"tensor_split: a tensor indices_or_sections must be a 0-d or 1-d int tensor, got "
                            f"{spec.dtype} of shape {tuple(spec.shape)}")
        values = to_host(spec._data)
        spec = int(values) if spec.ndim == 0 else [int(v) for v in values]
    d = _split_dim(input, dim, "tensor_split")
    n = input.shape[d]
    if isinstance(spec, (tuple, list)):
        idx = [_int(i, "tensor_split", "indices") for i in spec]
        edges = [None] + idx + [None]
        return tuple(Index.apply(input, _along(d, slice(a, b))) for a, b in zip(edges[:-1], edges[1:]))
    k = _int(spec, "tensor_split", "sections")
    if k <= 0:
        raise ShapeRuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
    q, r = divmod(n, k)
    sizes = [q + 1] * r + [q] * (k - r)
    edges = np.cumsum([0] + sizes).tolist()
    return _pieces(input, d, list(zip(edges[:-1], edges[1:])))


@register("unbind")
def unbind(input, dim=0):
    """The views input.select(dim, i) for every i, as a tuple."""
    _check(input, "unbind")
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = _dim(dim, input.ndim, "unbind")
    return tuple(Index.apply(input, _along(d, i) + (Ellipsis,)) for i in range(input.shape[d]))


# ---- views along one dim ---------------------------------------------------------------------
@register("narrow")
def narrow(input, dim, start, length):
    """The view of `length` elements from `start` (an int or 0-d int tensor; negative counts
    from the end) along dim."""
    _check(input, "narrow")
    if input.ndim == 0:
        raise ShapeRuntimeError("narrow: cannot be applied to a 0-dim tensor")
    d = _dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start, length = _int(start, "narrow", "start"), _int(length, "narrow", "length")
    if not -n <= start <= n:
        raise IndexError(f"narrow: start ({start}) out of range (expected to be in range of [{-n}, {n}])")
    start = start + n if start < 0 else start
    if length < 0:
        raise ShapeRuntimeError(f"narrow: length must be non-negative, got {length}")
    if start + length > n:
        raise ShapeRuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})")
    return _slice(input, d, start, start + length)


@register("select")
def select(input, dim, index):
    """The view at `index` along dim (that dim removed); negative index counts from the end."""
    _check(input, "select")
    if input.ndim == 0:
        raise IndexError("select: cannot be applied to a 0-dim tensor")
    d = _dim(dim, input.ndim, "select")
    i, n = _int(index, "select", "index"), input.shape[d]
    if not -n <= i < n:
        raise IndexError(f"select: index {i} out of range for tensor of size {tuple(input.shape)} at dimension {d}")
    return Index.apply(input, _along(d, i % n) + (Ellipsis,))  # the Ellipsis keeps a 0-d result a view


# ---- repeating -------------------------------------------------------------------------------
@register("repeat", function=False)
def repeat(input, *sizes):
    """Tensor.repeat: input tiled sizes[i] times along dim i (leading sizes add new dims)."""
    _check(input, "repeat")
    reps = _sizes(sizes, "repeat")
    if len(reps) < input.ndim:
        raise ShapeRuntimeError(f"repeat: number of dimensions of repeat dims ({len(reps)}) can not be smaller than "
                                f"number of dimensions of tensor ({input.ndim})")
    if any(r < 0 for r in reps):
        raise ShapeRuntimeError(f"repeat: repeats must be non-negative, got {reps}")
    shape = (1,) * (len(reps) - input.ndim) + tuple(input.shape)
    target = tuple(r * n for r, n in zip(reps, shape))
    if all(r == 1 for r in reps):
        return input.reshape(target).clone()
    inter = tuple(x for n in shape for x in (1, n))
    big = tuple(x for r, n in zip(reps, shape) for x in (r, n))
    return input.reshape(inter).expand(big).contiguous().reshape(target)


@register("tile")
def tile(input, *args, dims=None):
    """input repeated dims[i] times along dim i; fewer dims than input's are padded with 1s in
    front (t.tile(2, 3) also works)."""
    _check(input, "tile")
    reps = _dims_varargs(args, dims, "tile")
    reps = (1,) * (input.ndim - len(reps)) + reps
    return repeat(input, reps)


@register("repeat_interleave")
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (slice along dim; dim=None: of the flattened input) repeated `repeats` times
    (an int, or a tensor of one count per element). repeat_interleave(counts) alone gives
    arange(len(counts)) repeated by counts."""
    T = _tensor_cls()
    _check(input, "repeat_interleave")
    if repeats is None:  # torch.repeat_interleave(repeats)
        if np.dtype(input.dtype).kind not in "iu" or input.ndim > 1:
            raise TypeError(f"repeat_interleave: repeats must be a 0-d or 1-d int tensor, got {input.dtype} of shape {tuple(input.shape)}")
        counts = to_host(input._data).reshape(-1).astype(np.int64)
        if (counts < 0).any():
            raise ShapeRuntimeError("repeat_interleave: repeats must be non-negative")
        from ..tensor import tensor

        return tensor(np.repeat(np.arange(counts.size, dtype=np.int64), counts), device=input.device)
    x, d = (input.reshape(-1), 0) if dim is None else (input, _dim(dim, input.ndim, "repeat_interleave"))
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[d]
    if isinstance(repeats, T):
        if np.dtype(repeats.dtype).kind not in "iu" or repeats.ndim > 1:
            raise TypeError(f"repeat_interleave: repeats must be an int or a 0-d / 1-d int tensor, got "
                            f"{repeats.dtype} of shape {tuple(repeats.shape)}")
        counts = to_host(repeats._data).reshape(-1).astype(np.int64)
        if counts.size == 1:
            counts = np.full(n, counts[0], np.int64)
        elif counts.size != n:
            raise ShapeRuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                                    f"repeats.size(0) = {counts.size} and input.size({d}) = {n}")
    else:
        counts = np.full(n, _int(repeats, "repeat_interleave", "repeats"), np.int64)
    if (counts < 0).any():
        raise ShapeRuntimeError("repeat_interleave: repeats must be non-negative")
    idx = np.repeat(np.arange(n, dtype=np.int64), counts)
    if output_size is not None and int(output_size) != idx.size:
        raise ShapeRuntimeError(f"repeat_interleave: output_size {output_size} does not match the repeats' sum {idx.size}")
    return Index.apply(x, _along(d, idx))


# ---- reshaping -------------------------------------------------------------------------------
@register("unflatten")
def unflatten(input, dim, sizes):
    """Dim `dim` reshaped to `sizes` (one of which may be -1)."""
    _check(input, "unflatten")
    if input.ndim == 0:
        raise ShapeRuntimeError("unflatten: cannot unflatten a 0-d tensor")
    d = _dim(dim, input.ndim, "unflatten")
    if not isinstance(sizes, (tuple, list)) or not sizes:
        raise TypeError(f"unflatten: sizes must be a non-empty tuple or list of ints, got {sizes!r}")
    sizes = tuple(_int(s, "unflatten", "sizes") for s in sizes)
    n = input.shape[d]
    known = math.prod(s for s in sizes if s != -1)
    bad = sizes.count(-1) > 1 or any(s < -1 for s in sizes)
    if -1 in sizes and not bad:
        bad = known == 0 or n % known != 0
        sizes = tuple(n // known if s == -1 and not bad else s for s in sizes)
    elif not bad:
        bad = known != n
    if bad:
        raise ShapeRuntimeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the size of dim {d} ({n}) "
                                "in the input tensor")
    return input.reshape(tuple(input.shape[:d]) + sizes + tuple(input.shape[d + 1:]))


@register("ravel")
def ravel(input):
    """input as 1-d (a view when its layout allows, else a copy)."""
    return _check(input, "ravel").reshape(-1)


@register("view_as", function=False)
def view_as(input, other):
    """input.view(other.size())."""
    _check(input, "view_as")
    return input.view(tuple(_check(other, "view_as", "other").shape))


@register("reshape_as", function=False)
def reshape_as(input, other):
    """input.reshape(other.size())."""
    _check(input, "reshape_as")
    return input.reshape(tuple(_check(other, "reshape_as", "other").shape))


# ---- moving dims -----------------------------------------------------------------------------
def _swap(input, a, b, op):
    _check(input, op)
    d0, d1 = _dim(a, input.ndim, op, "dim0"), _dim(b, input.ndim, op, "dim1")
    if input.ndim < 2 or d0 == d1:
        return Index.apply(input, (Ellipsis,))  # a view of the same shape
    axes = list(range(input.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(input, tuple(axes))


@register("swapaxes")
def swapaxes(input, axis0, axis1):
    """input with axes axis0 and axis1 exchanged (a view), as torch.swapaxes / transpose."""
    return _swap(input, axis0, axis1, "swapaxes")


@register("swapdims")
def swapdims(input, dim0, dim1):
    """input with dims dim0 and dim1 exchanged (a view), as torch.swapdims / transpose."""
    return _swap(input, dim0, dim1, "swapdims")


@register("movedim", aliases=("moveaxis",))
def movedim(input, source, destination):
    """input with the dims in `source` moved to the positions in `destination` (a view); the
    other dims keep their order."""
    _check(input, "movedim")
    src = (source,) if not isinstance(source, (tuple, list)) else tuple(source)
    dst = (destination,) if not isinstance(destination, (tuple, list)) else tuple(destination)
    if len(src) != len(dst):
        raise ShapeRuntimeError(f"movedim: invalid source or destination dims: source ({list(src)}) should contain the "
                                f"same number of dims as destination ({list(dst)})")
    s = tuple(_dim(x, input.ndim, "movedim", "source") for x in src)
    t = tuple(_dim(x, input.ndim, "movedim", "destination") for x in dst)
    if len(set(s)) != len(s):
        raise ShapeRuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(t)) != len(t):
        raise ShapeRuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    if input.ndim < 2:
        return Index.apply(input, (Ellipsis,))
    order = [i for i in range(input.ndim) if i not in s]
    for d, i in sorted(zip(t, s)):
        order.insert(d, i)
    return Permute.apply(input, tuple(order))


@register("adjoint")
def adjoint(input):
    """The conjugate transpose of the last two dims (a view; real tensors: the transpose)."""
    _check(input, "adjoint")
    if input.ndim < 2:
        raise ShapeRuntimeError(f"adjoint: is only supported on matrices or batches of matrices, got a {input.ndim}-D tensor")
    return _swap(input, -2, -1, "adjoint")


# ---- broadcasting ----------------------------------------------------------------------------
@register("broadcast_to")
def broadcast_to(input, size):
    """input expanded (a view) to `size`; -1 keeps an existing dim."""
    _check(input, "broadcast_to")
    size = _sizes((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "broadcast_to")
    lead = len(size) - input.ndim
    ok = lead >= 0 and all(s >= 0 for s in size[:lead]) and all(
        s == -1 or n == 1 or s == n for s, n in zip(size[lead:], input.shape))
    if not ok or any(s < -1 for s in size):
        raise ShapeRuntimeError(f"broadcast_to: cannot broadcast a tensor of shape {tuple(input.shape)} to {size} "
                                "(-1 only keeps an existing dim)")
    return input.expand(size)


@register("broadcast_tensors", method=False)
def broadcast_tensors(*tensors):
    """The tensors expanded (views) to their common broadcast shape, as a tuple."""
    for i, t in enumerate(tensors):
        _check(t, "broadcast_tensors", f"tensors[{i}]")
    try:
        shape = tuple(np.broadcast_shapes(*(tuple(t.shape) for t in tensors)))
    except ValueError:
        raise ShapeRuntimeError(f"broadcast_tensors: shape mismatch: shapes {[tuple(t.shape) for t in tensors]} "
                                "cannot be broadcast to a single shape") from None
    return tuple(t if tuple(t.shape) == shape else t.expand(shape) for t in tensors)


@register("meshgrid", method=False)
def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-d (or 0-d) tensors: with indexing='ij' (the default) output i
    varies along dim i; 'xy' swaps the first two dims (numpy/matlab's Cartesian order)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise ValueError("meshgrid: expects a non-empty list of tensors")
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for i, t in enumerate(tensors):
        _check(t, "meshgrid", f"tensors[{i}]")
        if t.ndim > 1:
            raise ShapeRuntimeError(f"meshgrid: expected 0D or 1D tensor in the tensor list but got a tensor of shape {tuple(t.shape)}")
        if t.dtype != tensors[0].dtype or t.device != tensors[0].device:
            raise TypeError("meshgrid: expects all tensors to have the same dtype and device, got "
                            f"{[(str(x.dtype), str(x.device)) for x in tensors]}")
    pos = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(tensors)
    for t, p in zip(tensors, pos):
        shape[p] = t.numel()
    out = []
    for t, p in zip(tensors, pos):
        view = [1] * len(tensors)
        view[p] = t.numel()
        out.append(t.reshape(tuple(view)).expand(tuple(shape)))
    return tuple(out)


# ---- joining ---------------------------------------------------------------------------------
def _seq(tensors, op):
    if isinstance(tensors, _tensor_cls()) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op}: expects a tuple or list of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        _check(t, op, f"tensors[{i}]")
    return list(tensors)


def _cat(tensors, dim, op):
    from ..tensor import cat

    # torch skips legacy empty 1-d tensors (shape (0,)) among tensors of more dims
    if any(t.ndim > 1 for t in tensors):
        kept = [t for t in tensors if tuple(t.shape) != (0,)]
        tensors = kept or tensors
    try:
        return cat(tensors, dim)
    except ValueError as e:
        raise ShapeRuntimeError(f"{op}: {e}") from None


@register("concat", method=False)
def concat(tensors, dim=0):
    """torch.concat: alias of cat."""
    return _cat(_seq(tensors, "concat"), dim, "concat")


@register("concatenate", method=False)
def concatenate(tensors, axis=0):
    """torch.concatenate: alias of cat (numpy's argument name)."""
    return _cat(_seq(tensors, "concatenate"), axis, "concatenate")


def _atleast(tensors, n, op):
    def one(t):
        _check(t, op)
        if t.ndim >= n:
            return t
        if n == 1 or t.ndim == 0:
            return t.reshape((1,) * n)
        if n == 2:
            return t.reshape((1,) + tuple(t.shape))
        return t.reshape((1, t.shape[0], 1) if t.ndim == 1 else tuple(t.shape) + (1,))

    if len(tensors) == 1 and isinstance(tensors[0], _tensor_cls()):
        return one(tensors[0])
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    return tuple(one(t) for t in tensors)


@register("atleast_1d", method=False)
def atleast_1d(*tensors):
    """Each tensor viewed with at least 1 dim (0-d -> (1,)); one tensor in, one out."""
    return _atleast(tensors, 1, "atleast_1d")


@register("atleast_2d", method=False)
def atleast_2d(*tensors):
    """Each tensor viewed with at least 2 dims (1-d (n,) -> (1, n))."""
    return _atleast(tensors, 2, "atleast_2d")


@register("atleast_3d", method=False)
def atleast_3d(*tensors):
    """Each tensor viewed with at least 3 dims ((n,) -> (1, n, 1), (m, n) -> (m, n, 1))."""
    return _atleast(tensors, 3, "atleast_3d")


@register("hstack", method=False)
def hstack(tensors):
    """Concatenated along dim 1 (dim 0 for 1-d tensors), after atleast_1d."""
    ts = [atleast_1d(t) for t in _seq(tensors, "hstack")]
    return _cat(ts, 0 if ts[0].ndim == 1 else 1, "hstack")


@register("vstack", method=False, aliases=("row_stack",))
def vstack(tensors):
    """Concatenated along dim 0, after atleast_2d (1-d (n,) becomes a row (1, n))."""
    return _cat([atleast_2d(t) for t in _seq(tensors, "vstack")], 0, "vstack")


@register("dstack", method=False)
def dstack(tensors):
    """Concatenated along dim 2, after atleast_3d."""
    return _cat([atleast_3d(t) for t in _seq(tensors, "dstack")], 2, "dstack")


@register("column_stack", method=False)
def column_stack(tensors):
    """0-d and 1-d tensors as columns (n, 1), then concatenated along dim 1."""
    ts = [t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in _seq(tensors, "column_stack")]
    return _cat(ts, 1, "column_stack")


# ---- corrections of hand-written Tensor methods (tensor.py) -------------------------------------
# tensor.py's flatten wraps out-of-range dims silently (flatten(0, 5) on 3 dims works) and its
# transpose fails on 0-d tensors with a bare "tuple index out of range"; these follow torch. Once
# the hand-written methods are gone, these are Tensor.flatten / Tensor.transpose.
@register("flatten")
def flatten(input, start_dim=0, end_dim=-1):
    """Dims start_dim..end_dim merged into one (a view when the layout allows); 0-d -> (1,)."""
    _check(input, "flatten")
    s, e = _dim(start_dim, input.ndim, "flatten", "start_dim"), _dim(end_dim, input.ndim, "flatten", "end_dim")
    if input.ndim == 0:
        return input.reshape(1)
    if s > e:
        raise ShapeRuntimeError(f"flatten: start_dim {start_dim} cannot come after end_dim {end_dim} (shape {tuple(input.shape)})")
    shape = tuple(input.shape)
    return input.reshape(shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


@register("transpose")
def transpose(input, dim0, dim1):
    """input with dims dim0 and dim1 exchanged (a view); a 0-d or 1-d tensor comes back as it is."""
    return _swap(input, dim0, dim1, "transpose")

