//! mixing kernels (forward and backward).
