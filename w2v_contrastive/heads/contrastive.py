"""Contrastive loss: pull true pairs together, push noise pairs beyond a margin.

For a pair of vectors with label y (1: similar, 0: dissimilar) at distance D, and margin eps:

    L = y D^2 + (1 - y) max(0, eps - D)^2

In skip-gram the word w and its true context c form the similar pair (u_w, v_c); w and each of K
noise words n_k ~ Q form dissimilar pairs (u_w, v_{n_k}) (noise words equal to c are skipped):

    L(w, c) = D(w, c)^2 + sum_{k=1..K} max(0, eps - D(w, n_k))^2

D is the Euclidean distance by default, or the chord between the normalised vectors
(``--distance cosine``, see ``distances.py``).

References: Chopra, Hadsell & LeCun (2005), "Learning a Similarity Metric Discriminatively, with
Application to Face Verification"; Hadsell, Chopra & LeCun (2006), "Dimensionality Reduction by
Learning an Invariant Mapping", eq. 4 (this form, up to the factor 1/2).
Related: ``triplet`` (the margin is relative to the positive's distance instead of absolute),
``negative-sampling`` (the same K noise pairs, scored by dot products through a sigmoid).
"""

from __future__ import annotations

import torch

from .base import Head, Scores, ScoreRequest, register
from .distances import distance_and_margin


@register("contrastive")
class Contrastive(Head):
    output_init = "uniform"
    takes_output_bias = False
    models = ("skipgram",)  # (see Head.models)
    # The pull term's gradient 2 (u - v) is unbounded and a frequent word's row sums it over every
    # occurrence in the batch: SGD at 0.025 diverges, at 0.0025 barely moves (MEN 0.00 on
    # gutenberg-small); Adam's per-row step size fits (MEN 0.40). Tied tables did better than untied
    # there on MEN and SimLex (docs/objectives.md).
    default_optimizer = "adam"
    default_geometry = "tied"
    default_margin = {"euclidean": 1.0, "cosine": 1.0}

    def __init__(self, negatives: int = 5, margin: float | None = None, distance: str | None = None):
        super().__init__()
        self.distance, self.margin = distance_and_margin(distance, margin, self.default_margin)
        self.negatives = negatives
        self.request = ScoreRequest(negatives=negatives, squared_norms=True)

    def forward(self, scores: Scores) -> torch.Tensor:
        loss = self.distance.positive(scores, squared=True)
        if scores.negative is not None:
            push = (self.margin - self.distance.negative(scores)).clamp_min(0.0).square()
            loss = loss + push.masked_fill(scores.negative_is_positive, 0.0).sum(1)
        return loss
