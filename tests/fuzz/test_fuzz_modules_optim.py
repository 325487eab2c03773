"""Modules and optimizers built with generated bad and edge-case arguments: a constructor returns,
or raises an ordinary exception naming the class; an optimizer refuses bad hyper-parameters and
bad gradients naming itself. (Forward passes with bad and edge-case inputs:
test_fuzz_module_forward.py.)"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ferrograd as fg
from ferrograd import nn

SMALL_OR_HOPELESS = st.one_of(
    st.integers(-4, 16),  # sizes a layer can be built with, and negative ones
    # (huge sizes are left out here: a layer count of 2**40 builds layers until memory runs out, as in torch)
    st.floats(min_value=-10, max_value=10), st.sampled_from([math.nan, math.inf]),
    st.sampled_from([None, "mean", "abc", True, (2, 2), [1, 2]]),
)


def _module_classes():
    out = []
    for name in sorted(dir(nn)):
        cls = getattr(nn, name)
        if inspect.isclass(cls) and issubclass(cls, nn.Module) and cls is not nn.Module \
                and not inspect.isabstract(cls) and not name.startswith("_"):
            out.append(name)
    return out


def _required(cls):
    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(1 for p in params if p.name != "self" and p.default is p.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _clear(e, names):
    return any(n in str(e) for n in names)


@pytest.mark.parametrize("name", _module_classes())
def test_module_construction_survives_bad_arguments(name):
    cls = getattr(nn, name)
    n = _required(cls)

    @given(st.lists(SMALL_OR_HOPELESS, min_size=n, max_size=n))
    def run(args):
        try:
            module = cls(*args)
        except Exception as e:  # noqa: BLE001
            assert _clear(e, (name, cls.__init__.__qualname__.split(".")[0])), \
                f"nn.{name}{tuple(args)} raised {type(e).__name__} without naming the layer: {str(e)!r}"
            return
        except BaseException as e:
            raise AssertionError(f"nn.{name}{tuple(args)} let {type(e).__name__} escape: {e!r}") from e
    run()


OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]
HYPER = st.one_of(st.floats(min_value=-5, max_value=5),
                  st.sampled_from([math.nan, -1.0, 0.0, 1.0, (0.9, 0.999), (1.5, 0.9), (0.9,), "0.1", None]))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_refuses_bad_hyper_parameters_and_gradients(name):
    cls = getattr(fg.optim, name)
    keys = [k for k in inspect.signature(cls.__init__).parameters if k not in ("self", "params")]

    @given(st.dictionaries(st.sampled_from(keys), HYPER, max_size=3), st.sampled_from(
        [(2, 3), (1,), (3, 2), ()]), st.sampled_from(["float32", "float64", "int64"]))
    def run(hyper, grad_shape, grad_dtype):
        p = fg.nn.Parameter(fg.ones(2, 3))
        try:
            opt = cls([p], **hyper)
        except Exception as e:  # noqa: BLE001
            assert name in str(e), f"{name}({hyper}) raised {type(e).__name__} without naming it: {str(e)!r}"
            return
        p.grad = fg.tensor(np.ones(grad_shape), dtype=getattr(fg, grad_dtype)) if grad_dtype != "int64" \
            else fg.tensor(np.ones(grad_shape, np.int64))
        ok = grad_shape == (2, 3) and grad_dtype == "float32"
        try:
            opt.step()
        except Exception as e:  # noqa: BLE001
            assert not ok or any(math.isnan(v) for v in hyper.values() if isinstance(v, float)), \
                f"{name}({hyper}).step() failed on a good gradient: {e!r}"
            assert name in str(e), f"{name}.step() raised {type(e).__name__} without naming it: {str(e)!r}"
            return
        assert ok, f"{name}.step() accepted a {grad_dtype} gradient of shape {grad_shape} for a (2, 3) float32 parameter"

    run()
