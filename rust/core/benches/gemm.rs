//! Criterion bench of the float32 GEMM on square sizes and on a transposed operand.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrograd_core::{gemm, StridedView};

fn square(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul_f32");
    group.sample_size(10);
    for n in [64usize, 256, 512, 1024] {
        let a: Vec<f32> = (0..n * n).map(|i| (i % 17) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..n * n).map(|i| (i % 13) as f32 * 0.1).collect();
        let mut out = vec![0f32; n * n];
        let va = StridedView::contiguous(&a, &[n, n]).unwrap();
        let vb = StridedView::contiguous(&b, &[n, n]).unwrap();
        // b read as its transpose: swapped strides, no copy.
        let vbt = StridedView::new(&b, 0, &[n, n], &[1, n as isize]).unwrap();
        group.throughput(Throughput::Elements((2 * n * n * n) as u64));
        group.bench_with_input(BenchmarkId::new("nn", n), &n, |bench, _| {
            bench.iter(|| gemm::matmul(&va, &vb, &mut out).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("nt", n), &n, |bench, _| {
            bench.iter(|| gemm::matmul(&va, &vbt, &mut out).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, square);
criterion_main!(benches);
