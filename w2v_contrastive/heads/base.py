"""The head interface: scores in, per-example loss out.

A head declares in :attr:`Head.request` which scores it needs (how many noise words from Q, shared
by the batch or drawn per example, the batch's other contexts, the full-vocabulary log partition);
:func:`score_batch` computes exactly those for a batch of (word, context) pairs and hands them to the
head in a :class:`Scores`. The head never touches the corpus, the optimizer or the device choice.

Adding an objective is one file in this folder that subclasses :class:`Head` under
``@register("name")``, plus its import line in ``heads/__init__.py`` (docs/extending.md walks through
one). Constructor keyword arguments are filled from the training config fields of the same name; the
head checks them and keeps each as an attribute of the same name (:meth:`Head.hyperparameters`).
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
    #: squared norms ||u_w||^2 and ||v_x||^2 of every scored vector, for distance-based heads
    squared_norms: bool = False


@dataclass
class Scores:
    """Scores of one batch of B (word w, context c) pairs. Optional fields are None unless requested.

    positive: float[B], s(w, c). positive_log_q: float[B], log Q(c).
    negative: float[B, K], s(w, n_k) for noise words n_k ~ Q. negative_log_q: float[B, K] or [1, K].
    negative_is_positive: bool[B, K], n_k == c (an "accidental hit").
    in_batch: float[B, B], s(w_i, c_j). in_batch_log_q: float[1, B]. in_batch_is_positive: bool[B, B], c_j == c_i
    or w_j == w_i: candidate j is the true context, or a context of the same word (no negative for w_i: the pair
    stream keeps a centre token's pairs together, so these are its other true contexts).
    log_partition: float[B], log sum_v exp s(w, v) over the whole vocabulary (computed once per distinct w).
    word_sq_norm: float[B], ||u_w||^2; positive_sq_norm: float[B], ||v_c||^2; negative_sq_norm and
    in_batch_sq_norm: ||v_x||^2 shaped like negative_log_q and in_batch_log_q.
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
    word_sq_norm: torch.Tensor | None = None
    positive_sq_norm: torch.Tensor | None = None
    negative_sq_norm: torch.Tensor | None = None
    in_batch_sq_norm: torch.Tensor | None = None


class Head(nn.Module):
    """A training objective for skip-gram: ``forward(scores) -> float[B]`` per-example losses."""

    name: ClassVar[str] = ""
    #: whether the model gets a per-word output bias b_c unless the user says otherwise
    wants_output_bias: ClassVar[bool] = False
    #: the optimizer used when the user names none, and the learning rate per optimizer
    default_optimizer: ClassVar[str] = "sgd"
    default_lr: ClassVar[dict[str, float]] = {"sgd": 0.025, "adam": 0.005}
    #: whether the context table v is the word table u ("tied") or its own ("untied"), unless the user says
    default_geometry: ClassVar[str] = "untied"
    #: initial context vectors (untied): word2vec's "zeros", or "uniform" like the word vectors
    output_init: ClassVar[str] = "zeros"
    #: False for heads that read s(w, x) as the dot product u_w . v_x (distances): no bias allowed
    takes_output_bias: ClassVar[bool] = True
    #: pairs per autograd step when the user sets none (None: the trainer's default for the kind of head)
    default_batch_size: ClassVar[int | None] = None

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

    def hyperparameters(self) -> dict[str, Any]:
        """The options this head trains with, defaults resolved (recorded in config.json and compare's
        results): one entry per constructor argument, read from the attribute of the same name, which
        each head sets to the value it uses (a distance is recorded by its name)."""
        values = {name: getattr(self, name) for name in constructor_arguments(type(self))}
        return {name: getattr(value, "name", value) for name, value in values.items()}

    @classmethod
    def has_fused_row_loss(cls) -> bool:
        """Whether the head provides :meth:`fused_row_loss`."""
        return cls.fused_row_loss is not Head.fused_row_loss


def head_class(name: str) -> type[Head]:
    """The registered head called ``name``; a W2VError listing the choices if there is none."""
    if name not in HEADS:
        raise W2VError(f"unknown head {name!r}; choose one of: {', '.join(sorted(HEADS))}")
    return HEADS[name]


def constructor_arguments(cls: type[Head]) -> list[str]:
    """The names of a head's constructor arguments: each is a training setting of the same name."""
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def build_head(name: str, settings: Any) -> Head:
    """Instantiate head ``name``, taking every constructor argument from the ``settings`` attribute of
    the same name (a :class:`~w2v_contrastive.config.TrainConfig`; an argument without one is a
    programming error, which tests/test_head_contract.py catches for every registered head)."""
    cls = head_class(name)
    return cls(**{argument: getattr(settings, argument) for argument in constructor_arguments(cls)})


def score_batch(model, noise, request: ScoreRequest, centers: torch.Tensor, contexts: torch.Tensor,
                generator: torch.Generator | None = None, softmax_chunk: int | None = None) -> Scores:
    """Compute the scores ``request`` asks for, for pairs (centers[b], contexts[b]).

    model: a :class:`~w2v_contrastive.model.SkipGram`; noise: a
    :class:`~w2v_contrastive.sampling.noise.NoiseDistribution` on the same device.
    """
    candidates, noise_words = draw_candidates(noise, request, contexts, generator)
    rows = model.lookup(centers, candidates)
    return score_rows(*rows, noise, request, centers, contexts, noise_words, model, softmax_chunk)


def draw_candidates(noise, request: ScoreRequest, contexts: torch.Tensor,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(the context words to look up, the noise words drawn): per-example negatives give a [B, 1 + K]
    block (the true context first, then its noise words), shared ones [B + K] (the contexts, then K
    noise words for the whole batch), none the contexts alone."""
    if request.negatives and not request.shared_negatives:
        noise_words = noise.sample((contexts.shape[0], request.negatives), generator)
        return torch.cat([contexts.unsqueeze(1), noise_words], dim=1), noise_words
    if request.negatives:
        noise_words = noise.sample((request.negatives,), generator)
        return torch.cat([contexts, noise_words]), noise_words
    return contexts, None


def score_rows(u: torch.Tensor, v: torch.Tensor, b: torch.Tensor, noise, request: ScoreRequest, centers: torch.Tensor,
               contexts: torch.Tensor, noise_words: torch.Tensor | None, model=None,
               softmax_chunk: int | None = None) -> Scores:
    """The :class:`Scores` of a batch from its looked-up rows: u_w (float[B, d]) and the rows v and biases b
    of :func:`draw_candidates`' words. ``model`` is read only for the full-vocabulary log partition."""
    batch = centers.shape[0]
    per_example = request.negatives and not request.shared_negatives
    if per_example:
        candidate = (torch.bmm(v, u.unsqueeze(2)).squeeze(2) + b).float()
        positive, scores_negative = candidate[:, 0], candidate[:, 1:]
        v_true, b_true, v_noise = v[:, 0], b[:, 0], v[:, 1:]
        negative_log_q = noise.log_probs[noise_words]
        hits = noise_words
    elif request.negatives:
        v_true, b_true, v_noise = v[:batch], b[:batch], v[batch:]
        positive = ((u * v_true).sum(-1) + b_true).float()
        scores_negative = (u @ v_noise.T + b[batch:]).float()
        negative_log_q = noise.log_probs[noise_words].unsqueeze(0)
        hits = noise_words.unsqueeze(0)
    else:
        v_true, b_true = v, b
        positive = ((u * v_true).sum(-1) + b_true).float()
    scores = Scores(positive=positive, positive_log_q=noise.log_probs[contexts])
    if request.negatives:
        scores.negative = scores_negative
        scores.negative_log_q = negative_log_q
        scores.negative_is_positive = hits == contexts.unsqueeze(1)
    if request.in_batch:
        scores.in_batch = (u @ v_true.T + b_true).float()
        scores.in_batch_log_q = scores.positive_log_q.unsqueeze(0)
        scores.in_batch_is_positive = ((contexts.unsqueeze(0) == contexts.unsqueeze(1))
                                       | (centers.unsqueeze(0) == centers.unsqueeze(1)))
    if request.full_vocabulary:
        scores.log_partition = grouped_log_partition(model, u, centers, softmax_chunk).float()
    if request.squared_norms:
        scores.word_sq_norm = u.float().square().sum(-1)
        scores.positive_sq_norm = v_true.float().square().sum(-1)
        if request.negatives:
            scores.negative_sq_norm = v_noise.float().square().sum(-1).view_as(negative_log_q)
        if request.in_batch:
            scores.in_batch_sq_norm = scores.positive_sq_norm.unsqueeze(0)
    return scores


def grouped_log_partition(model, u: torch.Tensor, centers: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """log Z(w_b) for every pair b -> float[B], computed once per distinct centre word of the batch.

    log Z(w) = log sum_v exp(u_w . v_v + b_v) depends on the centre word only, so the V-wide row of
    scores is computed for the U distinct words (U <= B; about B / 6 when the stream keeps a centre
    token's pairs together) and gathered back to the pairs. Exact: a word's rows u_b are one embedding
    row, and the gather's backward sums the pairs' gradients into it, so the loss and every gradient are
    those of the per-pair computation (tests/test_scores.py)."""
    words, inverse = torch.unique(centers, return_inverse=True)
    positions = torch.arange(centers.shape[0], device=centers.device)
    first = torch.full(words.shape, centers.shape[0], device=centers.device).scatter_reduce_(
        0, inverse, positions, reduce="amin")  # one pair of each word: its row of u
    return model.log_partition(u[first], chunk)[inverse]
