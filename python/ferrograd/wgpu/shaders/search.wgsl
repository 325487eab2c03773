// searchsorted: for each value, the number of elements of its sorted sequence that come before
// it (side left: key < value; right: key <= value), by binary search over sort.py's KEY order
// (NaN last, -0.0 == 0.0, as numpy). Values are rows of p.k (contiguous); the sequence is one
// row shared by all (p.batched = 0) or one row of p.m per value row.
struct Params {
    nrows: u32, m: u32, k: u32, right: u32,
    seq_off: i32, v_off: i32, out_off: i32, batched: u32,
}

//BINDINGS

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * ng.x) * 256u + lid;
    if (e >= p.nrows * p.k) { return; }
    let key = KEY(V[p.v_off + i32(e)]);
    let s0 = p.seq_off + i32(select(0u, (e / p.k) * p.m, p.batched == 1u));
    var lo = 0u;
    var hi = p.m;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        let km = KEY(SEQ[s0 + i32(mid)]);
        if (km < key || (p.right == 1u && km == key)) { lo = mid + 1u; } else { hi = mid; }
    }
    OUT[p.out_off + i32(e)] = i32(lo);
}
