//! The one error type of the core crate. Bindings map each variant to a Python exception.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Shapes, ranks or strides that the operation cannot accept.
    Shape(String),
    /// A view whose strides would reach outside the buffer it claims to describe.
    OutOfBounds(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape(msg) | Error::OutOfBounds(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
