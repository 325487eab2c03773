//! norm kernels (forward and backward).
