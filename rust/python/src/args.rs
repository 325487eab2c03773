//! The argument helpers every binding uses, and the only place they are defined:
//!
//! - the last-resort [`guard`] that turns a Rust panic into a Python exception (a
//!   `PanicException` is a BaseException that `except Exception` does not catch);
//! - float dtype dispatch: [`by_dtype!`] picks the f32 or f64 instantiation of a binding from
//!   one array argument, and [`arr`] / [`opt_arr`] borrow the others as that dtype;
//! - borrowing arrays without copies: [`slice`] (C order, checked) for kernels that read flat
//!   buffers, [`view`] (any strides) for kernels that take strided views, [`writable`] for
//!   arrays updated in place;
//! - outputs: [`alloc`] (size checked), [`out_slice`] / [`with_mut`].

use std::cell::Cell;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ferrograd_core::StridedView;
use numpy::npyffi::{self, npy_intp, PY_ARRAY_API};
use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyReadwriteArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::to_py;

thread_local! {
    /// The binding now running on this thread, so helpers deep inside can name it.
    static CURRENT_OP: Cell<&'static str> = const { Cell::new("ferrograd._native") };
}

/// Runs a binding body; a panic anywhere inside it (kernel or glue) becomes a RuntimeError
/// naming the binding instead of crossing into Python as a PanicException.
pub fn guard<R>(op: &'static str, f: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    ferrograd_core::par::run_on_caller(); // one thread in all: no hand-off to a pool thread
    let outer = CURRENT_OP.with(|c| c.replace(op));
    let result = catch_unwind(AssertUnwindSafe(f));
    CURRENT_OP.with(|c| c.set(outer));
    ferrograd_core::par::keep_warm(); // the next kernel finds the pool's threads awake
    result.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(PyRuntimeError::new_err(format!("{op}: internal error in the native kernel: {msg}")))
    })
}

// ---- float dtype dispatch ---------------------------------------------------------------------

/// The float dtypes the kernels are built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatKind {
    F32,
    F64,
}

/// The float dtype of the numpy array `a`, or None (another dtype, or not an array). Reads the
/// dtype only: the array is not borrowed, so the binding may then borrow it as it needs.
pub fn float_kind(a: &Bound<'_, PyAny>) -> Option<FloatKind> {
    let dt = a.cast::<PyUntypedArray>().ok()?.dtype();
    let py = a.py();
    if dt.is_equiv_to(&f32::get_dtype(py)) {
        Some(FloatKind::F32)
    } else if dt.is_equiv_to(&f64::get_dtype(py)) {
        Some(FloatKind::F64)
    } else {
        None
    }
}

/// TypeError for an argument `x` that picks the dtype but is no float32/float64 array.
pub fn dtype_error(op: &str, x: &Bound<'_, PyAny>) -> PyErr {
    let got = match x.cast::<PyUntypedArray>() {
        Ok(a) => format!("an array of dtype {}", a.dtype()),
        Err(_) => x.get_type().name().map_or_else(|_| "another object".into(), |n| n.to_string()),
    };
    PyTypeError::new_err(format!(
        "{op}: input must be a numpy array of dtype float32 or float64, got {got}"
    ))
}

/// `$f::<f32>(args)` or `$f::<f64>(args)` by the float dtype of the array `$x`; a TypeError
/// naming `$op` for any other argument.
macro_rules! by_dtype {
    ($op:expr, $x:expr, $f:ident($($a:expr),* $(,)?)) => {{
        let x: &pyo3::Bound<'_, pyo3::PyAny> = $x;
        match $crate::args::float_kind(x) {
            Some($crate::args::FloatKind::F32) => $f::<f32>($($a),*),
            Some($crate::args::FloatKind::F64) => $f::<f64>($($a),*),
            None => Err($crate::args::dtype_error($op, x)),
        }
    }};
}
pub(crate) use by_dtype;

// ---- borrowing array arguments ----------------------------------------------------------------

/// A read-only numpy array of dtype `T` borrowed from Python.
pub type Arr<'py, T> = PyReadonlyArrayDyn<'py, T>;

/// `a` as a read-only numpy array of `T`, or TypeError naming the op and argument.
pub fn arr<'py, T: Element>(op: &str, name: &str, a: &Bound<'py, PyAny>) -> PyResult<Arr<'py, T>> {
    a.extract::<Arr<'py, T>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{op}: {name} must be a numpy array of dtype {}",
            std::any::type_name::<T>()
        ))
    })
}

/// As [`arr`], for an optional argument (absent or Python None gives None).
pub fn opt_arr<'py, T: Element>(
    op: &str,
    name: &str,
    a: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Arr<'py, T>>> {
    match a {
        Some(a) if !a.is_none() => Ok(Some(arr(op, name, a)?)),
        _ => Ok(None),
    }
}

/// The elements of `a` in C order, or ValueError. numpy's `as_slice` also accepts Fortran
/// order, whose elements a kernel would read in the wrong order.
pub fn slice<'a, T: Element>(op: &str, what: &str, a: &'a Arr<'_, T>) -> PyResult<&'a [T]> {
    let err = || PyValueError::new_err(format!("{op}: {what} must be a C-contiguous array"));
    if !a.is_c_contiguous() {
        return Err(err());
    }
    a.as_slice().map_err(|_| err())
}

/// As [`slice`], for an optional argument.
pub fn opt_slice<'a, T: Element>(
    op: &str,
    what: &str,
    a: &'a Option<Arr<'_, T>>,
) -> PyResult<Option<&'a [T]>> {
    a.as_ref().map(|a| slice(op, what, a)).transpose()
}

/// The core view of a numpy array of any strides, including negative and zero ones, without
/// copying: for kernels that read their operands through strides.
pub fn view<'a, T: Element>(array: &'a Arr<'_, T>) -> PyResult<StridedView<'a, T>> {
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
    StridedView::new(data, if empty { 0 } else { back }, &shape, &strides).map_err(to_py)
}

/// As [`view`], for an optional argument.
pub fn opt_view<'a, T: Element>(a: &'a Option<Arr<'_, T>>) -> PyResult<Option<StridedView<'a, T>>> {
    a.as_ref().map(view).transpose()
}

/// A writable borrow of a C-contiguous array of dtype `T`, for arrays updated in place:
/// TypeError / ValueError naming the op and argument otherwise, also when the same array is
/// passed twice.
pub fn writable<'py, T: Element>(
    op: &str,
    name: &str,
    a: &Bound<'py, PyAny>,
) -> PyResult<PyReadwriteArrayDyn<'py, T>> {
    let a = a.extract::<Bound<'py, PyArrayDyn<T>>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{op}: {name} must be a numpy array of dtype {}",
            std::any::type_name::<T>()
        ))
    })?;
    if !a.is_c_contiguous() {
        return Err(PyValueError::new_err(format!("{op}: {name} must be C-contiguous")));
    }
    a.try_readwrite()
        .map_err(|e| PyValueError::new_err(format!("{op}: {name} cannot be written in place ({e})")))
}

// ---- outputs ----------------------------------------------------------------------------------

/// Elements of `shape`, or None when the array would need more bytes than numpy allows.
pub fn checked_numel<T>(shape: &[usize]) -> Option<usize> {
    let n = shape.iter().try_fold(1usize, |acc, &d| {
        if d > isize::MAX as usize {
            None
        } else {
            acc.checked_mul(d)
        }
    })?;
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

/// The mutable elements of an output array borrowed for writing (one from [`alloc`] is always
/// contiguous; ValueError otherwise).
pub fn out_slice<'a, T: Element>(rw: &'a mut PyReadwriteArrayDyn<'_, T>) -> PyResult<&'a mut [T]> {
    rw.as_slice_mut()
        .map_err(|_| PyValueError::new_err("output is not contiguous"))
}

/// Runs `f` on the mutable elements of a freshly allocated array.
pub fn with_mut<T: Element, R>(a: &Bound<'_, PyArrayDyn<T>>, f: impl FnOnce(&mut [T]) -> R) -> PyResult<R> {
    let mut rw = a.readwrite();
    Ok(f(out_slice(&mut rw)?))
}

/// Python's None, for an optional output that was not asked for.
pub fn none_obj(py: Python<'_>) -> Bound<'_, PyAny> {
    py.None().into_bound(py)
}
