"""Issue 14.2, backward: NaN in, NaN out holds for gradients too. For each case one input element
is NaN; the NaN masks of the output and of every gradient equal PyTorch's
(tests/fixtures/gen/gen_nan_grads.py). A kernel that clamps, masks or skips NaN in its backward
gives a finite gradient where torch's is NaN (or the reverse) and fails here."""

import pathlib

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F

REF = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "nan_grads_torch.npz")
AR5 = lambda n: fg.arange(float(n), dtype=fg.float64)  # noqa: E731

CASES = {
    "linear": lambda x, w, b: F.linear(x, w, b),
    "conv2d": lambda x, w: F.conv2d(x, w, padding=1),
    "max_pool2d": lambda x: F.max_pool2d(x, 2),
    "avg_pool2d": lambda x: F.avg_pool2d(x, 2),
    "softmax": lambda x: F.softmax(x, -1) * AR5(5),
    "log_softmax": lambda x: F.log_softmax(x, -1) * AR5(5),
    "layer_norm": lambda x, w, b: F.layer_norm(x, (4,), w, b) * AR5(4),
    "gelu": F.gelu,
    "silu": F.silu,
    "relu": F.relu,
    "tanh": fg.tanh,
    "cross_entropy": lambda x: F.cross_entropy(x, fg.tensor([0, 1, 3]), reduction="none"),
    "mse_loss": lambda x, y: F.mse_loss(x, y, reduction="none"),
    "sdpa": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
    "sdpa_causal_nan_key": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
    "batch_norm_train": lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True) * AR5(3),
    "sum_mean_max": lambda x: fg.stack([x.sum(1), x.mean(1), x.amax(1)]),
    "matmul": lambda a, b: a @ b,
}


def _rnn(kind):
    def run(x, *params):
        m = getattr(fg.nn, kind)(2, 3, batch_first=True).double()
        for (name, _), v in zip(list(m.named_parameters()), params):
            m._parameters[name] = v  # the case's parameters: their gradients are the leaves we check
        return m(x)[0]
    return run


for _kind in ("LSTM", "GRU", "RNN"):
    CASES[_kind.lower()] = _rnn(_kind)


@pytest.mark.parametrize("name", sorted(CASES))
def test_nan_masks_of_output_and_gradients_match_torch(name):
    n = int(REF[f"{name}/n"])
    inputs = [fg.nn.Parameter(fg.tensor(REF[f"{name}/in{i}"])) for i in range(n)]
    out = CASES[name](*inputs)
    np.testing.assert_array_equal(np.isnan(out.detach().numpy()), REF[f"{name}/out_nan"], err_msg=f"{name}: output")
    out.backward(fg.tensor(REF[f"{name}/upstream"]))
    for i, t in enumerate(inputs):
        assert t.grad is not None, f"{name}: input {i} got no gradient"
        got = np.isnan(t.grad.numpy())
        np.testing.assert_array_equal(got, REF[f"{name}/grad{i}_nan"],
                                      err_msg=f"{name}: NaN positions of the gradient of input {i}")
