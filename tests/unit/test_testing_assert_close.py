"""ferrograd.testing.assert_close against torch.testing.assert_close's verdicts and messages
(tests/fixtures/assert_close_torch.json, made by tests/fixtures/gen/gen_assert_close_torch.py),
and ferrograd.testing.make_tensor."""

import json
import pathlib

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.testing import assert_close, make_tensor

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "assert_close_torch.json"
CASES = json.loads(FIXTURE.read_text())


def decode(x):
    kind = x["t"]
    if kind in ("tensor", "ndarray"):
        arr = np.array(x["data"], dtype=x["dtype"]).reshape(x["shape"])
        return fg.tensor(arr, dtype=arr.dtype) if kind == "tensor" else arr
    if kind == "list":
        return [decode(i) for i in x["items"]]
    if kind == "tuple":
        return tuple(decode(i) for i in x["items"])
    if kind == "dict":
        return {k: decode(i) for k, i in x["items"].items()}
    return x["v"]


def torch_to_ferrograd(msg: str) -> str:
    """The same message with ferrograd's names where torch prints its own."""
    msg = msg.replace("<class 'torch.Tensor'>", "<class 'ferrograd.tensor.Tensor'>")
    return msg.replace("torch.Size", "ferrograd.Size").replace("torch.", "ferrograd.")


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_verdict_and_message_match_torch(case):
    actual, expected = decode(case["actual"]), decode(case["expected"])
    if case["ok"]:
        assert_close(actual, expected, **case["kwargs"])
        return
    with pytest.raises(Exception) as err:
        assert_close(actual, expected, **case["kwargs"])
    assert type(err.value).__name__ == case["error"]
    assert str(err.value) == torch_to_ferrograd(case["message"])


def test_msg_callable_gets_the_generated_message():
    with pytest.raises(AssertionError) as err:
        assert_close([fg.tensor([1.0])], [fg.tensor([2.0])], msg=lambda m: "PREFIX " + m)
    text = str(err.value)
    assert text.startswith("PREFIX Tensor-likes are not close!") and text.endswith("The failure occurred for item [0]")


def test_requires_grad_and_noncontiguous_tensors_compare_by_value():
    x = fg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert_close(x.T, fg.tensor([[1.0, 3.0], [2.0, 4.0]]))


def test_wgpu_tensor_against_cpu_tensor():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    a = fg.tensor([1.0, 2.0])
    with pytest.raises(AssertionError, match="The values for attribute 'device' do not match: cpu != wgpu"):
        assert_close(a, a.to("wgpu"))
    assert_close(a, a.to("wgpu"), check_device=False)
    assert_close(a.to("wgpu"), a.to("wgpu"))


# ---- make_tensor ---------------------------------------------------------------------------------
def test_make_tensor_ranges_and_dtypes():
    fg.manual_seed(0)
    f = make_tensor(200, 3, dtype=fg.float32, device="cpu")
    assert f.shape == (200, 3) and f.dtype == fg.float32
    assert -9 <= f.numpy().min() and f.numpy().max() < 9
    i = make_tensor((500,), dtype=fg.int64, device="cpu")
    assert i.dtype == fg.int64 and i.numpy().min() >= -9 and i.numpy().max() <= 9
    assert set(np.unique(i.numpy())) == set(range(-9, 10))  # high exclusive at 10
    b = make_tensor(100, dtype=fg.bool, device="cpu")
    assert b.dtype == fg.bool and set(np.unique(b.numpy())) == {False, True}
    g = make_tensor(2, 2, dtype=fg.float64, device="cpu", low=0.5, high=0.75, requires_grad=True)
    assert g.requires_grad and g.is_leaf and ((g.detach().numpy() >= 0.5) & (g.detach().numpy() < 0.75)).all()
    s = make_tensor(dtype=fg.float32, device="cpu")
    assert s.shape == ()
    ints = make_tensor(50, dtype=fg.int32, device="cpu", low=2.5, high=4)
    assert set(np.unique(ints.numpy())) == {3}


def test_make_tensor_noncontiguous_and_exclude_zero():
    n = make_tensor(3, 4, dtype=fg.float32, device="cpu", noncontiguous=True)
    assert n.shape == (3, 4) and not n.is_contiguous()
    z = make_tensor(1000, dtype=fg.int64, device="cpu", low=-1, high=2, exclude_zero=True)
    assert 0 not in z.numpy()


def test_make_tensor_is_reproducible():
    fg.manual_seed(5)
    a = make_tensor(4, dtype=fg.float32, device="cpu")
    fg.manual_seed(5)
    np.testing.assert_array_equal(a.numpy(), make_tensor(4, dtype=fg.float32, device="cpu").numpy())


def test_make_tensor_bad_arguments():
    with pytest.raises(ValueError, match="`low` must be less than `high`, but got 1 >= 0"):
        make_tensor(2, dtype=fg.float32, device="cpu", low=1, high=0)
    with pytest.raises(ValueError, match="`low` and `high` cannot be NaN"):
        make_tensor(2, dtype=fg.float32, device="cpu", low=float("nan"))
    with pytest.raises(ValueError, match="`low` must be less than `high`, but got 2 >= 2"):
        make_tensor(2, dtype=fg.int64, device="cpu", low=2, high=2)
    with pytest.raises(ValueError, match="`requires_grad=True` is not supported for boolean and integral dtypes"):
        make_tensor(2, dtype=fg.int64, device="cpu", requires_grad=True)
    with pytest.raises(TypeError, match="make_tensor: dtype"):
        make_tensor(2, dtype="complex64", device="cpu")
    with pytest.raises(TypeError, match="make_tensor: shape"):
        make_tensor(2.5, dtype=fg.float32, device="cpu")
