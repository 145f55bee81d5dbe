"""Signature kernels against the numpy reference (tests/reference_sigkernel.py), against the
truncated signatures' inner product, and their properties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import reference_sigkernel as ref

import tensorsig as ts
from conftest import CONTAINERS, DTYPES, assert_close, make, to_numpy

KERNELS = [
    (ts.LinearKernel(), ("linear", ())),
    (ts.ScaledLinearKernel(0.7), ("scaled_linear", (0.7,))),
    (ts.RBFKernel(0.8), ("rbf", (0.8,))),
    (ts.Matern12Kernel(1.3), ("matern12", (1.3,))),
    (ts.Matern32Kernel(0.9), ("matern32", (0.9,))),
    (ts.Matern52Kernel(1.1), ("matern52", (1.1,))),
    (ts.PolynomialKernel(3.0, 1.0, 0.5), ("polynomial", (3.0, 1.0, 0.5))),
    (ts.PolynomialKernel(2.5, 1.5, 0.5), ("polynomial", (2.5, 1.5, 0.5))),
    (ts.RationalQuadraticKernel(0.9, 1.7), ("rational_quadratic", (0.9, 1.7))),
]
METHODS = [
    {"dyadic_order": 0},
    {"dyadic_order": (1, 2)},
    {"dyadic_order": (2, 0)},
    {"method": "polynomial", "order": 2},
    {"method": "polynomial", "order": 5},
]


def _reference_options(options):
    if options.get("method") == "polynomial":
        return {"order": options["order"]}
    order = options["dyadic_order"]
    return {"dyadic_order": order if isinstance(order, tuple) else (order, order)}


@pytest.mark.parametrize("kernel, spec", KERNELS, ids=[s[0] + str(s[1]) for _, s in KERNELS])
@pytest.mark.parametrize("options", METHODS, ids=str)
def test_grids_match_the_reference(rng, kernel, spec, options):
    # 11 pairs: a lane group and part of another (more in float32).
    x, y = rng.normal(size=(11, 6, 3)) * 0.4, rng.normal(size=(11, 5, 3)) * 0.4
    grids = ts.sig_kernel(x, y, static_kernel=kernel, return_grid=True, **options)
    values = ts.sig_kernel(x, y, static_kernel=kernel, **options)
    for b in range(11):
        expected = ref.sig_kernel_grid(x[b], y[b], kernel=spec, **_reference_options(options))
        assert_close(grids[b], expected, np.float64)
        assert_close(values[b : b + 1], expected[-1:, -1], np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
def test_gram_matches_the_reference(rng, dtype, container):
    x, y = rng.normal(size=(5, 7, 2)) * 0.5, rng.normal(size=(4, 6, 2)) * 0.5
    kernel, spec = KERNELS[4]
    gram = ts.sig_kernel_gram(
        make(x, container, dtype), make(y, container, dtype), dyadic_order=1, static_kernel=kernel
    )
    expected = [[ref.sig_kernel_grid(a, b, kernel=spec, dyadic_order=(1, 1))[-1, -1] for b in y] for a in x]
    assert_close(gram, np.array(expected), dtype)


def _signature_inner_product(x, y, degree):
    sx = ts.sig(x, degree, scalar_term=True)
    sy = ts.sig(y, degree, scalar_term=True)
    return ref.truncated_signature_kernel(sx, sy)


def test_finite_differences_converge_to_the_signatures_inner_product(rng):
    x, y = rng.normal(size=(8, 2)) * 0.3, rng.normal(size=(6, 2)) * 0.3
    exact = _signature_inner_product(x, y, 16)
    errors = [abs(float(ts.sig_kernel(x, y, dyadic_order=order)) - exact) for order in range(8)]
    # Second order in the mesh: once the error settles (it changes sign on coarse grids), each
    # refinement divides it by about 4.
    assert errors[0] > 1e-3 and errors[-1] < 1e-7 * exact
    assert all(later < earlier / 3 for earlier, later in itertools.pairwise(errors[5:]))


def test_polynomial_method_converges_to_the_signatures_inner_product(rng):
    x, y = rng.normal(size=(8, 3)) * 0.4, rng.normal(size=(6, 3)) * 0.4
    exact = _signature_inner_product(x, y, 16)
    errors = [abs(float(ts.sig_kernel(x, y, method="polynomial", order=o)) - exact) for o in (2, 4, 8, 16)]
    assert errors[-1] < 5e-14 * abs(exact)
    assert all(later < earlier for earlier, later in itertools.pairwise(errors))


def test_polynomial_golden_value():
    x = np.array([[0.0, 0.0], [0.3, -0.2], [0.2, 0.2], [0.45, 0.35]])
    y = np.array([[0.0, 0.0], [0.2, 0.1], [-0.15, 0.15]])
    assert float(ts.sig_kernel(x, y, method="polynomial", order=7)) == pytest.approx(
        0.9868046051301949, abs=1e-15
    )


def test_one_polynomial_cell_is_a_truncated_bessel_series():
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])
    assert float(ts.sig_kernel(x, y, method="polynomial", order=2)) == 4.0
    assert float(ts.sig_kernel(x, y, method="polynomial", order=3)) == pytest.approx(4 + 8 / 36, abs=1e-15)


@pytest.mark.parametrize("options", METHODS, ids=str)
def test_symmetric_gram_is_the_full_one(rng, options):
    x = rng.normal(size=(13, 6, 2)) * 0.5
    kernel = ts.Matern32Kernel(0.7)
    half = ts.sig_kernel_gram(x, x, static_kernel=kernel, **options)
    full = ts.sig_kernel_gram(x, x.copy(), static_kernel=kernel, **options)
    np.testing.assert_allclose(half, full, rtol=1e-13, atol=1e-13)
    if options.get("dyadic_order") != (1, 2) and options.get("dyadic_order") != (2, 0):
        np.testing.assert_array_equal(half, half.T)


def test_swapping_paths_and_dyadic_orders_transposes_the_grid(rng):
    x, y = rng.normal(size=(3, 5, 2)) * 0.5, rng.normal(size=(3, 4, 2)) * 0.5
    a = ts.sig_kernel(x, y, dyadic_order=(1, 2), return_grid=True)
    b = ts.sig_kernel(y, x, dyadic_order=(2, 1), return_grid=True)
    np.testing.assert_allclose(a, np.swapaxes(b, -1, -2), rtol=1e-13)


def test_return_grid_shapes(rng):
    x, y = rng.normal(size=(2, 3, 6, 2)), rng.normal(size=(2, 3, 4, 2))
    assert ts.sig_kernel(x, y, dyadic_order=(1, 2), return_grid=True).shape == (2, 3, 11, 13)
    assert ts.sig_kernel(x, y, method="polynomial", order=3, return_grid=True).shape == (2, 3, 6, 4)
    assert ts.sig_kernel(x, y, dyadic_order=1, lead_lag=True, return_grid=True).shape == (2, 3, 21, 13)
    assert ts.sig_kernel_gram(x, y[0], dyadic_order=0, return_grid=True).shape == (2, 3, 3, 6, 4)
    assert ts.sig_kernel(x[0, 0], y[0, 0], dyadic_order=0).shape == ()
    assert ts.sig_kernel_gram(x[0, 0], y[0, 0], dyadic_order=0).shape == ()


def test_transforms_equal_transforming_first(rng):
    x, y = rng.normal(size=(4, 6, 2)) * 0.3, rng.normal(size=(4, 5, 2)) * 0.3
    flags = {"time_aug": True, "lead_lag": True, "end_time": 0.5}
    direct = ts.sig_kernel(x, y, dyadic_order=1, **flags)
    first = ts.sig_kernel(ts.transform_path(x, **flags), ts.transform_path(y, **flags), dyadic_order=1)
    np.testing.assert_allclose(direct, first, rtol=1e-14)


def test_paths_of_one_point_have_kernel_one(rng):
    x, y = rng.normal(size=(3, 1, 2)), rng.normal(size=(3, 5, 2))
    np.testing.assert_array_equal(ts.sig_kernel(x, y, dyadic_order=2), np.ones(3))
    np.testing.assert_array_equal(
        ts.sig_kernel(x, y, method="polynomial", order=4, return_grid=True), np.ones((3, 1, 5))
    )


def test_empty_batches(rng):
    x = rng.normal(size=(0, 5, 2))
    assert ts.sig_kernel(x, x, dyadic_order=1).shape == (0,)
    assert ts.sig_kernel_gram(x, rng.normal(size=(3, 4, 2)), dyadic_order=1).shape == (0, 3)
    dx, dy = ts.sig_kernel_backprop(np.ones(0), x, x, dyadic_order=1, right_deriv=True)
    assert dx.shape == dy.shape == (0, 5, 2)


def test_normalize_divides_by_the_diagonals(rng):
    x, y = rng.normal(size=(4, 6, 2)) * 0.5, rng.normal(size=(3, 5, 2)) * 0.5
    gram = ts.sig_kernel_gram(x, y, dyadic_order=1)
    kx, ky = ts.sig_kernel(x, x, dyadic_order=1), ts.sig_kernel(y, y, dyadic_order=1)
    normalized = ts.sig_kernel_gram(x, y, dyadic_order=1, normalize=True)
    np.testing.assert_allclose(normalized, gram / np.sqrt(kx[:, None] * ky[None, :]), rtol=1e-14)
    self_normalized = ts.sig_kernel_gram(x, x, dyadic_order=1, normalize=True)
    np.testing.assert_allclose(np.diagonal(self_normalized), 1.0, rtol=1e-14)


def test_normalize_marks_unconverged_kernels_nan():
    # Large increments make the polynomial method at order 2 give negative K(x, x) for some paths.
    x = np.random.default_rng(0).normal(size=(200, 4, 2))
    y = x[::-1].copy()
    options = {"method": "polynomial", "order": 2}
    with pytest.warns(RuntimeWarning, match="negative K"):
        kxx = ts.sig_kernel(x, x, **options)
    kyy = kxx[::-1]
    assert np.any(kxx <= 0)
    with pytest.warns(RuntimeWarning, match="non-positive"):
        out = ts.sig_kernel(x, y, normalize=True, **options)
    bad = kxx * kyy <= 0
    assert np.array_equal(np.isnan(out), bad)
    raw = ts.sig_kernel(x, y, **options)
    np.testing.assert_allclose(out[~bad], raw[~bad] / np.sqrt((kxx * kyy)[~bad]), rtol=1e-14)


def test_distance_kernels_stay_accurate_far_from_the_origin(rng):
    # Distance kernels do not see a common shift: float32 prices near 3000 must give the kernel of
    # the centred paths (pysiglib's ‖x‖² - 2⟨x, y⟩ + ‖y‖² loses every digit there).
    x, y = rng.normal(size=(4, 30, 2)).cumsum(1) * 0.1, rng.normal(size=(4, 30, 2)).cumsum(1) * 0.1
    for kernel in (
        ts.RBFKernel(2.0),
        ts.Matern12Kernel(1.0),
        ts.Matern52Kernel(1.0),
        ts.RationalQuadraticKernel(1.5),
    ):
        centred = ts.sig_kernel(x, y, dyadic_order=1, static_kernel=kernel)
        far = ts.sig_kernel(
            (x + 3000).astype(np.float32), (y + 3000).astype(np.float32), dyadic_order=1, static_kernel=kernel
        )
        np.testing.assert_allclose(far, centred, rtol=2e-3)


def test_matern12_gradient_is_finite_and_central_at_coincident_points(rng):
    # Paths through the same points: the kernel has a kink there, whose subgradient 0 is what
    # central differences see.
    x = rng.normal(size=(1, 5, 2))
    y = x[:, [0, 2, 2, 4]].copy()
    kernel = ts.Matern12Kernel(0.8)
    dx, dy = ts.sig_kernel_backprop(np.ones(1), x, y, dyadic_order=1, static_kernel=kernel, right_deriv=True)
    assert np.all(np.isfinite(dx)) and np.all(np.isfinite(dy))
    h = 1e-6
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        numeric = (
            ts.sig_kernel(up, y, dyadic_order=1, static_kernel=kernel)
            - ts.sig_kernel(down, y, dyadic_order=1, static_kernel=kernel)
        ) / (2 * h)
        assert dx[index] == pytest.approx(float(numeric[0]), abs=1e-6)


def test_inputs_are_not_modified_and_views_work(rng):
    base = rng.normal(size=(6, 8, 3)) * 0.4
    x = base[::2, ::-1, :2]  # strided, reversed, sliced
    copy = x.copy()
    got = ts.sig_kernel_gram(x, x, dyadic_order=1, time_aug=True)
    np.testing.assert_array_equal(x, copy)
    np.testing.assert_allclose(got, ts.sig_kernel_gram(copy, copy, dyadic_order=1, time_aug=True), rtol=1e-15)


@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_threads_give_the_same_numbers(rng, n_jobs):
    x, y = rng.normal(size=(9, 7, 2)) * 0.4, rng.normal(size=(10, 6, 2)) * 0.4
    serial = ts.sig_kernel_gram(x, y, dyadic_order=1)
    assert np.array_equal(ts.sig_kernel_gram(x, y, dyadic_order=1, n_jobs=n_jobs), serial)
    d = rng.normal(size=(9, 10))
    a = ts.sig_kernel_gram_backprop(d, x, y, dyadic_order=1, right_deriv=True)
    b = ts.sig_kernel_gram_backprop(d, x, y, dyadic_order=1, right_deriv=True, n_jobs=n_jobs)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-13, atol=1e-15)


def test_results_follow_the_container_and_dtype(rng):
    torch = pytest.importorskip("torch")
    x = torch.tensor(rng.normal(size=(3, 5, 2)), dtype=torch.float32)
    k = ts.sig_kernel(x, x, dyadic_order=1)
    assert isinstance(k, torch.Tensor) and k.dtype == torch.float32
    dx, dy = ts.sig_kernel_gram_backprop(torch.ones(3, 3), x, x, dyadic_order=1, right_deriv=True)
    assert dx.dtype == dy.dtype == torch.float32
    assert to_numpy(ts.sig_mmd(x, x * 0.5, dyadic_order=0)).shape == ()


def test_polynomial_kernel_warns_once_when_it_clamps(rng):
    kernel = ts.PolynomialKernel(degree=1.5, gamma=-5.0)
    x = rng.normal(size=(2, 5, 2))
    with pytest.warns(RuntimeWarning, match="clamped to 0"):
        ts.sig_kernel(x, x, dyadic_order=0, static_kernel=kernel)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ts.sig_kernel(x, x.copy(), dyadic_order=0, static_kernel=kernel)
