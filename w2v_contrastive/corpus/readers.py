"""Readers: turn the user's inputs into a stream of lines (documents) of raw text.

Inputs are file paths (plain, ``.gz``, ``.bz2``, ``.xz``/``.lzma``), directories (read recursively, in
sorted order), local ``.json``/``.jsonl``/``.parquet`` files (through Hugging Face ``datasets``),
``datasets.Dataset`` objects, and any iterable of strings. Each line of a file is one document:
context windows never cross it. A line that runs a megabyte without a break (a text8-style file is a
single 100 MB line) is cut at a space into pieces of about that size, so memory stays bounded; each
piece then counts as its own line, as word2vec.c cuts sentences at 1000 words.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import itertools
import logging
import lzma
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from ..errors import W2VError

log = logging.getLogger("w2v_contrastive")

COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".lzma": lzma.open}
DATASET_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}
#: the anchors of the long-line cut (:func:`anchor_cut`) lie this many bytes apart
CUT_BYTES = 1 << 20
BREAK = re.compile(rb"[\r\n]")
SPACE = re.compile(rb"[ \t]")
WHITESPACE = re.compile(rb"[ \t\r\n]")


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


def iter_file_lines(path: str, encoding_errors: str = "strict", start: int = 0, end: int | None = None,
                    cut_bytes: int = CUT_BYTES) -> Iterator[str]:
    """Yield the lines of one text file in bounded memory, decompressing by extension; with ``start`` and
    ``end``, the lines of the bytes [start, end) of a plain file, a piece that begins and ends where a
    line does (corpus/pieces.py). ``\\n``, ``\\r\\n`` and ``\\r`` end a line; a long line is cut as
    :func:`anchor_cut` says, so the cuts, and with them every piece's lines, do not depend on where
    reading began."""
    suffix = os.path.splitext(path)[1].lower()
    kind = suffix[1:] + " " if suffix in COMPRESSED else ""
    try:
        with _open_binary(path) as raw:
            yield from _decoded_lines(_cut_blocks(raw, start, end, cut_bytes), encoding_errors)
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


def anchor_cut(before: bytes, after: bytes) -> tuple[int, bool] | None:
    """Where a long line is cut at an anchor (every multiple of ``cut_bytes`` of the file's offsets): the
    index in ``after`` (the bytes from the anchor on, up to ``cut_bytes``) where a line break goes, and
    whether it replaces the byte there (a space) or is inserted before it; None for no cut.

    A line is cut only where it has run a whole window ``before`` (the ``cut_bytes`` bytes up to the
    anchor) without a break: at the first space or tab of ``after``, unless a line break comes first; or,
    when ``before`` holds no space either (a "word" of megabytes: not text), at the anchor itself, moved on
    to the next UTF-8 character start. The rule reads only the bytes around its anchor, so a piece of the
    file read on its own cuts exactly where a pass over the whole file does; a text8-style file (one line)
    becomes lines of about ``cut_bytes`` bytes, as word2vec.c cuts its sentences at 1000 words."""
    if not after or BREAK.search(before):
        return None
    if not SPACE.search(before):
        index = 0
        while index < len(after) and 0x80 <= after[index] < 0xC0:  # a UTF-8 continuation byte
            index += 1
        return index, False
    found = WHITESPACE.search(after)
    return (found.start(), True) if found and found.group() in b" \t" else None


def _cut_blocks(raw, start: int, end: int | None, cut_bytes: int) -> Iterator[bytes]:
    """The bytes [start, end) of an open binary file, in blocks between anchors, with the cuts of
    :func:`anchor_cut` made into line breaks. Each anchor in [start, end) is judged here; one at ``end``
    belongs to the next piece."""
    anchor = max(cut_bytes, -(-start // cut_bytes) * cut_bytes)  # the first anchor after start (or at it)
    if start:
        raw.seek(anchor - cut_bytes)
    window = raw.read(cut_bytes)  # [anchor - cut_bytes, anchor): the rule's "before"
    part_start = max(start, anchor - cut_bytes)
    part = window[part_start - (anchor - cut_bytes):]
    cut = None
    while True:
        if end is not None and anchor >= end:
            yield _with_cut(part[: end - part_start], cut)
            return
        after = raw.read(cut_bytes if end is None else min(cut_bytes, end - anchor))
        next_cut = anchor_cut(window, after) if len(window) == cut_bytes else None
        yield _with_cut(part, cut)
        if not after:
            return
        window = part = after
        cut, part_start, anchor = next_cut, anchor, anchor + cut_bytes


def _with_cut(block: bytes, cut: tuple[int, bool] | None) -> bytes:
    if cut is None:
        return block
    index, replace = cut
    return block[:index] + b"\n" + block[index + replace:]


def _decoded_lines(blocks: Iterator[bytes], encoding_errors: str) -> Iterator[str]:
    """The lines of a stream of byte blocks: each stretch up to its last line break decoded at once."""
    carry, after_cr = b"", False
    for block in itertools.chain(blocks, [None]):
        data = carry + block if block is not None else carry
        end = len(data) if block is None else max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        if not end:
            carry = data
            continue
        text, carry = data[:end].decode("utf-8", encoding_errors), data[end:]
        if after_cr and text.startswith("\n"):  # a \r\n split between two stretches
            text = text[1:]
        after_cr = text.endswith("\r")
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        yield from lines if block is None else lines[:-1]


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
            try:
                return f"datasets.Dataset ({len(self.dataset)} rows, column {self.text_column!r})"
            except TypeError:  # an IterableDataset (streaming=True) has no length
                return f"datasets.IterableDataset (streamed, column {self.text_column!r})"
        return "in-memory texts"

    def lines(self) -> Iterator[str]:
        """Every line of every input, in order."""
        if self.dataset is not None:
            yield from dataset_lines(self.dataset, self.text_column, "dataset")
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
                yield from dataset_lines(load_local_dataset(path, dataset_format), self.text_column, path)
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


def load_local_dataset(path: str, dataset_format: str):
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a declared dependency
        raise W2VError(f"{path}: reading {dataset_format} files needs the 'datasets' package") from None
    try:
        return datasets.load_dataset(dataset_format, data_files=path, split="train")
    except Exception as exc:  # datasets raises many types for unreadable files
        raise W2VError(f"{path}: cannot read as {dataset_format}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def dataset_lines(dataset: Any, column: str, name: str) -> Iterator[str]:
    """The lines of a dataset's text column, read a thousand rows at a time (a streamed dataset too)."""
    if hasattr(dataset, "keys") and not hasattr(dataset, "column_names"):
        raise W2VError(f"{name}: a DatasetDict; pass one split, e.g. dataset['train']")
    columns = dataset.column_names  # None for some streamed datasets until a row is read
    if columns is not None and column not in columns:
        raise W2VError(f"{name}: no column {column!r} (columns: {', '.join(columns)}); use --text-column")
    for batch in dataset.iter(batch_size=1000):
        if column not in batch:
            raise W2VError(f"{name}: no column {column!r} (columns: {', '.join(batch)}); use --text-column")
        for text in batch[column]:
            if text:
                yield from str(text).split("\n")
