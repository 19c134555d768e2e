"""Every training knob in one dataclass, with its default and its validation."""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from typing import Any

from .errors import W2VError
from .heads.distances import DISTANCES
from .heads.triplet import MININGS
from .model import MODELS
from .sampling.pairs import PAIR_ORDERS
from .subwords import DEFAULT_BUCKETS, Subwords

DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "gutenberg-mid.txt.xz")


#: the option groups of ``--help``, in order
GROUPS = ("corpus", "model and objective", "optimisation", "checkpoints and reliability (docs/reliability.md)",
          "torchrun jobs (README: Several processes, GPUs and nodes)")
CORPUS, MODEL, OPTIMISATION, RELIABILITY, TORCHRUN = GROUPS
#: --share-negatives: noise words drawn per pair, or per centre word's window (train/fused_sgd.py)
SHARE_NEGATIVES = ("pair", "window")
#: how a head's default SGD step is chosen when --lr is not given (train/setup.py, ``default_lr``)
LR_DEFAULTS = ("budget", "word2vec")


def option(default: Any = None, help: str = "", group: str = MODEL, *, flags: tuple[str, ...] = (),
           choices: tuple[str, ...] | None = None, metavar: str | None = None, cli: bool = True, factory=None):
    """A settings field with what the command line needs to offer it (cli.py builds ``--help`` from these):
    its help text, its group, its flags (default ``--field-name``; a negative flag such as ``--no-progress``
    for a setting that is on by default), its choices, or ``cli=False`` for settings only the API sets."""
    metadata = {"help": help, "group": group, "flags": flags, "choices": choices, "metavar": metavar, "cli": cli}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TokenizerOptions:
    """How raw text becomes tokens (part of the corpus cache key)."""

    lowercase: bool = option(True, "do not lowercase", CORPUS, flags=("--keep-case",))
    nfkc: bool = option(True, cli=False)
    keep_digits: bool = option(False, "keep numbers as tokens", CORPUS)
    keep_punctuation: bool = option(False, "keep punctuation as tokens", CORPUS)
    pretokenized: bool = option(False, "only split on whitespace; no normalisation", CORPUS)
    encoding_errors: str = option("strict", "undecodable bytes: stop with an error, or replace them (and report "
                                  "the count)", CORPUS, choices=("strict", "replace"))

    def validate(self) -> None:
        _check_choices(self)


@dataclass
class TrainConfig:
    """Settings of one training run. ``None`` means "the default of the head / optimizer".

    A head's own options are fields here too, named like the head's constructor arguments (heads/base.py
    fills them in and each head checks its own); the command line offers every field with ``cli=True``."""

    head: str = option("negative-sampling", cli=False)  # (train --head and compare --heads name it)
    model: str = option("skipgram", "skipgram: predict each context word from the centre word; cbow: predict the "
                        "centre word from the mean of its window's context words", choices=MODELS)
    subwords: str = option("0", "character n-grams of MIN to MAX characters in each word's input vector, the mean "
                           "of the word's row and its n-grams' (fastText: 3-6); 0: none", metavar="MIN-MAX")
    buckets: int = option(DEFAULT_BUCKETS, "hash buckets (rows) of the character n-grams of --subwords")
    dim: int = option(100, "vector dimension d")
    window: int = option(5, "largest window b: contexts within b words of the centre (word2vec's dynamic window)")
    negatives: int = option(5, "noise words per positive (K)", metavar="K")
    min_count: int = option(5, "drop words rarer than this", CORPUS)
    max_vocab: int | None = option(None, "keep only the N most frequent words", CORPUS, metavar="N")
    sample: float = option(1e-4, "subsampling threshold t (0: off)", CORPUS)
    alpha: float = option(0.75, "noise distribution Q ~ count^alpha", CORPUS)
    workers: int | None = option(None, "processes that encode the corpus into its cache (default: one per core); "
                                 "the cache is the same for any number", CORPUS)
    epochs: int = option(5, "passes over the corpus", OPTIMISATION)
    batch_size: int | None = option(None, "pairs per step (default: 16384 with the fused CPU kernels and for the "
                                    "softmax, 512 for heads with in-batch negatives, else 4096)", OPTIMISATION)
    lr: float | None = option(None, "initial learning rate (default: the head's, for SGD chosen for the training "
                              "budget as --lr-defaults says)", OPTIMISATION)
    lr_defaults: str = option("budget", "the default SGD step of a head: chosen for the training budget, corpus "
                              "tokens x epochs (train/setup.py), or word2vec's classic one (0.025 for "
                              "negative-sampling) for parity runs", OPTIMISATION, choices=LR_DEFAULTS)
    min_lr_ratio: float = option(1e-4, "the learning rate decays linearly to lr x this", OPTIMISATION)
    optimizer: str | None = option(None, "default: the head's (sgd with sparse row updates; adam for softmax and "
                                   "the metric-learning heads)", OPTIMISATION, choices=("sgd", "adam"))
    device: str = option("auto", "auto, cpu, cuda or cuda:N", OPTIMISATION)
    threads: int | None = option(None, "CPU threads (default: all cores)", OPTIMISATION)
    seed: int = option(0, "seed of the pair stream and the noise draws", OPTIMISATION)
    fused_cpu: bool = option(True, "train through the row step or autograd instead of the compiled SGD kernels (the "
                             "CPU's, and the GPU's Triton kernel; slower)", OPTIMISATION, flags=("--no-fused-cpu",))
    output_bias: bool | None = option(None, "per-word output bias b_c (default: the head's choice)",
                                      flags=("--output-bias", "--no-output-bias"))
    temperature: float = option(1.0, "temperature tau")
    shared_negatives: bool = option(False, "one set of K noise words per batch")
    share_negatives: str = option("pair", "the compiled kernels' noise words: K drawn for each pair (word2vec), or K "
                                  "for each centre word's window, shared by its pairs (pWord2Vec)",
                                  choices=SHARE_NEGATIVES)
    in_batch_negatives: bool = option(False, "the other contexts of the batch as negatives")
    logq_correction: bool = option(False, "subtract log Q from the logits (sampled softmax)")
    geometry: str | None = option(None, "one table for words and contexts, or two (default: the head's)",
                                  choices=("tied", "untied"))
    margin: float | None = option(None, "margin eps (default: the head's for its distance)")
    distance: str | None = option(None, "distance between vectors (default euclidean)", choices=tuple(DISTANCES))
    mining: str = option("all", "which noise words count", choices=MININGS)
    noise_negatives: bool = option(False, "K negatives from Q instead of the batch's other contexts")
    embedding_l2: float | None = option(None, "L2 weight on the vectors (default 0.002)")
    softmax_chunk: int | None = option(None, "softmax: vocabulary rows per chunk of log Z (default: blocks of about "
                                       "1 MB of scores on a CPU, to stay in cache; 8,192 rows on a GPU)")
    chunk_tokens: int = option(1 << 20, cli=False)  # corpus tokens the pair stream turns into pairs at once
    pair_order: str = option("auto", "the order of the pairs: centre tokens shuffled, each with its pairs together "
                             "(grouped as word2vec groups them; the softmax computes log Z once per centre word), the "
                             "pairs themselves shuffled, or the centre tokens in corpus order, each with its pairs "
                             "(word2vec's order: faster on the CPU's fused kernel, worse for batched steps); auto: text "
                             "for CBOW on the fused kernel, else centre (a comparison: centre for every head)",
                             OPTIMISATION, choices=("auto", *PAIR_ORDERS))
    max_words: int | None = option(None, "stop after this many corpus tokens", OPTIMISATION)
    #: fraction of the lines (documents) held out of training for the estimator diagnostics
    #: (eval/estimators.py); the same lines for every run on a corpus
    holdout: float = option(0.0, "fraction of documents held out for the estimator diagnostics", OPTIMISATION)
    #: a wall-clock budget; the learning rate decays with whichever of words and seconds is further along
    max_seconds: float | None = option(None, "stop after this many seconds of training", OPTIMISATION,
                                       flags=("--max-seconds", "--seconds"))
    log_every_seconds: float = option(2.0, "seconds between metrics.jsonl records", OPTIMISATION,
                                      flags=("--log-every",))
    progress: bool = option(True, "no progress output", OPTIMISATION, flags=("--no-progress",))
    checkpoint_every: int | None = option(None, "write a resumable checkpoint every N steps", RELIABILITY,
                                          metavar="N")
    checkpoint_minutes: float | None = option(None, "write a resumable checkpoint every M minutes", RELIABILITY,
                                              metavar="M")
    nan_policy: str = option("stop", "on a non-finite loss: stop (keeping the last checkpoint), or halve the "
                             "learning rate, reload the last good state and continue", RELIABILITY,
                             choices=("stop", "backoff"))
    deterministic: bool = option(False, "bit-identical results for a seed on the CPU (the fused kernel runs on "
                                 "one thread)", RELIABILITY)
    sync: str = option("auto", "keep the ranks' parameters equal by summing gradients every step, or by averaging "
                       "the parameters every --average-every steps (auto: gradients for autograd heads on CPU; "
                       "average for the fused CPU kernel and on GPUs)", TORCHRUN,
                       choices=("auto", "gradients", "average"))
    average_every: int = option(16, "steps between parameter averages with --sync average", TORCHRUN, metavar="K")
    tokenizer: TokenizerOptions = option(cli=False, factory=TokenizerOptions)

    def validate(self) -> None:
        """Check every setting: one W2VError naming the first bad one. The head checks its own options."""
        from .heads import build_head

        _check_choices(self)
        positive_ints = ("dim", "window", "epochs", "batch_size", "min_count", "max_vocab", "softmax_chunk",
                         "chunk_tokens", "checkpoint_every", "average_every", "threads", "buckets", "workers")
        for name in positive_ints:
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise W2VError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.negatives < 0:
            raise W2VError(f"negatives must be >= 0, got {self.negatives}")
        if self.sample < 0:
            raise W2VError(f"sample must be >= 0 (0 disables subsampling), got {self.sample}")
        for name in ("lr", "max_seconds", "checkpoint_minutes"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise W2VError(f"{name.replace('_', '-')} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.holdout < 0.5:
            raise W2VError(f"holdout must be in [0, 0.5), got {self.holdout}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise W2VError(f"device must be auto, cpu or cuda, not {self.device!r}")
        self.tokenizer.validate()
        self.subword_units()
        head = build_head(self.head, self)  # an unknown head, or one of its options out of range, is an error here
        request = head.request
        if self.share_negatives == "window" and (self.model != "skipgram" or not request.negatives
                                                 or request.shared_negatives or request.in_batch):
            raise W2VError("--share-negatives window shares a centre word's noise words among its window's pairs: it "
                           "needs --model skipgram and a head that draws K noise words for each pair "
                           "(negative-sampling, nce, infonce, without --shared-negatives or --in-batch-negatives)")
        if self.model not in head.models:
            raise W2VError(f"the {self.head} head trains only {', '.join(head.models)}, not --model {self.model}: it "
                           "measures distances between two words' vectors, and a window's mean is no word's vector")

    def subword_units(self) -> Subwords | None:
        """The n-gram lengths and buckets of ``subwords``, or None without subwords."""
        return Subwords.parse(self.subwords, self.buckets)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        values = dict(values)
        tokenizer = TokenizerOptions(**values.pop("tokenizer", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(tokenizer=tokenizer, **{k: v for k, v in values.items() if k in known})


def scalar_type(kind: Any) -> type:
    """bool, int, float or str: the type a settings field of annotation ``kind`` holds (None aside)."""
    return next(t for t in (bool, int, float, str) if t is kind or t in typing.get_args(kind))


def setting_type(name: str) -> type:
    """The type of :class:`TrainConfig` field ``name`` (e.g. float for ``lr``)."""
    return scalar_type(typing.get_type_hints(TrainConfig)[name])


def _check_choices(settings: Any) -> None:
    """Every field that lists its choices holds one of them (or None, where None is its default)."""
    for f in dataclasses.fields(settings):
        choices, value = f.metadata.get("choices"), getattr(settings, f.name)
        if choices and value not in choices and not (value is None and f.default is None):
            raise W2VError(f"{f.name.replace('_', '-')} must be one of {', '.join(choices)}, not {value!r}")
