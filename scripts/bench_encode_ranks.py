"""Sharded encoding under torchrun: seconds per rank for R ranks against one process, on a cold cache.

    python scripts/bench_encode_ranks.py --corpus gutenberg-large.txt --ranks 2 --workers 1 --repeats 3

Each repeat runs one process with R x W workers (``prepare_corpus``), then a torchrun job of R ranks
with W workers each (corpus/shards.py: each rank encodes its pieces, the ranks all_gather their
(word, count) tables and line lengths, and send each other the ids of the lines each trains on). A
rank's row gives its phases: encoding its pieces, and the merge with the others (the collectives, the
exchange of ids, writing its shard). Writes bench/encode-ranks-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import in_own_process, worker_parser, write_json


def rank_main(spec: dict) -> None:
    """One rank of the torchrun job: encode its shard, write its row to spec["out"]/rank-<r>.json."""
    import torch.distributed as dist

    import w2v_contrastive as w2v
    from w2v_contrastive.corpus.readers import CorpusSource
    from w2v_contrastive.corpus.shards import Job, load_or_build_shard

    dist.init_process_group("gloo")
    dist.barrier()
    started = time.perf_counter()
    shard = load_or_build_shard(CorpusSource.from_inputs(spec["corpus"]), w2v.TokenizerOptions(), Job.joined(),
                                spec["cache_dir"], spec["workers"])
    seconds = time.perf_counter() - started
    with open(os.path.join(shard.directory, "meta.json"), encoding="utf-8") as handle:
        meta = json.load(handle)
    row = {"rank": dist.get_rank(), "seconds": round(seconds, 3), "tokens": shard.n_tokens,
           "stored_tokens": len(shard.tokens), "pieces_seconds": round(meta["pieces_seconds"], 3),
           "merge_seconds": round(meta["merge_seconds"], 3), "own_pieces": len(meta["each_piece_seconds"])}
    with open(os.path.join(spec["out"], f"rank-{row['rank']}.json"), "w", encoding="utf-8") as handle:
        json.dump(row, handle)
    dist.destroy_process_group()


def one_process(spec: dict) -> dict:
    import w2v_contrastive as w2v

    started = time.perf_counter()
    corpus = w2v.prepare_corpus(spec["corpus"], cache_dir=spec["cache_dir"], workers=spec["workers"])
    return {"seconds": round(time.perf_counter() - started, 3), "tokens": corpus.n_tokens}


def main() -> int:
    parser = worker_parser(__doc__.splitlines()[0], "encode-ranks")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="worker processes per rank")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rank", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank:
        rank_main(json.loads(args.rank))
        return 0
    if args.worker:
        print(json.dumps(one_process(json.loads(args.worker))))
        return 0
    report = {"command": " ".join(["python", *sys.argv]), "corpus": os.path.abspath(args.corpus), "ranks": args.ranks,
              "workers_per_rank": args.workers, "repeats": []}
    for repeat in range(args.repeats):
        scratch = tempfile.mkdtemp(prefix="w2v-bench-ranks-", dir=args.cache_dir)
        try:
            single = in_own_process(__file__, "--corpus", args.corpus, "--worker", json.dumps(
                {"corpus": args.corpus, "cache_dir": os.path.join(scratch, "one"), "workers": args.ranks * args.workers}))
            spec = {"corpus": args.corpus, "cache_dir": os.path.join(scratch, "ranks"), "workers": args.workers,
                    "out": scratch}
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.ranks}", __file__, "--corpus",
                            args.corpus, "--rank", json.dumps(spec)], check=True, capture_output=True)
            job = time.perf_counter() - started
            ranks = [json.load(open(os.path.join(scratch, f"rank-{r}.json"))) for r in range(args.ranks)]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        row = {"one_process": single, "torchrun_job_seconds": round(job, 3), "ranks": ranks,
               "slowest_rank_seconds": max(r["seconds"] for r in ranks)}
        report["repeats"].append(row)
        print(json.dumps(row), flush=True)
        write_json(args.out, report)
    report["median_ratio_slowest_rank_over_one_process"] = round(statistics.median(
        r["slowest_rank_seconds"] / r["one_process"]["seconds"] for r in report["repeats"]), 3)
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
