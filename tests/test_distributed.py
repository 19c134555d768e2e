"""torchrun with two CPU processes (gloo): one consistent model, as good as one process's; resume."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from w2v_contrastive import evaluate, load, train
from w2v_contrastive.train.checkpoint import STATE_FILE
from tests.conftest import SMALL_CORPUS

SETTINGS = {"dim": 50, "epochs": 10, "sample": 1e-3, "min_count": 2}
ARGS = ["--corpus", SMALL_CORPUS, "--dim", "50", "--epochs", "10", "--sample", "1e-3", "--min-count", "2", "--no-progress"]


def torchrun(*args, command="train", settings=tuple(ARGS), **popen):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "w2v_contrastive", command, *settings, *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if popen:
        return subprocess.Popen(command, env=env, **popen)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def rho(vectors):
    return {row["benchmark"]: row["spearman"] for row in evaluate(vectors, ["wordsim353", "simlex999"])}


@pytest.fixture(scope="module")
def one_process(small_corpus):
    return rho(train(small_corpus, "negative-sampling", threads=2, progress=False, **SETTINGS).vectors)


def test_two_processes_train_one_model_as_good_as_one_process(tmp_path, cache_dir, one_process):
    out = str(tmp_path / "average")
    proc = torchrun("--out", out, "--cache-dir", cache_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("trained negative-sampling") == 1  # rank 0 reports and writes, once
    training = json.load(open(os.path.join(out, "config.json")))["training"]
    assert training["ranks"] == 2 and training["sync"] == "average"  # the fused kernel averages
    assert training["rank_parameter_spread"] == 0.0  # both ranks end with the same parameters
    assert training["words"] == pytest.approx(10 * 493_442, rel=1e-6)  # together: every token, every epoch
    two_processes = rho(load(out))
    for benchmark, value in one_process.items():
        assert abs(two_processes[benchmark] - value) < 0.03, (benchmark, two_processes, one_process)


def test_compare_runs_each_head_under_torchrun_with_gradient_sync(tmp_path, cache_dir):
    out = str(tmp_path / "compare")
    proc = torchrun("--heads", "negative-sampling", "--out", out, "--no-analogy", "--sync", "gradients", "--holdout", "0",
                    "--cache-dir", cache_dir, "--epochs", "2", command="compare")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("| negative-sampling |") == 2  # rank 0 prints the tables once
    run = json.load(open(os.path.join(out, "runs", "negative-sampling-seed0.json")))
    training = run["training"]
    assert training["ranks"] == 2 and training["sync"] == "gradients" and not training["fused_cpu"]
    assert training["rank_parameter_spread"] == 0.0  # one update, applied on every rank
    assert run["similarity"]["simlex999"]["spearman"] > 0.07  # it learns (random: 0.00 +- 0.03; 1 process: 0.13)


def test_a_torchrun_job_resumes_from_its_checkpoint(tmp_path, cache_dir):
    out = str(tmp_path / "run")
    proc = torchrun("--out", out, "--cache-dir", cache_dir, "--checkpoint-every", "5", "--epochs", "4",
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = os.path.join(out + ".partial", STATE_FILE)
    deadline = time.monotonic() + 300
    while not os.path.exists(state):
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)  # torchrun passes it on to both workers
    proc.communicate(timeout=120)
    assert proc.returncode != 0 and not os.path.exists(out) and os.path.exists(state)
    resumed = torchrun("--resume", out, "--no-progress", settings=())
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    training = json.load(open(os.path.join(out, "config.json")))["training"]
    assert training["ranks"] == 2 and training["rank_parameter_spread"] == 0.0
    assert rho(load(out))["simlex999"] > 0.05
