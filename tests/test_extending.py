"""docs/extending.md works as written: its example head, registered from the page's code blocks, passes
what every head passes, trains from the CLI, and records its options."""

import json
import os
import re
import sys
import types

import numpy as np
import pytest

from w2v_contrastive import HEADS, TrainConfig, evaluate, train
from w2v_contrastive.cli import main
from w2v_contrastive.heads import build_head, constructor_arguments
from tests.conftest import ROOT, SMALL_CORPUS
from tests.heads.common import COLLAPSED, collapsed, head_and_reference
from tests.test_fused_sgd import test_row_loss_and_gradient_match_forward_and_autograd as fused_row_matches_autograd

PAGE = os.path.join(ROOT, "docs", "extending.md")
NAME = "margin-ranking"


def page_files() -> dict[str, str]:
    """The page's code blocks that stand for files: ```python file=PATH."""
    text = open(PAGE, encoding="utf-8").read()
    return dict(re.findall(r"```python file=(\S+)\n(.*?)```", text, flags=re.S))


def load_module(name: str, package: str, code: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__package__ = package
    sys.modules[name] = module
    exec(compile(code, f"<docs/extending.md: {name}>", "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def example():
    """The page's head registered (and its test module importable) for this module's tests only."""
    files = page_files()
    assert set(files) == {"w2v_contrastive/heads/margin_ranking.py", "tests/heads/test_margin_ranking.py"}
    load_module("w2v_contrastive.heads.margin_ranking", "w2v_contrastive.heads",
                files["w2v_contrastive/heads/margin_ranking.py"])
    tests_module = load_module("tests.heads.test_margin_ranking", "tests.heads", files["tests/heads/test_margin_ranking.py"])
    budget = re.search(r'"margin-ranking": (\{.*?\}),', open(PAGE, encoding="utf-8").read()).group(1)
    yield tests_module, json.loads(budget)
    del HEADS[NAME]
    for name in ("w2v_contrastive.heads.margin_ranking", "tests.heads.test_margin_ranking"):
        del sys.modules[name]


def test_the_example_head_passes_what_every_head_passes(example):
    tests_module, _ = example
    assert set(constructor_arguments(HEADS[NAME])) <= set(TrainConfig.__dataclass_fields__)
    head = build_head(NAME, TrainConfig(head=NAME, margin=0.5))
    assert head.hyperparameters() == {"negatives": 5, "margin": 0.5}
    for geometry, settings in tests_module.CASES:
        loss, expected, grads, expected_grads, _ = head_and_reference(NAME, geometry, **settings)
        assert np.allclose(loss, expected, rtol=1e-4, atol=1e-5)
        assert all(np.allclose(g, e, rtol=1e-3, atol=1e-4) for g, e in zip(grads, expected_grads))
    loss, gradient, head, negatives = collapsed(NAME, COLLAPSED)
    assert np.allclose(loss, negatives * head.margin) and gradient > 1e-3  # every noise word ties with c
    fused_row_matches_autograd(NAME, {}, k=6, spread=4.0)


def test_the_example_head_trains_from_the_cli_and_records_its_options(example, small_corpus, random_baseline, tmp_path,
                                                                     cache_dir, capsys):
    _, budget = example
    result = train(small_corpus, NAME, dim=50, sample=1e-3, threads=2, progress=False, **budget)
    assert result.stats.step == "fused"  # its compiled row put it on the fused CPU kernel
    mean, spread, _ = random_baseline(result.vocab.words)
    (men,) = evaluate(result.vectors, ["men3k"], interval=False)
    assert men["spearman"] > max(0.25, mean + 5 * spread), men
    out = str(tmp_path / "ranking")
    assert main(["train", "--corpus", SMALL_CORPUS, "--head", NAME, "--margin", "0.5", "--max-words", "50000",
                 "--out", out, "--cache-dir", cache_dir, "--no-progress"]) == 0
    head = json.load(open(os.path.join(out, "config.json")))["head"]
    assert head["name"] == NAME and head["hyperparameters"] == {"negatives": 5, "margin": 0.5}
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "[contrastive, lifted-structured, margin-ranking, triplet]" in " ".join(capsys.readouterr().out.split())
