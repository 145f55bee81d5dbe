"""The exceptions tensorsig raises.

Every error is a :class:`TensorsigError`, and also the built-in exception pysiglib raises for the
same mistake, so code written for pysiglib keeps catching what it caught (``except ValueError``)
while new code can catch tensorsig's errors as one family, or one kind precisely::

    TensorsigError
    ├── ArgumentTypeError   (also TypeError)    an argument of the wrong type or dtype
    ├── InvalidArgumentError (also ValueError)  an argument outside its domain (degree < 0, n_jobs = 0, …)
    ├── ShapeError          (also ValueError)   arrays whose shapes or lengths do not fit each other
    ├── OutOfMemoryError    (also MemoryError)  a result or workspace too large for this machine
    ├── DeviceError         (also RuntimeError) the GPU, its driver or its compiler failed or is missing
    ├── ThreadPoolError     (also RuntimeError) worker threads could not be started
    └── InternalError       (also RuntimeError) a bug in tensorsig: please report it

>>> import numpy as np, tensorsig
>>> try:
...     tensorsig.sig(np.zeros((4, 2)), -1)
... except ValueError as error:                  # what pysiglib code catches
...     print(type(error).__name__, isinstance(error, tensorsig.TensorsigError))
InvalidArgumentError True
"""

from __future__ import annotations

__all__ = [
    "ArgumentTypeError",
    "DeviceError",
    "InternalError",
    "InvalidArgumentError",
    "OutOfMemoryError",
    "ShapeError",
    "TensorsigError",
    "ThreadPoolError",
]


class TensorsigError(Exception):
    """Base class of every exception tensorsig raises.

    >>> import numpy as np, tensorsig
    >>> try:
    ...     tensorsig.sig_combine(np.zeros((2, 6)), np.zeros((2, 7)), 2, 2)
    ... except tensorsig.TensorsigError as error:
    ...     print(error)
    sig2 is of incorrect length. Expected 6, got 7
    """


class ArgumentTypeError(TensorsigError, TypeError):
    """An argument of the wrong type (``degree=2.0``) or an array of an unsupported dtype."""


class InvalidArgumentError(TensorsigError, ValueError):
    """An argument outside its domain: a negative degree, ``n_jobs=0``, an unknown method."""


class ShapeError(TensorsigError, ValueError):
    """Arrays whose shapes or lengths do not fit the other arguments or each other, or sizes too
    large to represent."""


class OutOfMemoryError(TensorsigError, MemoryError):
    """A result or workspace larger than this machine's memory; raised before allocating it."""


class DeviceError(TensorsigError, RuntimeError):
    """The GPU, its driver or NVRTC failed or is missing (the message says which)."""


class ThreadPoolError(TensorsigError, RuntimeError):
    """The operating system refused to start worker threads."""


class InternalError(TensorsigError, RuntimeError):
    """A bug in tensorsig (a check that should have caught bad input did not): please report it."""
