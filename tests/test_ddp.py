"""torch DistributedDataParallel over tensorsig.torch_api: two CPU processes (gloo), each on half
the batch, get the gradients one process gets on the whole batch."""

from __future__ import annotations

import os
import socket

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

import tensorsig.torch_api as ta  # noqa: E402

BATCH, LENGTH, CHANNELS, DEGREE = 8, 20, 3, 3


class SignatureModel(torch.nn.Module):
    """A learned projection of the paths, their signatures with time, and a linear read-out."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(CHANNELS, CHANNELS, dtype=torch.float64)
        width = ta.sig_length(CHANNELS, DEGREE, time_aug=True)
        self.head = torch.nn.Linear(width, 1, dtype=torch.float64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(ta.sig(self.proj(x), DEGREE, time_aug=True))


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, LENGTH, CHANNELS, dtype=torch.float64, generator=g) / LENGTH**0.5
    return x, torch.randn(BATCH, 1, dtype=torch.float64, generator=g)


def step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    torch.nn.functional.mse_loss(model(x), y).backward()


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = torch.nn.parallel.DistributedDataParallel(SignatureModel())
        x, y = data()
        half = BATCH // world
        step(model, x[rank * half : (rank + 1) * half], y[rank * half : (rank + 1) * half])
        if rank == 0:
            torch.save([p.grad for p in model.parameters()], out)
        # Both ranks done before either tears gloo down: a rank destroying the group while the
        # other still talks to it was seen to abort ("terminate called without an active
        # exception") on a loaded machine.
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not dist.is_available(), reason="torch built without distributed")
def test_ddp_gradients_equal_one_process_on_the_whole_batch(tmp_path):
    out = str(tmp_path / "grads.pt")
    mp.spawn(_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    model = SignatureModel()
    step(model, *data())
    for distributed_grad, grad in zip(torch.load(out), (p.grad for p in model.parameters())):
        torch.testing.assert_close(distributed_grad, grad)
