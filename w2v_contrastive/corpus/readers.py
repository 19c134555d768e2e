"""Readers: turn the user's inputs into a stream of lines (documents) of raw text.

Inputs are file paths (plain, ``.gz``, ``.bz2``, ``.xz``/``.lzma``), directories (read recursively, in
sorted order), local ``.json``/``.jsonl``/``.parquet`` files (through Hugging Face ``datasets``),
``datasets.Dataset`` objects, and any iterable of strings. Each line of a file is one document:
context windows never cross it. A line longer than ``max_line_chars`` (a text8-style file is a
single 100 MB line) is cut at whitespace into pieces of about that size, so memory stays bounded;
each piece then counts as its own line, as word2vec.c cuts sentences at 1000 words.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import logging
import lzma
import os
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from ..errors import W2VError

log = logging.getLogger("w2v_contrastive")

COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".lzma": lzma.open}
DATASET_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}
READ_CHARS = 1 << 20


def _open_binary(path: str):
    suffix = os.path.splitext(path)[1].lower()
    opener = COMPRESSED.get(suffix, open)
    return opener(path, "rb")


def looks_binary(path: str) -> bool:
    """True when the first 8 KiB (after decompression) hold a NUL byte: not a text file."""
    try:
        with _open_binary(path) as handle:
            return b"\x00" in handle.read(8192)
    except (OSError, EOFError, lzma.LZMAError):
        return False


def iter_file_lines(path: str, encoding_errors: str = "strict", max_line_chars: int = READ_CHARS) -> Iterator[str]:
    """Yield the lines of one text file in bounded memory, decompressing by extension."""
    suffix = os.path.splitext(path)[1].lower()
    kind = suffix[1:] + " " if suffix in COMPRESSED else ""
    try:
        with _open_binary(path) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", errors=encoding_errors, newline=None)
            carry = ""
            while True:
                block = text.read(READ_CHARS)
                if not block:
                    break
                lines = (carry + block).split("\n")
                carry = lines.pop()
                yield from lines
                while len(carry) > max_line_chars:
                    cut = carry.rfind(" ", 0, max_line_chars)
                    cut = max_line_chars if cut <= 0 else cut
                    yield carry[:cut]
                    carry = carry[cut + 1 :]
            if carry:
                yield carry
    except FileNotFoundError:
        raise W2VError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise W2VError(f"{path}: is a directory") from None
    except PermissionError:
        raise W2VError(f"{path}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise W2VError(
            f"{path}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x}); "
            "pass --encoding-errors replace to replace undecodable bytes"
        ) from None
    except (EOFError, lzma.LZMAError, gzip.BadGzipFile, OSError) as exc:
        raise W2VError(f"{path}: corrupt or truncated {kind}file ({exc})") from None


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Files named directly, plus every file under named directories (sorted, hidden ones skipped)."""
    files: list[str] = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
            skipped = [name for name in found if looks_binary(name)]
            for name in skipped:
                log.warning("skipping %s: binary file (NUL bytes)", name)
            if not found:
                raise W2VError(f"{path}: directory holds no files")
            if len(skipped) == len(found):
                raise W2VError(f"{path}: directory holds no text files ({len(skipped)} binary files skipped)")
            files.extend(name for name in found if name not in skipped)
        elif os.path.exists(path):
            if looks_binary(path):
                log.warning("%s: holds NUL bytes (a binary file, or UTF-16 text?); they are read as spaces", path)
            files.append(path)
        else:
            raise W2VError(f"{path}: no such file or directory")
    return files


@dataclass
class CorpusSource:
    """What to read: file paths, a ``datasets.Dataset``, or an in-memory iterable of strings."""

    paths: tuple[str, ...] = ()
    dataset: Any = None
    texts: Iterable[str] | None = None
    text_column: str = "text"
    encoding_errors: str = "strict"

    @classmethod
    def from_inputs(cls, corpus: Any, text_column: str = "text", encoding_errors: str = "strict") -> "CorpusSource":
        """Interpret the ``corpus`` argument of :func:`w2v_contrastive.train`.

        A string or path, or a list of them without whitespace, names files or directories; a
        ``datasets.Dataset`` is read by its ``text_column``; any other iterable is taken as texts.
        """
        if _is_dataset(corpus):
            return cls(dataset=corpus, text_column=text_column, encoding_errors=encoding_errors)
        paths = named_paths(corpus)
        if paths is not None:
            return cls(paths=tuple(expand_paths(paths)), text_column=text_column, encoding_errors=encoding_errors)
        if isinstance(corpus, Iterable):
            return cls(texts=corpus, text_column=text_column, encoding_errors=encoding_errors)
        raise W2VError(f"corpus must be paths, a datasets.Dataset or an iterable of strings, not {type(corpus).__name__}")

    def fingerprint(self) -> str | None:
        """A key that changes when the input changes; ``None`` for in-memory text (not cached)."""
        digest = hashlib.sha256()
        if self.paths:
            for path in self.paths:
                stat = os.stat(path)
                digest.update(f"{os.path.realpath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            digest.update(self.text_column.encode())
            return digest.hexdigest()
        if self.dataset is not None and getattr(self.dataset, "_fingerprint", None):
            digest.update(f"dataset\0{self.dataset._fingerprint}\0{self.text_column}".encode())
            return digest.hexdigest()
        return None

    def describe(self) -> str:
        if self.paths:
            return ", ".join(self.paths) if len(self.paths) <= 3 else f"{self.paths[0]} and {len(self.paths) - 1} more files"
        if self.dataset is not None:
            return f"datasets.Dataset ({len(self.dataset)} rows, column {self.text_column!r})"
        return "in-memory texts"

    def lines(self) -> Iterator[str]:
        """Every line of every input, in order."""
        if self.dataset is not None:
            yield from _dataset_lines(self.dataset, self.text_column, "dataset")
            return
        if self.texts is not None:
            for text in self.texts:
                if not isinstance(text, str):
                    raise W2VError(f"corpus iterable yielded {type(text).__name__}, expected str")
                yield from text.split("\n")
            return
        for path in self.paths:
            dataset_format = DATASET_FORMATS.get(os.path.splitext(path)[1].lower())
            if dataset_format:
                yield from _dataset_lines(_load_local_dataset(path, dataset_format), self.text_column, path)
            else:
                yield from iter_file_lines(path, self.encoding_errors)


def named_paths(corpus: Any) -> list[str] | None:
    """The paths ``corpus`` names (a string or path, or a list of them without whitespace), or None
    when it is something else (texts, a dataset)."""
    if isinstance(corpus, (str, os.PathLike)):
        corpus = [corpus]
    if isinstance(corpus, (list, tuple)) and corpus and all(_is_path_like(c) for c in corpus):
        return [os.fspath(c) for c in corpus]
    return None


def _is_path_like(item: Any) -> bool:
    """A path object, or a string without whitespace (a list of sentences is text, not paths)."""
    return isinstance(item, os.PathLike) or (isinstance(item, str) and not any(ch.isspace() for ch in item))


def _is_dataset(obj: Any) -> bool:
    return type(obj).__module__.startswith("datasets") and hasattr(obj, "column_names")


def _load_local_dataset(path: str, dataset_format: str):
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a declared dependency
        raise W2VError(f"{path}: reading {dataset_format} files needs the 'datasets' package") from None
    try:
        return datasets.load_dataset(dataset_format, data_files=path, split="train")
    except Exception as exc:  # datasets raises many types for unreadable files
        raise W2VError(f"{path}: cannot read as {dataset_format}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _dataset_lines(dataset: Any, column: str, name: str) -> Iterator[str]:
    if hasattr(dataset, "keys") and not hasattr(dataset, "column_names"):
        raise W2VError(f"{name}: a DatasetDict; pass one split, e.g. dataset['train']")
    if column not in dataset.column_names:
        raise W2VError(f"{name}: no column {column!r} (columns: {', '.join(dataset.column_names)}); use --text-column")
    for batch in dataset.iter(batch_size=1000):
        for text in batch[column]:
            if text:
                yield from str(text).split("\n")
