//! Elementwise activation kernels, f32 and f64: `erf`, `erfc`, and GELU forward and backward in
//! its exact (erf) form and its tanh form (torch's `approximate="none" | "tanh"`).
//!
//! f64 erf / erfc use the method and the coefficients of fdlibm's `s_erf.c` (Sun Microsystems,
//! 1993; the same rationals serve FreeBSD's msun, musl and the `libm` crate), |x| split in three:
//!
//! - |x| < 0.84375:        erf = x + x·P(x²)/Q(x²)
//! - 0.84375 ≤ |x| < 1.25: erf = erx + P1(s)/Q1(s), s = |x| - 1, erx = erf(1) rounded to 24 bits
//! - |x| ≥ 1.25:           erfc = e^(-x² - 0.5625 + R(z)/S(z)) / |x|, z = 1/x², with one (R, S)
//!   pair below 1/0.35 and another above.
//!
//! f32 uses two polynomials fitted for it (see `erf_parts_f32`): a x P(x²) near 0 and
//! e^(-x²) R(2/(2+x)) in the tail, one division and one exp instead of fdlibm's three and
//! ~50 multiply-adds.
//!
//! fdlibm takes one branch per call; here every lane evaluates every interval and selects, so the
//! loops have no branches and LLVM vectorises them under the run-time SIMD dispatch (simd.rs;
//! FMA inside the AVX2 / AVX-512 bodies). The tail's e^(-x²) is taken of the exact square
//! x² = hi + lo (the rounding error `lo` from one FMA), with an exp that reduces hi + lo as one
//! argument. Errors against a double-double reference (rust/core/tests/activation.rs): erf ≤ 1 ulp
//! (f32 and f64), erfc ≤ 4 ulp (f32) / 2 ulp (f64) down to the subnormals, GELU ≤ 4 ulp; GELU's
//! tails keep their relative accuracy (Φ(x) = erfc(-x/√2)/2 below 0: no 1 + erf cancellation).
//!
//! GELU: gelu(x) = x Φ(x) with Q = erfc(|x|/√2)/2, so Φ = Q below 0 and 1 - Q above;
//! gelu = x Q (x ≤ 0) or x - x Q (x > 0, one FMA); gelu' = Φ + x φ(x), φ = e^(-x²/2)/√(2π) (the
//! same exp). The tanh form: 0.5 x (1 + tanh u) = x σ(2u), u = √(2/π)(x + 0.044715 x³), with σ
//! from e^(-2|u|) so that neither tail cancels or overflows.
//!
//! Special values follow PyTorch: NaN in, NaN out; erf(±inf) = ±1, erfc(-inf) = 2, erfc(inf) = 0;
//! gelu(inf) = inf, gelu(-inf) = NaN (torch's -inf·0), gelu'(±inf) = NaN. Finite inputs never
//! give NaN, however large.
//!
//! Passes split into even rayon tasks of about `TASK_ELEMS` elements above `ELEMS_THRESHOLD`
//! (par.rs: `task_elems`).

// The selects and long literals are deliberate: they vectorise, and the coefficients are quoted
// as fdlibm publishes them.
#![allow(
    clippy::manual_clamp,
    clippy::excessive_precision,
    clippy::approx_constant
)]

use rayon::prelude::*;

use crate::error::{check_len, Result};
use crate::num::Float;
use crate::par::{task_elems, worth, ELEMS_THRESHOLD};
use crate::simd::{self, Level, LANES};

/// torch's `approximate` argument of GELU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeluApprox {
    /// x Φ(x), Φ from erf (torch's default, `"none"`).
    None,
    /// 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))) (`"tanh"`).
    Tanh,
}

/// The float types of these kernels: [`Float`] plus this module's exp. An extension because the
/// exp is this module's own: it takes its argument as an unevaluated sum `hi + lo`, which the
/// erfc tail and φ need to stay accurate where x² is large.
pub trait ErfFloat: Float {
    /// e^(hi + lo) for hi + lo ≤ 88 (f32) / 709 (f64), within ~1 ulp down to the smallest
    /// normal, gradually rounded subnormals below, 0 below half the smallest subnormal (or where
    /// `hi` is -inf), NaN for NaN. `FMA`: fuse the polynomial's multiply-adds.
    fn exp_sum<const FMA: bool>(hi: Self, lo: Self) -> Self;
    /// (erf(a), erfc(a), e^(-a²)) for a = `a` + `alo` ≥ 0 (or NaN), given a² = a2hi + a2lo
    /// exactly (a2hi rounded). `alo` (0 when `a` is an input) is the rounding error of a computed
    /// `a`. Branch-free: every interval is evaluated and the right one selected; a caller uses
    /// some of the three results and the rest is removed when inlined.
    fn erf_parts<const FMA: bool>(a: Self, alo: Self, a2hi: Self, a2lo: Self)
        -> (Self, Self, Self);
    fn fabs(self) -> Self;
    /// The magnitude of `self` with the sign of `sign`.
    fn with_sign_of(self, sign: Self) -> Self;
    /// Past this |x| the exact GELU's tail terms pass through the subnormal range, where each
    /// product costs a microcode assist (a vector of 16 with one such lane: ~20× slower; a
    /// batch of pre-activations with σ = 8 ran 10× slower). The vector bodies clamp |x| here;
    /// above it gelu(x) = x and gelu'(x) = 1 exactly, and below -it the few elements are
    /// redone one by one ([`gelu_tail`]).
    const GELU_CUT: f64;
    /// Below -GELU_ZERO the exact GELU and its derivative round to ±0 in this type: the bodies
    /// give x·0 there (-0, NaN for -inf), so only (-GELU_ZERO, -GELU_CUT) is redone.
    const GELU_ZERO: f64;
}

/// Whether the build's baseline has a fused multiply-add instruction (then `mul_add` is one
/// instruction even outside the AVX2/AVX-512 bodies; elsewhere it is a library call).
const BASE_FMA: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));

/// `a·b + c`: one fused instruction when `FMA`, else a multiply and an add (which vectorise
/// where a scalar `fma` call would not).
#[inline(always)]
fn mad<T: Float, const FMA: bool>(a: T, b: T, c: T) -> T {
    if FMA {
        a.fma(b, c)
    } else {
        a * b + c
    }
}

/// (p, e) with p + e = a·b exactly (p = a·b rounded): one FMA, or Dekker's product with
/// Veltkamp's split where there is none.
#[inline(always)]
fn two_prod<T: Float, const FMA: bool>(a: T, b: T) -> (T, T) {
    let p = a * b;
    if FMA {
        (p, a.fma(b, -p))
    } else {
        // Split each factor into halves of half the mantissa: their products are exact.
        let bits = if core::mem::size_of::<T>() == 4 {
            12
        } else {
            27
        };
        let k = T::from_f64((1u64 << bits) as f64 + 1.0);
        let split = |x: T| {
            let c = x * k;
            let h = c - (c - x);
            (h, x - h)
        };
        let ((ah, al), (bh, bl)) = (split(a), split(b));
        (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
    }
}

/// (s, e) with s + e = a + b exactly (Knuth's two-sum, any order of magnitude).
#[inline(always)]
fn two_sum<T: Float>(a: T, b: T) -> (T, T) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// A constant as an unevaluated sum hi + lo of two T (lo: what T's rounding of `hi` loses,
/// plus `lo` itself, the constant's own part below f64).
#[inline(always)]
fn split_const<T: Float>(hi: f64, lo: f64) -> (T, T) {
    let h = T::from_f64(hi);
    (h, T::from_f64((hi - h.to_f64()) + lo))
}

/// Horner's rule, highest coefficient last in `c`.
#[inline(always)]
fn horner<T: Float, const FMA: bool>(x: T, c: &[f64]) -> T {
    let mut p = T::from_f64(c[c.len() - 1]);
    for &k in c[..c.len() - 1].iter().rev() {
        p = mad::<T, FMA>(p, x, T::from_f64(k));
    }
    p
}

// ---- exp(hi + lo) -------------------------------------------------------------------------------

/// Cephes' expf polynomial: e^r ≈ 1 + r + r²·p(r).
const EXPF_CEPHES: [f64; 6] = [
    5.000_000_1e-1,
    1.666_666_5e-1,
    4.166_579_6e-2,
    8.333_452e-3,
    1.398_199_9e-3,
    1.987_569_1e-4,
];

/// e^(hi + lo) in f32: Cody-Waite reduction by ln 2 (k from hi + lo; hi - k·ln2_hi is exact), then
/// Cephes' expf polynomial (degree 7, ~1 ulp on |r| ≤ ln2 / 2), scaled by 2^k in two steps so
/// that results down to the subnormals come out (gradually) rounded rather than flushed: a
/// caller may multiply a tiny e^x back into the normal range (the tanh form's gradient does).
#[inline(always)]
fn exp_sum_f32<const FMA: bool>(hi: f32, lo: f32) -> f32 {
    const LO: f32 = -103.972_08; // e^LO = 2^-150: below, 0
    const HI: f32 = 88.0; // k ≤ 127 below this
    const MAGIC: f32 = 12_582_912.0; // 1.5·2^23: adding it rounds to an integer
    const LN2_HI: f32 = 0.693_359_375; // 9 bits: k·LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    let s = hi + lo;
    // max/min (not NaN-keeping selects): NaN reaches the result through r, which reads hi and lo
    let sc = s.max(LO).min(HI);
    let t = sc * core::f32::consts::LOG2_E + MAGIC;
    let k = t - MAGIC;
    let ki = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = ((hi - k * LN2_HI) + lo) - k * LN2_LO;
    let p = horner::<f32, FMA>(r, &EXPF_CEPHES);
    let y = mad::<f32, FMA>(p, r * r, r) + 1.0;
    // 2^k = 2^k1 · 2^k2, both normal for k in [-150, 127]
    let k1 = ki >> 1;
    let k2 = ki - k1;
    let y = y * f32::from_bits((k1.wrapping_add(127) as u32) << 23);
    let y = y * f32::from_bits((k2.wrapping_add(127) as u32) << 23);
    if s < LO || hi < LO {
        0.0
    } else if s > HI {
        f32::INFINITY
    } else {
        y
    }
}

/// 1/k! for k = 0..=13: the Taylor polynomial of e^r, below 2^-57 relative error on |r| ≤ ln2/2.
const EXP_TAYLOR: [f64; 14] = {
    let mut c = [1.0f64; 14];
    let mut k = 1;
    while k < 14 {
        c[k] = c[k - 1] / k as f64;
        k += 1;
    }
    c
};

/// e^(hi + lo) in f64: the reduction of `exp_sum_f32` with fdlibm's split of ln 2 (k·LN2_HI is
/// exact for |k| < 2^21), then the Taylor polynomial of degree 13, and the same two-step scaling.
#[inline(always)]
fn exp_sum_f64<const FMA: bool>(hi: f64, lo: f64) -> f64 {
    const LO: f64 = -745.2; // below e^LO ≈ 2^-1075.1, 0
    const HI: f64 = 709.0;
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5·2^52
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    let s = hi + lo;
    let sc = s.max(LO).min(HI);
    let t = sc * core::f64::consts::LOG2_E + MAGIC;
    let k = t - MAGIC;
    let ki = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    let r = ((hi - k * LN2_HI) + lo) - k * LN2_LO;
    let p = horner::<f64, FMA>(r, &EXP_TAYLOR[2..]);
    let y = mad::<f64, FMA>(p, r * r, r) + 1.0;
    let k1 = ki >> 1;
    let k2 = ki - k1;
    let y = y * f64::from_bits((k1.wrapping_add(1023) as u64) << 52);
    let y = y * f64::from_bits((k2.wrapping_add(1023) as u64) << 52);
    if s < LO || hi < LO {
        0.0
    } else if s > HI {
        f64::INFINITY
    } else {
        y
    }
}

impl ErfFloat for f32 {
    // e^(-x²/2) and Q stay above f32's smallest normal (Q(12.5) ≈ 4e-36) up to here.
    const GELU_CUT: f64 = 12.5;
    const GELU_ZERO: f64 = 15.0; // |gelu(-15)| ~ 6e-50, |gelu'(-15)| ~ 8e-49
    #[inline(always)]
    fn exp_sum<const FMA: bool>(hi: Self, lo: Self) -> Self {
        exp_sum_f32::<FMA>(hi, lo)
    }
    #[inline(always)]
    fn erf_parts<const FMA: bool>(
        a: Self,
        alo: Self,
        a2hi: Self,
        a2lo: Self,
    ) -> (Self, Self, Self) {
        erf_parts_f32::<FMA>(a, alo, a2hi, a2lo)
    }
    #[inline(always)]
    fn fabs(self) -> Self {
        self.abs()
    }
    #[inline(always)]
    fn with_sign_of(self, sign: Self) -> Self {
        self.copysign(sign)
    }
}

impl ErfFloat for f64 {
    // e^(-x²/2) and Q stay above f64's smallest normal up to here (Q(37) ≈ 1e-299).
    const GELU_CUT: f64 = 37.0;
    const GELU_ZERO: f64 = 39.0; // |gelu(-39)|, |gelu'(-39)| < 1e-329
    #[inline(always)]
    fn exp_sum<const FMA: bool>(hi: Self, lo: Self) -> Self {
        exp_sum_f64::<FMA>(hi, lo)
    }
    #[inline(always)]
    fn erf_parts<const FMA: bool>(
        a: Self,
        alo: Self,
        a2hi: Self,
        a2lo: Self,
    ) -> (Self, Self, Self) {
        let (erf, erfc) = fdlibm_erf_erfc::<f64, FMA>(a, alo, a2hi, a2lo);
        (erf, erfc, exp_sum_f64::<FMA>(-a2hi, -a2lo))
    }
    #[inline(always)]
    fn fabs(self) -> Self {
        self.abs()
    }
    #[inline(always)]
    fn with_sign_of(self, sign: Self) -> Self {
        self.copysign(sign)
    }
}

// ---- fdlibm's erf / erfc, branch-free -------------------------------------------------------

const ERX: f64 = 8.45062911510467529297e-01;
// erf on [0, 0.84375]: PP / QQ in x² (QQ with a leading 1)
const PP: [f64; 5] = [
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
];
const QQ: [f64; 6] = [
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
];
// erf on [0.84375, 1.25]: PA / QA in |x| - 1
const PA: [f64; 7] = [
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
];
const QA: [f64; 7] = [
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
];
// erfc on [1.25, 1/0.35]: RA / SA in 1/x²
const RA: [f64; 8] = [
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e+01,
    -6.23753324503260060396e+01,
    -1.62396669462573470355e+02,
    -1.84605092906711035994e+02,
    -8.12874355063065934246e+01,
    -9.81432934416914548592e+00,
];
const SA: [f64; 9] = [
    1.0,
    1.96512716674392571292e+01,
    1.37657754143519042600e+02,
    4.34565877475229228821e+02,
    6.45387271733267880336e+02,
    4.29008140027567833386e+02,
    1.08635005541779435134e+02,
    6.57024977031928170135e+00,
    -6.04244152148580987438e-02,
];
// erfc on [1/0.35, 28]: RB / SB in 1/x²
const RB: [f64; 7] = [
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e+01,
    -1.60636384855821916062e+02,
    -6.37566443368389627722e+02,
    -1.02509513161107724954e+03,
    -4.83519191608651397019e+02,
];
const SB: [f64; 8] = [
    1.0,
    3.03380607434824582924e+01,
    3.25792512996573918826e+02,
    1.53672958608443695994e+03,
    3.19985821950859553908e+03,
    2.55305040643316442583e+03,
    4.74528541206955367215e+02,
    -2.24409524465858183362e+01,
];

/// fdlibm's (erf(a), erfc(a)), the arguments as in [`ErfFloat::erf_parts`]. `alo` enters the
/// intervals below 1.25, where erfc is most sensitive to a's last bit.
#[inline(always)]
fn fdlibm_erf_erfc<T: ErfFloat, const FMA: bool>(a: T, alo: T, a2hi: T, a2lo: T) -> (T, T) {
    let c = T::from_f64;
    let (one, half) = (T::ONE, c(0.5));
    // |x| < 1.25: one rational, in x² below 0.84375 or in |x| - 1 above (a - 1 is exact there).
    let s1 = (a - one) + alo;
    let near0 = a < c(0.84375);
    let num = if near0 {
        horner::<T, FMA>(a2hi, &PP)
    } else {
        horner::<T, FMA>(s1, &PA)
    };
    let den = if near0 {
        horner::<T, FMA>(a2hi, &QQ)
    } else {
        horner::<T, FMA>(s1, &QA)
    };
    let q = num / den;
    let aq = mad::<T, FMA>(a, q, alo); // a·q + alo
    let erf_small = if near0 { a + aq } else { c(ERX) + q };
    let erfc_small = if near0 {
        half - ((a - half) + aq)
    } else {
        c(1.0 - ERX) - q
    };
    // |x| ≥ 1.25: erfc = e^(-x² - 0.5625 + R/S) / |x|.
    let inv = one / a;
    let z = inv * inv;
    let mid = a < c(1.0 / 0.35);
    let r = if mid {
        horner::<T, FMA>(z, &RA)
    } else {
        horner::<T, FMA>(z, &RB)
    };
    let s = if mid {
        horner::<T, FMA>(z, &SA)
    } else {
        horner::<T, FMA>(z, &SB)
    };
    let erfc_big = T::exp_sum::<FMA>(-a2hi, (r / s - c(0.5625)) - a2lo) * inv;
    let small = a < c(1.25);
    if small {
        (erf_small, erfc_small)
    } else {
        (one - erfc_big, erfc_big)
    }
}

#[inline(always)]
fn erf_one<T: ErfFloat, const FMA: bool>(x: T) -> T {
    let a = x.fabs();
    let (a2hi, a2lo) = two_prod::<T, FMA>(a, a);
    T::erf_parts::<FMA>(a, T::ZERO, a2hi, a2lo)
        .0
        .with_sign_of(x)
}

#[inline(always)]
fn erfc_one<T: ErfFloat, const FMA: bool>(x: T) -> T {
    let a = x.fabs();
    let (a2hi, a2lo) = two_prod::<T, FMA>(a, a);
    let (erf, erfc, _) = T::erf_parts::<FMA>(a, T::ZERO, a2hi, a2lo);
    if x < T::ZERO {
        T::ONE + erf
    } else {
        erfc
    }
}

// ---- f32: a lighter erf / erfc ---------------------------------------------------------------

// fdlibm's rationals are built for 53 bits: in f32 they cost three divisions and ~50 multiply-adds
// for accuracy f32 cannot hold. The f32 kernels use two polynomials fitted for it instead (Lawson's
// iteratively reweighted least squares towards the minimax relative error, on Chebyshev nodes
// against mpmath; coefficients rounded to f32 one at a time, each refit after the rounding of the
// ones before it):
//
// - erf(a) = a (c0 + z P(z)), z = a², c0 = 2/√π as two floats, P of degree 5, for a < 0.875
//   (max relative error 2.7e-10 before f32 rounding);
// - erfc(a) = e^(-a²) R(t), t = 2 / (2 + a), R of degree 9, for a ≥ 0.5 (R → erfc(a) e^(a²);
//   the substitution maps [0.5, ∞) onto (0, 0.8], where R is smooth; 1.4e-9 on [0.5, 10.1],
//   past which erfc is below f32's subnormals).
//
// erf takes the polynomial below 0.875 and 1 - erfc above; erfc takes 1 - erf below 0.5 (erfc >
// 0.48 there) and the tail form above. One division and one exp, which GELU's gradient reuses for
// φ. Errors (tests/activation.rs): erf ≤ 1 ulp, erfc ≤ 4 ulp (about 1.5 from evaluating R in
// f32, 1.5 from t's rounding, 1 from the exp). (One R of degree 11 over [0, ∞) and no
// polynomial for erfc measured 20 % faster but 4.5 ulp off near 0, where GELU is x - x·erfc/2.)

const ERF_C0_HI: f32 = 1.128_379_225_730_896; // 2/√π = ERF_C0_HI + ERF_C0_LO
const ERF_C0_LO: f32 = -5.863_538_277_139_923_6e-8;
const ERF_P_F32: [f64; 6] = [
    -0.376_126_378_774_642_94,
    0.112_837_560_474_872_59,
    -0.026_862_712_576_985_36,
    0.005_209_327_675_402_164_5,
    -0.000_823_891_954_496_501_5,
    8.789_568_528_300_151e-05,
];
const ERFC_R_F32: [f64; 10] = [
    3.766_440_613_617_305_6e-06,
    0.281_978_785_991_668_7,
    0.283_656_030_893_325_8,
    0.234_757_319_092_750_55,
    0.235_614_687_204_360_96,
    -0.108_483_061_194_419_86,
    0.406_840_950_250_625_6,
    -0.611_364_841_461_181_6,
    0.351_450_830_698_013_3,
    -0.074_462_465_941_905_98,
];

#[inline(always)]
fn erf_parts_f32<const FMA: bool>(a: f32, alo: f32, a2hi: f32, a2lo: f32) -> (f32, f32, f32) {
    let e = exp_sum_f32::<FMA>(-a2hi, -a2lo);
    // a (c0 + z P(z)) + alo erf'(a), the small terms first
    let inner = mad::<f32, FMA>(a2hi, horner::<f32, FMA>(a2hi, &ERF_P_F32), ERF_C0_LO);
    // alo's term only where erf_small is used: for large a, alo·e is subnormal (a slow multiply).
    let alo_small = if a < 0.875 { alo } else { 0.0 };
    let low = mad::<f32, FMA>(a, inner, alo_small * e * ERF_C0_HI);
    let erf_small = mad::<f32, FMA>(a, ERF_C0_HI, low);
    let t = 2.0 / ((2.0 + a) + alo);
    let erfc_tail = e * horner::<f32, FMA>(t, &ERFC_R_F32);
    let erf = if a < 0.875 {
        erf_small
    } else {
        1.0 - erfc_tail
    };
    let erfc = if a < 0.5 { 1.0 - erf_small } else { erfc_tail };
    (erf, erfc, e)
}

// ---- GELU ---------------------------------------------------------------------------------------

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_94;
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_355_88;
const KAPPA: f64 = 0.044_715;
/// Past this |x| every tail term is exactly 0; clamping there keeps inf·0 out of finite inputs.
const BIG: f64 = 1e4;

/// (Q, e^(-x²/2)) with Q = erfc(|x|/√2)/2: Φ(x) = Q for x < 0, 1 - Q for x ≥ 0.
#[inline(always)]
fn upper_tail<T: ErfFloat, const FMA: bool>(x: T) -> (T, T) {
    let half = T::from_f64(0.5);
    let ax = x.fabs();
    // a = |x|/√2 as a + alo, and a² = x²/2 exactly (halving is exact): erfc sees neither the
    // rounding of 1/√2 nor that of a.
    let (ch, cl) = split_const::<T>(core::f64::consts::FRAC_1_SQRT_2, -4.833_646_656_726_457e-17);
    let (a, alo) = two_prod::<T, FMA>(ax, ch);
    let alo = mad::<T, FMA>(ax, cl, alo);
    // Past 1e30 erfc is 0 and alo unused; there (and at inf) its split may overflow into NaN.
    let alo = if ax < T::from_f64(1e30) { alo } else { T::ZERO };
    let (hi, lo) = two_prod::<T, FMA>(x, x);
    let (hi, lo) = (hi * half, lo * half);
    let (_, erfc, e) = T::erf_parts::<FMA>(a, alo, hi, lo);
    (erfc * half, e)
}

#[inline(always)]
fn gelu_erf<T: ErfFloat, const FMA: bool>(x: T) -> T {
    let (q, _) = upper_tail::<T, FMA>(x);
    // x·Q up to 0 (±0 keep their sign), x - x·Q in one rounding above; xq keeps inf·0 out of
    // gelu(inf) = inf.
    let xq = if x > T::from_f64(BIG) {
        T::from_f64(BIG)
    } else {
        x
    };
    if x <= T::ZERO {
        x * q
    } else {
        mad::<T, FMA>(-xq, q, x)
    }
}

#[inline(always)]
fn gelu_erf_grad<T: ErfFloat, const FMA: bool>(x: T) -> T {
    let (q, e) = upper_tail::<T, FMA>(x);
    let phi = e * T::from_f64(FRAC_1_SQRT_2PI);
    // Φ + x φ: Q + x φ below 0, 1 + (x φ - Q) above.
    if x < T::ZERO {
        mad::<T, FMA>(x, phi, q)
    } else {
        T::ONE + mad::<T, FMA>(x, phi, -q)
    }
}

/// (σ(2u), σ(-2u), x clamped to ±BIG, x clamped to ±BIG unless infinite) of the tanh form,
/// u = √(2/π)(x + κ x³). u is carried as hi + lo (each product's rounding error kept):
/// e^(-2|u|) multiplies u's relative error by 2|u|, which would cost tens of ulps in the tail.
#[inline(always)]
fn tanh_parts<T: ErfFloat, const FMA: bool>(x: T) -> (T, T, T, T) {
    let c = T::from_f64;
    let big = c(BIG);
    let xc = if x > big {
        big
    } else if x < -big {
        -big
    } else {
        x
    };
    let xk = if x.fabs() < c(f64::INFINITY) { xc } else { x }; // ±inf and NaN pass
    let (kh, kl) = split_const::<T>(KAPPA, 0.0);
    let (ch, cl) = split_const::<T>(SQRT_2_OVER_PI, -4.984_654_404_555_46e-17);
    let (x2, x2l) = two_prod::<T, FMA>(x, x);
    let (t, tl) = two_prod::<T, FMA>(kh, x2); // κ x²
    let tl = tl + (kh * x2l + kl * x2);
    let (w, wl) = two_sum(T::ONE, t); // 1 + κ x²
    let wl = wl + tl;
    let (v, vl) = two_prod::<T, FMA>(x, w); // x (1 + κ x²)
    let vl = mad::<T, FMA>(x, wl, vl);
    let (u, ul) = two_prod::<T, FMA>(ch, v);
    let ul = ul + (ch * vl + cl * v);
    // -2|u| as hi + lo
    let (hi, lo) = if u < T::ZERO {
        (c(2.0) * u, c(2.0) * ul)
    } else {
        (c(-2.0) * u, c(-2.0) * ul)
    };
    let e = T::exp_sum::<FMA>(hi, lo); // in (0, 1]: no overflow
    let s_big = T::ONE / (T::ONE + e); // σ(2|u|) ≥ 1/2
    let s_small = e * s_big; // σ(-2|u|) ≤ 1/2
    (s_big, s_small, xc, xk)
}

#[inline(always)]
fn gelu_tanh<T: ErfFloat, const FMA: bool>(x: T) -> T {
    let (_, s_small, _, _) = tanh_parts::<T, FMA>(x);
    // x σ(2u): x σ(-2|u|) up to 0 (±0 keep their sign), x - x σ(-2|u|) above, in one rounding.
    let xq = if x > T::from_f64(BIG) {
        T::from_f64(BIG)
    } else {
        x
    };
    if x <= T::ZERO {
        x * s_small
    } else {
        mad::<T, FMA>(-xq, s_small, x)
    }
}

#[inline(always)]
fn gelu_tanh_grad<T: ErfFloat, const FMA: bool>(x: T) -> T {
    let c = T::from_f64;
    let (s_big, s_small, xc, xk) = tanh_parts::<T, FMA>(x);
    // d/dx x σ(2u) = σ + k σ (1 - σ), k = 2 x u' = 2 x √(2/π)(1 + 3κ x²). u' from the clamped
    // x, so that a finite x whose x² overflows gives k σ(1-σ) = 0, not inf·0; ±inf still give
    // NaN, as torch. Written as 1 + σ(-2u)(k σ(2u) - 1) above 0 and σ(2u)(1 + k σ(-2u)) below,
    // so the large part is added last.
    let du = mad::<T, FMA>(c(3.0 * KAPPA) * xc, xc, T::ONE) * c(2.0 * SQRT_2_OVER_PI);
    let k = xk * du;
    if x < T::ZERO {
        s_small * mad::<T, FMA>(k, s_big, T::ONE)
    } else {
        mad::<T, FMA>(s_small, mad::<T, FMA>(k, s_big, -T::ONE), T::ONE)
    }
}

// ---- passes ---------------------------------------------------------------------------------------

/// Runs `body::<T, FMA>(args)` compiled for the widest vector unit the CPU has: with FMA inside
/// the AVX2 / AVX-512 bodies, with the baseline's own choice otherwise.
macro_rules! fma_dispatch {
    ($body:ident::<$T:ident>($($a:expr),* $(,)?)) => {
        match simd::level() {
            Level::Plain => $body::<$T, BASE_FMA>($($a),*),
            _ => simd::dispatch(
                #[inline(always)]
                || $body::<$T, true>($($a),*),
            ),
        }
    };
}

#[derive(Clone, Copy)]
enum Unary {
    Erf,
    Erfc,
    Gelu(GeluApprox),
}

/// Runs `op` over x; returns whether some element is left to [`gelu_tail`]. `clamp`: the exact
/// GELU's clamp at GELU_CUT (off for gelu_tail's own redo).
#[inline(always)]
fn unary_body<T: ErfFloat, const FMA: bool>(
    x: &[T],
    out: &mut [T],
    op: Unary,
    clamp: bool,
) -> bool {
    macro_rules! map {
        ($f:ident) => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = $f::<T, FMA>(v);
            }
        };
    }
    match op {
        Unary::Erf => map!(erf_one),
        Unary::Erfc => map!(erfc_one),
        Unary::Gelu(GeluApprox::None) if !clamp => map!(gelu_erf),
        Unary::Gelu(GeluApprox::None) => {
            let cut = T::from_f64(T::GELU_CUT);
            // Blocks of GELU_BLOCK within the cut (all of them, for usual activations) take the plain
            // form; the others the clamped one (see GELU_CUT) and maybe gelu_tail.
            let mut redo = false;
            let n = x.len() / GELU_BLOCK * GELU_BLOCK;
            let ((xm, xr), (om, or)) = (x.split_at(n), out.split_at_mut(n));
            for (xc, oc) in xm
                .chunks_exact(GELU_BLOCK)
                .zip(om.chunks_exact_mut(GELU_BLOCK))
            {
                if beyond(xc, cut) {
                    redo |= gelu_clamped::<T, FMA>(xc, oc);
                } else {
                    let xc: &[T; GELU_BLOCK] = xc.try_into().expect("a whole block");
                    for (o, &v) in oc.iter_mut().zip(xc) {
                        *o = gelu_erf::<T, FMA>(v);
                    }
                }
            }
            return redo | gelu_clamped::<T, FMA>(xr, or);
        }
        Unary::Gelu(GeluApprox::Tanh) => map!(gelu_tanh),
    }
    false
}

/// Elements per block of the GELU bodies' cut test: several vectors, so that the plain form's
/// long dependency chains interleave (one vector per block ran 16 % slower).
const GELU_BLOCK: usize = 8 * LANES;

/// The exact GELU with |x| clamped to GELU_CUT (no subnormal intermediates): v for finite v
/// beyond the cut, v·0 below -GELU_ZERO; returns whether gelu_tail must redo some element.
#[inline(always)]
fn gelu_clamped<T: ErfFloat, const FMA: bool>(x: &[T], out: &mut [T]) -> bool {
    let (cut, zero) = (T::from_f64(T::GELU_CUT), T::from_f64(T::GELU_ZERO));
    for (o, &v) in out.iter_mut().zip(x) {
        let y = gelu_erf::<T, FMA>(clamp_tail(v, cut));
        let y = if v > cut && v - v == T::ZERO { v } else { y };
        *o = if v < T::ZERO - zero { v * T::ZERO } else { y };
    }
    any_redo(x) // a loop of its own: folded into the one above, it kept that from vectorising
}

/// `g · gelu'(x)` as [`gelu_clamped`].
#[inline(always)]
fn gelu_grad_clamped<T: ErfFloat, const FMA: bool>(x: &[T], g: &[T], dx: &mut [T]) -> bool {
    let (cut, zero) = (T::from_f64(T::GELU_CUT), T::from_f64(T::GELU_ZERO));
    for ((d, &v), &gv) in dx.iter_mut().zip(x).zip(g) {
        let dv = gelu_erf_grad::<T, FMA>(clamp_tail(v, cut));
        let dv = if v > cut && v - v == T::ZERO {
            T::ONE
        } else {
            dv
        };
        *d = gv * if v < T::ZERO - zero { v * T::ZERO } else { dv };
    }
    any_redo(x)
}

/// Whether some element of `x` lies beyond ±cut (or is NaN): its block takes the clamped body.
#[inline(always)]
fn beyond<T: ErfFloat>(x: &[T], cut: T) -> bool {
    x.iter().fold(false, |any, &v| any | !(v.fabs() <= cut))
}

/// `v` with its magnitude clamped to `cut` (NaN passes).
#[inline(always)]
fn clamp_tail<T: ErfFloat>(v: T, cut: T) -> T {
    if v.fabs() > cut {
        cut.with_sign_of(v)
    } else {
        v
    }
}

/// Whether some element of `x` is left to [`gelu_tail`].
#[inline(always)]
fn any_redo<T: ErfFloat>(x: &[T]) -> bool {
    x.iter().fold(false, |any, &v| any | gelu_redo(v))
}

/// Whether the clamped GELU bodies leave `v` to [`gelu_tail`]: in [-GELU_ZERO, -GELU_CUT), or +inf.
#[inline(always)]
fn gelu_redo<T: ErfFloat>(v: T) -> bool {
    let (cut, zero) = (T::from_f64(T::GELU_CUT), T::from_f64(T::GELU_ZERO));
    (v < T::ZERO - cut && v >= T::ZERO - zero) || (v > cut && v - v != T::ZERO)
}

/// Redoes the elements the clamped bodies leave ([`gelu_redo`]): gathered, in f64, through the
/// unclamped vector body. For f32 data these values are far inside f64's normal range, so no
/// subnormal slows them; f64 data pays for its own (-39..-37). With `g`, the backward's
/// `g · gelu'(x)`.
fn gelu_tail<T: ErfFloat>(x: &[T], g: Option<&[T]>, out: &mut [T]) {
    let mut idx = Vec::new();
    for (b, xb) in x.chunks(LANES).enumerate() {
        if any_redo(xb) {
            let hits = xb.iter().enumerate().filter(|(_, &v)| gelu_redo(v));
            idx.extend(hits.map(|(i, _)| b * LANES + i));
        }
    }
    if idx.is_empty() {
        return;
    }
    let xs: Vec<f64> = idx.iter().map(|&i| x[i].to_f64()).collect();
    let mut ys = vec![0.0f64; xs.len()];
    match g {
        None => {
            fma_dispatch!(unary_body::<f64>(
                &xs,
                &mut ys,
                Unary::Gelu(GeluApprox::None),
                false
            ));
        }
        Some(g) => {
            let gs: Vec<f64> = idx.iter().map(|&i| g[i].to_f64()).collect();
            fma_dispatch!(grad_body::<f64>(&xs, &gs, &mut ys, GeluApprox::None, false));
        }
    }
    for (&i, &y) in idx.iter().zip(&ys) {
        out[i] = T::from_f64(y);
    }
}

fn unary_chunk<T: ErfFloat>(x: &[T], out: &mut [T], op: Unary) {
    if fma_dispatch!(unary_body::<T>(x, out, op, true)) {
        gelu_tail(x, None, out);
    }
}

#[inline(always)]
fn grad_body<T: ErfFloat, const FMA: bool>(
    x: &[T],
    g: &[T],
    dx: &mut [T],
    approx: GeluApprox,
    clamp: bool,
) -> bool {
    macro_rules! map {
        ($f:ident) => {
            for ((d, &v), &gv) in dx.iter_mut().zip(x).zip(g) {
                *d = gv * $f::<T, FMA>(v);
            }
        };
    }
    match approx {
        GeluApprox::None if !clamp => map!(gelu_erf_grad),
        GeluApprox::None => {
            let cut = T::from_f64(T::GELU_CUT);
            // As unary_body: plain blocks within the cut, clamped ones beyond.
            let mut redo = false;
            let n = x.len() / GELU_BLOCK * GELU_BLOCK;
            let ((xm, xr), (gm, gr), (dm, dr)) = (x.split_at(n), g.split_at(n), dx.split_at_mut(n));
            let blocks = xm.chunks_exact(GELU_BLOCK).zip(gm.chunks_exact(GELU_BLOCK));
            for ((xc, gc), dc) in blocks.zip(dm.chunks_exact_mut(GELU_BLOCK)) {
                if beyond(xc, cut) {
                    redo |= gelu_grad_clamped::<T, FMA>(xc, gc, dc);
                } else {
                    let xc: &[T; GELU_BLOCK] = xc.try_into().expect("a whole block");
                    for ((d, &v), &gv) in dc.iter_mut().zip(xc).zip(gc) {
                        *d = gv * gelu_erf_grad::<T, FMA>(v);
                    }
                }
            }
            return redo | gelu_grad_clamped::<T, FMA>(xr, gr, dr);
        }
        GeluApprox::Tanh => map!(gelu_tanh_grad),
    }
    false
}

fn grad_chunk<T: ErfFloat>(x: &[T], g: &[T], dx: &mut [T], approx: GeluApprox) {
    if fma_dispatch!(grad_body::<T>(x, g, dx, approx, true)) {
        gelu_tail(x, Some(g), dx);
    }
}

/// gelu(x) and gelu'(x) in one pass, as [`unary_body`] and [`grad_body`] (g = 1) each write them:
/// the two read the same tail Q and e^(-x²/2) (tanh form: the same σ), which the compiler
/// computes once for both. Returns whether some element is left to [`gelu_tail`].
#[inline(always)]
fn pair_body<T: ErfFloat, const FMA: bool>(
    x: &[T],
    out: &mut [T],
    d: &mut [T],
    approx: GeluApprox,
) -> bool {
    if approx == GeluApprox::Tanh {
        for ((o, dv), &v) in out.iter_mut().zip(d.iter_mut()).zip(x) {
            *o = gelu_tanh::<T, FMA>(v);
            *dv = gelu_tanh_grad::<T, FMA>(v);
        }
        return false;
    }
    let (cut, ones) = (T::from_f64(T::GELU_CUT), [T::ONE; GELU_BLOCK]);
    let mut redo = false;
    let n = x.len() / GELU_BLOCK * GELU_BLOCK;
    let ((xm, xr), (om, or), (dm, dr)) = (x.split_at(n), out.split_at_mut(n), d.split_at_mut(n));
    let blocks = xm
        .chunks_exact(GELU_BLOCK)
        .zip(om.chunks_exact_mut(GELU_BLOCK));
    for ((xc, oc), dc) in blocks.zip(dm.chunks_exact_mut(GELU_BLOCK)) {
        if beyond(xc, cut) {
            redo |= gelu_clamped::<T, FMA>(xc, oc);
            redo |= gelu_grad_clamped::<T, FMA>(xc, &ones, dc);
        } else {
            let xc: &[T; GELU_BLOCK] = xc.try_into().expect("a whole block");
            for ((o, dv), &v) in oc.iter_mut().zip(dc.iter_mut()).zip(xc) {
                *o = gelu_erf::<T, FMA>(v);
                *dv = gelu_erf_grad::<T, FMA>(v);
            }
        }
    }
    let tail = gelu_clamped::<T, FMA>(xr, or);
    redo | tail | gelu_grad_clamped::<T, FMA>(xr, &ones[..xr.len()], dr)
}

fn pair_chunk<T: ErfFloat>(x: &[T], out: &mut [T], d: &mut [T], approx: GeluApprox) {
    if fma_dispatch!(pair_body::<T>(x, out, d, approx)) {
        gelu_tail(x, None, out);
        gelu_tail(x, Some(&vec![T::ONE; x.len()]), d);
    }
}

fn unary<T: ErfFloat>(name: &str, x: &[T], out: &mut [T], op: Unary) -> Result<()> {
    check_len(name, "output", out.len(), x.len())?;
    if worth(x.len(), ELEMS_THRESHOLD) {
        let task = task_elems(x.len(), GELU_BLOCK);
        x.par_chunks(task)
            .zip(out.par_chunks_mut(task))
            .for_each(|(xc, oc)| unary_chunk(xc, oc, op));
    } else {
        unary_chunk(x, out, op);
    }
    Ok(())
}

/// `out = erf(x)` elementwise.
pub fn erf<T: ErfFloat>(x: &[T], out: &mut [T]) -> Result<()> {
    unary("erf", x, out, Unary::Erf)
}

/// `out = erfc(x) = 1 - erf(x)` elementwise, accurate in the upper tail.
pub fn erfc<T: ErfFloat>(x: &[T], out: &mut [T]) -> Result<()> {
    unary("erfc", x, out, Unary::Erfc)
}

/// `out = gelu(x)` elementwise (exact or tanh form).
pub fn gelu_forward<T: ErfFloat>(x: &[T], approximate: GeluApprox, out: &mut [T]) -> Result<()> {
    unary("gelu", x, out, Unary::Gelu(approximate))
}

/// `out = gelu(x)` and `derivative = gelu'(x)` elementwise in one pass: the forward of a GELU
/// whose gradient will be taken, so that its backward is one multiply (`grad · derivative`, the
/// same values `gelu_backward` gives) instead of a second evaluation of the tail. About the cost
/// of `gelu_forward` alone.
pub fn gelu_forward_with_grad<T: ErfFloat>(
    x: &[T],
    approximate: GeluApprox,
    out: &mut [T],
    derivative: &mut [T],
) -> Result<()> {
    check_len("gelu", "output", out.len(), x.len())?;
    check_len("gelu", "derivative", derivative.len(), x.len())?;
    if worth(x.len(), ELEMS_THRESHOLD) {
        let task = task_elems(x.len(), GELU_BLOCK);
        x.par_chunks(task)
            .zip(out.par_chunks_mut(task))
            .zip(derivative.par_chunks_mut(task))
            .for_each(|((xc, oc), dc)| pair_chunk(xc, oc, dc, approximate));
    } else {
        pair_chunk(x, out, derivative, approximate);
    }
    Ok(())
}

/// `dx = grad · gelu'(x)` elementwise, given the forward's input `x`.
pub fn gelu_backward<T: ErfFloat>(
    x: &[T],
    grad: &[T],
    approximate: GeluApprox,
    dx: &mut [T],
) -> Result<()> {
    check_len("gelu_backward", "grad", grad.len(), x.len())?;
    check_len("gelu_backward", "output", dx.len(), x.len())?;
    if worth(x.len(), ELEMS_THRESHOLD) {
        let task = task_elems(x.len(), GELU_BLOCK);
        x.par_chunks(task)
            .zip(grad.par_chunks(task))
            .zip(dx.par_chunks_mut(task))
            .for_each(|((xc, gc), dc)| grad_chunk(xc, gc, dc, approximate));
    } else {
        grad_chunk(x, grad, dx, approximate);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_product_without_fma_matches_fma() {
        for &(x, y) in &[
            (1.1f64, 1.1),
            (3.0000001, -7.123456789),
            (1e-5, 0.7071067811865476),
            (12345.678, 3.3),
        ] {
            assert_eq!(
                two_prod::<f64, true>(x, y),
                two_prod::<f64, false>(x, y),
                "{x} {y}"
            );
            let (xf, yf) = (x as f32, y as f32);
            assert_eq!(
                two_prod::<f32, true>(xf, yf),
                two_prod::<f32, false>(xf, yf),
                "{x} {y}"
            );
        }
    }

    #[test]
    fn plain_and_fused_bodies_agree_closely() {
        let x: Vec<f64> = (0..2000).map(|i| (i as f64 - 1000.0) * 0.013).collect();
        for &v in &x {
            let (a, b) = (erf_one::<f64, true>(v), erf_one::<f64, false>(v));
            assert!(
                (a - b).abs() <= 4e-16 * a.abs().max(1e-300),
                "erf {v}: {a} {b}"
            );
            let (a, b) = (
                gelu_erf_grad::<f64, true>(v),
                gelu_erf_grad::<f64, false>(v),
            );
            assert!((a - b).abs() <= 1e-15, "gelu' {v}: {a} {b}");
            let xf = v as f32;
            let close = |a: f32, b: f32, what: &str| {
                assert!(
                    (a - b).abs() <= 4e-7 * a.abs().max(1e-30),
                    "{what} {v}: {a} {b}"
                )
            };
            close(
                erf_one::<f32, true>(xf),
                erf_one::<f32, false>(xf),
                "erf f32",
            );
            close(
                erfc_one::<f32, true>(xf),
                erfc_one::<f32, false>(xf),
                "erfc f32",
            );
            close(
                gelu_erf::<f32, true>(xf),
                gelu_erf::<f32, false>(xf),
                "gelu f32",
            );
            close(
                gelu_tanh::<f32, true>(xf),
                gelu_tanh::<f32, false>(xf),
                "gelu_tanh f32",
            );
            let (a, b) = (
                gelu_erf_grad::<f32, true>(xf),
                gelu_erf_grad::<f32, false>(xf),
            );
            assert!((a - b).abs() <= 4e-7, "gelu' f32 {v}: {a} {b}");
            let (a, b) = (
                gelu_tanh_grad::<f32, true>(xf),
                gelu_tanh_grad::<f32, false>(xf),
            );
            assert!((a - b).abs() <= 4e-7, "gelu_tanh' f32 {v}: {a} {b}");
        }
    }
}
