"""Loaders for word-similarity benchmarks.

Format: one pair per line, ``word1 word2 score`` separated by tabs or spaces; an optional header
line (whose score column is not a number) and ``#`` comment lines are skipped. Words are lowercased.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import W2VError

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data", "benchmarks")


@dataclass
class SimilarityBenchmark:
    name: str
    pairs: list[tuple[str, str, float]]


def shipped_benchmark(name: str) -> str:
    """Path of a benchmark shipped in ``data/benchmarks`` (e.g. ``"wordsim353"``)."""
    return os.path.join(SHIPPED, name + ".tsv")


def load_similarity(path: str | os.PathLike) -> SimilarityBenchmark:
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(shipped_benchmark(path)):
        path = shipped_benchmark(path)
    pairs: list[tuple[str, str, float]] = []
    header_seen = False
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise W2VError(f"{path}: no such benchmark file") from None
    with handle:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
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
            pairs.append((parts[0].lower(), parts[1].lower(), score))
    if not pairs:
        raise W2VError(f"{path}: no word pairs found")
    name = os.path.splitext(os.path.basename(path))[0]
    return SimilarityBenchmark(name, pairs)
