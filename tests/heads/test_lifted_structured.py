"""lifted-structured: Song, Xiang, Jegelka & Savarese 2016, eq. 4, as a loop."""

import math

import torch

from .common import B, COLLAPSED, collapsed, distance

CASES = [("tied", {}), ("untied", {"distance": "cosine", "margin": 0.5})]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """1/2 max(0, log(sum over both ends' negative edges of exp(eps - D)) + D(w_i, c_i))^2."""
    kind = head.distance.name
    losses = []
    for i, (w, c) in enumerate(zip(words, contexts)):
        negative = [contexts[k] != c and words[k] != w for k in range(len(words))]  # edges of no true pair
        terms = [head.margin - distance(u[w], v[contexts[k]], kind) for k in range(len(words)) if negative[k]]
        terms += [head.margin - distance(u[words[l]], v[c], kind) for l in range(len(words)) if negative[l]]
        j = torch.log(sum(torch.exp(t) for t in terms)) + distance(u[w], v[c], kind)
        losses.append(0.5 * torch.clamp(j, min=0) ** 2)
    return torch.stack(losses)


def test_at_a_constant_embedding_every_edge_sits_at_distance_zero():
    loss, _, head, _ = collapsed("lifted-structured", COLLAPSED)
    assert torch.allclose(loss, torch.full((B,), 0.5 * (head.margin + math.log(2 * (B - 1))) ** 2))
