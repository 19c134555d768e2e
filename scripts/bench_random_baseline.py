"""What random vectors score: the baseline a quality threshold must clear, per benchmark, on a corpus's vocabulary.

    python scripts/bench_random_baseline.py --corpus data/gutenberg-mid.txt.xz --dim 100 --draws 20

Draws ``--draws`` matrices of standard normal vectors over the vocabulary (min_count as given) and
evaluates each on every shipped similarity benchmark; writes the mean, standard deviation and the
mean + 5 standard deviations of Spearman's rho, with the pairs covered, to
bench/random-baseline-<date>.json. The test suite computes the same on gutenberg-small in
tests/conftest.py (``random_baseline``) for its thresholds.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import write_json  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "..", "data", "gutenberg-mid.txt.xz"))
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=f"bench/random-baseline-{datetime.date.today()}.json")
    args = parser.parse_args()
    import w2v_contrastive as w2v
    from w2v_contrastive.comparison.runner import SIMILARITY_BENCHMARKS

    corpus = w2v.prepare_corpus(args.corpus, cache_dir=args.cache_dir)
    words = w2v.Vocabulary.from_corpus(corpus, args.min_count, None).words
    rows = {name: [] for name in SIMILARITY_BENCHMARKS}
    for draw in range(args.draws):
        vectors = w2v.Vectors(words, np.random.default_rng(draw).standard_normal((len(words), args.dim)))
        for row in w2v.evaluate(vectors, SIMILARITY_BENCHMARKS):
            rows[row["benchmark"]].append(row)
    summary = {}
    for name, results in rows.items():
        rho = np.array([r["spearman"] for r in results])
        summary[name] = {"mean": float(rho.mean()), "std": float(rho.std(ddof=1)),
                         "mean_plus_5_std": float(rho.mean() + 5 * rho.std(ddof=1)),
                         "covered": results[0]["covered"], "pairs": results[0]["pairs"]}
        print(f"{name:<16} {summary[name]['mean']:+.3f} +- {summary[name]['std']:.3f}   "
              f"(5 sd above: {summary[name]['mean_plus_5_std']:.3f})   covered {results[0]['covered']}/{results[0]['pairs']}")
    write_json(args.out, {"date": datetime.date.today().isoformat(), "command": " ".join(["python", *sys.argv]),
                          "corpus": os.path.abspath(args.corpus), "vocabulary": len(words), "dim": args.dim,
                          "draws": args.draws, "benchmarks": summary})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
