"""contrastive: Hadsell, Chopra & LeCun 2006, eq. 4, as a loop."""

import torch

from .common import COLLAPSED, collapsed, distance

CASES = [("tied", {}), ("untied", {"distance": "cosine", "margin": 0.7})]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """D(w, c)^2 + sum over noise words other than c of max(0, eps - D(w, n))^2."""
    losses = []
    for w, c, drawn in zip(words, contexts, noise):
        loss = distance(u[w], v[c], head.distance.name) ** 2
        for n in drawn:
            if n != c:
                loss = loss + torch.clamp(head.margin - distance(u[w], v[n], head.distance.name), min=0) ** 2
        losses.append(loss)
    return torch.stack(losses)


def test_at_a_constant_embedding_every_negative_is_inside_the_margin():
    loss, _, head, negatives = collapsed("contrastive", COLLAPSED)
    assert torch.allclose(loss, negatives * head.margin ** 2)
