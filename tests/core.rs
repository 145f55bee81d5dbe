//! The public Rust API on its own: hand-checked values, Chen's identity, inverses, gradients.

use tensorsig::algebra::{MulExpWorkspace, mul_exp, product};
use tensorsig::{Error, Layout, PathTransform, Paths, SigParams, Threads};

/// A deterministic pseudo-random path (no dependency on a random-number crate).
fn path(batch: usize, len: usize, dim: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..batch * len * dim)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.8
        })
        .collect()
}

fn sig_of(
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
fn hand_checked_signature_of_two_segments() {
    // (0,0) → (1,0) → (1,1): S1 = (1, 1); S2 = (1/2, 1, 0, 1/2) (the area term sits at word 01).
    let data = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0];
    let out = sig_of(&data, 1, 3, 2, 2, &PathTransform::default());
    assert_close(&out, &[1.0, 1.0, 0.5, 1.0, 0.0, 0.5], 1e-15);
}

#[test]
fn time_augmented_line_is_the_exponential_of_its_increment() {
    // (0) → (2) with time over [0, 3]: increment (2, 3), S = exp((2, 3)).
    let t = PathTransform {
        time_aug: true,
        lead_lag: false,
        end_time: 3.0,
    };
    let out = sig_of(&[0.0, 2.0], 1, 2, 1, 2, &t);
    assert_close(&out, &[2.0, 3.0, 2.0, 3.0, 3.0, 4.5], 1e-15);
}

#[test]
fn chen_identity_holds() {
    let (len, dim, degree) = (9, 3, 4);
    let data = path(1, len, dim, 7);
    let cut = 4;
    let t = PathTransform::default();
    let whole = sig_of(&data, 1, len, dim, degree, &t);
    let first = sig_of(&data[..(cut + 1) * dim], 1, cut + 1, dim, degree, &t);
    let second = sig_of(&data[cut * dim..], 1, len - cut, dim, degree, &t);
    let layout = Layout::new(dim, degree).unwrap();
    let mut joined = vec![0.0; layout.len()];
    tensorsig::sig_combine(layout, &first, &second, false, Threads::SERIAL, &mut joined).unwrap();
    assert_close(&joined, &whole, 1e-13);
}

#[test]
fn exp_z_times_exp_minus_z_is_one() {
    let layout = Layout::new(4, 5).unwrap();
    let z = [0.3, -0.7, 1.1, 0.05];
    let minus: Vec<f64> = z.iter().map(|v| -v).collect();
    let mut ws = MulExpWorkspace::new(layout).unwrap();
    let (mut e, mut f) = (vec![0.0; layout.len()], vec![0.0; layout.len()]);
    mul_exp(layout, &mut e, &z, &mut ws);
    mul_exp(layout, &mut f, &minus, &mut ws);
    let mut one = vec![f64::NAN; layout.len()];
    product(layout, &e, &f, &mut one);
    assert_close(&one, &vec![0.0; layout.len()], 1e-12);
}

#[test]
fn f32_agrees_with_f64() {
    let (batch, len, dim, degree) = (3, 20, 2, 4);
    let data = path(batch, len, dim, 3);
    let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
    let t = PathTransform::default();
    let paths = Paths::new(&data32, batch, len, dim).unwrap();
    let params = SigParams::new(degree).with_transform(t);
    let layout = params.layout(&paths).unwrap();
    let mut out32 = vec![0f32; batch * layout.len()];
    tensorsig::sig(&paths, &params, Threads::SERIAL, &mut out32).unwrap();
    let out64 = sig_of(&data, batch, len, dim, degree, &t);
    let widened: Vec<f64> = out32.iter().map(|&v| v as f64).collect();
    assert_close(&widened, &out64, 1e-5);
}

#[test]
fn backprop_equals_finite_differences() {
    let (len, dim, degree) = (5, 2, 3);
    let t = PathTransform {
        time_aug: true,
        lead_lag: true,
        end_time: 1.5,
    };
    let data = path(1, len, dim, 11);
    let sig = sig_of(&data, 1, len, dim, degree, &t);
    let weights: Vec<f64> = (0..sig.len())
        .map(|i| ((i * 37 % 17) as f64 - 8.0) / 8.0)
        .collect();
    let mut grad = vec![0.0; data.len()];
    let paths = Paths::new(&data, 1, len, dim).unwrap();
    tensorsig::sig_backprop(
        &paths,
        &sig,
        &weights,
        &SigParams::new(degree).with_transform(t),
        Threads::SERIAL,
        &mut grad,
    )
    .unwrap();
    let loss = |x: &[f64]| -> f64 {
        let s = sig_of(x, 1, len, dim, degree, &t);
        s.iter().zip(&weights).map(|(a, b)| a * b).sum()
    };
    let eps = 1e-6;
    for i in 0..data.len() {
        let (mut up, mut down) = (data.clone(), data.clone());
        up[i] += eps;
        down[i] -= eps;
        let fd = (loss(&up) - loss(&down)) / (2.0 * eps);
        assert!(
            (fd - grad[i]).abs() < 1e-7,
            "point {i}: {fd} vs {}",
            grad[i]
        );
    }
}

#[test]
fn threads_and_time_splitting_agree_with_serial() {
    let (len, dim, degree) = (3000, 2, 4);
    let data = path(1, len, dim, 5);
    let t = PathTransform::default();
    let serial = sig_of(&data, 1, len, dim, degree, &t);
    let paths = Paths::new(&data, 1, len, dim).unwrap();
    let mut parallel = vec![0.0; serial.len()];
    tensorsig::sig(
        &paths,
        &SigParams::new(degree).with_transform(t),
        Threads::new(2).unwrap(),
        &mut parallel,
    )
    .unwrap();
    assert_close(&parallel, &serial, 1e-12);
}

#[test]
fn wrong_sizes_are_errors_not_panics() {
    let data = path(2, 4, 3, 1);
    let paths = Paths::new(&data, 2, 4, 3).unwrap();
    let mut short = vec![0.0; 5];
    let err = tensorsig::sig(&paths, &SigParams::new(2), Threads::SERIAL, &mut short).unwrap_err();
    assert!(matches!(
        err,
        Error::Shape {
            name: "out",
            expected: 24,
            got: 5
        }
    ));
    assert!(matches!(
        Paths::new(&data, 3, 4, 3),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(Layout::new(30, 13), Err(Error::TooLarge { .. })));
    let empty: [f64; 0] = [];
    let no_channels = Paths::new(&empty, 2, 4, 0).unwrap();
    let err =
        tensorsig::sig(&no_channels, &SigParams::new(2), Threads::SERIAL, &mut []).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { name: "path", .. }));
}

#[test]
fn second_derivatives_equal_finite_differences_of_first() {
    let (batch, len, dim, degree) = (3, 6, 2, 4);
    for (time_aug, lead_lag) in [(false, false), (true, false), (false, true), (true, true)] {
        let t = PathTransform {
            time_aug,
            lead_lag,
            end_time: 1.7,
        };
        let data = path(batch, len, dim, 21);
        let dirs = path(batch, len, dim, 22);
        let paths = Paths::new(&data, batch, len, dim).unwrap();
        let directions = Paths::new(&dirs, batch, len, dim).unwrap();
        let params = SigParams::new(degree).with_transform(t);
        let layout = params.layout(&paths).unwrap();
        let grads: Vec<f64> = (0..batch * layout.len())
            .map(|i| ((i * 13 % 7) as f64 - 3.0) / 3.0)
            .collect();
        let mut jvp = vec![f64::NAN; grads.len()];
        let mut hvp = vec![f64::NAN; data.len()];
        tensorsig::sig_backprop_jvp(
            &paths,
            &directions,
            &grads,
            &params,
            Threads::SERIAL,
            &mut jvp,
            &mut hvp,
        )
        .unwrap();

        let moved =
            |eps: f64| -> Vec<f64> { data.iter().zip(&dirs).map(|(x, v)| x + eps * v).collect() };
        let sig_at = |x: &[f64]| sig_of(x, batch, len, dim, degree, &t);
        let grad_at = |x: &[f64]| {
            let p = Paths::new(x, batch, len, dim).unwrap();
            let s = sig_at(x);
            let mut out = vec![0.0; x.len()];
            tensorsig::sig_backprop(&p, &s, &grads, &params, Threads::SERIAL, &mut out).unwrap();
            out
        };
        let eps = 1e-5;
        let fd = |f: &dyn Fn(&[f64]) -> Vec<f64>| -> Vec<f64> {
            let (up, down) = (f(&moved(eps)), f(&moved(-eps)));
            up.iter()
                .zip(&down)
                .map(|(a, b)| (a - b) / (2.0 * eps))
                .collect()
        };
        assert_close(&jvp, &fd(&sig_at), 1e-7);
        assert_close(&hvp, &fd(&grad_at), 1e-6);
    }
}
