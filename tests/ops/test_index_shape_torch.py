"""Index and shape ops against values and gradients recorded from PyTorch
(tests/fixtures/gen/gen_index_shape_torch.py): the cases a numpy reference cannot pin, such as
scatter_reduce's gradients with ties and zeros. cpu in float64; wgpu in float32 (forward and
backward on the device)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import ferrograd as fg

FIX = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "index_shape_torch.npz")

CASES = {
    "gather_repeats": (lambda a, i: fg.gather(a, 1, i), (0,)),
    "scatter_add_repeats": (lambda a, i, s: fg.scatter_add(a, 0, i, s), (0, 2)),
    "scatter_value": (lambda a, i: fg.scatter(a, 1, i, -3.0), (0,)),
    "index_fill_repeats": (lambda a, i, v: fg.index_fill(a, 1, i, v), (0, 2)),
    "masked_fill_value": (lambda a, m, v: fg.masked_fill(a, m, v), (0, 2)),
    "index_put_accumulate": (lambda a, i, j, v: a.index_put((i, j), v, accumulate=True), (0, 3)),
    "index_add_alpha": (lambda a, i, s: fg.index_add(a, 0, i, s, alpha=2.5), (0, 2)),
    "masked_scatter": (lambda a, m, s: fg.masked_scatter(a, m, s), (0, 2)),
    "take_along_dim": (lambda a, i: fg.take_along_dim(a, i, dim=1), (0,)),
    "diag_embed": (lambda a: fg.diag_embed(a, -1, 2, 0), (0,)),
    "diagonal": (lambda a: fg.diagonal(a, 1, -1, 0), (0,)),
    "triu_batched": (lambda a: fg.triu(a, -1), (0,)),
    "roll": (lambda a: fg.roll(a, (2, -1), (1, 0)), (0,)),
    "repeat_interleave": (lambda a, r: fg.repeat_interleave(a, r, dim=1), (0,)),
    "tensor_split": (lambda a: fg.tensor_split(a, (1, 5, 3), dim=1), (0,)),
    "chunk": (lambda a: fg.chunk(a, 4, dim=0), (0,)),
    "meshgrid_xy": (lambda a, b, c: fg.meshgrid(a, b, c, indexing="xy"), (0, 1, 2)),
    "repeat": (lambda a: a.repeat(2, 1, 3), (0,)),
}
for _r in ("sum", "prod", "mean", "amax", "amin"):
    for _k in (True, False):
        CASES[f"scatter_reduce_{_r}_{int(_k)}"] = (
            lambda a, i, s, r=_r, k=_k: fg.scatter_reduce(a, 0, i, s, r, include_self=k), (0, 2))
for _k in (True, False):
    CASES[f"scatter_reduce_int_mean_{int(_k)}"] = (
        lambda a, i, s, k=_k: fg.scatter_reduce(a, 0, i, s, "mean", include_self=k), ())


def _inputs(name):
    out, i = [], 0
    while f"{name}/in{i}" in FIX:
        out.append(FIX[f"{name}/in{i}"])
        i += 1
    return out


def _run(name, device, dtype):
    fn, grads = CASES[name]
    arrays = _inputs(name)
    ts = []
    for i, a in enumerate(arrays):
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        t = fg.tensor(a, device=device)
        if i in grads:
            t.requires_grad_()
        ts.append(t)
    out = fn(*ts)
    outs = out if isinstance(out, tuple) else (out,)
    total = None
    for j, o in enumerate(outs):
        if f"{name}/w{j}" in FIX:
            term = (o * fg.tensor(FIX[f"{name}/w{j}"].astype(dtype), device=device)).sum()
            total = term if total is None else total + term
    if total is not None:
        total.backward()
    return outs, ts


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_cpu_float64(name):
    _, grads = CASES[name]
    outs, ts = _run(name, "cpu", "float64")
    for j, o in enumerate(outs):
        want = FIX[f"{name}/out{j}"]
        got = o.detach().numpy()
        assert got.shape == want.shape and got.dtype.kind == want.dtype.kind, (name, j, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=f"{name} output {j}")
    for i in grads:
        np.testing.assert_allclose(ts[i].grad.numpy(), FIX[f"{name}/grad{i}"], rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name} gradient of input {i}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_wgpu_float32(name):
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    _, grads = CASES[name]
    outs, ts = _run(name, "wgpu", "float32")
    for j, o in enumerate(outs):
        assert o.device == "wgpu"
        want = FIX[f"{name}/out{j}"]
        np.testing.assert_allclose(o.detach().cpu().numpy(), want, rtol=1e-5, atol=1e-5, err_msg=f"{name} output {j}")
    for i in grads:
        assert ts[i].grad.device == "wgpu"
        np.testing.assert_allclose(ts[i].grad.cpu().numpy(), FIX[f"{name}/grad{i}"], rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} gradient of input {i} on wgpu")
