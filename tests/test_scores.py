"""score_batch computes exactly the scores a head asks for, and the chunked log partition is exact."""

import torch

from w2v_contrastive.heads import ScoreRequest, score_batch
from w2v_contrastive.model import ChunkedLogPartition, SkipGram
from w2v_contrastive.sampling.noise import NoiseDistribution


def random_model(vocab=100, dim=8, seed=0):
    torch.manual_seed(seed)
    model = SkipGram(vocab, dim, output_bias=True)
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter)
    return model


def direct(model, words, candidates):
    """s(w, x) = u_w . v_x + b_x for every word and candidate: float[len(words), len(candidates)]."""
    return model.input.weight[words] @ model.output.weight[candidates].T + model.bias.weight[candidates, 0]


def test_per_example_shared_and_in_batch_scores_have_the_values_of_a_direct_computation():
    model = random_model()
    noise = NoiseDistribution(torch.arange(100, 0, -1).numpy(), 0.75)
    centers, contexts = torch.tensor([0, 5, 9, 5, 42, 7]), torch.tensor([1, 2, 1, 3, 4, 5])
    positive = direct(model, centers, contexts).diagonal()
    with torch.no_grad():
        for shared in (False, True):
            request = ScoreRequest(negatives=3, shared_negatives=shared, in_batch=True, squared_norms=True)
            s = score_batch(model, noise, request, centers, contexts, torch.Generator().manual_seed(4))
            drawn = noise.sample((3,) if shared else (6, 3), torch.Generator().manual_seed(4))
            assert torch.allclose(s.positive, positive, atol=1e-5)
            assert torch.equal(s.positive_log_q, noise.log_probs[contexts])
            if shared:  # one set of K noise words for the whole batch: [B, K] scores, [1, K] log Q
                assert torch.allclose(s.negative, direct(model, centers, drawn), atol=1e-5)
                assert s.negative_log_q.shape == (1, 3) and torch.equal(s.negative_log_q[0], noise.log_probs[drawn])
                assert torch.equal(s.negative_is_positive, drawn.unsqueeze(0) == contexts.unsqueeze(1))
            else:
                rows = torch.stack([direct(model, centers[b:b + 1], drawn[b])[0] for b in range(6)])
                assert torch.allclose(s.negative, rows, atol=1e-5)
                assert torch.equal(s.negative_log_q, noise.log_probs[drawn])
                assert torch.equal(s.negative_is_positive, drawn == contexts.unsqueeze(1))
            assert torch.allclose(s.in_batch, direct(model, centers, contexts), atol=1e-5)
            same_context = contexts.unsqueeze(0) == contexts.unsqueeze(1)
            same_word = centers.unsqueeze(0) == centers.unsqueeze(1)
            assert torch.equal(s.in_batch_is_positive, same_context | same_word)
            assert s.in_batch_is_positive[0, 2] and not s.in_batch_is_positive[0, 1]  # context 1 twice
            assert s.in_batch_is_positive[1, 3] and not same_context[1, 3]  # word 5 twice: its own contexts
            assert torch.allclose(s.word_sq_norm, model.input.weight[centers].square().sum(1))
            assert torch.allclose(s.negative_sq_norm.reshape(-1),
                                  model.output.weight[drawn].square().sum(-1).reshape(-1))


def test_the_log_partition_covers_the_whole_vocabulary():
    model = random_model(vocab=50)
    centers = torch.tensor([1, 2, 3])
    with torch.no_grad():
        s = score_batch(model, NoiseDistribution(torch.ones(50).numpy(), 1.0), ScoreRequest(full_vocabulary=True),
                        centers, torch.tensor([4, 5, 6]), softmax_chunk=7)
        assert torch.allclose(s.log_partition, torch.logsumexp(direct(model, centers, torch.arange(50)), dim=1))


def test_chunked_log_partition_and_its_gradient_equal_the_direct_computation():
    torch.manual_seed(0)
    model = SkipGram(1000, 16, output_bias=True)
    torch.nn.init.normal_(model.output.weight)
    torch.nn.init.normal_(model.bias.weight)
    u = torch.randn(5, 16, requires_grad=True)
    chunked = model.log_partition(u, chunk=97)
    direct_log_z = torch.logsumexp(u @ model.output.weight.T + model.bias.weight.T, dim=1)
    assert torch.allclose(chunked, direct_log_z, atol=1e-5)
    upstream = torch.randn(5)  # a weighted sum, so every row's g_b differs
    inputs = (u, model.output.weight, model.bias.weight)
    for g_chunked, g_direct in zip(torch.autograd.grad(chunked @ upstream, inputs),
                                   torch.autograd.grad(direct_log_z @ upstream, inputs)):
        assert torch.allclose(g_chunked, g_direct, atol=1e-5)


def test_chunked_log_partition_passes_gradcheck_in_double_precision():
    torch.manual_seed(0)
    u = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(11, 4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(11, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *x: ChunkedLogPartition.apply(*x, 4), (u, weight, bias))
    assert torch.autograd.gradcheck(lambda *x: ChunkedLogPartition.apply(*x, 64), (u, weight, bias))  # one chunk
    assert torch.autograd.gradcheck(lambda *x: ChunkedLogPartition.apply(*x, None, 5), (u, weight))


def test_log_z_once_per_distinct_centre_equals_the_per_pair_computation():
    """Loss and gradients of the softmax with log Z grouped by centre word, against log Z computed for
    every pair, on batches with repeated centres, with and without bias, in several chunks and in one."""
    from w2v_contrastive import HEADS

    head = HEADS["softmax"]()
    for output_bias, chunk in ((True, 7), (False, 13), (True, 1000)):
        torch.manual_seed(chunk)
        model = SkipGram(50, 8, output_bias=output_bias)
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter)
        centers, contexts = torch.randint(0, 10, (64,)), torch.randint(0, 50, (64,))  # each centre about 6 times
        upstream = torch.rand(64)  # a weight per pair, so every pair's gradient counts differently
        noise = NoiseDistribution(torch.ones(50).numpy(), 1.0)
        grouped = head(score_batch(model, noise, head.request, centers, contexts, softmax_chunk=chunk))
        grouped_grads = torch.autograd.grad(grouped @ upstream, list(model.parameters()))
        u = model.input(centers)
        bias = model.bias.weight[:, 0] if output_bias else torch.zeros(50)
        logits = u @ model.output.weight.T + bias
        per_pair = torch.logsumexp(logits, dim=1) - logits[torch.arange(64), contexts]
        per_pair_grads = torch.autograd.grad(per_pair @ upstream, list(model.parameters()))
        assert torch.unique(centers).numel() <= 10 < 64
        assert torch.allclose(grouped, per_pair, atol=1e-5)
        for got, want in zip(grouped_grads, per_pair_grads):
            assert torch.allclose(got.to_dense(), want.to_dense(), atol=1e-5)
