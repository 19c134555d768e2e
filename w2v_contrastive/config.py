"""Every training knob in one dataclass, with its default and its validation."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import W2VError

DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "gutenberg-mid.txt.xz")


@dataclass
class TokenizerOptions:
    """How raw text becomes tokens (part of the corpus cache key)."""

    lowercase: bool = True
    nfkc: bool = True
    keep_digits: bool = False
    keep_punctuation: bool = False
    pretokenized: bool = False
    encoding_errors: str = "strict"

    def validate(self) -> None:
        if self.encoding_errors not in ("strict", "replace"):
            raise W2VError(f"encoding_errors must be 'strict' or 'replace', not {self.encoding_errors!r}")


@dataclass
class TrainConfig:
    """Settings of one training run. ``None`` means "the default of the head / optimizer"."""

    head: str = "negative-sampling"
    dim: int = 100
    window: int = 5
    negatives: int = 5
    min_count: int = 5
    max_vocab: int | None = None
    sample: float = 1e-4
    alpha: float = 0.75
    epochs: int = 5
    #: pairs per step; None: 16384 on the fused CPU path (a unit of work there), 512 for heads with
    #: in-batch negatives (their work per pair grows with the batch), else 4096
    batch_size: int | None = None
    lr: float | None = None
    min_lr_ratio: float = 1e-4
    optimizer: str | None = None
    device: str = "auto"
    threads: int | None = None
    seed: int = 0
    #: on the CPU with SGD, heads with a compiled row loss train in word2vec's fused per-pair loop
    #: (train/fused_sgd.py) instead of through autograd; False keeps every step on autograd
    fused_cpu: bool = True
    output_bias: bool | None = None
    temperature: float = 1.0
    shared_negatives: bool = False
    in_batch_negatives: bool = False
    logq_correction: bool = False
    #: "tied" (one table: v = u) or "untied" (skip-gram's word and context tables); None: the head's default
    geometry: str | None = None
    #: metric-learning heads: margin eps (None: the head's default for its distance), distance
    #: ("euclidean" or "cosine"), triplet mining, n-pair's negatives from Q and its L2 weight
    margin: float | None = None
    distance: str | None = None
    mining: str = "all"
    noise_negatives: bool = False
    embedding_l2: float | None = None
    softmax_chunk: int = 8192
    chunk_tokens: int = 1 << 20
    max_words: int | None = None
    #: fraction of the lines (documents) held out of training for the estimator diagnostics
    #: (eval/estimators.py); the same lines for every run on a corpus
    holdout: float = 0.0
    #: stop after this many seconds of training (a wall-clock budget; the learning rate decays with
    #: whichever of words and seconds is further along)
    max_seconds: float | None = None
    log_every_seconds: float = 2.0
    #: write a resumable checkpoint every N steps and/or every M minutes (into the run's output folder)
    checkpoint_every: int | None = None
    checkpoint_minutes: float | None = None
    #: on a non-finite loss or parameter: "stop" (keeping the last good checkpoint) or "backoff"
    #: (halve the learning rate, reload the last good checkpoint, continue)
    nan_policy: str = "stop"
    #: bit-identical results for a seed on the CPU: the fused kernel runs serially (no Hogwild races)
    #: and torch uses its deterministic algorithms
    deterministic: bool = False
    #: under torchrun (train/distributed.py): "gradients" (all-reduce every step), "average" (local SGD,
    #: parameters averaged every ``average_every`` steps) or "auto" (average for the fused CPU kernel,
    #: which has no gradients; gradients otherwise)
    sync: str = "auto"
    average_every: int = 16
    progress: bool = True
    tokenizer: TokenizerOptions = field(default_factory=TokenizerOptions)

    def validate(self) -> None:
        from .heads import head_class

        head_class(self.head)
        positive_ints = ("dim", "window", "epochs", "batch_size", "min_count", "softmax_chunk", "chunk_tokens")
        for name in positive_ints:
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise W2VError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.negatives < 0:
            raise W2VError(f"negatives must be >= 0, got {self.negatives}")
        if self.max_vocab is not None and self.max_vocab < 1:
            raise W2VError(f"max-vocab must be at least 1, got {self.max_vocab}")
        if self.sample < 0:
            raise W2VError(f"sample must be >= 0 (0 disables subsampling), got {self.sample}")
        if self.lr is not None and not self.lr > 0:
            raise W2VError(f"lr must be > 0, got {self.lr}")
        if not self.temperature > 0:
            raise W2VError(f"temperature must be > 0, got {self.temperature}")
        if self.geometry not in (None, "tied", "untied"):
            raise W2VError(f"geometry must be 'tied' or 'untied', not {self.geometry!r}")
        if self.margin is not None and not self.margin > 0:
            raise W2VError(f"margin must be > 0, got {self.margin}")
        if not 0.0 <= self.holdout < 0.5:
            raise W2VError(f"holdout must be in [0, 0.5), got {self.holdout}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise W2VError(f"max-seconds must be > 0, got {self.max_seconds}")
        if self.embedding_l2 is not None and self.embedding_l2 < 0:
            raise W2VError(f"embedding-l2 must be >= 0, got {self.embedding_l2}")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise W2VError(f"checkpoint-every must be at least 1 step, got {self.checkpoint_every}")
        if self.checkpoint_minutes is not None and not self.checkpoint_minutes > 0:
            raise W2VError(f"checkpoint-minutes must be > 0, got {self.checkpoint_minutes}")
        if self.sync not in ("auto", "gradients", "average"):
            raise W2VError(f"sync must be 'auto', 'gradients' or 'average', not {self.sync!r}")
        if self.average_every < 1:
            raise W2VError(f"average-every must be at least 1 step, got {self.average_every}")
        if self.nan_policy not in ("stop", "backoff"):
            raise W2VError(f"nan-policy must be 'stop' or 'backoff', not {self.nan_policy!r}")
        if self.optimizer not in (None, "sgd", "adam"):
            raise W2VError(f"optimizer must be 'sgd' or 'adam', not {self.optimizer!r}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise W2VError(f"device must be auto, cpu or cuda, not {self.device!r}")
        if self.threads is not None and self.threads < 1:
            raise W2VError(f"threads must be at least 1, got {self.threads}")
        self.tokenizer.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        values = dict(values)
        tokenizer = TokenizerOptions(**values.pop("tokenizer", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(tokenizer=tokenizer, **{k: v for k, v in values.items() if k in known})
