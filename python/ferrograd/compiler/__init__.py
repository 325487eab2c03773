"""`fg.compile(fn)`: capture a training (or inference) step once and replay its kernels afterwards.

The first calls run `fn` eagerly while a recorder logs every kernel call it makes — the forward of
each op, the backward pass in autograd's order, in-place writes — plus calls marked to replay whole
(the optimizer's step and zero_grad, gradient clipping, random-number ops). Two captures that agree
step for step become a program; later calls with the same argument shapes, dtypes, devices and
non-tensor arguments (and the same train/eval modes) replay it: the same kernels on the new arrays,
without building tensors, checking arguments or recording a graph. Results are bit-identical to the
eager call (the same kernels in the same order), on cpu and on wgpu.

Like torch.compile's `fullgraph=True` (and tinygrad's TinyJit), a step that reads a tensor's value
into Python (`.item()`, `if loss > 0:`) raises `CompileError`: its control flow could depend on the
data. A step whose ops change between two calls with the same shapes raises too. A compiled
forward whose result is differentiated outside (`loss = compiled(x); loss.backward()`) runs
eagerly: the speed-up comes from capturing the whole step, backward and update included.
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import _RECORDING, is_grad_enabled
from .recorder import CompileError, Recorder, start, stop
from .refs import slots_in, tensor_getter

__all__ = ["compile", "CompileError", "CompiledFunction"]

_CAPTURES = 3  # captures that disagree before giving up with an error


def compile(model=None, *, fullgraph=True, dynamic=None, backend="ferrograd", mode=None, options=None,
            disable=False, cache_size_limit=8):
    """torch.compile's signature. `model`: a function or a module (returns a callable that forwards
    attribute access to it). Used as a decorator with or without arguments."""
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable, cache_size_limit=cache_size_limit)
    if not callable(model):
        raise TypeError(f"compile: expected a function or module, got {type(model).__name__}")
    if disable:
        return model
    return CompiledFunction(model, cache_size_limit)


class _Entry:
    """Programs for one argument signature (several when modules switch train/eval)."""

    __slots__ = ("programs", "last", "tries", "eager")

    def __init__(self):
        self.programs, self.last, self.tries, self.eager = [], None, 0, False


class CompiledFunction:
    def __init__(self, fn, cache_size_limit=8):
        self._fn = fn
        self._entries = {}
        self._limit = int(cache_size_limit)
        functools.update_wrapper(self, fn, updated=())

    def __getattr__(self, name):  # a compiled module still answers .parameters(), .train(), ...
        return getattr(self.__dict__["_fn"], name)

    def __call__(self, *args, **kwargs):
        from ..tensor import Tensor

        if _RECORDING[0] is not None:  # called inside another compiled function's capture:
            return self._fn(*args, **kwargs)  # run eagerly, so the outer program records these ops

        tensors, key = [], [is_grad_enabled()]
        _signature((args, kwargs), tensors, key, Tensor)
        key = tuple(key)
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= self._limit:
                return self._fn(*args, **kwargs)  # as torch: past the cache limit, run eagerly
            entry = self._entries[key] = _Entry()
        for prog in entry.programs:
            if prog.modes_match():
                return prog.replay(tensors)
        if entry.eager:
            return self._fn(*args, **kwargs)
        return self._capture(entry, args, kwargs, tensors, Tensor)

    def _capture(self, entry, args, kwargs, tensors, Tensor):
        rec = Recorder(Tensor)
        inputs = [rec.slot(t._data) for t in tensors]
        start(rec)
        try:
            out = self._fn(*args, **kwargs)
        finally:
            stop()
        if _has_graph(out, Tensor, rec.nodes_done):
            entry.eager = True  # the caller differentiates the result: run this signature eagerly
            return out
        out_ref = rec.ref(out)
        last = entry.last
        if last is not None and _agree(last[0], rec, last[1], out_ref, Tensor):
            entry.programs.append(Program(rec, inputs, out_ref, Tensor))
            entry.last, entry.tries = None, 0
            return out
        entry.tries += 1
        if entry.tries >= _CAPTURES and last is not None:
            raise CompileError(
                "fg.compile: the function ran different ops on calls with the same argument shapes ("
                + _first_difference(last[0], rec, Tensor) + "). Its Python control flow depends on something "
                "other than the shapes, dtypes and non-tensor arguments (data it reads, a counter, a random "
                "choice in Python); call it uncompiled, or pass what it depends on as an argument.")
        entry.last = (rec, out_ref)
        return out


class Program:
    """A captured step: closures over registers, run in order."""

    def __init__(self, rec, inputs, out_ref, Tensor):
        self.n = rec.nslots
        self.inputs = inputs
        self.modes = [(m, m.training) for m in rec.modules.values()]
        self.out = tensor_getter(out_ref, Tensor._wrap)
        self.steps = len(rec.steps)
        # Each register is dropped after its last reader, as eager code drops an intermediate when
        # nothing refers to it any more: a replay's memory stays what the eager step needs.
        keep = set(slots_in(out_ref))
        last = {}
        for k, step in enumerate(rec.steps):
            for i in step.reads():
                last[i] = k
        free = [[] for _ in rec.steps]
        for i, k in last.items():
            if i not in keep:
                free[k].append(i)
        self.fns = []
        for step, dead in zip(rec.steps, free):
            run = step.build()
            self.fns.append(run if not dead else _then_free(run, tuple(dead)))

    def modes_match(self) -> bool:
        for m, training in self.modes:
            if m.training is not training:
                return False
        return True

    def replay(self, tensors):
        r = [None] * self.n
        for s, t in zip(self.inputs, tensors):
            r[s] = t._data
        for f in self.fns:
            f(r)
        return self.out(r)


def _then_free(run, dead):
    def run_and_free(r):
        run(r)
        for i in dead:
            r[i] = None

    return run_and_free


def _signature(x, tensors, key, Tensor):
    """The tensors among the arguments (in order) and what a program depends on: their shape,
    dtype, device and requires_grad, and every other argument's value."""
    if isinstance(x, Tensor):
        tensors.append(x)
        a = x._data
        key.append((tuple(a.shape), str(a.dtype), type(a) is np.ndarray, x.requires_grad))
    elif type(x) in (list, tuple):
        key.append((type(x), len(x)))
        for v in x:
            _signature(v, tensors, key, Tensor)
    elif type(x) is dict:
        key.append((dict, tuple(x)))
        for v in x.values():
            _signature(v, tensors, key, Tensor)
    elif x is None or isinstance(x, (bool, int, float, str, complex)):
        key.append((type(x), x))
    else:
        key.append(("object", id(x)))  # a module, an optimizer: the same object


def _has_graph(out, Tensor, done) -> bool:
    """Whether a result carries a graph the caller may still go back through (a loss whose
    backward ran inside the step does not)."""
    if isinstance(out, Tensor):
        return out._node is not None and id(out._node) not in done
    if type(out) in (list, tuple):
        return any(_has_graph(v, Tensor, done) for v in out)
    if type(out) is dict:
        return any(_has_graph(v, Tensor, done) for v in out.values())
    return False


def _agree(a, b, out_a, out_b, Tensor) -> bool:
    from .refs import same

    if a.nslots != b.nslots or len(a.steps) != len(b.steps) or a.modules.keys() != b.modules.keys():
        return False
    if not same(out_a, out_b, Tensor):
        return False
    return all(x.same_as(y, Tensor) for x, y in zip(a.steps, b.steps))


def _first_difference(a, b, Tensor) -> str:
    for i, (x, y) in enumerate(zip(a.steps, b.steps)):
        if not x.same_as(y, Tensor):
            return f"step {i}: {x.describe()} then {y.describe()}"
    if len(a.steps) != len(b.steps):
        return f"{len(a.steps)} steps then {len(b.steps)}"
    return "the same ops on different values"
