"""Exports that downstream libraries load: a static-embedding folder (sentence-transformers, model2vec) and
gensim's native KeyedVectors. (word2vec text and binary, fastText's ``.vec`` and npy are in vectors.py.)

The static-embedding folder is model2vec's layout, which sentence-transformers' ``StaticEmbedding.load`` and
``SentenceTransformer(folder)`` read too:

    tokenizer.json      a ``tokenizers`` tokenizer that splits text into this project's words: the run's own
                        normalisation (NFKC, lowercasing, what counts as a word) and a word-level model over
                        the vocabulary, [UNK] (id 0) for any other word
    model.safetensors   "embeddings": float32[1 + V, d], row 0 (for [UNK]) zeros, then the word vectors
    config.json         model2vec's settings (no normalisation, no length limit)
    modules.json        the one sentence-transformers module, StaticEmbedding

A sentence's embedding there is the mean of its words' rows: our vectors, for the words in the vocabulary.
model2vec leaves [UNK] out of the mean; sentence-transformers averages it in as a zero row.
"""

from __future__ import annotations

import json
import os
import shutil
import struct

import numpy as np

from .config import TokenizerOptions
from .fileio import atomic_write, replace_directory
from .vectors import Vectors

UNKNOWN = "[UNK]"


def word_tokenizer(words: list[str], options: TokenizerOptions):
    """A ``tokenizers.Tokenizer`` that cuts text into the words of corpus/tokenize.py and numbers ``words`` from 1
    (0: [UNK])."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    from .corpus.tokenize import word_separator

    vocabulary = {UNKNOWN: 0, **{word: i + 1 for i, word in enumerate(words)}}
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token=UNKNOWN))
    if not options.pretokenized:
        steps = [normalizers.NFKC()] if options.nfkc else []
        steps += [normalizers.Lowercase()] if options.lowercase else []
        tokenizer.normalizer = normalizers.Sequence([*steps, word_separator(options.keep_digits,
                                                                            options.keep_punctuation)])
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tokenizer


def save_static_embedding(vectors: Vectors, directory: str | os.PathLike, options: TokenizerOptions) -> None:
    """Write the folder described above into ``directory`` (built beside it, then renamed into place)."""
    directory = os.fspath(directory).rstrip(os.sep)
    partial = directory + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    word_tokenizer(vectors.words, options).save(os.path.join(partial, "tokenizer.json"))
    embeddings = np.concatenate([np.zeros((1, vectors.dim), dtype=np.float32), vectors.matrix])
    save_safetensors(os.path.join(partial, "model.safetensors"), {"embeddings": embeddings})
    config = {"model_type": "model2vec", "architectures": ["StaticModel"], "normalize": False, "max_length": None,
              "hidden_dim": vectors.dim, "tokenizer_name": None, "apply_pca": None, "embedding_dtype": "float32"}
    modules = [{"idx": 0, "name": "0", "path": ".", "type": "sentence_transformers.models.StaticEmbedding"}]
    for name, content in (("config.json", config), ("modules.json", modules)):
        with open(os.path.join(partial, name), "w", encoding="utf-8") as handle:
            json.dump(content, handle, indent=2)
    replace_directory(partial, directory)


def save_safetensors(path: str, tensors: dict[str, np.ndarray]) -> None:
    """The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
    naming each float32 tensor's shape and byte range, padded with spaces to 8 bytes, then the data."""
    header, offset = {}, 0
    for name, array in tensors.items():
        size = array.size * 4
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with atomic_write(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded)
        for array in tensors.values():
            handle.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def save_gensim_keyed_vectors(vectors: Vectors, path: str | os.PathLike) -> None:
    """gensim's native format (``KeyedVectors.load(path)``) of ``vectors.to_gensim()``: a ``KeyedVectors``, or for
    a subword model a ``FastTextKeyedVectors`` that composes the same vector for any word. Needs gensim installed."""
    keyed = vectors.to_gensim()
    with atomic_write(path, "wb") as handle:  # (a handle: gensim writes one file, no arrays beside it)
        keyed.save(handle)
