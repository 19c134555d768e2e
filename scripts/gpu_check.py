"""The prepared GPU check: the targets of the GPU path (docs/gpu.md), each with PASS or FAIL, JSON out.

    bash scripts/gpu_check.sh OUT_DIR [CORPUS] [WHEELS_DIR]          # the device run (see its header)
    python scripts/gpu_check.py --corpus C --out OUT/gpu.json [--device cpu --quick]   # a dry run here

In order, each time-boxed so the whole check ends within 8 minutes, the JSON rewritten after each:

1. syncs: 800 steps of the steady state of the row step (pair stream, noise, scores, head, updates, loss
   accounting) under ``torch.cuda.set_sync_debug_mode("error")``: any host sync raises. PASS: none.
2. negative-sampling (d 100, K 5, window 5, sample 1e-4) on the corpus: words/s of a run of at least
   10 s after a warm-up run (PASS: >= 25M words/s), and WS353/SimLex/MEN of the GPU run against the
   fused CPU kernel (all cores) at the same epochs (PASS: no benchmark more than 0.02 below).
3. every other head: GPU words/s against the same head on 2 CPU cores (PASS: >= 20x).
4. the softmax's compiled chunk bodies against the eager ones, and its peak memory at V = 1M, d = 300.
5. for the next step (no target): the negative-sampling row step captured in a CUDA graph, replayed
   against eager, at 8,192 and 65,536 pairs (docs/gpu.md predicts launch-bound eager steps).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

import w2v_contrastive as w2v
from bench import BENCHMARKS, DEFAULTS
from bench_softmax_memory import train as softmax_at_a_million_words
from benchlib import write_json
from check_softmax_compile import check as check_softmax_compile

TARGET_WORDS_PER_SECOND = 25e6
TARGET_QUALITY_GAP = 0.02
TARGET_SPEEDUP = 20.0
MIN_TIMED_SECONDS = 10.0
#: (head, settings) of the other heads' speed checks
OTHER_HEADS = [
    ("nce", {}),
    ("infonce", {}),
    ("hierarchical-softmax", {}),
    ("negative-sampling", {"model": "cbow"}),
    ("negative-sampling", {"shared_negatives": True, "negatives": 64, "lr": 0.0005}),
    ("infonce", {"in_batch_negatives": True, "negatives": 0, "temperature": 0.5}),
    ("softmax", {"dim": 300}),
    ("contrastive", {}),
    ("triplet", {}),
    ("lifted-structured", {}),
    ("n-pair", {}),
]


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def rho(vectors) -> dict:
    return {row["benchmark"]: row["spearman"] for row in w2v.evaluate(vectors, BENCHMARKS)}


def train(corpus, head: str, device: str, **settings):
    return w2v.train(corpus, head=head, device=device, progress=False, **{**DEFAULTS, "threads": None, **settings})


def sync_check(corpus, device: str, steps: int) -> dict:
    """The row step's steady state under the sync debug mode "error" (on a CPU: the same loop, unchecked)."""
    from w2v_contrastive.config import TrainConfig
    from w2v_contrastive.corpus.vocab import Vocabulary
    from w2v_contrastive.train.trainer import Trainer

    config = TrainConfig(head="negative-sampling", device=device, progress=False)
    trainer = Trainer(config, corpus, Vocabulary.from_corpus(corpus, config.min_count, config.max_vocab))
    batches = trainer.pairs.batches(config.epochs)
    for _ in range(10):  # warm-up: the allocator's pools, the pinned buffers
        batch = next(batches)
        trainer.state.count_step(batch.centers.shape[0], trainer.step(batch, 0.01))
    checked = torch.cuda.is_available() and device.startswith("cuda")
    if checked:
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(steps):  # (800 cross two chunk boundaries: about 320 steps a chunk at 8,192 pairs)
            batch = next(batches)
            trainer.state.count_step(batch.centers.shape[0], trainer.step(batch, 0.01))
        error = None
    except RuntimeError as exc:
        error = str(exc).splitlines()[0]
    finally:
        if checked:
            torch.cuda.set_sync_debug_mode(0)
    return {"steps": steps, "batch_size": trainer.setup.batch_size, "checked": checked, "error": error,
            "verdict": verdict(checked and error is None)}


def graph_step_rates(device: str, vocab: int = 58_663, dim: int = 100, repeats: int = 200) -> dict:
    """Step time of the negative-sampling row step, eager and replayed from a CUDA graph (a fixed batch,
    a fixed learning rate: a speed measurement, not training), at the default batch and at 65,536."""
    import numpy as np

    from w2v_contrastive.config import TrainConfig
    from w2v_contrastive.heads import build_head
    from w2v_contrastive.sampling.noise import NoiseDistribution
    from w2v_contrastive.sampling.pairs import PairBatch
    from w2v_contrastive.train.setup import build_model
    from w2v_contrastive.train.steps import RowSGD, RowStep

    def seconds_per_call(function) -> float:
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(repeats):
            function()
        torch.cuda.synchronize()
        return (time.perf_counter() - started) / repeats

    config = TrainConfig(head="negative-sampling", dim=dim)
    head = build_head(config.head, config)
    noise = NoiseDistribution(np.sort(np.random.default_rng(0).zipf(1.3, vocab))[::-1].astype(np.float64), device=device)
    rows = {}
    for batch in (8192, 65536):
        model = build_model(config, [str(i) for i in range(vocab)], head).to(device)  # (synthetic words)
        generator = torch.Generator(device=device).manual_seed(0)
        words = noise.sample((2, batch), generator)
        pairs = PairBatch(words[0].clone(), words[1].clone(), float(batch))
        step = RowStep(model, head, noise, generator, batch, RowSGD())
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up off the default stream, as capture requires
            for _ in range(3):
                step(pairs, 1e-4)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        graph.register_generator_state(generator)
        with torch.cuda.graph(graph):
            step(pairs, 1e-4)
        eager, replay = seconds_per_call(lambda: step(pairs, 1e-4)), seconds_per_call(graph.replay)
        rows[batch] = {"eager_step_seconds": eager, "graph_step_seconds": replay,
                       "eager_words_per_second": batch / eager / 2.56, "graph_words_per_second": batch / replay / 2.56}
    return {**rows, "verdict": "info"}


def throughput(corpus, head: str, device: str, settings: dict, seconds: float) -> dict:
    """words/s of a run of at least MIN_TIMED_SECONDS (epochs chosen from a warm-up run), boxed at ``seconds``."""
    warm = train(corpus, head, device, max_words=min(corpus.n_tokens, 5_000_000), **settings)
    rate = warm.stats.words_per_second
    epochs = max(1, int(MIN_TIMED_SECONDS * 1.3 * rate / corpus.n_tokens) + 1)
    timed = train(corpus, head, device, epochs=epochs, max_seconds=seconds, **settings)
    stats = timed.stats
    return {"head": head, "settings": settings, "epochs": epochs, "seconds": stats.seconds, "step": stats.step,
            "batch_size": stats.batch_size, "words_per_second": stats.words_per_second,
            "peak_gpu_mb": stats.peak_gpu_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="data/gutenberg-mid.txt.xz")
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda", help="cpu runs the same checks here, as a dry run of the script")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a dry run of the script's plumbing")
    args = parser.parse_args()
    started = time.time()
    box = 5.0 if args.quick else 40.0  # seconds per timed run
    report = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "torch": torch.__version__, "corpus": args.corpus, "targets": {}, "runs": []}
    corpus = w2v.prepare_corpus(args.corpus)
    report["corpus_tokens"], report["encode_seconds"] = corpus.n_tokens, corpus.seconds

    def record(name: str, value: dict) -> None:
        report["targets"][name] = value
        print(json.dumps({name: value}), flush=True)
        write_json(args.out, report)

    def attempt(name: str, check) -> None:
        try:
            record(name, check())
        except Exception as exc:  # record and go on: the point is to learn as much as possible per lease
            record(name, {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                          "verdict": "FAIL"})

    attempt("zero_host_syncs", lambda: sync_check(corpus, args.device, 20 if args.quick else 800))

    def negative_sampling() -> dict:
        speed = throughput(corpus, "negative-sampling", args.device, {}, box)
        epochs = 1 if args.quick else DEFAULTS["epochs"]
        gpu = rho(train(corpus, "negative-sampling", args.device, epochs=epochs).vectors)
        cpu = rho(train(corpus, "negative-sampling", "cpu", epochs=epochs).vectors)
        gap = max(cpu[b] - gpu[b] for b in BENCHMARKS)
        return {**speed, "gpu_rho": gpu, "cpu_fused_rho": cpu, "largest_gap_below_cpu": gap,
                "speed_verdict": verdict(speed["words_per_second"] >= TARGET_WORDS_PER_SECOND),
                "quality_verdict": verdict(gap <= TARGET_QUALITY_GAP),
                "verdict": verdict(speed["words_per_second"] >= TARGET_WORDS_PER_SECOND and gap <= TARGET_QUALITY_GAP)}

    attempt("negative_sampling", negative_sampling)
    if args.device.startswith("cuda"):
        attempt("row_step_in_a_cuda_graph", lambda: graph_step_rates(args.device))
    for head, settings in OTHER_HEADS:
        if time.time() - started > (60 if args.quick else 380):
            report["skipped_for_time"] = report.get("skipped_for_time", []) + [head]
            continue

        def speedup(head=head, settings=settings) -> dict:
            cpu = train(corpus, head, "cpu", threads=2, max_words=200_000 if args.quick else 1_000_000, **settings)
            gpu = throughput(corpus, head, args.device, settings, box)
            ratio = gpu["words_per_second"] / cpu.stats.words_per_second
            return {**gpu, "cpu_2_core_words_per_second": cpu.stats.words_per_second, "speedup": ratio,
                    "verdict": verdict(ratio >= TARGET_SPEEDUP)}

        attempt(f"{head} {json.dumps(settings)}", speedup)
    if not args.quick:
        attempt("softmax_compile", lambda: {**check_softmax_compile(args.device), "verdict": "see differences"})
        attempt("softmax_million_words", lambda: softmax_at_a_million_words(1_000_000, 300, 32768, 5, args.device))
    report["seconds"] = time.time() - started
    write_json(args.out, report)
    print("\n".join(f"{v.get('verdict', '?'):5} {name}" for name, v in report["targets"].items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
