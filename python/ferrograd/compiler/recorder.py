"""The recorder: while fg.compile captures a step, the core's hooks (Function.apply, backward,
in-place writes, `.grad =`, value reads, calls marked `replayed_whole`) report here, and each
becomes a step of the program. It runs the step eagerly at the same time, so a capturing call
returns what an uncompiled call returns."""

from __future__ import annotations

import sys

import numpy as np

from .. import autograd
from ..autograd import _RECORDING, _check_versions, _graph, _seed, _zeros_for
from .refs import ARRAYS, Const, Ext, Seq, Slot, has_tensor, slots_in
from .steps import Accumulate, Backward, Call, Forward, SetGrad, Whole, Write


class CompileError(RuntimeError):
    """What fg.compile cannot capture, and what to do instead."""


def _add(a, b):
    return a + b


class Recorder:
    def __init__(self, tensor_type):
        self.T = tensor_type
        self.depth = 0  # > 0: inside a call recorded whole (or the recorder's own work)
        self.steps = []
        self.slot_of = {}  # id(array) -> register
        self.ctx_of = {}  # id(ctx) -> register
        self.nslots = 0
        self.keep = []  # every registered array stays alive, so no id is reused while recording
        self.modules = {}  # id -> module whose forward ran: their train/eval flags guard the program
        self.nodes_done = set()  # graph nodes a captured backward went through

    # ---- registers and references -----------------------------------------------------------
    def slot(self, array) -> int:
        i = self.nslots
        self.nslots += 1
        self.slot_of[id(array)] = i
        self.keep.append(array)
        return i

    def ref(self, x):
        T = self.T
        if isinstance(x, T):
            i = self.slot_of.get(id(x._data))
            return Slot(i) if i is not None else Ext(x)
        if isinstance(x, ARRAYS):
            i = self.slot_of.get(id(x))
            return Slot(i) if i is not None else Const(x)
        if type(x) in (list, tuple) and has_tensor(x, T):
            return Seq(type(x), [self.ref(v) for v in x])
        if type(x) is dict and has_tensor(x, T):
            return Seq(dict, [self.ref(v) for v in x.values()], list(x))
        return Const(x)

    def unsupported(self, what):
        raise CompileError(f"fg.compile: cannot capture {what}. Call the function without fg.compile, or "
                           "move that part out of the compiled function.")

    # ---- hooks --------------------------------------------------------------------------------
    def apply(self, cls, args, kwargs):
        refs = [self.ref(a) for a in args]
        kw = {k: self.ref(v) for k, v in kwargs.items()}
        self.depth += 1
        try:
            out = cls.apply(*args, **kwargs)
        finally:
            self.depth -= 1
        many = type(out) is tuple
        outs = out if many else (out,)
        node = next((o._node for o in outs if o._node is not None), None)
        ctx_reg = needs = None
        if node is not None:
            ctx_reg = self.nslots
            self.nslots += 1
            self.ctx_of[id(node.ctx)] = ctx_reg
            needs = getattr(node.ctx, "needs_input_grad", None)
        regs = [self.slot(o._data) for o in outs]
        self.steps.append(Forward(cls, refs, kw, regs, many, ctx_reg, needs))
        return out

    def call_whole(self, fn, args, kwargs, outputs=False):
        # An iterator (model.parameters()) is read once: the replay gets the list it held.
        args = [list(a) if hasattr(a, "__next__") and not isinstance(a, self.T) else a for a in args]
        refs = [self.ref(a) for a in args]
        kw = {k: self.ref(v) for k, v in kwargs.items()}
        self.depth += 1
        try:
            res = fn(*args, **kwargs)
        finally:
            self.depth -= 1
        regs = None
        if outputs and isinstance(res, (bool, float, complex, np.bool_, np.floating)) \
                and any(slots_in(r) for r in refs + list(kw.values())):
            raise CompileError(
                f"fg.compile: {getattr(fn, '__name__', 'an op')}() returns a Python value computed from the "
                "data inside the compiled function; a replay cannot follow it. Call it outside the function.")
        if outputs:
            regs = [self.slot(t._data) if isinstance(t, self.T) else None
                    for t in (res if type(res) in (tuple, list) else (res,))]
        self.steps.append(Whole(fn, refs, kw, regs, self.T._wrap))
        return res

    def read(self, t, what):
        if id(t._data) in self.slot_of:
            raise CompileError(
                f"fg.compile: the compiled function reads a tensor's value into Python ({what}) — its "
                "control flow or results may depend on the data, which a replay cannot follow. Return the "
                "tensor from the compiled function and read it outside (e.g. `loss = step(x, y); loss.item()`).")

    def write(self, t, value, op, key, rebind):
        dst = self.ref(t)
        if rebind:
            if type(dst) is Slot:  # a tensor made in the step now names another array: refs follow by id
                return
            self.steps.append(Write(dst, self.ref(t._data), op, None, True, None))
            return
        from ..tensor import _write

        self.steps.append(Write(dst, self.ref(value), op, None if key is None else self.ref(key), False, _write))

    def set_grad(self, t, value):
        if self.depth:
            return
        ref = self.ref(t)
        if type(ref) is Slot:
            return  # the .grad of a tensor made inside the step: nothing outside sees it
        self.steps.append(SetGrad(t, None if value is None else self.ref(value), self.T._wrap))

    def module(self, m):
        if self.depth:
            return
        if "_hooked" in m.__dict__:  # Python hooks would not run on a replay
            self.unsupported(f"forward hooks or pre-hooks on {type(m).__name__} inside the compiled function")
        self.modules[id(m)] = m

    # ---- backward: autograd's engine, each kernel call logged ----------------------------------
    def backward(self, root, gradient, retain_graph, create_graph, inputs):
        if create_graph:
            self.unsupported("backward(create_graph=True)")
        if inputs is not None:
            self.unsupported("backward(inputs=...)")
        if not root.requires_grad:
            self.depth += 1
            try:
                return autograd.backward(root, gradient, retain_graph, create_graph, inputs)  # raises
            finally:
                self.depth -= 1
        self.depth += 1
        prev = autograd.is_grad_enabled()
        try:
            self._engine(root, gradient, bool(retain_graph))
        finally:
            autograd.set_grad_enabled(prev)
            self.depth -= 1

    def _engine(self, root, gradient, retain):
        """autograd._engine's order exactly (so replays sum gradients in the same order, bit for bit)."""
        seed = _seed(root, gradient, False)
        if gradient is None:
            self.steps.append(Call(np.ones_like, [self.ref(root)], self.slot(seed)))
        else:
            self.steps.append(Call(_seed_like, [self.ref(gradient), self.ref(root)], self.slot(seed)))
        deps = _graph([root])
        out_grads, leaf_grads = {}, {}
        if root._node is None:
            leaf_grads[root] = [root, seed]
        else:
            lst = out_grads.setdefault(root._node, [None] * root._node.n_out)
            lst[root._out] = seed
        ready = [n for n, d in deps.items() if d == 0]
        autograd.set_grad_enabled(False)
        while ready:
            node = ready.pop()
            grads = out_grads.pop(node, None)
            if grads is None:
                grads = [None] * node.n_out
            if node.retained or node.hooks:
                self.unsupported("tensor hooks or retain_grad() inside the compiled function")
            edges = node.edges
            if all(g is None for g in grads):
                in_grads = (None,) * len(edges)
            else:
                if node.freed:
                    raise RuntimeError(
                        "backward: trying to go back through the graph a second time (or to read saved "
                        "values after they were freed). Pass retain_graph=True to the first backward call.")
                if node.checks:
                    _check_versions(node)
                ctx_reg = self.ctx_of.get(id(node.ctx))
                if ctx_reg is None:
                    self.unsupported("a backward through a graph built outside the compiled function "
                                     "(compute the loss inside it)")
                if node.n_out > 1:
                    for j, meta in enumerate(node.out_meta):
                        if grads[j] is None and np.dtype(meta[1]).kind == "f":
                            grads[j] = _zeros_for(meta, False)
                            self.steps.append(Call(_zeros_for, [Const(meta), Const(False)], self.slot(grads[j])))
                refs = [self.ref(g) for g in grads]
                in_grads = node.fn.backward(node.ctx, *grads)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
                outs = [None if g is None else self.slot(g) for g in in_grads]
                self.steps.append(Backward(node.fn, ctx_reg, refs, outs))
                self.nodes_done.add(id(node))
                if not retain:
                    node.freed = True
                    node.ctx = None
            for e, ig in zip(edges, in_grads):
                if e is None:
                    continue
                if type(e) is tuple:
                    child = e[0]
                    if ig is not None:
                        lst = out_grads.get(child)
                        if lst is None:
                            lst = out_grads[child] = [None] * child.n_out
                        lst[e[1]] = ig if lst[e[1]] is None else self._sum(lst[e[1]], ig)
                    deps[child] -= 1
                    if deps[child] == 0:
                        ready.append(child)
                elif ig is not None:
                    slot = leaf_grads.get(e)
                    if slot is None:
                        leaf_grads[e] = [e, ig]
                    else:
                        slot[1] = ig if slot[1] is None else self._sum(slot[1], ig)
            in_grads = ig = lst = slot = None  # as the eager engine: no stray reference to a leaf's gradient
        for key in list(leaf_grads):
            leaf, g = leaf_grads.pop(key)
            if g is None:
                continue
            if leaf._hooks or id(leaf) in autograd._POST_ACC:
                self.unsupported("gradient hooks on a parameter (tensor hooks, DistributedDataParallel) "
                                 "inside the compiled function")
            # As the eager engine decides: the leaf may keep an array nobody else holds (the
            # recorder's own list is the one extra reference).
            owned = (type(g) is np.ndarray and g.flags.owndata and sys.getrefcount(g) <= 3) or \
                (type(g) is not np.ndarray and sys.getrefcount(g) <= 3)
            gref = self.slot_of[id(g)]
            leaf._accumulate(g, owned)
            self.steps.append(Accumulate(leaf, gref, owned, self.slot(leaf._grad._data)))

    def _sum(self, a, b):
        out = a + b
        self.steps.append(Call(_add, [self.ref(a), self.ref(b)], self.slot(out)))
        return out


def _seed_like(gradient, like):
    from ..ops._util import asarray

    g = gradient._data if hasattr(gradient, "_data") else gradient
    return asarray(g, like.dtype, like=like)


def start(rec):
    _RECORDING[0] = rec


def stop():
    _RECORDING[0] = None
