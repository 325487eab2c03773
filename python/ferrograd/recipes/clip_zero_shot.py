"""Zero-shot CLIP: classify (colour, shape) combinations the model never saw, from words it did.

CLIP (Radford et al. 2021) trains an image tower and a text tower so that an image and its caption
map to nearby unit vectors (a symmetric cross-entropy over the batch's image–caption similarities).
Afterwards any set of class names becomes a classifier: embed the prompt "a photo of a {class}"
for each class and pick the class whose text embedding is closest to the image's.

The data: fg.data.datasets.make_shapes — one coloured shape per 32×32 image, 6 shapes × 8 colours
= 48 classes, captioned "a red circle". Twelve (colour, shape) combinations are held out of
training: a cycle (shape_i, colour_i), (shape_i, colour_i+1) over the 6 shapes and 6 of the
colours, so every word still occurs in the training captions (each shape with 6 colours, each
colour with at least 4 shapes) and, among the held-out classes, neither the colour nor the shape
alone decides the class — each held-out colour goes with two held-out shapes and vice versa.
Metrics: `zero_shot_heldout_acc`, held-out test images classified among the 12 held-out classes
(chance 1/12); `zero_shot_all_acc`, the same images among all 48 classes (chance 1/48: here the
model must also resist the 36 combinations it was trained on); `seen_acc` for the others.
The claim: the text tower composes "magenta" and "triangle" into an embedding the image tower's
magenta triangles land next to, although no caption ever said "magenta triangle".

Two choices, and why:
- A word-level tokenizer (one token per word; below). Then "magenta" is one embedding in every
  caption and the text tower only has to learn how two known tokens combine. With characters
  (fg.models.CharTokenizer, context 32) it must first learn to read words from their letters out
  of 36 distinct captions, and an unseen pair of words is a new string of letters: in our run
  (seed 0, full) it fit the seen combinations nearly as well (seen_acc 0.94 against 0.98) but
  generalised far worse — heldout 0.62 and all 0.37 against 0.96 and 0.84 — and ran slower.
- Half of the training captions are written "a photo of a red circle" (the rest as the data set
  gives them, "a red circle"), so the prompt's words "photo" and "of" are known tokens too:
  CLIP's captions are varied text, and prompts work best when they read like captions.
"""

from __future__ import annotations

import math
import re

import numpy as np

import ferrograd as fg
from ferrograd.data.datasets import COLORS, SHAPES, make_shapes
from ferrograd.models.clip import zero_shot_classifier
from ferrograd.nn import functional as F

from ._common import Recipe, check, figure

TEMPLATE = "a photo of a {}"
# Training steps and test images. On CI's software GPU (quick + wgpu) a step costs seconds, so
# that run is a short smoke run with its own, lower bars (see 7.).
STEPS = {"full": 1500, "quick": 700, "quick_wgpu": 40}
TEST_IMAGES = {"full": 3000, "quick": 1500, "quick_wgpu": 240}


class WordTokenizer:
    """One id per known word (lower-cased, letters only): pad 0, <unk> 1, the words, then <sot>
    and <eot> — <eot> gets the largest id, as CLIP's argmax pooling wants. Called like
    fg.models.CharTokenizer: `tok(texts)` → int64 token ids (N, context_length)."""

    def __init__(self, words, context_length: int = 8):
        self.vocab = ["<pad>", "<unk>", *words, "<sot>", "<eot>"]
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        self.vocab_size, self.context_length = len(self.vocab), context_length
        self.sot_token_id, self.eot_token_id = self.vocab_size - 2, self.vocab_size - 1

    def __call__(self, texts, context_length=None):
        texts = [texts] if isinstance(texts, str) else list(texts)
        L = context_length or self.context_length
        out = np.zeros((len(texts), L), dtype=np.int64)
        for i, text in enumerate(texts):
            ids = [self.sot_token_id, *(self.ids.get(w, 1) for w in re.findall(r"[a-z]+", text.lower()))]
            ids = (ids + [self.eot_token_id])[:L]
            ids[-1] = self.eot_token_id  # truncated captions keep <eot> last (open_clip)
            out[i, :len(ids)] = ids
        return fg.tensor(out)


def held_out_pairs(n_shapes: int, n_colors: int, rng) -> set:
    """12 (shape, colour) index pairs: the cycle (s_i, c_i), (s_i, c_i+1) over shuffled shapes and
    colours (see the module docstring)."""
    s, c = rng.permutation(n_shapes), rng.permutation(n_colors)[:n_shapes]
    return {(int(s[i]), int(c[(i + d) % n_shapes])) for i in range(n_shapes) for d in (0, 1)}


def run(seed: int = 0, quick: bool = False, device: str = "cpu", out_dir=None) -> dict:
    r = Recipe("clip_zero_shot", seed, out_dir, device)
    mode = "full" if not quick else "quick_wgpu" if device == "wgpu" else "quick"

    # 1. Data: captioned shapes; the held-out combinations are removed from the training set.
    shapes, colors = list(SHAPES), list(COLORS)
    held = held_out_pairs(len(shapes), len(colors), r.rng)
    train = make_shapes(20_000, image_size=32, seed=seed)
    images, captions = train.images.numpy(), train.captions
    train_class = train.shape.numpy() * len(colors) + train.color.numpy()  # class k = shape * 8 + colour
    seen = [s * len(colors) + c for s in range(len(shapes)) for c in range(len(colors)) if (s, c) not in held]
    by_class = [np.flatnonzero(train_class == k) for k in seen]            # the 36 seen classes' images
    test = make_shapes(TEST_IMAGES[mode], image_size=32, seed=seed + 10_000)

    # 2. Model: the zoo's tiny CLIP (ViT image tower, causal text transformer; 64-d embeddings),
    # with 8×8 patches (16 tokens per image) and our word vocabulary.
    tok = WordTokenizer(["a", "photo", "of", *colors, *shapes], context_length=8)
    model = fg.models.create_model("clip_tiny", vision_cfg=dict(image_size=32, patch_size=8),
                                   text_cfg=dict(context_length=8, vocab_size=tok.vocab_size)).to(device)

    # 3. Optimiser and schedule (a short warm-up matters for the ViT).
    steps = STEPS[mode]
    opt = fg.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.1)
    sched = fg.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    labels = fg.arange(len(seen)).to(device)  # image i goes with caption i

    # 4. The loop: the symmetric contrastive (InfoNCE) loss over a batch of image–caption pairs.
    # A batch holds one random image of each seen class. The loss treats every other caption in
    # the batch as a wrong answer; with only 36 distinct captions, random batches would hold the
    # same caption several times and push identical pairs apart (web-scale CLIP batches rarely do).
    losses = []
    for _ in r.progress(range(steps), desc="contrastive"):
        idx = np.array([g[r.rng.integers(len(g))] for g in by_class])
        texts = [("a photo of " if r.rng.random() < 0.5 else "") + captions[i] for i in idx]
        image_features, text_features, scale = model(fg.tensor(images[idx]).to(device), tok(texts))
        logits = scale * image_features @ text_features.T                   # (images, captions)
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        with fg.no_grad():  # open_clip keeps the temperature at most 100
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
    r.save_checkpoint("checkpoint.safetensors", model, opt, sched, step=steps)

    # 5. Zero-shot evaluation: one prompt per class; held-out images among the held-out classes,
    # and among all 48 classes; seen combinations among all classes for reference.
    classes = [(s, c) for s in range(len(shapes)) for c in range(len(colors))]        # class k = s * 8 + c
    names = [f"{colors[c]} {shapes[s]}" for s, c in classes]
    model.eval()
    with fg.no_grad():
        weights = zero_shot_classifier(model, tok, names, (TEMPLATE,))                   # (64, 48)
        features = model.encode_image(fg.tensor(test.images.numpy()).to(device), normalize=True)
        scores = (features @ weights).cpu().numpy()                                      # (N, 48)
    t_shape, t_color = test.shape.numpy(), test.color.numpy()
    truth = t_shape * len(colors) + t_color
    is_held = np.array([(s, c) in held for s, c in zip(t_shape, t_color)])
    held_classes = np.array(sorted(s * len(colors) + c for s, c in held))
    pred_all = scores.argmax(1)
    pred_held = held_classes[scores[:, held_classes].argmax(1)]
    heldout_acc = float((pred_held[is_held] == truth[is_held]).mean())
    all_acc = float((pred_all[is_held] == truth[is_held]).mean())
    seen_acc = float((pred_all[~is_held] == truth[~is_held]).mean())

    # 6. Plot: the loss, and zero-shot accuracy (among all classes) per combination, held-out boxed.
    per_class = np.full((len(shapes), len(colors)), np.nan)
    for k, (s, c) in enumerate(classes):
        sel = truth == k
        if sel.any():
            per_class[s, c] = (pred_all[sel] == k).mean()
    fig, ax = figure(1, 2, figsize=(11, 3.4), gridspec_kw=dict(width_ratios=[1, 1.3]))
    from matplotlib.patches import Rectangle
    ax[0].plot(losses)
    ax[0].set_xlabel("step")
    ax[0].set_title("contrastive loss")
    im = ax[1].imshow(per_class, vmin=0, vmax=1, cmap="viridis")
    for s, c in held:
        ax[1].add_patch(Rectangle((c - 0.5, s - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    ax[1].set_xticks(range(len(colors)), colors, rotation=45, ha="right")
    ax[1].set_yticks(range(len(shapes)), shapes)
    ax[1].set_title("zero-shot accuracy (48 classes); red: never in training", fontsize=9)
    fig.colorbar(im, ax=ax[1])
    r.save_figure(fig, "zero_shot.png")

    metrics = {"zero_shot_heldout_acc": heldout_acc, "heldout_chance": 1 / len(held_classes),
               "zero_shot_all_acc": all_acc, "all_chance": 1 / len(classes), "seen_acc": seen_acc,
               "final_loss": float(np.mean(losses[-20:]))}
    # Full: the thresholds; seeds 0-4 gave heldout 0.90-0.99 and all 0.77-0.94. Quick (700
    # steps) is where the image tower is still learning shapes, and how far it got varies with
    # the seed: seeds 0-7 gave heldout 0.70-0.93 and all 0.30-0.73 (seeds 2 and 7 the slow ones),
    # so quick checks the same claim — far above chance (1/12, 1/48) — with lower bars.
    # Quick + wgpu (40 steps) learns the colours, not yet the shapes: seeds 0-4 gave heldout
    # 0.47-0.52 — the colour alone narrows the held-out classes to two — and all 0.02-0.26, so that
    # smoke run checks only that the held-out classes come out well above chance.
    if mode == "quick_wgpu":
        checks = [check("zero_shot_heldout_acc", heldout_acc, ">=", 0.30)]
    else:
        checks = [check("zero_shot_heldout_acc", heldout_acc, ">=", 0.55 if quick else 0.70),
                  check("zero_shot_all_acc", all_acc, ">=", 0.20 if quick else 0.35)]
    return r.finish(metrics, checks)
