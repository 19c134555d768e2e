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

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from ..config import TokenizerOptions
from ..fileio import atomic_write
from .crc import file_crc32
from .encode import encode
from .pieces import plan
from .readers import CorpusSource

log = logging.getLogger("w2v_contrastive")

#: 3: long lines cut at anchors (readers.anchor_cut), so that pieces can be read on their own
FORMAT_VERSION = 3


#: what meta.json says about the encoding, kept with the corpus (and written to a run's config.json)
ENCODING_FACTS = ("seconds", "tokens_per_second", "workers", "pieces", "pieces_seconds", "vocabulary_seconds",
                  "merge_seconds")


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_cache_dir() -> str:
    base = os.environ.get("W2V_CONTRASTIVE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "w2v-contrastive")
    return base


@dataclass
class EncodedCorpus:
    """Token ids (``int32``, memory-mapped), line starts (``int64[n_lines + 1]``) and the full vocabulary
    (``words[i]`` occurs ``counts[i]`` times, counts non-increasing). A torchrun rank's shard (shards.py)
    holds the ids of its own lines only, ``stored_lines``, which begin at corpus token ``first_token``;
    the line starts and the vocabulary are always the whole corpus's."""

    tokens: np.ndarray
    line_starts: np.ndarray
    words: list[str]
    counts: np.ndarray
    description: str
    directory: str | None = None
    #: how it was encoded (meta.json): seconds, tokens_per_second, workers, pieces, ...
    encoding: dict = field(default_factory=dict)
    from_cache: bool = False
    first_token: int = 0
    #: (first line, end line) whose ids ``tokens`` holds; None: every line
    shard_lines: tuple[int, int] | None = None

    @property
    def seconds(self) -> float:
        """Seconds the encoding took (when it was built, not when it was read from the cache)."""
        return float(self.encoding.get("seconds", 0.0))

    @property
    def n_tokens(self) -> int:
        return int(self.line_starts[-1])

    @property
    def stored_lines(self) -> tuple[int, int]:
        """(first line, end line) of the lines whose token ids this process holds."""
        return self.shard_lines or (0, self.n_lines)

    @property
    def n_lines(self) -> int:
        return int(self.line_starts.shape[0] - 1)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Token ids [start, stop) as a fresh array. A cached corpus is read from its file, not through
        the memory map, so a pass over a corpus larger than RAM leaves no mapped pages behind and the
        process's resident memory does not grow with the corpus."""
        if start < self.first_token or stop > self.first_token + len(self.tokens):
            raise ValueError(f"tokens [{start}, {stop}) are not in this shard of the corpus (lines "
                             f"{self.stored_lines[0]} to {self.stored_lines[1]})")
        start, stop = start - self.first_token, stop - self.first_token
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


def load_or_build(source: CorpusSource, options: TokenizerOptions, cache_dir: str | None = None,
                  workers: int | None = None, progress: bool = False) -> EncodedCorpus:
    """Return the encoded corpus, from the cache when a valid entry exists, else encode and cache it with
    ``workers`` processes (default: one per core), showing the progress when ``progress``."""
    workers = workers or default_workers()
    return load_or_encode(source, options, "", cache_dir,
                          lambda directory: encode(plan(source, workers), options, directory, workers, progress))


def load_or_encode(source: CorpusSource, options: TokenizerOptions, suffix: str, cache_dir: str | None,
                   encode_into: Callable[[str], dict], all_valid: Callable[[bool], bool] = bool) -> EncodedCorpus:
    """The corpus cached in ``<cache_dir>/<key><suffix>``, when it is valid (and ``all_valid`` of that
    agrees: under torchrun, on every rank), else ``encode_into(directory)`` encodes it into a temporary
    folder (returning the facts :func:`write_meta` records), renamed into place. Without a key (in-memory
    or streamed input): into a temporary folder, removed once the corpus is memory-mapped."""
    key, description = cache_key(source, options), source.describe()

    def build(directory: str) -> None:
        started = time.perf_counter()
        write_meta(directory, source, options, encode_into(directory), started)

    if key is None:
        directory = tempfile.mkdtemp(prefix="w2v-contrastive-corpus-")
        _build_into(build, directory)
        corpus = _load(directory, description, check_sums=False)
        shutil.rmtree(directory, ignore_errors=True)
        corpus.directory = None
        return corpus
    cache_dir = cache_dir or default_cache_dir()
    final = os.path.join(cache_dir, key + suffix)
    corpus = _load(final, description) if os.path.exists(final) else None
    if all_valid(corpus is not None):
        corpus.from_cache = True
        return corpus
    if os.path.exists(final) and corpus is None:
        log.warning("corpus cache %s is damaged or stale; rebuilding it", final)
    os.makedirs(cache_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{key}{suffix}.partial-", dir=cache_dir)
    _build_into(build, work)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    return _load(final, description, check_sums=False)  # just written: its sums were computed as it was


def _build_into(build: Callable[[str], None], directory: str) -> None:
    try:
        build(directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def words_digest(words: list[str]) -> str:
    """SHA-256 of a word list (identifies a vocabulary)."""
    return hashlib.sha256("\n".join(words).encode()).hexdigest()


def _load(directory: str, description: str, check_sums: bool = True) -> EncodedCorpus | None:
    """The corpus cached in ``directory``, or None when any file is missing or disagrees with meta.json
    (sizes, checksums unless ``check_sums`` is off, vocabulary)."""
    try:
        with open(os.path.join(directory, "meta.json"), encoding="utf-8") as handle:
            meta = json.load(handle)
        tokens_path = os.path.join(directory, "tokens.int32")
        lines_path = os.path.join(directory, "lines.int64")
        if meta.get("format") != FORMAT_VERSION:
            return None
        stored = meta.get("shard", {}).get("tokens", meta["n_tokens"])
        if os.path.getsize(tokens_path) != 4 * stored or os.path.getsize(lines_path) != 8 * (meta["n_lines"] + 1):
            return None
        if check_sums and (file_crc32(tokens_path) != meta["tokens_crc32"] or file_crc32(lines_path) != meta["lines_crc32"]):
            return None
        with open(os.path.join(directory, "vocab.tsv"), encoding="utf-8") as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle]
        if len(rows) != meta["n_types"] or words_digest([r[0] for r in rows]) != meta["vocab_sha256"]:
            return None
        counts = np.array([int(r[1]) for r in rows], dtype=np.int64)
    except (OSError, ValueError, KeyError, IndexError):  # json.JSONDecodeError is a ValueError
        return None
    tokens = np.memmap(tokens_path, dtype=np.int32, mode="r") if stored else np.zeros(0, np.int32)
    line_starts = np.fromfile(lines_path, dtype=np.int64)
    encoding = {key: meta[key] for key in ENCODING_FACTS if key in meta}
    shard = meta.get("shard")
    return EncodedCorpus(tokens, line_starts, [r[0] for r in rows], counts, description, directory, encoding,
                         first_token=shard["first_token"] if shard else 0,
                         shard_lines=(shard["first_line"], shard["end_line"]) if shard else None)


def write_meta(directory: str, source: CorpusSource, options: TokenizerOptions, built: dict, started: float) -> None:
    """Write vocab.tsv and meta.json for what :func:`encode.encode` (or a shard's build) made."""
    if built["replaced_bytes"]:
        log.warning("%s: replaced %d undecodable bytes with U+FFFD", source.describe(), built["replaced_bytes"])
    write_vocabulary(directory, built["words"], built["counts"])
    seconds = time.perf_counter() - started
    meta = {
        "format": FORMAT_VERSION,
        "source": source.describe(),
        "options": asdict(options),
        "n_tokens": built["n_tokens"],
        "n_lines": built["n_lines"],
        "n_types": len(built["words"]),
        "vocab_sha256": words_digest(built["words"]),
        "tokens_crc32": built["tokens_crc32"],
        "lines_crc32": built["lines_crc32"],
        "replaced_bytes": built["replaced_bytes"],
        "seconds": seconds,
        "tokens_per_second": built["n_tokens"] / max(seconds, 1e-9),
        **{key: built[key] for key in ("workers", "pieces", "pieces_seconds", "vocabulary_seconds", "merge_seconds",
                                       "each_piece_seconds", "shard") if key in built},
    }
    with atomic_write(os.path.join(directory, "meta.json")) as handle:
        json.dump(meta, handle, indent=2)


def write_vocabulary(directory: str, words: list[str], counts: np.ndarray) -> None:
    with atomic_write(os.path.join(directory, "vocab.tsv")) as handle:
        handle.writelines(f"{w}\t{c}\n" for w, c in zip(words, counts.tolist()))
