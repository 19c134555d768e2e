"""negative-sampling: Mikolov et al. 2013, eq. 4, as a loop."""

import math

import torch

from .common import COLLAPSED, collapsed, score

CASES = [("untied", {}), ("untied", {"shared_negatives": True}), ("tied", {})]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """-log sigma(s(w, c)) - sum_k log sigma(-s(w, n_k)) (accidental hits are not skipped)."""
    losses = []
    for w, c, drawn in zip(words, contexts, noise):
        loss = -torch.nn.functional.logsigmoid(score(u, v, b, w, c))
        for n in drawn:
            loss = loss - torch.nn.functional.logsigmoid(-score(u, v, b, w, n))
        losses.append(loss)
    return torch.stack(losses)


def test_at_a_constant_embedding_every_pair_costs_k_plus_one_coin_flips():
    loss, gradient, head, _ = collapsed("negative-sampling", COLLAPSED)
    s = float(COLLAPSED @ COLLAPSED)
    expected = -math.log(1 / (1 + math.exp(-s))) - head.negatives * math.log(1 / (1 + math.exp(s)))
    assert torch.allclose(loss, torch.full_like(loss, expected)) and gradient > 1e-2
