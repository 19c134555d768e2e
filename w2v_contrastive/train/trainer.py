"""The training loop: pair stream -> training step -> counters, logs, checkpoints.

The trainer knows the :class:`~w2v_contrastive.heads.Head` interface and no head by name. What a run
does is decided up front by :func:`.setup.plan` (device, optimizer, learning rate, the step: fused
CPU kernel, row step or autograd; batch size, torchrun sync); the step that updates the model is one
of :mod:`.steps`; what the run's future depends on lives in one :class:`.state.TrainingState`. Losses
are summed over the batch, so the learning rate is a per-pair step size as in word2vec, decaying
linearly over the run.

Reliability (docs/reliability.md): checkpoints every N steps or M minutes and on SIGINT/SIGTERM
(:mod:`.checkpoint`), exact resume from one, and a guard that stops the run, or backs off the
learning rate, when the loss or the parameters stop being finite.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time
from typing import IO, Sequence

import torch

from ..config import TrainConfig
from ..corpus.cache import EncodedCorpus, words_digest
from ..corpus.vocab import Vocabulary
from ..errors import TrainingInterrupted
from ..heads import build_head
from ..model import SkipGram
from ..sampling.noise import NoiseDistribution
from ..sampling.pairs import PairStream, held_out_lines
from ..subwords import Subwords
from ..vectors import SubwordVectors, Vectors
from .callbacks import Callback
from .checkpoint import StopSignals
from .distributed import AGREE_EVERY, Distributed
from .fused_sgd import FusedSkipGramSGD
from .gpu_sgd import HogwildSGD
from .progress import Progress
from .setup import (Machine, build_model, build_optimizers, build_row_update, dense_gradient_names, plan,
                    resolve_device, touched_rows, training_words)
from .state import Identity, NonFinite, TrainingState, TrainStats
from .steps import AutogradStep, FusedStep, RowStep, Step

#: the noise generator's seed is the run's seed plus this (any fixed offset: distinct from the pair stream's)
NOISE_SEED_OFFSET = 0x9E3779B9
#: rank r of a torchrun job seeds its generators with seed + r * this
RANK_SEED_OFFSET = 1_000_003


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


class Trainer:
    """Trains a :class:`~w2v_contrastive.model.SkipGram` on an encoded corpus with one head.

    ``checkpoint_path``: where checkpoints go (on schedule, and on SIGINT/SIGTERM); None keeps none
    on disk. ``state.restore(checkpoint)`` before :meth:`fit` resumes a run. ``distributed``: this
    process's rank in a torchrun job (:mod:`.distributed`); it then trains on its shard of the lines,
    in lockstep with the other ranks, and only rank 0 writes. ``source``: where the corpus came from
    (paths, text column, cache folder), recorded in checkpoints to find it again on resume.
    """

    def __init__(self, config: TrainConfig, corpus: EncodedCorpus, vocab: Vocabulary, checkpoint_path: str | None = None,
                 distributed: Distributed | None = None, source: dict | None = None):
        self.config, self.corpus, self.vocab, self.distributed = config, corpus, vocab, distributed
        rank, ranks = (distributed.rank, distributed.world_size) if distributed else (0, 1)
        self.head = build_head(config.head, config)
        device = resolve_device(config.device)
        machine = Machine.current(distributed.device(device) if distributed else device, distributed)
        self.setup = setup = plan(config, self.head, machine, training_words(config, corpus.n_tokens))
        self.device = setup.device
        if self.device.type == "cpu":
            torch.set_num_threads(setup.threads)
        elif self.device.type == "cuda" and self.device.index is not None:
            torch.cuda.set_device(self.device)  # (the current stream, events and caches are then this GPU's)
        torch.manual_seed(config.seed)
        # two streams: the pairs (subsampling, windows, shuffling) depend on the seed only, so every head
        # trained with one seed sees the same pairs in the same order; noise draws come from the other
        pair_generator = torch.Generator(device=self.device).manual_seed(config.seed + rank * RANK_SEED_OFFSET)
        noise_generator = torch.Generator(device=self.device).manual_seed(
            config.seed + NOISE_SEED_OFFSET + rank * RANK_SEED_OFFSET)
        self.head.to(self.device)
        self.head.use_vocabulary(vocab.counts, self.device)
        log_prior = torch.log(torch.tensor(vocab.counts / vocab.total, dtype=torch.float32))
        self.model = build_model(config, vocab.words, self.head, log_prior).to(self.device)
        self.noise = NoiseDistribution(vocab.counts, config.alpha, self.device)
        if setup.step in ("fused", "triton"):
            share_window = config.share_negatives == "window"
            if setup.step == "fused":
                kernel = FusedSkipGramSGD(self.model, self.head, self.noise, setup.threads, config.deterministic,
                                          share_window)
            else:
                bag = 2 * config.window if config.model == "cbow" else 1
                kernel = HogwildSGD(self.model, self.head, self.noise, bag, share_window)
            context_first = self.head.request.tree_paths and config.model == "skipgram"  # (see FusedStep)
            self.step: Step = FusedStep(kernel, noise_generator, context_first)
        elif setup.step == "rows":
            self.step = RowStep(self.model, self.head, self.noise, noise_generator, setup.batch_size,
                                build_row_update(setup, self.model), touched_rows(setup, self.model))
        else:
            dense = dense_gradient_names(self.model, self.head)
            self.step = AutogradStep(self.model, self.head, self.noise, build_optimizers(setup, self.model, dense),
                                     noise_generator, config.softmax_chunk, self.device,
                                     distributed if setup.sync == "gradients" else None, dense)
        self.held_out = held_out_lines(corpus.n_lines, config.holdout) if config.holdout else None
        self.pairs = PairStream(corpus, len(vocab), vocab.keep_probabilities(config.sample), config.window,
                                setup.batch_size, self.device, pair_generator, config.chunk_tokens, self.held_out,
                                (rank, ranks), setup.pair_order, config.model)
        identity = Identity(config, {"tokens": corpus.n_tokens, "lines": corpus.n_lines,
                                     "vocabulary_sha256": words_digest(vocab.words), "source": corpus.description},
                            source)
        self.state = TrainingState(identity, setup.lr, setup.rank_lr_factor, self.model, self.step.optimizers,
                                   pair_generator, noise_generator, self.pairs, self.device, checkpoint_path,
                                   distributed)
        self.main = distributed is None or distributed.is_main
        self.callbacks: list[Callback] = []

    def vectors(self, copy: bool = True) -> Vectors:
        """A copy of the current word vectors (with subwords, and of their n-gram rows; ``copy=False``: those rows
        are the model's own, for vectors taken when training is over)."""
        return trained_vectors(self.model, self.vocab.words, self.config.subword_units(), copy)

    # -- the training loop -------------------------------------------------------------------------

    def fit(self, metrics: IO[str] | None = None, callbacks: Sequence[Callback] = ()) -> TrainStats:
        """Run all epochs (or until ``max_words`` corpus tokens or ``max_seconds``), from the start or
        from the state restored into :attr:`state`; write metrics lines to ``metrics``; call ``callbacks``."""
        config, state = self.config, self.state
        ranks = self.distributed.world_size if self.distributed else 1
        state.metrics, self.callbacks = metrics, list(callbacks)
        total_words = float(self.pairs.tokens) * config.epochs  # this rank's share
        # (at least one word: a rank whose shard is empty, in a corpus of fewer lines than ranks, divides by it)
        self.budget = max(1.0, min(total_words, float(config.max_words) / ranks) if config.max_words else total_words)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self.bar = Progress(int(self.budget * ranks), int(state.stats.words * ranks), config.head,
                            enabled=config.progress and self.main)
        deterministic_before = (torch.are_deterministic_algorithms_enabled(),
                                torch.is_deterministic_algorithms_warn_only_enabled())
        if config.deterministic:  # (the first call imports torch's compiler: 2 s, so only when asked)
            torch.use_deterministic_algorithms(True, warn_only=True)
        state.clock = time.perf_counter() - state.stats.seconds
        self.last_log = state.last_checkpoint_time = time.perf_counter()
        try:
            state.keep_initial_state()
            with StopSignals().active() as signals:
                while True:
                    try:
                        self._train(signals)
                        self._average()
                        state.check_finite(parameters=True)
                        break
                    except NonFinite as event:
                        state.back_off(event)
        finally:
            if config.deterministic:
                torch.use_deterministic_algorithms(deterministic_before[0], warn_only=deterministic_before[1])
            self.bar.close()
        if state.loss_pairs:
            self._log(time.perf_counter())
        return self._final_stats()

    def _train(self, signals: StopSignals) -> None:
        """Train from the state's stream position to the end of the budget; raise :class:`NonFinite`
        when a check fails. Either way the model's tables hold every update when it ends."""
        try:
            self._steps(signals)
        finally:
            self.step.flush()

    def _steps(self, signals: StopSignals) -> None:
        """:meth:`_train`'s loop: a step per batch, and the logs, checkpoints and stops between them."""
        config, state, sync = self.config, self.state, self.setup.sync
        stats = state.stats
        batches = self.pairs.batches(config.epochs, state.start)
        pending = {"signal": False, "checkpoint": False}
        while True:
            progress = stats.words / self.budget
            if config.max_seconds:
                progress = max(progress, state.seconds() / config.max_seconds)
            batch = next(batches, None) if progress < 1.0 else None
            now = time.perf_counter()
            flags = {"has_batch": batch is not None, "signal": signals.received is not None,
                     "log": now - self.last_log >= config.log_every_seconds, "checkpoint": state.checkpoint_due(now)}
            if self.distributed:  # lockstep: every rank takes the same branches below
                flags, progress = self._agree(flags, progress)
            if not flags["has_batch"]:
                break
            pairs = 0 if batch is None else batch.centers.shape[0]
            if batch is not None:
                stats.words += batch.tokens
            if pairs or sync == "gradients":  # (an empty step still takes part in the gradient sum)
                loss = self.step(batch if pairs else None, state.learning_rate(progress))
                if pairs:
                    state.count_step(pairs, loss)
            state.sync_steps += 1
            # under --sync average the ranks hold one model only right after an average: a checkpoint, and
            # the stop a signal asks for, wait until then, so they add no average an uninterrupted run lacks
            one_model = sync != "average" or state.sync_steps % config.average_every == 0
            if sync == "average" and one_model:
                self._average()
            if flags["log"]:
                self._log(now)
            pending = {key: pending[key] or flags[key] for key in pending}
            if one_model and pending["signal"]:
                self._interrupt(signals.received or signal.SIGTERM)
            if one_model and pending["checkpoint"]:
                self._checkpoint()
                pending["checkpoint"] = False
            self.bar.update(int(stats.words * self.bar.total / self.budget))

    def _agree(self, flags: dict[str, bool], progress: float) -> tuple[dict[str, bool], float]:
        """torchrun: the flags and learning-rate progress all ranks act on. At every AGREE_EVERY-th
        lockstep step, each flag is on if it is on any rank and the progress is the furthest rank's;
        in between, no flag but "has_batch" (a rank out of pairs takes empty steps) and the progress
        of the last agreement."""
        state = self.state
        if state.sync_steps % AGREE_EVERY:
            return {"has_batch": True, "signal": False, "log": False, "checkpoint": False}, state.agreed_progress
        flags["non_finite"] = state.first_bad_step >= 0  # (alone, it is read only at logs and checkpoints)
        flags, state.agreed_progress = self.distributed.agree(flags, progress)
        if flags["non_finite"]:
            raise NonFinite(max(int(state.first_bad_step), state.stats.steps), "the loss is not finite on a rank")
        return flags, state.agreed_progress

    def _average(self) -> None:
        """--sync average: replace each rank's parameters by their mean over the ranks (the row step: the rows
        it changed)."""
        if self.setup.sync == "average":
            self.step.flush()
            self.distributed.average_parameters(self.model, self.step.touched)

    def _log(self, now: float) -> None:
        """Append one metrics record (mean loss since the last one); hand it to the callbacks."""
        state = self.state
        loss, elapsed = state.take_mean_loss(), now - state.clock
        record = {"step": state.stats.steps, "epoch": self.pairs.position.epoch, "words": int(state.stats.words),
                  "pairs": state.stats.pairs, "loss": round(loss, 6), "lr": state.lr_now, "seconds": round(elapsed, 3),
                  "words_per_second": round(state.stats.words / max(elapsed, 1e-9), 1)}
        state.record(record)
        self.bar.set_fields(loss=f"{loss:.4f}", lr=f"{state.lr_now:.5f}")
        self._notify("on_log", record, self.vectors)
        self.last_log = time.perf_counter()

    def _notify(self, hook: str, *args) -> None:
        """Call ``hook`` of every callback (on the process that writes); their time is not training time."""
        if not (self.callbacks and self.main):
            return
        self.step.flush()  # (they may read the vectors)
        started = time.perf_counter()
        for callback in self.callbacks:
            getattr(callback, hook)(*args)
        self.state.exclude(time.perf_counter() - started)

    def _checkpoint(self) -> None:
        self.step.flush()
        self.state.checkpoint()
        self._notify("on_checkpoint", self.state.stats.steps, self.state.checkpoint_path)

    def _interrupt(self, signal_number: int) -> None:
        name, path, steps = signal.Signals(signal_number).name, self.state.checkpoint_path, self.state.stats.steps
        if path is None:
            raise TrainingInterrupted(f"{name} at step {steps}; no output folder, so no checkpoint", signal_number)
        self._checkpoint()
        raise TrainingInterrupted(f"{name} at step {steps}: checkpoint written to {path}; continue with: "
                                  f"w2v-contrastive train --resume {os.path.dirname(path).removesuffix('.partial')}",
                                  signal_number)

    def _final_stats(self) -> TrainStats:
        """The run's statistics: counters (the job's totals under torchrun), speeds, resources, setup."""
        stats, setup = self.state.stats, self.setup
        stats.seconds = self.state.seconds()
        if self.distributed:  # the job's totals, and proof that the ranks hold one model
            stats.words, stats.pairs = self.distributed.sum(stats.words), int(self.distributed.sum(stats.pairs))
            stats.ranks, stats.sync = self.distributed.world_size, setup.sync
            stats.rank_parameter_spread = self.distributed.spread(self.model)
        stats.words_per_second = stats.words / max(stats.seconds, 1e-9)
        stats.pairs_per_second = stats.pairs / max(stats.seconds, 1e-9)
        stats.peak_rss_mb = process_peak_rss_mb()
        if self.device.type == "cuda":
            stats.peak_gpu_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
        stats.device, stats.threads, stats.lr, stats.lr_rule = str(self.device), setup.threads, setup.lr, setup.lr_rule
        stats.optimizer, stats.batch_size, stats.step = setup.optimizer, setup.batch_size, setup.step
        stats.pair_order = setup.pair_order
        stats.deterministic = self.config.deterministic
        return stats


def trained_vectors(model: SkipGram, words: list[str], units: Subwords | None, copy: bool = True) -> Vectors:
    """``model``'s word vectors (fastText's composed ones with subwords ``units``, and the n-gram rows, copied
    unless not ``copy``: on a CPU the rows are then the model's own memory)."""
    composed = model.word_vectors().float().cpu().numpy()
    if units is None:
        return Vectors(words, composed)
    table = model.input.weight.detach().float().cpu().numpy()
    ngrams, word_rows = table[len(words):], table[: len(words)]
    return Vectors(words, composed, SubwordVectors(units, ngrams.copy() if copy else ngrams, word_rows.copy()))
