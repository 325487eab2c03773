"""ferrograd.models.rnn: LSTM/GRU classifiers and language models against plain torch.nn modules
(tests/fixtures/gen/models/gen_small_families.py): state_dict names and shapes, logits, packed
(lengths) runs, carried states, losses and gradients; generate, training, wgpu, bad input."""

import json
import pathlib

import numpy as np
import pytest
from safetensors.numpy import load_file

import ferrograd as fg
import ferrograd.models.rnn as R
from ferrograd.models import create_model, parameter_groups
from ferrograd.nn import functional as F

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
REF = np.load(FIX / "rnn_parity.npz")
NAMES = json.loads((FIX / "rnn_names.json").read_text())
TOL = dict(rtol=1e-5, atol=1e-5)


def load_case(case):
    kw = json.loads(str(REF[f"{case}:kwargs"]))
    cell = kw.pop("cell")
    cls = R.RNNLanguageModel if "_lm" in case else R.RNNClassifier
    model = cls(cell=cell, **kw)
    model.load_state_dict(load_file(FIX / f"rnn_{case}.safetensors"))
    return model.eval(), kw


def check_grads(model, case):
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{case}:grad:{n}"], err_msg=n, **TOL)


@pytest.mark.parametrize("row", NAMES, ids=[f"{r['model']}-{i}" for i, r in enumerate(NAMES)])
def test_state_dict_names_and_shapes(row):
    model = create_model(row["model"], **row["kwargs"])
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == row["state"]


def test_registered():
    assert set(fg.models.list_models("*_classifier")) >= {"lstm_classifier", "gru_classifier"}
    assert set(fg.models.list_models("*_lm")) >= {"lstm_lm", "gru_lm"}
    assert isinstance(create_model("gru_classifier", num_classes=7).rnn, fg.nn.GRU)


@pytest.mark.parametrize("case", ["lstm_cls_bi", "gru_cls_dense", "gru_cls_bi_mean"])
def test_classifier_parity(case):
    model, kw = load_case(case)
    x = fg.tensor(REF[f"{case}:x"])
    logits = model(x)
    np.testing.assert_allclose(logits.detach().numpy(), REF[f"{case}:logits"], **TOL)
    # padded batch: each sequence stops at its own length (torch: pack_padded_sequence)
    with fg.no_grad():
        packed = model(x, lengths=REF[f"{case}:lengths"])
    np.testing.assert_allclose(packed.numpy(), REF[f"{case}:logits_lengths"], **TOL)
    loss = F.cross_entropy(logits, fg.tensor(REF[f"{case}:y"]))
    np.testing.assert_allclose(loss.item(), REF[f"{case}:loss"], **TOL)
    loss.backward()
    check_grads(model, case)


@pytest.mark.parametrize("case", ["lstm_lm_tied", "gru_lm"])
def test_language_model_parity(case):
    model, kw = load_case(case)
    idx = fg.tensor(REF[f"{case}:idx"])
    logits, state = model(idx)
    np.testing.assert_allclose(logits.detach().numpy(), REF[f"{case}:logits"], **TOL)
    with fg.no_grad():  # the next chunk continues from the carried state
        logits2, state2 = model(fg.tensor(REF[f"{case}:idx2"]), state)
    np.testing.assert_allclose(logits2.numpy(), REF[f"{case}:logits2"], **TOL)
    states = state2 if isinstance(state2, tuple) else (state2,)
    for name, s in zip("hc", states):
        np.testing.assert_allclose(s.numpy(), REF[f"{case}:{name}2"], **TOL)
    v = kw["vocab_size"]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, v), idx[:, 1:].reshape(-1))
    np.testing.assert_allclose(loss.item(), REF[f"{case}:loss"], **TOL)
    loss.backward()
    check_grads(model, case)
    if kw.get("tie_weights"):
        assert model.fc.weight is model.embedding.weight
        assert "fc.weight" in model.state_dict() and "fc.weight" not in dict(model.named_parameters())


def test_create_model_loads_the_reference_safetensors():
    kw = json.loads(str(REF["lstm_lm_tied:kwargs"]))
    kw.pop("cell")
    model = create_model("lstm_lm", pretrained=str(FIX / "rnn_lstm_lm_tied.safetensors"), **kw).eval()
    assert model.fc.weight is model.embedding.weight
    with fg.no_grad():
        logits, _ = model(fg.tensor(REF["lstm_lm_tied:idx"]))
    np.testing.assert_allclose(logits.numpy(), REF["lstm_lm_tied:logits"], **TOL)


@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_past_lengths_is_ignored(pooling, bidirectional):
    fg.manual_seed(0)
    model = R.RNNClassifier(vocab_size=12, embed_dim=4, hidden_size=5, num_layers=2, bidirectional=bidirectional,
                            pooling=pooling, num_classes=3).eval()
    x = fg.randint(1, 12, (3, 6))
    lengths = [6, 3, 1]
    with fg.no_grad():
        a = model(x, lengths=lengths).numpy()
        y = x.numpy().copy()
        y[1, 3:], y[2, 1:] = 7, 9  # other tokens in the padding
        b = model(fg.tensor(y), lengths=fg.tensor(lengths)).numpy()
        alone = model(x[2:3, :1]).numpy()  # the length-1 sequence by itself
    np.testing.assert_allclose(a, b, **TOL)
    np.testing.assert_allclose(a[2:3], alone, **TOL)


def test_features_head_reset_and_groups():
    fg.manual_seed(0)
    model = create_model("lstm_classifier", vocab_size=30, embed_dim=6, hidden_size=4, bidirectional=True,
                         num_classes=3).eval()
    x = fg.randint(0, 30, (2, 5))
    feats = model.forward_features(x)
    assert tuple(feats.shape) == (2, 5, 8) and model.num_features == 8
    assert tuple(model.forward_head(feats, pre_logits=True).shape) == (2, 8)
    np.testing.assert_allclose(model.forward_head(feats).detach().numpy(), model(x).detach().numpy(), **TOL)
    model.reset_classifier(0)
    assert tuple(model(x).shape) == (2, 8)
    model.reset_classifier(6)
    assert tuple(model(x).shape) == (2, 6) and model.num_classes == 6
    assert [g for g, _ in model.layer_groups()] == ["embedding", "rnn", "fc"]
    assert sum(len(p) for _, p in parameter_groups(model)) == len(list(model.parameters()))
    fg.nn.utils.freeze(model, unlocked_groups=1)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    lm = create_model("gru_lm", vocab_size=11, embed_dim=4, hidden_size=4, num_layers=1)
    out, h = lm.forward_features(fg.randint(0, 11, (2, 3)))
    assert tuple(out.shape) == (2, 3, 4) and tuple(h.shape) == (1, 2, 4)
    assert [g for g, _ in lm.layer_groups()] == ["embedding", "rnn", "fc"]


def test_generate_greedy_follows_the_forward_argmax():
    fg.manual_seed(1)
    model = create_model("lstm_lm", vocab_size=10, embed_dim=8, hidden_size=8, num_layers=2, tie_weights=True)
    prompt = fg.randint(0, 10, (2, 3))
    out = model.generate(prompt, 6, temperature=0)
    assert tuple(out.shape) == (2, 9) and model.training  # mode restored
    np.testing.assert_array_equal(out.numpy()[:, :3], prompt.numpy())
    with fg.no_grad():
        logits, _ = model.eval()(out[:, :-1])
    np.testing.assert_array_equal(logits.numpy()[:, 2:].argmax(-1), out.numpy()[:, 3:])
    np.testing.assert_array_equal(model.generate(prompt, 6, top_k=1).numpy(), out.numpy())
    a = model.generate(prompt, 8, temperature=1.5, generator=fg.Generator().manual_seed(3)).numpy()
    b = model.generate(prompt, 8, temperature=1.5, generator=fg.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() < 10


def _classification_data(seed):
    """Label = whether token 1 occurs more often than token 2: needs the whole sequence."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (32, 8))
    y = ((x == 1).sum(1) > (x == 2).sum(1)).astype(np.int64)
    return fg.tensor(x), fg.tensor(y)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["lstm_classifier", "gru_classifier"])
def test_classifier_training_reduces_loss(name, seed):
    fg.manual_seed(seed)
    x, y = _classification_data(seed)
    model = create_model(name, vocab_size=4, embed_dim=8, hidden_size=16, pooling="mean")
    opt = fg.optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(40):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_language_model_training_reduces_loss(seed):
    """A periodic sequence (period 5 over 7 symbols) becomes predictable."""
    fg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    seq = np.tile(rng.permutation(7)[:5], 8)
    starts = rng.integers(0, 5, 8)
    batch = np.stack([seq[s:s + 13] for s in starts])
    x, t = fg.tensor(batch[:, :-1]), fg.tensor(batch[:, 1:])
    model = create_model("gru_lm", vocab_size=7, embed_dim=12, hidden_size=12, num_layers=1, tie_weights=True)
    opt = fg.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, 7), t.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses


def test_wgpu_matches_cpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    results = {}
    for device in ("cpu", "wgpu"):
        cls, _ = load_case("lstm_cls_bi")
        lm, _ = load_case("gru_lm")
        cls.to(device)
        lm.to(device)
        x = fg.tensor(REF["lstm_cls_bi:x"], device=device)
        out = cls(x)
        F.cross_entropy(out, fg.tensor(REF["lstm_cls_bi:y"], device=device)).backward()
        with fg.no_grad():
            logits, h = lm(fg.tensor(REF["gru_lm:idx"], device=device))
            gen = lm.generate(fg.tensor(REF["gru_lm:idx"], device=device), 3, temperature=0)
        assert cls.fc.weight.device.type == device and logits.device.type == device
        results[device] = [out.detach().numpy(), cls.rnn.weight_ih_l0.grad.numpy(), cls.embedding.weight.grad.numpy(),
                           logits.numpy(), h.numpy(), gen.numpy()]
    np.testing.assert_allclose(results["cpu"][0], REF["lstm_cls_bi:logits"], **TOL)
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs, err, pattern", [
    (dict(vocab_size=10, input_size=4), ValueError, r"lstm_classifier: give exactly one of vocab_size .* input_size"),
    (dict(hidden_size=0), ValueError, r"lstm_classifier: hidden_size must be >= 1, got 0"),
    (dict(num_layers=1.5), TypeError, r"lstm_classifier: num_layers must be an int"),
    (dict(pooling="max"), ValueError, r"lstm_classifier: pooling must be 'last' or 'mean', got 'max'"),
    (dict(dropout=1.0), ValueError, r"lstm_classifier: dropout must be a probability"),
])
def test_bad_classifier_config(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        create_model("lstm_classifier", **kwargs)


def test_bad_lm_config_and_bad_input():
    with pytest.raises(ValueError, match=r"gru_lm: tie_weights needs hidden_size == embed_dim"):
        create_model("gru_lm", embed_dim=8, hidden_size=6, tie_weights=True)
    with pytest.raises(ValueError, match=r"lstm_lm: num_classes does not apply"):
        create_model("lstm_lm", num_classes=3)
    with pytest.raises(ValueError, match=r"cell must be 'lstm' or 'gru', got 'rnn'"):
        R.RNNClassifier(cell="rnn", vocab_size=5)
    model = create_model("lstm_classifier", vocab_size=10, embed_dim=4, hidden_size=4)
    with pytest.raises(ValueError, match=r"lstm_classifier: input must be integer token ids of shape \(B, T\), "
                                         r"got dtype float32 shape \(2, 3\)"):
        model(fg.randn(2, 3))
    with pytest.raises(TypeError, match=r"lstm_classifier: input must be a Tensor"):
        model([[1, 2]])
    with pytest.raises(ValueError, match=r"lstm_classifier: lengths must lie in \[1, 3\].*\[3, 4\]"):
        model(fg.randint(0, 10, (2, 3)), lengths=[3, 4])
    with pytest.raises(ValueError, match=r"lstm_classifier: lengths must be 2 integers"):
        model(fg.randint(0, 10, (2, 3)), lengths=[3])
    dense = create_model("gru_classifier", input_size=5, hidden_size=4)
    with pytest.raises(ValueError, match=r"gru_classifier: input must be features of shape \(B, T, 5\), got shape "
                                         r"\(2, 3, 4\)"):
        dense(fg.randn(2, 3, 4))
    lm = create_model("lstm_lm", vocab_size=10, embed_dim=4, hidden_size=4)
    with pytest.raises(ValueError, match=r"lstm_lm.generate: temperature must be >= 0"):
        lm.generate(fg.randint(0, 10, (1, 2)), 2, temperature=-1.0)
    with pytest.raises(ValueError, match=r"lstm_lm: top_k must be >= 1"):
        lm.generate(fg.randint(0, 10, (1, 2)), 2, top_k=0)
