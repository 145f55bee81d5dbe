# Type stubs for the native extension `tensorsig._core` (src/python/). Private: use `tensorsig`.
# Array arguments are numpy arrays of float32 or float64; outputs are C-contiguous and written in
# place. Shapes: paths (batch, length, channels); signatures (batch, sig_length), or with
# stream=True (batch, steps, sig_length); corrections (C,), (length - 1, C) or
# (batch, length - 1, C); lengths (batch,).
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_Floats = npt.NDArray[np.float32] | npt.NDArray[np.float64]
_Lengths = npt.NDArray[np.int64]
# (device ordinal, raw cudaStream_t): given with CUDA arrays (objects with
# `__cuda_array_interface__`), which the ops with GPU kernels (HAS_CUDA) take in place of numpy
# arrays; the others raise DeviceError for them.
_Launch = tuple[int, int]

__version__: str

def sig(
    path: _Floats,
    out: _Floats,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    scalar_term: bool,
    n_jobs: int,
    correction: _Floats | None = None,
    lengths: _Lengths | None = None,
    stream: bool = False,
    *,
    launch: _Launch | None = None,
) -> bool: ...
def sig_new(
    path: _Floats,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    scalar_term: bool,
    n_jobs: int,
) -> tuple[_Floats, bool] | None: ...

# A CPU torch.Tensor in, a torch.Tensor out (torch is not a dependency of the stubs).
def sig_new_tensor(
    path: object,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    scalar_term: bool,
    n_jobs: int,
) -> tuple[object, bool] | None: ...
def sig_backprop(
    path: _Floats,
    sig: _Floats,
    sig_derivs: _Floats,
    out: _Floats,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    scalar_term: bool,
    n_jobs: int,
    correction: _Floats | None = None,
    lengths: _Lengths | None = None,
    stream: bool = False,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_backprop_jvp(
    path: _Floats,
    directions: _Floats,
    sig_derivs: _Floats,
    jvp_out: _Floats,
    hvp_out: _Floats,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_combine(
    sig1: _Floats,
    sig2: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_combine_backprop(
    deriv: _Floats,
    sig1: _Floats,
    sig2: _Floats,
    out1: _Floats,
    out2: _Floats,
    dimension: int,
    degree: int,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def transform_path(
    path: _Floats,
    out: _Floats,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def transform_path_backprop(
    derivs: _Floats,
    out: _Floats,
    length: int,
    dimension: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_length(dimension: int, degree: int, scalar_term: bool) -> int: ...
def resolve_n_jobs(n_jobs: int) -> int: ...

# Signature extras (CPU). Displacements are (batch, dimension); words are their concatenated
# letters and their lengths; sig_coef_backprop's derivs follow pysiglib's prefixes=True layout.
def sig_join(
    sig: _Floats,
    displacement: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    prepend: bool,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_join_backprop(
    d_out: _Floats,
    sig: _Floats,
    displacement: _Floats,
    d_sig_out: _Floats,
    d_displacement_out: _Floats,
    dimension: int,
    degree: int,
    prepend: bool,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def linear_sig(
    displacement: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_coef(
    path: _Floats,
    out: _Floats,
    letters: Sequence[int],
    lengths: Sequence[int],
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    prefixes: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_coef_backprop(
    path: _Floats,
    derivs: _Floats,
    out: _Floats,
    letters: Sequence[int],
    lengths: Sequence[int],
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...

# Log-signatures (src/python/ops/logsig.rs). `dimension` is the augmented dimension; `method` is
# pysiglib's 0-3; log-signature rows have `log_sig_length` values (method 0: a signature's).
def log_sig(
    path: _Floats,
    out: _Floats,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    method: int,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> bool: ...
def log_sig_backprop(
    path: _Floats,
    log_sig_derivs: _Floats,
    out: _Floats,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    method: int,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_to_log_sig(
    sig: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    scalar_term: bool,
    method: int,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_to_log_sig_backprop(
    sig: _Floats,
    log_sig_derivs: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    scalar_term: bool,
    method: int,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def logsig_to_sig(
    log_sig: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    method: int,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def logsig_to_sig_backprop(
    log_sig: _Floats,
    sig_derivs: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    method: int,
    scalar_term: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def log_sig_combine(
    log_sig1: _Floats,
    log_sig2: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def log_sig_combine_backprop(
    deriv: _Floats,
    ls1: _Floats,
    ls2: _Floats,
    out1: _Floats,
    out2: _Floats,
    dimension: int,
    degree: int,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def log_sig_join(
    log_sig: _Floats,
    displacement: _Floats,
    out: _Floats,
    dimension: int,
    degree: int,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def log_sig_join_backprop(
    d_out: _Floats,
    log_sig: _Floats,
    displacement: _Floats,
    out1: _Floats,
    out2: _Floats,
    dimension: int,
    degree: int,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def log_sig_length(dimension: int, degree: int) -> int: ...
def prepare_log_sig(dimension: int, degree: int) -> None: ...
def log_sig_basis_cached(dimension: int, degree: int) -> bool: ...
def log_sig_basis_bytes(dimension: int, degree: int) -> bytes: ...
def load_log_sig_basis(dimension: int, degree: int, data: bytes) -> bool: ...
def clear_cache() -> None: ...

# Signature kernels (src/python/ops/sigkernel.rs). `kernel` is a static kernel's (name, parameters);
# `method` is "finite_difference" (with `dyadic_order`) or "polynomial" (with `order`).
def sig_kernel(
    path1: _Floats,
    path2: _Floats | None,
    out: _Floats,
    kernel: tuple[str, tuple[float, ...] | list[float]],
    method: str,
    dyadic_order: tuple[int, int],
    order: int,
    return_grid: bool,
    gram: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> tuple[bool, bool]: ...
def sig_kernel_backprop(
    path1: _Floats,
    path2: _Floats | None,
    derivs: _Floats,
    k_grid: _Floats | None,
    out1: _Floats | None,
    out2: _Floats | None,
    kernel: tuple[str, tuple[float, ...] | list[float]],
    method: str,
    dyadic_order: tuple[int, int],
    order: int,
    grid_derivs: bool,
    gram: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...
def sig_kernel_increments(
    increments: _Floats,
    out: _Floats,
    method: str,
    dyadic_order: tuple[int, int],
    order: int,
    return_grid: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> bool: ...
def sig_kernel_increments_backprop(
    increments: _Floats,
    derivs: _Floats,
    k_grid: _Floats | None,
    out: _Floats,
    method: str,
    dyadic_order: tuple[int, int],
    order: int,
    grid_derivs: bool,
    n_jobs: int,
    *,
    launch: _Launch | None = None,
) -> None: ...

# Whether the build has the `cuda` feature; then the functions below are present too.
HAS_CUDA: bool

def cuda_device_count() -> int: ...
def cuda_set_nvrtc_path(path: str) -> None: ...
def cuda_nvrtc_version() -> tuple[int, int]: ...
def cuda_compile_check(double: bool, dim: int, degree: int, dual: bool, arch: str) -> int: ...
