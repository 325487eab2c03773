//! softmax kernels (forward and backward).
