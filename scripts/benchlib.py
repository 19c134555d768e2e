"""What the benchmark scripts share: each measurement in a fresh process, JSON out."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys


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
