"""`Tensor`: an n-d array on a device, with autograd. CPU tensors wrap numpy arrays, wgpu tensors
GpuArrays (ferrograd.wgpu.array), which the ops treat alike through numpy's protocols."""

from __future__ import annotations

import numbers
import weakref
from collections import namedtuple

import numpy as np

from . import autograd, dtypes
from .errors import DtypeRuntimeError, ShapeRuntimeError
from .device import CPU, WGPU, device as Device
from .device import of as _device_of
from .ops import arith, linalg, shape, unary
from .ops._util import asarray as _asarray
from .ops.reduce import normalize_dims
from .size import Size
from .wgpu.array import GpuArray

_tuple_new = tuple.__new__
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


class _RemovableHandle:
    """What register_hook returns: `.remove()` takes the hook off again."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _dims_arg(args, op):
    """Accept both `t.reshape(2, 3)` and `t.reshape((2, 3))`."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    for a in args:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: sizes must be ints, got {a!r}")
    return tuple(int(a) for a in args)


class Tensor:
    __slots__ = ("_data", "requires_grad", "_grad", "_node", "_out", "_version", "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy defers `ndarray op Tensor` to our reflected ops

    def __init__(self, data, requires_grad: bool = False):
        if not isinstance(data, (np.ndarray, GpuArray)):
            raise TypeError(f"Tensor: data must be a numpy array, got {type(data).__name__}; use fg.tensor()")
        dtypes.check_dtype(data.dtype, "Tensor")
        if requires_grad and not dtypes.is_float(data.dtype):
            raise TypeError(f"Tensor: only float tensors can require grad, got dtype {data.dtype}")
        self._data = data
        self.requires_grad = bool(requires_grad)
        self._grad = None
        self._node = None
        self._out = 0
        self._version = [0]
        self._hooks = None

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """Fast path for op results, whose dtype is known to be supported."""
        t = cls.__new__(cls)
        t._data = array if isinstance(array, (np.ndarray, GpuArray)) else np.asarray(array)
        t.requires_grad = requires_grad
        t._grad = None
        t._node = None
        t._out = 0
        t._version = [0]
        t._hooks = None
        return t

    # ---- attributes -------------------------------------------------------------------------
    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = value
        if autograd._RECORDING[0] is not None:  # fg.compile replays `p.grad = ...` too
            autograd._RECORDING[0].set_grad(self, value)

    @property
    def shape(self):
        return _tuple_new(Size, self._data.shape)  # torch.Size (a tuple), without re-checking the ints

    def size(self, dim=None):
        if dim is None:
            return _tuple_new(Size, self._data.shape)
        return self._data.shape[dim]

    @property
    def itemsize(self):
        return self._data.dtype.itemsize

    @property
    def nbytes(self):
        return self._data.size * self._data.dtype.itemsize

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return CPU if type(self._data) is np.ndarray else _device_of(self._data)

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def T(self):
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        if self.ndim < 2:
            raise ShapeRuntimeError(f"mT: tensor.mT is only supported on matrices or batches of matrices, got {self.ndim}-D")
        return self.transpose(-2, -1)

    def where(self, condition, other):
        """`self` where `condition` holds, else `other` (torch's Tensor.where)."""
        return where(condition, self, other)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __repr__(self):
        from .printing import tensor_repr  # torch's layout and print options

        return tensor_repr(self)

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self):
        _reading(self, "numpy()")
        if self.requires_grad:
            raise RuntimeError("numpy: the tensor requires grad; call .detach().numpy() instead")
        if isinstance(self._data, GpuArray):
            return self._data.numpy()  # a host copy: reading back is the explicit step
        return self._data

    def item(self):
        _reading(self, "item()")
        if self._data.size != 1:
            raise ShapeRuntimeError(
                f"item: a Tensor with {self._data.size} elements cannot be converted to Scalar (shape {tuple(self.shape)})")
        return self._data.reshape(()).item()

    def tolist(self):
        _reading(self, "tolist()")
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        """A 0-d or one-element integer tensor used as an index (`seq[t]`, `range(t)`)."""
        if dtypes.is_float(self.dtype) or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    # What PyTorch code asks of a tensor's kind: always dense, strided, on cpu or wgpu.
    is_sparse = False
    is_quantized = False
    is_meta = False
    is_mkldnn = False

    @property
    def is_cuda(self):
        return False

    @property
    def layout(self):
        return "strided"

    def __bool__(self):
        _reading(self, "bool()")
        if self._data.size != 1:
            raise ShapeRuntimeError(
                f"bool: Boolean value of Tensor with more than one value is ambiguous (shape {tuple(self.shape)})")
        return bool(self._data.reshape(()).item())

    def __array__(self, dtype=None, copy=None):
        _reading(self, "a numpy conversion")
        if isinstance(self._data, GpuArray):
            raise TypeError(
                f"a wgpu tensor of shape {tuple(self.shape)} cannot be converted to a numpy array implicitly; "
                "call .cpu() or .numpy() to read it back"
            )
        return np.array(self._data, dtype=dtype, copy=copy)  # copy=True must not hand out self._data

    def detach(self):
        """A tensor sharing storage (and the version counter) with no graph, like torch."""
        t = Tensor._wrap(self._data)
        t._version = self._version
        return t

    def detach_(self):
        if self._node is not None and self.requires_grad:
            self._node = None
        self.requires_grad = False
        return self

    @property
    def data(self):
        """A tensor sharing storage with this one, outside autograd (changes to it are not tracked)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        array = value._data if isinstance(value, Tensor) else value
        if not isinstance(array, (np.ndarray, GpuArray)):
            raise TypeError(f"data: expects a Tensor, got {type(value).__name__}")
        self._data = array
        _written(self, None, None, rebind=True)

    def requires_grad_(self, requires_grad: bool = True):
        if requires_grad and not dtypes.is_float(self.dtype):
            raise DtypeRuntimeError(f"requires_grad_: only Tensors of floating point dtype can require gradients, got {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of leaf variables")
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        return self._node

    @property
    def retains_grad(self):
        node = self._node
        return bool(node is not None and node.retained and self._out in node.retained)

    def retain_grad(self):
        """Keep `.grad` for a non-leaf tensor after backward (a leaf keeps it anyway)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a Tensor that has requires_grad=False")
        node = self._node
        if node is not None:
            if node.retained is None:
                node.retained = {}
            node.retained[self._out] = weakref.ref(self)

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self._node
            if node.hooks is None:
                node.hooks = {}
            hooks = node.hooks.setdefault(self._out, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call `hook(tensor)` on this leaf after backward has accumulated its gradient into .grad."""
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        if self._node is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered "
                               "on non-leaf tensors")
        hooks = autograd._post_acc_hooks(self, create=True)
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    @property
    def _version_count(self):
        return self._version[0]

    def cpu(self):
        return self.to(CPU)

    def clone(self):
        return self * 1 if self.requires_grad else Tensor._wrap(self._data.copy())

    # ---- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def _accumulate(self, g, owned=False):
        """Add `g` into `.grad` (through the slot: backward's own write, which fg.compile records as
        one step). `owned`: no one else refers to `g`, so it may become `.grad` without a copy;
        otherwise copy, since a backward may hand one array to several inputs."""
        grad = self._grad
        if grad is not None:
            # A .grad set by hand to the wrong shape/dtype/device: refuse, as torch refuses the
            # assignment, rather than broadcast into it or silently change its dtype.
            a, w = grad._data, self._data
            if a.shape != w.shape or a.dtype != w.dtype or (type(a) is np.ndarray) != (type(w) is np.ndarray):
                raise RuntimeError(
                    f"backward: can't accumulate into .grad of shape {tuple(a.shape)}, dtype {a.dtype}, device "
                    f"{grad.device} for a tensor of shape {tuple(w.shape)}, dtype {w.dtype}, device {self.device}; "
                    "a gradient must match its tensor (set .grad = None or fg.zeros_like(t))")
        if type(g) is not np.ndarray and isinstance(g, GpuArray):
            if self._grad is None:
                keep = owned and g.dtype == self.dtype and g.shape == self._data.shape and g.is_contiguous
                self._grad = Tensor._wrap(g if keep else g.astype(self.dtype))
            else:
                self._grad._data = self._grad._data + g.astype(self.dtype, copy=False)
            return
        if self._grad is None:
            keep = owned and g.dtype == self.dtype and g.shape == self._data.shape and g.flags.writeable
            self._grad = Tensor._wrap(g if keep else np.array(g, dtype=self.dtype))
        elif type(self._grad._data) is np.ndarray and self._grad._data.flags.writeable and self._grad.shape == g.shape:
            # In place, as PyTorch accumulates: no new gradient-sized array per backward.
            np.add(self._grad._data, g, out=self._grad._data, casting="unsafe")
        else:
            self._grad._data = self._grad._data + np.asarray(g, dtype=self.dtype)

    # ---- in place ---------------------------------------------------------------------------
    def _assign_(self, result, op: str, since=None):
        """Make `result` (computed out of place from this tensor) this tensor's value, as an
        in-place op does: written into this tensor's storage when no graph is involved, and
        otherwise taking the result's place in the graph (PyTorch's rebase of the grad_fn).
        `since`: autograd's node serial before the op ran (its own nodes may keep the old value)."""
        if not isinstance(result, Tensor):
            result = tensor(result, dtype=self.dtype, device=self.device)
        if result.dtype != self.dtype:
            if dtypes.is_float(result.dtype) and not dtypes.is_float(self.dtype):
                raise DtypeRuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired output type {self.dtype}")
            result = result.to(self.dtype)
        if tuple(result.shape) != tuple(self.shape):
            try:
                ok = np.broadcast_shapes(tuple(result.shape), tuple(self.shape)) == tuple(self.shape)
            except ValueError:
                ok = False
            if not ok:
                raise ShapeRuntimeError(
                    f"{op}: output with shape {tuple(self.shape)} doesn't match the broadcast shape {tuple(result.shape)}"
                )
            result = result.expand(tuple(self.shape))
        if autograd.is_grad_enabled() and (self.requires_grad or result.requires_grad):
            if self.requires_grad and self._node is None:
                raise RuntimeError(
                    f"{op}: a leaf Variable that requires grad is being used in an in-place operation. "
                    "Wrap it in `with fg.no_grad():` (as optimizers do) or clone() it first."
                )
            if result._node is not None:
                # The graph's edges point at nodes, not at this object: from here on this tensor
                # is the result. Its old array is left as it was (views taken before do not see the
                # change). The version still moves on, so a node that saved the old value raises in
                # backward, as PyTorch's does; the nodes of this op itself saved it knowingly.
                cell = self._version
                cell[0] += 1
                if since is not None:
                    for node in autograd.nodes_since(result._node, since):
                        node.checks = [(c, cell[0] if c is cell else v, w) for c, v, w in node.checks]
                self._data = result._data
                self._node, self._out, self.requires_grad = result._node, result._out, True
                return self
        _write(self._data, result._data, op)
        self._version[0] += 1
        _written(self, result._data, op)
        return self

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ShapeRuntimeError(f"fill_: only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions")
            if value.requires_grad and autograd.is_grad_enabled():
                since = autograd._SERIAL[0]
                return self._assign_(value.expand(tuple(self.shape)) + zeros_like(self), "fill_", since)
            value = value.item()
        if self.requires_grad and autograd.is_grad_enabled():
            since = autograd._SERIAL[0]
            return self._assign_(full_like(self, value) + self * 0, "fill_", since)
        _write(self._data, value, "fill_")
        self._version[0] += 1
        _written(self, value, "fill_")
        return self

    def copy_(self, src, non_blocking=False):
        """Copy `src` (broadcast to this shape, cast to this dtype, from any device) into this tensor."""
        if not isinstance(src, Tensor):
            src = tensor(src)
        if src.device != self.device:
            src = src.to(self.device)
        if src.dtype != self.dtype:
            src = src.to(self.dtype)
        if self.requires_grad or src.requires_grad:
            if autograd.is_grad_enabled():
                since = autograd._SERIAL[0]
                out = src.expand(tuple(self.shape)) + self * 0 if src.shape != self.shape else src * 1
                return self._assign_(out, "copy_", since)
        try:
            np.broadcast_shapes(tuple(src.shape), tuple(self.shape))
        except ValueError:
            raise ShapeRuntimeError(f"copy_: the source of shape {tuple(src.shape)} does not broadcast to {tuple(self.shape)}") from None
        _write(self._data, src._data, "copy_")
        self._version[0] += 1
        _written(self, src._data, "copy_")
        return self

    def __iadd__(self, o):
        return self.add_(o)

    def __isub__(self, o):
        return self.sub_(o)

    def __imul__(self, o):
        return self.mul_(o)

    def __itruediv__(self, o):
        return self.div_(o)

    def __ipow__(self, o):
        return self.pow_(o)

    def __imod__(self, o):
        return self.remainder_(o)

    def __ifloordiv__(self, o):
        return self.floor_divide_(o)

    def __iand__(self, o):
        since = autograd._SERIAL[0]
        return self._assign_(self & o, "__iand__", since)

    def __ior__(self, o):
        since = autograd._SERIAL[0]
        return self._assign_(self | o, "__ior__", since)

    def __ixor__(self, o):
        since = autograd._SERIAL[0]
        return self._assign_(self ^ o, "__ixor__", since)

    def __imatmul__(self, o):
        since = autograd._SERIAL[0]
        return self._assign_(self @ o, "__imatmul__", since)

    # ---- arithmetic -------------------------------------------------------------------------
    def _binary(self, other, fn, op, reflected=False):
        ufunc = _NO_GRAPH_UFUNC.get(fn)
        if ufunc is not None and isinstance(other, Tensor):
            # The per-op fast path (issue 18): two cpu tensors of one float/int dtype and shape, and
            # no graph to record: the ufunc alone, as the op would compute it.
            a, b = self._data, other._data
            if type(a) is np.ndarray and type(b) is np.ndarray and a.dtype is b.dtype and a.shape == b.shape \
                    and a.dtype in _FAST_DTYPES:
                if not ((self.requires_grad or other.requires_grad) and autograd._state.grad_enabled) \
                        and autograd._RECORDING[0] is None:
                    return Tensor._wrap(ufunc(b, a) if reflected else ufunc(a, b))
                # One dtype, one shape, one device: _operands would hand both back unchanged.
                if autograd._RECORDING[0] is not None:
                    return fn.apply(other, self) if reflected else fn.apply(self, other)
                return fn.apply2(other, self) if reflected else fn.apply2(self, other)
        elif ufunc is not None and (type(other) is float or type(other) is int):
            a = self._data  # a Python number keeps the tensor's dtype (float with float, int with int)
            if not (self.requires_grad and autograd._state.grad_enabled) and type(a) is np.ndarray \
                    and a.dtype in _FAST_DTYPES and (type(other) is int or a.dtype.kind == "f") \
                    and autograd._RECORDING[0] is None:
                return Tensor._wrap(ufunc(other, a) if reflected else ufunc(a, other))
        if not isinstance(other, _OPERAND_TYPES):
            return NotImplemented  # let the other type answer (pytest.approx, a custom class, ...)
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

    def __pos__(self):
        return self

    def __mod__(self, o):
        return self.remainder(o)

    def __rmod__(self, o):
        return _reflected(self, o).remainder(self)

    def __floordiv__(self, o):
        return self.floor_divide(o)

    def __rfloordiv__(self, o):
        return _reflected(self, o).floor_divide(self)

    def __invert__(self):
        return self.bitwise_not()

    def __and__(self, o):
        return self.logical_and(o) if self.dtype == dtypes.bool_ and _is_bool(o) else self.bitwise_and(o)

    def __rand__(self, o):
        return self.__and__(o)

    def __or__(self, o):
        return self.logical_or(o) if self.dtype == dtypes.bool_ and _is_bool(o) else self.bitwise_or(o)

    def __ror__(self, o):
        return self.__or__(o)

    def __xor__(self, o):
        return self.logical_xor(o) if self.dtype == dtypes.bool_ and _is_bool(o) else self.bitwise_xor(o)

    def __rxor__(self, o):
        return self.__xor__(o)

    def __matmul__(self, o):
        return matmul(self, o)

    def __rmatmul__(self, o):
        return matmul(o, self)

    neg = __neg__  # a fast path; the other named forms (add, mul, div, ...) are registry entries

    def _compare(self, other, ufunc, op):
        if not isinstance(other, _OPERAND_TYPES):
            return NotImplemented
        if autograd._RECORDING[0] is not None and not autograd._RECORDING[0].depth:
            return autograd._RECORDING[0].call_whole(Tensor._compare, (self, other, ufunc, op), {}, outputs=True)
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

    # ---- shape ------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _dims_arg(shape, "reshape")
        try:
            _check_reshape(self.shape, shape)
        except ValueError as e:
            raise ValueError(f"reshape: cannot reshape tensor of shape {self.shape} to {shape}: {e}") from None
        return shape_mod.Reshape.apply(self, shape)

    def view(self, *shape):
        """A reshape that never copies: raises (as torch) when the strides do not allow a view."""
        out = self.reshape(*shape)
        a = self._data
        if type(a) is np.ndarray and a.size and not np.shares_memory(out._data, a):
            raise ShapeRuntimeError(
                f"view: view size is not compatible with input tensor's size and stride (shape {tuple(self.shape)} "
                "is not contiguous in the dims it merges). Use .reshape(...) instead."
            )
        return out

    def permute(self, *dims):
        dims = _dims_arg(dims, "permute")
        if len(dims) != self.ndim:
            raise ShapeRuntimeError(f"permute: {dims} is not a permutation of the {self.ndim} dims of shape {self.shape}")
        axes = tuple(normalize_dims(d, self.ndim, "permute")[0] for d in dims)  # IndexError if out of range
        if sorted(axes) != list(range(self.ndim)):
            raise ShapeRuntimeError(f"permute: {dims} is not a permutation of the {self.ndim} dims of shape {self.shape}")
        return shape_mod.Permute.apply(self, axes)

    def t(self):
        if self.ndim > 2:
            raise ShapeRuntimeError(f"t: expects a tensor of at most 2 dims, got shape {tuple(self.shape)}")
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

    def contiguous(self, memory_format=None):
        """This tensor if its storage is C-ordered, else a C-ordered copy (gradient flows through)."""
        if self.is_contiguous():
            return self
        return shape_mod.Contiguous.apply(self)

    def is_contiguous(self, memory_format=None) -> bool:
        a = self._data
        if type(a) is np.ndarray:
            return a.flags.c_contiguous
        return a.is_contiguous

    def __getitem__(self, key):
        key = _index_key(key, type(self._data) is not np.ndarray)
        if isinstance(self._data, GpuArray):
            from .ops._range import check_key_ranges

            check_key_ranges("index", key, tuple(self.shape))  # device index arrays: one small readback each
            try:
                return shape_mod.Index.apply(self, key)  # the device indexer validates the key
            except IndexError as e:
                raise IndexError(f"index: {e} (tensor shape {self.shape})") from None
        try:
            self._data[key]  # validates the key with numpy's own error messages
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor shape {self.shape})") from None
        return shape_mod.Index.apply(self, key)

    def __setitem__(self, key, value):
        if isinstance(value, Tensor) and type(value._data) is not type(self._data):
            raise ValueError(f"setitem: the value is on {value.device}, the tensor on {self.device}")
        raw_key = _index_key(key, type(self._data) is not np.ndarray)
        if isinstance(self._data, GpuArray):
            from .ops._range import check_key_ranges

            check_key_ranges("setitem", raw_key, tuple(self.shape))  # a device write would drop or wrap it
        else:
            try:
                self._data[raw_key]  # validates the key with numpy's own message, before anything is written
            except IndexError as e:
                raise IndexError(f"setitem: {e} (tensor shape {self.shape})") from None
        tracked = isinstance(value, Tensor) and value.requires_grad
        if autograd.is_grad_enabled() and (self.requires_grad or tracked):
            if self.requires_grad and self._node is None:
                raise RuntimeError(
                    "setitem: a leaf Variable that requires grad is being used in an in-place operation. "
                    "Wrap it in `with fg.no_grad():` or clone() it first."
                )
            if not isinstance(value, Tensor):
                value = tensor(value, dtype=self.dtype, device=self.device)
            elif value.dtype != self.dtype:
                value = value.to(self.dtype)
            since = autograd._SERIAL[0]
            self._assign_(shape_mod.IndexPut.apply(self, value, raw_key, False), "setitem", since)
            return
        if isinstance(value, Tensor) and value.dtype != self.dtype:
            value = value.to(self.dtype)
        self._data[raw_key] = _raw(value)
        self._version[0] += 1
        _written(self, _raw(value), "setitem", key=raw_key)


shape_mod = shape
autograd._TENSOR[0] = Tensor


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
        if not on_device and isinstance(key._data, GpuArray):
            raise ValueError("index: the index tensor is on wgpu, the indexed tensor on cpu")
        return key._data
    if isinstance(key, list):
        arr = np.asarray(key)
        # `t[[]]` selects nothing, as torch: numpy reads an empty list as float64, which is no index.
        return arr.astype(np.int64) if arr.size == 0 and arr.dtype.kind == "f" else arr
    return key


_OPERAND_TYPES = (Tensor, numbers.Number, np.ndarray, np.generic, list, tuple, GpuArray)
_NO_GRAPH_UFUNC = {arith.Add: np.add, arith.Sub: np.subtract, arith.Mul: np.multiply}
_FAST_DTYPES = frozenset(np.dtype(t) for t in ("float32", "float64", "int64", "int32", "int16", "int8", "uint8"))


def _is_bool(o) -> bool:
    return isinstance(o, bool) or (isinstance(o, Tensor) and o.dtype == dtypes.bool_)


def _reflected(t, o):
    """The left operand of a reflected op (`2 % t`) as a tensor beside `t`."""
    return o if isinstance(o, Tensor) else tensor(o, device=t.device)


def _reading(t, what):
    """fg.compile: a step that reads a value into Python cannot be replayed (its control flow may
    depend on the data); the recorder raises for tensors computed inside the step."""
    rec = autograd._RECORDING[0]
    if rec is not None and not rec.depth:
        rec.read(t, what)


def _written(t, value, op, key=None, rebind=False):
    """fg.compile: an in-place write outside autograd is one step of the captured program."""
    rec = autograd._RECORDING[0]
    if rec is not None and not rec.depth:
        rec.write(t, value, op, key, rebind)


def _write(dst, value, op):
    """Write `value` (array or scalar, broadcast) into the storage of `dst`."""
    if type(dst) is np.ndarray:
        if not dst.flags.writeable:
            raise RuntimeError(
                f"{op}: unsupported operation: more than one element of the written-to tensor refers to a "
                "single memory location (an expanded tensor). Please clone() the tensor before performing "
                "the operation."
            )
        np.copyto(dst, value, casting="unsafe")
    else:
        dst[...] = value


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
    return x._data if isinstance(x, Tensor) else x


def _as_float(t: Tensor, op: str) -> Tensor:
    return t if dtypes.is_float(t.dtype) else t.to(dtypes.default_float())


def _result_dtype(a, b):
    """PyTorch's promotion between two tensors: a 0-d tensor does not widen a dimensioned one of
    the same category (float32 tensor + float64 0-d tensor stays float32)."""
    if (a.ndim == 0) != (b.ndim == 0) and dtypes.is_float(a.dtype) == dtypes.is_float(b.dtype) \
            and (a.dtype == dtypes.bool_) == (b.dtype == dtypes.bool_):
        return b.dtype if a.ndim == 0 else a.dtype
    return dtypes.promote(a.dtype, b.dtype)


def _operands(a, b, op):
    """Bring two operands of a binary op to one dtype (PyTorch rules) and check broadcasting."""
    if not isinstance(b, Tensor):
        if isinstance(b, numbers.Real):
            # numpy scalars act as Python scalars (a float32 tensor times np.float64 stays float32).
            b = b.item() if isinstance(b, np.generic) else b
            if (isinstance(b, float) or op == "div") and not dtypes.is_float(a.dtype):
                a = a.to(dtypes.default_float())
            return a, b
        b = tensor(b, device=a.device)
    elif type(a._data) is not type(b._data):
        raise ValueError(f"{op}: expected both operands on one device, got {a.device} and {b.device}")
    if a._data.dtype != b._data.dtype:
        dt = _result_dtype(a, b)
        a, b = a.to(dt), b.to(dt)
    sa, sb = a._data.shape, b._data.shape
    if sa != sb:
        try:
            np.broadcast_shapes(sa, sb)
        except ValueError:
            raise ValueError(f"{op}: shapes {sa} and {sb} do not broadcast") from None
    if op == "div" and not dtypes.is_float(a._data.dtype):
        a, b = a.to(dtypes.default_float()), b.to(dtypes.default_float())
    return a, b


# ---- functions on tensors ---------------------------------------------------------------------
def matmul(a, b) -> Tensor:
    a = a if isinstance(a, Tensor) else tensor(a, device=b.device if isinstance(b, Tensor) else None)
    b = b if isinstance(b, Tensor) else tensor(b, device=a.device)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise ShapeRuntimeError(f"matmul: both operands need at least 1 dim, got shapes {sa} and {sb}")
    if a._data.dtype != b._data.dtype:
        dt = dtypes.promote(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    ka = sa[-1]
    kb = sb[-2] if len(sb) >= 2 else sb[0]
    if ka != kb:
        raise ShapeRuntimeError(f"matmul: shapes {sa} and {sb} cannot be multiplied ({ka} != {kb})")
    if len(sa) > 2 or len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ShapeRuntimeError(f"matmul: batch dims of {sa} and {sb} do not broadcast") from None
    return linalg.Matmul.apply(a, b)


def where(condition, input, other) -> Tensor:
    if not isinstance(input, Tensor) and isinstance(other, Tensor) and isinstance(input, numbers.Number):
        # A Python number takes the tensor's dtype (a weak scalar, as in PyTorch).
        keep = dtypes.is_float(other.dtype) or not isinstance(input, float)
        input = tensor(input, dtype=other.dtype if keep else None, device=other.device)
    a = input if isinstance(input, Tensor) else tensor(input, device=_device_hint(condition, other))
    if isinstance(condition, Tensor) and condition.ndim and type(condition._data) is not type(a._data):
        # Tensors from two devices are refused, as torch (a 0-d cpu condition passes as a scalar).
        raise ValueError(f"where: condition is on {condition.device}, the values on {a.device}; "
                         f"move them to one device")
    cond = _asarray(_raw(condition), bool, like=a._data)
    if not isinstance(other, Tensor):
        other = tensor(other, dtype=a.dtype if dtypes.is_float(a.dtype) else None, device=a.device)
    a, b = _operands(a, other, "where")
    if type(cond) is not type(a._data):
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
            raise ShapeRuntimeError(f"{op}: tensors must match in every dim{'' if same_shape else ' but dim'}, got {shapes}")
    return tensors


def cat(tensors, dim=0) -> Tensor:
    tensors = list(tensors)
    if len(tensors) > 1:  # torch skips legacy empty (0,) tensors beside others
        kept = [t for t in tensors if not (isinstance(t, Tensor) and tuple(t.shape) == (0,))]
        tensors = kept or tensors[:1]
    tensors = _check_joinable(tensors, "cat", dim, False)
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
# Creation lives in the registry (ops/creation_ops.py, ops/random_ops.py); the names stay importable
# from here for the modules that build tensors.
from .ops.creation_ops import (  # noqa: E402
    arange, empty, from_numpy, full, full_like, ones, ones_like, tensor, zeros, zeros_like,
)
from .ops.random_ops import rand, randint, randn  # noqa: E402
