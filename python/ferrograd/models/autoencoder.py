"""Autoencoders: MLP and convolutional; under- or over-complete; denoising and sparse variants.

    Autoencoder (MLP):  x (N, *) -flatten-> encoder: [Linear -> act] * len(hidden_dims) -> Linear -> [latent act]
                        -> z (N, latent_dim) -> decoder: mirror image -> [output act] -> reshaped like x
    ConvAutoencoder:    x (N, C, H, W) -> encoder: [Conv2d(k, stride 2) -> act] * len(channels)
                        [-> Flatten -> Linear(latent_dim)] -> z -> decoder: [Linear -> act -> Unflatten]
                        -> [ConvTranspose2d(k, stride 2) -> act] * ... -> [output act] -> (N, C, H, W)

Both are `encoder` / `decoder` nn.Sequential, so the keys are encoder.<i>.weight, decoder.<i>.bias...
as the same torch.nn.Sequential stacks (tests/fixtures/gen/models/gen_small_families.py).
Under- or over-complete is the latent size against the input size: latent_dim < input_dim
(`ae_mlp`: 784 -> 32) or > it (`ae_mlp_sparse`: 784 -> 1024, where only the sparsity penalty keeps
it from copying). A ConvAutoencoder without latent_dim keeps a feature-map code (N, channels[-1],
H / 2^k, W / 2^k).

- forward(x) -> the reconstruction (shape of x); `encode(x)` -> z; `decode(z)` -> reconstruction;
  `forward_features(x)` is `encode(x)`.
- Denoising (noise_std > 0): in training mode only, forward and loss encode x + noise_std * noise,
  noise ~ N(0, 1) (or the `noise=` given); the target stays the clean x. Eval mode adds nothing.
- Sparse (sparsity="l1" | "kl"): `sparsity_loss(z)` is sparsity_weight times either the L1 activity
  penalty sum_j |z_j| (mean over the batch) or, for a sigmoid code (latent_activation="sigmoid"),
  sum_j KL(rho || rho_hat_j) with rho = sparsity_target and rho_hat_j the batch mean of unit j;
  `loss(x)` adds it to the reconstruction loss. Without sparsity it is 0.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor
from ._base import ZooModel
from ._registry import register_model

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "silu": nn.SiLU,
               "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}


# ---- building blocks shared with vae.py -------------------------------------------------------------
def check_int(model, name, v, low=1):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise TypeError(f"{model}: {name} must be an int, got {type(v).__name__} {v!r}")
    if v < low:
        raise ValueError(f"{model}: {name} must be >= {low}, got {v}")


def check_ints(model, name, vs, allow_empty=True):
    if not isinstance(vs, (list, tuple)) or (not vs and not allow_empty):
        raise TypeError(f"{model}: {name} must be a {'' if allow_empty else 'non-empty '}list of ints, got {vs!r}")
    for v in vs:
        check_int(model, name, v)
    return list(vs)


def act_layers(model, arg, name):
    """nn module for an activation name (None: no layer)."""
    if name is None:
        return []
    if name not in ACTIVATIONS:
        raise ValueError(f"{model}: {arg} must be one of {sorted(ACTIVATIONS)} or None, got {name!r}")
    return [ACTIVATIONS[name]()]


def mlp_stack(model, dims, act, last_act, last_arg):
    """Linear layers through `dims`, `act` between them, `last_act` (the argument `last_arg`) after the last."""
    layers = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        last = i == len(dims) - 2
        layers += act_layers(model, last_arg, last_act) if last else act_layers(model, "activation", act)
    return layers


def conv_encoder(model, in_channels, channels, k, act):
    """[Conv2d(k, stride 2, padding k // 2) -> act] per width: each halves H and W."""
    layers, prev = [], in_channels
    for c in channels:
        layers += [nn.Conv2d(prev, c, k, stride=2, padding=k // 2), *act_layers(model, "activation", act)]
        prev = c
    return layers


def conv_decoder(model, in_channels, channels, k, act, out_act):
    """The mirror of conv_encoder: ConvTranspose2d(k, stride 2, output_padding 1) doubles H and W."""
    layers, chans = [], [*reversed(channels), in_channels]
    for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
        layers.append(nn.ConvTranspose2d(a, b, k, stride=2, padding=k // 2, output_padding=1))
        last = i == len(chans) - 2
        layers += act_layers(model, "output_activation", out_act) if last else act_layers(model, "activation", act)
    return layers


def check_conv_geometry(model, in_channels, img_size, channels, kernel_size):
    check_int(model, "in_channels", in_channels)
    check_int(model, "img_size", img_size)
    check_ints(model, "channels", channels, allow_empty=False)
    check_int(model, "kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(f"{model}: kernel_size must be odd (stride-2 convs then halve the size exactly), "
                         f"got {kernel_size}")
    if img_size % 2 ** len(channels):
        raise ValueError(f"{model}: img_size must be divisible by 2**len(channels) = {2 ** len(channels)} "
                         f"(each stage halves it), got img_size={img_size}")
    return img_size // 2 ** len(channels)


def check_input(model, x, shape, what):
    """x must be a floating Tensor (N, *shape)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{model}: input must be a Tensor of {what}, got {type(x).__name__}")
    flat_ok = len(shape) == 1 and x.ndim >= 2 and math.prod(x.shape[1:]) == shape[0]  # (N, *) MLP input
    if x.ndim < 2 or (tuple(x.shape[1:]) != tuple(shape) and not flat_ok):
        raise ValueError(f"{model}: input must be {what} of shape (N, {', '.join(map(str, shape))}), "
                         f"got {tuple(x.shape)}")
    if np.dtype(x.dtype).kind != "f":
        raise TypeError(f"{model}: input must be floating point, got dtype {x.dtype}")


# ---- the autoencoders ------------------------------------------------------------------------------
class _AutoencoderBase(ZooModel):
    default_cfg = dict(classifier=None, family="autoencoder")

    def _init_variants(self, noise_std, sparsity, sparsity_weight, sparsity_target, latent_activation):
        name = self.model_name
        if not isinstance(noise_std, (int, float)) or isinstance(noise_std, bool) or noise_std < 0:
            raise ValueError(f"{name}: noise_std must be a number >= 0, got {noise_std!r}")
        if sparsity not in (None, "l1", "kl"):
            raise ValueError(f"{name}: sparsity must be None, 'l1' or 'kl', got {sparsity!r}")
        if sparsity == "kl" and latent_activation != "sigmoid":
            raise ValueError(f"{name}: sparsity='kl' compares mean activations in (0, 1) to sparsity_target: it needs "
                             f"latent_activation='sigmoid', got {latent_activation!r}")
        if not isinstance(sparsity_weight, (int, float)) or sparsity_weight < 0:
            raise ValueError(f"{name}: sparsity_weight must be a number >= 0, got {sparsity_weight!r}")
        if not isinstance(sparsity_target, (int, float)) or not 0 < sparsity_target < 1:
            raise ValueError(f"{name}: sparsity_target must lie in (0, 1), got {sparsity_target!r}")
        self.noise_std, self.sparsity = float(noise_std), sparsity
        self.sparsity_weight, self.sparsity_target = float(sparsity_weight), float(sparsity_target)

    def encode(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def decode(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def corrupt(self, x: Tensor, noise: Tensor | None = None) -> Tensor:
        """x + noise_std * noise in training mode when denoising; x otherwise."""
        if not (self.training and self.noise_std > 0 and isinstance(x, Tensor)):
            return x  # (encode reports a bad x)
        if noise is None:
            from .. import randn

            noise = randn(*x.shape, dtype=x.dtype, device=x.device)
        elif not isinstance(noise, Tensor) or tuple(noise.shape) != tuple(x.shape):
            got = tuple(noise.shape) if isinstance(noise, Tensor) else type(noise).__name__
            raise ValueError(f"{self.model_name}: noise must be a Tensor of the input's shape {tuple(x.shape)}, "
                             f"got {got}")
        return x + self.noise_std * noise

    def forward_features(self, x: Tensor) -> Tensor:
        """The code z = encode(x) (no noise)."""
        return self.encode(x)

    def forward(self, x: Tensor, noise: Tensor | None = None) -> Tensor:
        """The reconstruction of x (same shape); denoising models corrupt x first in training mode."""
        return self.decode(self.encode(self.corrupt(x, noise))).view(*x.shape)  # MLP: (N, D) back to x's shape

    def sparsity_loss(self, z: Tensor) -> Tensor:
        """sparsity_weight * (L1: sum_j |z_j|, batch mean; KL: sum_j KL(rho || mean_i z_ij)); 0 without sparsity."""
        z = z.flatten(1)  # (N, units)
        if self.sparsity is None:
            return (z * 0).sum()
        if self.sparsity == "l1":
            return self.sparsity_weight * z.abs().sum(1).mean()
        rho, tiny = self.sparsity_target, 1e-7
        rho_hat = z.mean(0).clamp(tiny, 1 - tiny)
        kl = rho * (rho / rho_hat).log() + (1 - rho) * ((1 - rho) / (1 - rho_hat)).log()
        return self.sparsity_weight * kl.sum()

    def loss(self, x: Tensor, reconstruction: str = "mse", noise: Tensor | None = None) -> Tensor:
        """Training loss of one batch: the mean reconstruction error against the clean x
        ("mse", or "bce" for targets in [0, 1] and a sigmoid output) + sparsity_loss(z)."""
        if reconstruction not in ("mse", "bce"):
            raise ValueError(f"{self.model_name}.loss: reconstruction must be 'mse' or 'bce', got {reconstruction!r}")
        z = self.encode(self.corrupt(x, noise))
        recon = self.decode(z).view(*x.shape)
        rec = F.mse_loss(recon, x) if reconstruction == "mse" else F.binary_cross_entropy(recon, x)
        return rec + self.sparsity_loss(z) if self.sparsity else rec

    def layer_groups(self):
        return [("encoder", [self.encoder]), ("decoder", [self.decoder])]


class Autoencoder(_AutoencoderBase):
    def __init__(self, input_dim: int = 784, hidden_dims=(256,), latent_dim: int = 32, activation: str = "relu",
                 latent_activation: str | None = None, output_activation: str | None = "sigmoid",
                 noise_std: float = 0.0, sparsity: str | None = None, sparsity_weight: float = 1e-3,
                 sparsity_target: float = 0.05):
        super().__init__()
        self.model_name = name = "Autoencoder"
        check_int(name, "input_dim", input_dim)
        hidden = check_ints(name, "hidden_dims", hidden_dims)
        check_int(name, "latent_dim", latent_dim)
        self._init_variants(noise_std, sparsity, sparsity_weight, sparsity_target, latent_activation)
        self.input_dim, self.latent_dim, self.num_features = input_dim, latent_dim, latent_dim
        self.encoder = nn.Sequential(*mlp_stack(name, [input_dim, *hidden, latent_dim], activation, latent_activation,
                                               "latent_activation"))
        self.decoder = nn.Sequential(*mlp_stack(name, [latent_dim, *reversed(hidden), input_dim], activation,
                                                output_activation, "output_activation"))

    def encode(self, x: Tensor) -> Tensor:
        """(N, input_dim) or (N, *) with input_dim elements -> z (N, latent_dim)."""
        check_input(self.model_name, x, (self.input_dim,), "features")
        return self.encoder(x.flatten(1))

    def decode(self, z: Tensor) -> Tensor:
        """z (N, latent_dim) -> (N, input_dim)."""
        return self.decoder(z)


class ConvAutoencoder(_AutoencoderBase):
    def __init__(self, in_channels: int = 1, img_size: int = 28, channels=(16, 32), latent_dim: int | None = None,
                 kernel_size: int = 3, activation: str = "relu", latent_activation: str | None = None,
                 output_activation: str | None = "sigmoid", noise_std: float = 0.0, sparsity: str | None = None,
                 sparsity_weight: float = 1e-3, sparsity_target: float = 0.05):
        super().__init__()
        self.model_name = name = "ConvAutoencoder"
        s = check_conv_geometry(name, in_channels, img_size, channels, kernel_size)
        self._init_variants(noise_std, sparsity, sparsity_weight, sparsity_target, latent_activation)
        self.in_channels, self.img_size, self.latent_dim = in_channels, img_size, latent_dim
        c = channels[-1]
        enc = conv_encoder(name, in_channels, channels, kernel_size, activation)
        dec = conv_decoder(name, in_channels, channels, kernel_size, activation, output_activation)
        if latent_dim is None:  # feature-map code: the last conv is followed by latent_activation instead
            enc = enc[:-1] if activation else enc
            enc += act_layers(name, "latent_activation", latent_activation)
            self.num_features = c
        else:
            check_int(name, "latent_dim", latent_dim)
            enc += [nn.Flatten(), nn.Linear(c * s * s, latent_dim),
                    *act_layers(name, "latent_activation", latent_activation)]
            dec = [nn.Linear(latent_dim, c * s * s), *act_layers(name, "activation", activation),
                   nn.Unflatten(1, (c, s, s)), *dec]
            self.num_features = latent_dim
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

    def encode(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> z: (N, latent_dim), or (N, channels[-1], H / 2^k, W / 2^k) without latent_dim."""
        check_input(self.model_name, x, (self.in_channels, self.img_size, self.img_size), "images")
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)


def with_name(model, name):
    model.model_name = name  # errors on bad input name the registered model
    return model


@register_model
def ae_mlp(**kwargs) -> Autoencoder:
    """MLP autoencoder, undercomplete (784 -> 256 -> 32)."""
    return with_name(Autoencoder(**kwargs), "ae_mlp")


@register_model
def ae_mlp_denoising(**kwargs) -> Autoencoder:
    """Denoising MLP autoencoder (Gaussian input noise, std 0.3, in training mode)."""
    kwargs.setdefault("noise_std", 0.3)
    return with_name(Autoencoder(**kwargs), "ae_mlp_denoising")


@register_model
def ae_mlp_sparse(**kwargs) -> Autoencoder:
    """Sparse overcomplete MLP autoencoder (784 -> 1024 ReLU code, L1 activity penalty)."""
    for k, v in dict(hidden_dims=(), latent_dim=1024, latent_activation="relu", sparsity="l1").items():
        kwargs.setdefault(k, v)
    return with_name(Autoencoder(**kwargs), "ae_mlp_sparse")


@register_model
def ae_conv(**kwargs) -> ConvAutoencoder:
    """Convolutional autoencoder (1x28x28 -> 32x7x7 feature-map code)."""
    return with_name(ConvAutoencoder(**kwargs), "ae_conv")
