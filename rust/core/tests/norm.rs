//! layer norm forward/backward against naive f64 loops on odd shapes (both thread paths).

use ferrograd_core::norm;
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| rng.random_range(-1.0..1.0) * 2.0 + 0.3)
        .collect()
}

fn naive(x: &[f64], cols: usize, w: &[f64], b: &[f64], eps: f64) -> Vec<f64> {
    let mut out = vec![];
    for row in x.chunks(cols) {
        let m = row.iter().sum::<f64>() / cols as f64;
        let v = row.iter().map(|e| (e - m) * (e - m)).sum::<f64>() / cols as f64;
        out.extend(
            row.iter()
                .enumerate()
                .map(|(j, e)| (e - m) / (v + eps).sqrt() * w[j] + b[j]),
        );
    }
    out
}

// Row counts below, at and past a few phase blocks of rows (ROW_BLOCK = 16), with a partial last one.
const SHAPES: [(usize, usize); 7] = [
    (1, 1),
    (3, 7),
    (4, 16),
    (9, 33),
    (37, 64),
    (65, 129),
    (300, 200),
];

#[test]
fn forward_matches_naive_with_and_without_affine() {
    for (seed, &(rows, cols)) in SHAPES.iter().enumerate() {
        let x = random(rows * cols, seed as u64);
        let w = random(cols, seed as u64 + 10);
        let b = random(cols, seed as u64 + 20);
        let ones = vec![1.0; cols];
        let zeros = vec![0.0; cols];
        for (wo, bo) in [
            (Some(&w[..]), Some(&b[..])),
            (None, None),
            (Some(&w[..]), None),
            (None, Some(&b[..])),
        ] {
            let (mut out, mut mean, mut rstd) =
                (vec![f64::NAN; x.len()], vec![0.0; rows], vec![0.0; rows]);
            norm::layer_norm_forward(&x, cols, wo, bo, 1e-5, &mut out, &mut mean, &mut rstd)
                .unwrap();
            let want = naive(&x, cols, wo.unwrap_or(&ones), bo.unwrap_or(&zeros), 1e-5);
            for (g, w_) in out.iter().zip(&want) {
                assert!((g - w_).abs() < 1e-10, "{g} vs {w_}");
            }
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
            let (mut o32, mut m32, mut r32) =
                (vec![0f32; x.len()], vec![0f32; rows], vec![0f32; rows]);
            norm::layer_norm_forward(
                &x32,
                cols,
                wo.map(|_| &w32[..]),
                bo.map(|_| &b32[..]),
                1e-5,
                &mut o32,
                &mut m32,
                &mut r32,
            )
            .unwrap();
            for (g, w_) in o32.iter().zip(&want) {
                assert!(
                    (*g as f64 - w_).abs() < 1e-4 * (1.0 + w_.abs()),
                    "{g} vs {w_}"
                );
            }
        }
    }
}

#[test]
fn backward_matches_finite_differences() {
    for (seed, &(rows, cols)) in SHAPES.iter().enumerate() {
        if cols == 1 {
            continue;
        }
        let x = random(rows * cols, seed as u64 + 30);
        let w = random(cols, seed as u64 + 40);
        let b = random(cols, seed as u64 + 50);
        let gy = random(rows * cols, seed as u64 + 60);
        let (mut out, mut mean, mut rstd) = (vec![0.0; x.len()], vec![0.0; rows], vec![0.0; rows]);
        norm::layer_norm_forward(
            &x,
            cols,
            Some(&w),
            Some(&b),
            1e-5,
            &mut out,
            &mut mean,
            &mut rstd,
        )
        .unwrap();
        let (mut dx, mut dw, mut db) = (
            vec![f64::NAN; x.len()],
            vec![f64::NAN; cols],
            vec![f64::NAN; cols],
        );
        norm::layer_norm_backward(
            &gy,
            &x,
            cols,
            &mean,
            &rstd,
            Some(&w),
            &mut dx,
            Some(&mut dw),
            Some(&mut db),
        )
        .unwrap();
        let obj = |x: &[f64], w: &[f64], b: &[f64]| {
            naive(x, cols, w, b, 1e-5)
                .iter()
                .zip(&gy)
                .map(|(a, g)| a * g)
                .sum::<f64>()
        };
        let h = 1e-6;
        for k in (0..x.len()).step_by((x.len() / 29).max(1)) {
            let (mut p, mut m) = (x.clone(), x.clone());
            p[k] += h;
            m[k] -= h;
            let num = (obj(&p, &w, &b) - obj(&m, &w, &b)) / (2.0 * h);
            assert!(
                (num - dx[k]).abs() < 1e-5 * (1.0 + num.abs()),
                "dx[{k}] {} vs {num}",
                dx[k]
            );
        }
        for j in (0..cols).step_by((cols / 11).max(1)) {
            let (mut p, mut m) = (w.clone(), w.clone());
            p[j] += h;
            m[j] -= h;
            let num = (obj(&x, &p, &b) - obj(&x, &m, &b)) / (2.0 * h);
            assert!((num - dw[j]).abs() < 1e-5 * (1.0 + num.abs()), "dw[{j}]");
            let want_db: f64 = (0..rows).map(|r| gy[r * cols + j]).sum();
            assert!(
                (want_db - db[j]).abs() < 1e-9 * (1.0 + want_db.abs()),
                "db[{j}]"
            );
        }
        // without weight: same dx as weight = 1
        let ones = vec![1.0; cols];
        let mut dx1 = vec![0.0; x.len()];
        let mut dx2 = vec![0.0; x.len()];
        norm::layer_norm_backward(&gy, &x, cols, &mean, &rstd, None, &mut dx1, None, None).unwrap();
        norm::layer_norm_backward(
            &gy,
            &x,
            cols,
            &mean,
            &rstd,
            Some(&ones),
            &mut dx2,
            None,
            None,
        )
        .unwrap();
        for (a, b_) in dx1.iter().zip(&dx2) {
            assert!((a - b_).abs() < 1e-10);
        }
    }
}

#[test]
fn bad_shapes_are_errors() {
    let x = vec![0f32; 6];
    let (mut o, mut m, mut r) = (vec![0f32; 6], vec![0f32; 2], vec![0f32; 2]);
    assert!(norm::layer_norm_forward(&x, 4, None, None, 1e-5, &mut o, &mut m, &mut r).is_err());
    assert!(norm::layer_norm_forward(&x, 0, None, None, 1e-5, &mut o, &mut m, &mut r).is_err());
    assert!(
        norm::layer_norm_forward(&x, 3, Some(&[1.0, 1.0]), None, 1e-5, &mut o, &mut m, &mut r)
            .is_err()
    );
    assert!(norm::layer_norm_forward(&x, 3, None, None, 1e-5, &mut o, &mut m, &mut r).is_ok());
}
