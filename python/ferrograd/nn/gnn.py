"""`GCNConv`: graph convolution with the symmetric-normalised adjacency D^-1/2 (A + I) D^-1/2.

The graph comes in one of two distinct ways, never guessed from a shape: `edge_index`, a (2, E)
integer tensor of (source, target) pairs with optional `edge_weight` (E,), as torch_geometric's
`GCNConv(x, edge_index, edge_weight)`; or `adj=`, a dense (N, N) adjacency (A[target, source]).
A (2, 2) integer matrix is therefore always an edge list unless passed as `adj=`."""

from __future__ import annotations

import numpy as np

from ..ops._util import to_host
from ..tensor import Tensor, zeros
from .linear import Linear
from .module import Module
from .parameter import Parameter


def _host(name, value) -> np.ndarray:
    if not isinstance(value, (Tensor, np.ndarray)):
        raise TypeError(f"GCNConv: {name} must be a Tensor, got {type(value).__name__}")
    return np.asarray(to_host(getattr(value, "_data", value)))  # graph structure is built on the host


def edge_index_to_adjacency(edge_index, num_nodes: int, edge_weight=None, dtype=np.float32) -> np.ndarray:
    """Dense A (N, N) with A[target, source] += weight for each edge (messages flow source -> target, as PyG)."""
    e = _host("edge_index", edge_index)
    if e.dtype.kind not in "iu":
        raise TypeError(f"GCNConv: edge_index must be an integer (2, E) tensor of node ids, got dtype {e.dtype}; "
                        f"pass a dense adjacency as adj=")
    if e.ndim != 2 or e.shape[0] != 2:
        raise ValueError(f"GCNConv: edge_index must have shape (2, E), got {e.shape}; pass a dense adjacency as adj=")
    if e.size and (e.min() < 0 or e.max() >= num_nodes):
        raise IndexError(f"GCNConv: edge_index holds node ids outside [0, {num_nodes}) "
                         f"(min {int(e.min())}, max {int(e.max())})")
    if edge_weight is None:
        w = np.ones(e.shape[1], dtype)
    else:
        w = _host("edge_weight", edge_weight)
        if w.shape != (e.shape[1],):
            raise ValueError(f"GCNConv: edge_weight must have shape ({e.shape[1]},) (one per edge), got {w.shape}")
        w = w.astype(dtype)
    dense = np.zeros((num_nodes, num_nodes), dtype)
    np.add.at(dense, (e[1], e[0]), w)
    return dense


def normalize_adjacency(dense: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Â = D^-1/2 (A + I) D^-1/2 of a dense (N, N) adjacency."""
    n = dense.shape[0]
    dense = dense.astype(dtype) + np.eye(n, dtype=dtype)
    deg = dense.sum(1)
    inv_sqrt = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0).astype(dtype)
    return inv_sqrt[:, None] * dense * inv_sqrt[None, :]


def normalized_adjacency(edge_index=None, num_nodes: int | None = None, dtype=np.float32, *, edge_weight=None,
                         adj=None) -> np.ndarray:
    """Dense Â from a (2, E) edge_index (+ edge_weight) or from a dense (N, N) `adj=` (exactly one)."""
    if (edge_index is None) == (adj is None):
        raise TypeError("GCNConv: pass the graph either as edge_index (2, E) or as adj= (N, N), exactly one of them")
    if adj is not None:
        if edge_weight is not None:
            raise TypeError("GCNConv: edge_weight goes with edge_index; a dense adj= carries its own weights")
        a = _host("adj", adj)
        if a.shape != (num_nodes, num_nodes):
            raise ValueError(f"GCNConv: adj must be a dense ({num_nodes}, {num_nodes}) adjacency, got shape {a.shape}")
        dense = (a != 0).astype(dtype) if a.dtype == np.bool_ else a.astype(dtype)
    else:
        dense = edge_index_to_adjacency(edge_index, num_nodes, edge_weight, dtype)
    return normalize_adjacency(dense, dtype)


class GCNConv(Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = Linear(in_channels, out_channels, bias=False)
        self.bias = Parameter(zeros(out_channels)) if bias else None

    def forward(self, x: Tensor, edge_index: Tensor | None = None, edge_weight: Tensor | None = None, *,
                adj: Tensor | None = None):
        """x (N, in_channels); the graph as edge_index (2, E) int [+ edge_weight (E,)] or as adj= (N, N)."""
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"GCNConv: x must be (num_nodes, {self.in_channels}), got "
                             f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        a_hat = normalized_adjacency(edge_index, x.shape[0], x.dtype, edge_weight=edge_weight, adj=adj)
        out = Tensor(a_hat).to(x.device) @ self.lin(x)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}"
