"""Trained word vectors: lookups, nearest neighbours, and the word2vec text format.

word2vec text format (the C tool's ``-binary 0`` output, read by gensim's
``KeyedVectors.load_word2vec_format``): a header line ``<V> <dim>``, then V lines
``word v_1 ... v_dim`` separated by single spaces.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import W2VError
from .fileio import atomic_write


class Vectors:
    """``matrix[i]`` (float32[V, d]) is the vector of ``words[i]``."""

    def __init__(self, words: list[str], matrix: np.ndarray):
        self.words = list(words)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.index = {word: i for i, word in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise W2VError("duplicate words in the vocabulary")
        self._unit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        return f"Vectors({len(self)} words, dim {self.dim})"

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def unit(self) -> np.ndarray:
        """Rows scaled to unit length (zero rows stay zero)."""
        if self._unit is None:
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
            self._unit = self.matrix / np.where(norms == 0, 1.0, norms)
        return self._unit

    def _row(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            raise W2VError(f"word {word!r} is not in the vocabulary") from None

    def vector(self, word: str) -> np.ndarray:
        return self.matrix[self._row(word)]

    def similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two words."""
        return float(self.unit[self._row(first)] @ self.unit[self._row(second)])

    def most_similar(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        """The k words of highest cosine similarity to ``word`` (excluding itself)."""
        row = self._row(word)
        sims = self.unit @ self.unit[row]
        sims[row] = -np.inf
        top = np.argpartition(-sims, min(k, len(sims) - 1))[:k]
        top = top[np.argsort(-sims[top])]
        return [(self.words[i], float(sims[i])) for i in top if np.isfinite(sims[i])]

    def save_word2vec_text(self, path: str | os.PathLike) -> None:
        with atomic_write(path) as handle:
            handle.write(f"{len(self)} {self.dim}\n")
            for word, row in zip(self.words, self.matrix):
                handle.write(word + " " + " ".join(f"{x:.6g}" for x in row.tolist()) + "\n")

    @classmethod
    def load_word2vec_text(cls, path: str | os.PathLike) -> "Vectors":
        path = os.fspath(path)
        try:
            handle = open(path, encoding="utf-8")
        except FileNotFoundError:
            raise W2VError(f"{path}: no such file") from None
        with handle:
            header = handle.readline().split()
            if len(header) != 2 or not all(h.isdigit() for h in header):
                raise W2VError(f"{path}:1: expected a word2vec header '<count> <dim>'")
            count, dim = int(header[0]), int(header[1])
            words, matrix = [], np.empty((count, dim), dtype=np.float32)
            for number, line in enumerate(handle, 2):
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if len(words) == count:
                    raise W2VError(f"{path}:{number}: more vectors than the header's {count}")
                if len(parts) != dim + 1:
                    raise W2VError(f"{path}:{number}: expected a word and {dim} numbers, found {len(parts) - 1} fields")
                try:
                    matrix[len(words)] = [float(x) for x in parts[1:]]
                except ValueError:
                    raise W2VError(f"{path}:{number}: not a number in the vector of {parts[0]!r}") from None
                words.append(parts[0])
            if len(words) != count:
                raise W2VError(f"{path}: header promises {count} vectors, the file holds {len(words)}")
        return cls(words, matrix)


def load(path: str | os.PathLike) -> Vectors:
    """Load vectors from a training output directory or a word2vec text file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "vectors.txt")
    return Vectors.load_word2vec_text(path)
