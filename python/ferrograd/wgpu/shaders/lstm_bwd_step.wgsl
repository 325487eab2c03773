// One LSTM step t backward: dh (B, H) already holds dg[t + 1] W_hh (0 at the last step); with
// gy[:, t] and the carried dc it gives the gate pre-activation gradients dg[t] (B, 4H) and the
// dc carried to step t - 1 (in place). One thread per (batch row, unit).
struct Params {
    b: u32, h: u32, l: u32, t: u32,
    g_off: u32, c_off: u32, cp_off: u32, gy_off: u32,
}

@group(0) @binding(0) var<storage, read> gates: array<f32>;
@group(0) @binding(1) var<storage, read> cells: array<f32>;
@group(0) @binding(2) var<storage, read> cprev: array<f32>;
@group(0) @binding(3) var<storage, read> gy: array<f32>;
@group(0) @binding(4) var<storage, read> dh: array<f32>;
@group(0) @binding(5) var<storage, read_write> dc: array<f32>;
@group(0) @binding(6) var<storage, read_write> dg: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * ng.x) * 256u + lid;
    if (idx >= p.b * p.h) { return; }
    let bb = idx / p.h;
    let j = idx % p.h;
    let g = p.g_off + (p.t * p.b + bb) * 4u * p.h + j;
    let iv = gates[g];
    let fv = gates[g + p.h];
    let gv = gates[g + 2u * p.h];
    let ov = gates[g + 3u * p.h];
    let tc = tanh_(cells[p.c_off + idx]);
    let dht = dh[idx] + gy[p.gy_off + (bb * p.l + p.t) * p.h + j];
    let dct = dc[idx] + dht * ov * (1.0 - tc * tc);
    let d = (p.t * p.b + bb) * 4u * p.h + j;
    dg[d] = dct * gv * iv * (1.0 - iv);
    dg[d + p.h] = dct * cprev[p.cp_off + idx] * fv * (1.0 - fv);
    dg[d + 2u * p.h] = dct * iv * (1.0 - gv * gv);
    dg[d + 3u * p.h] = dht * tc * ov * (1.0 - ov);
    dc[idx] = dct * fv;
}
