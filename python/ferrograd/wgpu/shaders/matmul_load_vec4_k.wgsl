// Stages a [16 k][64 i] tile of operand $X that is contiguous along k (sk == 1; base, si and
// p.k multiples of 4) with one vec4 load per thread (4 k of one i), scattered into the k-major
// tile.
@group(0) @binding($B) var<storage, read> $X: array<vec4<f32>>;

fn load_$X(tid: u32, k0: u32, i0: u32, base: u32, ni: u32, si: u32, sk: u32) {
    let r = tid / 4u;
    let kq = tid % 4u;
    let i = i0 + r;
    let gk = k0 + kq * 4u;
    var v = vec4<f32>(0.0);
    if (gk < p.k && i < ni) { v = $X[(base + i * si + gk) / 4u]; }
    for (var j = 0u; j < 4u; j++) {
        $S[(kq * 4u + j) * 16u + r / 4u][r % 4u] = v[j];
    }
}
