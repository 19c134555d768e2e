"""The comparison harness: 3 heads x 2 seeds on the small corpus, interrupted and resumed."""

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

import w2v_contrastive.comparison.runner as compare_module
from w2v_contrastive import W2VError, compare
from w2v_contrastive.cli import main
from tests.conftest import SMALL_CORPUS

HEADS = ["negative-sampling", "nce", "hierarchical-softmax"]
BUDGET = ["--epochs", "2", "--max-words", "400000", "--dim", "32", "--threads", "2", "--no-progress",
          "--log-every", "0.05"]


def test_compare_interrupted_then_resumed(tmp_path, cache_dir, monkeypatch, capsys):
    out = str(tmp_path / "cmp")
    tensorboard = str(tmp_path / "tb")
    calls = []
    real_train = compare_module.train

    def train_then_interrupt(*args, **kwargs):
        calls.append(kwargs["seed"])
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C during the third run
        return real_train(*args, **kwargs)

    monkeypatch.setattr(compare_module, "train", train_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        compare(SMALL_CORPUS, HEADS, out, seeds=[0, 1], cache_dir=cache_dir, epochs=2, max_words=400_000, dim=32,
                threads=2, progress=False, log_every_seconds=0.05, eval_every_seconds=0.1, tensorboard=tensorboard)
    finished = sorted(os.listdir(os.path.join(out, "runs")))
    assert finished == ["negative-sampling-seed0.json", "negative-sampling-seed1.json"]
    assert not os.path.exists(os.path.join(out, "results.json"))
    first_run = os.path.join(out, "runs", finished[0])
    stamp = os.stat(first_run).st_mtime_ns

    monkeypatch.setattr(compare_module, "train", real_train)
    code = main(["compare", "--corpus", SMALL_CORPUS, "--heads", ",".join(HEADS), "--seeds", "0,1", "--out", out,
                 "--cache-dir", cache_dir, "--eval-every", "0.1", "--tensorboard", tensorboard, *BUDGET])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| negative-sampling |" in printed and "| nce |" in printed
    assert os.stat(first_run).st_mtime_ns == stamp  # resumed: the finished runs were not trained again

    with open(os.path.join(out, "results.json")) as handle:
        results = json.load(handle)
    runs = {(r["head"], r["seed"]): r for r in results["runs"]}
    assert set(runs) == {(h, s) for h in HEADS for s in (0, 1)}
    for seed in (0, 1):
        assert runs["negative-sampling", seed]["training"]["words"] == runs["nce", seed]["training"]["words"]
    for run in runs.values():
        assert {"wordsim353", "simlex999", "men3k", "rg65", "mturk287"} <= set(run["similarity"])
        assert run["analogy"]["covered"] > 0 and run["peak_memory_mb"] > 100
        assert len(run["timeline"]) >= 2 and run["timeline"][-1]["words"] == run["history"][-1]["words"]
        assert 0 < run["geometry"]["effective_rank"] <= 32
        assert run["config"]["holdout"] == 0.01 and run["held_out"]["pairs"] > 1000  # 1% of documents held out
        assert run["held_out"]["cross_entropy"] > 0
    # the two kinds of normalised model: the softmax over each run's scores, and the hierarchical softmax's tree
    assert runs["nce", 0]["held_out"]["model"] == "softmax" and "log_z" in runs["nce", 0]["held_out"]
    tree = runs["hierarchical-softmax", 0]["held_out"]
    assert tree["model"] == "tree" and tree["cross_entropy"] < math.log(7621) - 1  # (a uniform guess: log V)

    # the interval over seeds is Student's t interval of the two runs' rho
    values = np.array([runs["nce", s]["similarity"]["men3k"]["spearman"] for s in (0, 1)])
    half = stats.t.ppf(0.975, 1) * values.std(ddof=1) / math.sqrt(2)
    summary = results["summary"]["nce"]["scores"]["men3k"]
    assert summary["mean"] == pytest.approx(values.mean())
    assert summary["ci95"] == pytest.approx([values.mean() - half, values.mean() + half])
    assert summary["mean"] > 0.1  # 400k words of training beat random vectors (about 0 +- 0.03)

    with open(os.path.join(out, "results.md")) as handle:
        table = handle.read()
    assert "Student's t" in table and "Differences inside the intervals" in table
    assert "| nce | " in table.split("held-out CE")[1]
    assert table.split("held-out CE")[1].split("| hierarchical-softmax | ")[1].split(" |")[0].endswith("*")
    for name in ("loss.png", "rho.png", "scores.png"):
        with open(os.path.join(out, name), "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(os.listdir(tensorboard)) == 2 * len(HEADS)  # one event folder per run that was trained

    with pytest.raises(W2VError, match="holds a run with other settings"):
        compare(SMALL_CORPUS, HEADS, out, seeds=[0], cache_dir=cache_dir, epochs=1, max_words=150_000, dim=16,
                threads=2, progress=False)


def test_one_seed_gives_every_head_the_same_pairs_in_the_same_order(small_corpus):
    from w2v_contrastive import Vocabulary, make_config
    from w2v_contrastive.train.trainer import Trainer

    vocab = Vocabulary.from_corpus(small_corpus, 5, None)

    def first_batches(head, seed, **settings):
        trainer = Trainer(make_config(head, seed=seed, batch_size=4096, **settings), small_corpus, vocab)
        stream = trainer.pairs.batches(1)
        return [next(stream) for _ in range(3)]

    reference = first_batches("negative-sampling", 0)
    for head, settings in (("triplet", {}), ("n-pair", {}), ("infonce", {"fused_cpu": False})):
        for got, want in zip(first_batches(head, 0, **settings), reference):
            assert got.centers.equal(want.centers) and got.contexts.equal(want.contexts), head
    assert not first_batches("negative-sampling", 1)[0].centers.equal(reference[0].centers)


def test_the_timeline_evaluates_at_every_tenth_of_the_budget():
    """Logged 100 times, a run is evaluated at its first record and once per tenth of its budget, in
    words or in seconds, whichever is further along: a curve of 11 points however long it trains."""
    words_budget = compare_module.Timeline([], every=math.inf, points=10, budget_words=1000)
    seconds_budget = compare_module.Timeline([], every=math.inf, points=10, budget_words=10**9, max_seconds=50.0)
    for i in range(1, 101):
        record = {"seconds": i * 0.5, "words": i * 10, "loss": 1.0}
        words_budget.on_log(record, lambda: None)
        seconds_budget.on_log(record, lambda: None)
    assert [p["words"] for p in words_budget.points] == [10, *range(100, 1001, 100)]
    assert [p["seconds"] for p in seconds_budget.points] == [0.5, *range(5, 51, 5)]
