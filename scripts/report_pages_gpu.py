"""The result pages of the GPU path and of the full softmax (docs/results/gpu.md, docs/results/softmax.md).

scripts/report.py renders them with the rest (its PAGES takes these two): the kinds of table and the
provenance line are report.py's, passed in as the module ``report``; what is here is which record each table
reads and how each column is written. As on report.py's pages, the words carry no measured numbers.
"""

from __future__ import annotations

import os
import re
import statistics

BENCHMARKS = ("wordsim353", "simlex999", "men3k")
#: the H200 model behind the softmax's GPU prediction (docs/softmax.md "On a GPU"): gutenberg-large's vocabulary
#: at min_count 5, d, bf16 product rate and HBM bandwidth (assumed), bytes moved per score by eager torch and by
#: the compiled chunk bodies (estimated from the passes over the scores)
SOFTMAX_GPU = {"vocabulary": 58663, "dim": 300, "bf16_flops": 790e12, "hbm_bytes_per_second": 4.3e12,
               "bytes_eager": 70, "bytes_compiled": 20}


# -- cells ----------------------------------------------------------------------------------------------------

def three(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def millions(value: float) -> str:
    return f"{value / 1e6:.1f}M"


def diverged(row: dict) -> str:
    step = re.search(r"step (\d+)", row["error"])
    return f"diverged (step {step.group(1)})" if step else "diverged"


def score(benchmark: str):
    """A benchmark's rho; a run that diverged says so in the first benchmark's column."""
    def cell(row: dict) -> str:
        if "error" in row:
            return diverged(row) if benchmark == BENCHMARKS[0] else ""
        return three(row[benchmark])
    return cell


def gap(value: float | None) -> str:
    """How far a run's worst benchmark falls below its reference (above it: "none")."""
    if value is None:
        return ""
    return f"none ({-value:.3f} above)" if value < 0 else f"{value:.3f}"


def scores(names: dict) -> list:
    return [(names[b], score(b)) for b in BENCHMARKS]


# -- rows put together from a record --------------------------------------------------------------------------

def memory_parts(data: dict) -> list[dict]:
    """gpu-memory: one row per part of what a GPU holds, skip-gram and CBOW side by side."""
    gigabytes = (("input table, (V + buckets) x d float32", "input_table"), ("output table, V x d float32",
                 "output_table"), ("the words' subword rows, int64 up to the longest bag, and their counts",
                 "subword_rows"), ("a step's tensors, packed (the peak of those alive at once)", "packed_step_peak"),
                 ("a step's tensors padded to the longest bag", "padded_step_peak"), ("**total, packed**",
                 "total_packed"), ("total, padded", "total_padded"))
    models = data["configurations"]
    rows = [{"part": label, **{m: f"{c[field] / 1e9:.2f} GB" for m, c in models.items()}} for label, field in gigabytes]
    rows.insert(4, {"part": "rows gathered per example, packed",
                    **{m: f"{c['packed_rows_per_example']:.1f}" for m, c in models.items()}})
    rows.insert(5, {"part": "rows of the longest bag", **{m: str(c["measured"]["longest_bag_rows"])
                                                          for m, c in models.items()}})
    return rows


def predicted_averages(data: dict) -> list[dict]:
    """average-cost: each predicted case with the shares of rows its ranks changed."""
    predicted = data["predicted_nccl_8_h200"]
    return [{**case, **data["changed_row_shares"][f"8 ranks x {case['batch']} pairs, {case['every']} steps"]}
            for case in predicted["cases"]]


def shared_means(data: dict) -> list[dict]:
    """shared-negatives: each way's means over its runs."""
    return [{"negatives": way, "head": s["head"], **means,
             "runs": sum(r["share_negatives"] == way and r["head"] == s["head"] for r in data["runs"])}
            for s in data["summary"] for way, means in s["means"].items()]


def over_seeds(runs: list[dict]) -> list[dict]:
    """bench.py runs: one row per engine, each benchmark's (mean, standard deviation) over its runs."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run["engine"], []).append(run)
    return [{"engine": engine, "order": group[0]["settings"].get("pair_order", "centre"), "runs": len(group),
             **{b: (statistics.mean(r[b] for r in group), statistics.stdev(r[b] for r in group)) for b in BENCHMARKS}}
            for engine, group in groups.items()]


def softmax_on_a_gpu(row: dict) -> dict:
    """The softmax's predicted H200 rate from its measured distinct centre words per corpus word."""
    model = SOFTMAX_GPU
    vocabulary = model["vocabulary"]
    products = 8 * vocabulary * model["dim"] / model["bf16_flops"]
    eager = model["bytes_eager"] * vocabulary / model["hbm_bytes_per_second"]
    compiled = model["bytes_compiled"] * vocabulary / model["hbm_bytes_per_second"]
    centres = row["distinct_centres_per_step"] / row["words_per_step"]
    return {**row, "centres_per_word": centres, "products": products, "eager": eager, "compiled": compiled,
            "word_eager": centres * (products + eager), "word_compiled": centres * (products + compiled)}


# -- the pages ------------------------------------------------------------------------------------------------

def pages(report) -> dict:
    return {"gpu.md": gpu_page(report), "softmax.md": softmax_page(report)}


def gpu_page(report):
    Page, Section, Rows, rate = report.Page, report.Section, report.Rows, report.rate
    quality = [("head", lambda r: r["head"]),
               ("step", lambda r: "fused kernel" if r.get("step") == "fused" else "row step"),
               ("pairs a step", lambda r: f"{r['batch_size']:,}"),
               ("lr", lambda r: f"{r['lr']:g}" if "lr" in r else ""),
               ("words/s", lambda r: rate(r.get("words_per_second"))), *scores(report.BENCHMARK_NAMES),
               ("largest gap below the fused kernel", lambda r: three(r["gap_below_fused"]) if "gap_below_fused" in r
                else "")]
    return Page("The GPU path: measurements and predictions", (
        "The measurements behind [the GPU path](../gpu.md). Each table's machine line says where it ran: a "
        "measurement on a CPU of the code a GPU runs, or a prediction for a GPU from a model of its bytes, "
        "operations and latencies, labelled predicted in its columns."), [
        Section("Batch size and quality", (
            "The row step sums a batch's updates computed from the vectors as they were at the batch's start; the "
            "fused CPU kernel updates the rows pair after pair (Hogwild). negative-sampling, nce and infonce on "
            "gutenberg-mid (dim 100, window 5, K 5, sample 1e-4, 5 epochs, seed 0, 2 threads, each head's "
            "default step), the row step (`--no-fused-cpu`) at several batch sizes against the fused kernel. The "
            "row step's words/s here are wall-clock rates on a machine shared with other work; its own rate is "
            "in [the row step's roofline](#the-row-steps-roofline)."),
            [Rows("bench/batch-quality-2026-12-01.json", quality, key="runs")]),
        Section("Batch size and quality: a second seed",
                "The same settings with seed 1, the row step at its default batch.",
                [Rows("bench/batch-quality-seed1-2026-12-01.json", quality, key="runs")]),
        Section("Keeping the summed step stable at large batches", (
            "negative-sampling at the batch where the summed step diverges, with trial changes to how a row's "
            "summed update is scaled (each a temporary edit of the row step, not part of the package), at the "
            "settings of the first table, where the fused kernel's scores are."),
            [Rows("bench/batch-fixes-2026-12-01.json",
                  [("change to the row step", lambda r: r["change"].replace("|", "\\|")),
                   *scores(report.BENCHMARK_NAMES),
                   ("words/s", lambda r: rate(r.get("wps")))], key="runs")]),
        Section("Ranks, step and batch under torchrun", (
            "The row step with `--sync average` under torchrun and gloo (negative-sampling on gutenberg-mid, "
            "dim 100, window 5, K 5, sample 1e-4, 2 epochs, seed 0, one thread per rank): each rank's step is the "
            "one process's times the number of ranks (linear rule) or its square root, and its batch as in the "
            "row. The ranks shared two cores, so the table gives no speeds."),
            [Rows("bench/average-ranks-2026-12-05.json",
                  [("ranks", lambda r: str(r["ranks"])), ("pairs per rank per step", lambda r: f"{r['batch_size']:,}"),
                   ("each rank's step", lambda r: f"{r['rank_lr']:g}"),
                   ("rule", lambda r: r["rule"] if r["ranks"] > 1 else "-"),
                   ("average every", lambda r: str(r["average_every"]) if r.get("average_every") else "-"),
                   *scores(report.BENCHMARK_NAMES),
                   ("largest gap below one process", lambda r: gap(r.get("gap_below_one_process")))], key="runs")]),
        Section("What a parameter average costs", (
            "An average of every row of both tables against one of the rows any rank changed since the last "
            "(a byte per row all-reduced to find them, then those rows), at a million words and d 300. First "
            "measured with gloo, two ranks of one thread alternating the two ways in one run, batches drawn from "
            "a Zipf vocabulary as the pair stream draws them; then predicted for NCCL on 8 H200s from the shares "
            "of changed rows of the same draws (the device rates in the last table are assumed)."),
            [Rows("bench/average-cost-2026-12-05.json",
                  [("rows averaged", lambda r: r["name"] if "rows_averaged_share" not in r
                    else f"{r['name']} ({r['rows_averaged_share']:.0%} of all)"),
                   ("seconds an average", lambda r: f"{r['seconds_per_average']:.2f}"),
                   ("seconds a step, averages included", lambda r: f"{r['seconds_per_step']:.2f}"),
                   ("seconds a training step", lambda r: f"{r['step_seconds']:.2f}"),
                   ("share of the time in averages", lambda r: f"{r['average_share_of_time']:.0%}")],
                  key="measured_gloo_2_ranks", provenance=False),
             Rows("bench/average-cost-2026-12-05.json",
                  [("marking a step's changed rows, ms", lambda r: f"{r['marking_seconds_per_step'] * 1e3:.2f}")],
                  key=lambda d: [d], provenance=False),
             Rows("bench/average-cost-2026-12-05.json",
                  [("ranks x pairs a step", lambda r: f"8 x {r['batch']:,}"),
                   ("average every", lambda r: str(r["every"])),
                   ("rows changed: input / output table", lambda r: f"{r['input']:.1%} / {r['output']:.1%}"),
                   ("every row, predicted: an average / a step",
                    lambda r: f"{r['every row'] * 1e3:.1f} ms / {r['every row per step'] * 1e3:.2f} ms"),
                   ("changed rows, predicted: an average / a step",
                    lambda r: f"{r['changed rows'] * 1e3:.1f} ms / {r['changed rows per step'] * 1e3:.2f} ms")],
                  key=predicted_averages, provenance=False),
             Rows("bench/average-cost-2026-12-05.json",
                  [("NCCL bus bandwidth (assumed)", lambda r: f"{r['nccl_bus_bytes_per_second'] / 1e9:.0f} GB/s"),
                   ("HBM bandwidth reached (assumed)", lambda r: f"{r['hbm_bytes_per_second'] / 1e12:.2f} TB/s")],
                  key=lambda d: [d["predicted_nccl_8_h200"]])]),
        Section("The row step's roofline", (
            "One row step counted under a dispatch mode that records every operation, the bytes it moves (a "
            "gather its rows, not the table; `index_add_` and `index_copy_` read their source and read and write "
            "the rows they change) and the FLOPs of its matrix products, on a Zipf vocabulary at d 100. On the CPU "
            "the step is predicted as the sum of each kind of work at its rate measured alone (the first table), "
            "and measured; on an H200 it is predicted as the larger of the launches and the memory traffic plus "
            "the FLOPs at the assumed device rates (the second table). words/s is pairs/s over the pairs per "
            "corpus word of gutenberg-mid's pair stream at window 5 and sample 1e-4."),
            [Rows("bench/roofline-2026-12-01.json",
                  [("threads", lambda r: str(r["threads"])),
                   ("dispatch, us an operation", lambda r: f"{r['dispatch_seconds'] * 1e6:.1f}"),
                   ("streaming, GB/s", lambda r: f"{r['bandwidth_bytes_per_second'] / 1e9:.1f}"),
                   ("gathering rows at random, GB/s", lambda r: f"{r['gather_bytes_per_second'] / 1e9:.1f}"),
                   ("`index_add_` of rows, GB/s", lambda r: f"{r['scatter_bytes_per_second'] / 1e9:.1f}"),
                   ("pairs per corpus word", lambda r: f"{r['pairs_per_word']:.2f}")],
                  key=lambda d: [{**d["machine"], "pairs_per_word": d["pairs_per_word"]}], provenance=False),
             Rows("bench/roofline-2026-12-01.json",
                  [("H200 launch, us (assumed)", lambda r: f"{r['launch_seconds'] * 1e6:g}"),
                   ("HBM, TB/s", lambda r: f"{r['bandwidth'] / 1e12:g}"),
                   ("share of it reached (assumed)", lambda r: f"{r['efficiency']:g}"),
                   ("fp32 peak, TFLOP/s", lambda r: f"{r['fp32_flops'] / 1e12:g}")], key=lambda d: [d["h200"]],
                  provenance=False),
             Rows("bench/roofline-2026-12-01.json",
                  [("case", lambda r: r["case"]), ("pairs a step", lambda r: f"{r['batch']:,}"),
                   ("ops/step", lambda r: str(r["ops_per_step"])),
                   ("bytes/pair", lambda r: f"{r['bytes_per_pair']:,.0f}"),
                   ("of which gathered / scattered rows", lambda r: f"{r['gathered_bytes_per_pair']:,.0f} / "
                                                                    f"{r['scattered_bytes_per_pair']:,.0f}"),
                   ("FLOPs/pair", lambda r: f"{r['flops_per_pair']:,.0f}"),
                   ("CPU step, ms: measured / predicted", lambda r: f"{r['cpu_measured_step_seconds'] * 1e3:.1f} / "
                    f"{r['cpu_predicted_step_seconds'] * 1e3:.1f} ({r['cpu_measured_over_predicted']:.2f}x)"),
                   ("CPU words/s, measured", lambda r: rate(r["cpu_measured_words_per_second"])),
                   ("H200 words/s, predicted", lambda r: millions(r["h200_predicted_words_per_second"])),
                   ("H200 bound, predicted", lambda r: r["h200_bound"])], key="cases")]),
        Section("GPU memory with subwords", (
            "What a GPU holds for the row step with subwords (negative-sampling, SGD) at the scale of the first "
            "table: a step's tensors measured on the CPU on batches of gutenberg-mid's pair stream, with its "
            "vocabulary, one word as long as the longest bag and the buckets of the scale, and the rest counted "
            "(GB = 10^9 bytes). The padded rows are the formula of the other layout, every bag padded to the "
            "longest."),
            [Rows("bench/gpu-memory-2026-12-05.json",
                  [("V", lambda r: f"{r['vocab']:,}"), ("buckets", lambda r: f"{r['buckets']:,}"),
                   ("d", lambda r: str(r["dim"])), ("pairs a step", lambda r: f"{r['batch']:,}")],
                  key=lambda d: [d["scale"]], provenance=False),
             Rows("bench/gpu-memory-2026-12-05.json",
                  [("", lambda r: r["part"]), ("skip-gram", lambda r: r["skipgram"]), ("CBOW", lambda r: r["cbow"])],
                  key=memory_parts)]),
        Section("The Hogwild kernel's roofline", (
            "Predicted for an H200 from the pair stream on gutenberg-mid (window 5, sample 1e-4; the first table), "
            "the sm_90 build of each variant (its registers, so the programs an SM holds, and its SASS "
            "instructions: the whole kernel, an upper bound on one pair's) and the device's rates (the second "
            "table, with the two assumed latencies). Three bounds, the prediction the smallest: memory (the bytes "
            "a word moves, each row it touches read once and written back once, at the share of HBM reached), "
            "issue (SASS instructions times warps per pair against the schedulers' rate) and latency (Little's "
            "law: the programs in flight over one program's time per pair, two dependent global round trips plus "
            "its instructions)."),
            [Rows("bench/hogwild-roofline-2026-12-05.json",
                  [("corpus", lambda r: os.path.basename(r["corpus"])),
                   ("pairs per corpus word", lambda r: f"{r['pairs_per_word']:.2f}"),
                   ("pairs per shared window", lambda r: f"{r['pairs_per_window']:.2f}"),
                   ("examples per span", lambda r: str(r["window_span"]))], key=lambda d: [d["stream"]],
                  provenance=False),
             Rows("bench/hogwild-roofline-2026-12-05.json",
                  [("SMs", lambda r: str(r["sms"])), ("HBM, TB/s", lambda r: f"{r['hbm_bytes_per_second'] / 1e12:g}"),
                   ("share reached", lambda r: f"{r['hbm_efficiency']:g}"),
                   ("clock, GHz", lambda r: f"{r['clock_hz'] / 1e9:g}"),
                   ("schedulers per SM", lambda r: str(r["schedulers_per_sm"])),
                   ("registers / warps per SM", lambda r: f"{r['registers_per_sm']:,} / {r['warps_per_sm']}"),
                   ("global round trip, us (assumed)", lambda r: f"{r['memory_round_trip_us']:g}"),
                   ("cycles per dependent instruction (assumed)", lambda r: f"{r['dependent_cycles']:g}")],
                  key=lambda d: [{**d["h200"], **d["assumptions"]}], provenance=False),
             Rows("bench/hogwild-roofline-2026-12-05.json",
                  [("d", lambda r: str(r["dim"])),
                   ("negatives", lambda r: "per pair" if r["negatives_shared"] == "pair" else "window-shared"),
                   ("warps", lambda r: str(r["warps"])),
                   ("registers / stack / shared bytes (sm_90)", lambda r: "{reg} / {stack} / {shared:,}".format(
                       **r["resources"])),
                   ("programs per SM / in flight", lambda r: f"{r['programs_per_sm']} / {r['programs_in_flight']:,}"),
                   ("SASS", lambda r: f"{r['sass_instructions']:,}"),
                   ("bytes per word", lambda r: f"{r['bytes_per_word']:,.0f}"),
                   ("words/s bounds, predicted: memory / issue / latency",
                    lambda r: " / ".join(millions(r["bounds_words_per_second"][b])
                                         for b in ("memory", "issue", "latency"))),
                   ("words/s, predicted", lambda r: f"**{millions(r['predicted_words_per_second'])}** ({r['bound']})")],
                  key="variants")]),
        Section("Window-shared negatives on the CPU", (
            "The fused CPU kernel with `--share-negatives window` against noise words per pair: negative-sampling "
            "on gutenberg-mid, d 100, window 5, K 5, sample 1e-4, 5 epochs, 2 threads, its default step, the two "
            "ways alternating over the seeds; means over the runs. The machine was shared, so the wall-clock "
            "rates are noisy and the words per CPU second of the run's process steadier."),
            [Rows("bench/shared-negatives-2026-12-05.json",
                  [("negatives", lambda r: "per pair" if r["negatives"] == "pair" else "window-shared"),
                   ("runs", lambda r: str(r["runs"])), *[(name, lambda r, b=b: three(r[b]))
                                                         for b, name in zip(BENCHMARKS, ("WS353", "SimLex", "MEN"))],
                   ("words/s (wall)", lambda r: rate(r["words_per_second"])),
                   ("words per CPU second", lambda r: rate(r["words_per_cpu_second"]))], key=shared_means,
                  provenance=False),
             Rows("bench/shared-negatives-2026-12-05.json",
                  [*[(f"{name}: window - pair", lambda r, b=b: f"{r['window_minus_pair'][b]:+.3f}")
                     for b, name in zip(BENCHMARKS, ("WS353", "SimLex", "MEN"))],
                   ("words/s (wall): window / pair", lambda r: f"{r['window_speedup']['words_per_second']:.2f}x"),
                   ("words per CPU second: window / pair",
                    lambda r: f"{r['window_speedup']['words_per_cpu_second']:.2f}x")], key="summary")]),
    ])


def softmax_page(report):
    Page, Section, Rows, rate = report.Page, report.Section, report.Rows, report.rate
    names = report.BENCHMARK_NAMES
    return Page("The full softmax: measurements and predictions", (
        "The measurements behind [the full softmax](../softmax.md) on gutenberg-mid, and its predicted rate on "
        "a GPU."), [
        Section("Pair order and quality", (
            "The sampled heads at their defaults on gutenberg-mid (5 epochs), each seed its own run, with the "
            "pairs in the centre order (each centre token's pairs together, the default) and shuffled one by one "
            "(`--pair-order pair`); mean and standard deviation over the seeds."),
            [Rows(("bench/pair-order-2026-12-01/centre.json", "bench/pair-order-2026-12-01/pair.json"),
                  [("head", lambda r: r["engine"]), ("order", lambda r: r["order"]),
                   ("seeds", lambda r: str(r["runs"])),
                   *[(names[b], lambda r, b=b: f"{r[b][0]:.3f} ± {r[b][1]:.3f}") for b in BENCHMARKS]],
                  key=lambda d: over_seeds(d["runs"]))]),
        Section("Log Z once per distinct centre word", (
            "The softmax head on gutenberg-mid at its full vocabulary (d 100, Adam, each run in its own process, "
            "the median of the repeats): log Z computed for every pair against once per distinct centre word of "
            "a batch, and the latter with its default vocabulary chunk (sized to the cache) or fixed chunks."),
            [Rows("bench/softmax-2026-12-01.json",
                  [("log Z", lambda r: "once per distinct centre word" if r["tree"] == "this checkout"
                    else "for every pair"),
                   ("chunk rows", lambda r: f"{r['softmax_chunk']:,}" if r.get("softmax_chunk")
                    else f"{r['chunk_rows']:,.0f} (default)" if r.get("chunk_rows") else "-"),
                   ("pairs a step", lambda r: f"{r['batch_size']:,.0f}"), ("lr", lambda r: f"{r['lr']:g}"),
                   ("words/s", lambda r: rate(r["words_per_second"])),
                   ("x for every pair", lambda r: f"{r['words_per_second'] / r['baseline']:.1f}x"),
                   ("distinct centre words a step", lambda r: rate(r.get("distinct_centres_per_step"))),
                   ("corpus words a step", lambda r: rate(r["words"] / r["steps"]))],
                  key=lambda d: [{**run, "baseline": d["summary"]["baseline_words_per_second"]} for run in d["runs"]],
                  group_by=("tree", "softmax_chunk"))]),
        Section("The step's matrix products", (
            "The limit of the default step above: its four products per chunk, timed alone as plain matrix "
            "products of the step's own chunk shapes, and the machine's peak product rate on a 2048^3 product; "
            "the words/s each allows and the share of it the softmax trains. The rest of a step is the passes "
            "over the scores, Adam on the dense context table and the pair stream."),
            [Rows("bench/softmax-2026-12-01.json",
                  [("GFLOP a step", lambda r: f"{r['flops_per_step'] / 1e9:.1f}"),
                   ("MFLOP a corpus word", lambda r: f"{r['flops_per_word'] / 1e6:.1f}"),
                   ("products alone, s a step", lambda r: f"{r['step_gemm_seconds']:.2f}"),
                   ("their GFLOP/s", lambda r: f"{r['step_gemm_gflops']:.0f}"),
                   ("words/s they allow", lambda r: rate(r["words_per_second_step_gemms_allow"])),
                   ("share of it trained", lambda r: f"{r['fraction_of_step_gemms']:.0%}"),
                   ("peak GFLOP/s", lambda r: f"{r['peak_gemm_gflops']:.0f}"),
                   ("words/s it allows", lambda r: rate(r["words_per_second_peak_gemm_allows"])),
                   ("share of the peak trained", lambda r: f"{r['fraction_of_peak_gemm']:.0%}")],
                  key="runs", where=lambda r: "flops_per_step" in r, group_by=("tree",))]),
        Section("Batch size and learning rate", (
            "The softmax head's step and batch, each pair of them trained on the same tokens of gutenberg-mid and "
            "judged on the held-out cross-entropy, which is what the softmax minimises (the lowest in bold)."),
            [Rows("bench/softmax-defaults-2026-12-01.json",
                  [("pairs a step", lambda r: f"{r['batch_size']:,}"), ("lr", lambda r: f"{r['lr']:g}"),
                   ("words/s", lambda r: rate(r["words_per_second"])),
                   ("held-out CE, nats", lambda r: f"**{r['held_out_cross_entropy']:.3f}**" if r["lowest"]
                    else f"{r['held_out_cross_entropy']:.3f}"), *scores(names)],
                  key=lambda d: [{**run, "lowest": run["held_out_cross_entropy"] == min(
                      x["held_out_cross_entropy"] for x in d["runs"])} for run in d["runs"]])]),
        Section("On a GPU (predicted)", (
            "[The model](../softmax.md#on-a-gpu-predicted) for one H200 at gutenberg-large's vocabulary (the first "
            "table: its sizes and the device rates it assumes): the products and the passes over the scores per "
            "distinct centre word (eager, and fused by the compiled chunk bodies), times the distinct centre words "
            "per corpus word measured on the CPU at the default batch (its distinct centre words and corpus words a "
            "step, above). Only that share is "
            "measured; every other figure is predicted."),
            [Rows("bench/softmax-2026-12-01.json",
                  [("V", lambda r: f"{r['vocabulary']:,}"), ("d", lambda r: str(r["dim"])),
                   ("bf16 products, TFLOP/s (assumed)", lambda r: f"{r['bf16_flops'] / 1e12:g}"),
                   ("HBM, TB/s (assumed)", lambda r: f"{r['hbm_bytes_per_second'] / 1e12:g}"),
                   ("bytes a score: eager / compiled (estimated)",
                    lambda r: f"{r['bytes_eager']} / {r['bytes_compiled']}")],
                  key=lambda d: [SOFTMAX_GPU], provenance=False),
             Rows("bench/softmax-2026-12-01.json",
                  [("distinct centre words per corpus word (measured)", lambda r: f"{r['centres_per_word']:.2f}"),
                   ("per centre word, us: products / passes eager / passes compiled (predicted)",
                    lambda r: f"{r['products'] * 1e6:.2f} / {r['eager'] * 1e6:.2f} / {r['compiled'] * 1e6:.2f}"),
                   ("per corpus word, us: compiled / eager (predicted)",
                    lambda r: f"{r['word_compiled'] * 1e6:.2f} / {r['word_eager'] * 1e6:.2f}"),
                   ("words/s: compiled / eager (predicted)",
                    lambda r: f"{millions(1 / r['word_compiled'])} / {millions(1 / r['word_eager'])}")],
                  key=lambda d: [softmax_on_a_gpu(report.median_row([r for r in d["runs"]
                                                                     if "flops_per_step" in r]))])]),
    ])
