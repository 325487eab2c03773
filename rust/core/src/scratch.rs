//! Scratch vectors kept per thread between calls: the big temporaries of a sequence step (the
//! time-major copy of x, dG, dx, a packed weight) would otherwise be fresh pages that the OS
//! zeroes on every call, a measurable part of an LSTM step.

use std::any::Any;
use std::cell::RefCell;

const KEEP: usize = 8;

thread_local! {
    static POOL: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// A kept vector of this type with capacity for `cap` (the smallest that fits), or a new one.
fn reuse<F: 'static>(cap: usize) -> Vec<F> {
    let reused = POOL.with(|p| {
        let mut p = p.borrow_mut();
        let fits = |v: &Box<dyn Any>| {
            v.downcast_ref::<Vec<F>>()
                .filter(|v| v.capacity() >= cap)
                .map(|v| v.capacity())
        };
        let i = (0..p.len())
            .filter(|&i| fits(&p[i]).is_some())
            .min_by_key(|&i| fits(&p[i]))?;
        Some(p.swap_remove(i))
    });
    reused
        .and_then(|v| v.downcast::<Vec<F>>().ok())
        .map(|v| *v)
        .unwrap_or_default()
}

/// `len` elements for a buffer the caller overwrites completely: their values are whatever
/// an earlier call left there (`fill` only where the vector had to grow), which saves a
/// pass over memory that filling a multi-megabyte buffer would cost.
pub fn take_overwritten<F: Copy + 'static>(len: usize, fill: F) -> Vec<F> {
    let mut v = reuse::<F>(len);
    v.truncate(len);
    v.resize(len, fill);
    v
}

/// Hand a vector back for later calls on this thread.
pub fn give<F: 'static>(v: Vec<F>) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < KEEP {
            p.push(Box::new(v));
        }
    });
}
