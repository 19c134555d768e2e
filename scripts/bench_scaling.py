"""How training time scales: with corpus size, vocabulary size (full softmax), negatives, and threads.

    python scripts/bench_scaling.py --corpora data/gutenberg-small.txt.xz,data/gutenberg-mid.txt.xz,\\
/path/to/gutenberg-large.txt.xz

(gutenberg-small and -mid ship in data/; gutenberg-large, 690 books and 25M tokens from the same
source, rcdm-uga/Gutenberg_Text, is not shipped: data/MANIFEST.md names the source.)

Four sweeps, every run in its own process through scripts/bench.py's worker (so each figure is
measured exactly as there), gensim beside our heads wherever it has the same knob:

- corpus: 1 epoch of each corpus in --corpora; gensim and negative-sampling, --repeats runs each;
- threads: 1 and 2 threads on the middle corpus, gensim and negative-sampling, --repeats runs each;
- negatives: K in --negatives on the middle corpus, 1 epoch, gensim, negative-sampling, nce, infonce,
  --repeats runs each;
- vocabulary: the full softmax at --max-vocab sizes on the largest corpus (min_count 1, the first
  --softmax-words tokens), negative-sampling beside it for contrast (--reference-words tokens).

Writes bench/scaling-<date>/: scaling.json (every run), scaling.md (median tables) and one PNG per sweep.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile

from bench import DEFAULTS, ensure_gensim
from benchlib import in_own_process, write_json

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")


class Sweeps:
    """Runs specs through bench.py's worker, keeps every row, and rewrites the JSON after each run."""

    def __init__(self, out: str, cache_dir: str | None, scratch: str):
        self.out, self.cache_dir, self.scratch = out, cache_dir, scratch
        self.rows: list[dict] = []
        self.corpora: dict[str, dict] = {}
        self.report = {"date": datetime.date.today().isoformat(), "command": " ".join(["python", *sys.argv]),
                       "defaults": DEFAULTS, "corpora": self.corpora, "rows": self.rows}

    def prepare(self, corpus: str) -> dict:
        """Encode ``corpus`` and export it for gensim, once, in a child process (see bench.prepare)."""
        if corpus not in self.corpora:
            text_file = os.path.join(self.scratch, f"{len(self.corpora)}.txt")
            spec = {"prepare": True, "corpus": corpus, "cache_dir": self.cache_dir, "text_file": text_file}
            self.corpora[corpus] = {**in_own_process(BENCH, "--worker", json.dumps(spec)), "text_file": text_file}
            self.report["machine"] = self.corpora[corpus].pop("machine")
        return self.corpora[corpus]

    def run(self, sweep: str, x: float, engine: str, corpus: str, seed: int, **settings) -> None:
        spec = {"engine": engine, "corpus": corpus, "cache_dir": self.cache_dir, "seed": seed, "device": "cpu",
                "gensim_input": "file", "settings": {**DEFAULTS, **settings},
                "text_file": self.prepare(corpus)["text_file"]}
        row = {"sweep": sweep, "x": x, "corpus": os.path.basename(corpus), **in_own_process(BENCH, "--worker", json.dumps(spec))}
        self.rows.append(row)
        print(json.dumps({k: row[k] for k in ("sweep", "x", "engine", "seconds", "words_per_second", "peak_rss_mb")}),
              flush=True)
        write_json(os.path.join(self.out, "scaling.json"), self.report)


def medians(rows: list[dict], sweep: str, key: str) -> dict[str, dict[float, float]]:
    """{engine: {x: median of key}} for one sweep."""
    table: dict[str, dict[float, list[float]]] = {}
    for row in rows:
        if row["sweep"] == sweep:
            table.setdefault(row["engine"], {}).setdefault(row["x"], []).append(row[key])
    return {engine: {x: statistics.median(v) for x, v in sorted(by_x.items())} for engine, by_x in table.items()}


SWEEPS = {  # sweep: (x label, y key, y label, log axes)
    "corpus": ("corpus tokens (1 epoch)", "seconds", "training seconds", True),
    "threads": ("threads", "words_per_second", "words/s", False),
    "negatives": ("negatives K", "words_per_second", "words/s", True),
    "vocabulary": ("vocabulary size V", "words_per_second", "words/s", True),
}


def plot_and_table(rows: list[dict], out: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = []
    for sweep, (x_label, key, y_label, log) in SWEEPS.items():
        table = medians(rows, sweep, key)
        if not table:
            continue
        figure, axes = plt.subplots(figsize=(5, 3.6))
        for engine, points in table.items():
            axes.plot(list(points), list(points.values()), marker="o", label=engine)
        if log:
            axes.set_xscale("log")
            axes.set_yscale("log")
        axes.set(xlabel=x_label, ylabel=y_label, title=f"{y_label} against {x_label.split(' (')[0]}")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(os.path.join(out, f"{sweep}.png"), dpi=110)
        plt.close(figure)
        xs = sorted({x for points in table.values() for x in points})
        text += [f"### {sweep}: {y_label} (median)", "", "| engine | " + " | ".join(f"{x:,}" for x in xs) + " |",
                 "|---" * (len(xs) + 1) + "|"]
        text += [f"| {engine} | " + " | ".join(format(points[x], ",.1f" if key == "seconds" else ",.0f") if x in points else ""
                                       for x in xs) + " |"
                 for engine, points in table.items()]
        text.append("")
    return "\n".join(text)


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default=os.path.join(here, "..", "data", "gutenberg-mid.txt.xz"),
                        help="comma-separated, smallest first; the middle one serves the thread and negatives sweeps")
    parser.add_argument("--sweeps", default=",".join(SWEEPS))
    parser.add_argument("--repeats", type=int, default=3, help="runs per point (the vocabulary sweep runs once)")
    parser.add_argument("--negatives", default="1,2,5,10,20,50")
    parser.add_argument("--negative-heads", default="negative-sampling,nce,infonce")
    parser.add_argument("--max-vocab", default="1000,4000,16000,64000")
    parser.add_argument("--softmax-words", type=int, default=10_000, help="tokens trained per vocabulary size")
    parser.add_argument("--reference-words", type=int, default=2_000_000,
                        help="tokens trained by negative-sampling at each vocabulary size")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=f"bench/scaling-{datetime.date.today()}")
    args = parser.parse_args()
    ensure_gensim()
    corpora, sweeps = args.corpora.split(","), args.sweeps.split(",")
    middle, largest = corpora[len(corpora) // 2], corpora[-1]
    scratch = tempfile.mkdtemp(prefix="w2v-bench-scaling-")
    runner = Sweeps(args.out, args.cache_dir, scratch)
    tokens = {corpus: runner.prepare(corpus)["tokens"] for corpus in corpora}
    try:
        for repeat in range(args.repeats):
            if "corpus" in sweeps:
                for corpus in corpora:
                    for engine in ("gensim", "negative-sampling"):
                        runner.run("corpus", tokens[corpus], engine, corpus, repeat, epochs=1)
            if "threads" in sweeps:
                for threads in (1, 2):
                    for engine in ("gensim", "negative-sampling"):
                        runner.run("threads", threads, engine, middle, repeat, epochs=1, threads=threads)
            if "negatives" in sweeps:
                for k in (int(k) for k in args.negatives.split(",")):
                    for engine in ("gensim", *args.negative_heads.split(",")):
                        runner.run("negatives", k, engine, middle, repeat, epochs=1, negatives=k)
        if "vocabulary" in sweeps:
            for size in (int(v) for v in args.max_vocab.split(",")):
                for engine in ("softmax", "negative-sampling"):
                    runner.run("vocabulary", size, engine, largest, 0, epochs=1, min_count=1, max_vocab=size,
                               max_words=args.softmax_words if engine == "softmax" else args.reference_words)
    finally:
        shutil.rmtree(scratch)
    table = plot_and_table(runner.rows, args.out)
    with open(os.path.join(args.out, "scaling.md"), "w", encoding="utf-8") as handle:
        handle.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
