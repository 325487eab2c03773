// y[i] += bias[row mod nb] (per_row, token mixing) or bias[column] for a contiguous (rows, cols) y.
// One launch covers elements start .. start + n (y bound as a window from y_off).
struct Params { n: u32, cols: u32, per_row: u32, nb: u32, b_off: u32, b_st: u32, start: u32, y_off: u32 }

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    let e = p.start + i;
    let bi = select(e % p.cols, (e / p.cols) % p.nb, p.per_row != 0u);
    y[p.y_off + i] += bias[p.b_off + bi * p.b_st];
}
