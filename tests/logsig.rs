//! The log-signature family through the public Rust API: hand-checked values and identities.

use tensorsig::algebra::{LogExpWorkspace, LyndonBasis, exp, log, lyndon_count};
use tensorsig::{Error, Layout, LogSigMethod, PathTransform, Paths, SigParams, Threads};

/// A deterministic pseudo-random vector.
fn values(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.8
        })
        .collect()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "[{i}]: {x} vs {y}");
    }
}

fn log_sig(path: &[f64], len: usize, dim: usize, degree: usize, method: LogSigMethod) -> Vec<f64> {
    let paths = Paths::new(path, 1, len, dim).unwrap();
    let width = match method {
        LogSigMethod::Expanded => Layout::new(dim, degree).unwrap().len(),
        _ => tensorsig::log_sig_length(dim, degree).unwrap(),
    };
    let mut out = vec![f64::NAN; width];
    let t = PathTransform::default();
    tensorsig::log_sig(
        &paths,
        &SigParams::new(degree).with_transform(t),
        method,
        Threads::SERIAL,
        &mut out,
    )
    .unwrap();
    out
}

#[test]
fn a_straight_line_has_only_its_increment() {
    let path = [0.5, -1.0, 2.0, 1.5, 3.5, 0.0];
    for method in [
        LogSigMethod::Expanded,
        LogSigMethod::LyndonWords,
        LogSigMethod::LyndonBrackets,
    ] {
        let out = log_sig(&path, 2, 3, 4, method);
        assert_close(&out[..3], &[1.0, 4.5, -2.0], 1e-14);
        assert!(
            out[3..].iter().all(|v| v.abs() < 1e-14),
            "{method:?}: {out:?}"
        );
    }
}

#[test]
fn levy_area_of_an_l_shaped_path() {
    // (0,0) → (1,0) → (1,1): increment (1,1), area ½ (S^{01} = 1, S^{10} = 0).
    let out = log_sig(
        &[0.0, 0.0, 1.0, 0.0, 1.0, 1.0],
        3,
        2,
        2,
        LogSigMethod::LyndonBrackets,
    );
    assert_close(&out, &[1.0, 1.0, 0.5], 1e-15);
    // Expanded: level 2 is [[0, ½], [-½, 0]].
    let out = log_sig(
        &[0.0, 0.0, 1.0, 0.0, 1.0, 1.0],
        3,
        2,
        2,
        LogSigMethod::Expanded,
    );
    assert_close(&out, &[1.0, 1.0, 0.0, 0.5, -0.5, 0.0], 1e-15);
}

#[test]
fn methods_one_and_two_differ_by_the_bracket_system() {
    // d = 3, N = 3: P(013) = 012-style brackets put the Lyndon word 021 into P(012)'s expansion:
    // [0,[1,2]] = 012 - 021 - 120 + 210, so ℓ_021 = c_021 - c_012.
    let basis = LyndonBasis::new(3, 3).unwrap();
    let index = |w: &[u32]| (0..basis.len()).find(|&g| basis.letters(g) == w).unwrap();
    let (w012, w021) = (index(&[0, 1, 2]), index(&[0, 2, 1]));
    let row: Vec<(usize, i32)> = basis.system_row(w021).collect();
    assert_eq!(row, [(w012, -1)]);
    let path = values(3 * 6, 7);
    let words = log_sig(&path, 6, 3, 3, LogSigMethod::LyndonWords);
    let brackets = log_sig(&path, 6, 3, 3, LogSigMethod::LyndonBrackets);
    assert!((words[w021] - (brackets[w021] - brackets[w012])).abs() < 1e-14);
    assert_eq!(words[w012], brackets[w012]);
}

#[test]
fn exp_inverts_log_and_log_of_a_product_of_exps_is_bch() {
    let layout = Layout::new(3, 4).unwrap();
    let mut ws = LogExpWorkspace::new(layout).unwrap();
    let x = values(layout.len(), 3);
    let (mut l, mut back) = (vec![0.0; layout.len()], vec![0.0; layout.len()]);
    log(layout, &x, &mut l, &mut ws);
    exp(layout, &l, &mut back, &mut ws);
    assert_close(&back, &x, 1e-13);
    // BCH to degree 2: a + b + [a, b]/2 for vectors a, b.
    let (a, b) = ([1.0, 2.0, 0.5], [-1.0, 0.5, 3.0]);
    let (width, d) = (tensorsig::log_sig_length(3, 2).unwrap(), 3);
    let mut pa = vec![0.0; width];
    let mut pb = vec![0.0; width];
    pa[..d].copy_from_slice(&a);
    pb[..d].copy_from_slice(&b);
    let mut out = vec![0.0; width];
    tensorsig::log_sig_combine(3, 2, &pa, &pb, Threads::SERIAL, &mut out).unwrap();
    // Lyndon words of length 2: 01, 02, 12; [a,b] has coordinate a_i b_j - a_j b_i on [i, j].
    let area = |i: usize, j: usize| (a[i] * b[j] - a[j] * b[i]) / 2.0;
    assert_close(
        &out,
        &[0.0, 2.5, 3.5, area(0, 1), area(0, 2), area(1, 2)],
        1e-14,
    );
}

#[test]
fn combine_join_and_conversions_agree_with_log_sig() {
    let (dim, degree, len) = (2, 5, 9);
    let path = values(len * dim, 11);
    let whole = log_sig(&path, len, dim, degree, LogSigMethod::LyndonBrackets);
    let first = log_sig(
        &path[..5 * dim],
        5,
        dim,
        degree,
        LogSigMethod::LyndonBrackets,
    );
    let second = log_sig(
        &path[4 * dim..],
        5,
        dim,
        degree,
        LogSigMethod::LyndonBrackets,
    );
    let mut out = vec![0.0; whole.len()];
    tensorsig::log_sig_combine(dim, degree, &first, &second, Threads::SERIAL, &mut out).unwrap();
    assert_close(&out, &whole, 1e-13);
    let head = log_sig(
        &path[..(len - 1) * dim],
        len - 1,
        dim,
        degree,
        LogSigMethod::LyndonBrackets,
    );
    let v: Vec<f64> = (0..dim)
        .map(|i| path[(len - 1) * dim + i] - path[(len - 2) * dim + i])
        .collect();
    tensorsig::log_sig_join(dim, degree, &head, &v, Threads::SERIAL, &mut out).unwrap();
    assert_close(&out, &whole, 1e-13);
    let layout = Layout::new(dim, degree).unwrap();
    let mut sig = vec![0.0; layout.len()];
    tensorsig::log_sig_to_sig(
        layout,
        &whole,
        LogSigMethod::LyndonBrackets,
        false,
        Threads::SERIAL,
        &mut sig,
    )
    .unwrap();
    let paths = Paths::new(&path, 1, len, dim).unwrap();
    let mut direct = vec![0.0; layout.len()];
    tensorsig::sig(
        &paths,
        &SigParams::new(degree),
        Threads::SERIAL,
        &mut direct,
    )
    .unwrap();
    assert_close(&sig, &direct, 1e-13);
}

#[test]
fn witt_counts_and_tables_for_d8_n5() {
    assert_eq!(lyndon_count(2, 6), Some(2 + 1 + 2 + 3 + 6 + 9));
    assert_eq!(lyndon_count(8, 5), Some(8 + 28 + 168 + 1008 + 6552));
    let basis = tensorsig::lyndon_basis(8, 5).unwrap();
    assert_eq!(basis.len(), 7764);
    assert!(tensorsig::lyndon_basis_cached(8, 5));
    let again = tensorsig::lyndon_basis(8, 5).unwrap();
    assert!(std::sync::Arc::ptr_eq(&basis, &again));
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    let layout = Layout::new(2, 3).unwrap();
    let mut out = vec![0.0; 10];
    let r = tensorsig::sig_to_log_sig(
        layout,
        &[0.0; 14],
        false,
        LogSigMethod::Bch,
        Threads::SERIAL,
        &mut out,
    );
    assert!(matches!(
        r,
        Err(Error::InvalidArgument { name: "method", .. })
    ));
    let r = tensorsig::sig_to_log_sig(
        layout,
        &[0.0; 13],
        false,
        LogSigMethod::LyndonWords,
        Threads::SERIAL,
        &mut out,
    );
    assert!(matches!(r, Err(Error::Shape { name: "sig", .. })));
    assert!(matches!(
        tensorsig::log_sig_length(3, 0),
        Err(Error::InvalidArgument { name: "degree", .. })
    ));
    assert!(matches!(
        LogSigMethod::from_index(4),
        Err(Error::InvalidArgument { name: "method", .. })
    ));
    let r = tensorsig::log_sig_join(2, 3, &[0.0; 5], &[0.0; 3], Threads::SERIAL, &mut [0.0; 5]);
    assert!(matches!(
        r,
        Err(Error::Shape {
            name: "displacement",
            ..
        })
    ));
    assert!(!tensorsig::load_lyndon_basis(2, 3, b"garbage"));
}
