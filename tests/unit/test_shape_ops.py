"""reshape view flatten transpose permute unsqueeze squeeze expand cat stack: numpy + gradcheck."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.testing import gradcheck


def leaf(a):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


CASES = [
    ("reshape_tuple", (2, 3, 4), lambda t: t.reshape((4, 6)), lambda a: a.reshape(4, 6)),
    ("reshape_args", (2, 3, 4), lambda t: t.reshape(6, -1), lambda a: a.reshape(6, -1)),
    ("reshape_flat", (2, 3, 4), lambda t: t.reshape(-1), lambda a: a.reshape(-1)),
    ("reshape_scalar", (1, 1), lambda t: t.reshape(()), lambda a: a.reshape(())),
    ("fg.reshape", (2, 3, 4), lambda t: fg.reshape(t, (3, 8)), lambda a: a.reshape(3, 8)),
    ("view", (2, 3, 4), lambda t: t.view(4, 3, 2), lambda a: a.reshape(4, 3, 2)),
    ("view_tuple", (2, 3, 4), lambda t: t.view((-1, 4)), lambda a: a.reshape(-1, 4)),
    ("flatten", (2, 3, 4), lambda t: t.flatten(), lambda a: a.reshape(-1)),
    ("flatten_1", (2, 3, 4), lambda t: t.flatten(1), lambda a: a.reshape(2, 12)),
    ("flatten_0_1", (2, 3, 4), lambda t: t.flatten(0, 1), lambda a: a.reshape(6, 4)),
    ("flatten_neg", (2, 3, 4, 5), lambda t: t.flatten(-3, -2), lambda a: a.reshape(2, 12, 5)),
    ("transpose", (2, 3, 4), lambda t: t.transpose(0, 2), lambda a: a.swapaxes(0, 2)),
    ("transpose_neg", (2, 3, 4), lambda t: t.transpose(-1, -2), lambda a: a.swapaxes(-1, -2)),
    ("fg.transpose", (3, 4), lambda t: fg.transpose(t, 0, 1), lambda a: a.T),
    ("T", (3, 4), lambda t: t.T, lambda a: a.T),
    ("permute", (2, 3, 4), lambda t: t.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1)),
    ("permute_tuple", (2, 3, 4), lambda t: t.permute((1, 2, 0)), lambda a: a.transpose(1, 2, 0)),
    ("permute_neg", (2, 3, 4), lambda t: t.permute(-1, -3, -2), lambda a: a.transpose(2, 0, 1)),
    ("unsqueeze0", (3, 4), lambda t: t.unsqueeze(0), lambda a: a[None]),
    ("unsqueeze1", (3, 4), lambda t: t.unsqueeze(1), lambda a: a[:, None]),
    ("unsqueeze_neg", (3, 4), lambda t: t.unsqueeze(-1), lambda a: a[..., None]),
    ("unsqueeze_neg3", (3, 4), lambda t: t.unsqueeze(-3), lambda a: a[None]),
    ("squeeze", (1, 3, 1, 4), lambda t: t.squeeze(), lambda a: a.squeeze()),
    ("squeeze_dim", (1, 3, 1, 4), lambda t: t.squeeze(2), lambda a: a.squeeze(2)),
    ("squeeze_neg", (3, 4, 1), lambda t: t.squeeze(-1), lambda a: a.squeeze(-1)),
    ("squeeze_noop", (3, 4), lambda t: t.squeeze(0), lambda a: a),
    ("expand", (3, 1), lambda t: t.expand(3, 4), lambda a: np.broadcast_to(a, (3, 4))),
    ("expand_new_dims", (3, 1), lambda t: t.expand(2, 3, 5), lambda a: np.broadcast_to(a, (2, 3, 5))),
    ("expand_minus1", (1, 4), lambda t: t.expand((3, -1)), lambda a: np.broadcast_to(a, (3, 4))),
    ("expand_scalar", (), lambda t: t.expand(2, 2), lambda a: np.broadcast_to(a, (2, 2))),
    ("expand_as", (4,), lambda t: t.expand_as(fg.zeros(3, 4)), lambda a: np.broadcast_to(a, (3, 4))),
    ("chain", (2, 3, 4), lambda t: t.permute(1, 0, 2).reshape(3, 8).transpose(0, 1).unsqueeze(0),
     lambda a: a.transpose(1, 0, 2).reshape(3, 8).T[None]),
]


@pytest.mark.parametrize("shape, fn, ref", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_shape_op(shape, fn, ref, rng):
    a = rng.standard_normal(shape)
    out = fn(leaf(a))
    want = ref(a)
    assert out.shape == want.shape
    np.testing.assert_array_equal(out.detach().numpy(), want)
    assert gradcheck(fn, [leaf(a)])


def test_expand_gradient_sums_over_broadcast_dims():
    x = leaf([[1.0], [2.0]])
    x.expand(3, 2, 4).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[12.0], [12.0]])


def test_reshape_of_noncontiguous_input(rng):
    a = rng.standard_normal((3, 4))
    out = leaf(a).T.reshape(12)
    np.testing.assert_array_equal(out.detach().numpy(), a.T.reshape(12))
    assert gradcheck(lambda t: t.T.reshape(2, 6) * fg.tensor(np.arange(12.0).reshape(2, 6)), [leaf(a)])


# ---- cat / stack ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shapes, dim",
    [
        ([(2, 3), (4, 3)], 0),
        ([(2, 3), (2, 1), (2, 5)], 1),
        ([(2, 3), (2, 2)], -1),
        ([(2, 3, 4), (2, 1, 4), (2, 2, 4)], -2),
        ([(3,), (0,), (2,)], 0),
        ([(2, 2)], 0),
    ],
)
def test_cat(shapes, dim, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    out = fg.cat([leaf(a) for a in arrays], dim=dim)
    np.testing.assert_array_equal(out.detach().numpy(), np.concatenate(arrays, axis=dim))
    assert gradcheck(lambda *ts: fg.cat(ts, dim=dim), [leaf(a) for a in arrays])


@pytest.mark.parametrize("shape, dim", [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1), ((2, 3), -3), ((), 0)])
def test_stack(shape, dim, rng):
    arrays = [rng.standard_normal(shape) for _ in range(3)]
    out = fg.stack([leaf(a) for a in arrays], dim=dim)
    np.testing.assert_array_equal(out.detach().numpy(), np.stack(arrays, axis=dim))
    assert gradcheck(lambda *ts: fg.stack(ts, dim=dim), [leaf(a) for a in arrays])


def test_cat_stack_mixed_requires_grad_and_dtypes():
    x = leaf([1.0, 2.0])
    c = fg.tensor([3.0, 4.0], dtype=fg.float64)
    out = fg.cat((x, c))
    assert out.requires_grad
    (out * fg.tensor([1.0, 2.0, 3.0, 4.0], dtype=fg.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])
    assert c.grad is None
    mixed = fg.stack([fg.tensor([1, 2]), fg.tensor([0.5, 1.5])])
    assert mixed.dtype == np.float32
    np.testing.assert_array_equal(mixed.numpy(), [[1.0, 2.0], [0.5, 1.5]])
    assert fg.cat([fg.tensor([1]), fg.tensor([2, 3])]).tolist() == [1, 2, 3]
