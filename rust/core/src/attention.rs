//! attention kernels (forward and backward).
