"""Each export loads in the library it is for, with our vectors: gensim (word2vec text = fastText's .vec, and its
native KeyedVectors, including a subword model's n-grams), sentence-transformers and model2vec (a static-embedding
folder), torch (an nn.Embedding); and our own loader reads a .vec with its n-grams back."""

import lzma

import numpy as np
import pytest
import torch

from w2v_contrastive import Vectors, export, load
from w2v_contrastive.config import TokenizerOptions
from w2v_contrastive.corpus.tokenize import tokenize
from w2v_contrastive.downstream import UNKNOWN, word_tokenizer

from .conftest import SMALL_CORPUS

#: a word of no vocabulary here, with n-grams the corpus has
UNSEEN = "unthinkablest"


def test_a_vec_file_loads_in_gensim_and_keeps_its_ngrams_for_our_loader(subword_run, tmp_path):
    from gensim.models import KeyedVectors

    out, result = subword_run
    path = tmp_path / "model.vec"
    export(out, path, format="fasttext-vec")
    assert (tmp_path / "model.subwords.npz").exists()
    theirs = KeyedVectors.load_word2vec_format(str(path))
    assert theirs.index_to_key == result.vocab.words
    np.testing.assert_allclose(theirs.vectors, result.vectors.matrix, rtol=1e-6)
    ours = load(path)
    np.testing.assert_array_equal(ours.vector(UNSEEN), result.vectors.vector(UNSEEN))
    # a later export of vectors without subwords to the same name drops the stale companion
    Vectors(["a"], np.ones((1, 2))).save_word2vec_text(path)
    assert not (tmp_path / "model.subwords.npz").exists() and load(path).subwords is None


def test_gensim_keyed_vectors_compose_the_same_vector_for_any_word(subword_run, tmp_path):
    from gensim.models import KeyedVectors

    out, result = subword_run
    export(out, tmp_path / "model.kv", format="gensim-kv")
    theirs = KeyedVectors.load(str(tmp_path / "model.kv"))
    assert type(theirs).__name__ == "FastTextKeyedVectors" and theirs.index_to_key == result.vocab.words
    np.testing.assert_allclose(theirs.vectors, result.vectors.matrix, rtol=1e-4, atol=1e-6)
    assert UNSEEN not in theirs.key_to_index  # gensim composes it from its n-grams, hashed as ours
    np.testing.assert_allclose(theirs[UNSEEN], result.vectors.vector(UNSEEN), rtol=1e-5, atol=1e-6)
    plain = Vectors(["king", "queen"], np.array([[1.0, 0.0], [0.6, 0.8]]))
    plain.save_word2vec_text(tmp_path / "plain.txt")
    export(tmp_path / "plain.txt", tmp_path / "plain.kv", format="gensim-kv")
    loaded = KeyedVectors.load(str(tmp_path / "plain.kv"))
    assert loaded.similarity("king", "queen") == pytest.approx(0.6)


def test_the_exported_tokenizer_cuts_text_into_our_words():
    text = lzma.open(SMALL_CORPUS, "rt", encoding="utf-8").read(200_000)
    words = tokenize(text, TokenizerOptions())
    vocabulary = sorted(set(words))[::2]  # half the words: the rest are [UNK]
    ids = {word: i + 1 for i, word in enumerate(vocabulary)}  # (0 is [UNK])
    encoding = word_tokenizer(vocabulary, TokenizerOptions()).encode(text)
    assert encoding.tokens == [w if w in ids else UNKNOWN for w in words]
    assert encoding.ids == [ids.get(w, 0) for w in words]


def test_sentence_transformers_and_model2vec_embed_a_sentence_as_the_mean_of_our_vectors(subword_run, tmp_path):
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    out, result = subword_run
    folder = tmp_path / "static"
    export(out, folder, format="static-embedding")
    vectors = result.vectors
    sentences = ["The King's daughter walked to the river.", f"An {UNSEEN} idea, said the King!"]
    words = [tokenize(sentence, TokenizerOptions()) for sentence in sentences]  # ("king's" is "king", "s")
    known = [[w for w in sentence if w in vectors] for sentence in words]
    assert words[1][1] == UNSEEN and known[1] == words[1][:1] + words[1][2:] and known[0] == words[0]
    # model2vec leaves the unknown word out of the mean
    np.testing.assert_allclose(StaticModel.from_pretrained(str(folder)).encode(sentences),
                               [vectors.vectors_of(k).mean(0) for k in known], rtol=1e-5, atol=1e-6)
    # sentence-transformers averages it in as a zero row ([UNK])
    module = StaticEmbedding.load(str(folder))
    embedded = SentenceTransformer(str(folder), device="cpu").encode(sentences)
    np.testing.assert_allclose(embedded, [vectors.vectors_of(k).sum(0) / len(w) for k, w in zip(known, words)],
                               rtol=1e-5, atol=1e-6)
    assert module.embedding.weight.shape == (len(vectors) + 1, vectors.dim)


def test_to_torch_gives_an_embedding_with_the_vocabulary():
    vectors = Vectors(["king", "queen", "river"], np.arange(6, dtype=np.float32).reshape(3, 2))
    embedding, index = vectors.to_torch()
    assert isinstance(embedding, torch.nn.Embedding) and not embedding.weight.requires_grad
    assert torch.equal(embedding(torch.tensor([index["river"], index["king"]])), torch.tensor([[4.0, 5.0], [0.0, 1.0]]))
    trainable, _ = vectors.to_torch(freeze=False)
    assert trainable.weight.requires_grad
    with torch.no_grad():
        trainable.weight.zero_()
    assert vectors.matrix.any()  # a copy: training the embedding leaves the vectors as they were
