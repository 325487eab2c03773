"""Reverse-mode autograd: Function nodes with a ctx, and a backward pass over the graph of nodes.

Each op is a `Function` subclass whose `forward` takes and returns arrays (numpy arrays on cpu,
GpuArrays on wgpu) — one array, or a tuple of arrays for several outputs — and whose `backward`
gets one gradient per output and returns one gradient (or None) per positional input.

A Function marked `generic_backward = True` writes its backward with `ops._generic` helpers that
accept arrays or Tensors alike: first-order backward runs on raw arrays (fast), and with
`create_graph=True` the same code runs on Tensors and records a graph of its own, so the gradient
can be differentiated again. Other Functions (fused kernels) are differentiable once: with
`create_graph=True` their gradients carry a node that raises if a second backward reaches it.

In-place changes are tracked with version counters, as PyTorch does: a Function saving an input or
output array for backward records its version, and backward raises if it changed since.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import weakref

import numpy as np

from .errors import ShapeRuntimeError
from .wgpu import runtime as _wgpu_runtime

class _ThreadState(threading.local):
    grad_enabled = True  # class defaults: a new thread starts with grad on, read without getattr()
    inference = False


_state = _ThreadState()


def is_grad_enabled() -> bool:
    return _state.grad_enabled


def set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


def is_inference_mode_enabled() -> bool:
    return _state.inference


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


class inference_mode(no_grad):
    """`torch.inference_mode(mode=True)`: no graph is recorded inside (like no_grad)."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = is_grad_enabled()
        self._prev_inf = is_inference_mode_enabled()
        if self.mode:
            set_grad_enabled(False)
            _state.inference = True
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._prev)
        _state.inference = self._prev_inf
        return False

    def _recreate_cm(self):
        return type(self)(self.mode)


class set_grad_enabled_ctx(no_grad):
    """`torch.set_grad_enabled(mode)`: sets the mode at once as a call, and restores the previous
    mode on leaving when used as a context manager or decorator."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        set_grad_enabled(self.mode)

    def __enter__(self):
        return self

    def __call__(self, fn):
        set_grad_enabled(self._prev)  # as a decorator the mode applies inside the calls only
        return super().__call__(fn)

    def _recreate_cm(self):
        return type(self)(self.mode)


class Context:
    """Per-call scratch space: what forward saves for backward."""

    __slots__ = ("needs_input_grad", "__dict__")
    saved = ()  # a class default, not __init__: one Python frame less per op call

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays

    @property
    def saved_tensors(self):
        return self.saved


class Node:
    """One recorded call of a Function (PyTorch's grad_fn): how to send output gradients back."""

    __slots__ = ("fn", "ctx", "edges", "needs", "n_out", "out_meta", "freed", "checks", "sources", "hooks",
                 "retained", "serial", "__weakref__")

    def __init__(self, fn, ctx, inputs, out_meta):
        _SERIAL[0] = serial = _SERIAL[0] + 1
        self.serial = serial  # creation order: an in-place op finds the nodes it made
        # Edges, not tensors: per input, None (no gradient), the leaf Tensor, or (node, output) —
        # fixed at the call, so a later in-place op that moves a tensor in the graph leaves them be.
        Tensor = _TENSOR[0]
        edges, needs = [], []  # a plain loop: a comprehension costs a frame per call in 3.11
        for t in inputs:
            if isinstance(t, Tensor) and t.requires_grad:
                edges.append(t if t._node is None else (t._node, t._out))
                needs.append(True)
            else:
                edges.append(None)
                needs.append(False)
        self.edges = tuple(edges)
        self.needs = tuple(needs)  # which inputs get a gradient (ctx.needs_input_grad)
        self.fn, self.ctx, self.out_meta = fn, ctx, out_meta
        self.n_out = len(out_meta)
        self.freed = False
        self.checks = ()  # (version cell, version when saved, which): saved arrays to guard
        self.sources = None  # per saved array: ("in", i) / ("out", j) / None, for create_graph
        self.hooks = None  # output index -> hooks of a non-leaf tensor
        self.retained = None  # output index -> weakref of a tensor that retains its grad

    def name(self) -> str:
        return f"{self.fn.__name__}Backward0"

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self):
        out = []
        for e in self.edges:
            if e is None:
                out.append((None, 0))
            elif type(e) is tuple:
                out.append(e)
            else:
                out.append((_AccumulateGrad(e), 0))
        return tuple(out)


def nodes_since(node, serial):
    """`node` and the nodes behind it made after `serial` (those of one in-place op)."""
    out, stack, seen = [], [node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen or n.serial <= serial:
            continue
        seen.add(id(n))
        out.append(n)
        stack.extend(e[0] for e in n.edges if type(e) is tuple)
    return out


class _AccumulateGrad:
    """What `next_functions` shows for a leaf, as PyTorch does."""

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


class Function:
    """Base of every differentiable op. Subclasses define static `forward` and `backward`."""

    generic_backward = False  # True: backward is written with ops._generic (twice differentiable)
    # A fused kernel may name its composite form: `composite(*args, **kwargs)` builds the same
    # output from differentiable Tensor ops. Under create_graph=True its gradient is taken through
    # that form, so fused ops are differentiable twice too (first-order backward stays fused).
    composite = None
    # Which saved inputs a backward reads, given ctx.needs_input_grad: only their in-place changes
    # make backward raise (x * 2 keeps no need for x). None: every saved input counts.
    reads_inputs = None

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        if _RECORDING[0] is not None and not _RECORDING[0].depth:
            return _RECORDING[0].apply(cls, args, kwargs)  # fg.compile is capturing a step
        Tensor = _TENSOR[0] or _tensor_type()
        raw = []
        wants = False
        for a in args:
            if isinstance(a, Tensor):
                raw.append(a._data)
                wants = wants or a.requires_grad
            else:
                raw.append(a)
        if _wgpu_runtime._runtime is not None:  # a device exists: tensors may be on either side
            _check_devices(cls.__name__, args)
        ctx = Context()
        out = cls.forward(ctx, *raw, **kwargs)
        needs_grad = wants and _state.grad_enabled
        if needs_grad and cls.composite is not None:
            ctx.composite_call = (args, kwargs)
        if type(out) is not tuple:
            dtype = out.dtype
            if needs_grad and dtype.kind != "f":  # an integer or bool result carries no gradient
                needs_grad = False
            result = Tensor._wrap(out, needs_grad)
            if needs_grad:
                node = Node(cls, ctx, args, ((out.shape, dtype, type(out) is not np.ndarray),))
                _record(node, ctx, raw, (result,), args)
                result._node = node
            return result
        results = tuple(
            Tensor._wrap(o, requires_grad=needs_grad and np.dtype(o.dtype).kind == "f") for o in out
        )
        if needs_grad:
            node = Node(cls, ctx, args, tuple((o.shape, o.dtype, type(o) is not np.ndarray) for o in out))
            _record(node, ctx, raw, results, args)
            for j, r in enumerate(results):
                if r.requires_grad:
                    r._node, r._out = node, j
        return results

    @classmethod
    def apply2(cls, x, y):
        """`apply(x, y)` for two cpu Tensors and a single-array result (Tensor._binary's path for
        + - * / **): the same context, node and saved-array version checks, unrolled — about a
        third fewer interpreter steps than the general loop. Not for use while fg.compile records
        (the caller checks) or with a device runtime's arrays."""
        a, b = x._data, y._data
        ctx = Context()
        out = cls.forward(ctx, a, b)
        Tensor = _TENSOR[0]
        if not ((x.requires_grad or y.requires_grad) and _state.grad_enabled) or out.dtype.kind != "f":
            return Tensor._wrap(out)
        if cls.composite is not None:
            ctx.composite_call = ((x, y), {})
        result = Tensor._wrap(out, True)
        node = Node(cls, ctx, (x, y), ((out.shape, out.dtype, type(out) is not np.ndarray),))
        _record(node, ctx, (a, b), (result,), (x, y))
        result._node = node
        return result


_SERIAL = [0]  # nodes made so far
# fg.compile's recorder (compiler/recorder.py) while it captures a step, else None. Hooks in the
# core ask it first; `depth` > 0 means "inside a call already recorded whole": run as usual.
_RECORDING = [None]


def replayed_whole(fn):
    """Mark `fn` (an optimizer step, zero_grad, gradient clipping) as one step of a captured
    program: fg.compile re-runs it as it is on every replay instead of recording its inside. For
    calls that touch only long-lived state (parameters, their .grad, optimizer state)."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        rec = _RECORDING[0]
        if rec is None or rec.depth:
            return fn(*args, **kwargs)
        return rec.call_whole(fn, args, kwargs)

    call.__wrapped_whole__ = fn
    return call


def replay_whole_in_subclass(cls, *names):
    """For a base class's __init_subclass__: the subclass's own `names` methods are marked
    `replayed_whole` too (an optimizer's step, a scheduler's step)."""
    for name in names:
        fn = cls.__dict__.get(name)
        if fn is not None and not hasattr(fn, "__wrapped_whole__"):
            setattr(cls, name, replayed_whole(fn))
# Backward passes in several threads may meet at one leaf (a shared model): adding into `.grad` is
# a read-modify-write (numpy drops the GIL inside the add), so it runs under one lock.
_ACCUMULATE_LOCK = threading.Lock()
_TENSOR = [None]  # the Tensor class, once imported (a list: set from tensor.py without a cycle)


def _record(node, ctx, raw, results, inputs):
    """Which inputs need a gradient, and the versions of the arrays the ctx saved."""
    ctx.needs_input_grad = needs = node.needs
    saved = ctx.saved
    if type(saved) is not tuple or not saved:
        return
    Tensor = _TENSOR[0]
    reads = node.fn.reads_inputs
    keep = None if reads is None else reads(needs)
    checks, sources = [], []
    for s in saved:
        src = None
        if type(s) is np.ndarray or (s is not None and hasattr(s, "shape")):  # an array (scalars are not tracked)
            for i, a in enumerate(raw):
                if a is s:
                    t = inputs[i]
                    if isinstance(t, Tensor):
                        src = ("in", i)
                        if keep is None or i in keep:
                            v = t._version
                            checks.append((v, v[0], i))
                    break
            else:
                for j, r in enumerate(results):
                    if r._data is s:
                        src = ("out", j)
                        checks.append((r._version, r._version[0], -1 - j))
                        break
        sources.append(src)
    node.checks = checks
    node.sources = sources


def _check_devices(op, args):
    """ValueError naming the op and the devices when its tensor arguments are on more than one.
    Raw arrays count too: a wgpu array beside cpu tensors, or host float data (an ndarray, not a
    0-d scalar) beside wgpu tensors, is refused rather than read back or uploaded behind the
    caller's back (a caller that means to upload does so explicitly, `Tensor.to(device)`). Host
    int/bool arrays pass: they are index keys (`t[idx]`, IndexPut), which the device indexer
    uploads, as torch takes cpu indices for cuda tensors."""
    kinds = {type(a._data) is np.ndarray for a in args if _is_tensor(a)}
    if len(kinds) > 1:
        raise ValueError(f"{op}: expected all tensors on one device, got tensors on cpu and wgpu")
    if kinds == {True} and any(type(a) is _gpu_array() for a in args):
        raise ValueError(f"{op}: expected all tensors on one device, got cpu tensors and a wgpu array")
    if kinds == {False} and any(type(a) is np.ndarray and a.ndim and a.dtype.kind in "fc" for a in args):
        raise ValueError(f"{op}: expected all tensors on one device, got wgpu tensors and a host (numpy) array")


def _tensor_type():
    if _TENSOR[0] is None:
        from .tensor import Tensor

        _TENSOR[0] = Tensor
    return _TENSOR[0]


@functools.cache
def _gpu_array():
    from .wgpu.array import GpuArray

    return GpuArray


def _device(array) -> str:
    from .device import of

    return str(of(array))


def _is_tensor(x) -> bool:
    return isinstance(x, _tensor_type())


# ---- the backward pass -------------------------------------------------------------------------
def _graph(roots):
    """Nodes reachable from the roots, and how many graph edges lead into each."""
    deps, stack = {}, []
    for t in roots:
        n = t._node
        if n is not None and n not in deps:
            deps[n] = 0
            stack.append(n)
    while stack:
        for e in stack.pop().edges:
            if type(e) is tuple:
                child = e[0]
                count = deps.get(child)
                if count is None:
                    deps[child] = 1
                    stack.append(child)  # first sight: its own edges are counted once, from here
                else:
                    deps[child] = count + 1
    return deps


def _check_versions(node):
    for cell, version, which in node.checks:
        if cell[0] != version:
            what = f"input {which}" if which >= 0 else f"output {-1 - which}"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: {what} of {node.name()} is at version {cell[0]}; expected version {version} "
                "instead. Hint: clone() the tensor before changing it in place, or change it after backward()."
            )


def _seed(root, gradient, create_graph):
    Tensor = _tensor_type()
    if gradient is None:
        if root._data.size != 1:
            raise ShapeRuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, got shape "
                f"{tuple(root.shape)}; pass gradient= of that shape"
            )
        seed = np.ones_like(root._data)
    else:
        from .ops._util import asarray

        if isinstance(gradient, Tensor) and type(gradient._data) is not type(root._data):
            raise ValueError(f"backward: gradient is on {gradient.device}, the output on {_device(root._data)}")
        if create_graph and isinstance(gradient, Tensor):
            if gradient.shape != root.shape:
                raise ValueError(f"backward: gradient has shape {tuple(gradient.shape)}, the output has shape {tuple(root.shape)}")
            return gradient
        # Host data (a list, a numpy array) for a device output is uploaded: an explicit argument.
        seed = asarray(gradient._data if isinstance(gradient, Tensor) else gradient, root._data.dtype, like=root._data)
        if seed.shape != root._data.shape:
            raise ValueError(
                f"backward: gradient has shape {seed.shape}, the output has shape {root._data.shape}"
            )
    return Tensor._wrap(seed) if create_graph else seed


def _zeros_for(meta, create_graph):
    shape, dtype, on_device = meta
    if on_device:
        from .wgpu.elementwise import full

        z = full(tuple(shape), 0, dtype)
    else:
        z = np.zeros(shape, dtype)
    return _tensor_type()._wrap(z) if create_graph else z


def _add(a, b):
    return b if a is None else a + b


def _run_hooks(hooks, g, create_graph):
    Tensor = _tensor_type()
    for hook in hooks:
        arg = g if isinstance(g, Tensor) else Tensor._wrap(g)
        new = hook(arg)
        if new is not None:
            g = new if create_graph else (new._data if isinstance(new, Tensor) else new)
    return g


# Tensor.register_post_accumulate_grad_hook: id(leaf) -> (weakref to the leaf, hooks). Kept
# here, not in a Tensor slot, so tensors without such hooks pay nothing. While any exists,
# backward accumulates a hooked leaf as soon as its last gradient arrives (not at the end), so
# the hook runs during backward: DistributedDataParallel starts its all-reduces from it.
_POST_ACC = {}


def _post_acc_hooks(leaf, create=False):
    entry = _POST_ACC.get(id(leaf))
    if entry is not None and entry[0]() is leaf:
        return entry[1]
    if not create:
        return None
    key = id(leaf)
    hooks = []
    _POST_ACC[key] = (weakref.ref(leaf, lambda _, k=key, d=_POST_ACC: d.pop(k, None)), hooks)
    return hooks


def _leaf_deps(deps):
    """How many graph edges lead into each leaf that has post-accumulate hooks."""
    counts = {}
    for node in deps:
        for e in node.edges:
            if e is not None and type(e) is not tuple and _post_acc_hooks(e):
                counts[e] = counts.get(e, 0) + 1
    return counts


def _finish_leaf(leaf, g, create_graph, owned=False):
    """Run a leaf's hooks on its summed gradient, accumulate it into .grad, then run its
    post-accumulate hooks."""
    Tensor = _tensor_type()
    if leaf._hooks:
        g = _run_hooks(leaf._hooks, g, create_graph)
    with _ACCUMULATE_LOCK:
        if isinstance(g, Tensor):
            _accumulate_tensor(leaf, g)
        else:
            leaf._accumulate(g, owned)
    _post_accumulate(leaf)


def _post_accumulate(leaf):
    for hook in list(_post_acc_hooks(leaf) or ()):
        hook(leaf)


def _engine(roots, seeds, retain_graph, create_graph, targets=None):
    """Push `seeds` back from `roots`. Without `targets`, leaf gradients accumulate into `.grad`;
    with `targets` (tensors), their gradients are returned instead and `.grad` is left alone."""
    Tensor = _tensor_type()
    deps = _graph(roots)
    out_grads = {}  # node -> list of gradients per output
    leaf_grads = {}  # leaf -> [leaf, summed gradient]
    captured = {}
    want_nodes = {}
    if targets is not None:
        for k, t in enumerate(targets):
            if t._node is not None:
                want_nodes.setdefault((id(t._node), t._out), []).append(k)
    for r, s in zip(roots, seeds):
        if r._node is None:  # a leaf root: its gradient is the seed itself
            slot = leaf_grads.setdefault(r, [r, None])
            slot[1] = _add(slot[1], s)
        else:
            lst = out_grads.setdefault(r._node, [None] * r._node.n_out)
            lst[r._out] = _add(lst[r._out], s)
    ready = [n for n, d in deps.items() if d == 0]
    leaf_deps = _leaf_deps(deps) if _POST_ACC and targets is None else None
    prev_mode = is_grad_enabled()
    set_grad_enabled(create_graph)
    try:
        while ready:
            node = ready.pop()
            grads = out_grads.pop(node, None)
            if grads is None:
                grads = [None] * node.n_out
            if node.retained or node.hooks:
                _node_hooks(node, grads, create_graph)
            if want_nodes:
                for j in range(node.n_out):
                    for k in want_nodes.get((id(node), j), ()):
                        captured[k] = grads[j]
            edges = node.edges
            if (grads[0] is None) if node.n_out == 1 else all(g is None for g in grads):
                in_grads = (None,) * len(edges)
            else:
                if node.freed:
                    raise RuntimeError(
                        "backward: trying to go back through the graph a second time (or to read saved "
                        "values after they were freed). Pass retain_graph=True to the first backward call."
                    )
                if node.checks:
                    _check_versions(node)
                if node.n_out > 1:
                    for j, meta in enumerate(node.out_meta):
                        if grads[j] is None and np.dtype(meta[1]).kind == "f":
                            grads[j] = _zeros_for(meta, create_graph)
                if create_graph:
                    in_grads = _call_backward(node, grads, create_graph)
                else:
                    in_grads = node.fn.backward(node.ctx, *grads)
                    if type(in_grads) is not tuple:
                        in_grads = (in_grads,)
                if not retain_graph:
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
                        prev = lst[e[1]]
                        lst[e[1]] = ig if prev is None else prev + ig
                    deps[child] -= 1
                    if deps[child] == 0:
                        ready.append(child)
                elif ig is not None:
                    slot = leaf_grads.get(e)  # keyed by the leaf itself (hash and lookup by identity)
                    if slot is None:
                        leaf_grads[e] = [e, ig]
                    else:
                        slot[1] = ig if slot[1] is None else slot[1] + ig
                if leaf_deps and type(e) is not tuple and e in leaf_deps:
                    leaf_deps[e] -= 1
                    if leaf_deps[e] == 0:  # its last gradient: accumulate now, run its post-accumulate hooks
                        slot = leaf_grads.pop(e, None)
                        if slot is not None and slot[1] is not None:
                            _finish_leaf(e, slot[1], create_graph)
            in_grads = ig = lst = prev = slot = None  # drop our references so a leaf can take its gradient without a copy
    finally:
        set_grad_enabled(prev_mode)

    if targets is not None:
        result = []
        for k, t in enumerate(targets):
            if t._node is None:
                slot = leaf_grads.get(t)
                result.append(None if slot is None else slot[1])
            else:
                result.append(captured.get(k))
        return result
    for key in list(leaf_grads):
        leaf, g = leaf_grads.pop(key)
        if g is None:
            continue
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, create_graph)
        if isinstance(g, Tensor):
            with _ACCUMULATE_LOCK:
                _accumulate_tensor(leaf, g)
            if _POST_ACC:
                _post_accumulate(leaf)
            continue
        # The leaf may keep `g` itself when nothing else refers to it (refcount: `g` and the
        # call's argument); a shared array (seed, both sides of an add, saved in a ctx) is copied.
        if type(g) is np.ndarray:
            owned = g.flags.owndata and sys.getrefcount(g) <= 2
        else:  # a GpuArray owns its buffer when no other array object shares its Storage
            owned = type(g) is _gpu_array() and sys.getrefcount(g) <= 2 and sys.getrefcount(g.storage) <= 2
        with _ACCUMULATE_LOCK:
            leaf._accumulate(g, owned)
        if _POST_ACC:
            _post_accumulate(leaf)
    return None


def _node_hooks(node, grads, create_graph):
    """A non-leaf tensor's hooks and retain_grad, on its gradient before the node's backward."""
    for j in range(node.n_out):
        if grads[j] is None:
            continue
        if node.hooks and j in node.hooks:
            grads[j] = _run_hooks(node.hooks[j], grads[j], create_graph)
        if node.retained and j in node.retained:
            t = node.retained[j]()
            if t is not None:
                g = grads[j]
                with _ACCUMULATE_LOCK:
                    t._accumulate(g._data if _is_tensor(g) else g)


def _accumulate_tensor(leaf, g):
    """create_graph=True: `.grad` becomes (or adds) a Tensor that keeps its own graph."""
    if leaf.grad is None:
        leaf.grad = g if g.dtype == leaf.dtype else g.to(leaf.dtype)
    else:
        leaf.grad = leaf.grad + g


def _call_backward(node, grads, create_graph):
    Tensor = _tensor_type()
    fn, ctx = node.fn, node.ctx
    if not create_graph:
        out = fn.backward(ctx, *grads)
        return out if isinstance(out, tuple) else (out,)
    if fn.generic_backward:
        # Saved arrays become the tensors they came from, so the gradient records a graph.
        saved = ctx.saved
        if node.sources is not None:
            subs = []
            for s, src in zip(saved, node.sources):
                if src is None:
                    subs.append(s)
                elif src[0] == "in":
                    e = node.edges[src[1]]
                    if e is None or type(e) is not tuple:
                        subs.append(s if e is None else e)
                    else:
                        t = Tensor._wrap(s, requires_grad=True)
                        t._node, t._out = e
                        subs.append(t)
                else:
                    t = Tensor._wrap(s, requires_grad=True)
                    t._node, t._out = node, src[1]
                    subs.append(t)
            ctx.saved = tuple(subs)
        try:
            out = fn.backward(ctx, *grads)
        finally:
            ctx.saved = saved
        out = out if isinstance(out, tuple) else (out,)
        return tuple(o if o is None or isinstance(o, Tensor) else Tensor._wrap(o) for o in out)
    if fn.composite is not None and getattr(ctx, "composite_call", None) is not None:
        return _composite_backward(node, grads)
    # A fused kernel's backward runs on arrays once; its results may not be differentiated again.
    raw = [g._data if isinstance(g, Tensor) else g for g in grads]
    out = fn.backward(ctx, *raw)
    out = out if isinstance(out, tuple) else (out,)
    return tuple(None if o is None else _once_differentiable(o, node, grads) for o in out)


def _composite_backward(node, grads):
    """The input gradients of a fused op, with a graph: rebuilt from its composite form."""
    Tensor = _tensor_type()
    args, kwargs = node.ctx.composite_call
    out = node.fn.composite(*args, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and isinstance(o, Tensor) and o.requires_grad]
    wanted = [i for i, e in enumerate(node.edges) if e is not None]
    result = [None] * len(node.edges)
    if not pairs or not wanted:
        return tuple(result)
    got = grad([o for o, _ in pairs], [args[i] for i in wanted], [g for _, g in pairs],
               create_graph=True, allow_unused=True)
    for i, gi in zip(wanted, got):
        result[i] = gi
    return tuple(result)


class _NotTwiceDifferentiable(Function):
    """The grad_fn of a gradient a fused kernel computed under create_graph=True: that gradient
    depends on the op's inputs, but the kernel cannot say how, so going back through it raises
    (rather than silently treating it as a constant)."""

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(
            f"{ctx.name}: its backward is computed by a fused kernel and is not differentiable again "
            "(create_graph=True through this op is not supported)"
        )


def _once_differentiable(array, node, grads):
    Tensor = _tensor_type()
    if array.dtype.kind != "f":
        return Tensor._wrap(array)
    ctx = Context()
    ctx.name = node.name()
    t = Tensor._wrap(array, requires_grad=True)
    t._node = Node(_NotTwiceDifferentiable, ctx, (), ((array.shape, array.dtype, type(array) is not np.ndarray),))
    return t


def backward(root, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate d(root)/d(leaf) into every leaf's `.grad`, like `torch.Tensor.backward`."""
    if _RECORDING[0] is not None and not _RECORDING[0].depth:
        return _RECORDING[0].backward(root, gradient, retain_graph, create_graph, inputs)
    if not root.requires_grad:
        raise RuntimeError(
            "element 0 of tensors does not require grad and does not have a grad_fn "
            "(was it made under no_grad, or from tensors without requires_grad?)"
        )
    retain_graph = create_graph if retain_graph is None else retain_graph
    seed = _seed(root, gradient, create_graph)
    if inputs is not None:
        inputs = [inputs] if _is_tensor(inputs) else list(inputs)
        grads = _engine([root], [seed], retain_graph, create_graph, targets=inputs)
        for t, g in zip(inputs, grads):
            if g is not None:
                with _ACCUMULATE_LOCK:
                    if _is_tensor(g):
                        _accumulate_tensor(t, g)
                    else:
                        t._accumulate(g)
        return
    _engine([root], [seed], retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         is_grads_batched=False, materialize_grads=False):
    """`torch.autograd.grad`: the gradients of `outputs` with respect to `inputs`, returned as a
    tuple (nothing is accumulated into `.grad`)."""
    if _RECORDING[0] is not None and not _RECORDING[0].depth:
        _RECORDING[0].unsupported("autograd.grad (use loss.backward() inside the compiled function)")
    Tensor = _tensor_type()
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{i}] must be a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad")
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(f"grad: element {i} of outputs does not require grad and does not have a grad_fn")
    retain_graph = create_graph if retain_graph is None else retain_graph
    seeds = [_seed(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    grads = _engine(outputs, seeds, retain_graph, create_graph, targets=inputs)
    result = []
    for i, (t, g) in enumerate(zip(inputs, grads)):
        if g is None:
            if materialize_grads:
                from .tensor import zeros_like

                result.append(zeros_like(t))
                continue
            if not allow_unused:
                raise RuntimeError(
                    f"grad: inputs[{i}] was not used in the graph of the outputs. Set allow_unused=True "
                    "if this is the desired behavior."
                )
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else Tensor._wrap(g))
    return tuple(result)
