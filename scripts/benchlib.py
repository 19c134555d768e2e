"""What the benchmark scripts share: each measurement in a fresh process, JSON out."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from typing import Callable

#: the corpus the benchmarks train on unless told otherwise
DEFAULT_CORPUS = os.path.join(os.path.dirname(__file__), "..", "data", "gutenberg-mid.txt.xz")


def worker_parser(description: str, name: str) -> argparse.ArgumentParser:
    """The options of a benchmark whose runs are workers of itself: --corpus, --cache-dir, --out
    (bench/NAME-<date>.json) and the hidden --worker SPEC."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=f"bench/{name}-{datetime.date.today()}.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def worker_or_report(args: argparse.Namespace, run: Callable[[dict], dict]) -> dict | None:
    """As a worker (``--worker SPEC``): print ``run(SPEC)`` as JSON and return None. Otherwise the
    report the parent fills: :func:`provenance` and an empty list of runs."""
    if args.worker:
        print(json.dumps(run(json.loads(args.worker))))
        return None
    return {**provenance(), "runs": []}


def provenance() -> dict:
    """What every benchmark record starts with, and the docs' result pages quote beside its numbers:
    the date, the command line and the machine."""
    return {"date": datetime.date.today().isoformat(), "command": shlex.join(["python", *sys.argv]),
            "machine": machine()}


def machine() -> dict:
    """The hardware and the versions a benchmark ran with, read without importing torch (a measuring
    parent must stay small): CPU count and architecture, memory, GPU (nvidia-smi's first device),
    torch and Python. ``description`` is the one-line spec the docs print."""
    memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30).stdout.splitlines()[0].strip() or None
    except (OSError, IndexError, subprocess.SubprocessError):
        gpu = None
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = None
    cpu = platform.machine()
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "memory_gib": memory_gib, "gpu": gpu,
            "torch": torch_version, "python": platform.python_version(),
            "description": f"{os.cpu_count()} CPUs ({cpu}), {memory_gib:g} GiB, {gpu or 'no GPU'}, "
                           f"torch {torch_version}, Python {platform.python_version()}"}


def in_own_process(script: str, *args: str) -> dict:
    """Run ``script`` with ``args`` in a fresh Python process (so its peak RSS is its own) and return
    the JSON object on the last line it prints, with the whole process's cost as seen from outside:
    ``process_seconds`` (wall clock, start to exit: interpreter, imports, compilation, reading, training,
    evaluation) and ``process_cpu_seconds`` (user + system time of the process and its threads)."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    output = subprocess.run([sys.executable, script, *args], check=True, capture_output=True, text=True).stdout
    seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**json.loads(output.strip().splitlines()[-1]), "process_seconds": round(seconds, 3),
            "process_cpu_seconds": round(cpu, 3)}


def measure_into(report: dict, out: str, script: str, spec: dict, **extra) -> dict:
    """Run ``script --worker SPEC`` in its own process, append its JSON row (with ``extra``) to
    ``report["runs"]``, print it, and rewrite ``out`` (an interrupted benchmark keeps what it measured)."""
    row = {**in_own_process(script, "--worker", json.dumps(spec)), **extra}
    report["runs"].append(row)
    print(json.dumps(row), flush=True)
    write_json(out, report)
    return row


def peak_rss_mb() -> float:
    """This process's peak RSS in MB (getrusage). On Linux it includes the peak of the parent that
    started it, so a measuring parent must stay small (never import torch)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_json(path: str, report: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
