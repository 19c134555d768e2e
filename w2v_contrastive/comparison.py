"""Head-to-head comparison: every head x seed trained under identical conditions and evaluated alike.

Identical conditions: one encoded corpus, one vocabulary, one noise distribution Q, and for a given
seed the same pair stream (the trainer draws pairs from a generator that depends on the seed only),
the same dimension, window, negatives and budget (``epochs`` and/or ``max_seconds``). What a head
sets for itself when the user does not (optimizer, learning rate, geometry, batch size) is its
documented default, recorded with each run.

Layout of ``out``::

    runs/<head>-seed<seed>.json   one finished run, written atomically; resuming skips the runs present
    results.json                  every run, the shared settings, versions and hardware
    results.md                    head x benchmark table: mean and 95% interval over seeds, words/s, ...
    loss.png, rho.png, scores.png training loss and WS353 / SimLex rho against time; scores with intervals

The 95% interval of a mean over n >= 2 seeds is Student's t interval (it covers seed-to-seed variation
of training); with one seed it is the bootstrap interval over the benchmark's pairs.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import threading
from typing import Any, Iterable, Sequence

import numpy as np
from scipy import stats as scipy_stats

from .api import is_main_process, library_versions, machine, make_config, prepare_shared_corpus, train
from .config import TrainConfig
from .errors import W2VError
from .eval.analogy import evaluate_analogies
from .eval.benchmarks import load_similarity
from .eval.geometry import embedding_geometry
from .eval.similarity import evaluate_similarity
from .fileio import atomic_write
from .train.distributed import Distributed
from .train.trainer import process_peak_rss_mb
from .vectors import Vectors

#: every similarity benchmark shipped in data/benchmarks, and the ones followed during training
SIMILARITY_BENCHMARKS = ("wordsim353", "wordsim353_sim", "wordsim353_rel", "simlex999", "men3k", "rg65", "mturk287")
TIMELINE_BENCHMARKS = ("wordsim353", "simlex999")
ANALOGY_BENCHMARK = "questions-words"
#: fraction of documents held out of every run for the estimator diagnostics unless told otherwise
COMPARE_HOLDOUT = 0.01


def compare(corpus: Any, heads: Sequence[str], out: str | os.PathLike, seeds: Sequence[int] = (0,), *,
            benchmarks: Iterable[str] = (), analogies: bool = True, eval_every_seconds: float = 30.0,
            tensorboard: str | None = None, cache_dir: str | None = None, text_column: str = "text",
            **settings: Any) -> dict | None:
    """Train every head with every seed on ``corpus`` under the same ``settings`` (any TrainConfig
    field), evaluate each run, and write the results, table and plots into ``out``. Returns the
    content of results.json. Runs already finished in ``out`` are reused. Under torchrun every run
    is trained by all the processes (train/distributed.py); rank 0 evaluates, writes and returns
    the results, the other ranks return None."""
    if not heads or not seeds:
        raise W2VError("compare needs at least one head and one seed")
    settings.setdefault("holdout", COMPARE_HOLDOUT)
    configs = {(head, seed): make_config(head, **{**settings, "seed": seed}) for head in heads for seed in seeds}
    similarity = [load_similarity(b) for b in (*SIMILARITY_BENCHMARKS, *benchmarks)]
    out = os.fspath(out)
    first = next(iter(configs.values()))
    distributed = Distributed.from_environment(first.device)
    main = is_main_process()
    if main:
        os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    writer_class = _summary_writer_class() if tensorboard and main else None
    encoded = prepare_shared_corpus(corpus, first.tokenizer, text_column, cache_dir, distributed)
    runs = []
    for (head, seed), config in configs.items():
        path = os.path.join(out, "runs", f"{head}-seed{seed}.json")
        run = _finished_run(path, config) if main else None
        if distributed is not None:  # every rank must know whether to train it
            run = distributed.broadcast(run)
        if run is None:
            writer = writer_class(os.path.join(tensorboard, f"{head}-seed{seed}")) if writer_class else None
            run = _train_and_evaluate(encoded, config, similarity, analogies, eval_every_seconds, writer)
            if main:
                with atomic_write(path) as handle:
                    json.dump(run, handle, indent=1)
        runs.append(run)
    if not main:
        return None
    results = {"corpus": encoded.description, "tokens": encoded.n_tokens, "heads": list(heads), "seeds": list(seeds),
               "settings": _shared_settings(configs), "versions": library_versions(numba=any(r["training"]["fused_cpu"] for r in runs)),
               "machine": machine(),
               "summary": summarise(runs), "runs": runs}
    with atomic_write(os.path.join(out, "results.json")) as handle:
        json.dump(results, handle, indent=1)
    with atomic_write(os.path.join(out, "results.md")) as handle:
        handle.write(results_table(results))
    plot(results, out)
    return results


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


def _train_and_evaluate(encoded, config: TrainConfig, similarity, analogies: bool, eval_every_seconds: float,
                        writer) -> dict:
    timeline: list[dict] = []
    timeline_benchmarks = [b for b in similarity if b.name in TIMELINE_BENCHMARKS]

    def add_point(record: dict, vectors: Vectors) -> None:
        point = {"seconds": record["seconds"], "words": record["words"], "loss": record["loss"]}
        point.update({b.name: evaluate_similarity(vectors, b)["spearman"] for b in timeline_benchmarks})
        timeline.append(point)
        if writer is not None:
            for key in ("loss", *(b.name for b in timeline_benchmarks)):
                writer.add_scalar(key, point[key], point["words"])
            writer.add_scalar("words_per_second", record["words_per_second"], point["words"])

    def on_log(record: dict, trainer) -> None:
        if is_main_process() and (not timeline or record["seconds"] >= timeline[-1]["seconds"] + eval_every_seconds):
            add_point(record, Vectors(trainer.vocab.words, trainer.model.input.weight.detach().float().cpu().numpy()))

    with PeakMemory() as memory:
        result = train(encoded, config.head, on_log=on_log, **_settings_of(config))
    if not is_main_process():
        return None
    if result.stats.history and (not timeline or timeline[-1]["words"] != result.stats.history[-1]["words"]):
        add_point(result.stats.history[-1], result.vectors)
    vectors = result.vectors
    scores = {}
    for benchmark in similarity:
        row = evaluate_similarity(vectors, benchmark)
        scores[row["benchmark"]] = {k: row[k] for k in ("spearman", "spearman_ci95", "pearson", "covered", "pairs")}
    run = {"head": config.head, "seed": config.seed, "config": config.to_dict(),
           "training": {k: v for k, v in dataclasses.asdict(result.stats).items() if k != "history"},
           "peak_memory_mb": memory.peak_mb, "similarity": scores, "geometry": embedding_geometry(vectors),
           "held_out": result.held_out,
           "history": result.stats.history, "timeline": timeline}
    if analogies:
        run["analogy"] = evaluate_analogies(vectors, ANALOGY_BENCHMARK)
    if writer is not None:
        for name, row in scores.items():
            writer.add_scalar(f"final/{name}", row["spearman"], int(result.stats.words))
        writer.close()
    return run


def _settings_of(config: TrainConfig) -> dict:
    settings = config.to_dict()
    settings.pop("head")
    settings["tokenizer"] = config.tokenizer
    return settings


def _shared_settings(configs: dict) -> dict:
    first = next(iter(configs.values())).to_dict()
    return {k: v for k, v in first.items() if k not in ("head", "seed")}


def summarise(runs: list[dict]) -> dict:
    """Per head: mean and 95% interval of every benchmark over seeds, analogy accuracy, words/s, wall
    time and peak memory (means over seeds)."""
    summary: dict[str, dict] = {}
    for head, group in itertools.groupby(sorted(runs, key=lambda r: r["head"]), key=lambda r: r["head"]):
        group = list(group)
        row: dict[str, Any] = {"seeds": [r["seed"] for r in group], "scores": {}}
        for name in group[0]["similarity"]:
            values = np.array([r["similarity"][name]["spearman"] for r in group])
            if len(values) > 1:
                half = scipy_stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
                interval = [float(values.mean() - half), float(values.mean() + half)]
            else:
                interval = group[0]["similarity"][name]["spearman_ci95"]
            row["scores"][name] = {"mean": float(values.mean()), "ci95": interval,
                                   "covered": group[0]["similarity"][name]["covered"],
                                   "pairs": group[0]["similarity"][name]["pairs"]}
        if "analogy" in group[0]:
            row["analogy"] = float(np.mean([r["analogy"]["accuracy"] for r in group]))
        for key, source in (("words_per_second", "words_per_second"), ("seconds", "seconds")):
            row[key] = float(np.mean([r["training"][source] for r in group]))
        row["peak_memory_mb"] = float(np.mean([r["peak_memory_mb"] for r in group]))
        row["geometry"] = {k: float(np.mean([r["geometry"][k] for r in group])) for k in ("mean_cosine", "effective_rank")}
        if group[0].get("held_out", {}) and group[0]["held_out"].get("pairs"):
            held = [r["held_out"] for r in group]
            row["held_out"] = {"softmax_cross_entropy": float(np.mean([h["softmax_cross_entropy"] for h in held])),
                               "log_z_mean": float(np.mean([h["log_z"]["mean"] for h in held])),
                               "log_z_std": float(np.mean([h["log_z"]["std"] for h in held])),
                               "infonce_bound": float(np.mean([h["infonce_bound"]["bound"] for h in held])),
                               "infonce_max": held[0]["infonce_bound"]["max"], "pairs": held[0]["pairs"]}
        row["optimizer"], row["lr"] = group[0]["training"]["optimizer"], group[0]["training"]["lr"]
        row["batch_size"] = group[0]["training"]["batch_size"]
        summary[head] = row
    return summary


def overlapping_pairs(summary: dict, benchmark: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(pairs of heads whose intervals on ``benchmark`` overlap, pairs whose intervals are apart, the
    better head first)."""
    inside, apart = [], []
    for a, b in itertools.combinations(summary, 2):
        (la, ha), (lb, hb) = summary[a]["scores"][benchmark]["ci95"], summary[b]["scores"][benchmark]["ci95"]
        if la <= hb and lb <= ha:
            inside.append((a, b))
        else:
            apart.append((a, b) if la > hb else (b, a))
    return inside, apart


def results_table(results: dict) -> str:
    summary = results["summary"]
    names = list(next(iter(summary.values()))["scores"])
    n_seeds = len(results["seeds"])
    lines = [f"# Comparison on {results['corpus']} ({results['tokens']:,} tokens)", "",
             f"Seeds {', '.join(map(str, results['seeds']))}; rho = Spearman, mean over seeds and 95% interval "
             + ("(Student's t over seeds)." if n_seeds > 1 else "(bootstrap over the benchmark's pairs, one seed)."),
             "", "| head | " + " | ".join(names) + " | analogy | words/s | seconds | peak MB | optimizer, lr, batch |",
             "|---|" + "---|" * (len(names) + 5)]
    for head, row in summary.items():
        cells = [f"{row['scores'][n]['mean']:.3f} [{row['scores'][n]['ci95'][0]:.3f}, {row['scores'][n]['ci95'][1]:.3f}]"
                 for n in names]
        analogy = f"{row['analogy']:.3f}" if "analogy" in row else "-"
        lines.append(f"| {head} | " + " | ".join(cells) + f" | {analogy} | {row['words_per_second']:,.0f} | "
                     f"{row['seconds']:.0f} | {row['peak_memory_mb']:,.0f} | {row['optimizer']}, {row['lr']:g}, "
                     f"{row['batch_size']} |")
    first = next(iter(summary.values()))  # one vocabulary for all runs: one coverage
    coverage = ", ".join(f"{n} {first['scores'][n]['covered']}/{first['scores'][n]['pairs']}" for n in names)
    lines += ["", f"Pairs covered: {coverage}.", ""]
    lines += ["Estimator diagnostics: softmax cross-entropy (nats) and log Z(w) on pairs of held-out documents, "
              "InfoNCE bound log(K+1) - L there; geometry of the vectors (mean cosine of random pairs, effective rank).",
              "", "| head | held-out softmax CE | log Z mean (std) | InfoNCE bound (max) | mean cosine | effective rank |",
              "|---|---|---|---|---|---|"]
    for head, row in summary.items():
        held = row.get("held_out")
        cells = (f"{held['softmax_cross_entropy']:.3f} | {held['log_z_mean']:.2f} ({held['log_z_std']:.2f}) | "
                 f"{held['infonce_bound']:.3f} ({held['infonce_max']:.3f})") if held else "- | - | -"
        lines.append(f"| {head} | {cells} | {row['geometry']['mean_cosine']:.3f} | "
                     f"{row['geometry']['effective_rank']:.1f} |")
    lines.append("")
    if len(summary) > 1:
        lines.append("Differences inside the intervals (overlapping 95% intervals: ~) and outside them (>):")
        for name in names:
            inside, apart = overlapping_pairs(summary, name)
            pairs = [f"{a} ~ {b}" for a, b in inside] + [f"{a} > {b}" for a, b in apart]
            lines.append(f"- {name}: " + ", ".join(pairs))
    return "\n".join(lines) + "\n"


def plot(results: dict, out: str) -> None:
    """loss.png and rho.png (against training seconds, one line per run) and scores.png (bars, 95% intervals)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    colours = {head: f"C{i}" for i, head in enumerate(results["heads"])}
    figure, axis = pyplot.subplots(figsize=(7, 4.5))
    for run in results["runs"]:
        history = run["history"]
        axis.plot([h["seconds"] for h in history], [h["loss"] for h in history], color=colours[run["head"]],
                  label=run["head"] if run["seed"] == results["seeds"][0] else None, alpha=0.8)
    axis.set(xlabel="training seconds", ylabel="loss per pair (each head its own scale)", yscale="log",
             title="Training loss")
    axis.legend(fontsize=8)
    _save(figure, os.path.join(out, "loss.png"))

    figure, axes = pyplot.subplots(1, len(TIMELINE_BENCHMARKS), figsize=(11, 4.5), sharex=True)
    for axis, name in zip(axes, TIMELINE_BENCHMARKS):
        for run in results["runs"]:
            timeline = run["timeline"]
            axis.plot([p["seconds"] for p in timeline], [p[name] for p in timeline], marker=".",
                      color=colours[run["head"]], label=run["head"] if run["seed"] == results["seeds"][0] else None)
        axis.set(xlabel="training seconds", ylabel="Spearman rho", title=name)
    axes[0].legend(fontsize=8)
    _save(figure, os.path.join(out, "rho.png"))

    summary = results["summary"]
    names = list(next(iter(summary.values()))["scores"])
    width = 0.8 / len(summary)
    figure, axis = pyplot.subplots(figsize=(max(8, 1.3 * len(names)), 4.5))
    for i, (head, row) in enumerate(summary.items()):
        means = np.array([row["scores"][n]["mean"] for n in names])
        low = means - np.array([row["scores"][n]["ci95"][0] for n in names])
        high = np.array([row["scores"][n]["ci95"][1] for n in names]) - means
        axis.bar(np.arange(len(names)) + i * width, means, width, yerr=[low, high], capsize=2, label=head,
                 color=colours[head])
    axis.set_xticks(np.arange(len(names)) + width * (len(summary) - 1) / 2, names, rotation=20, fontsize=8)
    axis.set(ylabel="Spearman rho (95% interval)", title="Word similarity")
    axis.legend(fontsize=8)
    _save(figure, os.path.join(out, "scores.png"))


def _save(figure, path: str) -> None:
    from matplotlib import pyplot

    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    pyplot.close(figure)


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
