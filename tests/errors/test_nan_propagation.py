"""Issue 14.2: NaN in, NaN out, as in PyTorch. The f32 activations clamp their argument; a
clamp written with max/min turned NaN into a finite value (LSTM gave 0.76, GRU 0, RNN 1), and
the attention rule for fully masked rows caught rows whose logits were NaN."""

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn as nn
import ferrograd.nn.functional as F

NAN = float("nan")

RNNS = [
    lambda: nn.LSTM(2, 3),
    lambda: nn.GRU(2, 3),
    lambda: nn.RNN(2, 3),
    lambda: nn.RNN(2, 3, nonlinearity="relu"),
]


def _devices():
    out = ["cpu"]
    try:
        from ferrograd.wgpu import runtime

        runtime.get()
        out.append("wgpu")
    except Exception:
        pass
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", RNNS)
def test_rnn_nan_input_gives_nan_output(make, dtype):
    m = make()
    if dtype == np.float64:
        m = m.double()
    x = np.array([[[NAN, 1.0], [0.5, -0.5]]], dtype)  # (L=1, B=2... ) seq-first: NaN in batch 0 only
    x = x.reshape(1, 2, 2)
    out, h = m(fg.tensor(x))
    out = out._data
    assert np.isnan(out[0, 0]).all(), out
    assert np.isfinite(out[0, 1]).all(), out  # the other batch row is unaffected


@pytest.mark.parametrize("make", RNNS[:2])
def test_rnn_nan_input_on_later_step_reaches_later_outputs(make):
    m = make()
    x = np.array([[[0.1, 0.2]], [[NAN, 1.0]], [[0.3, 0.4]]], np.float32)  # (L=3, B=1, I=2)
    out = m(fg.tensor(x))[0]._data
    assert np.isfinite(out[0]).all() and np.isnan(out[1:]).all(), out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sdpa_nan_query_row_gives_nan_row(dtype):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 2, 5, 4)).astype(dtype) for _ in range(3))
    q[0, 1, 2, 0] = NAN
    out = F.scaled_dot_product_attention(fg.tensor(q), fg.tensor(k), fg.tensor(v))._data
    assert np.isnan(out[0, 1, 2]).all(), out[0, 1]
    rest = np.delete(out.reshape(10, 4), 7, axis=0)
    assert np.isfinite(rest).all()


def test_sdpa_fully_masked_row_still_gives_zeros():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 1, 3, 4)).astype(np.float32) for _ in range(3))
    mask = np.zeros((3, 3), np.float32)
    mask[0] = -np.inf
    out = F.scaled_dot_product_attention(fg.tensor(q), fg.tensor(k), fg.tensor(v), attn_mask=fg.tensor(mask))
    np.testing.assert_array_equal(out._data[0, 0, 0], 0.0)


@pytest.mark.parametrize("make", RNNS)
def test_rnn_nan_on_wgpu(make):
    if "wgpu" not in _devices():
        pytest.skip("no WebGPU adapter")
    m = make().to("wgpu")
    x = fg.tensor(np.array([[[NAN, 1.0], [0.5, -0.5]]], np.float32), device="wgpu")
    out = m(x)[0].to("cpu")._data
    assert np.isnan(out[0, 0]).all() and np.isfinite(out[0, 1]).all(), out


def test_sdpa_nan_query_row_on_wgpu():
    if "wgpu" not in _devices():
        pytest.skip("no WebGPU adapter")
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 2, 5, 4)).astype(np.float32) for _ in range(3))
    q[0, 1, 2, 0] = NAN
    out = F.scaled_dot_product_attention(*(fg.tensor(a, device="wgpu") for a in (q, k, v))).to("cpu")._data
    assert np.isnan(out[0, 1, 2]).all(), out[0, 1]
    assert np.isfinite(np.delete(out.reshape(10, 4), 7, axis=0)).all()


def test_nan_and_inf_results_print_no_numpy_warnings_but_user_numpy_still_warns():
    """As torch: log(-1), 0/0 and overflow give NaN/inf silently. A subprocess, because pytest's
    own warning capture replaces the filters a program starts with."""
    import subprocess
    import sys

    code = ("import ferrograd as fg, numpy as np\n"
            "fg.log(fg.tensor(-1.)); fg.tensor(0.) / fg.tensor(0.); fg.tensor(1.) / 0\n"
            "fg.tensor([1e308], dtype=fg.float64) * 10; fg.tensor([0.]).pow(-1); fg.sqrt(fg.tensor([-1.]))\n"
            "fg.tensor([1., float('nan')], requires_grad=True).amax().backward()\n"
            "np.log(-1.0)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "Warning" in line]
    assert len(warnings) == 1 and "<string>:5" in warnings[0], run.stderr  # only the user's np.log
