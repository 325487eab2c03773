// Batched strided GEMM: C[b] (+)= A[b] @ B[b], C rows c_rs apart (batch, M, N); A and B any element
// strides (transposes are free). 64x64 output tile per workgroup of 16x16 threads, each thread
// a 4x4 register block; K in steps of 16 through workgroup memory, read as vec4. Edges are
// zero-filled, so any M, N, K works. Batch = workgroup z. The A and B bindings and their tile
// loads (load_A, load_B: scalar, or vec4 for operands contiguous along one axis) are prepended
// from matmul_load_*.wgsl by kernels/matmul.py.
struct Params {
    m: u32, n: u32, k: u32, accumulate: u32,
    a_off: u32, a_bs: u32, a_rs: u32, a_cs: u32,
    b_off: u32, b_bs: u32, b_rs: u32, b_cs: u32,
    c_off: u32, c_bs: u32, c_rs: u32, _p1: u32,
}

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
        load_A(tid, k0, row0, abase, p.m, p.a_rs, p.a_cs);
        load_B(tid, k0, col0, bbase, p.n, p.b_cs, p.b_rs);
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
