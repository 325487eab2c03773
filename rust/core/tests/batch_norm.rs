//! batch norm forward/backward against naive f64 loops (training and evaluation, with and
//! without affine parameters, planes from 1 element up, both thread paths), and finite
//! differences for the training backward.

use ferrograd_core::norm::{self, BnShape};
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| rng.random_range(-1.0..1.0) * 2.0 + 0.7)
        .collect()
}

/// (mean, biased var) per channel.
fn stats(x: &[f64], (n, c, plane): BnShape) -> (Vec<f64>, Vec<f64>) {
    let m = (n * plane) as f64;
    let at = |i: usize, ch: usize, p: usize| x[(i * c + ch) * plane + p];
    let mean: Vec<f64> = (0..c)
        .map(|ch| {
            (0..n)
                .flat_map(|i| (0..plane).map(move |p| (i, p)))
                .map(|(i, p)| at(i, ch, p))
                .sum::<f64>()
                / m
        })
        .collect();
    let var = (0..c)
        .map(|ch| {
            (0..n)
                .flat_map(|i| (0..plane).map(move |p| (i, p)))
                .map(|(i, p)| (at(i, ch, p) - mean[ch]).powi(2))
                .sum::<f64>()
                / m
        })
        .collect();
    (mean, var)
}

/// y, and the numpy formulas of ops/norm.py's BatchNorm.backward: (dx, dw, db).
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn naive(
    x: &[f64],
    g: &[f64],
    shape: BnShape,
    w: &[f64],
    b: &[f64],
    mean: &[f64],
    var: &[f64],
    training: bool,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (n, c, plane) = shape;
    let m = (n * plane) as f64;
    let ch = |k: usize| (k / plane) % c;
    let rstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let xhat: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(k, &v)| (v - mean[ch(k)]) * rstd[ch(k)])
        .collect();
    let y = xhat
        .iter()
        .enumerate()
        .map(|(k, &h)| h * w[ch(k)] + b[ch(k)])
        .collect();
    let (mut sg, mut sgx) = (vec![0.0; c], vec![0.0; c]);
    for k in 0..x.len() {
        sg[ch(k)] += g[k];
        sgx[ch(k)] += g[k] * xhat[k];
    }
    let dx = (0..x.len())
        .map(|k| {
            let j = ch(k);
            if training {
                w[j] * (g[k] - sg[j] / m - xhat[k] * sgx[j] / m) * rstd[j]
            } else {
                w[j] * g[k] * rstd[j]
            }
        })
        .collect();
    (y, dx, sgx, sg)
}

fn close(got: &[f64], want: &[f64], tol: f64, what: &str, shape: BnShape) {
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what} differs at {k}: {g} vs {w} for {shape:?}"
        );
    }
}

/// Planes of one element (the (N, C) input of BatchNorm1d) through planes shorter than a vector
/// (2×2 maps, 15) to long ones; the last four are large enough to run in channel blocks (and
/// image blocks, for the short planes) on several threads.
const SHAPES: [BnShape; 11] = [
    (1, 1, 1),
    (2, 3, 1),
    (3, 5, 7),
    (9, 11, 15),
    (64, 64, 4),
    (700, 48, 4),
    (32, 64, 1),
    (4, 8, 33),
    (300, 130, 1),
    (64, 130, 16),
    (5, 40, 300),
];

#[test]
fn forward_and_backward_match_naive() {
    // On one thread, and on two (the large shapes' channel blocks in parallel).
    for threads in [1, 2] {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(match_naive);
    }
}

fn match_naive() {
    let eps = 1e-5;
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let (n, c, plane) = shape;
        let len = n * c * plane;
        let seed = seed as u64 * 10;
        let (x, g) = (random(len, seed), random(len, seed + 1));
        let (w, b) = (random(c, seed + 2), random(c, seed + 3));
        let (ones, zeros) = (vec![1.0; c], vec![0.0; c]);
        let (rm, rv) = (
            random(c, seed + 4),
            random(c, seed + 5)
                .iter()
                .map(|v| v.abs() + 0.1)
                .collect::<Vec<_>>(),
        );
        for training in [true, false] {
            if training && n * plane == 1 {
                continue; // a variance of one value: fine, but xhat is 0 and dx degenerate
            }
            for affine in [true, false] {
                let (wo, bo) = if affine {
                    (Some(&w[..]), Some(&b[..]))
                } else {
                    (None, None)
                };
                let running = (!training).then_some((&rm[..], &rv[..]));
                let (mut y, mut mean, mut var, mut rstd) = (
                    vec![f64::NAN; len],
                    vec![0.0; c],
                    vec![0.0; c],
                    vec![0.0; c],
                );
                norm::batch_norm_forward(
                    &x, shape, wo, bo, running, eps, &mut y, &mut mean, &mut var, &mut rstd,
                )
                .unwrap();
                let (want_m, want_v) = if training {
                    stats(&x, shape)
                } else {
                    (rm.clone(), rv.clone())
                };
                close(&mean, &want_m, 1e-12, "mean", shape);
                close(&var, &want_v, 1e-12, "var", shape);
                let (wv, bv) = if affine { (&w, &b) } else { (&ones, &zeros) };
                let (want_y, want_dx, want_dw, want_db) =
                    naive(&x, &g, shape, wv, bv, &want_m, &want_v, training, eps);
                close(&y, &want_y, 1e-10, "y", shape);
                let (mut dx, mut dw, mut db) =
                    (vec![f64::NAN; len], vec![f64::NAN; c], vec![f64::NAN; c]);
                norm::batch_norm_backward(
                    &g,
                    &x,
                    shape,
                    &mean,
                    &rstd,
                    wo,
                    training,
                    &mut dx,
                    Some(&mut dw),
                    Some(&mut db),
                )
                .unwrap();
                close(&dx, &want_dx, 1e-9, "dx", shape);
                close(&dw, &want_dw, 1e-9, "dweight", shape);
                close(&db, &want_db, 1e-9, "dbias", shape);
                // float32 against the float64 result.
                let f = |v: &[f64]| v.iter().map(|&e| e as f32).collect::<Vec<f32>>();
                let (x32, g32, w32, b32, rm32, rv32) = (f(&x), f(&g), f(&w), f(&b), f(&rm), f(&rv));
                let (mut y32, mut m32, mut v32, mut r32) =
                    (vec![0f32; len], vec![0f32; c], vec![0f32; c], vec![0f32; c]);
                let run32 = (!training).then_some((&rm32[..], &rv32[..]));
                let (wo32, bo32) = if affine {
                    (Some(&w32[..]), Some(&b32[..]))
                } else {
                    (None, None)
                };
                norm::batch_norm_forward(
                    &x32, shape, wo32, bo32, run32, 1e-5, &mut y32, &mut m32, &mut v32, &mut r32,
                )
                .unwrap();
                let up = |v: &[f32]| v.iter().map(|&e| e as f64).collect::<Vec<f64>>();
                close(&up(&y32), &want_y, 1e-4, "y f32", shape);
                let mut dx32 = vec![0f32; len];
                norm::batch_norm_backward(
                    &g32, &x32, shape, &m32, &r32, wo32, training, &mut dx32, None, None,
                )
                .unwrap();
                close(&up(&dx32), &want_dx, 1e-3, "dx f32", shape);
            }
        }
    }
}

#[test]
fn training_backward_matches_finite_differences() {
    let shape = (3, 2, 5);
    let len = 30;
    let (x, g) = (random(len, 1), random(len, 2));
    let w = random(2, 3);
    let loss = |x: &[f64]| {
        let (mut y, mut m, mut v, mut r) =
            (vec![0.0; len], vec![0.0; 2], vec![0.0; 2], vec![0.0; 2]);
        norm::batch_norm_forward(
            x,
            shape,
            Some(&w),
            None,
            None,
            1e-5,
            &mut y,
            &mut m,
            &mut v,
            &mut r,
        )
        .unwrap();
        y.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>()
    };
    let (mut y, mut m, mut v, mut r) = (vec![0.0; len], vec![0.0; 2], vec![0.0; 2], vec![0.0; 2]);
    norm::batch_norm_forward(
        &x,
        shape,
        Some(&w),
        None,
        None,
        1e-5,
        &mut y,
        &mut m,
        &mut v,
        &mut r,
    )
    .unwrap();
    let mut dx = vec![0.0; len];
    norm::batch_norm_backward(&g, &x, shape, &m, &r, Some(&w), true, &mut dx, None, None).unwrap();
    for k in 0..len {
        let (mut a, mut b) = (x.clone(), x.clone());
        a[k] += 1e-6;
        b[k] -= 1e-6;
        let fd = (loss(&a) - loss(&b)) / 2e-6;
        assert!(
            (fd - dx[k]).abs() < 1e-6,
            "dx[{k}]: {} vs finite difference {fd}",
            dx[k]
        );
    }
}

#[test]
fn bad_shapes_are_errors() {
    let x = vec![0.0f64; 12];
    let (mut y, mut m, mut v, mut r) = (vec![0.0; 12], vec![0.0; 3], vec![0.0; 3], vec![0.0; 3]);
    assert!(norm::batch_norm_forward(
        &x,
        (2, 3, 3),
        None,
        None,
        None,
        1e-5,
        &mut y,
        &mut m,
        &mut v,
        &mut r
    )
    .is_err());
    assert!(norm::batch_norm_forward(
        &x,
        (2, 3, 2),
        Some(&[1.0; 2]),
        None,
        None,
        1e-5,
        &mut y,
        &mut m,
        &mut v,
        &mut r
    )
    .is_err());
    let e = norm::batch_norm_forward(
        &x[..0],
        (0, 3, 2),
        None,
        None,
        None,
        1e-5,
        &mut y[..0],
        &mut m,
        &mut v,
        &mut r,
    );
    assert!(e.unwrap_err().to_string().contains("batch_norm"));
    let mut dx = vec![0.0; 12];
    assert!(norm::batch_norm_backward(
        &x[..11],
        &x,
        (2, 3, 2),
        &m,
        &r,
        None,
        true,
        &mut dx,
        None,
        None
    )
    .is_err());
}
