// Shared part of the flash-attention kernels (prefixed to sdpa_fwd / sdpa_bwd_*): parameters,
// the q/k/v/mask bindings and the score tile. Tiles are 16 query rows x 16 keys, one thread per
// (row ty, key tx) of a 16x16 workgroup; head dims are walked in 16-wide chunks through
// workgroup memory (rows padded to 17 floats: column reads hit distinct banks), so any E and Ev
// work. `offs` holds per flat batch index the element offsets of q, k, v, mask, dout and out
// (batch dims broadcast by zero strides); operands keep their own row/column strides.
struct Params {
    l: u32, s: u32, e: u32, ev: u32,
    causal: u32, has_mask: u32, scale: f32, batch0: u32,
    q_rs: u32, q_cs: u32, k_rs: u32, k_cs: u32,
    v_rs: u32, v_cs: u32, m_rs: u32, m_cs: u32,
    g_rs: u32, g_cs: u32, delta_off: u32, dv_off: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> offs: array<u32>;

const T: u32 = 16u;   // tile rows and keys
const P: u32 = 17u;   // padded row length of the workgroup tiles
var<workgroup> ta: array<f32, 272>;
var<workgroup> tb: array<f32, 272>;

fn neg_inf() -> f32 {
    return bitcast<f32>(0xff800000u);
}

// q[r0 + ty] · k[c0 + tx] (0 outside the matrices). Contains barriers: call it uniformly.
fn qk_tile(b: u32, r0: u32, c0: u32, tx: u32, ty: u32) -> f32 {
    let qo = offs[b * 8u];
    let ko = offs[b * 8u + 1u];
    var acc = 0.0;
    for (var e0 = 0u; e0 < p.e; e0 += T) {
        let e = e0 + tx;
        var a = 0.0;
        var c = 0.0;
        if (r0 + ty < p.l && e < p.e) { a = q[qo + (r0 + ty) * p.q_rs + e * p.q_cs]; }
        if (c0 + ty < p.s && e < p.e) { c = k[ko + (c0 + ty) * p.k_rs + e * p.k_cs]; }
        ta[ty * P + tx] = a;
        tb[ty * P + tx] = c;
        workgroupBarrier();
        for (var kk = 0u; kk < T; kk++) {
            acc = fma(ta[ty * P + kk], tb[tx * P + kk], acc);
        }
        workgroupBarrier();
    }
    return acc;
}

// scale · s + mask for row i, key j (has_mask 1: additive float, 2: int32/uint32 boolean);
// −inf where the key is out of range or causally hidden (top-left aligned: row i sees j <= i).
fn logit(b: u32, s: f32, i: u32, j: u32) -> f32 {
    if (i >= p.l || j >= p.s || (p.causal != 0u && j > i)) { return neg_inf(); }
    var x = s * p.scale;
    if (p.has_mask != 0u) {
        let mv = mask[offs[b * 8u + 3u] + i * p.m_rs + j * p.m_cs];
        if (p.has_mask == 1u) {
            x += mv;  // additive float mask
        } else if (bitcast<u32>(mv) == 0u) {
            return neg_inf();  // boolean (int) mask: 0 hides the key, as torch's False
        }
    }
    return x;
}

// Keys a query block starting at r0 can see: causal attention stops at its last row.
fn key_end(r0: u32) -> u32 {
    if (p.causal != 0u) { return min(p.s, min(r0 + T, p.l)); }
    return p.s;
}
