"""MLP-Mixer (Tolstikhin et al. 2021) with timm's module names and layouts, so timm checkpoints
(`mixer_b16_224.goog_in21k_ft_in1k`'s model.safetensors, ...) load by name:

    stem.proj (Conv2d patch embedding)
    blocks.N.norm1, blocks.N.mlp_tokens.fc1/fc2, blocks.N.norm2, blocks.N.mlp_channels.fc1/fc2
    norm, head

Each block mixes across patches, then across channels, with pre-LayerNorm (eps 1e-6) residuals:
    x = x + mlp_tokens(norm1(x)ᵀ)ᵀ          # (B, N, C): an MLP along N
    x = x + mlp_channels(norm2(x))          # an MLP along C
Both MLPs run on ferrograd's fused mixing kernels (F.token_mixing / F.channel_mixing: Linear →
exact GELU → Linear in one op, token mixing as strided GEMMs, no transpose copied). The kernels
take the Linear weights as arguments, so the modules keep timm's names (fc1, fc2) and the fast
path costs nothing in compatibility. With dropout (`proj_drop_rate`) in training the block falls
back to the composite Linear/GELU/Dropout ops, which are slower.

Sizes: `mixer_s32_224`, `mixer_s16_224`, `mixer_b16_224`, `mixer_l16_224` are the paper's (and
timm's). For small images (ferrograd additions, not in timm or the paper):
- `mixer_tiny`: 32×32 (CIFAR), patch 4 → 64 tokens, dim 128, 4 blocks (0.57 M parameters at 10 classes);
  for 28×28 MNIST pass `img_size=28, in_chans=1` (49 tokens).
- `mixer_nano`: 8×8 (sklearn digits), patch 2 → 16 tokens, dim 64, 4 blocks.
The token MLP's width depends on the number of patches, so a model takes one image size only
(`img_size`, which `patch_size` must divide), as timm's strict PatchEmbed does.
"""

from __future__ import annotations

import math

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor, ones
from ._base import ZooModel
from ._registry import register_model


def _to_2tuple(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    """Stochastic depth (timm's DropPath): zero a sample's residual branch with probability p,
    scale the kept ones by 1/(1-p)."""
    if p == 0.0 or not training:
        return x
    keep = ones((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)
    return x * F.dropout(keep, p, True)


class PatchEmbed(nn.Module):
    """Image (B, C, H, W) → patch tokens (B, N, D) by a stride-p conv (timm's `stem.proj`)."""

    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.img_size, self.patch_size = _to_2tuple(img_size), _to_2tuple(patch_size)
        self.grid_size = (self.img_size[0] // self.patch_size[0], self.img_size[1] // self.patch_size[1])
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=self.patch_size, stride=self.patch_size)

    def forward(self, x):
        x = self.proj(x)                        # (B, D, H/p, W/p)
        return x.flatten(2).transpose(1, 2)     # (B, N, D)


class Mlp(nn.Module):
    """fc1 → GELU → (dropout) → fc2 → (dropout): timm's Mlp names; `axis` picks what it mixes."""

    def __init__(self, in_features, hidden_features, drop=0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = drop

    def forward(self, x, tokens: bool = False):
        """x (B, N, C); tokens=True mixes along N (the fc weights are (hidden, N)), else along C."""
        if self.drop and self.training:  # composite path: dropout sits inside the MLP
            h = x.transpose(1, 2) if tokens else x
            h = F.dropout(F.gelu(self.fc1(h)), self.drop, True)
            h = F.dropout(self.fc2(h), self.drop, True)
            return h.transpose(1, 2) if tokens else h
        mix = F.token_mixing if tokens else F.channel_mixing
        return mix(x, self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias)


class MixerBlock(nn.Module):
    """Token-mixing then channel-mixing MLP, each with a pre-LayerNorm residual (timm names)."""

    def __init__(self, dim, seq_len, mlp_ratio=(0.5, 4.0), eps=1e-6, drop=0.0, drop_path=0.0):
        super().__init__()
        tokens_dim, channels_dim = (int(r * dim) for r in _to_2tuple(mlp_ratio))
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.mlp_tokens = Mlp(seq_len, tokens_dim, drop)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp_channels = Mlp(dim, channels_dim, drop)
        self.drop_path = drop_path

    def forward(self, x):                                                   # (B, N, C)
        x = x + _drop_path(self.mlp_tokens(self.norm1(x), tokens=True), self.drop_path, self.training)
        return x + _drop_path(self.mlp_channels(self.norm2(x)), self.drop_path, self.training)


class MlpMixer(ZooModel):
    """timm's MlpMixer (same arguments, names, init and forward); global_pool "avg" or ""."""

    default_cfg = dict(classifier="head", input_size=(3, 224, 224), family="mixer", first_conv="stem.proj",
                       mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))

    def __init__(self, num_classes=1000, img_size=224, in_chans=3, patch_size=16, num_blocks=8, embed_dim=512,
                 mlp_ratio=(0.5, 4.0), drop_rate=0.0, proj_drop_rate=0.0, drop_path_rate=0.0, nlhb=False,
                 global_pool="avg"):
        super().__init__()
        name = getattr(self, "model_name", None) or type(self).__name__
        for arg, v in (("num_blocks", num_blocks), ("embed_dim", embed_dim), ("in_chans", in_chans)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {v!r}")
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
            raise ValueError(f"{name}: num_classes must be an int >= 0 (0: no classifier), got {num_classes!r}")
        img, patch = _to_2tuple(img_size), _to_2tuple(patch_size)
        if not all(isinstance(v, int) and v >= 1 for v in img + patch):
            raise ValueError(f"{name}: img_size and patch_size must be positive ints, got img_size={img_size!r}, "
                             f"patch_size={patch_size!r}")
        if img[0] % patch[0] or img[1] % patch[1]:
            raise ValueError(f"{name}: patch_size {patch_size} must divide img_size {img_size}")
        if global_pool not in ("", "avg"):
            raise ValueError(f"{name}: global_pool must be 'avg' or '' (no pooling), got {global_pool!r}")
        rates = (("drop_rate", drop_rate), ("proj_drop_rate", proj_drop_rate), ("drop_path_rate", drop_path_rate))
        for arg, v in rates:
            if not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ValueError(f"{name}: {arg} must be in [0, 1), got {v!r}")
        self.num_classes, self.in_chans, self.global_pool = num_classes, in_chans, global_pool
        self.img_size, self.patch_size = img, patch
        self.num_features = self.embed_dim = embed_dim

        self.stem = PatchEmbed(img, patch, in_chans, embed_dim)
        self.blocks = nn.Sequential(*[
            MixerBlock(embed_dim, self.stem.num_patches, mlp_ratio, drop=proj_drop_rate, drop_path=drop_path_rate)
            for _ in range(num_blocks)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        # every block keeps the patch grid: one feature per block, all at stride patch_size (timm)
        self.feature_info = [dict(num_chs=embed_dim, reduction=patch[0], module=f"blocks.{i}")
                             for i in range(num_blocks)]
        self._init_weights(-math.log(num_classes) if nlhb and num_classes > 0 else 0.0)

    def _init_weights(self, head_bias):
        """timm's (non-flax) init: xavier Linear, lecun-normal conv, tiny mlp biases, zero head."""
        for mname, m in self.named_modules():
            if isinstance(m, nn.Linear):
                if mname.startswith("head"):
                    nn.init.zeros_(m.weight)
                    nn.init.constant_(m.bias, head_bias)
                else:
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.normal_(m.bias, std=1e-6) if "mlp" in mname else nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                fan_in = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
                nn.init.trunc_normal_(m.weight, std=math.sqrt(1.0 / fan_in) / 0.87962566103423978)
                nn.init.zeros_(m.bias)

    def _check_input(self, x):
        name = getattr(self, "model_name", None) or type(self).__name__
        want = (self.in_chans, *self.img_size)
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor of shape (N, {', '.join(map(str, want))}), "
                            f"got {type(x).__name__}")
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"{name}: expected input of shape (N, {', '.join(map(str, want))}) (in_chans, img_size "
                             f"fix the token MLP's width), got {tuple(x.shape)}")

    def forward_features(self, x):
        self._check_input(x)
        x = self.blocks(self.stem(x))           # (B, N, C)
        return self.norm(x)

    def forward_head(self, x, pre_logits: bool = False):
        if self.global_pool == "avg":
            x = x.mean(dim=1)                   # (B, C)
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(self, x, indices=None, norm: bool = False, output_fmt: str = "NCHW"):
        """Block outputs as timm's `forward_intermediates(..., intermediates_only=True)`: all blocks
        (indices None), the last n (an int), or the listed ones; NCHW maps (B, C, H/p, W/p) or NLC
        tokens; `norm` applies the final LayerNorm to each."""
        if output_fmt not in ("NCHW", "NLC"):
            raise ValueError(f"{type(self).__name__}.forward_intermediates: output_fmt must be 'NCHW' or 'NLC', "
                             f"got {output_fmt!r}")
        n = len(self.blocks)
        if indices is None:
            take = list(range(n))
        elif isinstance(indices, int):
            if not 0 < indices <= n:
                raise ValueError(f"{type(self).__name__}.forward_intermediates: indices={indices} must be in [1, {n}]")
            take = list(range(n - indices, n))
        else:
            take = [i % n for i in indices]
        self._check_input(x)
        B = x.shape[0]
        x = self.stem(x)
        outs = []
        for i, blk in enumerate(self.blocks):
            if i > max(take):
                break
            x = blk(x)
            if i in take:
                outs.append(self.norm(x) if norm else x)
        if output_fmt == "NCHW":
            H, W = self.stem.grid_size
            outs = [y.reshape(B, H, W, -1).permute(0, 3, 1, 2) for y in outs]
        return outs

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        if global_pool is not None:
            if global_pool not in ("", "avg"):
                raise ValueError(f"{type(self).__name__}.reset_classifier: global_pool must be 'avg' or '', "
                                 f"got {global_pool!r}")
            self.global_pool = global_pool
        super().reset_classifier(num_classes)

    def layer_groups(self):
        """stem, blocks.0 … blocks.N-1, norm + head: bottom to top."""
        return ([("stem", [self.stem])] + [(f"blocks.{i}", [b]) for i, b in enumerate(self.blocks)]
                + [("head", [self.norm, self.head])])


def _mixer(defaults: dict, kwargs: dict) -> MlpMixer:
    return MlpMixer(**{**defaults, **kwargs})


@register_model
def mixer_s32_224(**kwargs) -> MlpMixer:
    """Mixer-S/32, 224×224 (timm names; 19.1 M parameters at 1000 classes)."""
    return _mixer(dict(patch_size=32, num_blocks=8, embed_dim=512), kwargs)


@register_model
def mixer_s16_224(**kwargs) -> MlpMixer:
    """Mixer-S/16, 224×224 (timm names; 18.5 M parameters at 1000 classes)."""
    return _mixer(dict(patch_size=16, num_blocks=8, embed_dim=512), kwargs)


@register_model
def mixer_b16_224(**kwargs) -> MlpMixer:
    """Mixer-B/16, 224×224 (timm names; 59.9 M parameters at 1000 classes)."""
    return _mixer(dict(patch_size=16, num_blocks=12, embed_dim=768), kwargs)


@register_model
def mixer_l16_224(**kwargs) -> MlpMixer:
    """Mixer-L/16, 224×224 (timm names; 208 M parameters at 1000 classes)."""
    return _mixer(dict(patch_size=16, num_blocks=24, embed_dim=1024), kwargs)


@register_model
def mixer_tiny(**kwargs) -> MlpMixer:
    """Small Mixer for 32×32 images (patch 4, dim 128, 4 blocks; 0.57 M parameters; img_size=28 for MNIST)."""
    return _mixer(dict(img_size=32, patch_size=4, num_blocks=4, embed_dim=128, num_classes=10), kwargs)


@register_model
def mixer_nano(**kwargs) -> MlpMixer:
    """Small Mixer for 8×8 images (patch 2, dim 64, 4 blocks; 0.14 M parameters)."""
    return _mixer(dict(img_size=8, patch_size=2, num_blocks=4, embed_dim=64, num_classes=10), kwargs)
