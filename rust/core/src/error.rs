//! The one error type of the core crate. Bindings map each variant to a Python exception.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Shapes, ranks or strides that the operation cannot accept.
    Shape(String),
    /// A view whose strides would reach outside the buffer it claims to describe.
    OutOfBounds(String),
    /// A size computation (element count, padded extent, dilated kernel) that overflows.
    Overflow(String),
}

/// Elements of `shape`, or `Error::Overflow` naming `op` and `what` when the count (or its
/// size in bytes, for elements of `elem_bytes`) does not fit in `isize`, as numpy requires.
pub fn checked_numel(op: &str, what: &str, shape: &[usize], elem_bytes: usize) -> Result<usize> {
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &d| if d > isize::MAX as usize { None } else { acc.checked_mul(d) })
        .filter(|n| n.checked_mul(elem_bytes.max(1)).is_some_and(|b| b <= isize::MAX as usize));
    n.ok_or_else(|| Error::Overflow(format!("{op}: {what} of shape {shape:?} is too large (its size overflows)")))
}

/// `a + b` and `a * b` that report overflow as `Error::Overflow` with the given message.
pub fn add(a: usize, b: usize, msg: impl FnOnce() -> String) -> Result<usize> {
    a.checked_add(b).filter(|&v| v <= isize::MAX as usize).ok_or_else(|| Error::Overflow(msg()))
}
pub fn mul(a: usize, b: usize, msg: impl FnOnce() -> String) -> Result<usize> {
    a.checked_mul(b).filter(|&v| v <= isize::MAX as usize).ok_or_else(|| Error::Overflow(msg()))
}

/// `Error::Shape` naming `op` when the buffer `what` holds `got` elements instead of `want`.
pub(crate) fn check_len(op: &str, what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::Shape(format!(
            "{op}: {what} holds {got} elements, expected {want}"
        )));
    }
    Ok(())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape(msg) | Error::OutOfBounds(msg) | Error::Overflow(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
