//! Min-of-many timing of sdpa_forward / sdpa_backward on both paths (tuning the short-path
//! switch): `cargo run --release --example attn_short_speed -- B L S E [mask|causal]`.
use ferrograd_core::attention::{sdpa_backward_path, sdpa_forward_path, Path};
use ferrograd_core::StridedView;
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let n = |i: usize, d: usize| a.get(i).and_then(|x| x.parse().ok()).unwrap_or(d);
    let (nb, l, s, e) = (n(0, 512), n(1, 10), n(2, 10), n(3, 16));
    let mode = a.get(4).cloned().unwrap_or_default();
    let ev = e;
    let r = |k: usize, seed: u32| {
        (0..k)
            .map(|i| ((i as u32 ^ seed).wrapping_mul(2654435761) % 1000) as f32 / 500.0 - 1.0)
            .collect::<Vec<f32>>()
    };
    let (q, k, v, g) = (
        r(nb * l * e, 1),
        r(nb * s * e, 2),
        r(nb * s * ev, 3),
        r(nb * l * ev, 4),
    );
    let m = vec![0f32; l * s];
    let vq = StridedView::contiguous(&q, &[nb, l, e]).unwrap();
    let vk = StridedView::contiguous(&k, &[nb, s, e]).unwrap();
    let vv = StridedView::contiguous(&v, &[nb, s, ev]).unwrap();
    let vg = StridedView::contiguous(&g, &[nb, l, ev]).unwrap();
    let vm = StridedView::new(&m, 0, &[nb, l, s], &[0, s as isize, 1]).unwrap();
    let mask = if mode == "mask" { Some(&vm) } else { None };
    let causal = mode == "causal";
    for path in [Path::Tiled, Path::Short] {
        let mut out = vec![0f32; nb * l * ev];
        let mut lse = vec![0f32; nb * l];
        let (mut dq, mut dk, mut dv) = (
            vec![0f32; nb * l * e],
            vec![0f32; nb * s * e],
            vec![0f32; nb * s * ev],
        );
        let (mut bf, mut bb) = (f64::MAX, f64::MAX);
        for _ in 0..200 {
            let t = Instant::now();
            sdpa_forward_path(&vq, &vk, &vv, mask, causal, 0.25, &mut out, &mut lse, path).unwrap();
            bf = bf.min(t.elapsed().as_secs_f64());
            let vo = StridedView::contiguous(&out, &[nb, l, ev]).unwrap();
            let t = Instant::now();
            sdpa_backward_path(
                &vq, &vk, &vv, mask, causal, 0.25, &vo, &lse, &vg, &mut dq, &mut dk, &mut dv, path,
            )
            .unwrap();
            bb = bb.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{path:?} B{nb} L{l} S{s} E{e} {mode}: fwd {:.1} us, bwd {:.1} us",
            bf * 1e6,
            bb * 1e6
        );
    }
}
