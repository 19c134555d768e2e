"""One process against two (torchrun, gloo) on this machine: words/s, rho, and what the ranks share.

    python scripts/bench_distributed.py --corpus data/gutenberg-mid.txt.xz --epochs 3

Runs, each in its own process (group), alternating, ``--repeats`` times:
- 1 process on all cores (the fused kernel on 2 threads) and 2 processes x 1 thread with
  ``--sync average`` (the default for the fused kernel);
- the autograd path, 1 process vs 2 processes with ``--sync gradients`` (``--gradient-epochs``).
Writes bench/distributed-<date>.json and prints a markdown table (medians over the repeats).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

BENCHMARKS = ("wordsim353", "simlex999", "men3k")


def run(processes: int, args: list[str], cache_dir: str) -> dict:
    out = tempfile.mkdtemp(prefix="w2v-bench-dist-")
    base = ["-m", "w2v_contrastive", "train", "--out", os.path.join(out, "run"), "--cache-dir", cache_dir,
            "--no-progress", *args]
    command = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *base]
               if processes > 1 else [sys.executable, *base])
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // processes))}
    subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    import w2v_contrastive as w2v

    with open(os.path.join(out, "run", "config.json"), encoding="utf-8") as handle:
        training = json.load(handle)["training"]
    scores = {r["benchmark"]: r["spearman"] for r in w2v.evaluate(os.path.join(out, "run"), BENCHMARKS)}
    return {"processes": processes, "words_per_second": training["words_per_second"], "seconds": training["seconds"],
            "sync": training.get("sync"), "spread": training.get("rank_parameter_spread"),
            "peak_rss_mb": training["peak_rss_mb"], **scores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="data/gutenberg-mid.txt.xz")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--gradient-epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=f"bench/distributed-{datetime.date.today()}.json")
    args = parser.parse_args()
    cache_dir = args.cache_dir or os.path.join(tempfile.gettempdir(), "w2v-bench-cache")
    plans = {
        "fused SGD, average every 16": (["--corpus", args.corpus, "--epochs", str(args.epochs)], []),
        "autograd SGD, gradients": (["--corpus", args.corpus, "--epochs", str(args.gradient_epochs), "--no-fused-cpu"],
                                    ["--sync", "gradients"]),
    }
    rows = {name: {1: [], 2: []} for name in plans}
    for repeat in range(args.repeats):
        for name, (common, parallel) in plans.items():
            for processes in (1, 2):
                row = run(processes, common + (parallel if processes > 1 else []), cache_dir)
                rows[name][processes].append(row)
                print(json.dumps({"plan": name, "repeat": repeat, **row}), flush=True)
    report = {"corpus": args.corpus, "epochs": args.epochs, "gradient_epochs": args.gradient_epochs,
              "cpus": os.cpu_count(), "runs": rows}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
    print("| path | processes | words/s | WS353 | SimLex | MEN | rank spread |\n|---|---|---|---|---|---|---|")
    for name, by_processes in rows.items():
        for processes, runs in by_processes.items():
            median = {k: statistics.median(r[k] for r in runs) for k in ("words_per_second", *BENCHMARKS)}
            spread = runs[0]["spread"]
            print(f"| {name} | {processes} | {median['words_per_second']:,.0f} | {median['wordsim353']:.3f} | "
                  f"{median['simlex999']:.3f} | {median['men3k']:.3f} | {'-' if spread is None else spread} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
