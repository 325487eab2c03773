// Stream compaction behind nonzero and unique (select.py): for each i < n whose FLAG is set,
// DST[pos - 1] = SRC[i] (or the index p.base + i itself, when select.py leaves SRC out), where
// pos = POS[i] is the inclusive cumsum of the flags. Only targets in [dst_lo, dst_lo + dst_len)
// are written: a DST larger than one binding is bound one window at a time.
struct Params {
    n: u32, base: u32, dst_lo: u32, dst_len: u32,
    f_off: i32, pos_off: i32, src_off: i32, dst_off: i32,
}

//BINDINGS

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    if (FLAG[p.f_off + i32(i)] == 0u) { return; }
    let t = u32(POS[p.pos_off + i32(i)] - 1);
    if (t - p.dst_lo >= p.dst_len) { return; }
    DST[p.dst_off + i32(t - p.dst_lo)] = VALUE;
}
