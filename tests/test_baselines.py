"""The incumbent tools inside compare and compare --tune: trained on our lines and vocabulary, scored by our
evaluation, marked as baselines; tuned on development pairs only; bad names refused in one line."""

import importlib.util
import json
import lzma

import numpy as np
import pytest

from w2v_contrastive import Vocabulary, prepare_corpus, tune
from w2v_contrastive.cli import main
from w2v_contrastive.comparison import runner
from w2v_contrastive.comparison.baselines import BASELINES, in_our_order, training_lines
from w2v_contrastive.comparison.tuning import PairSplit, development_and_reporting

from .conftest import SMALL_CORPUS

#: the first lines of gutenberg-small (about 160,000 tokens): these tests check the plumbing, not the vectors
SLICE_LINES = 3000
BUDGET = ["--epochs", "2", "--dim", "16", "--threads", "2", "--no-progress", "--no-analogy"]


@pytest.fixture(scope="module")
def slice_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("slice") / "gutenberg-small-slice.txt"
    with lzma.open(SMALL_CORPUS, "rt", encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(SLICE_LINES)]
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def encoded_slice(slice_path, cache_dir):
    return prepare_corpus(slice_path, cache_dir=cache_dir)


def test_gensim_gets_our_lines_and_exactly_our_vocabulary(encoded_slice):
    vocab = Vocabulary.from_corpus(encoded_slice, 5)
    sgns = BASELINES["gensim-sgns"]
    # held-out lines out: gensim counting its own lines with min_count 5 would keep another vocabulary
    config = sgns.config(dict(epochs=1, dim=8, holdout=0.2))
    lines, tokens = training_lines(encoded_slice, len(vocab), config)
    assert 0.75 * encoded_slice.n_tokens < tokens < 0.85 * encoded_slice.n_tokens
    assert {w for line in lines for w in line} <= set(vocab.words)
    model = sgns.gensim_model(config, vocab, len(lines), 0.025, 1)
    assert sorted(model.wv.index_to_key) == sorted(vocab.words)
    assert [model.wv.get_vecattr(w, "count") for w in vocab.words] == vocab.counts.tolist()
    ours = in_our_order(model.wv, vocab)  # (gensim orders words of equal counts its own way)
    assert ours.words == vocab.words and np.array_equal(ours.vectors_of(vocab.words), model.wv[vocab.words])
    first, read = training_lines(encoded_slice, len(vocab), sgns.config(dict(epochs=2, max_words=50_000)))
    assert read == 25_000 and 0.8 * read < sum(map(len, first)) < read  # (2 passes of the first 25,000 tokens)


def test_compare_trains_baselines_beside_the_heads_and_marks_them(slice_path, encoded_slice, cache_dir, tmp_path,
                                                                  capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "--corpus", slice_path, "--heads", "negative-sampling", "--baselines",
                 "gensim-sgns,gensim-hs,gensim-fasttext", "--out", str(out), "--cache-dir", cache_dir, "--buckets", "20000",
                 *BUDGET])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    runs = {r["head"]: r for r in results["runs"]}
    assert set(runs) == {"negative-sampling", "gensim-sgns", "gensim-hs", "gensim-fasttext"}
    assert results["baselines"]["gensim-sgns"]["tool"].startswith("gensim ")
    head = runs["negative-sampling"]
    for name in ("gensim-sgns", "gensim-hs", "gensim-fasttext"):
        run = runs[name]
        assert run["baseline"]["vocabulary"] == len(Vocabulary.from_corpus(encoded_slice, 5))
        assert abs(run["training"]["words"] - head["training"]["words"]) < 0.02 * head["training"]["words"]
        for benchmark, row in run["similarity"].items():  # one vocabulary: the same pairs scored
            assert row["covered"] == head["similarity"][benchmark]["covered"], (name, benchmark)
        assert run["config"]["dim"] == 16 and run["config"]["epochs"] == 2 and run["timeline"]
    assert runs["gensim-sgns"]["training"]["lr"] == 0.025 and runs["gensim-hs"]["config"]["head"] == "hierarchical-softmax"
    assert runs["gensim-fasttext"]["config"]["subwords"] == "3-6" and runs["gensim-sgns"]["config"]["subwords"] == "0"
    assert "baseline" not in results["summary"]["negative-sampling"]
    assert list(results["summary"])[0] == "negative-sampling"  # (the heads first, then the baselines)
    table = (out / "results.md").read_text()
    assert "| gensim-sgns (baseline: gensim " in table and "Baselines are the incumbent tools" in table
    assert "| gensim-sgns (baseline" in capsys.readouterr().out
    assert (out / "scores.png").read_bytes()[:4] == b"\x89PNG"


def test_a_tuned_baseline_is_selected_on_development_pairs_only(encoded_slice, tmp_path, monkeypatch):
    read = []
    evaluate = runner.evaluate_similarity
    monkeypatch.setattr(runner, "evaluate_similarity",
                        lambda vectors, benchmark, *a: read.append(benchmark) or evaluate(vectors, benchmark, *a))
    results = tune(encoded_slice, [], tmp_path / "t", "lr=x0.5,x2", baselines=["gensim-sgns"], seeds=[0], epochs=1,
                   dim=16, threads=2, progress=False, holdout=0.0)
    _, reporting = development_and_reporting(None, None, (), PairSplit(0))
    trials = results["trials"]
    assert [t["settings"]["lr"] for t in trials] == [0.0125, 0.05]  # x of gensim's own 0.025
    assert all(b.name.endswith(":dev") for b in read[: 2 * len(reporting)])
    assert all(b.name.endswith(":report") for b in read[2 * len(reporting):])
    best = max(trials, key=lambda t: t["dev_score"])
    assert results["selected"]["gensim-sgns"]["trial"] == best["trial"]
    assert results["defaults"]["gensim-sgns"] == {"lr": 0.025}
    assert set(results["tuned"]["gensim-sgns"]["scores"]) == {b.name for b in reporting}
    assert results["tuned"]["gensim-sgns"]["baseline"]["tool"].startswith("gensim ")
    assert "| gensim-sgns (baseline: gensim " in (tmp_path / "t" / "results.md").read_text()


@pytest.mark.parametrize("arguments,message", [
    (["--baselines", "gensim-sgns,word2vec"], "unknown baseline 'word2vec'; choose from: gensim-sgns"),
    (["--baselines", "gensim-sgns", "--max-seconds", "5"], "baseline gensim-sgns trains for a number of words"),
    (["--baselines", "gensim-hs", "--tune", "temperature=0.5,1"], "baseline gensim-hs has no equivalent of temperature"),
    (["--baselines", "gensim-cbow", "--tune", "lr=x1,x2", "--trials", "3"], "--trials must be between 1 and"),
])
def test_bad_baselines_are_one_line_before_any_training(arguments, message, slice_path, tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "--heads", "nce", "--corpus", slice_path, "--out", str(out), *arguments])
    error = capsys.readouterr().err
    assert code == 2 and message in error and error.count("\n") == 1, error
    assert not out.exists()


def test_a_missing_tool_names_the_extra_to_install(slice_path, tmp_path, monkeypatch, capsys):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gensim" else find_spec(name, *a))
    code = main(["compare", "--baselines", "gensim-fasttext", "--corpus", slice_path, "--out", str(tmp_path / "c")])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1
    assert "baseline gensim-fasttext needs the gensim package: pip install 'w2v-contrastive[baselines]'" in error
