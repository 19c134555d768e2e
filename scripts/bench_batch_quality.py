"""Does the row step (what a GPU runs) keep its quality at large batches? Against the fused Hogwild kernel.

    python scripts/bench_batch_quality.py --heads negative-sampling,nce,infonce --batches 4096,8192,16384,65536

The fused CPU kernel scores every pair with the current vectors; the row step sums a batch's updates
computed from the vectors as they were at the batch's start, so a frequent word's row takes thousands
of summed updates at once. Per head: one fused run and one row-step run (``--no-fused-cpu``) per
batch size, the same seed, settings and epochs (gutenberg-mid, dim 100, window 5, 5 epochs, sample
1e-4, 2 threads: scripts/bench.py's DEFAULTS), each in its own process; WS353, SimLex and MEN rho,
words/s, and each row-step run's largest rho gap below the fused run (or the error of a run that
diverged). Writes bench/batch-quality-<date>.json.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bench import BENCHMARKS, DEFAULTS  # noqa: E402
from benchlib import measure_into, write_json, worker_or_report, worker_parser  # noqa: E402


def run(spec: dict) -> dict:
    import w2v_contrastive as w2v

    corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec.get("cache_dir"))
    try:
        result = w2v.train(corpus, head=spec["head"], seed=spec["seed"], progress=False, **spec["settings"])
    except w2v.W2VError as error:  # a diverged run is a result here
        return {"head": spec["head"], "batch_size": spec["settings"].get("batch_size"), "error": str(error)}
    scores = {row["benchmark"]: row["spearman"] for row in w2v.evaluate(result.vectors, BENCHMARKS)}
    return {"head": spec["head"], "step": result.stats.step, "batch_size": result.stats.batch_size,
            "lr": result.stats.lr, "words_per_second": result.stats.words_per_second, **scores}


def main() -> int:
    parser = worker_parser(__doc__.splitlines()[0], "batch-quality")
    parser.add_argument("--heads", default="negative-sampling,nce,infonce")
    parser.add_argument("--batches", default="4096,8192,16384,65536")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", default="{}", help="extra training settings for every run, as JSON")
    args = parser.parse_args()
    report = worker_or_report(args, run)
    if report is None:
        return 0
    settings = {**DEFAULTS, "epochs": args.epochs, **json.loads(args.settings)}
    for head in args.heads.split(","):
        spec = {"corpus": args.corpus, "cache_dir": args.cache_dir, "head": head, "seed": args.seed}
        fused = measure_into(report, args.out, __file__, {**spec, "settings": settings})
        for batch in map(int, args.batches.split(",")):
            row_step = {**settings, "fused_cpu": False, "batch_size": batch}
            row = measure_into(report, args.out, __file__, {**spec, "settings": row_step})
            if "error" not in row:
                row["gap_below_fused"] = max(fused[b] - row[b] for b in BENCHMARKS)
                write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
