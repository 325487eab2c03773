// f32 classification by bit pattern, prefixed to the shaders that need it (WGSL has no includes):
// compilers may fold float self-comparisons (x != x) away, and llvmpipe's does.
const F32_NAN_BITS: u32 = 0x7fc00000u;
fn fisnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn fisinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn fisfinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) < 0x7f800000u; }

// numpy's maximum / minimum propagate NaN; WGSL's max / min may return the other operand.
fn fmaxn(a: f32, b: f32) -> f32 { return select(max(a, b), bitcast<f32>(F32_NAN_BITS), fisnan(a) || fisnan(b)); }
fn fminn(a: f32, b: f32) -> f32 { return select(min(a, b), bitcast<f32>(F32_NAN_BITS), fisnan(a) || fisnan(b)); }
