"""nn modules and training steps, float32, forward+backward: ferrograd against PyTorch CPU in the
same process, with the same weights (interleaved best-of timings, see _timing.compare).

Cases: nn.LSTM(256, 256, batch_first=True) on B32 T64; nn.MixerBlock(196, 512, 256, 2048) on
B16 against the equivalent PyTorch block; one Adam training step of a 64-128-128-10 MLP on a
digits batch of 64; and the per-op overhead of a tiny Linear(8, 8) + ReLU forward+backward.

Run: PYTHONPATH=python python benches/compare_nn.py --repeats 3   (markdown table; ratio = torch / fg)
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ferrograd as fg
from _timing import compare
from ferrograd import nn
from ferrograd.nn import functional as F


def _copy_params(ours, theirs):
    """PyTorch's weights into our module, by state-dict name."""
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})


def lstm_case(torch, rng):
    ours, theirs = nn.LSTM(256, 256, batch_first=True), torch.nn.LSTM(256, 256, batch_first=True)
    _copy_params(ours, theirs)
    x = rng.standard_normal((32, 64, 256), dtype=np.float32)
    gy = rng.standard_normal((32, 64, 256), dtype=np.float32)
    fx, tx = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    np.testing.assert_allclose(ours(fx)[0].detach().numpy(), theirs(tx)[0].detach().numpy(), rtol=1e-3, atol=1e-4)
    return "nn.LSTM(256, 256) B32 T64", lambda: ours(fx)[0].backward(gy), lambda: theirs(tx)[0].backward(torch.tensor(gy))


def mixer_case(torch, rng):
    ours = nn.MixerBlock(196, 512, 256, 2048)
    S, C = 196, 512
    ln1, ln2 = torch.nn.LayerNorm(C, eps=1e-6), torch.nn.LayerNorm(C, eps=1e-6)
    tok1, tok2 = torch.nn.Linear(S, 256), torch.nn.Linear(256, S)
    ch1, ch2 = torch.nn.Linear(C, 2048), torch.nn.Linear(2048, C)
    gelu = torch.nn.functional.gelu

    def torch_block(x):
        y = x + tok2(gelu(tok1(ln1(x).transpose(1, 2)))).transpose(1, 2)
        return y + ch2(gelu(ch1(ln2(y))))

    names = {"norm1": ln1, "norm2": ln2, "token_mixing.fc1": tok1, "token_mixing.fc2": tok2,
             "channel_mixing.fc1": ch1, "channel_mixing.fc2": ch2}
    ours.load_state_dict({f"{n}.{k}": v.detach().numpy().copy() for n, m in names.items() for k, v in m.state_dict().items()})
    x = rng.standard_normal((16, S, C), dtype=np.float32)
    gy = rng.standard_normal((16, S, C), dtype=np.float32)
    fx, tx = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    np.testing.assert_allclose(ours(fx).detach().numpy(), torch_block(tx).detach().numpy(), rtol=1e-3, atol=1e-3)
    return ("nn.MixerBlock(196, 512, 256, 2048) B16", lambda: ours(fx).backward(gy),
            lambda: torch_block(tx).backward(torch.tensor(gy)))


def mlp_step_case(torch, rng):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data[:64] / 16.0).astype(np.float32)
    y = digits.target[:64].astype(np.int64)
    ours = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    theirs = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                                 torch.nn.ReLU(), torch.nn.Linear(128, 10))
    _copy_params(ours, theirs)
    opt, topt = fg.optim.Adam(ours.parameters(), lr=1e-3), torch.optim.Adam(theirs.parameters(), lr=1e-3)
    fx, fy, tx, ty = fg.tensor(x), fg.tensor(y), torch.tensor(x), torch.tensor(y)

    def fg_step():
        opt.zero_grad()
        F.cross_entropy(ours(fx), fy).backward()
        opt.step()

    def torch_step():
        topt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(tx), ty).backward()
        topt.step()

    return "MLP 64-128-128-10 Adam step, digits batch 64", fg_step, torch_step


def tiny_case(torch, rng):
    ours, theirs = nn.Linear(8, 8), torch.nn.Linear(8, 8)
    _copy_params(ours, theirs)
    x = rng.standard_normal((4, 8), dtype=np.float32)
    fx, tx = fg.tensor(x), torch.tensor(x)
    return ("tiny Linear(8, 8) + ReLU fwd+bwd (per-op overhead)", lambda: F.relu(ours(fx)).sum().backward(),
            lambda: torch.relu(theirs(tx)).sum().backward())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--numpy-adam", action="store_true",
                        help="Adam's numpy rule instead of the fused Rust step (the A/B of the MLP row)")
    args = parser.parse_args()
    if args.numpy_adam:
        from ferrograd.optim import adam

        adam.native_ok = lambda param, grad: False
    import torch

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    print("| forward+backward, float32 | ferrograd | torch | torch/fg |")
    print("|---|---|---|---|")
    for make in (lstm_case, mixer_case, mlp_step_case, tiny_case):
        name, ours, theirs = make(torch, rng)
        t = compare({"fg": ours, "torch": theirs}, repeats=args.repeats)
        unit, scale = ("µs", 1e6) if t["fg"] < 1e-3 else ("ms", 1e3)
        print(f"| {name} | {t['fg'] * scale:.1f} {unit} | {t['torch'] * scale:.1f} {unit} | {t['torch'] / t['fg']:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
