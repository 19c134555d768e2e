"""Data-parallel training with ``torch.distributed``, launched by ``torchrun``.

    torchrun --nproc_per_node=2 -m w2v_contrastive train --corpus big.txt --out runs/sgns
    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=8 --rdzv_backend=c10d \\
             --rdzv_endpoint=host0:29500 -m w2v_contrastive train ...   # on each node

Each rank trains on its own contiguous shard of the corpus lines (about the same number of
tokens each). The parameters stay consistent in one of two ways (``--sync``):

- ``gradients``: after every backward pass the gradients are summed over the ranks with
  ``all_reduce`` (sparse row gradients stay sparse), so every rank applies the same update: one SGD
  step over the union of the ranks' batches, as one process with a ``world_size`` times larger
  batch would take. Needs the autograd path and gloo (NCCL has no sparse all-reduce).
- ``average``: each rank trains on its own (local SGD; the fused CPU kernel included) and every
  ``--average-every`` steps the parameters are averaged. The row step marks the rows it changes
  (:class:`TouchedRows`) and only the rows some rank changed since the last average are averaged (the
  others are equal on every rank already): one all-reduce of a byte per row, one of the changed rows;
  the other steps average whole tables with torch's ``model_averaging.utils.average_parameters``.
  Each rank steps with ``world_size`` times the
  learning rate (the linear scaling rule, Goyal et al. 2017, as in local SGD, Lin et al. 2020), so
  the average moves as far as the ranks' updates together; plain averaging halves every update of a
  row only one rank touched and trained 2 processes to SimLex 0.15 where 1 process reaches 0.20.
  One collective per period instead of per step, at the price of ranks drifting apart in between.
  The default for the fused CPU kernel and for NCCL.

The ranks move in lockstep: every :data:`AGREE_EVERY` steps they agree (one small ``all_reduce``,
the only host sync of the loop) on whether any rank still has a batch, on the learning-rate progress,
and on whether to log, checkpoint, stop on a signal or back off after a non-finite loss, so every
collective is entered by every rank. Between agreements every rank steps on with the agreed
learning-rate progress (the schedule moves in steps of AGREE_EVERY batches) and acts on no flag; a
rank whose shard is used up takes empty steps until the others finish.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ..errors import W2VError

#: the flags the ranks agree on, in the order of :meth:`Distributed.agree`'s vector
FLAGS = ("has_batch", "signal", "log", "checkpoint", "non_finite")
#: steps between two agreements: a GPU row step takes about 0.5 ms (docs/gpu.md), an agreement (an all_reduce
#: and its copy to the host) tens of microseconds, so one every 32 steps costs about 0.3% of the time
AGREE_EVERY = 32


@dataclass
class Distributed:
    """This process's place in the job."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    backend: str

    @classmethod
    def from_environment(cls, device: str) -> "Distributed | None":
        """The job torchrun started this process in (None when it runs alone); joins its process group."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return None
        cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if cuda:
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            try:
                dist.init_process_group("nccl" if cuda else "gloo")
            except Exception as exc:  # rendezvous errors come in many types
                raise W2VError(f"cannot join the torch.distributed job: {str(exc).splitlines()[0]}") from None
        return cls(dist.get_rank(), dist.get_world_size(), local_rank,
                   int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size))), dist.get_backend())

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def collective_device(self) -> torch.device:
        """Where small tensors for collectives live: NCCL only moves GPU tensors."""
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def device(self, device: torch.device) -> torch.device:
        """This rank's device: its own GPU (by local rank) on CUDA."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" else device

    def barrier(self) -> None:
        dist.barrier()

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list | None:
        """Every rank's ``value``, in rank order, on rank 0 (None elsewhere)."""
        values = [None] * self.world_size if self.is_main else None
        dist.gather_object(value, values, dst=0)
        return values

    def agree(self, flags: dict[str, bool | torch.Tensor], progress: float) -> tuple[dict[str, bool], float]:
        """Each flag true if it is on any rank; the furthest learning-rate progress of all ranks."""
        device = self.collective_device
        values = torch.stack([torch.as_tensor(flags[name], dtype=torch.float64).to(device) for name in FLAGS]
                             + [torch.tensor(progress, dtype=torch.float64, device=device)])
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        agreed = values.tolist()
        return dict(zip(FLAGS, (bool(v) for v in agreed))), agreed[-1]

    def sum_gradients(self, model: torch.nn.Module, dense: set[str]) -> None:
        """All-reduce (sum) every parameter's gradient; a rank without one (an empty step) adds zeros
        of the same kind: dense for the parameters named in ``dense``, sparse rows for the others.
        Sparse all-reduce needs gloo (the trainer checks)."""
        for name, parameter in model.named_parameters():
            grad = parameter.grad
            if grad is None:
                grad = (torch.zeros_like(parameter) if name in dense else
                        torch.sparse_coo_tensor(torch.zeros(1, 0, dtype=torch.int64, device=parameter.device),
                                                parameter.new_zeros((0, *parameter.shape[1:])), parameter.shape))
            elif grad.is_sparse:
                grad = grad.coalesce()
            dist.all_reduce(grad)
            parameter.grad = grad

    def average_parameters(self, model: torch.nn.Module, touched: "TouchedRows | None" = None) -> None:
        """Replace every parameter by its mean over the ranks, in place: the fused CPU kernel holds views of
        the parameters' storage, which must stay theirs. With ``touched``, only the rows some rank changed
        since the last average; otherwise every row (torch's model-averaging utility)."""
        from torch.distributed.algorithms.model_averaging.utils import average_parameters

        parameters = list(model.parameters())
        if touched is not None:
            self._average_rows(parameters, touched)
            return
        storages = [parameter.data for parameter in parameters]
        average_parameters(parameters, dist.group.WORLD)  # (it rebinds .data to slices of one flat tensor)
        with torch.no_grad():
            for parameter, storage in zip(parameters, storages):
                storage.copy_(parameter.data)
                parameter.data = storage

    def _average_rows(self, parameters: list[torch.Tensor], touched: "TouchedRows") -> None:
        """theta_r <- (1 / W) sum over the W ranks of theta_r, for the rows r any rank marked in ``touched``
        (their union: an all-reduce of one byte a row); then no row is marked. The union's rows are read by
        the host (a sync, once per average)."""
        marks = torch.cat([touched.rows[id(parameter)] for parameter in parameters]).to(torch.uint8)
        dist.all_reduce(marks, op=dist.ReduceOp.MAX)
        rows = [part.nonzero().squeeze(1) for part in marks.split([p.shape[0] for p in parameters])]
        values = torch.cat([p.detach()[r].reshape(-1) for p, r in zip(parameters, rows)]) / self.world_size
        dist.all_reduce(values)  # (divided first, as torch's utility does: the same sums, bit for bit)
        sizes = [changed.numel() * parameter[0].numel() for parameter, changed in zip(parameters, rows)]
        for parameter, changed, part in zip(parameters, rows, values.split(sizes)):
            parameter.detach().index_copy_(0, changed, part.view(-1, *parameter.shape[1:]))
        touched.clear()

    def sum(self, value: float) -> float:
        total = torch.tensor([value], dtype=torch.float64, device=self.collective_device)
        dist.all_reduce(total)
        return float(total)

    def spread(self, model: torch.nn.Module) -> float:
        """The largest difference between two ranks' copies of any parameter (0: one consistent model)."""
        largest = 0.0
        for parameter in model.parameters():
            high, low = parameter.detach().clone(), parameter.detach().clone()
            dist.all_reduce(high, op=dist.ReduceOp.MAX)
            dist.all_reduce(low, op=dist.ReduceOp.MIN)
            largest = max(largest, float((high - low).max()))
        return largest


class TouchedRows:
    """Which rows of each table the steps changed since the last average: ``rows[id(table)]`` bool[T] on the
    table's device. The row step marks the rows it updates (:meth:`mark`, one ``index_fill_`` per table and
    step, no sync); :meth:`Distributed.average_parameters` averages those and clears them."""

    def __init__(self, tables):
        self.rows = {id(table): torch.zeros(table.shape[0], dtype=torch.bool, device=table.device) for table in tables}

    def mark(self, table: torch.Tensor, rows: torch.Tensor) -> None:
        """``rows`` (int64[N]) of ``table`` changed."""
        self.rows[id(table)].index_fill_(0, rows, True)

    def clear(self) -> None:
        for marks in self.rows.values():
            marks.zero_()


def is_main_process() -> bool:
    """False on the ranks of a torchrun job other than 0 (they train but write nothing)."""
    return not dist.is_initialized() or dist.get_rank() == 0
