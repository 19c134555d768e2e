"""The head interface: scores in, per-example loss out.

A head declares in :attr:`Head.request` which scores it needs (how many noise words from Q, shared
by the batch or drawn per example, the batch's other contexts, the full-vocabulary log partition);
:func:`score_batch` computes exactly those for a batch of (word, context) pairs and hands them to the
head in a :class:`Scores`. The head never touches the corpus, the optimizer or the device choice.

Adding an objective is one file in this folder that subclasses :class:`Head` under
``@register("name")``, plus its import line in ``heads/__init__.py``. Constructor keyword arguments
are filled from the training config fields of the same name.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import W2VError

HEADS: dict[str, type["Head"]] = {}


def register(name: str):
    """Class decorator that makes a head selectable as ``--head name``."""

    def decorate(cls: type["Head"]) -> type["Head"]:
        cls.name = name
        HEADS[name] = cls
        return cls

    return decorate


@dataclass(frozen=True)
class ScoreRequest:
    """What a head needs besides s(w, c) of the true pairs."""

    negatives: int = 0
    shared_negatives: bool = False
    in_batch: bool = False
    full_vocabulary: bool = False


@dataclass
class Scores:
    """Scores of one batch of B (word w, context c) pairs. Optional fields are None unless requested.

    positive: float[B], s(w, c). positive_log_q: float[B], log Q(c).
    negative: float[B, K], s(w, n_k) for noise words n_k ~ Q. negative_log_q: float[B, K] or [1, K].
    negative_is_positive: bool[B, K], n_k == c (an "accidental hit").
    in_batch: float[B, B], s(w_i, c_j). in_batch_log_q: float[1, B]. in_batch_is_positive: bool[B, B], c_j == c_i.
    log_partition: float[B], log sum_v exp s(w, v) over the whole vocabulary.
    """

    positive: torch.Tensor
    positive_log_q: torch.Tensor
    negative: torch.Tensor | None = None
    negative_log_q: torch.Tensor | None = None
    negative_is_positive: torch.Tensor | None = None
    in_batch: torch.Tensor | None = None
    in_batch_log_q: torch.Tensor | None = None
    in_batch_is_positive: torch.Tensor | None = None
    log_partition: torch.Tensor | None = None


class Head(nn.Module):
    """A training objective for skip-gram: ``forward(scores) -> float[B]`` per-example losses."""

    name: ClassVar[str] = ""
    #: whether the model gets a per-word output bias b_c unless the user says otherwise
    wants_output_bias: ClassVar[bool] = False
    #: the optimizer used when the user names none, and the learning rate per optimizer
    default_optimizer: ClassVar[str] = "sgd"
    default_lr: ClassVar[dict[str, float]] = {"sgd": 0.025, "adam": 0.005}

    request: ScoreRequest

    def forward(self, scores: Scores) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def fused_row_loss(self):
        """Optional: the same loss for one pair's candidate row, as a numba-compiled function
        ``row_loss(s, log_q, hit, grad) -> L`` for the fused CPU path (``train/fused_sgd.py``).

        s: float32[1 + K], scores of the true context then of its K noise words; log_q: their log Q;
        hit[k]: candidate k is the true context (k > 0). Writes dL/ds_k into grad (float32[1 + K])
        and returns L. Only for heads whose ``request`` is per-example negatives; it must agree with
        :meth:`forward` (tests check both on the same scores). Heads without it use autograd.
        """
        raise NotImplementedError


def head_class(name: str) -> type[Head]:
    """The registered head called ``name``; a W2VError listing the choices if there is none."""
    if name not in HEADS:
        raise W2VError(f"unknown head {name!r}; choose one of: {', '.join(sorted(HEADS))}")
    return HEADS[name]


def build_head(name: str, settings: Any) -> Head:
    """Instantiate head ``name``, taking constructor arguments from ``settings`` attributes."""
    cls = head_class(name)
    parameters = inspect.signature(cls.__init__).parameters
    kwargs = {p: getattr(settings, p) for p in parameters if p != "self" and hasattr(settings, p)}
    return cls(**kwargs)


def score_batch(model, noise, request: ScoreRequest, centers: torch.Tensor, contexts: torch.Tensor,
                generator: torch.Generator | None = None, softmax_chunk: int = 8192) -> Scores:
    """Compute the scores ``request`` asks for, for pairs (centers[b], contexts[b]).

    model: a :class:`~w2v_contrastive.model.SkipGram`; noise: a
    :class:`~w2v_contrastive.sampling.noise.NoiseDistribution` on the same device.
    """
    batch = centers.shape[0]
    u = model.word_vectors(centers)
    if request.negatives and not request.shared_negatives:
        # one [B, 1 + K] block of candidates: the true context first, then its noise words
        noise_words = noise.sample((batch, request.negatives), generator)
        v, b = model.context_vectors(torch.cat([contexts.unsqueeze(1), noise_words], dim=1))
        candidate = (torch.bmm(v, u.unsqueeze(2)).squeeze(2) + b).float()
        positive, scores_negative = candidate[:, 0], candidate[:, 1:]
        v_true, b_true = v[:, 0], b[:, 0]
        negative_log_q = noise.log_probs[noise_words]
        hits = noise_words
    elif request.negatives:
        noise_words = noise.sample((request.negatives,), generator)
        v, b = model.context_vectors(torch.cat([contexts, noise_words]))
        v_true, b_true = v[:batch], b[:batch]
        positive = ((u * v_true).sum(-1) + b_true).float()
        scores_negative = (u @ v[batch:].T + b[batch:]).float()
        negative_log_q = noise.log_probs[noise_words].unsqueeze(0)
        hits = noise_words.unsqueeze(0)
    else:
        v_true, b_true = model.context_vectors(contexts)
        positive = ((u * v_true).sum(-1) + b_true).float()
    scores = Scores(positive=positive, positive_log_q=noise.log_probs[contexts])
    if request.negatives:
        scores.negative = scores_negative
        scores.negative_log_q = negative_log_q
        scores.negative_is_positive = hits == contexts.unsqueeze(1)
    if request.in_batch:
        scores.in_batch = (u @ v_true.T + b_true).float()
        scores.in_batch_log_q = scores.positive_log_q.unsqueeze(0)
        scores.in_batch_is_positive = contexts.unsqueeze(0) == contexts.unsqueeze(1)
    if request.full_vocabulary:
        scores.log_partition = model.log_partition(u, softmax_chunk).float()
    return scores
