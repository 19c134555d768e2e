"""Command-line front end: turns arguments into API calls. Errors become one line and exit code 2."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
import typing

from . import api
from .comparison import BASELINES, COMPARE_HOLDOUT, compare, results_table, tune, tuning_table
from .config import CORPUS, GROUPS, MODEL, TokenizerOptions, TrainConfig, scalar_type
from .errors import W2VError
from .eval.similarity import OOV_POLICIES
from .heads import HEADS, constructor_arguments
from .train.checkpoint import RESUMABLE_OVERRIDES


def _add_train_arguments(parser: argparse.ArgumentParser, one_head: bool = True) -> None:
    """The corpus options and every TrainConfig / TokenizerOptions field that has a command-line form,
    from the fields' metadata (config.option): flags, help, choices, group. Options that only some heads
    take name those heads in their help."""
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    corpus = groups[CORPUS]
    corpus.add_argument("--corpus", action="append", metavar="PATH",
                        help="text file, folder, .gz/.bz2/.xz, or .json/.jsonl/.parquet (repeatable); "
                             "default: the embedded Gutenberg corpus")
    corpus.add_argument("--text-column", default="text", help="column holding the text in json/parquet inputs")
    corpus.add_argument("--cache-dir", help="where encoded corpora are cached (default ~/.cache/w2v-contrastive)")
    if one_head:
        groups[MODEL].add_argument("--head", default=TrainConfig.head, help=f"objective: {', '.join(sorted(HEADS))}")
    takers = _heads_taking_each_setting()
    for settings in (TokenizerOptions, TrainConfig):
        hints = typing.get_type_hints(settings)
        for field in dataclasses.fields(settings):
            if field.metadata.get("cli"):
                _add_setting(groups[field.metadata["group"]], field, hints[field.name], takers.get(field.name))


def _add_setting(group, field: dataclasses.Field, kind: type, heads: list[str] | None) -> None:
    meta, default = field.metadata, field.default
    flags = meta["flags"] or ("--" + field.name.replace("_", "-"),)
    help_text = meta["help"] + (f" [{', '.join(heads)}]" if heads else "")
    options: dict = {"dest": field.name, "help": help_text}
    if bool in typing.get_args(kind) or kind is bool:
        if default is None:  # on, off, or the head's choice
            group.add_argument(flags[0], action="store_true", default=None, **options)
            group.add_argument(flags[1], dest=field.name, action="store_false", help="the opposite")
            return
        group.add_argument(*flags, action="store_false" if default else "store_true", **options)
        return
    if default is not None:
        options["help"] += " (default: %(default)s)"
    group.add_argument(*flags, type=scalar_type(kind), default=default, choices=meta["choices"], metavar=meta["metavar"],
                       **options)


def _heads_taking_each_setting() -> dict[str, list[str]]:
    """Setting name -> the heads whose constructor takes it, for settings that not every head takes."""
    takers: dict[str, list[str]] = {}
    for name in sorted(HEADS):
        for argument in constructor_arguments(HEADS[name]):
            takers.setdefault(argument, []).append(name)
    return {setting: heads for setting, heads in takers.items() if len(heads) < len(HEADS)}


def _settings(args: argparse.Namespace) -> dict:
    """The TrainConfig and TokenizerOptions values given on the command line (defaults included)."""
    return {field.name: getattr(args, field.name) for settings in (TokenizerOptions, TrainConfig)
            for field in dataclasses.fields(settings) if field.metadata.get("cli")}


def _train(args: argparse.Namespace) -> None:
    if args.resume:
        result = api.resume(args.resume, args.corpus, cache_dir=args.cache_dir, **_resume_overrides(args))
        args.out = result.out
    elif args.out:
        result = api.train(corpus=args.corpus, head=args.head, out=args.out, text_column=args.text_column,
                           cache_dir=args.cache_dir, overwrite=args.overwrite, **_settings(args))
    else:
        raise W2VError("train needs --out DIR (or --resume DIR to continue an interrupted run)")
    if not api.is_main_process():
        return
    s = result.stats
    examples = "windows" if result.config.model == "cbow" else "pairs"  # (CBOW: one example per centre word)
    print(f"trained {result.config.head}: {len(result.vocab)} words x {result.config.dim} dims, "
          f"{s.words:,.0f} corpus words in {s.seconds:.1f}s ({s.words_per_second:,.0f} words/s, "
          f"{s.pairs_per_second:,.0f} {examples}/s) on {s.device}, final loss {s.final_loss:.4f}")
    subwords = ", vectors.subwords.npz" if result.vectors.subwords is not None else ""
    print(f"wrote {args.out}/vectors.txt{subwords}, vocab.tsv, config.json, metrics.jsonl, checkpoint.pt")


def _evaluate(args: argparse.Namespace) -> None:
    vectors = api.load(args.vectors)
    similarity = args.benchmark or ([] if args.analogy else list(api.DEFAULT_BENCHMARKS))
    for row in api.evaluate(vectors, similarity, args.oov):
        if args.json:
            print(json.dumps(row))
            continue
        print(f"{row['benchmark']:<16} {_correlation_line(row)}   covered {row['covered']}/{row['pairs']}"
              + (" (with subword vectors)" if "in_vocabulary" in row else ""))
        if "in_vocabulary" in row:
            part = row["in_vocabulary"]
            print(f"{'  in vocabulary':<16} {_correlation_line(part)}   covered {part['covered']}/{row['pairs']}")
    if args.diagnostics:
        geometry = api.embedding_geometry(vectors)
        if args.json:
            print(json.dumps({"diagnostics": "geometry", **geometry}))
        else:
            print(f"{'geometry':<16} mean cosine of random word pairs {geometry['mean_cosine']:.4f}, effective rank "
                  f"{geometry['effective_rank']:.1f} of {geometry['dim']}")
        held_out = api.recorded_held_out(args.vectors)
        if held_out is not None and args.json:
            print(json.dumps({"diagnostics": "held_out", **held_out}))
        elif held_out is not None and held_out.get("model") == "tree":
            print(f"{'held-out':<16} hierarchical softmax cross-entropy {held_out['cross_entropy']:.4f} nats over "
                  f"{held_out['pairs']} pairs (exact: the tree's model is normalised)")
        elif held_out is not None:
            z, bound = held_out["log_z"], held_out["infonce_bound"]
            print(f"{'held-out':<16} softmax cross-entropy {held_out['softmax_cross_entropy']:.4f} nats over "
                  f"{held_out['pairs']} pairs; log Z mean {z['mean']:.3f} std {z['std']:.3f}; InfoNCE bound "
                  f"{bound['bound']:.3f} of log({bound['negatives']}+1) = {bound['max']:.3f}")
    for analogies in args.analogy or []:
        row = api.evaluate_analogies(vectors, analogies, args.analogy_method, args.restrict)
        if args.json:
            print(json.dumps(row))
            continue
        print(f"{row['benchmark']:<16} {row['method']} accuracy {_accuracy(row)} (semantic "
              f"{_accuracy(row['semantic'])}, syntactic {_accuracy(row['syntactic'])})   "
              f"covered {row['covered']}/{row['questions']} in the top {row['restrict']:,} words")


def _correlation_line(row: dict) -> str:
    low, high = row["spearman_ci95"] or (float("nan"), float("nan"))
    return f"spearman {row['spearman']:7.4f} [{low:.3f}, {high:.3f}]   pearson {row['pearson']:7.4f}"


def _accuracy(part: dict) -> str:
    return "   n/a" if part["accuracy"] is None else f"{part['accuracy']:.4f}"


def _compare(args: argparse.Namespace) -> None:
    heads = [h.strip() for h in args.heads.split(",") if h.strip()]
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise W2VError(f"--seeds takes comma-separated integers, not {args.seeds!r}") from None
    if args.tune is not None:
        results = tune(args.corpus, heads, args.out, args.tune, baselines=baselines, trials=args.trials, seeds=seeds,
                       select_on=args.select_on, report_on=args.report_on, split_seed=args.split_seed,
                       benchmarks=args.benchmark or (), cache_dir=args.cache_dir, text_column=args.text_column,
                       on_trial=_print_trial, **_settings(args))
        if results is not None:  # (None: a torchrun rank other than 0)
            print(tuning_table(results), end="")
            print(f"wrote {args.out}/results.json, results.md")
        return
    for name in ("trials", "select_on", "report_on"):
        if getattr(args, name) is not None:
            raise W2VError(f"--{name.replace('_', '-')} goes with --tune")
    results = compare(args.corpus, heads, args.out, seeds, baselines=baselines, benchmarks=args.benchmark or (),
                      analogies=args.analogy, eval_every_seconds=args.eval_every, tensorboard=args.tensorboard,
                      cache_dir=args.cache_dir, text_column=args.text_column, **_settings(args))
    if results is None:  # a torchrun rank other than 0
        return
    print(results_table(results), end="")
    print(f"wrote {args.out}/results.json, results.md, loss.png, rho.png, scores.png")


def _print_trial(record: dict) -> None:
    settings = ", ".join(f"{k}={v}" for k, v in record["search"].items())
    print(f"{record['head']} trial {record['trial'] + 1}/{record['of']} ({settings}): development rho "
          f"{record['dev_score']:.4f}", file=sys.stderr, flush=True)


def _neighbors(args: argparse.Namespace) -> None:
    vectors = api.load(args.vectors)
    for word in args.words:
        neighbours = vectors.most_similar(word.lower() if vectors.covers(word.lower()) else word, args.k)
        print(f"{word}: " + ", ".join(f"{w} {s:.3f}" for w, s in neighbours))


def _resume_overrides(args: argparse.Namespace) -> dict:
    """The settings given with --resume: those a resumed run may change; any other is an error."""
    defaults = build_parser().parse_args(["train", "--resume", args.resume])
    unchanged = _settings(defaults)
    given = {k: v for k, v in _settings(args).items() if v != unchanged[k]}
    if args.head != defaults.head:
        given["head"] = args.head
    if args.out or args.overwrite:
        given["out"] = args.out
    fixed = sorted(k for k in given if k not in RESUMABLE_OVERRIDES)
    if fixed:
        raise W2VError(f"--resume continues the run with its own settings; drop "
                       f"{', '.join('--' + k.replace('_', '-') for k in fixed)}")
    return given


def _export(args: argparse.Namespace) -> None:
    table = api.export(args.source, args.out, format=args.format, vectors=args.vectors)
    print(f"wrote {args.out}: {len(table)} words x {table.dim} dims ({args.format}, {args.vectors} vectors)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="w2v-contrastive", description=__doc__.split(":")[0] if __doc__ else None)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train word vectors with one head")
    train.add_argument("--out", help="output directory")
    train.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    train.add_argument("--resume", metavar="DIR", help="continue the interrupted run whose --out was DIR, from its "
                                                       "last checkpoint, with its settings")
    _add_train_arguments(train)
    train.set_defaults(run=_train)
    comparison = commands.add_parser("compare", help="train several heads under identical conditions and compare")
    comparison.add_argument("--heads", default="", help=f"comma-separated: {','.join(sorted(HEADS))}")
    comparison.add_argument("--baselines", default="", help="the incumbent tools, trained on the same corpus, "
                            f"vocabulary and shared settings, comma-separated: {','.join(BASELINES)} (gensim: "
                            "pip install 'w2v-contrastive[baselines]'; fasttext: [fasttext])")
    comparison.add_argument("--seeds", default="0", help="comma-separated seeds, one run per head and seed (0)")
    comparison.add_argument("--out", required=True, help="output directory (rerun the same command to resume)")
    comparison.add_argument("--benchmark", action="append", metavar="FILE", help="another similarity file (repeatable)")
    comparison.add_argument("--no-analogy", dest="analogy", action="store_false", help="skip the analogy benchmark")
    comparison.add_argument("--eval-every", type=float, default=30.0,
                            help="evaluate WS353 and SimLex every this many training seconds (30)")
    comparison.add_argument("--tensorboard", metavar="DIR", help="also log scalars for TensorBoard into DIR")
    tuning = comparison.add_argument_group("tuning (compare --tune; w2v_contrastive/comparison/tuning.py)")
    tuning.add_argument("--tune", metavar="SPEC", help="search each head's settings on development pairs and report "
                        "on the others: KEY=V1,V2,... (HEAD.KEY=... for one head; xF: F times the head's default), "
                        "e.g. 'lr=x0.5,x1,x2 window=2,5,10'")
    tuning.add_argument("--trials", type=int, help="random trials per head from the grid (default: the whole grid)")
    tuning.add_argument("--select-on", action="append", metavar="BENCHMARK",
                        help="select on these whole benchmarks (repeatable; default: a seeded half of every "
                             "benchmark's pairs, reporting on the other half)")
    tuning.add_argument("--report-on", action="append", metavar="BENCHMARK",
                        help="report on these benchmarks (repeatable; default: every one not used to select)")
    tuning.add_argument("--split-seed", type=int, default=0, help="seed of the development/reporting split (0)")
    _add_train_arguments(comparison, one_head=False)
    comparison.set_defaults(run=_compare, holdout=COMPARE_HOLDOUT)
    evaluate = commands.add_parser("evaluate", help="Spearman rho on word-similarity benchmarks")
    evaluate.add_argument("vectors", help="training output directory, word2vec text or binary file, or npy folder")
    evaluate.add_argument("--benchmark", action="append", metavar="FILE",
                          help="similarity file or shipped name (repeatable; default: wordsim353, simlex999, men3k)")
    evaluate.add_argument("--analogy", action="append", metavar="FILE",
                          help="questions-words file or shipped name (questions-words); repeatable")
    evaluate.add_argument("--oov", choices=OOV_POLICIES, default="vocabulary",
                          help="pairs with a word outside the vocabulary: left out (vocabulary), or scored with the "
                               "mean of its character n-gram vectors (subwords; models trained with --subwords), "
                               "reported beside the vocabulary pairs' figures")
    evaluate.add_argument("--analogy-method", choices=["3cosadd", "3cosmul"], default="3cosadd")
    evaluate.add_argument("--restrict", type=int, default=30000,
                          help="analogy answers among the N most frequent words (default 30000)")
    evaluate.add_argument("--diagnostics", action="store_true",
                          help="collapse/anisotropy (mean cosine of random word pairs, effective rank); for a run "
                               "trained with --holdout, its held-out softmax cross-entropy, log Z, InfoNCE bound")
    evaluate.add_argument("--json", action="store_true", help="one JSON object per benchmark and line")
    evaluate.set_defaults(run=_evaluate)
    neighbors = commands.add_parser("neighbors", help="nearest neighbours of words by cosine similarity")
    neighbors.add_argument("vectors")
    neighbors.add_argument("words", nargs="+")
    neighbors.add_argument("-k", type=int, default=10)
    neighbors.set_defaults(run=_neighbors)
    export = commands.add_parser("export", help="write vectors for other tools: word2vec text or binary, fastText "
                                                "(.vec), npy, sentence-transformers / model2vec, gensim")
    export.add_argument("source", help="training output directory (or, for input vectors, any vectors file)")
    export.add_argument("--format", choices=api.EXPORT_FORMATS, default="word2vec-text")
    export.add_argument("--vectors", choices=api.EXPORT_VECTORS, default="input",
                        help="input (word) table, output (context) table, or their sum")
    export.add_argument("--out", required=True, help="output file (a folder for npy and static-embedding)")
    export.set_defaults(run=_export)
    return parser


def _terminate(signal_number: int, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signal_number).name)


def _leave_process_group() -> None:
    """End a torchrun job's process group cleanly (no-op in a single process)."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        # SIGTERM unwinds like Ctrl-C, so half-built caches and work folders are cleaned up (training
        # itself turns both signals into a checkpoint and a clean stop: train/checkpoint.py)
        previous_handler = signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="warning: %(message)s",
                        stream=sys.stderr)
    try:
        args.run(args)
        _leave_process_group()
    except W2VError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print(f"error: interrupted ({exc or 'SIGINT'})", file=sys.stderr)
        return 143 if str(exc) == "SIGTERM" else 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous_handler)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
