//! Criterion bench of the fused recurrent sequence kernels, float32, forward and backward: the LSTM
//! at B32 T64 256→256, and the GRU at the tour's MNIST-1D shape (B128 T20 2→128), where the input
//! projection and its gradients run inside the step loop.

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd_core::{rnn, StridedView};

/// Deterministic inputs of a (B, L, I) → H layer with `g` gates: x, W_ih, W_hh, one bias for
/// both, and zeros for the initial states.
struct Inputs {
    dims: [usize; 5],
    x: Vec<f32>,
    wih: Vec<f32>,
    whh: Vec<f32>,
    bias: Vec<f32>,
    zeros: Vec<f32>,
}

type Views<'a> = [StridedView<'a, f32>; 5];

impl Inputs {
    /// Views of x (B, L, I), the zero state (B, H), W_ih (gH, I), W_hh (gH, H) and the bias (gH).
    fn views(&self) -> Views<'_> {
        let [b, l, i, h, g] = self.dims;
        fn v<'a>(data: &'a [f32], shape: &[usize]) -> StridedView<'a, f32> {
            StridedView::contiguous(data, shape).unwrap()
        }
        [
            v(&self.x, &[b, l, i]),
            v(&self.zeros, &[b, h]),
            v(&self.wih, &[g * h, i]),
            v(&self.whh, &[g * h, h]),
            v(&self.bias, &[g * h]),
        ]
    }
}

fn inputs(b: usize, l: usize, i: usize, h: usize, g: usize) -> Inputs {
    let fill = |n: usize, m: usize, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|k| ((k % m) as f32 - (m / 2) as f32) * scale)
            .collect()
    };
    Inputs {
        dims: [b, l, i, h, g],
        x: fill(b * l * i, 19, 0.05),
        wih: fill(g * h * i, 23, 0.004),
        whh: fill(g * h * h, 29, 0.004),
        bias: vec![0.01; g * h],
        zeros: vec![0.0; b * h],
    }
}

fn lstm(c: &mut Criterion) {
    let (b, l, i, h) = (32usize, 64usize, 256usize, 256usize);
    let data = inputs(b, l, i, h, 4);
    let [vx, vh, vwi, vwh, vb] = data.views();
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
                &vx,
                &vh,
                &vwi,
                &vwh,
                &gates,
                &cells,
                &hs,
                &gy,
                &data.zeros,
                &mut dx,
                &mut dh0,
                &mut dc0,
                &mut dwi,
                &mut dwh,
                &mut db,
            )
            .unwrap()
        })
    });
    group.finish();
}

fn gru(c: &mut Criterion) {
    let (b, l, i, h) = (128usize, 20usize, 2usize, 128usize);
    let data = inputs(b, l, i, h, 3);
    let [vx, vh, vwi, vwh, vb] = data.views();
    let mut out = vec![0f32; b * l * h];
    let (mut gates, mut hn, mut hs) = (
        vec![0f32; l * b * 3 * h],
        vec![0f32; l * b * h],
        vec![0f32; (l + 1) * b * h],
    );
    let gy = vec![0.1f32; b * l * h];
    let vgy = StridedView::contiguous(&gy, &[b, l, h]).unwrap();
    let (mut dx, mut dh0) = (vec![0f32; b * l * i], vec![0f32; b * h]);
    let (mut dwi, mut dwh) = (vec![0f32; 3 * h * i], vec![0f32; 3 * h * h]);
    let (mut dbi, mut dbh) = (vec![0f32; 3 * h], vec![0f32; 3 * h]);
    let mut group = c.benchmark_group("gru_f32_b128_t20_2_128");
    group.sample_size(20);
    let mut forward = || {
        rnn::gru_forward(
            &vx,
            &vh,
            &vwi,
            &vwh,
            Some(&vb),
            Some(&vb),
            &mut out,
            &mut gates,
            &mut hn,
            &mut hs,
        )
        .unwrap()
    };
    group.bench_function("forward", |bench| bench.iter(&mut forward));
    forward();
    group.bench_function("backward", |bench| {
        bench.iter(|| {
            rnn::gru_backward(
                &vx,
                &vh,
                &vwi,
                &vwh,
                &gates,
                &hn,
                &hs,
                &vgy,
                Some(&mut dx),
                Some(&mut dh0),
                &mut dwi,
                &mut dwh,
                &mut dbi,
                &mut dbh,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, lstm, gru);
criterion_main!(benches);
