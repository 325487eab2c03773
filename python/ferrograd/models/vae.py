"""Variational autoencoders (Kingma & Welling), MLP and convolutional, with the negative ELBO as a loss.

    VAE (MLP):  x (N, *) -flatten-> encoder: [Linear -> act] * len(hidden_dims) -> h
                -> fc_mu(h), fc_logvar(h) -> z = mu + eps * exp(logvar / 2), eps ~ N(0, I)
                -> decoder: [Linear -> act] mirrored -> Linear -> [output act] -> reshaped like x
    ConvVAE:    x (N, C, H, W) -> encoder: [Conv2d(k, stride 2) -> act] * len(channels) -> Flatten -> h
                -> fc_mu, fc_logvar -> z -> decoder: Linear -> act -> Unflatten
                -> [ConvTranspose2d(k, stride 2) -> act] ... -> [output act] -> (N, C, H, W)

Keys: encoder.<i>.*, fc_mu.*, fc_logvar.*, decoder.<i>.* — the same torch.nn modules in
tests/fixtures/gen/models/gen_small_families.py. The defaults of `vae_mlp` are pytorch/examples'
VAE (784 -> 400 -> 20), whose fc1/fc21/fc22/fc3/fc4 are here encoder.0/fc_mu/fc_logvar/decoder.0/decoder.2.

- forward(x, eps=None, generator=None) -> the tuple (recon, mu, logvar), as the PyTorch example;
  it samples z in train and eval mode (the ELBO is an expectation over q(z|x)); `eps` (N, latent_dim)
  fixes the noise, `generator` draws it reproducibly.
- reconstruct(x) -> decode(mu): the deterministic reconstruction. sample(n) -> decode(z), z ~ N(0, I).
- forward_features(x) -> mu, the posterior mean: the representation for downstream use.
- vae_loss(recon, x, mu, logvar, beta=1.0, reconstruction="bce" | "mse", reduction="mean"): the
  negative ELBO, reconstruction error summed over features + beta * KL(q(z|x) || N(0, I)) summed
  over latent units; reduction="mean" averages over the batch (per-example, so the scale does not
  follow the batch size), "sum" sums over it (exactly the PyTorch example's loss_function).
  "bce" needs a decoder output in [0, 1] (output_activation="sigmoid"); "mse" is the squared error
  (a unit-variance Gaussian decoder up to a factor 1/2 and a constant).
"""

from __future__ import annotations

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor
from ._base import ZooModel
from ._registry import register_model
from .autoencoder import (act_layers, check_conv_geometry, check_input, check_int, check_ints, conv_decoder,
                          conv_encoder, mlp_stack, with_name)


def vae_loss(recon: Tensor, x: Tensor, mu: Tensor, logvar: Tensor, beta: float = 1.0, reconstruction: str = "bce",
             reduction: str = "mean") -> Tensor:
    """Negative ELBO: sum over features of the reconstruction error + beta * KL, mean (or sum) over the batch."""
    if reconstruction not in ("bce", "mse"):
        raise ValueError(f"vae_loss: reconstruction must be 'bce' or 'mse', got {reconstruction!r}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"vae_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    if not isinstance(beta, (int, float)) or isinstance(beta, bool) or beta < 0:
        raise ValueError(f"vae_loss: beta must be a number >= 0, got {beta!r}")
    for name, t in (("recon", recon), ("x", x), ("mu", mu), ("logvar", logvar)):
        if not isinstance(t, Tensor):
            raise TypeError(f"vae_loss: {name} must be a Tensor, got {type(t).__name__}")
    if tuple(recon.shape) != tuple(x.shape):
        raise ValueError(f"vae_loss: recon and x must have the same shape, got {tuple(recon.shape)} and "
                         f"{tuple(x.shape)}")
    if tuple(mu.shape) != tuple(logvar.shape) or mu.ndim != 2 or mu.shape[0] != x.shape[0]:
        raise ValueError(f"vae_loss: mu and logvar must both be (N, latent_dim) with N = {x.shape[0]}, got "
                         f"{tuple(mu.shape)} and {tuple(logvar.shape)}")
    if reconstruction == "bce":
        rec = F.binary_cross_entropy(recon, x, reduction="sum")
    else:
        rec = F.mse_loss(recon, x, reduction="sum")
    kld = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()  # Appendix B of Kingma & Welling
    total = rec + beta * kld
    return total / x.shape[0] if reduction == "mean" else total


class _VAEBase(ZooModel):
    default_cfg = dict(classifier=None, family="vae")

    def _flat(self, x):
        return x

    def encode(self, x: Tensor):
        """(mu, logvar), each (N, latent_dim)."""
        self._check(x)
        h = self.encoder(self._flat(x))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: Tensor) -> Tensor:
        if not isinstance(z, Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"{self.model_name}.decode: z must be (N, {self.latent_dim}), got {got}")
        return self.decoder(z).view(z.shape[0], *self.input_shape)

    def reparameterize(self, mu: Tensor, logvar: Tensor, eps: Tensor | None = None, generator=None) -> Tensor:
        """z = mu + eps * exp(logvar / 2); eps ~ N(0, I) from `generator` unless given."""
        if eps is None:
            from .. import randn

            eps = randn(*mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        elif not isinstance(eps, Tensor) or tuple(eps.shape) != tuple(mu.shape):
            got = tuple(eps.shape) if isinstance(eps, Tensor) else type(eps).__name__
            raise ValueError(f"{self.model_name}: eps must be a Tensor of mu's shape {tuple(mu.shape)}, got {got}")
        return mu + eps * (0.5 * logvar).exp()

    def forward(self, x: Tensor, eps: Tensor | None = None, generator=None):
        """(recon like x, mu, logvar)."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, eps, generator)).view(*x.shape), mu, logvar

    def forward_features(self, x: Tensor) -> Tensor:
        return self.encode(x)[0]

    def reconstruct(self, x: Tensor) -> Tensor:
        """decode(mu): the reconstruction without sampling."""
        return self.decode(self.encode(x)[0]).view(*x.shape)

    def sample(self, n: int, generator=None, device=None) -> Tensor:
        """n draws from the model: decode(z), z ~ N(0, I), shape (n, *input_shape)."""
        from .. import no_grad, randn

        check_int(f"{self.model_name}.sample", "n", n)
        w = self.fc_mu.weight
        with no_grad():
            z = randn(n, self.latent_dim, generator=generator, dtype=w.dtype, device=device or w.device)
            return self.decode(z)

    def loss(self, x: Tensor, beta: float = 1.0, reconstruction: str = "bce", reduction: str = "mean",
             eps: Tensor | None = None, generator=None) -> Tensor:
        """vae_loss(*forward(x), x): the negative ELBO of one batch."""
        recon, mu, logvar = self(x, eps, generator)
        return vae_loss(recon, x, mu, logvar, beta, reconstruction, reduction)

    def layer_groups(self):
        return [("encoder", [self.encoder]), ("latent", [self.fc_mu, self.fc_logvar]), ("decoder", [self.decoder])]


class VAE(_VAEBase):
    def __init__(self, input_dim: int = 784, hidden_dims=(400,), latent_dim: int = 20, activation: str = "relu",
                 output_activation: str | None = "sigmoid"):
        super().__init__()
        self.model_name = name = "VAE"
        check_int(name, "input_dim", input_dim)
        hidden = check_ints(name, "hidden_dims", hidden_dims, allow_empty=False)
        check_int(name, "latent_dim", latent_dim)
        self.input_dim, self.latent_dim, self.num_features = input_dim, latent_dim, latent_dim
        self.input_shape = (input_dim,)
        self.encoder = nn.Sequential(*mlp_stack(name, [input_dim, *hidden], activation, activation, "activation"))
        self.fc_mu = nn.Linear(hidden[-1], latent_dim)
        self.fc_logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = nn.Sequential(*mlp_stack(name, [latent_dim, *reversed(hidden), input_dim], activation,
                                                output_activation, "output_activation"))

    def _check(self, x):
        check_input(self.model_name, x, (self.input_dim,), "features")

    def _flat(self, x):
        return x.flatten(1)


class ConvVAE(_VAEBase):
    def __init__(self, in_channels: int = 1, img_size: int = 28, channels=(32, 64), latent_dim: int = 16,
                 kernel_size: int = 3, activation: str = "relu", output_activation: str | None = "sigmoid"):
        super().__init__()
        self.model_name = name = "ConvVAE"
        s = check_conv_geometry(name, in_channels, img_size, channels, kernel_size)
        check_int(name, "latent_dim", latent_dim)
        self.in_channels, self.img_size = in_channels, img_size
        self.latent_dim, self.num_features = latent_dim, latent_dim
        self.input_shape = (in_channels, img_size, img_size)
        flat = channels[-1] * s * s
        self.encoder = nn.Sequential(*conv_encoder(name, in_channels, channels, kernel_size, activation), nn.Flatten())
        self.fc_mu = nn.Linear(flat, latent_dim)
        self.fc_logvar = nn.Linear(flat, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, flat), *act_layers(name, "activation", activation),
                                     nn.Unflatten(1, (channels[-1], s, s)),
                                     *conv_decoder(name, in_channels, channels, kernel_size, activation,
                                                   output_activation))

    def _check(self, x):
        check_input(self.model_name, x, self.input_shape, "images")


@register_model
def vae_mlp(**kwargs) -> VAE:
    """MLP VAE (pytorch/examples sizes: 784 -> 400 -> 20)."""
    return with_name(VAE(**kwargs), "vae_mlp")


@register_model
def vae_conv(**kwargs) -> ConvVAE:
    """Convolutional VAE (1x28x28, 32/64 channels, 16-d latent)."""
    return with_name(ConvVAE(**kwargs), "vae_conv")


__all__ = ["VAE", "ConvVAE", "vae_loss", "vae_mlp", "vae_conv"]
