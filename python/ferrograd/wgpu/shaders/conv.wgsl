// 2-d convolution as implicit GEMM: the im2col matrix is never stored; each tile load computes
// which input pixel (or output-gradient pixel) a (k, column) entry is, or zero in the padding.
// Binding slots are shared between entry points (each binds only what it uses: 0.. in order,
// then its params). Per group g (workgroup z), with K = C_in/groups * kh * kw:
//   fwd:     y[n, o, p]        = sum_k W[o, k] * cols[k, (n, p)]            (Og x N*P, inner K)
//   bdata:   gx[n, c, iy, ix]  = sum_(o,ki,kj) W[o, c, ki, kj] * gy[n, o, oy, ox]
//                                  where iy = oy*sh - ph + ki*dh            (Cg x N*H*W, inner Og*kh*kw)
//   bweight: gW[o, k]          = sum_(n,p) gy[n, o, p] * cols[k, (n, p)]  (Og x K, inner N*P)
// bweight's inner dim is long and its output small, so it is split into `splits` chunks of
// col0 elements (split s = workgroup z / groups) whose partial products `sum_splits` adds up.
// Every output element is written by exactly one thread (no atomics), so results are
// deterministic. Tiles as in matmul.wgsl: 64x64 outputs per workgroup of 16x16 threads, a 4x4
// register block each, the inner dim in steps of 16 through workgroup memory. All inputs are
// read through their element strides (NCHW views need no copy); outputs are contiguous.
struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, kh: u32, kw: u32, oh: u32,
    ow: u32, sh: u32, sw: u32, ph: u32,
    pw: u32, dh: u32, dw: u32, groups: u32,
    x_off: u32, xs0: u32, xs1: u32, xs2: u32,      // input strides (NCHW, elements)
    xs3: u32, w_off: u32, ws0: u32, ws1: u32,      // weight strides
    ws2: u32, ws3: u32, g_off: u32, gs0: u32,      // grad_output strides
    gs1: u32, gs2: u32, gs3: u32, col0: u32,       // fwd / bdata: first column of this launch;
                                                   // bweight: inner elements per split
    has_bias: u32, b_off: u32, b_s: u32, splits: u32,  // splits: bweight's inner-dim chunks
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(0) var<storage, read> GYa: array<f32>;   // bdata / bias_grad: grad_output first
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(1) var<storage, read> GYb: array<f32>;   // bweight: grad_output second
@group(0) @binding(1) var<storage, read_write> GB: array<f32>;
@group(0) @binding(2) var<storage, read> Bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT2: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> p3: Params;
@group(0) @binding(4) var<uniform> p4: Params;
@group(0) @binding(2) var<uniform> p2: Params;

const TILE: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> As: array<vec4<f32>, 256>;  // [BK][TILE / 4]: rows, k-major
var<workgroup> Bs: array<vec4<f32>, 256>;  // [BK][TILE / 4]: columns
var<workgroup> red: array<f32, 256>;
// bdata only: which staged gy entries exist (1.0) and whether a staged weight was NaN or ±inf.
var<workgroup> Bm: array<vec4<f32>, 256>;
var<workgroup> wbad: atomic<u32>;

fn mma(acc: ptr<function, array<vec4<f32>, 4>>, lid: vec3<u32>) {
    for (var k = 0u; k < BK; k++) {
        let a = As[k * 16u + lid.y];
        let b = Bs[k * 16u + lid.x];
        (*acc)[0] = fma(vec4<f32>(a[0]), b, (*acc)[0]);
        (*acc)[1] = fma(vec4<f32>(a[1]), b, (*acc)[1]);
        (*acc)[2] = fma(vec4<f32>(a[2]), b, (*acc)[2]);
        (*acc)[3] = fma(vec4<f32>(a[3]), b, (*acc)[3]);
    }
}

// mma where only the staged entries that exist contribute: a NaN or infinite weight times the
// 0 standing for a tap no gy element reaches would be NaN, where torch's col2im never forms the
// product (a NaN weight reaches only the pixels its tap writes).
fn mma_masked(acc: ptr<function, array<vec4<f32>, 4>>, lid: vec3<u32>) {
    let zero = vec4<f32>(0.0);
    for (var k = 0u; k < BK; k++) {
        let a = As[k * 16u + lid.y];
        let b = Bs[k * 16u + lid.x];
        let m = Bm[k * 16u + lid.x] > vec4<f32>(0.5);
        (*acc)[0] += select(zero, vec4<f32>(a[0]) * b, m);
        (*acc)[1] += select(zero, vec4<f32>(a[1]) * b, m);
        (*acc)[2] += select(zero, vec4<f32>(a[2]) * b, m);
        (*acc)[3] += select(zero, vec4<f32>(a[3]) * b, m);
    }
}

fn inside(v: i32, n: u32) -> bool {
    return v >= 0 && v < i32(n);
}

@compute @workgroup_size(16, 16)
fn fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = p4;
    let g = wid.z;
    let cg = p.c_in / p.groups;
    let og = p.c_out / p.groups;
    let khw = p.kh * p.kw;
    let kdim = cg * khw;
    let npix = p.oh * p.ow;
    let ncols = p.n * npix;
    let row0 = wid.y * TILE;
    let col0 = p.col0 + wid.x * TILE;
    let tid = lid.y * 16u + lid.x;
    let kk = tid / 16u;
    let q = tid % 16u;
    // This thread's 4 staged columns (n, oy, ox) do not change along K: decompose them once.
    var xbase: array<u32, 4>;
    var iy0: array<i32, 4>;
    var ix0: array<i32, 4>;
    var cok: array<bool, 4>;
    for (var j = 0u; j < 4u; j++) {
        let col = col0 + q * 4u + j;
        cok[j] = col < ncols;
        let n = col / max(npix, 1u);
        let pix = col % max(npix, 1u);
        xbase[j] = p.x_off + n * p.xs0 + g * cg * p.xs1;
        iy0[j] = i32((pix / p.ow) * p.sh) - i32(p.ph);
        ix0[j] = i32((pix % p.ow) * p.sw) - i32(p.pw);
    }
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < kdim; k0 += BK) {
        let gk = k0 + kk;
        var av = vec4<f32>(0.0);
        var bv = vec4<f32>(0.0);
        if (gk < kdim) {
            let c = gk / khw;
            let ki = (gk % khw) / p.kw;
            let kj = gk % p.kw;
            let dy = i32(ki * p.dh);
            let dx = i32(kj * p.dw);
            for (var j = 0u; j < 4u; j++) {
                let o = row0 + q * 4u + j;
                if (o < og) {
                    av[j] = W[p.w_off + (g * og + o) * p.ws0 + c * p.ws1 + ki * p.ws2 + kj * p.ws3];
                }
                let iy = iy0[j] + dy;
                let ix = ix0[j] + dx;
                if (cok[j] && inside(iy, p.h) && inside(ix, p.w)) {
                    bv[j] = X[xbase[j] + c * p.xs1 + u32(iy) * p.xs2 + u32(ix) * p.xs3];
                }
            }
        }
        As[kk * 16u + q] = av;
        Bs[kk * 16u + q] = bv;
        workgroupBarrier();
        mma(&acc, lid);
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let o = row0 + lid.y * 4u + i;
        if (o >= og) { break; }
        let oc = g * og + o;
        var b = 0.0;
        if (p.has_bias != 0u) { b = Bias[p.b_off + oc * p.b_s]; }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x * 4u + j;
            if (col < ncols) {
                let n = col / npix;
                Y[(n * p.c_out + oc) * npix + col % npix] = acc[i][j] + b;
            }
        }
    }
}

@compute @workgroup_size(16, 16)
fn bdata(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = p3;
    let g = wid.z;
    let cg = p.c_in / p.groups;
    let og = p.c_out / p.groups;
    let khw = p.kh * p.kw;
    let kdim = og * khw;
    let npix = p.h * p.w;
    let ncols = p.n * npix;
    let row0 = wid.y * TILE;
    let col0 = p.col0 + wid.x * TILE;
    let tid = lid.y * 16u + lid.x;
    let kk = tid / 16u;
    let q = tid % 16u;
    // Staged columns are input pixels (n, iy, ix); oy*sh = iy + ph - ki*dh must divide evenly.
    var gbase: array<u32, 4>;
    var ty0: array<i32, 4>;
    var tx0: array<i32, 4>;
    var cok: array<bool, 4>;
    for (var j = 0u; j < 4u; j++) {
        let col = col0 + q * 4u + j;
        cok[j] = col < ncols;
        let n = col / max(npix, 1u);
        let pix = col % max(npix, 1u);
        gbase[j] = p.g_off + n * p.gs0 + g * og * p.gs1;
        ty0[j] = i32(pix / p.w) + i32(p.ph);
        tx0[j] = i32(pix % p.w) + i32(p.pw);
    }
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < kdim; k0 += BK) {
        let gk = k0 + kk;
        var av = vec4<f32>(0.0);
        var bv = vec4<f32>(0.0);
        var bm = vec4<f32>(0.0);
        if (gk < kdim) {
            let o = gk / khw;
            let ki = (gk % khw) / p.kw;
            let kj = gk % p.kw;
            let dy = i32(ki * p.dh);
            let dx = i32(kj * p.dw);
            for (var j = 0u; j < 4u; j++) {
                let c = row0 + q * 4u + j;
                if (c < cg) {
                    av[j] = W[p.w_off + (g * og + o) * p.ws0 + c * p.ws1 + ki * p.ws2 + kj * p.ws3];
                    if ((bitcast<u32>(av[j]) & 0x7f800000u) == 0x7f800000u) { atomicOr(&wbad, 1u); }
                }
                let ty = ty0[j] - dy;
                let tx = tx0[j] - dx;
                if (cok[j] && ty >= 0 && tx >= 0 && u32(ty) % p.sh == 0u && u32(tx) % p.sw == 0u) {
                    let oy = u32(ty) / p.sh;
                    let ox = u32(tx) / p.sw;
                    if (oy < p.oh && ox < p.ow) {
                        bv[j] = GYa[gbase[j] + o * p.gs1 + oy * p.gs2 + ox * p.gs3];
                        bm[j] = 1.0;
                    }
                }
            }
        }
        As[kk * 16u + q] = av;
        Bs[kk * 16u + q] = bv;
        Bm[kk * 16u + q] = bm;
        workgroupBarrier();
        // sticky: once a tile held a non-finite weight, the masked (slower) product from then on
        if (atomicLoad(&wbad) != 0u) { mma_masked(&acc, lid); } else { mma(&acc, lid); }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let c = row0 + lid.y * 4u + i;
        if (c >= cg) { break; }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x * 4u + j;
            if (col < ncols) {
                let n = col / npix;
                OUT2[(n * p.c_in + g * cg + c) * npix + col % npix] = acc[i][j];
            }
        }
    }
}

@compute @workgroup_size(16, 16)
fn bweight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = p3;
    let g = wid.z % p.groups;
    let split = wid.z / p.groups;
    let cg = p.c_in / p.groups;
    let og = p.c_out / p.groups;
    let khw = p.kh * p.kw;
    let kdim = cg * khw;
    let npix = p.oh * p.ow;
    let inner = min(p.n * npix, (split + 1u) * p.col0);
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let tid = lid.y * 16u + lid.x;
    let kk = tid / 16u;
    let q = tid % 16u;
    // Staged columns are weight taps k = (c, ki, kj): fixed along the inner (n, p) dim.
    var xcb: array<u32, 4>;
    var dy: array<i32, 4>;
    var dx: array<i32, 4>;
    var cok: array<bool, 4>;
    for (var j = 0u; j < 4u; j++) {
        let k = col0 + q * 4u + j;
        cok[j] = k < kdim;
        let c = k / khw;
        xcb[j] = (g * cg + c) * p.xs1;
        dy[j] = i32(((k % khw) / p.kw) * p.dh) - i32(p.ph);
        dx[j] = i32((k % p.kw) * p.dw) - i32(p.pw);
    }
    var acc: array<vec4<f32>, 4>;
    for (var k0 = split * p.col0; k0 < inner; k0 += BK) {
        let gq = k0 + kk;
        var av = vec4<f32>(0.0);
        var bv = vec4<f32>(0.0);
        if (gq < inner) {
            let n = gq / npix;
            let pix = gq % npix;
            let oy = pix / p.ow;
            let ox = pix % p.ow;
            let gb = p.g_off + n * p.gs0 + g * og * p.gs1 + oy * p.gs2 + ox * p.gs3;
            let xb = p.x_off + n * p.xs0;
            let iy0 = i32(oy * p.sh);
            let ix0 = i32(ox * p.sw);
            for (var j = 0u; j < 4u; j++) {
                let o = row0 + q * 4u + j;
                if (o < og) {
                    av[j] = GYb[gb + o * p.gs1];
                }
                let iy = iy0 + dy[j];
                let ix = ix0 + dx[j];
                if (cok[j] && inside(iy, p.h) && inside(ix, p.w)) {
                    bv[j] = X[xb + xcb[j] + u32(iy) * p.xs2 + u32(ix) * p.xs3];
                }
            }
        }
        As[kk * 16u + q] = av;
        Bs[kk * 16u + q] = bv;
        workgroupBarrier();
        mma(&acc, lid);
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let o = row0 + lid.y * 4u + i;
        if (o >= og) { break; }
        for (var j = 0u; j < 4u; j++) {
            let k = col0 + lid.x * 4u + j;
            if (k < kdim) {
                OUT2[(split * p.c_out + g * og + o) * kdim + k] = acc[i][j];
            }
        }
    }
}

// gb[o] = sum over (n, oy, ox) of gy[n, o, oy, ox]: one workgroup per channel, a tree sum.
@compute @workgroup_size(256)
fn bias_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let p = p2;
    let o = wid.x + wid.y * ng.x;
    if (o >= p.c_out) { return; }  // uniform per workgroup: the barriers below stay uniform
    let npix = p.oh * p.ow;
    var s = 0.0;
    for (var i = lid; i < p.n * npix; i += 256u) {
        let n = i / npix;
        let pix = i % npix;
        s += GYa[p.g_off + n * p.gs0 + o * p.gs1 + (pix / p.ow) * p.gs2 + (pix % p.ow) * p.gs3];
    }
    red[lid] = s;
    workgroupBarrier();
    for (var step = 128u; step > 0u; step >>= 1u) {
        if (lid < step) { red[lid] += red[lid + step]; }
        workgroupBarrier();
    }
    if (lid == 0u) { GB[o] = red[0]; }
}

// gW[i] = sum over splits s of partial[s, i], in split order (deterministic).
@compute @workgroup_size(256)
fn sum_splits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let p = p2;
    let total = p.c_out * (p.c_in / p.groups) * p.kh * p.kw;
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= total) { return; }
    var s = 0.0;
    for (var k = 0u; k < p.splits; k++) { s += X[k * total + i]; }
    GB[i] = s;
}
