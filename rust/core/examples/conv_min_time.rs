//! Min-of-N timings of ResNet-18's convs at batch 32 (the shapes of benches/conv.rs `resnet18`),
//! on 1 and 2 threads, beside one GEMM of the same multiply-adds. On a shared, busy machine the
//! minimum of many short calls is steadier than criterion's mean.
//! `cargo run --release -p ferrograd-core --example conv_min_time [filter]`

use std::time::Instant;

use ferrograd_core::conv::{self, Conv2dShape};
use ferrograd_core::gemm::{gemm_par, Mat};
use ferrograd_core::StridedView;

const SHAPES: [(usize, usize, usize, usize, usize); 8] = [
    (3, 64, 7, 2, 32),
    (64, 64, 3, 1, 8),
    (64, 128, 3, 2, 8),
    (128, 128, 3, 1, 4),
    (128, 256, 3, 2, 4),
    (256, 256, 3, 1, 2),
    (256, 512, 3, 2, 2),
    (512, 512, 3, 1, 1),
];

fn min_ms(f: &mut dyn FnMut()) -> f64 {
    f();
    let mut best = f64::MAX;
    let start = Instant::now();
    let mut runs = 0;
    while runs < 15 || (start.elapsed().as_secs_f64() < 1.0 && runs < 400) {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
        runs += 1;
    }
    best
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    // Which of forward, backward-data, backward-weight, GEMM to time (e.g. "fdwg").
    let ops = std::env::args().nth(2).unwrap_or("fdwg".into());
    let threads_list: Vec<usize> = std::env::args()
        .nth(3)
        .map_or(vec![1, 2], |t| vec![t.parse().unwrap()]);
    let time = |op: char, f: &mut dyn FnMut()| {
        if ops.contains(op) {
            min_ms(f)
        } else {
            f64::NAN
        }
    };
    println!("shape                 thr |   fwd  bwd_d  bwd_w | gemm_same_macs");
    for (ci, co, k, st, hw) in SHAPES {
        let n = 32;
        let pad = k / 2;
        let s = Conv2dShape::new(
            [n, ci, hw, hw],
            [co, ci, k, k],
            (st, st),
            (pad, pad),
            (1, 1),
            1,
        )
        .unwrap();
        let name = format!("{ci}->{co} k{k} s{st} H{hw}");
        if !name.contains(&filter) {
            continue;
        }
        let x: Vec<f32> = (0..n * ci * hw * hw)
            .map(|i| (i % 17) as f32 * 0.1)
            .collect();
        let w: Vec<f32> = (0..co * ci * k * k)
            .map(|i| (i % 13) as f32 * 0.01)
            .collect();
        let out: usize = s.output_shape().iter().product();
        let gy: Vec<f32> = (0..out).map(|i| (i % 7) as f32 * 0.1).collect();
        let xv = StridedView::contiguous(&x, &s.input_shape()).unwrap();
        let (mut y, mut gx, mut gw) = (vec![0f32; out], vec![0f32; x.len()], vec![0f32; w.len()]);
        let (kk, p) = (ci * k * k, n * s.oh * s.ow);
        let cols: Vec<f32> = (0..kk * p).map(|i| (i % 11) as f32 * 0.1).collect();
        let mut prod = vec![0f32; co * p];
        for &threads in &threads_list {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let f = time('f', &mut || {
                    conv::conv2d_forward(&xv, &w, None, &s, &mut y).unwrap()
                });
                let d = time('d', &mut || {
                    conv::conv2d_backward_data(&gy, &w, &s, &mut gx).unwrap()
                });
                let g = time('w', &mut || {
                    conv::conv2d_backward_weight(&xv, &gy, &s, &mut gw, None).unwrap()
                });
                let m = time('g', &mut || {
                    gemm_par(
                        &mut prod,
                        Mat::c(&w, co, kk),
                        Mat::c(&cols, kk, p),
                        false,
                        true,
                    )
                });
                println!("{name:21} {threads}   | {f:5.2} {d:6.2} {g:6.2} | {m:5.2}");
            });
        }
    }
}
