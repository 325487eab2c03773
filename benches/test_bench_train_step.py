"""One training step (zero_grad, forward, loss, backward, [clip], optimizer step), float32, train mode:
the MLP of issue 18 and the tour's small models. ferrograd runs the zoo / recipe models; PyTorch runs
the same architecture written with torch.nn (same shapes, optimiser and hyper-parameters; each
library's own initialisation). The model is built once per test (fixture); only the step is timed.

Cases (batch and sizes from the recipes):
  mlp_adam      64-128-128-10 MLP, Adam, batch 64 (issue 18's figure: 0.54 ms vs PyTorch 0.61 ms, 1 thread)
  digits_mlp    recipes/mlp_digits: MLP 64-128-10, dropout 0.1, AdamW, batch 64
  digits_cnn    recipes/cnn_digits: resnet18_small, 1 channel, planes 16-32-64-128, AdamW, batch 64 × 8×8
  karate_gcn    recipes/gcn_karate: GCN 34-16-2 on the 34-node club, dropout 0.5, Adam, full graph
  mnist1d_gru   recipes/rnn_sequence: GRU(2, 128), mean pooling, AdamW + clip_grad_norm 1.0, batch 128 × 20 steps
  transformer   recipes/transformer_sequence: 2 pre-norm layers, width 64, 4 heads, ff 128, GELU,
                [CLS] + 9 tokens of 8, AdamW + clip_grad_norm 1.0, batch 128
"""

from __future__ import annotations

import numpy as np
import pytest

LIBS = ["ferrograd", "compiled", "torch"]  # compiled: the same ferrograd step under fg.compile
pytestmark = pytest.mark.benchmark(group="train_step")


def rng():
    return np.random.default_rng(0)


# ---- the PyTorch models (the ferrograd side uses the zoo / recipe classes) ----------------------

def torch_resnet18_small(torch, in_chans, planes, num_classes):
    """ferrograd's resnet18_small (torchvision's BasicBlock ResNet-18 with a 3×3 stride-1 stem, no max pool)."""
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                               if stride != 1 or cin != cout else None)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    p = planes
    stages = [nn.Sequential(BasicBlock(cin, cout, s), BasicBlock(cout, cout, 1))
              for cin, cout, s in ((p[0], p[0], 1), (p[0], p[1], 2), (p[1], p[2], 2), (p[2], p[3], 2))]
    return nn.Sequential(nn.Conv2d(in_chans, p[0], 3, 1, 1, bias=False), nn.BatchNorm2d(p[0]), nn.ReLU(inplace=True),
                         *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(p[3], num_classes))


def torch_gcn(torch, cin, hidden, num_classes, dropout):
    """Two GCNConv layers with a dense Â = D^-1/2 (A + I) D^-1/2 built from edge_index on every call, as
    ferrograd's GCNConv does (no graph library)."""
    nn = torch.nn

    def a_hat(edge_index, n):
        a = torch.zeros(n, n)
        a[edge_index[1], edge_index[0]] = 1.0
        a = a + torch.eye(n)
        d = a.sum(1).pow(-0.5)
        return d[:, None] * a * d[None, :]

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin1, self.lin2 = nn.Linear(cin, hidden, bias=False), nn.Linear(hidden, num_classes, bias=False)
            self.b1, self.b2 = nn.Parameter(torch.zeros(hidden)), nn.Parameter(torch.zeros(num_classes))

        def forward(self, x, edge_index):
            a = a_hat(edge_index, x.shape[0])
            h = nn.functional.dropout(torch.relu(a @ self.lin1(x) + self.b1), dropout, self.training)
            return a @ self.lin2(h) + self.b2

    return GCN()


def torch_gru_classifier(torch, input_size, hidden, num_classes):
    nn = torch.nn

    class GRUClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.fc = nn.GRU(input_size, hidden, batch_first=True), nn.Linear(hidden, num_classes)

        def forward(self, x):
            return self.fc(self.rnn(x)[0].mean(1))

    return GRUClassifier()


def sequence_transformer(T, patch=8, num_tokens=9, d_model=64, nhead=4, num_layers=2, num_classes=10):
    """recipes/transformer_sequence.SequenceTransformer, for `T` = torch."""
    nn = T.nn

    class SequenceTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(patch, d_model)
            self.cls_token = nn.Parameter(T.zeros(1, 1, d_model))
            self.pos_embed = nn.Parameter(T.zeros(1, num_tokens + 1, d_model))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2 * d_model, dropout=0.0,
                                               activation="gelu", batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model),
                                                 enable_nested_tensor=False)
            self.head = nn.Linear(d_model, num_classes)

        def forward(self, tokens):
            h = self.embed(tokens)
            h = T.cat([self.cls_token.expand(h.shape[0], -1, -1), h], dim=1) + self.pos_embed
            return self.head(self.encoder(h)[:, 0])

    return SequenceTransformer()


# ---- the steps ----------------------------------------------------------------------------------

def make_step(T, model, opt, inputs, target, clip=None, pick=None):
    """zero_grad, forward, cross-entropy (on the rows `pick` when given), backward, [clip], step."""
    F = T.nn.functional
    params = [p for p in model.parameters() if p.requires_grad]
    model.train()

    def step():
        opt.zero_grad()
        out = model(*inputs)
        loss = F.cross_entropy(out if pick is None else out[pick], target)
        loss.backward()
        if clip is not None:
            T.nn.utils.clip_grad_norm_(params, clip)
        opt.step()

    return step


def build(lib, case):
    if lib == "compiled":
        import ferrograd as fg

        return fg.compile(build("ferrograd", case))
    if lib == "torch":
        import torch as T
    else:
        import ferrograd as T
    nn, r = T.nn, rng()
    if case == "mlp_adam":
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
        x, y = r.random((64, 64), dtype=np.float32), r.integers(0, 10, 64)
        return make_step(T, model, T.optim.Adam(model.parameters(), lr=1e-3), [T.tensor(x)], T.tensor(y))
    if case == "digits_mlp":
        if lib == "torch":
            model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
        else:
            model = T.models.create_model("mlp", in_features=64, hidden_sizes=[128], num_classes=10, dropout=0.1)
        x, y = r.random((64, 64), dtype=np.float32), r.integers(0, 10, 64)
        opt = T.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        return make_step(T, model, opt, [T.tensor(x)], T.tensor(y))
    if case == "digits_cnn":
        planes = (16, 32, 64, 128)
        if lib == "torch":
            model = torch_resnet18_small(T, 1, planes, 10)
        else:
            model = T.models.create_model("resnet18_small", in_chans=1, num_classes=10, planes=planes)
        x, y = r.random((64, 1, 8, 8), dtype=np.float32), r.integers(0, 10, 64)
        opt = T.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        return make_step(T, model, opt, [T.tensor(x)], T.tensor(y))
    if case == "karate_gcn":
        import ferrograd as fg
        from ferrograd.data.datasets import load_karate_club

        g = load_karate_club(features="identity")
        x, ei, y = (a.numpy() for a in (g.x, g.edge_index, g.y))
        if lib == "torch":
            model = torch_gcn(T, 34, 16, 2, 0.5)
        else:
            model = fg.models.create_model("gcn", in_channels=34, hidden_channels=16, num_classes=2, dropout=0.5)
        idx = T.tensor(np.array([0, 33]))
        opt = T.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
        return make_step(T, model, opt, [T.tensor(x), T.tensor(ei)], T.tensor(y)[idx], pick=idx)
    if case == "mnist1d_gru":
        if lib == "torch":
            model = torch_gru_classifier(T, 2, 128, 10)
        else:
            model = T.models.create_model("gru_classifier", input_size=2, hidden_size=128, pooling="mean",
                                          num_classes=10)
        x, y = r.standard_normal((128, 20, 2), dtype=np.float32), r.integers(0, 10, 128)
        opt = T.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
        return make_step(T, model, opt, [T.tensor(x)], T.tensor(y), clip=1.0)
    if case == "transformer":
        if lib == "torch":
            model = sequence_transformer(T)
        else:
            from ferrograd.recipes.transformer_sequence import SequenceTransformer

            model = SequenceTransformer(8, 9)
        x, y = r.standard_normal((128, 9, 8), dtype=np.float32), r.integers(0, 10, 128)
        opt = T.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
        return make_step(T, model, opt, [T.tensor(x)], T.tensor(y), clip=1.0)
    raise ValueError(f"unknown case {case!r}")


CASES = ["mlp_adam", "digits_mlp", "digits_cnn", "karate_gcn", "mnist1d_gru", "transformer"]


@pytest.fixture
def step(lib, case):
    return build(lib, case)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("lib", LIBS, indirect=True)
def test_train_step(bench, step, case):
    bench(step)
