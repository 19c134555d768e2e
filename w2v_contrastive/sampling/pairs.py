"""The pair stream: (center, context) word pairs built on the training device.

For each chunk of the encoded corpus (whole lines, about ``chunk_tokens`` tokens), as batched
tensor ops: drop out-of-vocabulary tokens, subsample frequent words (a fresh draw each epoch),
draw each kept center's effective window b uniform in 1..window (word2vec's dynamic window), emit
the pairs (w_t, w_{t+j}) with 0 < |j| <= b_t inside one line, put them in a random order, and cut
them into batches. One Python iteration per window offset and per batch; none per token or per pair.

The order (``order``): "centre" (the default, word2vec's own) shuffles the centre tokens and keeps
each token's pairs together, so a batch of B pairs holds about B / 6 centre tokens at window 5 and
what depends on the centre word alone (the softmax's log Z(w)) is computed once for all of them;
"pair" shuffles the pairs themselves. Either way every head trained with one seed gets the same
pairs in the same order.

Every random draw of a chunk comes from the stream's generator, so the stream is a pure function of
its state at the chunk's start: a :class:`StreamPosition` (epoch, chunk, batches consumed, and that
generator state) is all a checkpoint needs to resume the stream exactly where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch

if TYPE_CHECKING:  # (config imports this module's PAIR_ORDERS; the corpus cache imports config)
    from ..corpus.cache import EncodedCorpus


@dataclass
class PairBatch:
    """``centers`` and ``contexts``: int64[B] word ids on the device; ``tokens``: corpus tokens
    (before subsampling) that this batch accounts for, for progress and learning-rate decay."""

    centers: torch.Tensor
    contexts: torch.Tensor
    tokens: float


@dataclass
class StreamPosition:
    """Where the stream stands: ``batches`` batches of chunk ``chunk`` of epoch ``epoch`` consumed,
    that chunk's pairs drawn from the generator state ``chunk_rng_state``."""

    epoch: int = 0
    chunk: int = 0
    batches: int = 0
    chunk_rng_state: torch.Tensor | None = field(default=None, repr=False)


#: "centre": shuffle the centre tokens, each with its pairs together (word2vec's order); "pair": shuffle pairs
PAIR_ORDERS = ("centre", "pair")
#: the held-out documents depend on this fixed seed only, so every run on a corpus holds out the same ones
HOLDOUT_SEED = 20161205


def held_out_lines(n_lines: int, fraction: float) -> np.ndarray:
    """bool[n_lines]: the lines (documents) held out of training, a fixed random ``fraction`` of them."""
    return np.random.default_rng(HOLDOUT_SEED).random(n_lines) < fraction


class PairStream:
    """Yields batches of skip-gram pairs in a random order (:meth:`batches`), keeping its :attr:`position`.
    Lines marked in ``skip_lines`` (bool[n_lines]) give no pairs; with ``shard=(rank, ranks)`` the
    stream covers only that rank's contiguous share of the lines (about equal in tokens)."""

    def __init__(self, corpus: EncodedCorpus, vocab_size: int, keep_probabilities: np.ndarray, window: int,
                 batch_size: int, device: torch.device, generator: torch.Generator, chunk_tokens: int = 1 << 20,
                 skip_lines: np.ndarray | None = None, shard: tuple[int, int] = (0, 1), order: str = "centre"):
        if order not in PAIR_ORDERS:
            raise ValueError(f"pair order must be one of {PAIR_ORDERS}, not {order!r}")
        self.order = order
        self.corpus = corpus
        self.skip_lines = None if skip_lines is None else torch.from_numpy(skip_lines).to(device)
        self.vocab_size = vocab_size
        self.keep = torch.tensor(keep_probabilities, dtype=torch.float32, device=device)
        self.window = window
        self.batch_size = batch_size
        self.device = device
        self.generator = generator
        first_line, end_line = self.shard_lines(corpus.line_starts, *shard)
        self.chunks = self._chunk_bounds(corpus.line_starts, chunk_tokens, first_line, end_line)
        #: corpus tokens in this stream's lines (the whole corpus unless sharded)
        self.tokens = int(corpus.line_starts[end_line] - corpus.line_starts[first_line])
        self.position = StreamPosition()

    @staticmethod
    def shard_lines(line_starts: np.ndarray, rank: int, ranks: int) -> tuple[int, int]:
        """(first line, end line) of shard ``rank`` of ``ranks``: cut where the tokens divide evenly."""
        cuts = np.searchsorted(line_starts, line_starts[-1] * np.arange(ranks + 1) / ranks, side="left")
        cuts[-1] = len(line_starts) - 1
        return int(cuts[rank]), int(cuts[rank + 1])

    @staticmethod
    def _chunk_bounds(line_starts: np.ndarray, chunk_tokens: int, line: int, n_lines: int) -> list[tuple[int, int]]:
        """(first line, end line) ranges of about ``chunk_tokens`` tokens each, over lines [line, n_lines)."""
        bounds = []
        while line < n_lines:
            end = int(np.searchsorted(line_starts, line_starts[line] + chunk_tokens, side="left"))
            end = min(max(end, line + 1), n_lines)
            bounds.append((line, end))
            line = end
        return bounds

    def chunk_pairs(self, first_line: int, end_line: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """All (center, context) pairs of lines [first_line, end_line), grouped by window offset (int64[P]
        each), and each pair's centre token: its position among the chunk's kept tokens (int64[P])."""
        starts = self.corpus.line_starts[first_line : end_line + 1]
        ids = torch.from_numpy(self.corpus.read(int(starts[0]), int(starts[-1])).astype(np.int64)).to(self.device)
        lengths = torch.from_numpy(np.diff(starts)).to(self.device)
        line = torch.repeat_interleave(torch.arange(len(lengths), device=self.device), lengths)
        known = ids < self.vocab_size
        if self.skip_lines is not None:
            known &= ~self.skip_lines[line + first_line]
        ids, line = ids[known], line[known]
        kept = torch.rand(ids.shape, device=self.device, generator=self.generator) < self.keep[ids]
        ids, line = ids[kept], line[kept]
        reach = torch.randint(1, self.window + 1, ids.shape, device=self.device, generator=self.generator)
        position = torch.arange(ids.shape[0], device=self.device)
        centers, contexts, positions = [], [], []
        for offset in range(1, self.window + 1):
            same_line = line[:-offset] == line[offset:]
            left, right = ids[:-offset], ids[offset:]
            forward = same_line & (reach[:-offset] >= offset)
            backward = same_line & (reach[offset:] >= offset)
            centers += [left[forward], right[backward]]
            contexts += [right[forward], left[backward]]
            positions += [position[:-offset][forward], position[offset:][backward]]
        return torch.cat(centers), torch.cat(contexts), torch.cat(positions)

    def batches(self, epochs: int, start: StreamPosition | None = None) -> Iterator[PairBatch]:
        """The batches of epochs ``start.epoch`` to ``epochs - 1``, from ``start`` (default: the
        beginning). When a batch is yielded, :attr:`position` already counts it as consumed."""
        start = start or StreamPosition()
        for epoch in range(start.epoch, epochs):
            resuming = epoch == start.epoch and start.chunk_rng_state is not None
            for chunk in range(start.chunk if resuming else 0, len(self.chunks)):
                skip = 0
                if resuming and chunk == start.chunk:
                    self.generator.set_state(start.chunk_rng_state)
                    skip = start.batches
                self.position = StreamPosition(epoch, chunk, 0, self.generator.get_state())
                for index, batch in enumerate(self._chunk_batches(*self.chunks[chunk])):
                    self.position.batches = index + 1
                    if index >= skip:
                        yield batch

    def _chunk_batches(self, first_line: int, end_line: int) -> Iterator[PairBatch]:
        """One chunk's pairs in their random order (:attr:`order`), cut into batches (a chunk without
        pairs gives one empty batch, which still accounts for the chunk's tokens)."""
        raw_tokens = float(self.corpus.line_starts[end_line] - self.corpus.line_starts[first_line])
        centers, contexts, positions = self.chunk_pairs(first_line, end_line)
        n_pairs = centers.shape[0]
        if n_pairs == 0:
            yield PairBatch(centers, contexts, raw_tokens)
            return
        if self.order == "centre":  # a random rank per centre token; a stable sort keeps a token's pairs together
            rank = torch.randperm(int(positions.max()) + 1, device=self.device, generator=self.generator)
            order = torch.sort(rank[positions], stable=True).indices
        else:
            order = torch.randperm(n_pairs, device=self.device, generator=self.generator)
        centers, contexts = centers[order], contexts[order]
        for start in range(0, n_pairs, self.batch_size):
            stop = min(start + self.batch_size, n_pairs)
            yield PairBatch(centers[start:stop], contexts[start:stop], raw_tokens * (stop - start) / n_pairs)
