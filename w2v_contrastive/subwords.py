"""Character n-grams of words, hashed into buckets: the subword units of fastText (Bojanowski et al. 2017).

A word w is written with boundary marks, ``<w>``, and its n-grams are the substrings of n characters,
min_n <= n <= max_n, in fastText's order (by start, then by length); single characters at a boundary
(``<``, ``>``) are not n-grams. Each n-gram g goes to bucket FNV-1a(g's UTF-8 bytes) mod ``buckets``
(32-bit FNV-1a as fastText computes it, each byte sign-extended from a C ``char``, so the buckets are
fastText's and gensim's). With min_n = 3, max_n = 6, ``where`` gives ``<wh``, ``<whe``, ``<wher``,
``<where``, ``whe``, ``wher``, ``where``, ``where>``, ``her``, ..., ``re>``, ``e>`` is too short.

The input vector of a word is the mean of its own row and its n-grams' rows (the input table holds V word
rows, then ``buckets`` n-gram rows); a word outside the vocabulary has the mean of its n-gram rows alone.
Duplicate n-grams (``<aaaa>`` has ``aaa`` twice) count twice, as in fastText.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .errors import W2VError

#: fastText's and gensim's number of hash buckets
DEFAULT_BUCKETS = 2_000_000


@dataclass(frozen=True)
class Subwords:
    """The n-gram lengths min_n..max_n and the number of hash buckets."""

    min_n: int
    max_n: int
    buckets: int = DEFAULT_BUCKETS

    @classmethod
    def parse(cls, spec: str, buckets: int = DEFAULT_BUCKETS) -> "Subwords | None":
        """``"MIN-MAX"`` (e.g. ``"3-6"``) -> Subwords; ``"0"`` -> None (no subwords). One-line W2VError otherwise."""
        spec = str(spec).strip()
        if spec == "0":
            return None
        low, dash, high = spec.partition("-")
        if not (dash and low.isdigit() and high.isdigit()) or not 1 <= int(low) <= int(high):
            raise W2VError(f"subwords must be MIN-MAX with 1 <= MIN <= MAX (e.g. 3-6), or 0 for none; not {spec!r}")
        if buckets < 1:
            raise W2VError(f"buckets must be at least 1, got {buckets}")
        return cls(int(low), int(high), buckets)

    def buckets_of(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(int64[N, R] the n-gram buckets of each word, -1 after its last; int64[N] how many each has)."""
        encoded = [f"<{word}>".encode("utf-8") for word in words]
        starts = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=starts[1:])
        characters = [len(word) + 2 for word in words]
        width = max([self._count(n) for n in characters], default=0)
        out = np.full((len(words), max(width, 1)), -1, dtype=np.int64)
        counts = np.zeros(len(words), dtype=np.int64)
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        _hash_kernel()(data, starts, self.min_n, self.max_n, self.buckets, out, counts)
        return out[:, : max(int(counts.max(initial=0)), 1)], counts

    def input_rows(self, words: list[str]) -> np.ndarray:
        """int64[V, 1 + R]: the input-table rows of each vocabulary word: its own row i, then V + its n-grams'
        buckets, -1 after the last (the table holds the V word rows, then the bucket rows)."""
        buckets, _ = self.buckets_of(words)
        rows = np.where(buckets >= 0, buckets + len(words), -1)
        return np.concatenate([np.arange(len(words), dtype=np.int64)[:, None], rows], axis=1)

    def _count(self, characters: int) -> int:
        """An upper bound on the n-grams of a marked word of ``characters`` characters."""
        return sum(max(0, characters - n + 1) for n in range(self.min_n, self.max_n + 1))


@functools.lru_cache(maxsize=None)
def _hash_kernel():
    """numba: for each marked word ``data[starts[w]:starts[w + 1]]`` (UTF-8), its n-grams' buckets in fastText's
    order into ``out[w]`` and their number into ``counts[w]``."""
    from numba import njit, uint64

    @njit(cache=True)
    def hash_ngrams(data, starts, min_n, max_n, buckets, out, counts):
        for w in range(starts.shape[0] - 1):
            low, high = starts[w], starts[w + 1]
            k = 0
            for i in range(low, high):
                if data[i] & 0xC0 == 0x80:  # a UTF-8 continuation byte starts no character
                    continue
                h = uint64(2166136261)
                j = i
                n = 0
                while j < high and n < max_n:
                    while True:  # one character: its lead byte and continuation bytes
                        byte = uint64(data[j])
                        if byte >= 128:  # fastText's char is signed: sign-extend to 32 bits
                            byte |= uint64(0xFFFFFF00)
                        h = ((h ^ byte) * uint64(16777619)) & uint64(0xFFFFFFFF)
                        j += 1
                        if j >= high or data[j] & 0xC0 != 0x80:
                            break
                    n += 1
                    if n >= min_n and not (n == 1 and (i == low or j == high)):
                        out[w, k] = np.int64(h % uint64(buckets))
                        k += 1
            counts[w] = k

    return hash_ngrams
