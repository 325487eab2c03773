// Layer norm over rows of `cols` elements: forward (saving mean and 1/std per row), backward dx
// (one workgroup per row, tree sums in workgroup memory) and backward dweight / dbias (column
// sums over rows). Matrix operands are read through strides: row r starts at
// off + (r / n1) * s0 + (r % n1) * s1 and steps cs per column; vectors step by their stride.
// Row grids are 1-D, folded into (x, y) past the per-dimension limit.
struct Params {
    rows: u32, cols: u32, has_w: u32, has_b: u32,
    x_off: u32, x_n1: u32, x_s0: u32, x_s1: u32,
    x_cs: u32, g_off: u32, g_n1: u32, g_s0: u32,
    g_s1: u32, g_cs: u32, w_off: u32, w_s: u32,
    b_off: u32, b_s: u32, m_off: u32, m_s: u32,
    r_off: u32, r_s: u32, eps: f32, _p: u32,
}

// forward: X W B | Y MEAN RSTD | params
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read_write> MEAN: array<f32>;
@group(0) @binding(5) var<storage, read_write> RSTD: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
// backward: GY X MEAN_IN RSTD_IN (W) | DX or DW DB | params
@group(0) @binding(0) var<storage, read> GY: array<f32>;
@group(0) @binding(1) var<storage, read> XB: array<f32>;
@group(0) @binding(2) var<storage, read> MEAN_IN: array<f32>;
@group(0) @binding(3) var<storage, read> RSTD_IN: array<f32>;
@group(0) @binding(4) var<storage, read> WB: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
@group(0) @binding(4) var<storage, read_write> DW: array<f32>;
@group(0) @binding(5) var<storage, read_write> DB: array<f32>;

var<workgroup> red: array<f32, 256>;
var<workgroup> red2: array<f32, 256>;

// Sum of `v` over the workgroup's 256 threads; every thread gets it.
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

// Index of this workgroup in a 1-D grid folded into (x, y).
fn row_index(r: vec3<u32>, ng: vec3<u32>) -> u32 {
    return r.x + r.y * ng.x;
}

fn xrow(row: u32) -> u32 {
    return p.x_off + (row / p.x_n1) * p.x_s0 + (row % p.x_n1) * p.x_s1;
}

fn grow(row: u32) -> u32 {
    return p.g_off + (row / p.g_n1) * p.g_s0 + (row % p.g_n1) * p.g_s1;
}

@compute @workgroup_size(256)
fn fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let row = row_index(wid, ng);
    if (row >= p.rows) { return; }  // uniform per workgroup: barriers stay uniform
    let base = xrow(row);
    let n = f32(p.cols);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += 256u) { s += X[base + j * p.x_cs]; }
    let m = wg_sum(s, lid) / n;
    // Two passes (mean, then squared deviations) like the CPU kernel: no cancellation.
    var v = 0.0;
    for (var j = lid; j < p.cols; j += 256u) {
        let d = X[base + j * p.x_cs] - m;
        v += d * d;
    }
    let r = 1.0 / sqrt(wg_sum(v, lid) / n + p.eps);
    for (var j = lid; j < p.cols; j += 256u) {
        var y = (X[base + j * p.x_cs] - m) * r;
        if (p.has_w != 0u) { y *= W[p.w_off + j * p.w_s]; }
        if (p.has_b != 0u) { y += B[p.b_off + j * p.b_s]; }
        Y[row * p.cols + j] = y;
    }
    if (lid == 0u) {
        MEAN[row] = m;
        RSTD[row] = r;
    }
}

@compute @workgroup_size(256)
fn bwd_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let row = row_index(wid, ng);
    if (row >= p.rows) { return; }
    let xb = xrow(row);
    let gb = grow(row);
    let m = MEAN_IN[p.m_off + row * p.m_s];
    let r = RSTD_IN[p.r_off + row * p.r_s];
    let n = f32(p.cols);
    // a = sum g w, c = sum g w x; b = sum g w xhat = r (c - m a)
    var a = 0.0;
    var c = 0.0;
    for (var j = lid; j < p.cols; j += 256u) {
        var gw = GY[gb + j * p.g_cs];
        if (p.has_w != 0u) { gw *= WB[p.w_off + j * p.w_s]; }
        a += gw;
        c += gw * XB[xb + j * p.x_cs];
    }
    a = wg_sum(a, lid);
    c = wg_sum(c, lid);
    let b = r * (c - m * a);
    // dx = r (g w - a/n - (x - m) r b/n) = k1 g w + k2 x + k3
    let k2 = -(r * r * b / n);
    let k3 = -(r * a / n) - k2 * m;
    for (var j = lid; j < p.cols; j += 256u) {
        var gw = GY[gb + j * p.g_cs];
        if (p.has_w != 0u) { gw *= WB[p.w_off + j * p.w_s]; }
        DX[row * p.cols + j] = r * gw + k2 * XB[xb + j * p.x_cs] + k3;
    }
}

// dw[j] = sum_rows g xhat, db[j] = sum_rows g: 16 columns per workgroup (lid.x, adjacent
// columns), 16 lanes striding over the rows (lid.y), then a tree sum over the lanes.
@compute @workgroup_size(16, 16)
fn bwd_wb(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let j = row_index(wid, ng) * 16u + lid.x;
    var sw = 0.0;
    var sb = 0.0;
    if (j < p.cols) {
        for (var row = lid.y; row < p.rows; row += 16u) {
            let g = GY[grow(row) + j * p.g_cs];
            let xhat = (XB[xrow(row) + j * p.x_cs] - MEAN_IN[p.m_off + row * p.m_s]) * RSTD_IN[p.r_off + row * p.r_s];
            sw += g * xhat;
            sb += g;
        }
    }
    let t = lid.y * 16u + lid.x;
    red[t] = sw;
    red2[t] = sb;
    workgroupBarrier();
    for (var s = 8u; s > 0u; s >>= 1u) {
        if (lid.y < s) {
            red[t] += red[t + s * 16u];
            red2[t] += red2[t + s * 16u];
        }
        workgroupBarrier();
    }
    if (lid.y == 0u && j < p.cols) {
        DW[j] = red[lid.x];
        DB[j] = red2[lid.x];
    }
}
