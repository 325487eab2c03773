//! When a kernel splits its work across rayon's threads: below a threshold a call stays on the
//! calling thread, because a fork-join costs more than it saves (a few microseconds, about what
//! a small layer's whole kernel takes).
//!
//! The thresholds count different units, so their values differ:
//! - [`MACS_THRESHOLD`] counts multiply-adds of a product (GEMM, conv, attention, the recurrent
//!   steps). A multiply-add is the cheapest unit of work there is (two FMA units retire 32 f32
//!   ones per cycle), so a product needs many of them to pay for the threads.
//! - [`ELEMS_THRESHOLD`] counts elements of a row kernel (softmax, cross-entropy, layer norm;
//!   embedding waits for 4×). Each element costs an exp or several passes over memory, far
//!   more than a multiply-add, so fewer of them are enough.
//! - [`POOL_THRESHOLD`] counts the input elements of a pooling kernel (read forward, written
//!   backward). Each is one compare or add in a strided window walk: dearer than a
//!   multiply-add, cheaper than a row kernel's element.
//!
//! [`TASK_ELEMS`] is the other side of the policy: how many elements one task of an
//! elementwise pass (optimizer step, mixer GELU) takes.

/// Below this many multiply-adds a product runs on one thread.
pub const MACS_THRESHOLD: usize = 1 << 19;

/// Below this many multiply-adds one GEMM is not split across threads (independent products of a
/// batch still run side by side from MACS_THRESHOLD). Measured on the 2-core machine, 1 vs 2
/// threads: 64×64×128 11 vs 25 µs, 128³ 38 vs 47 µs, 256×128×128 75 vs 65 µs: waking the pool
/// costs ~15 µs, so a small model's GEMMs (an MLP's 64×128×128) stay on the calling thread.
pub const GEMM_SPLIT_THRESHOLD: usize = 1 << 22;

/// Below this many elements a row kernel runs on one thread.
pub const ELEMS_THRESHOLD: usize = 1 << 15;

/// Below this many input elements a pool kernel runs its planes on one thread.
pub const POOL_THRESHOLD: usize = 1 << 16;

/// Below this many elements a pass that only streams memory (relu, the fused mse loss) runs on
/// one thread: each element is a load, a compare or subtract and a store, so a fork-join pays
/// only on large arrays. Measured on the 2-core dev machine (relu and mse f32, 1 vs 2 threads):
/// 2^18 elements 23 vs 38 µs, 2^19 about even, 2^20 157 vs 108 µs.
pub const STREAM_THRESHOLD: usize = 1 << 19;

/// Elements per rayon task of an elementwise pass; a pass of at most this many (optimizer) or
/// under twice this many (mixer) stays on the calling thread.
pub const TASK_ELEMS: usize = 1 << 15;

/// Threads rayon runs tasks on.
#[inline]
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Whether `work` (in the unit of `threshold`) is worth splitting across threads.
#[inline]
pub fn worth(work: usize, threshold: usize) -> bool {
    work >= threshold && threads() > 1
}

/// Whether a row kernel over `rows` rows of `cols` elements runs on several threads.
#[inline]
pub fn parallel(rows: usize, cols: usize) -> bool {
    rows * cols >= ELEMS_THRESHOLD && threads() > 1 && rows > 1
}

/// Splits `rows` rows of `cols` into blocks for rayon: a few blocks per thread.
pub fn rows_per_block(rows: usize, cols: usize) -> usize {
    let threads = threads().max(1);
    let blocks = (threads * 4).min(rows.max(1));
    let per = rows.div_ceil(blocks).max(1);
    // Keep blocks at least ~4K elements so tiny rows do not make tiny tasks.
    per.max(4096 / cols.max(1)).max(1)
}

/// Builds rayon's global pool with the calling thread as worker 0 (the thread that imports the
/// Python module). A parallel kernel called from that thread then runs on it and one worker fewer
/// is spawned: no hand-off of the job to a pool thread and no sleep/wake of the caller per call,
/// which is most of the cost of a small parallel kernel. Forked children stay safe: their worker
/// 0 runs every task itself (an outside caller would wait for workers that do not exist there).
/// `FG_POOL_CALLER=0` keeps rayon's default pool (for comparisons). False when the global pool
/// was already built, or when it would have no thread of its own: with one thread in all, a
/// kernel called from another Python thread would wait for the importing thread to enter rayon.
pub fn adopt_calling_thread() -> bool {
    if std::env::var("FG_POOL_CALLER").is_ok_and(|v| v == "0") || configured_threads() < 2 {
        return false;
    }
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
        .is_ok()
}

/// The size rayon gives its global pool: RAYON_NUM_THREADS when it is a positive number, else the
/// logical CPUs.
fn configured_threads() -> usize {
    match std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}
