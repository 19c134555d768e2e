"""The training vocabulary: the most frequent words of the corpus, their counts, and the
subsampling keep-probabilities of word2vec."""

from __future__ import annotations

import os

import numpy as np

from ..errors import W2VError
from ..fileio import atomic_write
from .cache import EncodedCorpus


class Vocabulary:
    """Words ordered by decreasing count; ``index[word]`` is the word's row in the embedding tables."""

    def __init__(self, words: list[str], counts: np.ndarray):
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def total(self) -> int:
        """Number of corpus tokens that are in the vocabulary."""
        return int(self.counts.sum())

    @classmethod
    def from_corpus(cls, corpus: EncodedCorpus, min_count: int = 5, max_vocab: int | None = None) -> "Vocabulary":
        """Keep the words seen at least ``min_count`` times, at most ``max_vocab`` of them.

        The corpus' full vocabulary is sorted by count, so this is a prefix of it, and a corpus id
        below ``len(vocabulary)`` is the same id in the vocabulary.
        """
        if corpus.n_tokens == 0:
            raise W2VError(f"{corpus.description}: the corpus holds no words")
        size = int(np.searchsorted(-corpus.counts, -min_count, side="right"))
        if max_vocab is not None:
            size = min(size, max_vocab)
        if size == 0:
            raise W2VError(
                f"{corpus.description}: no word occurs at least {min_count} times "
                f"(the most frequent, {corpus.words[0]!r}, occurs {corpus.counts[0]}); lower --min-count")
        return cls(corpus.words[:size], corpus.counts[:size])

    def keep_probabilities(self, sample: float) -> np.ndarray:
        """word2vec's subsampling: keep word w with probability (sqrt(f/t) + 1) t/f, capped at 1,
        where f = count(w)/total and t = ``sample`` (0 keeps everything)."""
        if sample <= 0:
            return np.ones(len(self), dtype=np.float64)
        ratio = self.counts / (sample * self.total)
        return np.minimum(1.0, (np.sqrt(ratio) + 1.0) / ratio)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``word<TAB>count`` lines."""
        with atomic_write(path) as handle:
            handle.writelines(f"{w}\t{c}\n" for w, c in zip(self.words, self.counts.tolist()))

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} words, {self.total} tokens, top {self.words[:3]})"


