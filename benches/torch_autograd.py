"""Autograd through tensorsig.torch_api against pysiglib.torch_api, measured side by side.

    python benches/torch_autograd.py

1. Forward + backward of ``sig`` for a (128, 256, 5) float64 batch, degree 4, time-augmented:
   target at least 3x faster than pysiglib.torch_api.sig.
2. The cost of a double backward (gradient penalty: grad with create_graph, then backward through
   it) against a single backward, both tensorsig: target within 4x. pysiglib has no double
   backward to compare with.

Same harness as ``python -m tensorsig bench``: interleaved runs, minimum of repeats.
"""

from __future__ import annotations

import torch

import tensorsig.torch_api as ta
from tensorsig._bench import Workload, _peer, format_table, measure

SHAPE, DEGREE = (128, 256, 5), 4


def main() -> None:
    torch.manual_seed(0)
    path = (torch.randn(*SHAPE, dtype=torch.float64) / SHAPE[1] ** 0.5).requires_grad_()
    pysiglib = _peer("pysiglib")

    def fwd_bwd(module):
        def run():
            path.grad = None
            module.sig(path, DEGREE, time_aug=True).pow(2).sum().backward()

        return run

    runs = {"tensorsig": fwd_bwd(ta)}
    if pysiglib is not None:
        runs["pysiglib"] = fwd_bwd(pysiglib.torch_api)
    first = Workload(
        f"sig fwd+bwd {SHAPE} N={DEGREE} time_aug f64",
        runs,
        target=">= 3x pysiglib",
        check=lambda t: "pysiglib" not in t or t["pysiglib"] / t["tensorsig"] >= 3.0,
    )

    def single():
        path.grad = None
        ta.sig(path, DEGREE, time_aug=True).pow(2).sum().backward()

    def double():
        path.grad = None
        loss = ta.sig(path, DEGREE, time_aug=True).pow(2).sum()
        (grad,) = torch.autograd.grad(loss, path, create_graph=True)
        grad.pow(2).sum().backward()

    second = Workload(
        f"double vs single backward {SHAPE} N={DEGREE}",
        {"tensorsig": double, "single backward": single},
        target="<= 4x single",
        check=lambda t: t["tensorsig"] / t["single backward"] <= 4.0,
    )
    workloads = [first, second]
    measure(workloads, repeats=7, budget_s=6.0)
    print(format_table(workloads))
    ratio = second.times["tensorsig"] / second.times["single backward"]
    print(f"\ndouble backward / single backward: {ratio:.2f}x")


if __name__ == "__main__":
    main()
