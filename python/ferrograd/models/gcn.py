"""GCN for node classification (Kipf & Welling), with torch_geometric's `models.GCN` names.

    x (N, in_channels) -> [GCNConv -> ReLU -> dropout] * (num_layers - 1) -> GCNConv -> logits (N, num_classes)

Keys: convs.0.lin.weight (out, in), convs.0.bias (out,), convs.1.lin.weight, ... — those of
torch_geometric's `basic_gnn.GCN(in_channels, hidden_channels, num_layers, out_channels)` with its
defaults norm=None, jk=None (fg.nn.GCNConv names its parameters as torch_geometric's GCNConv: `lin`
without bias, then `bias`), so a PyG GCN's state_dict loads by name. As there, dropout follows the
activation of each hidden layer (none on the input features, none after the last conv) and the
weights start Glorot-uniform with zero biases. `hidden_channels` may also be a list, one width per
hidden layer (PyG's GCN has one width for all).

The graph is an edge_index (2, E) of (source, target) node ids with optional edge_weight (E,), or a
dense adjacency `adj=` (N, N); fg.nn.GCNConv adds self loops and normalises symmetrically. Note it
adds a self loop to every node, also one that already has one (PyG adds only the missing ones).
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..nn import functional as F
from ..nn import init
from ..tensor import Tensor
from ._base import ZooModel
from ._registry import register_model


def _check_int(name, v, low):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise TypeError(f"gcn: {name} must be an int, got {type(v).__name__} {v!r}")
    if v < low:
        raise ValueError(f"gcn: {name} must be >= {low}, got {v}")


class GCN(ZooModel):
    default_cfg = dict(classifier=None, family="gcn", input="node features (N, C) + edge_index (2, E)")

    def __init__(self, in_channels: int = 1433, hidden_channels: int | list = 16, num_layers: int | None = None,
                 num_classes: int = 7, dropout: float = 0.5, bias: bool = True):
        super().__init__()
        _check_int("in_channels", in_channels, 1)
        _check_int("num_classes", num_classes, 1)
        if isinstance(hidden_channels, (list, tuple)):
            hidden = list(hidden_channels)
            if num_layers is not None and num_layers != len(hidden) + 1:
                raise ValueError(f"gcn: num_layers={num_layers} disagrees with hidden_channels={hidden_channels} "
                                 f"({len(hidden) + 1} layers); give one of them")
        else:
            num_layers = 2 if num_layers is None else num_layers
            _check_int("num_layers", num_layers, 1)
            hidden = [hidden_channels] * (num_layers - 1)
        for h in hidden:
            _check_int("hidden_channels", h, 1)
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
            raise ValueError(f"gcn: dropout must be a probability in [0, 1), got {dropout!r}")
        self.in_channels, self.num_classes, self.dropout = in_channels, num_classes, dropout
        dims = [in_channels, *hidden, num_classes]
        self.num_features = dims[-2]
        self.convs = nn.ModuleList(nn.GCNConv(a, b, bias=bias) for a, b in zip(dims[:-1], dims[1:]))
        for conv in self.convs:  # PyG's GCNConv init: glorot weight, zero bias
            init.xavier_uniform_(conv.lin.weight)

    def _check(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"gcn: x must be a Tensor of node features (N, {self.in_channels}), got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"gcn: x must be node features of shape (N, {self.in_channels}), got {tuple(x.shape)}")

    def forward_features(self, x: Tensor, edge_index: Tensor | None = None, edge_weight: Tensor | None = None, *,
                         adj: Tensor | None = None) -> Tensor:
        """Node embeddings (N, last hidden width): every conv but the last, each with ReLU and dropout."""
        self._check(x)
        for conv in self.convs[:-1]:
            x = F.dropout(F.relu(conv(x, edge_index, edge_weight, adj=adj)), self.dropout, self.training)
        return x

    def forward_head(self, features: Tensor, edge_index: Tensor | None = None, edge_weight: Tensor | None = None, *,
                     adj: Tensor | None = None, pre_logits: bool = False) -> Tensor:
        """The last conv (it needs the graph too); pre_logits or a reset to 0 classes return the features."""
        head = self.convs[len(self.convs) - 1]
        if pre_logits or isinstance(head, nn.Identity):
            return features
        return head(features, edge_index, edge_weight, adj=adj)

    def forward(self, x: Tensor, edge_index: Tensor | None = None, edge_weight: Tensor | None = None, *,
                adj: Tensor | None = None) -> Tensor:
        """Logits per node (N, num_classes)."""
        h = self.forward_features(x, edge_index, edge_weight, adj=adj)
        return self.forward_head(h, edge_index, edge_weight, adj=adj)

    def get_classifier(self) -> nn.Module:
        return self.convs[len(self.convs) - 1]

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh last GCNConv with `num_classes` outputs (0: nn.Identity, node embeddings out)."""
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
            raise ValueError(f"gcn.reset_classifier: num_classes must be an int >= 0, got {num_classes!r}")
        last = len(self.convs) - 1
        if num_classes:
            head = nn.GCNConv(self.num_features, num_classes)
            init.xavier_uniform_(head.lin.weight)
            head.to(next(self.convs[0].parameters()).device)
        else:
            head = nn.Identity()
        self.convs[last] = head
        self.num_classes = num_classes

    def layer_groups(self):
        return [(f"convs.{i}", [conv]) for i, conv in enumerate(self.convs)]


@register_model
def gcn(**kwargs) -> GCN:
    """GCN for node classification (torch_geometric names; Cora-sized defaults: 1433 -> 16 -> 7)."""
    return GCN(**kwargs)
