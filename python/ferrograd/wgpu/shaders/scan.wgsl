// Inclusive scan (cumsum / cumprod) along rows (rows.wgsl), generated per op and dtypes by
// scan.py, which fills in the bindings, LOAD (an input element as the accumulator type ACC),
// COMB and IDENT. A row is cut into blocks of p.block elements, one workgroup per (row, block),
// and a block is scanned in tiles of TILE = WG * ITEMS elements: the tile is loaded coalesced
// into workgroup memory, each thread scans its ITEMS consecutive values, a Hillis-Steele scan
// over the WG thread totals gives each thread its prefix, and each tile's total carries into
// the next. mode 0 writes the scan, starting block b from CARRY[carry_off + row * nblocks + b - 1]
// when the row has several blocks (the scanned block totals); mode 1 writes only each block's
// total to OUT[out_off + row * nblocks + b] (the first pass of a row longer than one block).
const WG: u32 = 256u;
const ITEMS: u32 = 8u;
const TILE: u32 = 2048u;

var<workgroup> tile: array<ACC, 2048>;
var<workgroup> totals: array<ACC, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * ng.x;
    if (g >= p.nrows * p.nblocks) { return; }  // workgroup-uniform
    let row = g / p.nblocks;
    let blk = g % p.nblocks;
    let start = blk * p.block;
    let end = min(start + p.block, p.n);
    let base = row_offsets(row);
    var carry: ACC = IDENT;
    if (p.mode == 0u && blk > 0u) {
        carry = CARRY[p.aux + row * p.nblocks + blk - 1u];
    }
    for (var t0 = start; t0 < end; t0 += TILE) {
        for (var j = 0u; j < ITEMS; j++) {
            let k = t0 + lid + j * WG;
            var v: ACC = IDENT;
            if (k < end) { v = LOAD(base.x + i32(k) * p.in_step); }
            tile[lid + j * WG] = v;
        }
        workgroupBarrier();
        var acc: ACC = IDENT;
        for (var j = 0u; j < ITEMS; j++) {
            acc = COMB(acc, tile[lid * ITEMS + j]);
            tile[lid * ITEMS + j] = acc;
        }
        totals[lid] = acc;
        workgroupBarrier();
        for (var off = 1u; off < WG; off = off << 1u) {
            var v = totals[lid];
            if (lid >= off) { v = COMB(totals[lid - off], v); }
            workgroupBarrier();
            totals[lid] = v;
            workgroupBarrier();
        }
        var prefix = carry;
        if (lid > 0u) { prefix = COMB(carry, totals[lid - 1u]); }
        carry = COMB(carry, totals[WG - 1u]);
        if (p.mode == 0u) {
            for (var j = 0u; j < ITEMS; j++) {
                tile[lid * ITEMS + j] = COMB(prefix, tile[lid * ITEMS + j]);
            }
            workgroupBarrier();
            for (var j = 0u; j < ITEMS; j++) {
                let k = t0 + lid + j * WG;
                if (k < end) { OUT[base.y + i32(k) * p.out_step] = tile[lid + j * WG]; }
            }
        }
        workgroupBarrier();
    }
    if (p.mode == 1u && lid == 0u) {
        OUT[p.out_off + i32(row * p.nblocks + blk)] = carry;
    }
}
