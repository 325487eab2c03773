// Shared part of the attention backward kernels (after sdpa_common): dout and the saved
// statistics [lse (batches * L) | delta = rowsum(dout ∘ out) (batches * L)], and the recomputed
// P = exp(logit − lse) and dS = P (dO·V − delta) of a tile.
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> stats: array<f32>;

// (P, dS) of row r0 + ty, key c0 + tx. Contains barriers: call it uniformly.
fn p_ds(b: u32, r0: u32, c0: u32, tx: u32, ty: u32) -> vec2<f32> {
    let i = r0 + ty;
    let x = logit(b, qk_tile(b, r0, c0, tx, ty), i, c0 + tx);
    let go = offs[b * 8u + 4u];
    let vo = offs[b * 8u + 2u];
    var dp = 0.0;
    for (var e0 = 0u; e0 < p.ev; e0 += T) {
        let e = e0 + tx;
        var a = 0.0;
        var c = 0.0;
        if (i < p.l && e < p.ev) { a = dout[go + i * p.g_rs + e * p.g_cs]; }
        if (c0 + ty < p.s && e < p.ev) { c = v[vo + (c0 + ty) * p.v_rs + e * p.v_cs]; }
        ta[ty * P + tx] = a;
        tb[ty * P + tx] = c;
        workgroupBarrier();
        for (var kk = 0u; kk < T; kk++) { dp = fma(ta[ty * P + kk], tb[tx * P + kk], dp); }
        workgroupBarrier();
    }
    var pv = 0.0;
    var d = 0.0;
    if (i < p.l) {
        let s = stats[b * p.l + i];
        d = stats[p.delta_off + b * p.l + i];
        if (s != neg_inf() && x != neg_inf()) { pv = exp(x - s); }
    }
    return vec2<f32>(pv, pv * (dp - d));
}
