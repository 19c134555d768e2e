"""Encoding a corpus into the cache's files, in parallel worker processes.

Each piece of the corpus (pieces.py) is encoded on its own: its lines are normalised and split
(tokenize.py), each word gets a piece-local id in order of first appearance (a small dictionary: fast
lookups), and the piece's ids (``int32``) and line lengths go to files of their own, its words and
their counts back to the parent. The parent folds each piece's counts into the corpus's as the pieces
come in, while the workers go on encoding (:class:`VocabularyMerger`), so the merge costs no time of
its own beyond ordering the vocabulary by (-count, word) at the end. The workers then renumber their
pieces into the final file. The final ids depend only on the total counts, and their order only on the
order of the pieces, so the cache is the same byte for byte for any number of workers or pieces
(tests/test_encode.py); only meta.json's timings differ.

Workers are forked (spawned where fork is unsafe, as on macOS); each holds one piece's ids at a time
(at most ``CHUNK_TOKENS`` of them) and its piece's vocabulary, and the parent the corpus's vocabulary,
so memory grows with the workers and the vocabulary, not with the corpus.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import os
import signal
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

#: characters of text normalised and split at once
BLOCK_CHARS = 1 << 16
#: ids a worker holds before writing them out and counting them
CHUNK_TOKENS = 1 << 22
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
    """A piece's token ids, piece-local."""
    return os.path.join(directory, f"piece-{index:06d}.int32")


def lengths_path(directory: str, index: int) -> str:
    """A piece's line lengths."""
    return os.path.join(directory, f"piece-{index:06d}.lines.int64")


def merge_ids_path(directory: str, index: int) -> str:
    """The merge id of each of a piece's local ids (:class:`VocabularyMerger`)."""
    return os.path.join(directory, f"piece-{index:06d}.merge.int32")


def final_ids_path(directory: str) -> str:
    """The final id of each merge id."""
    return os.path.join(directory, "final-ids.int32")


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
    process does the work). :meth:`each` runs a module-level task ``task(context, *args)`` for each
    argument tuple; ``done`` counts the tokens and lines encoded."""

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

    def each(self, task, arguments: list[tuple], on_wait=None) -> Iterator:
        """``task(context, *a)`` for each ``a`` of ``arguments``, in the order they finish; ``on_wait()``
        every POLL_SECONDS meanwhile (and after each task when this process does the work)."""
        if self.pool is None:
            for args in arguments:
                yield task(self.context, *args)
                if on_wait is not None:
                    on_wait()
            return
        results = self.pool.imap_unordered(_in_worker, [(task, args) for args in arguments])
        for _ in arguments:
            while True:
                try:
                    yield results.next(POLL_SECONDS)
                    break
                except multiprocessing.TimeoutError:
                    if on_wait is not None:
                        on_wait()


def _start_method() -> str:
    """fork where it is safe (Linux: the workers start at once, sharing the parent's datasets); spawn elsewhere."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


_WORKER: dict = {}


def _init_worker(context: dict) -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # tokenizers' own threads would fight the workers
    # the parent stops the workers (SIGTERM, from Pool.terminate) when it fails or is interrupted; they must
    # not run its handlers (the CLI turns SIGTERM into KeyboardInterrupt) nor take a terminal's Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.update(context)


def _in_worker(call: tuple):
    task, args = call
    return task(_WORKER, *args)


class VocabularyMerger:
    """Sums the counts of pieces (or of whole tables of words) as they come in. Each word gets a merge
    id when it is first seen (in a dictionary), its total is summed in numpy, and each piece's merge ids
    (one per piece-local id) go to a file in ``directory``, or stay in memory without one."""

    def __init__(self, directory: str | None = None):
        self.directory = directory
        self.first_seen: collections.defaultdict[str, int] = collections.defaultdict(itertools.count().__next__)
        self.totals = np.zeros(1 << 16, dtype=np.int64)
        self.kept: dict[int, np.ndarray] = {}

    def add(self, index: int, words: list[str], counts: np.ndarray) -> None:
        ids = np.fromiter(map(self.first_seen.__getitem__, words), dtype=np.int32, count=len(words))
        if len(self.first_seen) > len(self.totals):
            self.totals = np.concatenate([self.totals, np.zeros(len(self.totals) + len(self.first_seen), np.int64)])
        self.totals[ids] += counts  # (the words of a piece are distinct)
        if self.directory is None:
            self.kept[index] = ids
        else:
            ids.tofile(merge_ids_path(self.directory, index))

    def merge_ids(self, index: int) -> np.ndarray:
        """The merge id of each local id of piece (or table) ``index``."""
        return self.kept[index] if self.directory is None else np.fromfile(merge_ids_path(self.directory, index),
                                                                           dtype=np.int32)

    def table(self) -> tuple[list[str], np.ndarray]:
        """The words in merge-id order and their totals."""
        return list(self.first_seen), self.totals[: len(self.first_seen)].copy()

    def ordered(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The vocabulary ordered by (-count, word), its counts, and the final id of each merge id: an
        alphabetical sort followed by a stable sort on the counts."""
        names, totals = self.table()
        alphabetical = np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)
        order = alphabetical[np.argsort(-totals[alphabetical], kind="stable")]
        final = np.empty(len(names), dtype=np.int32)
        final[order] = np.arange(len(names), dtype=np.int32)
        return [names[i] for i in order], totals[order], final


def encode_pieces(workers: Workers, indices: list[int], merger: VocabularyMerger,
                  progress: bool = False) -> list[PieceCounts]:
    """Encode the pieces ``indices`` of the workers' plan, folding each into ``merger`` as it comes in,
    and showing the tokens encoded so far when ``progress``; their counts, in the order of ``indices``."""
    bar = Progress(None, desc="encoding", enabled=progress, unit="tokens")

    def show() -> None:
        bar.update(workers.done[0])
        bar.set_fields(lines=f"{workers.done[1]:,}")

    found = {}
    try:
        for piece in workers.each(_encode_task, [(i,) for i in indices], show):
            merger.add(piece.index, piece.words, piece.counts)
            piece.words = []  # (merged: the parent need not keep every piece's words)
            found[piece.index] = piece
    except BaseException:
        bar.close(finished=False)
        raise
    show()
    bar.close()
    return [found[i] for i in indices]


def _encode_task(context: dict, index: int) -> PieceCounts:
    return encode_piece(context["plan"], index, context["options"], context["directory"], context["done"])


def piece_final_ids(directory: str, index: int) -> np.ndarray:
    """The final id of each of piece ``index``'s local ids (its merge ids through final-ids.int32)."""
    merge_ids = np.fromfile(merge_ids_path(directory, index), dtype=np.int32)
    if not len(merge_ids):  # (an empty piece; an empty final-ids file cannot be mapped)
        return merge_ids
    return np.asarray(np.memmap(final_ids_path(directory), dtype=np.int32, mode="r")[merge_ids])


def renumbered_chunks(directory: str, piece: PieceCounts, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
    """The final ids of a piece's tokens [start, stop), read from its file a chunk at a time."""
    final_ids = piece_final_ids(directory, piece.index)
    stop = piece.tokens if stop is None else stop
    with open(ids_path(directory, piece.index), "rb") as handle:
        for at in range(start, stop, CHUNK_TOKENS):
            handle.seek(4 * at)
            yield final_ids[np.fromfile(handle, dtype=np.int32, count=min(CHUNK_TOKENS, stop - at))]


def remove_piece_files(directory: str, piece: PieceCounts) -> None:
    for path in (ids_path, lengths_path, merge_ids_path):
        os.unlink(path(directory, piece.index))


def _renumber_task(context: dict, piece: PieceCounts, offset: int) -> tuple[int, int]:
    """Write a piece's final ids into tokens.int32 from token ``offset`` on; (its index, their CRC-32)."""
    directory, crc = context["directory"], 0
    with open(os.path.join(directory, "tokens.int32"), "r+b") as out:
        out.seek(4 * offset)
        for chunk in renumbered_chunks(directory, piece):
            chunk.tofile(out)
            crc = zlib.crc32(chunk, crc)
    return piece.index, crc


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
    """Encode every piece of ``plan`` and merge them into ``directory``'s tokens.int32 and lines.int64;
    the vocabulary and the facts meta.json records about them."""
    started = time.perf_counter()
    n_workers = max(1, min(workers, len(plan.pieces)))
    merger = VocabularyMerger(directory)
    with Workers(n_workers, plan, options, directory) as pool:
        pieces = encode_pieces(pool, list(range(len(plan.pieces))), merger, progress)
        encoded = time.perf_counter()
        words, counts, final = merger.ordered()
        final.tofile(final_ids_path(directory))
        ordered = time.perf_counter()
        offsets = np.concatenate([[0], np.cumsum([p.tokens for p in pieces])]).tolist()
        with open(os.path.join(directory, "tokens.int32"), "wb") as out:
            out.truncate(4 * offsets[-1])
        crcs = dict(pool.each(_renumber_task, list(zip(pieces, offsets))))
    tokens_crc32 = 0
    for piece in pieces:
        tokens_crc32 = crc32_combine(tokens_crc32, crcs[piece.index], 4 * piece.tokens)
    lines_crc32 = write_line_starts(os.path.join(directory, "lines.int64"), (line_lengths(directory, p) for p in pieces))
    for piece in pieces:
        remove_piece_files(directory, piece)
    os.unlink(final_ids_path(directory))
    return {"words": words, "counts": counts, "n_tokens": offsets[-1],
            "n_lines": sum(p.lines for p in pieces), "tokens_crc32": tokens_crc32, "lines_crc32": lines_crc32,
            "replaced_bytes": sum(p.replaced for p in pieces), "workers": n_workers,
            "pieces": len(plan.pieces), "pieces_seconds": encoded - started, "vocabulary_seconds": ordered - encoded,
            "merge_seconds": time.perf_counter() - encoded, "each_piece_seconds": [round(p.seconds, 3) for p in pieces]}
