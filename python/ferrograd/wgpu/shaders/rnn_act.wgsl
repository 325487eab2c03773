// Activations of the recurrent cells (prefixed to their step kernels). tanh is written out:
// the builtin may return NaN for large |x| on some drivers (inf / inf).
fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

fn tanh_(x: f32) -> f32 {
    let a = abs(x);
    if (a < 0.125) {  // odd Taylor polynomial: no cancellation in 1 - e near 0
        let x2 = x * x;
        return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))));
    }
    let e = exp(-2.0 * a);
    return sign(x) * (1.0 - e) / (1.0 + e);
}
