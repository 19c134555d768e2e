import os

import numpy as np
import pytest

from w2v_contrastive import Vectors, W2VError, evaluate, load
from w2v_contrastive.eval.benchmarks import SimilarityBenchmark
from w2v_contrastive.eval.similarity import evaluate_similarity


def test_word2vec_text_round_trip_and_lookups(tmp_path):
    vectors = Vectors(["king", "queen", "apple"], np.array([[1, 0.1], [0.9, 0.2], [-0.1, 1.0]]))
    path = tmp_path / "v.txt"
    vectors.save_word2vec_text(path)
    assert path.read_text().splitlines()[0] == "3 2"
    back = load(path)
    assert back.words == vectors.words and np.allclose(back.matrix, vectors.matrix, atol=1e-6)
    assert back.most_similar("king", 1)[0][0] == "queen"
    assert back.similarity("king", "queen") == pytest.approx(float(vectors.unit[0] @ vectors.unit[1]))
    assert "apple" in back and "pear" not in back
    with pytest.raises(W2VError, match="'pear' is not in the vocabulary"):
        back.vector("pear")


@pytest.mark.parametrize("body,message", [
    ("2 3\nking 1 2 3\n", "header promises 2 vectors, the file holds 1"),
    ("1 3\nking 1 2 3\nqueen 1 2 3\n", "v.txt:3: more vectors than the header's 1"),
    ("1 3\nking 1 2\n", "v.txt:2: expected a word and 3 numbers, found 2 fields"),
    ("1 2\nking 1 x\n", "v.txt:2: not a number in the vector of 'king'"),
    ("king 1 2\n", "v.txt:1: expected a word2vec header"),
])
def test_malformed_vector_files_name_the_line(tmp_path, body, message):
    path = tmp_path / "v.txt"
    path.write_text(body)
    with pytest.raises(W2VError, match=message):
        load(path)


def test_evaluation_counts_out_of_vocabulary_pairs(tmp_path):
    bench = tmp_path / "b.tsv"
    bench.write_text("# comment\nKing\tqueen\t9\nking\tapple\t1\nqueen\tapple\t2\nking\tpear\t5\n")
    vectors = Vectors(["king", "queen", "apple"], np.array([[1, 0.1], [0.9, 0.2], [-0.1, 1.0]]))
    (row,) = evaluate(vectors, [str(bench)])
    assert {k: row[k] for k in ("benchmark", "spearman", "pairs", "covered")} == {
        "benchmark": "b", "spearman": pytest.approx(1.0), "pairs": 4, "covered": 3}
    assert evaluate(vectors, [str(bench)], interval=False) == [{**row, "spearman_ci95": None}]  # (no bootstrap)


def test_spearman_pearson_and_bootstrap_interval_agree_with_scipy():
    from scipy.stats import bootstrap, pearsonr, spearmanr

    from w2v_contrastive.eval.similarity import resampled_spearman, spearman_bootstrap_ci

    rng = np.random.default_rng(5)
    human = rng.integers(0, 10, 300).astype(float)  # many ties, as in real benchmarks
    model = human + rng.normal(0, 4, 300)
    # each resample's rho (computed from the copies of each pair, without sorting) is scipy's on the resample
    picks = rng.integers(0, 300, (50, 300))
    tied_model = np.round(model)  # (ties on both sides)
    expected = [spearmanr(human[p], tied_model[p]).statistic for p in picks]
    np.testing.assert_allclose(resampled_spearman(human, tied_model, picks), expected, rtol=0, atol=1e-12)
    low, high = spearman_bootstrap_ci(human, model)
    reference = bootstrap((human, model), lambda x, y: spearmanr(x, y).statistic, paired=True, vectorized=False,
                          n_resamples=1000, method="percentile", random_state=1).confidence_interval
    assert low < spearmanr(human, model).statistic < high
    assert abs(low - reference.low) < 0.02 and abs(high - reference.high) < 0.02
    assert spearman_bootstrap_ci(human, human * 2 + 1) == (1.0, 1.0)
    words = [f"w{i}" for i in range(300)]
    vectors = Vectors(words + ["anchor"], np.vstack([np.stack([np.cos(model / 10), np.sin(model / 10)], 1), [[1, 0]]]))
    bench = SimilarityBenchmark("toy", [("anchor", w, h) for w, h in zip(words, human)])
    row = evaluate_similarity(vectors, bench)
    cosines = np.cos(model / 10)
    assert row["spearman"] == pytest.approx(spearmanr(human, cosines).statistic, abs=1e-6)
    assert row["pearson"] == pytest.approx(pearsonr(human, cosines).statistic, abs=1e-6)
    assert row["spearman_ci95"][0] < row["spearman"] < row["spearman_ci95"][1]
    # a comparison's timeline asks for rho alone: the same figures, no bootstrap
    assert evaluate_similarity(vectors, bench, interval=False) == {**row, "spearman_ci95": None}


def awkward_vectors():
    """Words with non-ASCII letters and values that need all 9 digits of a float32."""
    rng = np.random.default_rng(0)
    matrix = (rng.standard_normal((50, 7)) * 10.0 ** rng.integers(-8, 8, (50, 1))).astype(np.float32)
    return Vectors([f"w{i}" for i in range(47)] + ["ça", "straße", "naïve"], matrix)


@pytest.mark.parametrize("save,target", [("save_word2vec_text", "v.txt"), ("save_word2vec_binary", "v.bin"),
                                         ("save_npy", "npy_folder")])
def test_every_format_loads_back_to_identical_vectors(tmp_path, save, target):
    vectors = awkward_vectors()
    getattr(vectors, save)(tmp_path / target)
    back = load(tmp_path / target)
    assert back.words == vectors.words
    assert np.array_equal(back.matrix, vectors.matrix)  # bit for bit, in every format
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_gensim_loads_both_word2vec_formats(tmp_path):
    from gensim.models import KeyedVectors

    vectors = awkward_vectors()
    vectors.save_word2vec_binary(tmp_path / "v.bin")
    vectors.save_word2vec_text(tmp_path / "v.txt")
    for name, binary in (("v.bin", True), ("v.txt", False)):
        kv = KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=binary)
        assert kv.index_to_key == vectors.words and np.array_equal(kv.vectors, vectors.matrix)
    # and we read what gensim writes
    kv.save_word2vec_format(str(tmp_path / "g.bin"), binary=True)
    assert np.array_equal(load(tmp_path / "g.bin").matrix, vectors.matrix)


def test_malformed_binary_and_npy_files_are_named(tmp_path):
    good = awkward_vectors()
    good.save_word2vec_binary(tmp_path / "v.bin")
    data = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:-10])
    with pytest.raises(W2VError, match=r"cut.bin: header promises 50 vectors, the file holds 49"):
        load(tmp_path / "cut.bin")
    (tmp_path / "long.bin").write_bytes(data + b"extra bytes")
    with pytest.raises(W2VError, match=r"long.bin: 11 bytes after the 50 vectors"):
        load(tmp_path / "long.bin")
    good.save_npy(tmp_path / "npy")
    (tmp_path / "npy" / "vocab.txt").write_text("just\nthree\nwords\n")
    with pytest.raises(W2VError, match=r"vectors.npy has shape \(50, 7\) but vocab.txt lists 3 words"):
        load(tmp_path / "npy")


def test_geometry_tells_collapsed_from_spread_vectors():
    from w2v_contrastive.eval.geometry import embedding_geometry

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(2000)]
    spread = embedding_geometry(Vectors(words, rng.standard_normal((2000, 50))))
    assert abs(spread["mean_cosine"]) < 0.01 and spread["effective_rank"] > 45
    constant = np.tile(rng.standard_normal(50), (2000, 1))
    collapsed = embedding_geometry(Vectors(words, constant))
    assert collapsed["mean_cosine"] == pytest.approx(1.0) and collapsed["effective_rank"] == pytest.approx(1.0, abs=1e-3)
    shifted = embedding_geometry(Vectors(words, rng.standard_normal((2000, 50)) + 3.0))  # a common offset
    assert 0.7 < shifted["mean_cosine"] < 1.0 and 1.0 < shifted["effective_rank"] < spread["effective_rank"]
