"""Normalisation and word splitting.

Text is NFKC-normalised and lowercased (Python's ``unicodedata``, the same Unicode algorithm as
``tokenizers.normalizers.NFKC``, three times faster here because it runs once per text instead of
once per pass). A ``tokenizers`` normalizer then decides the word boundaries: it replaces every run of
characters that belongs to no word with one space and, when punctuation is kept, puts a space on each
side of every punctuation mark or symbol. What is left is words separated by spaces, lines by
``"\\n"``, and ``str.split`` cuts it in one C call per line.

By default a word is a run of letters (with combining marks): punctuation and digits are dropped.
``keep_digits`` and ``keep_punctuation`` keep them (each punctuation mark or symbol its own token);
``pretokenized`` only splits on whitespace and leaves the text as it is.

Why a normalizer and not a ``tokenizers`` pre-tokenizer with a word-level model: that design needs two
passes in Rust (count the words to build the vocabulary, then encode) at about 2M tokens/s each on
two cores, so it cannot reach 1M tokens/s end to end; one normalizer pass plus a Python dictionary that
numbers words as they first appear does (see README, "Benchmarks").
"""

from __future__ import annotations

import functools
import itertools
import unicodedata

from tokenizers import Regex, normalizers

from ..config import TokenizerOptions

PUNCTUATION = r"\p{P}\p{S}"


def normalize(text: str, options: TokenizerOptions) -> str:
    """Apply the options' normalisation (NFKC, lowercase) to a block of text."""
    if options.pretokenized:
        return text
    if options.nfkc and not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.lower() if options.lowercase else text


@functools.lru_cache(maxsize=None)
def word_separator(keep_digits: bool, keep_punctuation: bool) -> normalizers.Normalizer:
    """The ``tokenizers`` normalizer that leaves only words, single spaces between them, and line breaks."""
    kept = r"\p{L}\p{M}" + (r"\p{N}" if keep_digits else "") + (PUNCTUATION if keep_punctuation else "")
    steps = [normalizers.Replace(Regex(f"[^{kept} \\n]+"), " ")]
    if keep_punctuation:  # zero-width matches before and after each mark: a space on each side
        steps.append(normalizers.Replace(Regex(f"(?=[{PUNCTUATION}])|(?<=[{PUNCTUATION}])"), " "))
    return normalizers.Sequence(steps)


def split_lines(block: str, options: TokenizerOptions) -> list[list[str]]:
    """The words of each ``\\n``-separated line of a normalised block (empty lists for empty lines)."""
    if not options.pretokenized:
        block = word_separator(options.keep_digits, options.keep_punctuation).normalize_str(block)
    return [line.split() for line in block.split("\n")]


def tokenize(text: str, options: TokenizerOptions) -> list[str]:
    """The words of one text, as the corpus pipeline sees them (for tests and inspection)."""
    return list(itertools.chain.from_iterable(split_lines(normalize(text, options), options)))
