"""Transfer learning: pre-train a CNN on the digits 0–4, then fine-tune it on 5–9 from 10 labels per class.

1. Pre-train the small ResNet of cnn_digits on every image of the digits 0–4 (about 900).
2. Give it a new 5-way head for the digits 5–9, freeze its lowest layers (the stem: the first
   conv and its batch norm) with `fg.nn.utils.freeze(model, unlocked_groups=5)` and fine-tune
   the rest on the 50 labelled images.
3. Train the same network from a random initialisation on the same 50 images, with the same
   optimiser, learning rate, schedule and number of steps: the scratch baseline.
Both are tested on every other image of 5–9 (about 850). Claim: the fine-tuned network wins.

What to expect (full run, seeds 0–7): from scratch, a deep network fitted to 50 images lands
at 0.79–0.85; the pre-trained one starts from filters that already pick out strokes and lands
at 0.87–0.92, 5–12 points ahead, and it gets there in far fewer steps (the curves).
"""

from __future__ import annotations

import numpy as np

import ferrograd as fg
from ferrograd.data import DataLoader, TensorDataset
from ferrograd.data.datasets import load_digits
from ferrograd.nn import functional as F
from ferrograd.training import accuracy, evaluate

from ._common import Recipe, check, figure

PLANES = (8, 16, 32, 64)  # resnet18_small stage widths (cnn_digits' quick model)
UNLOCKED = 5              # of the 6 groups stem, layer1..layer4, fc: only the stem stays frozen
LABELS_PER_CLASS = 10
LR = 1e-2                 # pre-training and both ways of learning 5–9 (scratch: better than 3e-3)

# How long each part runs. quick: fewer pre-training epochs and steps (there scratch has not
# quite converged, so the gap is wider). small_gpu (quick on wgpu, CI's software GPU, where a
# conv step costs a second or two): a token run on a few hundred images, with lower bars.
SIZES = {  # pre-training epochs, images and batch size; fine-tuning steps, runs per way; eval every; test images
    "full": dict(pre_epochs=12, pre_images=None, pre_batch=64, steps=60, runs=3, eval_every=10, test_images=None),
    "quick": dict(pre_epochs=5, pre_images=None, pre_batch=64, steps=40, runs=2, eval_every=20, test_images=None),
    "small_gpu": dict(pre_epochs=2, pre_images=384, pre_batch=64, steps=10, runs=1, eval_every=10, test_images=200),
}


def random_shift(x: np.ndarray, rng, pad: int = 1) -> np.ndarray:
    """Move each image of a (N, C, H, W) batch by up to `pad` pixels in each direction (zero fill)."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
    rows = (dy[:, None] + np.arange(h))[:, None, :, None]  # (N, 1, H, 1)
    cols = (dx[:, None] + np.arange(w))[:, None, None, :]  # (N, 1, 1, W)
    return np.ascontiguousarray(padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                                       rows, cols])


def _resnet(num_classes: int, device: str):
    return fg.models.create_model("resnet18_small", in_chans=1, num_classes=num_classes, planes=PLANES).to(device)


def run(seed: int = 0, quick: bool = False, device: str = "cpu", out_dir=None) -> dict:
    r = Recipe("finetune_vision", seed, out_dir, device)
    small_gpu = quick and device == "wgpu"
    size = SIZES["small_gpu" if small_gpu else "quick" if quick else "full"]

    # 1. Data: the old task (digits 0–4, labels 0..4) and the new one (5–9, relabelled 0..4):
    #    10 labelled images per new class, every other image of 5–9 is the test set.
    digits = load_digits()
    x, y = digits.x.numpy(), digits.y.numpy()
    old = np.flatnonzero(y < 5)
    labelled = np.concatenate([r.rng.choice(np.flatnonzero(y == c), LABELS_PER_CLASS, replace=False)
                               for c in range(5, 10)])
    test = np.setdiff1d(np.flatnonzero(y >= 5), labelled)
    if size["pre_images"]:
        old = r.rng.permutation(old)[:size["pre_images"]]
    if size["test_images"]:
        test = r.rng.permutation(test)[:size["test_images"]]
    pretrain_loader = DataLoader(TensorDataset(x[old], y[old]), batch_size=size["pre_batch"], shuffle=True,
                                 generator=fg.Generator().manual_seed(seed))
    x_few = fg.tensor(x[labelled], device=device)  # all 50 labelled images: one batch
    y_few = fg.tensor(y[labelled] - 5, device=device)
    test_loader = DataLoader(TensorDataset(x[test], y[test] - 5), batch_size=512)

    # 2. Pre-training on 0–4 (AdamW, cosine schedule), each batch shifted at random by up to a
    #    pixel: features that do not care where the stroke sits transfer better.
    pre_epochs = size["pre_epochs"]
    model = _resnet(5, device)
    opt = fg.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    sched = fg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=pre_epochs)
    model.train()
    for _ in r.progress(range(pre_epochs), "pre-train on 0-4"):
        for xb, yb in pretrain_loader:
            xb = fg.tensor(random_shift(xb.numpy(), r.rng), device=device)
            loss = F.cross_entropy(model(xb), yb.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    r.save_checkpoint("pretrained.safetensors", model, step=pre_epochs)

    # 3. The two ways to learn 5–9 from the 50 labels, each a fresh network:
    #    fine-tuned: the pre-trained weights, a new 5-way head, the stem frozen (its batch norm keeps
    #                the running statistics of pre-training), everything above it trainable;
    #    scratch:    the same network with random weights, nothing frozen.
    pretrained = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def finetuned_net():
        net = _resnet(5, device)
        net.load_state_dict(pretrained)
        net.reset_classifier(5)  # a new head: the old one named the digits 0–4
        net.to(device)
        return fg.nn.utils.freeze(net, unlocked_groups=UNLOCKED)

    # 4. One loop for both: full-batch AdamW on the 50 images (same lr, schedule and steps), test
    #    accuracy every few steps for the curves. The optimiser only gets the trainable parameters.
    #    The 50 images are not augmented. (Shifting them at random as well helps scratch more than
    #    the fine-tuned net: with shifts and 80 steps we saw scratch draw level on some seeds.)
    steps, eval_every = size["steps"], size["eval_every"]

    def train(net, desc):
        opt = fg.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=LR, weight_decay=1e-4)
        sched = fg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        curve = []
        for step in r.progress(range(steps + 1), desc):
            if step % eval_every == 0:
                curve.append(evaluate(net, F.cross_entropy, test_loader, {"acc": accuracy}, device)["acc"])
            if step == steps:
                break
            net.train()
            loss = F.cross_entropy(net(x_few), y_few)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        return curve

    # A network fitted to 50 images depends on its random start (scratch: ±3 points between
    # starts), so each way is run a few times on the same labels and the accuracies averaged.
    runs = size["runs"]
    finetuned = np.array([train(finetuned_net(), f"fine-tune {i + 1}/{runs}") for i in range(runs)])
    scratch = np.array([train(_resnet(5, device), f"scratch {i + 1}/{runs}") for i in range(runs)])
    finetuned_acc, scratch_acc = finetuned[:, -1].mean(), scratch[:, -1].mean()

    # 5. Plot the test-accuracy curves: every run thin, the mean thick.
    fig, ax = figure(figsize=(5.5, 3.5))
    at = np.arange(finetuned.shape[1]) * eval_every
    for curves, colour, label in ((finetuned, "C0", f"pre-trained on 0–4, fine-tuned ({finetuned_acc:.2f})"),
                                  (scratch, "C1", f"from scratch ({scratch_acc:.2f})")):
        ax.plot(at, curves.T, color=colour, alpha=0.3, linewidth=0.8)
        ax.plot(at, curves.mean(0), color=colour, marker="o", label=label)
    ax.axhline(0.2, color="grey", linestyle=":", label="chance")
    ax.set_xlabel(f"training step on the {len(labelled)} labelled images of 5–9")
    ax.set_ylabel("test accuracy on 5–9")
    ax.legend(fontsize=8)
    r.save_figure(fig, "curves.png")

    # 6. Checks: fine-tuned wins.
    metrics = {"finetuned_acc": finetuned_acc, "scratch_acc": scratch_acc, "gain": finetuned_acc - scratch_acc,
               "finetuned_acc_min": finetuned[:, -1].min(), "scratch_acc_max": scratch[:, -1].max(),
               "labelled": len(labelled), "test_size": len(test), "chance": 0.2}
    # Seeds 0-7 gave gains of 0.054-0.123 (full) and 0.040-0.199 (quick), finetuned_acc 0.874-0.917
    # (full) and 0.828-0.921 (quick): the bars sit a margin below the worst. The token run on wgpu
    # (seeds 0-4: gains 0.15-0.67, finetuned_acc 0.70-0.90; the same run on the CPU, seeds 0-9:
    # gains 0.055-0.68, finetuned_acc 0.50-0.91) is held to lower bars: ahead, and above 0.35.
    checks = [check("finetuned_acc - scratch_acc", finetuned_acc - scratch_acc, ">", 0.0 if small_gpu else 0.02),
              check("finetuned_acc", finetuned_acc, ">=", 0.35 if small_gpu else 0.78)]
    return r.finish(metrics, checks)
