//! Token and channel mixing against naive loops (forward) and central finite differences
//! (backward), on odd shapes, with non-contiguous inputs.

use ferrograd_core::mixing;
use ferrograd_core::StridedView;
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn erf(x: f64) -> f64 {
    // Series with positive terms (the kernel's f64 path uses the same identity; checked on values).
    let a = x.abs();
    if a > 6.0 {
        return x.signum();
    }
    let (mut term, mut sum, mut n) = (a, a, 0.0);
    while term > 1e-18 * sum {
        n += 1.0;
        term *= 2.0 * a * a / (2.0 * n + 1.0);
        sum += term;
    }
    (sum * (-a * a).exp() * 2.0 / std::f64::consts::PI.sqrt()).copysign(x)
}

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / 2f64.sqrt()))
}

/// Naive MLP on rows of a (rows, n) matrix: w1 (d, n), w2 (n, d).
fn mlp(
    x: &[f64],
    rows: usize,
    n: usize,
    d: usize,
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: &[f64],
) -> Vec<f64> {
    let mut y = vec![0.0; rows * n];
    for r in 0..rows {
        let hid: Vec<f64> = (0..d)
            .map(|k| gelu(b1[k] + (0..n).map(|c| w1[k * n + c] * x[r * n + c]).sum::<f64>()))
            .collect();
        for c in 0..n {
            y[r * n + c] = b2[c] + (0..d).map(|k| w2[c * d + k] * hid[k]).sum::<f64>();
        }
    }
    y
}

/// y (B, S, C) by the naive token MLP (transpose, MLP over S, transpose back).
fn naive(
    token: bool,
    x: &[f64],
    bsz: usize,
    s: usize,
    c: usize,
    d: usize,
    w: &[Vec<f64>],
) -> Vec<f64> {
    if !token {
        return mlp(x, bsz * s, c, d, &w[0], &w[1], &w[2], &w[3]);
    }
    let mut xt = vec![0.0; bsz * s * c];
    for b in 0..bsz {
        for i in 0..s {
            for j in 0..c {
                xt[(b * c + j) * s + i] = x[(b * s + i) * c + j];
            }
        }
    }
    let yt = mlp(&xt, bsz * c, s, d, &w[0], &w[1], &w[2], &w[3]);
    let mut y = vec![0.0; bsz * s * c];
    for b in 0..bsz {
        for i in 0..s {
            for j in 0..c {
                y[(b * s + i) * c + j] = yt[(b * c + j) * s + i];
            }
        }
    }
    y
}

/// Fused forward (x read through a strided (B, S, C) view of a (C, B, S)-ordered buffer).
fn fused(
    token: bool,
    x: &[f64],
    bsz: usize,
    s: usize,
    c: usize,
    d: usize,
    w: &[Vec<f64>],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = if token { s } else { c };
    let mut xs = vec![0.0; x.len()];
    for b in 0..bsz {
        for i in 0..s {
            for j in 0..c {
                xs[(j * bsz + b) * s + i] = x[(b * s + i) * c + j];
            }
        }
    }
    let strides = [s as isize, 1, (bsz * s) as isize];
    let w1 = StridedView::contiguous(&w[0], &[d, n]).unwrap();
    let b1 = StridedView::contiguous(&w[1], &[d]).unwrap();
    let w2 = StridedView::contiguous(&w[2], &[n, d]).unwrap();
    let b2 = StridedView::contiguous(&w[3], &[n]).unwrap();
    let mut y = vec![0.0; bsz * s * c];
    let rows = if token { bsz * d * c } else { bsz * s * d };
    let (mut h, mut a) = (vec![0.0; rows], vec![0.0; rows]);
    if token {
        let vx = StridedView::new(&xs, 0, &[bsz, s, c], &strides).unwrap();
        mixing::token_mixing_forward(&vx, &w1, Some(&b1), &w2, Some(&b2), &mut h, &mut a, &mut y)
            .unwrap();
    } else {
        // channel mixing takes (N, C): a (B*S, C) view needs mergeable (B, S) strides; use x itself.
        let vx = StridedView::new(x, 0, &[bsz * s, c], &[c as isize, 1]).unwrap();
        mixing::channel_mixing_forward(&vx, &w1, Some(&b1), &w2, Some(&b2), &mut h, &mut a, &mut y)
            .unwrap();
    }
    (y, h, a)
}

fn weights(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    vec![
        random(d * n, seed),
        random(d, seed + 1),
        random(n * d, seed + 2),
        random(n, seed + 3),
    ]
}

#[test]
fn forward_matches_naive_on_odd_shapes() {
    for token in [true, false] {
        for &(b, s, c, d) in &[(1, 1, 1, 1), (2, 7, 5, 3), (3, 13, 9, 17), (2, 33, 65, 20)] {
            let x = random(b * s * c, 1);
            let w = weights(if token { s } else { c }, d, 5);
            let want = naive(token, &x, b, s, c, d, &w);
            let (got, _, _) = fused(token, &x, b, s, c, d, &w);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "token={token}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn backward_matches_finite_differences() {
    for token in [true, false] {
        let (bsz, s, c, d) = (2, 5, 3, 4);
        let n = if token { s } else { c };
        let x = random(bsz * s * c, 11);
        let w = weights(n, d, 12);
        let gy = random(bsz * s * c, 13);
        let (_, h, a) = fused(token, &x, bsz, s, c, d, &w);
        let (mut dx, mut dw1, mut db1, mut dw2, mut db2) = (
            vec![0.0; x.len()],
            vec![0.0; d * n],
            vec![0.0; d],
            vec![0.0; n * d],
            vec![0.0; n],
        );
        let w1 = StridedView::contiguous(&w[0], &[d, n]).unwrap();
        let w2 = StridedView::contiguous(&w[2], &[n, d]).unwrap();
        if token {
            let vx = StridedView::contiguous(&x, &[bsz, s, c]).unwrap();
            mixing::token_mixing_backward(
                &vx, &w1, &w2, &h, &a, &gy, &mut dx, &mut dw1, &mut db1, &mut dw2, &mut db2,
            )
            .unwrap();
        } else {
            let vx = StridedView::contiguous(&x, &[bsz * s, c]).unwrap();
            mixing::channel_mixing_backward(
                &vx, &w1, &w2, &h, &a, &gy, &mut dx, &mut dw1, &mut db1, &mut dw2, &mut db2,
            )
            .unwrap();
        }
        let loss = |x: &[f64], w: &[Vec<f64>]| {
            naive(token, x, bsz, s, c, d, w)
                .iter()
                .zip(&gy)
                .map(|(p, q)| p * q)
                .sum::<f64>()
        };
        let eps = 1e-6;
        for j in 0..x.len() {
            let (mut p, mut m) = (x.clone(), x.clone());
            p[j] += eps;
            m[j] -= eps;
            let num = (loss(&p, &w) - loss(&m, &w)) / (2.0 * eps);
            assert!(
                (dx[j] - num).abs() < 1e-6 * (1.0 + num.abs()),
                "token={token} dx[{j}] {} vs {num}",
                dx[j]
            );
        }
        for (wi, got) in [(0, &dw1), (1, &db1), (2, &dw2), (3, &db2)] {
            for j in 0..w[wi].len() {
                let (mut p, mut m) = (w.clone(), w.clone());
                p[wi][j] += eps;
                m[wi][j] -= eps;
                let num = (loss(&x, &p) - loss(&x, &m)) / (2.0 * eps);
                assert!(
                    (got[j] - num).abs() < 1e-6 * (1.0 + num.abs()),
                    "token={token} w{wi}[{j}] {} vs {num}",
                    got[j]
                );
            }
        }
    }
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let x = vec![0.0f64; 2 * 3 * 4];
    let w = vec![0.0f64; 40];
    let vx = StridedView::contiguous(&x, &[2, 3, 4]).unwrap();
    let w1 = StridedView::contiguous(&w[..20], &[5, 4]).unwrap(); // token mixing wants (D, 3)
    let w2 = StridedView::contiguous(&w[..15], &[3, 5]).unwrap();
    let (mut h, mut a, mut y) = (vec![0.0; 100], vec![0.0; 100], vec![0.0; 24]);
    let r = mixing::token_mixing_forward(&vx, &w1, None, &w2, None, &mut h, &mut a, &mut y);
    assert!(matches!(r, Err(ferrograd_core::Error::Shape(_))), "{r:?}");
}
