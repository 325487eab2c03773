//! Criterion benches of the embedding kernels, float32: gather (forward) and the scatter-add of
//! repeated ids (backward), a GPT-sized table (50257 x 768) read by 8 x 512 token ids.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrograd_core::embedding;

fn embedding(c: &mut Criterion) {
    let (vocab, dim, tokens) = (50257usize, 768usize, 8 * 512usize);
    let weight: Vec<f32> = (0..vocab * dim).map(|i| (i % 997) as f32 * 1e-3).collect();
    // Zipf-like ids: many repeats, as in text.
    let ids: Vec<i64> = (0..tokens)
        .map(|i| ((i * i * 7919) % (vocab / (1 + i % 16))) as i64)
        .collect();
    let mut out = vec![0f32; tokens * dim];
    let gy: Vec<f32> = (0..tokens * dim).map(|i| (i % 13) as f32 * 0.1).collect();
    let mut dweight = vec![0f32; vocab * dim];
    let mut g = c.benchmark_group("embedding_f32_50257x768_8x512");
    g.sample_size(20);
    g.throughput(Throughput::Bytes((tokens * dim * 4) as u64));
    g.bench_function("forward", |b| {
        b.iter(|| embedding::embedding_forward(&weight, dim, &ids, &mut out).unwrap())
    });
    g.bench_function("backward", |b| {
        b.iter(|| embedding::embedding_backward(&gy, dim, &ids, None, &mut dweight).unwrap())
    });
    g.finish();
}

criterion_group!(benches, embedding);
criterion_main!(benches);
