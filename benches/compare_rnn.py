"""LSTM sequence, forward+backward, float32: ferrograd's fused `lstm_sequence` against
torch.nn.LSTM(batch_first=True) with the same weights (PyTorch CPU, same process).

Run: PYTHONPATH=python python benches/compare_rnn.py   (prints a markdown table; ratio = torch / fg)
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ferrograd as fg
from _timing import compare
from ferrograd.nn import functional as F

CASES = [  # (kind, B, T, I, H)
    ("lstm", 32, 64, 256, 256),
    ("gru", 32, 64, 256, 256),
    ("rnn_tanh", 32, 64, 256, 256),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="also GRU and tanh RNN")
    args = parser.parse_args()
    import torch

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print("| layer | B×T, I→H | fg fwd+bwd ms | torch fwd+bwd ms | torch/fg |")
    print("|---|---|---|---|---|")
    for kind, b, t, i, h in CASES if args.all else CASES[:1]:
        torch.manual_seed(0)
        mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN}[kind]
        m = mod(i, h, batch_first=True)
        x = torch.randn(b, t, i, requires_grad=True)
        gy = torch.randn(b, t, h)
        sd = {k: fg.tensor(v.detach().numpy(), requires_grad=True) for k, v in m.state_dict().items()}
        w = [sd[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
        fx = fg.tensor(x.detach().numpy(), requires_grad=True)
        fgy = gy.numpy()

        def run_fg():
            if kind == "lstm":
                out, _ = F.lstm_sequence(fx, None, None, *w)
            elif kind == "gru":
                out, _ = F.gru_sequence(fx, None, *w)
            else:
                out, _ = F.rnn_sequence(fx, None, *w)
            out.backward(fgy)

        def run_torch():
            out, _ = m(x)
            out.backward(gy)

        # Same numbers first (a benchmark of a wrong kernel is worthless).
        out_t = m(x)[0].detach().numpy()
        with fg.no_grad():
            fn = {"lstm": lambda: F.lstm_sequence(fx, None, None, *w), "gru": lambda: F.gru_sequence(fx, None, *w),
                  "rnn_tanh": lambda: F.rnn_sequence(fx, None, *w)}[kind]
            np.testing.assert_allclose(fn()[0].numpy(), out_t, rtol=1e-4, atol=1e-5)
        best = compare({"fg": run_fg, "torch": run_torch}, repeats=args.repeats)
        print(f"| {kind} | {b}×{t}, {i}→{h} | {best['fg'] * 1e3:.1f} | {best['torch'] * 1e3:.1f} | "
              f"{best['torch'] / best['fg']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
