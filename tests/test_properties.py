"""Property-based tests (hypothesis): readers, tokenization, vocabulary and vector files hold their
invariants for any input, not just the examples in the other tests."""

import bz2
import collections
import gzip
import lzma
import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from w2v_contrastive import TokenizerOptions, Vectors, Vocabulary, load, prepare_corpus
from w2v_contrastive.corpus.readers import iter_file_lines
from w2v_contrastive.corpus.tokenize import normalize, split_lines, tokenize

OPENERS = {".txt": open, ".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# any text without line breaks (\r and \n are line ends for every reader); no lone surrogates (not UTF-8)
LINE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40)
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
WORD = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")).filter(lambda c: not c.isspace()),
               min_size=1, max_size=12)
OPTIONS = st.builds(TokenizerOptions, lowercase=st.booleans(), keep_digits=st.booleans(),
                    keep_punctuation=st.booleans())
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(lines=st.lists(LINE_TEXT, max_size=20), suffix=st.sampled_from(sorted(OPENERS)))
def test_readers_give_back_every_line_of_any_file(lines, suffix):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "corpus" + suffix)
        with OPENERS[suffix](path, "wb") as handle:
            handle.write("".join(line + "\n" for line in lines).encode("utf-8"))
        assert list(iter_file_lines(path)) == lines


@SETTINGS
@given(text=ANY_TEXT, options=OPTIONS)
def test_tokens_are_nonempty_words_without_spaces_and_tokenizing_is_idempotent(text, options):
    tokens = tokenize(text, options)
    assert all(token and not any(ch.isspace() for ch in token) for token in tokens)
    assert tokenize(" ".join(tokens), options) == tokens


@SETTINGS
@given(lines=st.lists(LINE_TEXT, min_size=1, max_size=10), options=OPTIONS)
def test_lines_never_merge_or_split(lines, options):
    block = normalize("\n".join(lines), options)
    assert len(split_lines(block, options)) == len(lines)


@SETTINGS
@given(words=st.lists(st.sampled_from("the of a cat dog sat mat on in".split()) | WORD, min_size=1, max_size=300),
       min_count=st.integers(1, 4), max_vocab=st.none() | st.integers(1, 6))
def test_vocabulary_is_the_count_sorted_prefix_of_the_corpus(words, min_count, max_vocab):
    options = TokenizerOptions(pretokenized=True)
    corpus = prepare_corpus((" ".join(words[i : i + 7]) for i in range(0, len(words), 7)), options)  # texts
    counts = collections.Counter(words)
    assert dict(zip(corpus.words, corpus.counts.tolist())) == counts
    assert sorted(counts, key=lambda w: (-counts[w], w)) == corpus.words
    expected = [w for w in corpus.words if counts[w] >= min_count][:max_vocab]
    if not expected:
        return
    vocab = Vocabulary.from_corpus(corpus, min_count, max_vocab)
    assert vocab.words == expected and vocab.total == sum(counts[w] for w in expected)
    keep = vocab.keep_probabilities(1e-2)
    assert ((keep > 0) & (keep <= 1)).all()
    decoded = [corpus.words[i] for i in np.asarray(corpus.tokens)]
    assert decoded == words


@SETTINGS
@given(words=st.lists(WORD, min_size=1, max_size=30, unique=True), dim=st.integers(1, 6), data=st.data())
def test_every_vector_format_round_trips_exactly(words, dim, data):
    values = data.draw(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False),
                                min_size=len(words) * dim, max_size=len(words) * dim))
    table = Vectors(words, np.array(values, dtype=np.float32).reshape(len(words), dim))
    with tempfile.TemporaryDirectory() as directory:
        for name, save in (("v.txt", table.save_word2vec_text), ("v.bin", table.save_word2vec_binary),
                           ("npy", table.save_npy)):
            path = os.path.join(directory, name)
            save(path)
            back = load(path)
            assert back.words == words
            assert np.array_equal(back.matrix, table.matrix)
