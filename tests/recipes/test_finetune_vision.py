"""finetune_vision in quick mode: every check passes and the metrics are finite; plus its augmentation against a numpy reference."""

import numpy as np
from recipe_asserts import assert_passed

from ferrograd.recipes import finetune_vision


def test_quick_cpu(tmp_path):
    result = finetune_vision.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(result, "finetune_vision", metrics={"finetuned_acc", "scratch_acc", "gain", "chance"})
    m = result["metrics"]
    assert 0.0 <= m["scratch_acc"] < m["finetuned_acc"] <= 1.0
    assert m["labelled"] == 50  # 10 labels per class of 5-9
    assert [p.endswith("finetune_vision_curves.png") for p in result["plots"]] == [True]
    assert (tmp_path / "finetune_vision_pretrained.safetensors").exists()


def test_random_shift_matches_numpy_reference():
    x = np.random.default_rng(0).random((6, 2, 5, 4)).astype(np.float32)
    out = finetune_vision.random_shift(x, np.random.default_rng(1), pad=1)
    dy, dx = np.random.default_rng(1).integers(0, 3, size=(2, 6))  # the same draws
    assert out.shape == x.shape and out.dtype == x.dtype
    for i in range(6):
        # output pixel (r, c) is input pixel (r + dy - 1, c + dx - 1), zero outside the image
        ref = np.zeros_like(x[i])
        for r in range(5):
            for c in range(4):
                rr, cc = r + dy[i] - 1, c + dx[i] - 1
                if 0 <= rr < 5 and 0 <= cc < 4:
                    ref[:, r, c] = x[i, :, rr, cc]
        np.testing.assert_array_equal(out[i], ref)
    assert (dy != 1).any() or (dx != 1).any()  # the draw really moved something
