// dh[i] *= gelu'(hpre[i]): the gradient through the mixing MLP's activation, in place.
struct Params { n: u32, d_off: u32, h_off: u32 }

@group(0) @binding(0) var<storage, read_write> dh: array<f32>;
@group(0) @binding(1) var<storage, read> hpre: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    dh[p.d_off + i] *= gelu_grad(hpre[p.h_off + i]);
}
