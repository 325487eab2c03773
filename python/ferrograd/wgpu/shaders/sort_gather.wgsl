// The last step of the multi-pass sort: the sorted indices (rows of p.n, contiguous) pick the
// values from the input row (rows.wgsl) into the values output; both outputs are written
// through the output layout (the indices from element p.aux2 of their binding).
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * ng.x) * 256u + lid;
    if (e >= p.nrows * p.n) { return; }
    let base = row_offsets(e / p.n);
    let k = e % p.n;
    let i = II[e];
    let o = base.y + i32(k) * p.out_step;
    VALS[o] = IN[base.x + i32(i) * p.in_step];
    IDX[o - p.out_off + i32(p.aux2)] = i32(i);
}
