//! The argument helpers every binding uses: borrowing array arguments as C-ordered slices,
//! allocating outputs with a checked size, and the last-resort guard that turns a Rust panic
//! into a Python exception (a `PanicException` is a BaseException that `except Exception`
//! does not catch).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use std::os::raw::c_int;

use numpy::npyffi::{self, npy_intp, PY_ARRAY_API};
use numpy::{Element, PyArrayDescrMethods, PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

thread_local! {
    /// The binding now running on this thread, so helpers deep inside can name it.
    static CURRENT_OP: Cell<&'static str> = const { Cell::new("ferrograd._native") };
}

/// Runs a binding body; a panic anywhere inside it (kernel or glue) becomes a RuntimeError
/// naming the binding instead of crossing into Python as a PanicException.
pub fn guard<R>(op: &'static str, f: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    let outer = CURRENT_OP.with(|c| c.replace(op));
    let result = catch_unwind(AssertUnwindSafe(f));
    CURRENT_OP.with(|c| c.set(outer));
    result.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(PyRuntimeError::new_err(format!("{op}: internal error in the native kernel: {msg}")))
    })
}

/// The elements of `a` in C order, or ValueError. numpy's `as_slice` also accepts Fortran
/// order, whose elements a kernel would read in the wrong order.
pub fn slice<'a, T: Element>(op: &str, what: &str, a: &'a PyReadonlyArrayDyn<'_, T>) -> PyResult<&'a [T]> {
    let err = || PyValueError::new_err(format!("{op}: {what} must be a C-contiguous array"));
    if !a.is_c_contiguous() {
        return Err(err());
    }
    a.as_slice().map_err(|_| err())
}

/// Elements of `shape`, or None when the array would need more bytes than numpy allows.
pub fn checked_numel<T>(shape: &[usize]) -> Option<usize> {
    let n = shape.iter().try_fold(1usize, |acc, &d| if d > isize::MAX as usize { None } else { acc.checked_mul(d) })?;
    let bytes = n.checked_mul(std::mem::size_of::<T>().max(1))?;
    (bytes <= isize::MAX as usize).then_some(n)
}

/// A new, uninitialised C-contiguous array; the caller's kernel writes every element before
/// Python can see it. OverflowError (naming the running binding) when the size overflows.
pub fn alloc<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    if checked_numel::<T>(shape).is_none() {
        let op = CURRENT_OP.with(|c| c.get());
        return Err(PyOverflowError::new_err(format!(
            "{op}: an output of shape {shape:?} is too large to allocate"
        )));
    }
    // numpy's own allocation can still fail (MemoryError); `PyArrayDyn::new` would panic on
    // that null pointer, so call the C API and fetch the error instead.
    let mut dims: Vec<npy_intp> = shape.iter().map(|&d| d as npy_intp).collect();
    // SAFETY: the arguments follow PyArray_NewFromDescr's contract (the descriptor reference is
    // stolen); every caller hands the whole buffer to a kernel that overwrites every element.
    unsafe {
        let ptr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, npyffi::NpyTypes::PyArray_Type),
            T::get_dtype(py).into_dtype_ptr(),
            dims.len() as c_int,
            dims.as_mut_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
        );
        if ptr.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, ptr).cast_into_unchecked())
    }
}
