"""Tokenizing + encoding throughput of the corpus pipeline (cold cache), written as JSON.

    python scripts/bench_tokenize.py --corpus data/gutenberg-mid.txt.xz --repeats 3

tokens/s = corpus tokens / seconds to read, decompress, normalise, split, count, encode and cache.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time

import w2v_contrastive as w2v


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "..", "data", "gutenberg-mid.txt.xz"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench")
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            started = time.perf_counter()
            corpus = w2v.prepare_corpus(args.corpus, cache_dir=cache)
            seconds = time.perf_counter() - started
            runs.append({"seconds": seconds, "tokens": corpus.n_tokens, "tokens_per_second": corpus.n_tokens / seconds})
            print(json.dumps(runs[-1]), flush=True)
    report = {"date": datetime.date.today().isoformat(), "corpus": os.path.abspath(args.corpus), "cpus": os.cpu_count(),
              "runs": runs, "median_tokens_per_second": statistics.median(r["tokens_per_second"] for r in runs)}
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"tokenize-{report['date']}.json")
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2)
    print(f"median {report['median_tokens_per_second']:,.0f} tokens/s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
