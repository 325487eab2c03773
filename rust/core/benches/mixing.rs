//! Criterion bench of MLP-Mixer token and channel mixing (float32, B16, 196 tokens × 512
//! channels, token MLP 256, channel MLP 2048), forward+backward.

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd_core::{mixing, StridedView};

fn mix(c: &mut Criterion) {
    let (b, s, ch, dt, dc) = (16usize, 196usize, 512usize, 256usize, 2048usize);
    let x: Vec<f32> = (0..b * s * ch)
        .map(|k| ((k % 19) as f32 - 9.0) * 0.1)
        .collect();
    let gy = vec![0.1f32; b * s * ch];
    let mut group = c.benchmark_group("mixer_f32_b16_196x512");
    group.sample_size(10);
    for (name, token, n, d) in [
        ("token_mlp256", true, s, dt),
        ("channel_mlp2048", false, ch, dc),
    ] {
        let w1: Vec<f32> = (0..d * n)
            .map(|k| ((k % 23) as f32 - 11.0) * 0.004)
            .collect();
        let w2: Vec<f32> = (0..n * d)
            .map(|k| ((k % 29) as f32 - 14.0) * 0.004)
            .collect();
        let (b1, b2) = (vec![0.01f32; d], vec![0.01f32; n]);
        let vw1 = StridedView::contiguous(&w1, &[d, n]).unwrap();
        let vw2 = StridedView::contiguous(&w2, &[n, d]).unwrap();
        let vb1 = StridedView::contiguous(&b1, &[d]).unwrap();
        let vb2 = StridedView::contiguous(&b2, &[n]).unwrap();
        let hidden = if token { b * d * ch } else { b * s * d };
        let (mut h, mut a, mut y) = (
            vec![0f32; hidden],
            vec![0f32; hidden],
            vec![0f32; b * s * ch],
        );
        let (mut dx, mut dw1, mut db1, mut dw2, mut db2) = (
            vec![0f32; b * s * ch],
            vec![0f32; d * n],
            vec![0f32; d],
            vec![0f32; n * d],
            vec![0f32; n],
        );
        let vx = if token {
            StridedView::contiguous(&x, &[b, s, ch]).unwrap()
        } else {
            StridedView::contiguous(&x, &[b * s, ch]).unwrap()
        };
        group.bench_function(name, |bench| {
            bench.iter(|| {
                if token {
                    mixing::token_mixing_forward(
                        &vx,
                        &vw1,
                        Some(&vb1),
                        &vw2,
                        Some(&vb2),
                        &mut h,
                        &mut a,
                        &mut y,
                    )
                    .unwrap();
                    mixing::token_mixing_backward(
                        &vx, &vw1, &vw2, &h, &a, &gy, &mut dx, &mut dw1, &mut db1, &mut dw2,
                        &mut db2,
                    )
                    .unwrap();
                } else {
                    mixing::channel_mixing_forward(
                        &vx,
                        &vw1,
                        Some(&vb1),
                        &vw2,
                        Some(&vb2),
                        &mut h,
                        &mut a,
                        &mut y,
                    )
                    .unwrap();
                    mixing::channel_mixing_backward(
                        &vx, &vw1, &vw2, &h, &a, &gy, &mut dx, &mut dw1, &mut db1, &mut dw2,
                        &mut db2,
                    )
                    .unwrap();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, mix);
criterion_main!(benches);
