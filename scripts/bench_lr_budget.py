"""The learning rate against the training budget: what train/setup.py's budget rule is read from, and its check.

    # sweep: each head at F x its classic step, on corpora and epoch counts (budgets = tokens x epochs)
    python scripts/bench_lr_budget.py sweep --corpus /work/shared/data/corpora/gutenberg-small.txt \\
        --corpus /work/shared/data/corpora/gutenberg-mid.txt.xz --epochs 1,3,5 --seeds 0,1
    # check: on a corpus the rule was not read from, the rule's default against the step tuned around it
    python scripts/bench_lr_budget.py check --corpus /work/shared/data/corpora/kjv-bible.txt.xz --epochs 3 \\
        --seeds 0,1,2

Every run is evaluated on both halves of compare --tune's split of the benchmark pairs
(comparison/tuning.py: PairSplit, seed 0). A step is *selected* on the development halves only: the mean
rho over them, as tune's development_score, but over the halves that cover at least MIN_COVERED pairs in the
corpus's vocabulary (on gutenberg-small RG65's development half covers 3 pairs, and its rho of +-1 moved the
mean by 0.14 between neighbouring steps); the reporting halves, averaged alike, are recorded beside it and
never read by a selection. Scores are means over ``--seeds``. ``sweep``: the grid is F x the head's classic (word2vec) step, ``--factors`` (0.5, 1, 2, 4),
extended (x2 or /2 at a time) while the best mean development score sits on the grid's edge (x1/16 to x16).
``check``: the grid is F x the step the budget rule gives; the tuned step is the one the development
halves select, and the figure is the mean reporting rho of the rule's default minus the tuned one's.
Settings are the library's defaults (dim 100, window 5, K 5, sample 1e-4, min_count 5), 2 threads, no
held-out lines. Results go to one JSON file, rewritten after every run; a rerun skips the runs it holds.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import w2v_contrastive as w2v  # noqa: E402
from w2v_contrastive.comparison.tuning import PairSplit, development_and_reporting, development_score  # noqa: E402
from w2v_contrastive.errors import TrainingInterrupted  # noqa: E402
from w2v_contrastive.eval.similarity import evaluate_similarity  # noqa: E402
from w2v_contrastive.heads import build_head  # noqa: E402
from w2v_contrastive.train.setup import Machine, plan  # noqa: E402

HEADS = ("negative-sampling", "nce", "infonce", "hierarchical-softmax")
#: a benchmark half counts in a score when the corpus's vocabulary covers at least this many of its pairs
MIN_COVERED = 20
#: the sweep's grid grows (x2 or /2 each time) while its best point is on its edge, to this factor or its inverse
LARGEST_FACTOR = 16.0


def step(head: str, budget_words: float | None, lr_defaults: str) -> float:
    """The step train would take for ``head`` on a budget of ``budget_words`` (None: the classic one)."""
    config = w2v.make_config(head, lr_defaults=lr_defaults)
    return plan(config, build_head(head, config), Machine(torch.device("cpu"), 2), budget_words).lr


def run_once(encoded, head: str, epochs: int, lr: float, seed: int, development, reporting) -> dict:
    """Train one run and score it on both halves."""
    started = time.perf_counter()
    try:
        result = w2v.train(encoded, head, epochs=epochs, lr=lr, seed=seed, threads=2, holdout=0.0, progress=False)
    except TrainingInterrupted:
        raise
    except w2v.W2VError as exc:  # (a step so large that the loss stops being finite)
        return {"failed": str(exc), "dev": {b.name: 0.0 for b in development}, "dev_score": 0.0,
                "report": {b.name: float("nan") for b in reporting}, "report_score": float("nan")}
    dev = {b.name: evaluate_similarity(result.vectors, b)["spearman"] for b in development}
    report = {b.name: evaluate_similarity(result.vectors, b)["spearman"] for b in reporting}
    return {"dev": dev, "report": report, "dev_score": development_score({"similarity": {k: {"spearman": v}
                                                                                      for k, v in dev.items()}}),
            "report_score": development_score({"similarity": {k: {"spearman": v} for k, v in report.items()}}),
            "seconds": time.perf_counter() - started, "words_per_second": result.stats.words_per_second}


def coverage(encoded, benchmarks) -> dict[str, int]:
    """Pairs of each benchmark half that the corpus's vocabulary covers (the same for every run on it)."""
    vocab = w2v.Vocabulary.from_corpus(encoded, w2v.TrainConfig.min_count)
    vectors = w2v.Vectors(vocab.words, np.random.default_rng(0).standard_normal((len(vocab), 2)))
    return {b.name: evaluate_similarity(vectors, b)["covered"] for b in benchmarks}


def score(rhos: dict[str, float], covered: dict[str, int]) -> float:
    """The mean rho over the benchmark halves covering at least MIN_COVERED pairs."""
    return mean(rhos[name] for name in rhos if covered[name] >= MIN_COVERED)


def mean(values) -> float:
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("sweep", "check"))
    parser.add_argument("--corpus", action="append", required=True)
    parser.add_argument("--epochs", default="1,3,5")
    parser.add_argument("--heads", default=",".join(HEADS))
    parser.add_argument("--factors", default="0.5,1,2,4")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--cache-dir")
    parser.add_argument("--out")
    args = parser.parse_args()
    out = args.out or f"bench/lr-budget-{args.mode}-{datetime.date.today()}.json"
    report = {"command": " ".join(["python", *sys.argv]), "machine": f"{os.cpu_count()} CPUs ({platform.machine()}), "
              f"torch {torch.__version__}, shared with other jobs", "mode": args.mode, "runs": []}
    if os.path.exists(out):
        with open(out, encoding="utf-8") as handle:
            report["runs"] = json.load(handle)["runs"]
    done = {(r["corpus"], r["epochs"], r["head"], r["factor"], r["seed"]): r for r in report["runs"]}
    development, reporting = development_and_reporting(None, None, (), PairSplit(0))
    seeds = [int(s) for s in args.seeds.split(",")]
    report.setdefault("coverage", {})
    for path in args.corpus:
        encoded = w2v.prepare_corpus(path, cache_dir=args.cache_dir)
        name = os.path.basename(path).split(".")[0]
        report["coverage"][name] = coverage(encoded, [*development, *reporting])
        for epochs in (int(e) for e in args.epochs.split(",")):
            budget = float(encoded.n_tokens) * epochs
            for head in args.heads.split(","):
                centre = step(head, None if args.mode == "sweep" else budget,
                              "word2vec" if args.mode == "sweep" else "budget")
                factors = [float(f) for f in args.factors.split(",")]
                while True:
                    for factor, seed in ((f, s) for f in factors for s in seeds):
                        key = (name, epochs, head, factor, seed)
                        if key in done:
                            continue
                        row = {"corpus": name, "tokens": encoded.n_tokens, "epochs": epochs, "budget_words": budget,
                               "head": head, "factor": factor, "lr": centre * factor, "seed": seed,
                               **run_once(encoded, head, epochs, centre * factor, seed, development, reporting)}
                        done[key] = row
                        report["runs"].append(row)
                        print(f"{name} x{epochs} {head} lr {row['lr']:.4g} seed {seed}: dev {row['dev_score']:.4f} "
                              f"report {row['report_score']:.4f}", flush=True)
                        report["summary"] = summarise(report["runs"], report["coverage"])
                        write(out, report)
                    scores = {f: mean(score(done[name, epochs, head, f, s]["dev"], report["coverage"][name])
                                      for s in seeds) for f in factors}
                    best = max(factors, key=lambda f: scores[f])
                    if args.mode == "check" or best not in (min(factors), max(factors)):
                        break
                    further = best * 2 if best == max(factors) else best / 2
                    if not 1 / LARGEST_FACTOR <= further <= LARGEST_FACTOR:
                        break
                    factors.append(further)
    report["summary"] = summarise(report["runs"], report["coverage"])
    write(out, report)
    return 0


def summarise(runs: list[dict], covered: dict[str, dict[str, int]]) -> list[dict]:
    """Per corpus, epochs and head: each step's mean development and reporting scores over seeds, the
    step the development halves select, and the reporting score of the x1 step minus the selected one's."""
    groups: dict[tuple, dict[float, list[dict]]] = {}
    for r in runs:
        groups.setdefault((r["corpus"], r["epochs"], r["head"]), {}).setdefault(r["factor"], []).append(r)
    rows = []
    for (corpus, epochs, head), by_factor in groups.items():
        points = {f: {"lr": rs[0]["lr"], "seeds": len(rs),
                      "dev": mean(score(r["dev"], covered[corpus]) for r in rs),
                      "report": mean(score(r["report"], covered[corpus]) for r in rs)}
                  for f, rs in sorted(by_factor.items())}
        best = max(points, key=lambda f: points[f]["dev"])
        row = {"corpus": corpus, "epochs": epochs, "head": head, "budget_words": runs_of(by_factor)["budget_words"],
               "points": {str(f): p for f, p in points.items()}, "selected_factor": best,
               "selected_lr": points[best]["lr"]}
        if 1.0 in points:
            row["x1_minus_selected_report"] = points[1.0]["report"] - points[best]["report"]
        rows.append(row)
    return rows


def runs_of(by_factor: dict) -> dict:
    return next(iter(by_factor.values()))[0]


def write(path: str, report: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
    os.replace(partial, path)


if __name__ == "__main__":
    sys.exit(main())
