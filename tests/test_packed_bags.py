"""The row step packs its bags of rows (a word's own and n-gram rows, a CBOW window's): it makes the steps of
the padded layout (every bag padded to the vocabulary's longest, -1 after its last row), and its tensors
hold the rows the batch's bags have, so one long word in the vocabulary does not grow them."""

import copy
import os
import sys

import numpy as np
import pytest
import torch

from w2v_contrastive import TrainConfig
from w2v_contrastive.heads import build_head
from w2v_contrastive.heads.base import draw_candidates, score_rows
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.sampling.pairs import PairBatch
from w2v_contrastive.train.setup import build_model
from w2v_contrastive.train.steps import RowSGD, RowStep

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
from bench_gpu_memory import PeakTensors  # noqa: E402

DIM, PAIRS, LR = 16, 64, 0.025
SHORT = [f"w{i}{'xyz'[i % 3]}" for i in range(120)] + ["three", "eleven", "fortunate", "understanding"]
#: 58 characters: 1 + 58 + 57 + 56 + 55 = 227 rows at n-grams of 3-6 ("<" and ">" around it), against 1 + 14 for
#: "three"
LONG = "antidisestablishmentarianism" * 2 + "ly"
#: noise words from the short words only, so both vocabularies draw the same ones
COUNTS = np.sort(np.random.default_rng(0).zipf(1.5, len(SHORT)))[::-1].copy()


def setup_run(model_kind: str, words: list[str], seed: int = 0):
    """(model, head, batch): negative-sampling with 3-6 n-grams; the batch uses the first len(SHORT) words."""
    config = TrainConfig(head="negative-sampling", model=model_kind, dim=DIM, subwords="3-6", buckets=500)
    head = build_head(config.head, config)
    torch.manual_seed(seed)
    model = build_model(config, words, head)
    with torch.no_grad():
        model.output.weight.uniform_(-0.5 / DIM, 0.5 / DIM)  # (away from zero, so the inputs' rows move too)
    generator = torch.Generator().manual_seed(seed + 1)
    targets = torch.randint(0, len(SHORT), (PAIRS,), generator=generator)
    if model_kind == "cbow":
        windows = torch.randint(0, len(SHORT), (PAIRS, 4), generator=generator)
        windows[torch.rand(PAIRS, 4, generator=generator) < 0.3] = -1
        windows[:, 0] = torch.randint(0, len(SHORT), (PAIRS,), generator=generator)
        return model, head, PairBatch(targets, windows, float(PAIRS))
    return model, head, PairBatch(torch.randint(0, len(SHORT), (PAIRS,), generator=generator), targets, float(PAIRS))


def padded_step(model, head, noise, batch: PairBatch, generator: torch.Generator, lr: float) -> float:
    """The row step written out in the padded layout: each example's rows int64[B, W R] (-1 after a word's last),
    h their mean over the present ones, each row given the mean's whole gradient, autograd over the tables."""
    words = batch.inputs.view(PAIRS, -1)
    padded = model.subwords[words.clamp(min=0)].masked_fill((words < 0).unsqueeze(-1), -1).flatten(1)
    present = (padded >= 0).unsqueeze(-1).float()
    sums = (model.input.weight[padded.clamp(min=0)] * present).sum(1)
    h = sums.detach() / present.sum(1) + (sums - sums.detach())  # value: the mean; gradient: all of dL/dh per row
    candidates, noise_words = draw_candidates(noise, head.request, batch.targets, generator)
    v = model.output.weight[candidates]
    scores = score_rows(h, v, torch.zeros(candidates.shape), noise, head.request, batch.inputs, batch.targets,
                        noise_words)
    loss = head(scores).sum()
    loss.backward()
    with torch.no_grad():
        for table in (model.input.weight, model.output.weight):
            table -= lr * table.grad
            table.grad = None
    return float(loss.detach())


@pytest.mark.parametrize("model_kind", ["skipgram", "cbow"])
def test_the_packed_row_step_makes_the_padded_layouts_steps(model_kind):
    model, head, batch = setup_run(model_kind, SHORT + [LONG])
    first = batch.inputs.view(PAIRS, -1)
    first[0, 0] = len(SHORT)  # the long word is an input (its 227 rows in one bag) as well as a word of the table
    reference = copy.deepcopy(model)
    noise = NoiseDistribution(COUNTS)
    step = RowStep(model, head, noise, torch.Generator().manual_seed(7), PAIRS, RowSGD())
    generator = torch.Generator().manual_seed(7)
    before = model.input.weight.detach().clone()
    for _ in range(2):
        assert float(step(batch, LR)) == pytest.approx(padded_step(reference, head, noise, batch, generator, LR),
                                                       rel=1e-6)
    moved = (model.input.weight.detach() - before).abs()
    assert moved[len(SHORT)].max() > 1e-4 and moved[len(SHORT) + 1:].max() > 1e-4  # the long word's, and n-grams
    for got, expected in zip(model.parameters(), reference.parameters()):
        assert (got.detach() - expected.detach()).abs().max() < 1e-6


def step_peak(model_kind: str, words: list[str]) -> tuple[int, int]:
    """(the peak bytes of the tensors one row step creates, alive at once; the rows the batch's input bags have)."""
    model, head, batch = setup_run(model_kind, words)
    step = RowStep(model, head, NoiseDistribution(COUNTS), torch.Generator().manual_seed(7), PAIRS, RowSGD())
    with PeakTensors() as sizes:
        step(batch, LR)
    words = batch.inputs
    return sizes.peak, int(((model.subwords[words.clamp(min=0)] >= 0) & (words >= 0).unsqueeze(-1)).sum())


@pytest.mark.parametrize("model_kind", ["skipgram", "cbow"])
def test_one_long_word_in_the_vocabulary_leaves_the_steps_tensors_as_they_were(model_kind):
    """The padded layout's [B, R, d] blocks grow with the longest word (from 47 rows to 227 here); the packed rows
    hold the batch's bags' rows, whatever else the vocabulary holds."""
    peak, rows = step_peak(model_kind, SHORT)
    with_long_word, same_rows = step_peak(model_kind, SHORT + [LONG])
    assert same_rows == rows and with_long_word == peak
    # the gathered rows and their gradients (added to the table as they are), 2 float32[N, d], their indices (int64[N]
    # each) and the scores' intermediates (measured: 2.7 [N, d] blocks with CBOW's); the padded layout held 3
    # float32[B, R, d], R = 227 rows with the long word: 10x the upper bound here
    assert 2 * rows * DIM * 4 <= peak < 6 * rows * DIM * 4, peak / (rows * DIM * 4)
