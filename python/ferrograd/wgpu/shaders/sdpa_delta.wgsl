// delta[b, i] = Σ_c dout[b, i, c] · out[b, i, c], the softmax-backward row term, written after
// the lse copy in `stats`. One thread per (batch, row); out and dout any strides (via offs).
struct Params { l: u32, ev: u32, n: u32, delta_off: u32, o_rs: u32, o_cs: u32, g_rs: u32, g_cs: u32 }

@group(0) @binding(0) var<storage, read> out: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * ng.x) * 256u + lid;
    if (idx >= p.n) { return; }
    let b = idx / p.l;
    let i = idx % p.l;
    let oo = offs[b * 8u + 5u] + i * p.o_rs;
    let go = offs[b * 8u + 4u] + i * p.g_rs;
    var s = 0.0;
    for (var c = 0u; c < p.ev; c++) { s = fma(out[oo + c * p.o_cs], dout[go + c * p.g_cs], s); }
    stats[p.delta_off + idx] = s;
}
