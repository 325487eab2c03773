//! conv kernels (forward and backward).
