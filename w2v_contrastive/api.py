"""The Python API: everything the CLI does, as calls.

    result = w2v_contrastive.train(corpus="books.txt", head="nce", dim=100, out="runs/nce")
    result.vectors.most_similar("king")
    w2v_contrastive.evaluate(result.vectors, ["wordsim353", "simlex999", "men3k"])
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch

from .config import DEFAULT_CORPUS, TokenizerOptions, TrainConfig
from .corpus.cache import EncodedCorpus, load_or_build
from .corpus.readers import CorpusSource, named_paths
from .corpus.vocab import Vocabulary
from .errors import W2VError
from .eval.analogy import evaluate_analogies
from .eval.benchmarks import load_similarity
from .eval.estimators import estimator_diagnostics, held_out_pairs
from .eval.geometry import embedding_geometry
from .eval.similarity import evaluate_similarity
from .fileio import atomic_write, replace_directory
from .heads import build_head
from .model import SkipGram
from .sampling.noise import NoiseDistribution
from .train.checkpoint import RESUMABLE_OVERRIDES, STATE_FILE, find_state, load_state
from .train.distributed import Distributed
from .train.trainer import Trainer, TrainStats, build_model
from .vectors import Vectors, load

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


def prepare_corpus(corpus: Any = None, tokenizer: TokenizerOptions | None = None, text_column: str = "text",
                   cache_dir: str | None = None) -> EncodedCorpus:
    """Read, tokenize and encode a corpus (or take it from the cache). ``corpus=None`` is the default corpus."""
    tokenizer = tokenizer or TokenizerOptions()
    tokenizer.validate()
    if isinstance(corpus, EncodedCorpus):
        return corpus
    source = CorpusSource.from_inputs(DEFAULT_CORPUS if corpus is None else corpus, text_column, tokenizer.encoding_errors)
    return load_or_build(source, tokenizer, cache_dir)


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
          on_log: Callable[[dict, Trainer], None] | None = None, **settings: Any) -> TrainResult:
    """Train skip-gram vectors with one head.

    corpus: path(s) to text files or folders, a ``datasets.Dataset``, an iterable of strings, an
    :class:`EncodedCorpus`, or None for the embedded default corpus. settings: any
    :class:`TrainConfig` field (dim, window, negatives, epochs, lr, device, checkpoint_every, ...).
    With ``out``, the run's files (vectors.txt, vocab.tsv, config.json, metrics.jsonl, checkpoint.pt)
    are written there, all at once when training succeeds; until then the run works in
    ``<out>.partial``, where its checkpoints go (see :func:`resume`). ``on_log(record, trainer)`` is
    called after each periodic metrics record (see :meth:`Trainer.fit`).
    """
    config = make_config(head, **settings)
    distributed = Distributed.from_environment(config.device)
    out = os.fspath(out) if out is not None else None
    if out is not None:
        _check_output_dir(out, overwrite)
    encoded = prepare_shared_corpus(corpus, config.tokenizer, text_column, cache_dir, distributed)
    vocab = _vocabulary(encoded, config, distributed)
    work = _work_dir(out) if out is not None else None
    trainer = Trainer(config, encoded, vocab, os.path.join(work, STATE_FILE) if work else None, distributed)
    trainer.source = _source_record(corpus, text_column, cache_dir)
    if work is not None and is_main_process():
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    return _fit_and_write(trainer, out, work, on_log)


def resume(out: str | os.PathLike, corpus: Any = None, *, text_column: str | None = None, cache_dir: str | None = None,
           on_log: Callable[[dict, Trainer], None] | None = None, **overrides: Any) -> TrainResult:
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
    encoded = prepare_shared_corpus(corpus, config.tokenizer, text_column, cache_dir or source.get("cache_dir"),
                                    distributed)
    vocab = _vocabulary(encoded, config, distributed)
    trainer = Trainer(config, encoded, vocab, path, distributed)
    trainer.restore(state)
    trainer.source = source
    log.warning("resuming %s from step %d (%.1f%% of the run)", out, trainer.stats.steps,
                100.0 * trainer.stats.words / max(1.0, encoded.n_tokens * config.epochs))
    return _fit_and_write(trainer, out, os.path.dirname(path), on_log)


def _source_record(corpus: Any, text_column: str, cache_dir: str | None) -> dict:
    """What a checkpoint records to find the corpus again: its paths, when it was read from files."""
    paths = named_paths(DEFAULT_CORPUS if corpus is None else corpus)
    return {"paths": [os.path.abspath(p) for p in paths] if paths else None, "text_column": text_column,
            "cache_dir": os.path.abspath(cache_dir) if cache_dir else None}


def is_main_process() -> bool:
    """False on the ranks of a torchrun job other than 0 (they train but write nothing)."""
    import torch.distributed as dist

    return not dist.is_initialized() or dist.get_rank() == 0


def prepare_shared_corpus(corpus: Any, tokenizer: TokenizerOptions, text_column: str, cache_dir: str | None,
                          distributed: Distributed | None) -> EncodedCorpus:
    """:func:`prepare_corpus`, where in a torchrun job the first process of each node encodes the
    corpus into the cache while the node's other processes wait, then read it from there."""
    if distributed is None or isinstance(corpus, EncodedCorpus):
        return prepare_corpus(corpus, tokenizer, text_column, cache_dir)
    first_on_node = distributed.local_rank == 0
    encoded, error = None, None
    if first_on_node:
        try:
            encoded = prepare_corpus(corpus, tokenizer, text_column, cache_dir)
        except W2VError as exc:  # still meet the others at the barrier; they then fail the same way
            error = exc
    distributed.barrier()
    if error is not None:
        raise error
    return encoded if first_on_node else prepare_corpus(corpus, tokenizer, text_column, cache_dir)


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


def _work_dir(out: str) -> str:
    return out.rstrip("/\\") + ".partial"


def _fit_and_write(trainer: Trainer, out: str | None, work: str | None,
                   on_log: Callable[[dict, Trainer], None] | None) -> TrainResult:
    """Train, then write the outputs into ``work`` and move it to ``out``. A failed run leaves
    ``work`` in place when it holds a checkpoint (to resume), and removes it otherwise."""
    config, encoded, vocab = trainer.config, trainer.corpus, trainer.vocab
    if not is_main_process():  # in a torchrun job, rank 0 writes
        out = work = None
    try:
        if work is None:
            stats = trainer.fit(on_log=on_log)
        else:
            metrics_path = os.path.join(work, "metrics.jsonl")
            with open(metrics_path, "r+" if os.path.exists(metrics_path) else "w", encoding="utf-8") as metrics:
                metrics.truncate(trainer.metrics_bytes)  # drop lines logged after the checkpoint we resume from
                metrics.seek(trainer.metrics_bytes)
                stats = trainer.fit(metrics, on_log)
        vectors = Vectors(vocab.words, trainer.model.input.weight.detach().float().cpu().numpy())
        result = TrainResult(trainer.model, vocab, vectors, config, stats, trainer.noise, encoded, out)
        if trainer.held_out is not None and is_main_process():
            centers, contexts = held_out_pairs(encoded, len(vocab), trainer.held_out, config.window, trainer.device)
            result.held_out = estimator_diagnostics(trainer.model, trainer.noise, centers, contexts,
                                                    config.negatives, config.softmax_chunk)
        if work is not None:
            _write_outputs(work, result)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(work, STATE_FILE))
            replace_directory(work, out)
    except BaseException:
        if work is not None and not os.path.exists(os.path.join(work, STATE_FILE)):
            shutil.rmtree(work, ignore_errors=True)
        raise
    return result


def _check_output_dir(out: str, overwrite: bool) -> None:
    interrupted = os.path.join(_work_dir(out), STATE_FILE)
    if os.path.exists(interrupted) and not overwrite:
        raise W2VError(f"{_work_dir(out)}: holds an interrupted run; continue it with `w2v-contrastive train "
                       f"--resume {out}` or pass --overwrite to start over")
    if os.path.exists(out) and not os.path.isdir(out):
        raise W2VError(f"{out}: exists and is not a directory")
    if os.path.isdir(out) and os.listdir(out):
        if not os.path.exists(os.path.join(out, "config.json")):
            raise W2VError(f"{out}: directory is not empty and is not a training output; choose another --out")
        if not overwrite:
            raise W2VError(f"{out}: holds an earlier run; pass --overwrite to replace it")


def library_versions(numba: bool = False) -> dict:
    """Versions of the libraries a run depends on (numba's when the fused CPU kernel trained it)."""
    return {"w2v_contrastive": _version(), "torch": torch.__version__, "numpy": np.__version__,
            "numba": importlib.metadata.version("numba") if numba else None, "python": platform.python_version()}


def machine() -> dict:
    """The hardware a run used."""
    return {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def run_summary(result: TrainResult) -> dict:
    """Everything config.json records about a run."""
    corpus = result.corpus
    stats = {k: v for k, v in dataclasses.asdict(result.stats).items() if k != "history"}
    return {
        "config": result.config.to_dict(),
        "versions": library_versions(numba=result.stats.fused_cpu),
        "machine": machine(),
        "corpus": {"source": corpus.description, "tokens": corpus.n_tokens, "lines": corpus.n_lines,
                   "types": len(corpus.words), "cache": corpus.directory, "from_cache": corpus.from_cache,
                   "encode_seconds": corpus.seconds},
        "vocabulary": {"size": len(result.vocab), "tokens": result.vocab.total},
        "head": {"name": result.config.head, "lr": result.stats.lr, "optimizer": result.stats.optimizer,
                 "output_bias": result.model.bias is not None, "geometry": "tied" if result.model.tied else "untied"},
        "training": stats,
        "held_out": result.held_out,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _write_outputs(directory: str, result: TrainResult) -> None:
    result.vectors.save_word2vec_text(os.path.join(directory, "vectors.txt"))
    result.vocab.save(os.path.join(directory, "vocab.tsv"))
    with atomic_write(os.path.join(directory, "config.json")) as handle:
        json.dump(run_summary(result), handle, indent=2)
    checkpoint = {"config": result.config.to_dict(), "words": result.vocab.words,
                  "counts": result.vocab.counts.tolist(),
                  "model": {k: v.cpu() for k, v in result.model.state_dict().items()}}
    with atomic_write(os.path.join(directory, "checkpoint.pt"), "wb") as handle:
        torch.save(checkpoint, handle)


def load_model(path: str | os.PathLike) -> tuple[SkipGram, Vocabulary, TrainConfig]:
    """Reload the model, vocabulary and config of a training output directory (its checkpoint.pt)."""
    path = os.fspath(path)
    file = os.path.join(path, "checkpoint.pt") if os.path.isdir(path) else path
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise W2VError(f"{file}: no such checkpoint") from None
    except Exception as exc:
        raise W2VError(f"{file}: not a readable checkpoint ({type(exc).__name__})") from None
    config = TrainConfig.from_dict(checkpoint["config"])
    vocab = Vocabulary(checkpoint["words"], np.array(checkpoint["counts"], dtype=np.int64))
    model = build_model(dataclasses.replace(config, output_bias="bias.weight" in checkpoint["model"]), len(vocab),
                        build_head(config.head, config))
    model.load_state_dict(checkpoint["model"])
    return model, vocab, config


EXPORT_FORMATS = ("word2vec-text", "word2vec-binary", "npy")
EXPORT_VECTORS = ("input", "output", "sum")


def export(source: str | os.PathLike, out: str | os.PathLike, format: str = "word2vec-text",
           vectors: str = "input") -> Vectors:
    """Write the vectors of a training output directory in ``format`` to ``out`` (a file; a folder
    for npy). ``vectors``: the input (word) table u, the output (context) table v, or u + v; the
    latter two come from the run's checkpoint. ``source`` may also be any vectors file or npy
    folder when ``vectors="input"`` (a format conversion). Outputs are written atomically."""
    if format not in EXPORT_FORMATS:
        raise W2VError(f"unknown export format {format!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    if vectors not in EXPORT_VECTORS:
        raise W2VError(f"unknown vectors {vectors!r}; choose one of: {', '.join(EXPORT_VECTORS)}")
    if vectors == "input":
        table = load(source)
    else:
        model, vocab, _ = load_model(source)
        with torch.no_grad():
            matrix = model.output.weight + (model.input.weight if vectors == "sum" else 0)
        table = Vectors(vocab.words, matrix.numpy())
    out = os.fspath(out)
    if format == "word2vec-text":
        table.save_word2vec_text(out)
    elif format == "word2vec-binary":
        table.save_word2vec_binary(out)
    else:
        partial = out.rstrip(os.sep) + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        table.save_npy(partial)
        replace_directory(partial, out)
    return table


def evaluate(vectors: Vectors | str | os.PathLike, benchmarks: Iterable[str | os.PathLike] = DEFAULT_BENCHMARKS) -> list[dict]:
    """Spearman rho of ``vectors`` on each benchmark (a file path or a shipped name such as
    ``"simlex999"``): a list of ``{"benchmark", "spearman", "pairs", "covered"}``."""
    if not isinstance(vectors, Vectors):
        vectors = load(vectors)
    return [evaluate_similarity(vectors, load_similarity(b)) for b in benchmarks]


def recorded_held_out(path: str | os.PathLike) -> dict | None:
    """The held-out diagnostics recorded in a training output directory's config.json, if any."""
    summary = os.path.join(os.fspath(path), "config.json")
    if not os.path.isfile(summary):
        return None
    try:
        with open(summary, encoding="utf-8") as handle:
            return json.load(handle).get("held_out")
    except (OSError, ValueError):
        return None


def _version() -> str:
    from . import __version__

    return __version__
