//! ReLU and the fused MSE loss against naive loops, below and above the threading threshold,
//! with lengths that leave a SIMD tail; length mismatches are errors, not panics.

use ferrograd_core::par::STREAM_THRESHOLD;
use ferrograd_core::{mse, relu};
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

const LENS: [usize; 5] = [0, 1, 37, 4099, STREAM_THRESHOLD * 2 + 13];

#[test]
fn relu_matches_naive() {
    for &n in &LENS {
        let (x, g) = (random(n, 1), random(n, 2));
        let mut y = vec![f32::NAN; n];
        relu::relu_forward(&x, &mut y).unwrap();
        let mut dx = vec![f32::NAN; n];
        relu::relu_backward(&g, &x, &mut dx).unwrap();
        for i in 0..n {
            assert_eq!(y[i], x[i].max(0.0), "n {n} i {i}");
            assert_eq!(dx[i], if x[i] > 0.0 { g[i] } else { 0.0 }, "n {n} i {i}");
        }
    }
    let mut short = vec![0f32; 2];
    assert!(relu::relu_forward(&[1f32, 2.0, 3.0], &mut short).is_err());
    assert!(relu::relu_backward(&[1f32, 2.0, 3.0], &[1f32, 2.0], &mut short).is_err());
}

#[test]
fn mse_matches_naive() {
    for &n in &LENS {
        let (x, t) = (random(n, 3), random(n, 4));
        let want: f64 = x
            .iter()
            .zip(&t)
            .map(|(&a, &b)| ((a - b) * (a - b)) as f64)
            .sum();
        let got = mse::mse_sum(&x, &t).unwrap();
        assert!(
            (got - want).abs() <= 1e-12 * want.max(1.0),
            "n {n}: {got} vs {want}"
        );
        let (mut gx, mut gt) = (vec![f32::NAN; n], vec![f32::NAN; n]);
        mse::mse_backward(&x, &t, 0.5, Some(&mut gx), Some(&mut gt)).unwrap();
        for i in 0..n {
            assert_eq!(gx[i], (x[i] - t[i]) * 0.5);
            assert_eq!(gt[i], -gx[i]);
        }
        let mut only_t = vec![f32::NAN; n];
        mse::mse_backward(&x, &t, 0.5, None, Some(&mut only_t)).unwrap();
        assert_eq!(only_t, gt);
    }
    assert!(mse::mse_sum(&[1f32, 2.0], &[1f32]).is_err());
    let mut short = vec![0f32; 1];
    assert!(mse::mse_backward(&[1f32, 2.0], &[1f32, 2.0], 1.0, Some(&mut short), None).is_err());
}
