"""Triplet loss: the true context must be closer to the word than a noise word, by a margin.

For an anchor a, a positive p and a negative n, with margin eps:

    L = max(0, ||f(a) - f(p)||^2 - ||f(a) - f(n)||^2 + eps)

In skip-gram the anchor is the word's vector u_w, the positive its true context's v_c and the
negatives K noise words n_k ~ Q (those equal to c are skipped). Per pair (w, c), with
t_k = D(w, c)^2 - D(w, n_k)^2 + eps, the ``mining`` option picks which triplets count:

    all:        L = mean_k max(0, t_k)                                    (every triplet)
    hardest:    L = max(0, max_k t_k)                                     (the closest noise word)
    semi-hard:  L = max(0, t_k*), k* = argmin_{k: D(w, n_k) > D(w, c)} D(w, n_k)
                (the closest noise word still farther than the positive, Schroff's choice;
                the hardest one when no noise word is farther)

D is the Euclidean distance by default; ``--distance cosine`` puts the vectors on the unit sphere as
FaceNet does (see ``distances.py``).

Reference: Schroff, Kalenichenko & Philbin (2015), "FaceNet: A Unified Embedding for Face
Recognition and Clustering", eq. 1 and section 3.2 (triplet selection).
Related: ``contrastive`` (absolute instead of relative margin), ``lifted-structured`` (all negatives
of the batch, smoothed), ``n-pair`` (all negatives at once, dot products instead of distances).
"""

from __future__ import annotations

import torch

from ..errors import W2VError
from .base import Head, Scores, ScoreRequest, register
from .distances import distance_and_margin

MININGS = ("all", "hardest", "semi-hard")


@register("triplet")
class Triplet(Head):
    output_init = "uniform"
    takes_output_bias = False
    models = ("skipgram",)  # (see Head.models)
    # Squared distances: unbounded gradients summed over a frequent word's occurrences, as for
    # ``contrastive``: SGD diverges at 0.025 and stalls at 0.0025 (MEN 0.10); Adam reaches MEN 0.43.
    default_optimizer = "adam"
    default_margin = {"euclidean": 1.0, "cosine": 0.5}

    def __init__(self, negatives: int = 5, margin: float | None = None, distance: str | None = None,
                 mining: str = "all"):
        super().__init__()
        if negatives < 1:
            raise W2VError("triplet needs noise words: --negatives K > 0")
        if mining not in MININGS:
            raise W2VError(f"unknown mining {mining!r}; choose one of: {', '.join(MININGS)}")
        self.distance, self.margin = distance_and_margin(distance, margin, self.default_margin)
        self.negatives, self.mining = negatives, mining
        self.request = ScoreRequest(negatives=negatives, squared_norms=True)

    def forward(self, scores: Scores) -> torch.Tensor:
        positive = self.distance.positive(scores, squared=True).unsqueeze(1)
        negative = self.distance.negative(scores, squared=True)
        valid = ~scores.negative_is_positive
        violation = positive - negative + self.margin  # t_k
        if self.mining == "all":
            hinge = violation.clamp_min(0.0) * valid
            return hinge.sum(1) / valid.sum(1).clamp_min(1)
        hardest = violation.masked_fill(~valid, float("-inf")).max(1).values
        if self.mining == "semi-hard":
            farther = valid & (negative > positive)
            semi_hard = violation.masked_fill(~farther, float("-inf")).max(1).values
            hardest = torch.where(farther.any(1), semi_hard, hardest)
        return hardest.clamp_min(0.0)
