"""The wgpu device: adapter, float32 matmul GFLOP/s against the CPU backend (and torch on the same
GPU when CUDA is there), per-dispatch overhead, a fused optimizer step, and attention / conv /
transformer-training sections that run only where ferrograd has the device kernels for them.

Run: python benches/wgpu_bench.py                  (n = 1024, 2048, 4096, 8192: a real GPU)
     python benches/wgpu_bench.py --quick          (small sizes: under a minute on llvmpipe)
     python benches/wgpu_bench.py --sizes 256 512
GPU times are wall-clock around many recorded launches and one device sync
(`runtime.synchronize()`, or a 4-byte readback where that fails), so they include submission;
no figure is printed for what could not be run.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np

from ferrograd import _native
from ferrograd.wgpu import kernels, runtime
from ferrograd.wgpu.array import GpuArray

QUICK_SIZES = (128, 256, 384)
FULL_SIZES = (1024, 2048, 4096, 8192)


def timed(fn, sync=lambda: None, min_time=0.3, max_reps=1 << 12) -> float:
    """Seconds per call: one warm-up call, then doubling batches of calls (each batch ended by
    `sync`) until a batch takes `min_time`; the last batch's average."""
    fn()
    sync()
    reps = 1
    while True:
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        sync()
        dt = time.perf_counter() - t
        if dt >= min_time or reps >= max_reps:
            return dt / reps
        reps *= 2


def device_sync(rt):
    """A callable that waits for all recorded device work. `runtime.synchronize()` where it works;
    with wgpu-py 0.32 its `on_submitted_work_done_sync` fails (a callback-signature mismatch
    inside wgpu-py), so then: submit and read back 4 bytes, which waits for the queue too."""
    try:
        rt.synchronize()
        return rt.synchronize
    except TypeError as e:
        print(f"(runtime.synchronize() failed: {str(e)[:90]}...; timing with a 4-byte readback instead)")
    probe = GpuArray.empty((1,))
    return lambda: rt.read(probe.storage, 0, 4)


def load_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def section_adapter(rt) -> None:
    info = rt.info
    print("## adapter")
    print(f"device: {info['device'] or '?'} | vendor: {info['vendor'] or '?'} | backend: {info['backend_type']} "
          f"| type: {info['adapter_type']}")
    print(f"description: {info['description'] or '-'}")
    print(f"features: {', '.join(info['features']) or 'none'}")
    lim = info["limits"]
    print(f"limits: max-buffer {lim.get('max-buffer-size', 0) >> 20} MiB, max-storage-binding "
          f"{lim.get('max-storage-buffer-binding-size', 0) >> 20} MiB, workgroup storage "
          f"{lim.get('max-compute-workgroup-storage-size', 0) >> 10} KiB")
    print(f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus")


def section_matmul(rt, sync, sizes, min_time, torch) -> None:
    print("\n## matmul float32 (n×n·n×n)")
    head = "| n | wgpu GFLOP/s | cpu GFLOP/s | wgpu/cpu |" + (" torch-cuda GFLOP/s | wgpu/torch |" if torch else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    rng = np.random.default_rng(0)
    for n in sizes:
        if n * n * 4 > rt.max_binding:
            print(f"| {n} | skipped: an operand of {n * n * 4 >> 20} MiB exceeds the device's binding limit | | |")
            continue
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        ga, gb, gc = GpuArray.from_numpy(a), GpuArray.from_numpy(b), GpuArray.empty((n, n))
        # Correctness first: a wrong kernel has no speed.
        err = np.abs(kernels.matmul(ga, gb).numpy()[:8] - a[:8] @ b).max()
        if err > 1e-2 * math.sqrt(n):
            print(f"| {n} | WRONG RESULT (max error {err:.3g}) | | |")
            continue
        flop = 2.0 * n**3
        t_gpu = timed(lambda: kernels.matmul(ga, gb, out=gc), sync, min_time)
        t_cpu = timed(lambda: _native.matmul(a, b), min_time=min_time)
        g_gpu, g_cpu = flop / t_gpu / 1e9, flop / t_cpu / 1e9
        row = f"| {n} | {g_gpu:.1f} | {g_cpu:.1f} | {g_gpu / g_cpu:.2f} |"
        if torch:
            ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
            g_t = flop / timed(lambda: ta @ tb, torch.cuda.synchronize, min_time) / 1e9
            row += f" {g_t:.1f} | {g_gpu / g_t:.3f} |"
        print(row, flush=True)


def section_dispatch(rt, sync, launches) -> None:
    """The fixed Python-side cost of one op recorded into the open encoder (bind group, compute
    pass, parameters), timed in batches below the runtime's submit threshold so that no submit
    (which on llvmpipe also runs the kernels on this CPU) falls inside the timed part."""
    print("\n## dispatch overhead (1-element `fill` kernel)")
    pipe = rt.pipeline("fill")
    arr = GpuArray.empty((1,))
    params = runtime.pack(1, 1.0, fmt="If")
    rt.launch(pipe, [arr.storage], (1,), params)
    sync()
    batch = runtime.MAX_PENDING - 1
    recorded = submitted = 0.0
    for _ in range(max(1, launches // batch)):
        t0 = time.perf_counter()
        for _ in range(batch):
            rt.launch(pipe, [arr.storage], (1,), params)
        t1 = time.perf_counter()
        sync()
        recorded += t1 - t0
        submitted += time.perf_counter() - t1
    n = max(1, launches // batch) * batch
    print(f"{n} launches: {recorded / n * 1e6:.1f} µs each to record (Python side), "
          f"{submitted / n * 1e6:.1f} µs each to submit and run")


def section_optimizer(rt, sync, numel, min_time) -> None:
    print(f"\n## fused Adam step ({numel:,} float32 parameters, one dispatch)")
    rng = np.random.default_rng(1)
    p, g = (GpuArray.from_numpy(rng.standard_normal(numel, dtype=np.float32)) for _ in range(2))
    m, v = GpuArray.empty((numel,)), GpuArray.empty((numel,))
    step = [0]

    def run():
        step[0] += 1
        kernels.adam_step(p, g, m, v, None, step[0], 1e-3)

    t = timed(run, sync, min_time)
    moved = numel * 4 * 7  # read p, g, m, v; write p, m, v
    print(f"{t * 1e6:.0f} µs per step, {moved / t / 1e9:.1f} GB/s of state traffic")


def section_attention(rt, sync, quick, min_time) -> None:
    print("\n## attention (scaled dot-product, float32)")
    fn = getattr(kernels, "sdpa_forward", None)
    if fn is None:
        print("not available: ferrograd.wgpu.kernels has no sdpa_forward")
        return
    b, h, l, d = (2, 4, 128, 64) if quick else (8, 16, 1024, 64)
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((b, h, l, d), dtype=np.float32) for _ in range(3))
    gq, gk, gv = (GpuArray.from_numpy(x) for x in (q, k, v))
    scale = 1 / math.sqrt(d)
    flop = 4.0 * b * h * l * l * d
    try:
        t_gpu = timed(lambda: fn(gq, gk, gv, None, False, scale), sync, min_time)
    except Exception as e:  # a kernel with another contract: say so instead of a number
        print(f"failed: sdpa_forward raised {type(e).__name__}: {e}")
        return
    t_cpu = timed(lambda: _native.sdpa_forward(q, k, v, None, False, scale), min_time=min_time)
    print(f"(B, H, L, D) = {(b, h, l, d)}: wgpu {flop / t_gpu / 1e9:.1f} GFLOP/s, cpu {flop / t_cpu / 1e9:.1f} "
          f"GFLOP/s, wgpu/cpu {t_cpu / t_gpu:.2f}")


def section_conv(rt, sync, quick, min_time) -> None:
    print("\n## conv2d forward (3×3, stride 1, padding 1, float32)")
    fn = getattr(kernels, "conv2d_forward", None)
    if fn is None:
        print("not available: ferrograd.wgpu.kernels has no conv2d_forward")
        return
    n, c, hw, o = (2, 16, 32, 32) if quick else (32, 128, 56, 128)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, c, hw, hw), dtype=np.float32)
    w = rng.standard_normal((o, c, 3, 3), dtype=np.float32)
    args = ((1, 1), (1, 1), (1, 1), 1, (hw, hw))
    gx, gw = GpuArray.from_numpy(x), GpuArray.from_numpy(w)
    flop = 2.0 * n * o * hw * hw * c * 9
    try:
        t_gpu = timed(lambda: fn(gx, gw, None, *args), sync, min_time)
    except Exception as e:
        print(f"failed: conv2d_forward raised {type(e).__name__}: {e}")
        return
    t_cpu = timed(lambda: _native.conv2d_forward(x, w, None, *args), min_time=min_time)
    print(f"x {x.shape} * w {w.shape}: wgpu {flop / t_gpu / 1e9:.1f} GFLOP/s, cpu {flop / t_cpu / 1e9:.1f} GFLOP/s, "
          f"wgpu/cpu {t_cpu / t_gpu:.2f}")


def section_transformer(rt, sync, quick, min_time) -> None:
    """A training step (forward, backward, AdamW) of one encoder layer, on "wgpu" and on "cpu"."""
    print("\n## transformer training step (one encoder layer, AdamW)")
    import ferrograd as fg

    try:
        fg.device("wgpu")
    except (ValueError, AttributeError) as e:
        print(f"not available: ferrograd has no 'wgpu' Tensor device yet ({e})")
        return
    d, heads, batch, seq = (64, 4, 4, 32) if quick else (512, 8, 16, 256)
    rng = np.random.default_rng(4)
    x_np = rng.standard_normal((batch, seq, d), dtype=np.float32)
    times = {}
    for dev in ("wgpu", "cpu"):
        try:
            layer = fg.nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True).to(dev)
            opt = fg.optim.AdamW(layer.parameters(), lr=1e-3)
            x = fg.from_numpy(x_np).to(dev)

            def step():
                opt.zero_grad()
                loss = (layer(x) ** 2).mean()
                loss.backward()
                opt.step()
                return loss

            wait = sync if dev == "wgpu" else (lambda: None)
            times[dev] = timed(step, wait, min_time, max_reps=64)
        except Exception as e:
            print(f"{dev}: failed: {type(e).__name__}: {e}")
    if "wgpu" in times:
        line = f"d_model {d}, {heads} heads, batch {batch}×{seq}: wgpu {times['wgpu'] * 1e3:.1f} ms/step"
        if "cpu" in times:
            line += f", cpu {times['cpu'] * 1e3:.1f} ms/step, wgpu/cpu speed {times['cpu'] / times['wgpu']:.2f}"
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and short timings (llvmpipe, CI)")
    parser.add_argument("--sizes", type=int, nargs="+", help="matmul sizes n (n×n·n×n)")
    parser.add_argument("--min-time", type=float, help="seconds per timed batch")
    args = parser.parse_args()
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    min_time = args.min_time or (0.2 if args.quick else 1.0)
    rt = runtime.get()
    section_adapter(rt)
    sync = device_sync(rt)
    section_matmul(rt, sync, sizes, min_time, load_torch())
    section_dispatch(rt, sync, 2000 if args.quick else 20000)
    section_optimizer(rt, sync, 1 << 16 if args.quick else 1 << 24, min_time)
    section_attention(rt, sync, args.quick, min_time)
    section_conv(rt, sync, args.quick, min_time)
    section_transformer(rt, sync, args.quick, min_time)


if __name__ == "__main__":
    main()
