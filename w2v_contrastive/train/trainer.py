"""The training loop: pair stream -> scores -> head loss -> sparse SGD (or Adam) updates.

The trainer knows the :class:`~w2v_contrastive.heads.Head` interface and no head by name. Losses
are summed over the batch, so the learning rate is a per-pair step size as in word2vec, and it
decays linearly from ``lr`` to ``lr * min_lr_ratio`` over the run (word2vec's schedule).
On the CPU with SGD, a head that provides a compiled row loss trains in word2vec's fused per-pair
loop instead (:mod:`.fused_sgd`); every other case goes through autograd.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import IO, Callable

import torch
from tqdm.auto import tqdm

from ..config import TrainConfig
from ..corpus.cache import EncodedCorpus
from ..corpus.vocab import Vocabulary
from ..errors import W2VError
from ..heads import Head, build_head, score_batch
from ..model import SkipGram
from ..sampling.noise import NoiseDistribution
from ..sampling.pairs import PairStream, held_out_lines
from .fused_sgd import FusedSkipGramSGD

log = logging.getLogger("w2v_contrastive")

#: pairs per step on the autograd path when the user sets none
AUTOGRAD_BATCH_SIZE = 4096
#: the noise generator's seed is the run's seed plus this (any fixed offset: distinct from the pair stream's)
NOISE_SEED_OFFSET = 0x9E3779B9
#: heads that score every word against every context of the batch do O(B) work per pair: smaller batches
IN_BATCH_SIZE = 512


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
    history: list[dict] = field(default_factory=list)


def build_model(config: TrainConfig, vocab_size: int, head: Head, log_prior: torch.Tensor | None = None) -> SkipGram:
    """The skip-gram model ``config`` asks for, with the head's defaults where it says nothing."""
    bias = config.output_bias if config.output_bias is not None else head.wants_output_bias
    if bias and not head.takes_output_bias:
        raise W2VError(f"the {config.head} head measures distances between vectors; it takes no --output-bias")
    geometry = config.geometry or head.default_geometry
    return SkipGram(vocab_size, config.dim, output_bias=bias, log_prior=log_prior, tied=geometry == "tied",
                    output_init=head.output_init)


class Trainer:
    """Trains a :class:`SkipGram` on an encoded corpus with one head."""

    def __init__(self, config: TrainConfig, corpus: EncodedCorpus, vocab: Vocabulary):
        self.config = config
        self.corpus = corpus
        self.vocab = vocab
        self.device = resolve_device(config.device)
        self.threads = config.threads or os.cpu_count() or 1
        if self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        torch.manual_seed(config.seed)
        # two streams: the pairs (subsampling, windows, shuffling) depend on the seed only, so every head
        # trained with one seed sees the same pairs in the same order; noise draws come from the other
        self.pair_generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed + NOISE_SEED_OFFSET)
        self.head: Head = build_head(config.head, config).to(self.device)
        log_prior = torch.log(torch.tensor(vocab.counts / vocab.total, dtype=torch.float32))
        self.model = build_model(config, len(vocab), self.head, log_prior).to(self.device)
        self.noise = NoiseDistribution(vocab.counts, config.alpha, self.device)
        self.optimizer_name = config.optimizer or self.head.default_optimizer
        self.lr = config.lr if config.lr is not None else self.head.default_lr[self.optimizer_name]
        self.fused = (FusedSkipGramSGD(self.model, self.head, self.noise, self.threads)
                      if config.fused_cpu and FusedSkipGramSGD.supports(self.model, self.head, self.device,
                                                                         self.optimizer_name) else None)
        self.optimizers = [] if self.fused else self._optimizers()  # the fused kernel applies its own SGD
        self.batch_size = config.batch_size or (FusedSkipGramSGD.default_batch_size if self.fused else
                                                IN_BATCH_SIZE if self.head.request.in_batch else AUTOGRAD_BATCH_SIZE)
        self.held_out = held_out_lines(corpus.n_lines, config.holdout) if config.holdout else None
        self.pairs = PairStream(corpus, len(vocab), vocab.keep_probabilities(config.sample), config.window,
                                self.batch_size, self.device, self.pair_generator, config.chunk_tokens, self.held_out)

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        """SGD takes sparse and dense gradients alike; Adam needs SparseAdam for the sparse ones."""
        if self.optimizer_name == "sgd":
            return [torch.optim.SGD(self.model.parameters(), lr=self.lr)]
        # the full-vocabulary softmax reads the whole context table (and bias), so their gradients are dense
        dense_prefixes = (("output.", "bias.") + (("input.",) if self.model.tied else ())
                          if self.head.request.full_vocabulary else ())
        sparse = [p for n, p in self.model.named_parameters() if not n.startswith(dense_prefixes)]
        dense = [p for p in self.model.parameters() if all(p is not s for s in sparse)]
        optimizers: list[torch.optim.Optimizer] = [torch.optim.SparseAdam(sparse, lr=self.lr)]
        if dense:
            optimizers.append(torch.optim.Adam(dense, lr=self.lr))
        return optimizers

    def _set_lr(self, progress: float) -> float:
        lr = self.lr * max(self.config.min_lr_ratio, 1.0 - progress)
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr
        return lr

    def _update(self, loss: torch.Tensor) -> None:
        """One autograd SGD (or Adam) step on the summed loss of a batch."""
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in self.optimizers:
            optimizer.step()

    def fit(self, metrics: IO[str] | None = None, on_log: Callable[[dict, "Trainer"], None] | None = None) -> TrainStats:
        """Run all epochs (or until ``max_words`` corpus tokens or ``max_seconds``); write metrics lines to
        ``metrics``. ``on_log(record, trainer)`` is called after each periodic metrics record (e.g. to
        evaluate the vectors as they train); the time it takes is not counted as training time."""
        config = self.config
        total_words = float(self.corpus.n_tokens) * config.epochs
        budget = min(total_words, float(config.max_words)) if config.max_words else total_words
        autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda" else nullcontext())
        stats = TrainStats(device=str(self.device), threads=self.threads)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        bar = tqdm(total=int(budget), unit="w", unit_scale=True, disable=not config.progress, dynamic_ncols=True,
                   desc=f"{config.head}")
        loss_sum = torch.zeros((), device=self.device)
        loss_pairs = 0
        last_log = started = time.perf_counter()
        lr = self._set_lr(0.0)
        done = False
        for epoch in range(config.epochs):
            for batch in self.pairs.epoch():
                progress = stats.words / budget
                if config.max_seconds:
                    progress = max(progress, (time.perf_counter() - started) / config.max_seconds)
                if progress >= 1.0:
                    done = True
                    break
                stats.words += batch.tokens
                n = batch.centers.shape[0]
                if n == 0:
                    continue
                lr = self._set_lr(progress)
                if self.fused is not None:
                    loss_sum += self.fused.step(batch.centers, batch.contexts, lr, self.generator)
                else:
                    with autocast:
                        scores = score_batch(self.model, self.noise, self.head.request, batch.centers,
                                             batch.contexts, self.generator, config.softmax_chunk)
                        loss = self.head(scores).sum()
                    self._update(loss)
                    loss_sum += loss.detach()
                loss_pairs += n
                stats.pairs += n
                stats.steps += 1
                now = time.perf_counter()
                if now - last_log >= config.log_every_seconds:
                    self._log(stats, epoch, loss_sum, loss_pairs, lr, now - started, metrics, bar)
                    loss_sum.zero_()
                    loss_pairs = 0
                    if on_log is not None:
                        on_log(stats.history[-1], self)
                        started += time.perf_counter() - now
                    last_log = time.perf_counter()
                bar.update(int(stats.words) - bar.n)
            if done:
                break
        if loss_pairs:
            self._log(stats, epoch, loss_sum, loss_pairs, lr, time.perf_counter() - started, metrics, bar)
        bar.update(int(stats.words) - bar.n)
        bar.close()
        stats.seconds = time.perf_counter() - started
        stats.words_per_second = stats.words / max(stats.seconds, 1e-9)
        stats.pairs_per_second = stats.pairs / max(stats.seconds, 1e-9)
        stats.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if self.device.type == "cuda":
            stats.peak_gpu_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
        stats.lr = self.lr
        stats.optimizer = self.optimizer_name
        stats.batch_size = self.batch_size
        stats.fused_cpu = self.fused is not None
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise W2VError(f"training diverged: the {self.config.head} model has non-finite parameters; "
                           f"lower the learning rate (now {self.lr:g})")
        return stats

    def _log(self, stats: TrainStats, epoch: int, loss_sum: torch.Tensor, pairs: int, lr: float, elapsed: float,
             metrics: IO[str] | None, bar) -> None:
        loss = float(loss_sum) / max(pairs, 1)
        if not math.isfinite(loss):
            raise W2VError(f"step {stats.steps}: the {self.config.head} loss is not finite ({loss}); the learning rate "
                           f"{self.lr:g} is probably too high for this head (try --lr {self.lr / 10:g})")
        stats.final_loss = loss
        record = {"step": stats.steps, "epoch": epoch, "words": int(stats.words), "pairs": stats.pairs,
                  "loss": round(loss, 6), "lr": lr, "seconds": round(elapsed, 3),
                  "words_per_second": round(stats.words / max(elapsed, 1e-9), 1)}
        stats.history.append(record)
        if metrics is not None:
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
        bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.5f}", wps=f"{record['words_per_second'] / 1000:.0f}k", refresh=False)
