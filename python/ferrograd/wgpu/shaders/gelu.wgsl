// Exact (erf) GELU and its derivative, shared by the mixing kernels (prefixed to their source).
// Φ(x) from erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7), as the CPU kernel
// does, so the lower tail keeps its relative accuracy instead of cancelling in 1 + erf.
fn ncdf(x: f32) -> f32 {
    let z = abs(x) * 0.70710678118654752;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let half = 0.5 * t * exp(-z * z + poly);
    return select(half, 1.0 - half, x >= 0.0);
}

fn gelu(x: f32) -> f32 {
    return x * ncdf(x);
}

fn gelu_grad(x: f32) -> f32 {
    return ncdf(x) + x * 0.3989422804014327 * exp(-0.5 * x * x);
}
