"""What bias_variance and double_descent share: random ReLU features of the 8×8 digits, the
minimum-norm least-squares fit on them, and the squared-loss bias/variance estimator.

A random-features model is a two-layer network whose first layer is drawn once and frozen:
phi(x) = relu(x W / sqrt(d)) with W ~ N(0, 1), N columns. Only the linear read-out is fitted, by
least squares on one-hot targets. With N < n features there are fewer unknowns than equations
(under-parametrised: the least-squares fit); with N >= n the system can be solved exactly and
`np.linalg.lstsq` returns the solution of smallest norm — the same one gradient descent from zero
reaches. At N = n the one exact solution is forced through noise with a nearly singular feature
matrix, which is where test error and variance blow up (the interpolation threshold).
"""

from __future__ import annotations

import numpy as np


def digits_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All 1797 digits as float64 (x (1797, 64) in [0, 1], y (1797,) int, one-hot (1797, 10))."""
    from ferrograd.data.datasets import load_digits

    data = load_digits()
    x = data.x.numpy().reshape(len(data), -1).astype(np.float64)
    y = data.y.numpy().astype(np.int64)
    return x, y, np.eye(10)[y]


def standardize(x_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Centre and scale every pixel by the training set's statistics, then each image to mean square 1.

    Why: raw digits are non-negative, so a weight column that is mostly negative gives a feature
    that is 0 on every image (dead), and the feature matrix loses rank below N = n — the peak
    then smears over N < n. Centred inputs keep about half of every feature active. Pixels that
    barely vary (the border) get a floor on their scale instead of being blown up.
    """
    mean, scale = x_train.mean(0), np.maximum(x_train.std(0), 0.1)
    out = []
    for x in (x_train, *others):
        z = (np.asarray(x, dtype=np.float64) - mean) / scale
        out.append(z / np.sqrt((z ** 2).mean(1, keepdims=True) + 1e-12))
    return out


def relu_features(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """phi(x) = relu(x @ w / sqrt(d)): x (m, d), w (d, N) -> (m, N)."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"relu_features: need x (m, d) and w (d, N), got x {x.shape} and w {w.shape}")
    return np.maximum(x @ w / np.sqrt(x.shape[1]), 0.0)


def min_norm_lstsq(phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares coefficients of smallest norm: argmin |beta| among argmin |phi beta - y|.

    Under-parametrised (N < n) this is the ordinary least-squares fit; over-parametrised it is the
    minimum-norm interpolator. `lstsq` (SVD) cuts singular values below eps * max(n, N) * s_max,
    so the nearly singular square case N = n still solves to round-off.
    """
    phi, y = np.asarray(phi, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if phi.ndim != 2 or y.shape[:1] != phi.shape[:1]:
        raise ValueError(f"min_norm_lstsq: need phi (n, N) and y (n, ...) with the same n, "
                         f"got phi {phi.shape} and y {y.shape}")
    return np.linalg.lstsq(phi, y, rcond=None)[0]


def fit_predict(x_train, y_train, x_eval: list, n_features: int, rng: np.random.Generator) -> list:
    """Draw W (d, n_features) from rng, fit the read-out on (x_train, y_train) and return the
    predictions on each array in x_eval. n_features = 0 is the empty model (predicts 0)."""
    d = x_train.shape[1]
    if n_features == 0:
        return [np.zeros((len(x), *np.shape(y_train)[1:])) for x in x_eval]
    w = rng.standard_normal((d, int(n_features)))
    phi = relu_features(x_train, w)
    n = len(phi)
    if n_features >= 2 * n:
        # Far past the threshold phi phi^T (n, n) is well conditioned, and the min-norm solution
        # phi^T (phi phi^T)^-1 y costs one (n, n) solve instead of an SVD of (n, N): ~5x faster.
        beta = phi.T @ np.linalg.solve(phi @ phi.T, np.asarray(y_train, dtype=np.float64))
    else:
        beta = min_norm_lstsq(phi, y_train)
    return [relu_features(x, w) @ beta for x in x_eval]


def bias_variance(preds, target) -> dict:
    """Squared-loss bias², variance and risk of T models' predictions against a fixed target.

    preds (T, m, ...): model t's prediction on test point i (trailing dims, e.g. the 10 outputs of
    a one-hot regression, are summed); target (m, ...): the noise-free value (the true function, or
    the one-hot label as in Yang et al. 2020, where label noise counts into bias²). With
    f_bar = the mean over the T models, averaged over the test points:
      risk     = mean_t |f_t - y|²                      (the measured squared error)
      variance = T / (T - 1) * mean_t |f_t - f_bar|²    (unbiased for the variance over training sets)
      bias2    = risk - variance = |f_bar - y|² - variance / T   (unbiased for |E f - y|²)
    so risk = bias2 + variance holds exactly; add the label noise σ² for the risk on noisy labels.
    """
    preds, target = np.asarray(preds, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if preds.ndim < 2 or preds.shape[0] < 2 or preds.shape[1:] != target.shape:
        raise ValueError(f"bias_variance: need preds (T >= 2, *target.shape) and target (m, ...), "
                         f"got preds {preds.shape} and target {target.shape}")
    t = preds.shape[0]
    per_point = lambda a: a.reshape(a.shape[0], a.shape[1], -1).sum(-1).mean()  # noqa: E731  sum outputs, mean the rest
    risk = per_point((preds - target) ** 2)
    variance = t / (t - 1) * per_point((preds - preds.mean(0)) ** 2)
    return {"bias2": float(risk - variance), "variance": float(variance), "risk": float(risk)}


def feature_grid(n: int, lo: float, hi: float, num: int) -> list[int]:
    """num feature counts geometric from lo * n to hi * n, with n itself (the threshold) included."""
    grid = np.unique(np.round(n * np.geomspace(lo, hi, num)).astype(int))
    return sorted(set(grid.tolist()) | {int(n)})


def mark_threshold(ax, threshold, label="interpolation threshold"):
    """The lecture's labels on a sweep plot: the threshold as a vertical line, the two regimes
    either side of it shaded and named. Call after plotting (it reads the x-limits)."""
    lo, hi = ax.get_xlim()
    ax.axvspan(lo, threshold, color="tab:blue", alpha=0.06)
    ax.axvspan(threshold, hi, color="tab:orange", alpha=0.06)
    ax.axvline(threshold, color="k", ls="--", lw=1, label=label)
    ax.set_xlim(lo, hi)
    ax.text(0.02, 0.97, "under-parametrised", transform=ax.transAxes, va="top", fontsize=8)
    ax.text(0.98, 0.97, "over-parametrised", transform=ax.transAxes, va="top", ha="right", fontsize=8)
