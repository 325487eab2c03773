"""nn layers, losses, optimizers and utilities whose math is Python over arrays (no `_native`
kernel) give the same results on "wgpu" as on "cpu"."""

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import nn

TOL = 2e-4


def both(build):
    """build(device) -> (output tensor, [tensors whose grads to compare]) on each device."""
    out = {}
    for device in ("cpu", "wgpu"):
        fg.manual_seed(3)
        y, leaves = build(device)
        if y.requires_grad:
            y.backward()
        out[device] = (y.detach().numpy(), [None if t.grad is None else t.grad.numpy() for t in leaves])
    (yc, gc), (yd, gd) = out["cpu"], out["wgpu"]
    np.testing.assert_allclose(yd, yc, rtol=TOL, atol=TOL)
    for c, d in zip(gc, gd):
        assert (c is None) == (d is None)
        if c is not None:
            np.testing.assert_allclose(d, c, rtol=TOL, atol=TOL)


def x_(device, *shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return fg.tensor(a, device=device, requires_grad=True)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(training):
    def build(device):
        bn = nn.BatchNorm1d(5).to(device)
        bn.train(training)
        x = x_(device, 7, 5)
        y = (bn(x) * fg.arange(5, device=device)).sum()
        return y, [x, bn.weight, bn.bias]

    both(build)


def test_batch_norm_running_stats_update_on_the_device():
    bn = nn.BatchNorm1d(3).to("wgpu")
    x = fg.randn(6, 3, device="wgpu")
    bn(x)
    assert bn.running_mean.device == "wgpu" and bn.num_batches_tracked.item() == 1
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.numpy().mean(0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_with_ignore_index(weighted):
    def build(device):
        x = x_(device, 6, 4)
        t = fg.tensor([0, 3, -100, 1, 3, 2], device=device)
        w = fg.tensor([0.5, 1.0, 2.0, 1.5], device=device) if weighted else None
        return F.nll_loss(x, t, weight=w), [x]

    both(build)


@pytest.mark.parametrize("name", ["bce", "kl", "cosine", "pairwise", "triplet", "cos_embedding", "smooth"])
def test_losses_and_distances(name):
    def build(device):
        a, b, c = x_(device, 5, 4, seed=1), x_(device, 5, 4, seed=2), x_(device, 5, 4, seed=3)
        if name == "bce":
            y = F.binary_cross_entropy(a.sigmoid(), b.sigmoid().detach())
        elif name == "kl":
            y = F.kl_div(a, b.sigmoid(), reduction="batchmean")
        elif name == "cosine":
            y = F.cosine_similarity(a, b).sum()
        elif name == "pairwise":
            y = F.pairwise_distance(a, b, p=3).sum()
        elif name == "triplet":
            y = F.triplet_margin_loss(a, b, c, swap=True)
        elif name == "cos_embedding":
            y = F.cosine_embedding_loss(a, b, fg.tensor([1, -1, 1, 1, -1], device=device), margin=0.1)
        else:
            y = F.l1_loss(a, b, reduction="sum") + F.mse_loss(a, b, reduction="none").mean()
        return y, [a, b, c]

    both(build)


def test_bilinear_and_gcn():
    def build(device):
        fg.manual_seed(5)
        bil = nn.Bilinear(3, 4, 2).to(device)
        gcn = nn.GCNConv(2, 3).to(device)
        a, b = x_(device, 5, 3, seed=1), x_(device, 5, 4, seed=2)
        edges = fg.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
        y = gcn(bil(a, b), edges).tanh().sum()
        return y, [a, b, bil.weight, gcn.lin.weight]

    both(build)


@pytest.mark.parametrize("opt", ["adamw_amsgrad", "rmsprop_centered", "sgd_nesterov"])
def test_optimizers_match_cpu(opt):
    def build(device):
        fg.manual_seed(2)
        m = nn.Linear(4, 3).to(device)
        make = {
            "adamw_amsgrad": lambda p: fg.optim.AdamW(p, lr=0.05, amsgrad=True),
            "rmsprop_centered": lambda p: fg.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
            "sgd_nesterov": lambda p: fg.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        }[opt]
        o = make(m.parameters())
        x = x_(device, 6, 4, seed=4)
        for _ in range(3):
            o.zero_grad()
            F.mse_loss(m(x), x[:, :3].detach()).backward()
            o.step()
        return F.mse_loss(m(x), x[:, :3].detach()), [m.weight, m.bias]

    both(build)


def test_optimizer_state_dict_round_trip_on_the_device():
    m = nn.Linear(3, 2).to("wgpu")
    o = fg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    F.mse_loss(m(fg.randn(4, 3, device="wgpu")), fg.zeros(4, 2, device="wgpu")).backward()
    o.step()
    state = o.state_dict()
    o2 = fg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    o2.load_state_dict(state)
    buf = o2.state[id(m.weight)]["momentum_buffer"]
    assert buf.device == "wgpu"
    np.testing.assert_array_equal(buf.numpy(), o.state[id(m.weight)]["momentum_buffer"].numpy())


@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_clip_grad_norm(norm_type):
    norms = {}
    for device in ("cpu", "wgpu"):
        ws = [fg.tensor(np.float32([[3.0, -4.0]]), device=device, requires_grad=True),
              fg.tensor(np.float32([12.0]), device=device, requires_grad=True)]
        (ws[0].sum() * 2 + ws[1].sum() * 5).backward()
        norms[device] = (float(nn.utils.clip_grad_norm_(ws, 1.0, norm_type)), [w.grad.numpy() for w in ws])
    assert norms["wgpu"][0] == pytest.approx(norms["cpu"][0], rel=1e-6)
    for c, d in zip(norms["cpu"][1], norms["wgpu"][1]):
        np.testing.assert_allclose(d, c, rtol=1e-5)


def test_one_hot_on_the_device():
    t = fg.tensor([2, 0, 3], device="wgpu")
    out = F.one_hot(t)
    assert out.device == "wgpu" and out.dtype == fg.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[[2, 0, 3]])


def test_save_reads_device_tensors_back(tmp_path):
    m = nn.Linear(3, 2).to("wgpu")
    fg.save(m.state_dict(), tmp_path / "m.safetensors")
    loaded = fg.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded["weight"].numpy(), m.weight.detach().numpy())
    m2 = nn.Linear(3, 2).to("wgpu")
    m2.load_state_dict(loaded)
    np.testing.assert_array_equal(m2.weight.detach().numpy(), m.weight.detach().numpy())


def test_checkpoint_round_trip_of_a_device_model_and_optimizer(tmp_path):
    from ferrograd.checkpoint import load_checkpoint, save_checkpoint

    def trained(steps, resume=None):
        fg.manual_seed(4)
        m = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 1)).to("wgpu")
        o = fg.optim.Adam(m.parameters(), lr=0.01)
        if resume is not None:
            load_checkpoint(resume, m, o)
        x = fg.tensor(np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3), device="wgpu")
        for _ in range(steps):
            o.zero_grad()
            F.mse_loss(m(x), x[:, :1]).backward()
            o.step()
        return m, o

    m, o = trained(2)
    save_checkpoint(tmp_path / "ck.safetensors", m, o, step=2)
    resumed, o2 = trained(1, resume=tmp_path / "ck.safetensors")
    straight, _ = trained(3)
    assert all(s["exp_avg"].device == "wgpu" for s in o2.state.values())
    for (name, a), (_, b) in zip(resumed.state_dict().items(), straight.state_dict().items()):
        assert a.device == "wgpu", name
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
