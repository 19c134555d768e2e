"""Peak resident memory against corpus size: encoding a corpus, then training on it; and where it goes.

    python scripts/bench_memory.py --corpus big.txt --max-words 15000000,60000000,0
    python scripts/bench_memory.py --corpus data/gutenberg-mid.txt.xz --breakdown
    python scripts/bench_memory.py --corpus big.txt --stream --max-words ''

``--breakdown`` instead follows one process through the stages of a negative-sampling run (import
torch, numba, the package; the encoded corpus; the trainer with its compiled kernel; one epoch) and
records its resident memory after each: bench/memory-breakdown-<date>.json.

Each measurement runs in its own process (peak RSS is per process): first the encoding from a cold
cache (a fresh --cache-dir), then one epoch of negative sampling (dim 100) stopped after each
--max-words value (0: the whole epoch). Memory that does not grow with the tokens read shows as
equal peaks. The encoding row also gives the peak of its largest worker process (encode.py) and,
with ``--stream``, reads the file as a streamed ``datasets`` text dataset (one row per line). Writes
bench/memory-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile

from benchlib import in_own_process, peak_rss_mb, write_json


def measure(corpus: str, cache_dir: str, max_words: int | None, workers: int | None = None,
            stream: bool = False) -> dict:
    import resource
    import time

    import w2v_contrastive as w2v

    started = time.time()
    source = corpus
    if stream:  # a datasets IterableDataset: one row per line of the file, read once
        import datasets

        source = datasets.load_dataset("text", data_files=corpus, split="train", streaming=True)
    encoded = w2v.prepare_corpus(source, cache_dir=cache_dir, workers=workers)
    row = {"corpus": corpus, "streamed": stream, "file_bytes": os.path.getsize(corpus), "tokens": encoded.n_tokens,
           "types": len(encoded.words), "from_cache": encoded.from_cache, "encode_seconds": round(time.time() - started, 1),
           "workers": encoded.encoding.get("workers"), "peak_rss_mb_after_encoding": round(peak_rss_mb()),
           "lines": encoded.n_lines, "line_starts_mb": round(encoded.line_starts.nbytes / 2**20),
           "peak_rss_mb_largest_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}
    if max_words is not None:
        result = w2v.train(encoded, "negative-sampling", epochs=1, max_words=max_words or None, progress=False)
        row.update({"trained_words": round(result.stats.words), "vocabulary": len(result.vocab),
                    "words_per_second": round(result.stats.words_per_second),
                    "peak_rss_mb": round(result.stats.peak_rss_mb)})
    return row


def resident_mb() -> dict:
    """This process's current (VmRSS) and peak (VmHWM) resident memory in MB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        fields = dict(line.split(":", 1) for line in handle if line.startswith(("VmRSS", "VmHWM")))
    return {key: round(int(value.split()[0]) / 1024) for key, value in fields.items()}


def breakdown(corpus: str, cache_dir: str) -> dict:
    stages = [{"stage": "python", **resident_mb()}]
    import torch  # noqa: F401

    stages.append({"stage": "import torch", **resident_mb()})
    import numba  # noqa: F401

    stages.append({"stage": "import numba", **resident_mb()})
    import w2v_contrastive as w2v
    from w2v_contrastive.train.trainer import Trainer

    stages.append({"stage": "import w2v_contrastive (tokenizers, scipy, datasets, ...)", **resident_mb()})
    encoded = w2v.prepare_corpus(corpus, cache_dir=cache_dir)
    config = w2v.make_config("negative-sampling", epochs=1, progress=False)
    vocab = w2v.Vocabulary.from_corpus(encoded, config.min_count, None)
    stages.append({"stage": f"encoded corpus ({encoded.n_tokens:,} tokens, from cache: {encoded.from_cache})",
                   **resident_mb()})
    trainer = Trainer(config, encoded, vocab)
    stages.append({"stage": f"trainer: tables of {len(vocab):,} x {config.dim}, noise tables, compiled kernel",
                   **resident_mb()})
    trainer.fit()
    stages.append({"stage": "after one epoch (pair stream chunks of about 1M tokens)", **resident_mb()})
    return {"corpus": corpus, "stages": stages}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--max-words", default="15000000,60000000,0", help="comma-separated; 0 is the whole epoch")
    parser.add_argument("--cache-dir", default=None, help="default: a fresh temporary folder (cold encoding)")
    parser.add_argument("--breakdown", action="store_true", help="where one run's memory goes, stage by stage")
    parser.add_argument("--workers", type=int, default=None, help="encoding processes (default: one per core)")
    parser.add_argument("--stream", action="store_true", help="read the corpus as a streamed datasets text dataset "
                        "(encoding only: a stream is not cached, so give --max-words '')")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help="default: bench/memory[-breakdown]-<date>.json")
    args = parser.parse_args()
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="w2v-bench-memory-")
    if args.breakdown and args.worker is None:
        in_own_process(__file__, "--corpus", args.corpus, "--cache-dir", cache_dir, "--worker", "encode")  # cache it
        report = in_own_process(__file__, "--corpus", args.corpus, "--cache-dir", cache_dir, "--worker", "breakdown")
        for stage in report["stages"]:
            print(f"{stage['VmRSS']:>6} MB now, {stage['VmHWM']:>6} MB peak   {stage['stage']}")
        write_json(args.out or f"bench/memory-breakdown-{datetime.date.today()}.json", report)
        return 0
    if args.worker == "breakdown":
        print(json.dumps(breakdown(args.corpus, cache_dir)))
        return 0
    if args.worker is not None:
        print(json.dumps(measure(args.corpus, cache_dir, None if args.worker == "encode" else int(args.worker),
                                 args.workers, args.stream)))
        return 0
    rows = []
    options = [*(["--workers", str(args.workers)] if args.workers else []), *(["--stream"] if args.stream else [])]
    for step in ["encode", *filter(None, args.max_words.split(","))]:
        rows.append(in_own_process(__file__, "--corpus", args.corpus, "--cache-dir", cache_dir, "--worker", step,
                                   *options))
        print(json.dumps(rows[-1]), flush=True)
    write_json(args.out or f"bench/memory-{datetime.date.today()}.json", {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
