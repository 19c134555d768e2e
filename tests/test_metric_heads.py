"""The metric-learning heads against loop-by-loop implementations of their papers' formulas, and every
head's behaviour at a collapsed embedding (all vectors equal)."""

import math

import pytest
import torch

from w2v_contrastive import HEADS, TrainConfig
from w2v_contrastive.errors import W2VError
from w2v_contrastive.heads import build_head, score_batch
from w2v_contrastive.model import SkipGram
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.train.setup import build_model

V, DIM, B, K = 12, 5, 6, 4


def distance(a, b, kind):
    if kind == "cosine":  # the chord between the normalised vectors
        a, b = a / a.norm(), b / b.norm()
    return (a - b).norm()


def contrastive_reference(u, v, words, contexts, noise, eps, kind):
    losses = []
    for b in range(len(words)):
        a = u[words[b]]
        loss = distance(a, v[contexts[b]], kind) ** 2
        for n in noise[b]:
            if n != contexts[b]:
                loss = loss + torch.clamp(eps - distance(a, v[n], kind), min=0) ** 2
        losses.append(loss)
    return torch.stack(losses)


def triplet_reference(u, v, words, contexts, noise, eps, kind, mining):
    losses = []
    for b in range(len(words)):
        a = u[words[b]]
        d_ap = distance(a, v[contexts[b]], kind)
        triplets = [(distance(a, v[n], kind), d_ap ** 2 - distance(a, v[n], kind) ** 2 + eps)
                    for n in noise[b] if n != contexts[b]]
        if mining == "all":
            losses.append(sum(torch.clamp(t, min=0) for _, t in triplets) / len(triplets))
            continue
        candidates = triplets
        if mining == "semi-hard" and any(d_an > d_ap for d_an, _ in triplets):
            candidates = [(d_an, t) for d_an, t in triplets if d_an > d_ap]
        closest = min(candidates, key=lambda pair: pair[0].item())
        losses.append(torch.clamp(closest[1], min=0))
    return torch.stack(losses)


def lifted_reference(u, v, words, contexts, eps, kind):
    losses = []
    for i in range(len(words)):
        terms = [eps - distance(u[words[i]], v[contexts[k]], kind) for k in range(len(words))
                 if contexts[k] != contexts[i]]
        terms += [eps - distance(u[words[l]], v[contexts[i]], kind) for l in range(len(words))
                  if contexts[l] != contexts[i]]
        j = torch.log(sum(torch.exp(t) for t in terms)) + distance(u[words[i]], v[contexts[i]], kind)
        losses.append(0.5 * torch.clamp(j, min=0) ** 2)
    return torch.stack(losses)


def n_pair_reference(u, v, words, contexts, l2):
    losses = []
    for i in range(len(words)):
        f, f_plus = u[words[i]], v[contexts[i]]
        others = [torch.exp(f @ v[contexts[k]] - f @ f_plus) for k in range(len(words)) if contexts[k] != contexts[i]]
        losses.append(torch.log(1 + sum(others)) + l2 / 2 * (f @ f + f_plus @ f_plus))
    return torch.stack(losses)


def run_head(name, geometry="untied", seed=0, **settings):
    """(head loss, reference loss, head gradients, reference gradients) on one batch of a random model."""
    torch.manual_seed(seed)
    config = TrainConfig(head=name, dim=DIM, negatives=K, geometry=geometry, **settings)
    head = build_head(name, config)
    model = build_model(config, V, head)
    torch.nn.init.normal_(model.input.weight)
    torch.nn.init.normal_(model.output.weight)
    noise = NoiseDistribution(torch.arange(V, 0, -1).double().numpy() * 10, 0.75, torch.device("cpu"))
    words = torch.tensor([0, 1, 2, 3, 3, 5])
    contexts = torch.tensor([1, 0, 4, 4, 7, 2])  # a repeated context: its other occurrence is no negative
    seed_noise = 123
    loss = head(score_batch(model, noise, head.request, words, contexts, torch.Generator().manual_seed(seed_noise)))
    loss.sum().backward()
    grads = [p.grad.to_dense().clone() for p in model.parameters()]

    reference_model = build_model(config, V, head)
    reference_model.load_state_dict(model.state_dict())
    u, v = reference_model.input.weight, reference_model.output.weight
    noise_words = (noise.sample((B, K), torch.Generator().manual_seed(seed_noise)).tolist()
                   if head.request.negatives else None)
    w, c = words.tolist(), contexts.tolist()
    kind = config.distance or "euclidean"
    if name == "contrastive":
        expected = contrastive_reference(u, v, w, c, noise_words, head.margin, kind)
    elif name == "triplet":
        expected = triplet_reference(u, v, w, c, noise_words, head.margin, kind, config.mining)
    elif name == "lifted-structured":
        expected = lifted_reference(u, v, w, c, head.margin, kind)
    else:
        expected = n_pair_reference(u, v, w, c, head.embedding_l2)
    expected.sum().backward()
    return loss.detach(), expected.detach(), grads, [p.grad.clone() for p in reference_model.parameters()]


CASES = [
    ("contrastive", "tied", {}),
    ("contrastive", "untied", {"distance": "cosine", "margin": 0.7}),
    ("triplet", "untied", {"mining": "all"}),
    ("triplet", "untied", {"mining": "hardest", "margin": 3.0}),
    ("triplet", "tied", {"mining": "semi-hard", "margin": 3.0}),
    ("triplet", "untied", {"distance": "cosine", "mining": "semi-hard"}),
    ("lifted-structured", "tied", {}),
    ("lifted-structured", "untied", {"distance": "cosine", "margin": 0.5}),
    ("n-pair", "untied", {}),
    ("n-pair", "tied", {"embedding_l2": 0.1}),
]


@pytest.mark.parametrize("name,geometry,settings", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_loss_and_gradient_match_the_papers_formula_written_as_loops(name, geometry, settings):
    loss, expected, grads, expected_grads = run_head(name, geometry, **settings)
    assert loss.shape == (B,)
    # atol: with tied tables a noise word can be the word itself: the loop's distance is exactly 0, the
    # head's, from ||u||^2 + ||v||^2 - 2 u.v in float32, up to sqrt(rounding) ~ 1e-3
    assert torch.allclose(loss, expected, rtol=1e-4, atol=5e-3), (loss, expected)
    assert len(grads) == len(expected_grads) == (1 if geometry == "tied" else 2)
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got, want, rtol=1e-3, atol=1e-4)
        assert want.abs().sum() > 0


def test_n_pair_with_noise_negatives_is_infonce_plus_the_l2_term():
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


def test_distance_heads_take_no_output_bias_and_bad_options_are_one_line_errors():
    for name in ("contrastive", "triplet", "lifted-structured"):
        with pytest.raises(W2VError, match="takes no --output-bias"):
            build_model(TrainConfig(head=name, output_bias=True), V, build_head(name, TrainConfig(head=name)))
    with pytest.raises(W2VError, match="unknown distance"):
        build_head("contrastive", TrainConfig(distance="manhattan"))
    with pytest.raises(W2VError, match="unknown mining"):
        build_head("triplet", TrainConfig(mining="easy"))
    with pytest.raises(W2VError, match="margin"):
        TrainConfig(head="triplet", margin=-1.0).validate()


# --- The seed's question: what happens when the network outputs a constant? ---------------------------

DOT_PRODUCT_HEADS = ("softmax", "nce", "negative-sampling", "infonce", "n-pair")
DISTANCE_HEADS = ("contrastive", "triplet", "lifted-structured")


def collapsed(name, value):
    """(loss[B], gradient norm, head, negatives per pair that are not the true context) of head ``name``
    with every word and context vector equal to ``value``."""
    config = TrainConfig(head=name, dim=DIM, negatives=K, output_bias=False, geometry="untied")
    head = build_head(name, config)
    model = build_model(config, V, head)
    with torch.no_grad():
        model.input.weight.copy_(value.expand(V, DIM))
        model.output.weight.copy_(value.expand(V, DIM))
    noise = NoiseDistribution(torch.ones(V).numpy(), 1.0, torch.device("cpu"))
    words, contexts = torch.arange(B), torch.arange(B) + B  # distinct contexts
    scores = score_batch(model, noise, head.request, words, contexts, torch.Generator().manual_seed(1))
    loss = head(scores)
    loss.sum().backward()
    gradient = math.sqrt(sum(float(p.grad.to_dense().square().sum()) for p in model.parameters()))
    negatives = None if scores.negative is None else (~scores.negative_is_positive).sum(1)
    return loss.detach(), gradient, head, negatives


def test_at_a_constant_embedding_no_loss_is_minimised_and_only_dot_product_heads_push_away():
    e = torch.full((DIM,), 0.3)
    s = float(e @ e)
    for name in DOT_PRODUCT_HEADS + DISTANCE_HEADS:
        loss, gradient, head, negatives = collapsed(name, e)
        assert (loss > 0.01).all(), name  # every loss is >= 0 and none is at its minimum
        if name == "n-pair":
            # in-batch negatives: each context row is pulled once as a positive and pushed B - 1 times
            # with softmax weight 1/B each: the two cancel; only the L2 term's pull towards 0 is left
            assert gradient == pytest.approx(head.embedding_l2 * float(e.norm()) * math.sqrt(2 * B), rel=1e-3)
        elif name in DOT_PRODUCT_HEADS:
            # dot products, negatives from Q or the vocabulary: the true context's row is pulled
            # towards u, other words' rows pushed away
            assert gradient > 1e-2, name
        else:
            # distances: every distance is 0 and so is its gradient: a stationary point the loss
            # cannot leave, though it is at its worst (no negative beyond the margin)
            assert gradient < 1e-6, (name, gradient)
        if name == "softmax":
            assert torch.allclose(loss, torch.full((B,), math.log(V)))  # uniform over the vocabulary
        if name == "infonce":
            assert torch.allclose(loss, torch.log(1.0 + negatives))
        if name == "n-pair":
            assert torch.allclose(loss, torch.full((B,), math.log(B) + head.embedding_l2 * s))
        if name == "triplet":
            assert torch.allclose(loss, torch.full((B,), head.margin))
        if name == "contrastive":
            assert torch.allclose(loss, negatives * head.margin ** 2)
        if name == "lifted-structured":
            assert torch.allclose(loss, torch.full((B,), 0.5 * (head.margin + math.log(2 * (B - 1))) ** 2))


def test_at_the_zero_embedding_every_head_is_stationary():
    for name in DOT_PRODUCT_HEADS + DISTANCE_HEADS:
        gradient = collapsed(name, torch.zeros(DIM))[1]
        assert gradient < 1e-6, (name, gradient)
