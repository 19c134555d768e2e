"""Does ``--sync average`` (what NCCL forces) keep one process's quality with 2 and 4 ranks at the GPU batch?

    python scripts/bench_average_ranks.py --corpus data/gutenberg-mid.txt.xz --ranks 1,2,4 --epochs 3

Under ``--sync average`` each rank runs the row step on its shard and every ``--average-every`` steps the
ranks' parameters are averaged; each rank steps with ``rank_lr_factor`` times the run's learning rate
(train/setup.py). Here on the CPU: torchrun with gloo, the row step (``--no-fused-cpu``, what a GPU runs) at
the GPU default batch (8,192 pairs), one thread per rank, negative-sampling with scripts/bench.py's
settings, one run per (ranks, rule), each in its own process group. A rule is the learning rate each
rank steps with, as a multiple of the one-process rate: ``linear`` W (the linear scaling rule), ``sqrt``
sqrt(W), ``none`` 1; it is set through ``--lr`` (the run's rate times the code's own rank factor, read
from the code, must give the rule's rank rate). Writes WS353/SimLex/MEN rho and each run's largest gap
below one process (or the error of a run that diverged) to bench/average-ranks-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from bench import BENCHMARKS, DEFAULTS  # noqa: E402
from benchlib import DEFAULT_CORPUS, provenance, write_json  # noqa: E402

#: the one-process learning rate of negative-sampling's SGD (heads/base.py Head.default_lr)
BASE_LR = 0.025
RULES = {"linear": lambda ranks: ranks, "sqrt": math.sqrt, "none": lambda ranks: 1.0}


def code_rank_factor(ranks: int) -> int:
    """The rank learning-rate factor train/setup.py gives ``ranks`` gloo ranks under --sync average."""
    from w2v_contrastive.config import TrainConfig
    from w2v_contrastive.heads import build_head
    from w2v_contrastive.train.setup import Machine, plan

    import torch

    config = TrainConfig(head="negative-sampling", fused_cpu=False, sync="average")
    setup = plan(config, build_head("negative-sampling", config), Machine(torch.device("cpu"), 2, ranks, ranks, "gloo"))
    return setup.rank_lr_factor


def run(corpus: str, cache_dir: str, ranks: int, rule: str, epochs: int, batch: int, seed: int,
        average_every: int) -> dict:
    rank_lr = BASE_LR * RULES[rule](ranks)
    lr = rank_lr / code_rank_factor(ranks)
    out = os.path.join(tempfile.mkdtemp(prefix="w2v-bench-ranks-"), "run")
    settings = {**DEFAULTS, "epochs": epochs, "threads": 1}
    args = ["-m", "w2v_contrastive", "train", "--corpus", corpus, "--out", out, "--cache-dir", cache_dir,
            "--no-progress", "--head", "negative-sampling", "--no-fused-cpu", "--batch-size", str(batch),
            "--lr", repr(lr), "--seed", str(seed)]
    for key in ("dim", "window", "negatives", "sample", "min_count", "epochs", "threads"):
        args += [f"--{key.replace('_', '-')}", str(settings[key])]
    if ranks > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}", *args,
                   "--sync", "average", "--average-every", str(average_every)]
    else:
        command = [sys.executable, *args]
    row = {"ranks": ranks, "rule": rule, "rank_lr": rank_lr, "lr_argument": lr, "batch_size": batch, "epochs": epochs,
           "average_every": average_every if ranks > 1 else None}
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:  # the trainer's one-line error (a diverged run says so), else torchrun's last words
        lines = proc.stderr.strip().splitlines() or ["?"]
        return {**row, "error": next((line for line in lines if line.startswith("error:")), lines[-1])}
    import w2v_contrastive as w2v

    with open(os.path.join(out, "config.json"), encoding="utf-8") as handle:
        training = json.load(handle)["training"]
    scores = {r["benchmark"]: r["spearman"] for r in w2v.evaluate(out, list(BENCHMARKS))}
    return {**row, "sync": training.get("sync"), "steps": training["steps"], "seconds": training["seconds"],
            "words_per_second": training["words_per_second"], "spread": training.get("rank_parameter_spread"),
            **scores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=f"bench/average-ranks-{datetime.date.today()}.json")
    parser.add_argument("--ranks", default="1,2,4")
    parser.add_argument("--rules", default="linear", help="comma-separated: " + ", ".join(RULES))
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--average-every", type=int, default=16)
    args = parser.parse_args()
    cache_dir = args.cache_dir or os.path.join(tempfile.gettempdir(), "w2v-bench-cache")
    report = {**provenance(), "corpus": args.corpus,
              "settings": {**DEFAULTS, "epochs": args.epochs, "threads": 1, "head": "negative-sampling",
                           "step": "rows", "batch_size": args.batch_size, "seed": args.seed}, "runs": []}
    if os.path.exists(args.out):  # add to an earlier report (other rules, other rank counts)
        with open(args.out, encoding="utf-8") as handle:
            report["runs"] = json.load(handle)["runs"]
    for rule in args.rules.split(","):
        for ranks in map(int, args.ranks.split(",")):
            if ranks == 1 and any(r["ranks"] == 1 and "error" not in r for r in report["runs"]):
                continue  # one process has no rule: measured once
            row = run(args.corpus, cache_dir, ranks, rule if ranks > 1 else "linear", args.epochs, args.batch_size,
                      args.seed, args.average_every)
            report["runs"].append(row)
            print(json.dumps(row), flush=True)
            write_json(args.out, report)
    alone = next((r for r in report["runs"] if r["ranks"] == 1 and "error" not in r), None)
    if alone is not None:
        for row in report["runs"]:
            if row["ranks"] > 1 and "error" not in row:
                row["gap_below_one_process"] = max(alone[b] - row[b] for b in BENCHMARKS)
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
