"""GPT-2 (transformers' GPT2LMHeadModel names): state_dict against transformers', numerical parity
with a seeded tiny GPT2LMHeadModel loaded from its save_pretrained directory (logits, shifted-label
loss, nanoGPT's targets loss, gradients), greedy generate against transformers' generate, sampling,
context cropping, other checkpoint styles (hub GPT2Model, nanoGPT), padding masks, the zoo API,
wgpu, bad input. Fixtures: tests/fixtures/gen/models/gen_gpt.py (no PyTorch needed here)."""

import json
import pathlib

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.models.gpt as G
from ferrograd.models import create_model, list_models, load_pretrained, parameter_groups, read_state_dict

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
TINY_DIR = FIX / "gpt_tiny"
TINY = dict(vocab_size=96, n_positions=16, n_embd=32, n_layer=2, n_head=4)
TOL = dict(rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(FIX / "gpt_tiny.npz"))


def tiny():
    return G.GPT.from_pretrained(TINY_DIR)


def hf_shape(name, shape):
    """Our shape in transformers' layout: its Conv1D weights are (in, out), our Linear's (out, in)."""
    return shape[::-1] if name.endswith(G._CONV1D) else shape


def names_shapes(model):
    return [[k, hf_shape(k, list(v.shape))] for k, v in model.state_dict().items()]


# ---- names and shapes -------------------------------------------------------------------------

def test_state_dict_names_and_shapes_tiny():
    expected = json.loads((FIX / "gpt_names.json").read_text())["tiny"]
    assert names_shapes(G.GPT(**TINY)) == expected


def test_state_dict_names_and_shapes_gpt2_and_registry():
    expected = json.loads((FIX / "gpt_names.json").read_text())["gpt2"]
    m = G.GPT(init_weights=False)  # the 124 M default config; GPT-2's init is tested on small models
    assert names_shapes(m) == expected
    assert sum(p.numel() for p in m.parameters()) == 124_439_808  # transformers' num_parameters(), tied head once
    assert m._tied() and m.lm_head.weight is m.transformer.wte.weight
    assert {"gpt2", "gpt_mini", "gpt_nano"} <= set(list_models("gpt*"))


def test_init_follows_gpt2():
    fg.manual_seed(0)
    m = create_model("gpt_mini", vocab_size=500)
    assert m.config.n_layer == 6 and m.config.block_size == 256
    w = m.transformer.h[0].mlp.c_fc.weight.detach().numpy()
    assert abs(w.std() - 0.02) < 2e-3
    proj = m.transformer.h[0].mlp.c_proj.weight.detach().numpy()
    assert abs(proj.std() - 0.02 / np.sqrt(2 * 6)) < 1e-3  # residual projections scaled by 1/sqrt(2 n_layer)
    assert not m.transformer.h[0].attn.c_attn.bias.detach().numpy().any()


# ---- parity with transformers -------------------------------------------------------------------

def test_forward_loss_and_grads_match_transformers(ref):
    m = tiny()
    assert not m.training and m._tied()  # from_pretrained: eval mode, lm_head still the embedding
    m.train()  # dropout is 0 in the fixture config, so train == eval
    out = m(fg.tensor(ref["input_ids"]), labels=fg.tensor(ref["labels"]))
    assert out.keys() == ["loss", "logits"]
    np.testing.assert_allclose(out.logits.detach().numpy(), ref["logits"], **TOL)
    np.testing.assert_allclose(out.loss.item(), ref["loss"], **TOL)
    out.loss.backward()
    params = dict(m.named_parameters())
    for key in [k for k in ref if k.startswith("grad:")]:
        name = key[len("grad:"):]
        theirs = ref[key].T if name.endswith(G._CONV1D) else ref[key]
        np.testing.assert_allclose(params[name].grad.numpy(), theirs, rtol=1e-4, atol=1e-6, err_msg=name)


def test_output_unpacks_like_transformers(ref):
    m = tiny()
    ids = fg.tensor(ref["input_ids"])
    loss, logits = m(ids, labels=fg.tensor(ref["labels"]))  # (loss, logits), transformers' order
    assert loss.ndim == 0 and tuple(logits.shape) == (2, 12, 96)
    out = m(ids)
    assert out.loss is None and out.keys() == ["logits"] and out[0] is out["logits"]


def test_nanogpt_targets_loss(ref):
    out = tiny()(fg.tensor(ref["input_ids"]), fg.tensor(ref["targets"]))  # unshifted, -1 ignored
    np.testing.assert_allclose(out.loss.item(), ref["targets_loss"], **TOL)


def test_full_block_forward(ref):
    with fg.no_grad():
        logits = tiny()(fg.tensor(ref["full_ids"])).logits
    np.testing.assert_allclose(logits.numpy(), ref["full_logits"], **TOL)


def test_create_model_from_directory(ref):
    m = create_model("gpt2", pretrained=str(TINY_DIR))  # config.json overrides gpt2's sizes
    assert m.config.n_embd == 32 and m.config.block_size == 16 and m._tied()
    with fg.no_grad():
        logits = m.eval()(fg.tensor(ref["input_ids"])).logits
    np.testing.assert_allclose(logits.numpy(), ref["logits"], **TOL)


def test_other_checkpoint_styles_load(ref, tmp_path):
    from safetensors.numpy import save_file

    sd = read_state_dict(str(TINY_DIR / "model.safetensors"))
    # the hub's GPT2Model checkpoint: no "transformer." prefix, no lm_head, old mask buffers
    hub = {k.removeprefix("transformer."): v for k, v in sd.items()}
    for i in range(2):
        hub[f"h.{i}.attn.bias"] = np.tril(np.ones((16, 16), np.float32))[None, None]
        hub[f"h.{i}.attn.masked_bias"] = np.array(-1e4, np.float32)
    # nanoGPT: Linear layout (out, in), torch.compile's "_orig_mod." prefix, lm_head stored
    nano = {"_orig_mod." + k: (np.ascontiguousarray(v.T) if k.endswith(G._CONV1D) else v) for k, v in sd.items()}
    nano["_orig_mod.lm_head.weight"] = sd["transformer.wte.weight"]
    for name, state in (("hub", hub), ("nano", nano)):
        save_file(state, str(tmp_path / f"{name}.safetensors"))
        m = G.GPT(**TINY)
        load_pretrained(m, str(tmp_path / f"{name}.safetensors"))
        with fg.no_grad():
            logits = m.eval()(fg.tensor(ref["input_ids"])).logits
        np.testing.assert_allclose(logits.numpy(), ref["logits"], **TOL, err_msg=name)


# ---- generation -------------------------------------------------------------------------------

def test_greedy_generate_matches_transformers(ref):
    m = tiny()
    prompt = fg.tensor(ref["prompt"])
    np.testing.assert_array_equal(m.generate(prompt, 10, temperature=0).numpy(), ref["greedy"])
    np.testing.assert_array_equal(m.generate(prompt, 10, top_k=1).numpy(), ref["greedy"])  # one candidate


def test_sampling_reproducible_and_top_k_respected(ref):
    m = tiny()
    prompt = fg.tensor(ref["prompt"])
    a = m.generate(prompt, 12, temperature=1.5, top_k=3, generator=fg.Generator().manual_seed(7)).numpy()
    b = m.generate(prompt, 12, temperature=1.5, top_k=3, generator=fg.Generator().manual_seed(7)).numpy()
    c = m.generate(prompt, 12, temperature=1.5, generator=fg.Generator().manual_seed(8)).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 16) and (a[:, :4] == ref["prompt"]).all()
    assert not (c[:, 4:] == a[:, 4:]).all()
    with fg.no_grad():
        logits = m(fg.tensor(a)).logits.numpy()  # position t-1 scored token t
    top3 = np.argsort(-logits, axis=-1)[:, :, :3]
    for t in range(4, 16):
        for row in range(2):
            assert a[row, t] in top3[row, t - 1], (row, t)
    fg.manual_seed(3)  # without a generator: the global stream
    d = m.generate(prompt, 5).numpy()
    fg.manual_seed(3)
    np.testing.assert_array_equal(m.generate(prompt, 5).numpy(), d)


def test_generate_crops_context_to_block_size(ref):
    m = tiny()
    start = fg.tensor(ref["full_ids"][:, :14])
    out = m.generate(start, 6, temperature=0).numpy()  # 20 tokens > block_size 16
    assert out.shape == (1, 20)
    for t in range(14, 20):
        ctx = out[:, max(0, t - 16):t]
        with fg.no_grad():
            want = m(fg.tensor(ctx)).logits.numpy()[0, -1].argmax()
        assert out[0, t] == want, t
    long = np.concatenate([ref["full_ids"], ref["input_ids"][:1, :4]], axis=1)  # 20 tokens, all random
    with fg.no_grad():
        last = m(fg.tensor(long[:, -16:])).logits.numpy()[0, -1].argmax()
        first = m(fg.tensor(long[:, :16])).logits.numpy()[0, -1].argmax()
    assert last != first  # so the check below tells which 16 tokens were used
    nxt = m.generate(fg.tensor(long), 1, temperature=0).numpy()
    assert nxt.shape == (1, 21) and nxt[0, -1] == last


# ---- padding, zoo API ---------------------------------------------------------------------------

def test_attention_mask_right_padding(ref):
    m = tiny()
    ids = ref["input_ids"].copy()
    mask = np.ones_like(ids)
    mask[1, 8:] = 0
    ids[1, 8:] = 0  # padding
    with fg.no_grad():
        padded = m(fg.tensor(ids), attention_mask=fg.tensor(mask)).logits.numpy()
        alone = m(fg.tensor(ids[1:, :8])).logits.numpy()
        ones = m(fg.tensor(ids), attention_mask=fg.tensor(np.ones_like(ids))).logits.numpy()
        plain = m(fg.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(padded[1, :8], alone[0], **TOL)
    np.testing.assert_allclose(ones, plain, **TOL)


def test_layer_groups_freeze_and_reset_classifier():
    m = G.GPT(**TINY)
    names = [n for n, _ in m.layer_groups()]
    assert names == ["embeddings", "h.0", "h.1", "head"]
    groups = parameter_groups(m)
    flat = [id(p) for _, ps in groups for p in ps]
    assert len(flat) == len(set(flat)) == len(list(m.parameters()))
    assert any(p is m.transformer.wte.weight for p in groups[0][1])  # the tied head is the embedding
    fg.nn.utils.freeze(m, unlocked_groups=2)
    assert not m.transformer.wte.weight.requires_grad and not m.transformer.h[0].ln_1.weight.requires_grad
    assert m.transformer.h[1].attn.c_attn.weight.requires_grad and m.transformer.ln_f.weight.requires_grad

    m = G.GPT(**TINY)
    m.reset_classifier(5)  # a per-token classifier, untied
    assert tuple(m.lm_head.weight.shape) == (5, 32) and not m._tied() and m.lm_head.bias is None
    assert tuple(m(fg.tensor([[1, 2, 3]])).logits.shape) == (1, 3, 5)
    assert [n for n, _ in m.layer_groups()][-1] == "head" and m.lm_head in m.layer_groups()[-1][1]
    m.reset_classifier(0)
    feats = m.forward_features(fg.tensor([[1, 2, 3]]))
    np.testing.assert_allclose(m(fg.tensor([[1, 2, 3]])).logits.detach().numpy(), feats.detach().numpy())
    m = create_model("gpt_nano", vocab_size=50, num_classes=7)
    assert tuple(m.lm_head.weight.shape) == (7, 48)


def test_nanogpt_bias_false():
    m = G.GPT(vocab_size=50, block_size=8, n_embd=16, n_layer=1, n_head=2, bias=False)
    assert not [k for k in m.state_dict() if k.endswith(".bias")]
    out = m(fg.tensor([[1, 2, 3]]), fg.tensor([[2, 3, 4]]))
    assert tuple(out.logits.shape) == (1, 3, 50) and np.isfinite(out.loss.item())


def test_dropout_only_in_training():
    fg.manual_seed(0)
    m = create_model("gpt_nano", vocab_size=50, dropout=0.3)
    ids = fg.tensor([[1, 2, 3, 4]])
    a, b = m.train()(ids).logits.detach().numpy(), m(ids).logits.detach().numpy()
    assert not np.allclose(a, b)
    m.eval()
    np.testing.assert_array_equal(m(ids).logits.detach().numpy(), m(ids).logits.detach().numpy())


def test_load_tokenizer(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(["hello world", "héllo wörld, hello again"] * 20, vocab_size=300, min_frequency=1)
    bpe.save_model(str(tmp_path))  # vocab.json + merges.txt, GPT-2's files
    text = "hello wörld"
    ids = G.load_tokenizer(tmp_path).encode(text).ids
    bpe.save(str(tmp_path / "tokenizer.json"))
    tok = G.load_tokenizer(tmp_path)
    assert tok.encode(text).ids == ids and tok.decode(ids) == text
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        G.load_tokenizer(tmp_path / "nowhere")


# ---- wgpu -------------------------------------------------------------------------------------

def test_wgpu_matches_cpu(ref):
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    m = tiny().to("wgpu")
    assert m.transformer.h[0].attn.c_attn.weight.device.type == "wgpu" and m._tied()
    out = m(fg.tensor(ref["input_ids"], device="wgpu"), labels=fg.tensor(ref["labels"], device="wgpu"))
    np.testing.assert_allclose(out.logits.detach().numpy(), ref["logits"], **TOL)
    np.testing.assert_allclose(out.loss.item(), ref["loss"], **TOL)
    out.loss.backward()
    np.testing.assert_allclose(m.transformer.wte.weight.grad.numpy(), ref["grad:transformer.wte.weight"],
                               rtol=1e-4, atol=1e-6)
    greedy = m.generate(fg.tensor(ref["prompt"], device="wgpu"), 10, temperature=0)
    assert greedy.device.type == "wgpu"
    np.testing.assert_array_equal(greedy.numpy(), ref["greedy"])


# ---- bad input and bad config ---------------------------------------------------------------------

def test_bad_input_errors(ref):
    m = tiny()
    with pytest.raises(IndexError, match=r"input_ids.*vocab_size=96"):
        m(fg.tensor([[1, 96]]))
    with pytest.raises(IndexError, match=r"input_ids.*vocab_size=96"):
        m(fg.tensor([[-1, 2]]))
    with pytest.raises(ValueError, match=r"17 tokens but block_size \(n_positions\) is 16"):
        m(fg.tensor(np.zeros((1, 17), np.int64)))
    with pytest.raises(TypeError, match="integer token ids"):
        m(fg.tensor([[1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"\(batch, seq_len\)"):
        m(fg.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="must be a Tensor"):
        m([[1, 2]])
    ids = fg.tensor([[1, 2, 3]])
    with pytest.raises(ValueError, match="not both"):
        m(ids, ids, labels=ids)
    with pytest.raises(ValueError, match="labels must have input_ids' shape"):
        m(ids, labels=fg.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="attention_mask"):
        m(ids, attention_mask=fg.tensor([[1, 1]]))
    with pytest.raises(ValueError, match="position_ids must be in"):
        m(ids, position_ids=fg.tensor([[0, 1, 16]]))
    with pytest.raises(ValueError, match="max_new_tokens"):
        m.generate(ids, -1)
    with pytest.raises(ValueError, match="temperature"):
        m.generate(ids, 2, temperature=-1.0)
    with pytest.raises(ValueError, match="top_k"):
        m.generate(ids, 2, top_k=0)


def test_bad_config_errors(tmp_path):
    with pytest.raises(ValueError, match=r"n_embd \(30\) must be divisible by n_head \(4\)"):
        G.GPT(n_embd=30, n_head=4)
    with pytest.raises(TypeError, match=r"gpt_nano: unknown argument\(s\) \['hidden_size'\]"):
        create_model("gpt_nano", hidden_size=8)
    with pytest.raises(ValueError, match="disagree"):
        G.GPT(n_positions=8, block_size=16)
    with pytest.raises(ValueError, match="activation_function"):
        G.GPT(n_embd=8, n_head=2, n_layer=1, activation_function="tanh")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="'bert' model, expected 'gpt2'"):
        G.GPT.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="num_classes"):
        G.GPT(**TINY).reset_classifier(-1)
