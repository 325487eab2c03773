"""Every layer family on "wgpu" gives the CPU's outputs and gradients (same weights, same input),
the fused optimizer steps run on the device, dropout masks are drawn there, and a small
transformer trains on the device following the CPU loss curve, reading back per step only the
one bool of each id range check (none inside `unchecked_device_indices()`)."""

import contextlib

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import nn
from ferrograd.wgpu import runtime
from ferrograd.ops._range import unchecked_device_indices
from ferrograd.wgpu.array import GpuArray


def _both(make):
    fg.manual_seed(0)
    cpu = make()
    dev = make().to("wgpu")
    dev.load_state_dict({k: v.detach().numpy() for k, v in cpu.state_dict().items()})
    return cpu, dev


def _check(make, x_np, call=lambda m, x: m(x), rtol=2e-4, atol=2e-5):
    cpu, dev = _both(make)
    xc = fg.tensor(x_np, requires_grad=x_np.dtype == np.float32)
    xd = fg.tensor(x_np, device="wgpu", requires_grad=x_np.dtype == np.float32)
    yc, yd = call(cpu, xc), call(dev, xd)
    yc, yd = (yc[0], yd[0]) if isinstance(yc, tuple) else (yc, yd)
    assert yd.device == "wgpu"
    np.testing.assert_allclose(yd.detach().numpy(), yc.detach().numpy(), rtol=rtol, atol=atol)
    gy = np.random.default_rng(9).standard_normal(yc.shape).astype(np.float32)
    yc.backward(fg.tensor(gy))
    yd.backward(fg.tensor(gy, device="wgpu"))
    if xc.requires_grad:
        np.testing.assert_allclose(xd.grad.numpy(), xc.grad.numpy(), rtol=rtol, atol=atol)
    for (name, pc), (_, pd) in zip(cpu.named_parameters(), dev.named_parameters()):
        assert isinstance(pd.grad._data, GpuArray), name
        np.testing.assert_allclose(pd.grad.numpy(), pc.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_conv_pool_batchnorm_stack():
    make = lambda: nn.Sequential(  # noqa: E731
        nn.Conv2d(3, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(5, 4, 3, stride=2, groups=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    _check(make, _x(2, 3, 11, 9))


def test_layer_norm_gelu_softmax():
    make = lambda: nn.Sequential(nn.LayerNorm(13), nn.GELU(), nn.Softmax(dim=-1))  # noqa: E731
    _check(make, _x(3, 7, 13))


def test_cross_entropy_with_device_targets():
    logits = _x(9, 5)
    target = np.array([0, 4, 2, 1, 3, 3, 0, 2, 4])
    lc = fg.tensor(logits, requires_grad=True)
    ld = fg.tensor(logits, device="wgpu", requires_grad=True)
    loss_c = F.cross_entropy(lc, fg.tensor(target), label_smoothing=0.1)
    loss_d = F.cross_entropy(ld, fg.tensor(target, device="wgpu"), label_smoothing=0.1)
    loss_c.backward()
    loss_d.backward()
    np.testing.assert_allclose(loss_d.item(), loss_c.item(), rtol=1e-5)
    np.testing.assert_allclose(ld.grad.numpy(), lc.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_embedding():
    ids = np.array([[1, 4, 4, 0], [7, 1, 1, 1]])
    _check(lambda: nn.Embedding(9, 6), ids)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers(cls):
    _check(lambda: getattr(nn, cls)(5, 7, num_layers=2, batch_first=True, bidirectional=True), _x(3, 6, 5),
           rtol=5e-4, atol=5e-5)


def test_multihead_attention_causal():
    mask = fg.tensor(np.triu(np.full((6, 6), -np.inf, np.float32), 1))
    _check(lambda: nn.MultiheadAttention(8, 2, batch_first=True), _x(2, 6, 8),
           call=lambda m, x: m(x, x, x, attn_mask=mask.to(x.device), need_weights=False))


def test_mixer_block():
    _check(lambda: nn.MixerBlock(7, 12, 9, 20), _x(2, 7, 12), rtol=5e-4, atol=5e-5)


def test_dropout_mask_is_drawn_on_the_device_and_seeded():
    x = fg.ones(64, 33, device="wgpu", requires_grad=True)
    reads = runtime.get().reads
    fg.manual_seed(3)
    a = F.dropout(x, 0.25)
    fg.manual_seed(3)
    b = F.dropout(x, 0.25)
    assert runtime.get().reads == reads  # nothing read back while masking
    a_np = a.detach().numpy()
    np.testing.assert_array_equal(a_np, b.detach().numpy())
    assert abs((a_np == 0).mean() - 0.25) < 0.05
    assert set(np.unique(a_np)) <= {0.0, np.float32(1 / 0.75)}
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a_np)


@pytest.mark.parametrize("opt", ["sgd_nesterov", "adamw_amsgrad"])
def test_fused_optimizer_steps_match_the_cpu_rule(opt):
    def make_opt(params):
        if opt == "sgd_nesterov":
            return fg.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)
        return fg.optim.AdamW(params, lr=0.05, amsgrad=True)

    cpu, dev = _both(lambda: nn.Linear(6, 4))
    oc, od = make_opt(cpu.parameters()), make_opt(dev.parameters())
    x = _x(5, 6)
    for _ in range(4):
        for m, o, d in ((cpu, oc, "cpu"), (dev, od, "wgpu")):
            o.zero_grad()
            (m(fg.tensor(x, device=d)) ** 2).mean().backward()
            o.step()
    state = next(iter(od.state.values()))
    assert all(isinstance(v, GpuArray) for v in state.values() if not isinstance(v, int))
    for (name, pc), (_, pd) in zip(cpu.named_parameters(), dev.named_parameters()):
        np.testing.assert_allclose(pd.detach().numpy(), pc.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def _train_transformer(device, steps=4, check_indices=True):
    fg.manual_seed(0)
    emb, layer, head = nn.Embedding(11, 16), nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True), nn.Linear(16, 11)
    model = nn.ModuleList([emb, layer, head]).to(device)
    opt = fg.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    tokens = fg.tensor(rng.integers(0, 11, (4, 9)), device=device)
    mask = fg.tensor(np.triu(np.full((8, 8), -np.inf, np.float32), 1), device=device)
    reads, losses = runtime.get().reads, []
    with contextlib.nullcontext() if check_indices else unchecked_device_indices():
        for _ in range(steps):
            opt.zero_grad()
            h = layer(emb(tokens[:, :-1]), src_mask=mask)
            loss = F.cross_entropy(head(h).reshape(-1, 11), tokens[:, 1:].reshape(-1))
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    return losses, runtime.get().reads - reads


def test_small_transformer_trains_on_the_device_like_on_the_cpu():
    cpu, _ = _train_transformer("cpu")
    dev, dev_reads = _train_transformer("wgpu")
    # the id range checks of embedding and cross_entropy read back one bool each per step ...
    assert dev_reads == 2 * 4, f"{dev_reads} readbacks during training"
    # ... and nothing else: without them, training reads nothing back
    _, unchecked_reads = _train_transformer("wgpu", check_indices=False)
    assert unchecked_reads == 0, f"{unchecked_reads} readbacks during training"
    cpu_l, dev_l = [x.item() for x in cpu], [x.item() for x in dev]
    assert cpu_l[-1] < cpu_l[0]
    np.testing.assert_allclose(dev_l, cpu_l, rtol=2e-4)
