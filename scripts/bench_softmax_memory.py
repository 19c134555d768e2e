"""Memory of the full softmax at a million words: vocabulary chunks bound it, whatever the batch.

    python scripts/bench_softmax_memory.py --vocab 1000000 --dim 300 --batches 64,256,1024

Two measurements, each configuration in its own process (peak RSS is per process):

- step: one forward and backward pass of log Z = log sum_v exp(u . W_v + c_v) for a batch of B
  words, with ``softmax_chunk`` = --chunks values (V: one chunk; 0: plain autograd, ``logsumexp(u @ W.T
  + c)``, what one writes without chunks). Reported: the growth of peak RSS over the step above
  the model's own memory. With chunks it is the dense V x d gradient of W plus O(B x chunk) scratch;
  without, it grows with B x V.
- train: the ``softmax`` head trained end to end (Adam, the default chunk) for --train-steps steps
  of --train-batch pairs on a synthetic Zipf corpus of V distinct words: it fits and runs.

Writes bench/softmax-memory-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time

from benchlib import in_own_process, peak_rss_mb, write_json


def step(vocab: int, dim: int, batch: int, chunk: int) -> dict:
    import torch

    from w2v_contrastive.model import SkipGram

    torch.manual_seed(0)
    model = SkipGram(vocab, dim, output_bias=True, output_init="uniform")
    u = model.input(torch.randint(vocab, (batch,)))
    before, started = peak_rss_mb(), time.perf_counter()
    if chunk:
        log_z = model.log_partition(u, chunk)
    else:
        log_z = torch.logsumexp(u @ model.output.weight.T + model.bias.weight.T, dim=1)
    log_z.sum().backward()
    return {"measurement": "step", "vocab": vocab, "dim": dim, "batch": batch, "softmax_chunk": chunk or "autograd",
            "seconds": round(time.perf_counter() - started, 2), "peak_rss_mb_before": round(before),
            "step_growth_mb": round(peak_rss_mb() - before), "dense_gradient_mb": round(vocab * dim * 4 / 2**20),
            "logits_mb_unchunked": round(batch * vocab * 4 / 2**20),
            "logits_mb_per_chunk": round(batch * min(chunk or vocab, vocab) * 4 / 2**20)}


def train(vocab: int, dim: int, batch: int, steps: int, device: str = "cpu") -> dict:
    import numpy as np

    import w2v_contrastive as w2v
    from w2v_contrastive.corpus.cache import EncodedCorpus

    counts = np.maximum(1, (200_000 / np.arange(1, vocab + 1))).astype(np.int64)  # Zipf, non-increasing
    tokens = np.random.default_rng(0).permutation(np.repeat(np.arange(vocab, dtype=np.int32), counts))
    line_starts = np.arange(0, len(tokens) + 1, 1000, dtype=np.int64)
    line_starts[-1] = len(tokens)
    corpus = EncodedCorpus(tokens, line_starts, [f"w{i}" for i in range(vocab)], counts, f"zipf-{vocab}")
    before = peak_rss_mb()
    pairs_per_token = 5.0  # window 5, no subsampling: about 2 * E[b] = 6 pairs per token, a bit less at line ends
    result = w2v.train(corpus, "softmax", dim=dim, min_count=1, sample=0, batch_size=batch,
                       max_words=int(steps * batch / pairs_per_token), device=device, progress=False)
    parameters_mb = sum(p.numel() * p.element_size() for p in result.model.parameters()) / 2**20
    return {"measurement": "train", "vocab": vocab, "dim": dim, "batch": batch, "steps": result.stats.steps,
            "softmax_chunk": result.config.softmax_chunk, "optimizer": result.stats.optimizer,
            "seconds": round(result.stats.seconds, 1), "parameters_mb": round(parameters_mb),
            "adam_state_mb": round(2 * parameters_mb), "peak_rss_mb_before_training": round(before),
            "peak_rss_mb": round(result.stats.peak_rss_mb), "device": result.stats.device,
            "peak_gpu_mb": result.stats.peak_gpu_mb, "words_per_second": result.stats.words_per_second}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--batches", default="64,256,1024", help="batch sizes of the step measurement")
    parser.add_argument("--chunks", default="8192,1000000,0", help="softmax_chunk values; 0 is plain autograd")
    parser.add_argument("--train-batch", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=3, help="0 skips the end-to-end run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=f"bench/softmax-memory-{datetime.date.today()}.json")
    args = parser.parse_args()
    if args.worker:
        kind, *numbers = json.loads(args.worker)
        print(json.dumps(step(*numbers) if kind == "step" else train(*numbers)))
        return 0
    plan = [("step", args.vocab, args.dim, int(b), int(c)) for b in args.batches.split(",") for c in args.chunks.split(",")]
    if args.train_steps:
        plan.append(("train", args.vocab, args.dim, args.train_batch, args.train_steps))
    rows = []
    for item in plan:
        rows.append(in_own_process(__file__, "--worker", json.dumps(item)))
        print(json.dumps(rows[-1]), flush=True)
        write_json(args.out, {"command": " ".join(["python", *sys.argv]), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
