import collections
import json
import lzma
import os
import re
import unicodedata

import numpy as np

from w2v_contrastive import prepare_corpus
from tests.conftest import SMALL_CORPUS


def test_encoding_matches_a_direct_count_and_keeps_line_boundaries(small_corpus):
    with lzma.open(SMALL_CORPUS, "rt", encoding="utf-8") as handle:
        lines = [re.findall(r"[^\W\d_]+", unicodedata.normalize("NFKC", line).lower()) for line in handle]
    lines = [words for words in lines if words]
    expected = collections.Counter(w for words in lines for w in words)
    corpus = small_corpus
    assert corpus.n_tokens == sum(expected.values())
    assert corpus.n_lines == len(lines)
    for word in ["the", "and", "marjorie", "peas"]:
        assert corpus.counts[corpus.words.index(word)] == expected[word]
    assert all(corpus.counts[:-1] >= corpus.counts[1:])
    # line 0 decodes back to the first line's words
    first = [corpus.words[i] for i in corpus.tokens[corpus.line_starts[0]:corpus.line_starts[1]]]
    assert first == lines[0]


def test_second_run_comes_from_the_cache_and_damage_forces_a_rebuild(small_corpus, cache_dir):
    again = prepare_corpus(SMALL_CORPUS, cache_dir=cache_dir)
    assert again.from_cache and again.directory == small_corpus.directory
    meta_path = os.path.join(again.directory, "meta.json")
    meta = json.load(open(meta_path))
    meta["n_tokens"] += 1
    json.dump(meta, open(meta_path, "w"))
    rebuilt = prepare_corpus(SMALL_CORPUS, cache_dir=cache_dir)
    assert not rebuilt.from_cache
    assert rebuilt.n_tokens == small_corpus.n_tokens
    assert np.array_equal(np.asarray(rebuilt.tokens[:1000]), np.asarray(small_corpus.tokens[:1000]))
