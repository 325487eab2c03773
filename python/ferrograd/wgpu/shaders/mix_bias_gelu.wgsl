// h[i] += bias[row or column of i]; act[i] = gelu(h[i]) for a contiguous (rows, cols) h.
// per_row: the bias index is the row mod nb (token mixing, (B, D, C)), else the column.
// One launch covers elements start .. start + n (h and act bound as windows from h_off, a_off).
struct Params { n: u32, cols: u32, per_row: u32, nb: u32, has_bias: u32, b_off: u32, b_st: u32, start: u32,
                h_off: u32, a_off: u32 }

@group(0) @binding(0) var<storage, read_write> h: array<f32>;
@group(0) @binding(1) var<storage, read_write> act: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    var v = h[p.h_off + i];
    if (p.has_bias != 0u) {
        let e = p.start + i;
        let bi = select(e % p.cols, (e / p.cols) % p.nb, p.per_row != 0u);
        v += bias[p.b_off + bi * p.b_st];
        h[p.h_off + i] = v;
    }
    act[p.a_off + i] = gelu(v);
}
