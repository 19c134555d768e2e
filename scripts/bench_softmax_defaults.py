"""The full softmax's optimizer settings re-measured: learning rate x batch size on one budget.

    python scripts/bench_softmax_defaults.py --lrs 0.005,0.01,0.02,0.04 --batches 4096,16384 --max-words 1000000

Each run is its own process: the softmax head on the full vocabulary of the corpus (gutenberg-mid by
default), Adam, the given learning rate and batch, --max-words corpus tokens, 1% of the documents held
out; records the held-out softmax cross-entropy (what the softmax minimises) and WS353, SimLex and MEN.
Writes bench/softmax-defaults-<date>.json.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import measure_into, worker_or_report, worker_parser  # noqa: E402


def run(spec: dict) -> dict:
    import w2v_contrastive as w2v

    corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec.get("cache_dir"))
    result = w2v.train(corpus, head="softmax", progress=False, max_words=spec["max_words"], lr=spec["lr"],
                       batch_size=spec["batch_size"], holdout=0.01, threads=2)
    scores = {row["benchmark"]: row["spearman"] for row in w2v.evaluate(result.vectors)}
    return {"lr": spec["lr"], "batch_size": spec["batch_size"], "words_per_second": result.stats.words_per_second,
            "held_out_cross_entropy": result.held_out["softmax_cross_entropy"], **scores}


def main() -> int:
    parser = worker_parser(__doc__.splitlines()[0], "softmax-defaults")
    parser.add_argument("--lrs", default="0.005,0.01,0.02,0.04")
    parser.add_argument("--batches", default="4096,16384")
    parser.add_argument("--max-words", type=int, default=1_000_000)
    args = parser.parse_args()
    report = worker_or_report(args, run)
    if report is None:
        return 0
    for batch in map(int, args.batches.split(",")):
        for lr in map(float, args.lrs.split(",")):
            spec = {"corpus": args.corpus, "cache_dir": args.cache_dir, "lr": lr, "batch_size": batch,
                    "max_words": args.max_words}
            measure_into(report, args.out, __file__, spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
