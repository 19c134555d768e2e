"""gensim's KeyedVectors calls on our Vectors give gensim's answers: the same calls on a trained run's Vectors and on
gensim's KeyedVectors loaded from its word2vec text export (FastTextKeyedVectors from to_gensim() for the subword
model, words outside the vocabulary included) return the same words in the same order and the same numbers to
1e-5, and bad input raises gensim's exception types."""

import sys

import numpy as np
import pytest

from w2v_contrastive import Vectors, W2VError, load
from w2v_contrastive.eval.benchmarks import SHIPPED

#: words outside the subword model's vocabulary, with n-grams its corpus has
UNSEEN = ["unthinkablest", "kingliness", "womanish"]
SIMILARITY_FILES = ["men3k", "mturk287", "rg65", "simlex999", "wordsim353", "wordsim353_rel", "wordsim353_sim"]
ANALOGIES = f"{SHIPPED}/questions-words.txt"


@pytest.fixture(scope="module")
def plain(subword_run, tmp_path_factory):
    """(ours, gensim's): the run's vectors, without n-grams, written as word2vec text and loaded by each."""
    from gensim.models import KeyedVectors

    out, _ = subword_run
    trained = load(out)
    path = str(tmp_path_factory.mktemp("gensim-api") / "vectors.txt")
    Vectors(trained.words, trained.matrix).save_word2vec_text(path)
    return load(path), KeyedVectors.load_word2vec_format(path)


@pytest.fixture(scope="module")
def subword(subword_run):
    """(ours, gensim's FastTextKeyedVectors from to_gensim()) of the subword run."""
    ours = load(subword_run[0])
    return ours, ours.to_gensim()


def same_ranking(ours, theirs):
    """The same (word, similarity) list: similarities to 1e-5, words in the same order (two words whose
    similarities are within 1e-6 may come either way round: float32 rounding)."""
    assert len(ours) == len(theirs) > 0, (ours, theirs)
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=0, atol=1e-5)
    for (word, score), (other, _) in zip(ours, theirs):
        assert word == other or any(w == other and abs(s - score) < 1e-6 for w, s in ours), (ours, theirs)


def same_answer(ours, theirs):
    """The same ranking (as above), array (to 1e-5), word or words, or number (to 1e-5)."""
    if isinstance(theirs, list) and theirs and isinstance(theirs[0], tuple):
        same_ranking(ours, theirs)
    elif isinstance(theirs, np.ndarray):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    elif isinstance(theirs, (str, list)):
        assert ours == theirs
    else:
        assert ours == pytest.approx(float(theirs), abs=1e-5)


def test_lookups_and_attributes_are_gensims(plain):
    ours, theirs = plain
    assert ours.index_to_key == theirs.index_to_key and ours.key_to_index == theirs.key_to_index
    assert ours.vector_size == theirs.vector_size == 50 and len(ours) == len(theirs) > 5000
    np.testing.assert_allclose(ours.vectors, theirs.vectors, rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours.get_normed_vectors(), theirs.get_normed_vectors(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["king"], theirs["king"], rtol=0, atol=1e-7)
    words = ["king", "queen", "the", "king"]
    assert ours[words].shape == (4, 50)
    np.testing.assert_allclose(ours[words], theirs[words], rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours[tuple(words)], theirs[tuple(words)], rtol=0, atol=1e-7)
    for norm in (False, True):
        np.testing.assert_allclose(ours.get_vector("queen", norm=norm), theirs.get_vector("queen", norm=norm),
                                   rtol=0, atol=1e-6)
    vector = theirs["man"] * 3
    for keys, weights, options in [(["king", "woman"], None, {}), (["king", vector, "man"], [1.0, 0.5, -1.0], {}),
                                   (["king", "zzqx"], None, {"post_normalize": True}),
                                   (["king", "queen"], [2, 1], {"pre_normalize": False})]:
        np.testing.assert_allclose(ours.get_mean_vector(keys, weights, **options),
                                   theirs.get_mean_vector(keys, weights, **options), rtol=0, atol=1e-6)


#: most_similar's arguments: words, lists, weighted words, vectors (from the vectors' own "man" row when "MAN"),
#: restrict_vocab, topn (None: every row's cosine), as gensim's users pass them
MOST_SIMILAR_CALLS = [
    dict(positive=["king"]),
    dict(positive="king", topn=3),
    dict(positive=["king", "woman"], negative=["man"], topn=5),
    dict(positive=["woman", "king"], negative="man", topn=25),
    dict(positive=[("king", 2.0), "woman"], negative=[("man", -0.5), "boy"], topn=7),
    dict(positive=["MAN"]),
    dict(positive=["MAN", "queen"], negative=["boy"], topn=6),
    dict(positive=["king", "woman"], negative=["man"], topn=5, restrict_vocab=700),
    dict(positive=["father"], topn=10, restrict_vocab=200),
    dict(negative=["love"], topn=4),
    dict(positive=["king", "woman"], negative=["man"], topn=None),
    dict(positive=["house"], topn=None, restrict_vocab=300),
    dict(positive=["king"], topn=0),
]


def query(arguments: dict, vectors) -> dict:
    """The call's arguments with "MAN" replaced by the vector of "man" (times 2: not at unit length)."""
    def swap(item):
        if isinstance(item, list):
            return [swap(x) for x in item]
        return vectors["man"] * 2 if item == "MAN" else item
    return {key: swap(value) for key, value in arguments.items()}


@pytest.mark.parametrize("arguments", MOST_SIMILAR_CALLS, ids=str)
def test_most_similar_is_gensims(plain, arguments):
    ours, theirs = plain
    same_answer(ours.most_similar(**query(arguments, theirs)), theirs.most_similar(**query(arguments, theirs)))


def test_most_similar_keeps_our_own_spelling(plain):
    ours, theirs = plain
    expected = theirs.most_similar("king", topn=3)
    same_ranking(ours.most_similar("king", 3), expected)
    same_ranking(ours.most_similar("king", k=3), expected)
    same_ranking(ours.most_similar(positive=["king"], k=3), expected)
    same_ranking(ours.analogy("man", "woman", "king", 4), theirs.most_similar(["woman", "king"], ["man"], topn=4))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # gensim's own init_sims call
@pytest.mark.parametrize("arguments", [
    dict(positive=["king", "woman"], negative=["man"], topn=5),
    dict(positive=["paris", "england"], negative="france", topn=12),
    dict(positive="love", topn=4),
    dict(positive=["MAN", "queen"], negative=["king"], topn=6),
    dict(positive=["king", "woman"], negative=["man", "boy"], topn=None),
    dict(positive=["king"], topn=0),
], ids=str)
def test_most_similar_cosmul_is_gensims(plain, arguments):
    ours, theirs = plain
    same_answer(ours.most_similar_cosmul(**query(arguments, theirs)),
                theirs.most_similar_cosmul(**query(arguments, theirs)))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_most_similar_cosmul_searches_the_first_rows_with_restrict_vocab(plain):
    """gensim 4.4 takes restrict_vocab in most_similar_cosmul but searches every row: ours answers with gensim's
    ranking of the first restrict_vocab rows."""
    ours, theirs = plain
    everything = theirs.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=len(theirs))
    first = [(w, s) for w, s in everything if theirs.key_to_index[w] < 500][:8]
    same_ranking(ours.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=8,
                                          restrict_vocab=500), first)


@pytest.mark.parametrize("call", [
    lambda v: v.similar_by_word("king", topn=4),
    lambda v: v.similar_by_word("night", 6, restrict_vocab=400),
    lambda v: v.similar_by_key("water", topn=3),
    lambda v: v.similar_by_vector(v["king"] + v["woman"] - v["man"], topn=5),
    lambda v: v.similar_by_vector(v["sea"], topn=5, restrict_vocab=1000),
    lambda v: v.doesnt_match(["breakfast", "dinner", "lunch", "king"]),
    lambda v: v.doesnt_match(["france", "italy", "england", "horse", "spain"]),
    lambda v: v.doesnt_match(["king", "queen", "zzqx", "carriage"]),
    lambda v: v.n_similarity(["king", "queen"], ["man", "woman"]),
    lambda v: v.n_similarity(["sea", "ship", "zzqx"], ["water"]),
    lambda v: v.similarity("king", "queen"),
    lambda v: v.distance("king", "queen"),
    lambda v: v.distance("sea", "the"),
    lambda v: v.distances("king"),
    lambda v: v.distances("king", ["queen", "man", "the"]),
    lambda v: v.distances(v["sea"] * 2, ["ship", "water"]),
    lambda v: v.rank("king", "queen"),
    lambda v: v.rank("sea", "the"),
    lambda v: v.rank("man", "woman"),
    lambda v: v.closer_than("king", "prince"),
], ids=lambda call: "")
def test_the_other_queries_are_gensims(plain, call):
    ours, theirs = plain
    same_answer(call(ours), call(theirs))


def test_rank_and_closer_than_count_the_nearer_words(plain):
    ours, theirs = plain
    for first, second in [("king", "queen"), ("sea", "the"), ("man", "woman")]:
        assert ours.closer_than(first, second) == theirs.closer_than(first, second)
        assert ours.rank(first, second) == theirs.rank(first, second) == len(ours.closer_than(first, second)) + 1
    nearest = ours.most_similar("king", topn=1)[0][0]
    assert ours.rank("king", nearest) == 1


@pytest.mark.parametrize("name", SIMILARITY_FILES)
def test_evaluate_word_pairs_is_gensims_on_every_shipped_benchmark(plain, name):
    ours, theirs = plain
    path = f"{SHIPPED}/{name}.tsv"
    for options in ({}, {"restrict_vocab": 2000}, {"dummy4unknown": True}, {"case_insensitive": False}):
        (r, r_p), (rho, rho_p), oov = ours.evaluate_word_pairs(path, **options)
        (their_r, their_r_p), (their_rho, their_rho_p), their_oov = theirs.evaluate_word_pairs(path, **options)
        assert (r, rho, oov) == pytest.approx((their_r, their_rho, their_oov), abs=1e-5), options
        # (p-values: rho moves by ~1e-6 where gensim's float32 cosines tie differently, its p-value by more)
        assert (r_p, rho_p) == pytest.approx((their_r_p, their_rho_p), rel=1e-2, abs=1e-12)


@pytest.mark.parametrize("options", [{}, {"restrict_vocab": 1000, "dummy4unknown": True},
                                     {"restrict_vocab": 3000, "case_insensitive": False}], ids=str)
def test_evaluate_word_analogies_is_gensims(plain, options):
    ours, theirs = plain
    score, sections = ours.evaluate_word_analogies(ANALOGIES, **options)
    assert (score, sections) == theirs.evaluate_word_analogies(ANALOGIES, **options)  # every question, in order
    assert len(sections) == 15 and sections[-1]["section"] == "Total accuracy"
    if not options:  # (case_insensitive=False: the file's capitalised words are not ours)
        assert score > 0.1 and len(sections[-1]["correct"]) + len(sections[-1]["incorrect"]) > 2000


def test_a_word_spelled_like_an_earlier_one_in_another_case_leaves_the_benchmarks_to_it(plain, tmp_path):
    """With case_insensitive, gensim reads "queen" and a later row "QUEEN" as one key: the first row's."""
    from gensim.models import KeyedVectors

    ours, _ = plain
    words, matrix = [*ours.words, "QUEEN", "Woman"], np.vstack([ours.matrix, ours[["sea", "night"]]])
    theirs = KeyedVectors(ours.vector_size)
    theirs.add_vectors(words, matrix)
    ours = Vectors(words, matrix)
    family = tmp_path / "family.txt"
    lines = open(ANALOGIES, encoding="utf-8").read().split("\n")
    start = lines.index(": family")
    family.write_text("\n".join(lines[start : lines.index(": gram1-adjective-to-adverb")]) + "\n")
    assert ours.evaluate_word_analogies(family, restrict_vocab=None) == theirs.evaluate_word_analogies(
        family, restrict_vocab=None)
    for name in ("simlex999", "men3k"):
        ours_r, ours_rho, ours_oov = ours.evaluate_word_pairs(f"{SHIPPED}/{name}.tsv")
        their_r, their_rho, their_oov = theirs.evaluate_word_pairs(f"{SHIPPED}/{name}.tsv")
        assert (ours_r[0], ours_rho[0], ours_oov) == pytest.approx((their_r[0], their_rho[0], their_oov), abs=1e-5)


def test_to_gensim_hands_over_the_same_keyed_vectors(plain):
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import FastTextKeyedVectors

    ours, theirs = plain
    converted = ours.to_gensim()
    assert type(converted) is KeyedVectors and not isinstance(converted, FastTextKeyedVectors)
    assert converted.index_to_key == theirs.index_to_key
    np.testing.assert_allclose(converted.vectors, theirs.vectors, rtol=0, atol=1e-7)
    same_ranking(converted.most_similar("king"), ours.most_similar("king"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("call", [
    lambda v: v[UNSEEN[0]],
    lambda v: v[["king", *UNSEEN]],
    lambda v: v.get_vector(UNSEEN[1], norm=True),
    lambda v: v.get_mean_vector(["king", UNSEEN[2]]),
    lambda v: v.similarity(UNSEEN[0], "think"),
    lambda v: v.most_similar(UNSEEN[0], topn=5),
    lambda v: v.most_similar(positive=[UNSEEN[1], "woman"], negative=["man"], topn=5),
    lambda v: v.most_similar(positive=[UNSEEN[2]], topn=5, restrict_vocab=1000),
    lambda v: v.most_similar_cosmul(positive=[UNSEEN[1], "woman"], negative=["man"], topn=5),
    lambda v: v.similar_by_word(UNSEEN[0], topn=3),
    lambda v: v.doesnt_match(["king", "queen", UNSEEN[0], "prince"]),
    lambda v: v.n_similarity([UNSEEN[0], "king"], ["woman", UNSEEN[2]]),
    lambda v: v.distance(UNSEEN[1], "king"),
    lambda v: v.distances(UNSEEN[0], ["king", "think"]),
], ids=lambda call: "")
def test_a_subword_model_composes_unknown_words_as_gensims_fasttext_keyed_vectors(subword, call):
    ours, theirs = subword
    assert type(theirs).__name__ == "FastTextKeyedVectors"
    assert not any(word in theirs.key_to_index or word in ours for word in UNSEEN)
    same_answer(call(ours), call(theirs))


def test_a_subword_models_vocabulary_and_benchmarks_are_gensims(subword):
    ours, theirs = subword
    np.testing.assert_allclose(ours.vectors, theirs.vectors, rtol=0, atol=1e-6)
    (r, _), (rho, _), oov = ours.evaluate_word_pairs(f"{SHIPPED}/men3k.tsv")
    (their_r, _), (their_rho, _), their_oov = theirs.evaluate_word_pairs(f"{SHIPPED}/men3k.tsv")
    assert (r, rho, oov) == pytest.approx((their_r, their_rho, their_oov), abs=1e-5)
    assert rho > 0.25  # trained vectors (test_subwords.py: 0.464 on the 1,397 MEN pairs in the vocabulary)
    assert ours.evaluate_word_analogies(ANALOGIES, 1000) == theirs.evaluate_word_analogies(ANALOGIES, 1000)


#: bad input: an unknown word (no n-grams to fall back on), an empty list; gensim's exception for each
BAD_CALLS = [
    lambda v: v["zzqx"],
    lambda v: v[["king", "zzqx"]],
    lambda v: v.get_vector("zzqx", norm=True),
    lambda v: v.get_mean_vector(["zzqx"], ignore_missing=False),
    lambda v: v.most_similar("zzqx"),
    lambda v: v.most_similar(positive=["king"], negative=["zzqx"]),
    lambda v: v.most_similar_cosmul(positive=["king", "zzqx"]),
    lambda v: v.similar_by_word("zzqx"),
    lambda v: v.similarity("king", "zzqx"),
    lambda v: v.distance("zzqx", "king"),
    lambda v: v.distances("zzqx"),
    lambda v: v.distances("king", ["queen", "zzqx"]),
    lambda v: v.rank("king", "zzqx"),
    lambda v: v.rank("zzqx", "king"),
    lambda v: v[[]],
    lambda v: v.get_mean_vector([]),
    lambda v: v.most_similar(positive=[]),
    lambda v: v.most_similar(),
    lambda v: v.most_similar_cosmul(positive=[], negative=["king"]),
    lambda v: v.doesnt_match([]),
    lambda v: v.doesnt_match(["zzqx"]),
    lambda v: v.n_similarity([], ["king"]),
    lambda v: v.n_similarity(["king"], []),
    lambda v: v.evaluate_word_pairs(f"{SHIPPED}/rg65.tsv", restrict_vocab=1),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("call", BAD_CALLS, ids=lambda call: "")
def test_bad_input_raises_gensims_exception_type_with_a_clear_line(plain, call):
    ours, theirs = plain
    with pytest.raises(Exception) as gensims:
        call(theirs)
    with pytest.raises(W2VError) as raised:
        call(ours)
    assert isinstance(raised.value, type(gensims.value)), (raised.value, gensims.value)
    message = str(raised.value)
    assert "\n" not in message and ("'zzqx'" in message or isinstance(raised.value, ValueError)), message


def test_a_word_without_ngrams_in_a_subword_model_is_a_key_error(subword):
    ours, _ = subword
    with pytest.raises(KeyError, match="is not in the vocabulary and has no character n-grams of 3-6"):
        ours[""]


def test_to_gensim_without_gensim_names_the_extra(plain, monkeypatch):
    ours, _ = plain
    for module in ("gensim", "gensim.models", "gensim.models.keyedvectors", "gensim.models.fasttext"):
        monkeypatch.setitem(sys.modules, module, None)  # an import of it fails, as when it is not installed
    with pytest.raises(W2VError) as raised:
        ours.to_gensim()
    assert str(raised.value) == "gensim is not installed: pip install 'w2v-contrastive[gensim]'"
    assert ours.most_similar(positive=["king"], topn=1)  # everything else works without gensim
