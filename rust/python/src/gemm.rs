//! `_native.matmul(a, b)`: batched, broadcast, strided matrix product for float32 and float64.

use ferrograd_core::gemm;
use ferrograd_core::num::Float;
use numpy::Element;
use numpy::{PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args::{alloc, arr, by_dtype, opt_arr, out_slice, slice, view, with_mut};
use crate::errors::to_py;

fn matmul_typed<'py, T: Float + Element>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    bias: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "matmul";
    let (a, b) = (arr::<T>(op, "a", a)?, arr::<T>(op, "b", b)?);
    let bias = opt_arr::<T>(op, "bias", bias)?;
    let (va, vb) = (view(&a)?, view(&b)?);
    let shape = gemm::matmul_shape(va.shape(), vb.shape()).map_err(to_py)?;
    // Every element is written by the kernel before Python can see the array.
    let out = alloc::<T>(py, &shape)?;
    match &bias {
        None => with_mut(&out, |o| py.detach(|| gemm::matmul(&va, &vb, o)))?,
        Some(bias) => {
            if bias.ndim() != 1 {
                return Err(PyValueError::new_err(format!(
                    "matmul: bias must be 1-D (one element per column of the product), got shape {:?}",
                    bias.shape()
                )));
            }
            let bias = slice(op, "bias", bias)?;
            with_mut(&out, |o| py.detach(|| gemm::matmul_bias(&va, &vb, bias, o)))?
        }
    }
    .map_err(to_py)?;
    Ok(out.into_any())
}

/// `a @ b` for arrays of rank >= 2 with the same float dtype; batch dims broadcast. `bias` (1-D,
/// one element per column of the product) is added to every row, as by a Linear layer.
#[pyfunction]
#[pyo3(signature = (a, b, bias=None))]
pub fn matmul<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    bias: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("matmul", || {
        by_dtype!("matmul", a, matmul_typed(py, a, b, bias))
    })
}

fn linear_backward_typed<'py, T: Float + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
    needs: (bool, bool, bool),
) -> PyResult<Bound<'py, PyTuple>> {
    let op = "linear_backward";
    let (x, w, g) = (
        arr::<T>(op, "x", x)?,
        arr::<T>(op, "weight", w)?,
        arr::<T>(op, "grad", g)?,
    );
    let (vx, vw, vg) = (view(&x)?, view(&w)?, view(&g)?);
    let (rows, in_f, out_f) = gemm::linear_shapes(&vx, &vw, &vg).map_err(to_py)?;
    // Every element of each output is written by the kernel before Python can see it.
    let maybe = |on: bool, shape: &[usize]| on.then(|| alloc::<T>(py, shape)).transpose();
    let gx = maybe(needs.0, &[rows, in_f])?;
    let gw = maybe(needs.1, &[out_f, in_f])?;
    let gb = maybe(needs.2, &[out_f])?;
    let (mut rx, mut rw, mut rb) = (
        gx.as_ref().map(|a| a.readwrite()),
        gw.as_ref().map(|a| a.readwrite()),
        gb.as_ref().map(|a| a.readwrite()),
    );
    let sx = rx.as_mut().map(out_slice).transpose()?;
    let sw = rw.as_mut().map(out_slice).transpose()?;
    let sb = rb.as_mut().map(out_slice).transpose()?;
    py.detach(|| gemm::linear_backward(&vx, &vw, &vg, sx, sw, sb))
        .map_err(to_py)?;
    let any = |a: Option<Bound<'py, numpy::PyArrayDyn<T>>>| match a {
        Some(a) => a.into_any(),
        None => py.None().into_bound(py),
    };
    PyTuple::new(py, [any(gx), any(gw), any(gb)])
}

/// A Linear layer's backward from 2-D x (rows, in), weight (out, in) and grad (rows, out), same
/// float dtype: `(grad @ weight, grad.T @ x, grad.sum(0))`, each only where its flag is set (None
/// otherwise).
#[pyfunction]
#[pyo3(signature = (x, weight, grad, need_x=true, need_weight=true, need_bias=true))]
pub fn linear_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    weight: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    need_x: bool,
    need_weight: bool,
    need_bias: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    crate::args::guard("linear_backward", || {
        let needs = (need_x, need_weight, need_bias);
        by_dtype!(
            "linear_backward",
            grad,
            linear_backward_typed(py, x, weight, grad, needs)
        )
    })
}
