//! The short path for at most [`LANES`] query rows: scores kept transposed, one vector lane per
//! query row.
//!
//! Row by row (the parent's form), every query row's softmax ends in horizontal reductions (its
//! max, its sum) and a scalar log, and those dominated a 10-token head. Transposed, key j's
//! scores of all rows are one vector `st[j]` (LANES wide, lanes past L unused), so the max, the
//! exps and the sums over the keys are elementwise over S vectors; the products that read P or
//! dS by query row take their coefficients from a column of the transposed tile, read in place.
//! What is packed per head: qᵀ (and dOᵀ in the backward), plus the mask transposed when there is
//! one. Contracts, conventions and rounding follow the parent's row form: the same scale-in-exp
//! choice, the same max that NaN never wins, D = rowsum(dO ∘ O) from the forward's output, a fully
//! masked row giving output 0, lse −inf and zero gradients, every key column in every product.

use super::{
    lin_comb_each, out_dot_grad, pack_t, rows, Coef, Ctx, Grads, Rows, RowsMut, Scratch, LANES,
};
use crate::attention::AttnFloat;

/// Whether a head of this call takes the transposed form.
pub(super) fn fits<T>(c: &Ctx<T>) -> bool {
    c.l <= LANES
}

/// A packed (cols × LANES) tile as the rows the products read.
fn lane_rows<T>(buf: &[T]) -> Rows<T> {
    Rows {
        ptr: buf.as_ptr(),
        rs: LANES as isize,
        cols: LANES,
    }
}

/// st[j][i] = q_i · k_j for j < S (lanes i < L; qᵀ's zero columns make the others 0), with qᵀ
/// packed into `sc.qt` and the mask, when there is one, into `sc.mt` as mt[j][i].
#[inline(always)]
fn scores<T: AttnFloat>(c: &Ctx<T>, sc: &mut Scratch<T>, b: usize, k: &Rows<T>) {
    let (l, s, e) = (c.l, c.s, c.e);
    pack_t(&c.inp.q, b, l, e, LANES, &mut sc.qt);
    let st = &mut sc.p[..s * LANES];
    let qt = lane_rows(&sc.qt);
    let mut out = RowsMut::of(st, s, LANES, LANES);
    lin_comb_each(
        s,
        |j| Coef::row(k.row(j)),
        &qt,
        |_| T::ONE,
        false,
        &mut out,
        0,
    );
    if let Some(m) = &c.inp.mask {
        // Base and strides in locals (through the struct LLVM reloads them after every store).
        let (base, rs, cs) = (m.at::<T>(b, 0, 0), m.rs, m.cs);
        let mt = &mut sc.mt[..s * LANES];
        for (j, row) in mt.chunks_exact_mut(LANES).enumerate() {
            for (i, x) in row[..l].iter_mut().enumerate() {
                // SAFETY: (i, j) lies inside the (L, S) mask view of batch b.
                *x = unsafe { *base.wrapping_offset(i as isize * rs + j as isize * cs) };
            }
        }
    }
}

/// st = st·scale + mt, elementwise.
#[inline(always)]
fn add_mask<T: AttnFloat>(st: &mut [T], mt: &[T], scale: T) {
    st.iter_mut()
        .zip(mt)
        .for_each(|(x, &m)| *x = *x * scale + m);
}

/// Whether key j takes part in query row `lane`'s softmax (causal, top-left aligned: j <= lane).
#[inline(always)]
fn sees<const CAUSAL: bool>(lane: usize, j: usize) -> bool {
    !CAUSAL || j <= lane
}

/// The forward of head b (see the parent's fwd_batch for the contract).
#[inline(always)]
pub(super) fn fwd_head<T: AttnFloat>(
    c: &Ctx<T>,
    sc: &mut Scratch<T>,
    b: usize,
    out: &mut RowsMut<T>,
    lse: &mut [T],
) {
    // Causal or not as a constant: the per-key loops then stay branch-free vector code.
    if c.causal {
        fwd_head_as::<T, true>(c, sc, b, out, lse)
    } else {
        fwd_head_as::<T, false>(c, sc, b, out, lse)
    }
}

#[inline(always)]
fn fwd_head_as<T: AttnFloat, const CAUSAL: bool>(
    c: &Ctx<T>,
    sc: &mut Scratch<T>,
    b: usize,
    out: &mut RowsMut<T>,
    lse: &mut [T],
) {
    let (l, s, ev, scale) = (c.l, c.s, c.ev, c.scale);
    let k = rows(&c.inp.k, b, s, c.e, &mut sc.k);
    scores(c, sc, b, &k);
    let masked = c.inp.mask.is_some();
    // As the row form: without a mask (and a positive scale) the scale goes inside the exp.
    let inside = !masked && scale > T::ZERO;
    let (st, mt) = (&mut sc.p[..s * LANES], &sc.mt);
    if masked {
        add_mask(st, mt, scale);
    } else if !inside {
        st.iter_mut().for_each(|x| *x *= scale);
    }
    let mut mx = [T::NEG_INF; LANES];
    for (j, row) in st.chunks_exact(LANES).enumerate() {
        let row: &[T; LANES] = row.try_into().expect("a whole row");
        for u in 0..LANES {
            let x = row[u];
            mx[u] = if sees::<CAUSAL>(u, j) && x > mx[u] {
                x
            } else {
                mx[u]
            };
        }
    }
    let a = if inside { scale } else { T::ONE };
    let mut shift = [T::ZERO; LANES];
    for u in 0..LANES {
        if inside {
            mx[u] = mx[u] * scale;
        }
        shift[u] = T::ZERO - if mx[u] == T::NEG_INF { T::ZERO } else { mx[u] };
    }
    let mut sums = [T::ZERO; LANES];
    for (j, row) in st.chunks_exact_mut(LANES).enumerate() {
        let row: &mut [T; LANES] = row.try_into().expect("a whole row");
        for u in 0..LANES {
            let p = (row[u] * a + shift[u]).exp_fast();
            let p = if sees::<CAUSAL>(u, j) { p } else { T::ZERO };
            row[u] = p;
            sums[u] += p;
        }
    }
    // sum = 0 only when every key is masked; a NaN score makes it NaN, which reaches the output.
    let inv = |i: usize| {
        if sums[i] != T::ZERO {
            T::ONE / sums[i]
        } else {
            T::ZERO
        }
    };
    let v = rows(&c.inp.v, b, s, ev, &mut sc.v);
    let st = &sc.p[..s * LANES];
    lin_comb_each(l, |i| Coef::col(&st[i..], LANES, s), &v, inv, false, out, 0);
    for i in 0..l {
        if sums[i] != T::ZERO {
            lse[i] = mx[i] + sums[i].ln();
        } else {
            out.row(i).fill(T::ZERO);
            lse[i] = T::NEG_INF;
        }
    }
}

/// The backward of head b (see the parent's bwd_batch for the contract): P and dS transposed,
/// dV_j = Σ_i P[i, j] dO_i and dK_j = scale Σ_i dS[i, j] q_i from their rows, dQ_i = scale
/// Σ_j dS[i, j] k_j from their columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn bwd_head<T: AttnFloat>(
    c: &Ctx<T>,
    gr: &Grads<T>,
    sc: &mut Scratch<T>,
    b: usize,
    dq: &mut RowsMut<T>,
    dk: &mut RowsMut<T>,
    dv: &mut RowsMut<T>,
) {
    if c.causal {
        bwd_head_as::<T, true>(c, gr, sc, b, dq, dk, dv)
    } else {
        bwd_head_as::<T, false>(c, gr, sc, b, dq, dk, dv)
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn bwd_head_as<T: AttnFloat, const CAUSAL: bool>(
    c: &Ctx<T>,
    gr: &Grads<T>,
    sc: &mut Scratch<T>,
    b: usize,
    dq: &mut RowsMut<T>,
    dk: &mut RowsMut<T>,
    dv: &mut RowsMut<T>,
) {
    let (l, s, e, ev, scale) = (c.l, c.s, c.e, c.ev, c.scale);
    let k = rows(&c.inp.k, b, s, e, &mut sc.k);
    scores(c, sc, b, &k);
    // dP[i, j] = dO_i · v_j, transposed like the scores: dOᵀ packed, v's rows the coefficients.
    pack_t(gr.d_o, b, l, ev, LANES, &mut sc.gt);
    let v = rows(&c.inp.v, b, s, ev, &mut sc.v);
    {
        let gt = lane_rows(&sc.gt);
        let mut dpt = RowsMut::of(&mut sc.dp[..s * LANES], s, LANES, LANES);
        lin_comb_each(
            s,
            |j| Coef::row(v.row(j)),
            &gt,
            |_| T::ONE,
            false,
            &mut dpt,
            0,
        );
    }
    let g = rows(gr.d_o, b, l, ev, &mut sc.g);
    let lse = &gr.lse[b * l..(b + 1) * l];
    let (mut dd, mut shift, mut live) = ([T::ZERO; LANES], [T::ZERO; LANES], [false; LANES]);
    for i in 0..l {
        dd[i] = out_dot_grad(gr.o, b, i, g.row(i));
        shift[i] = T::ZERO - lse[i];
        live[i] = lse[i] != T::NEG_INF;
    }
    let masked = c.inp.mask.is_some();
    let (st, dpt) = (&mut sc.p[..s * LANES], &mut sc.dp[..s * LANES]);
    // As the row form: exp(s·scale − lse), or exp(s·scale + mask − lse).
    if masked {
        add_mask(st, &sc.mt, scale);
    }
    let a = if masked { T::ONE } else { scale };
    for (j, (row, dprow)) in st
        .chunks_exact_mut(LANES)
        .zip(dpt.chunks_exact_mut(LANES))
        .enumerate()
    {
        let row: &mut [T; LANES] = row.try_into().expect("a whole row");
        let dprow: &mut [T; LANES] = dprow.try_into().expect("a whole row");
        for u in 0..LANES {
            let p = (row[u] * a + shift[u]).exp_fast();
            let p = if live[u] && sees::<CAUSAL>(u, j) {
                p
            } else {
                T::ZERO
            };
            row[u] = p;
            // dS over every key (a zero P times a NaN dP is NaN, as the row form).
            dprow[u] = p * (dprow[u] - dd[u]);
        }
    }
    let (st, dst) = (&sc.p[..s * LANES], &sc.dp[..s * LANES]);
    let q = rows(&c.inp.q, b, l, e, &mut sc.q);
    let p_row = |j: usize| Coef::row(&st[j * LANES..j * LANES + l]);
    lin_comb_each(s, p_row, &g, |_| T::ONE, false, dv, 0);
    let ds_row = |j: usize| Coef::row(&dst[j * LANES..j * LANES + l]);
    lin_comb_each(s, ds_row, &q, |_| scale, false, dk, 0);
    let ds_col = |i: usize| Coef::col(&dst[i..], LANES, s);
    lin_comb_each(l, ds_col, &k, |_| scale, false, dq, 0);
}
