"""The full softmax's speed against the GEMM rate of this machine: how far from its limit it trains.

    python scripts/bench_softmax.py --corpus data/gutenberg-mid.txt.xz --max-words 300000 --repeats 2 \\
        [--baseline-tree /path/to/an/older/checkout]

Each run is its own process: the softmax head on the corpus's full vocabulary (min_count 5), dim 100,
its default batch and optimizer, for --max-words corpus tokens; words/s from the trainer. Then, from
the same settings, the pair stream is replayed to count the distinct centre words per batch (U), and
the products one step needs are timed as plain matrix products of those shapes, chunk by chunk as the
step computes them: scores u W^T ([U, d] x [d, chunk]), the scores recomputed in the backward pass
(when V takes more than one chunk), dL/du = G W and dL/dW = G^T u (G: [U, chunk]), 2 U V d FLOPs each
over the vocabulary. Two limits: the words/s those products alone allow (the rest of a step, the
softmax's elementwise passes, Adam and the pair stream, is what separates us from it), and the words/s
the machine's peak product rate (a 2048^3 product) allows; the report gives the achieved fraction of each.
--baseline-tree runs the same training with the package of another checkout (before a change);
--chunks times the training with other fixed chunk sizes (the default sizes the chunk for the cache).
Writes bench/softmax-<date>.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import measure_into, write_json, worker_or_report, worker_parser  # noqa: E402


def train_once(spec: dict) -> dict:
    if spec.get("tree"):
        sys.path.insert(0, spec["tree"])
    import w2v_contrastive as w2v

    corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec.get("cache_dir"))
    chunk = {"softmax_chunk": spec["chunk"]} if spec.get("chunk") else {}
    result = w2v.train(corpus, head="softmax", progress=False, seed=spec["seed"], threads=spec["threads"],
                       max_words=spec["max_words"], dim=spec["dim"], **chunk)
    stats = result.stats
    row = {"tree": spec.get("tree") or "this checkout", "package": w2v.__file__, "words_per_second": stats.words_per_second,
           "words": stats.words, "pairs": stats.pairs, "steps": stats.steps, "seconds": stats.seconds,
           "vocabulary": len(result.vocab), "batch_size": stats.batch_size, "optimizer": stats.optimizer,
           "lr": stats.lr, "peak_rss_mb": stats.peak_rss_mb, "final_loss": stats.final_loss}
    if spec.get("chunk"):
        row["softmax_chunk"] = spec["chunk"]
    elif not spec.get("tree"):
        row.update(gemm_limit(result, spec))
    return row


def gemm_limit(result, spec: dict) -> dict:
    """Distinct centres per batch (the same stream replayed), the time of one step's products in the
    step's own chunk shapes, and the machine's peak rate on a large square product."""
    import torch

    from w2v_contrastive.model import default_chunk
    from w2v_contrastive.train.trainer import Trainer

    trainer = Trainer(result.config, result.corpus, result.vocab)
    distinct = []
    for batch in trainer.pairs.batches(result.config.epochs):
        distinct.append(torch.unique(batch.centers).numel())
        if len(distinct) == result.stats.steps:
            break
    units, vocab, dim = round(statistics.mean(distinct)), len(result.vocab), result.config.dim
    u = torch.randn(units, dim)
    chunk = result.config.softmax_chunk or default_chunk(u)
    weights = [torch.randn(rows.numel(), dim) for rows in torch.arange(vocab).split(chunk)]
    grads = [torch.randn(units, w.shape[0]) for w in weights]
    recompute = len(weights) > 1  # the backward recomputes the scores chunk by chunk

    def step_products():
        for weight, grad in zip(weights, grads):
            u @ weight.T
            if recompute:
                u @ weight.T
            grad @ weight
            grad.T @ u

    products = 4 if recompute else 3
    step = timed(step_products)
    square = torch.randn(2048, 2048)
    peak = 2 * 2048 ** 3 / timed(lambda: square @ square)
    flops = 2 * units * vocab * dim * products
    words_per_step = result.stats.words / result.stats.steps
    return {"distinct_centres_per_step": statistics.mean(distinct), "pairs_per_step": result.stats.pairs / result.stats.steps,
            "words_per_step": words_per_step, "chunk_rows": chunk, "chunks": len(weights), "products_per_step": products,
            "flops_per_step": flops, "flops_per_word": flops / words_per_step,
            "step_gemm_seconds": step, "step_gemm_gflops": flops / step / 1e9, "peak_gemm_gflops": peak / 1e9,
            "words_per_second_step_gemms_allow": words_per_step / step,
            "words_per_second_peak_gemm_allows": words_per_step / (flops / peak),
            "fraction_of_step_gemms": result.stats.words_per_second * step / words_per_step,
            "fraction_of_peak_gemm": result.stats.words_per_second * flops / peak / words_per_step}


def timed(work, repeats: int = 5) -> float:
    """Median seconds of ``work()`` after one warm-up call."""
    work()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> int:
    parser = worker_parser(__doc__.splitlines()[0], "softmax")
    parser.add_argument("--max-words", type=int, default=300_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--baseline-tree", default=None, help="another checkout whose package trains the baseline")
    parser.add_argument("--chunks", default="", help="also time these --softmax-chunk values (comma-separated)")
    args = parser.parse_args()
    report = worker_or_report(args, train_once)
    if report is None:
        return 0
    for repeat in range(args.repeats):
        for tree in ([args.baseline_tree] if args.baseline_tree else []) + [None]:
            spec = {"corpus": args.corpus, "cache_dir": args.cache_dir, "seed": repeat, "threads": args.threads,
                    "max_words": args.max_words, "dim": args.dim, "tree": tree}
            measure_into(report, args.out, __file__, spec, repeat=repeat)
    for chunk in filter(None, args.chunks.split(",")):
        spec = {"corpus": args.corpus, "cache_dir": args.cache_dir, "seed": 0, "threads": args.threads,
                "max_words": args.max_words, "dim": args.dim, "chunk": int(chunk)}
        measure_into(report, args.out, __file__, spec)
    ours = [r for r in report["runs"] if r["tree"] == "this checkout" and "softmax_chunk" not in r]
    report["summary"] = {key: statistics.median(r[key] for r in ours) for key in
                         ("words_per_second", "fraction_of_step_gemms", "fraction_of_peak_gemm", "peak_gemm_gflops")}
    if args.baseline_tree:
        base = statistics.median(r["words_per_second"] for r in report["runs"] if r["tree"] != "this checkout")
        report["summary"].update(baseline_words_per_second=base,
                                 speedup=report["summary"]["words_per_second"] / base)
    write_json(args.out, report)
    print(json.dumps(report["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
