"""compare --tune: the search, the development/reporting split (selection never reads a reporting pair), a tuning
run that resumes after an interruption, and bad input refused before anything trains."""

import os

import pytest

from w2v_contrastive import tune
from w2v_contrastive.cli import main
from w2v_contrastive.comparison import runner, tuning
from w2v_contrastive.comparison.tuning import PairSplit, development_and_reporting, parse_spec, search_points

from .conftest import SMALL_CORPUS

#: a tiny budget: these tests check the machinery, not the vectors
BUDGET = dict(max_words=20_000, holdout=0.0, progress=False, dim=16)


def pairs_of(benchmarks):
    return {frozenset(p[:2]) for b in benchmarks for p in b.pairs}


def test_the_split_puts_each_pair_in_one_half_in_every_benchmark():
    development, reporting = development_and_reporting(None, None, (), PairSplit(0))
    assert not pairs_of(development) & pairs_of(reporting)  # (WS353's subsets share its pairs: one half for all)
    for dev, report in zip(development, reporting):
        share = len(dev.pairs) / (len(dev.pairs) + len(report.pairs))
        assert abs(share - 0.5) < (0.15 if len(dev.pairs) + len(report.pairs) < 300 else 0.05), (dev.name, share)
    assert pairs_of(development_and_reporting(None, None, (), PairSplit(1))[0]) != pairs_of(development)
    # whole benchmarks that select leave their pairs out of every reported one (WS353 holds WS353-sim's)
    development, reporting = development_and_reporting(["wordsim353_sim"], None, (), PairSplit(0))
    assert "wordsim353_sim" not in {r.name for r in reporting} and not pairs_of(development) & pairs_of(reporting)


def test_the_search_is_the_grid_or_the_same_random_points_for_every_head():
    space = parse_spec("lr=x0.5,x1,x2 window=2,5 nce.lr=0.01,0.02,0.04", ["negative-sampling", "nce"])
    assert space["nce"]["lr"] == ["0.01", "0.02", "0.04"] and space["negative-sampling"]["window"] == ["2", "5"]
    grid = search_points(space, None, 0)
    assert len(grid["nce"]) == len(grid["negative-sampling"]) == 6
    drawn = search_points(space, 3, 0)
    assert [p["window"] for p in drawn["nce"]] == [p["window"] for p in drawn["negative-sampling"]]
    assert tuning.resolve("nce", {"lr": "x2", "window": "2"}, {}).lr == 0.1  # twice nce's 0.05


def test_selection_never_reads_a_reporting_pair(small_corpus, tmp_path, monkeypatch):
    read = []  # every benchmark an evaluation read, in order
    evaluate = runner.evaluate_similarity
    monkeypatch.setattr(runner, "evaluate_similarity",
                        lambda vectors, benchmark, *a: read.append(benchmark) or evaluate(vectors, benchmark, *a))
    trials = []
    results = tune(small_corpus, ["negative-sampling"], tmp_path / "t", "lr=x0.5,x1 window=2,5", trials=3, seeds=[0],
                   on_trial=trials.append, **BUDGET)
    _, reporting = development_and_reporting(None, None, (), PairSplit(0))
    during_trials = read[: 3 * len(reporting)]
    assert all(b.name.endswith(":dev") for b in during_trials) and not pairs_of(during_trials) & pairs_of(reporting)
    assert all(set(t["dev"]) == {b.name for b in during_trials} for t in trials)
    best = max(trials, key=lambda t: t["dev_score"])
    assert results["selected"]["negative-sampling"]["trial"] == best["trial"]
    assert all(b.name.endswith(":report") for b in read[3 * len(reporting):])
    assert set(results["tuned"]["negative-sampling"]["scores"]) == {b.name for b in reporting}


def test_an_interrupted_tuning_run_resumes_without_retraining_its_finished_trials(small_corpus, tmp_path, monkeypatch):
    out = tmp_path / "t"

    def interrupt(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tune(small_corpus, ["nce"], out, "lr=x0.5,x1", seeds=[0], on_trial=interrupt, **BUDGET)
    first = out / "trials" / "nce-0.json"
    written = first.stat().st_mtime_ns
    trained = []
    train_and_evaluate = runner._train_and_evaluate
    monkeypatch.setattr(runner, "_train_and_evaluate", lambda *a: trained.append(a[1]) or train_and_evaluate(*a))
    results = tune(small_corpus, ["nce"], out, "lr=x0.5,x1", seeds=[0], **BUDGET)
    assert first.stat().st_mtime_ns == written and len(results["trials"]) == 2
    assert trained[0].lr == results["defaults"]["nce"]["lr"]  # the x1 trial first: the x0.5 one is read from its file
    assert os.path.exists(out / "results.md")


@pytest.mark.parametrize("arguments,message", [
    (["--tune", "learning=0.1"], "unknown hyperparameter 'learning'"),
    (["--tune", "lr=fast"], "lr=fast is not a float"),
    (["--tune", "lr=-1"], "lr must be > 0"),
    (["--tune", "window=2,5", "--trials", "3"], "--trials must be between 1 and the grid's 2 points"),
    (["--tune", "nce.lr=0.1"], "names head 'nce', which is not among --heads"),
    (["--trials", "2"], "--trials goes with --tune"),
])
def test_bad_tuning_input_is_one_line_before_any_training(arguments, message, tmp_path, capsys):
    out = tmp_path / "t"
    code = main(["compare", "--heads", "negative-sampling", "--corpus", SMALL_CORPUS, "--out", str(out), *arguments])
    error = capsys.readouterr().err
    assert code == 2 and message in error and error.count("\n") == 1, error
    assert not out.exists()
