// Stages a [16 k][64 i] tile of operand $X that is contiguous along i (si == 1; base, sk and ni
// multiples of 4) with one vec4 load per thread, stored as it is (the tile is i-vectors).
@group(0) @binding($B) var<storage, read> $X: array<vec4<f32>>;

fn load_$X(tid: u32, k0: u32, i0: u32, base: u32, ni: u32, si: u32, sk: u32) {
    let kk = tid / 16u;
    let q = tid % 16u;
    let gk = k0 + kk;
    let i = i0 + q * 4u;
    var v = vec4<f32>(0.0);
    if (gk < p.k && i < ni) { v = $X[(base + i + gk * sk) / 4u]; }
    $S[kk * 16u + q] = v;
}
