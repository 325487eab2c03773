//! Bindings of the elementwise activation kernels: erf, erfc, GELU forward / backward (exact
//! and tanh form) and ReLU forward / backward, on C-contiguous float32 / float64 arrays of any
//! shape.

use ferrograd_core::activation::{self as k, ErfFloat, GeluApprox};
use ferrograd_core::num::Float;
use ferrograd_core::relu;
use numpy::{Element, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args::{alloc, arr, by_dtype, out_slice, slice, with_mut};
use crate::errors::to_py;

fn approx(op: &str, approximate: &str) -> PyResult<GeluApprox> {
    match approximate {
        "none" => Ok(GeluApprox::None),
        "tanh" => Ok(GeluApprox::Tanh),
        other => Err(PyValueError::new_err(format!(
            "{op}: approximate must be 'none' or 'tanh', got '{other}'"
        ))),
    }
}

type Unary<T> = fn(&[T], &mut [T]) -> ferrograd_core::Result<()>;

fn unary_t<'py, T: ErfFloat + Element>(
    py: Python<'py>,
    op: &'static str,
    x: &Bound<'py, PyAny>,
    f: Unary<T>,
) -> PyResult<Bound<'py, PyAny>> {
    let x = arr::<T>(op, "input", x)?;
    let xs = slice(op, "input", &x)?;
    let out = alloc::<T>(py, x.shape())?;
    with_mut(&out, |o| py.detach(|| f(xs, o)))?.map_err(to_py)?;
    Ok(out.into_any())
}

fn erf_t<'py, T: ErfFloat + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    unary_t::<T>(py, "erf", x, k::erf::<T>)
}

fn erfc_t<'py, T: ErfFloat + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    unary_t::<T>(py, "erfc", x, k::erfc::<T>)
}

fn gelu_fwd_t<'py, T: ErfFloat + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    a: GeluApprox,
) -> PyResult<Bound<'py, PyAny>> {
    let x = arr::<T>("gelu", "input", x)?;
    let xs = slice("gelu", "input", &x)?;
    let out = alloc::<T>(py, x.shape())?;
    with_mut(&out, |o| py.detach(|| k::gelu_forward(xs, a, o)))?.map_err(to_py)?;
    Ok(out.into_any())
}

fn gelu_pair_t<'py, T: ErfFloat + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    a: GeluApprox,
) -> PyResult<Bound<'py, PyTuple>> {
    let x = arr::<T>("gelu", "input", x)?;
    let xs = slice("gelu", "input", &x)?;
    let (out, d) = (alloc::<T>(py, x.shape())?, alloc::<T>(py, x.shape())?);
    let (mut ro, mut rd) = (out.readwrite(), d.readwrite());
    let (so, sd) = (out_slice(&mut ro)?, out_slice(&mut rd)?);
    py.detach(|| k::gelu_forward_with_grad(xs, a, so, sd))
        .map_err(to_py)?;
    drop((ro, rd));
    PyTuple::new(py, [out.into_any(), d.into_any()])
}

fn gelu_bwd_t<'py, T: ErfFloat + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    a: GeluApprox,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "gelu_backward";
    let (x, g) = (arr::<T>(op, "input", x)?, arr::<T>(op, "grad", grad)?);
    if x.shape() != g.shape() {
        return Err(PyValueError::new_err(format!(
            "{op}: grad shape {:?} != input shape {:?}",
            g.shape(),
            x.shape()
        )));
    }
    let (xs, gs) = (slice(op, "input", &x)?, slice(op, "grad", &g)?);
    let out = alloc::<T>(py, x.shape())?;
    with_mut(&out, |o| py.detach(|| k::gelu_backward(xs, gs, a, o)))?.map_err(to_py)?;
    Ok(out.into_any())
}

/// erf of a C-contiguous float array (a new array of the same shape and dtype).
#[pyfunction]
fn erf<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("erf", || by_dtype!("erf", x, erf_t(py, x)))
}

/// erfc = 1 - erf of a C-contiguous float array, accurate where erf is near 1.
#[pyfunction]
fn erfc<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("erfc", || by_dtype!("erfc", x, erfc_t(py, x)))
}

/// GELU of a C-contiguous float array; `approximate` is torch's ('none' or 'tanh').
#[pyfunction]
#[pyo3(signature = (x, approximate = "none"))]
fn gelu_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    approximate: &str,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("gelu_forward", || {
        let a = approx("gelu", approximate)?;
        by_dtype!("gelu", x, gelu_fwd_t(py, x, a))
    })
}

/// (gelu(x), gelu'(x)) of a C-contiguous float array in one pass: the forward of a GELU whose
/// gradient will be taken (its backward is then grad · gelu'(x), one multiply).
#[pyfunction]
#[pyo3(signature = (x, approximate = "none"))]
fn gelu_forward_with_grad<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    approximate: &str,
) -> PyResult<Bound<'py, PyTuple>> {
    crate::args::guard("gelu_forward_with_grad", || {
        let a = approx("gelu", approximate)?;
        by_dtype!("gelu", x, gelu_pair_t(py, x, a))
    })
}

/// grad · gelu'(x), given GELU's input `x` and the upstream `grad` (same shape and dtype).
#[pyfunction]
#[pyo3(signature = (x, grad, approximate = "none"))]
fn gelu_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    approximate: &str,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("gelu_backward", || {
        let a = approx("gelu_backward", approximate)?;
        by_dtype!("gelu_backward", x, gelu_bwd_t(py, x, grad, a))
    })
}

/// Below this many elements a ReLU call keeps the GIL: releasing and taking it back costs about
/// what the whole kernel does on a small array.
const KEEP_GIL: usize = 1 << 14;

fn relu_fwd_t<'py, T: Float + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let x = arr::<T>("relu", "input", x)?;
    let xs = slice("relu", "input", &x)?;
    let out = alloc::<T>(py, x.shape())?;
    let run = |o: &mut [T]| relu::relu_forward(xs, o);
    with_mut(&out, |o| {
        if xs.len() < KEEP_GIL {
            run(o)
        } else {
            py.detach(|| run(o))
        }
    })?
    .map_err(to_py)?;
    Ok(out.into_any())
}

fn relu_bwd_t<'py, T: Float + Element>(
    py: Python<'py>,
    grad: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "relu_backward";
    let (g, x) = (arr::<T>(op, "grad", grad)?, arr::<T>(op, "input", x)?);
    if x.shape() != g.shape() {
        return Err(PyValueError::new_err(format!(
            "{op}: grad shape {:?} != input shape {:?}",
            g.shape(),
            x.shape()
        )));
    }
    let (gs, xs) = (slice(op, "grad", &g)?, slice(op, "input", &x)?);
    let out = alloc::<T>(py, x.shape())?;
    let run = |o: &mut [T]| relu::relu_backward(gs, xs, o);
    with_mut(&out, |o| {
        if xs.len() < KEEP_GIL {
            run(o)
        } else {
            py.detach(|| run(o))
        }
    })?
    .map_err(to_py)?;
    Ok(out.into_any())
}

/// max(x, 0) of a C-contiguous float array (a new array of the same shape and dtype).
#[pyfunction]
fn relu_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("relu_forward", || by_dtype!("relu", x, relu_fwd_t(py, x)))
}

/// ReLU's gradient: `grad` where the forward's input `x` is > 0 (or NaN), else 0 (torch's
/// threshold_backward); same shape and dtype.
#[pyfunction]
fn relu_backward<'py>(
    py: Python<'py>,
    grad: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("relu_backward", || {
        by_dtype!("relu_backward", x, relu_bwd_t(py, grad, x))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(erf, m)?)?;
    m.add_function(wrap_pyfunction!(erfc, m)?)?;
    m.add_function(wrap_pyfunction!(gelu_forward, m)?)?;
    m.add_function(wrap_pyfunction!(gelu_forward_with_grad, m)?)?;
    m.add_function(wrap_pyfunction!(gelu_backward, m)?)?;
    m.add_function(wrap_pyfunction!(relu_forward, m)?)?;
    m.add_function(wrap_pyfunction!(relu_backward, m)?)?;
    Ok(())
}
