// One GRU step t backward: dh (B, H) holds the carried z * dh' plus da[t + 1] W_hh; with gy[:, t]
// it gives da[t] (B, 3H: recurrent pre-activations r, z and hn), dan[t] (B, H: the input-side n
// pre-activation) and the next carried z * dh (in place). One thread per (batch row, unit).
struct Params {
    b: u32, h: u32, l: u32, t: u32,
    g_off: u32, hn_off: u32, hs_off: u32, gy_off: u32,
}

@group(0) @binding(0) var<storage, read> gates: array<f32>;
@group(0) @binding(1) var<storage, read> hn: array<f32>;
@group(0) @binding(2) var<storage, read> hs: array<f32>;
@group(0) @binding(3) var<storage, read> gy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dh: array<f32>;
@group(0) @binding(5) var<storage, read_write> da: array<f32>;
@group(0) @binding(6) var<storage, read_write> dan: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * ng.x) * 256u + lid;
    let n_bh = p.b * p.h;
    if (idx >= n_bh) { return; }
    let bb = idx / p.h;
    let j = idx % p.h;
    let h = p.h;
    let g = p.g_off + (p.t * p.b + bb) * 3u * h + j;
    let r = gates[g];
    let z = gates[g + h];
    let n = gates[g + 2u * h];
    let dht = dh[idx] + gy[p.gy_off + (bb * p.l + p.t) * h + j];
    let an = dht * (1.0 - z) * (1.0 - n * n);
    let d = (p.t * p.b + bb) * 3u * h + j;
    da[d] = an * hn[p.hn_off + p.t * n_bh + idx] * r * (1.0 - r);
    da[d + h] = dht * (hs[p.hs_off + p.t * n_bh + idx] - n) * z * (1.0 - z);
    da[d + 2u * h] = an * r;
    dan[p.t * n_bh + idx] = an;
    dh[idx] = dht * z;
}
