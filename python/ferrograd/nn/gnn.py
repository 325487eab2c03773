"""`GCNConv`: graph convolution with the symmetric-normalised adjacency D^-1/2 (A + I) D^-1/2."""

from __future__ import annotations

import numpy as np

from ..ops._util import to_host
from ..tensor import Tensor, zeros
from .linear import Linear
from .module import Module
from .parameter import Parameter


def normalized_adjacency(adj_or_edges, num_nodes: int, dtype=np.float32) -> np.ndarray:
    """Dense Â = D^-1/2 (A + I) D^-1/2 from a dense (N, N) adjacency or a (2, E) edge list."""
    a = to_host(getattr(adj_or_edges, "_data", adj_or_edges))  # structure is built on the host
    a = np.asarray(a)
    if a.ndim == 2 and a.shape == (num_nodes, num_nodes) and not (a.shape[0] == 2 and a.dtype.kind in "iu" and num_nodes != 2):
        dense = (a != 0).astype(dtype) if a.dtype == np.bool_ else a.astype(dtype)
    elif a.ndim == 2 and a.shape[0] == 2 and a.dtype.kind in "iu":
        if a.size and (a.min() < 0 or a.max() >= num_nodes):
            raise ValueError(f"GCNConv: edge_index holds node ids outside [0, {num_nodes})")
        dense = np.zeros((num_nodes, num_nodes), dtype)
        np.add.at(dense, (a[1], a[0]), 1)  # messages flow source -> target, as in PyG
    else:
        raise ValueError(f"GCNConv: expected an ({num_nodes}, {num_nodes}) adjacency or a (2, E) int edge_index, "
                         f"got shape {a.shape} dtype {a.dtype}")
    dense = dense + np.eye(num_nodes, dtype=dtype)
    deg = dense.sum(1)
    inv_sqrt = np.where(deg > 0, 1 / np.sqrt(deg), 0).astype(dtype)
    return inv_sqrt[:, None] * dense * inv_sqrt[None, :]


class GCNConv(Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = Linear(in_channels, out_channels, bias=False)
        self.bias = Parameter(zeros(out_channels)) if bias else None

    def forward(self, x: Tensor, adj_or_edge_index):
        if x.ndim != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"GCNConv: x must be (num_nodes, {self.in_channels}), got {tuple(x.shape)}")
        a_hat = normalized_adjacency(adj_or_edge_index, x.shape[0], x.dtype)
        out = Tensor(a_hat).to(x.device) @ self.lin(x)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}"
