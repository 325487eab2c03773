"""metric_learning in quick mode: every check holds, metrics are finite, the plot and checkpoints
exist; its kNN and pair sampling against plain numpy; the wgpu path gives the cpu numbers."""

import numpy as np
import pytest
from recipe_asserts import assert_passed

from ferrograd.recipes import metric_learning


def test_quick_cpu(tmp_path):
    res = metric_learning.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(res, "metric_learning")
    m = res["metrics"]
    assert m["mahalanobis_knn_acc"] > m["euclidean_knn_acc"] and m["triplet_knn_acc"] > m["euclidean_knn_acc"]
    assert [p.endswith("metric_learning_metrics.png") for p in res["plots"]] == [True]
    assert (tmp_path / "metric_learning_metric.safetensors").exists()
    assert (tmp_path / "metric_learning_triplet.safetensors").exists()


def _knn_reference(train_x, train_y, test_x, k):
    d = ((test_x[:, None, :].astype(np.float64) - train_x[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.array([np.bincount(train_y[row], minlength=train_y.max() + 1).argmax() for row in nearest])


@pytest.mark.parametrize("k", [1, 5])
def test_knn_accuracy_matches_numpy(k):
    rng = np.random.default_rng(0)
    train_x, test_x = rng.normal(size=(200, 6)).astype(np.float32), rng.normal(size=(50, 6)).astype(np.float32)
    train_y, test_y = rng.integers(0, 4, 200), rng.integers(0, 4, 50)
    train_y[:4] = np.arange(4)
    want = float((_knn_reference(train_x, train_y, test_x, k) == test_y).mean())
    assert metric_learning.knn_accuracy(train_x, train_y, test_x, test_y, k=k) == pytest.approx(want)
    # a query equal to a training row is its own nearest neighbour
    assert metric_learning.knn_accuracy(train_x, train_y, train_x[:30], train_y[:30], k=1) == 1.0


def test_partners_same_and_different_class():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 300)
    anchors = rng.integers(0, 300, 2000)
    same = metric_learning.partners(y, anchors, np.ones(2000, bool), rng)
    diff = metric_learning.partners(y, anchors, np.zeros(2000, bool), rng)
    assert (y[same] == y[anchors]).all()
    assert (y[diff] != y[anchors]).all()
    # every other class is drawn as a negative, and positives spread over their class
    for c in range(5):
        assert set(y[diff[y[anchors] == c]]) == set(range(5)) - {c}
    assert len(set(same.tolist())) > 250


def test_wgpu_matches_cpu(monkeypatch, wgpu_device):
    # A few steps only (the quick recipe takes minutes on llvmpipe): the same seed gives the same
    # batches, so the wgpu run must reproduce the cpu numbers.
    monkeypatch.setitem(metric_learning.STEPS, "quick", (5, 5))
    cpu = metric_learning.run(seed=0, quick=True)["metrics"]
    gpu = metric_learning.run(seed=0, quick=True, device="wgpu")
    assert gpu["device"] == "wgpu"
    for name, value in cpu.items():
        assert gpu["metrics"][name] == pytest.approx(value, abs=0.01), name
