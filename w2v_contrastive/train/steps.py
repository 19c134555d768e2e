"""Training steps: one batch of pairs in, one update of the model, the batch's summed loss out.

Every step takes ``(batch, lr)`` and returns the summed loss as a 0-d tensor on the device (read
only when the trainer logs), or None for the empty step of a torchrun rank whose shard is used up.
The setup (train/setup.py) picks the implementation, never the head's name:

- :class:`FusedStep`: the compiled CPU kernel (train/fused_sgd.py), SGD in place, no optimizer.
- :class:`AutogradStep`: scores -> head loss -> backward -> (gradients summed over ranks) -> the
  optimizers; what GPUs and every head without a compiled row loss run.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

from ..heads import Head, score_batch
from ..model import SkipGram
from ..sampling.noise import NoiseDistribution
from ..sampling.pairs import PairBatch
from .distributed import Distributed
from .fused_sgd import FusedSkipGramSGD


class FusedStep:
    """The fused CPU kernel as a step: it draws its noise words from ``generator``'s seeds."""

    optimizers: tuple[torch.optim.Optimizer, ...] = ()

    def __init__(self, kernel: FusedSkipGramSGD, generator: torch.Generator):
        self.kernel, self.generator = kernel, generator

    def __call__(self, batch: PairBatch | None, lr: float) -> torch.Tensor | None:
        return torch.tensor(self.kernel.step(batch.centers, batch.contexts, lr, self.generator))


class AutogradStep:
    """Scores through :func:`~w2v_contrastive.heads.score_batch`, the head's loss, autograd, the
    optimizers. bf16 autocast on CUDA. With ``distributed`` (``--sync gradients``) the gradients are
    summed over the ranks before the update; ``dense`` names the parameters with dense gradients."""

    def __init__(self, model: SkipGram, head: Head, noise: NoiseDistribution, optimizers: list[torch.optim.Optimizer],
                 generator: torch.Generator, softmax_chunk: int | None, device: torch.device,
                 distributed: Distributed | None = None, dense: set[str] = frozenset()):
        self.model, self.head, self.noise, self.optimizers = model, head, noise, optimizers
        self.generator, self.softmax_chunk = generator, softmax_chunk
        self.distributed, self.dense = distributed, dense
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()

    def __call__(self, batch: PairBatch | None, lr: float) -> torch.Tensor | None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
            for group in optimizer.param_groups:
                group["lr"] = lr
        loss = None
        if batch is not None:
            with self.autocast:
                scores = score_batch(self.model, self.noise, self.head.request, batch.centers, batch.contexts,
                                     self.generator, self.softmax_chunk)
                loss = self.head(scores).sum()
            loss.backward()
        if self.distributed is not None:
            self.distributed.sum_gradients(self.model, self.dense)
        for optimizer in self.optimizers:
            optimizer.step()
        return None if loss is None else loss.detach()
