//! conv2d kernels == naive loops on odd shapes (strides, paddings, dilations, groups; every
//! scheduling path: sequential, images in parallel, parallel GEMMs, tiled im2col, 1×1 GEMM).

use ferrograd_core::conv::{self, Conv2dShape};
use ferrograd_core::StridedView;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn randn(rng: &mut StdRng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Naive input and weight gradients of `sum(conv2d(x, w) * gy)`.
fn naive_backward(x: &[f64], w: &[f64], gy: &[f64], s: &Conv2dShape) -> (Vec<f64>, Vec<f64>) {
    let (cg, og) = (s.c_in / s.groups, s.c_out / s.groups);
    let mut gx = vec![0.0; x.len()];
    let mut gw = vec![0.0; w.len()];
    for n in 0..s.n {
        for o in 0..s.c_out {
            let g = o / og;
            for oy in 0..s.oh {
                for ox in 0..s.ow {
                    let gv = gy[((n * s.c_out + o) * s.oh + oy) * s.ow + ox];
                    for c in 0..cg {
                        for ki in 0..s.kh {
                            for kj in 0..s.kw {
                                let iy = (oy * s.stride.0 + ki * s.dilation.0) as isize
                                    - s.pad.0 as isize;
                                let ix = (ox * s.stride.1 + kj * s.dilation.1) as isize
                                    - s.pad.1 as isize;
                                if iy < 0 || ix < 0 || iy >= s.h as isize || ix >= s.w as isize {
                                    continue;
                                }
                                let xi = ((n * s.c_in + g * cg + c) * s.h + iy as usize) * s.w
                                    + ix as usize;
                                let wi = ((o * cg + c) * s.kh + ki) * s.kw + kj;
                                gx[xi] += gv * w[wi];
                                gw[wi] += gv * x[xi];
                            }
                        }
                    }
                }
            }
        }
    }
    (gx, gw)
}

fn close(a: &[f64], b: &[f64], what: &str, s: &Conv2dShape) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-9 * (1.0 + y.abs()),
            "{what} differs at {i}: {x} vs {y} for {s:?}"
        );
    }
}

fn check(s: Conv2dShape, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = randn(&mut rng, s.input_shape().iter().product());
    let w = randn(&mut rng, s.weight_shape().iter().product());
    let b = randn(&mut rng, s.c_out);
    let gy = randn(&mut rng, s.output_shape().iter().product());
    let xv = StridedView::contiguous(&x, &s.input_shape()).unwrap();

    let mut y = vec![f64::NAN; gy.len()];
    conv::conv2d_forward(&xv, &w, Some(&b), &s, &mut y).unwrap();
    close(&y, &conv::conv2d_naive(&x, &w, Some(&b), &s), "forward", &s);

    let (gx_want, gw_want) = naive_backward(&x, &w, &gy, &s);
    let mut gx = vec![f64::NAN; x.len()];
    conv::conv2d_backward_data(&gy, &w, &s, &mut gx).unwrap();
    close(&gx, &gx_want, "grad_input", &s);

    let mut gw = vec![f64::NAN; w.len()];
    let mut gb = vec![f64::NAN; s.c_out];
    conv::conv2d_backward_weight(&xv, &gy, &s, &mut gw, Some(&mut gb)).unwrap();
    close(&gw, &gw_want, "grad_weight", &s);
    let p = s.oh * s.ow;
    let gb_want: Vec<f64> = (0..s.c_out)
        .map(|o| {
            (0..s.n)
                .map(|n| {
                    gy[(n * s.c_out + o) * p..(n * s.c_out + o + 1) * p]
                        .iter()
                        .sum::<f64>()
                })
                .sum()
        })
        .collect();
    close(&gb, &gb_want, "grad_bias", &s);
}

fn shape(
    input: [usize; 4],
    weight: [usize; 4],
    stride: usize,
    pad: usize,
    dil: usize,
    groups: usize,
) -> Conv2dShape {
    Conv2dShape::new(
        input,
        weight,
        (stride, stride),
        (pad, pad),
        (dil, dil),
        groups,
    )
    .unwrap()
}

#[test]
fn small_odd_shapes_match_naive() {
    let mut rng = StdRng::seed_from_u64(1);
    for seed in 0..40 {
        let groups = rng.random_range(1..4);
        let (kh, kw): (usize, usize) = (rng.random_range(1..5), rng.random_range(1..5));
        let stride = (rng.random_range(1..4), rng.random_range(1..4));
        let pad: (usize, usize) = (rng.random_range(0..3), rng.random_range(0..3));
        let dil: (usize, usize) = (rng.random_range(1..3), rng.random_range(1..3));
        let h = (dil.0 * (kh - 1) + 1).saturating_sub(2 * pad.0).max(1) + rng.random_range(0..7);
        let w = (dil.1 * (kw - 1) + 1).saturating_sub(2 * pad.1).max(1) + rng.random_range(0..7);
        let input = [
            rng.random_range(1..4),
            groups * rng.random_range(1..4),
            h,
            w,
        ];
        let weight = [groups * rng.random_range(1..4), input[1] / groups, kh, kw];
        check(
            Conv2dShape::new(input, weight, stride, pad, dil, groups).unwrap(),
            seed,
        );
    }
}

#[test]
fn asymmetric_output_size_matches_naive() {
    // 'same' padding with an even kernel: pad 1 on top/left, output = input size.
    let mut s = shape([2, 3, 7, 6], [4, 3, 4, 4], 1, 1, 1, 1);
    s.oh = 7;
    s.ow = 6;
    check(s, 5);
    let mut s = shape([2, 32, 7, 6], [4, 32, 4, 4], 1, 1, 1, 1); // the same with gx as a forward conv
    s.oh = 7;
    s.ow = 6;
    check(s, 6);
}

#[test]
fn large_shapes_take_every_path() {
    check(shape([4, 16, 21, 19], [16, 16, 3, 3], 1, 1, 1, 1), 10); // images in parallel
    check(shape([1, 32, 45, 40], [8, 32, 3, 3], 1, 1, 1, 1), 11); // parallel GEMMs, several tiles
    check(shape([3, 24, 17, 15], [12, 24, 1, 1], 1, 0, 1, 1), 12); // 1×1 GEMM
    check(shape([3, 24, 17, 15], [12, 8, 1, 1], 1, 0, 1, 3), 13); // grouped 1×1
    check(shape([2, 12, 33, 31], [12, 4, 5, 3], 2, 2, 2, 3), 14);
    check(shape([2, 64, 9, 11], [6, 32, 3, 2], 1, 1, 2, 2), 15); // stride 1, 32 channels per group: gx as a forward conv
    check(
        Conv2dShape::new([2, 32, 7, 6], [5, 32, 4, 3], (1, 1), (2, 0), (1, 2), 1).unwrap(),
        16,
    );
}

#[test]
fn strided_input_matches_contiguous() {
    let s = shape([2, 3, 6, 5], [4, 3, 3, 3], 2, 1, 1, 1);
    let mut rng = StdRng::seed_from_u64(3);
    let w = randn(&mut rng, s.weight_shape().iter().product());
    // x stored as (n, c, w, h): the view (n, c, h, w) has strides (c*w*h, w*h, 1, h).
    let x_t = randn(&mut rng, 2 * 3 * 6 * 5);
    let xv = StridedView::new(&x_t, 0, &[2, 3, 6, 5], &[90, 30, 1, 6]).unwrap();
    let mut x_c = vec![0.0; x_t.len()];
    for n in 0..2 {
        for c in 0..3 {
            for i in 0..6 {
                for j in 0..5 {
                    x_c[((n * 3 + c) * 6 + i) * 5 + j] = x_t[n * 90 + c * 30 + j * 6 + i];
                }
            }
        }
    }
    let mut y = vec![0.0; s.output_shape().iter().product()];
    conv::conv2d_forward(&xv, &w, None, &s, &mut y).unwrap();
    close(
        &y,
        &conv::conv2d_naive(&x_c, &w, None, &s),
        "strided forward",
        &s,
    );
}

#[test]
fn bad_buffers_are_errors_not_panics() {
    let s = shape([1, 2, 5, 5], [3, 2, 3, 3], 1, 0, 1, 1);
    let x = vec![0.0f32; 50];
    let xv = StridedView::contiguous(&x, &[1, 2, 5, 5]).unwrap();
    let w = vec![0.0f32; 54];
    assert!(conv::conv2d_forward(&xv, &w[..53], None, &s, &mut [0.0; 27]).is_err());
    assert!(conv::conv2d_forward(&xv, &w, None, &s, &mut [0.0; 26]).is_err());
    assert!(conv::conv2d_backward_data(&[0.0; 27], &w, &s, &mut [0.0; 49]).is_err());
    assert!(Conv2dShape::new([1, 2, 2, 2], [3, 2, 3, 3], (1, 1), (0, 0), (1, 1), 1).is_err());
    assert!(Conv2dShape::new([1, 3, 5, 5], [3, 1, 3, 3], (1, 1), (0, 0), (1, 1), 2).is_err());
    assert!(Conv2dShape::new([1, 2, 5, 5], [3, 2, 3, 3], (0, 1), (0, 0), (1, 1), 1).is_err());
}
