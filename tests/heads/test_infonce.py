"""infonce: van den Oord et al. 2018, eq. 4 (and sampled softmax with the log Q correction), as a loop."""


import torch

from .common import COLLAPSED, collapsed, score

CASES = [
    ("untied", {}),
    ("untied", {"temperature": 0.5}),
    ("untied", {"logq_correction": True}),
    ("untied", {"shared_negatives": True}),
    ("untied", {"in_batch_negatives": True, "negatives": 0, "temperature": 0.7}),
    ("untied", {"in_batch_negatives": True}),  # noise words and the batch's other contexts
]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """-log [exp f(w, c) / sum over {c} and the non-hit candidates of exp f(w, x)], f = s / tau (- log Q).
    In-batch candidates are the contexts of the batch's pairs of other words."""

    def f(w, x):
        return score(u, v, b, w, x) / head.temperature - (log_q[x] if head.logq_correction else 0.0)

    losses = []
    for i, (w, c) in enumerate(zip(words, contexts)):
        candidates = [x for x in (noise[i] if noise else []) if x != c]
        if head.in_batch_negatives:  # the batch's other contexts, but not those of the same word
            candidates += [x for x, other in zip(contexts, words) if x != c and other != w]
        positive = f(w, c)
        losses.append(torch.log(torch.exp(positive) + sum(torch.exp(f(w, x)) for x in candidates)) - positive)
    return torch.stack(losses)


def test_at_a_constant_embedding_the_loss_is_log_of_the_candidates():
    loss, gradient, _, negatives = collapsed("infonce", COLLAPSED)
    assert torch.allclose(loss, torch.log(1.0 + negatives)) and gradient > 1e-2
