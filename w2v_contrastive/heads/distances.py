"""Distances between a word vector u and a context vector v, for the metric-learning heads.

Computed from what :func:`~w2v_contrastive.heads.base.score_batch` already has, the dot product
u . v and the squared norms ||u||^2 and ||v||^2, so no [B, K, d] difference tensor is built:

    euclidean:  D(u, v)^2 = ||u - v||^2 = ||u||^2 + ||v||^2 - 2 u . v
    cosine:     D(u, v)^2 = ||u/||u|| - v/||v|| ||^2 = 2 - 2 cos(u, v)

"cosine" is the Euclidean distance between the vectors projected onto the unit sphere (the chord), a
monotone function of the cosine distance 1 - cos, in [0, 2]: the geometry of FaceNet's normalised
embeddings (Schroff et al. 2015). A head names the distance it uses and whether its formula squares
it; the distance is injected (``--distance``), the head holds only its loss.
"""

from __future__ import annotations

import torch

from ..errors import W2VError
from .base import Scores

#: D^2 is clamped at this before the square root: the gradient of D is finite everywhere and zero where
#: two vectors coincide (which is why distance losses cannot leave a collapsed embedding; see docs/objectives.md)
TINY = 1e-12


class Distance:
    """D(u, v) from u . v, ||u||^2, ||v||^2, broadcasting over any shapes."""

    name = ""

    def squared(self, dot: torch.Tensor, word_sq: torch.Tensor, context_sq: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover - interface

    def __call__(self, dot: torch.Tensor, word_sq: torch.Tensor, context_sq: torch.Tensor,
                 squared: bool = False) -> torch.Tensor:
        d2 = self.squared(dot, word_sq, context_sq).clamp_min(0.0)
        return d2 if squared else torch.sqrt(d2.clamp_min(TINY))

    def positive(self, scores: Scores, squared: bool = False) -> torch.Tensor:
        """D(w, c) of the true pairs: float[B]."""
        return self(scores.positive, scores.word_sq_norm, scores.positive_sq_norm, squared)

    def negative(self, scores: Scores, squared: bool = False) -> torch.Tensor:
        """D(w, n_k) to the noise words: float[B, K]."""
        return self(scores.negative, scores.word_sq_norm.unsqueeze(1), scores.negative_sq_norm, squared)

    def in_batch(self, scores: Scores, squared: bool = False) -> torch.Tensor:
        """D(w_i, c_j) between every word and every context of the batch: float[B, B]."""
        return self(scores.in_batch, scores.word_sq_norm.unsqueeze(1), scores.in_batch_sq_norm, squared)


class Euclidean(Distance):
    name = "euclidean"

    def squared(self, dot, word_sq, context_sq):
        return word_sq + context_sq - 2.0 * dot


class Cosine(Distance):
    name = "cosine"

    def squared(self, dot, word_sq, context_sq):
        return 2.0 - 2.0 * dot / torch.sqrt((word_sq * context_sq).clamp_min(TINY))


DISTANCES: dict[str, Distance] = {d.name: d for d in (Euclidean(), Cosine())}


def get_distance(name: str) -> Distance:
    if name not in DISTANCES:
        raise W2VError(f"unknown distance {name!r}; choose one of: {', '.join(DISTANCES)}")
    return DISTANCES[name]


def distance_and_margin(distance: str | None, margin: float | None,
                        default_margin: dict[str, float]) -> tuple[Distance, float]:
    """The distance a metric-learning head uses (euclidean unless named) and its margin (the head's
    default for that distance unless given)."""
    chosen = get_distance(distance or "euclidean")
    if margin is not None and not margin > 0:
        raise W2VError(f"margin must be > 0, got {margin}")
    return chosen, default_margin[chosen.name] if margin is None else margin
