"""The encoded corpus and its on-disk cache.

An :class:`EncodedCorpus` is the whole corpus as token ids into its *full* vocabulary (every word
that occurs, sorted by decreasing count), held as a memory-mapped ``int32`` array, plus the start
offset of every line. Vocabulary cuts (``min_count``, ``max_vocab``) are applied later, at training
time, so one cache serves every vocabulary setting.

The cache lives in ``<cache_dir>/<key>/`` where the key hashes the inputs (paths, sizes, modification
times, or a dataset fingerprint) and the tokenization options. It is built in a temporary folder and
renamed into place, and its metadata records the array sizes and their CRC-32 checksums, so a
half-written, stale or damaged cache is rebuilt rather than trusted.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import logging
import os
import shutil
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np

from ..config import TokenizerOptions
from ..fileio import atomic_write
from .readers import CorpusSource
from .tokenize import normalize, split_lines

log = logging.getLogger("w2v_contrastive")

FORMAT_VERSION = 2
BLOCK_CHARS = 1 << 16
CHUNK_TOKENS = 1 << 24
CHECKSUM_BLOCK = 1 << 24


def default_cache_dir() -> str:
    base = os.environ.get("W2V_CONTRASTIVE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "w2v-contrastive")
    return base


@dataclass
class EncodedCorpus:
    """Token ids (``int32[n_tokens]``, memory-mapped), line starts (``int64[n_lines + 1]``) and the
    full vocabulary (``words[i]`` occurs ``counts[i]`` times, counts non-increasing)."""

    tokens: np.ndarray
    line_starts: np.ndarray
    words: list[str]
    counts: np.ndarray
    description: str
    directory: str | None = None
    seconds: float = 0.0
    from_cache: bool = False

    @property
    def n_tokens(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def n_lines(self) -> int:
        return int(self.line_starts.shape[0] - 1)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Token ids [start, stop) as a fresh array. A cached corpus is read from its file, not through
        the memory map, so a pass over a corpus larger than RAM leaves no mapped pages behind and the
        process's resident memory does not grow with the corpus."""
        if self.directory is None:
            return np.array(self.tokens[start:stop])
        return np.fromfile(os.path.join(self.directory, "tokens.int32"), dtype=np.int32, count=stop - start,
                           offset=4 * start)


def cache_key(source: CorpusSource, options: TokenizerOptions) -> str | None:
    fingerprint = source.fingerprint()
    if fingerprint is None:
        return None
    digest = hashlib.sha256(f"v{FORMAT_VERSION}\0{fingerprint}\0".encode())
    digest.update(json.dumps(asdict(options), sort_keys=True).encode())
    return digest.hexdigest()[:32]


def load_or_build(source: CorpusSource, options: TokenizerOptions, cache_dir: str | None = None) -> EncodedCorpus:
    """Return the encoded corpus, from the cache when a valid entry exists, else encode and cache it."""
    key = cache_key(source, options)
    cache_dir = cache_dir or default_cache_dir()
    if key is None:  # in-memory text: encode into a temporary folder, removed once memory-mapped
        directory = tempfile.mkdtemp(prefix="w2v-contrastive-corpus-")
        _build_into(source, options, directory)
        corpus = _load(directory, source.describe())
        shutil.rmtree(directory, ignore_errors=True)
        corpus.directory = None
        return corpus
    final = os.path.join(cache_dir, key)
    if os.path.exists(final):
        corpus = _load(final, source.describe())
        if corpus is not None:
            corpus.from_cache = True
            return corpus
        log.warning("corpus cache %s is damaged or stale; rebuilding it", final)
    os.makedirs(cache_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{key}.partial-", dir=cache_dir)
    _build_into(source, options, work)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    return _load(final, source.describe())


def _build_into(source: CorpusSource, options: TokenizerOptions, directory: str) -> None:
    try:
        _build(source, options, directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def words_digest(words: list[str]) -> str:
    """SHA-256 of a word list (identifies a vocabulary)."""
    return hashlib.sha256("\n".join(words).encode()).hexdigest()


def file_crc32(path: str) -> int:
    """CRC-32 of a file's bytes, read in blocks (about 1 GB/s)."""
    crc = 0
    with open(path, "rb") as handle:
        while block := handle.read(CHECKSUM_BLOCK):
            crc = zlib.crc32(block, crc)
    return crc


def _load(directory: str, description: str) -> EncodedCorpus | None:
    """The corpus cached in ``directory``, or None when any file is missing or disagrees with meta.json
    (sizes, checksums, vocabulary)."""
    try:
        with open(os.path.join(directory, "meta.json"), encoding="utf-8") as handle:
            meta = json.load(handle)
        tokens_path = os.path.join(directory, "tokens.int32")
        lines_path = os.path.join(directory, "lines.int64")
        if meta.get("format") != FORMAT_VERSION:
            return None
        if os.path.getsize(tokens_path) != 4 * meta["n_tokens"] or os.path.getsize(lines_path) != 8 * (meta["n_lines"] + 1):
            return None
        if file_crc32(tokens_path) != meta["tokens_crc32"] or file_crc32(lines_path) != meta["lines_crc32"]:
            return None
        with open(os.path.join(directory, "vocab.tsv"), encoding="utf-8") as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle]
        if len(rows) != meta["n_types"] or words_digest([r[0] for r in rows]) != meta["vocab_sha256"]:
            return None
        counts = np.array([int(r[1]) for r in rows], dtype=np.int64)
    except (OSError, ValueError, KeyError, IndexError):  # json.JSONDecodeError is a ValueError
        return None
    tokens = np.memmap(tokens_path, dtype=np.int32, mode="r") if meta["n_tokens"] else np.zeros(0, np.int32)
    line_starts = np.fromfile(lines_path, dtype=np.int64)
    return EncodedCorpus(tokens, line_starts, [r[0] for r in rows], counts, description, directory, meta["seconds"])


def _text_blocks(source: CorpusSource, options: TokenizerOptions, replaced: list[int]) -> Iterator[str]:
    """Normalised text in blocks of about BLOCK_CHARS, one input line per ``\\n``-separated line."""
    pending: list[str] = []
    size = 0
    for line in source.lines():
        line = line.strip()
        if not line:
            continue
        pending.append(line)
        size += len(line)
        if size >= BLOCK_CHARS:
            yield _finish_block(pending, options, replaced)
            pending, size = [], 0
    if pending:
        yield _finish_block(pending, options, replaced)


def _finish_block(lines: list[str], options: TokenizerOptions, replaced: list[int]) -> str:
    text = normalize("\n".join(lines), options)
    if options.encoding_errors == "replace":
        replaced[0] += text.count("\ufffd")
    return text


def _token_chunks(handle, n_tokens: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start, ids) for consecutive chunks of CHUNK_TOKENS ids of an open int32 file."""
    for start in range(0, n_tokens, CHUNK_TOKENS):
        handle.seek(4 * start)
        yield start, np.fromfile(handle, dtype=np.int32, count=min(CHUNK_TOKENS, n_tokens - start))


def _build(source: CorpusSource, options: TokenizerOptions, directory: str) -> None:
    """Encode in one pass: words get provisional ids in order of first appearance, renumbered by count at the end."""
    started = time.perf_counter()
    first_seen: collections.defaultdict[str, int] = collections.defaultdict(itertools.count().__next__)
    line_lengths: list[np.ndarray] = []
    replaced = [0]
    raw_tokens_path = os.path.join(directory, "tokens.int32")
    with open(raw_tokens_path, "wb") as out:
        for block in _text_blocks(source, options, replaced):
            lines = split_lines(block, options)
            lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
            line_lengths.append(lengths[lengths > 0])
            np.fromiter(map(first_seen.__getitem__, itertools.chain.from_iterable(lines)), dtype=np.int32).tofile(out)
    if replaced[0]:
        log.warning("%s: replaced %d undecodable bytes with U+FFFD", source.describe(), replaced[0])
    raw_words = list(first_seen)  # insertion order is id order
    n_tokens = os.path.getsize(raw_tokens_path) // 4
    counts = np.zeros(len(raw_words), dtype=np.int64)
    with open(raw_tokens_path, "r+b") as handle:  # chunked reads and writes, not a memory map: RSS stays flat
        for _, chunk in _token_chunks(handle, n_tokens):
            counts += np.bincount(chunk, minlength=len(raw_words))
        order = sorted(range(len(raw_words)), key=lambda i: (-counts[i], raw_words[i]))
        new_id = np.empty(len(raw_words), dtype=np.int32)
        new_id[order] = np.arange(len(order), dtype=np.int32)
        tokens_crc32 = 0  # of the renumbered file, as it is written (no second read)
        for start, chunk in _token_chunks(handle, n_tokens):
            renumbered = new_id[chunk]
            handle.seek(4 * start)
            renumbered.tofile(handle)
            tokens_crc32 = zlib.crc32(renumbered, tokens_crc32)
    lengths = np.concatenate(line_lengths) if line_lengths else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    starts.tofile(os.path.join(directory, "lines.int64"))
    words = [raw_words[i] for i in order]
    with atomic_write(os.path.join(directory, "vocab.tsv")) as handle:
        handle.writelines(f"{w}\t{counts[i]}\n" for w, i in zip(words, order))
    meta = {
        "format": FORMAT_VERSION,
        "source": source.describe(),
        "options": asdict(options),
        "n_tokens": n_tokens,
        "n_lines": int(len(lengths)),
        "n_types": len(words),
        "vocab_sha256": words_digest(words),
        "tokens_crc32": tokens_crc32,
        "lines_crc32": file_crc32(os.path.join(directory, "lines.int64")),
        "replaced_bytes": replaced[0],
        "seconds": time.perf_counter() - started,
    }
    with atomic_write(os.path.join(directory, "meta.json")) as handle:
        json.dump(meta, handle, indent=2)
