//! pool kernels (forward and backward).
