//! Times the packed recurrent-step GEMM against faer on the LSTM step shapes: one thread, then
//! two threads sharing the packed matrix (each with its own rows, as in the LSTM kernels).
//! Run: cargo run --release -p ferrograd-core --example packed_speed
use ferrograd_core::gemm::{gemm_par, Mat};
use ferrograd_core::packed::PackedRhs;
use std::time::Instant;

fn best(mut f: impl FnMut()) -> f64 {
    (0..15)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let reps = 64;
    for &(m, k, n) in &[
        (16usize, 256usize, 1024usize),
        (16, 1024, 256),
        (32, 256, 1024),
    ] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0f32; m * n];
        let packed = PackedRhs::new(Mat::c(&b, k, n));
        let tp = best(|| {
            for _ in 0..reps {
                packed.matmul(&mut c, Mat::c(&a, m, k), true)
            }
        });
        let tf = best(|| {
            for _ in 0..reps {
                gemm_par(&mut c, Mat::c(&a, m, k), Mat::c(&b, k, n), true, false)
            }
        });
        let mut c2 = vec![0f32; m * n];
        let t2 = best(|| {
            std::thread::scope(|s| {
                for c in [&mut c, &mut c2] {
                    let (packed, a) = (&packed, &a);
                    s.spawn(move || {
                        for _ in 0..reps {
                            packed.matmul(c, Mat::c(a, m, k), true)
                        }
                    });
                }
            })
        });
        let gf = 2.0 * (m * k * n * reps) as f64 / 1e9;
        println!(
            "{m}x{k}x{n}: packed {:.1} GF/s, faer {:.1} GF/s; two threads packed {:.1} GF/s each",
            gf / tp,
            gf / tf,
            gf / t2
        );
    }
}
