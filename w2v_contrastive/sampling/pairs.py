"""The pair stream: (center, context) word pairs built on the training device, without host syncs.
For CBOW, the same draws give one example per centre token: the centre word and its whole window.

For each chunk of the encoded corpus (whole lines, about ``chunk_tokens`` tokens), as batched
tensor ops: drop out-of-vocabulary tokens, subsample frequent words (a fresh draw each epoch),
draw each kept center's effective window b uniform in 1..window (word2vec's dynamic window), emit
the pairs (w_t, w_{t+j}) with 0 < |j| <= b_t inside one line, put them in a random order, and cut
them into batches. One Python iteration per window offset and per batch; none per token or per pair.

Every shape is fixed by the chunk's token count, which the host knows: the kept tokens are compacted
with ``nonzero_static`` into an n-slot buffer (padding after them), each of the n slots proposes its
2 x window candidate pairs ([n, 2 window], valid or not), and the valid ones are compacted in their
random order. So on a GPU nothing waits for the device until the pair count is needed to cut the
chunk into batches, and that count is copied to pinned host memory while the previous chunk trains:
the stream prepares chunk k + 1 before it hands out the first batch of chunk k. (On a CPU the
compactions return exact sizes, as the host has every value at no cost.)

The order (``order``; the trainer resolves ``--pair-order auto``, train/setup.py ``pair_order``): "centre" (the
default but for CBOW on the fused CPU kernel) shuffles the centre tokens and keeps
each token's pairs together, so a batch of B pairs holds about B / 6 centre tokens at window 5 and
what depends on the centre word alone (the softmax's log Z(w)) is computed once for all of them;
"pair" shuffles the pairs themselves; "text" shuffles nothing: the centre tokens come in corpus order, each with
its pairs together, word2vec's and gensim's own order (neighbouring examples share rows, so the fused CPU kernel
finds them in cache: a CBOW run on gutenberg-mid trained in 7.2-7.5 s instead of 8.7-8.9, at the same quality;
but a batched step, the row step or autograd, sums the gradients of neighbouring, correlated examples, and trained
CBOW to a lower MEN on gutenberg-small: 0.17 against 0.20-0.21): the default for CBOW on the fused kernel only.
Whichever the order, every head trained with one seed in one order gets the same pairs in the same order on one
device.

With ``model="cbow"`` an example is a kept centre token with at least one context: its word and the
[2 window] ids of its window's contexts (-1 where an offset is outside its dynamic window, its line
or the kept tokens), centre tokens in a random order (in corpus order with ``order="text"``); the subsampling and
the windows are drawn exactly as for skip-gram, so one seed gives both models the same windows.

Every random draw of a chunk comes from the stream's generator, in chunk order, so the stream is a
pure function of the generator's state at the chunk's start: a :class:`StreamPosition` (epoch,
chunk, batches consumed, and that generator state) is all a checkpoint needs to resume the stream
exactly where it stopped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch

from ..model import MODELS

if TYPE_CHECKING:  # (config imports this module's PAIR_ORDERS; the corpus cache imports config)
    from ..corpus.cache import EncodedCorpus


@dataclass
class PairBatch:
    """``centers``: int64[B] word ids on the device; ``contexts``: int64[B] (skip-gram: one context word
    per example) or int64[B, 2 window] (CBOW: the window, -1 where there is no context); ``tokens``:
    corpus tokens (before subsampling) that this batch accounts for, for progress and learning-rate decay."""

    centers: torch.Tensor
    contexts: torch.Tensor
    tokens: float

    @property
    def inputs(self) -> torch.Tensor:
        """What the model reads: the centre words (skip-gram), or the windows (CBOW)."""
        return self.contexts if self.contexts.dim() > 1 else self.centers

    @property
    def targets(self) -> torch.Tensor:
        """int64[B], the words the head predicts: the context words (skip-gram), or the centre words (CBOW)."""
        return self.centers if self.contexts.dim() > 1 else self.contexts


@dataclass
class StreamPosition:
    """Where the stream stands: ``batches`` batches of chunk ``chunk`` of epoch ``epoch`` consumed,
    that chunk's pairs drawn from the generator state ``chunk_rng_state``."""

    epoch: int = 0
    chunk: int = 0
    batches: int = 0
    chunk_rng_state: torch.Tensor | None = field(default=None, repr=False)


#: "centre": shuffle the centre tokens, each with its pairs together (as word2vec groups them); "pair": shuffle pairs;
#: "text": the centre tokens in corpus order, each with its pairs together (word2vec's order)
PAIR_ORDERS = ("centre", "pair", "text")
#: the held-out documents depend on this fixed seed only, so every run on a corpus holds out the same ones
HOLDOUT_SEED = 20161205


def held_out_lines(n_lines: int, fraction: float) -> np.ndarray:
    """bool[n_lines]: the lines (documents) held out of training, a fixed random ``fraction`` of them."""
    return np.random.default_rng(HOLDOUT_SEED).random(n_lines) < fraction


class HostValue:
    """A device scalar's value for the host. On a GPU it is copied to pinned memory without blocking,
    and :meth:`get` waits for that copy alone (an event, not a stream synchronisation). The copy runs on
    the current stream of the scalar's own device, so the event is recorded there (not on the current
    device's, which is another GPU's unless the process selected the scalar's device)."""

    def __init__(self, value: torch.Tensor):
        self.event = None
        if value.is_cuda:
            self.host = torch.empty((), dtype=value.dtype, pin_memory=True)
            self.host.copy_(value, non_blocking=True)
            self.event = torch.cuda.Event()
            self.event.record(torch.cuda.current_stream(value.device))
        else:
            self.host = value

    def get(self) -> int:
        if self.event is not None:
            self.event.synchronize()
        return int(self.host)


def select(mask: torch.Tensor, fill: int, fixed_size: bool) -> torch.Tensor:
    """Indices of the True entries of ``mask``, in order: int64[N] for a 1-d mask, int64[N, mask.dim()] otherwise.
    With ``fixed_size`` N is the mask's size, the rows past its True entries ``fill``, so the device need not tell
    the host how many there are."""
    found = torch.nonzero_static(mask, size=mask.numel(), fill_value=fill) if fixed_size else mask.nonzero()
    return found.squeeze(1) if mask.dim() == 1 else found


@dataclass
class ChunkPairs:
    """One chunk's pairs (CBOW: centre words and windows) in their random order: the first :attr:`count`
    entries of ``centers`` and ``contexts`` (on a GPU the buffers are longer; the rest is padding).
    ``rng_state``: the stream generator's state before the chunk's draws."""

    epoch: int
    chunk: int
    centers: torch.Tensor
    contexts: torch.Tensor
    pair_count: HostValue
    tokens: float
    rng_state: torch.Tensor

    @property
    def count(self) -> int:
        return self.pair_count.get()


class PairStream:
    """Yields batches of skip-gram pairs in a random order (:meth:`batches`), keeping its :attr:`position`.
    Lines marked in ``skip_lines`` (bool[n_lines]) give no pairs; with ``shard=(rank, ranks)`` the
    stream covers only that rank's contiguous share of the lines (about equal in tokens). On a GPU the
    token ids of those lines are copied to the device once (int32, 4 bytes a token); on a CPU each
    chunk is read from the corpus file when its turn comes."""

    def __init__(self, corpus: EncodedCorpus, vocab_size: int, keep_probabilities: np.ndarray, window: int,
                 batch_size: int, device: torch.device, generator: torch.Generator, chunk_tokens: int = 1 << 20,
                 skip_lines: np.ndarray | None = None, shard: tuple[int, int] = (0, 1), order: str = "centre",
                 model: str = "skipgram"):
        if order not in PAIR_ORDERS:
            raise ValueError(f"pair order must be one of {PAIR_ORDERS}, not {order!r}")
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, not {model!r}")
        self.windows = model == "cbow"
        self.order, self.corpus, self.window, self.batch_size = order, corpus, window, batch_size
        self.device, self.generator = device, generator
        self.skip_lines, self.keep = self._line_and_token_tables(skip_lines, keep_probabilities, vocab_size)
        #: the window offsets j of a centre's candidate contexts, on the host and on the device
        self.offset_values = [*range(-window, 0), *range(1, window + 1)]
        self.offsets = torch.tensor(self.offset_values, dtype=torch.int32, device=device)
        first_line, end_line = self.shard_lines(corpus.line_starts, *shard)
        self.chunks = self._chunk_bounds(corpus.line_starts, chunk_tokens, first_line, end_line)
        self.line_starts = torch.from_numpy(np.asarray(corpus.line_starts, dtype=np.int64)).to(device)
        self.first_token = int(corpus.line_starts[first_line])
        #: corpus tokens in this stream's lines (the whole corpus unless sharded)
        self.tokens = int(corpus.line_starts[end_line]) - self.first_token
        self.resident = self._upload(self.first_token, self.first_token + self.tokens) if device.type != "cpu" else None
        #: fixed-size compactions (no host sync): on a GPU; on a CPU the exact sizes cost nothing
        self.fixed_shapes = device.type != "cpu"
        #: prepare chunk k + 1 before chunk k's batches: on a GPU it overlaps training; on a CPU it would
        #: only hold two chunks in memory at once
        self.prepare_ahead = device.type != "cpu"
        self.position = StreamPosition()

    def _line_and_token_tables(self, skip_lines: np.ndarray | None, keep_probabilities: np.ndarray,
                               vocab_size: int) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(bool[n_lines] lines giving no pairs or None, float32[ids] keep probability by token id) on the
        device; ids outside the vocabulary (rarer than min_count) are never kept."""
        keep = np.zeros(max(len(self.corpus.counts), vocab_size), dtype=np.float32)
        keep[:vocab_size] = keep_probabilities
        skip = None if skip_lines is None else torch.from_numpy(skip_lines).to(self.device)
        return skip, torch.from_numpy(keep).to(self.device)

    def sibling(self, skip_lines: np.ndarray | None, keep_probabilities: np.ndarray,
                generator: torch.Generator) -> "PairStream":
        """A stream over this one's lines, with its window, model, order, chunks and device, that skips
        ``skip_lines`` instead, keeps tokens with ``keep_probabilities`` (by word id) and draws from
        ``generator``. It reads the same token ids: on a GPU this stream's copy, not a second one."""
        other = copy.copy(self)
        other.generator, other.position = generator, StreamPosition()
        other.skip_lines, other.keep = self._line_and_token_tables(skip_lines, keep_probabilities,
                                                                   len(keep_probabilities))
        return other

    def _upload(self, start: int, stop: int, piece: int = 1 << 24) -> torch.Tensor:
        """Token ids [start, stop) on the device, copied a piece at a time (no host copy of it all)."""
        ids = torch.empty(stop - start, dtype=torch.int32, device=self.device)
        for at in range(start, stop, piece):
            ids[at - start : min(at + piece, stop) - start] = torch.from_numpy(self.corpus.read(at, min(at + piece, stop)))
        return ids

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

    def _ids(self, start: int, stop: int) -> torch.Tensor:
        if self.resident is not None:
            return self.resident[start - self.first_token : stop - self.first_token]
        return torch.from_numpy(self.corpus.read(start, stop))

    def chunk_pairs(self, first_line: int, end_line: int, epoch: int = 0, chunk: int = 0) -> ChunkPairs:
        """The pairs of lines [first_line, end_line) in their random order, all drawn on the device."""
        rng_state = self.generator.get_state()
        device, generator, window = self.device, self.generator, self.window
        start, stop = int(self.corpus.line_starts[first_line]), int(self.corpus.line_starts[end_line])
        n = stop - start
        ids = self._ids(start, stop)
        bounds = self.line_starts[first_line : end_line + 1]
        line = torch.repeat_interleave(torch.arange(end_line - first_line, device=device, dtype=torch.int32),
                                       bounds.diff(), output_size=n)  # each token's line, from the chunk's first
        keep = self.keep.index_select(0, ids)  # (index_select: advanced indexing's gathers are several times slower)
        if self.skip_lines is not None:
            keep = keep.masked_fill(self.skip_lines[line + first_line], 0.0)
        kept = torch.rand(n, device=device, generator=generator) < keep
        # the kept tokens, compacted; the slots after them point at a padding token on no line (-1)
        source = select(kept, n, self.fixed_shapes)
        kept_ids = torch.cat([ids, ids.new_zeros(1)]).index_select(0, source).long()
        kept_line = torch.cat([line, line.new_full((1,), -1)]).index_select(0, source)
        slots, width = kept_ids.shape[0], 2 * window
        reach = torch.randint(1, window + 1, (slots,), device=device, generator=generator, dtype=torch.int32)
        # valid[j, t]: slots t and t + offset_j hold kept tokens of one line within t's dynamic window b_t
        valid = torch.zeros(width, slots, dtype=torch.bool, device=device)
        on_line = kept_line >= 0
        for j, offset in enumerate(self.offset_values):
            reach_j = abs(offset)
            centre, context = (slice(0, slots - reach_j), slice(reach_j, slots)) if offset > 0 else \
                (slice(reach_j, slots), slice(0, slots - reach_j))
            valid[j, centre] = (kept_line[centre] == kept_line[context]) & on_line[centre] & (reach[centre] >= reach_j)
        valid = valid.T.contiguous()  # [slots, width]: a slot's proposals side by side
        if self.windows or self.order != "pair":  # the centre tokens' order: the corpus's, or a random one
            order = (torch.arange(slots, device=device, dtype=torch.int32) if self.order == "text" else
                     torch.randperm(slots, device=device, generator=generator, dtype=torch.int32))
        if self.windows:  # CBOW: the slots with a context in their order, each with its window
            has_context = valid.any(1).index_select(0, order)  # (a flag per slot, permuted: not the [slots, width])
            slot = order.index_select(0, select(has_context, 0, self.fixed_shapes))
            around = (slot.unsqueeze(1) + self.offsets).clamp_(0, max(slots - 1, 0))
            window = kept_ids.index_select(0, around.view(-1)).view(around.shape)
            window.masked_fill_(~valid.index_select(0, slot), -1)
            return ChunkPairs(epoch, chunk, kept_ids.index_select(0, slot), window, HostValue(has_context.sum()),
                              float(n), rng_state)
        if self.order != "pair":  # the slots in their order, each slot's pairs together
            chosen = select(valid.index_select(0, order), 0, self.fixed_shapes)  # (place in the order, offset j)
            slot, j = order.index_select(0, chosen[:, 0]), chosen[:, 1]  # (a 2-d select: no int64 division)
        else:
            proposal = torch.randperm(slots * width, device=device, generator=generator, dtype=torch.int32)
            chosen = proposal.index_select(0, select(valid.view(-1).index_select(0, proposal), 0, self.fixed_shapes))
            slot, j = chosen.div(width, rounding_mode="floor"), chosen.remainder(width)
        centers = kept_ids.index_select(0, slot)
        context = (slot + self.offsets.index_select(0, j)).clamp_(0, max(slots - 1, 0))  # (padding may step outside)
        contexts = kept_ids.index_select(0, context)
        return ChunkPairs(epoch, chunk, centers, contexts, HostValue(valid.sum()), float(n), rng_state)

    def batches(self, epochs: int, start: StreamPosition | None = None) -> Iterator[PairBatch]:
        """The batches of epochs ``start.epoch`` to ``epochs - 1``, from ``start`` (default: the
        beginning; without its generator state, the generator's draws from now on). When a batch is
        yielded, :attr:`position` already counts it as consumed."""
        start = start or StreamPosition()
        if start.chunk_rng_state is not None:
            self.generator.set_state(start.chunk_rng_state)
        schedule = ((epoch, chunk) for epoch in range(start.epoch, epochs)
                    for chunk in range(start.chunk if epoch == start.epoch else 0, len(self.chunks)))
        skip = start.batches
        following = self._prepare(next(schedule, None))
        while following is not None:
            current = following
            if self.prepare_ahead:  # the next chunk's pairs, drawn while this one trains
                following = self._prepare(next(schedule, None))
            self.position = StreamPosition(current.epoch, current.chunk, 0, current.rng_state)
            for index, batch in enumerate(self._cut(current)):
                self.position.batches = index + 1
                if index >= skip:
                    yield batch
            skip = 0
            if not self.prepare_ahead:
                following = self._prepare(next(schedule, None))

    def _prepare(self, where: tuple[int, int] | None) -> ChunkPairs | None:
        return None if where is None else self.chunk_pairs(*self.chunks[where[1]], *where)

    def _cut(self, pairs: ChunkPairs) -> Iterator[PairBatch]:
        """A chunk's pairs cut into batches (a chunk without pairs gives one empty batch, which still
        accounts for the chunk's tokens)."""
        count = pairs.count
        if count == 0:
            yield PairBatch(pairs.centers[:0], pairs.contexts[:0], pairs.tokens)
            return
        for start in range(0, count, self.batch_size):
            stop = min(start + self.batch_size, count)
            yield PairBatch(pairs.centers[start:stop], pairs.contexts[start:stop], pairs.tokens * (stop - start) / count)
