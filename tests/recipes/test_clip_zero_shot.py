"""clip_zero_shot in quick mode: every check holds, metrics are finite, the plot and checkpoint
exist; the word tokenizer and the held-out design; the wgpu path gives the cpu numbers."""

import numpy as np
import pytest
from recipe_asserts import assert_passed

from ferrograd.data.datasets import COLORS, SHAPES
from ferrograd.recipes import clip_zero_shot


def test_quick_cpu(tmp_path):
    res = clip_zero_shot.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(res, "clip_zero_shot")
    m = res["metrics"]
    assert m["heldout_chance"] == pytest.approx(1 / 12) and m["all_chance"] == pytest.approx(1 / 48)
    assert m["zero_shot_heldout_acc"] > 3 * m["heldout_chance"] and m["zero_shot_all_acc"] > 5 * m["all_chance"]
    assert [p.endswith("clip_zero_shot_zero_shot.png") for p in res["plots"]] == [True]
    assert (tmp_path / "clip_zero_shot_checkpoint.safetensors").exists()


def test_word_tokenizer():
    tok = clip_zero_shot.WordTokenizer(["a", "red", "circle"], context_length=5)
    assert tok.vocab == ["<pad>", "<unk>", "a", "red", "circle", "<sot>", "<eot>"]
    assert tok.eot_token_id == tok.vocab_size - 1 == 6  # the largest id: CLIP pools at the argmax
    ids = tok(["a red circle", "A Red, circle.", "a blue circle", "a red circle a red"]).numpy()
    assert ids.dtype == np.int64 and ids.shape == (4, 5)
    np.testing.assert_array_equal(ids[0], [5, 2, 3, 4, 6])
    np.testing.assert_array_equal(ids[1], ids[0])                     # case and punctuation do not matter
    np.testing.assert_array_equal(ids[2], [5, 2, 1, 4, 6])            # unknown word -> <unk>
    np.testing.assert_array_equal(ids[3], [5, 2, 3, 4, 6])            # truncated, <eot> kept last
    np.testing.assert_array_equal(tok("red", context_length=4).numpy(), [[5, 3, 6, 0]])  # padded with 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_held_out_pairs_need_both_words(seed):
    held = clip_zero_shot.held_out_pairs(len(SHAPES), len(COLORS), np.random.default_rng(seed))
    assert len(held) == 12
    seen = {(s, c) for s in range(len(SHAPES)) for c in range(len(COLORS))} - held
    # every word is in the training captions
    assert {s for s, _ in seen} == set(range(len(SHAPES))) and {c for _, c in seen} == set(range(len(COLORS)))
    # among the held-out classes, neither word alone names the class
    for s in {s for s, _ in held}:
        assert sum(1 for t, _ in held if t == s) == 2
    for c in {c for _, c in held}:
        assert sum(1 for _, d in held if d == c) == 2


def test_wgpu_matches_cpu(monkeypatch, wgpu_device):
    # A few steps only (even the 40-step quick + wgpu run takes minutes on llvmpipe): the same
    # seed gives the same batches and initial weights, so wgpu must reproduce the cpu numbers.
    monkeypatch.setitem(clip_zero_shot.STEPS, "quick", 4)
    monkeypatch.setitem(clip_zero_shot.STEPS, "quick_wgpu", 4)
    monkeypatch.setitem(clip_zero_shot.TEST_IMAGES, "quick", clip_zero_shot.TEST_IMAGES["quick_wgpu"])
    cpu = clip_zero_shot.run(seed=0, quick=True)["metrics"]
    gpu = clip_zero_shot.run(seed=0, quick=True, device="wgpu")
    assert gpu["device"] == "wgpu"
    assert gpu["metrics"]["final_loss"] == pytest.approx(cpu["final_loss"], rel=1e-3)
    for name in ("zero_shot_heldout_acc", "zero_shot_all_acc", "seen_acc"):
        assert gpu["metrics"][name] == pytest.approx(cpu[name], abs=0.01), name
