"""One prepared GPU check: every head through scripts/bench.py's measurement on CUDA (bf16 autocast), JSON out.

    python scripts/gpu_check.py --corpus data/gutenberg-mid.txt.xz --out $OUT/gpu.json
    bash scripts/gpu_check.sh OUT_DIR [CORPUS] [WHEELS_DIR]     # the prepared device run (every head)

Each run's words/s, pairs/s, peak GPU memory and WS353/SimLex/MEN rho go into one JSON file,
written after every run so a time-out still leaves the finished ones. First, two identical
``--deterministic`` runs measure the GPU's run-to-run tolerance (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

import w2v_contrastive as w2v
from bench import DEFAULTS, measure
from bench_softmax_memory import train as softmax_at_a_million_words
from benchlib import write_json
from check_softmax_compile import check as check_softmax_compile

PLAN = [
    ("negative-sampling", {"batch_size": 16384}),
    ("negative-sampling", {"batch_size": 65536}),
    # one set of 64 noise words for 65,536 pairs: each noise row sums 65,536 pairs' gradients, so the step is
    # small (on the CPU, nce with K = 64 trains at lr 0.01 with 4,096 pairs and diverges at 0.02)
    ("negative-sampling", {"batch_size": 65536, "shared_negatives": True, "negatives": 64, "lr": 0.0005}),
    ("nce", {"batch_size": 16384}),
    ("infonce", {"batch_size": 16384}),
    ("infonce", {"batch_size": 8192, "in_batch_negatives": True, "negatives": 0, "temperature": 0.5}),
    # log Z once per distinct centre word (about 0.4 per corpus word); the target: >= 1M words/s at
    # V = 58,663 (gutenberg-large, min_count 5), d = 300 (docs/softmax.md, the roofline estimate)
    ("softmax", {"batch_size": 32768, "dim": 300}),
    ("contrastive", {}),
    ("triplet", {}),
    ("lifted-structured", {}),
    ("n-pair", {}),
]


def determinism(corpus, device: str, words: int = 2_000_000) -> dict:
    """How far two identical deterministic runs on the GPU end apart (vectors and benchmark rho)."""
    runs = [w2v.train(corpus, head=head, device=device, progress=False, deterministic=True, max_words=words,
                      batch_size=16384) for head in ("negative-sampling", "negative-sampling")]
    rho = [{r["benchmark"]: r["spearman"] for r in w2v.evaluate(run.vectors)} for run in runs]
    return {"words": words, "max_abs_difference": float(abs(runs[0].vectors.matrix - runs[1].vectors.matrix).max()),
            "bit_identical": bool((runs[0].vectors.matrix == runs[1].vectors.matrix).all()),
            "rho_difference": {name: abs(rho[0][name] - rho[1][name]) for name in rho[0]}}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="data/gutenberg-mid.txt.xz")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=float, default=400, help="skip remaining runs after this much time")
    parser.add_argument("--device", default="cuda", help="cpu runs the same plan here, as a check of the script")
    args = parser.parse_args()
    started = time.time()
    report = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "torch": torch.__version__, "corpus": args.corpus, "runs": []}
    corpus = w2v.prepare_corpus(args.corpus)
    report["corpus_tokens"] = corpus.n_tokens
    report["encode_seconds"] = corpus.seconds
    try:
        report["determinism"] = determinism(corpus, args.device)
    except Exception as exc:
        report["determinism"] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(report["determinism"]), flush=True)
    write_json(args.out, report)
    try:  # the softmax's chunk bodies run compiled on a GPU: first, that they compute what the tested eager ones do
        report["softmax_compile_check"] = check_softmax_compile(args.device)
    except Exception as exc:
        report["softmax_compile_check"] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(report["softmax_compile_check"]), flush=True)
    try:  # V = 1M, d = 300 must train without running out of GPU memory: its peak, measured
        report["softmax_million_words"] = softmax_at_a_million_words(1_000_000, 300, 32768, 5, args.device)
    except Exception as exc:
        report["softmax_million_words"] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(report["softmax_million_words"]), flush=True)
    write_json(args.out, report)
    for head, settings in PLAN:
        if time.time() - started > args.seconds:
            break
        spec = {"engine": head, "corpus": args.corpus, "seed": 0, "device": args.device,
                "settings": {**DEFAULTS, "threads": torch.get_num_threads(), "epochs": args.epochs, **settings}}
        try:
            row = measure(spec)
        except Exception as exc:  # record and go on: the point is to learn as much as possible per lease
            row = {"engine": head, "settings": spec["settings"], "error": f"{type(exc).__name__}: {exc}"}
        report["runs"].append(row)
        print(json.dumps(row), flush=True)
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
