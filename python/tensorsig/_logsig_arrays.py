"""Array arguments of the log-signature functions: parsed, checked to agree, CPU only."""

from __future__ import annotations

from typing import Any

from ._operands import Operand, check_same_kind, contiguous, merge_batch, operand
from .exceptions import DeviceError


def _cpu_only(op: Operand) -> None:
    if op.on_gpu:
        raise DeviceError(
            f"{op.name} is a CUDA tensor; tensorsig computes log-signatures on the CPU for now. "
            "Move it with .cpu() first"
        )


def _operands(values: list[Any], names: list[str]) -> list[Operand]:
    ops = [operand(v, n) for v, n in zip(values, names)]
    check_same_kind(tuple(ops))
    _cpu_only(ops[0])
    return ops


def _batched(op: Operand, batch_shape: tuple[int, ...]) -> Any:
    return contiguous(merge_batch(op.array, batch_shape))
