"""`make demo`: train the main heads and gensim's word2vec on the shipped corpus and print one score table.

Default corpus: data/gutenberg-mid.txt.xz (186 public-domain books, 4M tokens). On a CPU the full
softmax (O(V d) per distinct centre word, meant for a GPU) trains on a time budget, said so in the
table; on a GPU it trains the same epochs as the others. gensim's Word2Vec (skip-gram, negative
sampling, its default step) trains on the same lines, vocabulary and settings when gensim is installed
(the `test` and `baselines` extras).
Outputs go to runs/demo/<head>, the table to runs/demo/results.json. Each run shows its progress on
stderr (a line every 5 s when that is not a terminal, e.g. in a CI log).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

import w2v_contrastive as w2v
from w2v_contrastive.comparison.baselines import parse_baselines
from w2v_contrastive.train.callbacks import Callback

BENCHMARKS = ("wordsim353", "simlex999", "men3k")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", default="negative-sampling,nce,infonce,softmax")
    parser.add_argument("--baselines", default="gensim-sgns", help="comma-separated; '' for none")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--cpu-softmax-seconds", type=float, default=30.0,
                        help="training seconds of the full softmax when there is no GPU")
    args = parser.parse_args()
    try:  # (a missing gensim is one line, before anything trains)
        baselines = parse_baselines([b for b in args.baselines.split(",") if b])
    except w2v.W2VError as error:
        print(f"error: {error} (or run with --baselines '')", file=sys.stderr)
        return 2
    gpu = torch.cuda.is_available()
    started = time.time()
    corpus = w2v.prepare_corpus()
    print(f"corpus: {corpus.description}: {corpus.n_tokens:,} tokens, {len(corpus.words):,} types "
          f"({'from cache' if corpus.from_cache else f'encoded in {corpus.seconds:.1f}s'})")
    rows = []
    for head in args.heads.split(","):
        settings, note = {"epochs": args.epochs}, ""
        if head == "softmax" and not gpu:
            settings["max_seconds"] = args.cpu_softmax_seconds
        result = w2v.train(corpus, head=head, out=os.path.join(args.out, head), overwrite=True, **settings)
        epochs_done = result.stats.words / corpus.n_tokens
        if epochs_done < args.epochs - 0.01:
            note = (f"CPU budget: {args.cpu_softmax_seconds:g} s, {epochs_done:.2f} of {args.epochs} epochs: the "
                    "full softmax costs V d per distinct centre word, meant for a GPU")
        rows.append(row(head, result.vectors, result.stats.words_per_second, note))
    for baseline in baselines:
        config = baseline.config({"epochs": args.epochs})
        vectors, record = baseline.train(corpus, config, Callback())
        rows.append(row(baseline.name, vectors, record["training"]["words_per_second"],
                        f"{baseline.trains}, lr {record['training']['lr']:g}"))
    print()
    print("| head | WS353 | SimLex | MEN | words/s | note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        cells = " | ".join(f"{r['scores'][b]['spearman']:.3f} ({r['scores'][b]['covered']}/{r['scores'][b]['pairs']})"
                           for b in BENCHMARKS)
        print(f"| {r['head']} | {cells} | {r['words_per_second']:,.0f} | {r['note']} |")
    total = time.time() - started
    print(f"\nvectors in {args.out}/<head>/vectors.txt; total {total:.0f}s")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as handle:
        json.dump({"corpus": corpus.description, "tokens": corpus.n_tokens, "epochs": args.epochs, "gpu": gpu,
                   "seconds": total, "torch": torch.__version__, "rows": rows}, handle, indent=1)
    return 0


def row(name: str, vectors: w2v.Vectors, words_per_second: float, note: str) -> dict:
    """One line of the table: the scores on the three benchmarks, speed, a note, and the vectors' geometry."""
    return {"head": name, "scores": {r["benchmark"]: r for r in w2v.evaluate(vectors, BENCHMARKS)},
            "words_per_second": words_per_second, "note": note, "geometry": w2v.embedding_geometry(vectors)}


if __name__ == "__main__":
    sys.exit(main())
