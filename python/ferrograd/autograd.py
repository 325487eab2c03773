"""Reverse-mode autograd: Function nodes with a ctx, and a topological backward pass.

Each op is a `Function` subclass whose `forward` takes and returns arrays (numpy arrays on cpu,
GpuArrays on wgpu) and whose `backward` returns one gradient (array or None) per positional
input. `apply` refuses tensors on different devices in one call.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading

import numpy as np

from .wgpu import runtime as _wgpu_runtime

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "grad_enabled", True)


def set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator that builds no graph, like `torch.no_grad`."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        set_grad_enabled(False)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._prev)
        return False

    def _recreate_cm(self):
        # Each decorated call gets its own instance: a shared `_prev` would be overwritten by
        # recursive or concurrent calls and leave grad mode wrong on the way out.
        return type(self)()


class enable_grad(no_grad):
    def __enter__(self):
        self._prev = is_grad_enabled()
        set_grad_enabled(True)
        return self


class Context:
    """Per-call scratch space: what forward saves for backward."""

    __slots__ = ("saved", "__dict__")

    def __init__(self):
        self.saved = ()

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays


class Node:
    """One recorded call of a Function: how to send an output gradient back to its inputs."""

    __slots__ = ("fn", "ctx", "inputs", "freed")

    def __init__(self, fn, ctx, inputs):
        self.fn, self.ctx, self.inputs, self.freed = fn, ctx, inputs, False


class Function:
    """Base of every differentiable op. Subclasses define static `forward` and `backward`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor

        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        if _wgpu_runtime._runtime is not None:  # a device exists: tensors may be on either side
            _check_devices(cls.__name__, args)
        ctx = Context()
        out = cls.forward(ctx, *raw, **kwargs)
        needs_grad = is_grad_enabled() and any(
            isinstance(a, Tensor) and a.requires_grad for a in args
        )
        result = Tensor._wrap(out, requires_grad=needs_grad)
        if needs_grad:
            result._node = Node(cls, ctx, args)
        return result


def _check_devices(op, args):
    """ValueError naming the op and the devices when its tensor arguments are on more than one."""
    kinds = {type(a.data) is np.ndarray for a in args if _is_tensor(a)}
    if len(kinds) > 1:
        raise ValueError(f"{op}: expected all tensors on one device, got tensors on cpu and wgpu")
    if kinds == {True} and any(type(a) is _gpu_array() for a in args):
        raise ValueError(f"{op}: expected all tensors on one device, got cpu tensors and a wgpu array")


def _topological_order(root):
    """Tensors reachable from `root` through graph nodes, outputs before their inputs."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t._node is not None:
            for inp in t._node.inputs:
                if _is_tensor(inp) and inp.requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    return reversed(order)


@functools.cache
def _tensor_type():
    from .tensor import Tensor

    return Tensor


@functools.cache
def _gpu_array():
    from .wgpu.array import GpuArray

    return GpuArray


def _device(array) -> str:
    from .device import of

    return str(of(array))


def _is_tensor(x) -> bool:
    return isinstance(x, _tensor_type())


def backward(root, gradient=None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into every leaf's `.grad`, like `torch.Tensor.backward`."""
    Tensor = _tensor_type()
    if not root.requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no graph "
            "(was it made under no_grad, or from tensors without requires_grad?)"
        )
    if gradient is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward: gradient can be implied only for a scalar output, got shape "
                f"{tuple(root.shape)}; pass gradient= of that shape"
            )
        seed = np.ones_like(root.data)
    else:
        from .ops._util import asarray

        if isinstance(gradient, Tensor) and type(gradient.data) is not type(root.data):
            raise ValueError(f"backward: gradient is on {gradient.device}, the output on {_device(root.data)}")
        # Host data (a list, a numpy array) for a device output is uploaded: an explicit argument.
        seed = asarray(gradient.data if isinstance(gradient, Tensor) else gradient, root.data.dtype, like=root.data)
        if seed.shape != root.data.shape:
            raise ValueError(
                f"backward: gradient has shape {seed.shape}, the output has shape {root.data.shape}"
            )

    grads = {id(root): seed}
    for t in _topological_order(root):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if t._node is None:
            # The leaf may keep `g` itself when nothing else refers to it (refcount: `g` and the
            # call's argument); a shared array (seed, both sides of an add, saved in a ctx) is copied.
            if type(g) is np.ndarray:
                owned = g.flags.owndata and sys.getrefcount(g) <= 2
            else:  # a GpuArray owns its buffer when no other array object shares its Storage
                owned = type(g) is _gpu_array() and sys.getrefcount(g) <= 2 and sys.getrefcount(g.storage) <= 2
            t._accumulate(g, owned)
            continue
        if t._retains_grad:
            t._accumulate(g)
        node = t._node
        if node.freed:
            raise RuntimeError(
                "backward: trying to go back through a graph a second time; its saved values "
                "were freed. Pass retain_graph=True to the first backward call."
            )
        in_grads = node.fn.backward(node.ctx, g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for inp, ig in zip(node.inputs, in_grads):
            if ig is None or not (isinstance(inp, Tensor) and inp.requires_grad):
                continue
            prev = grads.get(id(inp))
            grads[id(inp)] = ig if prev is None else prev + ig
        in_grads = ig = prev = None  # drop our references so a leaf can take its gradient without a copy
        if not retain_graph:
            node.freed = True
            node.ctx = None
