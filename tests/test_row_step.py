"""The row step (train/steps.py RowStep: what a GPU runs) computes the gradients of the summed loss
without autograd over the tables: its steps must equal those of the autograd path with torch's SGD, or
SparseAdam, on the sparse row gradients, for every head it trains (loss and every parameter's change)."""

import copy

import numpy as np
import pytest
import torch

from w2v_contrastive import TrainConfig
from w2v_contrastive.heads import HEADS, build_head
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.sampling.pairs import PairBatch
from w2v_contrastive.train.setup import build_model
from w2v_contrastive.train.steps import AutogradStep, RowAdam, RowSGD, RowStep

V, DIM, PAIRS, LR = 300, 16, 256, 0.5
VOCAB = [f"word{i}" for i in range(V)]
COUNTS = np.sort(np.random.default_rng(0).zipf(1.5, V))[::-1].copy()
#: every head that does not score the whole vocabulary, with the variants of its request
CASES = [(name, {}) for name in sorted(HEADS) if name != "softmax"] + [
    ("negative-sampling", {"shared_negatives": True, "negatives": 8}),
    ("nce", {"output_bias": False}),
    ("infonce", {"in_batch_negatives": True, "negatives": 3, "temperature": 0.5, "logq_correction": True}),
    ("triplet", {"geometry": "untied"}),
    # CBOW: the input is the mean of a window's rows, each of which takes the mean's whole gradient
    ("negative-sampling", {"model": "cbow"}),
    ("hierarchical-softmax", {"model": "cbow"}),
    ("infonce", {"model": "cbow", "in_batch_negatives": True, "negatives": 3}),
    ("n-pair", {"model": "cbow"}),
    # subwords: each input word is the mean of its row and its n-grams' rows (tied: the contexts' vectors too)
    ("negative-sampling", {"subwords": "2-4", "buckets": 40}),
    ("contrastive", {"subwords": "2-4", "buckets": 40}),
    ("infonce", {"model": "cbow", "subwords": "3-3", "buckets": 40, "in_batch_negatives": True, "negatives": 3}),
]


def model_and_batch(config, head, seed=0):
    """A model away from its initial state (random context vectors, biases), and a batch with repeated words
    (CBOW: windows of 4 with absent rows, -1, and at least one present)."""
    torch.manual_seed(seed)
    head.use_vocabulary(COUNTS)
    model = build_model(config, VOCAB, head)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.3)
    generator = torch.Generator().manual_seed(seed + 1)
    centers = torch.randint(0, V // 4, (PAIRS,), generator=generator)  # few distinct words: many repeats
    contexts = torch.randint(0, V, (PAIRS,), generator=generator)
    if config.model == "cbow":
        windows = torch.randint(0, V // 4, (PAIRS, 4), generator=generator)
        absent = torch.rand(PAIRS, 4, generator=generator) < 0.4
        absent[:, 0] = False
        return model, PairBatch(contexts, windows.masked_fill(absent, -1), float(PAIRS))
    return model, PairBatch(centers, contexts, float(PAIRS))


@pytest.mark.parametrize("name,settings", CASES, ids=[f"{n}-{'-'.join(s) or 'default'}" for n, s in CASES])
def test_one_row_step_equals_one_autograd_sgd_step(name, settings):
    config = TrainConfig(head=name, **settings)
    head = build_head(name, config)
    model, batch = model_and_batch(config, head)
    reference = copy.deepcopy(model)
    before = copy.deepcopy(model.state_dict())
    losses = steps(model, reference, head, [batch], RowSGD(), torch.optim.SGD(reference.parameters(), lr=LR))
    assert losses[0][0] == pytest.approx(losses[0][1], rel=1e-5)
    for key, value in model.state_dict().items():
        change, expected_change = value - before[key], reference.state_dict()[key] - before[key]
        assert expected_change.abs().max() > 1e-3, key  # the step moved this parameter
        assert torch.allclose(change, expected_change, atol=1e-5, rtol=1e-4), (key, (change - expected_change).abs().max())


@pytest.mark.parametrize("distinct_rows", [True, False], ids=["distinct-rows", "every-use"])
@pytest.mark.parametrize("name,settings", [("contrastive", {}), ("n-pair", {}), ("nce", {})])
def test_row_adam_makes_sparse_adams_steps(name, settings, distinct_rows):
    """Three steps, so the moments of rows used twice and of rows used once differ; each way of summing a
    row's uses (the CPU's distinct rows, the GPU's sync-free sums per use)."""
    config = TrainConfig(head=name, **settings)
    head = build_head(name, config)
    model, first = model_and_batch(config, head)
    _, second = model_and_batch(config, head, seed=1)
    reference = copy.deepcopy(model)
    adam = RowAdam(model.parameters(), lr=0.01, distinct_rows=distinct_rows)
    sparse_adam = torch.optim.SparseAdam(list(reference.parameters()), lr=0.01)
    losses = steps(model, reference, head, [first, second, first], adam, sparse_adam, lr=0.01)
    for got, expected in losses:
        assert got == pytest.approx(expected, rel=1e-5)
    for key, value in model.state_dict().items():
        assert torch.allclose(value, reference.state_dict()[key], atol=1e-6), key
    assert all(state["step"] == 3 for state in adam.state.values())
    # its checkpointed state has torch's layout: SparseAdam's state dict loads as RowAdam's own
    restored = RowAdam(model.parameters(), lr=0.01)
    restored.load_state_dict(sparse_adam.state_dict())
    for table, state in adam.state.items():
        assert int(restored.state[table]["step"]) == 3
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.allclose(restored.state[table][key], state[key], rtol=1e-4, atol=1e-6), key


def steps(model, reference, head, batches, update, optimizer, lr=LR):
    """Run the row step on ``model`` and the autograd step on ``reference`` over ``batches`` (same noise)."""
    noise = NoiseDistribution(COUNTS)
    autograd = AutogradStep(reference, head, noise, [optimizer], torch.Generator().manual_seed(7), None,
                            torch.device("cpu"))
    rows = RowStep(model, head, noise, torch.Generator().manual_seed(7), PAIRS, update)
    return [(float(rows(batch, lr)), float(autograd(batch, lr))) for batch in batches]


class FixedNoise(NoiseDistribution):
    """Q with draws that depend on their position only: a [B, K] draw's first rows are the [n, K] draw's."""

    def sample(self, shape, generator=None):
        return (torch.arange(int(np.prod(shape))) * 7919 % len(self)).view(shape)


@pytest.mark.parametrize("name,model", [("negative-sampling", "skipgram"), ("nce", "skipgram"),
                                        ("infonce", "skipgram"), ("hierarchical-softmax", "skipgram"),
                                        ("negative-sampling", "cbow")])
def test_a_short_batch_padded_with_masked_pairs_makes_the_update_of_the_batch_alone(name, model):
    config = TrainConfig(head=name, model=model)
    head = build_head(name, config)
    noise = FixedNoise(COUNTS)
    model, batch = model_and_batch(config, head)
    alone = copy.deepcopy(model)
    padded = RowStep(model, head, noise, None, 4 * PAIRS, RowSGD())  # pads 3 x PAIRS masked pairs of word 0
    exact = RowStep(alone, head, noise, None, PAIRS, RowSGD())
    assert float(padded(batch, LR)) == pytest.approx(float(exact(batch, LR)), rel=1e-5)
    for key, value in model.state_dict().items():
        assert torch.allclose(value, alone.state_dict()[key], atol=1e-6), key


@pytest.mark.parametrize("name,settings", [("n-pair", {}), ("infonce", {"in_batch_negatives": True, "negatives": 0})])
def test_in_batch_heads_are_never_padded(name, settings):
    """Padding pairs would be candidates of every real pair of an in-batch head: a short batch makes the
    update of the batch alone (the padding of word 0's pairs would change every pair's loss)."""
    config = TrainConfig(head=name, **settings)
    head = build_head(name, config)
    model, batch = model_and_batch(config, head)
    alone = copy.deepcopy(model)
    noise = NoiseDistribution(COUNTS)
    padded = float(RowStep(model, head, noise, None, 4 * PAIRS, RowSGD())(batch, LR))  # (would pad 3 x PAIRS pairs)
    assert padded == pytest.approx(float(RowStep(alone, head, noise, None, PAIRS, RowSGD())(batch, LR)), rel=1e-5)
    for key, value in model.state_dict().items():
        assert torch.allclose(value, alone.state_dict()[key], atol=1e-6), key
