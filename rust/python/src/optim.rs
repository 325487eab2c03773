//! Binding of the fused optimizer steps: Adam / AdamW in place on numpy arrays.

use ferrograd_core::num::Float;
use ferrograd_core::optim as k;
use numpy::{Element, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::{arr, by_dtype, slice, writable};
use crate::errors::to_py;

#[allow(clippy::too_many_arguments)]
fn adam_t<T: Float + Element>(
    py: Python<'_>,
    h: &k::Adam,
    param: &Bound<'_, PyAny>,
    grad: &Bound<'_, PyAny>,
    exp_avg: &Bound<'_, PyAny>,
    exp_avg_sq: &Bound<'_, PyAny>,
    max_exp_avg_sq: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let op = "adam_step";
    let g = arr::<T>(op, "grad", grad)?;
    let gs = slice(op, "grad", &g)?;
    let (mut p, mut m, mut v) = (
        writable::<T>(op, "param", param)?,
        writable::<T>(op, "exp_avg", exp_avg)?,
        writable::<T>(op, "exp_avg_sq", exp_avg_sq)?,
    );
    let mut vmax = max_exp_avg_sq.map(|a| writable::<T>(op, "max_exp_avg_sq", a)).transpose()?;
    let shapes = [p.shape(), g.shape(), m.shape(), v.shape()];
    if shapes.iter().any(|s| *s != shapes[0]) || vmax.as_ref().is_some_and(|x| x.shape() != shapes[0]) {
        return Err(PyValueError::new_err(format!(
            "{op}: param, grad, exp_avg and exp_avg_sq must have one shape, got {:?}",
            shapes
        )));
    }
    let contiguous = |_| PyValueError::new_err(format!("{op}: state arrays must be C-contiguous"));
    let (ps, ms, vs) = (
        p.as_slice_mut().map_err(contiguous)?,
        m.as_slice_mut().map_err(contiguous)?,
        v.as_slice_mut().map_err(contiguous)?,
    );
    let vmax_s = match vmax.as_mut() {
        Some(x) => Some(x.as_slice_mut().map_err(contiguous)?),
        None => None,
    };
    py.detach(|| k::adam_step(h, ps, gs, ms, vs, vmax_s)).map_err(to_py)
}

/// One Adam (decoupled: AdamW) step in place: param, exp_avg, exp_avg_sq and, with AMSGrad,
/// max_exp_avg_sq, from grad; all C-contiguous of one shape and dtype (float32 or float64).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled))]
fn adam_step(
    py: Python<'_>,
    param: &Bound<'_, PyAny>,
    grad: &Bound<'_, PyAny>,
    exp_avg: &Bound<'_, PyAny>,
    exp_avg_sq: &Bound<'_, PyAny>,
    max_exp_avg_sq: Option<&Bound<'_, PyAny>>,
    step: u64,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
) -> PyResult<()> {
    crate::args::guard("adam_step", || {
        let h = k::Adam { lr, beta1, beta2, eps, weight_decay, step, decoupled };
        let vmax = max_exp_avg_sq.filter(|a| !a.is_none());
        by_dtype!("adam_step", param, adam_t(py, &h, param, grad, exp_avg, exp_avg_sq, vmax))
    })
}

/// Adam steps for a list of parameters in one call (torch's foreach): `params[i]` from
/// `grads[i]` with its own moment buffers and step count `steps[i]`, the hyper-parameters shared.
/// Each parameter is checked and updated as by `adam_step`; an error names its index.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2, eps, weight_decay, decoupled))]
fn adam_step_many(
    py: Python<'_>,
    params: Vec<Bound<'_, PyAny>>,
    grads: Vec<Bound<'_, PyAny>>,
    exp_avgs: Vec<Bound<'_, PyAny>>,
    exp_avg_sqs: Vec<Bound<'_, PyAny>>,
    max_exp_avg_sqs: Option<Vec<Bound<'_, PyAny>>>,
    steps: Vec<u64>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
) -> PyResult<()> {
    crate::args::guard("adam_step_many", || {
        let n = params.len();
        let lens = [grads.len(), exp_avgs.len(), exp_avg_sqs.len(), steps.len(),
                    max_exp_avg_sqs.as_ref().map_or(n, |v| v.len())];
        if lens.iter().any(|&l| l != n) {
            return Err(PyValueError::new_err(format!(
                "adam_step_many: {n} params but grads, exp_avgs, exp_avg_sqs, steps, max_exp_avg_sqs have {lens:?}"
            )));
        }
        for i in 0..n {
            let h = k::Adam { lr, beta1, beta2, eps, weight_decay, step: steps[i], decoupled };
            let vmax = max_exp_avg_sqs.as_ref().map(|v| &v[i]).filter(|a| !a.is_none());
            let (p, g, m, v) = (&params[i], &grads[i], &exp_avgs[i], &exp_avg_sqs[i]);
            by_dtype!("adam_step", p, adam_t(py, &h, p, g, m, v, vmax)).map_err(|e| {
                PyErr::from_type(e.get_type(py), format!("adam_step_many: parameter {i}: {}", e.value(py)))
            })?;
        }
        Ok(())
    })
}

fn squares_t<T: Float + Element>(py: Python<'_>, a: &Bound<'_, PyAny>) -> PyResult<f64> {
    let op = "sum_of_squares";
    let x = arr::<T>(op, "array", a)?;
    let xs = slice(op, "array", &x)?;
    Ok(py.detach(|| k::sum_of_squares(xs)))
}

/// Σ x² over all the arrays (float32 or float64, C-contiguous), each square and the sum in f64:
/// gradient clipping's 2-norm² in one pass per array, no temporaries. An error names the index.
#[pyfunction]
fn sum_of_squares(py: Python<'_>, arrays: Vec<Bound<'_, PyAny>>) -> PyResult<f64> {
    crate::args::guard("sum_of_squares", || {
        let mut total = 0.0;
        for (i, a) in arrays.iter().enumerate() {
            total += by_dtype!("sum_of_squares", a, squares_t(py, a)).map_err(|e| {
                PyErr::from_type(e.get_type(py), format!("sum_of_squares: array {i}: {}", e.value(py)))
            })?;
        }
        Ok(total)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(adam_step, m)?)?;
    m.add_function(wrap_pyfunction!(adam_step_many, m)?)?;
    m.add_function(wrap_pyfunction!(sum_of_squares, m)?)
}
