"""RNNCell, LSTMCell, GRUCell against torch (tests/fixtures/nn_more_cases.npz): outputs,
input and parameter gradients (parameters loaded by torch's state_dict names), on cpu float64
and wgpu float32; init, float64 gradcheck, bad arguments."""

import sys
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.testing import gradcheck

sys.path.insert(0, str(Path(__file__).parent))
from _nn_more_replay import check, names, wgpu  # noqa: E402,F401

CELL_CASES = names(["rnn_", "lstm_", "gru_"])


@pytest.mark.parametrize("name", CELL_CASES)
def test_cells_match_torch(name):
    check(name)


@pytest.mark.parametrize("name", CELL_CASES)
def test_cells_match_torch_on_wgpu(wgpu, name):
    check(name, np.float32, "wgpu", rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("cls,gates", [(nn.RNNCell, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)])
def test_parameters_shapes_and_init(cls, gates):
    fg.manual_seed(0)
    m = cls(5, 7)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == [
        ("weight_ih", (gates * 7, 5)), ("weight_hh", (gates * 7, 7)), ("bias_ih", (gates * 7,)), ("bias_hh", (gates * 7,))]
    bound = 1 / np.sqrt(7)
    for p in m.parameters():
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound and v.std() > bound / 4  # U(-1/sqrt(h), 1/sqrt(h)), as torch
    nb = cls(5, 7, bias=False)
    assert nb.bias_ih is None and nb.bias_hh is None and list(nb.state_dict()) == ["weight_ih", "weight_hh"]
    assert cls(2, 3, dtype=fg.float64).weight_ih.dtype == np.float64


def test_default_state_is_zeros_and_unbatched_matches_batched():
    fg.manual_seed(1)
    x = fg.randn(3, dtype=fg.float64)
    for m in (nn.RNNCell(3, 4), nn.LSTMCell(3, 4), nn.GRUCell(3, 4)):
        m.double()
        z = fg.zeros(1, 4, dtype=fg.float64)
        if isinstance(m, nn.LSTMCell):
            h, c = m(x)
            hb, cb = m(x.unsqueeze(0), (z, z))
            np.testing.assert_allclose(c.detach().numpy(), cb.detach().numpy()[0])
        else:
            h, hb = m(x), m(x.unsqueeze(0), z)
        assert h.shape == (4,)
        np.testing.assert_allclose(h.detach().numpy(), hb.detach().numpy()[0])


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_gradcheck(cls):
    fg.manual_seed(2)
    m = cls(3, 2).double()
    x = fg.randn(2, 3, dtype=fg.float64, requires_grad=True)
    h = fg.randn(2, 2, dtype=fg.float64, requires_grad=True)
    if cls is nn.LSTMCell:
        c = fg.randn(2, 2, dtype=fg.float64, requires_grad=True)
        assert gradcheck(lambda x, h, c: m(x, (h, c))[0] * 2 + m(x, (h, c))[1], [x, h, c])
    else:
        assert gradcheck(lambda x, h: m(x, h), [x, h])


def test_relu_nonlinearity_and_repr():
    m = nn.RNNCell(2, 3, nonlinearity="relu")
    assert (m(fg.randn(4, 2)).detach().numpy() >= 0).all()
    assert repr(m) == "RNNCell(2, 3, nonlinearity=relu)"


def test_bad_arguments():
    m = nn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"LSTMCell: Expected input to be 1D or 2D, got 3D"):
        m(fg.randn(1, 2, 3))
    with pytest.raises(RuntimeError, match=r"inconsistent input_size: got 5 expected 3"):
        m(fg.randn(2, 5))
    with pytest.raises(RuntimeError, match=r"hx\[0\] has shape \(3, 4\), expected \(2, 4\)"):
        m(fg.randn(2, 3), (fg.zeros(3, 4), fg.zeros(3, 4)))
    with pytest.raises(TypeError, match="hx must be a tuple"):
        m(fg.randn(2, 3), fg.zeros(2, 4))
    with pytest.raises(ValueError, match="both must be batched or both unbatched"):
        nn.GRUCell(3, 4)(fg.randn(3), fg.zeros(1, 4))
    with pytest.raises(TypeError, match="dtype float64 but the cell's weights have dtype float32"):
        nn.RNNCell(3, 4)(fg.randn(2, 3, dtype=fg.float64))
    with pytest.raises(TypeError, match="must be float32 or float64"):
        nn.RNNCell(3, 4)(fg.tensor([[1, 2, 3]]))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="hidden_size must be a non-negative int"):
        nn.GRUCell(3, -1)
