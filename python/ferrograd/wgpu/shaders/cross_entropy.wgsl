// Cross-entropy fused with log-softmax over rows of C logits, per-sample (before reduction),
// with torch's weight / ignore_index / label_smoothing semantics, as the CPU kernels:
//   index targets: loss = (1-eps) w_t (lse - x_t) + eps/C (lse sum_j w_j - sum_j w_j x_j)
//   prob targets:  loss = sum_j w_j ts_j (lse - x_j),  ts = (1-eps) t + eps/C
// One workgroup of 256 threads per row, tree reductions in workgroup memory. Logits and
// probability targets are matrix views (row r at off + (r / n1) s0 + (r % n1) s1, column stride
// cs); index targets, weights, lse and upstream grads are strided vectors. Outputs contiguous.
// A class index outside [0, C) that is not ignore_index gives NaN (the CPU kernel raises; a
// device kernel cannot).
struct Params {
    rows: u32, cols: u32, has_w: u32, ignore: i32,
    x_off: u32, x_n1: u32, x_s0: u32, x_s1: u32,
    x_cs: u32, t_off: u32, t_n1: u32, t_s0: u32,
    t_s1: u32, t_cs: u32, w_off: u32, w_s: u32,
    l_off: u32, l_s: u32, g_off: u32, g_s: u32,
    eps: f32, want_dt: u32, has_ignore: u32, _p: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> TI: array<i32>;    // class indices
@group(0) @binding(1) var<storage, read> TP: array<f32>;    // class probabilities
@group(0) @binding(2) var<storage, read> W: array<f32>;
// forward: | LOSS LSE | params
@group(0) @binding(3) var<storage, read_write> LOSS: array<f32>;
@group(0) @binding(4) var<storage, read_write> LSE: array<f32>;
@group(0) @binding(5) var<uniform> p5: Params;
// backward: | LSE_IN G | DX (DT) | params
@group(0) @binding(3) var<storage, read> LSE_IN: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
@group(0) @binding(6) var<uniform> p6: Params;
@group(0) @binding(6) var<storage, read_write> DT: array<f32>;
@group(0) @binding(7) var<uniform> p7: Params;

const LOWEST: f32 = -3.40282347e38;  // start of the max: no infinity literal needed

var<workgroup> red: array<f32, 256>;

fn wg_sum(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) { red[lid] += red[lid + s]; }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
}

fn wg_max(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s && red[lid + s] > red[lid]) { red[lid] = red[lid + s]; }
        workgroupBarrier();
    }
    let m = red[0];
    workgroupBarrier();
    return m;
}

fn xbase(p: Params, row: u32) -> u32 {
    return p.x_off + (row / p.x_n1) * p.x_s0 + (row % p.x_n1) * p.x_s1;
}

fn tbase(p: Params, row: u32) -> u32 {
    return p.t_off + (row / p.t_n1) * p.t_s0 + (row % p.t_n1) * p.t_s1;
}

fn weight(p: Params, j: u32) -> f32 {
    if (p.has_w != 0u) { return W[p.w_off + j * p.w_s]; }
    return 1.0;
}

// log-sum-exp of the row at `base` (max first, so exp never overflows).
fn row_lse(p: Params, base: u32, lid: u32) -> f32 {
    var m = LOWEST;
    for (var j = lid; j < p.cols; j += 256u) {
        let v = X[base + j * p.x_cs];
        if (v > m) { m = v; }
    }
    m = wg_max(m, lid);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += 256u) { s += exp(X[base + j * p.x_cs] - m); }
    return m + log(wg_sum(s, lid));
}

fn nan() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

@compute @workgroup_size(256)
fn index_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let p = p5;
    let row = wid.x + wid.y * ng.x;
    if (row >= p.rows) { return; }  // uniform per workgroup: barriers stay uniform
    let base = xbase(p, row);
    let lse = row_lse(p, base, lid);
    let c = f32(p.cols);
    var smoothing = 0.0;
    if (p.eps != 0.0) {
        var sw = 0.0;
        var sx = 0.0;
        for (var j = lid; j < p.cols; j += 256u) {
            let w = weight(p, j);
            sw += w;
            sx += w * X[base + j * p.x_cs];
        }
        sw = wg_sum(sw, lid);
        sx = wg_sum(sx, lid);
        smoothing = p.eps / c * (lse * sw - sx);
    }
    if (lid == 0u) {
        LSE[row] = lse;
        let t = TI[p.t_off + row * p.t_s0];
        if (p.has_ignore != 0u && t == p.ignore) {
            LOSS[row] = 0.0;
        } else if (t < 0 || t >= i32(p.cols)) {
            LOSS[row] = nan();
        } else {
            let tu = u32(t);
            LOSS[row] = (1.0 - p.eps) * weight(p, tu) * (lse - X[base + tu * p.x_cs]) + smoothing;
        }
    }
}

@compute @workgroup_size(256)
fn index_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let p = p6;
    let row = wid.x + wid.y * ng.x;
    if (row >= p.rows) { return; }
    let base = xbase(p, row);
    let out = row * p.cols;
    let c = f32(p.cols);
    var wsum = c;
    if (p.has_w != 0u) {
        var sw = 0.0;
        for (var j = lid; j < p.cols; j += 256u) { sw += W[p.w_off + j * p.w_s]; }
        wsum = wg_sum(sw, lid);
    }
    let t = TI[p.t_off + row * p.t_s0];
    if (p.has_ignore != 0u && t == p.ignore) {
        for (var j = lid; j < p.cols; j += 256u) { DX[out + j] = 0.0; }
        return;
    }
    if (t < 0 || t >= i32(p.cols)) {
        for (var j = lid; j < p.cols; j += 256u) { DX[out + j] = nan(); }
        return;
    }
    let tu = u32(t);
    let lse = LSE_IN[p.l_off + row * p.l_s];
    let g = G[p.g_off + row * p.g_s];
    let wt = weight(p, tu);
    // d/dx_j = c1 p_j - c2 w_j (- g (1-eps) w_t at j = t)
    let c1 = g * ((1.0 - p.eps) * wt + p.eps * wsum / c);
    let c2 = g * p.eps / c;
    for (var j = lid; j < p.cols; j += 256u) {
        var d = c1 * exp(X[base + j * p.x_cs] - lse) - c2 * weight(p, j);
        if (j == tu) { d -= g * (1.0 - p.eps) * wt; }
        DX[out + j] = d;
    }
}

@compute @workgroup_size(256)
fn prob_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let p = p5;
    let row = wid.x + wid.y * ng.x;
    if (row >= p.rows) { return; }
    let base = xbase(p, row);
    let tb = tbase(p, row);
    let lse = row_lse(p, base, lid);
    let u = p.eps / f32(p.cols);
    let keep = 1.0 - p.eps;
    var acc = 0.0;
    for (var j = lid; j < p.cols; j += 256u) {
        acc += weight(p, j) * (keep * TP[tb + j * p.t_cs] + u) * (lse - X[base + j * p.x_cs]);
    }
    acc = wg_sum(acc, lid);
    if (lid == 0u) {
        LOSS[row] = acc;
        LSE[row] = lse;
    }
}

// dx_j = g (p_j sum_k w_k ts_k - w_j ts_j);  dt_j = g (1-eps) w_j (lse - x_j)
@compute @workgroup_size(256)
fn prob_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let p = p7;
    let row = wid.x + wid.y * ng.x;
    if (row >= p.rows) { return; }
    let base = xbase(p, row);
    let tb = tbase(p, row);
    let out = row * p.cols;
    let u = p.eps / f32(p.cols);
    let keep = 1.0 - p.eps;
    var s = 0.0;
    for (var j = lid; j < p.cols; j += 256u) { s += weight(p, j) * (keep * TP[tb + j * p.t_cs] + u); }
    s = wg_sum(s, lid);
    let lse = LSE_IN[p.l_off + row * p.l_s];
    let g = G[p.g_off + row * p.g_s];
    for (var j = lid; j < p.cols; j += 256u) {
        let x = X[base + j * p.x_cs];
        let w = weight(p, j);
        DX[out + j] = g * (s * exp(x - lse) - w * (keep * TP[tb + j * p.t_cs] + u));
        if (p.want_dt != 0u) { DT[out + j] = g * keep * w * (lse - x); }
    }
}
