//! Optimizer steps in place over one parameter's flat elements: PyTorch's Adam / AdamW rule
//! (bias-corrected, optional AMSGrad), one pass over p, g and the moment buffers instead of the
//! dozen whole-array passes the same rule takes in numpy.

use rayon::prelude::*;

use crate::num::Float;
use crate::par::TASK_ELEMS;
use crate::{Error, Result};

/// Hyper-parameters of one Adam step; `step` counts from 1 (the bias corrections use it).
#[derive(Clone, Copy, Debug)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub step: u64,
    /// AdamW: decay the weights directly instead of adding an L2 term to the gradient.
    pub decoupled: bool,
}

/// p, exp_avg, exp_avg_sq (and max_exp_avg_sq with AMSGrad) updated in place from the gradient g.
pub fn adam_step<T: Float>(
    h: &Adam,
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    vmax: Option<&mut [T]>,
) -> Result<()> {
    let n = p.len();
    let lens = [
        g.len(),
        m.len(),
        v.len(),
        vmax.as_ref().map_or(n, |x| x.len()),
    ];
    if lens.iter().any(|&l| l != n) {
        return Err(Error::Shape(format!(
            "adam_step: param has {n} elements but grad, exp_avg, exp_avg_sq, max_exp_avg_sq have {lens:?}"
        )));
    }
    if h.step == 0 {
        return Err(Error::Shape("adam_step: step counts from 1".into()));
    }
    let t = h.step as i32;
    let c = Consts {
        b1: T::from_f64(h.beta1),
        one_m_b1: T::from_f64(1.0 - h.beta1),
        b2: T::from_f64(h.beta2),
        one_m_b2: T::from_f64(1.0 - h.beta2),
        step_size: T::from_f64(h.lr / (1.0 - h.beta1.powi(t))),
        inv_bc2: T::from_f64(1.0 / (1.0 - h.beta2.powi(t)).sqrt()),
        eps: T::from_f64(h.eps),
        l2: T::from_f64(if h.decoupled { 0.0 } else { h.weight_decay }),
        shrink: T::from_f64(if h.decoupled {
            1.0 - h.lr * h.weight_decay
        } else {
            1.0
        }),
    };
    if n <= TASK_ELEMS {
        c.run(p, g, m, v, vmax); // a rayon task costs more than a small parameter's whole step
        return Ok(());
    }
    match vmax {
        None => p
            .par_chunks_mut(TASK_ELEMS)
            .zip(g.par_chunks(TASK_ELEMS))
            .zip(m.par_chunks_mut(TASK_ELEMS))
            .zip(v.par_chunks_mut(TASK_ELEMS))
            .for_each(|(((p, g), m), v)| c.run(p, g, m, v, None)),
        Some(vmax) => p
            .par_chunks_mut(TASK_ELEMS)
            .zip(g.par_chunks(TASK_ELEMS))
            .zip(m.par_chunks_mut(TASK_ELEMS))
            .zip(v.par_chunks_mut(TASK_ELEMS))
            .zip(vmax.par_chunks_mut(TASK_ELEMS))
            .for_each(|((((p, g), m), v), vmax)| c.run(p, g, m, v, Some(vmax))),
    }
    Ok(())
}

/// Σ x² of one array in f64 (gradient clipping's 2-norm): one pass, each square taken in f64,
/// into LANES partial sums (so the add chains overlap), added at the end. The same array gives the
/// same bits on every call and thread count.
pub fn sum_of_squares<T: Float>(x: &[T]) -> f64 {
    use crate::simd::{hsum, LANES};
    crate::simd::dispatch(
        #[inline(always)]
        || {
            let mut acc = [0.0f64; LANES];
            let mut chunks = x.chunks_exact(LANES);
            for c in &mut chunks {
                for u in 0..LANES {
                    let v = c[u].to_f64();
                    acc[u] = v.mul_add(v, acc[u]);
                }
            }
            for (u, &v) in chunks.remainder().iter().enumerate() {
                let v = v.to_f64();
                acc[u] = v.mul_add(v, acc[u]);
            }
            hsum(acc)
        },
    )
}

/// The step's scalars in the parameter's precision.
#[derive(Clone, Copy)]
struct Consts<T> {
    b1: T,
    one_m_b1: T,
    b2: T,
    one_m_b2: T,
    step_size: T,
    inv_bc2: T,
    eps: T,
    l2: T,
    shrink: T,
}

impl<T: Float> Consts<T> {
    /// The update compiled for the CPU's widest vector unit: vectorised, and VEX/EVEX-encoded, so
    /// it pays no SSE/AVX transition after an AVX-512 GEMM left the upper registers dirty (the
    /// baseline build ran 5x slower right after a matmul). Same operations per element: same bits.
    fn run(&self, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], vmax: Option<&mut [T]>) {
        crate::simd::dispatch(
            #[inline(always)]
            || self.run_plain(p, g, m, v, vmax),
        )
    }

    #[inline(always)]
    fn run_plain(
        &self,
        p: &mut [T],
        g: &[T],
        m: &mut [T],
        v: &mut [T],
        mut vmax: Option<&mut [T]>,
    ) {
        let n = p.len();
        let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            let w = p[i] * self.shrink;
            let gi = g[i] + self.l2 * p[i];
            let mi = self.b1 * m[i] + self.one_m_b1 * gi;
            let mut vi = self.b2 * v[i] + self.one_m_b2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            if let Some(vmax) = vmax.as_deref_mut() {
                if vi < vmax[i] {
                    vi = vmax[i];
                }
                vmax[i] = vi;
            }
            p[i] = w - self.step_size * (mi / (vi.sqrt() * self.inv_bc2 + self.eps));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_of_squares_matches_f64_and_keeps_non_finite() {
        for n in [0usize, 1, 15, 16, 17, 33, 1000, 4099] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 1000) as f32 / 300.0 - 1.7)
                .collect();
            let want: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
            let got = sum_of_squares(&x);
            assert!(
                (got - want).abs() <= 1e-13 * want.max(1.0),
                "n {n}: {got} vs {want}"
            );
            let xd: Vec<f64> = x.iter().map(|&v| v as f64 * 1.000_000_1).collect();
            let want: f64 = xd.iter().map(|v| v * v).sum();
            assert!((sum_of_squares(&xd) - want).abs() <= 1e-13 * want.max(1.0));
        }
        // f32 values whose squares overflow f32 stay finite in f64.
        assert_eq!(
            sum_of_squares(&[3e20f32, 4e20]),
            3e20f32 as f64 * 3e20f32 as f64 + 4e20f32 as f64 * 4e20f32 as f64
        );
        assert!(sum_of_squares(&[1.0f32, f32::NAN, 2.0]).is_nan());
        assert_eq!(sum_of_squares(&[1.0f32, f32::NEG_INFINITY]), f64::INFINITY);
    }

    /// The rule written out in f64, one element at a time, as PyTorch documents it.
    fn reference(
        h: &Adam,
        p: &mut [f64],
        g: &[f64],
        m: &mut [f64],
        v: &mut [f64],
        vmax: &mut Option<Vec<f64>>,
    ) {
        let t = h.step as i32;
        for i in 0..p.len() {
            let mut gi = g[i];
            if h.decoupled {
                p[i] *= 1.0 - h.lr * h.weight_decay;
            } else {
                gi += h.weight_decay * p[i];
            }
            m[i] = h.beta1 * m[i] + (1.0 - h.beta1) * gi;
            v[i] = h.beta2 * v[i] + (1.0 - h.beta2) * gi * gi;
            let mut vi = v[i];
            if let Some(vm) = vmax.as_mut() {
                vm[i] = vm[i].max(vi);
                vi = vm[i];
            }
            let denom = vi.sqrt() / (1.0 - h.beta2.powi(t)).sqrt() + h.eps;
            p[i] -= h.lr / (1.0 - h.beta1.powi(t)) * m[i] / denom;
        }
    }

    #[test]
    fn matches_the_written_out_rule_over_steps_and_chunks() {
        let n = TASK_ELEMS * 2 + 37; // several rayon tasks and a ragged tail
        for (decoupled, amsgrad) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut p: Vec<f64> = (0..n)
                .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
                .collect();
            let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
            let mut vmax = amsgrad.then(|| vec![0.0; n]);
            let (mut rp, mut rm, mut rv, mut rvmax) =
                (p.clone(), m.clone(), v.clone(), vmax.clone());
            for step in 1..=4u64 {
                let g: Vec<f64> = (0..n)
                    .map(|i| (((i + step as usize * 31) * 104729) % 997) as f64 / 400.0 - 1.2)
                    .collect();
                let h = Adam {
                    lr: 0.01,
                    beta1: 0.9,
                    beta2: 0.99,
                    eps: 1e-8,
                    weight_decay: 0.05,
                    step,
                    decoupled,
                };
                adam_step(&h, &mut p, &g, &mut m, &mut v, vmax.as_deref_mut()).unwrap();
                reference(&h, &mut rp, &g, &mut rm, &mut rv, &mut rvmax);
                if amsgrad && step == 2 {
                    // a gradient that shrinks v below its maximum exercises the AMSGrad branch
                    assert!(v.iter().zip(vmax.as_ref().unwrap()).any(|(a, b)| a < b));
                }
            }
            let max_err = |x: &[f64], y: &[f64]| {
                x.iter()
                    .zip(y)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            };
            let (ep, em, ev) = (max_err(&p, &rp), max_err(&m, &rm), max_err(&v, &rv));
            assert!(
                ep < 1e-12 && em < 1e-12 && ev < 1e-12,
                "decoupled {decoupled} amsgrad {amsgrad}: {ep} {em} {ev}"
            );
        }
    }

    #[test]
    fn mismatched_lengths_and_step_zero_are_errors() {
        let h = Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            step: 1,
            decoupled: false,
        };
        let (mut p, mut m, mut v) = (vec![0.0f32; 4], vec![0.0f32; 4], vec![0.0f32; 3]);
        let e = adam_step(&h, &mut p, &[0.0; 4], &mut m, &mut v, None).unwrap_err();
        assert!(e.to_string().contains("adam_step") && e.to_string().contains("[4, 4, 3, 4]"));
        let h0 = Adam { step: 0, ..h };
        let mut v = vec![0.0f32; 4];
        assert!(adam_step(&h0, &mut p, &[0.0; 4], &mut m, &mut v, None).is_err());
    }
}
