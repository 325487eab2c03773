"""`Module`: the stateful shell around functional math, with PyTorch's registration rules."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from .. import dtypes
from ..device import device as Device
from ..tensor import Tensor
from ..wgpu.array import GpuArray
from .parameter import Parameter


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- registration -----------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        removed = {}
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                removed[name] = store
                del store[name]
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif value is None and name in removed:
            removed[name][name] = None  # `self.bias = None` keeps the slot, as in PyTorch
        elif isinstance(value, Tensor) and name in removed and removed[name] is self._buffers:
            self._buffers[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor, persistent: bool = True):
        self._buffers[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def register_parameter(self, name: str, param):
        self._parameters[name] = param

    def add_module(self, name: str, module):
        self._modules[name] = module

    # ---- traversal --------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix=""):
        seen = set()
        for mod_prefix, m in self.named_modules(prefix):
            for name, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def named_buffers(self, prefix=""):
        for mod_prefix, m in self.named_modules(prefix):
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self):
        return (b for _, b in self.named_buffers())

    # ---- modes and state --------------------------------------------------------------------
    def train(self, mode: bool = True):
        for m in self.modules():
            # A frozen batch norm (nn.utils.freeze) keeps its running statistics: it stays in eval.
            object.__setattr__(m, "training", mode and not m.__dict__.get("keep_eval", False))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True):
        for p in self.parameters():
            p.grad = None

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _state_items(self):
        """(name, tensor) of every parameter and persistent buffer, in PyTorch's order."""
        for mod_prefix, m in self.named_modules():
            skip = m.__dict__.get("_non_persistent", ())
            for name, t in list(m._parameters.items()) + list(m._buffers.items()):
                if t is not None and name not in skip:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def state_dict(self):
        return OrderedDict((name, t.detach()) for name, t in self._state_items())

    def to(self, *args, **kwargs):
        """Move or cast every parameter and buffer in place, keeping the Parameter objects (as
        torch does): a device move takes every tensor, a dtype cast only the float ones."""
        device = kwargs.get("device")
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, (str, Device)):
                device = a
            else:
                dtype = a
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for name, t in store.items():
                    if t is None:
                        continue
                    cast = dtype if dtype is not None and dtypes.is_float(t.dtype) else None
                    if cast is None and device is None:
                        continue
                    moved = t.detach().to(dtype=cast, device=device)
                    if moved._data is not t._data:
                        t._data = moved._data
                        if t.grad is not None:
                            t.grad = t.grad.to(dtype=cast, device=device)
        return self

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def load_state_dict(self, state, strict: bool = True):
        """Copy arrays or tensors into parameters and buffers by name; returns (missing, unexpected)."""
        own = dict(self._state_items())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        # Check every shape before copying anything: a failed load leaves the model untouched.
        values = {}
        for k, target in own.items():
            if k in state:
                value = state[k]._data if isinstance(state[k], Tensor) else state[k]
                value = value.numpy() if isinstance(value, GpuArray) else np.asarray(value)
                if value.shape != target.shape:
                    raise ValueError(
                        f"load_state_dict: {k!r} has shape {value.shape} in the state dict, {target.shape} in the model"
                    )
                values[k] = value
        for k, value in values.items():
            own[k]._data[...] = value.astype(own[k].dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ---- repr -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
