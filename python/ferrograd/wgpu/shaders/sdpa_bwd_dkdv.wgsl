// Attention backward, dK and dV: a workgroup owns 16 keys and walks the query blocks that can see
// them (causal: from the key block on), recomputing P and dS per tile:
// dV_j = Σ_i P_ij dO_i, dK_j = scale Σ_i dS_ij Q_i. Each workgroup writes only its own rows, so
// no atomics are needed. `dkv` holds dk (batches, S, E) then dv (batches, S, Ev) at dv_off.
@group(0) @binding(7) var<storage, read_write> dkv: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> pt: array<f32, 272>;
var<workgroup> dst: array<f32, 272>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tx = lid.x;
    let ty = lid.y;
    let b = p.batch0 + wid.y;
    let c0 = wid.x * T;
    let col0 = wid.z * 256u;
    let qo = offs[b * 8u];
    let go = offs[b * 8u + 4u];
    var ak: array<f32, 16>;
    var av: array<f32, 16>;
    // Causal: rows before c0 see none of these keys.
    var r_start = 0u;
    if (p.causal != 0u) { r_start = c0; }
    for (var r0 = r_start; r0 < p.l; r0 += T) {
        let pd = p_ds(b, r0, c0, tx, ty);  // thread = (row ty, key tx)
        pt[ty * P + tx] = pd.x;
        dst[ty * P + tx] = pd.y;
        workgroupBarrier();
        // From here thread = (key ty, column tx); rows of the tile are summed over.
        for (var kc = 0u; kc < 16u; kc++) {
            let cb = col0 + kc * T;
            if (cb >= p.ev && cb >= p.e) { break; }
            var g = 0.0;
            var qv = 0.0;
            if (r0 + ty < p.l && cb + tx < p.ev) { g = dout[go + (r0 + ty) * p.g_rs + (cb + tx) * p.g_cs]; }
            if (r0 + ty < p.l && cb + tx < p.e) { qv = q[qo + (r0 + ty) * p.q_rs + (cb + tx) * p.q_cs]; }
            ta[ty * P + tx] = g;
            tb[ty * P + tx] = qv;
            workgroupBarrier();
            var a = av[kc];
            var c = ak[kc];
            for (var ii = 0u; ii < T; ii++) {
                a = fma(pt[ii * P + ty], ta[ii * P + tx], a);
                c = fma(dst[ii * P + ty], tb[ii * P + tx], c);
            }
            av[kc] = a;
            ak[kc] = c;
            workgroupBarrier();
        }
        workgroupBarrier();
    }
    let j = c0 + ty;
    if (j < p.s) {
        for (var kc = 0u; kc < 16u; kc++) {
            let col = col0 + kc * T + tx;
            if (col < p.e) { dkv[(b * p.s + j) * p.e + col] = p.scale * ak[kc]; }
            if (col < p.ev) { dkv[p.dv_off + (b * p.s + j) * p.ev + col] = av[kc]; }
        }
    }
}
