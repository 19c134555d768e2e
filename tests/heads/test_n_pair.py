"""n-pair: Sohn 2016, eq. 6 with the L2 term of section 3.2.2, as a loop. The loop takes the batch's other contexts
as negatives, or with noise_negatives the noise words (CASES: test_contract.py checks both against the head)."""

import math

import torch

from w2v_contrastive import TrainConfig
from w2v_contrastive.heads import build_head

from .common import B, COLLAPSED, K, collapsed, score

CASES = [("untied", {}), ("tied", {"embedding_l2": 0.1}), ("untied", {"noise_negatives": True})]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """log(1 + sum_k exp(s(w, n_k) - s(w, c))) + lambda/2 (||u_w||^2 + ||v_c||^2); the n_k are the batch's
    contexts of other words (those equal to c skipped), or with noise_negatives the noise words other than c."""
    losses = []
    for i, (w, c) in enumerate(zip(words, contexts)):
        in_batch = [x for x, other in zip(contexts, words) if other != w]  # contexts of the other words' pairs
        others = [x for x in (noise[i] if head.noise_negatives else in_batch) if x != c]
        positive = score(u, v, b, w, c)
        ranking = torch.log(1 + sum(torch.exp(score(u, v, b, w, x) - positive) for x in others))
        losses.append(ranking + head.embedding_l2 / 2 * (u[w] @ u[w] + v[c] @ v[c]))
    return torch.stack(losses)


def test_noise_negatives_are_k_words_from_q_instead_of_the_batchs_contexts():
    """(what the loss then is, the loop checks: CASES)"""
    head = build_head("n-pair", TrainConfig(head="n-pair", negatives=K, noise_negatives=True))
    assert head.request.negatives == K and not head.request.in_batch
    in_batch = build_head("n-pair", TrainConfig(head="n-pair", negatives=K)).request
    assert in_batch.negatives == 0 and in_batch.in_batch


def test_at_a_constant_embedding_only_the_l2_term_pulls():
    """In-batch negatives: each context row is pulled once as a positive and pushed B - 1 times with
    softmax weight 1/B each; the two cancel and only the L2 term's pull towards 0 is left."""
    loss, gradient, head, _ = collapsed("n-pair", COLLAPSED)
    s = float(COLLAPSED @ COLLAPSED)
    assert torch.allclose(loss, torch.full((B,), math.log(B) + head.embedding_l2 * s))
    assert math.isclose(gradient, head.embedding_l2 * float(COLLAPSED.norm()) * math.sqrt(2 * B), rel_tol=1e-3)
