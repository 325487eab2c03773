// One LSTM time step t after the recurrent GEMM: gates[t] holds x W_ihᵀ + h W_hhᵀ (B, 4H) and
// becomes the activations i,f,g,o; c_t goes to cst[t + 1] (cst[0] = c0), h_t to hs[t + 1] and to
// out[:, t] (the first B*L*H elements of `packed`). One thread per (batch row, unit).
struct Params {
    b: u32, h: u32, l: u32, t: u32,
    has_bi: u32, bi_off: u32, bi_st: u32, has_bh: u32,
    bh_off: u32, bh_st: u32,
}

@group(0) @binding(0) var<storage, read_write> gates: array<f32>;
@group(0) @binding(1) var<storage, read_write> cst: array<f32>;
@group(0) @binding(2) var<storage, read_write> hs: array<f32>;
@group(0) @binding(3) var<storage, read_write> packed: array<f32>;
@group(0) @binding(4) var<storage, read> b_ih: array<f32>;
@group(0) @binding(5) var<storage, read> b_hh: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

fn bias(k: u32) -> f32 {
    var s = 0.0;
    if (p.has_bi != 0u) { s += b_ih[p.bi_off + k * p.bi_st]; }
    if (p.has_bh != 0u) { s += b_hh[p.bh_off + k * p.bh_st]; }
    return s;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * ng.x) * 256u + lid;
    let bh = p.b * p.h;
    if (idx >= bh) { return; }
    let bb = idx / p.h;
    let j = idx % p.h;
    let g = (p.t * p.b + bb) * 4u * p.h + j;
    let iv = sigmoid(gates[g] + bias(j));
    let fv = sigmoid(gates[g + p.h] + bias(p.h + j));
    let gv = tanh_(gates[g + 2u * p.h] + bias(2u * p.h + j));
    let ov = sigmoid(gates[g + 3u * p.h] + bias(3u * p.h + j));
    let c = fv * cst[p.t * bh + idx] + iv * gv;
    gates[g] = iv;
    gates[g + p.h] = fv;
    gates[g + 2u * p.h] = gv;
    gates[g + 3u * p.h] = ov;
    let hv = ov * tanh_(c);
    cst[(p.t + 1u) * bh + idx] = c;
    hs[(p.t + 1u) * bh + idx] = hv;
    packed[(bb * p.l + p.t) * p.h + j] = hv;
}
