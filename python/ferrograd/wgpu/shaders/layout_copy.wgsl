// out[i] = x[offset + sum_d idx_d(i) * stride_d]: an n-d strided view (up to 8 dims, any
// signed element strides) copied into a contiguous array. 1-D grid of 256-wide groups, folded
// into (x, y) when large.
struct Params {
    n: u32, ndim: u32, offset: u32, _p: u32,
    shape: array<vec4<u32>, 2>,
    strides: array<vec4<i32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    var rest = i;
    var src = i32(p.offset);
    // Innermost dim first: peel indices off the flat output index.
    for (var d = i32(p.ndim) - 1; d >= 0; d--) {
        let size = p.shape[d / 4][d % 4];
        src += i32(rest % size) * p.strides[d / 4][d % 4];
        rest /= size;
    }
    out[i] = x[u32(src)];
}
