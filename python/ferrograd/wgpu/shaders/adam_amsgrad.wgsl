// Adam / AdamW step with AMSGrad, in place: as adam.wgsl, but the denominator uses the running
// maximum of the second moment, kept in max_exp_avg_sq. At step 1 (first_step) the old contents
// of all three state arrays are taken as zero, so fresh buffers work.
struct Params {
    n: u32, p_off: u32, g_off: u32, m_off: u32,
    v_off: u32, maximize: u32, first_step: u32, decoupled: u32,
    beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32,
    step_size: f32, bc2_sqrt: f32, eps: f32, weight_decay: f32,
    decay_scale: f32, vmax_off: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq: array<f32>;
@group(0) @binding(4) var<storage, read_write> max_exp_avg_sq: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    var w = param[p.p_off + i];
    var g = grad[p.g_off + i];
    if (p.maximize != 0u) { g = -g; }
    if (p.weight_decay != 0.0) {
        if (p.decoupled != 0u) { w = w * p.decay_scale; } else { g = g + p.weight_decay * w; }
    }
    var m = 0.0;
    var v = 0.0;
    var vmax = 0.0;
    if (p.first_step == 0u) {
        m = exp_avg[p.m_off + i];
        v = exp_avg_sq[p.v_off + i];
        vmax = max_exp_avg_sq[p.vmax_off + i];
    }
    m = m * p.beta1 + p.one_minus_beta1 * g;
    v = v * p.beta2 + p.one_minus_beta2 * g * g;
    vmax = max(vmax, v);
    exp_avg[p.m_off + i] = m;
    exp_avg_sq[p.v_off + i] = v;
    max_exp_avg_sq[p.vmax_off + i] = vmax;
    let denom = sqrt(vmax) / p.bc2_sqrt + p.eps;
    param[p.p_off + i] = w - p.step_size * (m / denom);
}
