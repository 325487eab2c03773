// Batched strided GEMM: C[b] (+)= A[b] @ B[b], C rows c_rs apart (batch, M, N); A and B any element
// strides (transposes are free). 64x64 output tile per workgroup of 16x16 threads, each thread
// a 4x4 register block; K in steps of 16 through workgroup memory. Edges are zero-filled, so
// any M, N, K works. Batch = workgroup z.
struct Params {
    m: u32, n: u32, k: u32, accumulate: u32,
    a_off: u32, a_bs: u32, a_rs: u32, a_cs: u32,
    b_off: u32, b_bs: u32, b_rs: u32, b_cs: u32,
    c_off: u32, c_bs: u32, c_rs: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TILE: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> As: array<vec4<f32>, 256>;  // [BK][TILE / 4]: A tile, k-major
var<workgroup> Bs: array<vec4<f32>, 256>;  // [BK][TILE / 4]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let tid = lid.y * 16u + lid.x;
    let abase = p.a_off + wid.z * p.a_bs;
    let bbase = p.b_off + wid.z * p.b_bs;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        // Each thread stages 4 consecutive rows of A (one k) and 4 consecutive columns of B.
        let kk = tid / 16u;          // 0..15
        let q = tid % 16u;           // quad index 0..15 (4 rows / columns each)
        let gk = k0 + kk;
        var av = vec4<f32>(0.0);
        var bv = vec4<f32>(0.0);
        if (gk < p.k) {
            for (var j = 0u; j < 4u; j++) {
                let r = row0 + q * 4u + j;
                if (r < p.m) { av[j] = A[abase + r * p.a_rs + gk * p.a_cs]; }
                let c = col0 + q * 4u + j;
                if (c < p.n) { bv[j] = B[bbase + gk * p.b_rs + c * p.b_cs]; }
            }
        }
        As[kk * 16u + q] = av;
        Bs[kk * 16u + q] = bv;
        workgroupBarrier();
        for (var k = 0u; k < BK; k++) {
            let a = As[k * 16u + lid.y];
            let b = Bs[k * 16u + lid.x];
            acc[0] = fma(vec4<f32>(a[0]), b, acc[0]);
            acc[1] = fma(vec4<f32>(a[1]), b, acc[1]);
            acc[2] = fma(vec4<f32>(a[2]), b, acc[2]);
            acc[3] = fma(vec4<f32>(a[3]), b, acc[3]);
        }
        workgroupBarrier();
    }
    let cbase = p.c_off + wid.z * p.c_bs;
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + lid.y * 4u + i;
        if (r >= p.m) { break; }
        for (var j = 0u; j < 4u; j++) {
            let c = col0 + lid.x * 4u + j;
            if (c < p.n) {
                let idx = cbase + r * p.c_rs + c;
                var v = acc[i][j];
                if (p.accumulate != 0u) { v += C[idx]; }
                C[idx] = v;
            }
        }
    }
}
