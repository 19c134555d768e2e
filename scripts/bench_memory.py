"""Peak resident memory against corpus size: encoding a corpus, then training on it.

    python scripts/bench_memory.py --corpus big.txt --max-words 15000000,60000000,0

Each measurement runs in its own process (peak RSS is per process): first the encoding from a cold
cache (a fresh --cache-dir), then one epoch of negative sampling (dim 100) stopped after each
--max-words value (0: the whole epoch). Memory that does not grow with the tokens read shows as
equal peaks. Writes bench/memory-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile

from benchlib import in_own_process, peak_rss_mb, write_json


def measure(corpus: str, cache_dir: str, max_words: int | None) -> dict:
    import time

    import w2v_contrastive as w2v

    started = time.time()
    encoded = w2v.prepare_corpus(corpus, cache_dir=cache_dir)
    row = {"corpus": corpus, "file_bytes": os.path.getsize(corpus), "tokens": encoded.n_tokens,
           "types": len(encoded.words), "from_cache": encoded.from_cache, "encode_seconds": round(time.time() - started, 1),
           "peak_rss_mb_after_encoding": round(peak_rss_mb())}
    if max_words is not None:
        result = w2v.train(encoded, "negative-sampling", epochs=1, max_words=max_words or None, progress=False)
        row.update({"trained_words": round(result.stats.words), "vocabulary": len(result.vocab),
                    "words_per_second": round(result.stats.words_per_second),
                    "peak_rss_mb": round(result.stats.peak_rss_mb)})
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--max-words", default="15000000,60000000,0", help="comma-separated; 0 is the whole epoch")
    parser.add_argument("--cache-dir", default=None, help="default: a fresh temporary folder (cold encoding)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=f"bench/memory-{datetime.date.today()}.json")
    args = parser.parse_args()
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="w2v-bench-memory-")
    if args.worker is not None:
        print(json.dumps(measure(args.corpus, cache_dir, None if args.worker == "encode" else int(args.worker))))
        return 0
    rows = []
    for step in ["encode", *args.max_words.split(",")]:
        rows.append(in_own_process(__file__, "--corpus", args.corpus, "--cache-dir", cache_dir, "--worker", step))
        print(json.dumps(rows[-1]), flush=True)
    write_json(args.out, {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
