// Row layout shared by the kernels that work along one axis (scan.py, sort.py; see _rows.py).
// Row r of `nrows` is found by decomposing r over the other dims' (collapsed) shape: its
// element k lies at in_off + sum_d idx_d * in_strides[d] + k * in_step in IN, and likewise in
// the output. `block`, `nblocks`, `mode`, `aux` mean what each kernel says.
struct Params {
    nrows: u32, n: u32, ndim: u32, mode: u32,
    in_off: i32, out_off: i32, in_step: i32, out_step: i32,
    block: u32, nblocks: u32, aux: u32, aux2: u32,
    shape: array<vec4<u32>, 2>,
    in_strides: array<vec4<i32>, 2>,
    out_strides: array<vec4<i32>, 2>,
}

// (input, output) element offsets of the start of row r.
fn row_offsets(r: u32) -> vec2<i32> {
    var rem = r;
    var pos = vec2<i32>(p.in_off, p.out_off);
    for (var d = i32(p.ndim) - 1; d >= 0; d--) {
        let s = p.shape[d / 4][d % 4];
        let i = i32(rem % s);
        pos += i * vec2<i32>(p.in_strides[d / 4][d % 4], p.out_strides[d / 4][d % 4]);
        rem = rem / s;
    }
    return pos;
}
