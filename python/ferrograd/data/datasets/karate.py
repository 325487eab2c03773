"""Zachary's karate club (1977), the 34-member social network that split in two; from networkx."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...tensor import Tensor
from ._common import require


@dataclass(repr=False, eq=False)
class GraphData:
    """One graph for node classification.

    x: (N, F) float32 node features; edge_index: (2, 2E) int64 with every undirected edge in
    both directions, sorted by (source, target); edge_weight: (2E,) float32, aligned with
    edge_index; adjacency: (N, N) float32 symmetric 0/1 matrix, zero diagonal; y: (N,) int64
    node labels; train_mask: (N,) bool, the nodes whose labels a semi-supervised setup trains on.
    """

    x: Tensor
    edge_index: Tensor
    edge_weight: Tensor
    adjacency: Tensor
    y: Tensor
    train_mask: Tensor
    classes: list
    info: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"GraphData(num_nodes={self.num_nodes}, num_edges={self.num_edges}, "
                f"num_features={self.num_features}, classes={self.classes})")

    @property
    def num_nodes(self) -> int:
        return self.x.shape[0]

    @property
    def num_edges(self) -> int:
        """Undirected edges (edge_index holds twice as many columns)."""
        return self.edge_index.shape[1] // 2

    @property
    def num_features(self) -> int:
        return self.x.shape[1]


def load_karate_club(features: str = "identity") -> GraphData:
    """Zachary's karate club: 34 nodes, 78 undirected edges, two factions.

    `features='identity'` gives x = I (34, 34) (one-hot node ids, the classic GCN setup);
    `features='degree'` gives x (34, 1) = each node's degree. Labels come from the networkx
    'club' attribute: 0 = 'Mr. Hi', 1 = 'Officer'. train_mask marks the two leaders, nodes 0
    (Mr. Hi) and 33 (the officer). edge_weight holds networkx's interaction counts.
    """
    if features not in ("identity", "degree"):
        raise ValueError(f"load_karate_club: features must be 'identity' or 'degree', got {features!r}")
    nx = require("networkx", "networkx", "2.6", "load_karate_club")
    g = nx.karate_club_graph()
    nodes = sorted(g.nodes())
    pos = {v: i for i, v in enumerate(nodes)}
    n = len(nodes)

    pairs, weights = [], []
    for u, v, attrs in g.edges(data=True):
        w = float(attrs.get("weight", 1.0))
        pairs += [(pos[u], pos[v]), (pos[v], pos[u])]
        weights += [w, w]
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    weights = np.asarray(weights, dtype=np.float32)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    edge_index = np.ascontiguousarray(pairs[order].T)  # (2, 2E)
    edge_weight = weights[order]

    adjacency = np.zeros((n, n), dtype=np.float32)
    adjacency[edge_index[0], edge_index[1]] = 1.0
    degree = adjacency.sum(1)

    classes = ["Mr. Hi", "Officer"]
    y = np.asarray([classes.index(g.nodes[v]["club"]) for v in nodes], dtype=np.int64)
    x = np.eye(n, dtype=np.float32) if features == "identity" else degree[:, None].astype(np.float32)
    train_mask = np.zeros(n, dtype=bool)
    train_mask[[0, n - 1]] = True

    return GraphData(
        x=Tensor._wrap(x), edge_index=Tensor._wrap(edge_index), edge_weight=Tensor._wrap(edge_weight),
        adjacency=Tensor._wrap(adjacency), y=Tensor._wrap(y), train_mask=Tensor._wrap(train_mask),
        classes=classes, info={"source": "networkx.karate_club_graph", "features": features},
    )
