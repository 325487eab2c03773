"""What the op table does not reach for the index and shape ops: which results are views, gradients
through every piece of a split, gradients of the non-"random" cases (every scatter_reduce mode,
include_self=False, ...), backward on wgpu, cpu indices for wgpu tensors, in-place forms, and
device errors."""

from __future__ import annotations

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.testing import gradcheck


def _wgpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


def _x(*shape, device="cpu", dtype=np.float64, seed=0, grad=False):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    t = fg.tensor(a, device=device)
    return t.requires_grad_() if grad else t


def _shares(a, b):
    if a.device == "cpu":
        return np.shares_memory(a._data, b._data)
    return a._data.storage is b._data.storage


VIEWS = {
    "narrow": lambda x: fg.narrow(x, 1, 1, 2),
    "select": lambda x: fg.select(x, 0, 1),
    "select_0d": lambda x: fg.select(fg.select(x, 0, 1), 0, 2),
    "unbind": lambda x: fg.unbind(x, 1)[2],
    "split": lambda x: fg.split(x, 2, 1)[1],
    "chunk": lambda x: fg.chunk(x, 2, 0)[1],
    "tensor_split": lambda x: fg.tensor_split(x, 2, 1)[0],
    "diagonal": lambda x: fg.diagonal(x, 1),
    "movedim": lambda x: fg.movedim(x, 0, 1),
    "swapaxes": lambda x: fg.swapaxes(x, 0, 1),
    "adjoint": lambda x: fg.adjoint(x),
    "broadcast_to": lambda x: fg.broadcast_to(x, (2, 3, 4)),
    "atleast_3d": lambda x: fg.atleast_3d(x),
}
COPIES = {
    "flip": lambda x: fg.flip(x, (0,)),
    "flip_no_dims": lambda x: fg.flip(x, ()),
    "roll": lambda x: fg.roll(x, 0),
    "repeat": lambda x: x.repeat(1, 1),
    "diag": lambda x: fg.diag(x),
    "tril": lambda x: fg.tril(x),
    "gather": lambda x: fg.gather(x, 0, fg.zeros(1, 4, dtype=fg.int64, device=x.device)),
}


@pytest.mark.parametrize("device", ["cpu", "wgpu"])
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_storage_with_the_input(name, device):
    if device == "wgpu":
        _wgpu()
    x = _x(3, 4, device=device, dtype=np.float32)
    assert _shares(VIEWS[name](x), x), f"{name} should be a view, as in torch"


@pytest.mark.parametrize("device", ["cpu", "wgpu"])
@pytest.mark.parametrize("name", sorted(COPIES))
def test_copies_do_not_share_storage(name, device):
    if device == "wgpu":
        _wgpu()
    x = _x(3, 4, device=device, dtype=np.float32)
    assert not _shares(COPIES[name](x), x), f"{name} returns a new tensor in torch"


def test_a_write_through_a_diagonal_view_reaches_the_input():
    x = fg.zeros(3, 3)
    fg.diagonal(x).fill_(2.0)
    np.testing.assert_array_equal(x.numpy(), 2 * np.eye(3, dtype=np.float32))


SPLITS = {
    "split": lambda x: fg.split(x, 2, 1),
    "split_sizes": lambda x: fg.split(x, [1, 3, 1], 1),
    "chunk": lambda x: fg.chunk(x, 3, 1),
    "tensor_split": lambda x: fg.tensor_split(x, [1, -1], 1),
    "unbind": lambda x: fg.unbind(x, 1),
}


@pytest.mark.parametrize("device", ["cpu", "wgpu"])
@pytest.mark.parametrize("name", sorted(SPLITS))
def test_every_piece_of_a_split_carries_its_gradient(name, device):
    if device == "wgpu":
        _wgpu()
    x = _x(3, 5, device=device, dtype=np.float32, grad=True)
    pieces = SPLITS[name](x)
    total = None
    for k, p in enumerate(pieces):
        term = (p * (k + 1)).sum()
        total = term if total is None else total + term
    total.backward()
    want = np.concatenate([np.full(tuple(p.shape), k + 1.0) for k, p in enumerate(pieces)], axis=1) \
        if name != "unbind" else np.tile(np.arange(1.0, 6.0), (3, 1))
    np.testing.assert_array_equal(x.grad.cpu().numpy(), want)


def _idx(a, device="cpu"):
    return fg.tensor(np.asarray(a, np.int64), device=device)


GRADS = {  # (fn, inputs) for gradcheck and gradgradcheck in float64
    **{f"scatter_reduce_{r}_{k}": (lambda a, s, r=r, k=k: fg.scatter_reduce(a, 1, _idx([[0, 2, 2, 0, 3], [1, 1, 1, 0, 0]]), s, r,
                                                                          include_self=k), ((2, 4), (2, 6)))
       for r in ("sum", "prod", "mean", "amax", "amin") for k in (True, False)},
    "scatter_value": (lambda a: fg.scatter(a, 0, _idx([[1, 0, 1]]), 2.0), ((2, 3),)),
    "scatter_reduce_add": (lambda a, s: fg.scatter(a, 0, _idx([[1, 0, 1], [1, 1, 0]]), s, reduce="add"), ((2, 3), (2, 3))),
    "scatter_reduce_multiply": (lambda a, s: fg.scatter(a, 0, _idx([[1, 0, 1], [1, 1, 0]]), s, reduce="multiply"), ((2, 3), (2, 3))),
    "scatter_smaller_src": (lambda a, s: fg.scatter_add(a, 0, _idx([[1, 0], [1, 1]]), s), ((2, 3), (3, 4))),
    "take_along_dim_flat": (lambda a: fg.take_along_dim(a, _idx([[0, -1], [5, 5]])), ((2, 3),)),
    "take": (lambda a: fg.take(a, _idx([[0, -1], [5, 5]])), ((2, 3),)),
    "index_put_broadcast": (lambda a, v: fg.index_put(a, (_idx([2, 0]),), v), ((3, 4), (4,))),
    "index_put_accumulate": (lambda a, v: fg.index_put(a, (_idx([2, 0, 2]), _idx([1, 1, 1])), v, accumulate=True), ((3, 4), (3,))),
    "index_copy": (lambda a, s: fg.index_copy(a, 1, _idx([3, 0]), s), ((3, 4), (3, 2))),
    "masked_fill_bigger_mask": (lambda a, v: fg.masked_fill(a, fg.tensor([[True], [False]]), v), ((3,), ())),
    "masked_select_broadcast": (lambda a: fg.masked_select(a, fg.tensor([[True, False, True], [False, True, True]])), ((3,),)),
    "diag_vector": (lambda a: fg.diag(a, -2), ((3,),)),
    "diag_embed": (lambda a: fg.diag_embed(a, 1, 0, -1), ((2, 3),)),
    "diagonal_3d": (lambda a: fg.diagonal(a, -1, 2, 1), ((2, 3, 4),)),
    "trace": (lambda a: fg.trace(a), ((3, 4),)),
    "tril_batched": (lambda a: fg.tril(a, 1), ((2, 3, 4),)),
    "roll_flat": (lambda a: fg.roll(a, 5), ((3, 4),)),
    "repeat_interleave_tensor": (lambda a: fg.repeat_interleave(a, _idx([1, 0, 2]), dim=0), ((3, 2),)),
    "tile_fewer": (lambda a: fg.tile(a, (2,)), ((2, 3),)),
    "meshgrid_xy": (lambda a, b: fg.meshgrid(a, b, indexing="xy")[0] * fg.meshgrid(a, b, indexing="xy")[1], ((2,), (3,))),
    "broadcast_tensors": (lambda a, b: fg.broadcast_tensors(a, b)[0] * fg.broadcast_tensors(a, b)[1], ((3, 1), (4,))),
    "column_stack": (lambda a, b: fg.column_stack([a, b]), ((3,), (3, 2))),
    "flip_two_dims": (lambda a: fg.flip(a, (0, -1)), ((2, 3, 2),)),
}


def _grad_inputs(shapes):
    rng = np.random.default_rng(3)
    return [fg.tensor(rng.uniform(0.5, 2.0, s) * rng.choice([-1, 1], s), dtype=fg.float64).requires_grad_() for s in shapes]


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradcheck(name):
    fn, shapes = GRADS[name]
    assert gradcheck(fn, _grad_inputs(shapes))


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradgradcheck(name):
    fn, shapes = GRADS[name]
    inputs = _grad_inputs(shapes)
    w = fg.tensor(np.random.default_rng(1).standard_normal(tuple(fn(*inputs).shape)))

    def grads(*ts):
        with fg.enable_grad():
            gs = fg.autograd.grad((fn(*ts) * w).sum(), list(ts), create_graph=True, allow_unused=True)
        return fg.cat([(g if g is not None else fg.zeros_like(t)).reshape(-1) for g, t in zip(gs, ts)])

    assert gradcheck(grads, inputs)


WGPU_BACKWARD = {
    "gather": lambda a: fg.gather(a, 1, _idx([[0, 0, 3], [1, 2, 1], [3, 3, 3]], a.device)),
    "gather_smaller": lambda a: fg.gather(a, 0, _idx([[2, 0], [2, 1]], a.device)),
    "scatter": lambda a: fg.scatter(a, 1, _idx([[1], [0], [3]], a.device), a[:, :1] * 2),
    **{f"scatter_reduce_{r}": (lambda a, r=r: fg.scatter_reduce(a, 0, _idx([[0, 2, 2, 1], [0, 0, 1, 1]], a.device), a[:2] + 1, r,
                                                               include_self=r != "mean"))
       for r in ("sum", "prod", "mean", "amax", "amin")},
    "index_select": lambda a: fg.index_select(a, 1, _idx([3, 3, 0], a.device)),
    "index_add": lambda a: fg.index_add(a, 0, _idx([2, 2], a.device), a[:2], alpha=3.0),
    "index_fill": lambda a: fg.index_fill(a, 1, _idx([1, 1], a.device), (a * a).sum()),
    "masked_fill": lambda a: fg.masked_fill(a, a > 0, a[0, 0]),
    "masked_select": lambda a: fg.masked_select(a, a > 0),
    "masked_scatter": lambda a: fg.masked_scatter(a, a > 0, a.flip((0,)) * 2),
    "take_along_dim": lambda a: fg.take_along_dim(a, _idx([[1, -1]], a.device), 1),
    "diag_embed": lambda a: fg.diag_embed(a, -1),
    "diagonal": lambda a: fg.diagonal(a, 1) * 3,
    "triu": lambda a: fg.triu(a, 1),
    "flip": lambda a: fg.flip(a, (0, 1)),
    "roll": lambda a: fg.roll(a, (1, -2), (0, 1)),
    "repeat": lambda a: a.repeat(2, 1, 2),
    "repeat_interleave": lambda a: fg.repeat_interleave(a, 2, dim=1),
    "movedim": lambda a: fg.movedim(a.unsqueeze(0), 0, -1),
}


@pytest.mark.parametrize("name", sorted(WGPU_BACKWARD))
def test_backward_on_wgpu_matches_cpu(name):
    _wgpu()
    fn = WGPU_BACKWARD[name]
    grads, outs = [], []
    for device in ("cpu", "wgpu"):
        x = _x(3, 4, device=device, dtype=np.float32, seed=5, grad=True)
        out = fn(x)
        w = fg.tensor(np.random.default_rng(2).standard_normal(tuple(out.shape)).astype(np.float32), device=device)
        (out * w).sum().backward()
        assert out.device == device and x.grad.device == device
        outs.append(out.detach().cpu().numpy())
        grads.append(x.grad.cpu().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-5)


CPU_INDEX_ON_WGPU = {
    "gather": lambda a, i: fg.gather(a, 1, i),
    "scatter_add": lambda a, i: fg.scatter_add(a, 1, i, a[:, :2]),
    "scatter_reduce": lambda a, i: fg.scatter_reduce(a, 1, i, a[:, :2], "amax"),
    "index_select": lambda a, i: fg.index_select(a, 1, i[0]),
    "index_put": lambda a, i: fg.index_put(a, (i[:, 0],), a[0, 0]),
    "take": lambda a, i: fg.take(a, i),
}


@pytest.mark.parametrize("name", sorted(CPU_INDEX_ON_WGPU))
def test_cpu_index_tensors_index_wgpu_tensors(name):
    _wgpu()
    idx = _idx([[1, 3], [0, 0], [2, 1]])  # on the cpu
    want = CPU_INDEX_ON_WGPU[name](_x(3, 4, dtype=np.float32), idx).numpy()
    got = CPU_INDEX_ON_WGPU[name](_x(3, 4, device="wgpu", dtype=np.float32), idx)
    assert got.device == "wgpu"
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-6)


def test_a_wgpu_index_for_a_cpu_tensor_is_refused():
    _wgpu()
    with pytest.raises(ValueError, match="gather: index is on wgpu"):
        fg.gather(_x(2, 2), 0, _idx([[0, 1]], "wgpu"))
    with pytest.raises(ValueError, match="index_put"):
        fg.index_put(_x(2, 2), (_idx([0], "wgpu"),), fg.tensor(1.0, dtype=fg.float64))


def test_masked_fill_value_on_another_device_is_refused():
    _wgpu()
    with pytest.raises(ValueError, match="masked_fill: value is on cpu"):
        fg.masked_fill(_x(2, device="wgpu", dtype=np.float32), fg.tensor([True, False], device="wgpu"), fg.tensor(1.0))


@pytest.mark.parametrize("device", ["cpu", "wgpu"])
def test_nonzero_and_where_stay_on_the_device(device):
    if device == "wgpu":
        _wgpu()
    x = fg.tensor([[0.0, 1.5], [2.0, 0.0]], device=device)
    nz = fg.nonzero(x)
    assert nz.device == device and nz.dtype == fg.int64
    np.testing.assert_array_equal(nz.cpu().numpy(), [[0, 1], [1, 0]])
    rows, cols = fg.where(x > 0)
    assert rows.device == device
    np.testing.assert_array_equal(rows.cpu().numpy(), [0, 1])
    np.testing.assert_array_equal(cols.cpu().numpy(), [1, 0])
    np.testing.assert_array_equal(fg.where(x > 0, x, -1.0).cpu().numpy(), [[-1.0, 1.5], [2.0, -1.0]])


def test_tril_indices_on_wgpu():
    _wgpu()
    t = fg.tril_indices(3, 4, 1, device="wgpu")
    assert t.device == "wgpu" and t.dtype == fg.int64
    np.testing.assert_array_equal(t.cpu().numpy(), np.stack(np.tril_indices(3, 1, 4)))


@pytest.mark.parametrize("device", ["cpu", "wgpu"])
def test_repeat_interleave_with_counts_on_the_device(device):
    if device == "wgpu":
        _wgpu()
    counts = fg.tensor([2, 0, 1], device=device)
    np.testing.assert_array_equal(fg.repeat_interleave(counts).cpu().numpy(), [0, 0, 2])
    x = fg.tensor([1.0, 2.0, 3.0], device=device)
    np.testing.assert_array_equal(fg.repeat_interleave(x, counts).cpu().numpy(), [1.0, 1.0, 3.0])
    with pytest.raises(ValueError, match="output_size"):
        fg.repeat_interleave(x, counts, output_size=4)


def test_in_place_forms_write_into_the_tensor_and_track_the_gradient():
    x = fg.zeros(3, 4)
    out = x.scatter_(1, _idx([[1], [0], [3]]), 2.0)
    assert out is x and x.numpy()[0, 1] == 2.0 and x.numpy()[2, 3] == 2.0
    x.masked_fill_(x == 0, -1.0)
    assert (x.numpy() != 0).all()
    x.index_fill_(0, _idx([1]), 5.0)
    np.testing.assert_array_equal(x.numpy()[1], 5.0)
    x.tril_()
    assert x.numpy()[0, 1] == 0.0

    leaf = fg.ones(2, 3, dtype=fg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.index_put_((_idx([0]),), fg.tensor(2.0, dtype=fg.float64))
    y = leaf * 2
    v = fg.tensor(3.0, dtype=fg.float64, requires_grad=True)
    y.index_put_((_idx([0]), _idx([2])), v)
    y.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [[2, 2, 0], [2, 2, 2]])
    assert v.grad.item() == 1.0


def test_scatter_reduce_on_integer_tensors_on_wgpu_matches_cpu():
    _wgpu()
    rng = np.random.default_rng(4)
    a, s = rng.integers(-50, 50, (4, 6)), rng.integers(-50, 50, (5, 6))
    i = rng.integers(0, 4, (5, 6))
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            want = fg.scatter_reduce(fg.tensor(a), 0, fg.tensor(i), fg.tensor(s), reduce, include_self=include_self)
            got = fg.scatter_reduce(fg.tensor(a, device="wgpu"), 0, fg.tensor(i, device="wgpu"), fg.tensor(s, device="wgpu"),
                                    reduce, include_self=include_self)
            np.testing.assert_array_equal(got.cpu().numpy(), want.numpy(), err_msg=f"{reduce} include_self={include_self}")


def test_where_with_one_of_input_and_other_is_a_type_error():
    with pytest.raises(TypeError, match="where"):
        fg.where(fg.tensor([True]), fg.tensor([1.0]))


def test_atleast_and_meshgrid_take_a_list_or_varargs():
    a, b = fg.tensor([1.0, 2.0]), fg.tensor(3.0)
    assert [tuple(t.shape) for t in fg.atleast_2d([a, b])] == [(1, 2), (1, 1)]
    assert [tuple(t.shape) for t in fg.atleast_2d(a, b)] == [(1, 2), (1, 1)]
    assert isinstance(fg.atleast_1d(b), fg.Tensor)
    assert [tuple(t.shape) for t in fg.meshgrid([a, fg.arange(3.0)])] == [(2, 3), (2, 3)]
    assert fg.row_stack([a, a]).shape == (2, 2)
    assert fg.moveaxis(fg.zeros(2, 3), 0, 1).shape == (3, 2)
