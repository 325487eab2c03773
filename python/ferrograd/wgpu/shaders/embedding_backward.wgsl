// dweight[ids[i], c] += gy[i, c], for a zero-filled contiguous (rows, dim) dweight: one thread
// per gradient element. WGSL has no float atomics, so each add is a compare-exchange loop on the
// f32's bit pattern in an atomic<u32> (repeated ids meet at one address). The order of the adds
// is unspecified: sums agree with a sequential one to float32 rounding. Ids equal to padding_idx
// (pad, -1 for none) and ids outside [0, rows) add nothing. Row row0 of dweight is at d_off and
// only ids in [row0, row1) add here (a table larger than one binding runs in row blocks; ids and
// gy larger than one binding in chunks of whole ids).
struct Params {
    total: u32, dim: u32, rows: u32, ids_off: u32,
    g_off: u32, pad: i32, row0: u32, row1: u32,
    d_off: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> dweight: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * ng.x) * 256u + lid;
    if (e >= p.total) { return; }
    let i = e / p.dim;
    let c = e - i * p.dim;
    let id = ids[p.ids_off + i];
    if (id < 0 || u32(id) >= p.rows || id == p.pad || u32(id) < p.row0 || u32(id) >= p.row1) { return; }
    let v = gy[p.g_off + e];
    let at = p.d_off + (u32(id) - p.row0) * p.dim + c;
    var old = atomicLoad(&dweight[at]);
    loop {
        let r = atomicCompareExchangeWeak(&dweight[at], old, bitcast<u32>(bitcast<f32>(old) + v));
        if (r.exchanged) { break; }
        old = r.old_value;
    }
}
