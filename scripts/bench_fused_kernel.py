"""The fused CPU kernel alone, replaying batches captured from a real run: nanoseconds per pair.

    python scripts/bench_fused_kernel.py --corpus data/gutenberg-mid.txt.xz --head negative-sampling --repeats 9
    python scripts/bench_fused_kernel.py --head hierarchical-softmax
    python scripts/bench_fused_kernel.py --set '{"model": "cbow"}'

A run trains with bench.py's settings (dim 100, window 5, K 5, sample 1e-4, 5 epochs; ``--set`` overrides them as
JSON) on one thread until its step ``--skip``, so the vectors are past their random start, keeps the next
``--steps`` calls of the compiled kernel (their batches, noise seeds and steps), and stops. It then replays those
calls ``--repeats`` times, the tables reset to their captured values before each replay, alternating one thread
(the batch as one slice) with ``--threads`` (the trainer's slices, Hogwild, on the trainer's pool). Each replay's
wall time over its pairs is one figure: the kernel's own speed, without the pair stream, start-up or evaluation,
and steady enough to compare two versions of the kernel (run the script in each one's checkout, alternating).
The spread of the repeats, and the CPU seconds per wall second of the threaded replays, show the machine's noise:
threads that share rows cost more when the cores exchange cache lines slowly, which on a shared or virtual machine
can change from one minute to the next. So each repeat has two more threaded replays: the kernel with every context
row shared, as word2vec.c's and gensim's threads share them (no replicas; the hierarchical softmax's top nodes are
still each thread's own), and each of the ``--threads`` threads on its own copy of all the tables and its share of
each batch (the same work, nothing shared or merged, the tables' footprint as many times larger). Against the
latter, the trainer's kernel shows what sharing the input rows and merging the replicas cost at that moment, the
shared one what sharing every row costs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import DEFAULT_CORPUS, provenance, write_json  # noqa: E402

SETTINGS = {"dim": 100, "window": 5, "negatives": 5, "sample": 1e-4, "epochs": 5}


class Captured(Exception):
    """Raised inside the run once the steps to replay are kept."""


def capture(corpus_path: str, head: str, settings: dict, skip: int, steps: int, cache_dir: str | None):
    """The run's trainer and its kernel steps skip + 1 .. skip + steps: each step's (inputs, targets, lr, state of
    the noise generator before it), so a replay draws the same noise words."""
    import w2v_contrastive as w2v
    from w2v_contrastive.train.trainer import Trainer

    corpus = w2v.prepare_corpus(corpus_path, cache_dir=cache_dir)
    config = w2v.make_config(head, progress=False, **{**SETTINGS, **settings, "threads": 1})
    trainer = Trainer(config, corpus, w2v.Vocabulary.from_corpus(corpus, config.min_count, config.max_vocab))
    if trainer.setup.step != "fused":
        raise SystemExit(f"the {head} run takes the {trainer.setup.step} step, not the fused kernel")
    fused, calls, kept = trainer.step.kernel, [0], []
    step = fused.step

    def keep(inputs, targets, lr, generator):
        calls[0] += 1
        if calls[0] > skip:  # (the batch is copied: the stream may reuse its buffers)
            kept.append((inputs.clone(), targets.clone(), lr, generator.get_state()))
            if len(kept) == steps:
                raise Captured
        return step(inputs, targets, lr, generator)

    fused.step = keep
    try:
        trainer.fit()
    except Captured:
        pass
    if len(kept) < steps:
        raise SystemExit(f"the run made {calls[0]} kernel steps, fewer than --skip {skip} + --steps {steps}")
    return trainer, kept


def replay(fused, calls: list[tuple]) -> tuple[float, float]:
    """Wall and CPU seconds of one pass of ``fused`` (a FusedSkipGramSGD on some threads) over ``calls``."""
    import torch

    generator = torch.Generator()
    wall, cpu = time.perf_counter(), time.process_time()
    for inputs, targets, lr, state in calls:
        generator.set_state(state)
        fused.step(inputs, targets, lr, generator)
    fused.flush()
    return time.perf_counter() - wall, time.process_time() - cpu


def context_rows_shared(trainer, threads: int):
    """The trainer's kernel on ``threads`` threads without replicas of the context table."""
    from w2v_contrastive.train.fused_sgd import FusedSkipGramSGD

    return FusedSkipGramSGD(trainer.model, trainer.head, trainer.noise, threads, replica_bytes=0)


class OwnTables:
    """``threads`` one-slice kernels, each on its own copy of the model: :meth:`step` trains each on its contiguous
    share of the batch at once, on threads of its own (the threaded replay without a row shared between threads)."""

    def __init__(self, trainer, threads: int):
        from concurrent.futures import ThreadPoolExecutor

        from w2v_contrastive.model import SkipGram
        from w2v_contrastive.train.fused_sgd import FusedSkipGramSGD

        model, self.kernels = trainer.model, []
        for _ in range(threads):  # (a model of the same shape holds its tables on the same kind of pages)
            own = SkipGram(model.n_words, model.dim, output_bias=model.bias is not None, tied=model.tied,
                           subwords=model.subwords, buckets=model.input.weight.shape[0] - model.n_words)
            own.load_state_dict(model.state_dict())
            self.kernels.append(FusedSkipGramSGD(own, trainer.head, trainer.noise, 1))
        self.pool = ThreadPoolExecutor(max_workers=threads)

    def tables(self) -> list:
        return [table for fused in self.kernels for table in (fused.word_table, fused.context_table, fused.bias)]

    def step(self, inputs, targets, lr, generator) -> float:
        import torch

        state, cuts = generator.get_state(), [len(targets) * part // len(self.kernels)
                                              for part in range(len(self.kernels) + 1)]
        parts = [self.pool.submit(fused.step, inputs[start:end], targets[start:end], lr,
                                  torch.Generator().set_state(state))
                 for fused, start, end in zip(self.kernels, cuts, cuts[1:])]
        return sum(part.result() for part in parts)

    def flush(self) -> None:
        """Nothing to merge: each kernel runs one slice, on tables of its own."""


def measure(args: argparse.Namespace, settings: dict) -> dict:
    from w2v_contrastive.train import fused_sgd

    trainer, calls = capture(args.corpus, args.head, settings, args.skip, args.steps, args.cache_dir)
    kernels = {str(threads): fused_sgd.FusedSkipGramSGD(trainer.model, trainer.head, trainer.noise, threads)
               for threads in (1, args.threads)}
    kernels[f"{args.threads}, context rows shared"] = context_rows_shared(trainer, args.threads)
    kernels[f"{args.threads}, own tables"] = own = OwnTables(trainer, args.threads)
    tables = [kernels["1"].word_table, kernels["1"].context_table, kernels["1"].bias]
    captured = [table.copy() for table in tables]
    pairs = sum(int(targets.shape[0]) for _, targets, _, _ in calls)
    figures = {threads: [] for threads in kernels}
    for _ in range(args.repeats):
        for threads, fused in kernels.items():
            for table, values in zip(tables + own.tables(), captured * (1 + args.threads)):
                table[...] = values
            figures[threads].append(replay(fused, calls))
    result = {"head": args.head, "settings": {**SETTINGS, **settings}, "pair_order": trainer.setup.pair_order,
              "skip": args.skip, "steps": args.steps, "pairs": pairs,
              "replicas": {"merge_pairs_per_row": fused_sgd.MERGE_PAIRS_PER_ROW, "hot_rows": fused_sgd.HOT_ROWS,
                           "top_nodes": fused_sgd.TOP_NODES, "replica_bytes": fused_sgd.REPLICA_BYTES},
              "threads": {}}
    for threads, runs in figures.items():
        per_pair = [round(wall * 1e9 / pairs, 1) for wall, _ in runs]
        result["threads"][threads] = {"ns_per_pair": per_pair,
                                     "median_ns_per_pair": round(statistics.median(per_pair), 1),
                                     "min_ns_per_pair": min(per_pair),
                                     "cpu_per_wall": [round(cpu / wall, 2) for wall, cpu in runs]}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--head", default="negative-sampling")
    parser.add_argument("--set", default="{}", help="settings over bench.py's, as JSON")
    parser.add_argument("--skip", type=int, default=120, help="kernel calls to train through before the captured ones")
    parser.add_argument("--steps", type=int, default=30, help="kernel calls to capture and replay")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2, help="threads of the threaded replays")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=f"bench/fused-kernel-{datetime.date.today()}.json")
    args = parser.parse_args()
    try:
        settings = json.loads(args.set)
    except json.JSONDecodeError as error:
        parser.error(f"--set: not JSON ({error})")
    if args.threads < 2:
        parser.error("--threads: the threaded replays need at least 2")
    report = {**provenance(), "corpus": os.path.abspath(args.corpus), "runs": [measure(args, settings)]}
    write_json(args.out, report)
    for threads, figures in report["runs"][0]["threads"].items():
        print(f"{args.head}, threads {threads}: median {figures['median_ns_per_pair']} ns/pair, "
              f"min {figures['min_ns_per_pair']}, CPU/wall {statistics.median(figures['cpu_per_wall']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
