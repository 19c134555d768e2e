"""A fair comparison: every head tuned at an equal budget on development pairs, reported on the others.

Levy, Goldberg & Dagan (2015) showed that most differences between embedding methods vanish or flip once
each method's hyperparameters are tuned: comparing methods at their defaults compares the defaults. So
:func:`tune` gives every head the same search (the same number of trials, the same training budget per
trial: ``epochs`` and/or ``max_seconds``, on one encoded corpus), selects each head's settings by their mean
Spearman rho on *development* pairs, and reports the selected settings, and the defaults beside them, trained
with every seed and scored on *reporting* pairs that no selection read:

- by default each benchmark's pairs are split in two by a seeded hash of the (unordered) word pair
  (:class:`PairSplit`): a pair is a development pair in every benchmark that holds it, or a reporting pair
  in every one (WS353's similarity and relatedness subsets share its pairs);
- with ``select_on``, whole benchmarks select, and every pair they hold is removed from the reported ones.

The search (``spec``): ``KEY=V1,V2,...`` for any training setting (``lr=0.0125,0.025,0.05 window=2,5,10``),
``HEAD.KEY=...`` for one head only, and ``xF`` for F times the head's own default (``lr=x0.5,x1,x2``: an SGD
head and an Adam head each searched around its own step; a head's default step depends on the training budget,
train/setup.py). The grid, or ``trials`` points of it drawn at random (the same draw for every head). Every
trial's settings are checked before anything trains. Baselines (``baselines``, comparison/baselines.py) are
searched alike over the settings they honour, ``xF`` of ``lr`` being F times their tool's own default step.

Layout of ``out``::

    trials/<head>-<n>.json         one finished trial: settings and development scores (resuming skips them)
    runs/<head>-<default|tuned>-seed<s>.json   the defaults and the selected settings, per seed, on reporting pairs
    results.json, results.md       every trial and run; the table of defaults against tuned settings
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import os
import random
import zlib
from typing import Any, Callable, Iterable, Sequence

import torch

from ..api import make_config, prepare_shared_corpus
from ..config import TrainConfig, setting_type
from ..errors import W2VError
from ..eval.benchmarks import SimilarityBenchmark, load_similarity
from ..fileio import atomic_write
from ..heads import build_head
from ..rundir import library_versions, machine, provenance
from ..train.distributed import Distributed, is_main_process
from ..train.setup import Machine, plan, training_words
from .report import BASELINE_NOTE, row_label, summarise
from .baselines import BASELINES, parse_baselines
from .baselines import SETTINGS as BASELINE_SETTINGS
from .runner import SIMILARITY_BENCHMARKS, comparison_defaults, recorded_run

log = logging.getLogger("w2v_contrastive")


def parse_spec(spec: str, heads: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """Per head, the raw values of each searched setting (one-line W2VError for what cannot be one)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"head", "seed", "tokenizer"}
    common: dict[str, list[str]] = {}
    own: dict[str, dict[str, list[str]]] = {head: {} for head in heads}
    for item in spec.split():
        key, equals, values = item.partition("=")
        head, dot, name = key.rpartition(".")
        name = name.replace("-", "_")
        if not equals or not values or any(not v for v in values.split(",")):
            raise W2VError(f"--tune: {item!r} is not KEY=V1,V2,...")
        if name not in fields:
            raise W2VError(f"--tune: unknown hyperparameter {name!r}")
        if dot and head not in own:
            raise W2VError(f"--tune: {item!r} names head {head!r}, which is not among --heads")
        (own[head] if dot else common)[name] = values.split(",")
    if not common and not any(own.values()):
        raise W2VError("--tune needs at least one KEY=V1,V2,... to search")
    return {head: {**common, **own[head]} for head in heads}


def search_points(space: dict[str, dict[str, list[str]]], trials: int | None, seed: int) -> dict[str, list[dict]]:
    """Per head, its trials' raw settings: the whole grid, or ``trials`` points drawn from it (the same
    indices for every head). Every head gets as many trials."""
    grids = {head: [dict(zip(keys, values)) for values in itertools.product(*(space[head][k] for k in keys))]
             for head, keys in ((head, sorted(space[head])) for head in space)}
    sizes = {len(grid) for grid in grids.values()}
    if trials is None:
        if len(sizes) > 1:
            raise W2VError("--tune gives the heads grids of different sizes; pass --trials N so that each gets N")
        return grids
    if trials < 1 or trials > min(sizes):
        raise W2VError(f"--trials must be between 1 and the grid's {min(sizes)} points, not {trials}")
    picks = random.Random(seed).sample(range(min(sizes)), trials)
    return {head: [grid[i] for i in picks] for head, grid in grids.items()}


def resolve(head: str, raw: dict[str, str], settings: dict[str, Any], corpus_tokens: int | None = None) -> TrainConfig:
    """The config of one trial of ``head`` (or baseline): ``settings`` with ``raw`` converted (``xF``: F times the
    default, for ``lr`` the one a corpus of ``corpus_tokens`` tokens gets; None: the classic one)."""
    plain = {name: text for name, text in raw.items() if not text.startswith("x")}
    values = {}
    for name, text in plain.items():
        kind = setting_type(name)
        try:
            values[name] = _parse_bool(text) if kind is bool else kind(text)
        except ValueError:
            raise W2VError(f"--tune: {name}={text} is not a {kind.__name__}") from None
    base = config_of(head, {**settings, **values})
    for name, text in raw.items():
        kind = setting_type(name)
        if text.startswith("x"):
            default = _default(head, base, name, corpus_tokens)
            try:
                factor = float(text[1:])
            except ValueError:
                raise W2VError(f"--tune: {name}={text} is not x followed by a number") from None
            if not isinstance(default, (int, float)) or isinstance(default, bool):
                raise W2VError(f"--tune: {name} has no numeric default to multiply ({text})")
            values[name] = round(default * factor) if kind is int else default * factor
    return config_of(head, {**settings, **values})


def config_of(name: str, settings: dict[str, Any]) -> TrainConfig:
    """The validated config of a run of head or baseline ``name`` with ``settings``."""
    return BASELINES[name].config(settings) if name in BASELINES else make_config(name, **settings)


def _default(head: str, config: TrainConfig, name: str, corpus_tokens: int | None):
    """What ``config`` trains with for ``name`` when unset: the learning rate the head (for the training budget
    on ``corpus_tokens`` tokens) or the baseline's tool resolves, else the field."""
    if name != "lr" or config.lr is not None:
        return getattr(config, name)
    if head in BASELINES:
        return BASELINES[head].default_lr
    budget = training_words(config, corpus_tokens) if corpus_tokens is not None else None
    return plan(config, build_head(config.head, config), Machine(torch.device("cpu"), 1), budget).lr


def _parse_bool(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0"):
        raise ValueError(text)
    return text.lower() in ("true", "1")


@dataclasses.dataclass(frozen=True)
class PairSplit:
    """Development and reporting pairs: pair {a, b} is a development pair when crc32(seed, sorted pair) is even."""

    seed: int = 0

    def is_development(self, first: str, second: str) -> bool:
        low, high = sorted((first, second))
        return zlib.crc32(f"{self.seed}\0{low}\0{high}".encode()) % 2 == 0

    def halves(self, benchmark: SimilarityBenchmark) -> tuple[SimilarityBenchmark, SimilarityBenchmark]:
        dev = [p for p in benchmark.pairs if self.is_development(p[0], p[1])]
        report = [p for p in benchmark.pairs if not self.is_development(p[0], p[1])]
        return SimilarityBenchmark(benchmark.name + ":dev", dev), SimilarityBenchmark(benchmark.name + ":report", report)


def development_and_reporting(select_on: Iterable[str] | None, report_on: Iterable[str] | None,
                              benchmarks: Iterable[str], split: PairSplit
                              ) -> tuple[list[SimilarityBenchmark], list[SimilarityBenchmark]]:
    """(benchmarks that select, benchmarks that report), no reporting pair among the selecting ones'."""
    every = [load_similarity(b) for b in (*SIMILARITY_BENCHMARKS, *benchmarks)]
    if select_on is None:
        halves = [split.halves(b) for b in every]
        development = [dev for dev, _ in halves]
        reporting = [report for _, report in halves]
        if report_on is not None:
            names = {load_similarity(b).name for b in report_on}
            reporting = [r for r in reporting if r.name.removesuffix(":report") in names]
    else:
        development = [load_similarity(b) for b in select_on]
        selecting = {d.name for d in development}
        candidates = [load_similarity(b) for b in report_on] if report_on is not None else every
        reporting = [b for b in candidates if b.name not in selecting]
        used = {frozenset(p[:2]) for d in development for p in d.pairs}
        reporting = [SimilarityBenchmark(b.name, [p for p in b.pairs if frozenset(p[:2]) not in used])
                     for b in reporting]
    if not reporting or not any(r.pairs for r in reporting):
        raise W2VError("--tune: no benchmark pairs are left to report on once the selecting ones are set aside")
    return development, reporting


def tune(corpus: Any, heads: Sequence[str], out: str | os.PathLike, spec: str, *, baselines: Sequence[str] = (),
         trials: int | None = None, seeds: Sequence[int] = (0,), select_on: Iterable[str] | None = None,
         report_on: Iterable[str] | None = None, split_seed: int = 0, benchmarks: Iterable[str] = (),
         cache_dir: str | None = None, text_column: str = "text", on_trial: Callable[[dict], None] | None = None,
         **settings: Any) -> dict | None:
    """Tune each head and baseline on development pairs and report defaults and tuned settings on the rest (module
    docstring). ``settings``: every other training setting, shared by all trials (the budget: ``epochs``,
    ``max_seconds``). ``on_trial(record)`` is called after each trial. Returns results.json's content (None on
    torchrun ranks > 0)."""
    if not (heads or baselines) or not seeds:
        raise W2VError("compare --tune needs at least one head or baseline and one seed")
    tools = {b.name: b for b in parse_baselines(baselines)}
    names = [*heads, *tools]
    comparison_defaults(settings)
    settings = {k: v for k, v in settings.items() if k != "seed"}
    space = parse_spec(spec, names)
    for name in tools:
        foreign = sorted(set(space[name]) - set(BASELINE_SETTINGS))
        if foreign:
            raise W2VError(f"--tune: baseline {name} has no equivalent of {foreign[0]} (search it for the heads "
                           f"alone: HEAD.{foreign[0]}=...)")
    points = search_points(space, trials, split_seed)
    for name in names:  # (every trial checked before anything trains)
        for raw in points[name]:
            resolve(name, raw, {**settings, "seed": seeds[0]})
    development, reporting = development_and_reporting(select_on, report_on, benchmarks, PairSplit(split_seed))
    out = os.fspath(out)
    first = config_of(names[0], {**settings, "seed": seeds[0]})
    distributed = Distributed.from_environment(first.device)
    if tools and distributed is not None:
        raise W2VError("--baselines train in one process: run compare --tune --baselines without torchrun")
    main = is_main_process()
    if main:
        for folder in ("trials", "runs"):
            os.makedirs(os.path.join(out, folder), exist_ok=True)
    encoded = prepare_shared_corpus(corpus, first, text_column, cache_dir, distributed)
    tokens = encoded.n_tokens  # (a head's default step, x1, is the one for the budget on this corpus)
    trial_configs = {name: [resolve(name, raw, {**settings, "seed": seeds[0]}, tokens) for raw in points[name]]
                     for name in names}

    def finished_or_trained(path: str, name: str, config: TrainConfig,
                            scored_on: list[SimilarityBenchmark]) -> dict | None:
        return recorded_run(path, config, encoded, distributed, scored_on, False, math.inf, baseline=tools.get(name))

    records, selected = [], {}
    for head in names:
        best = None
        for n, (raw, config) in enumerate(zip(points[head], trial_configs[head])):
            run = finished_or_trained(os.path.join(out, "trials", f"{head}-{n}.json"), head, config, development)
            if not main:
                continue
            score = development_score(run)
            record = {"head": head, "trial": n, "of": len(points[head]), "search": raw,
                      "settings": {k: _default(head, config, k, tokens) for k in raw}, "dev_score": score,
                      "dev": {k: v["spearman"] for k, v in run["similarity"].items()}, "run": run}
            records.append(record)
            if on_trial is not None:
                on_trial(record)
            if best is None or score > best["dev_score"]:  # (ties: the earlier trial)
                best = record
        if main:
            selected[head] = best
        if distributed is not None:
            selected[head] = distributed.broadcast(selected.get(head))
    final = {"default": [], "tuned": []}
    for head, seed in itertools.product(names, seeds):
        numeric = {k for k, v in selected[head]["settings"].items() if isinstance(v, (int, float))
                   and not isinstance(v, bool)}  # (the defaults, resolved as the trials' values are)
        default = resolve(head, {k: "x1" for k in numeric}, {**settings, "seed": seed}, tokens)
        tuned = resolve(head, selected[head]["search"], {**settings, "seed": seed}, tokens)
        path = os.path.join(out, "runs", f"{head}-%s-seed{seed}.json")
        final["default"].append(finished_or_trained(path % "default", head, default, reporting))
        same = tuned.to_dict() == default.to_dict()  # (the defaults won: the same run)
        final["tuned"].append(final["default"][-1] if same else
                              finished_or_trained(path % "tuned", head, tuned, reporting))
    if not main:
        return None
    results = {"corpus": encoded.description, "tokens": encoded.n_tokens, "heads": list(heads),
               "baselines": {name: tool.describe() for name, tool in tools.items()}, "seeds": list(seeds),
               "spec": spec, "trials_per_head": len(next(iter(points.values()))), "split_seed": split_seed,
               "development": {d.name: len(d.pairs) for d in development},
               "reporting": {r.name: len(r.pairs) for r in reporting},
               "settings": {k: v for k, v in first.to_dict().items() if k not in ("head", "seed")},
               "versions": library_versions(numba=True), "machine": machine(), **provenance(),
               "selected": {head: {k: selected[head][k] for k in ("search", "settings", "trial", "dev_score")}
                            for head in names},
               "defaults": {head: {k: _default(head, config_of(head, settings), k, tokens) for k in points[head][0]}
                            for head in names},
               "default": summarise(final["default"]), "tuned": summarise(final["tuned"]),
               "trials": [{k: v for k, v in r.items() if k != "run"} for r in records],
               "runs": final}
    with atomic_write(os.path.join(out, "results.json")) as handle:
        json.dump(results, handle, indent=1)
    with atomic_write(os.path.join(out, "results.md")) as handle:
        handle.write(tuning_table(results))
    return results


def development_score(run: dict) -> float:
    """The selection criterion: the mean Spearman rho over the development benchmarks (NaN counts as 0)."""
    values = [v["spearman"] for v in run["similarity"].values()]
    return float(sum(0.0 if math.isnan(v) else v for v in values) / len(values))


def tuning_table(results: dict) -> str:
    """Per head: the default and the tuned settings, the development score that selected them, and each one's
    reporting scores (mean over seeds and 95% interval)."""
    names = list(results["reporting"])
    lines = [f"# Tuned comparison on {results['corpus']} ({results['tokens']:,} tokens)", "",
             f"Search: `{results['spec']}`, {results['trials_per_head']} trials per head; selected on the mean rho "
             f"over {', '.join(results['development'])} ({sum(results['development'].values())} pairs); reported on "
             f"pairs no selection read, seeds {', '.join(map(str, results['seeds']))} (mean [95% interval]).", "",
             "| head | settings | dev score | " + " | ".join(n.removesuffix(":report") for n in names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for head in [*results["heads"], *results.get("baselines", {})]:
        chosen = results["selected"][head]
        for kind in ("default", "tuned"):
            row = results[kind][head]
            values = results["defaults"][head] if kind == "default" else chosen["settings"]
            described = f"{kind}: " + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                                for k, v in values.items())
            dev = f"{chosen['dev_score']:.3f}" if kind == "tuned" else ""
            cells = []
            for name in names:
                score = row["scores"][name]
                low, high = score["ci95"] or (float("nan"), float("nan"))
                cells.append(f"{score['mean']:.3f} [{low:.3f}, {high:.3f}]")
            lines.append(f"| {row_label(head, row)} | {described} | {dev} | " + " | ".join(cells) + " |")
    if results.get("baselines"):
        lines += ["", BASELINE_NOTE]
    return "\n".join(lines) + "\n"
