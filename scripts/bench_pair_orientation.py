"""The fused kernel alone, with skip-gram pairs given centre first or context first, in one process.

    python scripts/bench_pair_orientation.py --out bench/pair-orientation-$(date +%F).json

The window's pairs are symmetric, so a kernel may predict each context word from the centre word (our
PairBatch order) or the centre word from each context word (word2vec.c's and gensim's). The objective
is the same; the memory traffic is not: the stream keeps a centre token's pairs together, so centre
first reuses the input row across them, context first reuses the target's rows (for the hierarchical
softmax, the ~13 rows of the centre's path). Per head: the first ``--batches`` batches of one epoch of
the corpus, trained from the same starting model in each orientation, the two alternating ``--repeats``
times within one process (so that this VM's minute-to-minute speed swings hit both alike); medians of
corpus words per second of kernel time. ``train/steps.py`` ``FusedStep`` takes the faster orientation.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import importlib
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import DEFAULT_CORPUS, write_json  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--heads", default="hierarchical-softmax,negative-sampling")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=f"bench/pair-orientation-{datetime.date.today()}.json")
    args = parser.parse_args()

    import w2v_contrastive as w2v
    from w2v_contrastive.heads import build_head
    from w2v_contrastive.sampling.noise import NoiseDistribution
    from w2v_contrastive.sampling.pairs import PairStream
    from w2v_contrastive.train.setup import FUSED_BATCH_SIZE, build_model

    fused = importlib.import_module("w2v_contrastive.train.fused_sgd")  # (w2v.train is the function)
    torch.set_num_threads(args.threads)
    corpus = w2v.prepare_corpus(args.corpus)
    vocab = w2v.Vocabulary.from_corpus(corpus, 5, None)
    stream = PairStream(corpus, len(vocab), vocab.keep_probabilities(1e-4), 5, FUSED_BATCH_SIZE,
                        torch.device("cpu"), torch.Generator().manual_seed(0))
    batches = [batch for batch, _ in zip(stream.batches(1), range(args.batches))]
    tokens = sum(batch.tokens for batch in batches)
    noise = NoiseDistribution(vocab.counts, 0.75)
    report = {"date": datetime.date.today().isoformat(), "command": " ".join(["python", *sys.argv]),
              "corpus": os.path.abspath(args.corpus), "pairs": sum(b.centers.shape[0] for b in batches),
              "tokens": tokens, "threads": args.threads, "heads": {}}
    for name in args.heads.split(","):
        config = w2v.TrainConfig(head=name)
        head = build_head(name, config)
        head.use_vocabulary(vocab.counts)
        start = build_model(config, vocab.words, head)
        torch.nn.init.normal_(start.output.weight, std=0.1)  # (a model under way, not the zero start)
        speeds = {"centre first": [], "context first": []}
        for _ in range(args.repeats):
            for orientation in speeds:
                kernel = fused.FusedSkipGramSGD(copy.deepcopy(start), head, noise, args.threads)
                generator = torch.Generator().manual_seed(1)
                started = time.perf_counter()
                for batch in batches:
                    pair = (batch.centers, batch.contexts) if orientation == "centre first" else \
                        (batch.contexts, batch.centers)
                    kernel.step(*pair, 0.025, generator)
                kernel.flush()
                speeds[orientation].append(tokens / (time.perf_counter() - started))
        medians = {orientation: statistics.median(values) for orientation, values in speeds.items()}
        report["heads"][name] = {"words_per_second": speeds, "median": medians,
                                 "context_first_vs_centre_first": medians["context first"] / medians["centre first"]}
        print(name, {k: f"{v:,.0f}" for k, v in medians.items()},
              f"context first / centre first = {report['heads'][name]['context_first_vs_centre_first']:.2f}",
              flush=True)
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
