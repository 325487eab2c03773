//! Criterion benches of the norm-family kernels, float32: layer norm, softmax and fused
//! cross-entropy, forward and backward, on the shapes of benches/compare_norm.py.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrograd_core::norm;
use ferrograd_core::softmax::{self, CrossEntropyOpts};

fn data(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 * 0.004 - 2.0
        })
        .collect()
}

fn layer_norm(c: &mut Criterion) {
    let (rows, cols) = (8192usize, 768usize);
    let x = data(rows * cols, 1);
    let gy = data(rows * cols, 2);
    let (w, b) = (data(cols, 3), data(cols, 4));
    let (mut y, mut mean, mut rstd) = (vec![0f32; rows * cols], vec![0f32; rows], vec![0f32; rows]);
    let (mut dx, mut dw, mut db) = (vec![0f32; rows * cols], vec![0f32; cols], vec![0f32; cols]);
    let mut g = c.benchmark_group("layer_norm_f32_8192x768");
    g.sample_size(20);
    g.throughput(Throughput::Bytes((rows * cols * 4 * 2) as u64));
    g.bench_function("forward", |bench| {
        bench.iter(|| {
            norm::layer_norm_forward(
                &x,
                cols,
                Some(&w),
                Some(&b),
                1e-5,
                &mut y,
                &mut mean,
                &mut rstd,
            )
            .unwrap()
        })
    });
    g.bench_function("backward", |bench| {
        bench.iter(|| {
            norm::layer_norm_backward(
                &gy,
                &x,
                cols,
                &mean,
                &rstd,
                Some(&w),
                &mut dx,
                Some(&mut dw),
                Some(&mut db),
            )
            .unwrap()
        })
    });
    g.finish();
}

fn softmax_rows(c: &mut Criterion) {
    let (rows, cols) = (8192usize, 768usize);
    let x = data(rows * cols, 5);
    let gy = data(rows * cols, 6);
    let (mut y, mut dx) = (vec![0f32; rows * cols], vec![0f32; rows * cols]);
    let mut g = c.benchmark_group("softmax_f32_8192x768");
    g.sample_size(20);
    g.bench_function("forward", |bench| {
        bench.iter(|| softmax::softmax_forward(&x, cols, false, &mut y).unwrap())
    });
    g.bench_function("backward", |bench| {
        bench.iter(|| softmax::softmax_backward(&y, &gy, cols, false, &mut dx).unwrap())
    });
    g.finish();
}

fn cross_entropy(c: &mut Criterion) {
    let (rows, classes) = (2048usize, 8192usize);
    let x = data(rows * classes, 7);
    let t: Vec<i64> = (0..rows as i64)
        .map(|i| (i * 7919) % classes as i64)
        .collect();
    let opts = CrossEntropyOpts {
        weight: None,
        ignore_index: -100,
        label_smoothing: 0f32,
    };
    let (mut loss, mut lse) = (vec![0f32; rows], vec![0f32; rows]);
    let gl = vec![1.0 / rows as f32; rows];
    let mut dx = vec![0f32; rows * classes];
    let mut g = c.benchmark_group("cross_entropy_f32_2048x8192");
    g.sample_size(20);
    g.bench_function("forward", |bench| {
        bench.iter(|| {
            softmax::cross_entropy_forward(&x, &t, classes, opts, &mut loss, &mut lse).unwrap()
        })
    });
    g.bench_function("backward", |bench| {
        bench.iter(|| {
            softmax::cross_entropy_backward(&x, &t, classes, opts, &lse, &gl, &mut dx).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, layer_norm, softmax_rows, cross_entropy);
criterion_main!(benches);
