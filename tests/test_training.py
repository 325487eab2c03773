"""`fit` trains, validates, schedules and checkpoints."""

import numpy as np

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.training import accuracy, evaluate, fit, linear_probe


def _batches(x, y, size):
    return [(fg.from_numpy(x[i : i + size]), fg.from_numpy(y[i : i + size])) for i in range(0, len(x), size)]


def _blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2, 0], [-2, 0], [0, 2]], np.float32)
    return (centres[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32), y


def test_fit_learns_validates_and_checkpoints(tmp_path):
    fg.manual_seed(0)
    x, y = _blobs()
    train, val = _batches(x[:150], y[:150], 16), _batches(x[150:], y[150:], 25)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = fg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = fg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    logged = []
    history = fit(model, F.cross_entropy, opt, train, epochs=4, val_loader=val, metrics={"acc": accuracy},
                  scheduler=sched, clip_grad_norm=5.0, checkpoint_path=tmp_path / "c.safetensors",
                  progress=False, log=logged.append)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4] and len(logged) == 4
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_acc"] > 0.9
    assert opt.param_groups[0]["lr"] == 0.1 * 0.25
    assert model.training
    info = fg.load_checkpoint(tmp_path / "c.safetensors", model)
    assert info == {"step": 4 * len(train), "epoch": 4}
    assert evaluate(model, F.cross_entropy, val, {"acc": accuracy})["acc"] == history[-1]["val_acc"]


def test_linear_probe_reads_separable_features_and_not_noise():
    rng = np.random.default_rng(0)
    y_train, y_test = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    centres = rng.normal(size=(3, 5)) * 4

    def features(y):
        return centres[y] + rng.normal(size=(len(y), 5))

    assert linear_probe(features(y_train), y_train, features(y_test), y_test) > 0.95
    noise_acc = linear_probe(rng.normal(size=(300, 5)), y_train, rng.normal(size=(300, 5)), y_test)
    assert noise_acc < 0.5  # chance is 1/3
