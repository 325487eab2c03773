//! Bindings of the embedding kernels: row gather and its scatter-add gradient.

use ferrograd_core::embedding as k;
use ferrograd_core::num::Float;
use numpy::{Element, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::{alloc, arr, by_dtype, slice, with_mut};
use crate::errors::to_py;

fn fwd_t<'py, T: Float + Element>(
    py: Python<'py>,
    weight: &Bound<'py, PyAny>,
    ids: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "embedding";
    let w = arr::<T>(op, "weight", weight)?;
    let ids = arr::<i64>(op, "input", ids)?;
    if w.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "embedding: weight must be 2-d, got shape {:?}",
            w.shape()
        )));
    }
    let dim = w.shape()[1];
    let (ws, is) = (slice(op, "weight", &w)?, slice(op, "input", &ids)?);
    let mut shape = ids.shape().to_vec();
    shape.push(dim);
    let out = alloc::<T>(py, &shape)?;
    with_mut(&out, |o| py.detach(|| k::embedding_forward(ws, dim, is, o)))?.map_err(to_py)?;
    Ok(out.into_any())
}

fn bwd_t<'py, T: Float + Element>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    ids: &Bound<'py, PyAny>,
    num_embeddings: usize,
    padding_idx: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "embedding_backward";
    let g = arr::<T>(op, "grad", gy)?;
    let ids = arr::<i64>(op, "input", ids)?;
    let dim = *g
        .shape()
        .last()
        .ok_or_else(|| PyValueError::new_err("embedding_backward: grad is 0-d"))?;
    let (gs, is) = (slice(op, "grad", &g)?, slice(op, "input", &ids)?);
    let out = alloc::<T>(py, &[num_embeddings, dim])?;
    with_mut(&out, |o| {
        py.detach(|| k::embedding_backward(gs, dim, is, padding_idx, o))
    })?
    .map_err(to_py)?;
    Ok(out.into_any())
}

/// `weight[ids]` for a C-contiguous (num_embeddings, dim) table and int64 ids of any shape.
#[pyfunction]
fn embedding_forward<'py>(
    py: Python<'py>,
    weight: &Bound<'py, PyAny>,
    ids: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("embedding_forward", || {
        by_dtype!("embedding", weight, fwd_t(py, weight, ids))
    })
}

/// Gradient of the table: scatter-add of `gy` (ids.shape + (dim,)) rows; `padding_idx` gets 0.
#[pyfunction]
#[pyo3(signature = (gy, ids, num_embeddings, padding_idx))]
fn embedding_backward<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    ids: &Bound<'py, PyAny>,
    num_embeddings: usize,
    padding_idx: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("embedding_backward", || {
        by_dtype!(
            "embedding_backward",
            gy,
            bwd_t(py, gy, ids, num_embeddings, padding_idx)
        )
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(embedding_forward, m)?)?;
    m.add_function(wrap_pyfunction!(embedding_backward, m)?)?;
    Ok(())
}
