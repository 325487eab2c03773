//! Bindings of the norm kernels: layer norm forward (saving mean and rstd) and backward.

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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(layer_norm_forward, m)?)?;
    m.add_function(wrap_pyfunction!(layer_norm_backward, m)?)?;
    Ok(())
}
