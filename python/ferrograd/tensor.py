"""`Tensor`: an n-d array on a device, with autograd. CPU tensors wrap numpy arrays, wgpu tensors
GpuArrays (ferrograd.wgpu.array), which the ops treat alike through numpy's protocols."""

from __future__ import annotations

import numbers
from collections import namedtuple

import numpy as np

from . import autograd, dtypes
from .device import CPU, WGPU, device as Device
from .device import of as _device_of
from .ops import arith, linalg, reduce, shape, unary
from .ops._util import asarray as _asarray
from .ops.reduce import normalize_dims
from .wgpu.array import GpuArray

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _dims_arg(args, op):
    """Accept both `t.reshape(2, 3)` and `t.reshape((2, 3))`."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    for a in args:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: sizes must be ints, got {a!r}")
    return tuple(int(a) for a in args)


class Tensor:
    __slots__ = ("data", "requires_grad", "grad", "_node", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # numpy defers `ndarray op Tensor` to our reflected ops

    def __init__(self, data, requires_grad: bool = False):
        if not isinstance(data, (np.ndarray, GpuArray)):
            raise TypeError(f"Tensor: data must be a numpy array, got {type(data).__name__}; use fg.tensor()")
        dtypes.check_dtype(data.dtype, "Tensor")
        if requires_grad and not dtypes.is_float(data.dtype):
            raise TypeError(f"Tensor: only float tensors can require grad, got dtype {data.dtype}")
        self.data = data
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._node = None
        self._retains_grad = False

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """Fast path for op results, whose dtype is known to be supported."""
        t = cls.__new__(cls)
        t.data = array if isinstance(array, (np.ndarray, GpuArray)) else np.asarray(array)
        t.requires_grad = requires_grad
        t.grad = None
        t._node = None
        t._retains_grad = False
        return t

    # ---- attributes -------------------------------------------------------------------------
    @property
    def _data(self):
        """The raw array (numpy ndarray on cpu, GpuArray on wgpu)."""
        return self.data

    @_data.setter
    def _data(self, array):
        self.data = array

    @property
    def shape(self):
        return self.data.shape

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    @property
    def ndim(self):
        return self.data.ndim

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return CPU if type(self.data) is np.ndarray else _device_of(self.data)

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def T(self):
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self):
        on_device = isinstance(self.data, GpuArray)
        body = np.array2string(self.data.numpy() if on_device else self.data, separator=", ", prefix="tensor(")
        extra = "" if self.dtype == dtypes.float32 or self.dtype == dtypes.int64 else f", dtype={self.dtype}"
        where = ", device='wgpu'" if on_device else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{where}{extra}{grad})"

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy: the tensor requires grad; call .detach().numpy() instead")
        if isinstance(self.data, GpuArray):
            return self.data.numpy()  # a host copy: reading back is the explicit step
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python number, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data.reshape(()).item())

    def __array__(self, dtype=None, copy=None):
        if isinstance(self.data, GpuArray):
            raise TypeError(
                f"a wgpu tensor of shape {tuple(self.shape)} cannot be converted to a numpy array implicitly; "
                "call .cpu() or .numpy() to read it back"
            )
        return np.array(self.data, dtype=dtype, copy=copy)  # copy=True must not hand out self.data

    def detach(self):
        return Tensor._wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True):
        if requires_grad and not dtypes.is_float(self.dtype):
            raise TypeError(f"requires_grad_: only float tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        self._retains_grad = True

    def to(self, *args, dtype=None, device=None, copy=False):
        for a in args:
            if isinstance(a, (str, Device)):
                device = a
            else:
                dtype = a
        target = None if device is None else Device(device)  # raises for unknown devices
        out = self
        if dtype is not None:
            dt = dtypes.check_dtype(dtype, "to")
            if dt != self.dtype:
                if target is not None and target != self.device and target == CPU:
                    out = unary.ToDevice.apply(out, target)  # cast after reading back (float64 lives on cpu)
                out = unary.Cast.apply(out, dt)
        if target is not None and target != out.device:
            out = unary.ToDevice.apply(out, target)
        if copy and out is self:
            out = Tensor._wrap(self.data.copy(), self.requires_grad)
        return out

    def cpu(self):
        return self.to(CPU)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def clone(self):
        return self * 1 if self.requires_grad else Tensor._wrap(self.data.copy())

    # ---- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=False):
        autograd.backward(self, gradient, retain_graph)

    def _accumulate(self, g, owned=False):
        """Add `g` into `.grad`. `owned`: no one else refers to `g`, so it may become `.grad`
        without a copy; otherwise copy, since a backward may hand one array to several inputs."""
        if type(g) is not np.ndarray and isinstance(g, GpuArray):
            if self.grad is None:
                keep = owned and g.dtype == self.dtype and g.shape == self.data.shape and g.is_contiguous
                self.grad = Tensor._wrap(g if keep else g.astype(self.dtype))
            else:
                self.grad.data = self.grad.data + g.astype(self.dtype, copy=False)
            return
        if self.grad is None:
            keep = owned and g.dtype == self.dtype and g.shape == self.data.shape and g.flags.writeable
            self.grad = Tensor._wrap(g if keep else np.array(g, dtype=self.dtype))
        elif type(self.grad.data) is np.ndarray and self.grad.data.flags.writeable and self.grad.shape == g.shape:
            # In place, as PyTorch accumulates: no new gradient-sized array per backward.
            np.add(self.grad.data, g, out=self.grad.data, casting="unsafe")
        else:
            self.grad.data = self.grad.data + np.asarray(g, dtype=self.dtype)

    def zero_(self):
        self.data[...] = 0
        return self

    # ---- arithmetic -------------------------------------------------------------------------
    def _binary(self, other, fn, op, reflected=False):
        a, b = _operands(self, other, op)
        return fn.apply(b, a) if reflected else fn.apply(a, b)

    def __add__(self, o):
        return self._binary(o, arith.Add, "add")

    def __radd__(self, o):
        return self._binary(o, arith.Add, "add", True)

    def __sub__(self, o):
        return self._binary(o, arith.Sub, "sub")

    def __rsub__(self, o):
        return self._binary(o, arith.Sub, "sub", True)

    def __mul__(self, o):
        return self._binary(o, arith.Mul, "mul")

    def __rmul__(self, o):
        return self._binary(o, arith.Mul, "mul", True)

    def __truediv__(self, o):
        return self._binary(o, arith.Div, "div")

    def __rtruediv__(self, o):
        return self._binary(o, arith.Div, "div", True)

    def __pow__(self, o):
        return self._binary(o, arith.Pow, "pow")

    def __rpow__(self, o):
        return self._binary(o, arith.Pow, "pow", True)

    def __neg__(self):
        return arith.Neg.apply(self)

    def __matmul__(self, o):
        return matmul(self, o)

    def __rmatmul__(self, o):
        return matmul(o, self)

    add, sub, mul, div, pow = __add__, __sub__, __mul__, __truediv__, __pow__
    neg = __neg__

    def _compare(self, other, ufunc, op):
        a, b = _operands(self, other, op)
        return Tensor._wrap(ufunc(_raw(a), _raw(b)))

    def __lt__(self, o):
        return self._compare(o, np.less, "lt")

    def __le__(self, o):
        return self._compare(o, np.less_equal, "le")

    def __gt__(self, o):
        return self._compare(o, np.greater, "gt")

    def __ge__(self, o):
        return self._compare(o, np.greater_equal, "ge")

    def __eq__(self, o):
        return self._compare(o, np.equal, "eq")

    def __ne__(self, o):
        return self._compare(o, np.not_equal, "ne")

    __hash__ = object.__hash__
    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    # ---- elementwise functions --------------------------------------------------------------
    def exp(self):
        return unary.Exp.apply(_as_float(self, "exp"))

    def log(self):
        return unary.Log.apply(_as_float(self, "log"))

    def sqrt(self):
        return unary.Sqrt.apply(_as_float(self, "sqrt"))

    def abs(self):
        return unary.Abs.apply(self)

    def tanh(self):
        return unary.Tanh.apply(_as_float(self, "tanh"))

    def sigmoid(self):
        return unary.Sigmoid.apply(_as_float(self, "sigmoid"))

    def relu(self):
        return unary.Relu.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return unary.Clamp.apply(self, min, max)

    clip = clamp

    def maximum(self, other):
        return self._binary(other, arith.Maximum, "maximum")

    def minimum(self, other):
        return self._binary(other, arith.Minimum, "minimum")

    # ---- reductions -------------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False):
        src = self.to(dtypes.int64) if self.dtype == dtypes.bool_ else self
        return reduce.Sum.apply(src, normalize_dims(dim, self.ndim, "sum"), keepdim)

    def mean(self, dim=None, keepdim=False):
        return reduce.Mean.apply(_as_float(self, "mean"), normalize_dims(dim, self.ndim, "mean"), keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        dims = normalize_dims(dim, self.ndim, "var")
        return reduce.Var.apply(_as_float(self, "var"), dims, keepdim, correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def _extreme(self, dim, keepdim, largest, op):
        if self.data.size == 0 and (dim is None or self.shape[dim] == 0):
            raise ValueError(f"{op}: cannot reduce an empty tensor of shape {self.shape}")
        if dim is None:
            return reduce.Extreme.apply(self, normalize_dims(None, self.ndim, op), False, largest)
        if self.ndim == 0:
            raise IndexError(f"{op}: dim {dim} given for a 0-d tensor")
        (d,) = normalize_dims(dim, self.ndim, op)
        values = reduce.ExtremeAlongDim.apply(self, d, keepdim, largest)
        indices = np.argmax(self.data, axis=d) if largest else np.argmin(self.data, axis=d)
        if keepdim:
            indices = np.expand_dims(indices, d)
        return ValuesIndices(values, Tensor._wrap(indices.astype(np.int64)))

    def max(self, dim=None, keepdim=False):
        """Largest element; with `dim`, the (values, indices) along it, as in PyTorch."""
        return self._extreme(dim, keepdim, True, "max")

    def min(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, False, "min")

    def argmax(self, dim=None, keepdim=False):
        if self.data.size == 0:
            raise ValueError(f"argmax: cannot reduce an empty tensor of shape {self.shape}")
        if dim is None:
            out = _asarray(np.argmax(self.data))
            return Tensor._wrap(out.reshape((1,) * self.ndim) if keepdim else out.astype(np.int64))
        (d,) = normalize_dims(dim, self.ndim, "argmax")
        return Tensor._wrap(np.argmax(self.data, axis=d, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False):
        return (-self.detach()).argmax(dim, keepdim)

    # ---- shape ------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _dims_arg(shape, "reshape")
        try:
            _check_reshape(self.shape, shape)
        except ValueError as e:
            raise ValueError(f"reshape: cannot reshape tensor of shape {self.shape} to {shape}: {e}") from None
        return shape_mod.Reshape.apply(self, shape)

    def view(self, *shape):
        return self.reshape(*shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = start_dim % self.ndim, end_dim % self.ndim
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        new = self.shape[:s] + (int(np.prod(self.shape[s : e + 1])),) + self.shape[e + 1 :]
        return self.reshape(new)

    def permute(self, *dims):
        dims = _dims_arg(dims, "permute")
        if len(dims) != self.ndim:
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dims of shape {self.shape}")
        axes = tuple(normalize_dims(d, self.ndim, "permute")[0] for d in dims)  # IndexError if out of range
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dims of shape {self.shape}")
        return shape_mod.Permute.apply(self, axes)

    def transpose(self, dim0, dim1):
        axes = list(range(self.ndim))
        d0, d1 = normalize_dims(dim0, self.ndim, "transpose")[0], normalize_dims(dim1, self.ndim, "transpose")[0]
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return shape_mod.Permute.apply(self, tuple(axes))

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor of at most 2 dims, got shape {self.shape}")
        return self.T

    def unsqueeze(self, dim):
        n = self.ndim + 1
        if not -n <= dim < n:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a result of {n} dims")
        d = dim % n
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = normalize_dims(dim, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def expand(self, *sizes):
        sizes = _dims_arg(sizes, "expand")
        if len(sizes) < self.ndim:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {sizes}: fewer dims")
        lead = len(sizes) - self.ndim
        if any(s < 0 for s in sizes[:lead]) or any(s < -1 for s in sizes):
            raise ValueError(f"expand: invalid size in {sizes} for shape {self.shape} (-1 only keeps an existing dim)")
        target = tuple(
            (self.shape[i - lead] if s == -1 else s) if i >= lead else s for i, s in enumerate(sizes)
        )
        for i, n in enumerate(self.shape):
            if n != 1 and n != target[i + lead]:
                raise ValueError(f"expand: cannot expand shape {self.shape} to {sizes}")
        return shape_mod.Expand.apply(self, target)

    def expand_as(self, other):
        return self.expand(other.shape)

    def contiguous(self):
        return self

    def __getitem__(self, key):
        key = _index_key(key, type(self.data) is not np.ndarray)
        if isinstance(self.data, GpuArray):
            try:
                return shape_mod.Index.apply(self, key)  # the device indexer validates the key
            except IndexError as e:
                raise IndexError(f"index: {e} (tensor shape {self.shape})") from None
        try:
            self.data[key]  # validates the key with numpy's own error messages
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor shape {self.shape})") from None
        return shape_mod.Index.apply(self, key)

    def __setitem__(self, key, value):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("setitem: in-place assignment into a tensor that requires grad is not supported")
        if isinstance(value, Tensor) and type(value.data) is not type(self.data):
            raise ValueError(f"setitem: the value is on {value.device}, the tensor on {self.device}")
        self.data[_index_key(key, type(self.data) is not np.ndarray)] = _raw(value)


shape_mod = shape


def _check_reshape(old, new):
    size = int(np.prod(old))
    if list(new).count(-1) > 1:
        raise ValueError("only one dim can be -1")
    known = int(np.prod([n for n in new if n != -1]))
    if -1 in new:
        if known == 0 or size % known:
            raise ValueError(f"{size} elements do not divide into {new}")
    elif known != size:
        raise ValueError(f"{size} elements do not fit {known}")


def _index_key(key, on_device=True):
    """Replace tensors inside an indexing key by their arrays; lists become int arrays. A cpu
    tensor (`on_device` False) cannot be indexed by a wgpu index tensor."""
    if isinstance(key, tuple):
        return tuple(_index_key(k, on_device) for k in key)
    if isinstance(key, Tensor):
        if not on_device and isinstance(key.data, GpuArray):
            raise ValueError("index: the index tensor is on wgpu, the indexed tensor on cpu")
        return key.data
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _device_hint(*xs):
    """The device of the first tensor among `xs` (None if there is none)."""
    for x in xs:
        if isinstance(x, Tensor):
            return x.device
    return None


def _to_device(array, device, op: str):
    """A host array placed on `device` (a Device or None for cpu)."""
    if device is None or device == CPU:
        return array
    from .wgpu.array import check_dtype

    check_dtype(array.dtype, op)  # float64 -> TypeError naming the op
    return GpuArray.from_numpy(array)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _as_float(t: Tensor, op: str) -> Tensor:
    return t if dtypes.is_float(t.dtype) else t.to(dtypes.float32)


def _operands(a, b, op):
    """Bring two operands of a binary op to one dtype (PyTorch rules) and check broadcasting."""
    if not isinstance(b, Tensor):
        if isinstance(b, numbers.Real):
            # numpy scalars act as Python scalars (a float32 tensor times np.float64 stays float32).
            b = b.item() if isinstance(b, np.generic) else b
            if (isinstance(b, float) or op == "div") and not dtypes.is_float(a.dtype):
                a = a.to(dtypes.float32)
            return a, b
        b = tensor(b, device=a.device)
    elif type(a.data) is not type(b.data):
        raise ValueError(f"{op}: expected both operands on one device, got {a.device} and {b.device}")
    if a.dtype != b.dtype:
        dt = dtypes.promote(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from None
    if op == "div" and not dtypes.is_float(a.dtype):
        a, b = a.to(dtypes.float32), b.to(dtypes.float32)
    return a, b


# ---- functions on tensors ---------------------------------------------------------------------
def matmul(a, b) -> Tensor:
    a = a if isinstance(a, Tensor) else tensor(a, device=b.device if isinstance(b, Tensor) else None)
    b = b if isinstance(b, Tensor) else tensor(b, device=a.device)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got shapes {a.shape} and {b.shape}")
    if a.dtype != b.dtype:
        dt = dtypes.promote(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match ({ka} != {kb})")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dims of {a.shape} and {b.shape} do not broadcast") from None
    return linalg.Matmul.apply(a, b)


def where(condition, input, other) -> Tensor:
    a = input if isinstance(input, Tensor) else tensor(input, device=_device_hint(condition, other))
    cond = _asarray(_raw(condition), bool, like=a.data)
    if not isinstance(other, Tensor):
        other = tensor(other, dtype=a.dtype if dtypes.is_float(a.dtype) else None, device=a.device)
    a, b = _operands(a, other, "where")
    if type(cond) is not type(a.data):
        raise ValueError(f"where: condition is on {_device_of(cond)}, the values on {a.device}")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
        ) from None
    return arith.Where.apply(cond, a, b)


def maximum(a, b) -> Tensor:
    return a.maximum(b)


def minimum(a, b) -> Tensor:
    return a.minimum(b)


def _check_joinable(tensors, op, dim, same_shape):
    tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty sequence of tensors")
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = dtypes.promote(dt, t.dtype)
    tensors = [t.to(dt) for t in tensors]
    ref = tensors[0].shape
    for t in tensors[1:]:
        if len(t.shape) != len(ref) or any(
            x != y for i, (x, y) in enumerate(zip(t.shape, ref)) if same_shape or i != dim % max(len(ref), 1)
        ):
            shapes = [tuple(x.shape) for x in tensors]
            raise ValueError(f"{op}: tensors must match in every dim{'' if same_shape else ' but dim'}, got {shapes}")
    return tensors


def cat(tensors, dim=0) -> Tensor:
    tensors = _check_joinable(list(tensors), "cat", dim, False)
    if tensors[0].ndim == 0:
        raise ValueError("cat: 0-d tensors cannot be concatenated; use fg.stack")
    (d,) = normalize_dims(dim, tensors[0].ndim, "cat")
    return shape.Cat.apply(d, *tensors)


def stack(tensors, dim=0) -> Tensor:
    tensors = _check_joinable(list(tensors), "stack", dim, True)
    n = tensors[0].ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"stack: dim {dim} is out of range for a result of {n} dims")
    return shape.Stack.apply(dim % n, *tensors)


# ---- creation ---------------------------------------------------------------------------------
def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of `data` (array, list, scalar or tensor), on `device`."""
    device = None if device is None else Device(device)
    if isinstance(data, GpuArray):
        data = Tensor._wrap(data)
    if isinstance(data, Tensor):
        if isinstance(data.data, GpuArray):
            dt = data.dtype if dtype is None else dtypes.check_dtype(dtype, "tensor")
            out = Tensor._wrap(data.data.astype(dt) if dt != np.float64 else data.data.numpy().astype(dt))
            return out.to(device or data.device).requires_grad_(requires_grad)
        data = data.data
    try:
        array = np.array(data)
    except ValueError as e:
        raise ValueError(f"tensor: cannot read {type(data).__name__} as an array: {e}") from None
    if dtype is not None:
        dt = dtypes.check_dtype(dtype, "tensor")
    else:
        dt = dtypes.infer_dtype(array, "tensor", from_python=not isinstance(data, (np.ndarray, np.generic)))
    array = _to_device(array.astype(dt, copy=array.dtype != dt), device, "tensor")
    return Tensor(array, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array`: writes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expects a numpy array, got {type(array).__name__}")
    return Tensor(array)


def _sized(size, op):
    return _dims_arg(size, op)


def _factory(op, size, fill, dtype, requires_grad, device=None):
    dt = dtypes.check_dtype(dtype, op) if dtype is not None else dtypes.float32
    shape_ = _sized(size, op)
    if any(n < 0 for n in shape_):
        raise ValueError(f"{op}: negative size in {shape_}")
    if device is not None and Device(device) == WGPU:
        from .wgpu.array import check_dtype
        from .wgpu.elementwise import full as device_full

        return Tensor(device_full(shape_, fill, check_dtype(dt, op)), requires_grad=requires_grad)
    return Tensor(np.full(shape_, fill, dtype=dt), requires_grad=requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _factory("zeros", size, 0, dtype, requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _factory("ones", size, 1, dtype, requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _factory("empty", size, 0, dtype, requires_grad, device)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = dtypes.infer_dtype(np.asarray(fill_value), "full", from_python=True)
    return _factory("full", (size,) if isinstance(size, int) else (tuple(size),), fill_value, dtype, requires_grad, device)


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    values = np.arange(start, end, step)
    if dtype is not None:
        dt = dtypes.check_dtype(dtype, "arange")
    else:
        dt = dtypes.infer_dtype(values, "arange", from_python=True)  # float steps: float32, as torch
    return Tensor(_to_device(values.astype(dt), _dev(device), "arange"), requires_grad=requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    from .random import generator

    dt = dtypes.check_dtype(dtype or dtypes.float32, "randn")
    values = generator().standard_normal(_sized(size, "randn")).astype(dt)  # drawn on the host: one generator
    return Tensor(_to_device(values, _dev(device), "randn"), requires_grad=requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    from .random import generator

    dt = dtypes.check_dtype(dtype or dtypes.float32, "rand")
    values = generator().random(_sized(size, "rand")).astype(dt)
    return Tensor(_to_device(values, _dev(device), "rand"), requires_grad=requires_grad)


def _dev(device):
    return None if device is None else Device(device)


def randint(low, high=None, size=(), dtype=None, device=None) -> Tensor:
    from .random import generator

    if high is None:
        low, high = 0, low
    dt = dtypes.check_dtype(dtype or dtypes.int64, "randint")
    return Tensor(_to_device(generator().integers(low, high, size=tuple(size)).astype(dt), _dev(device), "randint"))
