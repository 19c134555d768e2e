import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: gutenberg-small (70 public-domain books, 0.5M tokens), shipped with the repository (data/MANIFEST.md)
SMALL_CORPUS = os.path.join(ROOT, "data", "gutenberg-small.txt.xz")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("corpus-cache"))


@pytest.fixture(scope="session")
def small_corpus(cache_dir):
    """The encoded gutenberg-small corpus (0.5M tokens), built once per test session."""
    from w2v_contrastive import prepare_corpus

    return prepare_corpus(SMALL_CORPUS, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def random_baseline():
    """``baseline(words, benchmark="men3k") -> (mean, standard deviation, covered pairs)`` of Spearman rho
    over 20 draws of random 50-dimensional vectors on a vocabulary: what a quality threshold on that
    vocabulary must clear by at least 5 standard deviations (computed once per vocabulary and benchmark)."""
    from w2v_contrastive import Vectors, evaluate

    known = {}

    def baseline(words, benchmark="men3k"):
        key = (len(words), words[0], words[-1], benchmark)
        if key not in known:
            rows = [evaluate(Vectors(words, np.random.default_rng(seed).standard_normal((len(words), 50))),
                             [benchmark], interval=False)[0] for seed in range(20)]
            rhos = [row["spearman"] for row in rows]
            known[key] = float(np.mean(rhos)), float(np.std(rhos, ddof=1)), rows[0]["covered"]
        return known[key]

    return baseline


#: the subword model of the tests: fastText's n-grams of 3-6 characters, 100,000 buckets (fastText's 2M would
#: hold 800 MB), negative sampling on gutenberg-small, 4 epochs at 4x the subword default step (MEN 0.46 on the
#: 1,397 pairs in the vocabulary, 0.31 on all 3,000, in 7 s; 10 epochs at the default 0.025: 0.37 and 0.25
#: in 20 s). Deterministic (one slice, bit-identical vectors every session), because test_gensim_api.py compares
#: our queries with gensim's on these vectors exactly, and on some Hogwild-trained sets two float32 cosines tie
#: differently in the two libraries (a CI run failed on closer_than and on a restricted-vocabulary rho 1.3e-5 apart)
SUBWORD_SETTINGS = dict(subwords="3-6", buckets=100_000, dim=50, sample=1e-3, epochs=4, lr=0.1, progress=False,
                        deterministic=True)


@pytest.fixture(scope="session")
def subword_run(small_corpus, tmp_path_factory):
    """(training output directory, TrainResult) of the subword model, trained once per test session."""
    from w2v_contrastive import train

    out = str(tmp_path_factory.mktemp("subwords") / "run")
    return out, train(small_corpus, "negative-sampling", out, **SUBWORD_SETTINGS)
