// Inclusive scan of short rows (rows.wgsl): one thread per row, in order (scan.py uses it for
// rows of a few dozen elements, where a workgroup per row would mostly idle).
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = (wid.x + wid.y * ng.x) * 64u + lid;
    if (row >= p.nrows) { return; }
    let base = row_offsets(row);
    var acc: ACC = IDENT;
    for (var k = 0u; k < p.n; k++) {
        acc = COMB(acc, LOAD(base.x + i32(k) * p.in_step));
        OUT[base.y + i32(k) * p.out_step] = acc;
    }
}
