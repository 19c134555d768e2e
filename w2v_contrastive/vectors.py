"""Trained word vectors: lookups, nearest neighbours, and the file formats other tools load.

- word2vec text (the C tool's ``-binary 0`` output; gensim's ``KeyedVectors.load_word2vec_format``):
  a header line ``<V> <dim>``, then V lines ``word v_1 ... v_dim`` separated by single spaces. Values
  are written with 9 significant digits, enough to read back the same float32.
- word2vec binary (the C tool's ``-binary 1`` output, ``load_word2vec_format(..., binary=True)``):
  the same header line, then per word its UTF-8 bytes, a space, dim little-endian float32 values
  and a newline.
- npy: a folder with ``vectors.npy`` (float32[V, dim]) and ``vocab.txt`` (one word per line, row order).
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
        return self._top(self.unit @ self.unit[row], k, [row])

    def analogy(self, a: str, b: str, c: str, k: int = 10) -> list[tuple[str, float]]:
        """"a is to b as c is to ?": the k words d of highest cos(d, b - a + c) on unit vectors
        (3CosAdd), excluding a, b and c."""
        rows = [self._row(w) for w in (a, b, c)]
        target = self.unit[rows[1]] - self.unit[rows[0]] + self.unit[rows[2]]
        return self._top(self.unit @ (target / max(np.linalg.norm(target), 1e-12)), k, rows)

    def _top(self, sims: np.ndarray, k: int, excluded: list[int]) -> list[tuple[str, float]]:
        sims[excluded] = -np.inf
        top = np.argpartition(-sims, min(k, len(sims) - 1))[:k]
        top = top[np.argsort(-sims[top])]
        return [(self.words[i], float(sims[i])) for i in top if np.isfinite(sims[i])]

    def save_word2vec_text(self, path: str | os.PathLike) -> None:
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
        return cls(words, matrix)


    def save_word2vec_binary(self, path: str | os.PathLike) -> None:
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
        return cls(words, matrix)

    def save_npy(self, directory: str | os.PathLike) -> None:
        """``directory/vectors.npy`` and ``directory/vocab.txt``, each written atomically."""
        directory = os.fspath(directory)
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
        return cls(words, matrix)


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
