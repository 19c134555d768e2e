"""Trained word vectors: lookups, nearest neighbours, and the file formats other tools load.

- word2vec text (the C tool's ``-binary 0`` output; gensim's ``KeyedVectors.load_word2vec_format``):
  a header line ``<V> <dim>``, then V lines ``word v_1 ... v_dim`` separated by single spaces. Values
  are written with 9 significant digits, enough to read back the same float32.
- word2vec binary (the C tool's ``-binary 1`` output, ``load_word2vec_format(..., binary=True)``):
  the same header line, then per word its UTF-8 bytes, a space, dim little-endian float32 values
  and a newline.
- npy: a folder with ``vectors.npy`` (float32[V, dim]) and ``vocab.txt`` (one word per line, row order).

Vectors trained with subwords also carry their character n-gram rows (:class:`SubwordVectors`), which give a
vector to any word, in the vocabulary or not. Each of the formats above then has a companion file beside it,
``<name>.subwords.npz`` (``vectors.txt`` -> ``vectors.subwords.npz``, ``model.vec`` -> ``model.subwords.npz``),
which the loaders here pick up: fastText's ``.vec`` is the word2vec text format, so a ``.vec`` and its
companion are a subword model without fastText's ``.bin``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from .errors import W2VError
from .fileio import atomic_write
from .keyed import GensimQueries, UnknownWord
from .subwords import Subwords

if TYPE_CHECKING:
    import torch


class SubwordVectors:
    """The character n-gram rows of a subword model (w2v_contrastive/subwords.py): ``ngrams`` float32[buckets, d],
    and ``word_rows`` float32[V, d], the vocabulary words' own rows before the mean with their n-grams (what
    gensim's ``FastTextKeyedVectors.vectors_vocab`` holds)."""

    def __init__(self, units: Subwords, ngrams: np.ndarray, word_rows: np.ndarray):
        self.units, self.ngrams, self.word_rows = units, ngrams, word_rows

    def compose(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(float32[N, d] the mean of each word's n-gram rows, bool[N] whether it has any; zeros where not)."""
        buckets, counts = self.units.buckets_of(words)
        sums = np.zeros((len(words), self.ngrams.shape[1]), dtype=np.float64)
        for column in range(buckets.shape[1]):  # (one column of the buckets at a time: no [N, R, d] block)
            has = buckets[:, column] >= 0
            sums[has] += self.ngrams[buckets[has, column]]
        return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32), counts > 0

    def save(self, path: str) -> None:
        with atomic_write(path, "wb") as handle:
            np.savez(handle, min_n=self.units.min_n, max_n=self.units.max_n, buckets=self.units.buckets,
                     ngrams=self.ngrams, word_rows=self.word_rows)

    @classmethod
    def load(cls, path: str, words: int, dim: int) -> "SubwordVectors":
        """The companion file ``path`` of vectors of ``words`` words and ``dim`` dimensions."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                units = Subwords(int(saved["min_n"]), int(saved["max_n"]), int(saved["buckets"]))
                ngrams, word_rows = saved["ngrams"], saved["word_rows"]
        except (OSError, ValueError, KeyError) as exc:
            raise W2VError(f"{path}: not a subword vectors file ({type(exc).__name__}: {exc})") from None
        if ngrams.shape != (units.buckets, dim) or word_rows.shape != (words, dim):
            raise W2VError(f"{path}: holds n-grams {ngrams.shape} and word rows {word_rows.shape}, which do not fit "
                           f"{words} vectors of {dim} dims beside it")
        return cls(units, ngrams, word_rows)


def subword_file(path: str | os.PathLike) -> str:
    """The companion file of the vectors file ``path`` that holds their n-gram rows."""
    return os.path.splitext(os.fspath(path))[0] + ".subwords.npz"


class Vectors(GensimQueries):
    """``matrix[i]`` (float32[V, d]) is the vector of ``words[i]``; with ``subwords``, words outside the
    vocabulary have vectors too (the mean of their n-gram rows). gensim's ``KeyedVectors`` calls work as well
    (keyed.py): ``v["king"]``, ``v.most_similar(positive=..., negative=...)``, ``v.to_gensim()``, ..."""

    def __init__(self, words: list[str], matrix: np.ndarray, subwords: SubwordVectors | None = None):
        self.words = list(words)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.index = {word: i for i, word in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise W2VError("duplicate words in the vocabulary")
        self.subwords = subwords
        self._unit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        """Whether ``word`` is in the vocabulary (see :meth:`covers` for words with subword vectors)."""
        return word in self.index

    def covers(self, word: str) -> bool:
        """Whether ``word`` has a vector: it is in the vocabulary, or has character n-grams (subword models)."""
        return word in self.index or (self.subwords is not None and bool(self.subwords.units.buckets_of([word])[1][0]))

    def __repr__(self) -> str:
        return f"Vectors({len(self)} words, dim {self.dim})"

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def unit(self) -> np.ndarray:
        """Rows scaled to unit length (zero rows stay zero)."""
        if self._unit is None:
            self._unit = unit_rows(self.matrix)
        return self._unit

    def _row(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            raise UnknownWord(f"word {word!r} is not in the vocabulary") from None

    def vectors_of(self, words: list[str]) -> np.ndarray:
        """float32[N, d]: each word's vector, its row or (subword models) the mean of its n-gram rows. A word with
        neither is an UnknownWord (a W2VError and a KeyError)."""
        out = np.empty((len(words), self.dim), dtype=np.float32)
        outside = [i for i, word in enumerate(words) if word not in self.index]
        inside = [i for i in range(len(words)) if words[i] in self.index]
        out[inside] = self.matrix[[self.index[words[i]] for i in inside]]
        if outside:
            if self.subwords is None:
                raise UnknownWord(f"word {words[outside[0]]!r} is not in the vocabulary")
            composed, has = self.subwords.compose([words[i] for i in outside])
            if not has.all():
                raise UnknownWord(f"word {words[outside[int(np.argmin(has))]]!r} is not in the vocabulary and has no "
                                  f"character n-grams of {self.subwords.units.min_n}-{self.subwords.units.max_n}")
            out[outside] = composed
        return out

    def vector(self, word: str) -> np.ndarray:
        return self.vectors_of([word])[0]

    def similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two words."""
        a, b = unit_rows(self.vectors_of([first, second]))
        return float(a @ b)

    def analogy(self, a: str, b: str, c: str, k: int = 10) -> list[tuple[str, float]]:
        """"a is to b as c is to ?": the k words d of highest cos(d, b - a + c) on unit vectors
        (3CosAdd), excluding a, b and c."""
        rows = [self._row(w) for w in (a, b, c)]
        target = self.unit[rows[1]] - self.unit[rows[0]] + self.unit[rows[2]]
        return self._top(self.unit @ (target / max(np.linalg.norm(target), 1e-12)), k, rows)

    def to_torch(self, freeze: bool = True) -> "tuple[torch.nn.Embedding, dict[str, int]]":
        """(a ``torch.nn.Embedding`` whose row i is ``words[i]``'s vector, trainable unless ``freeze``; the
        vocabulary, word -> row). The weights are a copy."""
        import torch

        weight = torch.from_numpy(self.matrix.copy())
        return torch.nn.Embedding.from_pretrained(weight, freeze=freeze), dict(self.index)

    def _top(self, sims: np.ndarray, k: int, excluded: list[int]) -> list[tuple[str, float]]:
        sims[excluded] = -np.inf
        top = np.argpartition(-sims, min(k, len(sims) - 1))[:k]
        top = top[np.argsort(-sims[top])]
        return [(self.words[i], float(sims[i])) for i in top if np.isfinite(sims[i])]

    def save_word2vec_text(self, path: str | os.PathLike) -> None:
        self._save_subwords(path)
        with atomic_write(path) as handle:
            handle.write(f"{len(self)} {self.dim}\n")
            for word, row in zip(self.words, self.matrix):
                handle.write(word + " " + " ".join(f"{x:.9g}" for x in row.tolist()) + "\n")

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
        return cls._with_subwords(path, words, matrix)


    def save_word2vec_binary(self, path: str | os.PathLike) -> None:
        self._save_subwords(path)
        little_endian = self.matrix.astype("<f4")
        with atomic_write(path, "wb") as handle:
            handle.write(f"{len(self)} {self.dim}\n".encode())
            for word, row in zip(self.words, little_endian):
                handle.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")

    @classmethod
    def load_word2vec_binary(cls, path: str | os.PathLike) -> "Vectors":
        path = os.fspath(path)
        data = _read_bytes(path)
        header_end = data.find(b"\n")
        header = data[:header_end].split() if header_end >= 0 else []
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise W2VError(f"{path}:1: expected a word2vec header '<count> <dim>'")
        count, dim = int(header[0]), int(header[1])
        words, matrix = [], np.empty((count, dim), dtype=np.float32)
        position = header_end + 1
        for index in range(count):
            while data[position : position + 1] == b"\n":  # the newline after the previous vector
                position += 1
            space = data.find(b" ", position)
            if space < 0 or space + 1 + 4 * dim > len(data):
                raise W2VError(f"{path}: header promises {count} vectors, the file holds {index} "
                               f"(truncated at byte {position})")
            try:
                words.append(data[position:space].decode("utf-8"))
            except UnicodeDecodeError:
                raise W2VError(f"{path}: vector {index + 1} has a word that is not UTF-8 (byte {position})") from None
            matrix[index] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
            position = space + 1 + 4 * dim
        rest = data[position:].lstrip(b"\n")
        if rest:
            raise W2VError(f"{path}: {len(rest)} bytes after the {count} vectors the header promises")
        return cls._with_subwords(path, words, matrix)

    def _save_subwords(self, path: str | os.PathLike) -> None:
        """Write the n-gram rows beside the vectors file ``path``, or remove a companion left by an earlier file."""
        if self.subwords is not None:
            self.subwords.save(subword_file(path))
        elif os.path.exists(subword_file(path)):
            os.unlink(subword_file(path))

    @classmethod
    def _with_subwords(cls, path: str, words: list[str], matrix: np.ndarray) -> "Vectors":
        companion = subword_file(path)
        subwords = SubwordVectors.load(companion, *matrix.shape) if os.path.exists(companion) else None
        return cls(words, matrix, subwords)

    def save_npy(self, directory: str | os.PathLike) -> None:
        """``directory/vectors.npy`` and ``directory/vocab.txt``, each written atomically."""
        directory = os.fspath(directory)
        self._save_subwords(os.path.join(directory, "vectors.npy"))
        with atomic_write(os.path.join(directory, "vectors.npy"), "wb") as handle:
            np.save(handle, self.matrix)
        with atomic_write(os.path.join(directory, "vocab.txt")) as handle:
            handle.writelines(word + "\n" for word in self.words)

    @classmethod
    def load_npy(cls, directory: str | os.PathLike) -> "Vectors":
        directory = os.fspath(directory)
        matrix_path, vocab_path = os.path.join(directory, "vectors.npy"), os.path.join(directory, "vocab.txt")
        try:
            matrix = np.load(matrix_path, allow_pickle=False)
        except FileNotFoundError:
            raise W2VError(f"{matrix_path}: no such file") from None
        except ValueError as exc:
            raise W2VError(f"{matrix_path}: not a NumPy array file ({exc})") from None
        try:
            with open(vocab_path, encoding="utf-8") as handle:
                words = handle.read().split("\n")[:-1]
        except FileNotFoundError:
            raise W2VError(f"{vocab_path}: no such file (an npy export needs vectors.npy and vocab.txt)") from None
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise W2VError(f"{directory}: vectors.npy has shape {matrix.shape} but vocab.txt lists {len(words)} words")
        return cls._with_subwords(matrix_path, words, matrix)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise W2VError(f"{path}: no such file") from None


def is_word2vec_binary(path: str) -> bool:
    """Whether a word2vec file is binary. A text file is UTF-8 and its first line after the header
    holds a word and dim numbers; raw float bytes are almost never valid UTF-8, and where they are
    (a tiny file), the file is binary if it parses as such."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
        whole = not handle.read(1)
    header_end = head.find(b"\n")
    header = head[:header_end].split()
    if header_end < 0 or len(header) != 2 or not header[1].isdigit():
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(head) - 4:  # not just a character cut at the read limit
            return True
    fields = head[header_end + 1 :].split(b"\n", 1)[0].rstrip(b" ").split(b" ")
    try:
        if len(fields) == int(header[1]) + 1 and [float(x) for x in fields[1:]]:
            return False
    except ValueError:
        pass
    if not whole:
        return False
    try:
        Vectors.load_word2vec_binary(path)
    except W2VError:
        return False  # malformed either way: the text reader names the line
    return True


def load(path: str | os.PathLike) -> Vectors:
    """Load vectors from a training output directory, an npy export folder, or a word2vec text or
    binary file (told apart by content)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "vectors.txt")):
            return Vectors.load_word2vec_text(os.path.join(path, "vectors.txt"))
        if os.path.exists(os.path.join(path, "vectors.npy")):
            return Vectors.load_npy(path)
        raise W2VError(f"{path}: neither a training output (vectors.txt) nor an npy export (vectors.npy)")
    if os.path.exists(path) and is_word2vec_binary(path):
        return Vectors.load_word2vec_binary(path)
    return Vectors.load_word2vec_text(path)
