// Flash-attention forward: a workgroup owns 16 query rows of one batch and walks the key blocks
// with an online softmax (running max m and sum l per row), so only a 16x16 score tile exists at
// a time. Thread (tx, ty) accumulates row ty's output columns col0 + tx + 16 k (k < 16): one
// launch covers 256 value columns, grid z walks wider heads. Saves lse = m + ln l (−inf and
// output 0 for a row that sees no key, as PyTorch).
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> pt: array<f32, 272>;

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
        let x = logit(b, qk_tile(b, r0, c0, tx, ty), i, c0 + tx);
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
