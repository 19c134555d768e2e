"""Our heads side by side with gensim's word2vec: speed, memory and quality on the same corpus, settings and cores.

    python scripts/bench.py --corpus data/gutenberg-mid.txt.xz --heads negative-sampling,nce,infonce --repeats 3
    python scripts/bench.py --heads hierarchical-softmax --gensim-loss hs    # gensim sg=1, hs=1, negative=0
    python scripts/bench.py --model cbow --heads negative-sampling           # gensim sg=0 (cbow_mean=1)
    python scripts/bench.py --subwords 3-6 --heads negative-sampling         # gensim FastText, min_n 3, max_n 6

Every run is its own process, started by a parent that never imports torch (so its peak RSS is its
own: see ``prepare``); the engines alternate within each repeat
(gensim, head 1, head 2, ..., then again), seeds 0, 1, 2, ... Both train on the same token stream,
our encoded corpus line by line: gensim reads it as a text file (``corpus_file``, its fastest input;
``--gensim-input list`` hands it lists of tokens instead). The two differ in their learning rate: with
W workers, corpus_file mode decays alpha over each epoch as if every worker read the whole epoch while
each reads 1/W of it, so its step stays higher than the nominal linear decay that list mode, word2vec.c
and we follow (gensim/models/word2vec_corpusfile.pyx, ``get_next_alpha``); compare quality against list
mode at equal ``--lr``.

Per run: training seconds, words/s (corpus tokens x epochs / training seconds; corpus preparation
excluded for both), pairs/s (ours), the whole process's wall and CPU seconds as timed from outside
(start-up, imports, compilation, reading the corpus: gensim builds its vocabulary from the text, we read
the encoded-corpus cache a first run writes; training; evaluation), peak RSS in MB after training, peak
GPU memory on CUDA, and WS353 / SimLex / MEN Spearman rho. Per engine: medians over the repeats, the
median of the per-repeat ratios against gensim's words/s and whole-process seconds (each ratio taken
within one repeat), our slowest whole process over our fastest, and the median rho difference
against gensim. Writes bench/results-<date>.json and bench/results-<date>.md.
gensim is installed on demand; it is not a runtime dependency.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import in_own_process, peak_rss_mb, provenance, write_json

BENCHMARKS = ("wordsim353", "simlex999", "men3k")
#: "equal quality": rho within this of gensim's on WS353 and SimLex
QUALITY_TOLERANCE = 0.02
DEFAULTS = {"model": "skipgram", "dim": 100, "window": 5, "negatives": 5, "sample": 1e-4, "min_count": 5, "epochs": 5,
            "threads": 2, "subwords": "0", "buckets": 2_000_000}


def ensure_gensim() -> None:
    if importlib.util.find_spec("gensim") is None:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "gensim"])


def export_text(corpus, path: str) -> None:
    """``corpus``'s token stream as text, one line per corpus line, for gensim (which then imports no
    torch: its peak RSS stays its own)."""
    import numpy as np

    words, starts, ids = np.asarray(corpus.words, dtype=object), corpus.line_starts, corpus.read(0, corpus.n_tokens)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(" ".join(words[ids[a:b]]) + "\n" for a, b in zip(starts[:-1], starts[1:]))


def train_gensim(text_file: str, settings: dict, seed: int, gensim_input: str, loss: str = "negative"):
    """gensim Word2Vec on the exported token stream -> (model, training seconds): skip-gram (sg=1) or CBOW
    (sg=0, cbow_mean=1) as ``settings["model"]`` says, with negative sampling (hs=0) or, for ``loss="hs"``,
    the hierarchical softmax alone (hs=1, negative=0). With ``settings["subwords"]`` "MIN-MAX", gensim's
    FastText with min_n, max_n and ``settings["buckets"]`` buckets instead.

    ``file``: gensim's corpus_file mode (its own C reader); ``list``: lists of tokens in memory, long
    lines cut into gensim's 10,000-token sentences (it truncates longer ones)."""
    from gensim.models import FastText, Word2Vec

    hs = loss == "hs"
    options = dict(vector_size=settings["dim"], window=settings["window"], negative=0 if hs else settings["negatives"],
                   hs=int(hs), sg=int(settings["model"] == "skipgram"), cbow_mean=1, sample=settings["sample"],
                   min_count=settings["min_count"], workers=settings["threads"], seed=seed)
    if settings.get("lr") is not None:  # (else gensim's default alpha, 0.025)
        options["alpha"] = settings["lr"]
    if settings.get("subwords", "0") != "0":
        min_n, max_n = (int(n) for n in settings["subwords"].split("-"))
        model = FastText(**options, min_n=min_n, max_n=max_n, bucket=settings["buckets"])
    else:
        model = Word2Vec(**options)
    if gensim_input == "list":
        with open(text_file, encoding="utf-8") as handle:
            lines = [line.split() for line in handle]
        sentences = [line[i:i + 10_000] for line in lines for i in range(0, max(len(line), 1), 10_000)]
        model.build_vocab(sentences)
        started = time.perf_counter()
        model.train(sentences, total_examples=model.corpus_count, epochs=settings["epochs"])
    else:
        model.build_vocab(corpus_file=text_file)
        started = time.perf_counter()
        model.train(corpus_file=text_file, total_words=model.corpus_total_words, epochs=settings["epochs"])
    return model, time.perf_counter() - started


def prepare(spec: dict) -> dict:
    """Encode ``spec["corpus"]`` (cached for the runs), export it for gensim to ``spec["text_file"]``
    when given; its token count. Run in a child like the measurements: a parent that
    imported torch would pass its peak RSS on to every process it starts (Linux's ru_maxrss survives
    exec), and gensim's figure would be torch's."""
    import w2v_contrastive as w2v

    corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec.get("cache_dir"))
    if spec.get("text_file"):
        export_text(corpus, spec["text_file"])
    return {"tokens": corpus.n_tokens}


def measure(spec: dict) -> dict:
    """One run of one engine (``gensim`` or a head name) as ``spec`` describes; the JSON row."""
    settings, engine = spec["settings"], spec["engine"]
    row = {"engine": engine, "seed": spec["seed"], "settings": settings}
    if engine == "gensim":
        import gensim

        model, seconds = train_gensim(spec["text_file"], settings, spec["seed"], spec["gensim_input"],
                                      spec.get("gensim_loss", "negative"))
        row.update(version=gensim.__version__, seconds=seconds, pairs_per_second=None, peak_gpu_mb=None,
                   words_per_second=model.corpus_total_words * settings["epochs"] / seconds, peak_rss_mb=peak_rss_mb(),
                   vocabulary=len(model.wv.index_to_key))
        import w2v_contrastive as w2v

        vectors = w2v.Vectors(model.wv.index_to_key, model.wv.vectors)
    else:
        import w2v_contrastive as w2v

        corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec.get("cache_dir"))
        result = w2v.train(corpus, head=engine, seed=spec["seed"], progress=False, device=spec["device"], **settings)
        vectors, stats = result.vectors, result.stats
        row.update(version=w2v.__version__, seconds=stats.seconds, pairs_per_second=stats.pairs_per_second,
                   peak_gpu_mb=stats.peak_gpu_mb, words_per_second=stats.words_per_second, peak_rss_mb=peak_rss_mb(),
                   vocabulary=len(result.vocab), device=stats.device, step=stats.step, pair_order=stats.pair_order,
                   lr=stats.lr, batch_size=stats.batch_size, final_loss=stats.final_loss)
    row.update({r["benchmark"]: r["spearman"] for r in w2v.evaluate(vectors, BENCHMARKS)})
    return row


def quality_verdict(differences: dict[str, float]) -> str:
    """"equal" when WS353 and SimLex rho are both within QUALITY_TOLERANCE of gensim's, "better" when
    neither is lower by more and one is higher by more, else "worse"."""
    gaps = [differences[b] for b in ("wordsim353", "simlex999")]
    if all(abs(gap) <= QUALITY_TOLERANCE for gap in gaps):
        return "equal"
    return "better" if all(gap >= -QUALITY_TOLERANCE for gap in gaps) else "worse"


def summarise(runs: list[dict]) -> dict:
    """Per engine: medians over repeats, per-repeat ratios against gensim's words/s, rho differences."""
    gensim = {r["repeat"]: r for r in runs if r["engine"] == "gensim"}
    summary = {}
    for engine in dict.fromkeys(r["engine"] for r in runs):
        mine = [r for r in runs if r["engine"] == engine]
        row = {"runs": len(mine)}
        for key in ("seconds", "words_per_second", "pairs_per_second", "peak_rss_mb", "peak_gpu_mb", *BENCHMARKS):
            values = [r[key] for r in mine if r.get(key) is not None]
            row[key] = statistics.median(values) if values else None
        row["words_per_second_range"] = [min(r["words_per_second"] for r in mine), max(r["words_per_second"] for r in mine)]
        whole = [r["process_seconds"] for r in mine]
        row["process_seconds"], row["process_cpu_seconds"] = statistics.median(whole), statistics.median(
            r["process_cpu_seconds"] for r in mine)
        row["process_seconds_max_over_min"] = max(whole) / min(whole)
        paired = [(r, gensim[r["repeat"]]) for r in mine if r["repeat"] in gensim]
        if paired:
            row["ratios_vs_gensim"] = [r["words_per_second"] / g["words_per_second"] for r, g in paired]
            row["ratio_vs_gensim"] = statistics.median(row["ratios_vs_gensim"])
            # the whole process, as a user times it: gensim's seconds over ours (above 1: we finish first)
            row["process_ratios_vs_gensim"] = [g["process_seconds"] / r["process_seconds"] for r, g in paired]
            row["process_ratio_vs_gensim"] = statistics.median(row["process_ratios_vs_gensim"])
            row["rho_difference_vs_gensim"] = {b: statistics.median(r[b] - g[b] for r, g in paired) for b in BENCHMARKS}
            row["quality_vs_gensim"] = quality_verdict(row["rho_difference_vs_gensim"])
        summary[engine] = row
    return summary


def markdown(report: dict) -> str:
    def number(value, form):
        return "" if value is None else format(value, form)

    lines = [f"Command: `{report['command']}`  ", f"Machine: {report['machine']['description']}  ",
             f"Corpus: {os.path.basename(report['corpus'])} ({report['corpus_tokens']:,} tokens); settings: "
             + ", ".join(f"{k} {v}" for k, v in report["settings"].items())
             + f"; gensim objective: {report.get('gensim_loss', 'negative')}; medians of {report['repeats']} runs."
             + "".join(f" {head}: " + ", ".join(f"{k} {v}" for k, v in values.items()) + "."
                       for head, values in report["overrides"].items()), "",
             "| engine | words/s | pairs/s | x gensim (per repeat) | whole process s (max/min) "
             "| x gensim, whole process (per repeat) | peak RSS MB | peak GPU MB | WS353 | SimLex | MEN "
             "| quality vs gensim |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def ratios(row, key):
        listed = ", ".join(f"{x:.2f}" for x in row.get(key + "s_vs_gensim", []))
        return f"{row[key + '_vs_gensim']:.2f} ({listed})" if key + "_vs_gensim" in row else ""

    for engine, row in report["summary"].items():
        lines.append(f"| {engine} | {number(row['words_per_second'], ',.0f')} | {number(row['pairs_per_second'], ',.0f')} "
                     f"| {ratios(row, 'ratio')} | {row['process_seconds']:.1f} ({row['process_seconds_max_over_min']:.2f}) "
                     f"| {ratios(row, 'process_ratio')} | {number(row['peak_rss_mb'], '.0f')} | {number(row['peak_gpu_mb'], '.0f')} "
                     f"| {row['wordsim353']:.3f} | {row['simlex999']:.3f} | {row['men3k']:.3f} | {row.get('quality_vs_gensim', '')} |")
    return "\n".join(lines) + "\n"


def parse_overrides(items: list[str]) -> dict[str, dict]:
    """``HEAD.KEY=VALUE`` (VALUE read as JSON, else a string) -> {head: {key: value}}."""
    overrides: dict[str, dict] = {}
    for item in items:
        target, _, value = item.partition("=")
        head, _, key = target.partition(".")
        if not key or not value:
            raise SystemExit(f"bench.py: --set expects HEAD.KEY=VALUE, got {item!r}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        overrides.setdefault(head, {})[key.replace("-", "_")] = parsed
    return overrides


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "..", "data", "gutenberg-mid.txt.xz"))
    parser.add_argument("--heads", default="negative-sampling", help="our heads to run beside gensim (comma-separated)")
    parser.add_argument("--no-gensim", action="store_true", help="our heads only (e.g. on a GPU machine without gensim)")
    parser.add_argument("--gensim-input", choices=("file", "list"), default="file")
    parser.add_argument("--gensim-loss", choices=("negative", "hs"), default="negative",
                        help="gensim's objective: negative sampling, or the hierarchical softmax (hs=1, negative=0)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per engine (medians reported)")
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--lr", type=float, default=None,
                        help="initial learning rate of every engine (default: each its own: gensim 0.025, ours the "
                             "head's)")
    parser.add_argument("--device", default="auto", help="for our heads (gensim always runs on the CPU)")
    parser.add_argument("--set", action="append", default=[], metavar="HEAD.KEY=VALUE",
                        help="a setting for one head only, e.g. softmax.max_words=20000 (repeatable)")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=f"bench/results-{datetime.date.today()}")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(prepare(spec) if spec.get("prepare") else measure(spec)))
        return 0
    overrides = parse_overrides(args.set)
    engines = ([] if args.no_gensim else ["gensim"]) + args.heads.split(",")
    if not args.no_gensim:
        ensure_gensim()
    settings = {key: getattr(args, key) for key in DEFAULTS}
    if args.lr is not None:
        settings["lr"] = args.lr
    scratch = tempfile.mkdtemp(prefix="w2v-bench-")
    text_file = os.path.join(scratch, "corpus.txt")
    try:
        prepared = in_own_process(__file__, "--worker", json.dumps(  # encode once, outside the timings
            {"prepare": True, "corpus": args.corpus, "cache_dir": args.cache_dir, "text_file": None if args.no_gensim else text_file}))
        report = {**provenance(),
                  "corpus": os.path.abspath(args.corpus), "corpus_tokens": prepared["tokens"], "settings": settings,
                  "overrides": overrides, "gensim_input": args.gensim_input, "gensim_loss": args.gensim_loss,
                  "repeats": args.repeats, "runs": []}
        for repeat in range(args.repeats):
            for engine in engines:
                spec = {"engine": engine, "corpus": args.corpus, "cache_dir": args.cache_dir, "seed": repeat,
                        "device": args.device, "gensim_input": args.gensim_input, "gensim_loss": args.gensim_loss,
                        "text_file": text_file,
                        "settings": {**settings, **overrides.get(engine, {})}}
                run = {**in_own_process(__file__, "--worker", json.dumps(spec)), "repeat": repeat}
                report["runs"].append(run)
                print(json.dumps(run), flush=True)
                report["summary"] = summarise(report["runs"])
                write_json(args.out + ".json", report)  # after every run: an interrupted bench keeps what it measured
    finally:  # the exported corpus can be as large as the corpus
        shutil.rmtree(scratch)
    table = markdown(report)
    with open(args.out + ".md", "w", encoding="utf-8") as handle:
        handle.write(table)
    print("\n" + table + f"\nwrote {args.out}.json and {args.out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
