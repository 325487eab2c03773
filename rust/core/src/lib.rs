//! ferrograd-core: the compute kernels of ferrograd, in pure Rust.
//!
//! Kernels take borrowed, strided views and write into caller-owned outputs, so the
//! Python bindings can pass numpy memory straight through without copies.

// Shared numerics: the float traits, CPU-feature dispatch, the threading policy, dense GEMM
// helpers, per-thread scratch buffers and strided views.
pub mod error;
pub mod gemm;
pub mod num;
pub mod par;
pub(crate) mod scratch;
pub mod simd;
pub mod strided;
pub mod thin;

// The kernels, one module per family.

pub mod activation;
pub mod attention;
pub mod conv;
pub mod embedding;
pub mod mixing;
pub mod mse;
pub mod norm;
pub mod optim;
pub mod packed;
pub mod pool;
pub mod relu;
pub mod rnn;
pub mod softmax;

pub use error::{Error, Result};
pub use strided::StridedView;
