//! `ferrograd._native`: thin PyO3 bindings over ferrograd-core. Each binding borrows numpy
//! arrays without copying, runs the kernel with the GIL released, and maps core errors to
//! Python exceptions.

use pyo3::prelude::*;

mod errors;
mod gemm;
mod views;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gemm::matmul, m)?)?;
    Ok(())
}
