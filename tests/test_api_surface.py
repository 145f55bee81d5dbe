"""tensorsig's public API against pysiglib 4.0's: the same names take the same parameters (name,
kind, default), at the top level and in torch_api, and torch_api exposes every public name."""

from __future__ import annotations

import inspect

import pytest

import tensorsig as ts
import tensorsig.torch_api as ta

pysiglib = pytest.importorskip("pysiglib")
import pysiglib.torch_api as pysiglib_torch  # noqa: E402


def _public_callables(module) -> set[str]:
    return {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))}


#: pysiglib 4.0's public callables that tensorsig does not have yet, by family. Each family's work
#: removes its names from here (the test below fails until it does, and when a name is added
#: without being removed).
NOT_YET = {
    # Branched (tree-indexed) signatures are outside tensorsig's scope so far.
    "branched signatures": [
        name for name in _public_callables(pysiglib) if "branched" in name.lower() or "tree" in name.lower()
    ],
}

#: Parameters that differ from pysiglib's, each with its reason.
DIFFERENCES: dict[str, str] = {}

#: Keyword-only parameters tensorsig adds to pysiglib's (after its own, with defaults that keep
#: pysiglib's behaviour).
EXTENSIONS = {name: ("stream", "lengths") for name in ("sig", "signature", "sig_backprop")}


def _parameters(function) -> list[tuple[str, object, object]]:
    """Public parameters: pysiglib's streams also take private hooks (``_sig_join=``, ...) through
    which its torch_api injects the torch functions; those are not part of its contract."""
    parameters = inspect.signature(function).parameters.values()
    return [(p.name, p.kind, p.default) for p in parameters if not p.name.startswith("_")]


SHARED = sorted(_public_callables(pysiglib) & set(ts.__all__))
SHARED_TORCH = sorted(_public_callables(pysiglib_torch) & set(ta.__all__))


def _maybe_different(name: str):
    reason = DIFFERENCES.get(name)
    return pytest.param(name, marks=pytest.mark.xfail(reason=reason, strict=True)) if reason else name


@pytest.mark.parametrize("name", [_maybe_different(n) for n in SHARED])
def test_top_level_functions_take_pysiglib_parameters(name):
    assert _ours(getattr(ts, name), name) == _parameters(getattr(pysiglib, name))


@pytest.mark.parametrize("name", [_maybe_different(n) for n in SHARED_TORCH])
def test_torch_api_functions_take_pysiglib_parameters(name):
    assert _ours(getattr(ta, name), name) == _parameters(getattr(pysiglib_torch, name))


def _ours(function, name: str) -> list[tuple[str, object, object]]:
    """tensorsig's parameters less its extensions, which must come last, keyword-only, with defaults."""
    parameters = _parameters(function)
    extra = EXTENSIONS.get(name, ())
    added = parameters[len(parameters) - len(extra) :] if extra else []
    assert [p[0] for p in added] == list(extra)
    assert all(
        kind is inspect.Parameter.KEYWORD_ONLY and default is not inspect.Parameter.empty
        for _, kind, default in added
    )
    return parameters[: len(parameters) - len(extra)]


def test_what_is_missing_is_exactly_the_families_not_yet_built():
    missing = _public_callables(pysiglib) - set(ts.__all__) - {"torch_api"}
    expected = {name for names in NOT_YET.values() for name in names}
    assert missing == expected, (
        f"now present: {sorted(expected - missing)}; unlisted: {sorted(missing - expected)}"
    )


def test_torch_api_exposes_every_public_name_but_the_backprops():
    wanted = {n for n in ts.__all__ if not n.endswith("_backprop") and not n.startswith("__")}
    assert wanted <= set(ta.__all__), sorted(wanted - set(ta.__all__))
    for name in ta.__all__:
        assert hasattr(ta, name)
        if not hasattr(getattr(ts, name), "__wrapped__") and name in ("sig_length", "words", "word_to_idx"):
            assert getattr(ta, name) is getattr(ts, name)  # utilities are the same objects, as in pysiglib


def test_torch_api_functions_keep_their_documentation():
    for name in ("sig", "sig_combine", "transform_path"):
        assert getattr(ta, name).__doc__.startswith(getattr(ts, name).__doc__)
