// out[out_off + j] (+)= sum over a < A, k < K of x[x_off + (a * J_all + j) * K + k] for j < J:
// bias gradients (column sums of (rows, n), or sums over batch and channels of (B, n, C)). A
// launch may cover a block of a and j (buffers larger than one binding); acc adds to out.
struct Params { a: u32, j: u32, k: u32, x_off: u32, out_off: u32, j_all: u32, acc: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// One thread per output: K == 1, so a warp reads J-neighbours of one row together.
@compute @workgroup_size(256)
fn per_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let j = (wid.x + wid.y * ng.x) * 256u + lid;
    if (j >= p.j) { return; }
    var s = 0.0;
    for (var a = 0u; a < p.a; a++) {
        s += x[p.x_off + a * p.j_all + j];
    }
    out[p.out_off + j] = s + select(0.0, out[p.out_off + j], p.acc != 0u);
}

var<workgroup> part: array<f32, 64>;

// One workgroup per output: 64 threads stride over its A * K elements, then a tree sum.
@compute @workgroup_size(64)
fn per_group(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let j = wid.x + wid.y * ng.x;
    let n = p.a * p.k;
    var s = 0.0;
    if (j < p.j) {
        for (var e = lid; e < n; e += 64u) {
            let a = e / p.k;
            s += x[p.x_off + (a * p.j_all + j) * p.k + e % p.k];
        }
    }
    part[lid] = s;
    workgroupBarrier();
    for (var w = 32u; w > 0u; w >>= 1u) {
        if (lid < w) { part[lid] += part[lid + w]; }
        workgroupBarrier();
    }
    if (lid == 0u && j < p.j) { out[p.out_off + j] = part[0] + select(0.0, out[p.out_off + j], p.acc != 0u); }
}
