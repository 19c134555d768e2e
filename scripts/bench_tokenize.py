"""Tokenizing + encoding throughput of the corpus pipeline (cold cache), with 1 and more worker processes.

    python scripts/bench_tokenize.py --corpus data/gutenberg-mid.txt.xz --repeats 3
    python scripts/bench_tokenize.py --corpus gutenberg-large.txt.xz --plain --workers 1,2 --repeats 5 \\
        --predict 16 --out bench/encode-workers-<date>.json

tokens/s = corpus tokens / seconds to read, decompress, normalise, split, count, encode and cache, each
run in its own process with a fresh cache folder. With several ``--workers`` values each repeat runs
them one after the other (alternating, as this VM's speed drifts) and the report gives each repeat's
speed-up over one worker and their median.

``--plain`` first decompresses a compressed corpus into a temporary plain file: a compressed file is
one piece (a stream cannot be entered in the middle), a plain one is cut into as many as the workers
need. ``--predict N`` adds a run whose corpus is cut for N workers but encoded by the cores here; from
its per-piece seconds and its serial phases (merging the vocabulary, writing the cache) it predicts the
rate with 1..N workers on an N-core machine: the pieces scheduled on N workers in order, each to the
first free worker, plus the serial phases, plus the renumbering divided among the workers. A
prediction assumes each core encodes as fast as one here does beside one other worker. A second one
(``predicted_at_scale``, ``--at-scale TOKENS:TYPES``) is for corpora large enough that their pieces
divide evenly among the workers, whose serial phases grow with their vocabulary.
"""

from __future__ import annotations

import heapq
import json
import lzma
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

from benchlib import measure_into, peak_rss_mb, worker_or_report, worker_parser, write_json


def run(spec: dict) -> dict:
    import resource

    import w2v_contrastive as w2v
    from w2v_contrastive.corpus.cache import write_meta
    from w2v_contrastive.corpus.encode import encode
    from w2v_contrastive.corpus.pieces import plan
    from w2v_contrastive.corpus.readers import CorpusSource

    cache = tempfile.mkdtemp(prefix="w2v-bench-encode-", dir=spec.get("cache_dir"))
    try:
        started = time.perf_counter()
        if spec.get("plan_for"):  # cut for plan_for workers, encoded by spec["workers"]
            source = CorpusSource.from_inputs(spec["corpus"])
            built = encode(plan(source, spec["plan_for"]), w2v.TokenizerOptions(), cache, spec["workers"])
            write_meta(cache, source, w2v.TokenizerOptions(), built, started)
            facts = {k: v for k, v in built.items() if k not in ("words", "counts")} | {"n_types": len(built["words"])}
        else:
            corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=cache, workers=spec["workers"])
            with open(os.path.join(corpus.directory, "meta.json"), encoding="utf-8") as handle:
                facts = json.load(handle)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"workers": spec["workers"], "plan_for": spec.get("plan_for"), "seconds": round(seconds, 3),
            "tokens": facts["n_tokens"], "types": facts["n_types"], "tokens_per_second": round(facts["n_tokens"] / seconds),
            "pieces": facts["pieces"], "pieces_seconds": round(facts["pieces_seconds"], 3),
            "vocabulary_seconds": round(facts["vocabulary_seconds"], 3),
            "merge_seconds": round(facts["merge_seconds"], 3), "each_piece_seconds": facts["each_piece_seconds"],
            "peak_rss_mb": round(peak_rss_mb()), "peak_rss_mb_largest_worker": round(children)}


def schedule(seconds: list[float], workers: int) -> float:
    """When the last of the pieces ends, each given in order to the first worker free."""
    free = [0.0] * workers
    for piece in seconds:
        heapq.heappush(free, heapq.heappop(free) + piece)
    return max(free)


def predict(row: dict, workers: int) -> list[dict]:
    """Predicted seconds and tokens/s with 1..workers workers, from a --predict run (see the docstring)."""
    pieces = row["each_piece_seconds"]
    start_up = max(0.0, row["pieces_seconds"] - schedule(pieces, row["workers"]))
    renumber = (row["merge_seconds"] - row["vocabulary_seconds"]) * row["workers"]
    serial = row["seconds"] - row["pieces_seconds"] - row["merge_seconds"] + row["vocabulary_seconds"]
    seconds = {n: schedule(pieces, n) + start_up + serial + renumber / n for n in range(1, workers + 1)}
    return [{"workers": n, "seconds": round(t, 2), "tokens_per_second": round(row["tokens"] / t),
             "efficiency": round(seconds[1] / (n * t), 3)} for n, t in seconds.items()]


def predict_at_scale(row: dict, workers: list[int], tokens: float, types: float) -> list[dict]:
    """Predicted seconds and tokens/s for a corpus of ``tokens`` tokens and ``types`` distinct words, so
    large that its pieces divide evenly among the workers: the per-token cost of the pieces and of the
    renumbering (as measured) divided by the workers, plus the serial phases (ordering the vocabulary,
    writing vocab.tsv, planning), taken to grow as types x log(types) from what they cost here."""
    parallel = (sum(row["each_piece_seconds"]) + (row["merge_seconds"] - row["vocabulary_seconds"]) * row["workers"])
    serial = row["seconds"] - row["pieces_seconds"] - row["merge_seconds"] + row["vocabulary_seconds"]
    serial *= types * math.log(types) / (row["types"] * math.log(row["types"]))
    seconds = {n: parallel * tokens / row["tokens"] / n + serial for n in workers}
    first = workers[0]
    return [{"workers": n, "tokens": tokens, "types": types, "hours": round(t / 3600, 3),
             "tokens_per_second": round(tokens / t), "efficiency": round(first * seconds[first] / (n * t), 3)}
            for n, t in seconds.items()]


def main() -> int:
    parser = worker_parser(__doc__.splitlines()[0], "tokenize")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", default="1", help="comma-separated worker counts, alternated in each repeat")
    parser.add_argument("--plain", action="store_true", help="decompress a compressed corpus into a plain file first")
    parser.add_argument("--predict", type=int, default=0, metavar="N", help="predict the rate with up to N workers")
    parser.add_argument("--at-scale", default="3e9:5e6,1e11:5e7", metavar="TOKENS:TYPES,...",
                        help="corpora to predict the encoding time of (with --predict)")
    args = parser.parse_args()
    report = worker_or_report(args, run)
    if report is None:
        return 0
    corpus, temporary = os.path.abspath(args.corpus), None
    if args.plain and corpus.endswith(".xz"):
        temporary = tempfile.mkdtemp(prefix="w2v-bench-plain-", dir=args.cache_dir)
        plain = os.path.join(temporary, os.path.basename(corpus)[: -len(".xz")])
        with lzma.open(corpus, "rb") as source, open(plain, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 24)
        corpus = plain
    counts = [int(w) for w in args.workers.split(",")]
    report.update({"corpus": os.path.abspath(args.corpus), "plain": args.plain, "cpus": os.cpu_count(),
                   "file_bytes": os.path.getsize(corpus)})
    try:
        for repeat in range(args.repeats):
            for workers in counts:
                measure_into(report, args.out, __file__, {"corpus": corpus, "workers": workers,
                                                          "cache_dir": args.cache_dir}, repeat=repeat)
        if args.predict:
            row = measure_into(report, args.out, __file__, {"corpus": corpus, "workers": max(counts),
                                                            "plan_for": args.predict, "cache_dir": args.cache_dir})
            report["predicted"] = predict(row, args.predict)
            report["predicted_at_scale"] = [entry for scale in args.at_scale.split(",") for entry in predict_at_scale(
                row, [1, 2, 4, 8, args.predict], *map(float, scale.split(":")))]
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)
    runs = [r for r in report["runs"] if not r["plan_for"]]
    report["median_tokens_per_second"] = {w: statistics.median(r["tokens_per_second"] for r in runs if r["workers"] == w)
                                          for w in counts}
    if len(counts) > 1:
        base = counts[0]
        for workers in counts[1:]:
            ratios = [mine["tokens_per_second"] / one["tokens_per_second"]
                      for one in runs if one["workers"] == base
                      for mine in runs if mine["workers"] == workers and mine["repeat"] == one["repeat"]]
            report[f"speedup_{workers}_over_{base}"] = {"per_repeat": [round(r, 3) for r in ratios],
                                                        "median": round(statistics.median(ratios), 3)}
    write_json(args.out, report)
    print(f"median tokens/s {report['median_tokens_per_second']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
