"""ferrograd.models.gcn: the GCN against a plain-torch reference written in torch_geometric's
message-passing form (tests/fixtures/gen/models/gen_small_families.py): torch_geometric's names,
logits with and without edge weights, loss and gradients; dense adj=, heads and groups, training
on a two-community graph, wgpu, bad input."""

import json
import pathlib

import numpy as np
import pytest
from safetensors.numpy import load_file

import ferrograd as fg
from ferrograd.models import create_model, parameter_groups
from ferrograd.models.gcn import GCN
from ferrograd.nn import functional as F

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
REF = np.load(FIX / "gcn_parity.npz")
NAMES = json.loads((FIX / "gcn_names.json").read_text())
TOL = dict(rtol=1e-5, atol=1e-5)


def small():
    model = GCN(**json.loads(str(REF["small:kwargs"])))
    model.load_state_dict(load_file(FIX / "gcn_small.safetensors"))
    return model.eval(), fg.tensor(REF["small:x"]), fg.tensor(REF["small:edge_index"])


@pytest.mark.parametrize("row", NAMES, ids=[str(i) for i in range(len(NAMES))])
def test_state_dict_names_and_shapes(row):
    model = create_model(row["model"], **row["kwargs"])
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == row["state"]


def test_parity_with_the_torch_geometric_form():
    model, x, ei = small()
    logits = model(x, ei)
    np.testing.assert_allclose(logits.detach().numpy(), REF["small:logits"], **TOL)
    with fg.no_grad():
        weighted = model(x, ei, fg.tensor(REF["small:edge_weight"]))
    np.testing.assert_allclose(weighted.numpy(), REF["small:logits_weighted"], **TOL)
    loss = F.cross_entropy(logits, fg.tensor(REF["small:y"]))
    np.testing.assert_allclose(loss.item(), REF["small:loss"], **TOL)
    loss.backward()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"small:grad:{n}"], err_msg=n, **TOL)


def test_dense_adjacency_equals_edge_index():
    model, x, ei = small()
    e = ei.numpy()
    adj = np.zeros((x.shape[0], x.shape[0]), np.float32)
    adj[e[1], e[0]] = 1
    with fg.no_grad():
        np.testing.assert_allclose(model(x, adj=fg.tensor(adj)).numpy(), REF["small:logits"], **TOL)


def test_create_model_loads_the_reference_safetensors():
    kw = json.loads(str(REF["small:kwargs"]))
    model = create_model("gcn", pretrained=str(FIX / "gcn_small.safetensors"), **kw).eval()
    with fg.no_grad():
        out = model(fg.tensor(REF["small:x"]), fg.tensor(REF["small:edge_index"]))
    np.testing.assert_allclose(out.numpy(), REF["small:logits"], **TOL)


def test_dropout_only_in_training_and_between_layers():
    model, x, ei = small()
    with fg.no_grad():
        a, b = model(x, ei).numpy(), model(x, ei).numpy()
        np.testing.assert_array_equal(a, b)
        model.train()
        fg.manual_seed(0)
        c = model(x, ei).numpy()
    assert not np.allclose(a, c)
    model.dropout = 0.0
    with fg.no_grad():
        np.testing.assert_allclose(model(x, ei).numpy(), a, **TOL)


def test_layers_features_head_and_groups():
    model = create_model("gcn", in_channels=6, hidden_channels=[10, 8], num_classes=4)
    assert len(model.convs) == 3 and model.num_features == 8
    assert tuple(model.convs[0].lin.weight.shape) == (10, 6)
    assert len(create_model("gcn", in_channels=6, hidden_channels=5, num_layers=4).convs) == 4
    # PyG's init: Glorot-uniform weights, zero biases
    conv = create_model("gcn", in_channels=300, hidden_channels=200).convs[0]
    w, bound = conv.lin.weight.detach().numpy(), np.sqrt(6 / 500)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not conv.bias.detach().numpy().any()
    model.eval()
    x, ei = fg.randn(5, 6), fg.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    h = model.forward_features(x, ei)
    assert tuple(h.shape) == (5, 8)
    np.testing.assert_allclose(model.forward_head(h, ei).detach().numpy(), model(x, ei).detach().numpy(), **TOL)
    assert model.forward_head(h, ei, pre_logits=True) is h
    assert [g for g, _ in model.layer_groups()] == ["convs.0", "convs.1", "convs.2"]
    assert sum(len(p) for _, p in parameter_groups(model)) == len(list(model.parameters()))
    fg.nn.utils.freeze(model, unlocked_groups=1)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["convs.2.bias", "convs.2.lin.weight"]
    model.reset_classifier(3)
    assert tuple(model(x, ei).shape) == (5, 3) and model.num_classes == 3
    model.reset_classifier(0)
    assert tuple(model(x, ei).shape) == (5, 8)


def _two_communities(seed, n=40):
    """A stochastic block model: dense inside two halves, sparse across; features barely informative."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    p = np.where(y[:, None] == y[None, :], 0.3, 0.02)
    a = np.triu(rng.random((n, n)) < p, 1)
    src, dst = np.nonzero(a | a.T)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    x[:, 0] += 0.5 * (2 * y - 1)
    return fg.tensor(x), fg.tensor(np.stack([src, dst])), fg.tensor(y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_training_reduces_loss(seed):
    fg.manual_seed(seed)
    x, ei, y = _two_communities(seed)
    train = fg.tensor(np.arange(40) % 4 == 0)  # semi-supervised: a quarter of the labels
    model = create_model("gcn", in_channels=8, hidden_channels=16, num_classes=2, dropout=0.5)
    opt = fg.optim.Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x, ei)[train], y[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
    with fg.no_grad():
        acc = (model.eval()(x, ei).argmax(1).numpy() == y.numpy())[~train.numpy()].mean()
    assert acc > 0.8  # the graph carries the labels to the unlabeled nodes


def test_wgpu_matches_cpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    results = {}
    for device in ("cpu", "wgpu"):
        model, x, ei = small()
        model.to(device)
        out = model(x.to(device), ei.to(device))
        F.cross_entropy(out, fg.tensor(REF["small:y"], device=device)).backward()
        assert out.device.type == device and model.convs[0].lin.weight.device.type == device
        results[device] = [out.detach().numpy(), model.convs[0].lin.weight.grad.numpy(),
                           model.convs[2].bias.grad.numpy()]
    np.testing.assert_allclose(results["cpu"][0], REF["small:logits"], **TOL)
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs, err, pattern", [
    (dict(in_channels=0), ValueError, r"gcn: in_channels must be >= 1, got 0"),
    (dict(hidden_channels=[8, "4"]), TypeError, r"gcn: hidden_channels must be an int, got str"),
    (dict(hidden_channels=[8, 4], num_layers=2), ValueError, r"gcn: num_layers=2 disagrees with hidden_channels"),
    (dict(num_layers=0), ValueError, r"gcn: num_layers must be >= 1"),
    (dict(dropout=-0.1), ValueError, r"gcn: dropout must be a probability"),
])
def test_bad_config(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        create_model("gcn", **kwargs)


def test_bad_input():
    model = create_model("gcn", in_channels=4, hidden_channels=4, num_classes=2)
    ei = fg.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"gcn: x must be node features of shape \(N, 4\), got \(3, 5\)"):
        model(fg.randn(3, 5), ei)
    with pytest.raises(TypeError, match=r"gcn: x must be a Tensor"):
        model(np.zeros((3, 4), np.float32), ei)
    with pytest.raises(IndexError, match=r"GCNConv: edge_index holds node ids outside \[0, 3\)"):
        model(fg.randn(3, 4), fg.tensor([[0, 5], [1, 0]]))
    with pytest.raises(TypeError, match=r"GCNConv: pass the graph either as edge_index"):
        model(fg.randn(3, 4))
