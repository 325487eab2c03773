"""The demo job: train a small MLP on scikit-learn's digits and report test accuracy per epoch."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F


def load_digits_split(seed: int = 0, test_fraction: float = 0.25):
    """Digits (1797 8×8 images, 10 classes) scaled to [0, 1], split with a fixed seed."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def accuracy(model, x, y) -> float:
    with fg.no_grad():
        pred = model(fg.from_numpy(x)).argmax(1).numpy()
    return float((pred == y).mean())


def run(epochs: int = 15, batch_size: int = 32, lr: float = 3e-3, seed: int = 0, quiet: bool = False) -> list[float]:
    fg.manual_seed(seed)
    x_train, y_train, x_test, y_test = load_digits_split(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = fg.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    history = []
    steps_per_epoch = -(-len(x_train) // batch_size)
    bar = tqdm(total=epochs * steps_per_epoch, desc="training", disable=quiet)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(fg.from_numpy(x_train[idx])), fg.from_numpy(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            bar.update()
            bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}", refresh=False)
        acc = accuracy(model, x_test, y_test)
        history.append(acc)
        if not quiet:
            tqdm.write(f"epoch {epoch:2d}  loss {loss.item():.4f}  test accuracy {acc:.4f}")
    bar.close()
    return history
