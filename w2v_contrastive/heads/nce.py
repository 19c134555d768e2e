"""Noise-contrastive estimation (NCE).

For a true pair (w, c) and k noise words n_1..n_k ~ Q, NCE trains a logistic classifier that tells
data from noise with the logit

    Delta s(w, x) = s(w, x) - log(k Q(x))

    L(w, c) = -log sigma(Delta s(w, c)) - sum_{j=1..k} log(1 - sigma(Delta s(w, n_j)))

Its optimum is s(w, x) = log p(x | w): the model is self-normalised (log Z(w) taken as 0, as Mnih &
Teh do), so the scores estimate the full softmax's log-probabilities, more exactly as k grows.

References: Gutmann & Hyvarinen (2010), "Noise-contrastive estimation: A new estimation principle
for unnormalized statistical models", AISTATS; Mnih & Teh (2012), "A fast and simple algorithm for
training neural probabilistic language models", ICML.
Related: ``negative-sampling`` is this loss without the log(k Q) term (Dyer 2014, "Notes on Noise
Contrastive Estimation and Negative Sampling"); ``infonce`` is its categorical counterpart.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from .base import Head, RowLoss, Scores, ScoreRequest, register
from .compiled_exp import compiled_exp_neg


@register("nce")
class NCE(Head):
    wants_output_bias = True
    # word2vec's step 0.025 under-trains NCE in 5 epochs: of 0.0125, 0.025, 0.05 and 0.1 on
    # gutenberg-mid, 0.05 gave the best SimLex (0.230 against 0.195) and WS353/MEN (README).
    default_lr = {"sgd": 0.05, "adam": 0.005}

    def __init__(self, negatives: int = 5, shared_negatives: bool = False):
        super().__init__()
        self.request = ScoreRequest(negatives=max(1, negatives), shared_negatives=shared_negatives)
        self.negatives, self.shared_negatives = self.request.negatives, shared_negatives
        self.log_k = math.log(self.request.negatives)

    def forward(self, scores: Scores) -> torch.Tensor:
        data_logit = scores.positive - self.log_k - scores.positive_log_q
        noise_logit = scores.negative - self.log_k - scores.negative_log_q
        return F.softplus(-data_logit) + F.softplus(noise_logit).sum(1)

    def fused_row_loss(self):
        return logistic_row_loss()

    def fused_row_settings(self):
        return logistic_row_settings(self.log_k, subtract_log_kq=True)

    def gpu_row_loss(self):
        return RowLoss(subtract_log_q=True, log_k=self.log_k)


def logistic_row_settings(log_k: float = 0.0, subtract_log_kq: bool = False,
                          labels_from_hits: bool = False) -> tuple[float, float, float]:
    """The settings of :func:`logistic_row_loss`: NCE's shift by log k + log Q(x) (or none: negative sampling),
    and whether the labels are the path's branches (the hierarchical softmax)."""
    return log_k, float(subtract_log_kq), float(labels_from_hits)


@functools.lru_cache(maxsize=None)
def logistic_row_loss():
    """Compiled row loss of NCE (logit s - log(k Q(x))) or, without the shift, of negative sampling:
    softplus(-logit_0) + sum_{k>0} softplus(logit_k), with dL/dlogit = sigma(logit) - [k = 0]. With
    ``labels_from_hits`` the label of candidate k is 1 - hit[k] instead of [k = 0] (the hierarchical
    softmax, whose hit[k] is the branch d_k taken at node k of the path). ``settings``: of
    :func:`logistic_row_settings`. In float32, the label's sign as arithmetic and the exp inlined: no branch on
    the data and no library call per candidate."""
    from numba import njit

    exp_neg = compiled_exp_neg()

    @njit(fastmath=True, error_model="numpy")
    def row_loss(scores, log_q, hit, grad, settings):
        log_k, subtract_log_kq, labels_from_hits = np.float32(settings[0]), settings[1] != 0.0, settings[2] != 0.0
        one, zero = np.float32(1.0), np.float32(0.0)
        hinge, product, log_product = zero, 1.0, 0.0
        for k in range(scores.shape[0]):
            logit = scores[k] - (log_k + log_q[k]) if subtract_log_kq else scores[k]
            label = np.float32(1 - np.int32(hit[k])) if labels_from_hits else np.float32(k == 0)
            sign = np.float32(2.0) * label - one  # (arithmetic, not a branch per candidate)
            z = sign * logit  # the loss term is softplus(-z) = -log sigma(z) = max(-z, 0) + log(1 + e)
            e = exp_neg(abs(z))  # one exp for both, stable for any z
            r = one / (one + e)
            grad[k] = -sign * (e * r if z >= zero else r)  # dL/dlogit = -sign sigma(-z)
            hinge += max(-z, zero)
            product *= 1.0 + e  # sum_k log(1 + e_k) as logs of products of 1,000 factors (each at most 2)
            if k % 1000 == 999:
                log_product, product = log_product + math.log(product), 1.0
        return hinge + log_product + math.log(product)

    return row_loss
