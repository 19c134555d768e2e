"""Window-shared negatives against per-pair ones in the fused CPU kernel: speed and quality over seeds.

    python scripts/bench_shared_negatives.py [--corpus C] [--epochs 5] [--seeds 0,1,2] [--heads negative-sampling]

For each head and seed, one run with ``--share-negatives pair`` (word2vec's K noise words per pair) and
one with ``window`` (K per centre word's window, shared by its pairs: pWord2Vec), alternating, each in
its own process, at scripts/bench.py's DEFAULTS (gutenberg-mid, dim 100, window 5, K 5, sample 1e-4,
5 epochs, 2 threads) unless told otherwise: words/s (wall clock, and per CPU second of the process, which
other load on the machine disturbs less), and WS353, SimLex, MEN rho. Then per head the mean of each
over the seeds, window minus pair, and whether window-sharing is within 0.01 rho on every benchmark
and faster by both measures. Writes bench/shared-negatives-<date>.json.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bench import BENCHMARKS, DEFAULTS  # noqa: E402
from benchlib import measure_into, write_json, worker_or_report, worker_parser  # noqa: E402

MODES = ("pair", "window")
#: "equal quality" for the default: no benchmark more than this below per-pair negatives (on the seeds' means)
TOLERANCE = 0.01
METRICS = ("words_per_second", "words_per_cpu_second", *BENCHMARKS)


def run(spec: dict) -> dict:
    import w2v_contrastive as w2v

    corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec.get("cache_dir"))
    train = functools.partial(w2v.train, corpus, head=spec["head"], seed=spec["seed"], progress=False)
    train(**{**spec["settings"], "max_words": 20_000})  # (the kernel's compile, outside the measured run)
    before = cpu_seconds()
    result = train(**spec["settings"])
    used = cpu_seconds() - before
    scores = {row["benchmark"]: row["spearman"] for row in w2v.evaluate(result.vectors, BENCHMARKS)}
    return {"head": spec["head"], "seed": spec["seed"], "share_negatives": spec["settings"]["share_negatives"],
            "step": result.stats.step, "lr": result.stats.lr, "seconds": result.stats.seconds,
            "words_per_second": result.stats.words_per_second, "cpu_seconds": used,
            "words_per_cpu_second": result.stats.words / used, **scores}


def cpu_seconds() -> float:
    """User and system CPU time of this process so far: on a shared machine, a speed measure that other
    processes' load disturbs less than the wall clock does."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summary(runs: list[dict], head: str) -> dict:
    """Per mode the means over seeds, window minus pair, and the verdict."""
    means = {mode: {metric: statistics.fmean(r[metric] for r in runs if r["head"] == head and
                                             r["share_negatives"] == mode) for metric in METRICS} for mode in MODES}
    difference = {metric: means["window"][metric] - means["pair"][metric] for metric in METRICS}
    speedup = {speed: means["window"][speed] / means["pair"][speed] for speed in METRICS[:2]}
    equal = all(difference[b] >= -TOLERANCE for b in BENCHMARKS)
    return {"head": head, "means": means, "window_minus_pair": difference, "window_speedup": speedup,
            "window_within_tolerance_and_faster": equal and min(speedup.values()) > 1.0}


def main() -> int:
    parser = worker_parser(__doc__.splitlines()[0], "shared-negatives")
    parser.add_argument("--heads", default="negative-sampling")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"])
    parser.add_argument("--lr", type=float, default=0.025,
                        help="word2vec's step, given so that the default rule of the day does not move the comparison")
    args = parser.parse_args()
    report = worker_or_report(args, run)
    if report is None:
        return 0
    settings = {**DEFAULTS, "epochs": args.epochs, "threads": args.threads, "lr": args.lr}
    heads = args.heads.split(",")
    for head in heads:
        for seed in map(int, args.seeds.split(",")):
            for mode in MODES:
                spec = {"corpus": args.corpus, "cache_dir": args.cache_dir, "head": head, "seed": seed,
                        "settings": {**settings, "share_negatives": mode}}
                measure_into(report, args.out, __file__, spec)
    report["summary"] = [summary(report["runs"], head) for head in heads]
    write_json(args.out, report)
    print(json.dumps(report["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
