// dst[dst_off + i] = src[src_off + strided index of i] for a rank-4 (padded) shape: makes a
// contiguous copy of any strided view (time-major inputs, strided h0/c0) on the device.
struct Params { n: u32, d1: u32, d2: u32, d3: u32, src_off: u32, s0: u32, s1: u32, s2: u32, s3: u32, dst_off: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * ng.x) * 256u + lid;
    if (i >= p.n) { return; }
    let i3 = i % p.d3;
    let r = i / p.d3;
    let i2 = r % p.d2;
    let r2 = r / p.d2;
    let i1 = r2 % p.d1;
    let i0 = r2 / p.d1;
    dst[p.dst_off + i] = src[p.src_off + i0 * p.s0 + i1 * p.s1 + i2 * p.s2 + i3 * p.s3];
}
