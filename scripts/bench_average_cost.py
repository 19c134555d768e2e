"""What ``--sync average`` costs per average and per step: every row, or the rows the ranks changed (gloo, CPU).

    python scripts/bench_average_cost.py --vocab 1000000 --dim 300 --repeats 3

Two ranks (torch.multiprocessing, gloo, one thread each) hold a negative-sampling model (untied, no bias: the
GPU default) of ``--vocab`` words and ``--dim`` dimensions and run the row step at ``--batch`` pairs on batches
drawn as the pair stream would draw them from a corpus of Zipf-distributed words (rank r has count
proportional to 1 / r; word2vec's subsampling at 1e-4; a centre token's window of b in 1..5 words on each
side). Every ``--every`` steps they average, alternating: every row (torch's ``average_parameters``, what
the trainer did before) and the rows marked changed since the last average (``TouchedRows``). Measured: the
seconds of each average, of a step with and without marking its rows, the rows averaged. Then, from the same
draws for 2, 4 and 8 ranks, the share of rows in the union of the ranks' changes, and the predicted seconds of
both averages with NCCL on 8 H200s (all-reduce bus bandwidth and HBM bandwidth below) at 8,192 pairs a rank,
at a rank's default batch under --sync average at 0.025 (train/setup.py SUMMED_STEP_LIMIT / (W x 0.025)) and
with an average every 16 or 64 steps (:func:`predictions`; ``--predict-only`` redoes them alone). Writes
bench/average-cost-<date>.json.
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

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import provenance, write_json  # noqa: E402

#: predicted device rates (H200, NVLink; docs/gpu.md): NCCL ring all-reduce bus bandwidth, HBM bandwidth x 0.8
NCCL_BUS_BYTES_PER_SECOND = 360e9
HBM_BYTES_PER_SECOND = 0.8 * 4.8e12
SAMPLE = 1e-4
WINDOW = 5


def zipf_counts(vocab: int, tokens: float = 1e9) -> np.ndarray:
    """Counts of a ``tokens``-token corpus whose r-th word has a count proportional to 1 / r."""
    weights = 1.0 / np.arange(1, vocab + 1)
    return np.maximum(1, np.round(tokens * weights / weights.sum())).astype(np.int64)


def draw_batch(counts: np.ndarray, batch: int, generator: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(centres int64[B], contexts int64[B]): centre tokens of the subsampled unigram distribution, each with the
    2b pairs of its dynamic window (b uniform in 1..5), contexts from the same distribution."""
    frequency = counts / counts.sum()
    kept = np.minimum(1.0, (np.sqrt(frequency / SAMPLE) + 1) * SAMPLE / frequency) * counts
    p = kept / kept.sum()
    tokens = generator.choice(len(counts), size=batch, p=p)
    pairs = np.repeat(tokens, 2 * generator.integers(1, WINDOW + 1, size=batch))[:batch]
    contexts = generator.choice(len(counts), size=batch, p=p)
    return torch.from_numpy(pairs), torch.from_numpy(contexts)


def build(vocab: int, dim: int, batch: int, rank: int, counts: np.ndarray, touched: bool):
    from w2v_contrastive import TrainConfig
    from w2v_contrastive.heads import build_head
    from w2v_contrastive.model import SkipGram
    from w2v_contrastive.sampling.noise import NoiseDistribution
    from w2v_contrastive.train.distributed import TouchedRows
    from w2v_contrastive.train.steps import RowSGD, RowStep

    config = TrainConfig(head="negative-sampling", dim=dim)
    head = build_head(config.head, config)
    torch.manual_seed(0)
    model = SkipGram(vocab, dim)
    rows = TouchedRows(model.parameters()) if touched else None
    step = RowStep(model, head, NoiseDistribution(counts), torch.Generator().manual_seed(rank), batch, RowSGD(), rows)
    return model, step, rows


def rank_main(rank: int, args: argparse.Namespace, init_file: str, results: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    from w2v_contrastive.sampling.pairs import PairBatch
    from w2v_contrastive.train.distributed import Distributed

    counts = zipf_counts(args.vocab)
    model, step, touched = build(args.vocab, args.dim, args.batch, rank, counts, touched=True)
    distributed = Distributed(rank, 2, rank, 2, "gloo")
    generator = np.random.default_rng(100 + rank)
    found = {"every row": [], "changed rows": [], "step seconds, marking": [], "step seconds, not marking": [],
             "rows averaged": []}
    for repeat in range(args.repeats):
        for mode in ("every row", "changed rows"):
            marking = mode == "changed rows"
            step.touched = touched if marking else None
            for _ in range(args.every):
                centres, contexts = draw_batch(counts, args.batch, generator)
                started = time.perf_counter()
                step(PairBatch(centres, contexts, float(args.batch)), 0.025)
                found["step seconds, marking" if marking else "step seconds, not marking"].append(
                    time.perf_counter() - started)
            if marking:
                found["rows averaged"].append(sum(int(m.sum()) for m in touched.rows.values()))
            dist.barrier()
            started = time.perf_counter()
            distributed.average_parameters(model, touched if marking else None)
            found[mode].append(time.perf_counter() - started)
    with open(f"{results}.{rank}", "w", encoding="utf-8") as handle:
        json.dump(found, handle)
    dist.destroy_process_group()


def union_shares(vocab: int, ranks: int, batch: int, every: int) -> dict:
    """The share of each table's rows that ``ranks`` ranks of ``batch`` pairs change in ``every`` steps together
    (the rows an average then moves): the centres (input table), the contexts and noise words (output table)."""
    from w2v_contrastive.sampling.noise import NoiseDistribution

    counts = zipf_counts(vocab)
    noise = NoiseDistribution(counts)
    changed = {"input": np.zeros(vocab, bool), "output": np.zeros(vocab, bool)}
    draws = torch.Generator().manual_seed(1)
    for rank in range(ranks):
        generator = np.random.default_rng(100 + rank)
        for _ in range(every):
            centres, contexts = draw_batch(counts, batch, generator)
            changed["input"][centres.numpy()] = True
            changed["output"][contexts.numpy()] = True
            changed["output"][noise.sample((batch, 5), draws).numpy().ravel()] = True
    return {table: float(marks.mean()) for table, marks in changed.items()}


def predicted_nccl_seconds(vocab: int, dim: int, ranks: int, shares: dict) -> dict:
    """Both averages of the two [V, d] float32 tables on ``ranks`` H200s (ring all-reduce moves 2 (W - 1) / W of
    the bytes over each link), with their copies through HBM: every row (torch's utility: the tables
    concatenated, divided, all-reduced, copied back, read and written ~4 times) and the changed rows (a byte a
    row all-reduced, then the union's rows gathered, divided, all-reduced and written back)."""
    table_bytes = vocab * dim * 4
    ring = 2 * (ranks - 1) / ranks
    every = ring * 2 * table_bytes / NCCL_BUS_BYTES_PER_SECOND + 4 * 2 * table_bytes / HBM_BYTES_PER_SECOND
    changed_bytes = sum(shares.values()) * table_bytes
    changed = (ring * (2 * vocab + changed_bytes) / NCCL_BUS_BYTES_PER_SECOND
               + 4 * changed_bytes / HBM_BYTES_PER_SECOND)
    return {"every row": every, "changed rows": changed}


def marking_seconds(args: argparse.Namespace, repeats: int = 100) -> float:
    """Seconds a step spends marking its rows (one thread): a batch's centres in the input table and its contexts
    and 5 noise words each in the output table, at random."""
    from w2v_contrastive.train.distributed import TouchedRows

    torch.set_num_threads(1)
    tables = [torch.empty(args.vocab, 1), torch.empty(args.vocab, 1)]  # (marks depend on the rows, not on d)
    touched = TouchedRows(tables)
    rows = [torch.randint(0, args.vocab, (args.batch,)), torch.randint(0, args.vocab, (6 * args.batch,))]
    started = time.perf_counter()
    for _ in range(repeats):
        for table, changed in zip(tables, rows):
            touched.mark(table, changed)
    return (time.perf_counter() - started) / repeats


def predictions(args: argparse.Namespace) -> dict:
    """What a step spends marking its rows (:func:`marking_seconds`); the changed rows' shares for 2, 4 and 8
    ranks, and the predicted seconds of both averages on 8 H200s, per average and per step: at the old default
    (8,192 pairs a rank, an average every 16 steps), at a rank's default batch now at word2vec's step
    (train/setup.py SUMMED_STEP_LIMIT / (W x 0.025)) and every 16 steps, and at that batch every 64."""
    from w2v_contrastive.train.setup import SUMMED_STEP_LIMIT

    shares, predicted = {}, {"nccl_bus_bytes_per_second": NCCL_BUS_BYTES_PER_SECOND,
                             "hbm_bytes_per_second": HBM_BYTES_PER_SECOND, "cases": []}
    for ranks in (2, 4, 8):
        default = min(8192, int(SUMMED_STEP_LIMIT / (ranks * 0.025)))
        for batch, every in ((8192, 16), (default, 16), (default, 64)):
            share = union_shares(args.vocab, ranks, batch, every)
            shares[f"{ranks} ranks x {batch} pairs, {every} steps"] = share
            if ranks == 8:
                seconds = predicted_nccl_seconds(args.vocab, args.dim, ranks, share)
                predicted["cases"].append({"batch": batch, "every": every, **seconds,
                                           **{f"{k} per step": v / every for k, v in seconds.items()}})
    return {"marking_seconds_per_step": marking_seconds(args), "changed_row_shares": shares,
            "predicted_nccl_8_h200": predicted}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--every", type=int, default=16, help="steps between averages (--average-every)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=f"bench/average-cost-{datetime.date.today()}.json")
    parser.add_argument("--predict-only", action="store_true",
                        help="keep the measured part of --out and redo the shares and predictions")
    args = parser.parse_args()
    if args.predict_only:
        with open(args.out, encoding="utf-8") as handle:
            report = json.load(handle)
        report.update(predictions(args))
        write_json(args.out, report)
        print(json.dumps(report, indent=1))
        return 0
    folder = tempfile.mkdtemp(prefix="w2v-average-cost-")
    results = os.path.join(folder, "rank")
    mp.spawn(rank_main, args=(args, os.path.join(folder, "init"), results), nprocs=2)
    ranks = [json.load(open(f"{results}.{rank}", encoding="utf-8")) for rank in range(2)]
    measured = {}
    for mode in ("every row", "changed rows"):
        per_call = statistics.median(max(r[mode][i] for r in ranks) for i in range(args.repeats))
        step = statistics.median(s for r in ranks for s in r["step seconds, marking" if mode == "changed rows"
                                                              else "step seconds, not marking"])
        measured[mode] = {"seconds_per_average": per_call, "seconds_per_step": per_call / args.every,
                          "step_seconds": step, "average_share_of_time": per_call / (per_call + args.every * step)}
    rows_total = 2 * args.vocab
    measured["changed rows"]["rows_averaged_share"] = statistics.median(
        n / rows_total for r in ranks for n in r["rows averaged"])
    report = {**provenance(), "settings": vars(args), "threads_per_rank": 1,
              "measured_gloo_2_ranks": measured, **predictions(args)}
    write_json(args.out, report)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
