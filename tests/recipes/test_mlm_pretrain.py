"""The mlm_pretrain recipe in quick mode (every check holds, metrics finite, plot written) and its
80/10/10 masking. (Its full run takes ~40 s: run by the tour, not here.)"""

import os

import numpy as np
from recipe_asserts import assert_passed

from ferrograd.recipes import mlm_pretrain


def test_mlm_pretrain_quick_cpu(tmp_path):
    res = mlm_pretrain.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(res, "mlm_pretrain")
    m = res["metrics"]
    assert m["mlm_acc"] > m["unigram_acc"] + 0.03
    # quick reports the downstream comparison without checking it (200 MLM steps are too few to
    # help; the full run checks pretrained_acc > scratch_acc)
    assert [c["name"] for c in res["checks"]] == ["mlm_acc - unigram_acc"]
    assert m["chance"] / 2 < m["scratch_acc"] <= 1 and m["chance"] / 2 < m["pretrained_acc"] <= 1
    assert res["plots"] and all(os.path.exists(p) for p in res["plots"])


def test_mask_tokens_is_15_percent_80_10_10():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, (400, 250))                    # 100k positions, ids < 50
    out, labels = mlm_pretrain.mask_tokens(ids, rng, vocab_size=50, mask_id=99)
    chosen = labels != -100
    np.testing.assert_array_equal(labels[chosen], ids[chosen])  # labels: the original ids
    np.testing.assert_array_equal(out[~chosen], ids[~chosen])   # unchosen positions untouched
    assert abs(chosen.mean() - 0.15) < 0.005
    masked = (out == 99)[chosen].mean()
    kept = (out == ids)[chosen].mean()                          # 10 % kept + random hits of the same id
    assert abs(masked - 0.8) < 0.01
    assert abs(kept - (0.1 + 0.1 / 50)) < 0.01
    assert not (out == 99)[~chosen].any()
