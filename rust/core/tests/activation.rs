//! erf / erfc / GELU kernels (exact and tanh form, forward and backward) against a reference
//! computed in double-double arithmetic (~106 bits: erf by its positive series, erfc by its
//! continued fraction, e^x by Taylor), in f32 and f64, on random, swept and edge values; and on
//! the rayon path (long inputs) against the single-threaded one.

// The double-double constants spell out their f64 high parts on purpose.
#![allow(clippy::approx_constant)]

use ferrograd_core::activation::{erf, erfc, gelu_backward, gelu_forward, ErfFloat, GeluApprox};
use rand::{Rng, SeedableRng};

// ---- double-double reference ----------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Dd(f64, f64);

fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd(s, (a - (s - bb)) + (b - bb))
}

fn quick(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd(s, b - (s - a))
}

impl Dd {
    fn from(x: f64) -> Dd {
        Dd(x, 0.0)
    }
    fn add(self, y: Dd) -> Dd {
        let s = two_sum(self.0, y.0);
        let t = two_sum(self.1, y.1);
        let s = quick(s.0, s.1 + t.0);
        quick(s.0, s.1 + t.1)
    }
    fn neg(self) -> Dd {
        Dd(-self.0, -self.1)
    }
    fn sub(self, y: Dd) -> Dd {
        self.add(y.neg())
    }
    fn mul(self, y: Dd) -> Dd {
        let p = self.0 * y.0;
        let e = self.0.mul_add(y.0, -p) + (self.0 * y.1 + self.1 * y.0);
        quick(p, e)
    }
    fn div(self, y: Dd) -> Dd {
        let q1 = self.0 / y.0;
        let r = self.sub(y.mul(Dd::from(q1)));
        let q2 = r.0 / y.0;
        let r = r.sub(y.mul(Dd::from(q2)));
        let q3 = r.0 / y.0;
        quick(q1, q2).add(Dd::from(q3))
    }
    fn f(self) -> f64 {
        self.0 + self.1
    }
}

const LN2: Dd = Dd(0.6931471805599453, 2.3190468138462996e-17);
const TWO_OVER_SQRT_PI: Dd = Dd(1.1283791670955126, 1.533545961316588e-17);
const ONE_OVER_SQRT_PI: Dd = Dd(0.5641895835477563, 7.66772980658294e-18);

/// e^y, |y| < 700.
fn exp_dd(y: Dd) -> Dd {
    let k = (y.0 / LN2.0).round();
    let r = y.sub(LN2.mul(Dd::from(k)));
    let (mut sum, mut term) = (Dd::from(1.0), Dd::from(1.0));
    for n in 1..40 {
        term = term.mul(r).div(Dd::from(n as f64));
        sum = sum.add(term);
    }
    let scale = pow2(k as i32);
    Dd(sum.0 * scale, sum.1 * scale)
}

/// (erf(a), erfc(a)) for a ≥ 0 in double-double.
fn erf_erfc_dd(a: Dd) -> (Dd, Dd) {
    let one = Dd::from(1.0);
    let a2 = a.mul(a);
    let e = exp_dd(a2.neg());
    if a.0 < 3.0 {
        // erf(a) = 2/√π e^(-a²) Σ 2ⁿ a^(2n+1) / (1·3·…·(2n+1)): positive terms, no cancellation.
        let (mut term, mut sum) = (a, a);
        let mut n = 0.0;
        while term.0 > 1e-36 * sum.0 {
            n += 1.0;
            term = term.mul(a2).mul(Dd::from(2.0)).div(Dd::from(2.0 * n + 1.0));
            sum = sum.add(term);
        }
        let erf = TWO_OVER_SQRT_PI.mul(e).mul(sum);
        (erf, one.sub(erf))
    } else {
        // erfc(a) = e^(-a²)/√π / (a + (1/2)/(a + 1/(a + (3/2)/(a + …)))), evaluated backwards.
        let mut f = a;
        for n in (1..600).rev() {
            f = a.add(Dd::from(n as f64 * 0.5).div(f));
        }
        let erfc = ONE_OVER_SQRT_PI.mul(e).div(f);
        (one.sub(erfc), erfc)
    }
}

fn erf_ref(x: f64) -> f64 {
    let (v, _) = erf_erfc_dd(Dd::from(x.abs()));
    v.f().copysign(x)
}

fn erfc_ref(x: f64) -> f64 {
    let (e, c) = erf_erfc_dd(Dd::from(x.abs()));
    if x < 0.0 {
        Dd::from(1.0).add(e).f()
    } else {
        c.f()
    }
}

const FRAC_1_SQRT_2: Dd = Dd(0.7071067811865476, -4.833646656726457e-17);
const FRAC_1_SQRT_2PI: Dd = Dd(0.3989422804014327, -2.49232720227773e-17);
const SQRT_2_OVER_PI: Dd = Dd(0.7978845608028654, -4.98465440455546e-17);

/// (gelu(x), gelu'(x), |Φ| + |x φ|) of the exact form; the last is the size of the terms
/// whose sum is gelu' (they cancel near x = -0.75, where ulps of gelu' itself mean little).
fn gelu_ref(x: f64) -> (f64, f64, f64) {
    let xd = Dd::from(x);
    let a = Dd::from(x.abs()).mul(FRAC_1_SQRT_2);
    let (e, c) = erf_erfc_dd(a);
    let half = Dd::from(0.5);
    let phi_cdf = if x < 0.0 {
        half.mul(c)
    } else {
        half.add(half.mul(e))
    };
    let pdf = FRAC_1_SQRT_2PI.mul(exp_dd(xd.mul(xd).mul(half).neg()));
    let terms = phi_cdf.f().abs() + xd.mul(pdf).f().abs();
    (xd.mul(phi_cdf).f(), phi_cdf.add(xd.mul(pdf)).f(), terms)
}

/// (gelu(x), gelu'(x), size of gelu''s terms) of the tanh form: x σ(2u),
/// u = √(2/π)(x + 0.044715 x³).
fn gelu_tanh_ref(x: f64) -> (f64, f64, f64) {
    let xd = Dd::from(x);
    let one = Dd::from(1.0);
    let k = Dd::from(0.044715);
    let u = SQRT_2_OVER_PI.mul(xd.add(k.mul(xd).mul(xd).mul(xd)));
    let two_u = u.mul(Dd::from(2.0));
    // σ(2u) and σ(-2u) from e^(-2|u|)
    let e = exp_dd(if two_u.0 < 0.0 { two_u } else { two_u.neg() });
    let big = one.div(one.add(e));
    let small = e.mul(big);
    let (s, sn) = if u.0 < 0.0 {
        (small, big)
    } else {
        (big, small)
    };
    let du = SQRT_2_OVER_PI
        .mul(one.add(Dd::from(3.0).mul(k).mul(xd).mul(xd)))
        .mul(Dd::from(2.0));
    let second = xd.mul(s).mul(sn).mul(du);
    (
        xd.mul(s).f(),
        s.add(second).f(),
        s.f().abs() + second.f().abs(),
    )
}

// ---- helpers --------------------------------------------------------------------------------

trait Prec: ErfFloat {
    const MANT: i32;
    const MIN_SUB: f64;
    const MAX: f64;
}
impl Prec for f32 {
    const MANT: i32 = 23;
    const MIN_SUB: f64 = 1.401298464324817e-45;
    const MAX: f64 = f32::MAX as f64;
}
impl Prec for f64 {
    const MANT: i32 = 52;
    const MIN_SUB: f64 = 4.9e-324;
    const MAX: f64 = f64::MAX;
}

/// 2^e for e ≥ -1074 (powi's 1/2^-e overflows below -1023).
fn pow2(e: i32) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074).max(0))
    }
}

/// |got - want| in units in the last place of `want` in T (subnormal spacing at the bottom).
fn ulps<T: Prec>(got: f64, want: f64) -> f64 {
    if got == want {
        return 0.0;
    }
    (got - want).abs() / unit::<T>(want)
}

/// The spacing of T's numbers at |v|.
fn unit<T: Prec>(v: f64) -> f64 {
    if v == 0.0 {
        T::MIN_SUB
    } else {
        pow2(v.abs().log2().floor() as i32 - T::MANT).max(T::MIN_SUB)
    }
}

fn call1<T: Prec>(f: fn(&[T], &mut [T]) -> ferrograd_core::Result<()>, x: &[f64]) -> Vec<f64> {
    let xt: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    let mut out = vec![T::ZERO; x.len()];
    f(&xt, &mut out).unwrap();
    out.iter().map(|v| v.to_f64()).collect()
}

fn gelu_fwd<T: Prec>(x: &[f64], approx: GeluApprox) -> Vec<f64> {
    let xt: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    let mut out = vec![T::ZERO; x.len()];
    gelu_forward(&xt, approx, &mut out).unwrap();
    out.iter().map(|v| v.to_f64()).collect()
}

fn gelu_bwd<T: Prec>(x: &[f64], g: &[f64], approx: GeluApprox) -> Vec<f64> {
    let xt: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    let gt: Vec<T> = g.iter().map(|&v| T::from_f64(v)).collect();
    let mut out = vec![T::ZERO; x.len()];
    gelu_backward(&xt, &gt, approx, &mut out).unwrap();
    out.iter().map(|v| v.to_f64()).collect()
}

/// Inputs exactly representable in T: a sweep, uniform random values and log-uniform
/// magnitudes of both signs.
fn inputs<T: Prec>(lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut x: Vec<f64> = (0..=4000)
        .map(|i| lo + (hi - lo) * i as f64 / 4000.0)
        .collect();
    x.extend((0..4000).map(|_| rng.random_range(lo..hi)));
    x.extend((0..2000).map(|_| {
        let m = 10f64.powf(rng.random_range(-30.0..hi.abs().max(lo.abs()).log10()));
        if rng.random_bool(0.5) {
            m
        } else {
            -m
        }
    }));
    x.retain(|&v| v >= lo && v <= hi);
    x.iter().map(|&v| T::from_f64(v).to_f64()).collect()
}

/// The worst ulp error of `got` against `want` over `x`, with the worst input.
fn worst<T: Prec>(x: &[f64], got: &[f64], want: &[f64]) -> (f64, f64) {
    let mut w = (0.0, 0.0);
    for ((&xi, &g), &r) in x.iter().zip(got).zip(want) {
        let e = ulps::<T>(g, r);
        if e > w.0 {
            w = (e, xi);
        }
    }
    w
}

// ---- erf / erfc -------------------------------------------------------------------------------

#[test]
fn erf_f32_within_one_ulp() {
    let x = inputs::<f32>(-10.0, 10.0, 1);
    let got = call1::<f32>(erf, &x);
    let want: Vec<f64> = x.iter().map(|&v| erf_ref(v)).collect();
    let (e, at) = worst::<f32>(&x, &got, &want);
    println!("erf f32: worst {e:.3} ulp at {at}");
    assert!(e <= 1.0, "erf f32: {e} ulp at x = {at}");
}

#[test]
fn erf_f64_within_one_ulp() {
    let x = inputs::<f64>(-7.0, 7.0, 2);
    let got = call1::<f64>(erf, &x);
    let want: Vec<f64> = x.iter().map(|&v| erf_ref(v)).collect();
    let (e, at) = worst::<f64>(&x, &got, &want);
    println!("erf f64: worst {e:.3} ulp at {at}");
    assert!(e <= 1.5, "erf f64: {e} ulp at x = {at}");
}

#[test]
fn erfc_keeps_relative_accuracy_in_the_tail() {
    // f32: down to erfc ≈ 1e-37 (x ≈ 9.1); f64: down to 1e-300 (x ≈ 26)
    let x = inputs::<f32>(-6.0, 9.1, 3);
    let got = call1::<f32>(erfc, &x);
    let want: Vec<f64> = x.iter().map(|&v| erfc_ref(v)).collect();
    let (e, at) = worst::<f32>(&x, &got, &want);
    println!("erfc f32: worst {e:.3} ulp at {at}");
    assert!(e <= 4.0, "erfc f32: {e} ulp at x = {at}");

    let x = inputs::<f64>(-6.0, 26.0, 4);
    let got = call1::<f64>(erfc, &x);
    let want: Vec<f64> = x.iter().map(|&v| erfc_ref(v)).collect();
    let (e, at) = worst::<f64>(&x, &got, &want);
    println!("erfc f64: worst {e:.3} ulp at {at}");
    assert!(e <= 4.0, "erfc f64: {e} ulp at x = {at}");
}

#[test]
fn erf_special_values() {
    fn check<T: Prec>() {
        let x = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-40,
            -1e-44,
            1e30,
            -1e30,
            f64::MAX,
            6.0,
            -30.0,
        ];
        let e = call1::<T>(erf, &x);
        let c = call1::<T>(erfc, &x);
        assert!(e[0] == 0.0 && e[0].is_sign_positive(), "erf(0)");
        assert!(e[1] == 0.0 && e[1].is_sign_negative(), "erf(-0) = -0");
        assert_eq!((e[2], e[3]), (1.0, -1.0), "erf(±inf)");
        assert!(e[4].is_nan() && c[4].is_nan(), "NaN in, NaN out");
        // erf(x) ≈ 2x/√π for tiny x, also subnormal
        let tiny = T::from_f64(1e-40).to_f64();
        assert!(
            ulps::<T>(e[5], tiny * 1.1283791670955126) <= 1.0,
            "erf(1e-40) = {}",
            e[5]
        );
        assert!(e[6] < 0.0, "erf(-1e-44) = {}", e[6]);
        assert_eq!(
            (e[7], e[8], e[9], e[10], e[11]),
            (1.0, -1.0, 1.0, 1.0, -1.0)
        );
        assert_eq!((c[0], c[1]), (1.0, 1.0), "erfc(±0)");
        assert_eq!((c[2], c[3]), (0.0, 2.0), "erfc(±inf)");
        assert_eq!((c[7], c[8], c[9], c[11]), (0.0, 2.0, 0.0, 2.0));
    }
    check::<f32>();
    check::<f64>();
}

// ---- GELU ---------------------------------------------------------------------------------------

/// The worst error in ulps of `scale` (the reference itself, or the size of the terms it sums),
/// counting nothing below `floor` (results that T holds only as subnormals or 0).
fn gelu_worst<T: Prec>(
    x: &[f64],
    got: &[f64],
    want: &[f64],
    scale: &[f64],
    floor: f64,
) -> (f64, f64) {
    let mut w = (0.0, 0.0);
    for (((&xi, &g), &r), &sc) in x.iter().zip(got).zip(want).zip(scale) {
        let e = if (g - r).abs() <= floor || g == r {
            0.0
        } else {
            (g - r).abs() / unit::<T>(sc.abs().max(r.abs()))
        };
        if e > w.0 {
            w = (e, xi);
        }
    }
    w
}

fn check_gelu<T: Prec>(
    approx: GeluApprox,
    lo: f64,
    hi: f64,
    fwd_ulps: f64,
    bwd_ulps: f64,
    floor: f64,
) {
    let x = inputs::<T>(lo, hi, 5);
    let ones = vec![1.0; x.len()];
    let reference: Vec<(f64, f64, f64)> = x
        .iter()
        .map(|&v| match approx {
            GeluApprox::None => gelu_ref(v),
            GeluApprox::Tanh => gelu_tanh_ref(v),
        })
        .collect();
    let y_ref: Vec<f64> = reference.iter().map(|r| r.0).collect();
    let d_ref: Vec<f64> = reference.iter().map(|r| r.1).collect();
    let d_terms: Vec<f64> = reference.iter().map(|r| r.2).collect();
    let y = gelu_fwd::<T>(&x, approx);
    let d = gelu_bwd::<T>(&x, &ones, approx);
    let (ey, aty) = gelu_worst::<T>(&x, &y, &y_ref, &y_ref, floor);
    let (ed, atd) = gelu_worst::<T>(&x, &d, &d_ref, &d_terms, floor);
    let name = std::any::type_name::<T>();
    println!("gelu {approx:?} {name}: forward {ey:.3} ulp at {aty}, backward {ed:.3} ulp (of its terms) at {atd}");
    assert!(
        ey <= fwd_ulps,
        "gelu {approx:?} {name}: forward {ey} ulp at x = {aty}"
    );
    assert!(
        ed <= bwd_ulps,
        "gelu {approx:?} {name}: backward {ed} ulp at x = {atd}"
    );
}

#[test]
fn gelu_exact_form_is_accurate() {
    // The backward cancels near x = -0.75 (Φ + xφ = 0 at x ≈ -0.7518): ulps of a result near 0
    // grow there; the floor bounds the absolute error instead.
    check_gelu::<f32>(GeluApprox::None, -13.0, 13.0, 4.0, 4.0, 1e-40);
    check_gelu::<f64>(GeluApprox::None, -37.0, 37.0, 3.0, 4.0, 1e-310);
}

#[test]
fn gelu_exact_form_is_accurate_in_its_subnormal_tail() {
    // Past ErfFloat::GELU_CUT the vector bodies clamp |x| (no subnormal intermediates) and the
    // elements below -cut are redone in f64: rounded once, into the subnormal range or to -0.
    check_gelu::<f32>(GeluApprox::None, -16.0, -12.51, 1.0, 2.0, 1.5e-45);
    check_gelu::<f32>(GeluApprox::None, 12.0, 40.0, 0.0, 0.0, 0.0);
    // f64 has no wider type to redo its tail in: past -37.6 its results are subnormal and off by
    // up to ~40 units of the smallest subnormal (as before the clamp; 1e-12 of the value).
    check_gelu::<f64>(GeluApprox::None, -40.0, -37.01, 64.0, 64.0, 5e-324);
}

#[test]
fn gelu_tanh_form_is_accurate() {
    check_gelu::<f32>(GeluApprox::Tanh, -12.0, 12.0, 3.0, 5.0, 1e-40);
    check_gelu::<f64>(GeluApprox::Tanh, -30.0, 30.0, 3.0, 5.0, 1e-310);
}

#[test]
fn gelu_backward_multiplies_the_upstream_gradient() {
    let x = [-2.5, -0.3, 0.0, 0.7, 4.0];
    let g = [2.0, -1.5, 3.0, 0.25, -4.0];
    for approx in [GeluApprox::None, GeluApprox::Tanh] {
        let d1 = gelu_bwd::<f64>(&x, &[1.0; 5], approx);
        let dg = gelu_bwd::<f64>(&x, &g, approx);
        for i in 0..5 {
            assert!(
                (dg[i] - g[i] * d1[i]).abs() <= 1e-15 * dg[i].abs(),
                "{approx:?} {i}"
            );
        }
    }
}

#[test]
fn gelu_special_values_follow_torch() {
    fn check<T: Prec>(approx: GeluApprox) {
        let x = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            1e30,
            -1e30,
            T::MAX,
            -T::MAX,
            1e-40,
        ];
        let y = gelu_fwd::<T>(&x, approx);
        let d = gelu_bwd::<T>(&x, &[1.0; 10], approx);
        let tag = format!("{approx:?} {}", std::any::type_name::<T>());
        assert!(y[0].is_nan() && d[0].is_nan(), "{tag}: NaN");
        assert_eq!(y[1], f64::INFINITY, "{tag}: gelu(inf)");
        assert!(y[2].is_nan(), "{tag}: gelu(-inf) is NaN as torch's -inf·0");
        assert!(
            d[1].is_nan() && d[2].is_nan(),
            "{tag}: gelu'(±inf) is NaN as torch's"
        );
        assert!(y[3] == 0.0 && y[3].is_sign_positive(), "{tag}: gelu(0)");
        assert!(
            y[4] == 0.0 && y[4].is_sign_negative(),
            "{tag}: gelu(-0) = -0"
        );
        assert_eq!((d[3], d[4]), (0.5, 0.5), "{tag}: gelu'(±0)");
        let (big, max) = (T::from_f64(1e30).to_f64(), T::MAX);
        assert_eq!((y[5], y[7]), (big, max), "{tag}: gelu(x) = x for large x");
        assert!(
            y[6] == 0.0 && y[8] == 0.0,
            "{tag}: gelu(-large) = -0, not NaN"
        );
        assert_eq!(
            (d[5], d[6], d[7], d[8]),
            (1.0, 0.0, 1.0, 0.0),
            "{tag}: finite large x"
        );
        let tiny = T::from_f64(1e-40).to_f64();
        assert!(
            ulps::<T>(y[9], 0.5 * tiny) <= 1.0,
            "{tag}: gelu(1e-40) = {}",
            y[9]
        );
    }
    for approx in [GeluApprox::None, GeluApprox::Tanh] {
        check::<f32>(approx);
        check::<f64>(approx);
    }
}

// ---- rayon path and argument checks -------------------------------------------------------------

#[test]
fn long_inputs_match_element_by_element_results() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let n = 300_001; // many rayon tasks and a ragged last one
    let x: Vec<f32> = (0..n).map(|_| rng.random_range(-8.0..8.0)).collect();
    let g: Vec<f32> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
    for approx in [GeluApprox::None, GeluApprox::Tanh] {
        let mut y = vec![0f32; n];
        let mut d = vec![0f32; n];
        gelu_forward(&x, approx, &mut y).unwrap();
        gelu_backward(&x, &g, approx, &mut d).unwrap();
        for i in (0..n).step_by(997).chain([n - 1]) {
            let (mut y1, mut d1) = ([0f32], [0f32]);
            gelu_forward(&x[i..=i], approx, &mut y1).unwrap();
            gelu_backward(&x[i..=i], &g[i..=i], approx, &mut d1).unwrap();
            assert_eq!((y[i], d[i]), (y1[0], d1[0]), "{approx:?} element {i}");
        }
    }
    let mut e = vec![0f32; n];
    erf(&x, &mut e).unwrap();
    for i in (0..n).step_by(1009) {
        assert_eq!(e[i] as f64, call1::<f32>(erf, &[x[i] as f64])[0]);
    }
}

#[test]
fn empty_inputs_and_length_mismatches() {
    let mut none: [f32; 0] = [];
    erf::<f32>(&[], &mut none).unwrap();
    gelu_forward::<f32>(&[], GeluApprox::None, &mut none).unwrap();
    gelu_backward::<f32>(&[], &[], GeluApprox::Tanh, &mut none).unwrap();
    let mut out = [0f64; 2];
    let err = erf(&[1.0f64; 3], &mut out).unwrap_err().to_string();
    assert!(err.contains("erf") && err.contains("output"), "{err}");
    let err = gelu_backward(&[1.0f64; 2], &[1.0; 3], GeluApprox::None, &mut out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gelu_backward") && err.contains("grad"),
        "{err}"
    );
}

#[test]
fn gelu_blocks_past_the_cut_give_the_values_of_lone_elements() {
    // The bodies take the plain form on blocks within ErfFloat::GELU_CUT, the clamped one (and
    // the f64 redo) on blocks with an element beyond it: any element's value must not depend on
    // its neighbours. Mixed data (σ = 8, specials sprinkled in) against one call per element.
    fn check<T: Prec>() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let mut x: Vec<f64> = (0..3001)
            .map(|_| rng.random_range(-1.0..1.0) * 24.0)
            .collect();
        for (i, v) in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -13.5,
            13.5,
            -14.9,
            -40.0,
            0.0,
            -0.0,
        ]
        .iter()
        .enumerate()
        {
            x[i * 331 + 7] = *v;
        }
        let g: Vec<f64> = (0..x.len()).map(|i| 0.5 + (i % 7) as f64).collect();
        let (y, d) = (
            gelu_fwd::<T>(&x, GeluApprox::None),
            gelu_bwd::<T>(&x, &g, GeluApprox::None),
        );
        for i in 0..x.len() {
            let (y1, d1) = (
                gelu_fwd::<T>(&x[i..i + 1], GeluApprox::None),
                gelu_bwd::<T>(&x[i..i + 1], &g[i..i + 1], GeluApprox::None),
            );
            let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            for (f, block, alone) in [("gelu", y[i], y1[0]), ("gelu'", d[i], d1[0])] {
                assert!(
                    same(block, alone),
                    "{}: {f}({}) = {block} in a block, {alone} alone",
                    std::any::type_name::<T>(),
                    x[i],
                );
            }
        }
    }
    check::<f32>();
    check::<f64>();
}
