"""The prepared GPU check: the targets of the GPU path (docs/gpu.md), each with PASS or FAIL, JSON out.

    bash scripts/gpu_check.sh OUT_DIR [CORPUS] [WHEELS_DIR]          # the device run (see its header)
    python scripts/gpu_check.py --corpus C --out OUT/gpu.json [--device cpu --quick]   # a dry run here

The checks run in :func:`plan`'s order, the ones that matter most first. Each is announced with its predicted
seconds before it runs (from the roofline of docs/gpu.md and the time boxes below; docs/gpu.md "The device
check" lists the same checks) and skipped when it would not end within :data:`BUDGET_SECONDS`, so that
gpu_check.sh ends within 8 minutes. Every training run is time-boxed (``max_seconds``), the CPU baselines
too, but the determinism check's (5M words each); the JSON is rewritten after each check, with each check's
predicted and measured seconds.

0. the Triton Hogwild kernel (train/hogwild_kernel.py): one program per head, model and option it covers on the
   device against the fused CPU kernel on one thread over the same examples and seed (PASS: tables within 1e-4),
   then negative-sampling with window-shared negatives on the corpus: words/s (PASS: >= 25M words/s; beside the
   roofline's prediction, bench/hogwild-roofline-*.json) and its WS353/SimLex/MEN. (Check 2 runs the kernel with
   per-pair negatives, the default, against the CPU.)
1. syncs: 800 steps of the steady state of the row step (pair stream, noise, scores, head, updates, loss
   accounting) under ``torch.cuda.set_sync_debug_mode("error")``: any host sync raises. PASS: none.
2. negative-sampling (d 100, K 5, window 5, sample 1e-4) on the corpus: words/s of a 5-epoch run after a
   warm-up run (PASS: >= 25M words/s), and its WS353/SimLex/MEN against the fused CPU kernel (all cores) at
   the same epochs (PASS: no benchmark more than 0.02 below).
3. the row step with subwords (3-6) at V = 1M words, 2M buckets, d = 300, 8,192 pairs, skip-gram and CBOW:
   peak GPU memory against the prediction of bench/gpu-memory-*.json (docs/results/gpu.md). PASS: within 1.25x of it.
4. determinism: two identical ``--deterministic`` runs of negative-sampling's row step. PASS: bit-identical.
5. for the next step (no target): the negative-sampling row step captured in a CUDA graph, replayed
   against eager, at 8,192 and 65,536 pairs (docs/gpu.md predicts launch-bound eager steps).
6. the softmax's compiled chunk bodies against the eager ones, and its peak memory at V = 1M, d = 300.
7. every other head: GPU words/s against the same head on 2 CPU cores (PASS: >= 20x), as many as fit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

import w2v_contrastive as w2v
from bench import BENCHMARKS, DEFAULTS
from bench_gpu_memory import full_scale_step_memory
from bench_softmax_memory import train as softmax_at_a_million_words
from benchlib import write_json
from check_softmax_compile import check as check_softmax_compile

TARGET_WORDS_PER_SECOND = 25e6
TARGET_QUALITY_GAP = 0.02
TARGET_SPEEDUP = 20.0
TARGET_MEMORY_RATIO = 1.25
#: the script's seconds, the corpus' encoding included (gpu_check.sh boxes it at 430 s, and the encoding
#: benchmark after it at 30 s: with the wrapper's own steps, under 8 minutes)
BUDGET_SECONDS = 420
#: encoding gutenberg-large on 16 cores (bench/encode-workers-2026-12-02.json: 13.4 s on 1 worker, 6.2 s on 2)
ENCODE_SECONDS = 15.0
#: JIT-compiling one variant of the Triton kernel on the device's host, estimated (about 1.5 s each here for sm_90)
TRITON_COMPILE_SECONDS = 2.0
#: H200 words/s of the row step predicted by the roofline (docs/gpu.md, bench/roofline-2026-12-01.json: launch-
#: bound at 34-41 operations of 10 us); for negative-sampling's speed run (an upper bound on its time when the
#: Hogwild kernel trains it) and the determinism runs
ROOFLINE_WORDS_PER_SECOND = 9.4e6
#: the fused CPU kernel on all 16 cores (predicted: 2 cores' 1.93M words/s x 8, at 75% Hogwild scaling)
CPU_FUSED_WORDS_PER_SECOND = 11.6e6
#: the setup of one training run on the device (vocabulary, model, noise tables, corpus upload), estimated
RUN_SETUP_SECONDS = 4.0
#: the first CUDA call (context, allocator, cuBLAS), estimated
CUDA_INIT_SECONDS = 5.0
#: time boxes of the other heads' runs: the CPU baseline (2 threads) and the GPU run
CPU_BOX_SECONDS, GPU_BOX_SECONDS = 6.0, 6.0
#: (head, settings) of the other heads' speed checks, most used first
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


@dataclass
class Check:
    """One check of the plan: ``run`` returns its JSON record; ``predicted`` seconds, derived as ``how`` says."""

    name: str
    predicted: float
    how: str
    run: Callable[[], dict]


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

    config = TrainConfig(head="negative-sampling", device=device, progress=False, fused_cpu=False)  # (the row step)
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


#: (head, settings) of the kernel's one-program checks: each row loss, shared windows, CBOW, subwords
TRITON_CASES = [("negative-sampling", {}), ("negative-sampling", {"share_negatives": "window"}),
                ("nce", {"share_negatives": "window"}), ("infonce", {}), ("hierarchical-softmax", {}),
                ("negative-sampling", {"model": "cbow"}),
                ("negative-sampling", {"subwords": "3-6", "buckets": 100_000})]
#: the fused CPU kernel's numba compile, per row loss (4 in TRITON_CASES), estimated
NUMBA_COMPILE_SECONDS = 5.0


def triton_kernel(corpus, device: str, box: float) -> dict:
    """The Triton kernel on the device: one program of each case in :data:`TRITON_CASES` (a launch's programs
    run concurrently; one program's order is fixed) against the fused CPU kernel on one thread, on the corpus'
    first pairs, the same seed and lr; then negative-sampling with window-shared negatives on the corpus
    (boxed at ``box`` s) against the roofline's predicted rate (the newest bench/hogwild-roofline-*.json)."""
    import copy
    import glob

    from w2v_contrastive.config import TrainConfig
    from w2v_contrastive.corpus.vocab import Vocabulary
    from w2v_contrastive.sampling.noise import NoiseDistribution
    from w2v_contrastive.train.fused_sgd import WINDOW_SPAN, FusedSkipGramSGD
    from w2v_contrastive.train.gpu_sgd import HogwildSGD
    from w2v_contrastive.train.trainer import Trainer

    vocab = Vocabulary.from_corpus(corpus, DEFAULTS["min_count"], None)
    differences = {}
    for head, settings in TRITON_CASES:
        config = TrainConfig(head=head, progress=False, **{**DEFAULTS, "threads": 1, "device": "cpu", **settings})
        trainer = Trainer(config, corpus, vocab)
        batch = next(trainer.pairs.batches(1))
        context_first = trainer.head.request.tree_paths  # (as the trainer orders the hierarchical softmax's pairs)
        inputs, targets = (batch.contexts, batch.centers) if context_first else (batch.inputs, batch.targets)
        inputs, targets = inputs[:WINDOW_SPAN], targets[:WINDOW_SPAN]
        torch.nn.init.normal_(trainer.model.output.weight, std=0.1)
        twin = copy.deepcopy(trainer.model).to(device)
        share = config.share_negatives == "window"
        cpu = FusedSkipGramSGD(trainer.model, trainer.head, trainer.noise, 1, True, share)
        trainer.head.use_vocabulary(vocab.counts, device)
        gpu = HogwildSGD(twin, trainer.head, NoiseDistribution(vocab.counts, config.alpha, device),
                         inputs.shape[1] if inputs.dim() > 1 else 1, share, interpret=device == "cpu")  # (a dry run)
        cpu.step(inputs, targets, 0.05, torch.Generator().manual_seed(0))
        gpu.step(inputs.to(device), targets.to(device), 0.05, torch.Generator().manual_seed(0))
        differences[f"{head} {json.dumps(settings)}"] = max(
            float((a.detach() - b.detach().cpu()).abs().max()) for a, b in zip(trainer.model.parameters(),
                                                                                 twin.parameters()))
    equal = max(differences.values()) <= 1e-4
    run = train(corpus, "negative-sampling", device, share_negatives="window", epochs=100, max_seconds=box)
    roofline = sorted(glob.glob("bench/hogwild-roofline-*.json"))
    predicted = None
    if roofline:
        with open(roofline[-1], encoding="utf-8") as handle:
            predicted = next(v["predicted_words_per_second"] for v in json.load(handle)["variants"]
                             if v["dim"] == DEFAULTS["dim"] and v["negatives_shared"] == "window")
    rate = run.stats.words_per_second
    return {"largest_difference_from_the_cpu_kernel": differences, "step": run.stats.step,
            "window_words_per_second": rate,
            "predicted_words_per_second": predicted, "measured_over_predicted": rate / predicted if predicted else None,
            "window_rho": rho(run.vectors), "peak_gpu_mb": run.stats.peak_gpu_mb, "equal_verdict": verdict(equal),
            "verdict": verdict(equal and rate >= TARGET_WORDS_PER_SECOND)}


def negative_sampling(corpus, device: str, epochs: int, box: float, cpu_box: float) -> dict:
    """words/s of a run of ``epochs`` epochs (boxed at ``box`` s) after a warm-up run, and its rho against the
    fused CPU kernel at the same epochs (boxed at ``cpu_box`` s: a boxed baseline is marked so)."""
    train(corpus, "negative-sampling", device, max_words=min(corpus.n_tokens, 5_000_000), max_seconds=box)
    timed = train(corpus, "negative-sampling", device, epochs=epochs, max_seconds=box)
    cpu = train(corpus, "negative-sampling", "cpu", epochs=epochs, max_seconds=cpu_box)
    gpu_rho, cpu_rho = rho(timed.vectors), rho(cpu.vectors)
    gap = max(cpu_rho[b] - gpu_rho[b] for b in BENCHMARKS)
    stats = timed.stats
    speed_ok = stats.words_per_second >= TARGET_WORDS_PER_SECOND
    return {"epochs": epochs, "seconds": stats.seconds, "words": stats.words, "step": stats.step,
            "batch_size": stats.batch_size, "words_per_second": stats.words_per_second,
            "peak_gpu_mb": stats.peak_gpu_mb, "gpu_rho": gpu_rho, "cpu_fused_rho": cpu_rho,
            "gpu_boxed": stats.words < epochs * corpus.n_tokens * 0.999,
            "cpu_words": cpu.stats.words, "cpu_boxed": cpu.stats.words < epochs * corpus.n_tokens * 0.999,
            "largest_gap_below_cpu": gap, "speed_verdict": verdict(speed_ok),
            "quality_verdict": verdict(gap <= TARGET_QUALITY_GAP),
            "verdict": verdict(speed_ok and gap <= TARGET_QUALITY_GAP)}


def subword_memory(device: str) -> dict:
    """Peak memory of the row step with subwords at V = 1M, 2M buckets, d = 300, 8,192 pairs, against the
    prediction of docs/gpu.md (the newest bench/gpu-memory-*.json: its tables, subword rows and step)."""
    import glob

    newest = sorted(glob.glob("bench/gpu-memory-*.json"))[-1]
    with open(newest, encoding="utf-8") as handle:
        predicted = json.load(handle)["configurations"]
    found = {"prediction": newest}
    for model_kind in ("skipgram", "cbow"):
        measured = full_scale_step_memory(model_kind, device)
        ratio = measured["device_peak_bytes"] / predicted[model_kind]["total_packed"]
        found[model_kind] = {**measured, "predicted_total_bytes": predicted[model_kind]["total_packed"],
                             "ratio_to_predicted": ratio, "verdict": verdict(ratio <= TARGET_MEMORY_RATIO)}
        torch.cuda.empty_cache()
    return {**found, "verdict": verdict(all(found[m]["verdict"] == "PASS" for m in ("skipgram", "cbow")))}


def determinism(corpus, device: str, words: int) -> dict:
    """Two identical ``--deterministic`` runs of negative-sampling's row step: their tables' largest difference and
    rho (docs/reliability.md). Not time-boxed: a time box makes the learning rate follow the clock."""
    runs = [train(corpus, "negative-sampling", device, deterministic=True, fused_cpu=False, max_words=words)
            for _ in range(2)]
    tables = [[p.detach().float().cpu() for p in run.model.parameters()] for run in runs]
    largest = max(float((a - b).abs().max()) for a, b in zip(*tables))
    scores = [rho(run.vectors) for run in runs]
    return {"words": [run.stats.words for run in runs], "step": runs[0].stats.step,
            "largest_difference": largest, "rho": scores, "verdict": verdict(largest == 0.0)}


def graph_step_rates(device: str, vocab: int = 58_663, dim: int = 100, repeats: int = 200) -> dict:
    """Step time of the negative-sampling row step, eager and replayed from a CUDA graph (a fixed batch,
    a fixed learning rate: a speed measurement, not training), at the default batch and at 65,536."""
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


def speedup(corpus, head: str, settings: dict, device: str, cpu_words: int, cpu_box: float, gpu_box: float) -> dict:
    """The head's GPU words/s (a run boxed at ``gpu_box`` s) over its words/s on 2 CPU cores (boxed too)."""
    cpu = train(corpus, head, "cpu", threads=2, max_words=cpu_words, max_seconds=cpu_box, **settings)
    gpu = train(corpus, head, device, epochs=100, max_seconds=gpu_box, **settings)
    ratio = gpu.stats.words_per_second / cpu.stats.words_per_second
    return {"head": head, "settings": settings, "seconds": gpu.stats.seconds, "step": gpu.stats.step,
            "batch_size": gpu.stats.batch_size, "words_per_second": gpu.stats.words_per_second,
            "peak_gpu_mb": gpu.stats.peak_gpu_mb, "cpu_2_core_words_per_second": cpu.stats.words_per_second,
            "cpu_seconds": cpu.stats.seconds, "speedup": ratio, "verdict": verdict(ratio >= TARGET_SPEEDUP)}


def plan(corpus, device: str, quick: bool) -> list[Check]:
    """The checks in order, each with its predicted seconds on an H200 (the roofline and the boxes above)."""
    tokens, epochs = corpus.n_tokens, 1 if quick else DEFAULTS["epochs"]
    box, cpu_box = (5.0, 10.0) if quick else (40.0, 60.0)
    head_boxes = (2.0, 2.0) if quick else (CPU_BOX_SECONDS, GPU_BOX_SECONDS)
    run_seconds = RUN_SETUP_SECONDS + min(box, epochs * tokens / ROOFLINE_WORDS_PER_SECOND)
    checks = [
        Check("triton_hogwild_kernel",
              CUDA_INIT_SECONDS + len(TRITON_CASES) * (2 + TRITON_COMPILE_SECONDS) + 4 * NUMBA_COMPILE_SECONDS
              + RUN_SETUP_SECONDS + box / 4,
              "CUDA init + per case a small CPU setup and a JIT compile + 4 numba compiles + a run boxed at a "
              "quarter of the speed box",
              lambda: triton_kernel(corpus, device, box / 4)),
        Check("zero_host_syncs", CUDA_INIT_SECONDS + RUN_SETUP_SECONDS + 810 * 34 * 10e-6,
              "CUDA init + a run's setup + 810 steps of 34 launches x 10 us",
              lambda: sync_check(corpus, device, 20 if quick else 800)),
        Check("negative_sampling",
              2 * RUN_SETUP_SECONDS + 5e6 / ROOFLINE_WORDS_PER_SECOND + run_seconds
              + min(cpu_box, epochs * tokens / CPU_FUSED_WORDS_PER_SECOND),
              "warm-up (5M words) + 5 epochs at the roofline's 9.4M words/s + the fused CPU kernel's 5 epochs "
              "at 11.6M words/s (boxed at 60 s)",
              lambda: negative_sampling(corpus, device, epochs, box, cpu_box)),
    ]
    if not quick:
        checks.append(Check("subword_memory_at_a_million_words", 2 * 15.0,
                            "per model: 3M x 300 and 1M x 300 tables and 1M words' n-grams built on the CPU (~12 s), "
                            "copied to the GPU (~2 s), two steps",
                            lambda: subword_memory(device)))
    checks.append(Check("determinism", 2 * (RUN_SETUP_SECONDS + 5e6 / (ROOFLINE_WORDS_PER_SECOND / 2)),
                        "two runs of 5M words at half the roofline's rate (deterministic scatters sort)",
                        lambda: determinism(corpus, device, 200_000 if quick else 5_000_000)))
    if device.startswith("cuda"):
        checks.append(Check("row_step_in_a_cuda_graph", 5.0, "two models of 58,663 words, 2 x 403 steps under 0.5 ms",
                            lambda: graph_step_rates(device)))
    if not quick:
        checks.append(Check("softmax_compile", 45.0, "torch.compile of two chunk bodies with dynamic shapes (~40 s)",
                            lambda: {**check_softmax_compile(device), "verdict": "see differences"}))
        checks.append(Check("softmax_million_words", 10.0,
                            "a 2.9M-token Zipf corpus, a 1M x 300 model, 5 steps of 32,768 pairs (~0.2 s each)",
                            lambda: softmax_at_a_million_words(1_000_000, 300, 32768, 5, device)))
    for head, settings in OTHER_HEADS:
        checks.append(Check(f"{head} {json.dumps(settings)}", 2 + head_boxes[0] + RUN_SETUP_SECONDS + head_boxes[1],
                            "2 CPU cores boxed at 6 s + a GPU run boxed at 6 s, with their setups",
                            lambda head=head, settings=settings: speedup(
                                corpus, head, settings, device, 200_000 if quick else 1_000_000, *head_boxes)))
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="data/gutenberg-mid.txt.xz")
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda", help="cpu runs the same checks here, as a dry run of the script")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a dry run of the script's plumbing")
    parser.add_argument("--plan", action="store_true", help="print the plan's predicted seconds and stop")
    args = parser.parse_args()
    started = time.time()
    budget = 600 if args.quick else BUDGET_SECONDS  # (quick: every check, as a dry run)
    report = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "torch": torch.__version__, "corpus": args.corpus, "budget_seconds": budget, "targets": {}}
    corpus = w2v.prepare_corpus(args.corpus)
    report["corpus_tokens"], report["encode_seconds"] = corpus.n_tokens, corpus.seconds
    checks = plan(corpus, args.device, args.quick)
    report["plan"] = [{"check": "encode the corpus", "predicted_seconds": ENCODE_SECONDS, "how": "16 workers"}]
    report["plan"] += [{"check": c.name, "predicted_seconds": round(c.predicted, 1), "how": c.how} for c in checks]
    if args.plan:
        print(json.dumps(report["plan"], indent=1))
        return 0
    for check in checks:
        left = budget - (time.time() - started)
        if check.predicted > left:
            report.setdefault("skipped_for_time", []).append(check.name)
            continue
        print(f"[{time.time() - started:5.0f} s] {check.name}: expected {check.predicted:.0f} s", flush=True)
        began = time.time()
        try:
            record = check.run()
        except Exception as exc:  # record and go on: the point is to learn as much as possible per lease
            record = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                      "verdict": "FAIL"}
        record.update(predicted_seconds=round(check.predicted, 1), measured_seconds=round(time.time() - began, 1))
        report["targets"][check.name] = record
        print(json.dumps({check.name: record}), flush=True)
        write_json(args.out, report)
    report["seconds"] = time.time() - started
    write_json(args.out, report)
    print("\n".join(f"{v.get('verdict', '?'):5} {name}" for name, v in report["targets"].items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
