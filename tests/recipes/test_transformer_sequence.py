"""transformer_sequence in quick mode: every check passes and the metrics are finite. On wgpu the quick
run costs ~1.5 min of llvmpipe, so the wgpu test is tiny: the recipe's model gives the cpu's logits and
gradients there."""

import numpy as np
import pytest
from recipe_asserts import assert_passed

import ferrograd as fg
from ferrograd.nn import functional as F
from ferrograd.recipes import transformer_sequence
from ferrograd.recipes.transformer_sequence import SequenceTransformer


def test_quick_cpu(tmp_path):
    result = transformer_sequence.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(result, "transformer_sequence", metrics={"test_acc", "test_loss", "chance"})
    assert 0.0 <= result["metrics"]["test_acc"] <= 1.0
    assert [p.endswith("transformer_sequence_curves.png") for p in result["plots"]] == [True]
    assert (tmp_path / "transformer_sequence_checkpoint.safetensors").exists()


def test_model_reads_order_and_cls():
    # the position embedding is what lets attention see the order: permuting the tokens changes the logits
    fg.manual_seed(0)
    model = SequenceTransformer(patch=8, num_tokens=9, d_model=16, nhead=2, num_layers=1).eval()
    x = fg.randn(2, 9, 8)
    with fg.no_grad():
        out = model(x).numpy()
        flipped = model(fg.tensor(x.numpy()[:, ::-1].copy())).numpy()
    assert out.shape == (2, 10)
    assert np.abs(out - flipped).max() > 1e-4
    with pytest.raises(ValueError, match=r"SequenceTransformer: tokens must have shape \(B, 9, 8\), got \(2, 10, 8\)"):
        model(fg.randn(2, 10, 8))  # one token more than there are positions


def test_model_matches_on_wgpu(wgpu_device):
    fg.manual_seed(0)
    state = SequenceTransformer(patch=8, num_tokens=9, d_model=16, nhead=2, num_layers=2).state_dict()
    x, y = fg.randn(3, 9, 8), fg.tensor([0, 3, 9])
    results = {}
    for device in ("cpu", "wgpu"):
        model = SequenceTransformer(patch=8, num_tokens=9, d_model=16, nhead=2, num_layers=2)
        model.load_state_dict(state)
        model.to(device)
        out = model(x.to(device))
        F.cross_entropy(out, y.to(device)).backward()
        assert out.device.type == device
        results[device] = [out.detach().numpy(), model.pos_embed.grad.numpy(), model.cls_token.grad.numpy(),
                           model.embed.weight.grad.numpy(), model.head.weight.grad.numpy()]
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-5)
