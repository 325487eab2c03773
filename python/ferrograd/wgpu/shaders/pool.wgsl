// 2-d pooling on NCHW images: max (with argmax indices), average and adaptive average,
// forward and backward. One thread per output element forward; one per input element backward,
// which gathers from the windows that cover it, so no two threads write one element (WGSL has
// no float atomics) and sums come out in the order the CPU kernel adds them. Inputs are read
// through element strides; outputs are contiguous. 1-D grids of 256-wide groups folded into
// (x, y) when large.
struct Params {
    n: u32, c: u32, h: u32, w: u32,
    oh: u32, ow: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, ph: u32, pw: u32,
    include_pad: u32, total: u32, _p0: u32, _p1: u32,
    x_off: u32, xs0: u32, xs1: u32, xs2: u32,   // x (forward) or gy (backward)
    xs3: u32, i_off: u32, is0: u32, is1: u32,   // indices (max backward)
    is2: u32, is3: u32, _p2: u32, _p3: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> OUT1: array<f32>;
@group(0) @binding(1) var<storage, read> IDX_IN: array<i32>;
@group(0) @binding(2) var<storage, read_write> IDX_OUT: array<i32>;
@group(0) @binding(2) var<storage, read_write> OUT2: array<f32>;
@group(0) @binding(2) var<uniform> p2: Params;
@group(0) @binding(3) var<uniform> p3: Params;

fn flat(wid: vec3<u32>, ng: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * ng.x) * 256u + lid;
}

// Element (plane, y, x) of the strided input, plane = n * c + channel.
fn at(p: Params, plane: u32, y: u32, x: u32) -> f32 {
    return X[p.x_off + (plane / p.c) * p.xs0 + (plane % p.c) * p.xs1 + y * p.xs2 + x * p.xs3];
}

fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;  // bit test: immune to fast-math
}

// Output windows lo..=hi along one axis that cover input position i (empty when lo > hi).
fn covering(i: u32, pad: u32, k: u32, s: u32, n_out: u32) -> vec2<i32> {
    let num = i32(i + pad) - i32(k) + 1;
    var lo = 0;
    if (num > 0) { lo = (num + i32(s) - 1) / i32(s); }
    let hi = min(i32((i + pad) / s), i32(n_out) - 1);
    return vec2<i32>(lo, hi);
}

// In-image part [start, end) of window o along one axis.
fn window(o: u32, s: u32, pad: u32, k: u32, n_in: u32) -> vec2<u32> {
    let start = i32(o * s) - i32(pad);
    return vec2<u32>(u32(max(start, 0)), u32(clamp(start + i32(k), 0, i32(n_in))));
}

fn divisor(p: Params, r: vec2<u32>, c: vec2<u32>) -> f32 {
    if (p.include_pad != 0u) { return f32(p.kh * p.kw); }
    return f32(max((r.y - r.x) * (c.y - c.x), 1u));
}

@compute @workgroup_size(256)
fn max_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let p = p3;
    let e = flat(wid, ng, lid);
    if (e >= p.total) { return; }
    let plane = e / (p.oh * p.ow);
    let oy = (e / p.ow) % p.oh;
    let ox = e % p.ow;
    let r = window(oy, p.sh, p.ph, p.kh, p.h);
    let c = window(ox, p.sw, p.pw, p.kw, p.w);
    var best = 0.0;
    var best_i = -1;
    for (var iy = r.x; iy < r.y; iy++) {
        for (var ix = c.x; ix < c.y; ix++) {
            let v = at(p, plane, iy, ix);
            // NaN wins (the last one seen), as in torch and the CPU kernel.
            if (best_i < 0 || v > best || is_nan(v)) {
                best = v;
                best_i = i32(iy * p.w + ix);
            }
        }
    }
    OUT1[e] = best;
    IDX_OUT[e] = best_i;
}

@compute @workgroup_size(256)
fn max_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let p = p3;
    let e = flat(wid, ng, lid);
    if (e >= p.total) { return; }
    let plane = e / (p.h * p.w);
    let iy = (e / p.w) % p.h;
    let ix = e % p.w;
    let me = i32(iy * p.w + ix);
    let ry = covering(iy, p.ph, p.kh, p.sh, p.oh);
    let rx = covering(ix, p.pw, p.kw, p.sw, p.ow);
    let nn = plane / p.c;
    let cc = plane % p.c;
    var s = 0.0;
    for (var oy = ry.x; oy <= ry.y; oy++) {
        for (var ox = rx.x; ox <= rx.y; ox++) {
            let i = IDX_IN[p.i_off + nn * p.is0 + cc * p.is1 + u32(oy) * p.is2 + u32(ox) * p.is3];
            if (i == me) {
                s += X[p.x_off + nn * p.xs0 + cc * p.xs1 + u32(oy) * p.xs2 + u32(ox) * p.xs3];
            }
        }
    }
    OUT2[e] = s;
}

@compute @workgroup_size(256)
fn avg_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let p = p2;
    let e = flat(wid, ng, lid);
    if (e >= p.total) { return; }
    let plane = e / (p.oh * p.ow);
    let r = window((e / p.ow) % p.oh, p.sh, p.ph, p.kh, p.h);
    let c = window(e % p.ow, p.sw, p.pw, p.kw, p.w);
    var s = 0.0;
    for (var iy = r.x; iy < r.y; iy++) {
        for (var ix = c.x; ix < c.y; ix++) {
            s += at(p, plane, iy, ix);
        }
    }
    OUT1[e] = s / divisor(p, r, c);
}

@compute @workgroup_size(256)
fn avg_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let p = p2;
    let e = flat(wid, ng, lid);
    if (e >= p.total) { return; }
    let plane = e / (p.h * p.w);
    let ry = covering((e / p.w) % p.h, p.ph, p.kh, p.sh, p.oh);
    let rx = covering(e % p.w, p.pw, p.kw, p.sw, p.ow);
    var s = 0.0;
    for (var oy = ry.x; oy <= ry.y; oy++) {
        let r = window(u32(oy), p.sh, p.ph, p.kh, p.h);
        for (var ox = rx.x; ox <= rx.y; ox++) {
            let c = window(u32(ox), p.sw, p.pw, p.kw, p.w);
            s += at(p, plane, u32(oy), u32(ox)) / divisor(p, r, c);
        }
    }
    OUT1[e] = s;
}

// torch's adaptive window [floor(o * n_in / n_out), ceil((o + 1) * n_in / n_out)).
fn adaptive(o: u32, n_in: u32, n_out: u32) -> vec2<u32> {
    return vec2<u32>(o * n_in / n_out, ((o + 1u) * n_in + n_out - 1u) / n_out);
}

@compute @workgroup_size(256)
fn adapt_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let p = p2;
    let e = flat(wid, ng, lid);
    if (e >= p.total) { return; }
    let plane = e / (p.oh * p.ow);
    let r = adaptive((e / p.ow) % p.oh, p.h, p.oh);
    let c = adaptive(e % p.ow, p.w, p.ow);
    var s = 0.0;
    for (var iy = r.x; iy < r.y; iy++) {
        for (var ix = c.x; ix < c.y; ix++) {
            s += at(p, plane, iy, ix);
        }
    }
    OUT1[e] = s / f32((r.y - r.x) * (c.y - c.x));
}

@compute @workgroup_size(256)
fn adapt_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let p = p2;
    let e = flat(wid, ng, lid);
    if (e >= p.total) { return; }
    let plane = e / (p.h * p.w);
    let iy = (e / p.w) % p.h;
    let ix = e % p.w;
    // Windows that may hold iy: floor(iy * oh / h) ..= ceil((iy + 1) * oh / h) - 1; each is
    // still checked, so rounding at the ends cannot add a window that does not cover it.
    let oy1 = min(((iy + 1u) * p.oh + p.h - 1u) / p.h, p.oh);
    let ox1 = min(((ix + 1u) * p.ow + p.w - 1u) / p.w, p.ow);
    var s = 0.0;
    for (var oy = iy * p.oh / p.h; oy < oy1; oy++) {
        let r = adaptive(oy, p.h, p.oh);
        if (iy < r.x || iy >= r.y) { continue; }
        for (var ox = ix * p.ow / p.w; ox < ox1; ox++) {
            let c = adaptive(ox, p.w, p.ow);
            if (ix < c.x || ix >= c.y) { continue; }
            s += at(p, plane, oy, ox) / f32((r.y - r.x) * (c.y - c.x));
        }
    }
    OUT1[e] = s;
}
