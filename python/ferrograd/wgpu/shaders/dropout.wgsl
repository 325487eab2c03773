// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC'11). Thread j encrypts the counter (j, 0, 0, 0) under the 64-bit key `seed`
// and writes elements 4j..4j+3, so a (seed, index) pair always gives the same number, in any
// launch shape. Entry `bits`: the raw uint32 words. Entry `mask`: the dropout mask, `scale` where
// the 24-bit uniform u = (word >> 8) / 2^24 satisfies u >= p, else 0 (written as f32 bits).
// An array larger than one binding runs in chunks: counters from block0, written from out_off.
struct Params { n: u32, key_lo: u32, key_hi: u32, scale: f32, p: f32, block0: u32, out_off: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> prm: Params;

// (hi, lo) of the 64-bit product a * b, from 16-bit halves (WGSL has no 64-bit integers).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

fn block(wid: vec3<u32>, ng: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * ng.x) * 64u + lid;
}

@compute @workgroup_size(64)
fn bits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let j = block(wid, ng, lid);
    if (j * 4u >= prm.n) { return; }
    let r = philox4x32_10(vec4<u32>(j + prm.block0, 0u, 0u, 0u), vec2<u32>(prm.key_lo, prm.key_hi));
    for (var l = 0u; l < 4u; l++) {
        let i = j * 4u + l;
        if (i < prm.n) { out[prm.out_off + i] = r[l]; }
    }
}

@compute @workgroup_size(64)
fn mask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let j = block(wid, ng, lid);
    if (j * 4u >= prm.n) { return; }
    let r = philox4x32_10(vec4<u32>(j + prm.block0, 0u, 0u, 0u), vec2<u32>(prm.key_lo, prm.key_hi));
    for (var l = 0u; l < 4u; l++) {
        let i = j * 4u + l;
        // 24 bits are exact in f32, so u < 1 always: p = 1 drops everything, p = 0 keeps all.
        let u = f32(r[l] >> 8u) * (1.0 / 16777216.0);
        if (i < prm.n) { out[prm.out_off + i] = bitcast<u32>(select(0.0, prm.scale, u >= prm.p)); }
    }
}
