"""MultivariateNormal(loc, covariance_matrix | precision_matrix | scale_tril): the Gaussian on
R^n, parameterised through its lower Cholesky factor L (Sigma = L L^T; cholesky, solve and inv run
on cpu), reparameterised (rsample = loc + L eps)."""

from __future__ import annotations

import math

from ..size import Size
from . import constraints
from .distribution import Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


def _broadcast_shapes(*shapes):
    out = []
    for dims in zip(*[(1,) * (max(map(len, shapes)) - len(s)) + tuple(s) for s in shapes]):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"MultivariateNormal: shapes {[tuple(s) for s in shapes]} are not broadcastable")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _batch_mv(bmat, bvec):
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def _solve_tril(L, B):
    """L^-1 B for lower-triangular L (torch's solve_triangular reads only the lower triangle, so
    gradients to L are lower-triangular: the general solve runs on L.tril())."""
    from ..linalg import solve

    return solve(L.tril(), B)


def _batch_mahalanobis(bL, bx):
    """x^T (L L^T)^-1 x over broadcast batches: |L^-1 x|^2."""
    return _solve_tril(bL, bx.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _half_log_det(L):
    return L.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _check_matrix(m, name):
    from ..tensor import Tensor

    if not isinstance(m, Tensor):
        raise TypeError(f"MultivariateNormal: {name} must be a Tensor, got {type(m).__name__}")
    if m.ndim < 2:
        raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch dimensions"
                         if name == "scale_tril" else
                         f"{name} must be at least two-dimensional, with optional leading batch dimensions")
    return m


class MultivariateNormal(Distribution):
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        from ..linalg import cholesky, inv
        from ..tensor import Tensor

        if not isinstance(loc, Tensor):
            raise TypeError(f"MultivariateNormal: loc must be a Tensor, got {type(loc).__name__}")
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        if scale_tril is not None:
            m = _check_matrix(scale_tril, "scale_tril")
        elif covariance_matrix is not None:
            m = _check_matrix(covariance_matrix, "covariance_matrix")
        else:
            m = _check_matrix(precision_matrix, "precision_matrix")
        if m.shape[-1] != m.shape[-2] or m.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: the matrix must be square with the size of loc's last dim "
                             f"({loc.shape[-1]}), got shape {tuple(m.shape)}")
        batch_shape = _broadcast_shapes(m.shape[:-2], loc.shape[:-1])
        mat = m.expand(batch_shape + (-1, -1))
        if scale_tril is not None:
            self.scale_tril = mat
        elif covariance_matrix is not None:
            self.covariance_matrix = mat
        else:
            self.precision_matrix = mat
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:  # L of P^-1 (torch flips P to avoid the inverse; the factor is the same)
            self._unbroadcasted_scale_tril = cholesky(inv(precision_matrix))

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        from ..linalg import inv

        L = self._unbroadcasted_scale_tril
        return inv(L @ L.mT).expand(self._matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - _half_log_det(self._unbroadcasted_scale_tril)

    def entropy(self):
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + _half_log_det(self._unbroadcasted_scale_tril)
        return H if len(self._batch_shape) == 0 else H.expand(tuple(self._batch_shape))
