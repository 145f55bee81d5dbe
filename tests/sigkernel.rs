//! The signature-kernel solvers on tiny hand-checked cases, and their gradients against finite
//! differences.

use tensorsig::{
    KernelGradient, Method, Paths, StaticKernel, Threads, sig_kernel, sig_kernel_backprop,
    sig_kernel_from_increments, sig_kernel_from_increments_backprop, sig_kernel_gram,
    sig_kernel_gram_backprop,
};

const FD0: Method = Method::FiniteDifference {
    dyadic_order: (0, 0),
};

fn kernel_of(x: &[f64], y: &[f64], dim: usize, kernel: StaticKernel, method: Method) -> f64 {
    let x = Paths::new(x, 1, x.len() / dim, dim).unwrap();
    let y = Paths::new(y, 1, y.len() / dim, dim).unwrap();
    let mut out = [0.0];
    sig_kernel(&x, &y, &kernel, method, false, Threads::SERIAL, &mut out).unwrap();
    out[0]
}

/// Deterministic values in [-scale/2, scale/2).
fn values(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * scale
        })
        .collect()
}

#[test]
fn one_cell_follows_the_explicit_scheme() {
    // K = (1 + 1) A - B = 1 + ρ + ρ²/4 for one cell.
    let (a, b) = (0.7, -1.3);
    let rho: f64 = a * b;
    let k = kernel_of(&[0.0, a], &[0.0, b], 1, StaticKernel::Linear, FD0);
    assert!((k - (1.0 + rho + rho * rho / 4.0)).abs() < 1e-15);
    // Refined once in each direction: four cells of ρ/4, by hand.
    let r = rho / 4.0;
    let (a_, b_) = (1.0 + r / 2.0 + r * r / 12.0, 1.0 - r * r / 12.0);
    let k11 = 2.0 * a_ - b_;
    let k12 = (k11 + 1.0) * a_ - b_;
    let k22 = 2.0 * k12 * a_ - k11 * b_;
    let fine = Method::FiniteDifference {
        dyadic_order: (1, 1),
    };
    let k = kernel_of(&[0.0, a], &[0.0, b], 1, StaticKernel::Linear, fine);
    assert!((k - k22).abs() < 1e-15, "{k} vs {k22}");
}

#[test]
fn one_polynomial_cell_is_a_truncated_bessel_series() {
    // ρ = 2 on one cell: Σ_{n ≤ order} 2^n / (n!)².
    for (order, expected) in [(2, 4.0), (3, 4.0 + 8.0 / 36.0)] {
        let k = kernel_of(
            &[0.0, 1.0],
            &[0.0, 2.0],
            1,
            StaticKernel::Linear,
            Method::Polynomial { order },
        );
        assert!((k - expected).abs() < 1e-14, "order {order}: {k}");
    }
}

#[test]
fn polynomial_golden_value() {
    let x = [0.0, 0.0, 0.3, -0.2, 0.2, 0.2, 0.45, 0.35];
    let y = [0.0, 0.0, 0.2, 0.1, -0.15, 0.15];
    let k = kernel_of(
        &x,
        &y,
        2,
        StaticKernel::Linear,
        Method::Polynomial { order: 7 },
    );
    assert!((k - 0.9868046051301949).abs() < 1e-15, "{k}");
}

#[test]
fn a_path_of_one_point_has_kernel_one() {
    for method in [FD0, Method::Polynomial { order: 3 }] {
        let k = kernel_of(
            &[0.5, 0.1],
            &[0.0, 0.0, 1.0, 2.0],
            2,
            StaticKernel::Linear,
            method,
        );
        assert_eq!(k, 1.0);
    }
}

#[test]
fn symmetric_gram_equals_the_full_one() {
    let (batch, len, dim) = (7, 6, 3);
    let data = values(batch * len * dim, 3, 1.0);
    let x = Paths::new(&data, batch, len, dim).unwrap();
    for method in [
        Method::FiniteDifference {
            dyadic_order: (1, 1),
        },
        Method::Polynomial { order: 4 },
    ] {
        let kernel = StaticKernel::Rbf { sigma: 0.8 };
        let (mut half, mut full) = (vec![0.0; batch * batch], vec![0.0; batch * batch]);
        sig_kernel_gram(&x, None, &kernel, method, false, Threads::SERIAL, &mut half).unwrap();
        sig_kernel_gram(
            &x,
            Some(&x),
            &kernel,
            method,
            false,
            Threads::new(2).unwrap(),
            &mut full,
        )
        .unwrap();
        for (a, b) in half.iter().zip(&full) {
            assert!((a - b).abs() < 1e-13, "{a} vs {b}");
        }
    }
}

#[test]
fn given_increments_reproduce_the_linear_kernel() {
    let (len1, len2, dim) = (5, 4, 2);
    let x = values(len1 * dim, 5, 1.0);
    let y = values(len2 * dim, 6, 1.0);
    let mut increments = vec![0.0; (len1 - 1) * (len2 - 1)];
    for i in 0..len1 - 1 {
        for j in 0..len2 - 1 {
            increments[i * (len2 - 1) + j] = (0..dim)
                .map(|k| {
                    (x[(i + 1) * dim + k] - x[i * dim + k])
                        * (y[(j + 1) * dim + k] - y[j * dim + k])
                })
                .sum();
        }
    }
    let method = Method::FiniteDifference {
        dyadic_order: (2, 1),
    };
    let mut k = [0.0];
    sig_kernel_from_increments(
        &increments,
        1,
        len1,
        len2,
        method,
        false,
        Threads::SERIAL,
        &mut k,
    )
    .unwrap();
    let direct = kernel_of(&x, &y, dim, StaticKernel::Linear, method);
    assert!((k[0] - direct).abs() < 1e-14);
}

/// `F = Σ_b w_b k(x_b, y_b)`, its gradient by [`sig_kernel_backprop`] and by central
/// differences.
fn check_gradient(kernel: StaticKernel, method: Method) {
    let (batch, len1, len2, dim) = (3, 4, 5, 2);
    let x = values(batch * len1 * dim, 11, 1.2);
    let y = values(batch * len2 * dim, 12, 1.2);
    let weights = [0.7, -1.1, 0.4];
    let f = |x: &[f64], y: &[f64]| {
        let (px, py) = (
            Paths::new(x, batch, len1, dim).unwrap(),
            Paths::new(y, batch, len2, dim).unwrap(),
        );
        let mut out = vec![0.0; batch];
        sig_kernel(&px, &py, &kernel, method, false, Threads::SERIAL, &mut out).unwrap();
        out.iter().zip(&weights).map(|(k, w)| k * w).sum::<f64>()
    };
    let (px, py) = (
        Paths::new(&x, batch, len1, dim).unwrap(),
        Paths::new(&y, batch, len2, dim).unwrap(),
    );
    let (mut dx, mut dy) = (vec![0.0; x.len()], vec![0.0; y.len()]);
    sig_kernel_backprop(
        &px,
        &py,
        &kernel,
        method,
        KernelGradient::Values(&weights),
        None,
        Threads::SERIAL,
        Some(&mut dx),
        Some(&mut dy),
    )
    .unwrap();
    let h = 1e-6;
    for (which, grad) in [(0, &dx), (1, &dy)] {
        for e in 0..grad.len() {
            let (mut a, mut b) = (x.clone(), y.clone());
            let target = if which == 0 { &mut a } else { &mut b };
            target[e] += h;
            let up = f(&a, &b);
            let target = if which == 0 { &mut a } else { &mut b };
            target[e] -= 2.0 * h;
            let down = f(&a, &b);
            let numeric = (up - down) / (2.0 * h);
            assert!(
                (numeric - grad[e]).abs() < 1e-7 * (1.0 + numeric.abs()),
                "{kernel:?} {method:?} path{} [{e}]: {} vs {numeric}",
                which + 1,
                grad[e]
            );
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let kernels = [
        StaticKernel::Linear,
        StaticKernel::ScaledLinear { scale: 0.8 },
        StaticKernel::Rbf { sigma: 0.9 },
        StaticKernel::Matern12 { sigma: 1.1 },
        StaticKernel::Matern32 { sigma: 1.1 },
        StaticKernel::Matern52 { sigma: 0.7 },
        StaticKernel::Polynomial {
            degree: 3.0,
            gamma: 1.0,
            scale: 0.5,
        },
        StaticKernel::Polynomial {
            degree: 2.5,
            gamma: 2.0,
            scale: 0.5,
        },
        StaticKernel::RationalQuadratic {
            sigma: 0.8,
            alpha: 1.7,
        },
    ];
    let methods = [
        FD0,
        Method::FiniteDifference {
            dyadic_order: (1, 2),
        },
        Method::Polynomial { order: 4 },
    ];
    for kernel in kernels {
        for method in methods {
            check_gradient(kernel, method);
        }
    }
}

#[test]
fn gram_gradients_match_finite_differences() {
    let (b1, len, dim) = (3, 4, 2);
    let x = values(b1 * len * dim, 21, 1.0);
    let derivs = values(b1 * b1, 22, 2.0);
    let kernel = StaticKernel::Matern32 { sigma: 0.9 };
    for method in [
        Method::FiniteDifference {
            dyadic_order: (1, 1),
        },
        Method::Polynomial { order: 3 },
    ] {
        // F = Σ D_ij k(x_i, y_j) with y = x as a separate batch, and as the same batch.
        let f = |x: &[f64], y: &[f64]| {
            let (px, py) = (
                Paths::new(x, b1, len, dim).unwrap(),
                Paths::new(y, b1, len, dim).unwrap(),
            );
            let mut out = vec![0.0; b1 * b1];
            sig_kernel_gram(
                &px,
                Some(&py),
                &kernel,
                method,
                false,
                Threads::SERIAL,
                &mut out,
            )
            .unwrap();
            out.iter().zip(&derivs).map(|(k, d)| k * d).sum::<f64>()
        };
        let px = Paths::new(&x, b1, len, dim).unwrap();
        let (mut dl, mut dr) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        sig_kernel_gram_backprop(
            &px,
            None,
            &kernel,
            method,
            KernelGradient::Values(&derivs),
            None,
            Threads::new(2).unwrap(),
            Some(&mut dl),
            Some(&mut dr),
        )
        .unwrap();
        let h = 1e-6;
        for e in 0..x.len() {
            let mut a = x.clone();
            a[e] += h;
            let up_left = f(&a, &x);
            let up_right = f(&x, &a);
            a[e] -= 2.0 * h;
            let (down_left, down_right) = (f(&a, &x), f(&x, &a));
            let left = (up_left - down_left) / (2.0 * h);
            let right = (up_right - down_right) / (2.0 * h);
            assert!(
                (left - dl[e]).abs() < 1e-7,
                "left [{e}]: {} vs {left}",
                dl[e]
            );
            assert!(
                (right - dr[e]).abs() < 1e-7,
                "right [{e}]: {} vs {right}",
                dr[e]
            );
        }
    }
}

#[test]
fn increment_gradients_match_finite_differences_of_the_grid() {
    // F = Σ E ⊙ K over the whole grid, as a function of the increments.
    let (batch, len1, len2) = (2, 3, 4);
    let increments = values(batch * (len1 - 1) * (len2 - 1), 31, 1.5);
    for method in [
        Method::FiniteDifference {
            dyadic_order: (1, 0),
        },
        Method::Polynomial { order: 5 },
    ] {
        let (p1, p2) = method.grid_points(len1, len2).unwrap();
        let seed = values(batch * p1 * p2, 32, 2.0);
        let f = |g: &[f64]| {
            let mut grid = vec![0.0; batch * p1 * p2];
            sig_kernel_from_increments(
                g,
                batch,
                len1,
                len2,
                method,
                true,
                Threads::SERIAL,
                &mut grid,
            )
            .unwrap();
            grid.iter().zip(&seed).map(|(k, e)| k * e).sum::<f64>()
        };
        let mut d = vec![0.0; increments.len()];
        sig_kernel_from_increments_backprop(
            &increments,
            batch,
            len1,
            len2,
            method,
            KernelGradient::Grids(&seed),
            None,
            Threads::SERIAL,
            &mut d,
        )
        .unwrap();
        let h = 1e-6;
        for e in 0..increments.len() {
            let mut g = increments.clone();
            g[e] += h;
            let up = f(&g);
            g[e] -= 2.0 * h;
            let numeric = (up - f(&g)) / (2.0 * h);
            assert!(
                (numeric - d[e]).abs() < 1e-7 * (1.0 + numeric.abs()),
                "{method:?} [{e}]"
            );
        }
    }
}

#[test]
fn bad_inputs_are_errors() {
    let data = [0.0; 12];
    let x = Paths::new(&data, 2, 3, 2).unwrap();
    let y = Paths::new(&data, 2, 2, 3).unwrap();
    let mut out = [0.0; 2];
    let linear = StaticKernel::Linear;
    assert!(sig_kernel(&x, &y, &linear, FD0, false, Threads::SERIAL, &mut out).is_err());
    let poly = Method::Polynomial { order: 1 };
    assert!(sig_kernel(&x, &x, &linear, poly, false, Threads::SERIAL, &mut out).is_err());
    let huge = Method::FiniteDifference {
        dyadic_order: (40, 40),
    };
    assert!(sig_kernel(&x, &x, &linear, huge, false, Threads::SERIAL, &mut out).is_err());
    let rbf = StaticKernel::Rbf { sigma: -1.0 };
    assert!(sig_kernel(&x, &x, &rbf, FD0, false, Threads::SERIAL, &mut out).is_err());
    assert!(sig_kernel(&x, &x, &linear, FD0, false, Threads::SERIAL, &mut out[..1]).is_err());
}
