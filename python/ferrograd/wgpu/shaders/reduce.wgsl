// Reduction of a strided array over any set of axes, generated per op and dtypes by reduce.py.
// One workgroup of 64 threads per output element (grid folded into x, y): each thread walks the
// reduced elements r = lid, lid + 64, ... (decomposed over the reduced dims' shape/strides),
// then a tree in workgroup memory combines the 64 partials. Arg ops carry the index of the best
// element (its flat index within the reduced dims) and keep the first one on ties, like numpy.
// Long reductions are split: workgroup g reduces chunk g % nchunks of output g / nchunks into
// partial g, and a second pass reduces the partials (reduce.py).
// reduce.py fills in the bindings, the step function, the store and the ACC / INIT tokens.
struct Params {
    n_out: u32, r: u32, nkeep: u32, nred: u32,
    offset: i32, chunk: u32, nchunks: u32, _p0: u32,
    keep_shape: array<vec4<u32>, 2>,
    keep_strides: array<vec4<i32>, 2>,
    red_shape: array<vec4<u32>, 2>,
    red_strides: array<vec4<i32>, 2>,
}

//BINDINGS

const WG: u32 = 64u;

// numpy's max / min propagate NaN: fmaxn / fminn of shaders/float_bits.wgsl, prefixed by reduce.py.
var<workgroup> sv: array<ACC, 64>;
var<workgroup> si: array<u32, 64>;

//COMBINE

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * ng.x;
    // Workgroup-uniform exit: every thread of the group sees the same g.
    if (g >= p.n_out * p.nchunks) { return; }
    let o = g / p.nchunks;
    let r0 = (g % p.nchunks) * p.chunk;
    let r1 = min(r0 + p.chunk, p.r);
    var base = p.offset;
    var rem = o;
    for (var d = i32(p.nkeep) - 1; d >= 0; d--) {
        let s = p.keep_shape[d / 4][d % 4];
        base += i32(rem % s) * p.keep_strides[d / 4][d % 4];
        rem = rem / s;
    }
    var acc: ACC = INIT;
    var best: u32 = 0xffffffffu;
    for (var r = r0 + lid; r < r1; r += WG) {
        var pos = base;
        var q = r;
        for (var d = i32(p.nred) - 1; d >= 0; d--) {
            let s = p.red_shape[d / 4][d % 4];
            pos += i32(q % s) * p.red_strides[d / 4][d % 4];
            q = q / s;
        }
        let v = LOAD(IN[pos]);
        step(&acc, &best, v, r);
    }
    sv[lid] = acc;
    si[lid] = best;
    workgroupBarrier();
    for (var w = WG / 2u; w > 0u; w = w / 2u) {
        if (lid < w) {
            var a = sv[lid];
            var ai = si[lid];
            step(&a, &ai, sv[lid + w], si[lid + w]);
            sv[lid] = a;
            si[lid] = ai;
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
//STORE
    }
}
