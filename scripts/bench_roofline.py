"""The row step's roofline, counted from the step itself and checked against this CPU.

    python scripts/bench_roofline.py --out bench/roofline-$(date +%F).json

For each head (d = 100, K = 5 unless the case says otherwise), one step of B pairs runs under a
dispatch mode that counts every tensor operation the step makes: how many (each costs a fixed
dispatch or launch time), the bytes each moves (inputs read and outputs written; a gather moves its
rows, not the table; ``index_add_`` and ``index_copy_`` read their source and read and write the rows
they change) and the FLOPs of its matrix products. The model of a step's time:

    CPU (synchronous):  ops x t_dispatch + streamed bytes / stream rate + gathered rows / gather rate
                        + scattered rows / scatter rate
    GPU (asynchronous): max(ops x t_launch, bytes / bandwidth + FLOPs / peak)

On the CPU each rate is measured here on its own kernel: t_dispatch (a one-element add), the stream
rate (a large add), the gather rate (rows of 100 floats at random from a 24,294-row table, bytes of
rows out per second) and the scatter rate (``index_add_`` of such rows, bytes of rows in per second);
the step's prediction from them is set beside its measured time. The H200 prediction takes 4.8 TB/s
at 80% for every byte and t_launch = 10 us (eager PyTorch dispatch from Python; gpu_check measures it).
words/s = pairs/s / pairs per corpus word (2.56 on gutenberg-mid at window 5, sample 1e-4).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import write_json  # noqa: E402

H200_BANDWIDTH, H200_EFFICIENCY, H200_TFLOPS, H200_LAUNCH = 4.8e12, 0.8, 989e12 / 2, 10e-6  # (fp32: half the bf16 rate)
PAIRS_PER_WORD = 2.56
GATHERS = {"aten.index.Tensor", "aten.index_select.default", "aten.embedding.default"}
CASES = [  # (name, head, settings, batch): the GPU defaults (8,192 pairs; in-batch heads 512), and 65,536
    ("negative-sampling K=5", "negative-sampling", {}, 8192),
    ("negative-sampling K=5", "negative-sampling", {}, 65536),
    ("nce K=5", "nce", {}, 8192),
    ("infonce K=5", "infonce", {}, 8192),
    ("negative-sampling shared K=64", "negative-sampling", {"shared_negatives": True, "negatives": 64}, 8192),
    ("infonce in-batch", "infonce", {"in_batch_negatives": True, "negatives": 0}, 512),
    ("triplet (Adam, tied)", "triplet", {}, 8192),
    ("n-pair (Adam, in-batch)", "n-pair", {}, 512),
]


def tensor_bytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(tensor_bytes(v) for v in value)
    return 0


class Counter(TorchDispatchMode):
    """Counts operations, bytes moved (in all, and the rows gathered and scattered among them) and
    matrix-product FLOPs of what runs under it."""

    def __init__(self):
        super().__init__()
        self.ops, self.bytes, self.flops, self.gathered, self.scattered = 0, 0, 0, 0, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = str(func)
        if name.startswith(("aten.view", "aten._unsafe_view", "aten.unsqueeze", "aten.squeeze", "aten.select",
                            "aten.slice", "aten.t.", "aten.transpose", "aten.expand", "aten.detach", "aten.alias",
                            "aten.as_strided", "aten.permute", "aten.reshape", "aten.lift_fresh")):
            return out  # views: no kernel, no bytes
        self.ops += 1
        if name in GATHERS:
            self.bytes += 2 * tensor_bytes(out)  # the rows read, and written out
            self.gathered += tensor_bytes(out)
        elif name.startswith(("aten.index_add", "aten.index_copy")):
            self.bytes += 3 * tensor_bytes(args[3])  # the source read; the rows it changes, read and written
            self.scattered += tensor_bytes(args[3])
        else:
            self.bytes += tensor_bytes(list(args)) + tensor_bytes(out)
        if name.startswith(("aten.bmm", "aten.mm", "aten.addmm")):
            a, b = args[-2], args[-1]
            self.flops += 2 * a.numel() * b.shape[-1]
        return out


def machine_rates(threads: int) -> dict:
    torch.set_num_threads(threads)
    one = torch.ones(1)
    for _ in range(1000):
        one.add(one)
    started = time.perf_counter()
    for _ in range(20000):
        one.add(one)
    dispatch = (time.perf_counter() - started) / 20000
    big = torch.ones(1 << 25)
    out = torch.empty_like(big)
    torch.add(big, big, out=out)
    started = time.perf_counter()
    for _ in range(10):
        torch.add(big, big, out=out)
    bandwidth = 10 * 12 * big.numel() / (time.perf_counter() - started)
    table, rows = torch.rand(24_294, 100), torch.randint(0, 24_294, (1 << 18,))
    source = table[rows]
    started = time.perf_counter()
    for _ in range(10):
        table[rows]
    gather = 10 * source.numel() * 4 / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(10):
        table.index_add_(0, rows, source)
    scatter = 10 * source.numel() * 4 / (time.perf_counter() - started)
    return {"threads": threads, "dispatch_seconds": dispatch, "bandwidth_bytes_per_second": bandwidth,
            "gather_bytes_per_second": gather, "scatter_bytes_per_second": scatter}


def case_row(name: str, head_name: str, settings: dict, batch: int, rates: dict, vocab: int, dim: int) -> dict:
    from w2v_contrastive import TrainConfig
    from w2v_contrastive.heads import build_head
    from w2v_contrastive.sampling.noise import NoiseDistribution
    from w2v_contrastive.sampling.pairs import PairBatch
    from w2v_contrastive.train.setup import Machine, build_model, build_row_update, plan
    from w2v_contrastive.train.steps import RowStep

    config = TrainConfig(head=head_name, dim=dim, **settings)
    head = build_head(head_name, config)
    counts = np.sort(np.random.default_rng(0).zipf(1.3, vocab))[::-1].astype(np.float64)
    noise = NoiseDistribution(counts)
    model = build_model(config, [str(i) for i in range(vocab)], head)  # (synthetic words)
    generator = torch.Generator().manual_seed(0)
    words = noise.sample((2, batch), generator)  # (real batches: frequent words repeat)
    step = RowStep(model, head, noise, generator, batch, build_row_update(plan(config, head, Machine(torch.device("cpu"), 2)), model))
    pairs = PairBatch(words[0], words[1], float(batch))
    step(pairs, 1e-4)
    with Counter() as counter:
        step(pairs, 1e-4)
    repeats = max(3, int(2e7 // (batch * dim)))
    started = time.perf_counter()
    for _ in range(repeats):
        step(pairs, 1e-4)
    measured = (time.perf_counter() - started) / repeats
    streamed = counter.bytes - 2 * counter.gathered - 3 * counter.scattered
    cpu = (counter.ops * rates["dispatch_seconds"] + streamed / rates["bandwidth_bytes_per_second"]
           + counter.gathered / rates["gather_bytes_per_second"] + counter.scattered / rates["scatter_bytes_per_second"])
    gpu = max(counter.ops * H200_LAUNCH,
              counter.bytes / (H200_BANDWIDTH * H200_EFFICIENCY) + counter.flops / H200_TFLOPS)
    return {"case": name, "head": head_name, "settings": settings, "batch": batch, "dim": dim, "vocabulary": vocab,
            "ops_per_step": counter.ops, "bytes_per_pair": counter.bytes / batch, "flops_per_pair": counter.flops / batch,
            "gathered_bytes_per_pair": counter.gathered / batch, "scattered_bytes_per_pair": counter.scattered / batch,
            "cpu_measured_step_seconds": measured, "cpu_predicted_step_seconds": cpu,
            "cpu_measured_over_predicted": measured / cpu,
            "cpu_measured_words_per_second": batch / measured / PAIRS_PER_WORD,
            "h200_predicted_step_seconds": gpu, "h200_bound": "launch" if counter.ops * H200_LAUNCH > gpu * 0.999 else "memory",
            "h200_predicted_words_per_second": batch / gpu / PAIRS_PER_WORD}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vocabulary", type=int, default=24_294, help="gutenberg-mid's at min_count 5")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--out", default=f"bench/roofline-{datetime.date.today()}.json")
    args = parser.parse_args()
    rates = machine_rates(args.threads)
    report = {"date": datetime.date.today().isoformat(), "command": " ".join(["python", *sys.argv]),
              "machine": rates, "pairs_per_word": PAIRS_PER_WORD,
              "h200": {"bandwidth": H200_BANDWIDTH, "efficiency": H200_EFFICIENCY, "fp32_flops": H200_TFLOPS,
                       "launch_seconds": H200_LAUNCH}, "cases": []}
    print(json.dumps(rates), flush=True)
    for case in CASES:
        row = case_row(*case, rates, args.vocabulary, args.dim)
        report["cases"].append(row)
        print(json.dumps({k: (round(v, 7) if isinstance(v, float) and math.isfinite(v) else v) for k, v in row.items()}),
              flush=True)
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
