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

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

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

/// Elements per task of an elementwise pass of `n` elements split across the threads: tasks of
/// at most about TASK_ELEMS, as many as a multiple of the thread count, each a multiple of
/// `align`. Fixed TASK_ELEMS tasks left the last round uneven: 5 tasks on 2 threads ran 3 on one,
/// and a 1280×128 GELU took 142 µs on 2 threads against 195 on one, not half.
pub fn task_elems(n: usize, align: usize) -> usize {
    even_tasks(n, align, threads())
}

fn even_tasks(n: usize, align: usize, threads: usize) -> usize {
    let t = threads.max(1);
    let tasks = n.div_ceil(t * TASK_ELEMS).max(1) * t;
    n.div_ceil(tasks).next_multiple_of(align.max(1)).max(1)
}

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
/// was already built, or with one thread in all: then each calling thread runs its kernels
/// itself ([`run_on_caller`]).
pub fn adopt_calling_thread() -> bool {
    if std::env::var("FG_POOL_CALLER").is_ok_and(|v| v == "0") {
        return false;
    }
    if configured_threads() < 2 {
        ONE_THREAD.store(true, Ordering::Relaxed);
        run_on_caller();
        return false;
    }
    let built = rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
        .is_ok();
    let micros = std::env::var("FG_POOL_SPIN_US")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_WARM_MICROS);
    if built && micros > 0 {
        WARM_NANOS.store(micros * 1000, Ordering::Relaxed);
        POOL_PID.store(std::process::id(), Ordering::Relaxed);
    }
    built
}

// ---- one thread in all: every kernel on its calling thread --------------------------------------
//
// With one thread, rayon's global pool is one worker beside the Python thread, and a kernel's
// parallel iterator (even one split into a single task) hands its job to that worker and sleeps
// until it is done: two context switches, ~10 µs, per call. A GRU step makes 40 such calls (one
// per time step each way), an Adam step one per large parameter. Instead each thread that calls
// a kernel becomes the only worker of a pool of its own, so rayon runs everything inline on it.
// (The importing thread cannot be the global pool's only worker, as with 2+ threads: a kernel
// from another Python thread would then wait for it.)

/// Set when the pool has one thread in all (and `FG_POOL_CALLER` is not 0).
static ONE_THREAD: AtomicBool = AtomicBool::new(false);

/// Called before each kernel: with one thread in all, makes the calling thread the sole worker of
/// its own pool the first time it calls one. The pool is leaked on purpose: rayon leaves the
/// adopted thread's worker state pointing at it for the thread's whole life (rayon leaks that
/// state itself), so each Python thread that ever calls a kernel keeps a small registry (a few
/// KB, no OS thread) until the process ends.
pub fn run_on_caller() {
    if !ONE_THREAD.load(Ordering::Relaxed) || rayon::current_thread_index().is_some() {
        return;
    }
    let own = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build();
    if let Ok(pool) = own {
        std::mem::forget(pool);
    }
}

// ---- a warm pool between kernels ------------------------------------------------------------
//
// A small model calls a kernel every few tens of microseconds, with Python in between. Rayon's
// idle workers go to sleep after a few rounds of looking for work, so each parallel kernel paid a
// futex wake-up (in a VM an inter-processor interrupt too): measured in a Transformer step's
// replay on 2 threads, its GEMMs took 1.8x their back-to-back time, slower than on one thread.
// OpenMP runtimes (PyTorch's threads) spin a while before sleeping for the same reason. Here each
// kernel call (`keep_warm`, from the Python binding) extends a short window in which the other
// workers keep looking for work, running any that a kernel forks at once.

/// How long (µs) the workers keep looking for work after the last kernel call;
/// `FG_POOL_SPIN_US` sets another (0: never).
const DEFAULT_WARM_MICROS: u64 = 1000;
static WARM_NANOS: AtomicU64 = AtomicU64::new(0);

/// The pid that built the adopted pool (0: no warm pool). A forked child has none of the pool's
/// threads, so a spinner spawned there would never run: it spawns none.
static POOL_PID: AtomicU32 = AtomicU32::new(0);
/// End of the warm window, in nanoseconds since [`epoch`].
static WARM_UNTIL: AtomicU64 = AtomicU64::new(0);
/// Workers now spinning (a new round of spinners starts only when all have stopped).
static SPINNERS: AtomicUsize = AtomicUsize::new(0);

fn epoch() -> &'static Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now)
}

fn now_nanos() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// Called after each kernel: keeps the pool's other workers awake for the window. No-op with one
/// thread, without the adopted pool (`FG_POOL_CALLER=0`), with `FG_POOL_SPIN_US=0`, and in a
/// forked child.
pub fn keep_warm() {
    let pid = POOL_PID.load(Ordering::Relaxed);
    if pid == 0 {
        return;
    }
    WARM_UNTIL.store(
        now_nanos() + WARM_NANOS.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    let workers = threads().saturating_sub(1);
    if workers == 0 || SPINNERS.load(Ordering::Relaxed) != 0 || pid != std::process::id() {
        return;
    }
    if SPINNERS
        .compare_exchange(0, workers, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    rayon::spawn_broadcast(|ctx| {
        if ctx.index() == 0 {
            return; // the adopted caller's thread: it has Python to run
        }
        spin_until_cold();
        SPINNERS.fetch_sub(1, Ordering::AcqRel);
    });
}

/// Runs whatever work the pool gets until the warm window has passed. `thread::yield_now` gives
/// the core away when another process wants it (several ranks on one machine).
fn spin_until_cold() {
    loop {
        if let Some(rayon::Yield::Executed) = rayon::yield_now() {
            continue;
        }
        if now_nanos() > WARM_UNTIL.load(Ordering::Relaxed) {
            return;
        }
        for _ in 0..32 {
            std::hint::spin_loop();
        }
        std::thread::yield_now();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every thread gets the same number of tasks (the last one shorter at most), each task
    /// aligned and near TASK_ELEMS.
    #[test]
    fn elementwise_tasks_are_even_across_threads() {
        for threads in [1usize, 2, 3, 8] {
            for n in [1usize, 100, TASK_ELEMS, 5 * TASK_ELEMS, 163_840, 1_000_003] {
                let task = even_tasks(n, 128, threads);
                assert_eq!(task % 128, 0, "n={n} threads={threads}");
                assert!(task <= TASK_ELEMS + 128, "n={n} threads={threads}: task {task}");
                // The thread with the most tasks holds its share and at most the alignment's
                // slack per task (fixed TASK_ELEMS tasks: 5 on 2 threads, 3/5 on one).
                let rounds = n.div_ceil(task).div_ceil(threads);
                let busiest = (rounds * task).min(n);
                let share = n.div_ceil(threads) + 128 * rounds;
                assert!(busiest <= share, "n={n} threads={threads}: {busiest} > {share}");
            }
        }
    }
}
