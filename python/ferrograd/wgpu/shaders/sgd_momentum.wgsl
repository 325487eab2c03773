// SGD step with momentum, in place, PyTorch's rule (optim/sgd.py):
//   g += wd * p;  buf = first ? g : mu * buf + (1 - dampening) * g;
//   p -= lr * (nesterov ? g + mu * buf : buf)
// Arrays contiguous from their element offsets; 1-D grid of 256-wide groups folded into (x, y).
struct Params {
    n: u32, p_off: u32, g_off: u32, b_off: u32,
    lr: f32, momentum: f32, one_minus_dampening: f32, weight_decay: f32,
    nesterov: u32, maximize: u32, first_step: u32, _p0: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    let w = param[p.p_off + i];
    var g = grad[p.g_off + i];
    if (p.maximize != 0u) { g = -g; }
    if (p.weight_decay != 0.0) { g = g + p.weight_decay * w; }
    // The first step copies g into the buffer (its old contents are never read, so a fresh,
    // uninitialised buffer works).
    var b = g;
    if (p.first_step == 0u) {
        b = buf[p.b_off + i] * p.momentum + p.one_minus_dampening * g;
    }
    buf[p.b_off + i] = b;
    var d = b;
    if (p.nesterov != 0u) { d = g + p.momentum * b; }
    param[p.p_off + i] = w - p.lr * d;
}
