//! The flash-style attention kernels against a naive softmax(q kᵀ·scale + mask) v, forward and
//! backward, on odd shapes (not multiples of the block sizes), causal with L != S, broadcast
//! masks (zero strides), strided q/k/v and fully masked rows.

use ferrograd_core::attention::{self, AttnFloat};
use ferrograd_core::StridedView;
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.5..1.5)).collect()
}

struct Case {
    nb: usize,
    l: usize,
    s: usize,
    e: usize,
    ev: usize,
    causal: bool,
    /// additive mask of shape (l, s), broadcast over the batch
    mask: Option<Vec<f64>>,
}

/// Naive forward and backward in f64 on contiguous (nb, ·, ·) data.
#[allow(clippy::type_complexity)]
fn naive(
    c: &Case,
    q: &[f64],
    k: &[f64],
    v: &[f64],
    g: &[f64],
    scale: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (l, s, e, ev) = (c.l, c.s, c.e, c.ev);
    let mut out = vec![0.0; c.nb * l * ev];
    let (mut dq, mut dk, mut dv) = (
        vec![0.0; c.nb * l * e],
        vec![0.0; c.nb * s * e],
        vec![0.0; c.nb * s * ev],
    );
    for b in 0..c.nb {
        let (qb, kb, vb, gb) = (
            &q[b * l * e..],
            &k[b * s * e..],
            &v[b * s * ev..],
            &g[b * l * ev..],
        );
        for i in 0..l {
            let mut sc: Vec<f64> = (0..s)
                .map(|j| {
                    let mut x = (0..e).map(|t| qb[i * e + t] * kb[j * e + t]).sum::<f64>() * scale;
                    if let Some(m) = &c.mask {
                        x += m[i * s + j];
                    }
                    if c.causal && j > i {
                        x = f64::NEG_INFINITY;
                    }
                    x
                })
                .collect();
            let mx = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            if mx == f64::NEG_INFINITY {
                continue; // fully masked: output 0, no gradient
            }
            sc.iter_mut().for_each(|x| *x = (*x - mx).exp());
            let sum: f64 = sc.iter().sum();
            let p: Vec<f64> = sc.iter().map(|x| x / sum).collect();
            for t in 0..ev {
                out[b * l * ev + i * ev + t] = (0..s).map(|j| p[j] * vb[j * ev + t]).sum();
            }
            let dp: Vec<f64> = (0..s)
                .map(|j| (0..ev).map(|t| gb[i * ev + t] * vb[j * ev + t]).sum())
                .collect();
            let d: f64 = (0..s).map(|j| p[j] * dp[j]).sum();
            for j in 0..s {
                let ds = p[j] * (dp[j] - d);
                for t in 0..e {
                    dq[b * l * e + i * e + t] += ds * kb[j * e + t] * scale;
                    dk[b * s * e + j * e + t] += ds * qb[i * e + t] * scale;
                }
                for t in 0..ev {
                    dv[b * s * ev + j * ev + t] += p[j] * gb[i * ev + t];
                }
            }
        }
    }
    (out, dq, dk, dv)
}

fn close(name: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{name}[{i}]: {g} vs {w}"
        );
    }
}

/// Runs the kernel in type T. q is stored transposed per batch, (nb, e, l), and read through
/// strides; the mask is one (l, s) matrix seen as (nb, l, s) with a zero batch stride.
fn check<T: AttnFloat>(c: &Case, tol: f64, seed: u64) {
    let (nb, l, s, e, ev) = (c.nb, c.l, c.s, c.e, c.ev);
    let (q, k, v, g) = (
        random(nb * l * e, seed),
        random(nb * s * e, seed + 1),
        random(nb * s * ev, seed + 2),
        random(nb * l * ev, seed + 3),
    );
    let scale = 1.0 / (e as f64).sqrt();
    let (out_w, dq_w, dk_w, dv_w) = naive(c, &q, &k, &v, &g, scale);

    let cast = |x: &[f64]| x.iter().map(|&a| T::from_f64(a)).collect::<Vec<T>>();
    // q transposed in memory: element (b, i, t) lives at b*l*e + t*l + i.
    let mut qt = vec![T::ZERO; nb * l * e];
    for b in 0..nb {
        for i in 0..l {
            for t in 0..e {
                qt[b * l * e + t * l + i] = T::from_f64(q[b * l * e + i * e + t]);
            }
        }
    }
    let (kc, vc, gc) = (cast(&k), cast(&v), cast(&g));
    let mc = c.mask.as_ref().map(|m| cast(m));
    let vq = StridedView::new(&qt, 0, &[nb, l, e], &[(l * e) as isize, 1, l as isize]).unwrap();
    let vk = StridedView::contiguous(&kc, &[nb, s, e]).unwrap();
    let vv = StridedView::contiguous(&vc, &[nb, s, ev]).unwrap();
    let vm = mc
        .as_ref()
        .map(|m| StridedView::new(m, 0, &[nb, l, s], &[0, s as isize, 1]).unwrap());
    let mut out = vec![T::ZERO; nb * l * ev];
    let mut lse = vec![T::ZERO; nb * l];
    attention::sdpa_forward(
        &vq,
        &vk,
        &vv,
        vm.as_ref(),
        c.causal,
        T::from_f64(scale),
        &mut out,
        &mut lse,
    )
    .unwrap();
    let back = |x: &[T]| x.iter().map(|&a| to_f64(a)).collect::<Vec<f64>>();
    close("out", &back(&out), &out_w, tol);

    let vo = StridedView::contiguous(&out, &[nb, l, ev]).unwrap();
    let vg = StridedView::contiguous(&gc, &[nb, l, ev]).unwrap();
    let (mut dq, mut dk, mut dv) = (
        vec![T::ZERO; nb * l * e],
        vec![T::ZERO; nb * s * e],
        vec![T::ZERO; nb * s * ev],
    );
    attention::sdpa_backward(
        &vq,
        &vk,
        &vv,
        vm.as_ref(),
        c.causal,
        T::from_f64(scale),
        &vo,
        &lse,
        &vg,
        &mut dq,
        &mut dk,
        &mut dv,
    )
    .unwrap();
    close("dq", &back(&dq), &dq_w, tol);
    close("dk", &back(&dk), &dk_w, tol);
    close("dv", &back(&dv), &dv_w, tol);
}

fn to_f64<T: AttnFloat>(x: T) -> f64 {
    // f32 and f64 both print exactly enough digits to round-trip.
    format!("{x:?}").parse().unwrap()
}

#[test]
fn matches_naive_on_odd_shapes() {
    let mut seed = 0;
    for &(nb, l, s, e, ev) in &[
        (1, 1, 1, 1, 1),
        (2, 5, 7, 3, 4),
        (3, 65, 129, 16, 8),
        (1, 130, 67, 9, 17),
        (2, 200, 300, 32, 5),
    ] {
        for causal in [false, true] {
            seed += 10;
            let c = Case {
                nb,
                l,
                s,
                e,
                ev,
                causal,
                mask: None,
            };
            check::<f64>(&c, 1e-10, seed);
            check::<f32>(&c, 2e-4, seed);
        }
    }
}

#[test]
fn broadcast_masks_and_fully_masked_rows() {
    let (l, s) = (70, 260);
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let mut mask: Vec<f64> = (0..l * s)
        .map(|_| {
            if rng.random_bool(0.3) {
                f64::NEG_INFINITY
            } else {
                rng.random_range(-1.0..1.0)
            }
        })
        .collect();
    for j in 0..s {
        mask[3 * s + j] = f64::NEG_INFINITY; // row 3 sees nothing
        mask[66 * s + j] = if j == s - 1 { 0.0 } else { f64::NEG_INFINITY }; // only the last key
    }
    let c = Case {
        nb: 3,
        l,
        s,
        e: 8,
        ev: 6,
        causal: false,
        mask: Some(mask),
    };
    check::<f64>(&c, 1e-10, 7);
    check::<f32>(&c, 2e-4, 7);
}

#[test]
fn rejects_bad_shapes() {
    let a = vec![0f32; 24];
    let v234 = StridedView::contiguous(&a, &[2, 3, 4]).unwrap();
    let v243 = StridedView::contiguous(&a, &[2, 4, 3]).unwrap();
    let mut out = vec![0f32; 24];
    let mut lse = vec![0f32; 6];
    assert!(
        attention::sdpa_forward(&v234, &v243, &v234, None, false, 1.0, &mut out, &mut lse).is_err()
    );
    let m = StridedView::contiguous(&a[..6], &[2, 3]).unwrap();
    assert!(attention::sdpa_forward(
        &v234,
        &v234,
        &v234,
        Some(&m),
        false,
        1.0,
        &mut out,
        &mut lse
    )
    .is_err());
    let mut short = vec![0f32; 5];
    assert!(
        attention::sdpa_forward(&v234, &v234, &v234, None, false, 1.0, &mut out, &mut short)
            .is_err()
    );
    assert!(
        attention::sdpa_forward(&v234, &v234, &v234, None, false, 1.0, &mut out, &mut lse).is_ok()
    );
}

#[test]
fn fast_exp_is_accurate() {
    let mut worst = 0f64;
    let mut x = -87.0f32;
    while x < 88.0 {
        let got = x.exp_fast() as f64;
        let want = (x as f64).exp();
        worst = worst.max((got - want).abs() / want);
        x += 0.0137;
    }
    assert!(worst < 5e-7, "worst relative error {worst}");
    assert_eq!(f32::NEG_INFINITY.exp_fast(), 0.0);
    assert_eq!((-100f32).exp_fast(), 0.0);
    assert!(f32::NAN.exp_fast().is_nan());
}

/// Scores far above exp's range (|s| ~ 1e12): the softmax is one-hot at the largest score, so each
/// output row is that key's value row. The kernel subtracts the row max after scaling; if the
/// scaling rounded differently for the max and the exponent (a fused multiply-add), the top
/// score's exponent would be off by ~1e5 and the row would read as "no key visible" (zeros).
#[test]
fn huge_scores_give_the_argmax_value() {
    let (l, s, e, ev) = (3usize, 5usize, 1usize, 2usize);
    let q: Vec<f32> = vec![1.3e6, -2.7e6, 0.9e6];
    let k: Vec<f32> = vec![0.7e6, -1.1e6, 1.9e6, 0.2e6, -0.4e6];
    let v: Vec<f32> = (0..s * ev).map(|i| i as f32).collect();
    let vq = StridedView::contiguous(&q, &[1, l, e]).unwrap();
    let vk = StridedView::contiguous(&k, &[1, s, e]).unwrap();
    let vv = StridedView::contiguous(&v, &[1, s, ev]).unwrap();
    let mut out = vec![0f32; l * ev];
    let mut lse = vec![0f32; l];
    let scale = 1.0f32 / 3f32.sqrt();
    attention::sdpa_forward(&vq, &vk, &vv, None, false, scale, &mut out, &mut lse).unwrap();
    for i in 0..l {
        let best = (0..s)
            .max_by(|&a, &b| (q[i] * k[a]).total_cmp(&(q[i] * k[b])))
            .unwrap();
        assert_eq!(
            &out[i * ev..(i + 1) * ev],
            &v[best * ev..(best + 1) * ev],
            "row {i}"
        );
        assert!(lse[i].is_finite(), "row {i}: lse {}", lse[i]);
    }
}

// ---- the short-sequence path against the tiled one and the naive reference ------------------

use ferrograd_core::attention::Path;

/// Writes NaN/inf into (q, k, v) before a run.
type Poisoner<'a> = &'a dyn Fn(&mut [f64], &mut [f64], &mut [f64]);

/// Forward and backward of `path` on general strided inputs: q transposed per batch, k with a
/// broadcast batch dim (shared by every head), v with a column stride of 2, a mask broadcast over
/// the batch or not, dout strided. Returns (out, lse, dq, dk, dv) as f64.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn run_path<T: AttnFloat>(
    path: Path,
    nb: usize,
    (l, s, e, ev): (usize, usize, usize, usize),
    causal: bool,
    mask: Option<&[f64]>,
    scale: f64,
    seed: u64,
    poison: Poisoner,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut q, mut k, mut v) = (
        random(nb * l * e, seed),
        random(s * e, seed + 1),
        random(nb * s * ev * 2, seed + 2),
    );
    poison(&mut q, &mut k, &mut v);
    let g = random(nb * l * ev, seed + 3);
    let cast = |x: &[f64]| x.iter().map(|&a| T::from_f64(a)).collect::<Vec<T>>();
    let (qc, kc, vc, gc) = (cast(&q), cast(&k), cast(&v), cast(&g));
    let mc = mask.map(cast);
    // q stored (nb, e, l) and read transposed; k one (s, e) matrix seen with batch stride 0.
    let vq = StridedView::new(&qc, 0, &[nb, l, e], &[(l * e) as isize, 1, l as isize]).unwrap();
    let vk = StridedView::new(&kc, 0, &[nb, s, e], &[0, e as isize, 1]).unwrap();
    let vv = StridedView::new(
        &vc,
        0,
        &[nb, s, ev],
        &[(s * ev * 2) as isize, (ev * 2) as isize, 2],
    )
    .unwrap();
    let vm = mc.as_ref().map(|m| {
        let per_batch = m.len() == nb * l * s;
        let bs = if per_batch { (l * s) as isize } else { 0 };
        // the (l, s) mask stored transposed: column stride l
        StridedView::new(m, 0, &[nb, l, s], &[bs, 1, l as isize]).unwrap()
    });
    let mut out = vec![T::ZERO; nb * l * ev];
    let mut lse = vec![T::ZERO; nb * l];
    let sc = T::from_f64(scale);
    attention::sdpa_forward_path(
        &vq,
        &vk,
        &vv,
        vm.as_ref(),
        causal,
        sc,
        &mut out,
        &mut lse,
        path,
    )
    .unwrap();
    let vo = StridedView::contiguous(&out, &[nb, l, ev]).unwrap();
    // dout read through a reversed-row view (negative stride)
    let vg = StridedView::new(
        &gc,
        (l - 1) * ev,
        &[nb, l, ev],
        &[(l * ev) as isize, -(ev as isize), 1],
    )
    .unwrap();
    let (mut dq, mut dk, mut dv) = (
        vec![T::ZERO; nb * l * e],
        vec![T::ZERO; nb * s * e],
        vec![T::ZERO; nb * s * ev],
    );
    attention::sdpa_backward_path(
        &vq,
        &vk,
        &vv,
        vm.as_ref(),
        causal,
        sc,
        &vo,
        &lse,
        &vg,
        &mut dq,
        &mut dk,
        &mut dv,
        path,
    )
    .unwrap();
    let b = |x: &[T]| x.iter().map(|&a| to_f64(a)).collect::<Vec<f64>>();
    (b(&out), b(&lse), b(&dq), b(&dk), b(&dv))
}

/// Equal within tol, with NaN and ±inf in the same places.
fn same(name: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{name}");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        if x.is_nan() || y.is_nan() || x.is_infinite() || y.is_infinite() {
            assert!(
                x.is_nan() && y.is_nan() || x == y,
                "{name}[{i}]: {x} vs {y}"
            );
        } else {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "{name}[{i}]: {x} vs {y}"
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn both_paths<T: AttnFloat>(
    nb: usize,
    dims: (usize, usize, usize, usize),
    causal: bool,
    mask: Option<&[f64]>,
    scale: f64,
    tol: f64,
    seed: u64,
    poison: Poisoner,
) {
    let a = run_path::<T>(Path::Tiled, nb, dims, causal, mask, scale, seed, poison);
    let b = run_path::<T>(Path::Short, nb, dims, causal, mask, scale, seed, poison);
    let c = run_path::<T>(Path::Auto, nb, dims, causal, mask, scale, seed, poison);
    let what = format!(
        "{dims:?} causal {causal} mask {} scale {scale}",
        mask.is_some()
    );
    for (n, (x, y)) in ["out", "lse", "dq", "dk", "dv"].iter().zip([
        (&a.0, &b.0),
        (&a.1, &b.1),
        (&a.2, &b.2),
        (&a.3, &b.3),
        (&a.4, &b.4),
    ]) {
        same(&format!("short {n} {what}"), y, x, tol);
    }
    for (n, (x, y)) in ["out", "lse", "dq", "dk", "dv"].iter().zip([
        (&a.0, &c.0),
        (&a.1, &c.1),
        (&a.2, &c.2),
        (&a.3, &c.3),
        (&a.4, &c.4),
    ]) {
        same(&format!("auto {n} {what}"), y, x, tol);
    }
}

fn no_poison(_: &mut [f64], _: &mut [f64], _: &mut [f64]) {}

/// Sizes around the switch (S = SHORT_MAX_S ± 1, E = SHORT_MAX_E ± 1), odd sizes, L != S,
/// E != Ev, L on both sides of one vector of query rows (16, 17: the transposed form below, the
/// row form above), rows past one phase block (L 40), both dtypes, causal and custom scales.
#[test]
fn short_path_matches_tiled_and_naive() {
    let (ms, me) = (attention::SHORT_MAX_S, attention::SHORT_MAX_E);
    let mut seed = 500;
    for &dims in &[
        (10, 10, 16, 16),
        (1, 1, 1, 1),
        (3, ms - 1, 5, 7),
        (7, ms, me, 3),
        (5, ms + 1, me + 1, 17),
        (40, 9, 33, 16),
        (12, 40, 16, 16),
        (16, 10, 16, 16),
        (17, 3, 8, 40),
        (17, 10, 16, 16),
    ] {
        for causal in [false, true] {
            for scale in [0.25, -0.7, 0.0] {
                seed += 10;
                both_paths::<f64>(3, dims, causal, None, scale, 1e-12, seed, &no_poison);
                both_paths::<f32>(3, dims, causal, None, scale, 3e-5, seed, &no_poison);
            }
        }
        // against the naive reference as well (contiguous q, batch-broadcast mask)
        let (l, s, e, ev) = dims;
        for causal in [false, true] {
            let c = Case {
                nb: 2,
                l,
                s,
                e,
                ev,
                causal,
                mask: None,
            };
            seed += 10;
            check::<f64>(&c, 1e-10, seed);
        }
    }
}

/// Masks (per batch and broadcast, float with −inf entries), fully masked rows (output 0, lse −inf,
/// zero gradient), a row that sees one key only.
#[test]
fn short_path_masks_and_fully_masked_rows() {
    let (nb, l, s) = (3, 9, 11);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for per_batch in [false, true] {
        let n = if per_batch { nb * l * s } else { l * s };
        let mut m: Vec<f64> = (0..n)
            .map(|_| {
                if rng.random_bool(0.3) {
                    f64::NEG_INFINITY
                } else {
                    rng.random_range(-1.0..1.0)
                }
            })
            .collect();
        // stored transposed: element (i, j) of matrix b at b*l*s + j*l + i
        for j in 0..s {
            m[j * l + 2] = f64::NEG_INFINITY; // row 2 of batch 0 sees nothing
            m[j * l + 4] = if j == s - 1 { 0.5 } else { f64::NEG_INFINITY };
        }
        for dims in [(l, s, 8, 6), (l, s, 16, 16)] {
            both_paths::<f64>(nb, dims, false, Some(&m), 0.3, 1e-12, 77, &no_poison);
            both_paths::<f32>(nb, dims, false, Some(&m), 0.3, 3e-5, 77, &no_poison);
            let r = run_path::<f32>(Path::Short, nb, dims, false, Some(&m), 0.3, 77, &no_poison);
            assert!(
                r.0[2 * dims.3..3 * dims.3].iter().all(|&x| x == 0.0),
                "masked row outputs 0"
            );
            assert_eq!(r.1[2], f64::NEG_INFINITY, "masked row lse");
            assert!(
                r.2[2 * dims.2..3 * dims.2].iter().all(|&x| x == 0.0),
                "masked row dq"
            );
        }
    }
}

/// NaN and ±inf in q, k or v reach the same entries on both paths (non-causal: Python sends
/// causal calls with non-finite inputs as explicit masks).
#[test]
fn short_path_propagates_nan_like_tiled() {
    type Poison = fn(&mut [f64], &mut [f64], &mut [f64]);
    let cases: [Poison; 5] = [
        |q, _, _| q[3] = f64::NAN,
        |_, k, _| k[5] = f64::NAN,
        |_, _, v| v[4] = f64::NAN,
        |_, k, _| k[2] = f64::INFINITY,
        |_, _, v| v[7] = f64::NEG_INFINITY,
    ];
    let mut m = vec![0.0; 7 * 6];
    for j in 0..6 {
        m[j * 7 + 1] = f64::NEG_INFINITY; // one fully masked row
    }
    for poison in cases {
        for mask in [None, Some(m.as_slice())] {
            both_paths::<f64>(2, (7, 6, 5, 4), false, mask, 0.5, 1e-12, 9, &poison);
            both_paths::<f32>(2, (7, 6, 5, 4), false, mask, 0.5, 3e-5, 9, &poison);
        }
    }
}

/// Many heads: the parallel branch (above MACS_THRESHOLD) equals the tiled result.
#[test]
fn short_path_parallel_many_heads() {
    both_paths::<f32>(
        600,
        (10, 10, 16, 16),
        false,
        None,
        0.25,
        3e-5,
        3,
        &no_poison,
    );
    both_paths::<f32>(600, (10, 10, 16, 16), true, None, 0.25, 3e-5, 4, &no_poison);
}
