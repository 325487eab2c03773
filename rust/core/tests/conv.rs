//! conv2d kernels == naive loops on odd shapes (strides, paddings, dilations, groups; every
//! scheduling path: sequential, images in parallel, parallel GEMMs, tiled im2col, 1×1 GEMM).

mod common;
use common::on_threads;
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
    // 'same' padding with an even kernel: pad 1 on top/left, output = input size (over 128
    // pixels: the per-image path; the batched tests have their own).
    let mut s = shape([2, 3, 12, 13], [4, 3, 4, 4], 1, 1, 1, 1);
    s.oh = 12;
    s.ow = 13;
    check(s, 5);
    let mut s = shape([2, 32, 12, 13], [4, 32, 4, 4], 1, 1, 1, 1); // the same with gx as a forward conv
    s.oh = 12;
    s.ow = 13;
    check(s, 6);
}

#[test]
fn large_shapes_take_every_path() {
    check(shape([4, 16, 21, 19], [16, 16, 3, 3], 1, 1, 1, 1), 10); // images in parallel
    check(shape([1, 32, 45, 40], [8, 32, 3, 3], 1, 1, 1, 1), 11); // parallel GEMMs, several tiles
    check(shape([3, 24, 17, 15], [12, 24, 1, 1], 1, 0, 1, 1), 12); // 1×1 GEMM
    check(shape([3, 24, 17, 15], [12, 8, 1, 1], 1, 0, 1, 3), 13); // grouped 1×1
    check(shape([2, 12, 33, 31], [12, 4, 5, 3], 2, 2, 2, 3), 14);
    // Stride 2 on rows split into even and odd pixels: a 7×7 stem on an odd width, and odd
    // tap offsets (dilation 2, padding 1).
    check(shape([2, 3, 23, 21], [8, 3, 7, 7], 2, 3, 1, 1), 17);
    check(shape([1, 4, 20, 17], [6, 4, 3, 3], 2, 1, 2, 1), 18);
    check(shape([2, 64, 15, 13], [6, 32, 3, 2], 1, 1, 2, 2), 15); // stride 1, 32 channels per group: gx as a forward conv
    check(
        Conv2dShape::new([2, 32, 13, 16], [5, 32, 4, 3], (1, 1), (2, 0), (1, 2), 1).unwrap(),
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

/// Output maps of at most 128 pixels with several images take the batched path (blocks of
/// images share one GEMM; a single live kernel tap takes part alone, else every tap). Its
/// im2col goes pixel by pixel below 4 output columns and row by row from 4 (col2im: from 8).
/// Every shape runs on 1, 2 and 3 threads, so those big enough to thread run with blocks in
/// parallel or with parallel GEMMs. Batch sizes leave a short last block.
/// (small_odd_shapes_match_naive adds random small ones.)
#[test]
fn batched_small_maps_match_naive() {
    let shapes = [
        // Pixel copies.
        shape([37, 16, 3, 3], [16, 16, 3, 3], 1, 1, 1, 1), // 3×3 map: blocks of ~19 images
        shape([20, 32, 2, 2], [32, 32, 3, 3], 1, 1, 1, 1), // 2×2 map: one block
        shape([24, 16, 4, 4], [20, 16, 3, 3], 1, 1, 1, 1), // 4×4 map
        shape([9, 64, 1, 1], [48, 64, 3, 3], 1, 1, 1, 1),  // 1×1 map: only the centre tap is live
        shape([9, 64, 1, 1], [48, 16, 3, 3], 1, 1, 1, 4),  // the same, grouped
        shape([33, 24, 2, 2], [36, 24, 3, 3], 2, 1, 1, 1), // stride 2 to 1×1: a 2×2 box of taps
        shape([11, 12, 4, 5], [18, 4, 3, 3], 2, 1, 1, 3),  // strided, grouped, 2×3 map
        shape([13, 8, 5, 5], [10, 8, 3, 2], 1, 2, 2, 2),   // dilated, padded, grouped
        shape([6, 16, 1, 3], [16, 16, 5, 5], 1, 2, 1, 1),  // 1×3 map: live rows 2..3 only
        shape([40, 24, 4, 4], [24, 24, 1, 1], 1, 0, 1, 1), // pointwise 1×1 conv, 4×4 map
        shape([17, 10, 3, 3], [12, 5, 1, 1], 2, 0, 1, 2),  // strided grouped 1×1 (downsample)
        // Row copies.
        shape([10, 8, 8, 8], [12, 8, 3, 3], 1, 1, 1, 1), // 8×8 map (rows of exactly 8)
        shape([6, 6, 16, 16], [8, 3, 3, 3], 2, 1, 1, 2), // stride 2 to 8×8, grouped
        shape([5, 4, 10, 12], [6, 4, 3, 3], 1, 2, 2, 1), // dilated: 10×12 map
        shape([7, 5, 9, 11], [4, 5, 2, 4], 1, 1, 1, 1),  // 10×10 map, even kernel
        shape([9, 6, 8, 9], [6, 6, 1, 1], 1, 0, 1, 1),   // pointwise 1×1 conv, 8×9 map
        shape([10, 8, 8, 8], [12, 8, 3, 3], 2, 1, 1, 1), // stride 2 to 4×4: rows of 4, step 2
        shape([7, 6, 3, 16], [5, 6, 3, 3], 1, 1, 1, 1),  // 3×16 map: rows of 16
        shape([5, 4, 16, 16], [6, 4, 3, 3], 2, 1, 1, 1), // stride 2 to 8×8: rows of 8, step 2
        // 32 input channels per group: backward-data stays batched (not the transposed forward).
        shape([7, 32, 8, 8], [24, 32, 3, 3], 1, 1, 1, 1),
        shape([9, 64, 4, 4], [40, 32, 3, 3], 1, 1, 1, 2),
        // Enough work to thread: several blocks (in parallel on 2 threads) or one block
        // (parallel GEMMs, parallel copies).
        shape([600, 16, 1, 1], [16, 16, 3, 3], 1, 1, 1, 1),
        shape([70, 24, 4, 5], [24, 8, 3, 3], 2, 1, 1, 3),
        shape([40, 16, 5, 5], [16, 8, 3, 2], 1, 2, 2, 2),
        shape([33, 128, 1, 1], [128, 32, 3, 3], 1, 1, 1, 4),
        shape([40, 16, 8, 8], [16, 16, 3, 3], 1, 1, 1, 1),
        shape([4, 32, 8, 8], [32, 16, 3, 3], 1, 1, 1, 2),
        // Two blocks, but a weight gradient too large for per-thread copies: blocks one after
        // another with parallel GEMMs in backward-weight.
        shape([30, 112, 4, 4], [144, 112, 3, 3], 1, 1, 1, 1),
    ];
    for threads in [1, 2, 3] {
        on_threads(threads, || {
            for (i, s) in shapes.iter().enumerate() {
                check(*s, 100 + i as u64);
            }
        });
    }
    // Taps no output pixel reaches (input 1×1, padding 2, stride 3: outputs read only padding).
    check(shape([4, 3, 1, 1], [5, 3, 1, 1], 3, 2, 1, 1), 130);
    let mut s = shape([5, 4, 1, 2], [6, 4, 2, 2], 1, 1, 1, 1); // 'same' 2×2: output 1×2
    s.oh = 1;
    s.ow = 2;
    check(s, 131);
}

/// x read through strides (stored as (c, n, w, h): no unit stride along w) by both kinds of
/// batched copies.
#[test]
fn batched_strided_input_matches_contiguous() {
    for (i, (n, c, h, w)) in [(12, 16, 2, 2), (6, 8, 8, 8)].into_iter().enumerate() {
        let s = shape([n, c, h, w], [20, c, 3, 3], 1, 1, 1, 1);
        let mut rng = StdRng::seed_from_u64(7 + i as u64);
        let wt = randn(&mut rng, s.weight_shape().iter().product());
        let gy = randn(&mut rng, s.output_shape().iter().product());
        let x_t = randn(&mut rng, n * c * h * w);
        let strides = [(h * w) as isize, (n * h * w) as isize, 1, h as isize];
        let xv = StridedView::new(&x_t, 0, &[n, c, h, w], &strides).unwrap();
        let mut x_c = vec![0.0; x_t.len()];
        for img in 0..n {
            for ch in 0..c {
                for iy in 0..h {
                    for ix in 0..w {
                        x_c[((img * c + ch) * h + iy) * w + ix] =
                            x_t[(ch * n + img) * h * w + ix * h + iy];
                    }
                }
            }
        }
        let mut y = vec![0.0; gy.len()];
        conv::conv2d_forward(&xv, &wt, None, &s, &mut y).unwrap();
        close(
            &y,
            &conv::conv2d_naive(&x_c, &wt, None, &s),
            "strided forward",
            &s,
        );
        let mut gw = vec![f64::NAN; wt.len()];
        conv::conv2d_backward_weight(&xv, &gy, &s, &mut gw, None).unwrap();
        close(
            &gw,
            &naive_backward(&x_c, &wt, &gy, &s).1,
            "strided grad_weight",
            &s,
        );
    }
}

/// float32 through the batched path (both kinds of copies), against the float64 naive result.
#[test]
fn batched_f32_matches_f64() {
    for (i, s) in [
        shape([10, 32, 1, 1], [32, 32, 3, 3], 1, 1, 1, 1),
        shape([19, 16, 4, 4], [24, 8, 3, 3], 1, 1, 1, 2),
        shape([9, 16, 8, 8], [16, 16, 3, 3], 1, 1, 1, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let mut rng = StdRng::seed_from_u64(200 + i as u64);
        let x = randn(&mut rng, s.input_shape().iter().product());
        let w = randn(&mut rng, s.weight_shape().iter().product());
        let b = randn(&mut rng, s.c_out);
        let gy = randn(&mut rng, s.output_shape().iter().product());
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (x32, w32, b32, gy32) = (f(&x), f(&w), f(&b), f(&gy));
        let xv = StridedView::contiguous(&x32, &s.input_shape()).unwrap();
        let near = |got: &[f32], want: &[f64], what: &str| {
            for (j, (&g, &w)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                    "{what} f32 differs at {j}: {g} vs {w} for {s:?}"
                );
            }
        };
        let mut y = vec![f32::NAN; gy.len()];
        conv::conv2d_forward(&xv, &w32, Some(&b32), &s, &mut y).unwrap();
        near(&y, &conv::conv2d_naive(&x, &w, Some(&b), &s), "forward");
        let (gx_want, gw_want) = naive_backward(&x, &w, &gy, &s);
        let mut gx = vec![f32::NAN; x.len()];
        conv::conv2d_backward_data(&gy32, &w32, &s, &mut gx).unwrap();
        near(&gx, &gx_want, "grad_input");
        let mut gw = vec![f32::NAN; w.len()];
        conv::conv2d_backward_weight(&xv, &gy32, &s, &mut gw, None).unwrap();
        near(&gw, &gw_want, "grad_weight");
    }
}

/// 3×3 stride-1 padding-1 convs with at least 32 channels on maps of 4×4 to 16×16 (2×2 on one
/// thread) take the Winograd F(2×2, 3×3) path, forward, backward-data and backward-weight (odd
/// sizes leave half tiles; batch sizes leave a short last block), on 1, 2 and 3 threads; a
/// strided input; float32 against the float64 naive result.
#[test]
fn winograd_small_maps_match_naive() {
    let shapes = [
        ([5, 32, 4, 4], [40, 32, 3, 3]),
        ([5, 32, 2, 2], [40, 32, 3, 3]), // 2×2: Winograd on one thread only
        ([12, 64, 2, 2], [64, 64, 3, 3]),
        ([3, 33, 5, 9], [32, 33, 3, 3]),
        ([7, 32, 4, 4], [36, 32, 3, 3]),
        ([2, 40, 7, 7], [32, 40, 3, 3]),
        ([9, 32, 8, 8], [32, 32, 3, 3]),
        ([1, 32, 16, 16], [32, 32, 3, 3]),
        ([4, 32, 5, 4], [48, 32, 3, 3]),
    ];
    for (i, (input, weight)) in shapes.into_iter().enumerate() {
        for threads in [1, 2, 3] {
            on_threads(threads, || {
                check(shape(input, weight, 1, 1, 1, 1), 500 + i as u64)
            });
        }
    }
    // A strided input: x stored as (c, n, w, h).
    let (n, c, h, w) = (6, 32, 5, 6);
    let s = shape([n, c, h, w], [32, c, 3, 3], 1, 1, 1, 1);
    let mut rng = StdRng::seed_from_u64(520);
    let wt = randn(&mut rng, s.weight_shape().iter().product());
    let x_t = randn(&mut rng, n * c * h * w);
    let strides = [(h * w) as isize, (n * h * w) as isize, 1, h as isize];
    let xv = StridedView::new(&x_t, 0, &[n, c, h, w], &strides).unwrap();
    let mut x_c = vec![0.0; x_t.len()];
    for img in 0..n {
        for ch in 0..c {
            for iy in 0..h {
                for ix in 0..w {
                    x_c[((img * c + ch) * h + iy) * w + ix] =
                        x_t[(ch * n + img) * h * w + ix * h + iy];
                }
            }
        }
    }
    let mut y = vec![0.0; s.output_shape().iter().product()];
    conv::conv2d_forward(&xv, &wt, None, &s, &mut y).unwrap();
    close(
        &y,
        &conv::conv2d_naive(&x_c, &wt, None, &s),
        "winograd strided forward",
        &s,
    );
    // float32, against float64.
    let s = shape([8, 64, 8, 8], [64, 64, 3, 3], 1, 1, 1, 1);
    let mut rng = StdRng::seed_from_u64(521);
    let x = randn(&mut rng, s.input_shape().iter().product());
    let w = randn(&mut rng, s.weight_shape().iter().product());
    let gy = randn(&mut rng, s.output_shape().iter().product());
    let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let (x32, w32, gy32) = (f(&x), f(&w), f(&gy));
    let xv = StridedView::contiguous(&x32, &s.input_shape()).unwrap();
    // K = 576 products of unit normals: results ~24; f32 im2col is off by ~1e-5 relative.
    let near = |got: &[f32], want: &[f64], what: &str| {
        for (j, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= 2e-5 * (1.0 + w.abs()) * 24.0,
                "{what} f32 differs at {j}: {g} vs {w}"
            );
        }
    };
    let mut y = vec![f32::NAN; gy.len()];
    conv::conv2d_forward(&xv, &w32, None, &s, &mut y).unwrap();
    near(
        &y,
        &conv::conv2d_naive(&x, &w, None, &s),
        "winograd forward",
    );
    let mut gx = vec![f32::NAN; x.len()];
    conv::conv2d_backward_data(&gy32, &w32, &s, &mut gx).unwrap();
    let (gx_want, gw_want) = naive_backward(&x, &w, &gy, &s);
    near(&gx, &gx_want, "winograd grad_input");
    // grad_weight sums 8 images × 64 pixels of products: results ~24 too.
    let mut gw = vec![f32::NAN; w.len()];
    conv::conv2d_backward_weight(&xv, &gy32, &s, &mut gw, None).unwrap();
    near(&gw, &gw_want, "winograd grad_weight");
}

/// Non-finite operands of a Winograd-sized conv give what im2col gives (±inf stays ±inf, NaN
/// reaches the outputs whose window holds it): the Winograd transforms would turn an inf into NaN.
#[test]
fn winograd_sized_convs_keep_inf_and_nan_as_im2col() {
    check_non_finite(shape([3, 32, 8, 8], [32, 32, 3, 3], 1, 1, 1, 1), 530);
}

/// inf and NaN in x and gy: forward and both gradients give what the naive loops give (NaN
/// where they have NaN, the same infinities, the same values elsewhere).
fn check_non_finite(s: Conv2dShape, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x = randn(&mut rng, s.input_shape().iter().product());
    let w = randn(&mut rng, s.weight_shape().iter().product());
    let mut gy = randn(&mut rng, s.output_shape().iter().product());
    x[5 * 64 + 3 * 8 + 4] = f64::INFINITY;
    x[70 * 64 + 7 * 8] = f64::NAN;
    gy[10 * 64 + 2 * 8 + 2] = f64::NEG_INFINITY;
    let same = |got: &[f64], want: &[f64], what: &str| {
        for (j, (&g, &w)) in got.iter().zip(want).enumerate() {
            let ok =
                (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-9 * (1.0 + w.abs());
            assert!(ok, "{what} differs at {j}: {g} vs {w} for {s:?}");
        }
    };
    let xv = StridedView::contiguous(&x, &s.input_shape()).unwrap();
    let mut y = vec![0.0; gy.len()];
    conv::conv2d_forward(&xv, &w, None, &s, &mut y).unwrap();
    let want = conv::conv2d_naive(&x, &w, None, &s);
    assert!(want.iter().any(|v| v.is_infinite()) && want.iter().any(|v| v.is_nan()));
    same(&y, &want, "forward");
    let (gx_want, gw_want) = naive_backward(&x, &w, &gy, &s);
    let mut gx = vec![0.0; x.len()];
    conv::conv2d_backward_data(&gy, &w, &s, &mut gx).unwrap();
    same(&gx, &gx_want, "grad_input");
    let mut gw = vec![0.0; w.len()];
    conv::conv2d_backward_weight(&xv, &gy, &s, &mut gw, None).unwrap();
    same(&gw, &gw_want, "grad_weight");
}

/// Tiny maps: where every output pixel reads every input pixel (1×1 and 2×2 maps) the batch is
/// one dense GEMM; elsewhere taps that read only padding are cropped off the kernel (a 1×1 map,
/// dilation 2 or 4 on 2×2 and 4×4 maps, padding beyond the kernel's reach, an axis with no live
/// tap at all, groups, asymmetric padding). Forward and both backwards, on 1, 2 and 3 threads, with
/// batches that do (5, 64) and do not (2) take the dense path.
#[test]
fn dead_taps_and_dense_tiny_maps_match_naive() {
    let shapes = [
        // (input, weight, stride, pad, dilation, groups)
        ([5, 6, 1, 1], [4, 6, 3, 3], 1, 1, 1, 1),  // centre tap only
        ([5, 6, 2, 2], [4, 6, 3, 3], 1, 1, 1, 1),  // every tap, every pixel pair
        ([5, 6, 2, 2], [8, 6, 3, 3], 2, 1, 1, 1),  // 2×2 -> 1×1: 4 of 9 taps
        ([2, 6, 2, 2], [8, 6, 3, 3], 2, 1, 1, 1),  // the same, too few images for dense
        ([5, 4, 2, 2], [6, 4, 3, 3], 1, 2, 2, 1),  // dilation 2: the centre tap
        ([5, 4, 4, 4], [6, 4, 3, 3], 1, 4, 4, 1),  // dilation 4: the centre tap
        ([5, 4, 3, 3], [6, 4, 3, 3], 1, 1, 2, 1),  // dilation 2, pad 1: 2×2 of the taps
        ([5, 4, 1, 1], [6, 4, 3, 3], 2, 3, 1, 1),  // padding beyond the reach, stride 2
        ([5, 4, 1, 1], [6, 4, 2, 2], 5, 3, 1, 1),  // no live tap on either axis
        ([5, 8, 2, 2], [8, 2, 3, 3], 1, 1, 1, 4),  // groups, dense
        ([5, 8, 1, 1], [12, 4, 3, 3], 1, 1, 1, 2), // groups, centre tap
        ([2, 6, 2, 2], [6, 2, 5, 5], 1, 2, 1, 3),  // groups, 5×5 cropped to 3×3
        ([3, 5, 3, 2], [4, 5, 5, 5], 1, 2, 1, 1),  // 5×5 on 3×2: rows 1..4, columns 1..4 live
        ([64, 16, 2, 2], [32, 16, 3, 3], 1, 1, 1, 1), // enough work to thread
        ([64, 32, 1, 1], [64, 32, 3, 3], 1, 1, 1, 1),
        // From 2^20 multiply-adds the GEMMs split the longer of their two output dims across
        // the threads (3 threads: parts not a multiple of 16, and rows as well as columns).
        ([64, 64, 2, 2], [64, 64, 3, 3], 1, 1, 1, 1),
        ([48, 128, 2, 2], [72, 128, 3, 3], 2, 1, 1, 1),
        ([64, 128, 1, 1], [128, 128, 3, 3], 1, 1, 1, 1),
        ([100, 96, 1, 1], [120, 96, 3, 3], 1, 1, 1, 1),
    ];
    for threads in [1, 2, 3] {
        on_threads(threads, || {
            for (i, &(input, weight, st, pad, dil, groups)) in shapes.iter().enumerate() {
                check(shape(input, weight, st, pad, dil, groups), 100 + i as u64);
            }
            // Asymmetric padding (top/left given, bottom/right from the output size): 3×3 on a
            // 2×2 map with padding (1, 0) top/left and none bottom/right.
            let mut s = shape([5, 3, 2, 2], [4, 3, 3, 3], 1, 1, 1, 1);
            s.pad = (1, 0);
            s.oh = 1;
            s.ow = 1;
            check(s, 120);
            let mut s = shape([5, 3, 1, 1], [4, 3, 3, 3], 1, 1, 1, 1);
            s.pad = (2, 1);
            s.oh = 1;
            check(s, 121);
        });
    }
}

/// The dense path reads a channel slice of a larger batch in place (image stride 2·C·H·W) and
/// copies other layouts (channels outermost).
#[test]
fn dense_strided_input_matches_contiguous() {
    let (n, c, h, w) = (6, 4, 2, 2);
    let s = shape([n, c, h, w], [5, c, 3, 3], 1, 1, 1, 1);
    let mut rng = StdRng::seed_from_u64(9);
    let wt = randn(&mut rng, s.weight_shape().iter().product());
    let gy = randn(&mut rng, s.output_shape().iter().product());
    let big = randn(&mut rng, n * 2 * c * h * w);
    let hw = h * w;
    let layouts: [(Vec<isize>, Box<dyn Fn(usize, usize, usize) -> usize>); 2] = [
        (vec![(2 * c * hw) as isize, hw as isize, w as isize, 1], Box::new(move |i, ch, p| (i * 2 * c + ch) * hw + p)),
        (vec![hw as isize, (n * hw) as isize, w as isize, 1], Box::new(move |i, ch, p| (ch * n + i) * hw + p)),
    ];
    for (strides, at) in layouts {
        let xv = StridedView::new(&big, 0, &[n, c, h, w], &strides).unwrap();
        let mut x_c = vec![0.0; n * c * hw];
        for i in 0..n {
            for ch in 0..c {
                for p in 0..hw {
                    x_c[(i * c + ch) * hw + p] = big[at(i, ch, p)];
                }
            }
        }
        let mut y = vec![0.0; gy.len()];
        conv::conv2d_forward(&xv, &wt, None, &s, &mut y).unwrap();
        close(&y, &conv::conv2d_naive(&x_c, &wt, None, &s), "strided forward", &s);
        let mut gw = vec![f64::NAN; wt.len()];
        conv::conv2d_backward_weight(&xv, &gy, &s, &mut gw, None).unwrap();
        close(&gw, &naive_backward(&x_c, &wt, &gy, &s).1, "strided grad_weight", &s);
    }
}

/// Stride-1 "same" convs with an odd kernel on maps of a multiple of 16 pixels (up to 32×32) go
/// through shifted copies of the input (conv/shifted.rs): forward and input gradient where the
/// taps (C·kh·kw) are at most 256 and the output has at least 4 channels, the weight gradient up
/// to 256 taps and 32 output channels. Output channels that do not fill a 6-channel tile, tap
/// counts that do not fill one, 5×5 and 3×5 kernels, maps of 2 and 1 rows (rows of zeros above
/// and below), a 32×32 map (one image per group), and batches large enough to thread (images in
/// parallel; weight gradients per thread, summed), on 1, 2 and 3 threads.
#[test]
fn shifted_copies_match_naive() {
    let mut wide = Conv2dShape::new([3, 6, 4, 8], [7, 6, 3, 5], (1, 1), (1, 2), (1, 1), 1).unwrap();
    assert_eq!((wide.oh, wide.ow), (4, 8));
    wide.n = 3;
    let shapes = [
        shape([64, 16, 8, 8], [16, 16, 3, 3], 1, 1, 1, 1), // the digits ResNet's conv
        shape([64, 1, 8, 8], [16, 1, 3, 3], 1, 1, 1, 1),   // its stem (input gradient elsewhere)
        shape([5, 3, 4, 4], [7, 3, 3, 3], 1, 1, 1, 1),     // 7 outputs: a partial tile
        shape([3, 16, 4, 8], [13, 16, 5, 5], 1, 2, 1, 1),  // 5×5, 400 taps: forward only
        shape([4, 8, 2, 8], [5, 8, 3, 3], 1, 1, 1, 1),     // 2×8 map
        shape([3, 5, 1, 16], [4, 5, 3, 3], 1, 1, 1, 1),    // 1×16 map
        shape([2, 4, 16, 16], [6, 4, 3, 3], 1, 1, 1, 1),   // 16×16 map
        shape([3, 16, 32, 32], [8, 16, 3, 3], 1, 1, 1, 1), // 32×32 map
        shape([70, 8, 4, 4], [8, 8, 3, 3], 1, 1, 1, 1),    // enough work to thread
        shape([6, 24, 8, 8], [22, 24, 3, 3], 1, 1, 1, 1),  // 216 taps, a partial 4-row tile
        wide,                                              // 3×5 kernel, padding (1, 2)
    ];
    for threads in [1, 2, 3] {
        on_threads(threads, || {
            for (i, s) in shapes.iter().enumerate() {
                check(*s, 600 + i as u64);
            }
        });
    }
}

/// float32 through the shifted copies (FMA register tiles) against the float64 naive result,
/// and inf/NaN inputs giving what the naive loops give.
#[test]
fn shifted_copies_f32_and_non_finite() {
    let s = shape([9, 16, 8, 8], [16, 16, 3, 3], 1, 1, 1, 1);
    let mut rng = StdRng::seed_from_u64(640);
    let x = randn(&mut rng, s.input_shape().iter().product());
    let w = randn(&mut rng, s.weight_shape().iter().product());
    let gy = randn(&mut rng, s.output_shape().iter().product());
    let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let (x32, w32, gy32) = (f(&x), f(&w), f(&gy));
    let xv = StridedView::contiguous(&x32, &s.input_shape()).unwrap();
    let near = |got: &[f32], want: &[f64], what: &str| {
        for (j, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{what} differs at {j}: {g} vs {w}"
            );
        }
    };
    let mut y = vec![0f32; gy.len()];
    conv::conv2d_forward(&xv, &w32, None, &s, &mut y).unwrap();
    near(&y, &conv::conv2d_naive(&x, &w, None, &s), "f32 forward");
    let (gx_want, gw_want) = naive_backward(&x, &w, &gy, &s);
    let mut gx = vec![0f32; x.len()];
    conv::conv2d_backward_data(&gy32, &w32, &s, &mut gx).unwrap();
    near(&gx, &gx_want, "f32 grad_input");
    let mut gw = vec![0f32; w.len()];
    conv::conv2d_backward_weight(&xv, &gy32, &s, &mut gw, None).unwrap();
    near(&gw, &gw_want, "f32 grad_weight");

    check_non_finite(s, 641);
}
