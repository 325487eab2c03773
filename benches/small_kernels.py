"""Per-call time of the kernels behind the small models' steps (issue 18), min of many calls, for A/B
runs of two builds (each build's `python/` on PYTHONPATH in turn) at one or two threads:

    RAYON_NUM_THREADS=1 python benches/small_kernels.py

Cases: an Adam step on a 49K-element parameter (the GRU's W_hh), the GRU sequence forward and backward of
benches/test_bench_train_step.py's mnist1d_gru (batch 128, 20 steps, 2 inputs, 128 hidden), the
Transformer's Linear layers with their bias (1280 rows), a mean over a sequence's time axis, and the
Transformer's attention (128 x 4 heads, 10 tokens, head dim 16: per head, and on the packed projection
MultiheadAttention uses when the build has it) and layer norm backward (1280 x 64).
"""
import time

import numpy as np

from ferrograd import _native as N
from ferrograd.ops.linalg import Linear


def best_us(f, n=300):
    for _ in range(5):
        f()
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best * 1e6


class _Ctx:
    def save_for_backward(self, *a):
        pass


def main():
    r = np.random.default_rng(0)
    p, g = r.standard_normal(49152, dtype=np.float32), r.standard_normal(49152, dtype=np.float32)
    m, v, step = np.zeros_like(p), np.zeros_like(p), [0]

    def adam():
        step[0] += 1
        N.adam_step(p, g, m, v, None, step[0], 1e-3, 0.9, 0.999, 1e-8, 1e-4, True)

    print(f"adam_step 49152: {best_us(adam, 2000):8.1f} us")
    b, l, i, h = 128, 20, 2, 128
    x, h0 = r.standard_normal((b, l, i), dtype=np.float32), np.zeros((b, h), np.float32)
    w_ih, w_hh = (r.standard_normal((3 * h, n), dtype=np.float32) * 0.1 for n in (i, h))
    b_ih, b_hh = np.zeros(3 * h, np.float32), np.zeros(3 * h, np.float32)
    out, gates, hn, hs = N.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
    gy = np.broadcast_to(r.standard_normal((b, 1, h), dtype=np.float32), out.shape)  # a mean over time
    print(f"gru_forward:     {best_us(lambda: N.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)):8.1f} us")
    try:
        N.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy)
        ready = gy
    except ValueError:  # a build whose GRU backward needs C-contiguous gy: time the copy its op made too
        ready = None

    def gru_backward():
        N.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy if ready is not None else np.ascontiguousarray(gy))

    print(f"gru_backward:    {best_us(gru_backward):8.1f} us (gradient broadcast over time)")
    for k, n in [(64, 64), (64, 128), (128, 64)]:
        xs = r.standard_normal((128, 10, k), dtype=np.float32)
        w, bias = r.standard_normal((n, k), dtype=np.float32), r.standard_normal(n, dtype=np.float32)
        print(f"Linear {k:3d}->{n:3d}:  {best_us(lambda: Linear.forward(_Ctx(), xs, w, bias), 1000):8.1f} us"
              " (1280 rows, forward with bias)")
    seq = r.standard_normal((128, 20, 128), dtype=np.float32)
    import ferrograd as fg

    t = fg.tensor(seq)
    print(f"mean over time:  {best_us(lambda: t.mean(1), 1000):8.1f} us (128x20x128, dim 1)")
    bsz, heads, tokens, d = 128, 4, 10, 16
    qkv = r.standard_normal((bsz, tokens, 3 * heads * d), dtype=np.float32)
    q, k, v = (qkv.reshape(bsz, tokens, 3, heads, d)[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
    gout = r.standard_normal((bsz, tokens, heads * d), dtype=np.float32)
    o, lse = N.sdpa_forward(q, k, v, None, False, 0.25)
    g4 = gout.reshape(bsz, tokens, heads, d).transpose(0, 2, 1, 3)
    print(f"sdpa forward:    {best_us(lambda: N.sdpa_forward(q, k, v, None, False, 0.25)):8.1f} us (512 heads, strided)")
    print(f"sdpa backward:   {best_us(lambda: N.sdpa_backward(q, k, v, None, False, 0.25, o, lse, g4)):8.1f} us")
    if hasattr(N, "sdpa_packed_forward"):
        po, pl = N.sdpa_packed_forward(qkv, heads, None, 0.25)
        print(f"packed forward:  {best_us(lambda: N.sdpa_packed_forward(qkv, heads, None, 0.25)):8.1f} us")
        print(f"packed backward: "
              f"{best_us(lambda: N.sdpa_packed_backward(qkv, heads, None, 0.25, po, pl, gout)):8.1f} us")
    xn, gn = r.standard_normal((1280, 64), dtype=np.float32), r.standard_normal((1280, 64), dtype=np.float32)
    wn = r.standard_normal(64, dtype=np.float32)
    _, mean, rstd = N.layer_norm_forward(xn, 64, wn, wn, 1e-5)
    print(f"layer_norm bwd:  {best_us(lambda: N.layer_norm_backward(gn, xn, 64, mean, rstd, wn, True, True)):8.1f} us"
          " (1280x64, with weight and bias gradients)")


if __name__ == "__main__":
    main()
