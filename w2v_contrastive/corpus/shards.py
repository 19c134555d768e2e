"""Encoding under torchrun: each rank encodes a share of the corpus and keeps the ids of its own lines.

1. Every rank cuts the corpus into the same pieces (pieces.py) and encodes a contiguous run of them,
   about 1/W of the bytes, with its own worker processes (encode.py).
2. The ranks merge their counts with one collective: each sums its pieces' counts into one table of
   (word, count), the tables are all-gathered, and every rank merges the W tables the same way, so
   every rank holds the vocabulary (and with it Q) a single process would find. The pieces' line
   lengths are all-gathered too: every rank holds the corpus's line starts.
3. Each rank is to train on the lines ``PairStream.shard_lines`` gives it, cut where the tokens divide
   evenly: the same split as when every rank held the whole corpus. The ranks send each other the
   renumbered ids of those lines (point-to-point, in rounds: in round k rank r sends to r + k and
   receives from r - k, in chunks of ``CHUNK_TOKENS``), and each stores only its own.

The collectives run in a gloo group of their own (CPU tensors; NCCL moves only GPU tensors). Each
rank's shard is cached in ``<cache_dir>/<key>-rank<r>of<W>``; the job reuses the shards only when every
rank finds its own valid, and otherwise builds them all again. Tested in tests/test_encode.py (2 gloo
processes against a single-process encoding) and by the torchrun jobs of tests/test_distributed.py.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from ..config import TokenizerOptions
from ..errors import W2VError
from ..sampling.pairs import PairStream
from .cache import EncodedCorpus, load_or_encode
from .crc import file_crc32
from .encode import CHUNK_TOKENS, PieceCounts, VocabularyMerger, Workers, encode_pieces, final_ids_path, lengths_path
from .encode import remove_piece_files, renumbered_chunks, write_line_starts
from .pieces import plan
from .readers import CorpusSource


@dataclass
class Job:
    """This process's place among the ranks that encode together, and their gloo group."""

    rank: int
    ranks: int
    group: object = None

    @classmethod
    def joined(cls) -> "Job":
        """The initialised torch.distributed job; a gloo group of all its ranks."""
        group = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else None
        return cls(dist.get_rank(), dist.get_world_size(), group)

    def all_gather(self, value):
        values = [None] * self.ranks
        dist.all_gather_object(values, value, group=self.group)
        return values

    def all_true(self, flag: bool) -> bool:
        value = torch.tensor([int(flag)])
        dist.all_reduce(value, op=dist.ReduceOp.MIN, group=self.group)
        return bool(value.item())


def load_or_build_shard(source: CorpusSource, options: TokenizerOptions, job: Job, cache_dir: str | None = None,
                        workers: int = 1, progress: bool = False) -> EncodedCorpus:
    """This rank's shard of the encoded corpus, from the cache when every rank's is there, else encoded
    by all the ranks together (every rank must call this)."""
    return load_or_encode(source, options, f"-rank{job.rank}of{job.ranks}", cache_dir,
                          lambda directory: build_shard(source, options, job, directory, workers, progress),
                          job.all_true)


def build_shard(source: CorpusSource, options: TokenizerOptions, job: Job, directory: str, workers: int = 1,
                progress: bool = False) -> dict:
    """Encode this rank's pieces, merge the vocabulary with the other ranks, exchange ids and write this
    rank's tokens.int32 and the corpus's lines.int64 into ``directory``; the facts for meta.json."""
    started = time.perf_counter()
    corpus_plan = plan(source, workers * job.ranks, ranks=job.ranks)
    owner = _owners([piece.size for piece in corpus_plan.pieces], job.ranks)
    mine = [i for i, rank in enumerate(owner) if rank == job.rank]
    workers = max(1, min(workers, len(mine)))
    own = VocabularyMerger(directory)
    failure, pieces = None, []
    try:
        with Workers(workers, corpus_plan, options, directory) as pool:
            pieces = encode_pieces(pool, mine, own, progress and job.rank == 0)
    except W2VError as exc:  # (a bad file: every rank must hear of it, or the others wait for this one forever)
        failure = str(exc)
    failures = [f for f in job.all_gather(failure) if f]
    if failures:
        raise W2VError(failures[0])
    encoded = time.perf_counter()
    # one (word, count) table per rank, merged alike on every rank
    tables = job.all_gather((*own.table(), [(p.index, p.tokens, p.replaced) for p in pieces],
                             _own_line_lengths(directory, pieces)))
    merged = VocabularyMerger()
    for rank, (words, counts, _, _) in enumerate(tables):
        merged.add(rank, words, counts)
    words, counts, final = merged.ordered()
    final[merged.merge_ids(job.rank)].tofile(final_ids_path(directory))  # this rank's merge ids -> final ids
    tokens = {index: n for _, _, table, _ in tables for index, n, _ in table}
    piece_start = np.concatenate([[0], np.cumsum([tokens[i] for i in range(len(owner))])]).tolist()
    lines_crc32 = write_line_starts(os.path.join(directory, "lines.int64"), (lengths for *_, lengths in tables))
    line_starts = np.fromfile(os.path.join(directory, "lines.int64"), dtype=np.int64)
    spans = [PairStream.shard_lines(line_starts, rank, job.ranks) for rank in range(job.ranks)]
    ranges = [(int(line_starts[a]), int(line_starts[b])) for a, b in spans]
    _exchange(job, directory, pieces, owner, piece_start, ranges)
    for piece in pieces:
        remove_piece_files(directory, piece)
    os.unlink(final_ids_path(directory))
    first_token, end_token = ranges[job.rank]
    return {"words": words, "counts": counts, "n_tokens": piece_start[-1],
            "n_lines": len(line_starts) - 1, "tokens_crc32": file_crc32(os.path.join(directory, "tokens.int32")),
            "lines_crc32": lines_crc32, "replaced_bytes": sum(r for _, _, t, _ in tables for _, _, r in t),
            "workers": workers, "pieces": len(owner), "pieces_seconds": encoded - started,
            "merge_seconds": time.perf_counter() - encoded,
            "each_piece_seconds": [round(p.seconds, 3) for p in pieces],
            "shard": {"rank": job.rank, "ranks": job.ranks, "first_line": spans[job.rank][0],
                      "end_line": spans[job.rank][1], "first_token": first_token, "tokens": end_token - first_token}}


def _owners(sizes: list[int], ranks: int) -> list[int]:
    """The rank that encodes each piece: contiguous runs of about equal size."""
    ends = np.cumsum(sizes, dtype=np.float64)
    total = ends[-1] if len(ends) else 0.0
    return np.minimum((ranks * (ends - np.asarray(sizes) / 2) / max(total, 1.0)).astype(np.int64), ranks - 1).tolist()


def _own_line_lengths(directory: str, pieces: list[PieceCounts]) -> np.ndarray:
    parts = [np.fromfile(lengths_path(directory, p.index), dtype=np.int64) for p in pieces]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _exchange(job: Job, directory: str, pieces: list[PieceCounts], owner: list[int], piece_start: list[int],
              ranges: list[tuple[int, int]]) -> None:
    """Write this rank's tokens.int32: the final ids of corpus tokens ``ranges[rank]``, gathered from the
    ranks that encoded them, a chunk at a time."""
    first, end = ranges[job.rank]

    def read(chunk: tuple) -> np.ndarray:
        piece, at, length = chunk
        start = piece_start[piece.index]
        return next(renumbered_chunks(directory, piece, at - start, at - start + length))

    with open(os.path.join(directory, "tokens.int32"), "wb") as out:
        out.truncate(4 * (end - first))
        for step in range(job.ranks):
            to, source = (job.rank + step) % job.ranks, (job.rank - step) % job.ranks
            outgoing = [(piece, at, length) for piece in pieces
                        for at, length in _spans(piece_start[piece.index], piece_start[piece.index + 1], *ranges[to])]
            incoming = [span for index, rank in enumerate(owner) if rank == source
                        for span in _spans(piece_start[index], piece_start[index + 1], first, end)]
            if step == 0:  # this rank's own pieces in its own lines
                for chunk in outgoing:
                    _write_at(out, 4 * (chunk[1] - first), read(chunk))
                continue
            for i in range(max(len(outgoing), len(incoming))):
                sending = dist.isend(torch.from_numpy(read(outgoing[i])), to, group=job.group) \
                    if i < len(outgoing) else None
                if i < len(incoming):
                    at, length = incoming[i]
                    received = torch.empty(length, dtype=torch.int32)
                    dist.recv(received, source, group=job.group)
                    _write_at(out, 4 * (at - first), received.numpy())
                if sending is not None:
                    sending.wait()


def _spans(start: int, stop: int, first: int, end: int) -> list[tuple[int, int]]:
    """(corpus token, length) of the chunks of tokens [start, stop) that fall in [first, end)."""
    low, high = max(start, first), min(stop, end)
    return [(at, min(CHUNK_TOKENS, high - at)) for at in range(low, high, CHUNK_TOKENS)]


def _write_at(out, offset: int, ids: np.ndarray) -> None:
    out.seek(offset)
    ids.tofile(out)
