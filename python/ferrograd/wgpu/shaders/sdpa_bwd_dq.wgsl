// Attention backward, dQ: a workgroup owns 16 query rows and walks the visible key blocks,
// recomputing P and dS per tile: dQ_i = scale Σ_j dS_ij K_j. Thread (tx, ty) accumulates row
// ty's columns col0 + tx + 16 k; grid z walks heads wider than 256.
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> dst: array<f32, 272>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tx = lid.x;
    let ty = lid.y;
    let b = p.batch0 + wid.y;
    let r0 = wid.x * T;
    let col0 = wid.z * 256u;
    let ko = offs[b * 8u + 1u];
    var acc: array<f32, 16>;
    let kend = key_end(r0);
    for (var c0 = 0u; c0 < kend; c0 += T) {
        dst[ty * P + tx] = p_ds(b, r0, c0, tx, ty).y;
        workgroupBarrier();
        for (var kc = 0u; kc < 16u; kc++) {
            let cb = col0 + kc * T;
            if (cb >= p.e) { break; }
            var kv = 0.0;
            if (c0 + ty < p.s && cb + tx < p.e) { kv = k[ko + (c0 + ty) * p.k_rs + (cb + tx) * p.k_cs]; }
            tb[ty * P + tx] = kv;
            workgroupBarrier();
            var a = acc[kc];
            for (var jj = 0u; jj < T; jj++) { a = fma(dst[ty * P + jj], tb[jj * P + tx], a); }
            acc[kc] = a;
            workgroupBarrier();
        }
        workgroupBarrier();
    }
    let i = r0 + ty;
    if (i < p.l) {
        for (var kc = 0u; kc < 16u; kc++) {
            let col = col0 + kc * T + tx;
            if (col < p.e) { dq[(b * p.l + i) * p.e + col] = p.scale * acc[kc]; }
        }
    }
}
