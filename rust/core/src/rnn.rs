//! rnn kernels (forward and backward).
