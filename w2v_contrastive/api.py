"""The Python API: everything the CLI does, as calls.

    result = w2v_contrastive.train(corpus="books.txt", head="nce", dim=100, out="runs/nce")
    result.vectors.most_similar("king")
    w2v_contrastive.evaluate(result.vectors, ["wordsim353", "simlex999", "men3k"])
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from .config import DEFAULT_CORPUS, TokenizerOptions, TrainConfig
from .corpus.cache import EncodedCorpus, default_workers, load_or_build
from .corpus.readers import CorpusSource, named_paths
from .corpus.shards import Job, load_or_build_shard
from .corpus.vocab import Vocabulary
from .downstream import save_gensim_keyed_vectors, save_static_embedding
from .errors import W2VError
from .eval.analogy import evaluate_analogies
from .eval.benchmarks import load_similarity
from .eval.estimators import estimator_diagnostics, held_out_pairs
from .eval.geometry import embedding_geometry
from .eval.similarity import evaluate_similarity
from .fileio import replace_directory
from .heads import head_class
from .model import SkipGram
from .rundir import check_output_dir, load_model, recorded_held_out, work_dir, write_run
from .sampling.noise import NoiseDistribution
from .train.callbacks import Callback
from .train.checkpoint import RESUMABLE_OVERRIDES, STATE_FILE, find_state, load_state
from .train.distributed import Distributed, is_main_process
from .train.state import TrainStats
from .train.trainer import Trainer
from .vectors import Vectors, load

__all__ = ["DEFAULT_BENCHMARKS", "EXPORT_FORMATS", "EXPORT_VECTORS", "Callback", "TrainResult", "embedding_geometry",
           "evaluate", "evaluate_analogies", "export", "is_main_process", "load", "load_model", "make_config",
           "prepare_corpus", "prepare_shared_corpus", "recorded_held_out", "resume", "train"]

log = logging.getLogger("w2v_contrastive")

DEFAULT_BENCHMARKS = ("wordsim353", "simlex999", "men3k")


@dataclass
class TrainResult:
    """What :func:`train` returns: the model, its vocabulary and vectors, and how training went."""

    model: SkipGram
    vocab: Vocabulary
    vectors: Vectors
    config: TrainConfig
    stats: TrainStats
    noise: NoiseDistribution
    corpus: EncodedCorpus
    out: str | None = None
    #: estimator diagnostics on the held-out documents (eval/estimators.py), when ``holdout`` > 0
    held_out: dict | None = None
    #: the head's options as it used them, defaults resolved (``Head.hyperparameters``)
    hyperparameters: dict = dataclasses.field(default_factory=dict)


def prepare_corpus(corpus: Any = None, tokenizer: TokenizerOptions | None = None, text_column: str = "text",
                   cache_dir: str | None = None, workers: int | None = None, progress: bool = False) -> EncodedCorpus:
    """Read, tokenize and encode a corpus (or take it from the cache). ``corpus=None`` is the default corpus.
    ``workers``: processes that encode it (default: one per core); ``progress``: show it on stderr."""
    tokenizer = tokenizer or TokenizerOptions()
    tokenizer.validate()
    if isinstance(corpus, EncodedCorpus):
        return corpus
    source = CorpusSource.from_inputs(DEFAULT_CORPUS if corpus is None else corpus, text_column, tokenizer.encoding_errors)
    return load_or_build(source, tokenizer, cache_dir, workers, progress)


def make_config(head: str = "negative-sampling", **settings: Any) -> TrainConfig:
    """A validated :class:`TrainConfig`; tokenizer fields (``lowercase``, ``pretokenized``...) may be given flat."""
    token_fields = {f.name for f in dataclasses.fields(TokenizerOptions)}
    tokenizer = settings.pop("tokenizer", None) or TokenizerOptions(
        **{k: settings.pop(k) for k in list(settings) if k in token_fields})
    unknown = set(settings) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise W2VError(f"unknown training settings: {', '.join(sorted(unknown))}")
    config = TrainConfig(head=head, tokenizer=tokenizer, **settings)
    config.validate()
    return config


def train(corpus: Any = None, head: str = "negative-sampling", out: str | os.PathLike | None = None, *,
          text_column: str = "text", cache_dir: str | None = None, overwrite: bool = False,
          callbacks: Sequence[Callback] = (), **settings: Any) -> TrainResult:
    """Train skip-gram vectors with one head.

    corpus: path(s) to text files or folders, a ``datasets.Dataset``, an iterable of strings, an
    :class:`EncodedCorpus`, or None for the embedded default corpus. settings: any
    :class:`TrainConfig` field (dim, window, negatives, epochs, lr, device, checkpoint_every, ...).
    With ``out``, the run's files (vectors.txt, vocab.tsv, config.json, metrics.jsonl, checkpoint.pt)
    are written there, all at once when training succeeds; until then the run works in
    ``<out>.partial``, where its checkpoints go (see :func:`resume`). ``callbacks``:
    :class:`~w2v_contrastive.train.callbacks.Callback` objects, called after each metrics record and
    checkpoint.
    """
    config = make_config(head, **settings)
    distributed = Distributed.from_environment(config.device)
    out = os.fspath(out) if out is not None else None
    if out is not None:
        check_output_dir(out, overwrite)
    encoded = prepare_shared_corpus(corpus, config, text_column, cache_dir, distributed)
    vocab = _vocabulary(encoded, config, distributed)
    work = work_dir(out) if out is not None else None
    trainer = Trainer(config, encoded, vocab, os.path.join(work, STATE_FILE) if work else None, distributed,
                      _source_record(corpus, text_column, cache_dir))
    if work is not None and is_main_process():
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    return _fit_and_write(trainer, out, work, callbacks)


def resume(out: str | os.PathLike, corpus: Any = None, *, text_column: str | None = None, cache_dir: str | None = None,
           callbacks: Sequence[Callback] = (), **overrides: Any) -> TrainResult:
    """Continue an interrupted run of :func:`train` from its last checkpoint (in ``<out>.partial``)
    with its settings, learning-rate schedule, optimizer and random states and position in the pair
    stream; the result is the one the uninterrupted run gives (bit for bit where the run is
    deterministic, docs/reliability.md). ``corpus``: needed only when the run did not read files.
    ``overrides``: the settings that may change on resume (checkpoint_every, checkpoint_minutes,
    nan_policy, progress, log_every_seconds)."""
    out = os.fspath(out).rstrip("/\\").removesuffix(".partial")
    path = find_state(out)
    state = load_state(path)
    not_allowed = sorted(set(overrides) - set(RESUMABLE_OVERRIDES))
    if not_allowed:
        raise W2VError(f"a resumed run keeps its settings; only {', '.join(RESUMABLE_OVERRIDES)} may change "
                       f"(not {', '.join(not_allowed)})")
    state["config"].update(overrides)
    config = TrainConfig.from_dict(state["config"])
    config.validate()
    source = state.get("source") or {}
    if corpus is None:
        if not source.get("paths"):
            raise W2VError(f"{path}: the run read {state['corpus']['source']}, not files; pass the same corpus again")
        corpus = source["paths"]
    text_column = text_column or source.get("text_column", "text")
    distributed = Distributed.from_environment(config.device)
    encoded = prepare_shared_corpus(corpus, config, text_column, cache_dir or source.get("cache_dir"), distributed)
    vocab = _vocabulary(encoded, config, distributed)
    trainer = Trainer(config, encoded, vocab, path, distributed, source)
    trainer.state.restore(state)
    stats = trainer.state.stats
    log.warning("resuming %s from step %d (%.1f%% of the run)", out, stats.steps,
                100.0 * stats.words / max(1.0, encoded.n_tokens * config.epochs))
    return _fit_and_write(trainer, out, os.path.dirname(path), callbacks)


def _source_record(corpus: Any, text_column: str, cache_dir: str | None) -> dict:
    """What a checkpoint records to find the corpus again: its paths, when it was read from files."""
    paths = named_paths(DEFAULT_CORPUS if corpus is None else corpus)
    return {"paths": [os.path.abspath(p) for p in paths] if paths else None, "text_column": text_column,
            "cache_dir": os.path.abspath(cache_dir) if cache_dir else None}


def prepare_shared_corpus(corpus: Any, config: TrainConfig, text_column: str, cache_dir: str | None,
                          distributed: Distributed | None) -> EncodedCorpus:
    """:func:`prepare_corpus` with ``config``'s tokenizer, workers and progress; in a torchrun job each rank
    encodes a share of the corpus and keeps the ids of the lines it trains on (corpus/shards.py)."""
    if distributed is None or isinstance(corpus, EncodedCorpus):
        return prepare_corpus(corpus, config.tokenizer, text_column, cache_dir, config.workers, config.progress)
    config.tokenizer.validate()
    source = CorpusSource.from_inputs(DEFAULT_CORPUS if corpus is None else corpus, text_column,
                                      config.tokenizer.encoding_errors)
    workers = config.workers or max(1, default_workers() // distributed.local_world_size)
    return load_or_build_shard(source, config.tokenizer, Job.joined(), cache_dir, workers, config.progress)


def _vocabulary(encoded: EncodedCorpus, config: TrainConfig, distributed: Distributed | None) -> Vocabulary:
    """The run's vocabulary; in a torchrun job rank 0's, broadcast, which every rank's corpus must share."""
    vocab = Vocabulary.from_corpus(encoded, config.min_count, config.max_vocab)
    if distributed is None:
        return vocab
    words, counts = distributed.broadcast((vocab.words, vocab.counts.tolist()) if distributed.is_main else None)
    if words != vocab.words:
        raise W2VError(f"rank {distributed.rank}: {encoded.description} gives another vocabulary than on rank 0; "
                       "every node must read the same corpus")
    return Vocabulary(words, np.array(counts, dtype=np.int64))


def _fit_and_write(trainer: Trainer, out: str | None, work: str | None, callbacks: Sequence[Callback]) -> TrainResult:
    """Train, then write the outputs into ``work`` and move it to ``out``. A failed run leaves
    ``work`` in place when it holds a checkpoint (to resume), and removes it otherwise."""
    config, encoded, vocab = trainer.config, trainer.corpus, trainer.vocab
    if not is_main_process():  # in a torchrun job, rank 0 writes
        out = work = None
    try:
        if work is None:
            stats = trainer.fit(callbacks=callbacks)
        else:
            metrics_path = os.path.join(work, "metrics.jsonl")
            kept = trainer.state.metrics_bytes  # drop lines logged after the checkpoint we resume from
            with open(metrics_path, "r+" if os.path.exists(metrics_path) else "w", encoding="utf-8") as metrics:
                metrics.truncate(kept)
                metrics.seek(kept)
                stats = trainer.fit(metrics, callbacks)
        result = TrainResult(trainer.model, vocab, trainer.vectors(copy=False), config, stats, trainer.noise, encoded, out,
                             hyperparameters=trainer.head.hyperparameters())
        if trainer.held_out is not None and is_main_process():
            centers, contexts = held_out_pairs(trainer.pairs, len(vocab), trainer.held_out)
            result.held_out = estimator_diagnostics(trainer.model, trainer.noise, centers, contexts,
                                                    config.negatives, config.softmax_chunk, head=trainer.head)
        if work is not None:
            write_run(work, result)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(work, STATE_FILE))
            replace_directory(work, out)
    except BaseException:
        if work is not None and not os.path.exists(os.path.join(work, STATE_FILE)):
            shutil.rmtree(work, ignore_errors=True)
        raise
    return result


#: word2vec text (fastText's .vec is the same format), word2vec binary, an npy folder, a static-embedding
#: folder for sentence-transformers and model2vec (downstream.py), gensim's KeyedVectors
EXPORT_FORMATS = ("word2vec-text", "fasttext-vec", "word2vec-binary", "npy", "static-embedding", "gensim-kv")
EXPORT_VECTORS = ("input", "output", "sum")


def export(source: str | os.PathLike, out: str | os.PathLike, format: str = "word2vec-text",
           vectors: str = "input") -> Vectors:
    """Write the vectors of a training output directory in ``format`` to ``out`` (a file; a folder
    for npy and static-embedding). ``vectors``: the input (word) vectors u, the output (context) table v, or
    u + v; the latter two come from the run's checkpoint. ``source`` may also be any vectors file or npy
    folder when ``vectors="input"`` (a format conversion). A subword model's n-gram rows go with its input
    vectors (beside word2vec, .vec and npy files as ``<name>.subwords.npz``; inside gensim's FastTextKeyedVectors).
    Outputs are written atomically."""
    if format not in EXPORT_FORMATS:
        raise W2VError(f"unknown export format {format!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    if vectors not in EXPORT_VECTORS:
        raise W2VError(f"unknown vectors {vectors!r}; choose one of: {', '.join(EXPORT_VECTORS)}")
    if vectors == "input":
        table = load(source)
    else:
        model, vocab, config = load_model(source)
        if not head_class(config.head).scores_words:
            raise W2VError(f"{source}: the {config.head} head's output table holds its tree's inner nodes, not "
                           f"context vectors of words; export --vectors input")
        with torch.no_grad():
            matrix = model.output.weight + (model.word_vectors() if vectors == "sum" else 0)
        table = Vectors(vocab.words, matrix.numpy())
    out = os.fspath(out)
    if format in ("word2vec-text", "fasttext-vec"):
        table.save_word2vec_text(out)
    elif format == "word2vec-binary":
        table.save_word2vec_binary(out)
    elif format == "gensim-kv":
        save_gensim_keyed_vectors(table, out)
    elif format == "static-embedding":
        save_static_embedding(table, out, _tokenizer_options(source))
    else:
        partial = out.rstrip(os.sep) + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        table.save_npy(partial)
        replace_directory(partial, out)
    return table


def _tokenizer_options(source: str | os.PathLike) -> TokenizerOptions:
    """How the run in ``source`` split its corpus into words (its config.json); the defaults for a vectors file."""
    summary = os.path.join(os.fspath(source), "config.json")
    if not os.path.isfile(summary):
        logging.getLogger(__name__).warning("%s is no training output: the tokenizer uses the default normalisation",
                                            source)
        return TokenizerOptions()
    with open(summary, encoding="utf-8") as handle:
        return TrainConfig.from_dict(json.load(handle)["config"]).tokenizer


def evaluate(vectors: Vectors | str | os.PathLike, benchmarks: Iterable[str | os.PathLike] = DEFAULT_BENCHMARKS,
             oov: str = "vocabulary", interval: bool = True) -> list[dict]:
    """Spearman rho of ``vectors`` on each benchmark (a file path or a shipped name such as
    ``"simlex999"``): a list of ``{"benchmark", "spearman", "pairs", "covered", "spearman_ci95", ...}``.
    ``oov="subwords"`` also scores the pairs with words outside the vocabulary of a subword model (their
    n-grams' mean), and adds the vocabulary pairs' own figures as ``"in_vocabulary"``. ``interval=False``
    skips the bootstrap of the 95% interval (most of the time; ``spearman_ci95`` is then None)."""
    if not isinstance(vectors, Vectors):
        vectors = load(vectors)
    return [evaluate_similarity(vectors, load_similarity(b), oov, interval) for b in benchmarks]
