//! Bindings of the softmax kernels: softmax / log_softmax over the last axis and the fused
//! cross-entropy (class-index and class-probability targets).

use ferrograd_core::softmax::{self as k, CrossEntropyOpts, SoftmaxFloat};
use numpy::{Element, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args::{alloc, arr, by_dtype, none_obj, opt_arr, opt_slice, out_slice, slice, with_mut};
use crate::errors::to_py;

fn last_dim(op: &str, shape: &[usize]) -> PyResult<usize> {
    shape
        .last()
        .copied()
        .ok_or_else(|| PyValueError::new_err(format!("{op}: input must have at least 1 dim")))
}

fn softmax_fwd_t<'py, T: SoftmaxFloat + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    log: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = if log { "log_softmax" } else { "softmax" };
    let x = arr::<T>(op, "input", x)?;
    let cols = last_dim(op, x.shape())?;
    let xs = slice(op, "input", &x)?;
    let out = alloc::<T>(py, x.shape())?;
    with_mut(&out, |o| py.detach(|| k::softmax_forward(xs, cols, log, o)))?.map_err(to_py)?;
    Ok(out.into_any())
}

fn softmax_bwd_t<'py, T: SoftmaxFloat + Element>(
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
    let (ys, gs) = (slice(op, "output", &y)?, slice(op, "grad", &gy)?);
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

fn ce_fwd_t<'py, T: SoftmaxFloat + Element>(
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
    let (xs, ts) = (slice(op, "input", &x)?, slice(op, "target", &t)?);
    let ws = opt_slice(op, "weight", &w)?;
    let opts = CrossEntropyOpts {
        weight: ws,
        ignore_index,
        label_smoothing: T::from_f64(label_smoothing),
    };
    let (loss, lse) = (alloc::<T>(py, &[rows])?, alloc::<T>(py, &[rows])?);
    {
        let mut lrw = loss.readwrite();
        let mut srw = lse.readwrite();
        let (ls, ss) = (out_slice(&mut lrw)?, out_slice(&mut srw)?);
        py.detach(|| k::cross_entropy_forward(xs, ts, classes, opts, ls, ss))
            .map_err(to_py)?;
    }
    Ok(PyTuple::new(py, [loss.into_any(), lse.into_any()])?.into_any())
}

#[allow(clippy::too_many_arguments)]
fn ce_bwd_t<'py, T: SoftmaxFloat + Element>(
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
        slice(op, "input", &x)?,
        slice(op, "target", &t)?,
        slice(op, "lse", &lse)?,
        slice(op, "grad", &g)?,
    );
    let ws = opt_slice(op, "weight", &w)?;
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

fn cep_fwd_t<'py, T: SoftmaxFloat + Element>(
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
    let (xs, ts) = (slice(op, "input", &x)?, slice(op, "target", &t)?);
    let ws = opt_slice(op, "weight", &w)?;
    let ls_ = T::from_f64(label_smoothing);
    let (loss, lse) = (alloc::<T>(py, &[rows])?, alloc::<T>(py, &[rows])?);
    {
        let mut lrw = loss.readwrite();
        let mut srw = lse.readwrite();
        let (ls, ss) = (out_slice(&mut lrw)?, out_slice(&mut srw)?);
        py.detach(|| k::cross_entropy_prob_forward(xs, ts, classes, ws, ls_, ls, ss))
            .map_err(to_py)?;
    }
    Ok(PyTuple::new(py, [loss.into_any(), lse.into_any()])?.into_any())
}

#[allow(clippy::too_many_arguments)]
fn cep_bwd_t<'py, T: SoftmaxFloat + Element>(
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
        slice(op, "input", &x)?,
        slice(op, "target", &t)?,
        slice(op, "lse", &lse)?,
        slice(op, "grad", &g)?,
    );
    let ws = opt_slice(op, "weight", &w)?;
    let eps = T::from_f64(label_smoothing);
    let dx = alloc::<T>(py, x.shape())?;
    let dt = if need_target_grad {
        Some(alloc::<T>(py, x.shape())?)
    } else {
        None
    };
    {
        let mut xrw = dx.readwrite();
        let dxs = out_slice(&mut xrw)?;
        let mut trw = dt.as_ref().map(|a| a.readwrite());
        let dts = trw.as_mut().map(out_slice).transpose()?;
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
