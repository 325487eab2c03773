//! `ferrograd._native`: thin PyO3 bindings over ferrograd-core. Each binding borrows numpy
//! arrays without copying, runs the kernel with the GIL released, and maps core errors to
//! Python exceptions. One file per kernel family, each with a `register` function; the
//! argument helpers they all share (dtype dispatch, C-order checks, views, outputs, the panic
//! guard) are in `args`.

use pyo3::prelude::*;

mod aligned;
mod args;
mod errors;
mod gemm;

mod activation;
mod attention;
mod conv;
mod embedding;
mod mixing;
mod mse;
mod norm;
mod optim;
mod pool;
mod rnn;
mod softmax;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    ferrograd_core::par::adopt_calling_thread();
    m.add_function(wrap_pyfunction!(gemm::matmul, m)?)?;
    m.add_function(wrap_pyfunction!(gemm::linear_backward, m)?)?;
    aligned::register(m)?;
    activation::register(m)?;
    attention::register(m)?;
    conv::register(m)?;
    embedding::register(m)?;
    mixing::register(m)?;
    mse::register(m)?;
    norm::register(m)?;
    optim::register(m)?;
    pool::register(m)?;
    rnn::register(m)?;
    softmax::register(m)?;
    Ok(())
}
