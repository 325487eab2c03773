//! The fused recurrent kernels against naive loops (forward) and central finite differences
//! (backward), on odd shapes, with a non-contiguous input.

mod common;

use ferrograd_core::num::Act;
use ferrograd_core::rnn::{self, Dims};
use ferrograd_core::StridedView;
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

fn sig(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Lstm,
    Gru,
    Tanh,
    Relu,
}

fn gates(k: Kind) -> usize {
    match k {
        Kind::Lstm => 4,
        Kind::Gru => 3,
        _ => 1,
    }
}

/// Inputs of one problem, all C-contiguous: x (B,L,I), h0, c0 (B,H), w_ih, w_hh, b_ih, b_hh.
#[derive(Clone)]
struct Problem {
    d: Dims,
    k: Kind,
    arrays: Vec<Vec<f64>>,
}

impl Problem {
    fn new(k: Kind, b: usize, l: usize, i: usize, h: usize, seed: u64) -> Self {
        let g = gates(k);
        let s = 1.0 / (h as f64).sqrt();
        let pos = if k == Kind::Relu { 0.0 } else { 1.0 };
        let arrays = vec![
            random(b * l * i, seed, 1.0)
                .iter()
                .map(|v| v * pos + (1.0 - pos) * (v.abs() + 0.1))
                .collect(),
            random(b * h, seed + 1, 0.5)
                .iter()
                .map(|v| v * pos + (1.0 - pos) * (v.abs() + 0.1))
                .collect(),
            random(b * h, seed + 2, 0.5),
            random(g * h * i, seed + 3, s)
                .iter()
                .map(|v| v * pos + (1.0 - pos) * v.abs())
                .collect(),
            random(g * h * h, seed + 4, s)
                .iter()
                .map(|v| v * pos + (1.0 - pos) * v.abs())
                .collect(),
            random(g * h, seed + 5, s),
            random(g * h, seed + 6, s),
        ];
        Problem {
            d: Dims { b, l, i, h },
            k,
            arrays,
        }
    }

    /// Naive forward: (output (B,L,H), c_n (B,H) for LSTM).
    fn naive(&self) -> (Vec<f64>, Vec<f64>) {
        let Dims { b, l, i, h } = self.d;
        let a = &self.arrays;
        let (x, wih, whh, bih, bhh) = (&a[0], &a[3], &a[4], &a[5], &a[6]);
        let g = gates(self.k);
        let mut out = vec![0.0; b * l * h];
        let mut cn = vec![0.0; b * h];
        for bb in 0..b {
            let mut hv: Vec<f64> = a[1][bb * h..(bb + 1) * h].to_vec();
            let mut cv: Vec<f64> = a[2][bb * h..(bb + 1) * h].to_vec();
            for t in 0..l {
                let xi = &x[(bb * l + t) * i..(bb * l + t + 1) * i];
                let xp: Vec<f64> = (0..g * h)
                    .map(|r| bih[r] + (0..i).map(|c| wih[r * i + c] * xi[c]).sum::<f64>())
                    .collect();
                let hp: Vec<f64> = (0..g * h)
                    .map(|r| bhh[r] + (0..h).map(|c| whh[r * h + c] * hv[c]).sum::<f64>())
                    .collect();
                let mut nh = vec![0.0; h];
                for j in 0..h {
                    nh[j] = match self.k {
                        Kind::Lstm => {
                            let a = |q: usize| xp[q * h + j] + hp[q * h + j];
                            let c = sig(a(1)) * cv[j] + sig(a(0)) * a(2).tanh();
                            cv[j] = c;
                            sig(a(3)) * c.tanh()
                        }
                        Kind::Gru => {
                            let r = sig(xp[j] + hp[j]);
                            let z = sig(xp[h + j] + hp[h + j]);
                            let n = (xp[2 * h + j] + r * hp[2 * h + j]).tanh();
                            (1.0 - z) * n + z * hv[j]
                        }
                        Kind::Tanh => (xp[j] + hp[j]).tanh(),
                        Kind::Relu => (xp[j] + hp[j]).max(0.0),
                    };
                }
                hv = nh;
                out[(bb * l + t) * h..(bb * l + t + 1) * h].copy_from_slice(&hv);
            }
            cn[bb * h..(bb + 1) * h].copy_from_slice(&cv);
        }
        (out, if self.k == Kind::Lstm { cn } else { vec![] })
    }

    /// Fused forward, with x read through a transposed (L, B, I)-stored view.
    fn fused<F: Act + From<f32>>(&self, conv: impl Fn(f64) -> F) -> (Vec<F>, Vec<F>) {
        let Dims { b, l, i, h } = self.d;
        let g = gates(self.k);
        let a: Vec<Vec<F>> = self
            .arrays
            .iter()
            .map(|v| v.iter().map(|&x| conv(x)).collect())
            .collect();
        // x stored time-major (L, B, I) and viewed as (B, L, I).
        let mut xs = vec![conv(0.0); b * l * i];
        for bb in 0..b {
            for t in 0..l {
                for c in 0..i {
                    xs[(t * b + bb) * i + c] = a[0][(bb * l + t) * i + c];
                }
            }
        }
        let x = StridedView::new(&xs, 0, &[b, l, i], &[i as isize, (b * i) as isize, 1]).unwrap();
        let h0 = StridedView::contiguous(&a[1], &[b, h]).unwrap();
        let c0 = StridedView::contiguous(&a[2], &[b, h]).unwrap();
        let wih = StridedView::contiguous(&a[3], &[g * h, i]).unwrap();
        let whh = StridedView::contiguous(&a[4], &[g * h, h]).unwrap();
        let bih = StridedView::contiguous(&a[5], &[g * h]).unwrap();
        let bhh = StridedView::contiguous(&a[6], &[g * h]).unwrap();
        let z = conv(0.0);
        let mut out = vec![z; b * l * h];
        let mut gs = vec![z; l * b * g * h];
        let mut hs = vec![z; (l + 1) * b * h];
        let mut aux = vec![z; l * b * h];
        let mut cn = vec![z; b * h];
        match self.k {
            Kind::Lstm => {
                rnn::lstm_forward(
                    &x,
                    &h0,
                    &c0,
                    &wih,
                    &whh,
                    Some(&bih),
                    Some(&bhh),
                    &mut out,
                    &mut cn,
                    &mut gs,
                    &mut aux,
                    &mut hs,
                )
                .unwrap();
            }
            Kind::Gru => {
                rnn::gru_forward(
                    &x,
                    &h0,
                    &wih,
                    &whh,
                    Some(&bih),
                    Some(&bhh),
                    &mut out,
                    &mut gs,
                    &mut aux,
                    &mut hs,
                )
                .unwrap();
                cn.clear();
            }
            _ => {
                rnn::rnn_forward(
                    &x,
                    &h0,
                    &wih,
                    &whh,
                    Some(&bih),
                    Some(&bhh),
                    self.k == Kind::Relu,
                    &mut out,
                    &mut hs,
                )
                .unwrap();
                cn.clear();
            }
        }
        (out, cn)
    }

    /// Loss Σ out·gy + Σ c_n·gc (naive forward).
    fn loss(&self, gy: &[f64], gc: &[f64]) -> f64 {
        let (out, cn) = self.naive();
        out.iter().zip(gy).map(|(a, b)| a * b).sum::<f64>()
            + cn.iter().zip(gc).map(|(a, b)| a * b).sum::<f64>()
    }

    /// Fused backward: gradients of every input array (bias grads per bias).
    fn grads(&self, gy: &[f64], gc: &[f64]) -> Vec<Vec<f64>> {
        let Dims { b, l, i, h } = self.d;
        let g = gates(self.k);
        let a = &self.arrays;
        let x = StridedView::contiguous(&a[0], &[b, l, i]).unwrap();
        let h0 = StridedView::contiguous(&a[1], &[b, h]).unwrap();
        let c0 = StridedView::contiguous(&a[2], &[b, h]).unwrap();
        let wih = StridedView::contiguous(&a[3], &[g * h, i]).unwrap();
        let whh = StridedView::contiguous(&a[4], &[g * h, h]).unwrap();
        let bih = StridedView::contiguous(&a[5], &[g * h]).unwrap();
        let bhh = StridedView::contiguous(&a[6], &[g * h]).unwrap();
        let mut out = vec![0.0; b * l * h];
        let mut gs = vec![0.0; l * b * g * h];
        let mut hs = vec![0.0; (l + 1) * b * h];
        let mut aux = vec![0.0; l * b * h];
        let mut cn = vec![0.0; b * h];
        let (mut dx, mut dh0, mut dc0) = (vec![0.0; b * l * i], vec![0.0; b * h], vec![0.0; b * h]);
        let (mut dwi, mut dwh, mut dbi, mut dbh) = (
            vec![0.0; g * h * i],
            vec![0.0; g * h * h],
            vec![0.0; g * h],
            vec![0.0; g * h],
        );
        match self.k {
            Kind::Lstm => {
                rnn::lstm_forward(
                    &x,
                    &h0,
                    &c0,
                    &wih,
                    &whh,
                    Some(&bih),
                    Some(&bhh),
                    &mut out,
                    &mut cn,
                    &mut gs,
                    &mut aux,
                    &mut hs,
                )
                .unwrap();
                rnn::lstm_backward(
                    &x, &c0, &wih, &whh, &gs, &aux, &hs, gy, gc, &mut dx, &mut dh0, &mut dc0,
                    &mut dwi, &mut dwh, &mut dbi,
                )
                .unwrap();
                dbh = dbi.clone();
            }
            Kind::Gru => {
                rnn::gru_forward(
                    &x,
                    &h0,
                    &wih,
                    &whh,
                    Some(&bih),
                    Some(&bhh),
                    &mut out,
                    &mut gs,
                    &mut aux,
                    &mut hs,
                )
                .unwrap();
                let gyv = StridedView::contiguous(gy, &[b, l, h]).unwrap();
                rnn::gru_backward(
                    &x,
                    &h0,
                    &wih,
                    &whh,
                    &gs,
                    &aux,
                    &hs,
                    &gyv,
                    Some(&mut dx),
                    Some(&mut dh0),
                    &mut dwi,
                    &mut dwh,
                    &mut dbi,
                    &mut dbh,
                )
                .unwrap();
            }
            _ => {
                let relu = self.k == Kind::Relu;
                rnn::rnn_forward(
                    &x,
                    &h0,
                    &wih,
                    &whh,
                    Some(&bih),
                    Some(&bhh),
                    relu,
                    &mut out,
                    &mut hs,
                )
                .unwrap();
                rnn::rnn_backward(
                    &x, &h0, &wih, &whh, relu, &hs, gy, &mut dx, &mut dh0, &mut dwi, &mut dwh,
                    &mut dbi,
                )
                .unwrap();
                dbh = dbi.clone();
            }
        }
        vec![dx, dh0, dc0, dwi, dwh, dbi, dbh]
    }
}

const KINDS: [Kind; 4] = [Kind::Lstm, Kind::Gru, Kind::Tanh, Kind::Relu];

#[test]
fn forward_matches_naive_on_odd_shapes() {
    let mut seed = 10;
    for k in KINDS {
        for &(b, l, i, h) in &[(1, 1, 1, 1), (3, 5, 7, 6), (2, 9, 4, 17), (5, 3, 33, 11)] {
            seed += 10;
            let p = Problem::new(k, b, l, i, h, seed);
            let (want, want_c) = p.naive();
            let (got, got_c) = p.fused::<f64>(|v| v);
            for (g, w) in got.iter().zip(&want).chain(got_c.iter().zip(&want_c)) {
                assert!((g - w).abs() < 1e-12, "f64 {g} vs {w}");
            }
            let (got32, _) = p.fused::<f32>(|v| v as f32);
            for (g, w) in got32.iter().zip(&want) {
                assert!(
                    (*g as f64 - w).abs() < 2e-5 * (1.0 + w.abs()),
                    "f32 {g} vs {w}"
                );
            }
        }
    }
}

/// On one thread and on two (steps this small stay one task on either; split steps are
/// `backward_paths_agree_when_steps_split_across_threads`).
#[test]
fn backward_matches_finite_differences() {
    common::on_threads(1, finite_differences);
    common::on_threads(2, finite_differences);
}

fn finite_differences() {
    // Input sizes on both sides of the GRU's FOLD_INPUTS (4): the input projection and its
    // gradients inside the step loop, or by GEMMs.
    let shapes = KINDS.into_iter().flat_map(|k| [(k, 3), (k, 6)]);
    for (n, (k, i)) in shapes.enumerate() {
        let p = Problem::new(k, 2, 4, i, 5, 100 + n as u64);
        let Dims { b, l, h, .. } = p.d;
        let gy = random(b * l * h, 7, 1.0);
        let gc = if k == Kind::Lstm {
            random(b * h, 8, 1.0)
        } else {
            vec![0.0; b * h]
        };
        let grads = p.grads(&gy, &gc);
        for (ai, g) in grads.iter().enumerate() {
            if ai == 2 && k != Kind::Lstm {
                continue; // c0 exists for the LSTM only
            }
            for j in 0..p.arrays[ai].len() {
                check_entry(&p, ai, j, g[j], &gy, &gc, n);
            }
        }
    }
}

/// Entry `j` of input array `ai`'s gradient `got` against the central difference of the loss.
fn check_entry(p: &Problem, ai: usize, j: usize, got: f64, gy: &[f64], gc: &[f64], case: usize) {
    let eps = 1e-6;
    let mut plus = p.clone();
    plus.arrays[ai][j] += eps;
    let mut minus = p.clone();
    minus.arrays[ai][j] -= eps;
    let num = (plus.loss(gy, gc) - minus.loss(gy, gc)) / (2.0 * eps);
    assert!(
        (got - num).abs() < 1e-6 * (1.0 + num.abs()),
        "case {case} array {ai} [{j}]: {got} vs {num}"
    );
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let x = vec![0.0f64; 2 * 3 * 4];
    let w = vec![0.0f64; 64];
    let h = vec![0.0f64; 10];
    let vx = StridedView::contiguous(&x, &[2, 3, 4]).unwrap();
    let vh = StridedView::contiguous(&h, &[2, 5]).unwrap();
    let wih = StridedView::contiguous(&w[..20 * 3], &[20, 3]).unwrap(); // wrong input size
    let whh = StridedView::contiguous(&w[..4 * 4 * 4], &[16, 4]).unwrap();
    let mut buf = vec![0.0; 1000];
    let (a, rest) = buf.split_at_mut(200);
    let (b_, rest) = rest.split_at_mut(200);
    let (c, rest) = rest.split_at_mut(200);
    let (d, e) = rest.split_at_mut(200);
    let r = rnn::lstm_forward(&vx, &vh, &vh, &wih, &whh, None, None, a, b_, c, d, e);
    assert!(matches!(r, Err(ferrograd_core::Error::Shape(_))), "{r:?}");
}

/// A step big enough to split its batch rows across two threads (B·3H·H ≥ par::MACS_THRESHOLD/4)
/// takes the backward's gathered path (one GEMM per gradient after the time loop); on one thread
/// it takes the per-step path (each step's gradients while its da is cache-hot). Both must give
/// the same gradients, and match central differences on sampled entries.
#[test]
fn backward_paths_agree_when_steps_split_across_threads() {
    for k in [Kind::Gru, Kind::Lstm] {
        let p = Problem::new(k, 32, 3, 3, 48, 500);
        let Dims { b, l, h, .. } = p.d;
        let gy = random(b * l * h, 9, 1.0);
        let gc = if k == Kind::Lstm {
            random(b * h, 10, 1.0)
        } else {
            vec![0.0; b * h]
        };
        let one = common::on_threads(1, || p.grads(&gy, &gc));
        let two = common::on_threads(2, || p.grads(&gy, &gc));
        for (ai, (g1, g2)) in one.iter().zip(&two).enumerate() {
            for (j, (a, c)) in g1.iter().zip(g2).enumerate() {
                assert!(
                    (a - c).abs() < 1e-12 * (1.0 + a.abs()),
                    "array {ai} [{j}]: one thread {a}, two {c}"
                );
            }
        }
        for (ai, g) in two.iter().enumerate() {
            if ai == 2 && k != Kind::Lstm {
                continue;
            }
            let n = p.arrays[ai].len();
            for j in [0, n / 3, n / 2, n - 1] {
                check_entry(&p, ai, j, g[j], &gy, &gc, 0);
            }
        }
    }
}
