//! Criterion bench of the fused LSTM sequence kernel (float32, B32 T64 256→256), forward and
//! forward+backward.

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd_core::{rnn, StridedView};

fn lstm(c: &mut Criterion) {
    let (b, l, i, h) = (32usize, 64usize, 256usize, 256usize);
    let x: Vec<f32> = (0..b * l * i)
        .map(|k| ((k % 19) as f32 - 9.0) * 0.05)
        .collect();
    let wih: Vec<f32> = (0..4 * h * i)
        .map(|k| ((k % 23) as f32 - 11.0) * 0.004)
        .collect();
    let whh: Vec<f32> = (0..4 * h * h)
        .map(|k| ((k % 29) as f32 - 14.0) * 0.004)
        .collect();
    let bias = vec![0.01f32; 4 * h];
    let zeros = vec![0f32; b * h];
    let vx = StridedView::contiguous(&x, &[b, l, i]).unwrap();
    let vh = StridedView::contiguous(&zeros, &[b, h]).unwrap();
    let vwi = StridedView::contiguous(&wih, &[4 * h, i]).unwrap();
    let vwh = StridedView::contiguous(&whh, &[4 * h, h]).unwrap();
    let vb = StridedView::contiguous(&bias, &[4 * h]).unwrap();
    let (mut out, mut cn) = (vec![0f32; b * l * h], vec![0f32; b * h]);
    let (mut gates, mut cells, mut hs) = (
        vec![0f32; l * b * 4 * h],
        vec![0f32; l * b * h],
        vec![0f32; (l + 1) * b * h],
    );
    let gy = vec![0.1f32; b * l * h];
    let (mut dx, mut dh0, mut dc0) = (vec![0f32; b * l * i], vec![0f32; b * h], vec![0f32; b * h]);
    let (mut dwi, mut dwh, mut db) = (
        vec![0f32; 4 * h * i],
        vec![0f32; 4 * h * h],
        vec![0f32; 4 * h],
    );
    let mut group = c.benchmark_group("lstm_f32_b32_t64_256");
    group.sample_size(10);
    group.bench_function("forward", |bench| {
        bench.iter(|| {
            rnn::lstm_forward(
                &vx,
                &vh,
                &vh,
                &vwi,
                &vwh,
                Some(&vb),
                Some(&vb),
                &mut out,
                &mut cn,
                &mut gates,
                &mut cells,
                &mut hs,
            )
            .unwrap()
        })
    });
    group.bench_function("forward_backward", |bench| {
        bench.iter(|| {
            rnn::lstm_forward(
                &vx,
                &vh,
                &vh,
                &vwi,
                &vwh,
                Some(&vb),
                Some(&vb),
                &mut out,
                &mut cn,
                &mut gates,
                &mut cells,
                &mut hs,
            )
            .unwrap();
            rnn::lstm_backward(
                &vx, &vh, &vwi, &vwh, &gates, &cells, &hs, &gy, &zeros, &mut dx, &mut dh0,
                &mut dc0, &mut dwi, &mut dwh, &mut db,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, lstm);
criterion_main!(benches);
