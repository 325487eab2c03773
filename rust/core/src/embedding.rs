//! embedding kernels (forward and backward).
