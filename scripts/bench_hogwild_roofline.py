"""The GPU kernel's roofline on an H200, from what can be known without one: predicted words/s.

    python scripts/bench_hogwild_roofline.py [--corpus C] [--out bench/hogwild-roofline-<date>.json]

1. The pair stream on the corpus (gutenberg-mid, window 5, sample 1e-4, min count 5; one epoch on the
   CPU, batches of the GPU kernel's 2^20 pairs): pairs per corpus word and pairs per window of shared
   negatives (a centre token's run of pairs, cut at every WINDOW_SPAN-th example as the kernel cuts it).
2. Each negative-sampling variant (d = 100 and 300, K = 5, per-pair and window-shared negatives),
   compiled for sm_90 without a GPU: registers, stack (spills) and shared memory per thread from
   cuobjdump, its SASS instruction count, and so the programs an SM holds (65,536 registers, 64 warps).
3. Three bounds on pairs/s, then words/s = pairs/s / (pairs per word):
   - memory: HBM at 0.8 x 4.8 TB/s over the bytes a pair moves: each table row it touches (the input
     row, the target row, and the K noise rows once per window) read once and written back once
     (4 d bytes each way: the atomic adds meet the row in L2 where the load left it), plus the ids, the
     alias-table draws and log Q;
   - issue: 132 SMs x 4 schedulers x 1.98 GHz warp-instructions/s over (SASS instructions x warps of a
     program) per pair: the whole kernel's static count, an upper bound on one pair's path;
   - latency (Little's law): the programs in flight (132 x programs per SM) over the time one program
     takes per pair: two dependent global round trips (an id, then its row) of MEMORY_ROUND_TRIP_US
     each, plus its instructions one after another at DEPENDENT_CYCLES each.
   The prediction is the smallest bound. Every constant is an assumption stated here and in the JSON;
   scripts/gpu_check.py measures the real rate on a device.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from bench import DEFAULTS  # noqa: E402
from benchlib import provenance, worker_parser, write_json  # noqa: E402

H200 = {"sms": 132, "hbm_bytes_per_second": 4.8e12, "hbm_efficiency": 0.8, "clock_hz": 1.98e9,
        "schedulers_per_sm": 4, "registers_per_sm": 65536, "warps_per_sm": 64, "programs_per_sm": 32}
#: assumed: one dependent global load under load (an HBM miss; an L2 hit takes about half)
MEMORY_ROUND_TRIP_US = 0.6
#: assumed: cycles between one instruction of a program's warp and the next (Hopper's ALU latency, which
#: is also a warp's share of its scheduler when 4 warps share one)
DEPENDENT_CYCLES = 4
NEGATIVES = 5
VARIANTS = [(dim, share) for dim in (100, 300) for share in (False, True)]


def stream_shape(corpus_path: str) -> dict:
    """Pairs per corpus word and pairs per window of the pair stream, one epoch on the CPU."""
    import torch

    import w2v_contrastive as w2v
    from w2v_contrastive.config import TrainConfig
    from w2v_contrastive.corpus.vocab import Vocabulary
    from w2v_contrastive.train.fused_sgd import WINDOW_SPAN
    from w2v_contrastive.train.setup import TRITON_BATCH_SIZE
    from w2v_contrastive.train.trainer import Trainer

    corpus = w2v.prepare_corpus(corpus_path)
    config = TrainConfig(**{k: DEFAULTS[k] for k in ("window", "sample", "min_count")}, epochs=1, device="cpu",
                         batch_size=TRITON_BATCH_SIZE, progress=False)
    trainer = Trainer(config, corpus, Vocabulary.from_corpus(corpus, config.min_count, config.max_vocab))
    words = pairs = windows = 0.0
    for batch in trainer.pairs.batches(1):
        centres = batch.centers
        starts = centres[1:] != centres[:-1]
        starts |= torch.arange(1, centres.shape[0]) % WINDOW_SPAN == 0
        words, pairs = words + batch.tokens, pairs + centres.shape[0]
        windows += int(starts.sum()) + (centres.shape[0] > 0)
    return {"corpus": corpus_path, "corpus_words": words, "pairs": pairs, "pairs_per_word": pairs / words,
            "pairs_per_window": pairs / windows, "window_span": WINDOW_SPAN}


def sass_instructions(cubin: bytes) -> int:
    """Instructions in the cubin's SASS (cuobjdump -sass), NOPs left out."""
    import triton

    tool = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    with tempfile.NamedTemporaryFile(suffix=".cubin") as handle:
        handle.write(cubin)
        handle.flush()
        text = subprocess.run([tool, "-sass", handle.name], capture_output=True, text=True, check=True).stdout
    names = collections.Counter(op.split(".")[0] for op in re.findall(r"/\*[0-9a-f]{4}\*/\s+([A-Z][A-Z0-9_.]*)", text))
    return sum(names.values()) - names["NOP"]


def programs_per_sm(registers: int, warps: int) -> int:
    """Programs an H200 SM holds: registers per warp allocated in 256s, at most 64 warps and 32 programs."""
    per_warp = -(-registers * 32 // 256) * 256
    return min(H200["programs_per_sm"], H200["warps_per_sm"] // warps, H200["registers_per_sm"] // (per_warp * warps))


def pair_bytes(dim: int, pairs_per_window: float) -> float:
    """HBM bytes per pair: (2 + K / m) rows read and written back, the ids, the draws and log Q."""
    rows = 2 + NEGATIVES / pairs_per_window
    draws = NEGATIVES * (4 + 8 + 4) / pairs_per_window  # accept, alias and log Q of each noise word
    return rows * 2 * 4 * dim + 2 * 8 + 4 + draws


def predict(dim: int, share: bool, shape: dict) -> dict:
    from w2v_contrastive.train.gpu_sgd import Variant, compile_variant, resource_usage

    variant = Variant.sized(dim, 1 + NEGATIVES, SHARE_WINDOW=share)
    kernel = compile_variant(variant, 90)
    usage = resource_usage(kernel.asm["cubin"])
    instructions = sass_instructions(kernel.asm["cubin"])
    per_sm = programs_per_sm(usage["reg"], variant.num_warps)
    in_flight = per_sm * H200["sms"]
    window = shape["pairs_per_window"] if share else 1.0
    moved = pair_bytes(dim, window)
    issue_rate = H200["sms"] * H200["schedulers_per_sm"] * H200["clock_hz"]
    per_pair_seconds = 2 * MEMORY_ROUND_TRIP_US * 1e-6 + instructions * DEPENDENT_CYCLES / H200["clock_hz"]
    bounds_pairs = {"memory": H200["hbm_efficiency"] * H200["hbm_bytes_per_second"] / moved,
                    "issue": issue_rate / (instructions * variant.num_warps),
                    "latency": in_flight / per_pair_seconds}
    bounds = {name: rate / shape["pairs_per_word"] for name, rate in bounds_pairs.items()}
    bound = min(bounds, key=bounds.get)
    return {"dim": dim, "negatives": NEGATIVES, "negatives_shared": "window" if share else "pair",
            "block_d": variant.BLOCK_D, "warps": variant.num_warps, "resources": usage,
            "sass_instructions": instructions,
            "programs_per_sm": per_sm, "programs_in_flight": in_flight, "pairs_per_window": window,
            "bytes_per_pair": moved, "bytes_per_word": moved * shape["pairs_per_word"],
            "seconds_per_pair_per_program": per_pair_seconds, "bounds_words_per_second": bounds,
            "predicted_words_per_second": bounds[bound], "bound": bound}


def markdown(rows: list[dict]) -> str:
    lines = ["| d | negatives | warps | registers / stack | programs per SM | SASS | bytes/word | memory | issue | "
             "latency | predicted words/s (bound) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        b = row["bounds_words_per_second"]
        lines.append(f"| {row['dim']} | {row['negatives_shared']} | {row['warps']} | {row['resources']['reg']} / "
                     f"{row['resources']['stack']} | {row['programs_per_sm']} | {row['sass_instructions']} | "
                     f"{row['bytes_per_word']:,.0f} | {b['memory'] / 1e6:.0f}M | {b['issue'] / 1e6:.0f}M | "
                     f"{b['latency'] / 1e6:.0f}M | {row['predicted_words_per_second'] / 1e6:.0f}M ({row['bound']}) |")
    return "\n".join(lines)


def main() -> int:
    parser = worker_parser(__doc__.splitlines()[0], "hogwild-roofline")
    args = parser.parse_args()
    report = {**provenance(), "device": "H200 (predicted)", "h200": H200,
              "assumptions": {"memory_round_trip_us": MEMORY_ROUND_TRIP_US, "dependent_cycles": DEPENDENT_CYCLES}}
    report["stream"] = shape = stream_shape(args.corpus)
    print(shape, flush=True)
    report["variants"] = [predict(dim, share, shape) for dim, share in VARIANTS]
    write_json(args.out, report)
    print(markdown(report["variants"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
