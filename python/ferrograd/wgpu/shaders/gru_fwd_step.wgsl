// One GRU time step t after the recurrent GEMM hp = h W_hhᵀ (B, 3H): gates[t] (input
// projections) becomes the activations r,z,n; hn[t] = W_hn h + b_hn (saved for backward);
// h_t goes to hs[t + 1] and out[:, t]. One thread per (batch row, unit).
struct Params {
    b: u32, h: u32, l: u32, t: u32,
    has_bi: u32, bi_off: u32, bi_st: u32, has_bh: u32,
    bh_off: u32, bh_st: u32,
}

@group(0) @binding(0) var<storage, read_write> gates: array<f32>;
@group(0) @binding(1) var<storage, read> hp: array<f32>;
@group(0) @binding(2) var<storage, read_write> hn: array<f32>;
@group(0) @binding(3) var<storage, read_write> hs: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> b_ih: array<f32>;
@group(0) @binding(6) var<storage, read> b_hh: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

fn bi(k: u32) -> f32 {
    return select(0.0, b_ih[p.bi_off + k * p.bi_st], p.has_bi != 0u);
}

fn bh(k: u32) -> f32 {
    return select(0.0, b_hh[p.bh_off + k * p.bh_st], p.has_bh != 0u);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * ng.x) * 256u + lid;
    let n_bh = p.b * p.h;
    if (idx >= n_bh) { return; }
    let bb = idx / p.h;
    let j = idx % p.h;
    let h = p.h;
    let g = (p.t * p.b + bb) * 3u * h + j;
    let q = bb * 3u * h + j;
    let r = sigmoid(gates[g] + bi(j) + hp[q] + bh(j));
    let z = sigmoid(gates[g + h] + bi(h + j) + hp[q + h] + bh(h + j));
    let hnv = hp[q + 2u * h] + bh(2u * h + j);
    let n = tanh_(gates[g + 2u * h] + bi(2u * h + j) + r * hnv);
    gates[g] = r;
    gates[g + h] = z;
    gates[g + 2u * h] = n;
    hn[p.t * n_bh + idx] = hnv;
    let hv = (1.0 - z) * n + z * hs[p.t * n_bh + idx];
    hs[(p.t + 1u) * n_bh + idx] = hv;
    out[(bb * p.l + p.t) * h + j] = hv;
}
