// softmax / log_softmax over rows of `cols` elements, forward and backward: one workgroup of
// 256 threads per row, tree reductions (max, sums) in workgroup memory. Inputs are matrix views:
// row r starts at off + (r / n1) * s0 + (r % n1) * s1 and steps cs per column, so softmax over
// a moved axis reads in place; outputs are contiguous. Row grids fold into (x, y) when large.
struct Params {
    rows: u32, cols: u32, log: u32, _p0: u32,
    x_off: u32, x_n1: u32, x_s0: u32, x_s1: u32,
    x_cs: u32, g_off: u32, g_n1: u32, g_s0: u32,
    g_s1: u32, g_cs: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;   // x (forward) or y (backward)
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
@group(0) @binding(2) var<uniform> p2: Params;
@group(0) @binding(3) var<uniform> p3: Params;

// The lowest finite f32: the max's start value, so no infinity literal is needed; a row of
// -inf then gives NaN as in torch and the CPU kernel (exp(-inf - m) sums to 0).
const LOWEST: f32 = -3.40282347e38;

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

// Max without NaN (a NaN never wins `>`, as in the CPU kernel; it reaches the output via exp).
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

fn group_index(wid: vec3<u32>, ng: vec3<u32>) -> u32 {
    return wid.x + wid.y * ng.x;
}

@compute @workgroup_size(256)
fn fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let p = p2;
    let row = group_index(wid, ng);
    if (row >= p.rows) { return; }  // uniform per workgroup: barriers stay uniform
    let base = p.x_off + (row / p.x_n1) * p.x_s0 + (row % p.x_n1) * p.x_s1;
    var m = LOWEST;
    for (var j = lid; j < p.cols; j += 256u) {
        let v = X[base + j * p.x_cs];
        if (v > m) { m = v; }
    }
    m = wg_max(m, lid);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += 256u) { s += exp(X[base + j * p.x_cs] - m); }
    s = wg_sum(s, lid);
    let out = row * p.cols;
    if (p.log != 0u) {
        let lse = m + log(s);
        for (var j = lid; j < p.cols; j += 256u) { Y[out + j] = X[base + j * p.x_cs] - lse; }
    } else {
        let inv = 1.0 / s;
        for (var j = lid; j < p.cols; j += 256u) { Y[out + j] = exp(X[base + j * p.x_cs] - m) * inv; }
    }
}

// softmax: dx = y (g - sum g y); log_softmax: dx = g - exp(y) sum g.
@compute @workgroup_size(256)
fn bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let p = p3;
    let row = group_index(wid, ng);
    if (row >= p.rows) { return; }
    let yb = p.x_off + (row / p.x_n1) * p.x_s0 + (row % p.x_n1) * p.x_s1;
    let gb = p.g_off + (row / p.g_n1) * p.g_s0 + (row % p.g_n1) * p.g_s1;
    var s = 0.0;
    for (var j = lid; j < p.cols; j += 256u) {
        let g = GY[gb + j * p.g_cs];
        if (p.log != 0u) { s += g; } else { s += g * X[yb + j * p.x_cs]; }
    }
    s = wg_sum(s, lid);
    let out = row * p.cols;
    for (var j = lid; j < p.cols; j += 256u) {
        let g = GY[gb + j * p.g_cs];
        let y = X[yb + j * p.x_cs];
        if (p.log != 0u) { DX[out + j] = g - exp(y) * s; } else { DX[out + j] = y * (g - s); }
    }
}
