"""Subword (fastText) training: n-grams and their hashes, every head training its n-gram rows, vectors for words
outside the vocabulary, and evaluation that covers every benchmark pair."""

import numpy as np
import pytest
import torch

from w2v_contrastive import HEADS, W2VError, evaluate, train
from w2v_contrastive.cli import main
from w2v_contrastive.heads import build_head
from w2v_contrastive.subwords import Subwords
from w2v_contrastive.train.setup import build_model

from .conftest import SMALL_CORPUS


def fnv1a(data: bytes) -> int:
    """fastText's 32-bit FNV-1a, each byte a sign-extended C char (written out here as the test's reference)."""
    h = 2166136261
    for byte in data:
        h = ((h ^ (byte if byte < 128 else byte | 0xFFFFFF00)) * 16777619) & 0xFFFFFFFF
    return h


def test_the_ngrams_of_a_word_come_in_fasttexts_order_with_fasttexts_hash():
    # "<where>", 3-4 characters: by start, then by length; "e>" is too short
    expected = ["<wh", "<whe", "whe", "wher", "her", "here", "ere", "ere>", "re>"]
    # h = 0x811C9DC5; for each byte: h = (h ^ byte) * 16777619 mod 2^32
    # "<" 0x3C: 0x811C9DF9 -> 0x390CAEFB; "w" 0x77: 0x390CAE8C -> 0x5AF6C664; "h" 0x68: 0x5AF6C60C -> 0x3E79C4E4
    assert fnv1a(b"<wh") == 0x3E79C4E4
    # "é" is 0xC3 0xA9: each sign-extended (0xFFFFFFC3, 0xFFFFFFA9), as fastText's C char is signed
    assert fnv1a("é".encode()) == 1_023_043_777
    buckets, counts = Subwords(3, 4, 1000).buckets_of(["where"])
    assert counts.tolist() == [9] and buckets[0].tolist() == [fnv1a(g.encode()) % 1000 for g in expected]
    # a repeated n-gram counts twice; a word too short for min_n has none
    buckets, counts = Subwords(3, 3, 10**6).buckets_of(["aaaa", "a"])
    assert counts.tolist() == [4, 1] and buckets[0, 1] == buckets[0, 2] == fnv1a(b"aaa") % 10**6
    assert Subwords(4, 6).buckets_of(["a"])[1].tolist() == [0]


def test_the_buckets_are_gensims_and_fasttexts_for_any_script():
    """UTF-8 n-grams are cut at character boundaries and bytes >= 128 sign-extended (gensim reproduces
    fastText's C++ here: its ft_ngram_hashes is the oracle)."""
    from gensim.models.fasttext import ft_ngram_hashes

    words = ["naïve", "straße", "日本語テキスト", "ǅemal", "emoji🙂x", "a", "x" * 40]
    buckets, counts = Subwords(3, 6).buckets_of(words)
    for word, row, count in zip(words, buckets, counts):
        assert row[:count].tolist() == ft_ngram_hashes(word, 3, 6, 2_000_000), word
        assert (row[count:] == -1).all()


def test_each_words_input_rows_are_its_own_then_its_ngrams_after_the_vocabulary():
    rows = Subwords(3, 4, 50).input_rows(["where", "here"])
    buckets, counts = Subwords(3, 4, 50).buckets_of(["where", "here"])
    assert rows[:, 0].tolist() == [0, 1]
    assert rows[0, 1:10].tolist() == (buckets[0, :9] + 2).tolist() and (rows[1, 1 + counts[1]:] == -1).all()


@pytest.mark.parametrize("spec", ["3", "6-3", "0-2", "a-b", "3-"])
def test_a_bad_subwords_setting_is_one_line(spec, capsys):
    with pytest.raises(W2VError, match="subwords must be MIN-MAX"):
        Subwords.parse(spec)
    assert main(["train", "--corpus", SMALL_CORPUS, "--out", "unused", "--subwords", spec]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert Subwords.parse("0") is None and Subwords.parse("2-5", 7) == Subwords(2, 5, 7)


CASES = [(name, {}) for name in sorted(HEADS)] + [("negative-sampling", {"model": "cbow"}),
                                                   ("infonce", {"model": "cbow", "fused_cpu": False})]


@pytest.mark.parametrize("name,settings", CASES, ids=[n + "".join(f"-{k}={v}" for k, v in s.items()) for n, s in CASES])
def test_every_head_trains_the_ngram_rows(small_corpus, name, settings):
    """Every head (and both models, on the fused kernel and the row step) moves nearly every n-gram row (the
    3,000 buckets hold the n-grams of the words of 20,000 tokens), and a word's vector is the mean of its row
    and its n-grams' rows."""
    result = train(small_corpus, name, subwords="3-4", buckets=3000, dim=16, max_words=20_000, progress=False,
                   **settings)
    assert np.isfinite(result.stats.final_loss)
    table = result.model.input.weight.detach()
    words = len(result.vocab)
    torch.manual_seed(result.config.seed)  # the initial table, drawn as the trainer draws it (the model first)
    initial = build_model(result.config, result.vocab.words, build_head(name, result.config)).input.weight.detach()
    assert table.shape == initial.shape == (words + 3000, 16)
    assert (table == initial).all(1).any()  # (the rows no trained word reaches are as drawn: it is that table)
    moved = (table[words:] != initial[words:]).any(1).float().mean()
    assert moved > 0.9, moved  # (measured: 95-99%; the word rows: 38-96%)
    rows = result.model.subwords[7]
    np.testing.assert_allclose(result.vectors.vector(result.vocab.words[7]), table[rows[rows >= 0]].mean(0),
                               rtol=1e-5, atol=1e-6)


def test_a_word_outside_the_vocabulary_is_the_mean_of_its_ngram_rows(subword_run):
    _, result = subword_run
    vectors = result.vectors
    word = "unthinkablest"
    assert word not in vectors and vectors.covers(word)
    buckets, count = vectors.subwords.units.buckets_of([word])
    expected = vectors.subwords.ngrams[buckets[0, : count[0]]].mean(0)
    np.testing.assert_allclose(vectors.vector(word), expected, rtol=1e-5, atol=1e-6)
    table = result.model.input.weight.detach().numpy()
    np.testing.assert_array_equal(vectors.subwords.ngrams, table[len(vectors):])
    # an unseen form finds its stem's words through their shared n-grams (measured: thinker 0.82, then knowest, thinks)
    assert "thinkest" not in vectors and any(w.startswith("think") for w, _ in vectors.most_similar("thinkest", 3))


def test_a_subword_model_covers_every_benchmark_pair(subword_run, random_baseline):
    out, result = subword_run
    rows = evaluate(out, ["wordsim353", "simlex999", "men3k"], oov="subwords", interval=False)
    assert [r["covered"] for r in rows] == [r["pairs"] for r in rows] == [353, 999, 3000]
    men = rows[2]
    # all 3,000 MEN pairs (random vectors: about 0 +- 1/sqrt(3000) = 0.018; measured 0.313), and the 1,397 in the
    # vocabulary, held to test_training.py's bar (measured 0.464)
    mean, spread, covered = random_baseline(result.vocab.words)
    assert men["spearman"] > 0.15 and men["in_vocabulary"]["covered"] == covered == 1397
    assert men["in_vocabulary"]["spearman"] > max(0.25, mean + 5 * spread), men


def test_the_cli_evaluates_and_finds_neighbours_outside_the_vocabulary(subword_run, capsys, tmp_path):
    out, _ = subword_run
    assert main(["evaluate", out, "--benchmark", "men3k", "--oov", "subwords"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "covered 3000/3000 (with subword vectors)" in printed[0] and "covered 1397/3000" in printed[1]
    assert main(["neighbors", out, "Unthinkablest", "-k", "3"]) == 0
    assert capsys.readouterr().out.startswith("Unthinkablest: ")
    assert main(["export", out, "--out", str(tmp_path / "plain.txt")]) == 0
    plain = tmp_path / "words-only.txt"
    plain.write_text("2 2\nking 1 0\nqueen 0 1\n")
    assert main(["evaluate", str(plain), "--oov", "subwords"]) == 2
    assert "trained without subwords" in capsys.readouterr().err


def test_the_model_composes_a_tied_context_from_its_ngram_rows_too():
    """With tied tables (the metric-learning heads' default) the scored context's vector is its word vector."""
    from w2v_contrastive.model import SkipGram

    rows = torch.from_numpy(Subwords(2, 3, 10).input_rows(["ab", "ba"]))
    model = SkipGram(2, 4, tied=True, subwords=rows, buckets=10)
    u, v, _ = model.lookup(torch.tensor([0]), torch.tensor([[0, 1]]))
    table = model.input.weight.detach()
    means = [table[r[r >= 0]].mean(0) for r in rows]
    assert torch.allclose(u[0], means[0]) and torch.allclose(v[0], torch.stack(means))
    assert torch.allclose(model.word_vectors(), torch.stack(means))
