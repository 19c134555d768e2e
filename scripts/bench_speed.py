"""Speed and quality of our heads against gensim's skip-gram with negative sampling.

Both train on the same token stream (our encoded corpus, line by line), with the same settings and
threads; each run is a separate process so peak RSS is its own. Writes JSON and prints a table.

    python scripts/bench_speed.py --corpus ../shared/data/corpora/gutenberg-mid.txt.xz --repeats 3

words/s = corpus tokens x epochs / training seconds (corpus preparation excluded for both).
gensim is installed on demand; it is not a runtime dependency.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from benchlib import in_own_process

BENCHMARKS = ("wordsim353", "simlex999", "men3k")


def ensure_gensim() -> None:
    try:
        import gensim  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "gensim"])


def worker(spec: dict) -> dict:
    import numpy as np

    import w2v_contrastive as w2v

    corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec.get("cache_dir"))
    s = spec["settings"]
    if spec["engine"] == "gensim":
        from gensim.models import Word2Vec

        tokens, words = np.asarray(corpus.tokens), corpus.words
        starts = corpus.line_starts
        sentences = [[words[i] for i in tokens[a:b]] for a, b in zip(starts[:-1], starts[1:])]
        model = Word2Vec(vector_size=s["dim"], window=s["window"], negative=s["negatives"], sg=1, hs=0,
                         sample=s["sample"], min_count=s["min_count"], workers=s["threads"], seed=spec["seed"])
        model.build_vocab(sentences)
        started = time.perf_counter()
        model.train(sentences, total_examples=model.corpus_count, epochs=s["epochs"])
        seconds = time.perf_counter() - started
        vectors = w2v.Vectors(model.wv.index_to_key, model.wv.vectors)
        words_per_second = corpus.n_tokens * s["epochs"] / seconds
        pairs_per_second = None
    else:
        result = w2v.train(corpus, head=spec["engine"], seed=spec["seed"], progress=False, **s)
        seconds, vectors = result.stats.seconds, result.vectors
        words_per_second, pairs_per_second = result.stats.words_per_second, result.stats.pairs_per_second
    scores = {r["benchmark"]: r["spearman"] for r in w2v.evaluate(vectors, BENCHMARKS)}
    return {"engine": spec["engine"], "seed": spec["seed"], "seconds": seconds, "words_per_second": words_per_second,
            "pairs_per_second": pairs_per_second, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            **scores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "..", "data", "gutenberg-mid.txt.xz"))
    parser.add_argument("--heads", default="negative-sampling", help="our heads to run beside gensim")
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs per engine (medians reported)")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negatives", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-4)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default="bench")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    ensure_gensim()
    settings = {"dim": args.dim, "window": args.window, "negatives": args.negatives, "sample": args.sample,
                "min_count": args.min_count, "epochs": args.epochs, "threads": args.threads}
    import w2v_contrastive as w2v

    w2v.prepare_corpus(args.corpus, cache_dir=args.cache_dir)  # encode once, outside the timings
    engines = ["gensim"] + args.heads.split(",")
    runs = []
    for repeat in range(args.repeats):
        for engine in engines:
            spec = {"engine": engine, "corpus": args.corpus, "cache_dir": args.cache_dir, "seed": repeat,
                    "settings": settings}
            run = in_own_process(__file__, "--worker", json.dumps(spec))
            run["repeat"] = repeat
            runs.append(run)
            print(json.dumps(run), flush=True)
    summary = {}
    for engine in engines:
        mine = [r for r in runs if r["engine"] == engine]
        ratios = [r["words_per_second"] / g["words_per_second"] for r in mine for g in runs
                  if g["engine"] == "gensim" and g["repeat"] == r["repeat"]]
        summary[engine] = {key: statistics.median(r[key] for r in mine)
                           for key in ("words_per_second", "peak_rss_mb", *BENCHMARKS)}
        summary[engine]["ratio_vs_gensim"] = statistics.median(ratios)
    report = {"date": datetime.date.today().isoformat(), "corpus": os.path.abspath(args.corpus), "settings": settings,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "runs": runs, "summary": summary}
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"speed-{report['date']}.json")
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2)
    print(f"\n| engine | words/s | x gensim | peak RSS MB | WS353 | SimLex | MEN |\n|---|---|---|---|---|---|---|")
    for engine, row in summary.items():
        print(f"| {engine} | {row['words_per_second']:,.0f} | {row['ratio_vs_gensim']:.2f} | {row['peak_rss_mb']:.0f} | "
              f"{row['wordsim353']:.3f} | {row['simlex999']:.3f} | {row['men3k']:.3f} |")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
