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
    // C99 pow (numpy, torch) on the special values first: WGSL pow is undefined for a < 0 and
    // says nothing of NaN / inf; numpy gives a real result for integral exponents.
    if (b == 0.0 || a == 1.0) { return 1.0; }  // even for a NaN other operand
    if (fisnan(a) || fisnan(b)) { return bitcast<f32>(F32_NAN_BITS); }
    let odd = (abs(b) % 2.0) == 1.0;  // (false for infinite b)
    if (fisinf(b)) {
        if (abs(a) == 1.0) { return 1.0; }
        return select(0.0, bitcast<f32>(0x7f800000u), (abs(a) > 1.0) == (b > 0.0));
    }
    if (fisinf(a) || a == 0.0) {
        // |a|^b is inf or 0; an odd integral b keeps a's sign
        let big = (b > 0.0) == fisinf(a);
        let m = select(0.0, bitcast<f32>(0x7f800000u), big);
        return select(m, -m, odd && (bitcast<u32>(a) & 0x80000000u) != 0u);
    }
    if (b == 1.0) { return a; }
    if (b == 2.0) { return a * a; }
    if (b == 3.0) { return a * a * a; }
    if (b == -1.0) { return 1.0 / a; }
    if (b == 0.5) { return sqrt(a); }
    let r = fexp(b * flog(abs(a)));
    if (a > 0.0) { return r; }
    if (floor(b) != b) { return bitcast<f32>(F32_NAN_BITS); }
    return select(r, -r, odd);
}

// A number as the exponent: numpy (and torch.pow with a number) take x ** 0.5 as sqrt(x), so
// (-inf) ** 0.5 is NaN and (-0) ** 0.5 is -0 there, where C pow gives inf and 0.
fn fpow_s(a: f32, b: f32) -> f32 {
    if (b == 0.5) { return sqrt(a); }
    return fpow(a, b);
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

// The truncated remainder is formed as a - (a / b) * b: llvmpipe's i32 `%` is wrong for
// negative operands (-6 % 3 gave 1).
fn irem(a: i32, b: i32) -> i32 {
    if (b == 0) { return 0; }
    return a - (a / b) * b;
}

fn ifloordiv(a: i32, b: i32) -> i32 {
    if (b == 0) { return 0; }
    let q = a / b;
    return select(q, q - 1, (irem(a, b) != 0) && ((a < 0) != (b < 0)));
}

fn imod(a: i32, b: i32) -> i32 {
    let r = irem(a, b);
    return select(r, r + b, (r != 0) && ((r < 0) != (b < 0)));
}

fn fexp(x: f32) -> f32 {
    // exp to ~1 ulp: Vulkan allows the builtin 3 + 2|x| ulp. x = k ln2 + r with |r| <= ln2 / 2
    // (ln2 split in a high part exact in float32 and a low part), e^r by its Taylor series.
    if (fisnan(x)) { return x; }
    if (x > 88.72284) { return bitcast<f32>(0x7f800000u); }
    if (x < -103.97208) { return 0.0; }
    let k = round(x * 1.44269504);
    let r = (x - k * 0.693145752) - k * 1.42860677e-6;
    let p = 1.0 + r * (1.0 + r / 2.0 * (1.0 + r / 3.0 * (1.0 + r / 4.0 * (1.0 + r / 5.0 * (1.0 + r / 6.0
            * (1.0 + r / 7.0 * (1.0 + r / 8.0)))))));
    return ldexp(p, i32(k));
}

fn fatanh_small(s: f32) -> f32 {
    // atanh for |s| < 0.18 by its odd series; the next term is below 1e-9 relative.
    let s2 = s * s;
    return s * (1.0 + s2 * (0.33333333 + s2 * (0.2 + s2 * (0.14285714 + s2 * (0.11111111 + s2 * 0.09090909)))));
}

fn flog(x: f32) -> f32 {
    // log with a small relative error near 1 as well: Vulkan lets the builtin be off by 2^-21
    // absolute on [0.5, 2], a large relative error close to 1 (log(1 - p) in losses). x = m 2^e
    // with m in [0.707, 1.414); log m = 2 atanh((m - 1) / (m + 1)).
    if (x == 0.0) { return bitcast<f32>(0xff800000u); }
    if (fisnan(x) || x < 0.0) { return bitcast<f32>(0x7fc00000u); }
    if (fisinf(x)) { return x; }
    let fr = frexp(x);
    var m = fr.fract;
    var e = f32(fr.exp);
    if (m < 0.70710678) {
        m = m * 2.0;
        e = e - 1.0;
    }
    return e * 0.69314718 + 2.0 * fatanh_small((m - 1.0) / (m + 1.0));
}

fn flog1p(x: f32) -> f32 {
    // log1p x = 2 atanh(x / (2 + x)) near 0, where forming 1 + x would lose x's low bits (and
    // compilers may fold Kahan's (1 + x) - 1 back into x); plain log(1 + x) further out.
    if (x > -0.29 && x < 0.41) { return 2.0 * fatanh_small(x / (2.0 + x)); }
    return flog(1.0 + x);
}

fn fexpm1(x: f32) -> f32 {
    // Taylor (Horner) below 0.5, where exp(x) - 1 would cancel; the next term is < 1e-8 relative.
    if (abs(x) < 0.5) {
        return x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0 * (1.0 + x / 6.0
               * (1.0 + x / 7.0 * (1.0 + x / 8.0)))))));
    }
    return fexp(x) - 1.0;
}

fn ferf(x: f32) -> f32 {
    // Maclaurin series below 0.5 (small relative error near 0), else Abramowitz & Stegun 7.1.26
    // (|error| < 1.5e-7), odd extension.
    if (abs(x) < 0.5) {
        let x2 = x * x;
        return 1.1283791671 * x * (1.0 - x2 * (0.33333333 - x2 * (0.1 - x2 * (0.023809524 - x2 * (0.0046296296 - x2 * 0.00075757576)))));
    }
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * fexp(-x * x);
    return select(-y, y, x >= 0.0);
}

fn ftanh(x: f32) -> f32 {
    // From expm1 rather than the builtin, which some drivers lower to a ~1e-3 approximation:
    // tanh x = e / (e + 2) with e = expm1(2x). Clamped (tanh is +-1 in f32 beyond 20), which
    // would turn NaN into -20, so NaN passes through first.
    let e = fexpm1(2.0 * clamp(x, -20.0, 20.0));
    return select(e / (e + 2.0), x, fisnan(x));
}

// NaN and the infinities handled before the builtins, which llvmpipe gives 0 or a number for
// (atan(NaN) = 0, asin(2) = 0): NaN in, NaN out, as numpy and torch.
fn fatan(x: f32) -> f32 { return select(atan(x), x, fisnan(x)); }
fn fatan2(y: f32, x: f32) -> f32 {
    if (fisnan(y) || fisnan(x)) { return bitcast<f32>(F32_NAN_BITS); }
    if (y == 0.0) {
        // llvmpipe gives ±3π/4 for atan2(±0, ±0): C gives ±0 for x >= +0 and ±π for x <= -0
        let neg_x = (bitcast<u32>(x) & 0x80000000u) != 0u;
        return select(y, select(3.14159265, -3.14159265, (bitcast<u32>(y) & 0x80000000u) != 0u), neg_x);
    }
    return atan2(y, x);
}
// asin / acos via atan2 (llvmpipe's builtins are off by ~2e-4); NaN beyond |x| = 1, by bits.
fn fasin(x: f32) -> f32 {
    if ((bitcast<u32>(x) & 0x7fffffffu) > 0x3f800000u) { return bitcast<f32>(F32_NAN_BITS); }
    return atan2(x, sqrt((1.0 - x) * (1.0 + x)));
}
fn facos(x: f32) -> f32 {
    if ((bitcast<u32>(x) & 0x7fffffffu) > 0x3f800000u) { return bitcast<f32>(F32_NAN_BITS); }
    return atan2(sqrt((1.0 - x) * (1.0 + x)), x);
}

// The rounding error of a * b, exactly (Dekker's product: llvmpipe's fma is not fused), for
// operands whose split (4097 a) does not overflow and whose product does not underflow.
fn fprod_err(a: f32, b: f32) -> f32 {
    let p = a * b;
    let ca = 4097.0 * a;
    let ah = ca - (ca - a);
    let al = a - ah;
    let cb = 4097.0 * b;
    let bh = cb - (cb - b);
    let bl = b - bh;
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

// fmod for |x| >= |y| (finite, y != 0): binary long division on the significands, one
// quotient bit per exponent step (musl's fmodf), exact; used for large quotients and extreme y.
fn ffmod_wide(a: f32, b: f32) -> f32 {
    let sign = bitcast<u32>(a) & 0x80000000u;
    let ux = bitcast<u32>(a) & 0x7fffffffu;
    let uy = bitcast<u32>(b) & 0x7fffffffu;
    var ex = i32(ux >> 23u);
    var ey = i32(uy >> 23u);
    var mx = (ux & 0x7fffffu) | 0x800000u;
    var my = (uy & 0x7fffffu) | 0x800000u;
    // subnormals (by bits, whatever the device flushes): the significand normalised, the exponent below 1
    if (ex == 0) {
        mx = ux;
        ex = 1;
        while ((mx & 0x800000u) == 0u) { mx = mx << 1u; ex = ex - 1; }
    }
    if (ey == 0) {
        my = uy;
        ey = 1;
        while ((my & 0x800000u) == 0u) { my = my << 1u; ey = ey - 1; }
    }
    for (; ex > ey; ex--) {
        if (mx >= my) { mx = mx - my; }
        if (mx == 0u) { return bitcast<f32>(sign); }
        mx = mx << 1u;
    }
    if (mx >= my) { mx = mx - my; }
    if (mx == 0u) { return bitcast<f32>(sign); }
    while ((mx & 0x800000u) == 0u) { mx = mx << 1u; ex = ex - 1; }
    if (ex > 0) { return bitcast<f32>(sign | (u32(ex) << 23u) | (mx & 0x7fffffu)); }
    return bitcast<f32>(sign | (mx >> u32(1 - ex)));
}

// C fmod, exact as numpy's and torch's: NaN for x = ±inf or y = 0, x itself for |x| < |y| and
// y = ±inf (where x - y * trunc(x / y) would be inf * 0 = NaN). For quotients below 2^23 x - q y
// is formed exactly (x - fl(q y) is exact there, then the product's rounding error is taken
// off) and moved by |y| where the rounded quotient was one too large; so fmod(-0.3, 0.1) is
// -7.45e-9, not 0. Larger quotients take the long division.
fn ffmod(a: f32, b: f32) -> f32 {
    if (fisnan(a) || fisnan(b) || fisinf(a) || b == 0.0) { return bitcast<f32>(F32_NAN_BITS); }
    if (abs(a) < abs(b)) { return a; }  // (also y = ±inf)
    let q = trunc(a / b);
    if (abs(q) >= 8388608.0 || abs(b) >= 1e30 || abs(b) <= 1e-20) { return ffmod_wide(a, b); }
    var r = (a - q * b) - fprod_err(q, b);
    let s = select(-abs(b), abs(b), a >= 0.0);  // |y| with x's sign
    if (r != 0.0 && ((r < 0.0) != (a < 0.0))) { r = r + s; }
    if (abs(r) >= abs(b)) { r = r - s; }
    return r;
}

// numpy's divmod (torch's remainder and floor division agree): the remainder takes the
// divisor's sign, the quotient is (x - fmod) / y rounded to an integer, minus one where the
// remainder moved. So -0.7 // inf = -1 and inf // 1.5 = NaN, as torch.
fn fremainder(a: f32, b: f32) -> f32 {
    let m = ffmod(a, b);
    return select(m, m + b, m != 0.0 && !fisnan(m) && ((b < 0.0) != (m < 0.0)));
}
fn ffloordiv(a: f32, b: f32) -> f32 {
    if (b == 0.0) { return a / b; }
    let m = ffmod(a, b);
    var d = (a - m) / b;
    if (m != 0.0 && !fisnan(m) && ((b < 0.0) != (m < 0.0))) { d = d - 1.0; }
    if (d == 0.0) { return bitcast<f32>((bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u); }  // ±0 as a / b
    var f = floor(d);
    if (d - f > 0.5) { f = f + 1.0; }
    return f;
}

// Truth and inequality of f32 by bits: NaN is true and unequal to everything, but llvmpipe
// folds NaN != y to false.
fn ftrue(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) != 0u; }
fn fne(a: f32, b: f32) -> bool { return fisnan(a) || fisnan(b) || a != b; }

// fisnan, fisinf, fmaxn, fminn, F32_NAN_BITS: shaders/float_bits.wgsl, prefixed by elementwise.py.

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
