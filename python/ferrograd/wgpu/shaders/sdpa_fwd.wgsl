// Flash-attention forward: a workgroup owns 16 query rows of one batch and walks the key blocks
// with an online softmax (running max m and sum l per row), so only a 16x16 score tile exists at
// a time. Thread (tx, ty) accumulates row ty's output columns col0 + tx + 16 k (k < 16): one
// launch covers 256 value columns, grid z walks wider heads. Saves lse = m + ln l (−inf and
// output 0 for a row that sees no key, as PyTorch).
//
// Causal NaN: torch's math path adds −inf to the scores a row may not see, so a NaN or +inf
// score there (NaN + −inf), or a non-finite value (0 · inf), still makes the output NaN; this
// kernel skips those keys. So it marks NaN there too: in the blocks it computes, a hidden NaN or
// +inf score becomes a NaN logit (and 0 · v is multiplied anyway); the blocks it skips cost one
// read of their k and v rows, and only when those or this block's q rows hold a non-finite or
// huge entry (huge: big enough for q·k to overflow) are their scores computed, to mark the rows
// and columns.
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> pt: array<f32, 272>;
var<workgroup> wild_any: atomic<u32>;
var<workgroup> wild_flag: u32;

fn nan_f32() -> f32 {
    return bitcast<f32>(F32_NAN_BITS);  // fisnan, fisfinite, F32_NAN_BITS: float_bits.wgsl
}

// A causally hidden score that torch's NaN + −inf or +inf + −inf turns into NaN.
fn hidden_bad(sc: f32, i: u32, j: u32) -> bool {
    if (p.causal == 0u || i >= p.l || j >= p.s || j <= i) { return false; }
    let x = sc * p.scale;
    return fisnan(x) || bitcast<u32>(x) == 0x7f800000u;
}

// Entries of q and k up to this size cannot overflow a score: |scale · q·k| <= 1e38.
fn tame_limit() -> f32 {
    return sqrt(1e38 / f32(max(p.e, 1u))) / sqrt(max(abs(p.scale), 1e-30));  // <= 1e34: no overflow
}

fn wild(x: f32, limit: f32) -> bool {
    return fisnan(x) || abs(x) > limit;
}

// Whether any thread of the workgroup passed `mine`, as a uniform value. Contains barriers.
fn any_in_group(mine: bool, first: bool) -> bool {
    if (first) { atomicStore(&wild_any, 0u); }
    workgroupBarrier();
    if (mine) { atomicOr(&wild_any, 1u); }
    workgroupBarrier();
    if (first) { wild_flag = atomicLoad(&wild_any); }
    return workgroupUniformLoad(&wild_flag) != 0u;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tx = lid.x;
    let ty = lid.y;
    let b = p.batch0 + wid.y;
    let r0 = wid.x * T;
    let col0 = wid.z * 256u;
    let i = r0 + ty;
    let vo = offs[b * 8u + 2u];
    var m = neg_inf();
    var l = 0.0;
    var acc: array<f32, 16>;
    let kend = key_end(r0);
    for (var c0 = 0u; c0 < kend; c0 += T) {
        let sc = qk_tile(b, r0, c0, tx, ty);
        var x = logit(b, sc, i, c0 + tx);
        if (hidden_bad(sc, i, c0 + tx)) { x = nan_f32(); }
        pt[ty * P + tx] = x;
        workgroupBarrier();
        var mx = neg_inf();
        for (var jj = 0u; jj < T; jj++) { mx = max(mx, pt[ty * P + jj]); }
        let m_new = max(m, mx);
        // Nothing visible yet: shift 0 keeps exp(−inf − shift) = 0 instead of NaN.
        let shift = select(m_new, 0.0, m_new == neg_inf());
        let alpha = exp(m - shift);
        workgroupBarrier();
        pt[ty * P + tx] = exp(x - shift);
        workgroupBarrier();
        var sum = 0.0;
        for (var jj = 0u; jj < T; jj++) { sum += pt[ty * P + jj]; }
        l = l * alpha + sum;
        m = m_new;
        for (var kc = 0u; kc < 16u; kc++) {
            let cb = col0 + kc * T;
            if (cb >= p.ev) { break; }
            var vv = 0.0;
            if (c0 + ty < p.s && cb + tx < p.ev) { vv = v[vo + (c0 + ty) * p.v_rs + (cb + tx) * p.v_cs]; }
            tb[ty * P + tx] = vv;
            workgroupBarrier();
            var a = acc[kc] * alpha;
            for (var jj = 0u; jj < T; jj++) { a = fma(pt[ty * P + jj], tb[jj * P + tx], a); }
            acc[kc] = a;
            workgroupBarrier();
        }
        workgroupBarrier();
    }
    // The skipped key blocks (causal; see the top): all their keys are hidden from every row.
    // One pass reads them (and this block's q rows) for a wild entry; only then (rare) are their
    // scores computed. One workgroup vote in all: barriers are what llvmpipe pays for.
    var row_bad = false;
    let hstart = (kend + T - 1u) / T * T;
    if (p.causal != 0u && hstart < p.s) {
        let limit = tame_limit();
        let qo = offs[b * 8u];
        let ko = offs[b * 8u + 1u];
        let cols_end = min(col0 + 256u, p.ev);
        var mine = false;
        if (i < p.l) {
            for (var e = tx; e < p.e; e += T) { mine = mine || wild(q[qo + i * p.q_rs + e * p.q_cs], limit); }
        }
        for (var j = hstart + ty; j < p.s; j += T) {
            for (var e = tx; e < p.e; e += T) { mine = mine || wild(k[ko + j * p.k_rs + e * p.k_cs], limit); }
            for (var c = col0 + tx; c < cols_end; c += T) { mine = mine || !fisfinite(v[vo + j * p.v_rs + c * p.v_cs]); }
        }
        if (any_in_group(mine, tx == 0u && ty == 0u)) {
            for (var c0 = hstart; c0 < p.s; c0 += T) {
                let sc = qk_tile(b, r0, c0, tx, ty);
                pt[ty * P + tx] = select(0.0, 1.0, hidden_bad(sc, i, c0 + tx));
                workgroupBarrier();
                for (var jj = 0u; jj < T; jj++) { row_bad = row_bad || pt[ty * P + jj] != 0.0; }
                for (var kc = 0u; kc < 16u; kc++) {
                    let cb = col0 + kc * T;
                    if (cb >= p.ev) { break; }
                    var vv = 0.0;
                    if (c0 + ty < p.s && cb + tx < p.ev) { vv = v[vo + (c0 + ty) * p.v_rs + (cb + tx) * p.v_cs]; }
                    workgroupBarrier();
                    tb[ty * P + tx] = vv;
                    workgroupBarrier();
                    for (var jj = 0u; jj < T; jj++) {
                        if (!fisfinite(tb[jj * P + tx])) { acc[kc] = nan_f32(); }  // 0 · inf, 0 · NaN
                    }
                }
                workgroupBarrier();
            }
        }
    }
    if (row_bad) {  // NaN in acc, not in l: `l != 0.0` below may be an ordered compare
        for (var kc = 0u; kc < 16u; kc++) { acc[kc] = nan_f32(); }
        m = nan_f32();
    }
    if (i < p.l) {
        // l = 0 only for a fully masked row; a NaN logit makes l NaN and must reach the output.
        let inv = select(0.0, 1.0 / l, l != 0.0);
        for (var kc = 0u; kc < 16u; kc++) {
            let col = col0 + kc * T + tx;
            if (col < p.ev) { out[(b * p.l + i) * p.ev + col] = acc[kc] * inv; }
        }
        if (wid.z == 0u && tx == 0u) { lse[b * p.l + i] = select(neg_inf(), m + log(l), l != 0.0); }
    }
}
