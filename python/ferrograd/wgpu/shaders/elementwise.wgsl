// Strided n-ary elementwise op with broadcasting, generated per op and dtypes by elementwise.py:
// out[pos0] = EXPR(in1[pos1], in2[pos2], in3[pos3]), where pos_k = offset_k + sum_d idx_d *
// stride_k[d] over the (collapsed) output shape; stride 0 broadcasts. Every storage binding is
// read_write so one buffer may be bound as input and output of the same dispatch (in-place ops).
// Scalar operands come in `scalars` as bit patterns. The bindings, loads and store lines are
// filled in by elementwise.py at the marker comments below.
struct Params {
    n: u32, ndim: u32, _p0: u32, _p1: u32,
    shape: array<vec4<u32>, 2>,
    offs: vec4<i32>,                 // out, in1, in2, in3
    strides: array<vec4<i32>, 8>,    // per dim: (out, in1, in2, in3)
    scalars: vec4<u32>,
}

//BINDINGS

const F32_INF: f32 = 3.4028234e38;

fn fpow(a: f32, b: f32) -> f32 {
    // WGSL pow is undefined for a < 0; numpy gives a real result for integral exponents.
    if (b == 0.0) { return 1.0; }
    if (b == 1.0) { return a; }
    if (b == 2.0) { return a * a; }
    if (b == 0.5) { return sqrt(a); }
    if (a == 0.0) { return select(bitcast<f32>(0x7f800000u), 0.0, b > 0.0); }
    let r = exp2(b * log2(abs(a)));
    if (a > 0.0) { return r; }
    if (floor(b) != b) { return bitcast<f32>(0x7fc00000u); }
    let odd = (abs(b) % 2.0) == 1.0;
    return select(r, -r, odd);
}

fn ipow(a: i32, b: i32) -> i32 {
    if (b < 0) { return select(0, 1, a == 1); }
    var r = 1;
    var base = a;
    var e = u32(b);
    while (e > 0u) {
        if ((e & 1u) == 1u) { r *= base; }
        base *= base;
        e >>= 1u;
    }
    return r;
}

fn ifloordiv(a: i32, b: i32) -> i32 {
    if (b == 0) { return 0; }
    let q = a / b;
    return select(q, q - 1, (a % b != 0) && ((a < 0) != (b < 0)));
}

fn imod(a: i32, b: i32) -> i32 {
    if (b == 0) { return 0; }
    let r = a % b;
    return select(r, r + b, (r != 0) && ((r < 0) != (b < 0)));
}

fn flog1p(x: f32) -> f32 {
    // Kahan: exact enough near 0, where log(1 + x) loses x's low bits.
    let u = 1.0 + x;
    if (u == 1.0) { return x; }
    return log(u) * x / (u - 1.0);
}

fn fexpm1(x: f32) -> f32 {
    let u = exp(x);
    if (u == 1.0) { return x; }
    let um1 = u - 1.0;
    if (um1 == -1.0) { return -1.0; }
    return um1 * x / log(u);
}

fn ferf(x: f32) -> f32 {
    // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), odd extension.
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
    return select(-y, y, x >= 0.0);
}

fn ftanh(x: f32) -> f32 {
    // Clamped so exp-based implementations never form inf / inf; clamp would turn NaN into -20.
    return select(tanh(clamp(x, -20.0, 20.0)), x, fisnan(x));
}

// numpy's maximum / minimum propagate NaN; WGSL's max / min may return the other operand.
const F32_NAN_BITS: u32 = 0x7fc00000u;
fn fmaxn(a: f32, b: f32) -> f32 { return select(max(a, b), bitcast<f32>(F32_NAN_BITS), fisnan(a) || fisnan(b)); }
fn fminn(a: f32, b: f32) -> f32 { return select(min(a, b), bitcast<f32>(F32_NAN_BITS), fisnan(a) || fisnan(b)); }

// By bit pattern: compilers may fold float self-comparisons (x != x) away.
fn fisinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn fisnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    var rem = i;
    var pos = p.offs;
    for (var d = i32(p.ndim) - 1; d >= 0; d--) {
        let s = p.shape[d / 4][d % 4];
        pos += i32(rem % s) * p.strides[d];
        rem = rem / s;
    }
//LOADS
//STORE
}
