"""Every public nn module class (module_specs.py builds each with a small valid configuration),
on cpu and wgpu, called with generated inputs: good shapes, an empty batch, a dim too many or too
few, a wrong feature size, NaN/inf, int/bool/float64 dtypes, non-contiguous layouts.

The call returns or raises an ordinary exception naming the layer (or a functional op it runs);
good inputs (batch of 2-3) succeed; an input with NaN gives some NaN out wherever torch's layer
does (module_specs.NAN_PROPAGATES), so NaN is never silently turned finite. known_bugs.py lists
what is left out, and why."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from known_bugs import module_skip_reason
from module_specs import NAN_PROPAGATES, NO_FORWARD, SPECS, values

import ferrograd as fg
from ferrograd import nn

_FLOAT_KINDS = ("f", "prob", "pos", "pm1", "01")
MUTATIONS = ["good", "good", "good", "empty_batch", "extra_dim", "drop_dim", "wrong_feature", "nan", "nan", "inf",
             "int_dtype", "bool_dtype", "float64"]
LAYOUTS = ["contiguous", "contiguous", "transposed", "strided", "flipped"]

def _public_classes():
    out = []
    for name in sorted(dir(nn)):
        cls = getattr(nn, name)
        if inspect.isclass(cls) and issubclass(cls, nn.Module) and cls is not nn.Module \
                and not inspect.isabstract(cls) and not name.startswith("_"):
            out.append(name)
    return out


def test_every_public_module_class_has_a_spec():
    missing = sorted(set(_public_classes()) - set(SPECS))
    assert not missing, f"nn classes without an entry in tests/fuzz/module_specs.py: {missing}"


def _wgpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


def _tensor(a, device, layout):
    if layout == "transposed" and a.ndim >= 2:
        return fg.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), device=device).transpose(-1, -2)
    if layout == "strided" and a.ndim >= 1:
        return fg.tensor(np.repeat(a, 2, axis=-1), device=device)[..., ::2]
    if layout == "flipped" and a.ndim >= 1:
        return fg.tensor(np.ascontiguousarray(a[::-1]), device=device)[::-1]
    return fg.tensor(a, device=device)


@st.composite
def module_inputs(draw, name, device):
    """(numpy inputs, mutation, layouts): the spec's inputs for a drawn batch, bent by one mutation."""
    spec = SPECS[name]
    how = draw(st.sampled_from([m for m in MUTATIONS if not (device == "wgpu" and m == "float64")]))
    batch = 0 if how == "empty_batch" else draw(st.integers(2 if how == "good" else 1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    xs = [values(rng, s, batch) for s in spec.inputs]
    for j, s in enumerate(spec.inputs):
        if s.kind in _FLOAT_KINDS:
            xs[j] = xs[j].astype(np.float64 if how == "float64" else np.float32)
    j = draw(st.integers(0, len(xs) - 1))  # the input the shape and dtype mutations bend
    floats = [i for i, s in enumerate(spec.inputs) if s.kind in ("f", "prob", "pos")]
    if how == "extra_dim":
        xs[j] = np.stack([xs[j], xs[j]])
    elif how == "drop_dim" and xs[j].ndim:
        xs[j] = xs[j][0] if xs[j].shape[0] else xs[j].reshape(xs[j].shape[1:])
    elif how == "wrong_feature" and xs[j].ndim:
        xs[j] = np.concatenate([xs[j], xs[j][..., :1]], axis=-1)
    elif how in ("nan", "inf") and floats and xs[floats[0]].size:
        xs[floats[0]] = xs[floats[0]].copy()
        xs[floats[0]].reshape(-1)[0] = np.nan if how == "nan" else np.inf
    elif how == "int_dtype":
        xs[j] = np.clip(np.round(xs[j] * 3), -99, 99).astype(np.int64) if xs[j].dtype.kind == "f" \
            else xs[j].astype(np.float32)
    elif how == "bool_dtype":
        xs[j] = xs[j] > 0
    layouts = [draw(st.sampled_from(LAYOUTS)) for _ in xs]
    return xs, how, layouts


def _first_float(out):
    if isinstance(out, fg.Tensor):
        return out if out.dtype.kind == "f" else None
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_float(o)
            if t is not None:
                return t
    return None


def _named(e, name, spec):
    text = str(e)
    return name.lower() in text.lower() or any(c in text for c in spec.calls)


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("device", ["cpu", "wgpu"])
def test_module_forward_survives_edge_case_inputs(name, device):
    if device == "wgpu":
        _wgpu()
    spec = SPECS[name]

    @given(module_inputs(name, device))  # (float64 does not live on the device)
    def run(drawn):
        xs, how, layouts = drawn
        fg.manual_seed(0)
        module = spec.make(nn)
        if device != "cpu":
            module = module.to(device)
        what = f"nn.{name} on {device} with {how} inputs {[(x.dtype.name, x.shape) for x in xs]} layouts {layouts}"
        try:
            out = module(*[_tensor(x, device, lay) for x, lay in zip(xs, layouts)], **spec.kwargs)
        except Exception as e:  # noqa: BLE001  (refusing is fine, if it says who refused)
            if module_skip_reason(name, device, how, xs, layouts):
                return
            assert _named(e, name, spec), f"{what} raised {type(e).__name__} without naming the layer: {e}"
            assert how != "good" or name in NO_FORWARD or name == "SyncBatchNorm", \
                f"{what} failed on good inputs: {type(e).__name__}: {e}"
            return
        except BaseException as e:
            raise AssertionError(f"{what} let {type(e).__name__} escape: {e!r}") from e
        assert name not in NO_FORWARD, f"{what} ran, but the layer has no forward"
        if how == "nan" and name in NAN_PROPAGATES and not module_skip_reason(name, device, how, xs, layouts):
            y = _first_float(out)
            if y is not None and y.numel():
                assert np.isnan(y.detach().cpu().numpy()).any(), \
                    f"{what}: the NaN in the input did not reach the output (torch's layer gives NaN)"

    run()
