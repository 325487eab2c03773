//! `_native.matmul(a, b)`: batched, broadcast, strided matrix product for float32 and float64.

use ferrograd_core::gemm::{self, Float};
use numpy::{Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::views::view;

fn matmul_typed<'py, T: Float + Element>(
    py: Python<'py>,
    a: PyReadonlyArrayDyn<'py, T>,
    b: PyReadonlyArrayDyn<'py, T>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let (va, vb) = (view(&a).map_err(to_py)?, view(&b).map_err(to_py)?);
    let shape = gemm::matmul_shape(va.shape(), vb.shape()).map_err(to_py)?;
    // SAFETY: every element is written by the kernel before Python can see the array.
    let out = crate::args::alloc::<T>(py, &shape)?;
    {
        let mut out_rw = out.readwrite();
        let out_slice = out_rw.as_slice_mut().expect("a new array is contiguous");
        py.detach(|| gemm::matmul(&va, &vb, out_slice)).map_err(to_py)?;
    }
    Ok(out)
}

/// `a @ b` for arrays of rank >= 2 with the same float dtype; batch dims broadcast.
#[pyfunction]
pub fn matmul<'py>(py: Python<'py>, a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("matmul", || {
        if let (Ok(a), Ok(b)) = (a.extract::<PyReadonlyArrayDyn<f32>>(), b.extract::<PyReadonlyArrayDyn<f32>>()) {
            return Ok(matmul_typed(py, a, b)?.into_any());
        }
        if let (Ok(a), Ok(b)) = (a.extract::<PyReadonlyArrayDyn<f64>>(), b.extract::<PyReadonlyArrayDyn<f64>>()) {
            return Ok(matmul_typed(py, a, b)?.into_any());
        }
        Err(PyTypeError::new_err(
            "matmul: both operands must be numpy arrays of one dtype, float32 or float64",
        ))
    })
}
