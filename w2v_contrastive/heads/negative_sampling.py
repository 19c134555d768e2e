"""Skip-gram with negative sampling (SGNS), word2vec's objective.

For a true pair (w, c) and k noise words n_1..n_k ~ Q (Q = unigram^0.75):

    L(w, c) = -log sigma(s(w, c)) - sum_{j=1..k} log sigma(-s(w, n_j))

Reference: Mikolov, Sutskever, Chen, Corrado & Dean (2013), "Distributed Representations of Words
and Phrases and their Compositionality", NIPS, eq. 4.
Related: NCE's loss with the log(k Q) correction dropped, so it does not estimate p(c | w); at the
optimum s(w, c) = PMI(w, c) - log k (Levy & Goldberg 2014, "Neural Word Embedding as Implicit
Matrix Factorization").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Head, RowLoss, Scores, ScoreRequest, register
from .nce import logistic_row_loss, logistic_row_settings


@register("negative-sampling")
class NegativeSampling(Head):
    def __init__(self, negatives: int = 5, shared_negatives: bool = False):
        super().__init__()
        self.request = ScoreRequest(negatives=max(1, negatives), shared_negatives=shared_negatives)
        self.negatives, self.shared_negatives = self.request.negatives, shared_negatives

    def forward(self, scores: Scores) -> torch.Tensor:
        return F.softplus(-scores.positive) + F.softplus(scores.negative).sum(1)

    def fused_row_loss(self):
        return logistic_row_loss()

    def fused_row_settings(self):
        return logistic_row_settings()

    def gpu_row_loss(self):
        return RowLoss()
