"""Creation and dtype rules the op table cannot express: fg.tensor's inference from tensors and
numpy values inside lists, memory sharing of as_tensor/asarray/from_numpy, out=, the default
dtype, finfo/iinfo, fg.Size, and conversions (to, type, type_as, half). The functions are taken
from ops/creation_ops.py and ops/dtype_ops.py (fg.* re-exports them once tensor.py's go)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import typeinfo
from ferrograd.ops import creation_ops as C
from ferrograd.ops import dtype_ops as D
from ferrograd.size import Size


@pytest.fixture
def default_float64():
    typeinfo.set_default_dtype(fg.float64)
    yield
    typeinfo.set_default_dtype(fg.float32)


def _wgpu_ready():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


# ---- fg.tensor --------------------------------------------------------------------------------
@pytest.mark.parametrize("data, dtype, shape", [
    (3.5, np.float32, ()),
    (True, np.bool_, ()),
    ([[True, False]], np.bool_, (1, 2)),
    ([1, True], np.int64, (2,)),
    ([C.tensor(1.0), 2.5], np.float32, (2,)),  # 0-d tensors inside lists act as scalars
    ([C.tensor(1.0, dtype=fg.float64), C.tensor(2)], np.float64, (2,)),  # their dtypes count
    ([C.tensor(1, dtype=fg.int32), C.tensor(2)], np.int64, (2,)),
    ([C.tensor([1.0]), C.tensor([2.0])], np.float32, (2,)),  # one-element tensors too
    ([[C.tensor(1.0), 2], [3, 4]], np.float32, (2, 2)),
    ([np.float64(1.0)], np.float64, (1,)),
    ([np.int32(1)], np.int32, (1,)),
    ([np.array([1.0, 2.0]), np.array([3.0, 4.0])], np.float64, (2, 2)),
    (np.float32(2), np.float32, ()),
    (np.ones((2, 2), np.float64), np.float64, (2, 2)),
    (np.ones(3, np.int32), np.int32, (3,)),
    ((1.0, 2.0), np.float32, (2,)),
])
def test_tensor_infers_like_torch(data, dtype, shape):
    t = C.tensor(data)
    assert t.dtype == dtype and tuple(t.shape) == shape


def test_tensor_of_a_tensor_is_a_detached_copy():
    a = C.tensor([1.0, 2.0], requires_grad=True)
    b = C.tensor(a)
    assert not b.requires_grad and b.dtype == np.float32
    b._data[0] = 5
    assert a.tolist() == [1.0, 2.0]
    assert C.tensor(a, dtype=fg.int64).dtype == np.int64
    assert C.tensor([1.5], requires_grad=True).requires_grad


def test_tensor_errors():
    with pytest.raises(ValueError, match="one-element"):
        C.tensor([C.tensor([1.0, 2.0]), C.tensor([3.0, 4.0])])
    with pytest.raises(ValueError, match="rectangular"):
        C.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="str"):
        C.tensor("abc")
    with pytest.raises(TypeError, match="requires_grad|floating"):
        C.tensor([1, 2], requires_grad=True)


def test_tensor_on_wgpu():
    _wgpu_ready()
    t = C.tensor([[1.5, 2.0]], device="wgpu")
    assert t.device == "wgpu" and t.dtype == np.float32
    u = C.tensor(t)  # stays on the device
    assert u.device == "wgpu" and u.tolist() == [[1.5, 2.0]]
    assert C.tensor(t, device="cpu").device == "cpu"
    with pytest.raises(TypeError, match="float64"):
        C.tensor(np.ones(2), device="wgpu")
    z = C.zeros(2, 3, device="wgpu")
    assert z.device == "wgpu" and z.numpy().sum() == 0
    assert C.arange(5, device="wgpu").numpy().tolist() == [0, 1, 2, 3, 4]
    assert C.zeros(2).new_ones(3, device="wgpu").device == "wgpu"
    assert C.zeros(2, device="wgpu").new_zeros(3).device == "wgpu"


def test_default_dtype_governs_floats(default_float64):
    assert typeinfo.get_default_dtype() == np.float64
    assert C.tensor(3.5).dtype == np.float64
    assert C.tensor([1, 2]).dtype == np.int64
    assert C.zeros(2).dtype == np.float64
    assert C.arange(0.5, 2).dtype == np.float64
    assert C.full((2,), 1.5).dtype == np.float64
    assert C.linspace(0, 1, 3).dtype == np.float64
    from ferrograd.ops import random_ops as R

    assert R.rand(2).dtype == np.float64


def test_set_default_dtype_rejects_others():
    with pytest.raises(TypeError, match="float16"):
        typeinfo.set_default_dtype(np.float16)
    with pytest.raises(TypeError, match="floating-point"):
        typeinfo.set_default_dtype(fg.int64)
    assert typeinfo.get_default_dtype() == np.float32


# ---- sharing ------------------------------------------------------------------------------------
def test_as_tensor_shares_numpy_memory_when_it_can():
    a = np.zeros(3)
    t = C.as_tensor(a)
    a[0] = 7
    assert t.dtype == np.float64 and t.tolist()[0] == 7
    u = C.as_tensor(a, dtype=fg.float32)  # a cast copies
    a[1] = 8
    assert u.tolist()[1] == 0
    x = C.zeros(2)
    assert C.as_tensor(x) is x
    assert C.as_tensor([1, 2]).dtype == np.int64
    assert C.as_tensor(np.zeros(2, np.float16)).dtype == np.float32  # unsupported numpy dtypes are converted


def test_asarray_copy_rules():
    a = np.arange(3.0)
    t = C.asarray(a)
    a[0] = 9
    assert t.tolist()[0] == 9
    c = C.asarray(a, copy=True)
    a[1] = 9
    assert c.tolist()[1] == 1
    with pytest.raises(ValueError, match="copy=False"):
        C.asarray(a, dtype=fg.float32, copy=False)
    x = C.ones(2, requires_grad=True)
    assert C.asarray(x) is x
    y = C.asarray(x, dtype=fg.float64)
    assert y.dtype == np.float64 and y.requires_grad  # a differentiable cast
    assert C.asarray([1.5, 2]).dtype == np.float32
    assert C.asarray(3).dtype == np.int64


def test_from_numpy():
    a = np.zeros((2, 2), np.int32)
    t = C.from_numpy(a)
    a[0, 0] = 4
    assert t.tolist()[0][0] == 4
    with pytest.raises(TypeError, match="float16"):
        C.from_numpy(np.zeros(2, np.float16))
    with pytest.raises(TypeError, match="from_numpy"):
        C.from_numpy([1.0])


# ---- sizes, out=, ranges --------------------------------------------------------------------------
def test_size_forms():
    for t in (C.zeros(2, 3), C.zeros((2, 3)), C.zeros([2, 3]), C.zeros(Size([2, 3])), C.zeros(size=(2, 3)),
              C.zeros(np.int64(2), 3), C.zeros(C.tensor(2), 3)):
        assert tuple(t.shape) == (2, 3)
    assert C.zeros().shape == () and C.zeros([]).shape == ()
    with pytest.raises(TypeError, match="zeros"):
        C.zeros((2, 3), 4)
    with pytest.raises(TypeError, match="zeros"):
        C.zeros(2, size=(3,))
    # layout / pin_memory / memory_format are accepted for torch code
    assert C.ones(2, layout="strided", pin_memory=False).shape == (2,)


def test_out_argument():
    out = C.empty(2, 3)
    assert C.zeros(2, 3, out=out) is out and out.numpy().sum() == 0
    r = C.arange(4, out=C.zeros(1, dtype=fg.int64))  # resized
    assert r.tolist() == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="out"):
        C.ones(2, out=np.zeros(2))


@pytest.mark.parametrize("args, dtype", [
    ((5,), np.int64), ((1, 2.5), np.float32), ((0, 1, 0.1), np.float32), ((C.tensor(3),), np.int64),
    ((True,), np.int64), ((0.0, 3.0), np.float32),
])
def test_arange_dtype_inference(args, dtype):
    assert C.arange(*args).dtype == dtype


def test_arange_length_and_int_dtype():
    assert C.arange(0, 1, 0.1).shape == (10,)  # ceil((end - start) / step)
    assert C.arange(-1.0, 1.0, 0.3).shape == (7,)
    assert C.arange(0, 5.5, 1.5, dtype=fg.int64).tolist() == [0, 1, 2, 3]  # torch truncates start and step
    assert C.arange(10, 0, -3).tolist() == [10, 7, 4, 1]
    assert C.arange(3, 3).shape == (0,)


def test_linspace_and_logspace():
    np.testing.assert_array_equal(C.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert C.linspace(0, 10, 5, dtype=fg.int64).tolist() == [0, 2, 5, 7, 10]
    assert C.linspace(0, 10, 4, dtype=fg.int64).tolist() == [0, 3, 6, 10]
    assert C.linspace(C.tensor(0.0), C.tensor(1.0), 3).tolist() == [0, 0.5, 1]
    assert C.linspace(2, 3, 1).tolist() == [2]
    np.testing.assert_allclose(C.logspace(0, 2, 3, base=2).numpy(), [1, 2, 4])


def test_full_and_new_methods_follow_torchs_dtypes():
    assert C.full((2,), 7).dtype == np.int64
    assert C.full((2,), True).dtype == np.bool_
    assert C.full((2,), 1.5, dtype=fg.int64).tolist() == [1, 1]
    x = C.zeros(2, dtype=fg.float64)
    assert x.new_zeros(3).dtype == np.float64 and x.new_ones((2, 2)).shape == (2, 2)
    assert x.new_tensor([1, 2]).dtype == np.float64
    assert x.new_full((2,), 1).dtype == np.float64
    assert x.new_zeros(2, dtype=fg.int64).dtype == np.int64
    assert x.new_empty(2, 3).shape == (2, 3)
    assert C.full_like(C.zeros(3, dtype=fg.int64), 2.7).tolist() == [2, 2, 2]
    assert not C.zeros_like(C.ones(2, requires_grad=True)).requires_grad
    assert C.ones_like(C.ones(2), requires_grad=True).requires_grad


# ---- conversions ------------------------------------------------------------------------------------
def test_type_and_type_as():
    x = C.zeros(2)
    assert D.type_(x) == "torch.FloatTensor"
    assert D.type_(C.zeros(2, dtype=fg.int64)) == "torch.LongTensor"
    assert D.type_(x, fg.int64).dtype == np.int64
    assert D.type_(x, "torch.DoubleTensor").dtype == np.float64
    assert D.type_(x, fg.float32) is x
    with pytest.raises(TypeError, match="float16"):
        D.type_(x, "torch.HalfTensor")
    assert D.type_as(x, C.zeros(1, dtype=fg.int32)).dtype == np.int32


def test_to_forms():
    x = C.ones(2, requires_grad=True)
    assert D.to(x, fg.float32) is x and D.to(x, "cpu") is x
    y = D.to(x, C.zeros(1, dtype=fg.float64))
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1, 1]  # the gradient is cast back
    assert D.to(x, copy=True) is not x
    assert D.to(x, "cpu", fg.float64).dtype == np.float64
    assert D.to(x, dtype=fg.int64).dtype == np.int64


def test_to_wgpu_and_back():
    _wgpu_ready()
    x = C.ones(3, requires_grad=True)
    y = D.to(x, "wgpu")
    assert y.device == "wgpu"
    z = D.to(y, "cpu", fg.float64)  # read back first: float64 lives on the host
    assert z.device == "cpu" and z.dtype == np.float64
    z.sum().backward()
    assert x.grad.tolist() == [1, 1, 1]
    assert D.type_(y) == "torch.wgpu.FloatTensor"


def test_half_and_friends_raise():
    for name, what in (("half", "float16"), ("bfloat16", "bfloat16"), ("byte", "uint8")):
        with pytest.raises(TypeError, match=what):
            getattr(C.zeros(2), name)() if name in fg.Tensor.__dict__ else _op(name)(C.zeros(2))


def _op(name):
    from ferrograd.ops.registry import OPS

    return OPS[name].fn


def test_queries():
    assert _op("is_floating_point")(C.zeros(1)) is True
    assert _op("is_floating_point")(C.zeros(1, dtype=fg.int64)) is False
    assert _op("is_complex")(C.zeros(1)) is False
    assert D.element_size(C.zeros(1, dtype=fg.float64)) == 8
    assert D.element_size(C.zeros(1, dtype=fg.bool)) == 1
    assert D.numel(C.zeros(2, 3)) == 6
    assert D.is_tensor(C.zeros(1)) and not D.is_tensor([1])


# ---- finfo / iinfo / Size ------------------------------------------------------------------------------
def test_finfo_iinfo():
    f = typeinfo.finfo(fg.float32)
    assert f.bits == 32 and f.eps == float(np.finfo(np.float32).eps)
    assert f.max == float(np.finfo(np.float32).max) and f.min == -f.max
    assert f.tiny == f.smallest_normal == float(np.finfo(np.float32).tiny)
    assert f.resolution == 1e-6 and f.dtype == "float32"
    assert typeinfo.finfo().dtype == "float32"
    assert typeinfo.finfo(fg.float64).eps == np.finfo(np.float64).eps
    i = typeinfo.iinfo(fg.int64)
    assert i.bits == 64 and i.max == 2**63 - 1 and i.min == -(2**63)
    assert typeinfo.iinfo(fg.int32).max == 2**31 - 1
    with pytest.raises(TypeError, match="iinfo"):
        typeinfo.finfo(fg.int32)
    with pytest.raises(TypeError, match="finfo"):
        typeinfo.iinfo(fg.float32)
    with pytest.raises(TypeError, match="bool"):
        typeinfo.iinfo(fg.bool)


def test_size():
    s = Size([2, 3])
    assert s == (2, 3) and isinstance(s, tuple) and s.numel() == 6
    assert isinstance(s[0:1], Size) and s[1] == 3
    assert isinstance(s + (4,), Size) and s + (4,) == (2, 3, 4)
    assert isinstance((1,) + s, Size)
    assert repr(s) == "ferrograd.Size([2, 3])"
    assert pickle.loads(pickle.dumps(s)) == s and isinstance(pickle.loads(pickle.dumps(s)), Size)
    assert Size([np.int64(2)]) == (2,)
    assert Size().numel() == 1
    with pytest.raises(TypeError, match="Size"):
        Size([2.5])
