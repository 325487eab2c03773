//! Issue 14: size computations that overflow are errors (never a panic or a wrapped size),
//! and NaN inputs reach the outputs of the recurrent and attention kernels (as in PyTorch).

use ferrograd_core::attention::sdpa_forward;
use ferrograd_core::conv::Conv2dShape;
use ferrograd_core::num::Act;
use ferrograd_core::pool::{check_adaptive, Pool2dShape};
use ferrograd_core::{Error, StridedView};

#[test]
fn conv_huge_padding_is_an_overflow_error() {
    let r = Conv2dShape::new([1, 1, 4, 4], [1, 1, 3, 3], (1, 1), (1 << 40, 1 << 40), (1, 1), 1);
    assert!(matches!(r, Err(Error::Overflow(ref m)) if m.contains("conv2d")), "{r:?}");
    let r = Conv2dShape::new([1, 1, 4, 4], [1, 1, 3, 3], (1, 1), (usize::MAX / 2, 0), (1, 1), 1);
    assert!(matches!(r, Err(Error::Overflow(_))), "{r:?}");
}

#[test]
fn conv_huge_dilation_is_an_overflow_error() {
    let r = Conv2dShape::new([1, 1, 4, 4], [1, 1, 3, 3], (1, 1), (0, 0), (1 << 62, 1), 1);
    assert!(matches!(r, Err(Error::Overflow(ref m)) if m.contains("dilation")), "{r:?}");
}

#[test]
fn pool_huge_padding_is_an_overflow_error() {
    let r = Pool2dShape::new([1, 1, 4, 4], (2, 2), (1, 1), (usize::MAX / 2 + 1, 0));
    assert!(matches!(r, Err(Error::Overflow(_))), "{r:?}");
}

#[test]
fn adaptive_pool_huge_output_is_an_overflow_error() {
    let r = check_adaptive([1, 1, 4, 4], (1 << 40, 1 << 40));
    assert!(matches!(r, Err(Error::Overflow(ref m)) if m.contains("adaptive_avg_pool2d")), "{r:?}");
    assert!(check_adaptive([1, 1, 4, 4], (2, 2)).is_ok());
}

#[test]
fn activations_keep_nan() {
    for x in [f32::NAN, -f32::NAN] {
        assert!(<f32 as Act>::sigmoid(x).is_nan());
        assert!(<f32 as Act>::tanh_(x).is_nan());
        assert!(<f32 as Act>::exp_(x).is_nan());
        assert!(<f32 as Act>::erf_(x).is_nan());
        assert!(<f32 as Act>::max_(x, 0.0).is_nan(), "relu(NaN)");
    }
    assert!(<f64 as Act>::sigmoid(f64::NAN).is_nan());
    assert!(<f64 as Act>::tanh_(f64::NAN).is_nan());
    assert!(<f64 as Act>::max_(f64::NAN, 0.0).is_nan());
    // The clamps still clamp.
    assert!(<f32 as Act>::sigmoid(-1000.0).abs() < 1e-37);
    assert!((<f32 as Act>::tanh_(1000.0) - 1.0).abs() < 1e-6);
    assert!((<f32 as Act>::erf_(10.0) - 1.0).abs() < 1e-6);
}

fn sdpa_nan_row<T: ferrograd_core::attention::AttnFloat + std::fmt::Debug>(nan: T, one: T) {
    let (l, s, e) = (3, 4, 2);
    let mut q = vec![one; l * e];
    q[e] = nan; // row 1 has a NaN
    let k: Vec<T> = (0..s * e).map(|i| T::from_f64(i as f64 * 0.1)).collect();
    let v: Vec<T> = (0..s * e).map(|i| T::from_f64(1.0 - i as f64 * 0.05)).collect();
    let vq = StridedView::contiguous(&q, &[1, l, e]).unwrap();
    let vk = StridedView::contiguous(&k, &[1, s, e]).unwrap();
    let vv = StridedView::contiguous(&v, &[1, s, e]).unwrap();
    let (mut out, mut lse) = (vec![T::ZERO; l * e], vec![T::ZERO; l]);
    sdpa_forward(&vq, &vk, &vv, None, false, one, &mut out, &mut lse).unwrap();
    let is_nan = |x: T| x.is_nan();
    assert!(out[e..2 * e].iter().all(|&x| is_nan(x)), "NaN row became {:?}", &out[e..2 * e]);
    assert!(out[..e].iter().chain(&out[2 * e..]).all(|&x| !is_nan(x)), "{out:?}");

    // A fully masked row still gives 0 (PyTorch's convention), not NaN.
    let mut mask = vec![T::ZERO; l * s];
    mask[..s].iter_mut().for_each(|m| *m = T::NEG_INF);
    let vm = StridedView::contiguous(&mask, &[1, l, s]).unwrap();
    let q1 = vec![one; l * e];
    let vq1 = StridedView::contiguous(&q1, &[1, l, e]).unwrap();
    sdpa_forward(&vq1, &vk, &vv, Some(&vm), false, one, &mut out, &mut lse).unwrap();
    assert!(out[..e].iter().all(|&x| x == T::ZERO), "{out:?}");
}

#[test]
fn sdpa_keeps_a_nan_query_row() {
    sdpa_nan_row::<f32>(f32::NAN, 1.0);
    sdpa_nan_row::<f64>(f64::NAN, 1.0);
}
