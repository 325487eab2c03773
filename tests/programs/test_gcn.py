"""A two-layer GCN (Kipf & Welling) for semi-supervised node classification on a two-community
graph, written two ways people write it without a graph library: a dense normalized adjacency
D^-1/2 (A + I) D^-1/2 built with torch ops (zeros, index assignment, eye, sum, pow(-0.5), diag), and
message passing over an edge list with index_add_ / scatter_add_."""

import sys

import numpy as np
import pytest

import ferrograd as torch
import ferrograd.nn as nn
import ferrograd.nn.functional as F

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import program_fixture  # noqa: E402


def normalized_adjacency(edge_index, num_nodes):
    """D^-1/2 (A + I) D^-1/2 as a dense (N, N) matrix."""
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index[0], edge_index[1]] = 1.0
    adj = adj + torch.eye(num_nodes)
    deg = adj.sum(dim=1)
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt[torch.isinf(deg_inv_sqrt)] = 0.0
    d_mat = torch.diag(deg_inv_sqrt)
    return d_mat @ adj @ d_mat


def gcn_propagate(x, edge_index, num_nodes):
    """The same product as normalized_adjacency(...) @ x, by messages along the edges."""
    loops = torch.arange(num_nodes, device=x.device)
    row = torch.cat([edge_index[0], loops])  # source
    col = torch.cat([edge_index[1], loops])  # target
    deg = torch.zeros(num_nodes, device=x.device).scatter_add_(0, col, torch.ones_like(col, dtype=x.dtype))
    norm = deg[row].pow(-0.5) * deg[col].pow(-0.5)
    messages = x[row] * norm.view(-1, 1)
    return torch.zeros_like(x).index_add_(0, col, messages)


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x, adj):
        support = torch.mm(x, self.weight)
        output = torch.spmm(adj, support) if adj.is_sparse else torch.mm(adj, support)
        if self.bias is not None:
            return output + self.bias
        return output


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout=0.5):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        x = self.gc2(x, adj)
        return F.log_softmax(x, dim=1)


class MessagePassingGCN(nn.Module):
    """The edge-list form, with nn.Linear layers (PyG's GCNConv layout)."""

    def __init__(self, nfeat, nhid, nclass, dropout=0.5):
        super().__init__()
        self.lin1 = nn.Linear(nfeat, nhid)
        self.lin2 = nn.Linear(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, edge_index):
        n = x.size(0)
        x = F.relu(gcn_propagate(self.lin1(x), edge_index, n))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return gcn_propagate(self.lin2(x), edge_index, n).log_softmax(dim=-1)


def two_communities(n=40, p_in=0.25, p_out=0.02, seed=0):
    """A stochastic block model: labels by community, noisy features that only weakly tell them apart."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    prob = np.where(y[:, None] == y[None, :], p_in, p_out)
    upper = np.triu(rng.random((n, n)) < prob, k=1)
    src, dst = np.nonzero(upper | upper.T)
    edge_index = torch.from_numpy(np.stack([src, dst]).astype(np.int64))  # both directions
    x = torch.from_numpy((rng.standard_normal((n, 8)) + 0.4 * (2 * y[:, None] - 1)).astype(np.float32))
    train_mask = torch.zeros(n, dtype=torch.bool)
    train_mask[torch.tensor([0, 1, 2, n - 3, n - 2, n - 1])] = True  # 3 labelled nodes per class
    return x, edge_index, torch.from_numpy(y), train_mask


def accuracy(output, labels):
    preds = output.max(1)[1].type_as(labels)
    correct = preds.eq(labels).double()
    correct = correct.sum()
    return correct / len(labels)


def test_adjacency_two_ways_agree(device):
    x, edge_index, y, _ = two_communities()
    adj = normalized_adjacency(edge_index, x.size(0))
    assert adj.shape == (40, 40)
    assert torch.allclose(adj, adj.t())
    # every row of D^-1/2 (A+I) D^-1/2 has its diagonal at 1/deg
    deg = torch.bincount(edge_index[0], minlength=40) + 1
    assert torch.allclose(adj.diagonal(), 1.0 / deg.float())
    dense = adj.to(device) @ x.to(device)
    sparse = gcn_propagate(x.to(device), edge_index.to(device), x.size(0))
    assert torch.allclose(dense, sparse, atol=1e-5)


@pytest.mark.parametrize("form", ["dense", "message_passing"])
def test_semi_supervised_training(form, device):
    torch.manual_seed(0)
    x, edge_index, labels, idx_train = two_communities()
    idx_test = ~idx_train
    if form == "dense":
        model = GCN(nfeat=x.shape[1], nhid=16, nclass=2, dropout=0.5)
        graph = normalized_adjacency(edge_index, x.size(0))
    else:
        model = MessagePassingGCN(x.shape[1], 16, 2, dropout=0.5)
        graph = edge_index
    model, x, graph, labels = model.to(device), x.to(device), graph.to(device), labels.to(device)
    idx_train, idx_test = idx_train.to(device), idx_test.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)

    losses = []
    for epoch in range(100):
        model.train()
        optimizer.zero_grad()
        output = model(x, graph)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        losses.append(loss_train.item())

    model.eval()
    with torch.no_grad():
        output = model(x, graph)
    assert output.shape == (40, 2)
    assert torch.allclose(output.exp().sum(dim=1), torch.ones(40, device=device), atol=1e-5)
    assert losses[-1] < 0.3 * losses[0], losses[::10]
    # pygcn's accuracy() counts in float64, which (as on Apple's MPS) is not a GPU dtype here
    acc_test = accuracy(output[idx_test].cpu(), labels[idx_test].cpu())
    assert acc_test.dtype == torch.float64
    assert acc_test.item() > 0.85  # six labels, the graph does the rest


# ---- the run recorded under torch ---------------------------------------------------------------
def deterministic_run(model, device):
    x, edge_index, labels, idx_train = two_communities(n=12, p_in=0.5, p_out=0.1, seed=3)
    adj = normalized_adjacency(edge_index, x.size(0))
    out = {"adj": adj.numpy()}
    model, x, adj, labels = model.to(device), x.to(device), adj.to(device), labels.to(device)
    model.eval()  # dropout off: the run is deterministic
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(3):
        optimizer.zero_grad()
        output = model(x, adj)
        loss = F.nll_loss(output, labels)
        loss.backward()
        if step == 0:
            out["output0"] = output.detach().cpu().numpy()
            out["grad_gc1_weight"] = model.gc1.weight.grad.cpu().numpy()
        out[f"loss{step}"] = np.float32(loss.item())
        optimizer.step()
    out["propagated"] = gcn_propagate(x, edge_index.to(device), x.size(0)).cpu().numpy()
    return out


REFERENCE_RUNS = {"gcn": (lambda: GCN(8, 16, 2), deterministic_run)}


@pytest.mark.parametrize("name", REFERENCE_RUNS)
def test_matches_torch(name, device):
    program_fixture.check_against_torch(name, device, REFERENCE_RUNS)
