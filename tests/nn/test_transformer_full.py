"""nn.Transformer against PyTorch fixtures (tests/fixtures/transformer_full_*.npz, made by
tests/fixtures/gen/gen_transformer_full.py): state_dict names, eval-mode outputs with masks and padding
masks, batch_first both ways, torch's nested-tensor output under no_grad, gradients; plus the
arguments the encoder/decoder stacks and layers accept, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import nn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASES = {
    "seqfirst": dict(batch_first=False, norm_first=False, activation="relu"),
    "batchfirst_prenorm": dict(batch_first=True, norm_first=True, activation="gelu"),
    "batchfirst_nested": dict(batch_first=True, norm_first=False, activation="relu"),
}
MASKS = ("src_mask", "tgt_mask", "memory_mask", "src_key_padding_mask", "tgt_key_padding_mask",
         "memory_key_padding_mask")


def _model(case, d):
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
                       dropout=0.1, **CASES[case]).double()
    assert list(m.state_dict()) == d["keys"].tolist()
    m.load_state_dict({k: d["p_" + k] for k in d["keys"]})
    return m.eval()


def _masks(d):
    return {k: fg.tensor(d["mask_" + k]) for k in MASKS if "mask_" + k in d}


@pytest.mark.parametrize("case", list(CASES))
def test_transformer_matches_pytorch_with_gradients(case):
    d = np.load(FIXTURES / f"transformer_full_{case}.npz")
    m = _model(case, d)
    src, tgt = fg.tensor(d["src"], requires_grad=True), fg.tensor(d["tgt"], requires_grad=True)
    out = m(src, tgt, **_masks(d))
    np.testing.assert_allclose(out.detach().numpy(), d["out"], rtol=1e-9, atol=1e-10)
    out.backward(fg.tensor(d["gy"]))
    np.testing.assert_allclose(src.grad.numpy(), d["g_src"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(tgt.grad.numpy(), d["g_tgt"], rtol=1e-8, atol=1e-10)
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), d["g_" + name], rtol=1e-8, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
def test_transformer_no_grad_matches_pytorch_nested_path(case):
    # torch's encoder zeroes padded positions under no_grad in the batchfirst_nested case (out_nograd
    # differs from out there); every case must give torch's no_grad output.
    d = np.load(FIXTURES / f"transformer_full_{case}.npz")
    m = _model(case, d)
    with fg.no_grad():
        out = m(fg.tensor(d["src"]), fg.tensor(d["tgt"]), **_masks(d))
    np.testing.assert_allclose(out.numpy(), d["out_nograd"], rtol=1e-9, atol=1e-10)
    if case == "batchfirst_nested":
        assert not np.allclose(d["out_nograd"], d["out"])


def test_state_dict_names_and_init():
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=16)
    keys = list(m.state_dict())
    assert keys[:2] == ["encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.0.self_attn.in_proj_bias"]
    assert "encoder.norm.weight" in keys and "decoder.norm.bias" in keys
    assert "decoder.layers.1.multihead_attn.out_proj.weight" in keys and "decoder.layers.1.norm3.weight" in keys
    assert not any(k.startswith("encoder.layers.1") for k in keys)
    # xavier_uniform_ on every matrix: the bound is sqrt(6 / (fan_in + fan_out))
    w = m.decoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(w).max() <= np.sqrt(6 / (8 + 16)) and np.abs(w).max() > 0.5 * np.sqrt(6 / (8 + 16))
    assert m.encoder.layers[0].linear1.bias.shape == (16,)
    # layers are copies, not shared
    assert m.encoder.layers[0].linear1.weight is not m.decoder.layers[0].linear1.weight


def test_generate_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask.numpy(), [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(nn.generate_square_subsequent_mask(4).numpy(),
                                  nn.Transformer.generate_square_subsequent_mask(4).numpy())


def test_torch_arguments_are_accepted():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=nn.GELU(), batch_first=True, bias=False,
                                       dtype=np.float64)
    assert layer.activation_relu_or_gelu == 2 and layer.linear1.bias is None and layer.norm1.bias is None
    assert layer.linear1.weight.dtype == np.float64
    enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8, dtype=np.float64), enable_nested_tensor=False,
                                mask_check=False)
    assert enc.enable_nested_tensor is False and enc.use_nested_tensor is False and enc.mask_check is False
    x = fg.tensor(np.random.default_rng(0).standard_normal((2, 5, 8)))
    causal = nn.Transformer.generate_square_subsequent_mask(5, dtype=np.float64)
    a = enc(x, mask=causal, is_causal=True).detach().numpy()
    np.testing.assert_allclose(enc(x, is_causal=True).detach().numpy(), a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(enc(x, mask=causal).detach().numpy(), a, rtol=1e-12, atol=1e-12)
    # a callable activation
    lam = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation=lambda v: F.relu(v) * 2, batch_first=True)
    assert lam.activation_relu_or_gelu == 0
    dec = nn.TransformerDecoder(lam, 1, norm=None)
    assert dec(fg.randn(2, 3, 8), fg.randn(2, 5, 8), tgt_is_causal=None).shape == (2, 3, 8)
    with pytest.raises(ValueError, match="activation must be 'relu', 'gelu' or a callable"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    # custom encoder / decoder
    t = nn.Transformer(8, 2, dim_feedforward=16, custom_encoder=nn.Identity(), num_decoder_layers=1)
    assert not any(k.startswith("encoder.") for k in t.state_dict())


def test_unbatched_input_matches_a_batch_of_one():
    fg.manual_seed(0)
    m = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0).double().eval()
    rng = np.random.default_rng(1)
    src, tgt = rng.standard_normal((5, 8)), rng.standard_normal((3, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=np.float64)
    with fg.no_grad():
        one = m(fg.tensor(src), fg.tensor(tgt), tgt_mask=mask).numpy()
        batch = m(fg.tensor(src[:, None]), fg.tensor(tgt[:, None]), tgt_mask=mask).numpy()
    np.testing.assert_allclose(one, batch[:, 0], rtol=1e-12, atol=1e-12)


def test_bad_input_raises():
    m = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match="Transformer: the batch number of src"):
        m(fg.randn(5, 2, 8), fg.randn(4, 3, 8))
    with pytest.raises(ValueError, match="Transformer: the feature number of src"):
        m(fg.randn(5, 2, 8), fg.randn(4, 2, 6))
    with pytest.raises(TypeError, match="Transformer: src must be a Tensor"):
        m(np.zeros((5, 2, 8)), fg.randn(4, 2, 8))


# ---- wgpu (float32) -------------------------------------------------------------------------------
@pytest.fixture
def wgpu():
    """Opened at the first wgpu test, not at collection (see tests/wgpu/conftest.py)."""
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


@pytest.mark.parametrize("case", list(CASES))
def test_wgpu_transformer_matches_pytorch(wgpu, case):
    d = np.load(FIXTURES / f"transformer_full_{case}.npz")
    m = _model(case, d).float().to("wgpu")
    masks = {k: (v.float() if v.dtype == np.float64 else v).to("wgpu") for k, v in _masks(d).items()}
    src = fg.tensor(d["src"].astype(np.float32), device="wgpu", requires_grad=True)
    tgt = fg.tensor(d["tgt"].astype(np.float32), device="wgpu", requires_grad=True)
    out = m(src, tgt, **masks)
    assert out.device == "wgpu"
    np.testing.assert_allclose(out.detach().numpy(), d["out"], rtol=2e-4, atol=2e-5)
    out.backward(fg.tensor(d["gy"].astype(np.float32), device="wgpu"))
    np.testing.assert_allclose(src.grad.numpy(), d["g_src"], rtol=1e-3, atol=1e-4)
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), d["g_" + name], rtol=1e-3, atol=1e-4, err_msg=name)
    with fg.no_grad():
        out = m(src.detach(), tgt.detach(), **masks)
    np.testing.assert_allclose(out.numpy(), d["out_nograd"], rtol=2e-4, atol=2e-5)
