"""The steps of a captured program, each turned into a closure over the registers `r` (a list of
arrays) for replay: no Tensor objects, no argument checks, no graph — the kernels the eager call ran,
in the order it ran them, on this call's arrays."""

from __future__ import annotations

from ..autograd import Context
from .refs import Const, Ext, Seq, Slot, array_getter, same, slots_in, tensor_getter


class Step:
    """Base: `fields` are compared between two captures (refs with `same`, the rest with `==`/`is`)."""

    fields = ()

    def same_as(self, other, tensor_type) -> bool:
        if type(self) is not type(other):
            return False
        for f in self.fields:
            a, b = getattr(self, f), getattr(other, f)
            if not _same_field(a, b, tensor_type):
                return False
        return True

    def describe(self) -> str:
        return type(self).__name__

    def reads(self) -> list:
        """Registers this step reads (a replay drops each after its last reader)."""
        return []


def _same_field(a, b, tensor_type):
    if isinstance(a, (Slot, Ext, Const, Seq)):
        return same(a, b, tensor_type)
    if type(a) in (list, tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_same_field(x, y, tensor_type) for x, y in zip(a, b))
    if type(a) is dict:
        return type(b) is dict and a.keys() == b.keys() and all(_same_field(a[k], b[k], tensor_type) for k in a)
    return a is b or a == b


def _refs_slots(refs) -> list:
    return [i for ref in refs for i in slots_in(ref)]


def _args_builder(refs):
    """A function of the registers returning the positional argument list; slots and tensors are
    filled into a template of the constants (the common case: a few array arguments)."""
    template, fills = [], []
    for i, ref in enumerate(refs):
        if type(ref) is Const:
            template.append(ref.v)
        else:
            template.append(None)
            fills.append((i, array_getter(ref)))
    if all(type(refs[i]) is Slot for i, _ in fills):
        pairs = [(i, refs[i].i) for i, _ in fills]
        if len(pairs) == 1 and len(template) == 1:
            (_, s), = pairs
            return lambda r: [r[s]]

        def build(r):
            a = template.copy()
            for i, s in pairs:
                a[i] = r[s]
            return a

        return build

    def build(r):
        a = template.copy()
        for i, get in fills:
            a[i] = get(r)
        return a

    return build


def _kwargs_builder(refs: dict):
    if not refs:
        return None
    gets = {k: array_getter(v) for k, v in refs.items()}
    return lambda r: {k: g(r) for k, g in gets.items()}


class Forward(Step):
    """`cls.forward(ctx, *arrays)` of one Function.apply; the ctx goes to a register when a backward
    step will need it."""

    fields = ("cls", "args", "kwargs", "outs", "many", "ctx", "needs")

    def __init__(self, cls, args, kwargs, outs, many, ctx, needs):
        self.cls, self.args, self.kwargs, self.outs, self.many, self.ctx, self.needs = \
            cls, args, kwargs, outs, many, ctx, needs

    def describe(self):
        return f"{self.cls.__name__}.forward"

    def reads(self):
        return _refs_slots(self.args) + _refs_slots(self.kwargs.values())

    def build(self):
        fwd, args, kwargs = self.cls.forward, _args_builder(self.args), _kwargs_builder(self.kwargs)
        outs, many, c, needs = self.outs, self.many, self.ctx, self.needs

        def run(r):
            ctx = Context()
            out = fwd(ctx, *args(r), **kwargs(r)) if kwargs else fwd(ctx, *args(r))
            if needs is not None:
                ctx.needs_input_grad = needs
            if c is not None:
                r[c] = ctx
            if many:
                for s, o in zip(outs, out):
                    r[s] = o
            else:
                r[outs[0]] = out

        return run


class Backward(Step):
    """`fn.backward(ctx, *grads)` of one graph node; input gradients to registers (None: unused)."""

    fields = ("fn", "ctx", "grads", "outs")

    def __init__(self, fn, ctx, grads, outs):
        self.fn, self.ctx, self.grads, self.outs = fn, ctx, grads, outs

    def describe(self):
        return f"{self.fn.__name__}.backward"

    def reads(self):
        return [self.ctx] + _refs_slots(self.grads)

    def build(self):
        bwd, c, grads, outs = self.fn.backward, self.ctx, _args_builder(self.grads), self.outs

        def run(r):
            got = bwd(r[c], *grads(r))
            if type(got) is not tuple:
                got = (got,)
            for s, g in zip(outs, got):
                if s is not None:
                    r[s] = g

        return run


class Call(Step):
    """`out = fn(*arrays)`: the backward pass's own arithmetic (summing gradients, the seed)."""

    fields = ("fn", "args", "out")

    def __init__(self, fn, args, out):
        self.fn, self.args, self.out = fn, args, out

    def describe(self):
        return getattr(self.fn, "__name__", "call")

    def reads(self):
        return _refs_slots(self.args)

    def build(self):
        fn, args, out = self.fn, _args_builder(self.args), self.out

        def run(r):
            r[out] = fn(*args(r))

        return run


class Accumulate(Step):
    """A leaf's gradient added into `.grad` (as the eager backward does), and the array `.grad`
    then holds put in a register, since later steps (clipping, the update) read it."""

    fields = ("leaf", "grad", "owned", "out")

    def __init__(self, leaf, grad, owned, out):
        self.leaf, self.grad, self.owned, self.out = leaf, grad, owned, out

    def describe(self):
        return "accumulate grad"

    def reads(self):
        return [self.grad]

    def build(self):
        leaf, g, owned, out = self.leaf, self.grad, self.owned, self.out

        def run(r):
            leaf._accumulate(r[g], owned)
            r[out] = leaf._grad._data

        return run


class Whole(Step):
    """A call replayed as it is, on tensors: an optimizer step or zero_grad (which touch only
    long-lived state), or an op computed outside autograd (random numbers, comparisons, argmax),
    whose tensor results go to registers."""

    fields = ("fn", "args", "kwargs", "outs")

    def __init__(self, fn, args, kwargs, outs, wrap):
        self.fn, self.args, self.kwargs, self.outs, self.wrap = fn, args, kwargs, outs, wrap

    def describe(self):
        return getattr(self.fn, "__qualname__", getattr(self.fn, "__name__", "call"))

    def reads(self):
        return _refs_slots(self.args) + _refs_slots(self.kwargs.values())

    def build(self):
        fn, outs = self.fn, self.outs
        args = [tensor_getter(a, self.wrap) for a in self.args]
        kwargs = {k: tensor_getter(v, self.wrap) for k, v in self.kwargs.items()}

        def run(r):
            res = fn(*[g(r) for g in args], **{k: g(r) for k, g in kwargs.items()})
            if outs:
                for s, t in zip(outs, res if type(res) in (tuple, list) else (res,)):
                    if s is not None:
                        r[s] = t._data

        return run


class Write(Step):
    """An in-place write outside autograd (`x[idx] = v`, `t.copy_(src)`, an in-place op under
    no_grad, `t.data = ...`)."""

    fields = ("dst", "value", "op", "key", "rebind")

    def __init__(self, dst, value, op, key, rebind, write):
        self.dst, self.value, self.op, self.key, self.rebind, self.write = dst, value, op, key, rebind, write

    def describe(self):
        return f"write ({self.op or 'data'})"

    def reads(self):
        return _refs_slots([self.dst, self.value] + ([] if self.key is None else [self.key]))

    def build(self):
        value = array_getter(self.value)
        if self.rebind:
            t = self.dst.t

            def run(r):
                t._data = value(r)

            return run
        dst, op, write = array_getter(self.dst), self.op, self.write
        if self.key is None:
            return lambda r: write(dst(r), value(r), op)
        key = array_getter(self.key)

        def run(r):
            dst(r)[key(r)] = value(r)

        return run


class SetGrad(Step):
    """`t.grad = value` on a long-lived tensor (zeroing gradients by hand)."""

    fields = ("t", "value")

    def __init__(self, t, value, wrap):
        self.t, self.value, self.wrap = t, value, wrap

    def describe(self):
        return "set .grad"

    def reads(self):
        return [] if self.value is None else slots_in(self.value)

    def build(self):
        t, value = self.t, self.value
        if value is None:
            def run(r):
                t._grad = None
        else:
            get = tensor_getter(value, self.wrap)

            def run(r):
                t._grad = get(r)
        return run
