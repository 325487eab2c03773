//! Bindings of the softmax kernels: softmax / log_softmax over the last axis and the fused
//! cross-entropy (class-index and class-probability targets). Also the small helpers the
//! norm and embedding bindings share (typed borrows, contiguous slices, output allocation).

use ferrograd_core::softmax::{self as k, CrossEntropyOpts, Real};
use numpy::{Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::to_py;

/// The array as a read-only numpy array of `T`, or TypeError naming the op and argument.
pub(crate) fn arr<'py, T: Element>(
    op: &str,
    name: &str,
    a: &Bound<'py, PyAny>,
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    a.extract::<PyReadonlyArrayDyn<'py, T>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{op}: {name} must be a numpy array of dtype {}",
            std::any::type_name::<T>()
        ))
    })
}

pub(crate) fn opt_arr<'py, T: Element>(
    op: &str,
    name: &str,
    a: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<PyReadonlyArrayDyn<'py, T>>> {
    match a {
        Some(a) if !a.is_none() => Ok(Some(arr(op, name, a)?)),
        _ => Ok(None),
    }
}

/// The elements of a C-contiguous array, or ValueError.
pub(crate) fn sl<'a, T: Element>(
    op: &str,
    name: &str,
    a: &'a PyReadonlyArrayDyn<'_, T>,
) -> PyResult<&'a [T]> {
    crate::args::slice(op, name, a)
}

/// A new C-contiguous array whose every element the kernel writes before Python sees it.
pub(crate) fn alloc<'py, T: Element>(
    py: Python<'py>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    crate::args::alloc(py, shape)
}

/// Runs `f` on the mutable elements of a freshly allocated array.
pub(crate) fn with_mut<T: Element, R>(
    a: &Bound<'_, PyArrayDyn<T>>,
    f: impl FnOnce(&mut [T]) -> R,
) -> PyResult<R> {
    let mut rw = a.readwrite();
    let s = rw
        .as_slice_mut()
        .map_err(|_| PyValueError::new_err("output is not contiguous"))?;
    Ok(f(s))
}

/// Float dtype of `a`: Some(false) for float32, Some(true) for float64, None otherwise.
pub(crate) fn float_kind(a: &Bound<'_, PyAny>) -> Option<bool> {
    if a.extract::<PyReadonlyArrayDyn<f32>>().is_ok() {
        Some(false)
    } else if a.extract::<PyReadonlyArrayDyn<f64>>().is_ok() {
        Some(true)
    } else {
        None
    }
}

pub(crate) fn dtype_error(op: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "{op}: input must be a numpy array of dtype float32 or float64"
    ))
}

pub(crate) fn none_obj(py: Python<'_>) -> Bound<'_, PyAny> {
    py.None().into_bound(py)
}

/// Dispatches `$f::<f32>` or `$f::<f64>` on the dtype of `$x`.
macro_rules! by_dtype {
    ($op:expr, $x:expr, $f:ident($($a:expr),*)) => {
        match crate::softmax::float_kind($x) {
            Some(false) => $f::<f32>($($a),*),
            Some(true) => $f::<f64>($($a),*),
            None => Err(crate::softmax::dtype_error($op)),
        }
    };
}
pub(crate) use by_dtype;

fn last_dim(op: &str, shape: &[usize]) -> PyResult<usize> {
    shape
        .last()
        .copied()
        .ok_or_else(|| PyValueError::new_err(format!("{op}: input must have at least 1 dim")))
}

fn softmax_fwd_t<'py, T: Real + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    log: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = if log { "log_softmax" } else { "softmax" };
    let x = arr::<T>(op, "input", x)?;
    let cols = last_dim(op, x.shape())?;
    let xs = sl(op, "input", &x)?;
    let out = alloc::<T>(py, x.shape())?;
    with_mut(&out, |o| py.detach(|| k::softmax_forward(xs, cols, log, o)))?.map_err(to_py)?;
    Ok(out.into_any())
}

fn softmax_bwd_t<'py, T: Real + Element>(
    py: Python<'py>,
    y: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    log: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = if log {
        "log_softmax_backward"
    } else {
        "softmax_backward"
    };
    let (y, gy) = (arr::<T>(op, "output", y)?, arr::<T>(op, "grad", gy)?);
    if y.shape() != gy.shape() {
        return Err(PyValueError::new_err(format!(
            "{op}: grad shape {:?} != output shape {:?}",
            gy.shape(),
            y.shape()
        )));
    }
    let cols = last_dim(op, y.shape())?;
    let (ys, gs) = (sl(op, "output", &y)?, sl(op, "grad", &gy)?);
    let out = alloc::<T>(py, y.shape())?;
    with_mut(&out, |o| {
        py.detach(|| k::softmax_backward(ys, gs, cols, log, o))
    })?
    .map_err(to_py)?;
    Ok(out.into_any())
}

/// softmax (log_softmax when `log`) over the last axis of a C-contiguous float array.
#[pyfunction]
fn softmax_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    log: bool,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("softmax_forward", || {
        by_dtype!("softmax", x, softmax_fwd_t(py, x, log))
    })
}

/// Gradient of softmax (log_softmax when `log`) from its output `y` and upstream `gy`.
#[pyfunction]
fn softmax_backward<'py>(
    py: Python<'py>,
    y: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    log: bool,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("softmax_backward", || {
        by_dtype!("softmax_backward", y, softmax_bwd_t(py, y, gy, log))
    })
}

fn rows_cols(op: &str, shape: &[usize]) -> PyResult<(usize, usize)> {
    let c = last_dim(op, shape)?;
    Ok((shape[..shape.len() - 1].iter().product(), c))
}

fn ce_fwd_t<'py, T: Real + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    ignore_index: i64,
    label_smoothing: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "cross_entropy";
    let x = arr::<T>(op, "input", x)?;
    let t = arr::<i64>(op, "target", target)?;
    let w = opt_arr::<T>(op, "weight", weight)?;
    let (rows, classes) = rows_cols(op, x.shape())?;
    let (xs, ts) = (sl(op, "input", &x)?, sl(op, "target", &t)?);
    let ws = match &w {
        Some(w) => Some(sl(op, "weight", w)?),
        None => None,
    };
    let opts = CrossEntropyOpts {
        weight: ws,
        ignore_index,
        label_smoothing: T::from_f64(label_smoothing),
    };
    let (loss, lse) = (alloc::<T>(py, &[rows])?, alloc::<T>(py, &[rows])?);
    {
        let mut lrw = loss.readwrite();
        let mut srw = lse.readwrite();
        let ls = lrw
            .as_slice_mut()
            .map_err(|_| PyValueError::new_err("output is not contiguous"))?;
        let ss = srw
            .as_slice_mut()
            .map_err(|_| PyValueError::new_err("output is not contiguous"))?;
        py.detach(|| k::cross_entropy_forward(xs, ts, classes, opts, ls, ss))
            .map_err(to_py)?;
    }
    Ok(PyTuple::new(py, [loss.into_any(), lse.into_any()])?.into_any())
}

#[allow(clippy::too_many_arguments)]
fn ce_bwd_t<'py, T: Real + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    ignore_index: i64,
    label_smoothing: f64,
    lse: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "cross_entropy_backward";
    let x = arr::<T>(op, "input", x)?;
    let t = arr::<i64>(op, "target", target)?;
    let w = opt_arr::<T>(op, "weight", weight)?;
    let (lse, g) = (arr::<T>(op, "lse", lse)?, arr::<T>(op, "grad", g)?);
    let (_, classes) = rows_cols(op, x.shape())?;
    let (xs, ts, ls, gs) = (
        sl(op, "input", &x)?,
        sl(op, "target", &t)?,
        sl(op, "lse", &lse)?,
        sl(op, "grad", &g)?,
    );
    let ws = match &w {
        Some(w) => Some(sl(op, "weight", w)?),
        None => None,
    };
    let opts = CrossEntropyOpts {
        weight: ws,
        ignore_index,
        label_smoothing: T::from_f64(label_smoothing),
    };
    let out = alloc::<T>(py, x.shape())?;
    with_mut(&out, |o| {
        py.detach(|| k::cross_entropy_backward(xs, ts, classes, opts, ls, gs, o))
    })?
    .map_err(to_py)?;
    Ok(out.into_any())
}

/// Per-sample cross-entropy of (rows, C) logits against int64 class indices: (loss, lse).
#[pyfunction]
#[pyo3(signature = (x, target, weight, ignore_index, label_smoothing))]
fn cross_entropy_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    ignore_index: i64,
    label_smoothing: f64,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("cross_entropy_forward", || {
        by_dtype!(
            "cross_entropy",
            x,
            ce_fwd_t(py, x, target, weight, ignore_index, label_smoothing)
        )
    })
}

/// Gradient w.r.t. the logits of `cross_entropy_forward`'s per-sample losses, given their
/// upstream gradient `g`.
#[pyfunction]
#[pyo3(signature = (x, target, weight, ignore_index, label_smoothing, lse, g))]
#[allow(clippy::too_many_arguments)]
fn cross_entropy_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    ignore_index: i64,
    label_smoothing: f64,
    lse: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("cross_entropy_backward", || {
        by_dtype!(
            "cross_entropy_backward",
            x,
            ce_bwd_t(py, x, target, weight, ignore_index, label_smoothing, lse, g)
        )
    })
}

fn cep_fwd_t<'py, T: Real + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    label_smoothing: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "cross_entropy";
    let x = arr::<T>(op, "input", x)?;
    let t = arr::<T>(op, "target", target)?;
    let w = opt_arr::<T>(op, "weight", weight)?;
    let (rows, classes) = rows_cols(op, x.shape())?;
    let (xs, ts) = (sl(op, "input", &x)?, sl(op, "target", &t)?);
    let ws = match &w {
        Some(w) => Some(sl(op, "weight", w)?),
        None => None,
    };
    let ls_ = T::from_f64(label_smoothing);
    let (loss, lse) = (alloc::<T>(py, &[rows])?, alloc::<T>(py, &[rows])?);
    {
        let mut lrw = loss.readwrite();
        let mut srw = lse.readwrite();
        let ls = lrw
            .as_slice_mut()
            .map_err(|_| PyValueError::new_err("output is not contiguous"))?;
        let ss = srw
            .as_slice_mut()
            .map_err(|_| PyValueError::new_err("output is not contiguous"))?;
        py.detach(|| k::cross_entropy_prob_forward(xs, ts, classes, ws, ls_, ls, ss))
            .map_err(to_py)?;
    }
    Ok(PyTuple::new(py, [loss.into_any(), lse.into_any()])?.into_any())
}

#[allow(clippy::too_many_arguments)]
fn cep_bwd_t<'py, T: Real + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    label_smoothing: f64,
    lse: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
    need_target_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "cross_entropy_backward";
    let x = arr::<T>(op, "input", x)?;
    let t = arr::<T>(op, "target", target)?;
    let w = opt_arr::<T>(op, "weight", weight)?;
    let (lse, g) = (arr::<T>(op, "lse", lse)?, arr::<T>(op, "grad", g)?);
    let (_, classes) = rows_cols(op, x.shape())?;
    let (xs, ts, ls, gs) = (
        sl(op, "input", &x)?,
        sl(op, "target", &t)?,
        sl(op, "lse", &lse)?,
        sl(op, "grad", &g)?,
    );
    let ws = match &w {
        Some(w) => Some(sl(op, "weight", w)?),
        None => None,
    };
    let eps = T::from_f64(label_smoothing);
    let dx = alloc::<T>(py, x.shape())?;
    let dt = if need_target_grad {
        Some(alloc::<T>(py, x.shape())?)
    } else {
        None
    };
    {
        let mut xrw = dx.readwrite();
        let dxs = xrw
            .as_slice_mut()
            .map_err(|_| PyValueError::new_err("output is not contiguous"))?;
        let mut trw = dt.as_ref().map(|a| a.readwrite());
        let dts = match trw.as_mut() {
            Some(rw) => Some(
                rw.as_slice_mut()
                    .map_err(|_| PyValueError::new_err("output is not contiguous"))?,
            ),
            None => None,
        };
        py.detach(|| k::cross_entropy_prob_backward(xs, ts, classes, ws, eps, ls, gs, dxs, dts))
            .map_err(to_py)?;
    }
    let dt_obj = match dt {
        Some(a) => a.into_any(),
        None => none_obj(py),
    };
    Ok(PyTuple::new(py, [dx.into_any(), dt_obj])?.into_any())
}

/// Per-sample cross-entropy of (rows, C) logits against class probabilities: (loss, lse).
#[pyfunction]
#[pyo3(signature = (x, target, weight, label_smoothing))]
fn cross_entropy_prob_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    label_smoothing: f64,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("cross_entropy_prob_forward", || {
        by_dtype!(
            "cross_entropy",
            x,
            cep_fwd_t(py, x, target, weight, label_smoothing)
        )
    })
}

/// (dx, dtarget or None) of `cross_entropy_prob_forward`'s per-sample losses.
#[pyfunction]
#[pyo3(signature = (x, target, weight, label_smoothing, lse, g, need_target_grad))]
#[allow(clippy::too_many_arguments)]
fn cross_entropy_prob_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    label_smoothing: f64,
    lse: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
    need_target_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("cross_entropy_prob_backward", || {
        by_dtype!(
            "cross_entropy_backward",
            x,
            cep_bwd_t(
                py,
                x,
                target,
                weight,
                label_smoothing,
                lse,
                g,
                need_target_grad
            )
        )
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(softmax_forward, m)?)?;
    m.add_function(wrap_pyfunction!(softmax_backward, m)?)?;
    m.add_function(wrap_pyfunction!(cross_entropy_forward, m)?)?;
    m.add_function(wrap_pyfunction!(cross_entropy_backward, m)?)?;
    m.add_function(wrap_pyfunction!(cross_entropy_prob_forward, m)?)?;
    m.add_function(wrap_pyfunction!(cross_entropy_prob_backward, m)?)?;
    Ok(())
}
