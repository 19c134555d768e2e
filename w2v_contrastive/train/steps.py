"""Training steps: one batch of pairs in, one update of the model, the batch's summed loss out.

Every step takes ``(batch, lr)`` and returns the summed loss as a 0-d tensor on the device (read
only when the trainer logs), or None for the empty step of a torchrun rank whose shard is used up.
The setup (train/setup.py) picks the implementation, never the head's name:

- :class:`FusedStep`: a compiled kernel, SGD in place, no optimizer: the CPU's (train/fused_sgd.py) or
  the GPU's Triton kernel (train/gpu_sgd.py), which run the same algorithm.
- :class:`RowStep`: any head that does not score the whole vocabulary: the batch's rows are
  gathered, autograd runs over those rows only, and the row gradients update the tables through
  :class:`RowSGD` (``index_add_``) or :class:`RowAdam` (lazy Adam over the rows used). No sparse
  gradients, no host sync; what GPUs run by default.
- :class:`AutogradStep`: scores -> head loss -> backward -> (gradients summed over ranks) -> the
  optimizers; for the full-vocabulary softmax and ``--sync gradients``.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

from ..heads import Head, score_batch
from ..heads.base import draw_candidates, score_rows
from ..model import SkipGram, bag_rows
from ..sampling.noise import NoiseDistribution
from ..sampling.pairs import PairBatch
from .distributed import Distributed, TouchedRows
from .fused_sgd import FusedSkipGramSGD
from .gpu_sgd import HogwildSGD


class Step:
    """What the trainer asks of a step besides ``step(batch, lr)``: its optimizers (checkpointed), the rows it marks
    for ``--sync average``, and :meth:`flush`."""

    optimizers: tuple[torch.optim.Optimizer, ...] = ()
    touched: TouchedRows | None = None

    def flush(self) -> None:
        """Bring the model's tables up to date with every update so far; the trainer calls it before anything reads
        or writes them (nothing to do for a step that writes them directly)."""


class FusedStep(Step):
    """A compiled kernel (the fused CPU kernel, or the GPU's) as a step: it draws its noise words from
    ``generator``'s seeds.

    ``context_first``: give the kernel each skip-gram pair the other way round, predicting the centre
    word from the context word, as word2vec.c and gensim do. The window's pairs are symmetric (a pair
    and its reverse are equally likely), so the objective is the same; what changes is the order of
    the work: the stream keeps a centre token's pairs together, so for the hierarchical softmax the
    rows of one path (the centre word's, ~13 rows) serve its ~5 pairs in a row while they are in cache:
    the kernel is 8% faster so on gutenberg-mid; for negative sampling, whose repeating row is the input,
    6% slower, so heads with noise words keep the centre first (scripts/bench_pair_orientation.py ->
    bench/pair-orientation-2026-12-01.json)."""

    def __init__(self, kernel: FusedSkipGramSGD | HogwildSGD, generator: torch.Generator, context_first: bool = False):
        self.kernel, self.generator, self.context_first = kernel, generator, context_first

    def __call__(self, batch: PairBatch | None, lr: float) -> torch.Tensor | None:
        inputs, targets = (batch.contexts, batch.centers) if self.context_first else (batch.inputs, batch.targets)
        return torch.as_tensor(self.kernel.step(inputs, targets, lr, self.generator))  # (the GPU's: on the device)

    def flush(self) -> None:
        self.kernel.flush()


class AutogradStep(Step):
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
                scores = score_batch(self.model, self.noise, self.head.request, batch.inputs, batch.targets,
                                     self.generator, self.softmax_chunk)
                loss = self.head(scores).sum()
            loss.backward()
        if self.distributed is not None:
            self.distributed.sum_gradients(self.model, self.dense)
        for optimizer in self.optimizers:
            optimizer.step()
        return None if loss is None else loss.detach()


class RowStep(Step):
    """One step on the summed loss of a batch, with the tables kept out of autograd.

    For examples (w_b, c_b) and the candidates x of :func:`~w2v_contrastive.heads.base.draw_candidates`:

        u = U[r], v = V[x], b = bias[x]           (gathered rows: leaves of a small autograd graph)
        L = sum_b head(scores(h(u), v, b))_b       (fp32 scores; the head's own formula)

    where r are the input words' rows and h(u) is u, or each bag's mean (CBOW's window, a word's subword
    rows; :meth:`~w2v_contrastive.model.SkipGram.compose`), and the row gradients dL/du, dL/dv, dL/db go to
    ``update`` (:class:`RowSGD` or :class:`RowAdam`), one call per table (a tied model's word and context
    rows together), which is what the autograd step computes with sparse row gradients and torch's SGD or
    SparseAdam, without sparse tensors or their host syncs. Bags are packed
    (:meth:`~w2v_contrastive.model.SkipGram.pack_bags`): a step gathers and scatters the rows its bags
    have, not B times the vocabulary's longest bag, and their number is the one value it reads from the
    device (on a GPU an event wait for that count's copy, as the pair stream's; none without bags). A batch
    shorter than ``batch_size`` (a chunk's last) is padded to that size with masked pairs when the head
    scores each pair on its own (no in-batch candidates), so every step has the same shapes. With
    ``touched`` (torchrun, ``--sync average``) the step marks the rows it updates there.
    """

    def __init__(self, model: SkipGram, head: Head, noise: NoiseDistribution, generator: torch.Generator,
                 batch_size: int, update: "RowSGD | RowAdam", touched: TouchedRows | None = None):
        self.model, self.head, self.noise, self.generator, self.update = model, head, noise, generator, update
        self.touched = touched
        self.batch_size = batch_size if not head.request.in_batch else None
        self.optimizers = (update,) if isinstance(update, RowAdam) else ()

    def __call__(self, batch: PairBatch | None, lr: float) -> torch.Tensor | None:
        inputs, targets, mask = self._fixed_shape(batch.inputs, batch.targets)
        request, model = self.head.request, self.model
        candidates, noise_words = draw_candidates(self.noise, request, targets, self.generator)
        input_bags, context_rows = model.input_bags(inputs), model.context_rows(candidates)
        tables = [(model.input.weight, bag_rows(input_bags)), (model.output.weight, bag_rows(context_rows))]
        if model.bias is not None:
            tables.append((model.bias.weight, candidates))
        rows = [gather(table.detach(), words).requires_grad_() for table, words in tables]
        b = rows[2].squeeze(-1) if model.bias is not None else torch.zeros(candidates.shape, device=targets.device)
        u, v = model.compose(rows[0], rows[1], input_bags, context_rows)
        losses = self.head(score_rows(u, v, b, self.noise, request, inputs, targets, noise_words))
        loss = (losses if mask is None else losses * mask).sum()
        grads = torch.autograd.grad(loss, rows)
        by_table: dict[int, tuple[torch.Tensor, list, list]] = {}  # (a tied model's two tables are one)
        for (table, words), grad in zip(tables, grads):
            entry = by_table.setdefault(id(table), (table, [], []))
            entry[1].append(words.reshape(-1))
            entry[2].append(grad.reshape(words.numel(), -1))
        with torch.no_grad():
            for table, words, grad in by_table.values():
                rows = torch.cat(words) if len(words) > 1 else words[0]  # (a table with one use: no copy)
                self.update(table, rows, torch.cat(grad) if len(grad) > 1 else grad[0], lr)
                if self.touched is not None:
                    self.touched.mark(table, rows)
        return loss.detach()

    def _fixed_shape(self, inputs: torch.Tensor, targets: torch.Tensor):
        """(inputs, targets, mask): padded to :attr:`batch_size` with masked examples of word 0 when shorter."""
        short = 0 if self.batch_size is None else self.batch_size - targets.shape[0]
        if short <= 0:
            return inputs, targets, None
        mask = torch.arange(self.batch_size, device=targets.device) < targets.shape[0]
        padding = inputs.new_zeros((short, *inputs.shape[1:]))
        return torch.cat([inputs, padding]), torch.cat([targets, targets.new_zeros(short)]), mask


class RowSGD:
    """theta_r <- theta_r - lr g_r for every row r a step used (``index_add_``: a row's gradients add up).
    On the CPU ``grads`` (the step's own gradients, read by nothing else) is scaled in place first, as
    ``index_add_`` with an ``alpha`` takes a serial path there (2.7x slower on 2 cores for a batch of 4,096
    pairs with 5 noise words); a GPU scales as it adds, without a pass over the gradients."""

    def __call__(self, table: torch.Tensor, rows: torch.Tensor, grads: torch.Tensor, lr: float) -> None:
        flat = table.view(table.shape[0], -1)
        if grads.device.type == "cpu":
            flat.index_add_(0, rows, grads.mul_(-lr))
        else:
            flat.index_add_(0, rows, grads, alpha=-lr)


class RowAdam:
    """SparseAdam's update for the rows a step used. Lazy Adam (Kingma & Ba 2015), as SparseAdam: with
    g_r the sum of the step's gradients of row r, t the table's step count, and for used rows only

        m_r <- b1 m_r + (1 - b1) g_r,   v_r <- b2 v_r + (1 - b2) g_r^2,
        theta_r <- theta_r - lr sqrt(1 - b2^t) / (1 - b1^t) m_r / (sqrt(v_r) + eps)

    ``distinct_rows`` chooses how the uses of a row are summed into g_r. True (the default on the CPU):
    ``torch.unique`` gives each row once, and the update reads and writes only those (a batch of 4,096
    skip-gram pairs with 5 noise words uses ~7k distinct rows 28k times: the update is 4x faster on 2
    cores). False (the default elsewhere), without unique's host sync or its shape that depends on the
    data: the gradients are summed into a zeroed table-sized buffer (``index_add_``), each use of a row
    reads its row's sum back, and every use computes the row's new m, v and theta from the old ones; a
    row's uses compute the same values, so writing them all (``index_copy_``) writes each row once:
    O(uses x d) work, fixed shapes, no sync.

    Not a ``torch.optim.Optimizer``, whose constructor imports torch's compiler (2.3 s of every run's
    start on 2 cores); its :meth:`state_dict` has an optimizer's layout, so checkpoints hold the moments
    and step counts as they held torch's.
    """

    def __init__(self, tables, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 distinct_rows: bool | None = None):
        self.tables, self.lr, self.betas, self.eps = list(tables), lr, betas, eps
        self.distinct_rows = self.tables[0].device.type == "cpu" if distinct_rows is None else distinct_rows
        #: per table, its step count t and moments m, v (made at its first update)
        self.state: dict[torch.Tensor, dict] = {}
        #: per table, the buffer the step's gradients are summed in without unique rows (zeros between steps)
        self.sums = {} if self.distinct_rows else {id(t): torch.zeros_like(t) for t in self.tables}

    def state_dict(self) -> dict:
        """``torch.optim.Optimizer.state_dict``'s layout: each table's state under its position, one group."""
        position = {id(table): i for i, table in enumerate(self.tables)}
        return {"state": {position[id(table)]: dict(state) for table, state in self.state.items()},
                "param_groups": [{"lr": self.lr, "betas": self.betas, "eps": self.eps,
                                  "params": list(range(len(self.tables)))}]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take up :meth:`state_dict`'s state, the moments moved to their tables' device."""
        (group,) = state_dict["param_groups"]
        if len(group["params"]) != len(self.tables):
            raise ValueError(f"the state is of {len(group['params'])} tables, this model has {len(self.tables)}")
        self.state = {}
        for position, state in state_dict["state"].items():
            table = self.tables[position]
            self.state[table] = {key: value.to(table.device, table.dtype) if torch.is_tensor(value) else value
                                 for key, value in state.items()}

    def __call__(self, table: torch.Tensor, rows: torch.Tensor, grads: torch.Tensor, lr: float) -> None:
        (beta1, beta2), eps = self.betas, self.eps
        state = self.state.setdefault(table, {})
        if not state:
            state.update(step=0, exp_avg=torch.zeros_like(table), exp_avg_sq=torch.zeros_like(table))
        state["step"] += 1
        step = state["step"]
        flat = table.view(table.shape[0], -1)
        exp_avg, exp_avg_sq = state["exp_avg"].view_as(flat), state["exp_avg_sq"].view_as(flat)
        rows, grad = self._summed(table, rows, grads)
        m = gather(exp_avg, rows).lerp_(grad, 1 - beta1)
        v = gather(exp_avg_sq, rows).lerp_(grad.square_(), 1 - beta2)
        step_size = lr * (1 - beta2**step) ** 0.5 / (1 - beta1**step)
        exp_avg.index_copy_(0, rows, m)
        exp_avg_sq.index_copy_(0, rows, v)
        flat.index_copy_(0, rows, gather(flat, rows).sub_(m.div_(v.sqrt_().add_(eps)), alpha=step_size))

    def _summed(self, table: torch.Tensor, rows: torch.Tensor, grads: torch.Tensor):
        """(rows, g): each row's summed gradient g_r, once per distinct row or once per use (see the class)."""
        if self.distinct_rows:
            rows, use_to_row = torch.unique(rows, return_inverse=True)
            return rows, grads.new_zeros((rows.shape[0], grads.shape[1])).index_add_(0, use_to_row, grads)
        sums = self.sums[id(table)].view(table.shape[0], -1).index_add_(0, rows, grads)
        grad = gather(sums, rows)
        sums.index_fill_(0, rows, 0.0)
        return rows, grad


def gather(table: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
    """``table[words]`` (rows, any shape of ids) through ``index_select``: on the CPU 4.7x faster than advanced
    indexing for a [4,096, 6] block of 50-wide rows on 2 cores."""
    return table.index_select(0, words.reshape(-1)).view(*words.shape, *table.shape[1:])
