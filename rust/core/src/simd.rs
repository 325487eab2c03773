//! Run-time choice of the vector instruction set, for the kernels whose loops are plain Rust
//! that LLVM vectorises (softmax, cross-entropy, norm, the recurrent gate passes, mixing, the
//! attention tiles; the packed recurrent GEMM picks its AVX-512 tile with [`level`] too).
//!
//! The CPU is asked once; the answer is kept as a [`Level`]. A loop is compiled three times,
//! for AVX-512, for AVX2+FMA and for the baseline, and the call runs the widest one the CPU has:
//! either a whole function ([`simd_dispatch!`]) or a closure ([`dispatch`]).
//!
//! The lane helpers at the end (row max / sum / dot over [`LANES`] accumulators) are the
//! reductions those loops share; they are `#[inline(always)]`, so they take the instruction
//! set of the dispatched body they are inlined into.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::num::Float;

/// The widest vector instruction set this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// AVX-512 F, VL and DQ, with AVX2 and FMA.
    Avx512,
    /// AVX2 and FMA.
    Avx2,
    /// Neither: the build's baseline (SSE2 on x86-64, or another architecture).
    Plain,
}

/// 0 until the CPU was asked, then 1 + the `Level` as below.
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// This CPU's level (detected on the first call, then one relaxed load).
#[inline(always)]
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Avx512,
        2 => Level::Avx2,
        3 => Level::Plain,
        _ => detect(),
    }
}

#[cold]
fn detect() -> Level {
    let level = detect_uncached();
    let code = match level {
        Level::Avx512 => 1,
        Level::Avx2 => 2,
        Level::Plain => 3,
    };
    LEVEL.store(code, Ordering::Relaxed);
    level
}

fn detect_uncached() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let avx2 = has!("avx2") && has!("fma");
        if avx2 && has!("avx512f") && has!("avx512vl") && has!("avx512dq") {
            return Level::Avx512;
        }
        if avx2 {
            return Level::Avx2;
        }
    }
    Level::Plain
}

/// Runs a closure of elementwise loops compiled for the widest vector unit the CPU has. Mark the
/// closure `#[inline(always)]` so that its body is compiled inside the feature-enabled caller.
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        match level() {
            // SAFETY: the level's features were detected on this CPU.
            Level::Avx512 => return unsafe { with_avx512(f) },
            // SAFETY: as above.
            Level::Avx2 => return unsafe { with_avx2(f) },
            Level::Plain => {}
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Defines `fn name<T: Bound>(args) -> ret` whose body is compiled three times (AVX-512,
/// AVX2+FMA, baseline) and chosen at run time from [`level`]. `Bound` is any float trait
/// (`Float` or one of its extensions).
macro_rules! simd_dispatch {
    ($(#[$m:meta])* $vis:vis fn $name:ident<$T:ident: $B:path>($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<$T: $B>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn inner<$T: $B>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v4<$T: $B>($($arg: $ty),*) $(-> $ret)? { inner($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v3<$T: $B>($($arg: $ty),*) $(-> $ret)? { inner($($arg),*) }
                match $crate::simd::level() {
                    // SAFETY: the CPU has the features the function was compiled for.
                    $crate::simd::Level::Avx512 => return unsafe { v4($($arg),*) },
                    // SAFETY: as above.
                    $crate::simd::Level::Avx2 => return unsafe { v3($($arg),*) },
                    $crate::simd::Level::Plain => {}
                }
            }
            inner($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

// ---- lane helpers (inlined into the dispatched bodies) --------------------------------------

/// Lane width of the reduction loops (16 f32 = one zmm register).
pub(crate) const LANES: usize = 16;

#[inline(always)]
pub(crate) fn hsum<T: Float>(acc: [T; LANES]) -> T {
    let mut s = T::ZERO;
    for v in acc {
        s += v;
    }
    s
}

/// Reduces LANES values pairwise with `f` (fixed halving steps: 4 dependent steps in vector
/// registers, not a fold's 16 scalar ones). For sums that are a row's latency chain, as in the
/// layer-norm backward (1280×64: 46 -> 35 µs); in its forward the tree measured slower than
/// [`hsum`] (41 -> 49 µs).
#[inline(always)]
pub(crate) fn tree<T: Copy>(acc: [T; LANES], f: impl Fn(T, T) -> T) -> T {
    let mut a8 = [acc[0]; 8];
    for u in 0..8 {
        a8[u] = f(acc[u], acc[u + 8]);
    }
    let mut a4 = [acc[0]; 4];
    for u in 0..4 {
        a4[u] = f(a8[u], a8[u + 4]);
    }
    f(f(a4[0], a4[2]), f(a4[1], a4[3]))
}

#[inline(always)]
pub(crate) fn row_max<T: Float>(x: &[T]) -> T {
    let mut acc = [T::NEG_INF; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    let mut m = T::NEG_INF;
    for v in acc.into_iter().chain(rest.iter().copied()) {
        m = if v > m { v } else { m };
    }
    // A NaN never wins a `>` comparison, but it still reaches the outputs through exp(x - m).
    m
}

#[inline(always)]
pub(crate) fn row_sum<T: Float>(x: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    let mut s = hsum(acc);
    for &v in rest {
        s += v;
    }
    s
}

#[inline(always)]
pub(crate) fn row_dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = hsum(acc);
    for (&x, &y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_is_detected_once_and_kept() {
        let first = level();
        assert_eq!(first, detect_uncached());
        assert_ne!(LEVEL.load(Ordering::Relaxed), 0);
        assert_eq!(level(), first);
        assert_eq!(dispatch(|| 7), 7);
    }
}
