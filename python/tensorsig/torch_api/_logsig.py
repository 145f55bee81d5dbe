"""torch twins of the log-signature family, differentiable once (see ``_eager``).

``log_sig`` with a ``correction`` composes the corrected signature and ``sig_to_log_sig``, each
differentiable, as the plain function does.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch

from .. import _logsig, _logsig_bch, _logsig_convert
from .._specs import logsig as _logsig_meta
from ._eager import first_order

sig_to_log_sig = first_order(
    _logsig_convert.sig_to_log_sig,
    _logsig_convert.sig_to_log_sig_backprop,
    inputs=("sig",),
    grad="log_sig_derivs",
)
logsig_to_sig = first_order(
    _logsig_convert.logsig_to_sig,
    _logsig_convert.logsig_to_sig_backprop,
    inputs=("log_sig",),
    grad="sig_derivs",
)
log_sig_combine = first_order(
    _logsig_bch.log_sig_combine,
    _logsig_bch.log_sig_combine_backprop,
    inputs=("log_sig1", "log_sig2"),
    grad="deriv",
    rename={"log_sig1": "ls1", "log_sig2": "ls2"},
)
log_sig_join = first_order(
    _logsig_bch.log_sig_join,
    _logsig_bch.log_sig_join_backprop,
    inputs=("log_sig", "displacement"),
    grad="d_out",
)
linear_log_sig = first_order(
    _logsig_bch.linear_log_sig,
    _logsig_bch.linear_log_sig_backprop,
    inputs=("displacement",),
    grad="derivs",
)
_log_sig_uncorrected = first_order(
    _logsig.log_sig, _logsig._log_sig_backprop, inputs=("path",), grad="log_sig_derivs"
)


@functools.wraps(_logsig.log_sig)
def log_sig(path: Any, degree: int, **options: Any) -> Any:
    correction = options.get("correction")
    if not isinstance(path, torch.Tensor) or not _logsig._correction_given(correction):
        return _log_sig_uncorrected(path, degree, **options)
    from . import sig  # the corrected signature, differentiable in the path

    arguments = {**_DEFAULTS, **options}
    method = arguments.pop("method")
    time_aug, lead_lag, end_time = arguments["time_aug"], arguments["lead_lag"], arguments["end_time"]
    scalar_term, n_jobs = arguments["scalar_term"], arguments["n_jobs"]
    _logsig_meta.log_sig_meta(
        tuple(path.shape), degree, time_aug, lead_lag, end_time, method, scalar_term, n_jobs, correction=True
    )
    signature = sig(path, degree, **arguments)
    return sig_to_log_sig(
        signature, path.shape[-1], degree, time_aug=time_aug, lead_lag=lead_lag, method=method, n_jobs=n_jobs
    )


_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(_logsig.log_sig).parameters.items()
    if p.kind is p.KEYWORD_ONLY
}


__all__ = [
    "linear_log_sig",
    "log_sig",
    "log_sig_combine",
    "log_sig_join",
    "logsig_to_sig",
    "sig_to_log_sig",
]
