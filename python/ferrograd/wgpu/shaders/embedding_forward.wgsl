// out[i, c] = weight[ids[i], c]: one thread per output element, out contiguous (n_ids, dim),
// weight any element strides, ids contiguous int32 from their offset. An id outside
// [0, rows) gives a zero row (the host validates ids it can see; device ids are never read
// back, so the kernel must not index out of bounds). A table larger than one binding is bound in
// row blocks [row0, row1), one launch each: a launch writes only the ids in its block (and the
// first block the zero rows of out-of-range ids). Ids and out larger than one binding are bound
// in chunks of whole ids (total = ids in the chunk * dim, out from o_off).
struct Params {
    total: u32, dim: u32, rows: u32, ids_off: u32,
    w_off: u32, w_rs: u32, w_cs: u32, row0: u32,
    row1: u32, o_off: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> weight: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * ng.x) * 256u + lid;
    if (e >= p.total) { return; }
    let i = e / p.dim;
    let c = e - i * p.dim;
    let id = ids[p.ids_off + i];
    var v = 0.0;
    if (id >= 0 && u32(id) < p.rows) {
        if (u32(id) < p.row0 || u32(id) >= p.row1) { return; }
        v = weight[p.w_off + (u32(id) - p.row0) * p.w_rs + c * p.w_cs];
    } else if (p.row0 != 0u) {
        return;
    }
    out[p.o_off + e] = v;
}
