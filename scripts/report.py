"""The docs' result pages, the README's headline table and the figures, rendered from the records in bench/.

    python scripts/report.py            # write docs/results/*.md, README.md's headline table, docs/figures/*.png
    python scripts/report.py --check    # exit 1, naming each file, if a committed page differs from its records

Every number on those pages is read from a JSON record, and each table is followed by the record's own
date, command and machine, so no figure is typed by hand and none can drift from its data. The words
around the tables (INTRO and each section's text below) carry no numbers.

To add a record, add one entry to a page's list in PAGES (a section naming the record and the kind of
table it is; the GPU path's and the full softmax's pages are defined in scripts/report_pages_gpu.py), run
this script, and commit the record with the pages and figures it changed.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import re
import statistics
import sys
from typing import Callable, Sequence

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
RESULTS = "docs/results"
FIGURES = "docs/figures"
README = "README.md"
#: the README's generated block lies between these two lines
HEADLINE_BEGIN, HEADLINE_END = "<!-- headline table: scripts/report.py -->", "<!-- end of headline table -->"
BENCHMARK_NAMES = {"wordsim353": "WS353", "simlex999": "SimLex", "men3k": "MEN", "rg65": "RG65", "mturk287": "MTurk",
                   "wordsim353_sim": "WS353-sim", "wordsim353_rel": "WS353-rel"}
MAIN_BENCHMARKS = ("wordsim353", "simlex999", "men3k")
#: one colour per head or baseline in every figure
COLOURS = {name: f"C{i}" for i, name in enumerate((
    "negative-sampling", "nce", "infonce", "hierarchical-softmax", "softmax", "n-pair", "contrastive", "triplet",
    "lifted-structured", "gensim-sgns", "gensim-hs", "gensim-cbow", "gensim-fasttext", "fasttext"))}


# -- reading records ------------------------------------------------------------------------------------------

def record(path: str) -> dict:
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return json.load(handle)


def hardware(machine: dict | None, versions: dict | None = None) -> str:
    """The spec line of a record's machine: "2-core x86-64, 23.5 GiB, no GPU, torch 2.13.0+cpu, Python 3.11.7"
    (what the record holds of it)."""
    if isinstance(machine, str):  # (a record that wrote its spec line itself)
        return machine
    machine, versions = machine or {}, versions or {}
    parts = []
    if machine.get("cpus"):
        architecture = "x86-64" if "x86_64" in machine.get("platform", "") else ""
        parts.append(f"{machine['cpus']}-core {architecture}".strip())
    if machine.get("memory_gib"):
        parts.append(f"{machine['memory_gib']:g} GiB")
    if "gpu" in machine:
        parts.append(machine["gpu"] or "no GPU")
    torch_version = machine.get("torch") or versions.get("torch")
    if torch_version:
        parts.append(f"torch {torch_version}")
    python = machine.get("python") or versions.get("python")
    if python:
        parts.append(f"Python {python}")
    return ", ".join(parts)


def provenance(path: str, data: dict) -> str:
    """The line under a table: the record, its date, command and machine, as far as it holds them."""
    parts = [f"Record `{path}`"]
    if data.get("date"):
        parts.append(f"run {data['date']}")
    spec = hardware(data.get("machine"), data.get("versions"))
    if spec:
        parts.append(f"on {spec}")
    line = "<small>" + ", ".join(parts) + "."
    if data.get("command"):
        line += f" Command: `{data['command']}`"
    return line + "</small>"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def rho(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def interval(score: dict) -> str:
    """A summary score: "0.412 [0.391, 0.432]" (mean over seeds and 95% interval)."""
    low, high = score["ci95"]
    return f"{score['mean']:.3f} [{low:.3f}, {high:.3f}]"


# -- the kinds of table ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class GensimRuns:
    """A ``scripts/bench.py`` record: gensim and our heads on one corpus and settings, medians over repeats."""

    path: str
    heads: Sequence[str] | None = None  # (None: every engine of the record)

    def rows(self) -> list[tuple[str, dict]]:
        summary = record(self.path)["summary"]
        return [(engine, row) for engine, row in summary.items()
                if engine == "gensim" or self.heads is None or engine in self.heads]

    def markdown(self) -> str:
        data = record(self.path)
        rows = []
        for engine, row in self.rows():
            name = f"gensim {data['runs'][0].get('version', '')}".strip() if engine == "gensim" else f"`{engine}`"
            lr = next(run.get("lr") for run in data["runs"] if run["engine"] == engine)
            ratios = ", ".join(f"{r:.2f}" for r in row.get("ratios_vs_gensim", []))
            rows.append([name, "its default" if lr is None else f"{lr:g}", rate(row["words_per_second"]),
                         f"{row.get('ratio_vs_gensim', 1):.2f} ({ratios})", rate(row["peak_rss_mb"]),
                         *(rho(row[b]) for b in MAIN_BENCHMARKS)])
        settings = ", ".join(f"{k} {v}" for k, v in data["settings"].items())
        return "\n\n".join([f"Settings: {settings}; gensim input `{data.get('gensim_input', 'file')}`; medians of "
                            f"{data['repeats']} alternating repeats, each run in its own process.",
                            table(["engine", "lr", "words/s", "x gensim (per repeat)", "peak RSS MB", "WS353", "SimLex",
                                   "MEN"],
                                  rows), provenance(self.path, data)])


def our_engine(data: dict) -> tuple[str, dict]:
    """(name, summary row) of the one engine of a ``scripts/bench.py`` record that is not gensim."""
    return next((engine, row) for engine, row in data["summary"].items() if engine != "gensim")


def bench_mode(settings: dict, engine: str) -> str:
    """A ``scripts/bench.py`` record's mode: "model, engine", then its subwords unless it has none ("0")."""
    subwords = str(settings.get("subwords", "0"))
    return f"{settings.get('model', 'skipgram')}, {engine}" + ("" if subwords == "0" else f", subwords {subwords}")


@dataclasses.dataclass
class Parity:
    """Several ``scripts/bench.py`` records of one head against gensim, one row each: speed and quality side by side."""

    paths: Sequence[str]

    def markdown(self) -> str:
        rows, notes = [], []
        for path in self.paths:
            data = record(path)
            gensim = data["summary"]["gensim"]
            engine, ours = our_engine(data)
            settings = data["settings"]
            what = bench_mode(settings, engine)
            lr = f"lr {settings['lr']}" if "lr" in settings else "each tool's default lr"
            ratios = ", ".join(f"{r:.2f}" for r in ours.get("ratios_vs_gensim", []))
            rows.append([what, f"gensim {data.get('gensim_loss', 'negative')}, input {data['gensim_input']}, {lr}",
                         rate(gensim["words_per_second"]), rate(ours["words_per_second"]),
                         f"{ours['ratio_vs_gensim']:.2f} ({ratios})",
                         " / ".join(rho(gensim[b]) for b in MAIN_BENCHMARKS),
                         " / ".join(rho(ours[b]) for b in MAIN_BENCHMARKS)])
            notes.append("- " + provenance(path, data))
        return "\n\n".join([table(["ours", "gensim", "gensim words/s", "ours words/s", "x gensim (per repeat)",
                                   "gensim WS353 / SimLex / MEN", "ours WS353 / SimLex / MEN"], rows), "\n".join(notes)])


@dataclasses.dataclass
class Comparison:
    """A ``w2v-contrastive compare`` record (results.json): every head's scores with 95% intervals, speed,
    the estimator diagnostics, and a figure of WS353 and SimLex against training words."""

    path: str
    heads: Sequence[str] | None = None  # (None: every head and baseline of the record)
    benchmarks: Sequence[str] = ("wordsim353", "simlex999", "men3k", "rg65", "mturk287")
    figure: str | None = None  # (a file name under docs/figures: draw the curves there)

    def summary(self) -> dict:
        summary = record(self.path)["summary"]
        return {head: row for head, row in summary.items() if self.heads is None or head in self.heads}

    def markdown(self) -> str:
        data = record(self.path)
        rows = []
        for head, row in self.summary().items():
            held = row.get("held_out") or {}
            cross_entropy = held.get("cross_entropy", held.get("softmax_cross_entropy"))
            log_z = f"{held['log_z_mean']:.2f} ({held['log_z_std']:.2f})" if "log_z_mean" in held else "-"
            setup = (row["baseline"].get("trains", "") if "baseline" in row
                     else f"{row['optimizer']}, {row['lr']:.3g}, {row['batch_size']}")
            name = f"{head} (baseline: {row['baseline']['tool']})" if "baseline" in row else head
            rows.append([name, *(interval(row["scores"][b]) for b in self.benchmarks if b in row["scores"]),
                         rho(row.get("analogy")), rate(row["words_per_second"]), f"{row['seconds']:.0f}", setup,
                         "-" if cross_entropy is None else f"{cross_entropy:.3f}", log_z])
        names = [BENCHMARK_NAMES[b] for b in self.benchmarks if b in next(iter(self.summary().values()))["scores"]]
        seeds = data["seeds"]
        settings = data["settings"]
        budget = f"{settings['epochs']} epochs" + (f" or {settings['max_seconds']:g} s" if settings.get("max_seconds")
                                                   else "")
        about = (f"{os.path.basename(data['corpus'])}, {data['tokens']:,} tokens, {settings.get('model', 'skipgram')}, dim "
                 f"{settings['dim']}, window {settings['window']}, {budget} per run, seeds "
                 f"{', '.join(map(str, seeds))}; "
                 + ("mean and Student's t 95% interval over seeds." if len(seeds) > 1 else
                    "one seed: the 95% interval is the bootstrap over the benchmark's pairs."))
        parts = [about, table(["head", *names, "analogy", "words/s", "seconds", "optimizer, lr, batch",
                               "held-out CE", "log Z mean (std)"], rows)]
        if self.figure:
            parts.append(f"![WS353 and SimLex against training words](../figures/{self.figure})")
        parts.append(provenance(self.path, data))
        return "\n\n".join(parts)

    def draw(self) -> None:
        if self.figure:
            data = record(self.path)
            plot_curves(data, self.summary(), os.path.join(ROOT, FIGURES, self.figure))


@dataclasses.dataclass
class Tuned:
    """A ``compare --tune`` record: each head's and baseline's defaults and selected settings on the reporting
    pairs (``speed``: with the runs' words/s, left out for a record whose runs shared the machine)."""

    path: str
    speed: bool = True

    def markdown(self) -> str:
        data = record(self.path)
        names = [b for b in data["reporting"] if b.split(":")[0] in ("wordsim353", "simlex999", "men3k", "rg65",
                                                                     "mturk287")]
        rows = []
        for system in tuned_systems(data):
            for role in ("default", "tuned"):
                row = data[role][system]
                settings = data["defaults"][system] if role == "default" else data["selected"][system]["settings"]
                dev = "" if role == "default" else rho(data["selected"][system]["dev_score"])
                described = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in settings.items())
                rows.append([system_name(data, system), f"{'untuned' if role == 'default' else 'tuned'}: {described}",
                             dev, *(interval(row["scores"][n]) for n in names),
                             *([rate(row["words_per_second"])] if self.speed else [])])
        header = ["head", "settings", "dev score",
                  *(f"{BENCHMARK_NAMES[n.split(':')[0]]} ({data['reporting'][n]:,})" for n in names),
                  *(["words/s"] if self.speed else [])]
        return "\n\n".join([tuned_about(data) + " Mean and 95% interval over the seeds; each benchmark's count of "
                             "reporting pairs in brackets.", table(header, rows), provenance(self.path, data)])


def tuned_systems(data: dict) -> list[str]:
    """The heads of a ``compare --tune`` record, then its baselines."""
    return [*data["heads"], *data.get("baselines", {})]


def system_name(data: dict, system: str) -> str:
    baseline = data.get("baselines", {}).get(system)
    return f"{system} (baseline: {baseline['tool']})" if baseline else system


def tuned_about(data: dict) -> str:
    """What a ``compare --tune`` record searched and on what, in one sentence."""
    settings = data["settings"]
    return (f"Search `{data['spec']}` (xF: F times each head's or tool's own default step) on "
            f"{os.path.basename(data['corpus'])} ({data['tokens']:,} tokens), {settings['epochs']} epochs"
            + (f" or {settings['max_seconds']:g} s" if settings.get("max_seconds") else "")
            + f" per run, dim {settings['dim']}, window {settings['window']}, {settings['negatives']} noise words; "
              f"selected on development pairs, reported on the other pairs, seeds {', '.join(map(str, data['seeds']))}.")


@dataclasses.dataclass
class Rows:
    """Records holding a list of rows (or a {name: row} mapping): one table row per selected row, or with
    ``group_by`` per group of rows equal in those fields (the repeats of one measurement: each number the
    group's median); columns given as (header, function of a row). ``key`` names the record's rows, or is a
    function of the record that returns them (rows nested deeper, or put together from several fields)."""

    paths: str | Sequence[str]
    columns: Sequence[tuple[str, Callable[[dict], str]]]
    key: str | Callable[[dict], list | dict] = "rows"
    where: Callable[[dict], bool] = lambda row: True
    group_by: Sequence[str] = ()
    provenance: bool = True  # (False: a table whose record the next table of its section names)

    def markdown(self) -> str:
        paths = [self.paths] if isinstance(self.paths, str) else list(self.paths)
        items = []
        for path in paths:
            rows = self.key(record(path)) if callable(self.key) else record(path)[self.key]
            if isinstance(rows, dict):  # {name: row}: each row with its name
                rows = [{"name": name, **row} for name, row in rows.items()]
            items += [row for row in rows if self.where(row)]
        if self.group_by:
            groups: dict[tuple, list[dict]] = {}
            for row in items:
                groups.setdefault(tuple(row.get(k) for k in self.group_by), []).append(row)
            items = [median_row(group) for group in groups.values()]
        table_rows = [[cell(row) for _, cell in self.columns] for row in items]
        parts = [table([header for header, _ in self.columns], table_rows)]
        if self.provenance:
            notes = [provenance(path, record(path)) for path in paths]
            parts.append(notes[0] if len(notes) == 1 else "\n".join("- " + note for note in notes))
        return "\n\n".join(parts)


def median_row(rows: list[dict]) -> dict:
    """One row standing for repeats of a measurement: each numeric field the median over ``rows``, any other
    field the first row's."""
    def numeric(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    return {key: statistics.median(r[key] for r in rows) if all(numeric(r.get(key)) for r in rows) else value
            for key, value in rows[0].items()}


@dataclasses.dataclass
class Section:
    title: str
    text: str  # (words only: the numbers come from the tables)
    tables: Sequence  # GensimRuns, Parity, Comparison, Tuned or Rows

    def markdown(self) -> str:
        return "\n\n".join([f"## {self.title}", self.text, *(t.markdown() for t in self.tables)])


@dataclasses.dataclass
class Page:
    title: str
    intro: str
    sections: Sequence[Section]

    def markdown(self) -> str:
        notice = ("<!-- generated by scripts/report.py from the records in bench/: edit that script, "
                  "not this page -->")
        return "\n\n".join([notice, f"# {self.title}", self.intro, *(s.markdown() for s in self.sections)]) + "\n"


# -- figures --------------------------------------------------------------------------------------------------

def plot_curves(data: dict, summary: dict, path: str) -> None:
    """WS353 and SimLex rho against training words, one line per head (the mean over seeds at each point of
    its timeline; each seed thin), baselines dashed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, 2, figsize=(10, 4), sharex=True)
    for axis, benchmark in zip(axes, ("wordsim353", "simlex999")):
        for head, row in summary.items():
            runs = [r for r in data["runs"] if r["head"] == head and r.get("timeline")]
            style = dict(color=COLOURS.get(head, "black"), linestyle="--" if "baseline" in row else "-")
            for run in runs if len(runs) > 1 else ():
                axis.plot([p["words"] / 1e6 for p in run["timeline"]], [p[benchmark] for p in run["timeline"]],
                          alpha=0.25, linewidth=0.8, **style)
            points = min(len(r["timeline"]) for r in runs)
            words = [statistics.mean(r["timeline"][k]["words"] for r in runs) / 1e6 for k in range(points)]
            means = [statistics.mean(r["timeline"][k][benchmark] for r in runs) for k in range(points)]
            axis.plot(words, means, marker=".", label=head, **style)
        axis.set(xlabel="training words (millions)", ylabel="Spearman rho", title=BENCHMARK_NAMES[benchmark])
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


# -- the headline: README table and figure --------------------------------------------------------------------

@dataclasses.dataclass
class Headline:
    """The README's block: each head's and baseline's quality at its default step and at the step tuned alike on
    development pairs (a ``compare --tune`` record), the speed against gensim as whole processes (``scripts/bench.py``
    records), and the figure of a comparison's curves."""

    tuned: str
    speed: Sequence[str]
    curves: Comparison  # (with the figure's file name)

    @property
    def figure(self) -> str:
        return self.curves.figure

    def markdown(self) -> str:
        data = record(self.tuned)
        rows = []
        for system in tuned_systems(data):
            scores = {role: " / ".join(rho(data[role][system]["scores"][f"{b}:report"]["mean"]) for b in MAIN_BENCHMARKS)
                      for role in ("default", "tuned")}
            rows.append([system_name(data, system), f"{data['defaults'][system]['lr']:.3g}", scores["default"],
                         f"{data['selected'][system]['settings']['lr']:.3g}", scores["tuned"]])
        quality = [table(["", "default lr", "WS353 / SimLex / MEN", "tuned lr", "WS353 / SimLex / MEN"], rows), "",
                   f"Spearman rho on the reporting pairs, mean over the seeds. {tuned_about(data)} "
                   f"{hardware(data.get('machine'), data.get('versions'))}, run {data['date']}.", ""]
        rows, runs = [], []
        for path in self.speed:
            run = record(path)
            (engine, ours), gensim = our_engine(run), run["summary"]["gensim"]
            ratios = ", ".join(f"{r:.2f}" for r in ours["process_ratios_vs_gensim"])
            mode = bench_mode(run["settings"], f"`{engine}`")
            spread = f"{ours['process_seconds_max_over_min']:.2f} / {gensim['process_seconds_max_over_min']:.2f}"
            rows.append([mode, rate(ours["words_per_second"]), rate(gensim["words_per_second"]),
                         f"{ours['process_ratio_vs_gensim']:.2f} ({ratios})", spread])
            runs.append(run)
        first = runs[0]
        settings = first["settings"]
        speed = [table(["", "words/s", "gensim words/s", "x gensim, whole process (each run)",
                        "slowest / fastest run, ours / gensim's"], rows), "",
                 f"Medians of {first['repeats']} runs of each tool, alternating, each run a process timed from outside "
                 f"(the ratio: gensim's process time over ours); {os.path.basename(first['corpus'])}, "
                 f"{settings['epochs']} epochs, dim {settings['dim']}, {settings['threads']} threads, each tool's "
                 f"default step; {hardware(first.get('machine'), first.get('versions'))}, run "
                 f"{' and '.join(sorted({run['date'] for run in runs}))}. The commands, the other settings and "
                 f"heads: [benchmarks](docs/results/index.md)."]
        return "\n".join(quality + speed)

    def draw(self) -> None:
        self.curves.draw()


# -- the pages ------------------------------------------------------------------------------------------------

def compare_run(directory: str, **options) -> Comparison:
    return Comparison(os.path.join(directory, "results.json"), **options)


#: scripts/bench_fused_kernel.py's records, one per mode of the headline table
FUSED_KERNEL_RECORDS = tuple(f"bench/fused-kernel-{mode}.json"
                             for mode in ("negative-sampling", "nce", "hierarchical-softmax", "cbow", "subwords"))
HEADLINE = Headline("bench/tuned-baselines-gutenberg-mid/results.json",
                    ["bench/whole-process-ns.json", "bench/whole-process-hs.json", "bench/whole-process-cbow.json",
                     "bench/whole-process-subwords.json"],
                    compare_run("bench/compare-four-heads", figure="headline.png"))

PAGES = {
    "gensim.md": Page("Against gensim", (
        "The same token stream for both tools: gensim reads it from a text file (`corpus_file`, its fastest input) "
        "or from a list of lines, in a process that never imports torch; ours reads the encoded corpus. Equal "
        "dimension, window, negatives, sample, vocabulary cut-off, epochs and threads. words/s is corpus tokens "
        "times epochs over training seconds; \"x gensim\" is the median of the per-repeat ratios."), [
        Section("Whole processes at each tool's defaults", (
            "Each tool at its defaults on the same job, alternating, every run its own process timed from outside; "
            "the README's ratio is of whole-process times, the one here of training times."),
            [Parity(list(HEADLINE.speed))]),
        Section("Skip-gram with negative sampling", (
            "word2vec's model and loss in both tools at word2vec's step, and NCE on the same stream."),
            [GensimRuns("bench/results-2026-12-01-centre-order.json", heads=("negative-sampling", "nce"))]),
        Section("Hierarchical softmax, CBOW and subwords, setting for setting", (
            "Each row is one record. gensim's `corpus_file` input decays the learning rate as if each worker read "
            "the whole epoch, so its step stays above the nominal linear decay of its list input, of word2vec.c and "
            "of ours: quality is compared at an equal step against the list input, speed against both."),
            [Parity(["bench/parity-hs-context-first-2026-12-01.json", "bench/parity-hs-list-2026-12-01.json",
                     "bench/parity-cbow-2026-12-01.json", "bench/parity-cbow-list-lr0.05-2026-12-01.json",
                     "bench/parity-cbow-list-lr0.025-2026-12-01.json", "bench/parity-subwords-2026-12-01.json",
                     "bench/parity-subwords-list-2026-12-01.json"])]),
    ]),
    "heads.md": Page("Heads compared", (
        "`w2v-contrastive compare` trains every head on one encoded corpus, vocabulary and noise distribution, with "
        "the same pairs for a seed, and evaluates every run alike. Held-out CE is the cross-entropy of each run's "
        "normalised model on pairs of held-out documents (the tree's own for the hierarchical softmax); log Z is "
        "zero for a self-normalised model. The curves are evaluated at every tenth of each run's budget."), [
        Section("The sampled heads and the hierarchical softmax", (
            "word2vec's two estimators beside NCE and InfoNCE, each at its defaults, and gensim's word2vec "
            "trained on the same lines and vocabulary (`--baselines gensim-sgns`)."),
            [compare_run("bench/compare-four-heads", figure="compare-four-heads.png")]),
        Section("CBOW", "The same heads predicting the centre word from the mean of its window.",
                [compare_run("bench/compare-cbow", heads=("negative-sampling", "nce", "hierarchical-softmax"))]),
        Section("The metric-learning heads", (
            "The distance losses and N-pair, trained through the row step with Adam at their defaults, on a budget "
            "of epochs or seconds."),
            [compare_run("bench/compare-metric-heads", figure="compare-metric-heads.png")]),
        Section("The exact softmax beside its estimators", (
            "The full softmax at the full vocabulary, and the two estimators of its model and the hierarchical "
            "softmax on the same corpus and budget, each at its defaults: the held-out cross-entropy shows how "
            "closely each estimates the softmax model."),
            [compare_run("bench/compare-softmax-full-vocabulary", heads=("softmax",)),
             compare_run("bench/compare-estimators-3-epochs")]),
        Section("Random vectors", "The floor: rho of random vectors on the same vocabulary, over independent draws.",
                [Rows("bench/random-baseline-2026-12-01.json",
                      [("benchmark", lambda r: BENCHMARK_NAMES.get(r["name"], r["name"])),
                       ("mean", lambda r: rho(r["mean"])), ("std", lambda r: rho(r["std"])),
                       ("mean + 5 std", lambda r: rho(r["mean_plus_5_std"])),
                       ("covered pairs", lambda r: f"{r['covered']}/{r['pairs']}")], key="benchmarks")]),
    ]),
    "tuning.md": Page("Tuned comparison", (
        "`compare --tune` searches every head alike at one budget, selects each head's settings on development "
        "pairs (a seeded hash split of every benchmark's pairs) and reports the defaults and the selected settings "
        "on the other pairs."), [
        Section("The heads and the incumbent tools", (
            "The word2vec-style heads at their budget-rule steps and gensim's word2vec (negative sampling, "
            "hierarchical softmax) and FastText at gensim's own step, each searched over three steps a factor of "
            "two apart (the search line gives each one's). words/s is left out: these runs were "
            "not timed alone; [the speed pages](speed.md) time both tools."),
                [Tuned("bench/tuned-baselines-gutenberg-mid/results.json", speed=False)]),
        Section("The step against the training budget", (
            "The steps a factor apart around a head's step, each trained with several seeds and selected on "
            "development pairs: first on a small corpus at several epoch counts (where the budget rule was read), "
            "then on a corpus of a size not used to choose it, around the rule's own step."),
            [Rows(path, [("corpus", lambda r: r["corpus"]), ("epochs", lambda r: str(r["epochs"])),
                         ("head", lambda r: r["head"]), ("training words", lambda r: f"{r['budget_words']:,.0f}"),
                         ("steps tried", lambda r: ", ".join(f"{p['lr']:.3g}" for p in r["points"].values())),
                         ("selected on development pairs", lambda r: f"{r['selected_lr']:.3g}"),
                         ("its reporting rho", lambda r: rho(r["points"][str(r["selected_factor"])]["report"]))],
                  key="summary")
             for path in ("bench/lr-budget-sweep-small.json", "bench/lr-budget-check-kjv.json")]),
    ]),
    "speed.md": Page("Speed, scaling and memory", (
        "Throughput and memory on the CPU. A measurement repeated is shown as the median of its repeats."), [
        Section("Against gensim as the corpus grows", "One epoch each; both tools on the same stream.",
                [Rows("bench/scaling-2026-11-29/scaling.json",
                      [("corpus", lambda r: r["corpus"]), ("tokens", lambda r: f"{r['x']:,}"),
                       ("engine", lambda r: r["engine"]), ("seconds", lambda r: f"{r['seconds']:.1f}"),
                       ("words/s", lambda r: rate(r["words_per_second"]))],
                      where=lambda r: r["sweep"] == "corpus", group_by=("x", "engine"))]),
        Section("Noise words", "Time per pair grows with the number of noise words K in both tools.",
                [Rows("bench/scaling-negatives-2026-11-29/scaling.json",
                      [("K", lambda r: str(r["x"])), ("engine", lambda r: r["engine"]),
                       ("words/s", lambda r: rate(r["words_per_second"]))], group_by=("x", "engine"))]),
        Section("The fused CPU kernel alone", (
            "The compiled kernel replaying 30 batches captured from a gutenberg-mid run (dim 100, window 5, K 5), "
            "without the pair stream, start-up or evaluation: nanoseconds per example, the median of 7 replays. The "
            "trainer's two threads share the input rows lock-free and each trains its own replica of the context "
            "table (and of nce's output bias), merged into the table once the threads trained the given number of "
            "pairs per row, its most trained rows at every step. In the third column they share every context row "
            "instead, as word2vec.c's and gensim's threads do (the hierarchical softmax still replicates the tree's "
            "top nodes); in the last, each thread trains its share of each batch on its own copy of all the "
            "tables, nothing shared or merged. What a shared row costs depends on how fast the cores pass cache lines "
            "to each other, which on a shared or virtual machine changes from one minute to the next: shared context "
            "rows make a run's time swing with it, replicas do not."),
            [Rows(FUSED_KERNEL_RECORDS,
                  [("mode", lambda r: bench_mode(r["settings"], f"`{r['head']}`")),
                   ("one thread", lambda r: f"{r['threads']['1']['median_ns_per_pair']:.0f}"),
                   ("two threads", lambda r: f"{r['threads']['2']['median_ns_per_pair']:.0f}"),
                   ("two threads, context rows shared",
                    lambda r: f"{r['threads']['2, context rows shared']['median_ns_per_pair']:.0f}"),
                   ("two threads, own tables", lambda r: f"{r['threads']['2, own tables']['median_ns_per_pair']:.0f}"),
                   ("replicas merged every (pairs per row)", lambda r: str(r["replicas"]["merge_pairs_per_row"])),
                   ("rows merged at every step", lambda r: str(r["replicas"]["hot_rows"]))],
                  key="runs")]),
        Section("Encoding with worker processes", "Tokenizing and encoding a corpus, cold cache, by number of workers.",
                [Rows("bench/encode-workers-2026-12-02.json",
                      [("workers", lambda r: str(r["workers"])), ("tokens/s", lambda r: rate(r["tokens_per_second"])),
                       ("seconds", lambda r: f"{r['seconds']:.1f}"), ("pieces", lambda r: str(r["pieces"])),
                       ("peak RSS MB", lambda r: rate(r["peak_rss_mb"]))], key="runs",
                      where=lambda r: r.get("plan_for") is None, group_by=("workers",)),
                 Rows("bench/encode-workers-2026-12-02.json",
                      [("workers (predicted)", lambda r: str(r["workers"])),
                       ("tokens/s", lambda r: rate(r["tokens_per_second"])),
                       ("efficiency", lambda r: f"{r['efficiency']:.2f}")], key="predicted",
                      where=lambda r: r["workers"] in (1, 2, 4, 8, 16))]),
        Section("Memory against corpus size", "Peak resident memory of encoding, flat in corpus size.",
                [Rows(("bench/memory-2g-workers-2026-12-02.json", "bench/memory-stream-1x-2026-12-02.json",
                       "bench/memory-stream-8x-2026-12-02.json"),
                      [("input", lambda r: "a streamed dataset" if r.get("streamed") else "a one-line text file"),
                       ("tokens", lambda r: f"{r['tokens']:,}"), ("workers", lambda r: str(r.get("workers", 1))),
                       ("encode s", lambda r: f"{r['encode_seconds']:.1f}"),
                       ("peak RSS MB", lambda r: rate(r["peak_rss_mb_after_encoding"])),
                       ("largest worker MB", lambda r: rate(r.get("peak_rss_mb_largest_worker") or None))])]),
        Section("The full softmax at a million words", (
            "One forward and backward pass of log Z over a 1M x 300 output table, in vocabulary chunks or not."),
            [Rows("bench/softmax-memory-2026-11-29.json",
                  [("batch", lambda r: str(r["batch"])),
                   ("log Z", lambda r: "plain autograd" if r["softmax_chunk"] == "autograd"
                    else f"chunks of {r['softmax_chunk']:,} rows"),
                   ("logits MB unchunked", lambda r: rate(r["logits_mb_unchunked"])),
                   ("seconds", lambda r: f"{r['seconds']:.1f}"),
                   ("memory growth MB", lambda r: rate(r["step_growth_mb"]))],
                  where=lambda r: r["measurement"] == "step")]),
        Section("One-line files", (
            "A file with no line break (gutenberg-large with its newlines turned into spaces, repeated), encoded "
            "from a cold cache, then read from the encoded cache by one epoch of negative-sampling (dim 100) "
            "stopped after the trained words; each row its own process. A line that runs a MiB without a break is "
            "cut at a space, so memory stays flat in the file's size."),
            [Rows(("bench/memory-2026-11-29.json", "bench/memory-2g-2026-11-29.json"),
                  [("file", lambda r: f"{r['file_bytes'] / 1e9:.2f} GB"), ("tokens", lambda r: f"{r['tokens']:,}"),
                   ("types", lambda r: f"{r['types']:,}"),
                   ("from the cache", lambda r: "yes" if r["from_cache"] else "no"),
                   ("encode s", lambda r: f"{r['encode_seconds']:.1f}"),
                   ("peak RSS MB after encoding", lambda r: rate(r["peak_rss_mb_after_encoding"])),
                   ("trained words", lambda r: rate(r.get("trained_words"))),
                   ("words/s", lambda r: rate(r.get("words_per_second"))),
                   ("peak RSS MB training", lambda r: rate(r.get("peak_rss_mb")))])]),
    ]),
}


def sibling(name: str):
    """A module of scripts/ beside this one (loaded by path: this script runs as __main__ or from the tests)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                     f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the GPU path's and the full softmax's pages, defined in scripts/report_pages_gpu.py
PAGES.update(sibling("report_pages_gpu").pages(sys.modules[__name__]))


# -- writing and checking -------------------------------------------------------------------------------------

def rendered() -> dict[str, str]:
    """Every generated file's text: the pages and README.md with its headline block replaced."""
    files = {os.path.join(RESULTS, name): page.markdown() for name, page in PAGES.items()}
    with open(os.path.join(ROOT, README), encoding="utf-8") as handle:
        readme = handle.read()
    block = re.compile(re.escape(HEADLINE_BEGIN) + ".*?" + re.escape(HEADLINE_END), re.S)
    if block.search(readme):
        files[README] = block.sub(lambda _: f"{HEADLINE_BEGIN}\n{HEADLINE.markdown()}\n{HEADLINE_END}", readme)
    return files


def draw() -> None:
    HEADLINE.draw()
    for page in PAGES.values():
        for section in page.sections:
            for item in section.tables:
                if hasattr(item, "draw"):
                    item.draw()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    parser.add_argument("--no-figures", action="store_true", help="write the pages only")
    args = parser.parse_args()
    stale = []
    for path, text in rendered().items():
        full = os.path.join(ROOT, path)
        current = open(full, encoding="utf-8").read() if os.path.exists(full) else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as handle:
                handle.write(text)
    if args.check:
        for path in stale:
            print(f"{path}: differs from what the records in bench/ give; run python scripts/report.py")
        return 1 if stale else 0
    if not args.no_figures:
        draw()
    print(f"{len(stale)} file(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
