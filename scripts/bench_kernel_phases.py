"""Where a fused CPU run's time goes, fifth by fifth: the kernel against the rest (the pair stream, the loop).

    python scripts/bench_kernel_phases.py --corpus data/gutenberg-mid.txt.xz --set '{"lr": 0.025}' --repeats 3

Each repeat is its own process (benchlib.measure_into: the whole process timed from outside as well),
training one head with bench.py's settings (dim 100, window 5, K 5, sample 1e-4, 5 epochs, 2 threads;
``--set`` overrides any of them as JSON). The trainer's kernel step is wrapped to record each call's wall
and CPU seconds (the process's, so both kernel threads) and its pairs; the run is cut into fifths of its
steps, and each fifth reports the kernel's seconds and pairs per second of kernel time. A kernel whose
speed changes within a run shows it here (a slowdown of the last fifth against the first), and the
kernel's share of the training time shows what overlapping the stream with it could gain at most.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import DEFAULT_CORPUS, measure_into, provenance  # noqa: E402

SETTINGS = {"dim": 100, "window": 5, "negatives": 5, "sample": 1e-4, "epochs": 5, "threads": 2}
PARTS = 5


def by_part(steps: list[tuple[float, float, int]], parts: int = PARTS) -> list[dict]:
    """Per consecutive part of the (wall seconds, CPU seconds, pairs) of the kernel's steps: the part's kernel
    seconds, CPU seconds and pairs per second of kernel wall time."""
    rows = []
    for part in range(parts):
        chunk = steps[part * len(steps) // parts:(part + 1) * len(steps) // parts]
        wall, cpu, pairs = (sum(step[i] for step in chunk) for i in range(3))
        rows.append({"kernel_seconds": round(wall, 3), "kernel_cpu_seconds": round(cpu, 3),
                     "pairs_per_kernel_second": round(pairs / wall) if wall else None})
    return rows


def measure(spec: dict) -> dict:
    """One timed run (in a worker process): the run's and its kernel's seconds, and the kernel by fifths."""
    import w2v_contrastive as w2v
    from w2v_contrastive.train.trainer import Trainer

    corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec.get("cache_dir"))
    config = w2v.make_config(spec["head"], progress=False, **{**SETTINGS, **spec["settings"]})
    trainer = Trainer(config, corpus, w2v.Vocabulary.from_corpus(corpus, config.min_count, config.max_vocab))
    if trainer.setup.step != "fused":
        raise SystemExit(f"the {spec['head']} run takes the {trainer.setup.step} step, "
                         "not the fused kernel")
    kernel, steps = trainer.step.kernel, []
    untimed = kernel.step

    def timed(inputs, targets, lr, generator):
        wall, cpu = time.perf_counter(), time.process_time()
        loss = untimed(inputs, targets, lr, generator)
        steps.append((time.perf_counter() - wall, time.process_time() - cpu, int(targets.shape[0])))
        return loss

    kernel.step = timed
    wall, cpu = time.perf_counter(), time.process_time()
    stats = trainer.fit()
    return {"head": spec["head"], "settings": {**SETTINGS, **spec["settings"]}, "lr": stats.lr,
            "seconds": round(time.perf_counter() - wall, 3), "cpu_seconds": round(time.process_time() - cpu, 3),
            "kernel_seconds": round(sum(s[0] for s in steps), 3), "steps": len(steps),
            "words_per_second": round(stats.words_per_second), "kernel_threads": kernel.slices,
            "parts": by_part(steps)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--head", default="negative-sampling")
    parser.add_argument("--set", default="{}", help="settings over bench.py's, as JSON")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=f"bench/kernel-phases-{datetime.date.today()}.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(json.loads(args.worker))))
        return 0
    try:
        settings = json.loads(args.set)
    except json.JSONDecodeError as error:
        parser.error(f"--set: not JSON ({error})")
    report = {**provenance(), "corpus": os.path.abspath(args.corpus), "runs": []}
    spec = {"corpus": args.corpus, "cache_dir": args.cache_dir, "head": args.head, "settings": settings}
    for _ in range(args.repeats):
        try:
            measure_into(report, args.out, __file__, spec)
        except subprocess.CalledProcessError as error:  # (the worker's last line says why)
            parser.error(error.stderr.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
