//! The fast GEMM against a naive triple loop, on odd shapes, transposed and broadcast operands.

mod common;
use common::on_threads;
use ferrograd_core::{gemm, StridedView};
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Element `(batch, i, j)` of a view through its strides, the slow obvious way.
fn at(data: &[f64], off: isize, strides: &[isize], idx: &[usize]) -> f64 {
    let o: isize = off
        + idx
            .iter()
            .zip(strides)
            .map(|(&i, &s)| i as isize * s)
            .sum::<isize>();
    data[o as usize]
}

fn naive(
    a: (&[f64], isize, [isize; 2]),
    b: (&[f64], isize, [isize; 2]),
    m: usize,
    k: usize,
    n: usize,
) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k)
                .map(|p| at(a.0, a.1, &a.2, &[i, p]) * at(b.0, b.1, &b.2, &[p, j]))
                .sum();
        }
    }
    out
}

fn assert_close(got: &[f64], want: &[f64], k: usize) {
    assert_eq!(got.len(), want.len());
    let tol = 1e-12 * (k as f64 + 1.0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "element {i}: {g} vs {w}");
    }
}

#[test]
fn matches_naive_on_odd_shapes_and_transposes() {
    let sizes = [1usize, 7, 65, 257];
    let mut seed = 0;
    for &m in &sizes {
        for &k in &sizes {
            for &n in &[1usize, 7, 65, 130] {
                seed += 1;
                let a = random(m * k, seed);
                let b = random(k * n, seed + 1000);
                // a as stored (m, k) row-major; b stored as (n, k) and read transposed.
                let va = StridedView::new(&a, 0, &[m, k], &[k as isize, 1]).unwrap();
                let vbt = StridedView::new(&b, 0, &[k, n], &[1, k as isize]).unwrap();
                let mut out = vec![f64::NAN; m * n];
                gemm::matmul(&va, &vbt, &mut out).unwrap();
                let want = naive((&a, 0, [k as isize, 1]), (&b, 0, [1, k as isize]), m, k, n);
                assert_close(&out, &want, k);
            }
        }
    }
}

#[test]
fn float32_matches_float64_within_rounding() {
    let (m, k, n) = (33, 257, 65);
    let a = random(m * k, 1);
    let b = random(k * n, 2);
    let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
    let mut out32 = vec![0f32; m * n];
    gemm::matmul(
        &StridedView::contiguous(&a32, &[m, k]).unwrap(),
        &StridedView::contiguous(&b32, &[k, n]).unwrap(),
        &mut out32,
    )
    .unwrap();
    let want = naive((&a, 0, [k as isize, 1]), (&b, 0, [n as isize, 1]), m, k, n);
    for (g, w) in out32.iter().zip(&want) {
        assert!((*g as f64 - w).abs() < 1e-4, "{g} vs {w}");
    }
}

#[test]
fn negative_strides_read_a_reversed_view() {
    let (m, k, n) = (5, 7, 3);
    let a = random(m * k, 3);
    let b = random(k * n, 4);
    // a with its rows reversed: start at the last row, row stride -k.
    let va = StridedView::new(&a, (m - 1) * k, &[m, k], &[-(k as isize), 1]).unwrap();
    let vb = StridedView::contiguous(&b, &[k, n]).unwrap();
    let mut out = vec![0.0; m * n];
    gemm::matmul(&va, &vb, &mut out).unwrap();
    let want = naive(
        (&a, ((m - 1) * k) as isize, [-(k as isize), 1]),
        (&b, 0, [n as isize, 1]),
        m,
        k,
        n,
    );
    assert_close(&out, &want, k);
}

#[test]
fn batched_with_broadcast_batch_dims() {
    // a: (2, 1, m, k), b: (3, k, n) -> out (2, 3, m, n); big enough to take the parallel paths.
    let (m, k, n) = (70, 90, 80);
    let a = random(2 * m * k, 5);
    let b = random(3 * k * n, 6);
    let va = StridedView::contiguous(&a, &[2, 1, m, k]).unwrap();
    let vb = StridedView::contiguous(&b, &[3, k, n]).unwrap();
    assert_eq!(
        gemm::matmul_shape(va.shape(), vb.shape()).unwrap(),
        vec![2, 3, m, n]
    );
    let mut out = vec![0.0; 6 * m * n];
    gemm::matmul(&va, &vb, &mut out).unwrap();
    for i in 0..2 {
        for j in 0..3 {
            let want = naive(
                (&a, (i * m * k) as isize, [k as isize, 1]),
                (&b, (j * k * n) as isize, [n as isize, 1]),
                m,
                k,
                n,
            );
            let start = (i * 3 + j) * m * n;
            assert_close(&out[start..start + m * n], &want, k);
        }
    }
}

#[test]
fn empty_and_zero_inner_dims() {
    let a: Vec<f64> = vec![];
    let mut out = vec![f64::NAN; 6];
    let va = StridedView::contiguous(&a, &[2, 0]).unwrap();
    let vb = StridedView::contiguous(&a, &[0, 3]).unwrap();
    gemm::matmul(&va, &vb, &mut out).unwrap();
    assert!(out.iter().all(|&x| x == 0.0));
    let vz = StridedView::contiguous(&a, &[0, 4]).unwrap();
    let b = vec![1.0; 12];
    let vb = StridedView::contiguous(&b, &[4, 3]).unwrap();
    let mut none: Vec<f64> = vec![];
    gemm::matmul(&vz, &vb, &mut none).unwrap();
}

#[test]
fn shape_errors_are_reported_not_panicked() {
    let a = vec![0.0f64; 12];
    let va = StridedView::contiguous(&a, &[3, 4]).unwrap();
    let vb = StridedView::contiguous(&a, &[3, 4]).unwrap();
    let err = gemm::matmul(&va, &vb, &mut vec![0.0; 12]).unwrap_err();
    assert!(err.to_string().contains("[3, 4] @ [3, 4]"), "{err}");
    let v1 = StridedView::contiguous(&a, &[12]).unwrap();
    assert!(gemm::matmul(&v1, &vb, &mut vec![0.0; 4]).is_err());
    let vb = StridedView::contiguous(&a, &[4, 3]).unwrap();
    assert!(gemm::matmul(&va, &vb, &mut vec![0.0; 5]).is_err());
    let b2 = vec![0.0f64; 24];
    let va2 = StridedView::contiguous(&b2, &[2, 3, 4]).unwrap();
    let vb3 = StridedView::contiguous(&b2, &[3, 4, 2]).unwrap();
    assert!(gemm::matmul_shape(va2.shape(), vb3.shape()).is_err());
}

#[test]
fn batch_folds_into_rows_when_b_is_shared() {
    // a: (3, 5, m, k) contiguous, b: (1, k, n) -> one (15*m, k) product, same values as per batch.
    let (m, k, n) = (4, 6, 5);
    let a = random(15 * m * k, 7);
    let b = random(k * n, 8);
    let va = StridedView::contiguous(&a, &[3, 5, m, k]).unwrap();
    let vb = StridedView::contiguous(&b, &[1, k, n]).unwrap();
    let mut out = vec![0.0; 15 * m * n];
    gemm::matmul(&va, &vb, &mut out).unwrap();
    for i in 0..15 {
        let want = naive(
            (&a, (i * m * k) as isize, [k as isize, 1]),
            (&b, 0, [n as isize, 1]),
            m,
            k,
            n,
        );
        assert_close(&out[i * m * n..(i + 1) * m * n], &want, k);
    }
    // a whose batch dim is not mergeable (every other matrix of a bigger buffer) still works.
    let va = StridedView::new(&a, 0, &[7, m, k], &[2 * (m * k) as isize, k as isize, 1]).unwrap();
    let vb = StridedView::contiguous(&b, &[k, n]).unwrap();
    let mut out = vec![0.0; 7 * m * n];
    gemm::matmul(&va, &vb, &mut out).unwrap();
    for i in 0..7 {
        let want = naive(
            (&a, (2 * i * m * k) as isize, [k as isize, 1]),
            (&b, 0, [n as isize, 1]),
            m,
            k,
            n,
        );
        assert_close(&out[i * m * n..(i + 1) * m * n], &want, k);
    }
}

#[test]
fn thin_products_match_naive_in_every_layout() {
    // n <= 4 output columns take the thin path (dot products or scaled-column sums), n = 5 the
    // GEMM; a's rows contiguous, its columns contiguous, or neither (the GEMM again).
    let mut seed = 5000;
    for &(m, k) in &[(1usize, 1usize), (3, 17), (40, 33), (257, 130)] {
        for n in 1..=5usize {
            seed += 1;
            let a = random(m * k * 2, seed);
            let b = random(k * n * 3, seed + 1);
            let a_layouts: [(isize, [isize; 2]); 3] = [
                (0, [k as isize, 1]),     // row-major
                (0, [1, m as isize]),     // column-major (a transposed)
                (1, [2 * k as isize, 2]), // neither axis contiguous
            ];
            let b_layouts: [(isize, [isize; 2]); 2] =
                [(0, [n as isize, 1]), (2, [1, 3 * k as isize])];
            for &(ao, ast) in &a_layouts {
                for &(bo, bst) in &b_layouts {
                    let va = StridedView::new(&a, ao as usize, &[m, k], &ast).unwrap();
                    let vb = StridedView::new(&b, bo as usize, &[k, n], &bst).unwrap();
                    let mut out = vec![f64::NAN; m * n];
                    gemm::matmul(&va, &vb, &mut out).unwrap();
                    let want = naive((&a, ao, ast), (&b, bo, bst), m, k, n);
                    assert_close(&out, &want, k);
                }
            }
        }
    }
}

/// From GEMM_SPLIT_THRESHOLD multiply-adds one product splits the longer of its output dims
/// across the threads (rows of a when m > n, columns of b otherwise), each part a whole
/// single-threaded GEMM. On 1, 2 and 3 threads, parts not a multiple of 16, a read transposed
/// and batched products, against the naive loop.
#[test]
fn split_products_match_naive_on_any_thread_count() {
    let cases = [
        (1283usize, 64usize, 70usize),
        (70, 64, 1283),
        (301, 129, 300),
        (97, 700, 101),
    ];
    for threads in [1, 2, 3] {
        on_threads(threads, || {
            for (ci, &(m, k, n)) in cases.iter().enumerate() {
                let seed = 7000 + ci as u64;
                let (a, b) = (random(2 * m * k, seed), random(k * n, seed + 1));
                // a stored (k, m) and read transposed; then two batches of a row-major a.
                let vat = StridedView::new(&a, 0, &[m, k], &[1, m as isize]).unwrap();
                let vb = StridedView::new(&b, 0, &[k, n], &[n as isize, 1]).unwrap();
                let mut out = vec![f64::NAN; m * n];
                gemm::matmul(&vat, &vb, &mut out).unwrap();
                let want = naive((&a, 0, [1, m as isize]), (&b, 0, [n as isize, 1]), m, k, n);
                assert_close(&out, &want, k);
                let va2 = StridedView::new(&a, 0, &[2, m, k], &[(m * k) as isize, k as isize, 1])
                    .unwrap();
                let vb2 = StridedView::new(&b, 0, &[1, k, n], &[0, n as isize, 1]).unwrap();
                let mut out2 = vec![f64::NAN; 2 * m * n];
                gemm::matmul(&va2, &vb2, &mut out2).unwrap();
                for bi in 0..2 {
                    let off = (bi * m * k) as isize;
                    let want = naive(
                        (&a, off, [k as isize, 1]),
                        (&b, 0, [n as isize, 1]),
                        m,
                        k,
                        n,
                    );
                    assert_close(&out2[bi * m * n..(bi + 1) * m * n], &want, k);
                }
            }
        });
    }
}

/// The raw-matrix GEMM of the fused kernels (RNN, mixing) splits the same way, also when it adds
/// into its destination and the destination's rows are longer than n (padding left untouched).
#[test]
fn split_gemm_ld_adds_into_padded_rows() {
    let (m, k, n, ld) = (300usize, 150usize, 130usize, 133usize);
    for threads in [1, 2, 3] {
        on_threads(threads, || {
            let (a, b) = (random(m * k, 8100), random(k * n, 8101));
            let init = random(m * ld, 8102);
            let mut dst = init.clone();
            gemm::gemm_ld(
                &mut dst,
                ld,
                gemm::Mat::c(&a, m, k),
                gemm::Mat::c(&b, k, n),
                true,
                true,
            );
            let prod = naive((&a, 0, [k as isize, 1]), (&b, 0, [n as isize, 1]), m, k, n);
            for r in 0..m {
                for c in 0..ld {
                    let want = if c < n {
                        init[r * ld + c] + prod[r * n + c]
                    } else {
                        init[r * ld + c]
                    };
                    let got = dst[r * ld + c];
                    assert!(
                        (got - want).abs() <= 1e-12 * (k as f64 + 2.0),
                        "({r}, {c}): {got} vs {want}"
                    );
                }
            }
        });
    }
}
