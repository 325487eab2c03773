"""`MixerBlock`: MLP-Mixer's token-mixing and channel-mixing MLPs with pre-LayerNorm residuals."""

from __future__ import annotations

from . import functional as F
from .linear import Linear
from .module import Module
from .normalization import LayerNorm


class MlpBlock(Module):
    """Linear → GELU → Linear; holds the weights, the mixing kernels decide the axis."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = Linear(dim, hidden)
        self.fc2 = Linear(hidden, dim)

    def forward(self, x):
        return F.channel_mixing(x, self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias)


class MixerBlock(Module):
    """On x of shape (B, num_patches, dim): x + token_mlp(LN(x)) across patches, then
    x + channel_mlp(LN(x)) across channels."""

    def __init__(self, num_patches: int, dim: int, tokens_mlp_dim: int, channels_mlp_dim: int, eps: float = 1e-6):
        super().__init__()
        self.num_patches, self.dim = num_patches, dim
        self.norm1 = LayerNorm(dim, eps=eps)
        self.token_mixing = MlpBlock(num_patches, tokens_mlp_dim)
        self.norm2 = LayerNorm(dim, eps=eps)
        self.channel_mixing = MlpBlock(dim, channels_mlp_dim)

    def forward(self, x):
        if x.ndim != 3 or tuple(x.shape[1:]) != (self.num_patches, self.dim):
            raise ValueError(f"MixerBlock: expected (B, {self.num_patches}, {self.dim}), got {tuple(x.shape)}")
        t = self.token_mixing
        x = x + F.token_mixing(self.norm1(x), t.fc1.weight, t.fc1.bias, t.fc2.weight, t.fc2.bias)
        return x + self.channel_mixing(self.norm2(x))

    def extra_repr(self):
        return f"num_patches={self.num_patches}, dim={self.dim}"
