"""fg.cuda and fg.backends (the "no CUDA here" answers torch programs probe for) and
ferrograd.printing (torch's tensor repr and set_printoptions), the reprs checked against torch's
(tests/fixtures/printing_torch.json, made by tests/fixtures/gen/gen_printing_torch.py)."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import backends, cuda, printing

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("printing_cases", FIXTURES / "gen" / "printing_cases.py")
pcases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pcases)
REPRS = json.loads((FIXTURES / "printing_torch.json").read_text())


# ---- cuda ------------------------------------------------------------------------------------------
def test_cuda_reports_no_devices():
    assert cuda.is_available() is False and cuda.device_count() == 0 and cuda.is_initialized() is False
    cuda.manual_seed(0)
    cuda.manual_seed_all(2 ** 40)
    cuda.synchronize()
    cuda.empty_cache()
    assert cuda.memory_allocated() == 0


def test_cuda_device_queries_raise_pointing_at_wgpu():
    for fn in (cuda.current_device, cuda.get_device_name, lambda: cuda.set_device(0)):
        with pytest.raises(RuntimeError, match="ferrograd has no CUDA; use device='wgpu' for a GPU"):
            fn()
    with pytest.raises(TypeError, match="cuda.manual_seed: seed must be an int, got str"):
        cuda.manual_seed("0")


def test_the_usual_device_line_picks_cpu():
    device = "cuda" if cuda.is_available() else "mps" if backends.mps.is_available() else "cpu"
    assert device == "cpu"


def test_backends_flags_are_settable():
    assert backends.mps.is_available() is False and backends.mps.is_built() is False
    old = (backends.cudnn.benchmark, backends.cudnn.deterministic, backends.cudnn.enabled,
           backends.cuda.matmul.allow_tf32)
    try:
        backends.cudnn.benchmark = True
        backends.cudnn.deterministic = True
        backends.cudnn.enabled = False
        backends.cuda.matmul.allow_tf32 = True
        assert backends.cudnn.benchmark and backends.cudnn.deterministic and not backends.cudnn.enabled
        assert backends.cuda.matmul.allow_tf32
    finally:
        (backends.cudnn.benchmark, backends.cudnn.deterministic, backends.cudnn.enabled,
         backends.cuda.matmul.allow_tf32) = old
    assert backends.cudnn.is_available() is False


# ---- printing ------------------------------------------------------------------------------------
@pytest.fixture
def default_printoptions():
    printing.set_printoptions(profile="default")
    yield
    printing.set_printoptions(profile="default")


def _torch_names(text):
    return text.replace("torch.", "ferrograd.")


@pytest.mark.parametrize("case", REPRS, ids=[f"{c['name']}-{c['dtype']}-{i}" for i, c in enumerate(REPRS)])
def test_repr_matches_torch(case, default_printoptions):
    arr = pcases.ARRAYS[case["name"]].astype(case["dtype"])
    t = fg.tensor(arr, dtype=arr.dtype, requires_grad=case["requires_grad"])
    printing.set_printoptions(**case["options"])
    assert printing.tensor_repr(t) == _torch_names(case["repr"])


def test_format_tensor_body_is_the_text_inside_tensor(default_printoptions):
    arr = np.array([[1.0, 2.5], [3.0, -4.0]], dtype=np.float32)
    assert printing.format_tensor_body(arr) == "[[ 1.0000,  2.5000],\n        [ 3.0000, -4.0000]]"
    assert printing.format_tensor_body(np.zeros((0, 2))) == "[]"
    assert printing.format_tensor_body(np.array(7, dtype=np.int64)) == "7"


def test_get_and_context_manager(default_printoptions):
    assert printing.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                                           "sci_mode": None}
    t = fg.tensor([1.23456])
    with printing.printoptions(precision=2):
        assert printing.tensor_repr(t) == "tensor([1.23])"
    assert printing.tensor_repr(t) == "tensor([1.2346])"


def test_set_printoptions_bad_arguments(default_printoptions):
    with pytest.raises(ValueError, match="profile must be one of"):
        printing.set_printoptions(profile="long")
    with pytest.raises(TypeError, match="precision must be a non-negative int"):
        printing.set_printoptions(precision=-1)
    with pytest.raises(TypeError, match="sci_mode must be None, True or False"):
        printing.set_printoptions(sci_mode="yes")


def test_wgpu_tensor_repr_shows_the_device(default_printoptions):
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    assert printing.tensor_repr(fg.tensor([1.0, 2.0]).to("wgpu")) == "tensor([1., 2.], device='wgpu')"
