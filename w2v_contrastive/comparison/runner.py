"""Head-to-head comparison: every head x seed trained under identical conditions and evaluated alike.

The runner (this module) trains and evaluates; :mod:`.report` turns the runs into tables and plots.

Identical conditions: one encoded corpus, one vocabulary, one noise distribution Q, and for a given
seed the same pair stream (the trainer draws pairs from a generator that depends on the seed only),
the same dimension, window, negatives and budget (``epochs`` and/or ``max_seconds``). What a head
sets for itself when the user does not (optimizer, learning rate, geometry, batch size) is its
documented default, recorded with each run. Baselines (``baselines``: gensim, fastText; baselines.py)
train on the same lines and vocabulary with the same shared settings and their own tool's defaults, and
are evaluated by the same code; their rows are marked as baselines, with the tool's version.

Layout of ``out``::

    runs/<name>-seed<seed>.json   one finished run of a head or baseline, written atomically; resuming skips it
    results.json                  every run, the shared settings, versions and hardware
    results.md                    head x benchmark table: mean and 95% interval over seeds, words/s, ...
    loss.png, rho.png, scores.png training loss and WS353 / SimLex rho against time; scores with intervals

Each run is evaluated on WS353 and SimLex as it trains (the timeline): at every tenth of its budget
(words or seconds, whichever is further along) and every ``eval_every_seconds``, so each head's curve
has at least ten points however long it trains.

The 95% interval of a mean over n >= 2 seeds is Student's t interval (it covers seed-to-seed variation
of training); with one seed it is the bootstrap interval over the benchmark's pairs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from typing import Any, Iterable, Sequence

from ..api import make_config, prepare_shared_corpus, train
from ..config import TrainConfig
from ..errors import W2VError
from ..eval.analogy import evaluate_analogies
from ..eval.benchmarks import load_similarity
from ..eval.geometry import embedding_geometry
from ..eval.similarity import evaluate_similarity
from ..fileio import atomic_write
from ..rundir import head_summary, library_versions, machine, provenance
from ..train.callbacks import Callback
from ..train.distributed import Distributed, is_main_process
from ..train.trainer import process_peak_rss_mb
from ..vectors import Vectors
from .baselines import Baseline, parse_baselines
from .report import TIMELINE_BENCHMARKS, plot, results_table, summarise

#: every similarity benchmark shipped in data/benchmarks
SIMILARITY_BENCHMARKS = ("wordsim353", "wordsim353_sim", "wordsim353_rel", "simlex999", "men3k", "rg65", "mturk287")
ANALOGY_BENCHMARK = "questions-words"
#: fraction of documents held out of every run for the estimator diagnostics unless told otherwise
COMPARE_HOLDOUT = 0.01
#: the timeline evaluates each run at these many equal fractions of its budget
TIMELINE_POINTS = 10
#: the longest interval between two metrics records (the timeline's chances to evaluate) in a comparison run
COMPARE_LOG_EVERY_SECONDS = 0.25


def comparison_defaults(settings: dict) -> None:
    """The settings a comparison fixes for all its runs unless told otherwise: :data:`COMPARE_HOLDOUT`, and the centre
    pair order (its "auto" would give CBOW's fused heads the text order and the others the centre order, and
    every run of a comparison trains on the same pairs in the same order)."""
    settings.setdefault("holdout", COMPARE_HOLDOUT)
    if settings.get("pair_order", "auto") == "auto":
        settings["pair_order"] = "centre"


def compare(corpus: Any, heads: Sequence[str], out: str | os.PathLike, seeds: Sequence[int] = (0,), *,
            baselines: Sequence[str] = (), benchmarks: Iterable[str] = (), analogies: bool = True,
            eval_every_seconds: float = 30.0, tensorboard: str | None = None, cache_dir: str | None = None,
            text_column: str = "text", **settings: Any) -> dict | None:
    """Train every head with every seed on ``corpus`` under the same ``settings`` (any TrainConfig
    field), and every baseline (comparison/baselines.py: gensim-sgns, gensim-hs, gensim-cbow,
    gensim-fasttext, fasttext) on the same corpus, vocabulary and shared settings; evaluate each run
    alike, and write the results, table and plots into ``out``. Returns the content of results.json.
    Runs already finished in ``out`` are reused. Under torchrun every run is trained by all the processes
    (train/distributed.py); rank 0 evaluates, writes and returns the results, the other ranks return None."""
    if not (heads or baselines) or not seeds:
        raise W2VError("compare needs at least one head or baseline and one seed")
    tools = {b.name: b for b in parse_baselines(baselines)}
    comparison_defaults(settings)
    # (the timeline evaluates at metrics records: as often as its points need, whatever the command line's default)
    settings["log_every_seconds"] = min(settings.get("log_every_seconds", math.inf), COMPARE_LOG_EVERY_SECONDS)
    configs = {(head, seed): make_config(head, **{**settings, "seed": seed}) for head in heads for seed in seeds}
    configs.update({(name, seed): tool.config({**settings, "seed": seed}) for name, tool in tools.items()
                    for seed in seeds})
    similarity = [load_similarity(b) for b in (*SIMILARITY_BENCHMARKS, *benchmarks)]
    out = os.fspath(out)
    first = next(iter(configs.values()))
    distributed = Distributed.from_environment(first.device)
    if tools and distributed is not None:
        raise W2VError("--baselines train in one process: run compare --baselines without torchrun")
    main = is_main_process()
    if main:
        os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    writer_class = _summary_writer_class() if tensorboard and main else None
    encoded = prepare_shared_corpus(corpus, first, text_column, cache_dir, distributed)
    runs = []
    for (head, seed), config in configs.items():
        writer = (lambda name=f"{head}-seed{seed}": writer_class(os.path.join(tensorboard, name))) if writer_class \
            else None
        runs.append(recorded_run(os.path.join(out, "runs", f"{head}-seed{seed}.json"), config, encoded, distributed,
                                 similarity, analogies, eval_every_seconds, writer, TIMELINE_POINTS, tools.get(head)))
    if not main:
        return None
    results = {"corpus": encoded.description, "tokens": encoded.n_tokens, "heads": list(heads),
               "baselines": {name: tool.describe() for name, tool in tools.items()}, "seeds": list(seeds),
               "settings": _shared_settings(configs), "versions": library_versions(numba=any(r["training"]["step"] == "fused" for r in runs)),
               "machine": machine(), **provenance(),
               "summary": summarise(runs), "runs": runs}
    with atomic_write(os.path.join(out, "results.json")) as handle:
        json.dump(results, handle, indent=1)
    with atomic_write(os.path.join(out, "results.md")) as handle:
        handle.write(results_table(results))
    plot(results, out)
    return results


def recorded_run(path: str, config: TrainConfig, encoded, distributed: Distributed | None, similarity,
                 analogies: bool, eval_every_seconds: float, writer=None, timeline_points: int = 0,
                 baseline: Baseline | None = None) -> dict | None:
    """The run recorded at ``path``, trained with ``config`` (by ``baseline`` when given, else by
    ``config``'s head); when there is none, train and evaluate it (:func:`_train_and_evaluate`; ``writer()``
    makes its TensorBoard writer; the timeline evaluates every ``eval_every_seconds`` and at
    ``timeline_points`` fractions of the budget) and record it there, atomically.
    Under torchrun every rank learns from rank 0 whether to train, all train, and rank 0 writes (the others
    get None)."""
    main = is_main_process()
    run = _finished_run(path, config) if main else None
    if distributed is not None:  # every rank must know whether to train it
        run = distributed.broadcast(run)
    if run is None:
        ranks = distributed.world_size if distributed is not None else 1
        run = _train_and_evaluate(encoded, config, similarity, analogies, eval_every_seconds,
                                  writer() if writer else None, timeline_points, ranks, baseline)
        if main:
            with atomic_write(path) as handle:
                json.dump(run, handle, indent=1)
    return run


def _finished_run(path: str, config: TrainConfig) -> dict | None:
    """The run recorded at ``path`` if there is one, trained with exactly ``config``."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            run = json.load(handle)
    except (OSError, ValueError):
        return None  # unreadable: train it again
    if run.get("config") != config.to_dict():
        raise W2VError(f"{path}: holds a run with other settings; compare into a new --out")
    return run


class Timeline(Callback):
    """Follows a run: loss and the timeline benchmarks' rho every ``every`` training seconds, each time
    the run's progress passes one of ``points`` equal fractions of its budget, and at the last record;
    also written to TensorBoard when ``writer`` is given. Progress is max(words / ``budget_words``,
    seconds / ``max_seconds``), as the learning-rate schedule reads it."""

    def __init__(self, benchmarks, every: float, writer=None, points: int = 0, budget_words: float = math.inf,
                 max_seconds: float | None = None):
        self.benchmarks, self.every, self.writer = benchmarks, every, writer
        self.fractions, self.budget_words, self.max_seconds = points, budget_words, max_seconds
        self.points: list[dict] = []

    def _fractions_passed(self, record: dict) -> int:
        progress = max(record["words"] / self.budget_words, record["seconds"] / self.max_seconds if self.max_seconds else 0)
        return math.floor(progress * self.fractions)

    def on_log(self, record: dict, vectors) -> None:
        last = self.points[-1] if self.points else None
        if (last is None or record["seconds"] >= last["seconds"] + self.every
                or self._fractions_passed(record) > self._fractions_passed(last)):
            self.add(record, vectors())

    def add(self, record: dict, vectors: Vectors) -> None:
        point = {"seconds": record["seconds"], "words": record["words"], "loss": record["loss"]}
        point.update({b.name: evaluate_similarity(vectors, b, interval=False)["spearman"] for b in self.benchmarks})
        self.points.append(point)
        if self.writer is not None:
            for key in ("loss", *(b.name for b in self.benchmarks)):
                self.writer.add_scalar(key, point[key], point["words"])
            self.writer.add_scalar("words_per_second", record["words_per_second"], point["words"])

    def finish(self, last_record: dict | None, vectors: Vectors) -> None:
        """Make sure the timeline ends with the run's last record."""
        if last_record is not None and (not self.points or self.points[-1]["words"] != last_record["words"]):
            self.add(last_record, vectors)


def _train_and_evaluate(encoded, config: TrainConfig, similarity, analogies: bool, eval_every_seconds: float,
                        writer, timeline_points: int = 0, ranks: int = 1,
                        baseline: Baseline | None = None) -> dict | None:
    budget_words = encoded.n_tokens * (1 - config.holdout) * config.epochs
    if config.max_words:
        budget_words = min(budget_words, config.max_words)
    budget_words /= ranks  # (the records count the words of rank 0's share)
    timeline = Timeline([b for b in similarity if b.name in TIMELINE_BENCHMARKS], eval_every_seconds, writer,
                        timeline_points, budget_words, config.max_seconds)
    with PeakMemory() as memory:
        vectors, trained = (baseline.train(encoded, config, timeline) if baseline is not None
                            else _train_head(encoded, config, timeline))
    if not is_main_process():
        return None
    timeline.finish(trained["history"][-1] if trained["history"] else None, vectors)
    scores = {}
    for benchmark in similarity:
        row = evaluate_similarity(vectors, benchmark)
        scores[row["benchmark"]] = {k: row[k] for k in ("spearman", "spearman_ci95", "pearson", "covered", "pairs")}
    run = {"head": baseline.name if baseline is not None else config.head, "seed": config.seed,
           "config": config.to_dict(), **trained, "peak_memory_mb": memory.peak_mb, "similarity": scores,
           "geometry": embedding_geometry(vectors), "timeline": timeline.points}
    if analogies:
        run["analogy"] = evaluate_analogies(vectors, ANALOGY_BENCHMARK)
    if writer is not None:
        for name, row in scores.items():
            writer.add_scalar(f"final/{name}", row["spearman"], int(trained["training"]["words"]))
        writer.close()
    return run


def _train_head(encoded, config: TrainConfig, timeline: Timeline) -> tuple[Vectors, dict]:
    """Train ``config``'s head: (its vectors, the run's record of how it trained, as a baseline's train gives it)."""
    result = train(encoded, config.head, callbacks=[timeline], **_settings_of(config))
    return result.vectors, {"head_settings": head_summary(result), "held_out": result.held_out,
                            "training": {k: v for k, v in dataclasses.asdict(result.stats).items() if k != "history"},
                            "history": result.stats.history}


def _settings_of(config: TrainConfig) -> dict:
    settings = config.to_dict()
    settings.pop("head")
    settings["tokenizer"] = config.tokenizer
    return settings


def _shared_settings(configs: dict) -> dict:
    first = next(iter(configs.values())).to_dict()
    return {k: v for k, v in first.items() if k not in ("head", "seed")}


def _summary_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise W2VError("--tensorboard needs the tensorboard package: pip install 'w2v-contrastive[tensorboard]'") from None
    return SummaryWriter


class PeakMemory:
    """Peak resident memory (MB) of this process while the block runs, sampled every 50 ms from
    /proc/self/statm (getrusage's maximum never goes down, so it cannot tell one run from the next)."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _current_mb(self) -> float:
        try:
            with open("/proc/self/statm") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:  # not Linux: the process maximum so far
            return process_peak_rss_mb()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._current_mb())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._current_mb())
