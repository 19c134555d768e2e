"""Loaders for word-similarity benchmarks.

Format: one pair per line, ``word1 word2 score`` separated by tabs or spaces; an optional header
line (whose score column is not a number) and ``#`` comment lines are skipped. Words are lowercased
(unless asked not to).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

from ..errors import W2VError

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data", "benchmarks")


@dataclass
class SimilarityBenchmark:
    name: str
    pairs: list[tuple[str, str, float]]


def benchmark_lines(path: str | os.PathLike, suffix: str, kind: str) -> tuple[str, Iterator[tuple[int, str]]]:
    """(resolved path, its numbered non-empty, non-comment stripped lines). ``path`` may also name a
    file shipped in ``data/benchmarks`` without its ``suffix`` (e.g. ``"wordsim353"``)."""
    path = os.fspath(path)
    shipped = os.path.join(SHIPPED, path + suffix)
    if not os.path.exists(path) and os.path.exists(shipped):
        path = shipped
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise W2VError(f"{path}: no such {kind} file") from None

    def lines() -> Iterator[tuple[int, str]]:
        with handle:
            for number, line in enumerate(handle, 1):
                text = line.strip()
                if text and not text.startswith("#"):
                    yield number, text

    return path, lines()


def load_similarity(path: str | os.PathLike, lowercase: bool = True) -> SimilarityBenchmark:
    """The pairs of the file ``path`` (words lowercased unless not ``lowercase``)."""
    path, lines = benchmark_lines(path, ".tsv", "benchmark")
    pairs: list[tuple[str, str, float]] = []
    header_seen = False
    for number, text in lines:
        parts = text.split()
        if len(parts) != 3:
            raise W2VError(f"{path}:{number}: expected 'word1 word2 score', found {len(parts)} fields")
        try:
            score = float(parts[2])
        except ValueError:
            if not pairs and not header_seen:
                header_seen = True
                continue
            raise W2VError(f"{path}:{number}: score {parts[2]!r} is not a number") from None
        pairs.append((parts[0].lower(), parts[1].lower(), score) if lowercase else (parts[0], parts[1], score))
    if not pairs:
        raise W2VError(f"{path}: no word pairs found")
    name = os.path.splitext(os.path.basename(path))[0]
    return SimilarityBenchmark(name, pairs)
