"""tensorsig.sklearn.SignatureTransformer: equal to ``sig``, exact on ragged lists, named by words,
a well-behaved scikit-learn estimator, and accurate on real data."""

from __future__ import annotations

import doctest
import pathlib
import pickle
import re

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import RidgeClassifierCV
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import tensorsig as ts
from tensorsig.sklearn import SignatureTransformer

TRANSFORMS = [
    {},
    {"time_aug": True},
    {"lead_lag": True},
    {"basepoint": True},
    {"time_aug": True, "basepoint": True, "end_time": 2.5},
    {"time_aug": True, "lead_lag": True, "basepoint": True},
]


def _sig_flags(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "basepoint"}


def _expected(series: np.ndarray, degree: int, params: dict, **kwargs) -> np.ndarray:
    """tensorsig.sig of one series or a batch, with the basepoint prepended by hand."""
    if params.get("basepoint"):
        series = np.concatenate([np.zeros_like(series[..., :1, :]), series], axis=-2)
    return ts.sig(series, degree, **_sig_flags(params), **kwargs)


@pytest.mark.parametrize("params", TRANSFORMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equals_sig_on_equal_lengths(rng, params, dtype):
    X = rng.normal(size=(7, 12, 3)).astype(dtype)
    features = SignatureTransformer(3, scalar_term=True, **params).fit_transform(X)
    assert features.dtype == dtype
    np.testing.assert_array_equal(features, _expected(X, 3, params, scalar_term=True))
    # The same series as a list give the same features.
    np.testing.assert_array_equal(SignatureTransformer(3, **params).fit_transform(list(X)), features[:, 1:])


def test_two_d_input_is_univariate_series(rng):
    X = rng.normal(size=(5, 9))
    features = SignatureTransformer(4, time_aug=True).fit_transform(X)
    np.testing.assert_array_equal(features, ts.sig(X[:, :, np.newaxis], 4, time_aug=True))


@pytest.mark.parametrize("params", TRANSFORMS)
def test_ragged_lists_equal_per_series_signatures(rng, params):
    lengths = [1, 2, 9, 4, 17]
    series = [rng.normal(size=(n, 3)) for n in lengths]
    features = SignatureTransformer(3, **params).fit_transform(series)
    for row, s in zip(features, series):
        np.testing.assert_allclose(row, _expected(s, 3, params), rtol=1e-13, atol=1e-13)


def test_ragged_float32_stays_float32(rng):
    series = [rng.normal(size=(n, 2)).astype(np.float32) for n in (3, 6)]
    features = SignatureTransformer(2, time_aug=True).fit_transform(series)
    assert features.dtype == np.float32
    np.testing.assert_allclose(features[1], ts.sig(series[1], 2, time_aug=True), rtol=1e-6)


def test_fit_fixes_channels_not_length(rng):
    transformer = SignatureTransformer(2).fit(rng.normal(size=(3, 10, 2)))
    assert transformer.transform(rng.normal(size=(4, 25, 2))).shape == (4, 6)
    with pytest.raises(
        ValueError, match="X has 3 channels, but SignatureTransformer was fitted on series with 2"
    ):
        transformer.transform(rng.normal(size=(4, 25, 3)))


def _letters(channels: int, lead_lag: bool, time_aug: bool) -> list[str]:
    """The alphabet's names, written out from the layout transform_path documents."""
    letters = [str(c) for c in range(channels)]
    if lead_lag:
        letters = [f"{c}.lag" for c in letters] + [f"{c}.lead" for c in letters]
    return letters + ["time"] * time_aug


@pytest.mark.parametrize("params", TRANSFORMS)
@pytest.mark.parametrize("scalar_term", [False, True])
def test_feature_names_follow_the_word_layout(rng, params, scalar_term):
    transformer = SignatureTransformer(3, scalar_term=scalar_term, **params).fit(rng.normal(size=(2, 5, 2)))
    names = transformer.get_feature_names_out()
    letters = _letters(2, params.get("lead_lag", False), params.get("time_aug", False))
    words = ts.words(len(letters), 3)[0 if scalar_term else 1 :]
    assert list(names) == [f"S({','.join(letters[i] for i in w)})" for w in words]
    assert (
        len(names)
        == transformer.n_features_out_
        == transformer.transform(rng.normal(size=(1, 4, 2))).shape[1]
    )


def test_feature_names_spelled_out():
    transformer = SignatureTransformer(2, lead_lag=True).fit(np.zeros((1, 3, 1)))
    assert transformer.get_feature_names_out(["price"]).tolist() == [
        "S(price.lag)",
        "S(price.lead)",
        "S(price.lag,price.lag)",
        "S(price.lag,price.lead)",
        "S(price.lead,price.lag)",
        "S(price.lead,price.lead)",
    ]
    timed = SignatureTransformer(2, time_aug=True, scalar_term=True).fit(np.zeros((1, 3, 1)))
    assert timed.get_feature_names_out().tolist() == [
        "S()",
        "S(0)",
        "S(time)",
        "S(0,0)",
        "S(0,time)",
        "S(time,0)",
        "S(time,time)",
    ]
    with pytest.raises(ValueError, match="input_features has 2 names, but the series have 1 channels"):
        timed.get_feature_names_out(["a", "b"])
    with pytest.raises(ValueError, match='named "time"'):
        timed.get_feature_names_out(["time"])


def test_pandas_output_is_labelled_by_words(rng):
    pytest.importorskip("pandas")
    X = rng.normal(size=(4, 6, 2))
    transformer = SignatureTransformer(2, time_aug=True).set_output(transform="pandas")
    frame = transformer.fit_transform(X)
    assert list(frame.columns) == list(transformer.get_feature_names_out())
    np.testing.assert_array_equal(frame.to_numpy(), ts.sig(X, 2, time_aug=True))


def test_clone_and_pickle_round_trip(rng):
    X = [rng.normal(size=(n, 3)) for n in (4, 7, 5)]
    transformer = SignatureTransformer(3, time_aug=True, basepoint=True, end_time=2.0, n_jobs=2).fit(X)
    twin = clone(transformer)
    assert twin.get_params() == transformer.get_params()
    assert not hasattr(twin, "n_channels_in_")
    restored = pickle.loads(pickle.dumps(transformer))
    assert restored.get_params() == transformer.get_params()
    np.testing.assert_array_equal(restored.transform(X), transformer.transform(X))


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"degree": 2.0}, TypeError, "degree must be an integer, got float"),
        ({"degree": 0}, ValueError, "degree must be at least 1, got degree = 0"),
        ({"time_aug": 1}, TypeError, "time_aug must be of type bool, got int"),
        ({"basepoint": "yes"}, TypeError, "basepoint must be of type bool, got str"),
        ({"end_time": "1"}, TypeError, "end_time must be a real number, got str"),
        ({"end_time": 0.0}, ValueError, "end_time must be positive and finite, got end_time = 0.0"),
        ({"n_jobs": 0}, ValueError, "n_jobs cannot be 0"),
        ({"n_jobs": 1.5}, TypeError, "n_jobs must be of type int"),
    ],
)
def test_fit_validates_parameters(params, error, message):
    transformer = SignatureTransformer(**{"degree": 2, **params})  # __init__ only stores
    with pytest.raises(error, match=message):
        transformer.fit(np.zeros((2, 3, 1)))


def test_numpy_scalars_from_a_grid_are_accepted(rng):
    X = rng.normal(size=(3, 5, 2))
    features = SignatureTransformer(np.int64(2), end_time=np.float32(2.0), n_jobs=None).fit_transform(X)
    np.testing.assert_array_equal(features, ts.sig(X, 2))


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros(4), "Expected 2D array"),
        (np.zeros((2, 3, 4, 5)), r"got an array of shape \(2, 3, 4, 5\)"),
        (np.zeros((2, 0, 3)), "at least one point and one channel"),
        ([np.zeros((3, 2)), np.zeros((4, 3))], "different numbers of channels"),
        ([np.zeros((3, 2)), np.full((4, 2), np.nan)], "X\\[1\\] contains NaN"),
        (np.full((2, 3, 1), np.inf), "X contains infinity"),
    ],
)
def test_bad_series_are_rejected(X, message):
    with pytest.raises(ValueError, match=message):
        SignatureTransformer(2).fit(X)


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        SignatureTransformer(2).transform(np.zeros((1, 3, 2)))


def test_grid_search_over_degree(rng):
    # Whether a random walk ends above its start is a level-1 feature; the grid finds a model.
    X = rng.normal(size=(60, 30, 2)).cumsum(axis=1)
    y = (X[:, -1, 0] > X[:, 0, 0]).astype(int)
    model = make_pipeline(SignatureTransformer(1), StandardScaler(), RidgeClassifierCV())
    search = GridSearchCV(
        model, {"signaturetransformer__degree": [1, 2], "signaturetransformer__time_aug": [False, True]}, cv=3
    )
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert search.best_estimator_[0].degree in (1, 2)


def test_pipeline_cross_validation_on_basic_motions():
    """A correctness check on real data: a wrong feature pipeline shows up as lost accuracy."""
    datasets = pytest.importorskip("aeon.datasets")
    X, y = datasets.load_basic_motions()  # train and test together: 80 series
    X = X.transpose(0, 2, 1)  # aeon is (n, channels, length); tensorsig wants time first
    model = make_pipeline(
        SignatureTransformer(3, time_aug=True, basepoint=True),
        RandomForestClassifier(n_estimators=50, random_state=0),
    )
    scores = cross_val_score(model, X, y, cv=4)
    assert scores.mean() >= 0.9, scores


#: The estimator checks that cannot apply to a transformer of series, and why. 2-d input is read
#: as univariate series (aeon's convention), so the "features" of a row are time points.
EXPECTED_FAILED_CHECKS = {
    "check_n_features_in": "fitted state is n_channels_in_: a series' length is not fixed by fit",
    "check_n_features_in_after_fitting": "series of any length may be transformed after fit; only the "
    "number of channels is checked, and a 2-d array always has one",
    "check_transformer_general": "its last step (the rest passes) expects transform to reject a 2-d array "
    "with one column less: for univariate series that is a shorter series, which is fine",
}


@parametrize_with_checks(
    [SignatureTransformer(2), SignatureTransformer(2, time_aug=True, basepoint=True)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_docstring_examples():
    import tensorsig.sklearn

    result = doctest.testmod(tensorsig.sklearn, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_readme_example_runs(capsys):
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not next to the tests")
    block = re.search(r"```python\n(import numpy as np\nfrom sklearn.*?)```", readme.read_text(), re.S)
    assert block, "README.md has no scikit-learn example"
    exec(compile(block.group(1), "README.md", "exec"), {})
    score, names = capsys.readouterr().out.splitlines()
    assert float(score) >= 0.95
    assert names == "['S(0,0)' 'S(0,1)' 'S(0,time)']"
