// Stages a [16 k][64 i] tile of operand $X (element (i, k) at base + i * si + k * sk, any
// strides) into $S, k-major: thread t loads 4 neighbours in i of one k. Zero past ni and p.k.
@group(0) @binding($B) var<storage, read> $X: array<f32>;

fn load_$X(tid: u32, k0: u32, i0: u32, base: u32, ni: u32, si: u32, sk: u32) {
    let kk = tid / 16u;
    let q = tid % 16u;
    let gk = k0 + kk;
    var v = vec4<f32>(0.0);
    if (gk < p.k) {
        for (var j = 0u; j < 4u; j++) {
            let i = i0 + q * 4u + j;
            if (i < ni) { v[j] = $X[base + i * si + gk * sk]; }
        }
    }
    $S[kk * 16u + q] = v;
}
