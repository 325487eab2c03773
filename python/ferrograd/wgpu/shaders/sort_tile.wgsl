// Bitonic sort of one tile of up to P elements of a row (rows.wgsl) in workgroup memory, one
// workgroup of WG threads per (row, tile) (tiles of p.block elements, p.nblocks per row).
// Padding (key, index) = (0xffffffff, 0xffffffff) sorts after every real element. The store
// writes either the final values and indices (a row of one tile) or the sorted (key, index)
// runs that sort_merge.wgsl merges.
// Descending sorts complement the key (p.aux = 1): equal values keep their order either way.
fn sort_key(v: VAL) -> u32 {
    let k = KEY(v);
    return select(k, ~k, p.aux == 1u);
}

var<workgroup> sk: array<u32, P>;
var<workgroup> si: array<u32, P>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * ng.x;
    if (g >= p.nrows * p.nblocks) { return; }  // workgroup-uniform
    let row = g / p.nblocks;
    let start = (g % p.nblocks) * p.block;
    let len = min(p.block, p.n - start);
    let base = row_offsets(row);
    for (var j = lid; j < P; j += WG) {
        if (j < len) {
            sk[j] = sort_key(IN[base.x + i32(start + j) * p.in_step]);
            si[j] = start + j;
        } else {
            sk[j] = 0xffffffffu;
            si[j] = 0xffffffffu;
        }
    }
    workgroupBarrier();
    for (var size = 2u; size <= P; size = size << 1u) {
        for (var stride = size >> 1u; stride > 0u; stride = stride >> 1u) {
            for (var t = lid; t < P / 2u; t += WG) {
                let i = 2u * t - (t & (stride - 1u));
                let j = i + stride;
                let ka = sk[i];
                let ia = si[i];
                let kb = sk[j];
                let ib = si[j];
                // Ascending where bit `size` of i is clear: the last merge (size == P) sorts all.
                if (before(kb, ib, ka, ia) == ((i & size) == 0u)) {
                    sk[i] = kb;
                    si[i] = ib;
                    sk[j] = ka;
                    si[j] = ia;
                }
            }
            workgroupBarrier();
        }
    }
    for (var j = lid; j < len; j += WG) {
//STORE
    }
}
