"""The real-data part of ``python -m tensorsig``: signature features for time-series classification.

Two multivariate data sets that ship inside the ``aeon`` wheel (no download):

- BasicMotions: a smartwatch's accelerometer and gyroscope (6 channels, 100 points at 10 Hz)
  while walking, resting, running or playing badminton; 40 train / 40 test series.
- JapaneseVowels: 12 cepstral coefficients of nine speakers saying "ae", 7 to 29 frames per
  utterance; 270 train / 370 test series, the classes are the speakers.

Each goes through one pipeline: per-channel standardisation fitted on the training split,
:class:`tensorsig.sklearn.SignatureTransformer` (degree 3, a basepoint, time augmentation) and a
scikit-learn classifier. The same feature extraction is timed with each installed library on the
same arrays. Needs aeon and scikit-learn (``pip install ".[demo]"``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _bench
from ._transform import transform_path

#: The signature features of both data sets.
DEGREE = 3
FEATURES = {"time_aug": True, "basepoint": True}


@dataclass
class DataSet:
    """A classification data set as series of shape ``(length, channels)``, time first."""

    name: str
    train: np.ndarray | list[np.ndarray]
    y_train: np.ndarray
    test: np.ndarray | list[np.ndarray]
    y_test: np.ndarray
    #: The classifier that follows the signature features, and its name for the table.
    classifier: Callable[[], Any]
    classifier_name: str

    @property
    def lengths(self) -> list[int]:
        return [len(s) for s in (*self.train, *self.test)]

    @property
    def channels(self) -> int:
        return int(np.shape(self.train[0])[1])

    def shape(self) -> str:
        """``n x length x channels`` over train and test, with the range of lengths if ragged."""
        lengths = self.lengths
        span = str(lengths[0]) if min(lengths) == max(lengths) else f"{min(lengths)}-{max(lengths)}"
        return f"{len(lengths)} x {span} x {self.channels}"


def _random_forest() -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, random_state=0)


def _ridge() -> Any:
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-3, 3, 13)))


def load_basic_motions() -> DataSet:
    from aeon.datasets import load_basic_motions

    # aeon stores collections as (n_cases, n_channels, n_timepoints); tensorsig wants time first.
    (train, y_train), (test, y_test) = (load_basic_motions(split=s) for s in ("train", "test"))
    return DataSet(
        "BasicMotions",
        np.ascontiguousarray(train.transpose(0, 2, 1)),
        y_train,
        np.ascontiguousarray(test.transpose(0, 2, 1)),
        y_test,
        _random_forest,
        "random forest",
    )


def load_japanese_vowels() -> DataSet:
    from aeon.datasets import load_japanese_vowels

    # Unequal lengths: aeon returns a list of (n_channels, n_timepoints_i) arrays.
    (train, y_train), (test, y_test) = (load_japanese_vowels(split=s) for s in ("train", "test"))
    return DataSet(
        "JapaneseVowels",
        [np.ascontiguousarray(x.T) for x in train],
        y_train,
        [np.ascontiguousarray(x.T) for x in test],
        y_test,
        _ridge,
        "ridge",
    )


LOADERS = (load_basic_motions, load_japanese_vowels)


def standardise(train: Any, test: Any) -> tuple[Any, Any]:
    """Both splits with each channel shifted and scaled by the mean and standard deviation of the
    training split's points (a basepoint makes the signature see levels, so they must be
    comparable across channels)."""
    points = np.concatenate(list(train)) if isinstance(train, list) else train.reshape(-1, train.shape[-1])
    mean, std = points.mean(axis=0), points.std(axis=0)
    std[std == 0] = 1.0

    def scale(series: Any) -> Any:
        return [(s - mean) / std for s in series] if isinstance(series, list) else (series - mean) / std

    return scale(train), scale(test)


@dataclass
class Result:
    data: DataSet
    features: int
    accuracy: float
    #: Feature extraction of train and test together, per library (min over repeats).
    times: dict[str, float]
    #: Largest difference between a peer's features and tensorsig's.
    agreement: dict[str, float]


def run(data: DataSet, repeats: int, budget_s: float) -> Result:
    """Fits the pipeline on the training split, scores it on the test split, and times the
    signature features of both splits with every installed library."""
    from sklearn.pipeline import make_pipeline

    from .sklearn import SignatureTransformer, _native_inputs, _read_series, _signature_inputs

    train, test = standardise(data.train, data.test)
    model = make_pipeline(SignatureTransformer(DEGREE, **FEATURES), data.classifier())
    model.fit(train, data.y_train)
    accuracy = float(np.mean(model.predict(test) == data.y_test))
    features = model[0].n_features_out_

    # Every library signs the same series: tensorsig as the transformer does (ragged series as a
    # ragged batch), the others as their users would (ragged series padded by repeating their last
    # point, time augmentation on the fly where the library offers it and materialised beforehand
    # for iisignature).
    series = _read_series([*train, *test])
    options: dict[str, Any] = {**FEATURES, "lead_lag": False, "end_time": 1.0}
    native, common = _native_inputs(series, **options), _signature_inputs(series, **options)
    workload = _feature_workload(data.name, native, common)
    _bench.measure([workload], repeats=repeats, budget_s=budget_s, show_progress=False)
    ours = workload.runs["tensorsig"]()
    agreement = {
        lib: float(np.abs(np.asarray(f(), dtype=np.float64) - ours).max())
        for lib, f in workload.runs.items()
        if lib != "tensorsig"
    }
    return Result(data, features, accuracy, workload.times, agreement)


def _feature_workload(
    name: str, native: tuple[np.ndarray, dict[str, Any]], common: tuple[np.ndarray, dict[str, Any]]
) -> _bench.Workload:
    """tensorsig on ``native`` inputs (``lengths=`` for ragged series); the peers on ``common``
    ones (paths and flags every library has)."""
    from . import sig

    runs: dict[str, Callable[[], Any]] = {"tensorsig": lambda: sig(native[0], DEGREE, **native[1])}
    paths, flags = common
    pysiglib, iisignature = _bench._peer("pysiglib"), _bench._peer("iisignature")
    if pysiglib is not None:
        runs["pysiglib"] = lambda: pysiglib.sig(paths, DEGREE, **flags)
    if iisignature is not None:
        transformed = np.ascontiguousarray(transform_path(paths, **flags))
        runs["iisignature"] = lambda: iisignature.sig(transformed, DEGREE)
    return _bench.Workload(name, runs)


def format_results(results: list[Result]) -> str:
    peers = [p for p in _bench.PEERS if any(p in r.times for r in results)]
    header = [
        "data set",
        "series (n x length x ch)",
        "features",
        "tensorsig ms",
        *(f"{p} ms" for p in peers),
        "classifier",
        "test accuracy",
    ]
    rows = [
        [
            r.data.name,
            r.data.shape(),
            str(r.features),
            f"{r.times['tensorsig'] * 1e3:.2f}",
            *(f"{r.times[p] * 1e3:.2f}" if p in r.times else "-" for p in peers),
            r.data.classifier_name,
            f"{r.accuracy:.1%}",
        ]
        for r in results
    ]
    return _bench.format_rows(header, rows)


def notes(results: list[Result]) -> str:
    """What the table measured, how ragged series were handled, and how to add peers."""
    lines = [
        f"Features: signatures of degree {DEGREE} with a basepoint (each path starts at the origin) "
        "and time as an extra channel, after per-channel standardisation fitted on the training split "
        "(tensorsig.sklearn.SignatureTransformer). Accuracy: the classifier fitted on the training "
        "split, scored on the test split.",
        "Feature times: the signatures of all train and test series in one call, best of repeats; every "
        "library signs the same series (iisignature, which has no time augmentation, gets the time "
        "channel appended beforehand).",
    ]
    if any(min(r.data.lengths) != max(r.data.lengths) for r in results):
        lines.append(
            "Series of different lengths are not truncated: tensorsig signs them as one ragged batch "
            "(sig(..., lengths=)), each over its own points and clock (0 to 1, the basepoint included); "
            "the other libraries get each series on its own clock, padded to the longest by repeating "
            "its last point (a constant stretch that leaves its signature unchanged)."
        )
    agreement = {lib: max(r.agreement.get(lib, 0.0) for r in results) for lib in _bench.PEERS}
    checked = [
        f"{lib} {agreement[lib]:.1e}" for lib in _bench.PEERS if any(lib in r.agreement for r in results)
    ]
    if checked:
        lines.append("Largest difference from tensorsig's features: " + ", ".join(checked) + ".")
    missing = [lib for lib in _bench.PEERS if _bench._peer(lib) is None]
    if missing:
        lines.append("Not installed, so not timed: " + ", ".join(missing) + f". {_bench.PEER_HINT}")
    return "\n".join(
        textwrap.fill(line, 100, initial_indent="   ", subsequent_indent="     ") for line in lines
    )


def main(quick: bool) -> None:
    """Prints the real-data table (the first part of ``python -m tensorsig``)."""
    results = []
    steps = _bench.progress(LOADERS, "real data", len(LOADERS), lambda load: load.__name__[5:])
    for load in steps:
        results.append(run(load(), repeats=2 if quick else 5, budget_s=0.2 if quick else 1.0))
    print(format_results(results))
    print(notes(results))
