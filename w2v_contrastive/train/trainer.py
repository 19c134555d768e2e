"""The training loop: pair stream -> scores -> head loss -> sparse SGD (or Adam) updates.

The trainer knows the :class:`~w2v_contrastive.heads.Head` interface and no head by name. Losses
are summed over the batch, so the learning rate is a per-pair step size as in word2vec, and it
decays linearly from ``lr`` to ``lr * min_lr_ratio`` over the run (word2vec's schedule).
On the CPU with SGD, a head that provides a compiled row loss trains in word2vec's fused per-pair
loop instead (:mod:`.fused_sgd`); every other case goes through autograd.

Reliability (docs/reliability.md): checkpoints every N steps or M minutes and on SIGINT/SIGTERM
(:mod:`.checkpoint`), exact resume from one, and a guard that stops the run, or backs off the
learning rate, when the loss or the parameters stop being finite.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import resource
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import IO, Callable

import torch

from ..config import TrainConfig
from ..corpus.cache import EncodedCorpus, words_digest
from ..corpus.vocab import Vocabulary
from ..errors import TrainingInterrupted, W2VError
from ..heads import Head, build_head, score_batch
from ..model import SkipGram
from ..sampling.noise import NoiseDistribution
from ..sampling.pairs import PairBatch, PairStream, StreamPosition, held_out_lines
from .checkpoint import RESUMABLE_OVERRIDES, STATE_FORMAT, StopSignals, save_state
from .distributed import Distributed
from .fused_sgd import FusedSkipGramSGD
from .progress import Progress

log = logging.getLogger("w2v_contrastive")

#: pairs per step on the autograd path when the user sets none
AUTOGRAD_BATCH_SIZE = 4096
#: the noise generator's seed is the run's seed plus this (any fixed offset: distinct from the pair stream's)
NOISE_SEED_OFFSET = 0x9E3779B9
#: heads that score every word against every context of the batch do O(B) work per pair: smaller batches
IN_BATCH_SIZE = 512
#: --nan-policy backoff halves the learning rate at most this many times before giving up
MAX_BACKOFFS = 8
#: with --nan-policy backoff and no checkpoint schedule, the last good state is kept this often
BACKOFF_SNAPSHOT_MINUTES = 1.0
#: rank r of a torchrun job seeds its generators with seed + r * this
RANK_SEED_OFFSET = 1_000_003


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise W2VError("device cuda requested but torch sees no CUDA GPU (use --device cpu or auto)")
    return torch.device(name)


@dataclass
class TrainStats:
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
    optimizer: str = "sgd"
    batch_size: int = 0
    fused_cpu: bool = False
    deterministic: bool = False
    #: torchrun jobs: processes, how they kept one model, and the largest difference left between ranks
    ranks: int = 1
    sync: str | None = None
    rank_parameter_spread: float | None = None
    #: learning-rate back-offs after non-finite losses (--nan-policy backoff)
    backoffs: int = 0
    history: list[dict] = field(default_factory=list)


def process_peak_rss_mb() -> float:
    """Peak resident memory of this process in MB. On Linux, VmHWM: the high-water mark of this process
    image alone (getrusage's ru_maxrss there also carries over the peak of the parent that started
    the process). Elsewhere ru_maxrss: bytes on macOS, kilobytes on the other Unixes."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def build_model(config: TrainConfig, vocab_size: int, head: Head, log_prior: torch.Tensor | None = None) -> SkipGram:
    """The skip-gram model ``config`` asks for, with the head's defaults where it says nothing."""
    bias = config.output_bias if config.output_bias is not None else head.wants_output_bias
    if bias and not head.takes_output_bias:
        raise W2VError(f"the {config.head} head measures distances between vectors; it takes no --output-bias")
    geometry = config.geometry or head.default_geometry
    return SkipGram(vocab_size, config.dim, output_bias=bias, log_prior=log_prior, tied=geometry == "tied",
                    output_init=head.output_init)


class NonFinite(Exception):
    """Raised inside :meth:`Trainer.fit` when the loss or the parameters stop being finite."""

    def __init__(self, step: int, what: str):
        super().__init__(f"step {step}: {what}")
        self.step = step
        self.what = what


class Trainer:
    """Trains a :class:`SkipGram` on an encoded corpus with one head.

    ``checkpoint_path``: where checkpoints go (on schedule, and on SIGINT/SIGTERM); None keeps none
    on disk. :meth:`restore` loads one before :meth:`fit` to resume a run. ``distributed``: this
    process's rank in a torchrun job (:mod:`.distributed`); it then trains on its shard of the lines,
    in lockstep with the other ranks, and only rank 0 writes.
    """

    def __init__(self, config: TrainConfig, corpus: EncodedCorpus, vocab: Vocabulary, checkpoint_path: str | None = None,
                 distributed: Distributed | None = None):
        self.config = config
        self.corpus = corpus
        self.vocab = vocab
        self.checkpoint_path = checkpoint_path
        self.distributed = distributed
        rank, ranks = (distributed.rank, distributed.world_size) if distributed else (0, 1)
        self.device = resolve_device(config.device)
        if distributed:
            self.device = distributed.device(self.device)
        self.threads = config.threads or max(1, (os.cpu_count() or 1) // (distributed.local_world_size if distributed else 1))
        if self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        torch.manual_seed(config.seed)
        # two streams: the pairs (subsampling, windows, shuffling) depend on the seed only, so every head
        # trained with one seed sees the same pairs in the same order; noise draws come from the other
        self.pair_generator = torch.Generator(device=self.device).manual_seed(config.seed + rank * RANK_SEED_OFFSET)
        self.generator = torch.Generator(device=self.device).manual_seed(
            config.seed + NOISE_SEED_OFFSET + rank * RANK_SEED_OFFSET)
        self.head: Head = build_head(config.head, config).to(self.device)
        log_prior = torch.log(torch.tensor(vocab.counts / vocab.total, dtype=torch.float32))
        self.model = build_model(config, len(vocab), self.head, log_prior).to(self.device)
        self.noise = NoiseDistribution(vocab.counts, config.alpha, self.device)
        self.optimizer_name = config.optimizer or self.head.default_optimizer
        self.lr = config.lr if config.lr is not None else self.head.default_lr[self.optimizer_name]
        fused = config.fused_cpu and FusedSkipGramSGD.supports(self.model, self.head, self.device, self.optimizer_name)
        self.sync = None
        if distributed:  # the fused kernel applies updates without gradients, and NCCL sums no sparse ones
            can_sum = distributed.backend == "gloo" and not fused
            self.sync = config.sync if config.sync != "auto" else "gradients" if can_sum else "average"
            if self.sync == "gradients" and distributed.backend != "gloo":
                raise W2VError(f"--sync gradients needs the gloo backend (CPU): {distributed.backend} cannot "
                               "all-reduce the sparse row gradients; use --sync average")
            fused = fused and self.sync == "average"
        self.fused = (FusedSkipGramSGD(self.model, self.head, self.noise, self.threads, serial=config.deterministic)
                      if fused else None)
        # averaging W models divides each rank's update by W: each rank steps W times as far (the
        # linear scaling rule, as local SGD does), so the average moves as far as all their updates
        self.rank_lr_factor = ranks if self.sync == "average" else 1
        self.dense_gradients = self._dense_gradient_names()
        self.optimizers = [] if self.fused else self._optimizers()  # the fused kernel applies its own SGD
        self.batch_size = config.batch_size or (FusedSkipGramSGD.default_batch_size if self.fused else
                                                IN_BATCH_SIZE if self.head.request.in_batch else AUTOGRAD_BATCH_SIZE)
        self.held_out = held_out_lines(corpus.n_lines, config.holdout) if config.holdout else None
        self.pairs = PairStream(corpus, len(vocab), vocab.keep_probabilities(config.sample), config.window,
                                self.batch_size, self.device, self.pair_generator, config.chunk_tokens, self.held_out,
                                (rank, ranks))
        self.stats = TrainStats(device=str(self.device), threads=self.threads)
        self.start = StreamPosition()
        self.lr_scale = 1.0
        self.loss_sum = torch.zeros((), device=self.device)
        self.loss_pairs = 0
        #: the first step whose loss was not finite since the last check (-1: none), kept on the device
        self.first_bad_step = torch.full((), -1, dtype=torch.int64, device=self.device)
        self.metrics_bytes = 0
        self.metrics: IO[str] | None = None
        #: where the corpus came from (paths, text column, cache folder), recorded in checkpoints for resume
        self.source: dict | None = None
        self.started = time.perf_counter()
        self.lr_now = self.lr
        self.last_good: dict | None = None
        self.last_checkpoint_step: int | None = None
        #: steps taken in lockstep with the other ranks (empty ones included): the averaging clock
        self.sync_steps = 0

    def _dense_gradient_names(self) -> set[str]:
        """The parameters whose gradients are dense: the full-vocabulary softmax reads the whole context
        table (and bias); every other gradient holds only the rows a batch used."""
        if not self.head.request.full_vocabulary:
            return set()
        prefixes = ("output.", "bias.") + (("input.",) if self.model.tied else ())
        return {name for name, _ in self.model.named_parameters() if name.startswith(prefixes)}

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        """SGD takes sparse and dense gradients alike; Adam needs SparseAdam for the sparse ones."""
        if self.optimizer_name == "sgd":
            return [torch.optim.SGD(self.model.parameters(), lr=self.lr)]
        dense_names = self._dense_gradient_names()
        sparse = [p for n, p in self.model.named_parameters() if n not in dense_names]
        dense = [p for p in self.model.parameters() if all(p is not s for s in sparse)]
        optimizers: list[torch.optim.Optimizer] = [torch.optim.SparseAdam(sparse, lr=self.lr)]
        if dense:
            optimizers.append(torch.optim.Adam(dense, lr=self.lr))
        return optimizers

    def _set_lr(self, progress: float) -> float:
        lr = self.lr * self.lr_scale * self.rank_lr_factor * max(self.config.min_lr_ratio, 1.0 - progress)
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr
        return lr

    def _step(self, batch: PairBatch | None, lr: float, autocast) -> torch.Tensor | None:
        """One update on a batch; the batch's summed loss as a 0-d tensor on the device. ``None``: an
        empty step of a rank whose shard is used up, which still takes part in the gradient sum."""
        if self.fused is not None:
            return torch.tensor(self.fused.step(batch.centers, batch.contexts, lr, self.generator))
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss = None
        if batch is not None:
            with autocast:
                scores = score_batch(self.model, self.noise, self.head.request, batch.centers, batch.contexts,
                                     self.generator, self.config.softmax_chunk)
                loss = self.head(scores).sum()
            loss.backward()
        if self.sync == "gradients":
            self.distributed.sum_gradients(self.model, self.dense_gradients)
        for optimizer in self.optimizers:
            optimizer.step()
        return None if loss is None else loss.detach()

    # -- the training loop -------------------------------------------------------------------------

    def fit(self, metrics: IO[str] | None = None, on_log: Callable[[dict, "Trainer"], None] | None = None) -> TrainStats:
        """Run all epochs (or until ``max_words`` corpus tokens or ``max_seconds``), from the start or
        from the state :meth:`restore` loaded; write metrics lines to ``metrics``. ``on_log(record,
        trainer)`` is called after each periodic metrics record (e.g. to evaluate the vectors as they
        train); the time it takes is not counted as training time."""
        config = self.config
        ranks = self.distributed.world_size if self.distributed else 1
        self.metrics = metrics
        self.on_log = on_log
        total_words = float(self.pairs.tokens) * config.epochs  # this rank's share
        # (at least one word: a rank whose shard is empty, in a corpus of fewer lines than ranks, divides by it)
        self.budget = max(1.0, min(total_words, float(config.max_words) / ranks) if config.max_words else total_words)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        main = self.distributed is None or self.distributed.is_main
        self.bar = Progress(int(self.budget * ranks), int(self.stats.words * ranks), config.head,
                            enabled=config.progress and main)
        deterministic_before = (torch.are_deterministic_algorithms_enabled(),
                                torch.is_deterministic_algorithms_warn_only_enabled())
        if config.deterministic:  # (the first call imports torch's compiler: 2 s, so only when asked)
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.started = time.perf_counter() - self.stats.seconds
        self.lr_now = self._set_lr(self.stats.words / self.budget)
        self.last_log = self.last_checkpoint_time = time.perf_counter()
        try:
            if self.last_good is None and config.nan_policy == "backoff":
                self.last_good = self._capture()  # the initial state is the first good one
            with StopSignals().active() as signals:
                while True:
                    try:
                        self._train(signals)
                        self._synchronise_parameters()
                        self._check_finite(parameters=True)
                        break
                    except NonFinite as event:
                        self._back_off(event)
        finally:
            if config.deterministic:
                torch.use_deterministic_algorithms(deterministic_before[0], warn_only=deterministic_before[1])
            self.bar.close()
        if self.loss_pairs:
            self._log(time.perf_counter() - self.started)
        stats = self.stats  # a back-off replaces it with the restored one
        stats.seconds = time.perf_counter() - self.started
        if self.distributed:  # the job's totals, and proof that the ranks hold one model
            stats.words, stats.pairs = self.distributed.sum(stats.words), int(self.distributed.sum(stats.pairs))
            stats.ranks, stats.sync = ranks, self.sync
            stats.rank_parameter_spread = self.distributed.spread(self.model)
        stats.words_per_second = stats.words / max(stats.seconds, 1e-9)
        stats.pairs_per_second = stats.pairs / max(stats.seconds, 1e-9)
        stats.peak_rss_mb = process_peak_rss_mb()
        if self.device.type == "cuda":
            stats.peak_gpu_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
        stats.lr = self.lr
        stats.optimizer = self.optimizer_name
        stats.batch_size = self.batch_size
        stats.fused_cpu = self.fused is not None
        stats.deterministic = config.deterministic
        return stats

    def _synchronise_parameters(self) -> None:
        """--sync average: average the ranks' parameters (at each period, before a checkpoint, at the end)."""
        if self.sync == "average":
            self.distributed.average_parameters(self.model)

    def _train(self, signals: StopSignals) -> None:
        """Train from :attr:`start` to the end of the budget; raise :class:`NonFinite` when a check fails."""
        config, stats = self.config, self.stats
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda" else nullcontext()
        batches = self.pairs.batches(config.epochs, self.start)
        while True:
            progress = stats.words / self.budget
            if config.max_seconds:
                progress = max(progress, (time.perf_counter() - self.started) / config.max_seconds)
            batch = next(batches, None) if progress < 1.0 else None
            now = time.perf_counter()
            flags = {"has_batch": batch is not None, "signal": signals.received is not None,
                     "log": now - self.last_log >= config.log_every_seconds, "checkpoint": self._checkpoint_due(now)}
            if self.distributed:  # lockstep: every rank takes the same branches below
                flags["non_finite"] = self.first_bad_step >= 0  # (alone, it is read only at logs and checkpoints)
                flags, progress = self.distributed.agree(flags, progress)
                if flags["non_finite"]:
                    raise NonFinite(max(int(self.first_bad_step), stats.steps), "the loss is not finite on a rank")
            if not flags["has_batch"]:
                break
            n = 0 if batch is None else batch.centers.shape[0]
            if batch is not None:
                stats.words += batch.tokens
            if n or self.sync == "gradients":
                self.lr_now = self._set_lr(progress)
                loss = self._step(batch if n else None, self.lr_now, autocast)
                if n:
                    self.loss_sum += loss
                    stats.steps += 1
                    stats.pairs += n
                    self.loss_pairs += n
                    bad = ~torch.isfinite(loss) & (self.first_bad_step < 0)
                    self.first_bad_step = torch.where(bad, stats.steps, self.first_bad_step)
            self.sync_steps += 1
            if self.sync == "average" and self.sync_steps % config.average_every == 0:
                self._synchronise_parameters()
            if flags["log"]:
                self._log(now - self.started)
                if self.on_log is not None:
                    self.on_log(stats.history[-1], self)
                    self.started += time.perf_counter() - now
                self.last_log = time.perf_counter()
            if flags["signal"]:
                self._interrupt(signals.received or signal.SIGTERM)
            if flags["checkpoint"]:
                self.checkpoint()
            self.bar.update(int(stats.words * self.bar.total / self.budget))

    def _log(self, elapsed: float) -> None:
        """Append one metrics record (mean loss since the last one); check the losses were finite."""
        stats = self.stats
        self._check_finite(parameters=False)
        loss = float(self.loss_sum) / max(self.loss_pairs, 1)
        stats.final_loss = loss
        record = {"step": stats.steps, "epoch": self.pairs.position.epoch, "words": int(stats.words),
                  "pairs": stats.pairs, "loss": round(loss, 6), "lr": self.lr_now, "seconds": round(elapsed, 3),
                  "words_per_second": round(stats.words / max(elapsed, 1e-9), 1)}
        self._record(record)
        self.loss_sum.zero_()
        self.loss_pairs = 0
        self.bar.set_status(loss, self.lr_now, record["words_per_second"])

    def _record(self, record: dict) -> None:
        self.stats.history.append(record)
        if self.metrics is not None:
            self.metrics.write(json.dumps(record) + "\n")
            self.metrics.flush()

    # -- non-finite guard --------------------------------------------------------------------------

    def _check_finite(self, parameters: bool) -> None:
        """Raise :class:`NonFinite` if a loss since the last check (or, with ``parameters``, a
        parameter) is not finite."""
        first_bad = int(self.first_bad_step) if self.distributed is None else -1  # ranks agree on it in _train
        if first_bad >= 0:
            raise NonFinite(first_bad, "the loss is not finite")
        if parameters and not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise NonFinite(self.stats.steps, "the model has non-finite parameters")

    def _back_off(self, event: NonFinite) -> None:
        """``--nan-policy backoff``: reload the last good state with half the learning rate; else stop."""
        config = self.config
        lr = self.lr * self.lr_scale
        if config.nan_policy != "backoff" or self.last_good is None or self.stats.backoffs >= MAX_BACKOFFS:
            kept = (f"; the last good checkpoint (step {self.last_checkpoint_step}) is kept in "
                    f"{os.path.dirname(self.checkpoint_path)}" if self.last_checkpoint_step is not None else "")
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
        self.last_good = self._capture()
        log.warning("%s (%s head): reloaded the state of step %d and halved the learning rate to %g (back-off %d)",
                    event, config.head, self.stats.steps, self.lr * self.lr_scale, backoffs)
        self._record({"event": "nan-backoff", "bad_step": event.step, "cause": event.what,
                      "restored_step": self.stats.steps, "lr": self.lr * self.lr_scale, "backoffs": backoffs})

    # -- checkpoints -------------------------------------------------------------------------------

    def _checkpoint_due(self, now: float) -> bool:
        config = self.config
        if self.checkpoint_path is None and config.nan_policy != "backoff":
            return False
        minutes = config.checkpoint_minutes
        if minutes is None and config.checkpoint_every is None and config.nan_policy == "backoff":
            minutes = BACKOFF_SNAPSHOT_MINUTES
        steps = self.stats.steps
        if (config.checkpoint_every and steps and steps % config.checkpoint_every == 0
                and steps != self.last_checkpoint_step):
            return True
        return minutes is not None and now - self.last_checkpoint_time >= 60.0 * minutes

    def checkpoint(self) -> None:
        """Capture the state (after checking it is finite), keep it for back-off, write it to
        :attr:`checkpoint_path` when there is one. Under torchrun every rank calls this at the same
        step; rank 0 gathers the ranks' own parts (generators, stream positions, optimizer states)
        and writes one file."""
        self._synchronise_parameters()
        self._check_finite(parameters=True)
        state = self._capture()
        if self.config.nan_policy == "backoff":
            self.last_good = state
        if self.distributed:
            parts = self.distributed.gather({k: v for k, v in state.items() if k != "model"})
            state = {**state, "ranks": parts} if self.distributed.is_main else None
        if self.checkpoint_path is not None and state is not None:
            save_state(self.checkpoint_path, state)
        self.last_checkpoint_step = self.stats.steps
        self.last_checkpoint_time = time.perf_counter()

    def _interrupt(self, signal_number: int) -> None:
        name = signal.Signals(signal_number).name
        if self.checkpoint_path is None:
            raise TrainingInterrupted(f"{name} at step {self.stats.steps}; no output folder, so no checkpoint",
                                      signal_number)
        self.checkpoint()
        raise TrainingInterrupted(f"{name} at step {self.stats.steps}: checkpoint written to {self.checkpoint_path}; "
                                  f"continue with: w2v-contrastive train --resume "
                                  f"{os.path.dirname(self.checkpoint_path).removesuffix('.partial')}", signal_number)

    def _capture(self) -> dict:
        """The complete training state (CPU copies)."""
        if self.metrics is not None:
            self.metrics.flush()
        stats = dataclasses.asdict(self.stats)
        stats["seconds"] = time.perf_counter() - self.started
        return {
            "format": STATE_FORMAT,
            "config": self.config.to_dict(),
            "source": self.source,
            "corpus": {"tokens": self.corpus.n_tokens, "lines": self.corpus.n_lines,
                       "vocabulary_sha256": words_digest(self.vocab.words), "source": self.corpus.description},
            "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "optimizers": [copy.deepcopy(optimizer.state_dict()) for optimizer in self.optimizers],
            "pair_rng": self.pair_generator.get_state(),
            "noise_rng": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "position": dataclasses.asdict(self.pairs.position),
            "stats": stats,
            "lr_scale": self.lr_scale,
            "loss_sum": float(self.loss_sum),
            "loss_pairs": self.loss_pairs,
            "metrics_bytes": self.metrics.tell() if self.metrics is not None else 0,
            "sync_steps": self.sync_steps,
        }

    def restore(self, state: dict) -> None:
        """Continue from a captured state (a checkpoint of this run: same settings and corpus)."""
        if "ranks" in state:  # written by a torchrun job: this rank's part, and the one model
            ranks = len(state["ranks"])
            if ranks != (self.distributed.world_size if self.distributed else 1):
                raise W2VError(f"the checkpoint was written by {ranks} processes; resume it with "
                               f"torchrun --nproc_per_node ... giving {ranks} in all")
            state = {**state, **state["ranks"][self.distributed.rank]}
        mine, theirs = self.config.to_dict(), TrainConfig.from_dict(state["config"]).to_dict()  # (new fields: defaults)
        changed = sorted(k for k in set(mine) | set(theirs)
                         if k not in RESUMABLE_OVERRIDES and mine.get(k) != theirs.get(k))
        if changed:
            raise W2VError(f"the checkpoint was written with other settings ({', '.join(changed)}); "
                           "a run resumes with the settings it started with")
        corpus = state["corpus"]
        if (corpus["tokens"], corpus["lines"], corpus["vocabulary_sha256"]) != (
                self.corpus.n_tokens, self.corpus.n_lines, words_digest(self.vocab.words)):
            raise W2VError(f"the checkpoint was trained on another corpus ({corpus['source']}: {corpus['tokens']} "
                           f"tokens) than {self.corpus.description} ({self.corpus.n_tokens} tokens)")
        with torch.no_grad():
            self.model.load_state_dict(state["model"])
        for optimizer, optimizer_state in zip(self.optimizers, state["optimizers"]):
            optimizer.load_state_dict(copy.deepcopy(optimizer_state))
        self.pair_generator.set_state(state["pair_rng"])
        self.generator.set_state(state["noise_rng"])
        torch.set_rng_state(state["torch_rng"])
        self.start = StreamPosition(**state["position"])
        self.pairs.position = dataclasses.replace(self.start)
        history = state["stats"]
        self.stats = TrainStats(**history)
        self.started = time.perf_counter() - self.stats.seconds
        self.lr_scale = state["lr_scale"]
        self.loss_sum.fill_(state["loss_sum"])
        self.loss_pairs = state["loss_pairs"]
        self.first_bad_step.fill_(-1)
        self.metrics_bytes = state["metrics_bytes"]
        self.sync_steps = state["sync_steps"]
        self.last_checkpoint_step = self.stats.steps
