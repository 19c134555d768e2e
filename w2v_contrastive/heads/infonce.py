"""InfoNCE: pick the true context among itself and K negatives (categorical cross-entropy).

With candidates {c} + {n_1..n_K} (noise words from Q, and/or the other contexts of the batch) and
temperature tau:

    f(w, x) = s(w, x) / tau        (or s(w, x) / tau - log Q(x) with the log Q correction)

    L(w, c) = -log [ exp f(w, c) / (exp f(w, c) + sum_{k=1..K} exp f(w, n_k)) ]

Candidates equal to c ("accidental hits") are removed, and so are in-batch candidates from pairs of
the same word w (its other true contexts: the pair stream keeps a centre token's pairs together). Minimising L maximises a lower bound on the
mutual information, I(w; c) >= log(K + 1) - L.

References: van den Oord, Li & Vinyals (2018), "Representation Learning with Contrastive Predictive
Coding", eq. 4. With the log Q correction it is sampled softmax (Bengio & Senecal 2008; Jean, Cho,
Memisevic & Bengio 2015, "On Using Very Large Target Vocabulary for Neural Machine Translation"),
which tends to the full ``softmax`` as K grows. With in-batch negatives only and tau = 1 it is
Sohn's multi-class N-pair loss (2016).
Related: ``nce`` (binary instead of categorical), ``softmax`` (all V words as candidates).

Note on the correction for in-batch candidates: they are drawn from the corpus' context
distribution, not from Q; the correction still subtracts log Q, an approximation.
"""

from __future__ import annotations

import functools
import math

import torch

from ..errors import W2VError
from .base import Head, RowLoss, Scores, ScoreRequest, register
from .compiled_exp import compiled_exp_neg


@register("infonce")
class InfoNCE(Head):
    # The K + 1 softmax terms share one unit of gradient (sum_k |dL/ds_k| = 2 (1 - p_c)), less than
    # negative sampling's K + 1 independent sigmoids, so word2vec's 0.025 under-trains it. The step was first
    # chosen (0.05) on the same benchmarks the README reports; chosen again on development pairs alone
    # (compare --tune, README "Tuned"), 0.1 beat 0.05 by 0.03 and 0.04 of mean rho in two searches on
    # gutenberg-mid, and 0.2 collapsed (bench/tuned-comparison-2026-12-01, bench/tuned-lr-extension-2026-12-01).
    default_lr = {"sgd": 0.1, "adam": 0.005}

    def __init__(self, negatives: int = 5, shared_negatives: bool = False, in_batch_negatives: bool = False,
                 temperature: float = 1.0, logq_correction: bool = False):
        super().__init__()
        if not negatives and not in_batch_negatives:
            raise W2VError("infonce needs negatives: --negatives K > 0 and/or --in-batch-negatives")
        if not temperature > 0:
            raise W2VError(f"temperature must be > 0, got {temperature}")
        self.request = ScoreRequest(negatives=negatives, shared_negatives=shared_negatives, in_batch=in_batch_negatives)
        self.negatives, self.shared_negatives, self.in_batch_negatives = negatives, shared_negatives, in_batch_negatives
        self.temperature = temperature
        self.logq_correction = logq_correction

    def _logits(self, score: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
        logits = score / self.temperature
        return logits - log_q if self.logq_correction else logits

    def forward(self, scores: Scores) -> torch.Tensor:
        columns = [self._logits(scores.positive, scores.positive_log_q).unsqueeze(1)]
        if scores.negative is not None:
            negative = self._logits(scores.negative, scores.negative_log_q)
            columns.append(negative.masked_fill(scores.negative_is_positive, float("-inf")))
        if scores.in_batch is not None:
            in_batch = self._logits(scores.in_batch, scores.in_batch_log_q)
            columns.append(in_batch.masked_fill(scores.in_batch_is_positive, float("-inf")))
        logits = torch.cat(columns, dim=1)
        return torch.logsumexp(logits, dim=1) - logits[:, 0]

    def fused_row_loss(self):
        return categorical_row_loss()

    def fused_row_settings(self):
        return self.temperature, float(self.logq_correction)

    def gpu_row_loss(self):
        return RowLoss(categorical=True, subtract_log_q=self.logq_correction, temperature=self.temperature)


@functools.lru_cache(maxsize=None)
def categorical_row_loss():
    """Compiled row: logits f_k (hits left out), L = log sum_k exp f_k - f_0,
    dL/ds_k = (softmax(f)_k - [k = 0]) / tau. ``settings``: (tau, 1 with the log Q correction else 0)."""
    from numba import njit

    exp_neg = compiled_exp_neg()

    @njit(fastmath=True, error_model="numpy")
    def row_loss(scores, log_q, hit, grad, settings):
        temperature, logq_correction = settings[0], settings[1] != 0.0
        for k in range(scores.shape[0]):
            grad[k] = scores[k] / temperature - (log_q[k] if logq_correction else 0.0)
        top = grad[0]  # the true context is never a hit
        for k in range(1, scores.shape[0]):
            if not hit[k]:
                top = max(top, grad[k])
        positive_logit = grad[0]
        norm = 0.0
        for k in range(scores.shape[0]):
            grad[k] = 0.0 if hit[k] else exp_neg(top - grad[k])
            norm += grad[k]
        for k in range(scores.shape[0]):
            grad[k] = (grad[k] / norm - (1.0 if k == 0 else 0.0)) / temperature
        return top + math.log(norm) - positive_logit

    return row_loss
