//! Criterion bench of the float32 conv2d kernels (forward, backward-data, backward-weight) and
//! 2×2 max pooling, on the shapes of benches/compare_conv.py.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ferrograd_core::conv::{self, Conv2dShape};
use ferrograd_core::pool::{self, Pool2dShape};
use ferrograd_core::StridedView;

fn conv3x3(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv2d_f32");
    group.sample_size(10);
    for (n, ci, co, hw) in [(8usize, 64usize, 64usize, 56usize), (32, 3, 32, 32)] {
        let s =
            Conv2dShape::new([n, ci, hw, hw], [co, ci, 3, 3], (1, 1), (1, 1), (1, 1), 1).unwrap();
        let x: Vec<f32> = (0..n * ci * hw * hw)
            .map(|i| (i % 17) as f32 * 0.1)
            .collect();
        let w: Vec<f32> = (0..co * ci * 9).map(|i| (i % 13) as f32 * 0.01).collect();
        let gy: Vec<f32> = (0..n * co * hw * hw)
            .map(|i| (i % 7) as f32 * 0.1)
            .collect();
        let xv = StridedView::contiguous(&x, &s.input_shape()).unwrap();
        let (mut y, mut gx, mut gw) = (
            vec![0f32; gy.len()],
            vec![0f32; x.len()],
            vec![0f32; w.len()],
        );
        let id = format!("B{n}_{ci}to{co}_{hw}");
        group.bench_function(BenchmarkId::new("forward", &id), |b| {
            b.iter(|| conv::conv2d_forward(&xv, &w, None, &s, &mut y).unwrap())
        });
        group.bench_function(BenchmarkId::new("backward_data", &id), |b| {
            b.iter(|| conv::conv2d_backward_data(&gy, &w, &s, &mut gx).unwrap())
        });
        group.bench_function(BenchmarkId::new("backward_weight", &id), |b| {
            b.iter(|| conv::conv2d_backward_weight(&xv, &gy, &s, &mut gw, None).unwrap())
        });
    }
    group.finish();
}

fn maxpool(c: &mut Criterion) {
    let mut group = c.benchmark_group("max_pool2d_f32");
    group.sample_size(10);
    let input = [32usize, 64, 56, 56];
    let s = Pool2dShape::new(input, (2, 2), (2, 2), (0, 0)).unwrap();
    let x: Vec<f32> = (0..input.iter().product())
        .map(|i| (i % 23) as f32)
        .collect();
    let xv = StridedView::contiguous(&x, &input).unwrap();
    let out: usize = s.output_shape().iter().product();
    let (mut y, mut idx, mut gx) = (vec![0f32; out], vec![0i64; out], vec![0f32; x.len()]);
    group.bench_function("forward_B32_64_56", |b| {
        b.iter(|| pool::max_pool2d_forward(&xv, &s, &mut y, &mut idx).unwrap())
    });
    pool::max_pool2d_forward(&xv, &s, &mut y, &mut idx).unwrap();
    group.bench_function("backward_B32_64_56", |b| {
        b.iter(|| pool::max_pool2d_backward(&y, &idx, &s, &mut gx).unwrap())
    });
    group.finish();
}

criterion_group!(benches, conv3x3, maxpool);
criterion_main!(benches);
