//! Dead taps: on maps smaller than the kernel's reach, some kernel taps read only padding for
//! every output pixel (a 3×3, padding-1 conv on a 1×1 map uses only its centre; a dilation-4
//! 3×3 conv on a 4×4 map too). Per axis the live taps are a contiguous range, so the conv equals
//! the conv with the kernel cropped to that box and the padding reduced by as many dilated steps
//! as the box starts in: every path below then runs on the live taps alone (a cropped 1×1 kernel
//! is a plain GEMM; a cropped 3×3 one may take Winograd). Backward-weight writes zeros on the
//! dead taps.
//!
//! The one difference: a dead tap multiplies only zeros of the padding, so an inf or NaN weight
//! there gives NaN in the uncropped product and nothing here (as if padding were skipped).

use super::batched::Taps;
use super::Conv2dShape;
use crate::num::Float;
use crate::scratch;

/// The conv on the live taps' box, and that box; None where every tap is live.
pub(super) fn cropped(s: &Conv2dShape) -> Option<(Conv2dShape, Taps)> {
    let live = Taps::live(s);
    if live == Taps::all(s) {
        return None;
    }
    // The box starts no later than tap pad/dil, so the reduced padding stays >= 0 (a dead tap
    // before it reads padding only, which costs its multiply-adds but changes nothing); an axis
    // with no live tap at all keeps one (dead) tap, whose product is zero.
    let axis = |(k0, k1): (usize, usize), pad: usize, dil: usize| {
        let k0 = k0.min(pad / dil);
        (k0, k1.max(k0 + 1))
    };
    let taps = Taps {
        ki: axis(live.ki, s.pad.0, s.dilation.0),
        kj: axis(live.kj, s.pad.1, s.dilation.1),
    };
    let (kh, kw) = (taps.ki.1 - taps.ki.0, taps.kj.1 - taps.kj.0);
    if (kh, kw) == (s.kh, s.kw) {
        return None;
    }
    let c = Conv2dShape {
        kh,
        kw,
        pad: (s.pad.0 - taps.ki.0 * s.dilation.0, s.pad.1 - taps.kj.0 * s.dilation.1),
        ..*s
    };
    c.check().ok()?;
    Some((c, taps))
}

/// The weight on the box's taps: (C_out, C_in/groups, kh', kw'), from scratch (give it back).
pub(super) fn weight<T: Float>(w: &[T], s: &Conv2dShape, taps: &Taps) -> Vec<T> {
    let (kk, tw) = (s.kh * s.kw, taps.kj.1 - taps.kj.0);
    let mut out = scratch::take_overwritten(w.len() / kk * taps.count(), T::ZERO);
    for (plane, dst) in w.chunks_exact(kk).zip(out.chunks_exact_mut(taps.count())) {
        for (r, ki) in (taps.ki.0..taps.ki.1).enumerate() {
            dst[r * tw..(r + 1) * tw]
                .copy_from_slice(&plane[ki * s.kw + taps.kj.0..ki * s.kw + taps.kj.1]);
        }
    }
    out
}
