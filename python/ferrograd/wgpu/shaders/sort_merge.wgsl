// One merge pass of the multi-pass sort: rows of p.n (key, index) pairs, contiguous, hold sorted
// runs of p.block elements; adjacent runs A, B merge into runs of 2 * p.block. One thread per
// element: its place in the merged run is its place in its own run plus the number of elements
// of the other run that come before it (a binary search; pairs are distinct, so this is exact).
@group(0) @binding(0) var<storage, read_write> KI: array<u32>;
@group(0) @binding(1) var<storage, read_write> II: array<u32>;
@group(0) @binding(2) var<storage, read_write> KO: array<u32>;
@group(0) @binding(3) var<storage, read_write> IO: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * ng.x) * 256u + lid;
    if (e >= p.nrows * p.n) { return; }
    let row0 = (e / p.n) * p.n;
    let k = e % p.n;
    let w = p.block;
    let s = k / (2u * w) * (2u * w);
    let a_end = min(s + w, p.n);
    let b_end = min(s + 2u * w, p.n);
    let key = KI[e];
    let idx = II[e];
    var lo: u32;
    var hi: u32;
    var mine: u32;
    if (k < a_end) { lo = a_end; hi = b_end; mine = k - s; } else { lo = s; hi = a_end; mine = k - a_end; }
    let first = lo;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (before(KI[row0 + mid], II[row0 + mid], key, idx)) { lo = mid + 1u; } else { hi = mid; }
    }
    let dest = row0 + s + mine + (lo - first);
    KO[dest] = key;
    IO[dest] = idx;
}
