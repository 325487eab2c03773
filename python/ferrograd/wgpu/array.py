"""GpuArray: an n-d strided view of a pooled wgpu buffer — what a "wgpu" Tensor holds where a
CPU Tensor holds a numpy array. Strides and offset count elements (not bytes, unlike numpy), so
kernels bind the whole buffer and index it themselves; transposes and slices are free views.

It behaves like a numpy array for what ferrograd's ops do to `Tensor.data`: numpy ufuncs
(`__array_ufunc__`, see elementwise.py), numpy functions (`__array_function__`, functions.py),
indexing (indexing.py), reductions (reduce.py) and the ndarray methods below. It never converts
to a numpy array implicitly: `__array__`, `__bool__`, `__float__` raise TypeError, so a hidden
device-to-host copy shows up as an error; `.numpy()`, `.item()` and `.tolist()` read back.

Dtypes: WGSL has 32-bit types only. float32, int32 and uint32 are stored as they are; bool is
stored as one u32 (0 or 1) per element; int64 (class indices, embedding ids, argmax results) is
stored as int32: uploads check the range and raise OverflowError outside int32, arithmetic on
it wraps at 32 bits. float64 is refused with a TypeError.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import runtime

# Logical dtype -> the element type the buffer holds.
STORED = {
    np.dtype("float32"): np.dtype("float32"),
    np.dtype("int32"): np.dtype("int32"),
    np.dtype("uint32"): np.dtype("uint32"),
    np.dtype("int64"): np.dtype("int32"),
    np.dtype("bool"): np.dtype("uint32"),
}
DEVICE_DTYPES = tuple(STORED)
_I32 = np.iinfo(np.int32)


def contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(int(n), 1)
    return tuple(reversed(strides))


def check_dtype(dtype, op: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt == np.float64:
        raise TypeError(f"{op}: float64 is not supported on the wgpu device (use float32)")
    if dt not in STORED:
        names = ", ".join(str(d) for d in DEVICE_DTYPES)
        raise TypeError(f"{op}: dtype {dt} is not supported on the wgpu device (device dtypes: {names})")
    return dt


_check_dtype = check_dtype  # old name


def to_stored(a: np.ndarray, op: str) -> np.ndarray:
    """A host array as the buffer stores it (int64 range-checked to int32, bool as u32)."""
    dt = check_dtype(a.dtype, op)
    if dt == np.int64 and a.size and (a.min() < _I32.min or a.max() > _I32.max):
        raise OverflowError(f"{op}: int64 values outside the int32 range cannot live on the wgpu device")
    return np.ascontiguousarray(a, dtype=STORED[dt])


class Flags(NamedTuple):
    """The part of ndarray.flags that code checks on arrays it is handed."""

    c_contiguous: bool
    writeable: bool


class GpuArray:
    __slots__ = ("shape", "dtype", "storage", "strides", "offset", "__weakref__")
    __array_priority__ = 2000  # above Tensor's, so ndarray (op) GpuArray defers to us

    def __init__(self, shape, dtype, storage: runtime.Storage, strides=None, offset: int = 0):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.storage = storage
        self.strides = contiguous_strides(self.shape) if strides is None else tuple(int(s) for s in strides)
        self.offset = int(offset)  # elements

    @classmethod
    def empty(cls, shape, dtype=np.float32) -> "GpuArray":
        dtype = check_dtype(dtype, "empty")
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
        nbytes = math.prod(shape) * STORED[dtype].itemsize
        return cls(shape, dtype, runtime.get().alloc(nbytes))

    @classmethod
    def from_numpy(cls, a) -> "GpuArray":
        a = np.asarray(a)
        stored = to_stored(a, "from_numpy")
        return cls(a.shape, a.dtype, runtime.get().upload(stored if stored.size else np.zeros(1, stored.dtype)))

    @property
    def stored_dtype(self) -> np.dtype:
        return STORED[self.dtype]

    def numpy(self) -> np.ndarray:
        """A host copy (waits for the recorded work that produces it)."""
        if self.size == 0:
            return np.empty(self.shape, self.dtype)
        # Read the span the view covers, then let numpy apply the strides.
        lo, hi = runtime.span(self.offset, self.shape, self.strides)
        sdt = self.stored_dtype
        item = sdt.itemsize
        raw = runtime.get().read(self.storage, lo * item, (hi - lo) * item)
        flat = np.frombuffer(raw, dtype=sdt, count=hi - lo)
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset - lo:], self.shape, tuple(st * item for st in self.strides)
        )
        return view.astype(self.dtype) if sdt != self.dtype else np.array(view)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item: only a one-element array converts to a Python scalar, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    # ---- facts -------------------------------------------------------------------------------
    @property
    def is_contiguous(self) -> bool:
        return all(s == c for s, c, n in zip(self.strides, contiguous_strides(self.shape), self.shape) if n > 1)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def itemsize(self) -> int:
        """Bytes per element in the buffer (4 for every device dtype, int64 and bool included)."""
        return STORED[self.dtype].itemsize

    @property
    def nbytes(self) -> int:
        """Bytes the elements take in the buffer (stored dtype), not numpy's logical size."""
        return self.size * STORED[self.dtype].itemsize

    @property
    def flags(self) -> "Flags":
        return Flags(self.is_contiguous, True)

    @property
    def device(self) -> str:
        return "wgpu"

    def binding(self):
        """The whole buffer, for `runtime.launch`; kernels index it with offset and strides."""
        return self.storage

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self):
        return f"GpuArray(shape={self.shape}, dtype={self.dtype})"

    # ---- no implicit host copies -------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"GpuArray {self.shape} {self.dtype}: something tried to convert a wgpu device array to a numpy "
            "array implicitly (np.asarray / np.array / a numpy function without a wgpu implementation); "
            "read it back explicitly with .numpy() or tensor.cpu()"
        )

    def _no_host(self, what):
        raise TypeError(
            f"GpuArray {self.shape}: {what} needs the value on the host; read it back explicitly with .item()"
        )

    def __bool__(self):
        self._no_host("bool()")

    def __float__(self):
        self._no_host("float()")

    def __int__(self):
        self._no_host("int()")

    def __index__(self):
        self._no_host("use as an index")

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ---- numpy protocols ---------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from . import elementwise

        return elementwise.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from . import functions

        return functions.array_function(func, types, args, kwargs)

    # ---- views and copies --------------------------------------------------------------------
    def reshape(self, *shape, order="C"):
        from . import views

        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape
        return views.reshape(self, shape)

    def transpose(self, *axes):
        from . import views

        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]  # t.transpose((1, 0)), t.transpose(np.array(...)), t.transpose(None)
        return views.transpose(self, None if axes is None or len(axes) == 0 else tuple(int(a) for a in axes))

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        from . import views

        return views.swapaxes(self, -1, -2)

    def swapaxes(self, a, b):
        from . import views

        return views.swapaxes(self, a, b)

    def squeeze(self, axis=None):
        from . import views

        return views.squeeze(self, axis)

    def ravel(self):
        return self.reshape(-1)

    def flatten(self):
        return self.copy().reshape(-1)

    def astype(self, dtype, copy=True, **_):
        from . import elementwise

        dt = check_dtype(dtype, "astype")
        if dt == self.dtype and not copy:
            return self
        if STORED[dt] == self.stored_dtype and not copy and dt != np.bool_ and self.dtype != np.bool_:
            return GpuArray(self.shape, dt, self.storage, self.strides, self.offset)  # int64 <-> int32
        return elementwise.copy(self, dtype=dt)

    def copy(self, order="C"):
        from . import elementwise

        return elementwise.copy(self)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()  # optimizer state_dict deep-copies its buffers

    def fill(self, value):
        from . import elementwise

        elementwise.assign(self, value)

    def __getitem__(self, key):
        from . import indexing

        return indexing.getitem(self, key)

    def __setitem__(self, key, value):
        from . import indexing

        indexing.setitem(self, key, value)

    # ---- reductions --------------------------------------------------------------------------
    def sum(self, axis=None, dtype=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "sum")
        from . import reduce

        out = reduce.reduce("sum", self, axis, keepdims)
        return out if dtype is None else out.astype(dtype, copy=False)

    def mean(self, axis=None, dtype=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "mean")
        from . import reduce

        return reduce.mean(self, axis, keepdims)

    def var(self, axis=None, dtype=None, *, ddof=0, keepdims=False, **unsupported):
        _refuse(unsupported, "var")
        from . import reduce

        return reduce.var(self, axis, ddof, keepdims)

    def std(self, axis=None, dtype=None, *, ddof=0, keepdims=False, **unsupported):
        _refuse(unsupported, "std")
        return np.sqrt(self.var(axis, ddof=ddof, keepdims=keepdims))

    def prod(self, axis=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "prod")
        from . import reduce

        return reduce.reduce("prod", self, axis, keepdims)

    def max(self, axis=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "max")
        from . import reduce

        return reduce.reduce("max", self, axis, keepdims)

    def min(self, axis=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "min")
        from . import reduce

        return reduce.reduce("min", self, axis, keepdims)

    def any(self, axis=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "any")
        from . import reduce

        return reduce.reduce("max", self.astype(np.bool_, copy=False), axis, keepdims)

    def all(self, axis=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "all")
        from . import reduce

        return reduce.reduce("min", self.astype(np.bool_, copy=False), axis, keepdims)

    def argmax(self, axis=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "argmax")
        from . import reduce

        return reduce.arg("argmax", self, axis, keepdims)

    def argmin(self, axis=None, *, keepdims=False, **unsupported):
        _refuse(unsupported, "argmin")
        from . import reduce

        return reduce.arg("argmin", self, axis, keepdims)

    def clip(self, min=None, max=None):
        return np.clip(self, min, max)

    # ---- scans, sorting, selection (scan.py, sort.py, layout.py, select.py) -------------------
    def cumsum(self, axis=None, dtype=None, out=None):
        return np.cumsum(self, axis, dtype, out)

    def cumprod(self, axis=None, dtype=None, out=None):
        return np.cumprod(self, axis, dtype, out)

    def sort(self, axis=-1, kind=None, order=None, *, stable=None):
        """In place, like ndarray.sort (stable)."""
        from . import elementwise

        elementwise.assign(self, np.sort(self, axis, kind, order))

    def argsort(self, axis=-1, kind=None, order=None, *, stable=None):
        return np.argsort(self, axis, kind, order)

    def searchsorted(self, v, side="left", sorter=None):
        return np.searchsorted(self, v, side, sorter)

    def nonzero(self):
        return np.nonzero(self)

    def repeat(self, repeats, axis=None):
        return np.repeat(self, repeats, axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return np.diagonal(self, offset, axis1, axis2)


def _binary_operator(ufunc, reflected=False):
    def op(self, other):
        from . import elementwise

        return elementwise.apply(ufunc, (other, self) if reflected else (self, other))

    return op


def _inplace_operator(ufunc):
    def op(self, other):
        from . import elementwise

        elementwise.apply(ufunc, (self, other), out=self)
        return self

    return op


for _name, _uf in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.divide),
                   ("floordiv", np.floor_divide), ("mod", np.remainder), ("pow", np.power),
                   ("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor),
                   ("matmul", np.matmul)):
    setattr(GpuArray, f"__{_name}__", _binary_operator(_uf))
    setattr(GpuArray, f"__r{_name}__", _binary_operator(_uf, True))
    if _name != "matmul":
        setattr(GpuArray, f"__i{_name}__", _inplace_operator(_uf))
for _name, _uf in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal),
                   ("eq", np.equal), ("ne", np.not_equal)):
    setattr(GpuArray, f"__{_name}__", _binary_operator(_uf))
GpuArray.__neg__ = lambda self: np.negative(self)
GpuArray.__pos__ = lambda self: self
GpuArray.__abs__ = lambda self: np.abs(self)
GpuArray.__invert__ = lambda self: np.invert(self)
GpuArray.__hash__ = object.__hash__
del _name, _uf


def _refuse(kwargs: dict, op: str) -> None:
    """numpy arguments the device implementation does not support (where=, initial=, ...) raise
    instead of being ignored."""
    if kwargs:
        raise TypeError(f"{op}: argument(s) {', '.join(sorted(kwargs))} not supported for wgpu device arrays")


def halves(shape) -> tuple:
    """(d, ((0, h), (h, n))): the two halves of the outermost dim longer than one, along which work
    too large for one storage binding is split (each half may split again)."""
    d = next(i for i, n in enumerate(shape) if n > 1)
    return d, ((0, shape[d] // 2), (shape[d] // 2, shape[d]))


def narrow(x: GpuArray, shape: tuple, strides: tuple, d: int, start: int, stop: int) -> GpuArray:
    """Elements start:stop along dim d of x read as `shape` through `strides` (x's own, or
    broadcast ones): the halves that work split for one storage binding runs on."""
    sub = shape[:d] + (stop - start,) + shape[d + 1:]
    return GpuArray(sub, x.dtype, x.storage, strides, x.offset + start * strides[d])
