"""Dropout modules: active in training mode only, seeded by `fg.manual_seed`. Each is
torch's (p=0.5, inplace=False) over the matching function of `functional`."""

from __future__ import annotations

from . import functional as F
from .functional import channel_dropout as _fd
from .module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    def forward(self, x):
        return _fd.dropout1d(x, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    def forward(self, x):
        return _fd.dropout2d(x, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    def forward(self, x):
        return _fd.dropout3d(x, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    def forward(self, x):
        return _fd.alpha_dropout(x, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    def forward(self, x):
        return _fd.feature_alpha_dropout(x, self.p, self.training)
