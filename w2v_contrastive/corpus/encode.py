"""Encoding a corpus into the cache's files, in parallel worker processes.

Each piece of the corpus (pieces.py) is encoded on its own: its lines are normalised and split
(tokenize.py), each word gets a piece-local id in order of first appearance, and the piece's ids
(``int32``) and line lengths go to files of their own, its words and their counts back to the parent.
The parent then merges: the counts are summed per word, the vocabulary is ordered by (-count, word),
and each piece's ids are renumbered into the final file in corpus order. The final ids depend only on
the total counts, and their order only on the order of the pieces, so the cache is the same byte for
byte for any number of workers (tests/test_encode.py); only meta.json's timings differ.

Workers are forked (spawned where fork is unsafe, as on macOS); each holds one piece's ids at a time
(at most ``CHUNK_TOKENS`` of them) and its piece's vocabulary, so memory grows with the workers and the
vocabulary, not with the corpus.
"""

from __future__ import annotations

import collections
import itertools
import logging
import multiprocessing
import os
import sys
import time
import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from ..config import TokenizerOptions
from ..train.progress import Progress
from .crc import crc32_combine
from .pieces import Plan
from .tokenize import normalize, split_lines

log = logging.getLogger("w2v_contrastive")

#: characters of text normalised and split at once
BLOCK_CHARS = 1 << 16
#: ids a worker holds before writing them out and counting them
CHUNK_TOKENS = 1 << 24
#: seconds between two looks at the workers' progress
POLL_SECONDS = 0.5


@dataclass
class PieceCounts:
    """What encoding a piece tells the merge: its words in order of first appearance (piece-local id i is
    ``words[i]``), how often each occurs, and its numbers of tokens, non-empty lines and replaced bytes."""

    index: int
    words: list[str]
    counts: np.ndarray
    tokens: int
    lines: int
    replaced: int
    seconds: float


def ids_path(directory: str, index: int) -> str:
    return os.path.join(directory, f"piece-{index:06d}.int32")


def lengths_path(directory: str, index: int) -> str:
    return os.path.join(directory, f"piece-{index:06d}.lines.int64")


def encode_piece(plan: Plan, index: int, options: TokenizerOptions, directory: str, done=None) -> PieceCounts:
    """Encode piece ``index`` of ``plan`` into ``directory``; ``done`` (a shared pair of counters, or None)
    is advanced by the tokens and lines encoded, block by block, for the progress display."""
    started = time.perf_counter()
    first_seen: collections.defaultdict[str, int] = collections.defaultdict(itertools.count().__next__)
    counts = np.zeros(0, dtype=np.int64)
    pending: list[np.ndarray] = []
    n_pending = tokens = lines = replaced = 0
    with open(ids_path(directory, index), "wb") as ids_out, open(lengths_path(directory, index), "wb") as lengths_out:
        def flush() -> None:
            nonlocal counts, pending, n_pending
            ids = np.concatenate(pending) if pending else np.zeros(0, np.int32)
            ids.tofile(ids_out)
            found = np.bincount(ids, minlength=len(first_seen))
            found[: len(counts)] += counts
            counts, pending, n_pending = found, [], 0

        for block in _normalised_blocks(plan.lines(plan.pieces[index]), options):
            if options.encoding_errors == "replace":
                replaced += block.count("\ufffd")
            words = split_lines(block, options)
            lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
            lengths = lengths[lengths > 0]
            lengths.tofile(lengths_out)
            ids = np.fromiter(map(first_seen.__getitem__, itertools.chain.from_iterable(words)), dtype=np.int32)
            pending.append(ids)
            n_pending += len(ids)
            tokens, lines = tokens + len(ids), lines + len(lengths)
            if done is not None:
                with done.get_lock():
                    done[0] += len(ids)
                    done[1] += len(lengths)
            if n_pending >= CHUNK_TOKENS:
                flush()
        flush()
    return PieceCounts(index, list(first_seen), counts, tokens, lines, replaced, time.perf_counter() - started)


def _normalised_blocks(lines: Iterable[str], options: TokenizerOptions) -> Iterator[str]:
    """Normalised text in blocks of about BLOCK_CHARS, one non-empty input line per ``\\n``-separated line."""
    pending: list[str] = []
    size = 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        pending.append(line)
        size += len(line)
        if size >= BLOCK_CHARS:
            yield normalize("\n".join(pending), options)
            pending, size = [], 0
    if pending:
        yield normalize("\n".join(pending), options)


class Workers:
    """Up to ``n`` worker processes that share the plan, the options and the output folder (one: this
    process does the work). :meth:`map` runs a module-level task ``task(context, *args)`` for each
    argument tuple and returns the results in order; ``done`` counts the tokens and lines encoded."""

    def __init__(self, n: int, plan: Plan, options: TokenizerOptions, directory: str):
        self.n = max(1, n)
        context = multiprocessing.get_context(_start_method())
        self.done = context.Array("q", 2)
        self.context = {"plan": plan, "options": options, "directory": directory, "done": self.done}
        self.pool = None
        if self.n > 1:
            self.pool = context.Pool(self.n, initializer=_init_worker, initargs=(self.context,))

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.terminate() if exc[0] is not None else self.pool.close()
            self.pool.join()

    def map(self, task, arguments: list[tuple], on_wait=None) -> list:
        """``[task(context, *a) for a in arguments]``, in the workers; ``on_wait()`` is called every
        POLL_SECONDS until they finish (and after each task in this process)."""
        if self.pool is None:
            results = []
            for args in arguments:
                results.append(task(self.context, *args))
                if on_wait is not None:
                    on_wait()
            return results
        pending = self.pool.map_async(_in_worker, [(task, args) for args in arguments], chunksize=1)
        while not pending.ready():
            pending.wait(POLL_SECONDS)
            if on_wait is not None:
                on_wait()
        return pending.get()


def _start_method() -> str:
    """fork where it is safe (Linux: the workers start at once, sharing the parent's datasets); spawn elsewhere."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


_WORKER: dict = {}


def _init_worker(context: dict) -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # tokenizers' own threads would fight the workers
    _WORKER.update(context)


def _in_worker(call: tuple):
    task, args = call
    return task(_WORKER, *args)


def encode_pieces(workers: Workers, indices: list[int], progress: bool = False) -> list[PieceCounts]:
    """Encode the pieces ``indices`` of the workers' plan, showing the tokens encoded so far when
    ``progress``; their counts, in the order of ``indices``."""
    bar = Progress(None, desc="encoding", enabled=progress, unit="tokens")

    def show() -> None:
        bar.update(workers.done[0])
        bar.set_fields(lines=f"{workers.done[1]:,}")

    try:
        return workers.map(_encode_task, [(i,) for i in indices], show)
    finally:
        bar.close()


def _encode_task(context: dict, index: int) -> PieceCounts:
    return encode_piece(context["plan"], index, context["options"], context["directory"], context["done"])


@dataclass
class MergedVocabulary:
    """The corpus vocabulary (every word, ordered by decreasing count, then by the word), and for each
    piece the final id of each of its local ids."""

    words: list[str]
    counts: np.ndarray
    final_ids: list[np.ndarray]


def merge_vocabulary(pieces: list[PieceCounts]) -> MergedVocabulary:
    """Sum the pieces' counts per word and number the words by (-count, word)."""
    total: dict[str, int] = {}
    for piece in pieces:
        for word, count in zip(piece.words, piece.counts.tolist()):
            total[word] = total.get(word, 0) + count
    words = sorted(total, key=lambda w: (-total[w], w))
    final = {word: i for i, word in enumerate(words)}
    final_ids = [np.fromiter(map(final.__getitem__, piece.words), dtype=np.int32, count=len(piece.words))
                 for piece in pieces]
    return MergedVocabulary(words, np.array([total[w] for w in words], dtype=np.int64), final_ids)


def renumbered_chunks(directory: str, piece: PieceCounts, final_ids: np.ndarray, start: int = 0,
                      stop: int | None = None) -> Iterator[np.ndarray]:
    """The final ids of a piece's tokens [start, stop), read from its file a chunk at a time."""
    stop = piece.tokens if stop is None else stop
    with open(ids_path(directory, piece.index), "rb") as handle:
        for at in range(start, stop, CHUNK_TOKENS):
            handle.seek(4 * at)
            yield final_ids[np.fromfile(handle, dtype=np.int32, count=min(CHUNK_TOKENS, stop - at))]


def _renumber_task(context: dict, piece: PieceCounts, final_ids: np.ndarray, offset: int) -> int:
    """Write a piece's final ids into tokens.int32 from token ``offset`` on, delete its file; their CRC-32."""
    directory, crc = context["directory"], 0
    with open(os.path.join(directory, "tokens.int32"), "r+b") as out:
        out.seek(4 * offset)
        for chunk in renumbered_chunks(directory, piece, final_ids):
            chunk.tofile(out)
            crc = zlib.crc32(chunk, crc)
    os.unlink(ids_path(directory, piece.index))
    return crc


def line_lengths(directory: str, piece: PieceCounts) -> np.ndarray:
    """A piece's line lengths (tokens per non-empty line)."""
    return np.fromfile(lengths_path(directory, piece.index), dtype=np.int64)


def write_line_starts(path: str, lengths: Iterable[np.ndarray]) -> int:
    """Write the line starts (int64, 0 first) of consecutive line lengths; their CRC-32."""
    total, crc = 0, 0
    with open(path, "wb") as out:
        first = np.zeros(1, dtype=np.int64)
        first.tofile(out)
        crc = zlib.crc32(first, crc)
        for piece_lengths in lengths:
            starts = total + np.cumsum(piece_lengths)
            starts.tofile(out)
            crc = zlib.crc32(starts, crc)
            total = int(starts[-1]) if len(starts) else total
    return crc


def encode(plan: Plan, options: TokenizerOptions, directory: str, workers: int = 1,
           progress: bool = False) -> dict:
    """Encode every piece of ``plan`` and merge them into ``directory``'s tokens.int32, lines.int64 and
    vocab.tsv; the facts meta.json records about them."""
    started = time.perf_counter()
    n_workers = min(workers, len(plan.pieces))
    with Workers(n_workers, plan, options, directory) as pool:
        pieces = encode_pieces(pool, list(range(len(plan.pieces))), progress)
        encoded = time.perf_counter()
        vocabulary = merge_vocabulary(pieces)
        offsets = np.concatenate([[0], np.cumsum([p.tokens for p in pieces])]).tolist()
        with open(os.path.join(directory, "tokens.int32"), "wb") as out:
            out.truncate(4 * offsets[-1])
        crcs = pool.map(_renumber_task, list(zip(pieces, vocabulary.final_ids, offsets)))
    tokens_crc32 = 0
    for crc, piece in zip(crcs, pieces):
        tokens_crc32 = crc32_combine(tokens_crc32, crc, 4 * piece.tokens)
    lines_crc32 = write_line_starts(os.path.join(directory, "lines.int64"), (line_lengths(directory, p) for p in pieces))
    for piece in pieces:
        os.unlink(lengths_path(directory, piece.index))
    return {"words": vocabulary.words, "counts": vocabulary.counts, "n_tokens": offsets[-1],
            "n_lines": sum(p.lines for p in pieces), "tokens_crc32": tokens_crc32, "lines_crc32": lines_crc32,
            "replaced_bytes": sum(p.replaced for p in pieces), "workers": max(1, n_workers),
            "pieces": len(plan.pieces), "pieces_seconds": encoded - started,
            "merge_seconds": time.perf_counter() - encoded, "each_piece_seconds": [round(p.seconds, 3) for p in pieces]}
