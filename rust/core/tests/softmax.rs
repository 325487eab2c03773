//! softmax / log_softmax / cross-entropy kernels against naive f64 loops on odd shapes, in f32
//! and f64, on both the single-threaded and the rayon path.

use ferrograd_core::softmax::{self, exp_f32, CrossEntropyOpts};
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| rng.random_range(-1.0..1.0) * scale)
        .collect()
}

fn naive_log_softmax(x: &[f64], cols: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(cols) {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        out.extend(row.iter().map(|v| v - lse));
    }
    out
}

fn assert_close(got: &[f64], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "element {i}: {g} vs {w}"
        );
    }
}

const SHAPES: [(usize, usize); 7] = [
    (1, 1),
    (3, 7),
    (5, 16),
    (2, 17),
    (33, 65),
    (7, 1000),
    (300, 129),
];

#[test]
fn exp_f32_is_accurate_and_handles_specials() {
    let mut worst = 0f64;
    let mut x = -87.0f32;
    while x < 88.0 {
        let rel = ((exp_f32(x) as f64) - (x as f64).exp()).abs() / (x as f64).exp();
        worst = worst.max(rel);
        x += 0.0137;
    }
    assert!(worst < 4e-7, "worst relative error {worst}");
    assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp_f32(-100.0), 0.0);
    assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
    assert!(exp_f32(f32::NAN).is_nan());
    assert_eq!(exp_f32(0.0), 1.0);
}

#[test]
fn softmax_and_log_softmax_match_naive_f64_and_f32() {
    for (seed, &(rows, cols)) in SHAPES.iter().enumerate() {
        let x = random(rows * cols, seed as u64, 8.0);
        let want_log = naive_log_softmax(&x, cols);
        let want: Vec<f64> = want_log.iter().map(|v| v.exp()).collect();
        for log in [false, true] {
            let mut out = vec![f64::NAN; x.len()];
            softmax::softmax_forward(&x, cols, log, &mut out).unwrap();
            assert_close(&out, if log { &want_log } else { &want }, 1e-12, 1e-14);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let mut o32 = vec![f32::NAN; x.len()];
            softmax::softmax_forward(&x32, cols, log, &mut o32).unwrap();
            let o: Vec<f64> = o32.iter().map(|&v| v as f64).collect();
            assert_close(&o, if log { &want_log } else { &want }, 2e-5, 1e-6);
        }
    }
}

#[test]
fn softmax_backward_matches_naive() {
    for (seed, &(rows, cols)) in SHAPES.iter().enumerate() {
        let x = random(rows * cols, seed as u64 + 100, 3.0);
        let gy = random(rows * cols, seed as u64 + 200, 1.0);
        let logp = naive_log_softmax(&x, cols);
        let p: Vec<f64> = logp.iter().map(|v| v.exp()).collect();
        let (mut want_s, mut want_l) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        for r in 0..rows {
            let row = r * cols..(r + 1) * cols;
            let dot: f64 = row.clone().map(|i| gy[i] * p[i]).sum();
            let sum: f64 = row.clone().map(|i| gy[i]).sum();
            for i in row {
                want_s[i] = p[i] * (gy[i] - dot);
                want_l[i] = gy[i] - p[i] * sum;
            }
        }
        let mut dx = vec![f64::NAN; x.len()];
        softmax::softmax_backward(&p, &gy, cols, false, &mut dx).unwrap();
        assert_close(&dx, &want_s, 1e-10, 1e-13);
        softmax::softmax_backward(&logp, &gy, cols, true, &mut dx).unwrap();
        assert_close(&dx, &want_l, 1e-10, 1e-13);
    }
}

fn naive_ce(x: &[f64], t: &[i64], c: usize, w: Option<&[f64]>, ignore: i64, eps: f64) -> Vec<f64> {
    let logp = naive_log_softmax(x, c);
    let wv = |j: usize| w.map_or(1.0, |w| w[j]);
    t.iter()
        .enumerate()
        .map(|(i, &ti)| {
            if ti == ignore {
                return 0.0;
            }
            let row = &logp[i * c..(i + 1) * c];
            let nll = -wv(ti as usize) * row[ti as usize];
            let smooth: f64 = -(0..c).map(|j| wv(j) * row[j]).sum::<f64>();
            (1.0 - eps) * nll + eps / c as f64 * smooth
        })
        .collect()
}

#[test]
fn cross_entropy_index_forward_and_backward_match_naive() {
    for (seed, &(rows, c)) in SHAPES.iter().enumerate() {
        let x = random(rows * c, seed as u64 + 300, 4.0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed as u64);
        let t: Vec<i64> = (0..rows)
            .map(|i| {
                if i % 5 == 3 {
                    -100
                } else {
                    rng.random_range(0..c as i64)
                }
            })
            .collect();
        let w: Vec<f64> = random(c, seed as u64 + 400, 1.0)
            .iter()
            .map(|v| v.abs() + 0.5)
            .collect();
        for (weight, eps) in [
            (None, 0.0),
            (Some(&w[..]), 0.0),
            (Some(&w[..]), 0.2),
            (None, 0.1),
        ] {
            let opts = CrossEntropyOpts {
                weight,
                ignore_index: -100,
                label_smoothing: eps,
            };
            let (mut loss, mut lse) = (vec![f64::NAN; rows], vec![f64::NAN; rows]);
            softmax::cross_entropy_forward(&x, &t, c, opts, &mut loss, &mut lse).unwrap();
            let want = naive_ce(&x, &t, c, weight, -100, eps);
            assert_close(&loss, &want, 1e-12, 1e-12);
            // backward against central differences of the naive loss, weighted by g
            let g = random(rows, seed as u64 + 500, 1.0);
            let mut dx = vec![f64::NAN; x.len()];
            softmax::cross_entropy_backward(&x, &t, c, opts, &lse, &g, &mut dx).unwrap();
            for k in (0..x.len()).step_by((x.len() / 37).max(1)) {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[k] += 1e-6;
                xm[k] -= 1e-6;
                let f = |xx: &[f64]| {
                    naive_ce(xx, &t, c, weight, -100, eps)
                        .iter()
                        .zip(&g)
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                };
                let num = (f(&xp) - f(&xm)) / 2e-6;
                assert!(
                    (num - dx[k]).abs() < 1e-6 * (1.0 + num.abs()),
                    "dx[{k}] = {} vs {num}",
                    dx[k]
                );
            }
        }
    }
}

#[test]
fn cross_entropy_prob_forward_and_backward_match_naive() {
    for (seed, &(rows, c)) in SHAPES.iter().enumerate().take(6) {
        let x = random(rows * c, seed as u64 + 600, 3.0);
        let t: Vec<f64> = random(rows * c, seed as u64 + 700, 1.0)
            .iter()
            .map(|v| v.abs())
            .collect();
        let w: Vec<f64> = random(c, seed as u64 + 800, 1.0)
            .iter()
            .map(|v| v.abs() + 0.5)
            .collect();
        let eps = 0.15;
        let f = |xx: &[f64], tt: &[f64]| -> Vec<f64> {
            let logp = naive_log_softmax(xx, c);
            (0..rows)
                .map(|i| {
                    -(0..c)
                        .map(|j| {
                            w[j] * ((1.0 - eps) * tt[i * c + j] + eps / c as f64) * logp[i * c + j]
                        })
                        .sum::<f64>()
                })
                .collect()
        };
        let (mut loss, mut lse) = (vec![0.0; rows], vec![0.0; rows]);
        softmax::cross_entropy_prob_forward(&x, &t, c, Some(&w), eps, &mut loss, &mut lse).unwrap();
        assert_close(&loss, &f(&x, &t), 1e-12, 1e-12);
        let g = random(rows, seed as u64 + 900, 1.0);
        let (mut dx, mut dt) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        softmax::cross_entropy_prob_backward(
            &x,
            &t,
            c,
            Some(&w),
            eps,
            &lse,
            &g,
            &mut dx,
            Some(&mut dt),
        )
        .unwrap();
        let obj =
            |xx: &[f64], tt: &[f64]| f(xx, tt).iter().zip(&g).map(|(a, b)| a * b).sum::<f64>();
        for k in (0..x.len()).step_by((x.len() / 23).max(1)) {
            let (mut p, mut m) = (x.clone(), x.clone());
            p[k] += 1e-4;
            m[k] -= 1e-4;
            let num = (obj(&p, &t) - obj(&m, &t)) / 2e-4;
            assert!(
                (num - dx[k]).abs() < 1e-6 * (1.0 + num.abs()),
                "dx[{k}] {} vs {num}",
                dx[k]
            );
            let (mut p, mut m) = (t.clone(), t.clone());
            p[k] += 1e-4;
            m[k] -= 1e-4;
            let num = (obj(&x, &p) - obj(&x, &m)) / 2e-4;
            assert!((num - dt[k]).abs() < 1e-6 * (1.0 + num.abs()), "dt[{k}]");
        }
    }
}

#[test]
fn bad_shapes_and_targets_are_errors_not_panics() {
    let x = vec![0f32; 6];
    let mut out = vec![0f32; 5];
    assert!(softmax::softmax_forward(&x, 3, false, &mut out).is_err());
    let mut out = vec![0f32; 6];
    assert!(softmax::softmax_forward(&x, 4, false, &mut out).is_err());
    let opts = CrossEntropyOpts {
        weight: None,
        ignore_index: -100,
        label_smoothing: 0f32,
    };
    let (mut l, mut s) = (vec![0f32; 2], vec![0f32; 2]);
    assert!(softmax::cross_entropy_forward(&x, &[0, 3], 3, opts, &mut l, &mut s).is_err());
    assert!(softmax::cross_entropy_forward(&x, &[0, -1], 3, opts, &mut l, &mut s).is_err());
    assert!(softmax::cross_entropy_forward(&x, &[0, 1, 2], 3, opts, &mut l, &mut s).is_err());
    assert!(softmax::cross_entropy_forward(&x, &[0, -100], 3, opts, &mut l, &mut s).is_ok());
    assert_eq!(l[1], 0.0);
}
