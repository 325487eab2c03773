use ferrograd_core::rnn::{gemm_ld, Mat};
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
    let (rows, g4, hi) = (2048usize, 1024usize, 512usize);
    let dg: Vec<f32> = (0..rows * g4).map(|v| (v % 7) as f32 * 0.1).collect();
    let hx: Vec<f32> = (0..rows * hi).map(|v| (v % 5) as f32 * 0.1).collect();
    let gf = 2.0 * (rows * g4 * hi) as f64 / 1e9;
    let mut out = vec![0f32; g4 * hi];
    let t = best(|| {
        gemm_ld(
            &mut out,
            hi,
            Mat::c(&dg, rows, g4).t(),
            Mat::c(&hx, rows, hi),
            false,
            true,
        )
    });
    println!("faer par: {:.2} ms {:.0} GF/s", t * 1e3, gf / t);
    let t = best(|| {
        let (a, b) = out.split_at_mut(g4 / 2 * hi);
        rayon::join(
            || {
                gemm_ld(
                    a,
                    hi,
                    Mat::c(&dg, rows, g4).t().rows(0, g4 / 2),
                    Mat::c(&hx, rows, hi),
                    false,
                    false,
                )
            },
            || {
                gemm_ld(
                    b,
                    hi,
                    Mat::c(&dg, rows, g4).t().rows(g4 / 2, g4 / 2),
                    Mat::c(&hx, rows, hi),
                    false,
                    false,
                )
            },
        );
    });
    println!("split M seq: {:.2} ms {:.0} GF/s", t * 1e3, gf / t);
    let t = best(|| {
        let (a, b) = out.split_at_mut(g4 / 2 * hi);
        rayon::join(
            || {
                gemm_ld(
                    a,
                    hi,
                    Mat::c(&dg, rows, g4).t().rows(0, g4 / 2),
                    Mat::c(&hx, rows, hi),
                    false,
                    false,
                )
            },
            || {
                gemm_ld(
                    b,
                    hi,
                    Mat::c(&dg, rows, g4).t().rows(g4 / 2, g4 / 2),
                    Mat::c(&hx, rows, hi),
                    false,
                    false,
                )
            },
        );
    });
    println!("split M seq: {:.2} ms {:.0} GF/s", t * 1e3, gf / t);
    let mut out2 = vec![0f32; g4 * hi];
    let t = best(|| {
        rayon::join(
            || {
                gemm_ld(
                    &mut out,
                    hi,
                    Mat::c(&dg[..rows / 2 * g4], rows / 2, g4).t(),
                    Mat::c(&hx, rows / 2, hi),
                    false,
                    false,
                )
            },
            || {
                gemm_ld(
                    &mut out2,
                    hi,
                    Mat::c(&dg[rows / 2 * g4..], rows / 2, g4).t(),
                    Mat::c(&hx[rows / 2 * hi..], rows / 2, hi),
                    false,
                    false,
                )
            },
        );
        for (o, v) in out.iter_mut().zip(&out2) {
            *o += v;
        }
    });
    println!("split K seq: {:.2} ms {:.0} GF/s", t * 1e3, gf / t);
    let t = best(|| {
        gemm_ld(
            &mut out,
            hi,
            Mat::c(&dg, rows, g4).t(),
            Mat::c(&hx, rows, hi),
            false,
            false,
        )
    });
    println!("faer seq 1 thread: {:.2} ms {:.0} GF/s", t * 1e3, gf / t);
}
