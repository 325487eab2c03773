"""Self-supervised pre-training, next-token style: a small GPT learns to write Python.

The training signal is the text itself: at every position the model predicts the next
character of the standard library's source code (fg.data.datasets.load_text_corpus, no
download), with a causal mask so that it never sees the future. The measure is perplexity,
exp(mean cross-entropy) on held-out text — the number of characters the model is as unsure
between as if it picked uniformly among them. The baseline is the unigram model (each character
with its training frequency, ignoring context): the claim is that the GPT's validation
perplexity is well under it (at most half; in the full run at most 0.4 of it). Samples from
the trained model are printed and saved (out_dir/gpt_pretrain_samples.txt); the loss curve is
a PNG.
"""

from __future__ import annotations

import math

import numpy as np

import ferrograd as fg
from ferrograd.data.datasets import load_text_corpus

from ._common import Recipe, check, figure

BLOCK = 32                   # context length in characters
BATCH = 32                   # windows per step
STEPS, STEPS_QUICK = 700, 300
STEPS_SOFTWARE_GPU = 32    # quick on wgpu: CI's software GPU (llvmpipe) takes seconds a step
LR = 3e-3
PROMPTS = ("def ", "class ", "    return ", "import ")


def run(seed: int = 0, quick: bool = False, device: str = "cpu", out_dir=None) -> dict:
    r = Recipe("gpt_pretrain", seed, out_dir, device)
    small_gpu = quick and device == "wgpu"  # a few steps, a fifth of the validation text, short samples

    # 1. Data: the first 400k characters of the stdlib's source, one token per character; the
    #    last 10 % (40k characters) is held out for validation.
    corpus = load_text_corpus("char", max_chars=400_000)
    train, val = corpus.split(val_fraction=0.1)
    V = corpus.vocab_size

    # The baseline: unigram frequencies of the training text (add-one smoothed), scored on val.
    counts = np.bincount(train.data.numpy(), minlength=V) + 1.0
    unigram_ppl = float(np.exp(-np.log(counts / counts.sum())[val.data.numpy()].mean()))

    # Validation windows: every non-overlapping 32-character window of the held-out text.
    val_x, val_y = val.window_dataset(BLOCK)[:]
    if small_gpu:
        val_x, val_y = val_x[::5], val_y[::5]

    # 2. Model: a small GPT from the zoo (2 layers, 4 heads, 64 wide) with the corpus' vocabulary.
    #    Output layer not tied to the input embedding: with 96 characters tying saves little, and
    #    untied it learned faster here (val perplexity ~5 % lower after 300 steps).
    model = fg.models.create_model("gpt_nano", vocab_size=V, block_size=BLOCK, n_layer=2, n_head=4,
                                   n_embd=64, tie_word_embeddings=False).to(device)

    # 3. Optimiser: AdamW, a short linear warm-up, then cosine decay. β₂ = 0.95 (nanoGPT's, not
    #    Adam's 0.999): with only 300 steps the second-moment estimate must follow the fast-falling
    #    gradients. With β₂ = 0.99 and lr 5e-3, one seed in three stayed near the bigram plateau
    #    (val perplexity 10.5 instead of 7.5 after 300 steps); with 0.95 and 3e-3, seeds 0–8 all
    #    reached 7.6–8.5.
    steps = STEPS_SOFTWARE_GPU if small_gpu else STEPS_QUICK if quick else STEPS
    opt = fg.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01, betas=(0.9, 0.95))
    warmup = min(20, steps // 6)
    sched = fg.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))

    def val_loss():
        model.eval()
        with fg.no_grad():
            total = 0.0
            for i in range(0, len(val_x), 256):
                out = model(val_x[i:i + 256].to(device), targets=val_y[i:i + 256].to(device))
                total += out.loss.item() * len(val_x[i:i + 256])
        model.train()
        return total / len(val_x)

    # 4. The loop: random 32-character windows (nanoGPT's get_batch), batch 32. Early on, the
    #    number of steps matters more than the context length: 32 characters buy twice the steps
    #    of 64 for the same time.
    gen = np.random.default_rng(seed)
    train_losses, val_points = [], []
    model.train()
    for step in r.progress(range(steps), desc="pre-train"):
        x, y = train.random_batch(BATCH, BLOCK, generator=gen)
        loss = model(x.to(device), targets=y.to(device)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        train_losses.append(loss.item())
        if (step + 1) % (steps // 4) == 0:
            val_points.append((step + 1, val_loss()))

    # 5. Evaluation: validation perplexity, and samples from a few prompts.
    final_val = val_points[-1][1]
    val_ppl = math.exp(final_val)
    model.eval()
    g = fg.Generator().manual_seed(seed)
    samples = []
    for prompt in PROMPTS:
        idx = fg.tensor([corpus.encode(prompt)]).to(device)
        out = model.generate(idx, max_new_tokens=40 if small_gpu else 120, temperature=0.8, top_k=20, generator=g)
        samples.append(corpus.decode(out[0].cpu()))
    text = "\n".join(f"--- prompt {p!r} ---\n{s}\n" for p, s in zip(PROMPTS, samples))
    print(f"gpt_pretrain: val perplexity {val_ppl:.2f} (unigram {unigram_ppl:.2f}, vocabulary {V}). Samples:\n{text}")
    if r.out_dir is not None:
        with open(r.checkpoint_path("samples.txt"), "w", encoding="utf-8") as f:
            f.write(text)

    # 6. Plot: the training loss per step, validation loss, and the unigram baseline.
    fig, ax = figure(figsize=(6, 3.5))
    ax.plot(train_losses, label="train loss", lw=0.8)
    ax.plot(*zip(*val_points), "o-", label="validation loss")
    ax.axhline(math.log(unigram_ppl), color="gray", ls="--", label="unigram")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats / char)")
    ax.legend()
    r.save_figure(fig, "loss.png")
    r.save_checkpoint("checkpoint.safetensors", model, opt, step=steps)

    metrics = {"val_ppl": val_ppl, "unigram_ppl": unigram_ppl, "val_loss": final_val,
               "ppl_ratio": val_ppl / unigram_ppl, "vocab_size": V}
    # "Well under": at most half the unigram perplexity (quick), 0.4 of it (full). Seeds 0–4 gave
    # ratios 0.373–0.392 (quick, val perplexity 7.6–8.0) and 0.286–0.298 (full, 5.8–6.1); the
    # unigram perplexity is 20.4. On the software GPU (quick + wgpu: 32 steps) the claim is only
    # that the GPT is already below the unigram model: the same 32 steps on the CPU gave ratios
    # 0.79–0.94 over seeds 0–11.
    threshold = 1.0 if small_gpu else 0.5 if quick else 0.4
    checks = [check("val_ppl / unigram_ppl", val_ppl / unigram_ppl, "<=", threshold)]
    return r.finish(metrics, checks)
