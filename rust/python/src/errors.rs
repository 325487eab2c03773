//! Maps the core crate's errors onto Python exceptions.

use ferrograd_core::Error;
use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::PyErr;

pub fn to_py(err: Error) -> PyErr {
    match err {
        Error::Shape(msg) | Error::OutOfBounds(msg) => PyValueError::new_err(msg),
        Error::Overflow(msg) => PyOverflowError::new_err(msg),
    }
}

/// `to_py` with the binding's name in front of the message, keeping the exception type.
pub fn in_op(op: &str, err: Error) -> PyErr {
    to_py(match err {
        Error::Shape(m) => Error::Shape(format!("{op}: {m}")),
        Error::OutOfBounds(m) => Error::OutOfBounds(format!("{op}: {m}")),
        Error::Overflow(m) => Error::Overflow(format!("{op}: {m}")),
    })
}
