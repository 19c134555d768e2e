"""CBOW (``--model cbow``): the input is the mean of the window's context vectors and the centre word the target.
The mean and its update against hand-computed values, the window stream against the skip-gram pairs of the same
seed, the softmax's per-example log Z, and a run from the command line, resumed, and under torchrun."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from w2v_contrastive import TrainConfig, W2VError, load, resume, train
from w2v_contrastive.cli import main
from w2v_contrastive.corpus.vocab import Vocabulary
from w2v_contrastive.errors import TrainingInterrupted
from w2v_contrastive.heads import build_head, score_batch
from w2v_contrastive.model import SkipGram, bag_mean
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.sampling.pairs import PairStream
from tests.conftest import SMALL_CORPUS
from tests.test_reliability import SigtermAfterTheFirstCheckpoint


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
    # the dynamic window: contexts fill the offsets nearest the centre first, symmetric up to line ends
    assert 5.0 < present.sum(1).float().mean() < 6.0


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


def test_cbow_with_the_hierarchical_softmax_trains_from_the_cli_and_reports_held_out_cross_entropy(tmp_path,
                                                                                                   cache_dir, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "--corpus", SMALL_CORPUS, "--model", "cbow", "--head", "hierarchical-softmax", "--epochs",
                 "2", "--dim", "24", "--holdout", "0.05", "--out", out, "--cache-dir", cache_dir, "--no-progress"]) == 0
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["config"]["model"] == "cbow" and config["training"]["step"] == "fused"
    assert config["training"]["lr"] == 0.05  # CBOW: twice the head's SGD step, word2vec.c's rule
    held_out = config["held_out"]
    # the tree's exact cross-entropy: below the unigram entropy's neighbourhood, far below log V
    vocabulary = len(load(out).words)
    assert held_out["model"] == "tree" and 4.0 < held_out["cross_entropy"] < np.log(vocabulary) - 1.0, held_out
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
    reference = train(small_corpus, "hierarchical-softmax", **common).vectors
    out = str(tmp_path / "run")
    with pytest.raises(TrainingInterrupted, match="SIGTERM at step"):
        train(small_corpus, "hierarchical-softmax", out, checkpoint_every=5,
              callbacks=[SigtermAfterTheFirstCheckpoint()], **common)
    resumed = resume(out, small_corpus)
    assert resumed.stats.steps > 5 and np.array_equal(resumed.vectors.matrix, reference.matrix)
    assert np.array_equal(resumed.vectors.subwords.ngrams, reference.subwords.ngrams)


def test_a_cbow_subword_torchrun_job_keeps_one_model(tmp_path, cache_dir):
    """(the ranks average the n-gram rows with the rest of the input table)"""
    out = str(tmp_path / "run")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
               "w2v_contrastive", "train", "--corpus", SMALL_CORPUS, "--model", "cbow", "--head", "negative-sampling",
               "--epochs", "2", "--dim", "24", "--threads", "1", "--no-progress", "--out", out,
               "--cache-dir", cache_dir, "--subwords", "3-4", "--buckets", "5000"]
    proc = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    training = json.load(open(os.path.join(out, "config.json")))["training"]
    assert training["ranks"] == 2 and training["rank_parameter_spread"] == 0.0 and training["step"] == "fused"
    assert training["words"] == pytest.approx(2 * 493_442, rel=1e-6)
