"""softmax: the exact negative log-likelihood, as a loop over the vocabulary."""

import math

import torch

from .common import COLLAPSED, V, collapsed, score

CASES = [("untied", {}), ("untied", {"output_bias": False}), ("tied", {})]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """log sum_x exp s(w, x) - s(w, c), the sum over every word of the vocabulary."""
    return torch.stack([torch.log(sum(torch.exp(score(u, v, b, w, x)) for x in range(v.shape[0]))) - score(u, v, b, w, c)
                        for w, c in zip(words, contexts)])


def test_at_a_constant_embedding_every_word_is_equally_likely():
    loss, gradient, _, _ = collapsed("softmax", COLLAPSED)
    assert torch.allclose(loss, torch.full_like(loss, math.log(V))) and gradient > 1e-2
