//! Maps the core crate's errors onto Python exceptions.

use ferrograd_core::Error;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

pub fn to_py(err: Error) -> PyErr {
    match err {
        Error::Shape(msg) | Error::OutOfBounds(msg) => PyValueError::new_err(msg),
    }
}
