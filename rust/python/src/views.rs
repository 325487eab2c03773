//! Borrowing numpy arrays as core `StridedView`s, without copying.

use ferrograd_core::StridedView;
use numpy::{Element, PyReadonlyArrayDyn};

/// The core view of a numpy array of any strides, including negative and zero ones.
pub fn view<'a, T: Element>(array: &'a PyReadonlyArrayDyn<'_, T>) -> ferrograd_core::Result<StridedView<'a, T>> {
    let v = array.as_array();
    let shape = v.shape().to_vec();
    let strides = v.strides().to_vec();
    let empty = shape.contains(&0);
    // The lowest element the view can reach and the span up to the highest one.
    let (mut back, mut span) = (0usize, 1usize);
    for (&n, &s) in shape.iter().zip(&strides) {
        let reach = (n.saturating_sub(1)) * s.unsigned_abs();
        if s < 0 {
            back += reach;
        }
        span += reach;
    }
    let data: &'a [T] = if empty {
        &[]
    } else {
        // SAFETY: numpy guarantees every element of the array is readable memory of type T,
        // and [lowest, lowest + span) is exactly the range those elements occupy.
        unsafe { std::slice::from_raw_parts(v.as_ptr().sub(back), span) }
    };
    StridedView::new(data, if empty { 0 } else { back }, &shape, &strides)
}
