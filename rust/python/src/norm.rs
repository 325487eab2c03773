//! Bindings of the norm kernels: layer norm and batch norm, forward (saving the statistics the
//! backward needs) and backward.

use ferrograd_core::norm as k;
use ferrograd_core::num::Float;
use numpy::{Element, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args::{alloc, arr, by_dtype, none_obj, opt_arr, opt_slice, out_slice, slice};
use crate::errors::to_py;

fn fwd_t<'py, T: Float + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    cols: usize,
    weight: Option<&Bound<'py, PyAny>>,
    bias: Option<&Bound<'py, PyAny>>,
    eps: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "layer_norm";
    let x = arr::<T>(op, "input", x)?;
    let (w, b) = (
        opt_arr::<T>(op, "weight", weight)?,
        opt_arr::<T>(op, "bias", bias)?,
    );
    let xs = slice(op, "input", &x)?;
    let ws = opt_slice(op, "weight", &w)?;
    let bs = opt_slice(op, "bias", &b)?;
    if cols == 0 || xs.len() % cols != 0 {
        return Err(PyValueError::new_err(format!(
            "layer_norm: {} elements are not rows of {cols}",
            xs.len()
        )));
    }
    let rows = xs.len() / cols;
    let out = alloc::<T>(py, x.shape())?;
    let (mean, rstd) = (alloc::<T>(py, &[rows])?, alloc::<T>(py, &[rows])?);
    {
        let (mut orw, mut mrw, mut rrw) = (out.readwrite(), mean.readwrite(), rstd.readwrite());
        let os = out_slice(&mut orw)?;
        let ms = out_slice(&mut mrw)?;
        let rs = out_slice(&mut rrw)?;
        let e = T::from_f64(eps);
        py.detach(|| k::layer_norm_forward(xs, cols, ws, bs, e, os, ms, rs))
            .map_err(to_py)?;
    }
    Ok(PyTuple::new(py, [out.into_any(), mean.into_any(), rstd.into_any()])?.into_any())
}

#[allow(clippy::too_many_arguments)]
fn bwd_t<'py, T: Float + Element>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    cols: usize,
    mean: &Bound<'py, PyAny>,
    rstd: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    need_weight_grad: bool,
    need_bias_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "layer_norm_backward";
    let (gy, x) = (arr::<T>(op, "grad", gy)?, arr::<T>(op, "input", x)?);
    let (mean, rstd) = (arr::<T>(op, "mean", mean)?, arr::<T>(op, "rstd", rstd)?);
    let w = opt_arr::<T>(op, "weight", weight)?;
    let (gs, xs, ms, rs) = (
        slice(op, "grad", &gy)?,
        slice(op, "input", &x)?,
        slice(op, "mean", &mean)?,
        slice(op, "rstd", &rstd)?,
    );
    let ws = opt_slice(op, "weight", &w)?;
    let dx = alloc::<T>(py, x.shape())?;
    let dw = if need_weight_grad {
        Some(alloc::<T>(py, &[cols])?)
    } else {
        None
    };
    let db = if need_bias_grad {
        Some(alloc::<T>(py, &[cols])?)
    } else {
        None
    };
    {
        let mut xrw = dx.readwrite();
        let dxs = out_slice(&mut xrw)?;
        let mut wrw = dw.as_ref().map(|a| a.readwrite());
        let mut brw = db.as_ref().map(|a| a.readwrite());
        let dws = wrw.as_mut().map(out_slice).transpose()?;
        let dbs = brw.as_mut().map(out_slice).transpose()?;
        py.detach(|| k::layer_norm_backward(gs, xs, cols, ms, rs, ws, dxs, dws, dbs))
            .map_err(to_py)?;
    }
    let dw = dw.map_or_else(|| none_obj(py), |a| a.into_any());
    let db = db.map_or_else(|| none_obj(py), |a| a.into_any());
    Ok(PyTuple::new(py, [dx.into_any(), dw, db])?.into_any())
}

/// Layer norm over rows of `cols` trailing elements of a C-contiguous array: (y, mean, rstd).
#[pyfunction]
#[pyo3(signature = (x, cols, weight, bias, eps))]
fn layer_norm_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    cols: usize,
    weight: Option<&Bound<'py, PyAny>>,
    bias: Option<&Bound<'py, PyAny>>,
    eps: f64,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("layer_norm_forward", || {
        by_dtype!("layer_norm", x, fwd_t(py, x, cols, weight, bias, eps))
    })
}

/// (dx, dweight or None, dbias or None) of `layer_norm_forward`.
#[pyfunction]
#[pyo3(signature = (gy, x, cols, mean, rstd, weight, need_weight_grad, need_bias_grad))]
#[allow(clippy::too_many_arguments)]
fn layer_norm_backward<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    cols: usize,
    mean: &Bound<'py, PyAny>,
    rstd: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    need_weight_grad: bool,
    need_bias_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("layer_norm_backward", || {
        by_dtype!(
            "layer_norm_backward",
            x,
            bwd_t(
                py,
                gy,
                x,
                cols,
                mean,
                rstd,
                weight,
                need_weight_grad,
                need_bias_grad
            )
        )
    })
}

/// (N, C, plane) of a (N, C, *) array for the batch-norm kernels.
fn bn_shape(op: &str, shape: &[usize]) -> PyResult<(usize, usize, usize)> {
    if shape.len() < 2 {
        return Err(PyValueError::new_err(format!(
            "{op}: input must be (N, C) or (N, C, *), got shape {shape:?}"
        )));
    }
    Ok((shape[0], shape[1], shape[2..].iter().product()))
}

#[allow(clippy::too_many_arguments)]
fn bn_fwd_t<'py, T: Float + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    bias: Option<&Bound<'py, PyAny>>,
    running_mean: Option<&Bound<'py, PyAny>>,
    running_var: Option<&Bound<'py, PyAny>>,
    eps: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "batch_norm";
    let x = arr::<T>(op, "input", x)?;
    let shape = bn_shape(op, x.shape())?;
    let (w, b) = (opt_arr::<T>(op, "weight", weight)?, opt_arr::<T>(op, "bias", bias)?);
    let (rm, rv) = (
        opt_arr::<T>(op, "running_mean", running_mean)?,
        opt_arr::<T>(op, "running_var", running_var)?,
    );
    let xs = slice(op, "input", &x)?;
    let ws = opt_slice(op, "weight", &w)?;
    let bs = opt_slice(op, "bias", &b)?;
    let running = match (opt_slice(op, "running_mean", &rm)?, opt_slice(op, "running_var", &rv)?) {
        (Some(m), Some(v)) => Some((m, v)),
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "batch_norm: give both running_mean and running_var (evaluation) or neither (training)",
            ))
        }
    };
    let c = shape.1;
    let y = alloc::<T>(py, x.shape())?;
    let (mean, var, rstd) = (alloc::<T>(py, &[c])?, alloc::<T>(py, &[c])?, alloc::<T>(py, &[c])?);
    {
        let (mut yrw, mut mrw) = (y.readwrite(), mean.readwrite());
        let (mut vrw, mut rrw) = (var.readwrite(), rstd.readwrite());
        let ys = out_slice(&mut yrw)?;
        let ms = out_slice(&mut mrw)?;
        let vs = out_slice(&mut vrw)?;
        let rs = out_slice(&mut rrw)?;
        let e = T::from_f64(eps);
        py.detach(|| k::batch_norm_forward(xs, shape, ws, bs, running, e, ys, ms, vs, rs))
            .map_err(to_py)?;
    }
    Ok(PyTuple::new(
        py,
        [y.into_any(), mean.into_any(), var.into_any(), rstd.into_any()],
    )?
    .into_any())
}

#[allow(clippy::too_many_arguments)]
fn bn_bwd_t<'py, T: Float + Element>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    mean: &Bound<'py, PyAny>,
    rstd: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    training: bool,
    need_weight_grad: bool,
    need_bias_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "batch_norm_backward";
    let (gy, x) = (arr::<T>(op, "grad", gy)?, arr::<T>(op, "input", x)?);
    let shape = bn_shape(op, x.shape())?;
    let (mean, rstd) = (arr::<T>(op, "mean", mean)?, arr::<T>(op, "rstd", rstd)?);
    let w = opt_arr::<T>(op, "weight", weight)?;
    let (gs, xs, ms, rs) = (
        slice(op, "grad", &gy)?,
        slice(op, "input", &x)?,
        slice(op, "mean", &mean)?,
        slice(op, "rstd", &rstd)?,
    );
    let ws = opt_slice(op, "weight", &w)?;
    let c = shape.1;
    let dx = alloc::<T>(py, x.shape())?;
    let dw = need_weight_grad.then(|| alloc::<T>(py, &[c])).transpose()?;
    let db = need_bias_grad.then(|| alloc::<T>(py, &[c])).transpose()?;
    {
        let mut xrw = dx.readwrite();
        let dxs = out_slice(&mut xrw)?;
        let mut wrw = dw.as_ref().map(|a| a.readwrite());
        let mut brw = db.as_ref().map(|a| a.readwrite());
        let dws = wrw.as_mut().map(out_slice).transpose()?;
        let dbs = brw.as_mut().map(out_slice).transpose()?;
        py.detach(|| k::batch_norm_backward(gs, xs, shape, ms, rs, ws, training, dxs, dws, dbs))
            .map_err(to_py)?;
    }
    let dw = dw.map_or_else(|| none_obj(py), |a| a.into_any());
    let db = db.map_or_else(|| none_obj(py), |a| a.into_any());
    Ok(PyTuple::new(py, [dx.into_any(), dw, db])?.into_any())
}

/// Batch norm of a C-contiguous (N, C, *) array per channel: (y, mean, var, rstd). Training
/// (no running statistics given) uses the batch mean and biased variance; the caller turns the
/// variance into the unbiased one for its running estimate.
#[pyfunction]
#[pyo3(signature = (x, weight, bias, running_mean, running_var, eps))]
fn batch_norm_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    bias: Option<&Bound<'py, PyAny>>,
    running_mean: Option<&Bound<'py, PyAny>>,
    running_var: Option<&Bound<'py, PyAny>>,
    eps: f64,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("batch_norm_forward", || {
        by_dtype!(
            "batch_norm",
            x,
            bn_fwd_t(py, x, weight, bias, running_mean, running_var, eps)
        )
    })
}

/// (dx, dweight or None, dbias or None) of `batch_norm_forward`.
#[pyfunction]
#[pyo3(signature = (gy, x, mean, rstd, weight, training, need_weight_grad, need_bias_grad))]
#[allow(clippy::too_many_arguments)]
fn batch_norm_backward<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    mean: &Bound<'py, PyAny>,
    rstd: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    training: bool,
    need_weight_grad: bool,
    need_bias_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("batch_norm_backward", || {
        by_dtype!(
            "batch_norm_backward",
            x,
            bn_bwd_t(py, gy, x, mean, rstd, weight, training, need_weight_grad, need_bias_grad)
        )
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(layer_norm_forward, m)?)?;
    m.add_function(wrap_pyfunction!(layer_norm_backward, m)?)?;
    m.add_function(wrap_pyfunction!(batch_norm_forward, m)?)?;
    m.add_function(wrap_pyfunction!(batch_norm_backward, m)?)?;
    Ok(())
}
