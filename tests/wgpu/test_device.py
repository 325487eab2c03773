"""The "wgpu" device from the user's side: creation with device=, .to / .cpu round trips,
readback, module.to keeping Parameter objects, and the errors for mixed devices and dtypes."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.wgpu import runtime
from ferrograd.wgpu.array import GpuArray


def test_device_names():
    assert fg.device("wgpu") == "wgpu"
    with pytest.raises(ValueError, match="unknown device 'cuda'"):
        fg.device("cuda")


@pytest.mark.parametrize("dtype", [fg.float32, fg.int32, fg.int64, fg.bool])
def test_tensor_round_trip_keeps_values_and_dtype(dtype):
    a = (np.arange(-7, 8) % 5 - 2).astype(dtype).reshape(3, 5)
    t = fg.tensor(a, device="wgpu")
    assert t.device == "wgpu" and isinstance(t._data, GpuArray) and t.dtype == dtype
    back = t.cpu()
    assert back.device == "cpu" and back.dtype == dtype
    np.testing.assert_array_equal(back.numpy(), a)
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.tolist() == a.tolist()
    assert fg.tensor(a).to("wgpu").to("cpu").tolist() == a.tolist()


def test_creation_functions_on_the_device():
    fg.manual_seed(0)
    r_dev = fg.randn(2, 3, device="wgpu")
    fg.manual_seed(0)
    r_cpu = fg.randn(2, 3)
    np.testing.assert_array_equal(r_dev.numpy(), r_cpu.numpy())  # one generator, drawn on the host
    for t, want in [(fg.zeros(2, 3, device="wgpu"), np.zeros((2, 3))), (fg.ones(4, device="wgpu"), np.ones(4)),
                    (fg.full((2, 2), 7.5, device="wgpu"), np.full((2, 2), 7.5)),
                    (fg.arange(5, device="wgpu"), np.arange(5)), (fg.empty(3, device="wgpu"), None),
                    (fg.rand(3, device="wgpu"), None), (fg.zeros_like(r_dev), np.zeros((2, 3)))]:
        assert t.device == "wgpu"
        if want is not None:
            np.testing.assert_array_equal(t.numpy(), want)
    assert fg.arange(5, device="wgpu").dtype == fg.int64
    assert fg.full((2,), 3, device="wgpu").dtype == fg.int64


def test_item_and_repr_read_back():
    t = fg.tensor([[2.5]], device="wgpu")
    assert t.item() == 2.5 and float(t) == 2.5
    assert "device='wgpu'" in repr(t)


def test_float64_is_refused_on_the_device():
    with pytest.raises(TypeError, match="float64 is not supported on the wgpu device"):
        fg.tensor(np.zeros(3), device="wgpu")
    with pytest.raises(TypeError, match="float64 is not supported on the wgpu device"):
        fg.zeros(3, dtype=fg.float64, device="wgpu")
    with pytest.raises(TypeError, match="float64 is not supported on the wgpu device"):
        fg.zeros(3, device="wgpu").double()
    with pytest.raises(TypeError, match="float64 is not supported on the wgpu device"):
        fg.zeros(3, dtype=fg.float64).to("wgpu")
    # Reading back and casting on the host works: the cast runs after the move.
    assert fg.ones(2, device="wgpu").to("cpu", fg.float64).dtype == fg.float64


def test_int64_lives_on_the_device_as_int32_with_a_range_check():
    ids = fg.tensor([0, 3, 2**31 - 1], device="wgpu")
    assert ids.dtype == fg.int64 and ids._data.stored_dtype == np.int32
    assert ids.tolist() == [0, 3, 2**31 - 1]
    with pytest.raises(OverflowError, match="int32 range"):
        fg.tensor([2**31], device="wgpu")


def test_mixing_devices_names_the_op_and_both_devices():
    a, b = fg.ones(3, device="wgpu"), fg.ones(3)
    with pytest.raises(ValueError, match=r"add.*wgpu and cpu"):
        a + b
    with pytest.raises(ValueError, match=r"lt.*cpu and wgpu"):
        b < a
    with pytest.raises(ValueError, match=r"Matmul.*cpu and wgpu"):
        fg.ones(2, 3) @ fg.ones(3, 2, device="wgpu")
    with pytest.raises(ValueError, match=r"Cat.*cpu and wgpu"):
        fg.cat([a, b])
    with pytest.raises(TypeError, match="cannot be converted to a numpy array implicitly"):
        np.asarray(a)


def test_to_is_differentiable_across_devices():
    x = fg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x.to("wgpu") * fg.tensor([2.0, 3.0, 4.0], device="wgpu")).sum()
    y.backward()
    assert x.grad.device == "cpu"
    assert x.grad.tolist() == [2.0, 3.0, 4.0]


def test_module_to_keeps_parameter_objects_and_moves_buffers():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    params = list(m.parameters())
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    m.to("wgpu")
    assert list(m.parameters()) == params and all(p.device == "wgpu" for p in params)
    assert all(b.device == "wgpu" for b in m.buffers())
    m.to("cpu")
    for k, v in m.state_dict().items():
        assert v.device == "cpu"
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_zero_grad_and_seeded_backward_on_the_device():
    w = fg.ones(2, 2, device="wgpu", requires_grad=True)
    (w * 3).backward(fg.full((2, 2), 2.0, device="wgpu"))
    assert w.grad.device == "wgpu" and w.grad.tolist() == [[6.0, 6.0], [6.0, 6.0]]
    opt = fg.optim.SGD([w], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match="gradient is on cpu, the output on wgpu"):
        (w * 3).backward(fg.ones(2, 2))
    (w * 1).backward(np.ones((2, 2), np.float32))  # host data is uploaded as the seed
    assert w.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_kernels_dispatch_by_array_kind():
    from ferrograd import _native
    from ferrograd.ops._util import kernels
    from ferrograd.wgpu import kernels as wk

    assert kernels(np.zeros(2)) is _native
    assert kernels(GpuArray.empty((2,))) is wk
    with pytest.raises(NotImplementedError, match="no_such_kernel is not implemented on the wgpu device yet"):
        kernels(GpuArray.empty((2,))).no_such_kernel
    assert not hasattr(wk, "no_such_kernel") and getattr(wk, "no_such_kernel", None) is None


def test_a_family_not_on_the_device_yet_says_so(monkeypatch):
    x = fg.randn(2, 3, 5, 5, device="wgpu")
    w = fg.randn(4, 3, 3, 3, device="wgpu")
    import ferrograd.wgpu.kernels as wk

    monkeypatch.delattr(wk, "conv2d_forward")  # as if the family had not been written yet
    with pytest.raises(NotImplementedError, match="conv2d_forward is not implemented on the wgpu device yet"):
        fg.nn.functional.conv2d(x, w)


def test_readback_is_counted():
    rt = runtime.get()
    t = fg.ones(3, device="wgpu") * 2
    before = rt.reads
    t.numpy()
    assert rt.reads == before + 1


def test_casts_on_the_device():
    t = fg.tensor([[-1.5, 0.0, 2.7]], device="wgpu")
    assert t.long().dtype == fg.int64 and t.long().tolist() == [[-1, 0, 2]]
    assert t.to(fg.int32).device == "wgpu"
    assert (t > 0).dtype == fg.bool and (t > 0).sum().item() == 1
    assert (t > 0).sum().dtype == fg.int64
    i = fg.tensor([3, 4], device="wgpu")
    assert (i / 2).dtype == fg.float32 and (i / 2).tolist() == [1.5, 2.0]
    assert (i * 2.5).dtype == fg.float32


def test_tensor_of_a_device_tensor_stays_on_the_device():
    t = fg.tensor([1.0, 2.0], device="wgpu")
    c = fg.tensor(t)
    assert c.device == "wgpu" and c._data.storage is not t._data.storage and c.tolist() == [1.0, 2.0]
    assert fg.tensor(t, device="cpu").device == "cpu"


def test_empty_tensors_on_the_device():
    e = fg.zeros(0, 3, device="wgpu", requires_grad=True)
    s = (e * 2).sum()
    assert s.item() == 0.0
    s.backward()
    assert e.grad.shape == (0, 3)
    assert fg.ones(2, 0, device="wgpu").sum(1).tolist() == [0.0, 0.0]


def test_parameters_and_tensors_from_device_arrays():
    a = GpuArray.from_numpy(np.float32([1.0, 2.0]))
    p = nn.Parameter(a)
    assert p.device == "wgpu" and p.requires_grad and p._data is a
    t = fg.tensor(a)
    assert t.device == "wgpu" and t._data is not a and t.tolist() == [1.0, 2.0]


def test_class_targets_and_ids_must_share_the_input_device():
    import ferrograd.nn.functional as F

    logits = fg.randn(3, 4)
    with pytest.raises(ValueError, match="cross_entropy: input is on cpu, target on wgpu"):
        F.cross_entropy(logits, fg.tensor([0, 1, 2], device="wgpu"))
    with pytest.raises(ValueError, match="nll_loss: input is on wgpu, target on cpu"):
        F.nll_loss(logits.to("wgpu"), fg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="embedding: input is on wgpu, weight on cpu"):
        F.embedding(fg.tensor([0, 1], device="wgpu"), fg.randn(3, 2))


def test_ops_call_kernels_only_through_the_dispatcher():
    import pathlib

    import ferrograd.ops as ops

    for path in pathlib.Path(ops.__file__).parent.glob("*.py"):
        if path.name == "_util.py":
            continue
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith(("#", "`")))
        assert "_native." not in code.replace("`_native.", ""), f"{path.name} calls _native directly"


def test_a_kernel_family_added_later_plugs_in_by_name(monkeypatch):
    import ferrograd.nn.functional as F
    import ferrograd.wgpu.kernels as wk

    calls = []

    def softmax_forward(x, log):  # a stand-in built from device array ops, same contract as _native
        calls.append(x.shape)
        z = x - x.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=-1, keepdims=True))
        return z - lse if log else np.exp(z - lse)

    def softmax_backward(y, g, log):
        if log:
            return g - np.exp(y) * g.sum(axis=-1, keepdims=True)
        return y * (g - (g * y).sum(axis=-1, keepdims=True))

    monkeypatch.setattr(wk, "softmax_forward", softmax_forward, raising=False)
    monkeypatch.setattr(wk, "softmax_backward", softmax_backward, raising=False)
    a = np.random.default_rng(0).standard_normal((3, 5, 4)).astype(np.float32)
    for log in (False, True):
        fn = F.log_softmax if log else F.softmax
        outs = {}
        for device in ("cpu", "wgpu"):
            x = fg.tensor(a, device=device, requires_grad=True)
            y = fn(x, dim=1)
            (y * fg.arange(4, device=device)).sum().backward()
            outs[device] = (y.detach().numpy(), x.grad.numpy())
        np.testing.assert_allclose(outs["wgpu"][0], outs["cpu"][0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(outs["wgpu"][1], outs["cpu"][1], rtol=1e-4, atol=1e-5)
    assert calls == [(3, 4, 5), (3, 4, 5)]  # dim 1 moved last, contiguous, as for _native
