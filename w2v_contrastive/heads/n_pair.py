"""Multi-class N-pair loss: the true context against N - 1 others at once, on dot products.

For an anchor x with embedding f, its positive f^+ and negatives f_1^-, ..., f_{N-1}^-:

    L = log(1 + sum_{k=1..N-1} exp(f^T f_k^- - f^T f^+)) + lambda/2 (||f||^2 + ||f^+||^2)

In skip-gram f = u_w, f^+ = v_c and f^T f^+ = s(w, c). N-pair-mc (Sohn's efficient batch
construction, the default) takes the other pairs' positives in the batch as negatives: f_k^- = v_{c_k}
for the contexts of the batch's pairs of other words (those equal to c are skipped); ``--noise-negatives`` draws K
negatives from Q instead. The L2 term keeps the unnormalised embeddings from growing without bound,
as the paper prescribes (lambda = ``--embedding-l2``, 0.002 as in the reference implementation).

The first term is exactly ``infonce`` with temperature 1 and no log Q correction (log(1 + sum exp(s_k -
s_+)) = log sum exp over {s_+, s_k} - s_+), which is why this head is InfoNCE plus the L2 penalty.

Reference: Sohn (2016), "Improved Deep Metric Learning with Multi-class N-pair Loss Objective",
eq. 6 (N-pair-mc) and section 3.2.2 (regularisation).
Related: ``infonce`` (the same softmax, with temperature and log Q options), ``triplet`` (N = 2),
``lifted-structured`` (all negatives of the batch on distances).
"""

from __future__ import annotations

import dataclasses

import torch

from ..errors import W2VError
from .base import Head, Scores, register
from .infonce import InfoNCE


@register("n-pair")
class NPair(InfoNCE):
    fused_row_loss = Head.fused_row_loss  # the compiled InfoNCE row has no L2 term: train through autograd
    # gutenberg-small, batch 1024: SGD at InfoNCE's 0.05 MEN 0.28 after 1 epoch; Adam 0.43 after 2
    default_optimizer = "adam"

    def __init__(self, negatives: int = 5, noise_negatives: bool = False, embedding_l2: float | None = None):
        super().__init__(negatives=negatives if noise_negatives else 0, in_batch_negatives=not noise_negatives)
        if embedding_l2 is not None and embedding_l2 < 0:
            raise W2VError(f"embedding-l2 must be >= 0, got {embedding_l2}")
        self.request = dataclasses.replace(self.request, squared_norms=True)
        self.noise_negatives = noise_negatives
        self.embedding_l2 = 0.002 if embedding_l2 is None else embedding_l2

    def forward(self, scores: Scores) -> torch.Tensor:
        penalty = 0.5 * self.embedding_l2 * (scores.word_sq_norm + scores.positive_sq_norm)
        return super().forward(scores) + penalty
