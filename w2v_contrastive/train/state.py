"""The state of a training run and its life cycle: schedule, accounting, snapshots, checkpoints, back-off.

:class:`TrainingState` is the one owner of what a run's future depends on. It holds the counters the
training loop advances (:class:`TrainStats`: words, pairs, steps, seconds, the metrics history; the
learning-rate scale that back-offs leave; the averaging clock of torchrun jobs; the loss summed since
the last metrics record) and refers to the live objects whose state a checkpoint must also hold: the
parameters, the optimizers' moments, the generators and the pair stream's position. It gives the
learning rate of the schedule, captures and restores complete snapshots (:data:`STATE_FORMAT`,
the dict that checkpoint files hold), decides when a checkpoint is due and writes it, and, after a
non-finite loss, stops the run or backs off.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import IO, Sequence

import torch

from ..config import TrainConfig
from ..errors import W2VError
from ..sampling.pairs import PairStream, StreamPosition
from .checkpoint import RESUMABLE_OVERRIDES, STATE_FORMAT, save_state
from .distributed import Distributed

log = logging.getLogger("w2v_contrastive")

#: --nan-policy backoff halves the learning rate at most this many times before giving up
MAX_BACKOFFS = 8
#: with --nan-policy backoff and no checkpoint schedule, the last good state is kept this often
BACKOFF_SNAPSHOT_MINUTES = 1.0


@dataclass
class TrainStats:
    """How a run went: counters while it trains, then its speeds and what it used."""

    seconds: float = 0.0
    words: float = 0.0
    pairs: int = 0
    steps: int = 0
    final_loss: float = float("nan")
    words_per_second: float = 0.0
    pairs_per_second: float = 0.0
    peak_rss_mb: float = 0.0
    peak_gpu_mb: float | None = None
    device: str = "cpu"
    threads: int = 1
    lr: float = 0.0
    #: how the step was chosen (train/setup.py ``default_lr``)
    lr_rule: str = ""
    optimizer: str = "sgd"
    batch_size: int = 0
    #: the training step that ran (train/setup.py STEPS)
    step: str = "autograd"
    #: the order of the pairs it trained on (sampling/pairs.py PAIR_ORDERS)
    pair_order: str = "centre"
    deterministic: bool = False
    #: torchrun jobs: processes, how they kept one model, and the largest difference left between ranks
    ranks: int = 1
    sync: str | None = None
    rank_parameter_spread: float | None = None
    #: learning-rate back-offs after non-finite losses (--nan-policy backoff)
    backoffs: int = 0
    history: list[dict] = field(default_factory=list)


class NonFinite(Exception):
    """The loss or the parameters stopped being finite at ``step``."""

    def __init__(self, step: int, what: str):
        super().__init__(f"step {step}: {what}")
        self.step = step
        self.what = what


@dataclass
class Identity:
    """What a checkpoint must match to be resumed: the settings, and the corpus and vocabulary
    (``corpus``: tokens, lines, vocabulary_sha256, source), plus where the corpus came from (``source``:
    paths, text column, cache folder) to find it again."""

    config: TrainConfig
    corpus: dict
    source: dict | None = None


class TrainingState:
    """The state of one run (see the module docstring). ``optimizers`` (torch's, or the row step's
    :class:`~w2v_contrastive.train.steps.RowAdam`: what has a ``state_dict``) is empty on the fused path,
    which applies its own SGD, and for the row step's SGD; ``checkpoint_path`` None keeps checkpoints in
    memory only (for back-off)."""

    def __init__(self, identity: Identity, lr: float, rank_lr_factor: int, model: torch.nn.Module,
                 optimizers: Sequence, pair_generator: torch.Generator,
                 noise_generator: torch.Generator, pairs: PairStream, device: torch.device,
                 checkpoint_path: str | None = None, distributed: Distributed | None = None):
        self.identity, self.config = identity, identity.config
        self.base_lr, self.rank_lr_factor = lr, rank_lr_factor
        self.model, self.optimizers, self.pairs = model, optimizers, pairs
        self.pair_generator, self.noise_generator = pair_generator, noise_generator
        self.checkpoint_path, self.distributed = checkpoint_path, distributed
        self.stats = TrainStats()
        self.start = StreamPosition()
        self.lr_scale = 1.0
        self.lr_now = lr
        #: steps taken in lockstep with the other ranks (empty ones included): the averaging clock
        self.sync_steps = 0
        #: the learning-rate progress the ranks of a torchrun job last agreed on
        self.agreed_progress = 0.0
        self.loss_sum = torch.zeros((), device=device)
        self.loss_pairs = 0
        #: the first step whose loss was not finite since the last check (-1: none), kept on the device
        self.first_bad_step = torch.full((), -1, dtype=torch.int64, device=device)
        self.metrics: IO[str] | None = None
        self.metrics_bytes = 0
        self.clock = time.perf_counter()  # training seconds are counted from here
        self.last_good: dict | None = None
        self.last_checkpoint_step: int | None = None
        self.last_checkpoint_time = time.perf_counter()

    # -- schedule and accounting -------------------------------------------------------------------

    def learning_rate(self, progress: float) -> float:
        """The learning rate at ``progress`` (0 to 1) of the run: word2vec's linear decay from lr to
        lr x min_lr_ratio, times the back-off scale and the rank factor."""
        self.lr_now = (self.base_lr * self.lr_scale * self.rank_lr_factor
                       * max(self.config.min_lr_ratio, 1.0 - progress))
        return self.lr_now

    def seconds(self) -> float:
        """Training seconds so far (time spent in callbacks excluded)."""
        return time.perf_counter() - self.clock

    def exclude(self, seconds: float) -> None:
        """Do not count ``seconds`` (spent outside training) as training time."""
        self.clock += seconds

    def count_step(self, pairs: int, loss: torch.Tensor) -> None:
        """A step over ``pairs`` pairs with summed loss ``loss`` (a 0-d tensor on the device, not read here)."""
        self.loss_sum += loss
        self.stats.steps += 1
        self.stats.pairs += pairs
        self.loss_pairs += pairs
        bad = ~torch.isfinite(loss) & (self.first_bad_step < 0)
        self.first_bad_step = torch.where(bad, self.stats.steps, self.first_bad_step)

    def take_mean_loss(self) -> float:
        """The mean loss per pair since the last call (after checking every step's loss was finite)."""
        self.check_finite(parameters=False)
        loss = float(self.loss_sum) / max(self.loss_pairs, 1)
        self.stats.final_loss = loss
        self.loss_sum.zero_()
        self.loss_pairs = 0
        return loss

    def record(self, record: dict) -> None:
        """Append a record to the history and to metrics.jsonl."""
        self.stats.history.append(record)
        if self.metrics is not None:
            self.metrics.write(json.dumps(record) + "\n")
            self.metrics.flush()

    def check_finite(self, parameters: bool) -> None:
        """Raise :class:`NonFinite` if a loss since the last check (or, with ``parameters``, a
        parameter) is not finite. (In a torchrun job the ranks agree on the losses every AGREE_EVERY steps.)"""
        first_bad = int(self.first_bad_step) if self.distributed is None else -1
        if first_bad >= 0:
            raise NonFinite(first_bad, "the loss is not finite")
        if parameters and not all(_finite(p) for p in self.model.parameters()):
            raise NonFinite(self.stats.steps, "the model has non-finite parameters")

    # -- snapshots ---------------------------------------------------------------------------------

    def capture(self) -> dict:
        """The complete state as CPU copies: what a checkpoint file holds."""
        if self.metrics is not None:
            self.metrics.flush()
        stats = dataclasses.asdict(self.stats)
        stats["seconds"] = self.seconds()
        return {
            "format": STATE_FORMAT,
            "config": self.config.to_dict(),
            "source": self.identity.source,
            "corpus": self.identity.corpus,
            "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "optimizers": [host_copy(optimizer.state_dict()) for optimizer in self.optimizers],
            "generator_device": self.pair_generator.device.type,
            "pair_rng": self.pair_generator.get_state(),
            "noise_rng": self.noise_generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "position": dataclasses.asdict(self.pairs.position),
            "stats": stats,
            "lr_scale": self.lr_scale,
            "loss_sum": float(self.loss_sum),
            "loss_pairs": self.loss_pairs,
            "metrics_bytes": self.metrics.tell() if self.metrics is not None else 0,
            "sync_steps": self.sync_steps,
            "agreed_progress": self.agreed_progress,
        }

    def restore(self, state: dict) -> None:
        """Continue from a captured state: a checkpoint of this run (same settings and corpus)."""
        if "ranks" in state:  # written by a torchrun job: this rank's part, and the one model
            ranks = len(state["ranks"])
            if ranks != (self.distributed.world_size if self.distributed else 1):
                raise W2VError(f"the checkpoint was written by {ranks} processes; resume it with "
                               f"torchrun --nproc_per_node ... giving {ranks} in all")
            state = {**state, **state["ranks"][self.distributed.rank]}
        self._check_identity(state)
        with torch.no_grad():
            self.model.load_state_dict(state["model"])
        for optimizer, optimizer_state in zip(self.optimizers, state["optimizers"]):
            optimizer.load_state_dict(copy.deepcopy(optimizer_state))
        self.stats = TrainStats(**state["stats"])
        self.start = StreamPosition(**state["position"])
        if state["generator_device"] == self.pair_generator.device.type:
            self.pair_generator.set_state(state["pair_rng"])
            self.noise_generator.set_state(state["noise_rng"])
        else:  # CUDA's and the CPU's generators differ in kind: the draws from here on cannot be the same ones
            log.warning("the checkpoint's random generators ran on %s; on %s the run continues from step %d with "
                        "fresh draws (the same amount of data, not the same pairs and noise words)",
                        state["generator_device"], self.pair_generator.device.type, self.stats.steps)
            for generator in (self.pair_generator, self.noise_generator):
                generator.manual_seed(generator.initial_seed() + self.stats.steps)
            self.start.chunk_rng_state = None
        torch.set_rng_state(state["torch_rng"])
        self.pairs.position = dataclasses.replace(self.start)
        self.clock = time.perf_counter() - self.stats.seconds
        self.lr_scale = state["lr_scale"]
        self.loss_sum.fill_(state["loss_sum"])
        self.loss_pairs = state["loss_pairs"]
        self.first_bad_step.fill_(-1)
        self.metrics_bytes = state["metrics_bytes"]
        self.sync_steps = state["sync_steps"]
        self.agreed_progress = state["agreed_progress"]
        self.last_checkpoint_step = self.stats.steps

    def _check_identity(self, state: dict) -> None:
        mine, theirs = self.config.to_dict(), TrainConfig.from_dict(state["config"]).to_dict()  # (new fields: defaults)
        changed = sorted(k for k in set(mine) | set(theirs)
                         if k not in RESUMABLE_OVERRIDES and mine.get(k) != theirs.get(k))
        if changed:
            raise W2VError(f"the checkpoint was written with other settings ({', '.join(changed)}); "
                           "a run resumes with the settings it started with")
        corpus, ours = state["corpus"], self.identity.corpus
        keys = ("tokens", "lines", "vocabulary_sha256")
        if [corpus[k] for k in keys] != [ours[k] for k in keys]:
            raise W2VError(f"the checkpoint was trained on another corpus ({corpus['source']}: {corpus['tokens']} "
                           f"tokens) than {ours['source']} ({ours['tokens']} tokens)")

    # -- checkpoints -------------------------------------------------------------------------------

    def checkpoint_due(self, now: float) -> bool:
        """Whether the schedule (--checkpoint-every steps, --checkpoint-minutes) asks for one now; with
        --nan-policy backoff and no schedule, a state is kept in memory every minute."""
        config = self.config
        if self.checkpoint_path is None and config.nan_policy != "backoff":
            return False
        minutes = config.checkpoint_minutes
        if minutes is None and config.checkpoint_every is None and config.nan_policy == "backoff":
            minutes = BACKOFF_SNAPSHOT_MINUTES
        steps = self.stats.steps
        if config.checkpoint_every and steps >= (self.last_checkpoint_step or 0) + config.checkpoint_every:
            return True  # (due until taken: a torchrun job takes it at the ranks' next agreement)
        return minutes is not None and now - self.last_checkpoint_time >= 60.0 * minutes

    def checkpoint(self) -> None:
        """Capture the state (after checking it is finite), keep it for back-off, and write it to
        :attr:`checkpoint_path` when there is one. Under torchrun every rank calls this at the same
        step, when the ranks hold one model; rank 0 gathers the ranks' own parts (generators, stream
        positions, optimizer states) and writes one file."""
        self.check_finite(parameters=True)
        state = self.capture()
        if self.config.nan_policy == "backoff":
            self.last_good = state
        if self.distributed:
            parts = self.distributed.gather({k: v for k, v in state.items() if k != "model"})
            state = {**state, "ranks": parts} if self.distributed.is_main else None
        if self.checkpoint_path is not None and state is not None:
            save_state(self.checkpoint_path, state)
        self.last_checkpoint_step = self.stats.steps
        self.last_checkpoint_time = time.perf_counter()

    # -- after a non-finite loss -------------------------------------------------------------------

    def keep_initial_state(self) -> None:
        """With --nan-policy backoff, the state before the first step is the first good one."""
        if self.last_good is None and self.config.nan_policy == "backoff":
            self.last_good = self.capture()

    def back_off(self, event: NonFinite) -> None:
        """``--nan-policy backoff``: reload the last good state with half the learning rate. Otherwise,
        or after :data:`MAX_BACKOFFS`, stop with a one-line error naming the step, head and learning rate."""
        config = self.config
        lr = self.base_lr * self.lr_scale
        if config.nan_policy != "backoff" or self.last_good is None or self.stats.backoffs >= MAX_BACKOFFS:
            kept = (f"; the last good checkpoint (step {self.last_checkpoint_step}) is kept in "
                    f"{os.path.dirname(self.checkpoint_path)}"
                    if self.last_checkpoint_step is not None and self.checkpoint_path is not None else "")
            tried = (f" after {self.stats.backoffs} learning-rate back-offs" if self.stats.backoffs else
                     " (or pass --nan-policy backoff)")
            raise W2VError(f"{event}: training the {config.head} head diverged; the learning rate {lr:g} is probably "
                           f"too high for this head (try --lr {lr / 10:g}){tried}{kept}") from None
        backoffs = self.stats.backoffs + 1
        events = [record for record in self.stats.history if "event" in record]
        self.restore(self.last_good)
        self.stats.history += [record for record in events if record not in self.stats.history]
        self.lr_scale /= 2.0
        self.stats.backoffs = backoffs
        self.last_good = self.capture()
        log.warning("%s (%s head): reloaded the state of step %d and halved the learning rate to %g (back-off %d)",
                    event, config.head, self.stats.steps, self.base_lr * self.lr_scale, backoffs)
        self.record({"event": "nan-backoff", "bad_step": event.step, "cause": event.what,
                     "restored_step": self.stats.steps, "lr": self.base_lr * self.lr_scale, "backoffs": backoffs})


def host_copy(value):
    """A copy of ``value`` (an optimizer's state dict: dicts, lists and tuples of tensors and numbers) with
    every tensor copied to the CPU, so that a snapshot holds no device memory (a kept back-off state would
    double Adam's moments on the GPU, and torchrun's gather would send them to other ranks' GPUs);
    ``load_state_dict`` moves them back to their parameters' device."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: host_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(host_copy(item) for item in value)
    return copy.deepcopy(value)


#: elements per piece of :func:`_finite`: torch.isfinite over a whole table takes about 7 bytes of scratch memory
#: per element (1.35 GB for fastText's 2M n-gram rows of 100 dims), so it runs over pieces of 16 MB
FINITE_CHECK_ELEMENTS = 1 << 22


def _finite(parameter: torch.Tensor) -> bool:
    """Whether every element of ``parameter`` is finite, checked piece by piece."""
    pieces = parameter.detach().reshape(-1).split(FINITE_CHECK_ELEMENTS)
    return all(bool(torch.isfinite(piece).all()) for piece in pieces)
