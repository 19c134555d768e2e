import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data", "corpora")
SMALL_CORPUS = os.path.join(SHARED, "gutenberg-small.txt")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("corpus-cache"))


@pytest.fixture(scope="session")
def small_corpus(cache_dir):
    """The encoded gutenberg-small corpus (0.5M tokens), built once per test session."""
    if not os.path.exists(SMALL_CORPUS):
        pytest.fail(f"{SMALL_CORPUS} is missing: tests need ../shared/data beside the repository")
    from w2v_contrastive import prepare_corpus

    return prepare_corpus(SMALL_CORPUS, cache_dir=cache_dir)
