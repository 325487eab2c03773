"""Fused LSTM/GRU/RNN sequences: PyTorch fixtures, numpy references, gradcheck, strides, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import functional as F
from ferrograd.reference import rnn as ref
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GATES = {"lstm": 4, "gru": 3, "rnn": 1, "rnn_relu": 1}


def t(a, grad=False, dtype=None):
    a = np.asarray(a)
    return fg.Tensor(a.astype(dtype) if dtype else a, requires_grad=grad)


def params(kind, i, h, rng, dtype=np.float64, bias=True):
    g = GATES[kind]
    s = 1 / np.sqrt(h)
    w_ih = rng.uniform(-s, s, (g * h, i)).astype(dtype)
    w_hh = rng.uniform(-s, s, (g * h, h)).astype(dtype)
    b = [rng.uniform(-s, s, g * h).astype(dtype) for _ in range(2)] if bias else [None, None]
    return w_ih, w_hh, *b


def run(kind, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """fg call -> (output, h_n, c_n or None)"""
    if kind == "lstm":
        out, (hn, cn) = F.lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        return out, hn, cn
    if kind == "gru":
        out, hn = F.gru_sequence(x, h0, w_ih, w_hh, b_ih, b_hh)
    else:
        nl = "relu" if kind == "rnn_relu" else "tanh"
        out, hn = F.rnn_sequence(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity=nl)
    return out, hn, None


def reference(kind, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    if kind == "lstm":
        out, (hn, cn) = ref.lstm(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        return out, hn, cn
    if kind == "gru":
        out, hn = ref.gru(x, h0, w_ih, w_hh, b_ih, b_hh)
    else:
        out, hn = ref.rnn(x, h0, w_ih, w_hh, b_ih, b_hh, "relu" if kind == "rnn_relu" else "tanh")
    return out, hn, None


# ---- PyTorch fixtures -------------------------------------------------------------------------
@pytest.mark.parametrize("kind, file", [("lstm", "lstm_basic"), ("gru", "gru_basic"), ("rnn", "rnn_tanh_basic")])
def test_matches_pytorch_fixture(kind, file):
    d = np.load(FIXTURES / f"{file}.npz")
    x = t(d["x"], True)
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    p = [t(d["p_" + n], True) for n in names]
    out, hn, cn = run(kind, x, None, None, *p)
    np.testing.assert_allclose(out.detach().numpy(), d["out"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hn.detach().numpy(), d["out"][:, -1], rtol=1e-5, atol=1e-6)
    out.backward(d["gy"])
    np.testing.assert_allclose(x.grad.numpy(), d["gx"], rtol=1e-5, atol=1e-6)
    for n, w in zip(names, p):
        np.testing.assert_allclose(w.grad.numpy(), d["g_" + n], rtol=1e-5, atol=1e-6, err_msg=n)


# ---- numpy reference on odd shapes ------------------------------------------------------------
@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_matches_reference_on_odd_shapes(kind, dtype, tol):
    rng = np.random.default_rng(1)
    for b, l, i, h in [(1, 1, 1, 1), (3, 5, 7, 6), (2, 9, 4, 17), (5, 3, 33, 11)]:
        for bias in (True, False):
            x = rng.standard_normal((b, l, i)).astype(dtype)
            h0 = rng.standard_normal((b, h)).astype(dtype)
            c0 = rng.standard_normal((b, h)).astype(dtype)
            w = params(kind, i, h, rng, dtype, bias)
            got = run(kind, t(x), t(h0), t(c0), *[None if a is None else t(a) for a in w])
            want = reference(kind, x, h0, c0, *w)
            for g, wnt in zip(got, want):
                if wnt is not None:
                    assert g.dtype == dtype
                    np.testing.assert_allclose(g.numpy(), wnt, rtol=tol, atol=tol)


def test_zero_initial_state_is_the_default():
    rng = np.random.default_rng(2)
    x = t(rng.standard_normal((2, 3, 4)))
    w = [t(a) for a in params("lstm", 4, 5, rng)]
    z = t(np.zeros((2, 5)))
    a = F.lstm_sequence(x, None, None, *w)[0].numpy()
    b = F.lstm_sequence(x, z, z, *w)[0].numpy()
    np.testing.assert_array_equal(a, b)


# ---- gradients ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_every_input(kind, bias):
    rng = np.random.default_rng(3)
    b, l, i, h = 2, 3, 3, 4
    x = t(rng.standard_normal((b, l, i)), True)
    h0 = t(rng.standard_normal((b, h)) * 0.5, True)
    c0 = t(rng.standard_normal((b, h)) * 0.5, True)
    if kind == "rnn_relu":  # keep pre-activations away from the kink at 0
        x = t(np.abs(rng.standard_normal((b, l, i))) + 0.2, True)
        h0 = t(np.abs(rng.standard_normal((b, h))) + 0.2, True)
    w = [None if a is None else t(a, True) for a in params(kind, i, h, rng, bias=bias)]
    if kind == "rnn_relu":
        w = [None if a is None else t(np.abs(a._data), True) for a in w]

    def fn(x, h0, c0, *w):
        out, hn, cn = run(kind, x, h0, c0, *w)
        parts = [out.reshape(-1), (hn * 2).reshape(-1)] + ([cn.reshape(-1)] if cn is not None else [])
        return fg.cat(parts)

    inputs = [x, h0, c0 if kind == "lstm" else None, *w]
    assert gradcheck(fn, inputs)


def test_float32_gradients_match_float64():
    rng = np.random.default_rng(4)
    for kind in GATES:
        xs = rng.standard_normal((3, 6, 5))
        ws = params(kind, 5, 7, rng)
        gy = rng.standard_normal((3, 6, 7))
        grads = []
        for dt in (np.float32, np.float64):
            x = t(xs, True, dt)
            w = [t(a, True, dt) for a in ws]
            out = run(kind, x, None, None, *w)[0]
            out.backward(gy.astype(dt))
            grads.append([x.grad.numpy()] + [a.grad.numpy() for a in w])
        for g32, g64 in zip(*grads):
            np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


def test_grad_flows_from_final_states_only():
    rng = np.random.default_rng(5)
    x = t(rng.standard_normal((2, 4, 3)), True)
    h0, c0 = t(rng.standard_normal((2, 5)), True), t(rng.standard_normal((2, 5)), True)
    w = [t(a, True) for a in params("lstm", 3, 5, rng)]
    _, (hn, cn) = F.lstm_sequence(x, h0, c0, *w)
    (hn.sum() + 3 * cn.sum()).backward()
    assert all(a.grad is not None and np.abs(a.grad.numpy()).sum() > 0 for a in [x, h0, c0, *w])


# ---- strides ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(GATES))
def test_non_contiguous_inputs(kind):
    rng = np.random.default_rng(6)
    b, l, i, h = 3, 5, 4, 6
    g = GATES[kind]
    x_store = rng.standard_normal((l, i, b * 2))  # x = transposed, sliced view
    x_nc = x_store.transpose(2, 0, 1)[::2]
    w_ih_nc = rng.standard_normal((i, g * h)).T * 0.3  # transposed weights
    w_hh_nc = rng.standard_normal((h, g * h)).T * 0.3
    b_ih_nc = rng.standard_normal(2 * g * h)[::2]
    h0_nc = rng.standard_normal((h, b)).T
    c0_nc = rng.standard_normal((h, b)).T
    args_nc = [x_nc, h0_nc, c0_nc, w_ih_nc, w_hh_nc, b_ih_nc, None]
    args_c = [None if a is None else np.ascontiguousarray(a) for a in args_nc]
    assert not x_nc.flags.c_contiguous and not w_ih_nc.flags.c_contiguous
    gy = rng.standard_normal((b, l, h))
    res = []
    for args in (args_nc, args_c):
        ts = [None if a is None else t(a, True) for a in args]
        if kind != "lstm":
            ts[2] = None
        out = run(kind, *ts)[0]
        out.backward(gy)
        res.append([out.detach().numpy()] + [a.grad.numpy() for a in ts if a is not None])
    for a, c in zip(*res):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", list(GATES))
def test_float32_fast_path_with_row_tasks_and_strided_input(kind):
    # Big enough that the batch rows split into tasks (19 = 10 + 9 rows) and odd widths (H = 70,
    # I = 40) leave partial register tiles; x is a time-reversed, transposed view.
    rng = np.random.default_rng(8)
    b, l, i, h = 19, 4, 40, 70
    x_store = rng.standard_normal((l, i, b))
    x_nc = x_store.transpose(2, 0, 1)[:, ::-1]
    ws = params(kind, i, h, rng)
    gy = rng.standard_normal((b, l, h))
    res = []
    for dt in (np.float32, np.float64):
        x = t(x_nc, True, dt)
        w = [t(a, True, dt) for a in ws]
        h0, c0 = t(rng.standard_normal((b, h)) * 0, True, dt), t(np.zeros((b, h)), True, dt)
        out, hn, cn = run(kind, x, h0, c0 if kind == "lstm" else None, *w)
        (out * t(gy, dtype=dt)).sum().backward()
        res.append([out.detach().numpy(), x.grad.numpy(), h0.grad.numpy()] + [a.grad.numpy() for a in w])
    for a32, a64 in zip(*res):
        np.testing.assert_allclose(a32, a64, rtol=1e-4, atol=2e-5)


# ---- bad input --------------------------------------------------------------------------------
def _bad_cases(kind):
    rng = np.random.default_rng(7)
    g = GATES[kind]
    x = t(rng.standard_normal((2, 3, 4)))
    h0 = t(np.zeros((2, 5)))
    w_ih, w_hh = t(rng.standard_normal((g * 5, 4))), t(rng.standard_normal((g * 5, 5)))
    bias = t(np.zeros(g * 5))
    ok = dict(input=x, h0=h0, weight_ih=w_ih, weight_hh=w_hh, bias_ih=bias, bias_hh=bias)
    return ok, [
        ("input", t(rng.standard_normal((2, 3, 7))), r"input feature size 7"),
        ("input", t(rng.standard_normal((3, 4))), r"\(B, L, I\)"),
        ("input", t(rng.standard_normal((2, 0, 4))), r"empty"),
        ("weight_hh", t(rng.standard_normal((g * 5 + 1, 5))), r"weight_hh"),
        ("weight_ih", t(rng.standard_normal((g * 6, 4))), r"weight_ih"),
        ("h0", t(np.zeros((3, 5))), r"h0 has shape \(3, 5\), expected \(B, H\) = \(2, 5\)"),
        ("h0", t(np.zeros((1, 2, 5))), r"h0"),
        ("bias_ih", t(np.zeros(g * 5 + 2)), r"bias_ih"),
    ]


def _call(kind, a):
    if kind == "lstm":
        return F.lstm_sequence(a["input"], a["h0"], a.get("c0", a["h0"]), a["weight_ih"], a["weight_hh"], a["bias_ih"], a["bias_hh"])
    fn = F.gru_sequence if kind == "gru" else F.rnn_sequence
    return fn(a["input"], a["h0"], a["weight_ih"], a["weight_hh"], a["bias_ih"], a["bias_hh"])


@pytest.mark.parametrize("kind, name", [("lstm", "lstm_sequence"), ("gru", "gru_sequence"), ("rnn", "rnn_sequence")])
def test_bad_input_raises_value_error_naming_the_function(kind, name):
    ok, cases = _bad_cases(kind)
    _call(kind, ok)  # the good call works
    for arg, value, pattern in cases:
        with pytest.raises(ValueError, match=name) as e:
            _call(kind, {**ok, arg: value})
        assert e.match(pattern), (arg, str(e.value))


def test_bad_c0_dtype_and_nonlinearity():
    ok, _ = _bad_cases("lstm")
    with pytest.raises(ValueError, match=r"lstm_sequence: c0 has shape \(2, 4\)"):
        _call("lstm", {**ok, "c0": t(np.zeros((2, 4)))})
    with pytest.raises(TypeError, match="lstm_sequence"):
        _call("lstm", {**ok, "weight_ih": ok["weight_ih"].float()})
    ok, _ = _bad_cases("rnn")
    with pytest.raises(ValueError, match="rnn_sequence: nonlinearity"):
        F.rnn_sequence(ok["input"], None, ok["weight_ih"], ok["weight_hh"], nonlinearity="sigmoid")


# ---- PyTorch directly (optional) --------------------------------------------------------------
def test_against_torch_modules_with_initial_state():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    b, l, i, h = 3, 7, 5, 6
    for kind, mod in [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("rnn", torch.nn.RNN), ("rnn_relu", torch.nn.RNN)]:
        kw = {"nonlinearity": "relu"} if kind == "rnn_relu" else {}
        m = mod(i, h, batch_first=True, **kw).double()
        x = torch.randn(b, l, i, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(1, b, h, dtype=torch.float64, requires_grad=True)
        c0 = torch.randn(1, b, h, dtype=torch.float64, requires_grad=True)
        out, st = m(x, (h0, c0)) if kind == "lstm" else m(x, h0)
        gy = torch.randn_like(out)
        out.backward(gy)
        sd = {k: t(v.detach().numpy(), True) for k, v in m.state_dict().items()}
        ws = [sd[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
        fx, fh0, fc0 = t(x.detach().numpy(), True), t(h0.detach().numpy()[0], True), t(c0.detach().numpy()[0], True)
        fout = run(kind, fx, fh0, fc0, *ws)[0]
        fout.backward(gy.numpy())
        np.testing.assert_allclose(fout.detach().numpy(), out.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fx.grad.numpy(), x.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fh0.grad.numpy(), h0.grad.numpy()[0], rtol=1e-10, atol=1e-12)
        for k, p in m.named_parameters():
            np.testing.assert_allclose(sd[k].grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{kind} {k}")


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_empty_dims_give_empty_or_zero_results(kind):
    rng = np.random.default_rng(8)
    g = GATES[kind]
    for b, l, i, h in [(0, 3, 4, 5), (2, 3, 0, 5), (2, 3, 4, 0)]:
        x = t(rng.standard_normal((b, l, i)), True)
        w = [t(rng.standard_normal(s), True) for s in [(g * h, i), (g * h, h), (g * h,), (g * h,)]]
        out, hn, cn = run(kind, x, None, None, *w)
        assert out.shape == (b, l, h) and hn.shape == (b, h)
        out.sum().backward()
        assert x.grad.shape == x.shape
        for a in w:
            assert a.grad.shape == a.shape
            assert np.isfinite(a.grad.numpy()).all()
        if i == 0 and b > 0 and h > 0:  # the output does not depend on x: biases and h only
            want = reference(kind, x.detach().numpy(), None, None, *[a.detach().numpy() for a in w])[0]
            np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12, atol=1e-12)


# ---- the GRU backward reads a gradient with contiguous rows in place (any other strides) ---------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gru_backward_reads_strided_gradients_in_place(dtype):
    from ferrograd import _native

    rng = np.random.default_rng(11)
    b, l, i, h = 6, 5, 3, 20
    x, h0 = rng.standard_normal((b, l, i)).astype(dtype), rng.standard_normal((b, h)).astype(dtype)
    w_ih, w_hh, b_ih, b_hh = params("gru", i, h, rng, dtype)
    _, gates, hn, hs = _native.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
    full = rng.standard_normal((b, l + 2, h)).astype(dtype)
    views = {
        "broadcast over time": np.broadcast_to(full[:, :1], (b, l, h)),  # a mean over the sequence
        "time-reversed slice": full[:, l:0:-1],
        "batch-strided": rng.standard_normal((2 * b, l, h)).astype(dtype)[::2],
    }
    for what, gy in views.items():
        assert not gy.flags.c_contiguous
        got = _native.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy)
        want = _native.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, np.ascontiguousarray(gy))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w, err_msg=what)
    with pytest.raises(ValueError, match="gy rows must be contiguous"):
        _native.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, np.asfortranarray(full[:, :l]))
    with pytest.raises(ValueError, match="gy"):
        _native.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, full)  # L + 2 steps


# ---- dx and dh0 only where asked for: the same weight gradients without them ------------------

# (B, L, I, H): a few inputs (projected inside the gate passes) and more (by GEMMs), and a batch
# whose recurrent step is split across threads where there are two.
@pytest.mark.parametrize("dims", [(6, 5, 2, 20), (6, 5, 9, 20), (96, 4, 3, 96)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gru_backward_skips_unneeded_input_and_state_gradients(dims, dtype):
    from ferrograd import _native

    rng = np.random.default_rng(13)
    b, l, i, h = dims
    x, h0 = rng.standard_normal((b, l, i)).astype(dtype), rng.standard_normal((b, h)).astype(dtype)
    w_ih, w_hh, b_ih, b_hh = params("gru", i, h, rng, dtype)
    _, gates, hn, hs = _native.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
    gy = rng.standard_normal((b, l, h)).astype(dtype)
    full = _native.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy)
    for need_dx, need_dh0 in [(False, False), (True, False), (False, True)]:
        got = _native.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy, need_dx, need_dh0)
        assert (got[0] is None) != need_dx and (got[1] is None) != need_dh0
        for name, g, w in zip(["dx", "dh0", "dw_ih", "dw_hh", "db_ih", "db_hh"], got, full):
            if g is not None:
                np.testing.assert_array_equal(g, w, err_msg=f"{name} (need_dx={need_dx}, need_dh0={need_dh0})")


def test_gru_layer_on_data_gets_the_same_parameter_gradients():
    """nn.GRU over inputs that need no gradient and no initial state (a classifier on data): the
    backward skips dx and dh0, and the parameters' gradients are those of the full backward."""
    rng = np.random.default_rng(14)
    data = rng.standard_normal((5, 6, 3)).astype(np.float32)
    grads = []
    for input_needs_grad in (False, True):
        fg.manual_seed(0)
        gru = fg.nn.GRU(3, 8, batch_first=True)
        x = fg.tensor(data, requires_grad=input_needs_grad)
        out, _ = gru(x)
        out.mean(1).square().sum().backward()
        assert (x.grad is not None) == input_needs_grad
        grads.append([p.grad.numpy() for p in gru.parameters()])
    for g, w in zip(*grads):
        np.testing.assert_array_equal(g, w)


def test_gru_mean_over_time_gradient_matches_the_reference():
    rng = np.random.default_rng(12)
    b, l, i, h = 4, 7, 2, 16
    xs, h0s = rng.standard_normal((b, l, i)), rng.standard_normal((b, h))
    ws = params("gru", i, h, rng)
    x, h0, w = t(xs, True), t(h0s, True), [t(a, True) for a in ws]
    out, _, _ = run("gru", x, h0, None, *w)
    out.mean(1).sum().backward()  # the output's gradient is broadcast over time
    assert gradcheck(lambda *a: run("gru", *a[:2], None, *a[2:])[0].mean(1), [t(xs, True), t(h0s, True)]
                     + [t(a, True) for a in ws])
    gy = np.full((b, l, h), 1.0 / l)
    x2, h02, w2 = t(xs, True), t(h0s, True), [t(a, True) for a in ws]
    out2, _, _ = run("gru", x2, h02, None, *w2)
    (out2 * t(gy)).sum().backward()
    for a, c in zip([x, h0, *w], [x2, h02, *w2]):
        np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), rtol=1e-12, atol=1e-12)
