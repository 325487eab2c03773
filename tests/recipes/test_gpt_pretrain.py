"""The gpt_pretrain recipe in quick mode: every check holds, metrics finite, loss plot and samples
file written."""

import os

from recipe_asserts import assert_passed
from ferrograd.recipes import gpt_pretrain


def test_gpt_pretrain_quick_cpu(tmp_path, capsys):
    res = gpt_pretrain.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(res, "gpt_pretrain")
    m = res["metrics"]
    assert 1.0 < m["val_ppl"] < m["unigram_ppl"] / 2
    assert res["plots"] and all(os.path.exists(p) for p in res["plots"])
    samples = (tmp_path / "gpt_pretrain_samples.txt").read_text(encoding="utf-8")
    for prompt in gpt_pretrain.PROMPTS:
        assert f"--- prompt {prompt!r} ---\n{prompt}" in samples   # each sample continues its prompt
    assert "Samples:" in capsys.readouterr().out
