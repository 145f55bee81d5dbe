//! `sig_with` / `sig_backprop_with` and ragged batches through the public Rust API: corrections
//! against a plain exp/Chen reference, streams against the signatures of prefixes, ragged
//! batches against each path alone, on every engine.

use tensorsig::algebra::product;
use tensorsig::{
    Correction, CorrectionRows, Error, Layout, PathTransform, Paths, SigOptions, SigParams, Threads,
};

/// A deterministic pseudo-random vector in [-scale, scale].
fn values(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) * scale
        })
        .collect()
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

fn sig(
    paths: &Paths<'_, f64>,
    degree: usize,
    transform: &PathTransform,
    options: &SigOptions<'_, f64>,
    threads: Threads,
) -> Vec<f64> {
    let params = SigParams::new(degree).with_transform(*transform);
    let layout = params.layout(paths).unwrap();
    let rows = if options.stream {
        transform.increments(paths.len())
    } else {
        1
    };
    let mut out = vec![f64::NAN; paths.batch() * rows * layout.len()];
    tensorsig::sig_with(paths, &params, options, threads, &mut out).unwrap();
    out
}

fn plain(paths: &Paths<'_, f64>, degree: usize, transform: &PathTransform) -> Vec<f64> {
    sig(
        paths,
        degree,
        transform,
        &SigOptions::default(),
        Threads::SERIAL,
    )
}

/// exp(y) of a tensor without scalar term, by its series, each power a full Chen product.
fn exp_of(layout: Layout, y: &[f64]) -> Vec<f64> {
    let (mut power, mut result) = (y.to_vec(), y.to_vec());
    let mut scratch = vec![0.0; layout.len()];
    let mut factorial = 1.0;
    for k in 2..=layout.degree() {
        // `product` has implied scalar terms 1: (1 + p) ⊗ (1 + y) = 1 + p + y + p ⊗ y.
        product(layout, &power, y, &mut scratch);
        for ((p, s), y) in power.iter_mut().zip(&scratch).zip(y) {
            *p = s - *p - y;
        }
        factorial *= k as f64;
        for (r, p) in result.iter_mut().zip(&power) {
            *r += p / factorial;
        }
    }
    result
}

#[test]
fn corrected_signature_is_the_chen_product_of_corrected_exponentials() {
    let (len, d, n) = (5, 2, 4);
    let data = values(len * d, 1, 0.7);
    let correction = values((len - 1) * 12, 2, 0.3); // levels 2 and 3 of 2 letters
    let paths = Paths::new(&data, 1, len, d).unwrap();
    let options = SigOptions {
        correction: Some(Correction::new(&correction, 12, CorrectionRows::PerSegment)),
        ..SigOptions::default()
    };
    let ours = sig(
        &paths,
        n,
        &PathTransform::default(),
        &options,
        Threads::SERIAL,
    );
    let layout = Layout::new(d, n).unwrap();
    let mut expected = vec![0.0; layout.len()];
    let mut joined = vec![0.0; layout.len()];
    for t in 0..len - 1 {
        let mut y = vec![0.0; layout.len()];
        for i in 0..d {
            y[i] = data[(t + 1) * d + i] - data[t * d + i];
        }
        y[d..d + 12].copy_from_slice(&correction[t * 12..(t + 1) * 12]);
        product(layout, &expected, &exp_of(layout, &y), &mut joined);
        expected.copy_from_slice(&joined);
    }
    assert_close(&ours, &expected, 1e-13);
}

#[test]
fn a_zero_correction_is_the_plain_signature_on_every_engine() {
    // Small (lanes without a correction), large (rows), and one long path cut in time.
    for (batch, len, d, n, threads) in [(5, 9, 2, 4, 1), (2, 6, 7, 4, 1), (1, 800, 3, 3, 4)] {
        let data = values(batch * len * d, 3, 0.2);
        let paths = Paths::new(&data, batch, len, d).unwrap();
        let width: usize = (2..=n).map(|k| d.pow(k as u32)).sum();
        let zeros = vec![0.0; width];
        let options = SigOptions {
            correction: Some(Correction::new(&zeros, width, CorrectionRows::Shared)),
            ..SigOptions::default()
        };
        for time_aug in [false, true] {
            let t = PathTransform {
                time_aug,
                ..PathTransform::default()
            };
            let threads = Threads::from_n_jobs(threads).unwrap();
            let corrected = sig(&paths, n, &t, &options, threads);
            assert_close(&corrected, &plain(&paths, n, &t), 1e-12);
        }
    }
}

#[test]
fn stream_rows_are_the_signatures_of_the_prefixes() {
    let (len, d, n) = (6, 3, 3);
    let data = values(2 * len * d, 4, 0.5);
    let paths = Paths::new(&data, 2, len, d).unwrap();
    let t = PathTransform {
        time_aug: true,
        lead_lag: true,
        end_time: 2.0,
    };
    let params = SigParams::new(n).with_transform(t);
    let layout = params.layout(&paths).unwrap();
    let options = SigOptions {
        stream: true,
        ..SigOptions::default()
    };
    let stream = sig(&paths, n, &t, &options, Threads::SERIAL);
    // The transformed path, materialised, signed prefix by prefix.
    let (tlen, tdim) = (t.len(len), t.dim(d));
    let mut transformed = vec![0.0; 2 * tlen * tdim];
    tensorsig::transform_path(&paths, &t, Threads::SERIAL, &mut transformed).unwrap();
    let steps = tlen - 1;
    for b in 0..2 {
        let rows = &transformed[b * tlen * tdim..(b + 1) * tlen * tdim];
        for s in 0..steps {
            let prefix = Paths::new(&rows[..(s + 2) * tdim], 1, s + 2, tdim).unwrap();
            let expected = plain(&prefix, n, &PathTransform::default());
            let at = (b * steps + s) * layout.len();
            assert_close(&stream[at..at + layout.len()], &expected, 1e-13);
        }
    }
}

#[test]
fn ragged_paths_are_signed_as_if_alone_and_get_no_gradient_past_their_end() {
    // Lanes, rows (8 letters, degree 5: one path at a time both ways), lanes cut in time.
    for (batch, len, d, n) in [(5, 9, 2, 3), (3, 5, 8, 5), (2, 700, 2, 4)] {
        let data = values(batch * len * d, 5, 0.3);
        let lengths: Vec<usize> = (0..batch).map(|b| len - b * (len - 1) / batch).collect();
        let paths = Paths::new(&data, batch, len, d).unwrap();
        let ragged = paths.with_lengths(&lengths).unwrap();
        let t = PathTransform {
            time_aug: true,
            ..PathTransform::default()
        };
        let params = SigParams::new(n).with_transform(t);
        let layout = params.layout(&paths).unwrap();
        let ours = plain(&ragged, n, &t);
        let grads = values(ours.len(), 6, 1.0);
        let mut d_paths = vec![f64::NAN; data.len()];
        tensorsig::sig_backprop(
            &ragged,
            &ours,
            &grads,
            &params,
            Threads::SERIAL,
            &mut d_paths,
        )
        .unwrap();
        for (b, &l) in lengths.iter().enumerate() {
            let alone = &data[b * len * d..(b * len + l) * d];
            let one = Paths::new(alone, 1, l, d).unwrap();
            let expected = plain(&one, n, &t);
            let row = b * layout.len()..(b + 1) * layout.len();
            assert_close(&ours[row.clone()], &expected, 1e-12);
            let mut d_alone = vec![0.0; l * d];
            tensorsig::sig_backprop(
                &one,
                &expected,
                &grads[row],
                &params,
                Threads::SERIAL,
                &mut d_alone,
            )
            .unwrap();
            let d_path = &d_paths[b * len * d..(b + 1) * len * d];
            assert_close(&d_path[..l * d], &d_alone, 1e-11);
            assert!(d_path[l * d..].iter().all(|&g| g == 0.0));
        }
    }
}

#[test]
fn stream_gradient_matches_finite_differences() {
    let (len, d, n) = (4, 2, 3);
    let data = values(len * d, 7, 0.5);
    let correction = values(4, 8, 0.3);
    let options = SigOptions {
        correction: Some(Correction::new(&correction, 4, CorrectionRows::Shared)),
        stream: true,
    };
    let t = PathTransform {
        time_aug: true,
        ..PathTransform::default()
    };
    let at = |x: &[f64]| {
        let paths = Paths::new(x, 1, len, d).unwrap();
        sig(&paths, n, &t, &options, Threads::SERIAL)
    };
    let stream = at(&data);
    let grads = values(stream.len(), 9, 1.0);
    let mut d_path = vec![0.0; data.len()];
    let paths = Paths::new(&data, 1, len, d).unwrap();
    tensorsig::sig_backprop_with(
        &paths,
        &stream,
        &grads,
        &SigParams::new(n).with_transform(t),
        &options,
        Threads::SERIAL,
        &mut d_path,
    )
    .unwrap();
    let loss = |x: &[f64]| at(x).iter().zip(&grads).map(|(a, b)| a * b).sum::<f64>();
    for i in 0..data.len() {
        let (mut plus, mut minus) = (data.clone(), data.clone());
        plus[i] += 1e-6;
        minus[i] -= 1e-6;
        let fd = (loss(&plus) - loss(&minus)) / 2e-6;
        assert!((fd - d_path[i]).abs() < 1e-7, "{i}: {} vs {fd}", d_path[i]);
    }
}

#[test]
fn bad_options_are_refused_before_any_work() {
    let data = values(2 * 4 * 2, 10, 1.0);
    let paths = Paths::new(&data, 2, 4, 2).unwrap();
    let mut out = vec![0.0; 2 * 14];
    let run = |options: &SigOptions<'_, f64>, t: &PathTransform, n: usize, out: &mut [f64]| {
        tensorsig::sig_with(
            &paths,
            &SigParams::new(n).with_transform(*t),
            options,
            Threads::SERIAL,
            out,
        )
    };
    let with = |c: Correction<'static, f64>| SigOptions {
        correction: Some(c),
        ..SigOptions::default()
    };
    static FIVE: [f64; 5] = [0.0; 5];
    static FOUR: [f64; 4] = [0.0; 4];
    static PER_PATH: [f64; 2 * 3 * 4] = [0.0; 24];
    let plain = PathTransform::default();
    let lead_lag = PathTransform {
        lead_lag: true,
        ..plain
    };
    let invalid = |r: tensorsig::Result<()>| {
        matches!(
            r,
            Err(Error::InvalidArgument {
                name: "correction",
                ..
            })
        )
    };
    assert!(invalid(run(
        &with(Correction::new(&FIVE, 5, CorrectionRows::Shared)),
        &plain,
        3,
        &mut out
    )));
    assert!(invalid(run(
        &with(Correction::new(&FOUR, 4, CorrectionRows::Shared)),
        &plain,
        1,
        &mut out[..4]
    )));
    assert!(invalid(run(
        &with(Correction::new(&FOUR, 4, CorrectionRows::Shared)),
        &lead_lag,
        2,
        &mut out
    )));
    assert!(matches!(
        run(
            &with(Correction::new(&FOUR, 4, CorrectionRows::PerSegment)),
            &plain,
            3,
            &mut out
        ),
        Err(Error::Shape {
            name: "correction",
            expected: 12,
            got: 4
        })
    ));
    assert!(
        run(
            &with(Correction::new(&PER_PATH, 4, CorrectionRows::PerPath)),
            &plain,
            3,
            &mut out
        )
        .is_ok()
    );
    let stream = SigOptions {
        stream: true,
        ..SigOptions::default()
    };
    assert!(matches!(
        run(&stream, &plain, 3, &mut out),
        Err(Error::Shape { name: "out", .. })
    ));
}
