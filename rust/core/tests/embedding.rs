//! embedding gather / scatter-add against naive loops (both thread paths).

use ferrograd_core::embedding;
use rand::{Rng, SeedableRng};

#[test]
fn gather_and_scatter_add_match_naive() {
    for (seed, &(rows, dim, n)) in [
        (1usize, 1usize, 1usize),
        (7, 3, 11),
        (50, 33, 400),
        (64, 256, 1000),
    ]
    .iter()
    .enumerate()
    {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed as u64);
        let w: Vec<f64> = (0..rows * dim)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let ids: Vec<i64> = (0..n).map(|_| rng.random_range(0..rows as i64)).collect();
        let mut out = vec![f64::NAN; n * dim];
        embedding::embedding_forward(&w, dim, &ids, &mut out).unwrap();
        for (i, &id) in ids.iter().enumerate() {
            assert_eq!(
                &out[i * dim..(i + 1) * dim],
                &w[id as usize * dim..(id as usize + 1) * dim]
            );
        }
        let g: Vec<f64> = (0..n * dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        for pad in [None, Some(ids[0])] {
            let mut dw = vec![f64::NAN; rows * dim];
            embedding::embedding_backward(&g, dim, &ids, pad, &mut dw).unwrap();
            let mut want = vec![0.0; rows * dim];
            for (i, &id) in ids.iter().enumerate() {
                if Some(id) == pad {
                    continue;
                }
                for j in 0..dim {
                    want[id as usize * dim + j] += g[i * dim + j];
                }
            }
            for (a, b) in dw.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn out_of_range_ids_are_errors() {
    let w = vec![0f32; 6];
    let mut out = vec![0f32; 4];
    assert!(embedding::embedding_forward(&w, 2, &[0, 3], &mut out).is_err());
    assert!(embedding::embedding_forward(&w, 2, &[-1, 0], &mut out).is_err());
    assert!(embedding::embedding_forward(&w, 2, &[2, 0], &mut out).is_ok());
    let mut dw = vec![0f32; 6];
    assert!(embedding::embedding_backward(&out, 2, &[0, 3], None, &mut dw).is_err());
    assert!(embedding::embedding_backward(&out, 2, &[0], None, &mut dw).is_err());
}
