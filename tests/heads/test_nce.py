"""nce: Gutmann & Hyvarinen 2010, Mnih & Teh 2012, as a loop."""

import math

import torch

from .common import collapsed, score

CASES = [("untied", {}), ("untied", {"shared_negatives": True}), ("untied", {"negatives": 1})]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """-log sigma(s(w, c) - log kQ(c)) - sum_j log(1 - sigma(s(w, n_j) - log kQ(n_j)))."""
    log_k = math.log(head.negatives)
    losses = []
    for w, c, drawn in zip(words, contexts, noise):
        loss = -torch.log(torch.sigmoid(score(u, v, b, w, c) - log_k - log_q[c]))
        for n in drawn:
            loss = loss - torch.log(1 - torch.sigmoid(score(u, v, b, w, n) - log_k - log_q[n]))
        losses.append(loss)
    return torch.stack(losses)


def test_the_logit_is_shifted_by_log_k_q():
    """With every score 0 the logits are -log kQ alone: data term log(1 + kQ), each noise term log((1 + kQ) / kQ)."""
    loss, _, head, _ = collapsed("nce", torch.zeros(5))
    kq = head.negatives / 12  # uniform noise over the 12 words
    expected = math.log(1 + kq) + head.negatives * math.log((1 + kq) / kq)
    assert torch.allclose(loss, torch.full_like(loss, expected), rtol=1e-5)
