//! Criterion bench of the float32 conv2d kernels (forward, backward-data, backward-weight) and
//! 2×2 max pooling, on the shapes of benches/compare_conv.py; and (`thin`) ResNet-18's stage
//! shapes at batch 32 (3×3, stride 1, pad 1), on 1 and on all threads, beside one GEMM of the
//! same multiply-adds (`(C_out, C_in·9) · (C_in·9, N·H·W)`): late stages have thin per-image
//! products (a 1×1 to 4×4 output map), where the kernel should stay near that single GEMM.
//! `cargo bench -p ferrograd-core --bench conv -- thin`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ferrograd_core::conv::{self, Conv2dShape};
use ferrograd_core::gemm::{gemm_par, Mat};
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

/// (channels, map size): ResNet-18's stages on 32×32 images with the ImageNet stem (64@8×8 to
/// 512@1×1), stages one map size up, and the 32×32 map of a CIFAR stem.
const SHAPES: [(usize, usize); 8] = [
    (512, 1),
    (512, 2),
    (256, 2),
    (256, 4),
    (128, 4),
    (128, 8),
    (64, 8),
    (64, 32),
];
const BATCH: usize = 32;

fn thin(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv2d_thin_f32");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let all = rayon::ThreadPoolBuilder::new().build().unwrap();
    for (ch, hw) in SHAPES {
        let n = BATCH;
        let s =
            Conv2dShape::new([n, ch, hw, hw], [ch, ch, 3, 3], (1, 1), (1, 1), (1, 1), 1).unwrap();
        let x: Vec<f32> = (0..n * ch * hw * hw)
            .map(|i| (i % 17) as f32 * 0.1)
            .collect();
        let w: Vec<f32> = (0..ch * ch * 9).map(|i| (i % 13) as f32 * 0.01).collect();
        let gy: Vec<f32> = (0..n * ch * hw * hw)
            .map(|i| (i % 7) as f32 * 0.1)
            .collect();
        let cols: Vec<f32> = (0..ch * 9 * n * hw * hw)
            .map(|i| (i % 11) as f32 * 0.1)
            .collect();
        let xv = StridedView::contiguous(&x, &s.input_shape()).unwrap();
        let (mut y, mut gx, mut gw) = (
            vec![0f32; gy.len()],
            vec![0f32; x.len()],
            vec![0f32; w.len()],
        );
        let mut prod = vec![0f32; ch * n * hw * hw];
        for (tag, pool) in [("t1", &one), ("t", &all)] {
            let id = format!("{tag}{}_B{n}_{ch}_{hw}x{hw}", pool.current_num_threads());
            group.bench_function(BenchmarkId::new("forward", &id), |b| {
                pool.install(|| b.iter(|| conv::conv2d_forward(&xv, &w, None, &s, &mut y).unwrap()))
            });
            group.bench_function(BenchmarkId::new("backward_data", &id), |b| {
                pool.install(|| {
                    b.iter(|| conv::conv2d_backward_data(&gy, &w, &s, &mut gx).unwrap())
                })
            });
            group.bench_function(BenchmarkId::new("backward_weight", &id), |b| {
                pool.install(|| {
                    b.iter(|| conv::conv2d_backward_weight(&xv, &gy, &s, &mut gw, None).unwrap())
                })
            });
            // The same multiply-adds as one GEMM on a ready column matrix.
            let (k, cols_n) = (ch * 9, n * hw * hw);
            group.bench_function(BenchmarkId::new("gemm_same_macs", &id), |b| {
                pool.install(|| {
                    b.iter(|| {
                        gemm_par(
                            &mut prod,
                            Mat::c(&w, ch, k),
                            Mat::c(&cols, k, cols_n),
                            false,
                            true,
                        )
                    })
                })
            });
        }
    }
    group.finish();
}

/// ResNet-18's 3×3 convs and stem at batch 32 on 32×32 images (the default 7×7/2 stem, then 8×8
/// down to 1×1 maps): (C_in, C_out, kernel, stride, input size), the shapes of issue 15's
/// per-conv table, on 1 and 2 threads. `cargo bench -p ferrograd-core --bench conv -- resnet18`
const RESNET18: [(usize, usize, usize, usize, usize); 8] = [
    (3, 64, 7, 2, 32),
    (64, 64, 3, 1, 8),
    (64, 128, 3, 2, 8),
    (128, 128, 3, 1, 4),
    (128, 256, 3, 2, 4),
    (256, 256, 3, 1, 2),
    (256, 512, 3, 2, 2),
    (512, 512, 3, 1, 1),
];

fn resnet18(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv2d_resnet18_f32");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (ci, co, k, st, hw) in RESNET18 {
        let n = BATCH;
        let pad = k / 2;
        let s = Conv2dShape::new(
            [n, ci, hw, hw],
            [co, ci, k, k],
            (st, st),
            (pad, pad),
            (1, 1),
            1,
        )
        .unwrap();
        let x: Vec<f32> = (0..n * ci * hw * hw)
            .map(|i| (i % 17) as f32 * 0.1)
            .collect();
        let w: Vec<f32> = (0..co * ci * k * k)
            .map(|i| (i % 13) as f32 * 0.01)
            .collect();
        let out: usize = s.output_shape().iter().product();
        let gy: Vec<f32> = (0..out).map(|i| (i % 7) as f32 * 0.1).collect();
        let xv = StridedView::contiguous(&x, &s.input_shape()).unwrap();
        let (mut y, mut gx, mut gw) = (vec![0f32; out], vec![0f32; x.len()], vec![0f32; w.len()]);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let id = format!("t{threads}_{ci}to{co}_k{k}s{st}_{hw}");
            group.bench_function(BenchmarkId::new("forward", &id), |b| {
                pool.install(|| b.iter(|| conv::conv2d_forward(&xv, &w, None, &s, &mut y).unwrap()))
            });
            group.bench_function(BenchmarkId::new("backward_data", &id), |b| {
                pool.install(|| {
                    b.iter(|| conv::conv2d_backward_data(&gy, &w, &s, &mut gx).unwrap())
                })
            });
            group.bench_function(BenchmarkId::new("backward_weight", &id), |b| {
                pool.install(|| {
                    b.iter(|| conv::conv2d_backward_weight(&xv, &gy, &s, &mut gw, None).unwrap())
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, conv3x3, thin, resnet18, maxpool);
criterion_main!(benches);
