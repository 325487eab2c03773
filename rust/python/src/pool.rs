//! Bindings of the pool kernels (float32 and float64): max / average / adaptive-average 2-d
//! pooling, forward and backward. 1-d pooling is the H = 1 case, reshaped in Python.

use ferrograd_core::num::Float;
use ferrograd_core::pool::{self, Pool2dShape, PoolFloat};
use numpy::{Element, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::{alloc, arr, by_dtype, out_slice, slice, view};
use crate::errors::to_py;

type Pair = (usize, usize);
type Quad = (usize, usize, usize, usize);

fn dims4(op: &str, shape: &[usize]) -> PyResult<[usize; 4]> {
    <[usize; 4]>::try_from(shape).map_err(|_| PyValueError::new_err(format!("{op}: expected a 4-d array, got shape {shape:?}")))
}

fn max_fwd<'py, T: PoolFloat + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let op = "max_pool2d";
    let x = arr::<T>(op, "input", x)?;
    let s = Pool2dShape::new(dims4(op, x.shape())?, kernel, stride, padding).map_err(to_py)?;
    let xv = view(&x)?;
    let y = alloc::<T>(py, &s.output_shape())?;
    let idx = alloc::<i64>(py, &s.output_shape())?;
    {
        let (mut ry, mut ri) = (y.readwrite(), idx.readwrite());
        let (ys, is) = (out_slice(&mut ry)?, out_slice(&mut ri)?);
        py.detach(|| pool::max_pool2d_forward(&xv, &s, ys, is)).map_err(to_py)?;
    }
    Ok((y.into_any(), idx.into_any()))
}

/// `max_pool2d_forward(x, kernel, stride, padding)`: `(y, indices)`, indices flat within each plane.
#[pyfunction]
fn max_pool2d_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, kernel: Pair, stride: Pair, padding: Pair) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    crate::args::guard("max_pool2d_forward", || {
        by_dtype!("max_pool2d", x, max_fwd(py, x, kernel, stride, padding))
    })
}

fn max_bwd<'py, T: Float + Element>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    s: Pool2dShape,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "max_pool2d_backward";
    let (gy, idx) = (arr::<T>(op, "grad_output", gy)?, arr::<i64>(op, "indices", indices)?);
    let (gys, is) = (slice(op, "grad_output", &gy)?, slice(op, "indices", &idx)?);
    let gx = alloc::<T>(py, &s.input_shape())?;
    {
        let mut r = gx.readwrite();
        let gxs = out_slice(&mut r)?;
        py.detach(|| pool::max_pool2d_backward(gys, is, &s, gxs)).map_err(to_py)?;
    }
    Ok(gx.into_any())
}

/// `max_pool2d_backward(gy, indices, input_shape, kernel, stride, padding)`: the input gradient.
#[pyfunction]
fn max_pool2d_backward<'py>(py: Python<'py>, gy: &Bound<'py, PyAny>, indices: &Bound<'py, PyAny>, input_shape: Quad, kernel: Pair, stride: Pair, padding: Pair) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("max_pool2d_backward", || {
        let s = Pool2dShape::new(input_shape.into(), kernel, stride, padding).map_err(to_py)?;
        by_dtype!("max_pool2d_backward", gy, max_bwd(py, gy, indices, s))
    })
}

fn avg_fwd<'py, T: Float + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    include_pad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "avg_pool2d";
    let x = arr::<T>(op, "input", x)?;
    let s = Pool2dShape::new(dims4(op, x.shape())?, kernel, stride, padding).map_err(to_py)?;
    let xv = view(&x)?;
    let y = alloc::<T>(py, &s.output_shape())?;
    {
        let mut r = y.readwrite();
        let ys = out_slice(&mut r)?;
        py.detach(|| pool::avg_pool2d_forward(&xv, &s, include_pad, ys)).map_err(to_py)?;
    }
    Ok(y.into_any())
}

/// `avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)`.
#[pyfunction]
fn avg_pool2d_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, kernel: Pair, stride: Pair, padding: Pair, count_include_pad: bool) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("avg_pool2d_forward", || {
        by_dtype!("avg_pool2d", x, avg_fwd(py, x, kernel, stride, padding, count_include_pad))
    })
}

fn avg_bwd<'py, T: Float + Element>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    s: Pool2dShape,
    include_pad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "avg_pool2d_backward";
    let gy = arr::<T>(op, "grad_output", gy)?;
    let gys = slice(op, "grad_output", &gy)?;
    let gx = alloc::<T>(py, &s.input_shape())?;
    {
        let mut r = gx.readwrite();
        let gxs = out_slice(&mut r)?;
        py.detach(|| pool::avg_pool2d_backward(gys, &s, include_pad, gxs)).map_err(to_py)?;
    }
    Ok(gx.into_any())
}

/// `avg_pool2d_backward(gy, input_shape, kernel, stride, padding, count_include_pad)`.
#[pyfunction]
fn avg_pool2d_backward<'py>(py: Python<'py>, gy: &Bound<'py, PyAny>, input_shape: Quad, kernel: Pair, stride: Pair, padding: Pair, count_include_pad: bool) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("avg_pool2d_backward", || {
        let s = Pool2dShape::new(input_shape.into(), kernel, stride, padding).map_err(to_py)?;
        by_dtype!("avg_pool2d_backward", gy, avg_bwd(py, gy, s, count_include_pad))
    })
}

fn adaptive_fwd<'py, T: Float + Element>(py: Python<'py>, x: &Bound<'py, PyAny>, out: Pair) -> PyResult<Bound<'py, PyAny>> {
    let op = "adaptive_avg_pool2d";
    let x = arr::<T>(op, "input", x)?;
    let x4 = dims4(op, x.shape())?;
    pool::check_adaptive(x4, out).map_err(to_py)?;
    let xv = view(&x)?;
    let y = alloc::<T>(py, &[x4[0], x4[1], out.0, out.1])?;
    {
        let mut r = y.readwrite();
        let ys = out_slice(&mut r)?;
        py.detach(|| pool::adaptive_avg_pool2d_forward(&xv, out, ys)).map_err(to_py)?;
    }
    Ok(y.into_any())
}

/// `adaptive_avg_pool2d_forward(x, output_size)`.
#[pyfunction]
fn adaptive_avg_pool2d_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, output_size: Pair) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("adaptive_avg_pool2d_forward", || {
        by_dtype!("adaptive_avg_pool2d", x, adaptive_fwd(py, x, output_size))
    })
}

fn adaptive_bwd<'py, T: Float + Element>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    input: [usize; 4],
    out: Pair,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "adaptive_avg_pool2d_backward";
    let gy = arr::<T>(op, "grad_output", gy)?;
    pool::check_adaptive(input, out).map_err(to_py)?;
    let gys = slice(op, "grad_output", &gy)?;
    let gx = alloc::<T>(py, &input)?;
    {
        let mut r = gx.readwrite();
        let gxs = out_slice(&mut r)?;
        py.detach(|| pool::adaptive_avg_pool2d_backward(gys, input, out, gxs)).map_err(to_py)?;
    }
    Ok(gx.into_any())
}

/// `adaptive_avg_pool2d_backward(gy, input_shape, output_size)`.
#[pyfunction]
fn adaptive_avg_pool2d_backward<'py>(py: Python<'py>, gy: &Bound<'py, PyAny>, input_shape: Quad, output_size: Pair) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("adaptive_avg_pool2d_backward", || {
        by_dtype!("adaptive_avg_pool2d_backward", gy, adaptive_bwd(py, gy, input_shape.into(), output_size))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(max_pool2d_forward, m)?)?;
    m.add_function(wrap_pyfunction!(max_pool2d_backward, m)?)?;
    m.add_function(wrap_pyfunction!(avg_pool2d_forward, m)?)?;
    m.add_function(wrap_pyfunction!(avg_pool2d_backward, m)?)?;
    m.add_function(wrap_pyfunction!(adaptive_avg_pool2d_forward, m)?)?;
    m.add_function(wrap_pyfunction!(adaptive_avg_pool2d_backward, m)?)?;
    Ok(())
}
