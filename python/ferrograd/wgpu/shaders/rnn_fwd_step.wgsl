// One plain-RNN time step t after the recurrent GEMM accumulated into pre[t] (B, H):
// h_t = act(pre + b_ih + b_hh) (tanh, or relu) to hs[t + 1] and out[:, t].
struct Params {
    b: u32, h: u32, l: u32, t: u32,
    has_bi: u32, bi_off: u32, bi_st: u32, has_bh: u32,
    bh_off: u32, bh_st: u32, relu: u32,
}

@group(0) @binding(0) var<storage, read> pre: array<f32>;
@group(0) @binding(1) var<storage, read_write> hs: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> b_ih: array<f32>;
@group(0) @binding(4) var<storage, read> b_hh: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * ng.x) * 256u + lid;
    let n_bh = p.b * p.h;
    if (idx >= n_bh) { return; }
    let bb = idx / p.h;
    let j = idx % p.h;
    var a = pre[p.t * n_bh + idx];
    if (p.has_bi != 0u) { a += b_ih[p.bi_off + j * p.bi_st]; }
    if (p.has_bh != 0u) { a += b_hh[p.bh_off + j * p.bh_st]; }
    // relu(NaN) must be NaN: max(a, 0) may drop it, and compilers may fold float compares,
    // so NaN is recognised by its bits.
    let a_nan = (bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u;
    let hv = select(tanh_(a), select(max(a, 0.0), a, a_nan), p.relu != 0u);
    hs[(p.t + 1u) * n_bh + idx] = hv;
    out[(bb * p.l + p.t) * p.h + j] = hv;
}
