"""The corpus cut into pieces that worker processes (or torchrun ranks) encode independently.

A piece is a plain file's bytes [start, end), a whole compressed file (a compressed stream cannot be
entered in the middle), rows [start, end) of a ``datasets.Dataset`` (local ``.jsonl``/``.parquet``
files are loaded as one), or a whole streamed or in-memory input. A plain file is cut near every
``piece_bytes`` where the reader breaks a line anyway: after the first ``\\n``, or at the long-line cut of
:func:`readers.anchor_cut` on a file without line breaks (a text8-style file). So the pieces' lines,
read one after the other, are exactly the lines of the whole corpus (tests/test_encode.py), and the
encoded corpus does not depend on how many pieces there were.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterator

from .readers import COMPRESSED, CUT_BYTES, DATASET_FORMATS, CorpusSource, anchor_cut, dataset_lines, iter_file_lines
from .readers import load_local_dataset

#: plain-file pieces are at most this large (and, for balance, about a quarter of a worker's share): a
#: piece's words fit a small dictionary, whose lookups stay in cache (64 MB pieces encoded 10-20% slower)
MAX_PIECE_BYTES = 16 << 20
#: dataset pieces hold at most this many rows
MAX_PIECE_ROWS = 100_000


@dataclass(frozen=True)
class Piece:
    """Bytes [start, end) of ``path`` (``end`` None: to the end of the file); or rows [start, end) of the
    plan's dataset number ``dataset`` (``end`` None: all of it, streamed); or, with neither, the source's
    in-memory texts. ``size``: its bytes or rows, for the progress display."""

    path: str | None = None
    dataset: int | None = None
    start: int = 0
    end: int | None = None
    size: int = 0
    #: a streamed dataset's share for rank ``node`` of ``nodes`` (``datasets.distributed.split_dataset_by_node``)
    node: tuple[int, int] | None = None


@dataclass
class Plan:
    """The pieces of one source, in corpus order, and the datasets they refer to, each with the name its
    errors give (its file, or "dataset")."""

    source: CorpusSource
    pieces: list[Piece]
    datasets: list[tuple[Any, str]] = field(default_factory=list)
    cut_bytes: int = CUT_BYTES

    def lines(self, piece: Piece) -> Iterator[str]:
        """The lines of one piece, as :meth:`CorpusSource.lines` gives them for the whole source."""
        source = self.source
        if piece.path is not None:
            return iter_file_lines(piece.path, source.encoding_errors, piece.start, piece.end, self.cut_bytes)
        if piece.dataset is not None:
            dataset, name = self.datasets[piece.dataset]
            if piece.end is not None:
                dataset = dataset.select(range(piece.start, piece.end))
            if piece.node is not None:
                from datasets.distributed import split_dataset_by_node

                dataset = split_dataset_by_node(dataset, *piece.node)
            return dataset_lines(dataset, source.text_column, name)
        return source.lines()


def plan(source: CorpusSource, workers: int = 1, piece_bytes: int | None = None, piece_rows: int | None = None,
         cut_bytes: int = CUT_BYTES, ranks: int = 1) -> Plan:
    """Cut ``source`` into pieces for ``workers`` processes in all: a few pieces per worker, so that the
    last ones to finish are small; one piece per input when ``workers`` is 1. A streamed dataset is one
    piece, or one per rank of a torchrun job of ``ranks``."""
    result = Plan(source, [], cut_bytes=cut_bytes)
    if source.texts is not None:
        result.pieces.append(Piece())
        return result
    if source.dataset is not None:
        _add_dataset(result, source.dataset, "dataset", workers, piece_rows, ranks)
        return result
    plain_bytes = sum(os.path.getsize(p) for p in source.paths if _kind(p) == "plain")
    if piece_bytes is None:
        share = plain_bytes // (4 * workers) if workers > 1 else plain_bytes
        piece_bytes = min(MAX_PIECE_BYTES, max(share, cut_bytes))
    piece_bytes = max(cut_bytes, piece_bytes // cut_bytes * cut_bytes)  # a multiple: its cuts fall on anchors
    for path in source.paths:
        kind = _kind(path)
        if kind == "dataset":
            _add_dataset(result, load_local_dataset(path, DATASET_FORMATS[os.path.splitext(path)[1].lower()]), path,
                         workers, piece_rows, ranks)
        elif kind == "compressed":
            result.pieces.append(Piece(path, size=os.path.getsize(path)))
        else:
            cuts = [0, *file_cuts(path, piece_bytes, cut_bytes), os.path.getsize(path)]
            result.pieces.extend(Piece(path, start=a, end=b, size=b - a) for a, b in zip(cuts, cuts[1:]))
    return result


def file_cuts(path: str, piece_bytes: int, cut_bytes: int = CUT_BYTES) -> list[int]:
    """Offsets where a plain file splits into pieces of about ``piece_bytes``: each the first place at or
    after a multiple of ``piece_bytes`` where the reader ends a line (after a ``\\n``, or at a long-line
    cut); a multiple with neither within ``cut_bytes`` after it is skipped."""
    size = os.path.getsize(path)
    cuts = []
    with open(path, "rb") as handle:
        for target in range(piece_bytes, size, piece_bytes):
            handle.seek(target - cut_bytes)
            before, after = handle.read(cut_bytes), handle.read(cut_bytes)
            newline = after.find(b"\n")
            cut = anchor_cut(before, after)
            if cut is not None and (newline < 0 or cut[0] < newline):
                offset = target + cut[0] + cut[1]  # after the space it replaces, or where the break goes
            elif newline >= 0:
                offset = target + newline + 1
            else:
                continue
            if (not cuts or offset > cuts[-1]) and offset < size:
                cuts.append(offset)
    return cuts


def _kind(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    return "dataset" if suffix in DATASET_FORMATS else "compressed" if suffix in COMPRESSED else "plain"


def _add_dataset(result: Plan, dataset: Any, name: str, workers: int, piece_rows: int | None, ranks: int) -> None:
    index = len(result.datasets)
    result.datasets.append((dataset, name))
    rows = _rows(dataset)
    if rows is None and ranks > 1:
        result.pieces.extend(Piece(dataset=index, size=1, node=(rank, ranks)) for rank in range(ranks))
        return
    if rows is None or workers == 1 and piece_rows is None:
        result.pieces.append(Piece(dataset=index, size=rows or 0))
        return
    step = piece_rows or min(MAX_PIECE_ROWS, max(1, rows // (4 * workers)))
    result.pieces.extend(Piece(dataset=index, start=a, end=min(a + step, rows), size=min(step, rows - a))
                         for a in range(0, rows, step))


def _rows(dataset: Any) -> int | None:
    """The rows of a map-style dataset; None for a streamed one (an IterableDataset has no length)."""
    try:
        return len(dataset)
    except TypeError:
        return None
