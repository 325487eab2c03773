//! Helpers shared by the kernel tests (`mod common;` in each test crate that uses them).

/// Runs `f` on a rayon pool of `threads` threads (the kernels pick their split from it).
pub fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}
