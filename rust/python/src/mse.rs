//! Binding of the fused mean-squared-error loss (same-shape input and target, C-contiguous
//! float32 / float64): the forward's sum of squared differences and the one-pass backward.

use ferrograd_core::mse as k;
use ferrograd_core::num::Float;
use numpy::{Element, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::{alloc, arr, by_dtype, none_obj, slice, Arr};
use crate::errors::to_py;

/// Below this many elements a call keeps the GIL (releasing it costs about what the pass does).
const KEEP_GIL: usize = 1 << 14;

fn pair<'py, T: Element>(
    op: &str,
    input: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
) -> PyResult<(Arr<'py, T>, Arr<'py, T>)> {
    let (x, t) = (
        arr::<T>(op, "input", input)?,
        arr::<T>(op, "target", target)?,
    );
    if x.shape() != t.shape() {
        return Err(PyValueError::new_err(format!(
            "{op}: target shape {:?} != input shape {:?}",
            t.shape(),
            x.shape()
        )));
    }
    Ok((x, t))
}

fn sum_t<T: Float + Element>(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    target: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    let op = "mse_loss";
    let (x, t) = pair::<T>(op, input, target)?;
    let (xs, ts) = (slice(op, "input", &x)?, slice(op, "target", &t)?);
    let r = if xs.len() < KEEP_GIL {
        k::mse_sum(xs, ts)
    } else {
        py.detach(|| k::mse_sum(xs, ts))
    };
    r.map_err(to_py)
}

fn backward_t<'py, T: Float + Element>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    scale: f64,
    input_grad: bool,
    target_grad: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let op = "mse_loss_backward";
    let (x, t) = pair::<T>(op, input, target)?;
    let (xs, ts) = (slice(op, "input", &x)?, slice(op, "target", &t)?);
    let gx = input_grad.then(|| alloc::<T>(py, x.shape())).transpose()?;
    let gt = target_grad.then(|| alloc::<T>(py, x.shape())).transpose()?;
    {
        let mut rx = gx.as_ref().map(|a| a.readwrite());
        let mut rt = gt.as_ref().map(|a| a.readwrite());
        let sx = rx.as_mut().map(crate::args::out_slice).transpose()?;
        let st = rt.as_mut().map(crate::args::out_slice).transpose()?;
        let s = T::from_f64(scale);
        let run = || k::mse_backward(xs, ts, s, sx, st);
        if xs.len() < KEEP_GIL {
            run()
        } else {
            py.detach(run)
        }
        .map_err(to_py)?;
    }
    let none = || none_obj(py);
    Ok((
        gx.map_or_else(none, |a| a.into_any()),
        gt.map_or_else(none, |a| a.into_any()),
    ))
}

/// Σ (input - target)² as a Python float (summed in f64); input and target C-contiguous of one
/// shape and float dtype. The caller divides by the count for the mean.
#[pyfunction]
fn mse_loss_sum(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    target: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    crate::args::guard("mse_loss_sum", || {
        by_dtype!("mse_loss", input, sum_t(py, input, target))
    })
}

/// (grad_input, grad_target) = ((input - target)·scale, -(input - target)·scale), each only
/// when asked for (None otherwise); `scale` is 2·grad/n for the mean, 2·grad for the sum.
#[pyfunction]
#[pyo3(signature = (input, target, scale, input_grad = true, target_grad = false))]
fn mse_loss_backward<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    scale: f64,
    input_grad: bool,
    target_grad: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    crate::args::guard("mse_loss_backward", || {
        by_dtype!(
            "mse_loss_backward",
            input,
            backward_t(py, input, target, scale, input_grad, target_grad)
        )
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mse_loss_sum, m)?)?;
    m.add_function(wrap_pyfunction!(mse_loss_backward, m)?)?;
    Ok(())
}
