"""Metric learning: learn the distance a k-nearest-neighbour classifier uses.

Two ways from the lecture, both trained only from which samples belong together:

- a Mahalanobis metric d(x, y) = (x − y)ᵀ W (x − y) with W = LᵀL (positive semi-definite by
  construction), learned from similar / dissimilar pairs with the contrastive loss
  d for similar pairs, max(0, margin − d) for dissimilar ones (F.hinge_embedding_loss is exactly
  that loss on the distances, with targets +1 / −1);
- a triplet network: an MLP embedding f trained with F.triplet_margin_loss so that an anchor is
  closer to a sample of its class than to one of another class by a margin.

The task. On clean digits Euclidean kNN is already ~98 % right, so there is nothing to win. We
append 64 nuisance features of pure noise, N(0, 0.5²) (a larger spread than any pixel's),
independent for every image: Euclidean distance weighs them like the pixels, ~77 % of a typical
distance is noise, and 5-NN drops to ~77–82 %. A learned metric can learn to ignore them (the
plot shows each feature's share of the learned distance), which is what metric learning is for:
deciding which directions of the input matter. This is a constructed task, made so that the
Euclidean metric is wrong; Euclidean kNN on the clean digits is reported as the ceiling.
"""

from __future__ import annotations

import numpy as np

import ferrograd as fg
from ferrograd.data.datasets import load_digits
from ferrograd.nn import functional as F

from ._common import Recipe, check, figure

PIXELS, NUISANCE_DIMS, NUISANCE_STD = 64, 64, 0.5
K = 5  # neighbours that vote
STEPS = {"quick": (100, 100), "full": (1000, 500)}  # (contrastive pair steps, triplet steps)


def knn_accuracy(train_x, train_y, test_x, test_y, k: int = K) -> float:
    """Share of test rows (numpy arrays) whose k nearest training rows, by Euclidean distance in
    the space given, vote for the right class (majority; ties go to the smallest label)."""
    dist = fg.cdist(fg.tensor(test_x), fg.tensor(train_x))                 # (N_test, N_train)
    nearest = dist.topk(k, dim=1, largest=False).indices.numpy()           # (N_test, k)
    votes = train_y[nearest]                                               # (N_test, k) labels
    counts = np.zeros((len(test_y), int(train_y.max()) + 1), dtype=np.int64)
    np.add.at(counts, (np.arange(len(test_y))[:, None], votes), 1)
    return float((counts.argmax(1) == test_y).mean())


def partners(y, anchors, same: np.ndarray, rng) -> np.ndarray:
    """For each anchor index, a random sample of the same class (same=True; rarely the anchor
    itself, which costs nothing) or of a random different class (same=False)."""
    classes = int(y.max()) + 1
    order = np.argsort(y, kind="stable")                                   # indices grouped by class
    start = np.searchsorted(y[order], np.arange(classes))
    count = np.bincount(y, minlength=classes)
    c = np.where(same, y[anchors], (y[anchors] + rng.integers(1, classes, len(anchors))) % classes)
    return order[start[c] + (rng.random(len(anchors)) * count[c]).astype(np.int64)]


def run(seed: int = 0, quick: bool = False, device: str = "cpu", out_dir=None) -> dict:
    r = Recipe("metric_learning", seed, out_dir, device)

    # 1. Data: digits flattened to 64 pixels in [0, 1], plus 64 nuisance features of noise.
    digits = load_digits()
    train_idx, test_idx = digits.split_indices(test_fraction=0.2, seed=seed)
    pixels = digits.x.numpy().reshape(len(digits), -1)
    noise = r.rng.normal(0.0, NUISANCE_STD, (len(digits), NUISANCE_DIMS)).astype(np.float32)
    x = np.concatenate([pixels, noise], axis=1)                            # (1797, 128)
    y = digits.y.numpy()
    x_train, y_train, x_test, y_test = x[train_idx], y[train_idx], x[test_idx], y[test_idx]
    D = x.shape[1]

    def batch(idx):
        return fg.tensor(x_train[idx]).to(device)

    # 2a. The Mahalanobis metric: L is a Linear map without bias (full rank, 128 × 128), so
    # d(x, y) = ‖L(x − y)‖² = (x − y)ᵀ LᵀL (x − y). It starts as the Euclidean metric (L = I),
    # scaled so that a typical squared distance is ~1, the margin of the loss.
    typical = np.median(((x_train[:500, None] - x_train[None, :500]) ** 2).sum(-1))
    metric = fg.nn.Linear(D, D, bias=False)
    with fg.no_grad():
        fg.nn.init.eye_(metric.weight)
        metric.weight.mul_(float(1.0 / np.sqrt(typical)))
    metric.to(device)

    # 2b. The triplet network: the zoo's MLP as an embedding, 128 → 128 → 32 (its "head" is the embedding).
    embed = fg.models.create_model("mlp", in_features=D, hidden_sizes=[128], num_classes=32).to(device)

    # 3. Losses and optimisers.
    pair_steps, triplet_steps = STEPS["quick" if quick else "full"]
    pairs_per_step = 512
    margin = 1.0
    opt_metric = fg.optim.Adam(metric.parameters(), lr=3e-3)
    opt_embed = fg.optim.Adam(embed.parameters(), lr=3e-3, weight_decay=1e-4)

    # 4. The loops: fresh random pairs (half similar) and triplets every step.
    pair_losses, triplet_losses = [], []
    for _ in r.progress(range(pair_steps), desc="contrastive pairs"):
        a = r.rng.integers(0, len(y_train), pairs_per_step)
        same = r.rng.random(pairs_per_step) < 0.5
        b = partners(y_train, a, same, r.rng)
        d = metric(batch(a) - batch(b)).pow(2).sum(1)                       # (x − y)ᵀ W (x − y)
        target = fg.tensor(np.where(same, 1.0, -1.0).astype(np.float32)).to(device)
        loss = F.hinge_embedding_loss(d, target, margin=margin)            # d if similar, max(0, m − d) if not
        opt_metric.zero_grad()
        loss.backward()
        opt_metric.step()
        pair_losses.append(loss.item())

    for _ in r.progress(range(triplet_steps), desc="triplets"):
        a = r.rng.integers(0, len(y_train), pairs_per_step)
        p = partners(y_train, a, np.ones(len(a), bool), r.rng)
        n = partners(y_train, a, np.zeros(len(a), bool), r.rng)
        loss = F.triplet_margin_loss(embed(batch(a)), embed(batch(p)), embed(batch(n)), margin=margin)
        opt_embed.zero_grad()
        loss.backward()
        opt_embed.step()
        triplet_losses.append(loss.item())

    r.save_checkpoint("metric.safetensors", metric, opt_metric, step=pair_steps)
    r.save_checkpoint("triplet.safetensors", embed, opt_embed, step=triplet_steps)

    # 5. Evaluation: kNN on the test set, training samples as the neighbours, in each space.
    embed.eval()
    with fg.no_grad():
        spaces = {"euclidean": (x_train, x_test),
                  "mahalanobis": tuple(metric(fg.tensor(v).to(device)).cpu().numpy() for v in (x_train, x_test)),
                  "triplet": tuple(embed(fg.tensor(v).to(device)).cpu().numpy() for v in (x_train, x_test))}
    acc = {name: knn_accuracy(tr, y_train, te, y_test) for name, (tr, te) in spaces.items()}
    clean = knn_accuracy(x_train[:, :PIXELS], y_train, x_test[:, :PIXELS], y_test)
    # How much of a distance the nuisance features make: W_jj Var(x_j) per feature is its part of
    # the mean squared distance between two random samples (cross terms aside); W = I for Euclidean.
    W = (metric.weight.T @ metric.weight).detach().cpu().numpy()
    part = {"euclidean": x_train.var(0), "mahalanobis": np.diag(W) * x_train.var(0)}
    share = {k: float(v[PIXELS:].sum() / v.sum()) for k, v in part.items()}

    # 6. Plot: the losses, what W weighs (pixels vs nuisance), the accuracies.
    fig, ax = figure(1, 3, figsize=(13, 3.2))
    ax[0].plot(pair_losses, label="contrastive (pairs)")
    ax[0].plot(triplet_losses, label="triplet")
    ax[0].set_xlabel("step")
    ax[0].legend()
    for k, (name, v) in enumerate(part.items()):
        ax[1].plot(np.arange(D), v / v.sum(), color=["C7", "C0"][k], label=f"{name}: {share[name]:.0%} nuisance")
    ax[1].axvspan(PIXELS, D, color="C3", alpha=0.1)
    ax[1].set_xlabel("feature (pixels, then nuisance in red)")
    ax[1].set_title("share of the distance: $W_{jj}$ Var$(x_j)$")
    ax[1].legend(fontsize=8)
    names = ["euclidean", "learned W", "triplet", "clean\n(no nuisance)"]
    ax[2].bar(names, [acc["euclidean"], acc["mahalanobis"], acc["triplet"], clean], color=["C7", "C0", "C1", "C2"])
    ax[2].tick_params(axis="x", labelsize=8)
    ax[2].set_ylim(0, 1)
    ax[2].set_title(f"{K}-NN test accuracy")
    r.save_figure(fig, "metrics.png")

    metrics = {"euclidean_knn_acc": acc["euclidean"], "mahalanobis_knn_acc": acc["mahalanobis"],
               "triplet_knn_acc": acc["triplet"], "clean_euclidean_knn_acc": clean,
               "nuisance_share_euclidean": share["euclidean"],
               "nuisance_share_mahalanobis": share["mahalanobis"], "chance": 0.1}
    # Seeds 0-4 gained 0.128-0.167 (quick) / 0.120-0.170 (full) with W and 0.125-0.176 / 0.136-0.189
    # with the triplet network; W's nuisance share was 0.054-0.069 / 0.044-0.056 (Euclidean: 0.77).
    gain = 0.08
    checks = [check("mahalanobis_minus_euclidean", acc["mahalanobis"] - acc["euclidean"], ">=", gain),
              check("triplet_minus_euclidean", acc["triplet"] - acc["euclidean"], ">=", gain),
              check("nuisance_share_mahalanobis", share["mahalanobis"], "<=", 0.15)]
    return r.finish(metrics, checks)
