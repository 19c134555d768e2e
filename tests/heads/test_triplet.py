"""triplet: Schroff, Kalenichenko & Philbin 2015, eq. 1 and its three minings, as a loop."""

import torch

from .common import COLLAPSED, collapsed, distance

CASES = [
    ("untied", {"mining": "all"}),
    ("untied", {"mining": "hardest", "margin": 3.0}),
    ("tied", {"mining": "semi-hard", "margin": 3.0}),
    ("untied", {"distance": "cosine", "mining": "semi-hard"}),
]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """t_k = D(w, c)^2 - D(w, n_k)^2 + eps over noise words other than c: the mean of max(0, t_k) ("all"),
    or max(0, t) of the closest noise word ("hardest"), of the closest one farther than c ("semi-hard";
    the closest when none is farther)."""
    kind = head.distance.name
    losses = []
    for w, c, drawn in zip(words, contexts, noise):
        d_ap = distance(u[w], v[c], kind)
        triplets = [(distance(u[w], v[n], kind), d_ap ** 2 - distance(u[w], v[n], kind) ** 2 + head.margin)
                    for n in drawn if n != c]
        if head.mining == "all":
            losses.append(sum(torch.clamp(t, min=0) for _, t in triplets) / len(triplets))
            continue
        candidates = triplets
        if head.mining == "semi-hard" and any(d_an > d_ap for d_an, _ in triplets):
            candidates = [(d_an, t) for d_an, t in triplets if d_an > d_ap]
        closest = min(candidates, key=lambda pair: pair[0].item())
        losses.append(torch.clamp(closest[1], min=0))
    return torch.stack(losses)


def test_at_a_constant_embedding_every_triplet_costs_the_margin():
    loss, _, head, _ = collapsed("triplet", COLLAPSED)
    assert torch.allclose(loss, torch.full_like(loss, head.margin))
