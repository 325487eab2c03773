"""`fg.autograd.functional` (jacobian, hessian, vjp, jvp, hvp, vhp) and `fg.autograd.gradcheck` /
`gradgradcheck`, with torch's signatures, output structures and error messages.

Everything is built on `fg.autograd.grad`: a vector-Jacobian product is one backward; a
Jacobian is one backward per output element; forward-mode products (jvp, hvp, forward-mode
Jacobians) use the double-backward trick: with u a dummy cotangent that requires grad,
g(u) = J^T u is linear in u, so the gradient of g(u) . v with respect to u is J v. That needs
every op on the path to be differentiable twice (registry ops are; a fused kernel without a
composite form raises when reached).

Structures follow torch: a Tensor argument gives Tensor results, a tuple of Tensors gives
tuples; jacobian(f, (x, y)) of a tuple-valued f is a tuple (per output) of tuples (per input).
"""

from __future__ import annotations

import numpy as np

from . import testing as _testing
from .autograd import enable_grad, grad as _grad, is_grad_enabled, set_grad_enabled_ctx
from .tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


# ---- helpers (as torch/autograd/functional.py) ---------------------------------------------------
def _as_tuple(inp, arg_name, fn_name):
    is_tuple = True
    if not isinstance(inp, tuple):
        inp = (inp,)
        is_tuple = False
    for i, el in enumerate(inp):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                            f"{where} has type {type(el)}.")
    return is_tuple, inp


def _tuple_postprocess(res, to_unpack):
    """Unpack the per-output / per-input tuples where the user passed plain Tensors."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph, need_graph):
    """Fresh leaves for the inputs (a view keeps the user's graph when create_graph=True)."""
    res = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            res.append(inp.view_as(inp))
        else:
            res.append(inp.detach().requires_grad_(need_graph and _is_float(inp)))
    return tuple(res)


def _is_float(t) -> bool:
    return np.dtype(t.dtype).kind == "f"


def _grad_postprocess(inputs, create_graph):
    if len(inputs) and isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(inp.detach() for inp in inputs)
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if tuple(el_v.shape) != tuple(el_other.shape):
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.shape!r} but got {el_v.shape!r}.")


def _check_requires_grad(inputs, input_type, strict):
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is not "
                               "allowed in strict mode.")
        if not inp.requires_grad:
            if input_type == "hessian":
                raise RuntimeError(
                    f"The hessian of the user-provided function with respect to input {i} is independent of the "
                    "input. This is not allowed in strict mode. You should ensure that your function is thrice "
                    "differentiable and that the hessian depends on the inputs.")
            if input_type == "jacobian":
                raise RuntimeError(
                    "While computing the hessian, found that the jacobian of the user-provided function with "
                    f"respect to input {i} is independent of the input. This is not allowed in strict mode. You "
                    "should ensure that your function is twice differentiable and that the jacobian depends on the "
                    "inputs (this would be violated by a linear function for example).")
            if input_type == "grad_inputs":
                raise RuntimeError(f"The gradient with respect to input {i} is independent of the inputs of the "
                                   "user-provided function. This is not allowed in strict mode.")
            raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs "
                               "must be computed in a differentiable manner from the input when running in strict mode.")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """fg.autograd.grad over the outputs that require grad (None for every input if none does)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    outs, gos = [], []
    for out, go in zip(outputs, grad_outputs):
        if out is not None and out.requires_grad:
            outs.append(out)
            gos.append(go)
    if not outs:
        return (None,) * len(inputs)
    want = [i for i, t in enumerate(inputs) if t.requires_grad]
    res = [None] * len(inputs)
    if want:
        got = _grad(outs, [inputs[i] for i in want], gos, retain_graph=retain_graph, create_graph=create_graph,
                    allow_unused=True)
        for i, g in zip(want, got):
            res[i] = g
    return tuple(res)


_STRICT_NONE = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when using "
                  "the double backward trick to compute forward mode gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed in "
                   "strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the grad_jacobian. "
                         "This is not allowed in strict mode as it prevents from using the double backward trick to "
                         "replace forward mode AD.",
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    from .tensor import zeros_like

    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_STRICT_NONE[stage].format(i=i))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is not "
                               "allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _v_or_none(v, against, is_tuple, create_graph, fn_name, none_msg):
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, against, is_tuple)
        return v
    if len(against) != 1 or against[0].numel() != 1:
        raise RuntimeError(none_msg)
    return None


_V_NONE_IN = ("The vector v can only be None if the input to the user-provided function is a single Tensor "
              "with a single element.")


def _single_output(outputs, is_tuple, fn_name):
    if is_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single element")


# ---- products --------------------------------------------------------------------------------------
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        v = _v_or_none(v, outputs, is_outputs_tuple, create_graph, "vjp",
                       "The vector v can only be None if the user-provided function returns a single Tensor with a "
                       "single element.")
    with set_grad_enabled_ctx(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "back")
    outputs = _grad_postprocess(outputs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(res, is_inputs_tuple)


def _double_back_jvp(outputs, inputs, v, create_graph, strict, stage="back_trick", retain_graph=None):
    """J v for outputs of `inputs` (already leaves with a graph): through u -> J^T u.
    retain_graph=True keeps the forward graph for another product (forward-mode Jacobians)."""
    from .tensor import zeros_like

    grad_outputs = tuple(zeros_like(o, requires_grad=_is_float(o)) for o in outputs)
    with enable_grad():
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled_ctx(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph, retain_graph=retain_graph)
        return _fill_in_zeros(res, outputs, strict, create_graph, stage)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-backward trick."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _v_or_none(v, inputs, is_inputs_tuple, create_graph, "jvp", _V_NONE_IN)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
    res = _double_back_jvp(outputs, inputs, v, create_graph, strict)
    outputs = _grad_postprocess(outputs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(res, is_outputs_tuple)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function: the gradient of (grad f . v)."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _v_or_none(v, inputs, is_inputs_tuple, create_graph, "vhp", _V_NONE_IN)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "vhp")
        _check_requires_grad(outputs, "outputs", strict)
        _single_output(outputs, is_outputs_tuple, "vhp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
    with set_grad_enabled_ctx(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back")
    outputs = _grad_postprocess(outputs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(res, is_inputs_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function, by the double-backward trick on its gradient
    (equal to vhp for twice continuously differentiable functions, whose Hessian is symmetric)."""
    from .tensor import zeros_like

    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _v_or_none(v, inputs, is_inputs_tuple, create_graph, "hvp", _V_NONE_IN)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "hvp")
        _check_requires_grad(outputs, "outputs", strict)
        _single_output(outputs, is_outputs_tuple, "hvp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        grad_jac = tuple(zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    with set_grad_enabled_ctx(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(res, is_inputs_tuple)


# ---- Jacobian and Hessian ------------------------------------------------------------------------
def _basis(t, j):
    """The j-th standard basis tensor shaped like `t` (a one-hot cotangent / tangent)."""
    from .tensor import tensor

    flat = np.zeros(t.numel(), dtype=np.dtype(t.dtype))
    flat[j] = 1
    return tensor(flat.reshape(tuple(t.shape)), dtype=t.dtype, device=t.device)


def _stack_rows(rows, out_shape, in_shape, like):
    """Per-output-element gradients (each shaped like the input) as out_shape + in_shape."""
    from .tensor import stack, zeros

    if not rows:
        return zeros(tuple(out_shape) + tuple(in_shape), dtype=like.dtype, device=like.device)
    return stack(rows, 0).reshape(tuple(out_shape) + tuple(in_shape))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of `func` at `inputs`: for one output and one input a Tensor of shape
    output.shape + input.shape; tuples (outputs, then inputs) where tuples were given or returned.
    'reverse-mode' takes one backward per output element, 'forward-mode' one Jacobian-vector
    product per input element (better when there are more outputs than inputs). `vectorize`
    is accepted and changes nothing (the loop is the implementation)."""
    from .tensor import zeros_like

    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('jacobian: expected strategy to be either "forward-mode" or "reverse-mode", '
                         f"got {strategy!r}")
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('jacobian: `create_graph=True` and `strategy="forward-mode"` are not '
                                      'supported together (yet). Please either set `create_graph=False` or '
                                      '`strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError('jacobian: `strict=True` and `strategy="forward-mode"` are not supported together '
                               '(yet). Please either set `strict=False` or `strategy="reverse-mode"`.')
        return _jacfwd(func, inputs)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        jac = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            for j in range(out.numel()):
                vj = _autograd_grad((out,), inputs, (_basis(out, j),), retain_graph=True, create_graph=create_graph)
                for k, (g, inp) in enumerate(zip(vj, inputs)):
                    if g is not None:
                        if strict and create_graph and not g.requires_grad:
                            raise RuntimeError(f"The jacobian of the user-provided function is independent of input "
                                               f"{i}. This is not allowed in strict mode when create_graph=True.")
                        rows[k].append(g)
                    else:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{k}. This is not allowed in strict mode.")
                        rows[k].append(zeros_like(inp))
            jac.append(tuple(_stack_rows(r, out.shape, inp.shape, inp) for r, inp in zip(rows, inputs)))
        jac = _grad_postprocess(tuple(jac), create_graph)
        return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def _jacfwd(func, inputs):
    """Forward-mode Jacobian: column by column, each a double-backward Jacobian-vector product."""
    from .tensor import stack

    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        leaves = _grad_preprocess(inputs, create_graph=False, need_graph=True)
        outputs = func(*leaves)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs", "jacobian")
    cols = [[[] for _ in inputs] for _ in outputs]  # [output][input] -> list of J e_k
    for k, inp in enumerate(inputs):
        for j in range(inp.numel()):
            v = tuple(_basis(x, j) if m == k else x.new_zeros(tuple(x.shape)) for m, x in enumerate(inputs))
            jv = _double_back_jvp(outputs, leaves, v, create_graph=False, strict=False, retain_graph=True)
            for i, col in enumerate(jv):
                cols[i][k].append(col.detach())
    jac = []
    for i, out in enumerate(outputs):
        per_in = []
        for k, inp in enumerate(inputs):
            if cols[i][k]:
                c = stack(cols[i][k], -1)  # out.shape + (numel,)
                per_in.append(c.reshape(tuple(out.shape) + tuple(inp.shape)))
            else:
                per_in.append(_stack_rows([], out.shape, inp.shape, inp))
        jac.append(tuple(per_in))
    return _tuple_postprocess(tuple(jac), (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar `func`: input.shape + input.shape for one input, a tuple of tuples
    H[i][j] = d2f / dx_i dx_j for a tuple of inputs (the Jacobian of the gradient)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('hessian: expected outer_jacobian_strategy to be either "forward-mode" or "reverse-mode", '
                         f"got {outer_jacobian_strategy!r}")

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        _single_output(t_out, is_out_tuple, "hessian")
        return out.reshape(())

    def jac_func(*inp):
        j = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(j, "jacobian", strict)
        return j

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


# ---- gradcheck / gradgradcheck ---------------------------------------------------------------------
class GradcheckError(_testing.GradcheckError, RuntimeError):
    """A gradient differs from finite differences (torch's GradcheckError is a RuntimeError;
    ferrograd.testing's an AssertionError: this is both)."""


def _outputs_tuple(out):
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, (tuple, list)) and all(isinstance(o, Tensor) or o is None for o in out):
        return tuple(out)
    raise TypeError(f"gradcheck: func must return a Tensor or a sequence of Tensors, got {type(out).__name__}")


def _check_each_output(func, inputs, eps, atol, rtol, who):
    """ferrograd.testing.gradcheck on every float output of func (it checks one at a time)."""
    with enable_grad():
        outs = _outputs_tuple(func(*inputs))
    for i, o in enumerate(outs):
        if o is None or not _is_float(o) or o.numel() == 0:
            continue

        def fi(*args, _i=i):
            return _outputs_tuple(func(*args))[_i]

        try:
            with enable_grad():
                _testing.gradcheck(fi, inputs, eps=eps, atol=atol, rtol=rtol)
        except _testing.GradcheckError as e:
            raise GradcheckError(f"{who}: Jacobian mismatch for output {i}: {str(e).removeprefix('gradcheck: ')}") from None
    return True


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True, fast_mode=False,
              masked=None):
    """torch.autograd.gradcheck: autograd's gradients of `func` at `inputs` (a Tensor or tuple;
    those with requires_grad=True, float64) against central finite differences. True when all
    agree; else GradcheckError, or False with raise_exception=False."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of the them "
                         "have requires_grad=True.")
    if check_forward_ad:
        raise NotImplementedError("gradcheck: check_forward_ad=True needs forward-mode AD, which ferrograd lacks")
    try:
        return _check_each_output(func, inputs, eps, atol, rtol, "gradcheck")
    except GradcheckError:
        if raise_exception:
            raise
        return False


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0, check_undefined_grad=True,
                  check_grad_dtypes=False, check_batched_grad=False, check_fwd_over_rev=False,
                  check_rev_over_rev=True, fast_mode=False, masked=False):
    """torch.autograd.gradgradcheck: gradcheck of the backward pass itself. The function checked
    maps (inputs, grad_outputs) to the input gradients computed with create_graph=True, so second
    derivatives (and the dependence on grad_outputs) are compared with finite differences.
    `grad_outputs` default to random float64 tensors (seeded: the check reproduces)."""
    from .tensor import tensor as _tensor

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise ValueError("gradgradcheck expects at least one input tensor to require gradient, but none of the them "
                         "have requires_grad=True.")
    with enable_grad():
        outs = _outputs_tuple(func(*inputs))
    diff_outs = [i for i, o in enumerate(outs) if o is not None and o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            _tensor(rng.standard_normal(tuple(outs[i].shape)), dtype=outs[i].dtype, device=outs[i].device,
                    requires_grad=True)
            for i in diff_outs)
    else:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
        if len(grad_outputs) == len(outs) and len(outs) != len(diff_outs):
            grad_outputs = tuple(grad_outputs[i] for i in diff_outs)
        grad_outputs = tuple(g.detach().requires_grad_(_is_float(g)) for g in grad_outputs)
    n_in = len(inputs)
    wants = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def new_func(*args):
        ins, gos = args[:n_in], args[n_in:]
        with enable_grad():  # gradcheck evaluates under no_grad; the backward needs a graph
            o = _outputs_tuple(func(*ins))
            o = tuple(o[i] for i in diff_outs)
            got = _grad(list(o), [ins[i] for i in wants], list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in got if g is not None)

    try:
        return _check_each_output(new_func, inputs + grad_outputs, eps, atol, rtol, "gradgradcheck")
    except GradcheckError:
        if raise_exception:
            raise
        return False
