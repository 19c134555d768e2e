"""What the benchmark scripts share: each measurement in a fresh process, JSON out."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
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
    report the parent fills: date, command and an empty list of runs."""
    if args.worker:
        print(json.dumps(run(json.loads(args.worker))))
        return None
    return {"date": datetime.date.today().isoformat(), "command": " ".join(["python", *sys.argv]), "runs": []}


def in_own_process(script: str, *args: str) -> dict:
    """Run ``script`` with ``args`` in a fresh Python process (so its peak RSS is its own) and return
    the JSON object on the last line it prints."""
    output = subprocess.run([sys.executable, script, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


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
