"""End to end: a Linear+ReLU MLP trained with optim.SGD and F.mse_loss on "wgpu" follows the
CPU loss curve, and the training steps read nothing back from the device."""

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import nn
from ferrograd.wgpu import runtime

STEPS = 5


def _model():
    fg.manual_seed(0)
    return nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 17), nn.ReLU(), nn.Linear(17, 3))


def _data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, 13)).astype(np.float32)
    y = np.sin(x[:, :3] * 2 + x[:, 3:6]).astype(np.float32)
    return x, y


def _train(device, momentum, optim="sgd"):
    model = _model().to(device)
    x_np, y_np = _data()
    x, y = fg.tensor(x_np, device=device), fg.tensor(y_np, device=device)
    if optim == "sgd":
        opt = fg.optim.SGD(model.parameters(), lr=0.05, momentum=momentum, weight_decay=1e-3)
    else:
        opt = fg.optim.Adam(model.parameters(), lr=0.01)
    rt = runtime.get()
    reads = rt.reads
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    steps_reads = rt.reads - reads
    return [loss.item() for loss in losses], steps_reads, model


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_mlp_follows_the_cpu_loss_curve_without_readback(momentum):
    cpu_losses, _, cpu_model = _train("cpu", momentum)
    dev_losses, dev_reads, dev_model = _train("wgpu", momentum)
    assert dev_reads == 0, f"the training steps read back from the device {dev_reads} times"
    assert cpu_losses[-1] < cpu_losses[0]  # it learns
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=1e-4)
    for (name, pc), (_, pd) in zip(cpu_model.named_parameters(), dev_model.named_parameters()):
        assert pd.device == "wgpu", name
        np.testing.assert_allclose(pd.detach().numpy(), pc.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_adam_runs_on_the_device_without_readback():
    cpu_losses, _, _ = _train("cpu", 0.0, optim="adam")
    dev_losses, dev_reads, _ = _train("wgpu", 0.0, optim="adam")
    assert dev_reads == 0
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=1e-4)


def test_fit_moves_batches_to_the_device():
    from ferrograd.data import DataLoader, TensorDataset
    from ferrograd.training import fit

    x_np, y_np = _data()
    histories = {}
    for device in ("cpu", "wgpu"):
        model = _model().to(device)
        loader = DataLoader(TensorDataset(fg.tensor(x_np), fg.tensor(y_np)), batch_size=16)
        opt = fg.optim.SGD(model.parameters(), lr=0.05)
        histories[device] = fit(model, F.mse_loss, opt, loader, epochs=2, val_loader=loader, progress=False,
                                log=None, device=device)
    for c, d in zip(histories["cpu"], histories["wgpu"]):
        assert d["train_loss"] == pytest.approx(c["train_loss"], rel=1e-4)
        assert d["val_loss"] == pytest.approx(c["val_loss"], rel=1e-4)
