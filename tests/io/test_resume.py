"""A training run resumed from a checkpoint follows the uninterrupted run bit for bit."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.optim import lr_scheduler


def _setup(opt_name):
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    if opt_name == "adam":
        opt = fg.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    else:
        opt = fg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=40)
    return model, opt, sched


def _data():
    rng = np.random.default_rng(5)
    return rng.standard_normal((64, 6)).astype(np.float32), rng.integers(0, 3, 64)


def _train(model, opt, sched, start, stop):
    x, y = _data()
    losses = []
    for _ in range(start, stop):
        idx = fg.randint(0, 64, (16,)).numpy()  # draws from the library RNG, which must resume too
        loss = F.cross_entropy(model(fg.from_numpy(x[idx])), fg.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("opt_name", ["adam", "sgd"])
def test_resume_gives_the_same_loss_curve(tmp_path, opt_name):
    model, opt, sched = _setup(opt_name)
    straight = _train(model, opt, sched, 0, 30)

    model, opt, sched = _setup(opt_name)
    first = _train(model, opt, sched, 0, 12)
    fg.save_checkpoint(tmp_path / "ckpt.safetensors", model, opt, sched, step=12, note="half")
    fg.manual_seed(123)  # a fresh process would start from some other RNG state

    model2, opt2, sched2 = _setup(opt_name)
    info = fg.load_checkpoint(tmp_path / "ckpt.safetensors", model2, opt2, sched2)
    assert info == {"step": 12, "note": "half"}
    rest = _train(model2, opt2, sched2, 12, 30)
    assert first + rest == straight  # exact equality: bit for bit
    assert fg.io.read_metadata(tmp_path / "ckpt.safetensors")["step"] == "12"


def test_loading_an_optimizer_from_a_model_only_file_fails_clearly(tmp_path):
    model, opt, _ = _setup("adam")
    fg.save_checkpoint(tmp_path / "c.safetensors", model)
    with pytest.raises(ValueError, match="without an optimizer"):
        fg.load_checkpoint(tmp_path / "c.safetensors", model, opt)
    fg.save(model.state_dict(), tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="no training checkpoint"):
        fg.load_checkpoint(tmp_path / "plain.safetensors", model)
