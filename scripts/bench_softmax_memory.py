"""Peak memory of the full softmax at a large vocabulary, with and without vocabulary chunks.

    python scripts/bench_softmax_memory.py --vocab 1000000 --dim 300 --batch 256

A synthetic corpus with V distinct words (Zipf counts, every word at least once) trains the
``softmax`` head for a few steps on the CPU, once per ``--chunks`` value, each in its own process,
and reports peak RSS against what the parameters and optimizer state alone take. The log-partition
log sum_w exp(u . v_w + b_w) is computed over ``softmax_chunk`` rows of the output table at a time
(checkpointed, so the backward pass recomputes each chunk instead of keeping it): the B x V logits
never exist at once. ``--chunks V`` is the unchunked computation, for comparison.
Writes bench/softmax-memory-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import sys

from benchlib import in_own_process, write_json


def worker(vocab: int, dim: int, batch: int, chunk: int, steps: int) -> dict:
    import numpy as np

    import w2v_contrastive as w2v
    from w2v_contrastive.corpus.cache import EncodedCorpus

    counts = np.maximum(1, (200_000 / np.arange(1, vocab + 1))).astype(np.int64)  # Zipf, non-increasing
    tokens = np.random.default_rng(0).permutation(np.repeat(np.arange(vocab, dtype=np.int32), counts))
    line_starts = np.arange(0, len(tokens) + 1, 1000, dtype=np.int64)
    line_starts[-1] = len(tokens)
    corpus = EncodedCorpus(tokens, line_starts, [f"w{i}" for i in range(vocab)], counts, f"zipf-{vocab}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pairs_per_token = 5.0  # window 5, no subsampling: about 2 * E[b] = 6 pairs per token, a bit less at line ends
    result = w2v.train(corpus, "softmax", dim=dim, min_count=1, sample=0, batch_size=batch, softmax_chunk=chunk,
                       max_words=int(steps * batch / pairs_per_token), device="cpu", progress=False)
    parameters_mb = sum(p.numel() * p.element_size() for p in result.model.parameters()) / 2**20
    return {"vocab": vocab, "dim": dim, "batch": batch, "softmax_chunk": chunk, "steps": result.stats.steps,
            "seconds": round(result.stats.seconds, 1), "parameters_mb": round(parameters_mb),
            "adam_state_mb": round(2 * parameters_mb), "logits_mb_unchunked": round(batch * vocab * 4 / 2**20),
            "logits_mb_per_chunk": round(batch * min(chunk, vocab) * 4 / 2**20),
            "peak_rss_mb_before_training": round(before), "peak_rss_mb": round(result.stats.peak_rss_mb)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--chunks", default="8192,1000000", help="comma-separated softmax_chunk values")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=f"bench/softmax-memory-{datetime.date.today()}.json")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.vocab, args.dim, args.batch, args.chunk, args.steps)))
        return 0
    rows = []
    for chunk in (int(c) for c in args.chunks.split(",")):
        rows.append(in_own_process(__file__, "--worker", "--vocab", str(args.vocab), "--dim", str(args.dim),
                                   "--batch", str(args.batch), "--steps", str(args.steps), "--chunk", str(chunk)))
        print(json.dumps(rows[-1]), flush=True)
    write_json(args.out, {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
