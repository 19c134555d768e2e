import os

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
