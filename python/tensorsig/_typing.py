"""The type of the arrays the public functions take and return."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch

#: A numpy array or a torch tensor: a function given one returns the same kind (value-preserving,
#: so that ``sig(numpy array)`` is typed as a numpy array and ``sig(tensor)`` as a tensor).
Array = TypeVar("Array", npt.NDArray[np.floating[Any]], "torch.Tensor")
