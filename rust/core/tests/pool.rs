//! Pool kernels == naive loops on odd shapes.

use ferrograd_core::pool::{self, Pool2dShape};
use ferrograd_core::StridedView;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn max_and_avg_pool_match_naive() {
    let mut rng = StdRng::seed_from_u64(0);
    for _ in 0..30 {
        let k: (usize, usize) = (rng.random_range(1..5), rng.random_range(1..5));
        let st = (rng.random_range(1..4), rng.random_range(1..4));
        let p = (rng.random_range(0..=k.0 / 2), rng.random_range(0..=k.1 / 2));
        let h = k.0.saturating_sub(2 * p.0).max(1) + rng.random_range(0..6);
        let w = k.1.saturating_sub(2 * p.1).max(1) + rng.random_range(0..6);
        let input = [2, 3, h, w];
        let s = Pool2dShape::new(input, k, st, p).unwrap();
        let x: Vec<f64> = (0..input.iter().product())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let xv = StridedView::contiguous(&x, &input).unwrap();
        let out: usize = s.output_shape().iter().product();
        let (mut y, mut idx, mut ya) = (vec![0.0; out], vec![0i64; out], vec![0.0; out]);
        pool::max_pool2d_forward(&xv, &s, &mut y, &mut idx).unwrap();
        pool::avg_pool2d_forward(&xv, &s, true, &mut ya).unwrap();
        let gy: Vec<f64> = (0..out).map(|i| i as f64 + 1.0).collect();
        let mut gx = vec![0.0; x.len()];
        pool::max_pool2d_backward(&gy, &idx, &s, &mut gx).unwrap();
        let mut gx_want = vec![0.0; x.len()];
        for pl in 0..6 {
            for oy in 0..s.oh {
                for ox in 0..s.ow {
                    let (mut best, mut at, mut sum) = (f64::NEG_INFINITY, 0, 0.0);
                    for ki in 0..k.0 {
                        for kj in 0..k.1 {
                            let iy = (oy * st.0 + ki) as isize - p.0 as isize;
                            let ix = (ox * st.1 + kj) as isize - p.1 as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            let i = pl * h * w + iy as usize * w + ix as usize;
                            sum += x[i];
                            if x[i] > best {
                                best = x[i];
                                at = i;
                            }
                        }
                    }
                    let o = (pl * s.oh + oy) * s.ow + ox;
                    assert_eq!(y[o], best, "{s:?}");
                    assert!((ya[o] - sum / (k.0 * k.1) as f64).abs() < 1e-12, "{s:?}");
                    gx_want[at] += gy[o];
                }
            }
        }
        assert_eq!(gx, gx_want, "{s:?}");
    }
}

#[test]
fn adaptive_avg_pool_matches_naive() {
    let (h, w, out) = (7, 5, (3, 4));
    let x: Vec<f64> = (0..2 * h * w).map(|i| (i * 7 % 11) as f64).collect();
    let xv = StridedView::contiguous(&x, &[1, 2, h, w]).unwrap();
    let mut y = vec![0.0; 2 * 12];
    pool::adaptive_avg_pool2d_forward(&xv, out, &mut y).unwrap();
    for pl in 0..2 {
        for i in 0..out.0 {
            let (y0, y1) = (i * h / out.0, ((i + 1) * h).div_ceil(out.0));
            for j in 0..out.1 {
                let (x0, x1) = (j * w / out.1, ((j + 1) * w).div_ceil(out.1));
                let sum: f64 = (y0..y1)
                    .flat_map(|a| (x0..x1).map(move |b| (a, b)))
                    .map(|(a, b)| x[pl * h * w + a * w + b])
                    .sum();
                let want = sum / ((y1 - y0) * (x1 - x0)) as f64;
                assert!((y[(pl * out.0 + i) * out.1 + j] - want).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn bad_sizes_are_errors() {
    assert!(Pool2dShape::new([1, 1, 4, 4], (2, 2), (0, 1), (0, 0)).is_err());
    assert!(Pool2dShape::new([1, 1, 4, 4], (2, 2), (1, 1), (2, 0)).is_err());
    assert!(Pool2dShape::new([1, 1, 1, 4], (3, 2), (1, 1), (0, 0)).is_err());
    let s = Pool2dShape::new([1, 1, 4, 4], (2, 2), (2, 2), (0, 0)).unwrap();
    assert!(pool::max_pool2d_backward(&[0.0f32; 4], &[0, 1, 2, 99], &s, &mut [0.0; 16]).is_err());
}
