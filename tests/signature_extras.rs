//! Joins, straight segments and chosen coefficients through the public Rust API, against the
//! signature itself: Chen's identity, the signature's own entries, finite differences.

use tensorsig::algebra::{MulExpWorkspace, exp_mul, product};
use tensorsig::{Error, Layout, PathTransform, Paths, SigParams, Threads, WordTrie};

/// A deterministic pseudo-random sequence in [-0.4, 0.4).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.8
        })
        .collect()
}

fn sig_of(data: &[f64], batch: usize, len: usize, dim: usize, degree: usize) -> Vec<f64> {
    sig_with(data, batch, len, dim, degree, &PathTransform::default())
}

fn sig_with(
    data: &[f64],
    batch: usize,
    len: usize,
    dim: usize,
    degree: usize,
    t: &PathTransform,
) -> Vec<f64> {
    let paths = Paths::new(data, batch, len, dim).unwrap();
    let params = SigParams::new(degree).with_transform(*t);
    let layout = params.layout(&paths).unwrap();
    let mut out = vec![f64::NAN; batch * layout.len()];
    tensorsig::sig(&paths, &params, Threads::SERIAL, &mut out).unwrap();
    out
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "index {i}: {x} vs {y}"
        );
    }
}

#[test]
fn join_appends_and_prepends_a_point() {
    let (batch, len, d, n) = (3, 6, 3, 4);
    let data = noise(batch * len * d, 1);
    let layout = Layout::new(d, n).unwrap();
    let sigs = sig_of(&data, batch, len, d, n);
    let v = noise(batch * d, 2);
    for prepend in [false, true] {
        let mut joined = vec![f64::NAN; sigs.len()];
        tensorsig::sig_join(
            layout,
            &sigs,
            &v,
            prepend,
            false,
            Threads::SERIAL,
            &mut joined,
        )
        .unwrap();
        // The path with one more point: x_{L-1} + v at the end, or x_0 - v in front.
        let mut longer = Vec::new();
        for b in 0..batch {
            let path = &data[b * len * d..(b + 1) * len * d];
            let vb = &v[b * d..(b + 1) * d];
            if prepend {
                longer.extend(path[..d].iter().zip(vb).map(|(x, v)| x - v));
                longer.extend_from_slice(path);
            } else {
                longer.extend_from_slice(path);
                longer.extend(path[(len - 1) * d..].iter().zip(vb).map(|(x, v)| x + v));
            }
        }
        assert_close(&joined, &sig_of(&longer, batch, len + 1, d, n), 1e-13);
    }
}

#[test]
fn join_with_the_scalar_term_keeps_it_and_reads_it_as_one() {
    let layout = Layout::new(2, 3).unwrap();
    let s = sig_of(&noise(8, 3), 1, 4, 2, 3);
    let v = [0.3, -0.2];
    let mut with_scalar = vec![7.0];
    with_scalar.extend_from_slice(&s);
    let mut out = vec![0.0; with_scalar.len()];
    tensorsig::sig_join(
        layout,
        &with_scalar,
        &v,
        false,
        true,
        Threads::SERIAL,
        &mut out,
    )
    .unwrap();
    let mut plain = vec![0.0; s.len()];
    tensorsig::sig_join(layout, &s, &v, false, false, Threads::SERIAL, &mut plain).unwrap();
    assert_eq!(out[0], 1.0);
    assert_eq!(&out[1..], &plain[..]);
}

#[test]
fn linear_sig_is_the_exponential_and_a_chen_factor() {
    for (d, n) in [(3, 4), (1, 5), (5, 2), (2, 0)] {
        let layout = Layout::new(d, n).unwrap();
        let v = noise(2 * d, 4);
        let mut out = vec![f64::NAN; 2 * layout.len()];
        tensorsig::linear_sig(layout, &v, false, Threads::new(2).unwrap(), &mut out).unwrap();
        let mut ws = MulExpWorkspace::new(layout).unwrap();
        for b in 0..2 {
            let mut expected = vec![0.0; layout.len()];
            exp_mul(layout, &v[b * d..(b + 1) * d], &mut expected, &mut ws);
            assert_close(
                &out[b * layout.len()..(b + 1) * layout.len()],
                &expected,
                1e-15,
            );
        }
        // S ⊗ exp(v) as a Chen product with the materialised exp(v) equals the join.
        let s = sig_of(&noise(4 * d, 5), 1, 4, d, n);
        let mut chen = vec![0.0; layout.len()];
        product(layout, &s, &out[..layout.len()], &mut chen);
        let mut joined = vec![0.0; layout.len()];
        tensorsig::sig_join(
            layout,
            &s,
            &v[..d],
            false,
            false,
            Threads::SERIAL,
            &mut joined,
        )
        .unwrap();
        assert_close(&joined, &chen, 1e-14);
    }
}

/// `<g, join(s, v)>` for one row.
fn join_loss(layout: Layout, s: &[f64], v: &[f64], g: &[f64], prepend: bool) -> f64 {
    let mut out = vec![0.0; s.len()];
    tensorsig::sig_join(layout, s, v, prepend, false, Threads::SERIAL, &mut out).unwrap();
    out.iter().zip(g).map(|(a, b)| a * b).sum()
}

#[test]
fn join_gradients_match_finite_differences() {
    for (d, n) in [(2, 4), (3, 3), (4, 2), (1, 3)] {
        let layout = Layout::new(d, n).unwrap();
        let s = sig_of(&noise(5 * d, 6), 1, 5, d, n);
        let v = noise(d, 7);
        let g = noise(layout.len(), 8);
        for prepend in [false, true] {
            let (mut d_s, mut d_v) = (vec![f64::NAN; s.len()], vec![f64::NAN; d]);
            tensorsig::sig_join_backprop(
                layout,
                &g,
                &s,
                &v,
                prepend,
                false,
                Threads::SERIAL,
                &mut d_s,
                &mut d_v,
            )
            .unwrap();
            let eps = 1e-6;
            for i in 0..s.len() {
                let (mut p, mut m) = (s.clone(), s.clone());
                p[i] += eps;
                m[i] -= eps;
                let fd = (join_loss(layout, &p, &v, &g, prepend)
                    - join_loss(layout, &m, &v, &g, prepend))
                    / (2.0 * eps);
                assert!((fd - d_s[i]).abs() < 1e-8, "d_sig[{i}]: {fd} vs {}", d_s[i]);
            }
            for i in 0..d {
                let (mut p, mut m) = (v.clone(), v.clone());
                p[i] += eps;
                m[i] -= eps;
                let fd = (join_loss(layout, &s, &p, &g, prepend)
                    - join_loss(layout, &s, &m, &g, prepend))
                    / (2.0 * eps);
                assert!((fd - d_v[i]).abs() < 1e-8, "d_v[{i}]: {fd} vs {}", d_v[i]);
            }
        }
    }
}

/// The flat index (no scalar term) of a word in a signature of dimension `d`.
fn word_index(word: &[usize], d: usize) -> usize {
    word.iter().fold(0, |acc, &l| acc * d + l + 1) - 1
}

#[test]
fn coefficients_are_the_signatures_entries() {
    let (batch, len, dim, n) = (4, 7, 2, 4);
    let data = noise(batch * len * dim, 9);
    let words: Vec<Vec<usize>> = vec![vec![0], vec![1, 0], vec![2, 1, 0, 3], vec![3, 3], vec![]];
    let refs: Vec<&[usize]> = words.iter().map(|w| w.as_slice()).collect();
    for (time_aug, lead_lag) in [(true, true), (false, true), (true, false)] {
        let t = PathTransform {
            time_aug,
            lead_lag,
            end_time: 1.5,
        };
        let d = t.dim(dim);
        let words: Vec<&[usize]> = refs
            .iter()
            .map(|w| {
                if w.iter().all(|&l| l < d) {
                    *w
                } else {
                    &w[..0]
                }
            })
            .collect();
        let trie = WordTrie::new(d, &words, false).unwrap();
        let paths = Paths::new(&data, batch, len, dim).unwrap();
        let mut out = vec![f64::NAN; batch * words.len()];
        tensorsig::sig_coef(&paths, &trie, &t, Threads::new(3).unwrap(), &mut out).unwrap();
        let sigs = sig_with(&data, batch, len, dim, n, &t);
        let row = sigs.len() / batch;
        for b in 0..batch {
            for (j, w) in words.iter().enumerate() {
                let expected = if w.is_empty() {
                    1.0
                } else {
                    sigs[b * row + word_index(w, d)]
                };
                let got = out[b * words.len() + j];
                assert!((got - expected).abs() < 1e-13, "{w:?}: {got} vs {expected}");
            }
        }
    }
}

#[test]
fn coefficient_gradients_match_finite_differences() {
    let (len, dim) = (6, 2);
    let data = noise(len * dim, 10);
    let words: [&[usize]; 3] = [&[0, 2, 1], &[1, 1, 0, 2, 0], &[2]];
    let t = PathTransform {
        time_aug: true,
        lead_lag: false,
        end_time: 1.0,
    };
    let trie = WordTrie::new(3, &words, true).unwrap();
    let g = noise(trie.outputs(), 11);
    let loss = |x: &[f64]| {
        let mut out = vec![0.0; trie.outputs()];
        let paths = Paths::new(x, 1, len, dim).unwrap();
        tensorsig::sig_coef(&paths, &trie, &t, Threads::SERIAL, &mut out).unwrap();
        out.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>()
    };
    let mut grad = vec![f64::NAN; len * dim];
    let paths = Paths::new(&data, 1, len, dim).unwrap();
    let g_before = g.clone();
    tensorsig::sig_coef_backprop(&paths, &trie, &g, &t, Threads::SERIAL, &mut grad).unwrap();
    assert_eq!(g, g_before);
    let eps = 1e-6;
    for i in 0..data.len() {
        let (mut p, mut m) = (data.clone(), data.clone());
        p[i] += eps;
        m[i] -= eps;
        let fd = (loss(&p) - loss(&m)) / (2.0 * eps);
        assert!(
            (fd - grad[i]).abs() < 1e-8,
            "d_path[{i}]: {fd} vs {}",
            grad[i]
        );
    }
}

#[test]
fn bad_sizes_are_errors_not_panics() {
    let layout = Layout::new(2, 2).unwrap();
    let mut out = vec![0.0; 6];
    let err = tensorsig::sig_join(
        layout,
        &[0.0; 6],
        &[1.0; 3],
        false,
        false,
        Threads::SERIAL,
        &mut out,
    );
    assert!(matches!(
        err,
        Err(Error::Shape {
            name: "displacement",
            ..
        })
    ));
    let err = tensorsig::sig_join(
        layout,
        &[0.0; 5],
        &[1.0; 2],
        false,
        false,
        Threads::SERIAL,
        &mut out,
    );
    assert!(matches!(err, Err(Error::Shape { name: "sig", .. })));
    let zero = Layout::new(0, 2).unwrap();
    assert!(tensorsig::linear_sig::<f64>(zero, &[], false, Threads::SERIAL, &mut []).is_err());

    let data = [0.0; 6];
    let paths = Paths::new(&data, 1, 3, 2).unwrap();
    let trie = WordTrie::new(3, &[&[0, 2]], false).unwrap();
    let err = tensorsig::sig_coef(
        &paths,
        &trie,
        &PathTransform::default(),
        Threads::SERIAL,
        &mut [0.0],
    );
    assert!(matches!(
        err,
        Err(Error::InvalidArgument { name: "words", .. })
    ));
    let trie = WordTrie::new(2, &[&[0, 1]], true).unwrap();
    let err = tensorsig::sig_coef_backprop(
        &paths,
        &trie,
        &[1.0],
        &PathTransform::default(),
        Threads::SERIAL,
        &mut [0.0; 6],
    );
    assert!(matches!(err, Err(Error::Shape { name: "derivs", .. })));
}
