"""The process cache of log-signature tables and its optional copy on disk.

Tables (the Lyndon bracket basis of a dimension and degree) live in a process-wide cache in the
native code, built on first use by whichever call needs them, once, thread-safely, and kept
across ``fork`` (see ``src/cpu/cache.rs``). Nothing needs preparing; :func:`prepare_log_sig`
builds ahead of time, and with ``use_disk=True`` keeps a copy on disk in a versioned, checksummed
format that is verified on reading, rebuilt and rewritten when damaged.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from . import _core
from ._checks import check_bool
from ._specs import logsig as meta
from .exceptions import ArgumentTypeError, InvalidArgumentError

#: Folder (inside the cache directory) that holds tensorsig's files.
_SUBFOLDER = "tensorsig"
#: Name of the Lyndon-basis file of augmented dimension d and degree N. The format version is
#: the native one's (the file says it too); a bump writes new names and leaves old files unread.
_BASIS_FILE = "lyndon_basis_{d}_{n}_v1.bin"

_lock = threading.Lock()
_cache_dir: Path | None = None


def _default_cache_dir() -> Path:
    """The platform's per-user cache folder (pysiglib's choice of default)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _folder() -> Path:
    with _lock:
        base = _cache_dir if _cache_dir is not None else _default_cache_dir()
    return base / _SUBFOLDER


def set_cache_dir(dir: str) -> None:
    """Sets the directory of the disk cache that :func:`prepare_log_sig` uses with
    ``use_disk=True``.

    Files go into its subfolder ``tensorsig/`` (created when first written). Until this is called,
    the platform's cache folder is used: ``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux,
    ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows. Unlike pysiglib's, this is
    thread safe.

    Parameters
    ----------
    dir : str
        An existing directory.

    Raises
    ------
    TypeError
        When ``dir`` is not a str.
    ValueError
        When it does not exist or is not a directory.

    Examples
    --------
    >>> import pathlib, tempfile, tensorsig
    >>> folder = tempfile.mkdtemp()
    >>> tensorsig.set_cache_dir(folder)
    >>> tensorsig.prepare_log_sig(3, 4, 2, use_disk=True)
    >>> [file.name for file in (pathlib.Path(folder) / "tensorsig").iterdir()]
    ['lyndon_basis_3_4_v1.bin']
    """
    global _cache_dir
    if not isinstance(dir, str):
        raise ArgumentTypeError(f"dir must be of type str, got {type(dir).__name__} instead")
    path = Path(dir)
    if not path.exists():
        raise InvalidArgumentError(f"Path does not exist: {path}")
    if not path.is_dir():
        raise InvalidArgumentError(f"Path is not a directory: {path}")
    with _lock:
        _cache_dir = path.resolve()


def _basis_file(aug: int, degree: int) -> Path:
    return _folder() / _BASIS_FILE.format(d=aug, n=degree)


def _write_atomically(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file in the same folder and a rename, so
    that a reader (another process) never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def prepare_log_sig(
    dimension: int,
    degree: int,
    method: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    use_disk: bool = False,
    device: str = "both",
) -> None:
    """Builds the log-signature tables of a dimension and degree ahead of their first use.

    Not needed: every function builds the tables it needs on first use, once per process
    (d = 8, N = 5 takes a few milliseconds). This exists so that pysiglib code runs unchanged,
    and for the disk cache. One table (the Lyndon bracket basis of the augmented dimension and
    degree) serves methods 1-3, :func:`logsig_to_sig`, :func:`log_sig_combine`,
    :func:`log_sig_join` and the streams alike; method 0 needs none.

    Parameters
    ----------
    dimension, degree : int
        Of the paths, before the transforms; both positive.
    method : int
        ``0``-``3`` (validated; 0 returns at once).
    time_aug, lead_lag : bool
        Prepare for the transformed paths' dimension.
    use_disk : bool
        Also read the tables from, or write them to, the disk cache (:func:`set_cache_dir`). A
        file that is missing, truncated, damaged (checksum), of another version or shape is
        rebuilt and rewritten, never trusted.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"both"`` (validated; the CPU and CUDA share the tables).

    Raises
    ------
    TypeError, ValueError
        For invalid arguments.
    OSError
        When the disk cache cannot be written.

    Examples
    --------
    >>> import tensorsig
    >>> tensorsig.prepare_log_sig(5, 3, 2, lead_lag=True)
    """
    aug = meta.prepare_log_sig_meta(dimension, degree, method, time_aug, lead_lag, use_disk, device)
    if method == 0:
        return
    if not use_disk:
        _core.prepare_log_sig(aug, degree)
        return
    path = _basis_file(aug, degree)
    with contextlib.suppress(FileNotFoundError):
        if _core.load_log_sig_basis(aug, degree, path.read_bytes()):
            return
    _write_atomically(path, _core.log_sig_basis_bytes(aug, degree))


def clear_cache(*, use_disk: bool = False, device: str = "both") -> None:
    """Empties the in-memory cache of tables (and, with ``use_disk``, tensorsig's disk cache).

    Tables are rebuilt on their next use. Computations running meanwhile keep the tables they
    hold.

    Parameters
    ----------
    use_disk : bool
        Also delete the files tensorsig wrote in the disk cache's ``tensorsig/`` folder (and the
        folder, once empty).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"both"`` (validated; one cache serves both).

    Examples
    --------
    >>> import tensorsig
    >>> tensorsig.clear_cache()
    """
    meta.check_device(device)
    check_bool(use_disk, "use_disk")
    _core.clear_cache()
    if use_disk:
        folder = _folder()
        for file in folder.glob(_BASIS_FILE.format(d="*", n="*")):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()


def _basis_cached(dimension: Any, degree: Any) -> bool:
    """Whether the basis of (augmented) ``dimension`` and ``degree`` is in the process cache."""
    return bool(_core.log_sig_basis_cached(dimension, degree))
