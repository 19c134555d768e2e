"""Lifted structured loss: every positive pair against every negative edge of the batch, smoothed.

For a batch of embeddings with positive pairs P and negative pairs N, distances D and margin eps:

    J_ij = log( sum_{(i,k) in N} exp(eps - D_ik) + sum_{(j,l) in N} exp(eps - D_jl) ) + D_ij

    L = 1 / (2 |P|) sum_{(i,j) in P} max(0, J_ij)^2

In skip-gram the batch's B pairs (w_i, c_i) are the positive edges (u_{w_i}, v_{c_i}). The negative
edges of the word w_i are the batch's other contexts (u_{w_i}, v_{c_k}), and those of the context
c_i are the batch's other words (u_{w_l}, v_{c_i}), leaving out every edge of a true pair: pair k's
edges when c_k = c_i or w_k = w_i (another occurrence of the pair, or another context of the same
word, which the pair stream keeps in the same batch). So J_i reads row i and column i of the [B, B] matrix
D(w_l, c_k), and the per-pair loss is max(0, J_i)^2 / 2 (the trainer sums over the batch, the
mean over P is the learning rate's business). D is the Euclidean distance (not squared), as in the
paper, or the chord on the unit sphere (``--distance cosine``).

Reference: Song, Xiang, Jegelka & Savarese (2016), "Deep Metric Learning via Lifted Structured
Feature Embedding", eq. 4 (the smooth upper bound of eq. 3).
Related: ``triplet`` (one negative per positive, hard margin), ``n-pair`` and ``infonce`` with
in-batch negatives (the same batch, a softmax over dot products instead of a log-sum-exp of
distances on both sides of the edge).
"""

from __future__ import annotations

import torch

from .base import Head, Scores, ScoreRequest, register
from .distances import distance_and_margin

#: masked edges get this logit: exp() of it is 0, and, unlike -inf, it keeps gradients finite when
#: a pair has no negative edge at all (a batch of one context word)
MASKED = -1e4


@register("lifted-structured")
class LiftedStructured(Head):
    output_init = "uniform"
    takes_output_bias = False
    models = ("skipgram",)  # (see Head.models)
    # On gutenberg-small, 1 epoch: Adam, tied tables MEN 0.41 / SimLex 0.04; untied 0.34 / 0.03.
    default_optimizer = "adam"
    default_geometry = "tied"
    default_margin = {"euclidean": 1.0, "cosine": 1.0}

    def __init__(self, margin: float | None = None, distance: str | None = None):
        super().__init__()
        self.distance, self.margin = distance_and_margin(distance, margin, self.default_margin)
        self.request = ScoreRequest(in_batch=True, squared_norms=True)

    def forward(self, scores: Scores) -> torch.Tensor:
        distance = self.distance.in_batch(scores)  # D[l, k] = D(w_l, c_k)
        logits = (self.margin - distance).masked_fill(scores.in_batch_is_positive, MASKED)
        edges = torch.cat([logits, logits.T], dim=1)  # row i: the word's edges, then the context's
        lifted = torch.logsumexp(edges, dim=1) + distance.diagonal()
        return 0.5 * lifted.clamp_min(0.0).square()
