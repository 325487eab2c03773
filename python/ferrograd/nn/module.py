"""`Module`: the stateful shell around functional math, with PyTorch's registration rules,
traversal, state dicts, hooks and repr."""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from .. import dtypes
from ..autograd import _RECORDING, Function, no_grad, replayed_whole
from ..device import device as Device
from ..errors import ShapeRuntimeError
from ..tensor import Tensor
from ..wgpu.array import GpuArray
from .parameter import Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns, printed as torch prints it."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys


class RemovableHandle:
    """What the register_*_hook methods return (torch.utils.hooks.RemovableHandle): `remove()`
    takes the hook out; usable as a context manager."""

    _ids = itertools.count()

    def __init__(self, hooks_dict, extra=()):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(RemovableHandle._ids)
        self._extra = tuple(weakref.ref(d) for d in extra)  # per-hook flags kept beside the dict

    def remove(self):
        for ref in (self.hooks_dict_ref,) + self._extra:
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _addindent(s: str, num_spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


def _typename(v) -> str:
    return type(v).__name__


class Module:
    _version = 1

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # ferrograd's own layers name themselves in constructor errors (a check deep in a helper
        # would otherwise surface as a bare "float division by zero"); user subclasses are left alone.
        if cls.__module__.startswith("ferrograd.") and "__init__" in cls.__dict__:
            from ..ops.registry import naming_errors

            cls.__init__ = naming_errors(cls.__dict__["__init__"], cls.__name__)

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if _RECORDING[0] is not None:
            _RECORDING[0].module(self)  # fg.compile: its train/eval mode guards the captured step
        # The common case (no hook was ever registered) stays one dict lookup away from forward().
        if "_hooked" not in self.__dict__:
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    _call_impl = __call__

    def _get_name(self) -> str:
        return type(self).__name__

    # ---- registration -----------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            self._drop(name, d, buffers, modules)
            self.register_parameter(name, value)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._drop(name, d, params, buffers)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(nn.Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' (Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _drop(name, d, *stores):
        # A name lives in one place only, as in torch: registering it removes a plain attribute.
        d.pop(name, None)
        for store in stores:
            store.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self.__dict__.get("_non_persistent", set()).discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, what: str, name, store: str):
        if store not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError(f"{what} name can't contain \".\", got: {name}")
        if name == "":
            raise KeyError(f"{what} name can't be empty string \"\"")
        if hasattr(self, name) and name not in self.__dict__[store]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name: str, tensor, persistent: bool = True):
        """A tensor that is state but not a parameter; `persistent=False` keeps it out of state_dict."""
        self._check_name("buffer", name, "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' (Tensor or None required)")
        self._buffers[name] = tensor
        non_persistent = self.__dict__.setdefault("_non_persistent", set())
        if persistent:
            non_persistent.discard(name)
        else:
            non_persistent.add(name)

    def register_parameter(self, name: str, param):
        self._check_name("parameter", name, "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                             "created explicitly: wrap a detached tensor in nn.Parameter.")
        self._parameters[name] = param

    def add_module(self, name: str, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_name("module", name, "_modules")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The module at dotted path `target` ("" is self), as torch."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        p = getattr(mod, name)
        if not isinstance(p, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return p

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    # ---- traversal --------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) for self and every descendant, depth first; a module reached
        twice is yielded once unless remove_duplicate=False."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, get, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in get(m):
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes --------------------------------------------------------------------------------
    def train(self, mode: bool = True):
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        # A frozen batch norm (nn.utils.freeze) keeps its running statistics: it stays in eval.
        object.__setattr__(self, "training", mode and not self.__dict__.get("keep_eval", False))
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    @replayed_whole
    def zero_grad(self, set_to_none: bool = True):
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                with no_grad():
                    p.grad = p.grad.detach()
                    p.grad.zero_()

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- dtype and device -------------------------------------------------------------------
    def _cast(self, dtype, device):
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
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

    def to(self, *args, **kwargs):
        """Move or cast every parameter and buffer in place, keeping the Parameter objects (as
        torch does): a device move takes every tensor, a dtype cast only the float ones.
        Accepts to(device), to(dtype), to(device, dtype), to(tensor) and the keywords."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"Module.to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (str, Device)):
                device = a
            elif isinstance(a, bool):  # non_blocking given positionally
                continue
            else:
                dtype = a
        if device is not None:
            device = Device(device)
        if dtype is not None:
            dtype = dtypes.check_dtype(dtype, "Module.to")
            if not dtypes.is_float(dtype):
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        return self._cast(dtype, device)

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        raise TypeError(f"{self._get_name()}.half: float16 is not supported by ferrograd "
                        "(float dtypes: float32, float64)")

    def bfloat16(self):
        raise TypeError(f"{self._get_name()}.bfloat16: bfloat16 is not supported by ferrograd "
                        "(float dtypes: float32, float64)")

    def type(self, dst_type):
        return self.to(dst_type)

    # ---- state ------------------------------------------------------------------------------
    def _state_items(self, prefix: str = ""):
        """(name, tensor) of every parameter and persistent buffer, in PyTorch's order: a module
        shared under two names appears under both, as in torch's state_dict."""
        for mod_prefix, m in self.named_modules(prefix=prefix, remove_duplicate=False):
            skip = m.__dict__.get("_non_persistent", ())
            for name, t in itertools.chain(m._parameters.items(), m._buffers.items()):
                if t is not None and name not in skip:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """OrderedDict of parameters and persistent buffers by dotted name (detached unless
        keep_vars); `prefix` is prepended to every key, `destination` filled if given."""
        if args:  # torch's deprecated positional form: state_dict(destination, prefix, keep_vars)
            names = ("destination", "prefix", "keep_vars")
            if len(args) > 3:
                raise TypeError(f"state_dict: takes at most 3 positional arguments, got {len(args)}")
            given = dict(zip(names, args))
            destination = given.get("destination", destination)
            prefix = given.get("prefix", prefix)
            keep_vars = given.get("keep_vars", keep_vars)
        out = OrderedDict() if destination is None else destination
        base = prefix[:-1] if prefix.endswith(".") else prefix
        for name, t in self._state_items(base):
            out[name] = t if keep_vars or getattr(t, "_is_uninitialized", False) else t.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy tensors (or arrays) into parameters and buffers by name. Returns the named tuple
        (missing_keys, unexpected_keys); strict=True raises on either. Every entry is checked
        (keys, shapes, dtypes) and converted before anything is written: a failed load leaves the
        model untouched."""
        plan = self._check_state_dict(state_dict, strict, assign)
        self._apply_state_dict(plan)
        return plan[2]

    def _check_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """What load_state_dict will write, as arrays ready to copy, plus the key report; raises
        naming the key on any mismatch and changes nothing (load_checkpoint checks the model,
        the optimizer and the rest this way before it touches any of them)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected state_dict to be dict-like, got {_typename(state_dict)}")
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ShapeRuntimeError(
                f"load_state_dict: Error(s) in loading state_dict for {self._get_name()}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        values = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            value = v._data if isinstance(v, Tensor) else v
            try:
                value = value.numpy() if isinstance(value, GpuArray) else np.asarray(value)
            except (ValueError, TypeError) as e:  # a ragged nested list, say
                raise TypeError(f"load_state_dict: {k!r} is not an array ({_typename(v)}): {e}") from None
            own_dtype = np.dtype(target.dtype)
            if value.dtype.kind not in "biufc" or (value.dtype.kind == "c" and own_dtype.kind != "c"):
                raise TypeError(f"load_state_dict: {k!r} has dtype {value.dtype} in the state dict, which cannot "
                                f"be copied into the model's {own_dtype}")
            if not getattr(target, "_is_uninitialized", False) and value.shape != tuple(target.shape):
                raise ShapeRuntimeError(
                    f"load_state_dict: size mismatch for {k!r}: {k!r} has shape {value.shape} in the state dict, "
                    f"{tuple(target.shape)} in the model"
                )
            if assign:  # the loaded values themselves, in their own dtype, on the target's device
                values[k] = Tensor(value.copy()).to(device=target.device)._data
            else:
                values[k] = value.astype(own_dtype, copy=False)
        return own, values, _IncompatibleKeys(missing, unexpected), assign

    def _apply_state_dict(self, plan) -> None:
        """Write what _check_state_dict prepared; nothing here fails on a checked entry."""
        own, values, _, assign = plan
        with no_grad():
            for k, value in values.items():
                target = own[k]
                if getattr(target, "_is_uninitialized", False):
                    target.materialize(value.shape)
                if assign:
                    target._data = value
                else:
                    target._data[...] = value

    # ---- hooks ------------------------------------------------------------------------------
    def _hook_dict(self, name):
        d = self.__dict__.get(name)
        if d is None:
            d = OrderedDict()
            object.__setattr__(self, name, d)
        return d

    def _add_hook(self, store, hook, prepend, flag_store=None, flag=False):
        if not callable(hook):
            raise TypeError(f"{self._get_name()}: hook must be callable, got {_typename(hook)}")
        object.__setattr__(self, "_hooked", True)
        hooks = self._hook_dict(store)
        flags = self._hook_dict(flag_store) if flag_store else None
        handle = RemovableHandle(hooks, (flags,) if flags is not None else ())
        hooks[handle.id] = hook
        if flags is not None and flag:
            flags[handle.id] = True
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False):
        """hook(module, args) -> None or new args (a non-tuple becomes a 1-tuple);
        with_kwargs: hook(module, args, kwargs) -> None or (args, kwargs)."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, "_forward_pre_hooks_with_kwargs", with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False):
        """hook(module, args, output) -> None or a new output; with_kwargs: hook(module, args,
        kwargs, output). always_call: also run when forward raises."""
        handle = self._add_hook("_forward_hooks", hook, prepend, "_forward_hooks_with_kwargs", with_kwargs)
        if always_call:
            self._hook_dict("_forward_hooks_always_called")[handle.id] = True
            handle._extra += (weakref.ref(self._hook_dict("_forward_hooks_always_called")),)
        return handle

    def register_full_backward_hook(self, hook, prepend: bool = False):
        """hook(module, grad_input, grad_output) -> None or new grad_input: grad_input holds the
        gradients with respect to the forward's positional tensor arguments (None for those
        that need none), grad_output those with respect to its tensor outputs."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False):
        """hook(module, grad_output) -> None or new grad_output, before grad_input is computed."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def _call_with_hooks(self, args, kwargs):
        d = self.__dict__
        pre = d.get("_forward_pre_hooks") or {}
        pre_kw = d.get("_forward_pre_hooks_with_kwargs") or {}
        for hid, hook in list(pre.items()):
            if hid in pre_kw:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {res!r}")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw = None
        if d.get("_backward_hooks") or d.get("_backward_pre_hooks"):
            bw = _BackwardHook(self, list((d.get("_backward_hooks") or {}).values()),
                               list((d.get("_backward_pre_hooks") or {}).values()))
            args = bw.setup_input(args)
        fwd = d.get("_forward_hooks") or {}
        fwd_kw = d.get("_forward_hooks_with_kwargs") or {}
        always = d.get("_forward_hooks_always_called") or {}
        try:
            result = self.forward(*args, **kwargs)
        except Exception:
            for hid, hook in list(fwd.items()):
                if hid in always:
                    try:
                        hook(self, args, kwargs, None) if hid in fwd_kw else hook(self, args, None)
                    except Exception:  # the forward's own error is the one to see
                        pass
            raise
        for hid, hook in list(fwd.items()):
            res = hook(self, args, kwargs, result) if hid in fwd_kw else hook(self, args, result)
            if res is not None:
                result = res
        if bw is not None:
            result = bw.setup_output(result)
        return result

    # ---- repr -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + _addindent(repr(m), 2) for k, m in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


# ---- full backward hooks ------------------------------------------------------------------------
class _HookIdentity(Function):
    """Identity on several tensors whose backward hands the gradients to `on_grads` (which may
    replace them): placed on a module's inputs and outputs to see grad_input and grad_output."""

    generic_backward = True

    @staticmethod
    def forward(ctx, *arrays, on_grads=None):
        ctx.on_grads = on_grads
        return tuple(arrays)

    @staticmethod
    def backward(ctx, *grads):
        return tuple(ctx.on_grads(grads))


def _as_tensor(g):
    return g if g is None or isinstance(g, Tensor) else Tensor._wrap(g)


def _raw_like(new, old):
    """A hook's replacement gradient in the form the engine passed the old one (array or Tensor)."""
    if new is None or old is None or isinstance(old, Tensor):
        return new
    return new._data if isinstance(new, Tensor) else new


class _BackwardHook:
    """torch's BackwardHook: one per hooked call, joining what its output and input identities see."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.n_inputs = 0
        self.input_pos = ()
        self.grad_output = None
        self.input_hooked = False

    def setup_input(self, args):
        pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(pos)
        grad_pos = [i for i in pos if args[i].requires_grad]
        self.input_pos = tuple(pos)
        if not grad_pos:
            return args
        self.input_hooked = True
        self.grad_pos = grad_pos
        wrapped = _HookIdentity.apply(*(args[i] for i in grad_pos), on_grads=self._on_input_grads)
        args = list(args)
        for i, t in zip(grad_pos, wrapped):
            args[i] = t
        return tuple(args)

    def setup_output(self, result):
        single = isinstance(result, Tensor)
        items = (result,) if single else result
        if not isinstance(items, (tuple, list)):
            return result
        pos = [i for i, r in enumerate(items) if isinstance(r, Tensor) and r.requires_grad]
        if not pos:
            return result
        wrapped = _HookIdentity.apply(*(items[i] for i in pos), on_grads=self._on_output_grads)
        out = list(items)
        for i, t in zip(pos, wrapped):
            out[i] = t
        return out[0] if single else type(items)(out)

    def _on_output_grads(self, grads):
        gs = tuple(_as_tensor(g) for g in grads)
        for hook in self.pre_hooks:
            res = hook(self.module, gs)
            if res is not None:
                if len(res) != len(gs):
                    raise RuntimeError(f"backward pre hook returned {len(res)} gradients, expected {len(gs)}")
                gs = tuple(res)
        self.grad_output = gs
        if not self.input_hooked and self.hooks:
            # No input needs a gradient: the hooks run now, with grad_input all None, as torch.
            for hook in self.hooks:
                hook(self.module, (None,) * max(self.n_inputs, 1), gs)
        return tuple(_raw_like(n, o) for n, o in zip(gs, grads))

    def _on_input_grads(self, grads):
        full = [None] * self.n_inputs
        index = {p: k for k, p in enumerate(self.input_pos)}
        for p, g in zip(self.grad_pos, grads):
            full[index[p]] = _as_tensor(g)
        grad_input = tuple(full)
        for hook in self.hooks:
            res = hook(self.module, grad_input, self.grad_output or ())
            if res is not None:
                if len(res) != len(grad_input):
                    raise RuntimeError(f"backward hook returned {len(res)} gradients, expected {len(grad_input)}")
                grad_input = tuple(res)
        return tuple(_raw_like(grad_input[index[p]], g) for p, g in zip(self.grad_pos, grads))
