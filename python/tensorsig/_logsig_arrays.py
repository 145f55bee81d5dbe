"""Array arguments of the log-signature functions: parsed, checked to agree, CPU only."""

from __future__ import annotations

from typing import Any

from ._operands import Operand, check_same_kind, contiguous, merge_batch, operand, require_cpu


def _cpu_only(op: Operand) -> None:
    require_cpu(op, "log-signatures")


def _operands(values: list[Any], names: list[str]) -> list[Operand]:
    ops = [operand(v, n) for v, n in zip(values, names)]
    check_same_kind(tuple(ops))
    _cpu_only(ops[0])
    return ops


def _batched(op: Operand, batch_shape: tuple[int, ...]) -> Any:
    return contiguous(merge_batch(op.array, batch_shape))
