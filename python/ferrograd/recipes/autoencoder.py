"""Auto-encoders on scikit-learn's 8×8 digits: under-complete against PCA, over-complete that
denoises instead of copying, and codes as features.

1. Under-complete: a 64 → 128 → k → 128 → 64 MLP auto-encoder against PCA with the same k
   components (numpy SVD). PCA is the best *linear* k-dimensional code; a nonlinear
   encoder/decoder should reconstruct held-out digits at least as well (`ae_mse` ≤ `pca_mse`).
2. Over-complete: a 64 → 256 code could learn the identity and be useless. Training it as a
   *denoising* auto-encoder (the input is corrupted with Gaussian noise, the target is the clean
   image) forbids that: on noisy test digits its output is much closer to the clean digit than the
   noisy input itself is (what the identity would return).
3. Codes as features: a linear probe (multinomial logistic regression) on the k-dimensional codes
   against the same probe on the 64 raw pixels, trained on all training labels.
"""

from __future__ import annotations

import numpy as np

import ferrograd as fg
from ferrograd.data import DataLoader, TensorDataset
from ferrograd.data.datasets import load_digits
from ferrograd.nn import functional as F
from ferrograd.training import fit, linear_probe

from ._common import Recipe, check, figure


def pca_reconstruct(x_train: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Project x onto the top-k principal directions of x_train and map back (numpy SVD)."""
    mean = x_train.mean(0)
    _, _, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    v = vt[:k].T  # (D, k): orthonormal principal directions
    return (x - mean) @ v @ v.T + mean


def train_autoencoder(model, x_train, epochs, lr, seed, device):
    """Reconstruction training: (input, target) = (x, x); a denoising model corrupts the input
    itself in training mode, so the same loop trains both kinds."""
    loader = DataLoader(TensorDataset(x_train, x_train), batch_size=64, shuffle=True,
                        generator=fg.Generator().manual_seed(seed))
    opt = fg.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-5)
    sched = fg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    history = fit(model, F.mse_loss, opt, loader, epochs=epochs, scheduler=sched, log=lambda *_: None, device=device)
    return [h["train_loss"] for h in history]


def reconstruct(model, x: np.ndarray, device) -> np.ndarray:
    model.eval()  # eval mode: no input noise
    with fg.no_grad():
        return model(fg.tensor(x).to(device)).numpy()


def encode(model, x: np.ndarray, device) -> np.ndarray:
    model.eval()
    with fg.no_grad():
        return model.encode(fg.tensor(x).to(device)).numpy()


def run(seed: int = 0, quick: bool = False, device: str = "cpu", out_dir=None) -> dict:
    r = Recipe("autoencoder", seed, out_dir, device)

    # 1. Data: 1797 digits as 64-pixel vectors in [0, 1], a stratified 80/20 split.
    train, test = load_digits().split(test_fraction=0.2, seed=seed)
    x_train, y_train = train.tensors[0].flatten(1), train.tensors[1].numpy()
    x_test, y_test = test.tensors[0].flatten(1), test.tensors[1].numpy()
    xtr, xte = x_train.numpy(), x_test.numpy()

    # 2. PCA baseline with k components, and the under-complete auto-encoder with a k-dim code.
    k = 8
    pca_mse = float(((pca_reconstruct(xtr, xte, k) - xte) ** 2).mean())
    ae = fg.models.create_model("ae_mlp", input_dim=64, hidden_dims=[128], latent_dim=k).to(device)

    # 3.-4. Train it to reconstruct (MSE, AdamW, cosine schedule). On CI's software GPU
    #    (quick + wgpu) a step costs ~0.1 s, so that run trains for fewer epochs.
    epochs = 100 if not quick else 40 if device == "cpu" else 20
    ae_curve = train_autoencoder(ae, x_train, epochs, 3e-3, seed, device)
    ae_mse = float(((reconstruct(ae, xte, device) - xte) ** 2).mean())

    # Over-complete (64 -> 256 code) denoising auto-encoder: noisy input, clean target.
    noise_std = 0.3
    dae = fg.models.create_model("ae_mlp_denoising", input_dim=64, hidden_dims=[], latent_dim=256,
                                 latent_activation="relu", noise_std=noise_std).to(device)
    dae_epochs = 50 if not quick else 20 if device == "cpu" else 6
    dae_curve = train_autoencoder(dae, x_train, dae_epochs, 3e-3, seed + 1, device)
    noisy = (xte + noise_std * r.rng.standard_normal(xte.shape)).astype(np.float32)
    identity_mse = float(((noisy - xte) ** 2).mean())  # what a model that learned the identity returns
    denoised = reconstruct(dae, noisy, device)
    dae_mse = float(((denoised - xte) ** 2).mean())
    dae_clean_mse = float(((reconstruct(dae, xte, device) - xte) ** 2).mean())

    # 5. Codes as features: the same linear probe on the k-dim codes and on the raw pixels.
    code_acc = linear_probe(encode(ae, xtr, device), y_train, encode(ae, xte, device), y_test)
    raw_acc = linear_probe(xtr, y_train, xte, y_test)

    # 6. Plots: training curves; test digits, their PCA and AE reconstructions; denoising.
    fig, ax = figure(figsize=(5, 3))
    ax.plot(ae_curve, label=f"under-complete AE (k={k})")
    ax.plot(dae_curve, label="denoising AE (256)")
    ax.axhline(pca_mse, ls="--", c="gray", label=f"PCA k={k} (test)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("train MSE")
    ax.legend()
    r.save_figure(fig, "loss.png")
    rows = [("test", xte), (f"PCA k={k}", pca_reconstruct(xtr, xte, k)), (f"AE k={k}", reconstruct(ae, xte, device)),
            (f"noisy σ={noise_std}", noisy), ("denoised", denoised)]
    fig, axes = figure(len(rows), 10, figsize=(10, len(rows) * 1.1))
    for i, (label, imgs) in enumerate(rows):
        for j in range(10):
            axes[i, j].imshow(np.clip(imgs[j].reshape(8, 8), 0, 1), cmap="gray_r", vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        axes[i, 0].set_ylabel(label, fontsize=8)
    r.save_figure(fig, "reconstructions.png")
    r.save_checkpoint("checkpoint.safetensors", ae, step=epochs)

    # 7. Checks.
    metrics = {"ae_mse": ae_mse, "pca_mse": pca_mse, "k": k, "dae_noisy_mse": dae_mse,
               "identity_noisy_mse": identity_mse, "dae_clean_mse": dae_clean_mse,
               "code_probe_acc": code_acc, "raw_probe_acc": raw_acc}
    # Seeds 0-4 gave: ae_mse / pca_mse 0.51-0.53 (full), 0.60-0.63 (quick); dae_noisy_mse /
    # identity_mse 0.18-0.20 (full), 0.21-0.22 (quick); code_probe_acc 0.89-0.93 (full),
    # 0.88-0.92 (quick) against raw_probe_acc 0.96-0.98. Quick + wgpu (20 and 6 epochs) gave
    # 0.72-0.78, 0.27-0.29 and 0.88-0.91.
    checks = [
        check("ae_mse", ae_mse, "<=", pca_mse),
        # the over-complete code does not copy: it removes most of the noise the identity would keep
        check("dae_noisy_mse / identity_mse", dae_mse / identity_mse, "<=", 0.5),
        # k = 8 numbers per digit still separate the classes linearly, far above chance (0.1)
        check("code_probe_acc", code_acc, ">=", 0.8),
    ]
    return r.finish(metrics, checks)
