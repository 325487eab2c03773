"""The op registry: one entry per public op, from which `Tensor` methods, `fg.*` functions and the
in-place `x.op_()` variants are generated.

An entry is a plain function written as PyTorch's signature (`input` first): it validates its
arguments (the one place that raises the named error), then runs autograd Functions whose forward
calls the backend (numpy + `_native` on cpu, GpuArray + WGSL on wgpu) and whose backward is written
with registered ops (`ops._generic`), or composes other registered ops. Registering it:

    @register("cumsum", inplace=True)
    def cumsum(input, dim, *, dtype=None): ...

gives `fg.cumsum(t, 1)`, `t.cumsum(1)` and `t.cumsum_(1)`. The op table test (tests/ops) walks
`OPS` and fails for an op without a table row.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

from ..autograd import _RECORDING, _SERIAL

OPS: dict = {}


@dataclass
class OpInfo:
    name: str
    fn: Callable
    method: bool = True  # Tensor.<name>
    function: bool = True  # fg.<name>
    inplace: bool = False  # Tensor.<name>_
    aliases: tuple = ()
    differentiable: bool = True
    family: str = ""
    extra: dict = field(default_factory=dict)


def register(name: str, *, method: bool = True, function: bool = True, inplace: bool = False,
             aliases=(), differentiable: bool = True, family: str = ""):
    """Add the decorated function to the registry under `name` (and `aliases`)."""

    def add(fn):
        if name in OPS:
            raise ValueError(f"register: op {name!r} is registered twice")
        family_ = family or fn.__module__.rsplit(".", 1)[-1]
        # fg.compile replays an op whose result is not made by autograd Functions (random draws,
        # integer results) as one call, rather than baking its first result in.
        whole = not differentiable or family_ == "random_ops"
        op = naming_errors(fn, name, whole)
        OPS[name] = OpInfo(name, op, method, function, inplace, tuple(aliases), differentiable, family_)
        return op

    return add


def naming_errors(fn, name, whole=False):
    """`fn` whose exceptions always name the op: a message raised deeper down (a helper, another
    op, numpy) gets "name: " in front, so a person sees which call they made went wrong."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if whole and _RECORDING[0] is not None and not _RECORDING[0].depth:
            return _RECORDING[0].call_whole(op, args, kwargs, outputs=True)
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            msg = e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else None
            if msg is not None and not msg.startswith(name):
                e.args = (f"{name}: {msg}",)
            elif not e.args:
                what = "not enough memory for this call (check the sizes and arguments)" \
                    if isinstance(e, MemoryError) else f"{type(e).__name__} inside the op"
                e.args = (f"{name}: {what}",)
            raise

    op.__name__ = op.__qualname__ = name
    return op


def _inplace_method(name, fn):
    def method(self, *args, **kwargs):
        since = _SERIAL[0]
        return self._assign_(fn(self, *args, **kwargs), name + "_", since)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place `{name}`: writes the result into this tensor and returns it."
    return method


def install(tensor_cls, namespace: dict) -> None:
    """Attach every registered op: Tensor methods, in-place variants and module functions. A method
    the Tensor class defines itself (a hand-written fast path, an operator) is kept."""
    for info in OPS.values():
        for name in (info.name, *info.aliases):
            if info.method and name not in tensor_cls.__dict__:
                setattr(tensor_cls, name, info.fn)  # a plain function binds `self` as `input`
            if info.inplace and name + "_" not in tensor_cls.__dict__:
                setattr(tensor_cls, name + "_", _inplace_method(name, info.fn))
            if info.function:
                namespace[name] = info.fn
