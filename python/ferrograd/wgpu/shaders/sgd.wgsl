// SGD step without momentum, in place: p -= lr * (g + wd * p) (g negated when maximizing).
// Arrays contiguous from their element offsets; 1-D grid of 256-wide groups folded into (x, y).
struct Params {
    n: u32, p_off: u32, g_off: u32, maximize: u32,
    lr: f32, weight_decay: f32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    let w = param[p.p_off + i];
    var g = grad[p.g_off + i];
    if (p.maximize != 0u) { g = -g; }
    // Same operation order as optim/sgd.py; the branch keeps g exact when there is no decay.
    if (p.weight_decay != 0.0) { g = g + p.weight_decay * w; }
    param[p.p_off + i] = w - p.lr * g;
}
