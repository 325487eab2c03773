//! Bindings of the pool kernels (float32 and float64): max / average / adaptive-average 2-d
//! pooling, forward and backward. 1-d pooling is the H = 1 case, reshaped in Python.

use ferrograd_core::gemm::Float;
use ferrograd_core::pool::{self, Pool2dShape, PoolFloat};
use numpy::{Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::views::view;

type Pair = (usize, usize);
type Quad = (usize, usize, usize, usize);

fn alloc<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    crate::args::alloc(py, shape)
}

fn dims4(op: &str, shape: &[usize]) -> PyResult<[usize; 4]> {
    <[usize; 4]>::try_from(shape).map_err(|_| PyValueError::new_err(format!("{op}: expected a 4-d array, got shape {shape:?}")))
}

fn contiguous<'a, T: Element>(op: &str, a: &'a PyReadonlyArrayDyn<'_, T>) -> PyResult<&'a [T]> {
    crate::args::slice(op, "gradient array", a)
}

fn dtype_err(op: &str) -> PyErr {
    PyTypeError::new_err(format!("{op}: arrays must be float32 or float64 numpy arrays"))
}

/// Calls `$f::<f32>` or `$f::<f64>` on the first array argument's dtype.
macro_rules! dispatch {
    ($op:expr, $arr:expr, |$a:ident: $t:ident| $body:expr) => {{
        if let Ok($a) = $arr.extract::<PyReadonlyArrayDyn<f32>>() {
            type $t = f32;
            $body
        } else if let Ok($a) = $arr.extract::<PyReadonlyArrayDyn<f64>>() {
            type $t = f64;
            $body
        } else {
            Err(dtype_err($op))
        }
    }};
}

fn max_fwd<'py, T: PoolFloat + Element>(py: Python<'py>, x: PyReadonlyArrayDyn<'py, T>, s: Pool2dShape) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let xv = view(&x).map_err(to_py)?;
    let y = alloc::<T>(py, &s.output_shape())?;
    let idx = alloc::<i64>(py, &s.output_shape())?;
    {
        let (mut ry, mut ri) = (y.readwrite(), idx.readwrite());
        let (ys, is) = (ry.as_slice_mut().expect("contiguous"), ri.as_slice_mut().expect("contiguous"));
        py.detach(|| pool::max_pool2d_forward(&xv, &s, ys, is)).map_err(to_py)?;
    }
    Ok((y.into_any(), idx.into_any()))
}

/// `max_pool2d_forward(x, kernel, stride, padding)`: `(y, indices)`, indices flat within each plane.
#[pyfunction]
fn max_pool2d_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, kernel: Pair, stride: Pair, padding: Pair) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    crate::args::guard("max_pool2d_forward", || {
        let op = "max_pool2d";
        dispatch!(op, x, |a: F| {
            let s = Pool2dShape::new(dims4(op, a.shape())?, kernel, stride, padding).map_err(to_py)?;
            max_fwd::<F>(py, a, s)
        })
    })
}

fn max_bwd<'py, T: Float + Element>(py: Python<'py>, gy: PyReadonlyArrayDyn<'py, T>, idx: PyReadonlyArrayDyn<'py, i64>, s: Pool2dShape) -> PyResult<Bound<'py, PyAny>> {
    let op = "max_pool2d_backward";
    let (gys, is) = (contiguous(op, &gy)?, contiguous(op, &idx)?);
    let gx = alloc::<T>(py, &s.input_shape())?;
    {
        let mut r = gx.readwrite();
        let gxs = r.as_slice_mut().expect("contiguous");
        py.detach(|| pool::max_pool2d_backward(gys, is, &s, gxs)).map_err(to_py)?;
    }
    Ok(gx.into_any())
}

/// `max_pool2d_backward(gy, indices, input_shape, kernel, stride, padding)`: the input gradient.
#[pyfunction]
fn max_pool2d_backward<'py>(py: Python<'py>, gy: &Bound<'py, PyAny>, indices: &Bound<'py, PyAny>, input_shape: Quad, kernel: Pair, stride: Pair, padding: Pair) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("max_pool2d_backward", || {
        let op = "max_pool2d_backward";
        let s = Pool2dShape::new(input_shape.into(), kernel, stride, padding).map_err(to_py)?;
        let idx = indices.extract::<PyReadonlyArrayDyn<i64>>().map_err(|_| PyTypeError::new_err(format!("{op}: indices must be int64")))?;
        dispatch!(op, gy, |a: F| max_bwd::<F>(py, a, idx, s))
    })
}

fn avg_fwd<'py, T: Float + Element>(py: Python<'py>, x: PyReadonlyArrayDyn<'py, T>, s: Pool2dShape, include_pad: bool) -> PyResult<Bound<'py, PyAny>> {
    let xv = view(&x).map_err(to_py)?;
    let y = alloc::<T>(py, &s.output_shape())?;
    {
        let mut r = y.readwrite();
        let ys = r.as_slice_mut().expect("contiguous");
        py.detach(|| pool::avg_pool2d_forward(&xv, &s, include_pad, ys)).map_err(to_py)?;
    }
    Ok(y.into_any())
}

/// `avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)`.
#[pyfunction]
fn avg_pool2d_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, kernel: Pair, stride: Pair, padding: Pair, count_include_pad: bool) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("avg_pool2d_forward", || {
        let op = "avg_pool2d";
        dispatch!(op, x, |a: F| {
            let s = Pool2dShape::new(dims4(op, a.shape())?, kernel, stride, padding).map_err(to_py)?;
            avg_fwd::<F>(py, a, s, count_include_pad)
        })
    })
}

fn avg_bwd<'py, T: Float + Element>(py: Python<'py>, gy: PyReadonlyArrayDyn<'py, T>, s: Pool2dShape, include_pad: bool) -> PyResult<Bound<'py, PyAny>> {
    let gys = contiguous("avg_pool2d_backward", &gy)?;
    let gx = alloc::<T>(py, &s.input_shape())?;
    {
        let mut r = gx.readwrite();
        let gxs = r.as_slice_mut().expect("contiguous");
        py.detach(|| pool::avg_pool2d_backward(gys, &s, include_pad, gxs)).map_err(to_py)?;
    }
    Ok(gx.into_any())
}

/// `avg_pool2d_backward(gy, input_shape, kernel, stride, padding, count_include_pad)`.
#[pyfunction]
fn avg_pool2d_backward<'py>(py: Python<'py>, gy: &Bound<'py, PyAny>, input_shape: Quad, kernel: Pair, stride: Pair, padding: Pair, count_include_pad: bool) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("avg_pool2d_backward", || {
        let op = "avg_pool2d_backward";
        let s = Pool2dShape::new(input_shape.into(), kernel, stride, padding).map_err(to_py)?;
        dispatch!(op, gy, |a: F| avg_bwd::<F>(py, a, s, count_include_pad))
    })
}

fn adaptive_fwd<'py, T: Float + Element>(py: Python<'py>, x: PyReadonlyArrayDyn<'py, T>, out: Pair) -> PyResult<Bound<'py, PyAny>> {
    let op = "adaptive_avg_pool2d";
    let x4 = dims4(op, x.shape())?;
    pool::check_adaptive(x4, out).map_err(to_py)?;
    let xv = view(&x).map_err(to_py)?;
    let y = alloc::<T>(py, &[x4[0], x4[1], out.0, out.1])?;
    {
        let mut r = y.readwrite();
        let ys = r.as_slice_mut().expect("contiguous");
        py.detach(|| pool::adaptive_avg_pool2d_forward(&xv, out, ys)).map_err(to_py)?;
    }
    Ok(y.into_any())
}

/// `adaptive_avg_pool2d_forward(x, output_size)`.
#[pyfunction]
fn adaptive_avg_pool2d_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, output_size: Pair) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("adaptive_avg_pool2d_forward", || {
        dispatch!("adaptive_avg_pool2d", x, |a: F| adaptive_fwd::<F>(py, a, output_size))
    })
}

fn adaptive_bwd<'py, T: Float + Element>(py: Python<'py>, gy: PyReadonlyArrayDyn<'py, T>, input: [usize; 4], out: Pair) -> PyResult<Bound<'py, PyAny>> {
    pool::check_adaptive(input, out).map_err(to_py)?;
    let gys = contiguous("adaptive_avg_pool2d_backward", &gy)?;
    let gx = alloc::<T>(py, &input)?;
    {
        let mut r = gx.readwrite();
        let gxs = r.as_slice_mut().expect("contiguous");
        py.detach(|| pool::adaptive_avg_pool2d_backward(gys, input, out, gxs)).map_err(to_py)?;
    }
    Ok(gx.into_any())
}

/// `adaptive_avg_pool2d_backward(gy, input_shape, output_size)`.
#[pyfunction]
fn adaptive_avg_pool2d_backward<'py>(py: Python<'py>, gy: &Bound<'py, PyAny>, input_shape: Quad, output_size: Pair) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("adaptive_avg_pool2d_backward", || {
        dispatch!("adaptive_avg_pool2d_backward", gy, |a: F| adaptive_bwd::<F>(py, a, input_shape.into(), output_size))
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
