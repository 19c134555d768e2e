"""`make demo`: train the spine's heads on the embedded default corpus and print a score table.

Default corpus: data/gutenberg-mid.txt.xz (186 public-domain books, 4M tokens). On a CPU the full
softmax (O(V d) per distinct centre word, meant for a GPU) trains fewer epochs over the full
vocabulary, said so in the table.
Run with --epochs/--heads to change the plan; outputs go to runs/demo/<head>, the table and its
figures to runs/demo/results.json. Each run shows its progress on stderr (a line every 5 s when that
is not a terminal, e.g. in a CI log).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

import w2v_contrastive as w2v


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", default="negative-sampling,nce,infonce,softmax")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--cpu-softmax-epochs", type=int, default=1,
                        help="epochs of the full softmax when there is no GPU (about 3 minutes each on 2 cores)")
    args = parser.parse_args()
    gpu = torch.cuda.is_available()
    started = time.time()
    corpus = w2v.prepare_corpus()
    print(f"corpus: {corpus.description}: {corpus.n_tokens:,} tokens, {len(corpus.words):,} types "
          f"({'from cache' if corpus.from_cache else f'encoded in {corpus.seconds:.1f}s'})")
    rows = []
    for head in args.heads.split(","):
        settings = {"epochs": args.epochs}
        note = ""
        if head == "softmax" and not gpu and args.cpu_softmax_epochs < args.epochs:
            settings.update(epochs=args.cpu_softmax_epochs)
            note = (f"CPU budget: {args.cpu_softmax_epochs} epoch(s), not {args.epochs}: the full softmax costs "
                    "V d per distinct centre word, meant for a GPU")
        result = w2v.train(corpus, head=head, out=os.path.join(args.out, head), overwrite=True, **settings)
        scores = {r["benchmark"]: r for r in w2v.evaluate(result.vectors)}
        rows.append((head, scores, result.stats.words_per_second, note, w2v.embedding_geometry(result.vectors)))
    print()
    print("| head | WS353 | SimLex | MEN | words/s | note |")
    print("|---|---|---|---|---|---|")
    for head, scores, wps, note, _ in rows:
        cells = " | ".join(f"{scores[b]['spearman']:.3f} ({scores[b]['covered']}/{scores[b]['pairs']})"
                           for b in ("wordsim353", "simlex999", "men3k"))
        print(f"| {head} | {cells} | {wps:,.0f} | {note} |")
    total = time.time() - started
    print(f"\nvectors in {args.out}/<head>/vectors.txt; total {total:.0f}s")
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as handle:
        json.dump({"corpus": corpus.description, "tokens": corpus.n_tokens, "epochs": args.epochs, "gpu": gpu,
                   "seconds": total, "torch": torch.__version__,
                   "rows": [{"head": head, "words_per_second": wps, "note": note, "scores": scores, "geometry": geometry}
                            for head, scores, wps, note, geometry in rows]}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
