"""Held-out documents and the estimator diagnostics computed on them."""

import json
import math

import numpy as np
import pytest
import torch

from w2v_contrastive import NoiseDistribution, TokenizerOptions, Vocabulary, make_config, prepare_corpus
from w2v_contrastive.cli import main
from w2v_contrastive.eval.estimators import estimator_diagnostics, held_out_pairs
from w2v_contrastive.heads import build_head, score_batch
from w2v_contrastive.model import SkipGram
from w2v_contrastive.sampling.pairs import held_out_lines
from w2v_contrastive.train.trainer import Trainer
from tests.conftest import SMALL_CORPUS


def test_held_out_lines_are_fixed_and_never_trained_on():
    lines = [" ".join(f"w{i}x{j}" for j in range(6)) for i in range(200)]  # every line has its own words
    corpus = prepare_corpus(lines, TokenizerOptions(pretokenized=True))
    mask = held_out_lines(corpus.n_lines, 0.1)
    assert np.array_equal(mask, held_out_lines(corpus.n_lines, 0.1)) and 10 <= mask.sum() <= 35
    trainer = Trainer(make_config("negative-sampling", min_count=1, sample=0, holdout=0.1, batch_size=64), corpus,
                      Vocabulary.from_corpus(corpus, 1, None))
    held_words = {trainer.vocab.words.index(f"w{i}x{j}") for i in np.flatnonzero(mask) for j in range(6)}
    seen = set()
    for batch in trainer.pairs.batches(1):
        seen |= set(batch.centers.tolist()) | set(batch.contexts.tolist())
    assert seen and not seen & held_words
    assert len(seen) == 6 * (200 - mask.sum())  # every other line gives pairs
    centers, contexts = held_out_pairs(trainer.pairs, len(trainer.vocab), mask)
    assert set(centers.tolist()) == held_words and set(contexts.tolist()) <= held_words
    assert centers.shape[0] <= 30 * mask.sum()  # at most 6 x 5 pairs per line


def test_diagnostics_match_a_direct_computation():
    torch.manual_seed(0)
    model = SkipGram(30, 8, output_bias=True)
    for table in (model.input.weight, model.output.weight, model.bias.weight):
        torch.nn.init.normal_(table, std=0.5)
    noise = NoiseDistribution(np.arange(30, 0, -1), 0.75)
    centers, contexts = torch.randint(0, 30, (500,)), torch.randint(0, 30, (500,))
    result = estimator_diagnostics(model, noise, centers, contexts, negatives=3, softmax_chunk=7)
    with torch.no_grad():
        logits = model.input.weight @ model.output.weight.T + model.bias.weight.T  # [V, V]
        log_z = torch.logsumexp(logits, dim=1)
        expected_ce = (log_z[centers] - logits[centers, contexts]).mean()
        distinct = torch.unique(centers)
    assert result["pairs"] == 500
    assert math.isclose(result["softmax_cross_entropy"], float(expected_ce), rel_tol=1e-4)
    assert math.isclose(result["log_z"]["mean"], float(log_z[distinct].mean()), rel_tol=1e-4)
    assert math.isclose(result["log_z"]["max"], float(log_z[distinct].max()), rel_tol=1e-4)


def test_cbow_diagnostics_normalise_each_windows_mean_and_the_tree_reports_its_exact_loss():
    torch.manual_seed(0)
    model = SkipGram(30, 8, output_bias=True)
    for table in (model.input.weight, model.output.weight, model.bias.weight):
        torch.nn.init.normal_(table, std=0.5)
    counts = np.arange(30, 0, -1)
    noise = NoiseDistribution(counts, 0.75)
    centers = torch.randint(0, 30, (300,))
    windows = torch.randint(0, 30, (300, 4)).masked_fill(torch.rand(300, 4) < 0.3, -1)
    windows[:, 0] = torch.randint(0, 30, (300,))  # (every window has a context)
    result = estimator_diagnostics(model, noise, centers, windows, negatives=3, softmax_chunk=7)
    with torch.no_grad():
        h = model.lookup(windows, centers)[0]
        logits = h @ model.output.weight.T + model.bias.weight.T  # [examples, V]
        log_z = torch.logsumexp(logits, dim=1)
    assert math.isclose(result["cross_entropy"], float((log_z - logits[torch.arange(300), centers]).mean()),
                        rel_tol=1e-4)
    assert result["model"] == "softmax" and result["log_z"]["words"] == 300  # one log Z per window

    head = build_head("hierarchical-softmax", make_config("hierarchical-softmax"))
    head.use_vocabulary(counts)
    tree = estimator_diagnostics(model, noise, centers, windows, head=head)
    with torch.no_grad():
        expected = head(score_batch(model, noise, head.request, windows, centers)).mean()
    assert tree == {"pairs": 300, "model": "tree", "cross_entropy": pytest.approx(float(expected), rel=1e-5)}


def bias_only_model(vocab, beta):
    """s(w, x) = b_x with u = 0: the true context (word 0) scores beta, every other word 0."""
    model = SkipGram(vocab, 8, output_bias=True)
    with torch.no_grad():
        model.input.weight.zero_()
        model.bias.weight.zero_()
        model.bias.weight[0] = beta
    return model


def test_diagnostics_have_their_closed_form_on_a_model_that_scores_by_bias_alone():
    """Every held-out pair has context 0. log Z(w) = log(e^beta + V - 1) for every w; the softmax
    cross-entropy is log Z - beta; with K noise words that are never the context (Q(0) = 0) the InfoNCE
    loss is log(e^beta + K) - beta, so the bound is log((K + 1) e^beta / (e^beta + K)); with noise words
    that can hit the context, each hit leaves the candidates (k hits: log(e^beta + K - k) - beta)."""
    vocab, negatives, beta = 30, 5, 2.0
    model = bias_only_model(vocab, beta)
    centers = torch.randint(1, vocab, (500,), generator=torch.Generator().manual_seed(1))
    contexts = torch.zeros(500, dtype=torch.int64)
    counts = np.arange(vocab, 0, -1)
    counts[0] = 0  # the context is never drawn as noise
    noise = NoiseDistribution(counts, 0.75)
    result = estimator_diagnostics(model, noise, centers, contexts, negatives, softmax_chunk=7)
    log_z = math.log(math.exp(beta) + vocab - 1)
    assert math.isclose(result["softmax_cross_entropy"], log_z - beta, rel_tol=1e-5)
    assert math.isclose(result["log_z"]["mean"], log_z, rel_tol=1e-5) and result["log_z"]["std"] < 1e-5
    bound = math.log((negatives + 1) * math.exp(beta) / (math.exp(beta) + negatives))
    assert math.isclose(result["infonce_bound"]["bound"], bound, rel_tol=1e-5)
    assert result["infonce_bound"]["max"] == math.log(negatives + 1)

    uniform = NoiseDistribution(np.ones(vocab), 1.0)  # now Q(0) = 1/30: some draws hit the context
    result = estimator_diagnostics(model, uniform, centers, contexts, negatives, softmax_chunk=7, seed=3)
    hits = (uniform.sample((500, negatives), torch.Generator().manual_seed(3)) == 0).sum(1).double()  # the same draws
    assert hits.sum() > 0
    loss = (torch.log(math.exp(beta) + negatives - hits) - beta).mean()
    assert math.isclose(result["infonce_bound"]["bound"], math.log(negatives + 1) - float(loss), rel_tol=1e-5)


def test_nce_is_self_normalised_and_a_better_softmax_estimate_than_negative_sampling(tmp_path, cache_dir, capsys):
    recorded = {}
    for head in ("nce", "negative-sampling"):
        out = str(tmp_path / head)
        assert main(["train", "--corpus", SMALL_CORPUS, "--head", head, "--holdout", "0.02", "--dim", "32",
                     "--epochs", "2", "--out", out, "--cache-dir", cache_dir, "--no-progress"]) == 0
        capsys.readouterr()
        assert main(["evaluate", out, "--diagnostics", "--json"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        recorded[head] = next(r for r in rows if r.get("diagnostics") == "held_out")
    nce, sgns = recorded["nce"], recorded["negative-sampling"]
    assert nce["pairs"] == sgns["pairs"] > 5000
    assert abs(nce["log_z"]["mean"]) < 1.0 < sgns["log_z"]["mean"] - 2.0  # SGNS: log Z far from 0
    assert nce["softmax_cross_entropy"] < sgns["softmax_cross_entropy"] - 1.0
