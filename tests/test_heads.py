import math

import pytest
import torch

from w2v_contrastive import HEADS, TrainConfig
from w2v_contrastive.heads import ScoreRequest, Scores, build_head, score_batch
from w2v_contrastive.model import ChunkedLogPartition, SkipGram
from w2v_contrastive.sampling.noise import NoiseDistribution


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def tiny_scores(B=3, K=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(B, generator=g)
    neg = torch.randn(B, K, generator=g)
    log_q_pos = torch.log(torch.rand(B, generator=g) * 0.1)
    log_q_neg = torch.log(torch.rand(B, K, generator=g) * 0.1)
    hits = torch.zeros(B, K, dtype=torch.bool)
    hits[0, 1] = True
    return Scores(positive=pos, positive_log_q=log_q_pos, negative=neg, negative_log_q=log_q_neg,
                  negative_is_positive=hits)


def test_registry_has_the_spine_heads_and_builds_them_from_config():
    assert {"softmax", "nce", "negative-sampling", "infonce"} <= set(HEADS)
    head = build_head("infonce", TrainConfig(negatives=7, temperature=0.5, in_batch_negatives=True))
    assert head.request == ScoreRequest(negatives=7, in_batch=True) and head.temperature == 0.5


def test_negative_sampling_matches_mikolov_eq4():
    s = tiny_scores()
    loss = HEADS["negative-sampling"](negatives=4)(s)
    for b in range(3):
        expected = -math.log(sigmoid(s.positive[b])) - sum(math.log(sigmoid(-x)) for x in s.negative[b].tolist())
        assert loss[b].item() == pytest.approx(expected, rel=1e-5)


def test_nce_uses_the_log_kq_correction():
    s = tiny_scores()
    k = 4
    loss = HEADS["nce"](negatives=k)(s)
    for b in range(3):
        delta = lambda score, lq: score - math.log(k) - lq
        expected = -math.log(sigmoid(delta(s.positive[b].item(), s.positive_log_q[b].item())))
        expected -= sum(math.log(1 - sigmoid(delta(x, lq)))
                        for x, lq in zip(s.negative[b].tolist(), s.negative_log_q[b].tolist()))
        assert loss[b].item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("tau,correct", [(1.0, False), (0.5, False), (1.0, True)])
def test_infonce_is_cross_entropy_over_positive_and_negatives_without_accidental_hits(tau, correct):
    s = tiny_scores()
    loss = HEADS["infonce"](negatives=4, temperature=tau, logq_correction=correct)(s)
    for b in range(3):
        f = lambda score, lq: score / tau - (lq if correct else 0.0)
        pos = f(s.positive[b].item(), s.positive_log_q[b].item())
        negs = [f(x, lq) for k, (x, lq) in enumerate(zip(s.negative[b].tolist(), s.negative_log_q[b].tolist()))
                if not s.negative_is_positive[b, k]]
        expected = -pos + math.log(math.exp(pos) + sum(math.exp(n) for n in negs))
        assert loss[b].item() == pytest.approx(expected, rel=1e-5)


def test_chunked_log_partition_and_its_gradient_equal_the_direct_computation():
    torch.manual_seed(0)
    model = SkipGram(1000, 16, output_bias=True)
    torch.nn.init.normal_(model.output.weight)
    torch.nn.init.normal_(model.bias.weight)
    u = torch.randn(5, 16, requires_grad=True)
    chunked = model.log_partition(u, chunk=97)
    direct = torch.logsumexp(u @ model.output.weight.T + model.bias.weight.T, dim=1)
    assert torch.allclose(chunked, direct, atol=1e-5)
    upstream = torch.randn(5)  # a weighted sum, so every row's g_b differs
    inputs = (u, model.output.weight, model.bias.weight)
    for g_chunked, g_direct in zip(torch.autograd.grad(chunked @ upstream, inputs),
                                   torch.autograd.grad(direct @ upstream, inputs)):
        assert torch.allclose(g_chunked, g_direct, atol=1e-5)


def test_chunked_log_partition_passes_gradcheck_in_double_precision():
    torch.manual_seed(0)
    u = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(11, 4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(11, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *x: ChunkedLogPartition.apply(*x, 4), (u, weight, bias))
    assert torch.autograd.gradcheck(lambda *x: ChunkedLogPartition.apply(*x, 64), (u, weight, bias))  # one chunk
    assert torch.autograd.gradcheck(lambda *x: ChunkedLogPartition.apply(*x, None, 5), (u, weight))


def test_softmax_loss_is_exact_negative_log_likelihood():
    torch.manual_seed(1)
    model = SkipGram(50, 8, output_bias=True)
    torch.nn.init.normal_(model.output.weight)
    noise = NoiseDistribution(torch.arange(50, 0, -1).numpy(), 0.75)
    head = HEADS["softmax"]()
    centers, contexts = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])
    loss = head(score_batch(model, noise, head.request, centers, contexts))
    logits = model.input(centers) @ model.output.weight.T + model.bias.weight.T
    expected = torch.nn.functional.cross_entropy(logits, contexts, reduction="none")
    assert torch.allclose(loss, expected, atol=1e-5)


def test_score_batch_shapes_for_shared_and_in_batch_candidates():
    model = SkipGram(100, 8)
    noise = NoiseDistribution(torch.arange(100, 0, -1).numpy(), 0.75)
    centers, contexts = torch.arange(6), torch.tensor([1, 2, 1, 3, 4, 5])
    s = score_batch(model, noise, ScoreRequest(negatives=3, shared_negatives=True, in_batch=True), centers, contexts)
    assert s.negative.shape == (6, 3) and s.negative_log_q.shape == (1, 3)
    assert s.in_batch.shape == (6, 6) and s.in_batch_is_positive[0, 2] and s.in_batch_is_positive[0, 0]
    assert not s.in_batch_is_positive[0, 1]
