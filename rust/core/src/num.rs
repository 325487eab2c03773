//! The float types of the kernels (f32 and f64), as one trait hierarchy.
//!
//! [`Float`] is the base every kernel's float bound derives from: faer's `RealField` (so the
//! GEMMs take it), the arithmetic operators, the constants and the few scalar functions that all
//! kernels share. A kernel that needs more declares a subtrait of `Float` with only the extra
//! methods, and says why:
//!
//! - [`Act`] (here, shared by the fused recurrent and MLP-Mixer kernels): activations with
//!   branch-free f32 approximations (exp, tanh, erf, Φ, sigmoid) for their fused gate passes.
//! - `softmax::SoftmaxFloat`: softmax's own f32 exp (flushes to exactly 0 below -87.3).
//! - `attention::AttnFloat`: attention's own FMA-based f32 exp (exactly 0 below -87).
//! - `pool::PoolFloat`: a branch-free select for max pooling.
//!
//! The three f32 exps differ in their last bits and at the ends of their range; each kernel was
//! tuned and tested with its own, so they stay apart rather than change results.

// max/min instead of clamp and the long literals are deliberate: they vectorise, and the
// coefficients are quoted as published.
#![allow(clippy::manual_clamp, clippy::excessive_precision)]

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// The float types every kernel is built for (f32 and f64).
pub trait Float:
    faer::traits::RealField
    + Copy
    + Send
    + Sync
    + 'static
    + PartialOrd
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    const ZERO: Self;
    const ONE: Self;
    const NEG_INF: Self;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn is_nan(self) -> bool;
    /// `self · b + c` in one rounding (one instruction where the code is compiled for FMA).
    fn fma(self, b: Self, c: Self) -> Self;
}

macro_rules! impl_float {
    ($t:ident) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NEG_INF: Self = $t::NEG_INFINITY;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $t::ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
            #[inline(always)]
            fn fma(self, b: Self, c: Self) -> Self {
                self.mul_add(b, c)
            }
        }
    };
}
impl_float!(f32);
impl_float!(f64);

/// Σ a[j]·b[j] over the shorter length, with 16 independent partial sums so that it vectorises
/// (inline it into a `simd::dispatch` body for the wide units).
#[inline(always)]
pub fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    const LANES: usize = 16;
    let mut acc = [F::ZERO; LANES];
    let n = a.len().min(b.len()) / LANES * LANES;
    for (ca, cb) in a[..n].chunks_exact(LANES).zip(b[..n].chunks_exact(LANES)) {
        for t in 0..LANES {
            acc[t] += ca[t] * cb[t];
        }
    }
    let tail = a[n..]
        .iter()
        .zip(&b[n..])
        .fold(F::ZERO, |s, (&x, &y)| s + x * y);
    acc.iter().fold(tail, |s, &x| s + x)
}

// ---------------------------------------------------------------------------------------------
// Activations: fast branch-free f32 approximations (vectorised under `simd::dispatch`),
// libm-exact f64 (gradcheck).

/// Float types with the transcendental functions of the fused recurrent (LSTM/GRU/RNN gates) and
/// MLP-Mixer (GELU) kernels. An extension of [`Float`] because only those two kernels need them,
/// and their f32 versions are approximations chosen for vectorised gate passes.
pub trait Act: Float {
    fn exp_(x: Self) -> Self;
    fn erf_(x: Self) -> Self;
    fn tanh_(x: Self) -> Self;
    /// The standard normal CDF Φ(x) = (1 + erf(x / √2)) / 2.
    #[inline(always)]
    fn ncdf(x: Self) -> Self {
        Self::from_f64(0.5)
            * (Self::from_f64(1.0)
                + Self::erf_(x * Self::from_f64(core::f64::consts::FRAC_1_SQRT_2)))
    }
    #[inline(always)]
    fn sigmoid(x: Self) -> Self {
        Self::from_f64(1.0) / (Self::from_f64(1.0) + Self::exp_(-x))
    }
    #[inline(always)]
    /// max(a, b) that returns `a` when `a` is NaN (relu(NaN) = NaN, as in PyTorch).
    fn max_(a: Self, b: Self) -> Self {
        if b > a {
            b
        } else {
            a
        }
    }
}

/// e^x for f32: Cephes' expf (range reduction by ln 2 and a degree-6 polynomial), branch-free.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    // `f32::max/min` return the non-NaN operand and would turn NaN into a finite e^x; these
    // comparisons are false for NaN, so NaN passes through (still one maxps/minps each).
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    // Round to nearest with the 1.5 * 2^23 trick: j's low mantissa bits hold k as an integer.
    let j = x * core::f32::consts::LOG2_E + 12_582_912.0;
    let k = j - 12_582_912.0;
    // Fused multiply-adds: the callers run inside `simd::dispatch` (AVX2/AVX-512 bodies, where
    // each is one instruction); the GRU/LSTM gates are bound by this chain's latency.
    let r = k.mul_add(2.121_944_4e-4, k.mul_add(-0.693_359_375, x));
    let r2 = r * r;
    let p = 1.987_569_1e-4f32
        .mul_add(r, 1.398_199_9e-3)
        .mul_add(r, 8.333_452e-3)
        .mul_add(r, 4.166_579_6e-2)
        .mul_add(r, 1.666_666_5e-1)
        .mul_add(r, 5.000_000_1e-1);
    let y = p.mul_add(r2, r) + 1.0;
    // 2^k from j's bits: (k + 127) mod 512 shifted into the exponent; k is in [-126, 127].
    y * f32::from_bits(j.to_bits().wrapping_add(127) << 23)
}

/// tanh for f32: the 13/6-degree rational minimax approximation used by Eigen/XLA, accurate to a
/// couple of ulp on [-9, 9] (beyond, tanh is ±1 in f32). Half the operations of
/// (1 - e^{-2|x|}) / (1 + e^{-2|x|}) with a Taylor branch near 0, whose exp and select dominated
/// the GRU and LSTM gate passes (B128 H128 L20 GRU forward, one thread: 2.32 -> 2.24 ms).
#[inline(always)]
fn tanh_f32(x: f32) -> f32 {
    let x = if x < -9.0 { -9.0 } else { x }; // NaN-keeping clamp, as in exp_f32
    let x = if x > 9.0 { 9.0 } else { x };
    let x2 = x * x;
    let p = x2
        .mul_add(-2.760_768_5e-16, 2.000_187_9e-13)
        .mul_add(x2, -8.604_671_5e-11)
        .mul_add(x2, 5.122_297e-8)
        .mul_add(x2, 1.485_722_4e-5)
        .mul_add(x2, 6.372_619_3e-4)
        .mul_add(x2, 4.893_524_6e-3)
        * x;
    let q = x2
        .mul_add(1.198_258_4e-6, 1.185_347_1e-4)
        .mul_add(x2, 2.268_434_6e-3)
        .mul_add(x2, 4.893_525e-3);
    p / q
}

/// erf for f32: the rational minimax approximation used by Eigen/XLA (a few ulp on [-4, 4]).
#[inline(always)]
fn erf_f32(x: f32) -> f32 {
    let x = if x < -4.0 { -4.0 } else { x }; // NaN-keeping clamp, as in exp_f32
    let x = if x > 4.0 { 4.0 } else { x };
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_600_0e-3;
    p = x2 * p + -1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329_3e-3;
    q = x2 * q + -1.426_473_9e-2;
    x * p / q
}

/// erf for f64 to ~1 ulp: erf(x) = 2/√π e^{-x²} Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)) (no cancellation),
/// and ±1 beyond |x| = 6.
fn erf_f64(x: f64) -> f64 {
    let a = x.abs();
    if a >= 6.0 {
        return 1.0f64.copysign(x);
    }
    let x2 = a * a;
    let (mut term, mut sum, mut n) = (a, a, 0.0f64);
    while term > sum * 1e-17 {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
    }
    (sum * (-x2).exp() * core::f64::consts::FRAC_2_SQRT_PI).copysign(x)
}

/// Φ(x) for f32 from erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7), so the
/// lower tail keeps its relative accuracy instead of cancelling in 1 + erf.
#[inline(always)]
fn ncdf_f32(x: f32) -> f32 {
    let z = x.abs() * core::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let half = 0.5 * t * exp_f32(-z * z + poly);
    if x >= 0.0 {
        1.0 - half
    } else {
        half
    }
}

impl Act for f32 {
    #[inline(always)]
    fn ncdf(x: Self) -> Self {
        ncdf_f32(x)
    }
    #[inline(always)]
    fn exp_(x: Self) -> Self {
        exp_f32(x)
    }
    #[inline(always)]
    fn erf_(x: Self) -> Self {
        erf_f32(x)
    }
    #[inline(always)]
    fn tanh_(x: Self) -> Self {
        tanh_f32(x)
    }
}

impl Act for f64 {
    #[inline(always)]
    fn exp_(x: Self) -> Self {
        x.exp()
    }
    #[inline(always)]
    fn erf_(x: Self) -> Self {
        erf_f64(x)
    }
    #[inline(always)]
    fn tanh_(x: Self) -> Self {
        x.tanh()
    }
    #[inline(always)]
    fn sigmoid(x: Self) -> Self {
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            let e = x.exp();
            e / (1.0 + e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_math_is_accurate() {
        let mut x = -10.0f64;
        while x <= 10.0 {
            let xf = x as f32;
            let e = (xf as f64).exp();
            assert!(((exp_f32(xf) as f64) - e).abs() <= 3e-7 * e, "exp {x}");
            let t = (xf as f64).tanh();
            assert!(
                ((tanh_f32(xf) as f64) - t).abs() <= 1e-6 * t.abs() + 1e-30,
                "tanh {x}: {} vs {t}",
                tanh_f32(xf)
            );
            x += 0.00137;
        }
        for &(x, want) in &[
            (0.5f64, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (-0.1, -0.112_462_916_018_284_9),
        ] {
            assert!((erf_f64(x) - want).abs() < 1e-15, "erf_f64 {x}");
            assert!(
                (erf_f32(x as f32) as f64 - want).abs() < 3e-7,
                "erf_f32 {x}: {}",
                erf_f32(x as f32)
            );
        }
    }
}
