"""Module registration, traversal, modes, state dicts and containers behave like PyTorch's."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        self.head = nn.Linear(4, 2, bias=False)
        self.register_buffer("count", fg.zeros(1))
        self.register_buffer("scratch", fg.zeros(2), persistent=False)
        self.scale = 2.0  # a plain attribute, not state

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_registration_and_traversal_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["body.0.weight", "body.0.bias", "head.weight"]
    assert [n for n, _ in net.named_buffers()] == ["count", "scratch"]
    # PyTorch's order: a module's own parameters, then its buffers, then each child's.
    assert list(net.state_dict()) == ["count", "body.0.weight", "body.0.bias", "head.weight"]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Sequential", "Linear", "ReLU", "Linear"]
    assert [n for n, _ in net.named_children()] == ["body", "head"]
    assert net.head.bias is None and "head.bias" not in net.state_dict()


def test_state_dict_round_trip_and_strictness():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(b.head.weight._data, a.head.weight._data)
    state = a.state_dict()
    state["extra"] = fg.zeros(1)
    del state["head.weight"]
    with pytest.raises(ValueError, match=r"missing keys \['head.weight'\].*unexpected keys \['extra'\]"):
        b.load_state_dict(state)
    missing, unexpected = b.load_state_dict(state, strict=False)
    assert missing == ["head.weight"] and unexpected == ["extra"]


def test_shape_mismatch_names_the_key_and_leaves_the_model_untouched():
    net = Net()
    before = net.body[0].weight._data.copy()
    state = {k: np.full(v.shape, 7.0, np.float32) for k, v in net.state_dict().items()}
    state["head.weight"] = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match=r"'head.weight' has shape \(3, 3\).*\(2, 4\)"):
        net.load_state_dict(state)
    np.testing.assert_array_equal(net.body[0].weight._data, before)


def test_train_eval_requires_grad_and_zero_grad():
    net = Net()
    assert net.training and net.body[1].training
    net.eval()
    assert not net.training and not net.body[0].training
    net.train()
    net.body.requires_grad_(False)
    net(fg.randn(5, 3)).sum().backward()
    assert net.body[0].weight.grad is None and net.head.weight.grad is not None
    net.zero_grad()
    assert net.head.weight.grad is None


def test_apply_to_and_repr():
    net = Net()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 2
    net.double()
    assert net.head.weight.dtype == np.float64 and net(fg.randn(2, 3, dtype=fg.float64)).dtype == np.float64
    net.to("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        net.to("tpu")
    text = repr(net)
    assert "(body): Sequential(" in text and "(0): Linear(in_features=3, out_features=4, bias=True)" in text


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Identity())
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and len(seq[:2]) == 2
    seq[2] = nn.Linear(2, 5)
    assert seq(fg.randn(4, 2)).shape == (4, 5)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(ml.parameters())) == 6 and [n for n, _ in ml.named_parameters()][-1] == "2.bias"
    md = nn.ModuleDict({"enc": nn.Linear(2, 3)})
    md["dec"] = nn.Linear(3, 2)
    assert list(md.keys()) == ["enc", "dec"] and "dec" in md
    assert [n for n, _ in md.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]


def test_flatten_unflatten():
    x = fg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)


def test_linear_state_dict_matches_pytorch_layout_and_output():
    torch = pytest.importorskip("torch")
    lin = nn.Linear(5, 3)
    tlin = torch.nn.Linear(5, 3)
    assert {k: tuple(v.shape) for k, v in tlin.state_dict().items()} == {k: v.shape for k, v in lin.state_dict().items()}
    tlin.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in lin.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(lin(fg.from_numpy(x)).detach().numpy(), tlin(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
