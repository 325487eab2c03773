//! `_native.matmul(a, b)`: batched, broadcast, strided matrix product for float32 and float64.

use ferrograd_core::gemm;
use ferrograd_core::num::Float;
use numpy::Element;
use numpy::PyUntypedArrayMethods;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::{alloc, arr, by_dtype, opt_arr, slice, view, with_mut};
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
