//! Criterion bench of the float32 attention kernels: forward and backward, B·H = 8, D = 64.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrograd_core::{attention, StridedView};

fn sdpa(c: &mut Criterion) {
    let mut group = c.benchmark_group("sdpa_f32");
    group.sample_size(10);
    let (nb, d) = (8usize, 64usize);
    for l in [256usize, 1024] {
        let n = nb * l * d;
        let q: Vec<f32> = (0..n).map(|i| ((i % 17) as f32 - 8.0) * 0.05).collect();
        let k: Vec<f32> = (0..n).map(|i| ((i % 13) as f32 - 6.0) * 0.05).collect();
        let v: Vec<f32> = (0..n).map(|i| ((i % 11) as f32 - 5.0) * 0.1).collect();
        let shape = [nb, l, d];
        let (vq, vk, vv) = (
            StridedView::contiguous(&q, &shape).unwrap(),
            StridedView::contiguous(&k, &shape).unwrap(),
            StridedView::contiguous(&v, &shape).unwrap(),
        );
        let scale = 1.0 / (d as f32).sqrt();
        for causal in [false, true] {
            let name = if causal { "causal" } else { "full" };
            let mut out = vec![0f32; n];
            let mut lse = vec![0f32; nb * l];
            let flops = 4 * nb * l * l * d / if causal { 2 } else { 1 };
            group.throughput(Throughput::Elements(flops as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("forward_{name}"), l),
                &l,
                |b, _| {
                    b.iter(|| {
                        attention::sdpa_forward(
                            &vq, &vk, &vv, None, causal, scale, &mut out, &mut lse,
                        )
                        .unwrap()
                    })
                },
            );
            let vo = StridedView::contiguous(&out, &shape).unwrap();
            let (mut dq, mut dk, mut dv) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
            group.throughput(Throughput::Elements((flops / 2 * 5) as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("backward_{name}"), l),
                &l,
                |b, _| {
                    b.iter(|| {
                        attention::sdpa_backward(
                            &vq, &vk, &vv, None, causal, scale, &vo, &lse, &vq, &mut dq, &mut dk,
                            &mut dv,
                        )
                        .unwrap()
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, sdpa);
criterion_main!(benches);
