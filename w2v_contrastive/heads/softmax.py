"""Full softmax: the exact maximum-likelihood objective of skip-gram.

    p(c | w) = exp s(w, c) / Z(w),   Z(w) = sum_{v in V} exp s(w, v)
    L(w, c) = -log p(c | w) = log Z(w) - s(w, c)

Reference: Mikolov, Chen, Corrado & Dean (2013), "Efficient Estimation of Word Representations in
Vector Space", eq. for the skip-gram model (before hierarchical softmax / negative sampling).
Related: ``nce``, ``negative-sampling`` and ``infonce`` estimate this model with sampled words;
this head is the exact reference they are compared against. Z(w) is computed in vocabulary chunks
(``--softmax-chunk``), so memory is O(B x chunk), not O(B x V); time is O(B x V x d).
"""

from __future__ import annotations

import torch

from .base import Head, Scores, ScoreRequest, register


@register("softmax")
class FullSoftmax(Head):
    wants_output_bias = True
    # Every output row gets a gradient from every pair of the batch, so summed-loss SGD either
    # diverges or, at a safe step size, never breaks the initial symmetry; Adam's per-row scaling works.
    # Re-measured with log Z once per centre word (bench/softmax-defaults-2026-12-01.json: gutenberg-mid,
    # full vocabulary, 1M tokens, lr 0.005-0.04 x batch 4,096 / 16,384): 16,384 pairs at 0.04 gave the
    # lowest held-out cross-entropy (7.290) and trained 1.2x faster than 4,096 pairs (fewer dense Adam steps).
    default_optimizer = "adam"
    default_lr = {"sgd": 0.002, "adam": 0.04}
    default_batch_size = 16384

    def __init__(self):
        super().__init__()
        self.request = ScoreRequest(full_vocabulary=True)

    def forward(self, scores: Scores) -> torch.Tensor:
        return scores.log_partition - scores.positive
