// One plain-RNN step t backward: da[t] = (dh + gy[:, t]) * act'(h_t), with dh = da[t + 1] W_hh
// (0 at the last step) and act' read off the saved output h_t = hs[t + 1].
struct Params { b: u32, h: u32, l: u32, t: u32, hs_off: u32, gy_off: u32, relu: u32 }

@group(0) @binding(0) var<storage, read> hs: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> da: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * ng.x) * 256u + lid;
    let n_bh = p.b * p.h;
    if (idx >= n_bh) { return; }
    let bb = idx / p.h;
    let j = idx % p.h;
    let y = hs[p.hs_off + (p.t + 1u) * n_bh + idx];
    let dy = dh[idx] + gy[p.gy_off + (bb * p.l + p.t) * p.h + j];
    da[p.t * n_bh + idx] = select(dy * (1.0 - y * y), select(0.0, dy, y > 0.0), p.relu != 0u);
}
