"""n-pair: Sohn 2016, eq. 6 with the L2 term of section 3.2.2, as a loop."""

import math

import torch

from w2v_contrastive import HEADS, TrainConfig
from w2v_contrastive.heads import build_head, score_batch
from w2v_contrastive.model import SkipGram
from w2v_contrastive.sampling.noise import NoiseDistribution

from .common import B, COLLAPSED, DIM, K, V, collapsed, score

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


def test_with_noise_negatives_it_is_infonce_plus_the_l2_term():
    config = TrainConfig(head="n-pair", negatives=K, noise_negatives=True)
    head = build_head("n-pair", config)
    assert head.request.negatives == K and not head.request.in_batch
    model = SkipGram(V, DIM, output_init="uniform")
    noise = NoiseDistribution(torch.ones(V).numpy(), 0.75, torch.device("cpu"))
    words, contexts = torch.arange(B), torch.arange(B) + 1
    scores = score_batch(model, noise, head.request, words, contexts, torch.Generator().manual_seed(0))
    infonce = HEADS["infonce"](negatives=K)(scores)
    l2 = 0.001 * (model.input.weight[words].square().sum(1) + model.output.weight[contexts].square().sum(1))
    assert torch.allclose(head(scores), infonce + l2)


def test_at_a_constant_embedding_only_the_l2_term_pulls():
    """In-batch negatives: each context row is pulled once as a positive and pushed B - 1 times with
    softmax weight 1/B each; the two cancel and only the L2 term's pull towards 0 is left."""
    loss, gradient, head, _ = collapsed("n-pair", COLLAPSED)
    s = float(COLLAPSED @ COLLAPSED)
    assert torch.allclose(loss, torch.full((B,), math.log(B) + head.embedding_l2 * s))
    assert math.isclose(gradient, head.embedding_l2 * float(COLLAPSED.norm()) * math.sqrt(2 * B), rel_tol=1e-3)
