//! norm kernels (forward and backward): layer norm over the trailing `cols` elements of each
//! row of a C-contiguous buffer, with optional elementwise weight and bias; batch norm of
//! (N, C, plane) input per channel.
//!
//! The layer-norm forward visits each row once (mean and variance from the row while it sits in
//! L1) and saves mean and 1/std per row; the backward uses them to produce dx, dweight and dbias.

use rayon::prelude::*;

use crate::error::{check_len as check, Error, Result};
use crate::num::Float;
use crate::par::{parallel, rows_per_block};
use crate::simd::{hsum, row_sum, simd_dispatch, tree, LANES};

simd_dispatch! {
    fn ln_forward_rows<T: Float>(x: &[T], cols: usize, weight: Option<&[T]>, bias: Option<&[T]>, eps: T,
                                out: &mut [T], mean: &mut [T], rstd: &mut [T]) {
        let n = T::from_f64(cols as f64);
        let blocks = x.chunks(ROW_BLOCK * cols).zip(out.chunks_mut(ROW_BLOCK * cols));
        for ((xb, yb), (mb, rb)) in blocks.zip(mean.chunks_mut(ROW_BLOCK).zip(rstd.chunks_mut(ROW_BLOCK))) {
            // Phase by phase over the block's rows (means, then 1/std, then outputs): each row is
            // a chain of reductions, a square root and a division; independent rows side by
            // side overlap those latencies (one row at a time, 64 columns were latency-bound).
            for (xr, mu) in xb.chunks_exact(cols).zip(mb.iter_mut()) {
                *mu = row_sum(xr) / n;
            }
            for ((xr, &m), rs) in xb.chunks_exact(cols).zip(mb.iter()).zip(rb.iter_mut()) {
                let mut acc = [T::ZERO; LANES];
                let cx = xr.chunks_exact(LANES);
                let rx = cx.remainder();
                for c in cx {
                    for l in 0..LANES {
                        let d = c[l] - m;
                        acc[l] += d * d;
                    }
                }
                let mut v = hsum(acc);
                for &e in rx {
                    let d = e - m;
                    v += d * d;
                }
                *rs = T::ONE / (v / n + eps).sqrt();
            }
            for (((xr, yr), &m), &r) in xb.chunks_exact(cols).zip(yb.chunks_exact_mut(cols)).zip(mb.iter()).zip(rb.iter()) {
                match (weight, bias) {
                    (Some(w), Some(b)) => {
                        for (((y, &e), &wj), &bj) in yr.iter_mut().zip(xr).zip(w).zip(b) {
                            *y = (e - m) * r * wj + bj;
                        }
                    }
                    (Some(w), None) => {
                        for ((y, &e), &wj) in yr.iter_mut().zip(xr).zip(w) {
                            *y = (e - m) * r * wj;
                        }
                    }
                    (None, Some(b)) => {
                        for ((y, &e), &bj) in yr.iter_mut().zip(xr).zip(b) {
                            *y = (e - m) * r + bj;
                        }
                    }
                    (None, None) => {
                        for (y, &e) in yr.iter_mut().zip(xr) {
                            *y = (e - m) * r;
                        }
                    }
                }
            }
        }
    }
}

/// Rows per phase block of the layer-norm kernels (see ln_forward_rows).
const ROW_BLOCK: usize = 16;

simd_dispatch! {
    /// dx for a block of rows; accumulates sum(gy * xhat) into `dw` and sum(gy) into `db`.
    /// Every loop runs over slices re-cut to exactly `cols` (or `LANES`) elements so that LLVM
    /// drops the bounds checks and vectorises them under every build profile.
    fn ln_backward_rows<T: Float>(gy: &[T], x: &[T], cols: usize, mean: &[T], rstd: &[T], weight: Option<&[T]>,
                                 dx: &mut [T], dw: &mut [T], db: &mut [T], want_wb: bool) {
        let inv_n = T::ONE / T::from_f64(cols as f64);
        let chunks = cols / LANES;
        let w = weight.map(|w| &w[..cols]);
        // Phase by phase over blocks of rows, as the forward: the row sums a and c of every
        // row of the block first, then the rows' dx, then the weight and bias sums.
        let blocks = gy.chunks(ROW_BLOCK * cols).zip(x.chunks(ROW_BLOCK * cols)).zip(dx.chunks_mut(ROW_BLOCK * cols));
        for (((gb, xb), dxb), (mb, rb)) in blocks.zip(mean.chunks(ROW_BLOCK).zip(rstd.chunks(ROW_BLOCK))) {
            let (mut sa, mut sc) = ([T::ZERO; ROW_BLOCK], [T::ZERO; ROW_BLOCK]);
            for (((gr, xr), a), c) in gb.chunks_exact(cols).zip(xb.chunks_exact(cols)).zip(sa.iter_mut()).zip(sc.iter_mut()) {
                let (g, xv) = (&gr[..cols], &xr[..cols]);
                // a = sum g w ; c = sum g w x ; then b = sum g w xhat = r (c - m a)
                let (mut aa, mut cc) = ([T::ZERO; LANES], [T::ZERO; LANES]);
                match w {
                    Some(w) => {
                        for k in 0..chunks {
                            let o = k * LANES;
                            let (gk, xk, wk) = (&g[o..o + LANES], &xv[o..o + LANES], &w[o..o + LANES]);
                            for l in 0..LANES {
                                let gw = gk[l] * wk[l];
                                aa[l] += gw;
                                cc[l] += gw * xk[l];
                            }
                        }
                        for j in chunks * LANES..cols {
                            let gw = g[j] * w[j];
                            *a += gw;
                            *c += gw * xv[j];
                        }
                    }
                    None => {
                        for k in 0..chunks {
                            let o = k * LANES;
                            let (gk, xk) = (&g[o..o + LANES], &xv[o..o + LANES]);
                            for l in 0..LANES {
                                aa[l] += gk[l];
                                cc[l] += gk[l] * xk[l];
                            }
                        }
                        for j in chunks * LANES..cols {
                            *a += g[j];
                            *c += g[j] * xv[j];
                        }
                    }
                }
                *a += tree(aa, |x, y| x + y);
                *c += tree(cc, |x, y| x + y);
            }
            let rows = gb.chunks_exact(cols).zip(xb.chunks_exact(cols)).zip(dxb.chunks_exact_mut(cols));
            for ((((gr, xr), dr), (&m, &r)), (&a, &c)) in rows.zip(mb.iter().zip(rb)).zip(sa.iter().zip(&sc)) {
                let (g, xv, d) = (&gr[..cols], &xr[..cols], &mut dr[..cols]);
                let b = r * (c - m * a);
                // dx = r (g w - a/n - (x - m) r b/n) = k1 g w + k2 x + k3
                let k1 = r;
                let k2 = -(r * r * b * inv_n);
                let k3 = -(r * a * inv_n) - k2 * m;
                match w {
                    Some(w) => {
                        for j in 0..cols {
                            d[j] = k1 * g[j] * w[j] + k2 * xv[j] + k3;
                        }
                    }
                    None => {
                        for j in 0..cols {
                            d[j] = k1 * g[j] + k2 * xv[j] + k3;
                        }
                    }
                }
            }
            if want_wb {
                // Re-cut here, inside the branch: a length of `cols or 0` kept the bounds checks
                // and left this loop scalar (half the backward's time at 64 columns).
                let (dw, db) = (&mut dw[..cols], &mut db[..cols]);
                for ((gr, xr), (&m, &r)) in gb.chunks_exact(cols).zip(xb.chunks_exact(cols)).zip(mb.iter().zip(rb)) {
                    let (g, xv) = (&gr[..cols], &xr[..cols]);
                    for (((wj, bj), &gj), &xj) in dw.iter_mut().zip(db.iter_mut()).zip(g).zip(xv) {
                        *wj += gj * ((xj - m) * r);
                        *bj += gj;
                    }
                }
            }
        }
    }
}

/// Layer norm of each row of `cols` elements of the C-contiguous `x`:
/// `out = (x - mean) / sqrt(var + eps) * weight + bias` (biased variance, like torch).
/// Saves each row's mean and 1/sqrt(var + eps) in `mean` and `rstd`.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_forward<T: Float>(
    x: &[T],
    cols: usize,
    weight: Option<&[T]>,
    bias: Option<&[T]>,
    eps: T,
    out: &mut [T],
    mean: &mut [T],
    rstd: &mut [T],
) -> Result<()> {
    let op = "layer_norm";
    if cols == 0 {
        return Err(Error::Shape(format!("{op}: normalized size is 0")));
    }
    if !x.len().is_multiple_of(cols) {
        return Err(Error::Shape(format!(
            "{op}: {} elements are not rows of {cols}",
            x.len()
        )));
    }
    let rows = x.len() / cols;
    check(op, "output", out.len(), x.len())?;
    check(op, "mean", mean.len(), rows)?;
    check(op, "rstd", rstd.len(), rows)?;
    if let Some(w) = weight {
        check(op, "weight", w.len(), cols)?;
    }
    if let Some(b) = bias {
        check(op, "bias", b.len(), cols)?;
    }
    if parallel(rows, cols) {
        let per = rows_per_block(rows, cols);
        x.par_chunks(per * cols)
            .zip(out.par_chunks_mut(per * cols))
            .zip(mean.par_chunks_mut(per))
            .zip(rstd.par_chunks_mut(per))
            .for_each(|(((xb, ob), mb), rb)| {
                ln_forward_rows(xb, cols, weight, bias, eps, ob, mb, rb)
            });
    } else {
        ln_forward_rows(x, cols, weight, bias, eps, out, mean, rstd);
    }
    Ok(())
}

/// Backward of `layer_norm_forward`: writes dx and, when given, dweight (sum over rows of
/// gy * xhat) and dbias (sum over rows of gy).
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward<T: Float>(
    gy: &[T],
    x: &[T],
    cols: usize,
    mean: &[T],
    rstd: &[T],
    weight: Option<&[T]>,
    dx: &mut [T],
    dweight: Option<&mut [T]>,
    dbias: Option<&mut [T]>,
) -> Result<()> {
    let op = "layer_norm_backward";
    if cols == 0 {
        return Err(Error::Shape(format!("{op}: normalized size is 0")));
    }
    if !x.len().is_multiple_of(cols) {
        return Err(Error::Shape(format!(
            "{op}: {} elements are not rows of {cols}",
            x.len()
        )));
    }
    let rows = x.len() / cols;
    check(op, "gradient", gy.len(), x.len())?;
    check(op, "dx", dx.len(), x.len())?;
    check(op, "mean", mean.len(), rows)?;
    check(op, "rstd", rstd.len(), rows)?;
    if let Some(w) = weight {
        check(op, "weight", w.len(), cols)?;
    }
    if let Some(d) = dweight.as_deref() {
        check(op, "dweight", d.len(), cols)?;
    }
    if let Some(d) = dbias.as_deref() {
        check(op, "dbias", d.len(), cols)?;
    }
    let want_wb = dweight.is_some() || dbias.is_some();
    let (mut dw, mut db) = (
        vec![T::ZERO; if want_wb { cols } else { 0 }],
        vec![T::ZERO; if want_wb { cols } else { 0 }],
    );
    if parallel(rows, cols) {
        let per = rows_per_block(rows, cols);
        let partials: Vec<(Vec<T>, Vec<T>)> = gy
            .par_chunks(per * cols)
            .zip(x.par_chunks(per * cols))
            .zip(dx.par_chunks_mut(per * cols))
            .zip(mean.par_chunks(per))
            .zip(rstd.par_chunks(per))
            .map(|((((gb, xb), db_), mb), rb)| {
                let n = if want_wb { cols } else { 0 };
                let (mut pw, mut pb) = (vec![T::ZERO; n], vec![T::ZERO; n]);
                ln_backward_rows(gb, xb, cols, mb, rb, weight, db_, &mut pw, &mut pb, want_wb);
                (pw, pb)
            })
            .collect();
        if want_wb {
            for (pw, pb) in partials {
                for (a, b) in dw.iter_mut().zip(pw) {
                    *a += b;
                }
                for (a, b) in db.iter_mut().zip(pb) {
                    *a += b;
                }
            }
        }
    } else {
        ln_backward_rows(
            gy, x, cols, mean, rstd, weight, dx, &mut dw, &mut db, want_wb,
        );
    }
    if let Some(d) = dweight {
        d.copy_from_slice(&dw);
    }
    if let Some(d) = dbias {
        d.copy_from_slice(&db);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Batch norm of C-contiguous (N, C, plane) input (plane = the product of the trailing dims):
// statistics per channel over N and the plane. The sums run over blocks of channels (a channel's
// planes image by image; for planes of one element, each image's run of the block's channels);
// the elementwise passes run over rows of one plane, channel = row mod C.

/// Sizes of a batch-norm input: (N, C, plane).
pub type BnShape = (usize, usize, usize);

fn bn_check(op: &str, x: usize, (n, c, plane): BnShape) -> Result<()> {
    check(op, "input", x, n * c * plane)
}

/// Channels per block of the sum passes: a few blocks per thread, or all channels on one.
fn bn_channels_per_block((n, c, plane): BnShape) -> usize {
    if parallel(n * c, plane) {
        let threads = crate::par::threads();
        c.div_ceil(threads * 4).max(1)
    } else {
        c.max(1)
    }
}

simd_dispatch! {
    /// For channels `c0..c0+cb`, over every image and plane element of the channel: without
    /// `g`, `out1[j] = Σ x` (no `shift`) or `out2[j] = Σ (x - shift[j])²` (the other is 0);
    /// with `g`, `out1[j] = Σ g` and `out2[j] = Σ g (x - shift[j])` (shift 0 where None).
    fn bn_channel_sums<T: Float>(x: &[T], g: Option<&[T]>, shape: BnShape, c0: usize,
                                 shift: Option<&[T]>, out1: &mut [T], out2: &mut [T]) {
        let ((n, c, plane), cb) = (shape, out1.len());
        if plane < LANES {
            // Small planes ((N, C) input, 2×2 maps): each image's run of the block's channels is
            // contiguous (cb·plane values), so sum along it into per-(channel, position)
            // accumulators, then fold the positions. A channel at a time would add runs of fewer
            // than LANES values (scalar): 2.6× slower than numpy at (32, 512), 3× at 2×2 maps.
            let w = cb * plane;
            let (mut acc1, mut acc2) = (vec![T::ZERO; w], vec![T::ZERO; w]);
            let m: Vec<T> = match shift {
                Some(sh) => sh.iter().flat_map(|&v| std::iter::repeat_n(v, plane)).collect(),
                None => vec![T::ZERO; w],
            };
            for img in 0..n {
                let xs = &x[(img * c + c0) * plane..][..w];
                match (g, shift) {
                    (None, None) => acc1.iter_mut().zip(xs).for_each(|(o, &v)| *o += v),
                    (None, Some(_)) => {
                        for ((o, &v), &mj) in acc2.iter_mut().zip(xs).zip(&m) {
                            *o += (v - mj) * (v - mj);
                        }
                    }
                    (Some(g), _) => {
                        let gs = &g[(img * c + c0) * plane..][..w];
                        let sums = acc1.iter_mut().zip(acc2.iter_mut());
                        for ((((o1, o2), &v), &gv), &mj) in sums.zip(xs).zip(gs).zip(&m) {
                            *o1 += gv;
                            *o2 += gv * (v - mj);
                        }
                    }
                }
            }
            for (j, (o1, o2)) in out1.iter_mut().zip(out2.iter_mut()).enumerate() {
                *o1 = acc1[j * plane..(j + 1) * plane].iter().fold(T::ZERO, |s, &v| s + v);
                *o2 = acc2[j * plane..(j + 1) * plane].iter().fold(T::ZERO, |s, &v| s + v);
            }
            return;
        }
        for j in 0..cb {
            let (mut a1, mut a2) = ([T::ZERO; LANES], [T::ZERO; LANES]);
            let (mut s1, mut s2) = (T::ZERO, T::ZERO);
            let m = shift.map_or(T::ZERO, |s| s[j]);
            for img in 0..n {
                let at = (img * c + c0 + j) * plane;
                let xs = &x[at..at + plane];
                let cx = xs.chunks_exact(LANES);
                let rx = cx.remainder();
                match (g, shift) {
                    (None, None) => {
                        for ch in cx {
                            for l in 0..LANES {
                                a1[l] += ch[l];
                            }
                        }
                        for &v in rx {
                            s1 += v;
                        }
                    }
                    (None, Some(_)) => {
                        for ch in cx {
                            for l in 0..LANES {
                                let d = ch[l] - m;
                                a2[l] += d * d;
                            }
                        }
                        for &v in rx {
                            s2 += (v - m) * (v - m);
                        }
                    }
                    (Some(g), _) => {
                        let gs = &g[at..at + plane];
                        let cg = gs.chunks_exact(LANES);
                        let rg = cg.remainder();
                        for (ch, gh) in cx.zip(cg) {
                            for l in 0..LANES {
                                a1[l] += gh[l];
                                a2[l] += gh[l] * (ch[l] - m);
                            }
                        }
                        for (&v, &gv) in rx.iter().zip(rg) {
                            s1 += gv;
                            s2 += gv * (v - m);
                        }
                    }
                }
            }
            out1[j] = s1 + hsum(a1);
            out2[j] = s2 + hsum(a2);
        }
    }
}

simd_dispatch! {
    /// `out = k1[ch]·a + k2[ch]·x + k3[ch]` over rows of `plane` elements starting at row `r0`
    /// (channel = row mod C); `a` is x itself where None.
    fn bn_affine_rows<T: Float>(x: &[T], a: Option<&[T]>, plane: usize, c: usize, r0: usize,
                                k1: &[T], k2: &[T], k3: &[T], out: &mut [T]) {
        let mut ch = r0 % c; // counted, not r0 + i mod c: a division per row costs at 2×2 maps
        for (i, (xr, or)) in x.chunks_exact(plane).zip(out.chunks_exact_mut(plane)).enumerate() {
            let (p, q, r) = (k1[ch], k2[ch], k3[ch]);
            ch = if ch + 1 == c { 0 } else { ch + 1 };
            match a {
                Some(a) => {
                    let ar = &a[i * plane..(i + 1) * plane];
                    for ((o, &v), &av) in or.iter_mut().zip(xr).zip(ar) {
                        *o = p * av + q * v + r;
                    }
                }
                None => {
                    for (o, &v) in or.iter_mut().zip(xr) {
                        *o = (p + q) * v + r;
                    }
                }
            }
        }
    }
}

simd_dispatch! {
    /// `out = k1·a + k2·x + k3` image by image, with the coefficients expanded to one per
    /// element of an image (`k*.len()` = C·plane); `a` is x itself where None.
    fn bn_affine_images<T: Float>(x: &[T], a: Option<&[T]>, k1: &[T], k2: &[T], k3: &[T],
                                  out: &mut [T]) {
        let len = k1.len();
        let (k1, k2, k3) = (&k1[..len], &k2[..len], &k3[..len]);
        for (i, (xr, or)) in x.chunks_exact(len).zip(out.chunks_exact_mut(len)).enumerate() {
            let ks = k1.iter().zip(k2).zip(k3);
            match a {
                Some(a) => {
                    let ar = &a[i * len..(i + 1) * len];
                    for (((o, &v), &av), ((&p, &q), &r)) in or.iter_mut().zip(xr).zip(ar).zip(ks) {
                        *o = p * av + q * v + r;
                    }
                }
                None => {
                    for ((o, &v), ((&p, &q), &r)) in or.iter_mut().zip(xr).zip(ks) {
                        *o = (p + q) * v + r;
                    }
                }
            }
        }
    }
}

/// Per-channel sums over the whole input, in channel blocks (threaded when large).
fn bn_sums<T: Float>(
    x: &[T],
    g: Option<&[T]>,
    shape: BnShape,
    shift: Option<&[T]>,
) -> (Vec<T>, Vec<T>) {
    let c = shape.1;
    let (mut s1, mut s2) = (vec![T::ZERO; c], vec![T::ZERO; c]);
    let per = bn_channels_per_block(shape);
    let run = |(b, (o1, o2)): (usize, (&mut [T], &mut [T]))| {
        let c0 = b * per;
        let sh = shift.map(|s| &s[c0..c0 + o1.len()]);
        bn_channel_sums(x, g, shape, c0, sh, o1, o2)
    };
    if per < c {
        s1.par_chunks_mut(per)
            .zip(s2.par_chunks_mut(per))
            .enumerate()
            .for_each(run);
    } else if c > 0 {
        run((0, (&mut s1[..], &mut s2[..])));
    }
    (s1, s2)
}

/// `out = k1·a + k2·x + k3` per channel over the whole input (threaded when large).
#[allow(clippy::too_many_arguments)]
fn bn_affine<T: Float>(
    x: &[T],
    a: Option<&[T]>,
    (n, c, plane): BnShape,
    k1: &[T],
    k2: &[T],
    k3: &[T],
    out: &mut [T],
) {
    if plane == 0 || c == 0 {
        return;
    }
    let rows = n * c;
    if plane < LANES {
        // Rows shorter than a vector: whole images at once, with per-element coefficients.
        let expand = |k: &[T]| -> Vec<T> {
            k.iter()
                .flat_map(|&v| std::iter::repeat_n(v, plane))
                .collect()
        };
        let (e1, e2, e3) = (expand(k1), expand(k2), expand(k3));
        let img = c * plane;
        if parallel(n, img) {
            let per = rows_per_block(n, img) * img;
            out.par_chunks_mut(per)
                .zip(x.par_chunks(per))
                .enumerate()
                .for_each(|(b, (ob, xb))| {
                    let ab = a.map(|a| &a[b * per..b * per + xb.len()]);
                    bn_affine_images(xb, ab, &e1, &e2, &e3, ob)
                });
        } else {
            bn_affine_images(x, a, &e1, &e2, &e3, out);
        }
        return;
    }
    if parallel(rows, plane) {
        let per = rows_per_block(rows, plane);
        out.par_chunks_mut(per * plane)
            .zip(x.par_chunks(per * plane))
            .enumerate()
            .for_each(|(b, (ob, xb))| {
                let ab = a.map(|a| &a[b * per * plane..b * per * plane + xb.len()]);
                bn_affine_rows(xb, ab, plane, c, b * per, k1, k2, k3, ob)
            });
    } else {
        bn_affine_rows(x, a, plane, c, 0, k1, k2, k3, out);
    }
}

/// Batch norm of the C-contiguous `x` of shape (N, C, plane):
/// `y = (x - mean) / sqrt(var + eps) · weight + bias` per channel. With `running` = None
/// (training) mean and the biased variance come from the batch; with `Some((mean, var))`
/// (evaluation) those are used. Writes the mean, the variance (biased: for the running
/// variance the caller scales it by m/(m-1), m = N·plane) and 1/sqrt(var + eps) it used.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_forward<T: Float>(
    x: &[T],
    shape: BnShape,
    weight: Option<&[T]>,
    bias: Option<&[T]>,
    running: Option<(&[T], &[T])>,
    eps: T,
    y: &mut [T],
    mean: &mut [T],
    var: &mut [T],
    rstd: &mut [T],
) -> Result<()> {
    let op = "batch_norm";
    let (n, c, plane) = shape;
    bn_check(op, x.len(), shape)?;
    check(op, "output", y.len(), x.len())?;
    for (what, len) in [
        ("mean", mean.len()),
        ("var", var.len()),
        ("rstd", rstd.len()),
    ] {
        check(op, what, len, c)?;
    }
    for (what, v) in [("weight", weight), ("bias", bias)] {
        if let Some(v) = v {
            check(op, what, v.len(), c)?;
        }
    }
    match running {
        Some((m, v)) => {
            check(op, "running_mean", m.len(), c)?;
            check(op, "running_var", v.len(), c)?;
            mean.copy_from_slice(m);
            var.copy_from_slice(v);
        }
        None => {
            let count = n * plane;
            if count == 0 {
                return Err(Error::Shape(format!(
                    "{op}: training needs at least one value per channel, got input of (N, C, plane) {shape:?}"
                )));
            }
            let inv = T::ONE / T::from_f64(count as f64);
            let (s1, _) = bn_sums(x, None, shape, None);
            mean.iter_mut().zip(&s1).for_each(|(m, &s)| *m = s * inv);
            let (_, s2) = bn_sums(x, None, shape, Some(mean));
            var.iter_mut().zip(&s2).for_each(|(v, &s)| *v = s * inv);
        }
    }
    // y = scale·x + shift: k1 = 0 (no second operand), k2 = rstd·w, k3 = b - mean·k2.
    let zero = vec![T::ZERO; c];
    let mut k2 = vec![T::ZERO; c];
    let mut k3 = vec![T::ZERO; c];
    for ch in 0..c {
        rstd[ch] = T::ONE / (var[ch] + eps).sqrt();
        k2[ch] = rstd[ch] * weight.map_or(T::ONE, |w| w[ch]);
        k3[ch] = bias.map_or(T::ZERO, |b| b[ch]) - mean[ch] * k2[ch];
    }
    bn_affine(x, None, shape, &zero, &k2, &k3, y);
    Ok(())
}

/// Backward of [`batch_norm_forward`] from its saved `mean` and `rstd`: writes dx and, when
/// given, dweight (Σ gy·xhat per channel) and dbias (Σ gy). `training` says whether the
/// statistics came from the batch (their gradient flows into dx) or were constants.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward<T: Float>(
    gy: &[T],
    x: &[T],
    shape: BnShape,
    mean: &[T],
    rstd: &[T],
    weight: Option<&[T]>,
    training: bool,
    dx: &mut [T],
    dweight: Option<&mut [T]>,
    dbias: Option<&mut [T]>,
) -> Result<()> {
    let op = "batch_norm_backward";
    let (n, c, plane) = shape;
    bn_check(op, x.len(), shape)?;
    check(op, "gradient", gy.len(), x.len())?;
    check(op, "dx", dx.len(), x.len())?;
    check(op, "mean", mean.len(), c)?;
    check(op, "rstd", rstd.len(), c)?;
    if let Some(w) = weight {
        check(op, "weight", w.len(), c)?;
    }
    if let Some(d) = dweight.as_deref() {
        check(op, "dweight", d.len(), c)?;
    }
    if let Some(d) = dbias.as_deref() {
        check(op, "dbias", d.len(), c)?;
    }
    // sg = Σ g, sgd = Σ g (x - mean); Σ g·xhat = rstd·sgd.
    let need_sums = training || dweight.is_some() || dbias.is_some();
    let (sg, sgd) = if need_sums {
        bn_sums(x, Some(gy), shape, Some(mean))
    } else {
        (vec![T::ZERO; c], vec![T::ZERO; c])
    };
    // dx = w·rstd·(g - sg/m - xhat·Σ g·xhat/m) = k1·g + k2·x + k3 (training), or w·rstd·g.
    let inv = T::ONE / T::from_f64((n * plane).max(1) as f64);
    let (mut k1, mut k2, mut k3) = (vec![T::ZERO; c], vec![T::ZERO; c], vec![T::ZERO; c]);
    for ch in 0..c {
        let wr = weight.map_or(T::ONE, |w| w[ch]) * rstd[ch];
        k1[ch] = wr;
        if training {
            k2[ch] = -(wr * rstd[ch] * rstd[ch] * sgd[ch] * inv);
            k3[ch] = -(wr * sg[ch] * inv) - k2[ch] * mean[ch];
        }
    }
    bn_affine(x, Some(gy), shape, &k1, &k2, &k3, dx);
    if let Some(d) = dweight {
        d.iter_mut()
            .zip(sgd.iter().zip(rstd))
            .for_each(|(d, (&s, &r))| *d = s * r);
    }
    if let Some(d) = dbias {
        d.copy_from_slice(&sg);
    }
    Ok(())
}
