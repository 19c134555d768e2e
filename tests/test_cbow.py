"""CBOW (``--model cbow``): the input is the mean of the window's context vectors and the centre word the target.
The mean and its update against hand-computed values, the window stream against the skip-gram pairs of the same
seed, the softmax's per-example log Z, and a run from the command line and resumed (under torchrun:
test_distributed.py)."""

import json
import os

import numpy as np
import pytest
import torch

from w2v_contrastive import TrainConfig, W2VError, train
from w2v_contrastive.cli import main
from w2v_contrastive.corpus.vocab import Vocabulary
from w2v_contrastive.errors import TrainingInterrupted
from w2v_contrastive.heads import build_head, score_batch
from w2v_contrastive.model import SkipGram, bag_mean
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.sampling.pairs import PairStream
from tests.conftest import SMALL_CORPUS
from tests.test_reliability import SigtermAfterTheFirstCheckpoint, resume_in_place


def test_the_input_is_the_mean_of_the_present_rows_and_each_row_takes_its_whole_gradient():
    bags = SkipGram(10, 2).input_bags(torch.tensor([[7, 8, -1], [2, -1, -1]]))  # absent words are -1
    assert bags.rows.tolist() == [7, 8, 2] and bags.owners.tolist() == [0, 0, 1]  # packed: the present rows
    rows = torch.tensor([[1.0, 2.0], [3.0, 6.0], [4.0, -4.0]], requires_grad=True)  # (rows 7, 8, 2)
    h = bag_mean(rows, bags)
    assert torch.equal(h, torch.tensor([[2.0, 4.0], [4.0, -4.0]]))  # (1 + 3) / 2, (2 + 6) / 2; the one row
    h.backward(torch.tensor([[1.0, -1.0], [0.5, 2.0]]))
    # word2vec's CBOW update: every present row gets dL/dh itself (not dL/dh / n)
    assert torch.equal(rows.grad, torch.tensor([[1.0, -1.0], [1.0, -1.0], [0.5, 2.0]]))


@pytest.mark.parametrize("tied", [False, True])
def test_the_model_looks_up_a_window_as_its_mean(tied):
    torch.manual_seed(0)
    model = SkipGram(20, 4, tied=tied, output_init="uniform")
    windows = torch.tensor([[1, 2, -1, 5], [-1, -1, 3, -1]])
    u, v, _ = model.lookup(windows, torch.tensor([[7, 8], [9, 10]]))
    table = model.input.weight
    assert torch.allclose(u, torch.stack([(table[1] + table[2] + table[5]) / 3, table[3]]))
    assert torch.equal(v, model.output.weight[torch.tensor([[7, 8], [9, 10]])])


def test_the_window_stream_holds_the_skipgram_pairs_of_the_same_seed_grouped_by_centre(small_corpus):
    vocab = Vocabulary.from_corpus(small_corpus, 5)
    streams = {model: PairStream(small_corpus, len(vocab), vocab.keep_probabilities(1e-3), 5, 1 << 20,
                                 torch.device("cpu"), torch.Generator().manual_seed(3), chunk_tokens=50_000,
                                 model=model) for model in ("skipgram", "cbow")}
    pairs = streams["skipgram"].chunk_pairs(*streams["skipgram"].chunks[2])
    windows = streams["cbow"].chunk_pairs(*streams["cbow"].chunks[2])
    centers, contexts = pairs.centers[:pairs.count], pairs.contexts[:pairs.count]
    window_centers, window = windows.centers[:windows.count], windows.contexts[:windows.count]
    assert window.shape == (windows.count, 10) and windows.count > 5000
    present = window >= 0
    assert present.any(1).all()  # every example has a context
    # the windows read row by row are the skip-gram pairs in their order: same subsampling, windows, shuffle
    assert torch.equal(window[present], contexts)
    assert torch.equal(window_centers.repeat_interleave(present.sum(1)), centers)
    # the dynamic window: word2vec's b uniform in 1..5 on both sides of the centre, cut at line ends. Each side's
    # contexts fill the offsets nearest the centre first (columns: offsets -5..-1, then 1..5) ...
    left, right = present[:, :5].flip(1), present[:, 5:]  # (each side nearest first)
    for side in (left, right):
        assert (side[:, 1:] <= side[:, :-1]).all()  # an offset holds a context only if the nearer ones do
    # ... the two sides reach equally far unless a line ends first (measured: 85% of windows), and the longer side
    # reaches b, so its reach is uniform in 1..5 (each 0.20 +- 0.002 on 34,000 windows)
    reach_left, reach_right = left.sum(1), right.sum(1)
    assert (reach_left == reach_right).float().mean() > 0.8
    shares = torch.bincount(torch.maximum(reach_left, reach_right), minlength=6) / windows.count
    assert shares[0] == 0 and (shares[1:] - 0.2).abs().max() < 0.02, shares


def test_the_softmax_normalises_each_windows_mean_on_its_own():
    torch.manual_seed(0)
    config = TrainConfig(head="softmax", model="cbow", dim=6)
    head = build_head("softmax", config)
    model = SkipGram(30, 6, output_bias=True, output_init="uniform")
    windows = torch.tensor([[1, 2, -1, -1], [1, -1, -1, -1], [2, 1, 1, 3]])
    targets = torch.tensor([4, 5, 6])
    noise = NoiseDistribution(np.arange(30, 0, -1), 0.75)
    scores = score_batch(model, noise, head.request, windows, targets, softmax_chunk=7)
    h = model.lookup(windows, targets)[0]
    logits = h @ model.output.weight.T + model.bias.weight.T
    assert torch.allclose(scores.log_partition, torch.logsumexp(logits, 1), atol=1e-5)
    assert torch.allclose(head(scores), torch.logsumexp(logits, 1) - logits[torch.arange(3), targets], atol=1e-5)


def test_the_softmax_trains_cbow_through_autograd(small_corpus):
    def held_out_cross_entropy(**budget):
        result = train(small_corpus, "softmax", model="cbow", max_vocab=300, dim=16, batch_size=512, holdout=0.05,
                       sample=0, progress=False, **budget)  # (held-out windows are not subsampled: nor these)
        assert result.stats.step == "autograd" and result.held_out["model"] == "softmax"
        return result.held_out["cross_entropy"]

    # the same held-out windows after one step and after an epoch: 4.72 -> 4.39 nats measured
    assert held_out_cross_entropy(epochs=1) < held_out_cross_entropy(max_words=1000) - 0.15


def test_a_distance_head_refuses_cbow_in_one_line():
    with pytest.raises(W2VError, match="the triplet head trains only skipgram, not --model cbow"):
        TrainConfig(head="triplet", model="cbow").validate()
    build_head("nce", TrainConfig(head="nce", model="cbow"))  # (dot-product heads take it)
    TrainConfig(head="hierarchical-softmax", model="cbow").validate()


def test_cbow_with_the_hierarchical_softmax_trains_from_the_cli_and_reports_held_out_cross_entropy(small_corpus,
                                                                                                   tmp_path, cache_dir,
                                                                                                   capsys):
    out = str(tmp_path / "run")
    assert main(["train", "--corpus", SMALL_CORPUS, "--model", "cbow", "--head", "hierarchical-softmax", "--epochs",
                 "1", "--dim", "24", "--holdout", "0.05", "--sample", "0", "--out", out, "--cache-dir", cache_dir,
                 "--no-progress"]) == 0
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["config"]["model"] == "cbow" and config["training"]["step"] == "fused"
    assert config["training"]["lr"] == 0.05  # CBOW: twice the head's SGD step, word2vec.c's rule
    held_out = config["held_out"]
    # the tree's exact cross-entropy on the same held-out windows (not subsampled: nor is the training) after one
    # step, with the inner nodes still near 0 (the Huffman code's unigram model), and after an epoch: 6.56 -> 6.26
    # nats measured
    one_step = train(small_corpus, "hierarchical-softmax", model="cbow", dim=24, holdout=0.05, sample=0,
                     max_words=1000, progress=False).held_out
    assert held_out["model"] == one_step["model"] == "tree" and held_out["pairs"] == one_step["pairs"] > 10_000
    assert held_out["cross_entropy"] < one_step["cross_entropy"] - 0.15, (held_out, one_step)
    capsys.readouterr()
    assert main(["evaluate", out, "--diagnostics"]) == 0
    assert "held-out         hierarchical softmax cross-entropy" in capsys.readouterr().out
    # the output table holds tree nodes: no context vectors to export, in one line
    assert main(["export", out, "--vectors", "output", "--out", str(tmp_path / "contexts.txt")]) == 2
    assert "tree's inner nodes, not context vectors" in capsys.readouterr().err


def test_a_cbow_subword_run_stopped_by_sigterm_resumes_bit_for_bit(small_corpus, tmp_path):
    """(with subwords: the checkpoint holds the n-gram rows, and the resumed run rebuilds each word's rows)"""
    common = dict(model="cbow", dim=24, max_words=300_000, deterministic=True, progress=False, subwords="3-4",
                  buckets=5000)
    reference = train(small_corpus, "hierarchical-softmax", **common)
    out = str(tmp_path / "run")
    with pytest.raises(TrainingInterrupted, match="SIGTERM at step"):
        train(small_corpus, "hierarchical-softmax", out, checkpoint_every=5,
              callbacks=[SigtermAfterTheFirstCheckpoint()], **common)
    resumed = resume_in_place(out, small_corpus, reference.stats.steps)
    assert np.array_equal(resumed.vectors.matrix, reference.vectors.matrix)
    assert np.array_equal(resumed.vectors.subwords.ngrams, reference.vectors.subwords.ngrams)
