"""Double descent: test error peaks where the model can just fit the training set, and falls again.

Classical learning theory draws a U: more parameters first fit the signal better, then fit the
noise. Over-parametrised networks go past the U's right side and their test error comes down
again (Belkin et al. 2019). The peak sits at the interpolation threshold — the smallest model that
can fit every training label — because there the one solution that fits is forced through the
noise with nothing left over to keep it small; beyond it, of the many solutions that fit, the
minimum-norm one (what least squares, or gradient descent from a small start, returns) is smooth.

(a) Random ReLU features on the 8×8 digits, n = 500 training images, the read-out fitted by
    minimum-norm least squares on one-hot targets, the number of features N from 0.05 n to 16 n.
    Expect: the test squared error spikes at N = n (orders of magnitude), training error is 0
    from N = n on, and the most over-parametrised model beats the best under-parametrised one.
(b) Full run only: a one-hidden-layer MLP on MNIST-1D (1000 training signals, 15 % of their
    labels replaced at random), trained by Adam on cross-entropy long enough to fit what it can,
    hidden width swept. Expect a test-error bump near parameters ≈ training samples.
(c) The same sweep with clean labels: the bump is much lower — label noise is what the
    interpolating model is forced to fit, so noise makes the peak.
"""

from __future__ import annotations

import numpy as np

import ferrograd as fg
from ferrograd.nn import functional as F

from ferrograd.recipes._common import Recipe, check, figure
from ._random_features import digits_arrays, feature_grid, fit_predict, mark_threshold, standardize

N_TRAIN = 500  # digits used for fitting in (a); the other 1297 are the test set


def random_features_sweep(r: Recipe, quick: bool) -> dict:
    """(a): test / train squared error and test 0-1 error against N, averaged over feature draws."""
    x, y, onehot = digits_arrays()
    perm = r.rng.permutation(len(x))
    tr, te = perm[:N_TRAIN], perm[N_TRAIN:]
    x_tr, x_te = standardize(x[tr], x[te])
    grid = feature_grid(N_TRAIN, 0.05, 16, 10 if quick else 18)
    draws = 2 if quick else 5  # independent feature draws per N, averaged (the spike is one draw's luck otherwise)
    curves = {"test_mse": [], "train_mse": [], "test_error": []}
    for n_features in r.progress(grid, desc="random features"):
        mse, train_mse, err = [], [], []
        for _ in range(draws):
            p_tr, p_te = fit_predict(x_tr, onehot[tr], [x_tr, x_te], n_features, r.rng)
            mse.append(((p_te - onehot[te]) ** 2).sum(1).mean())  # squared loss summed over the 10 outputs
            train_mse.append(((p_tr - onehot[tr]) ** 2).sum(1).mean())
            err.append((p_te.argmax(1) != y[te]).mean())
        curves["test_mse"].append(float(np.mean(mse)))
        curves["train_mse"].append(float(np.max(train_mse)))  # the worst draw: "0" must hold for each
        curves["test_error"].append(float(np.mean(err)))
    return {"x": [int(v) for v in grid], "x_label": "number of random features N", "curves": curves,
            "threshold": N_TRAIN}


def mnist1d_width_sweep(r: Recipe, noise: float, widths, n_train: int = 1000, steps: int = 1500) -> dict:
    """(b)/(c): one-hidden-layer MLPs 40 -> h -> 10 on n_train MNIST-1D signals with a fraction
    `noise` of the training labels replaced by a different random class; full-batch Adam on
    cross-entropy. Test error on 1000 clean held-out signals."""
    from ferrograd.data.datasets import load_mnist1d

    data = load_mnist1d()
    k = data.info["train_size"]
    x, y = data.x.numpy(), data.y.numpy()
    x_tr, y_tr, x_te, y_te = x[:n_train], y[:n_train].copy(), x[k:], y[k:]
    flip = r.rng.random(n_train) < noise
    y_tr[flip] = (y_tr[flip] + r.rng.integers(1, 10, flip.sum())) % 10  # a wrong class, uniformly
    xt, yt, xe = fg.tensor(x_tr), fg.tensor(y_tr), fg.tensor(x_te)
    curves = {"test_error": [], "train_error": [], "test_loss": []}
    params = []
    for h in r.progress(widths, desc=f"MLP widths, {noise:.0%} noise"):
        model = fg.nn.Sequential(fg.nn.Linear(40, h), fg.nn.ReLU(), fg.nn.Linear(h, 10))
        opt = fg.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(steps):  # full batch: no SGD noise, the sweep measures capacity alone
            opt.zero_grad()
            loss = F.cross_entropy(model(xt), yt)
            loss.backward()
            opt.step()
        with fg.no_grad():
            train_pred = model(xt).numpy().argmax(1)
            out = model(xe)
            test_loss = F.cross_entropy(out, fg.tensor(y_te)).item()
        params.append(sum(p.numel() for p in model.parameters()))
        curves["train_error"].append(float((train_pred != y_tr).mean()))
        curves["test_error"].append(float((out.numpy().argmax(1) != y_te).mean()))
        curves["test_loss"].append(float(test_loss))
    return {"x": [int(p) for p in params], "x_label": "parameters", "curves": curves, "threshold": n_train,
            "widths": [int(h) for h in widths]}


def plot(r: Recipe, parts: dict) -> None:
    rf = parts["random_features"]
    fig, axes = figure(1, 1 + ("mlp_noisy" in parts), figsize=(5 + 5 * ("mlp_noisy" in parts), 3.6), squeeze=False)
    ax = axes[0, 0]
    ax.plot(rf["x"], rf["curves"]["test_mse"], marker="o", label="test squared error")
    ax.plot(rf["x"], np.maximum(rf["curves"]["train_mse"], 1e-12), marker=".", label="train squared error (floored at 1e-12)")
    ax.plot(rf["x"], rf["curves"]["test_error"], marker="s", label="test 0-1 error")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"{rf['x_label']} (n = {rf['threshold']} training digits)")
    ax.set_title("(a) random ReLU features, min-norm least squares")
    mark_threshold(ax, rf["threshold"], "interpolation threshold N = n")
    ax.legend(fontsize=7, loc="lower left")
    if "mlp_noisy" in parts:
        ax = axes[0, 1]
        for key, label in (("mlp_noisy", "15 % label noise"), ("mlp_clean", "no label noise")):
            p = parts[key]
            ax.plot(p["x"], p["curves"]["test_error"], marker="o", label=f"test error, {label}")
            ax.plot(p["x"], p["curves"]["train_error"], marker=".", ls=":", label=f"train error, {label}")
        ax.set_xscale("log")
        ax.set_xlabel(f"parameters of the MLP (n = {parts['mlp_noisy']['threshold']} training signals)")
        ax.set_ylabel("0-1 error")
        ax.set_title("(b, c) MLP width sweep on MNIST-1D")
        mark_threshold(ax, parts["mlp_noisy"]["threshold"], "parameters = n")
        ax.legend(fontsize=7, loc="center right")
    r.save_figure(fig, "curves.png")


def run(seed: int = 0, quick: bool = False, out_dir=None) -> dict:
    r = Recipe("double_descent", seed, out_dir)

    # 1. (a) The random-features sweep (quick and full).
    parts = {"random_features": random_features_sweep(r, quick)}
    rf = parts["random_features"]
    n, grid, c = rf["threshold"], np.array(rf["x"]), rf["curves"]
    peak_n = int(grid[int(np.argmax(c["test_mse"]))])
    under = grid < n
    best_under = float(np.min(np.array(c["test_mse"])[under]))
    metrics = {"rf_peak_features": peak_n, "rf_peak_over_n": peak_n / n,
               "rf_peak_test_mse": float(np.max(c["test_mse"])), "rf_best_under_test_mse": best_under,
               "rf_last_test_mse": c["test_mse"][-1], "rf_last_test_error": c["test_error"][-1],
               "rf_best_under_test_error": float(np.min(np.array(c["test_error"])[under])),
               "rf_max_train_mse_past_n": float(np.max(np.array(c["train_mse"])[grid >= n]))}
    # Quick seeds 0-4 gave: the test-mse peak at N = n every seed (58-239, against 0.27-0.28 for the
    # best under-parametrised N); train mse past n ~0 (round-off); last / best-under test mse
    # 0.44-0.46 (0-1 error 0.022-0.026 at 16 n against 0.054-0.058). Full seed 0: peak at n too.
    checks = [
        # the peak's N within 1.5x of n (the grid has n itself; a neighbour would still pass)
        check("rf_peak_over_n", peak_n / n, "<=", 1.5),
        check("rf_n_over_peak", n / peak_n, "<=", 1.5),
        check("rf_max_train_mse_past_n", metrics["rf_max_train_mse_past_n"], "<=", 1e-6),
        check("rf_last_test_mse / rf_best_under_test_mse", c["test_mse"][-1] / best_under, "<", 1.0),
    ]

    # 2. (b), (c) The MLP width sweeps on MNIST-1D, with and without label noise (full run only).
    if not quick:
        widths = [2, 4, 8, 16, 24, 32, 64, 128, 256]  # params 51h + 10: n = 1000 at h ≈ 20
        parts["mlp_noisy"] = mnist1d_width_sweep(r, 0.15, widths)
        parts["mlp_clean"] = mnist1d_width_sweep(r, 0.0, widths)
        for key in ("mlp_noisy", "mlp_clean"):
            err = parts[key]["curves"]["test_error"]
            i = int(np.argmax(err))
            metrics.update({f"{key}_peak_test_error": err[i], f"{key}_peak_params": parts[key]["x"][i],
                            f"{key}_first_test_error": err[0], f"{key}_last_test_error": err[-1]})
        noisy = parts["mlp_noisy"]["curves"]["test_error"]
        inner = max(noisy[1:-1])
        metrics["mlp_noisy_inner_peak_test_error"] = inner
        # Full seeds 0-2 gave: noisy inner peak 0.728-0.741 at 826-1642 params, against first 0.707-0.720 and
        # last 0.659-0.688 (thin margins: 0.015-0.034 over the first); clean peak 0.711-0.721 (mostly the
        # smallest width), its last 0.561-0.586. Train error 0 from ~1600 params (noisy) / ~1200 (clean).
        checks += [
            check("mlp_noisy_inner_peak - first_test_error", inner - noisy[0], ">", 0.0),
            check("mlp_noisy_inner_peak - last_test_error", inner - noisy[-1], ">", 0.0),
            check("mlp_noisy_peak - mlp_clean_peak", metrics["mlp_noisy_peak_test_error"]
                  - metrics["mlp_clean_peak_test_error"], ">", 0.0),
        ]

    # 3. Plot and result.
    plot(r, parts)
    res = r.finish(metrics, checks)
    res["parts"] = {k: {"x": v["x"], "x_label": v["x_label"], "curves": v["curves"]} for k, v in parts.items()}
    res.update(res["parts"]["random_features"])
    return res
