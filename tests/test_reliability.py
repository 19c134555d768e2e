"""Faults during training and writing: signals, kill -9, divergence, damaged caches, refused resumes
(docs/reliability.md lists each fault with the test that shows it)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from w2v_contrastive import Callback, W2VError, load, resume, train
from w2v_contrastive.errors import TrainingInterrupted
from w2v_contrastive.cli import main
from w2v_contrastive.train.checkpoint import STATE_FILE, load_state
from w2v_contrastive.vectors import Vectors
from tests.conftest import SMALL_CORPUS

#: deterministic (serial fused kernel) and long enough to interrupt after its first checkpoint (140 steps)
RUN = ["--corpus", SMALL_CORPUS, "--dim", "24", "--epochs", "2", "--deterministic", "--no-progress"]
#: NCE on the row step (SGD with index_add_, no optimizer) on 2 threads: 18 steps
ROW_STEP = dict(dim=24, threads=2, progress=False, fused_cpu=False, max_words=30_000)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, cache_dir):
    """The vectors of an uninterrupted run."""
    out = str(tmp_path_factory.mktemp("reference") / "run")
    assert main(["train", *RUN, "--out", out, "--cache-dir", cache_dir]) == 0
    return load(out).matrix


def start_training(out, cache_dir, *extra):
    return subprocess.Popen([sys.executable, "-m", "w2v_contrastive", "train", *RUN, "--out", out,
                             "--cache-dir", cache_dir, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(path, proc, timeout=300.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, f"training ended before {path} appeared: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.01)


def test_deterministic_runs_are_bit_identical(reference, tmp_path, cache_dir):
    again = str(tmp_path / "again")
    assert main(["train", *RUN, "--out", again, "--cache-dir", cache_dir]) == 0
    assert np.array_equal(load(again).matrix, reference)


@pytest.fixture(scope="module")
def row_step_run(small_corpus):
    """An uninterrupted NCE run on the row step (ROW_STEP)."""
    return train(small_corpus, "nce", **ROW_STEP)


def test_the_row_step_is_reproducible_on_two_threads(small_corpus, row_step_run):
    again = train(small_corpus, "nce", **ROW_STEP)
    assert np.array_equal(again.vectors.matrix, row_step_run.vectors.matrix)


class SigtermAfterTheFirstCheckpoint(Callback):
    """Sends this process SIGTERM once, right after the first scheduled checkpoint: a stop mid-run."""

    def __init__(self):
        self.sent = False

    def on_checkpoint(self, step, path):
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)


class FirstStep(Callback):
    """The step of a run's first metrics record: with log_every_seconds=0, the first step the process took."""

    def __init__(self):
        self.step = None

    def on_log(self, record, vectors):
        if self.step is None:
            self.step = record["step"]


def resume_in_place(out, corpus, whole_run_steps):
    """Resume the interrupted run ``out`` (logging every step) and check that the process took up the
    checkpoint's step: its first step is the one after it, and it took only the rest of the run's steps.
    (A run that ignored the checkpoint and started over would give the same vectors: the same seed.)"""
    stopped_at = load_state(os.path.join(out + ".partial", STATE_FILE))["stats"]["steps"]
    first = FirstStep()
    resumed = resume(out, corpus, log_every_seconds=0, callbacks=[first])
    assert 0 < stopped_at < whole_run_steps and first.step == stopped_at + 1, (stopped_at, first.step)
    assert resumed.stats.steps == whole_run_steps
    return resumed


@pytest.mark.parametrize("head,settings,optimizers", [
    ("nce", ROW_STEP, 0),  # the row step: SGD with index_add_, no optimizer
    ("contrastive", {"max_words": 30_000}, 1),  # the row step with RowAdam: its moments are checkpointed
    # SparseAdam (word vectors) and Adam (context table, bias); small batches, so that it takes several steps
    ("softmax", {"max_vocab": 1000, "max_words": 40_000, "batch_size": 2048}, 2),
], ids=["row-step-SGD", "row-step-Adam", "SparseAdam+Adam"])
def test_the_torch_steps_stopped_by_sigterm_resume_bit_for_bit(small_corpus, tmp_path, head, settings, optimizers,
                                                               request):
    common = {**dict(dim=24, threads=2, progress=False), **settings}
    reference = request.getfixturevalue("row_step_run") if settings is ROW_STEP else train(small_corpus, head, **common)
    out = str(tmp_path / head)
    with pytest.raises(TrainingInterrupted, match="SIGTERM at step .*: checkpoint written to"):
        train(small_corpus, head, out, checkpoint_every=3, callbacks=[SigtermAfterTheFirstCheckpoint()], **common)
    assert not os.path.exists(out) and os.path.exists(os.path.join(out + ".partial", STATE_FILE))
    assert len(load_state(os.path.join(out + ".partial", STATE_FILE))["optimizers"]) == optimizers  # moments too
    resumed = resume_in_place(out, small_corpus, reference.stats.steps)  # (an encoded corpus: no files to find again)
    assert np.array_equal(resumed.vectors.matrix, reference.vectors.matrix)


def test_a_checkpoint_whose_generators_ran_on_another_device_resumes_with_fresh_draws(small_corpus, tmp_path, caplog,
                                                                                       row_step_run):
    """A GPU's generator state (Philox: seed and offset) cannot seed a CPU generator, nor the other way round:
    the run continues from the checkpoint's step and stream position with new draws, and says so."""
    out = str(tmp_path / "nce")
    with pytest.raises(TrainingInterrupted):
        train(small_corpus, "nce", out, checkpoint_every=3, callbacks=[SigtermAfterTheFirstCheckpoint()], **ROW_STEP)
    path = os.path.join(out + ".partial", STATE_FILE)
    state = load_state(path)
    steps, position = state["stats"]["steps"], state["position"]
    state.update(generator_device="cuda", pair_rng=torch.zeros(16, dtype=torch.uint8),
                 noise_rng=torch.zeros(16, dtype=torch.uint8))  # what a CUDA generator's get_state() gives
    torch.save(state, path)
    resumed = resume(out, small_corpus)
    assert f"ran on cuda; on cpu the run continues from step {steps} with fresh draws" in caplog.text
    # the rest of the run's words and steps (an overshoot of at most one batch, as the uninterrupted run's)
    assert position["batches"] > 0 and resumed.stats.words == pytest.approx(row_step_run.stats.words, rel=0.03)
    assert resumed.stats.steps == pytest.approx(row_step_run.stats.steps, abs=2)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill-9"])
def test_an_interrupted_run_resumes_to_the_vectors_of_an_uninterrupted_one(reference, tmp_path, cache_dir, stop,
                                                                            caplog):
    out = str(tmp_path / "run")
    proc = start_training(out, cache_dir, "--checkpoint-every", "3")
    wait_for(os.path.join(out + ".partial", STATE_FILE), proc)
    proc.send_signal(stop)
    _, stderr = proc.communicate(timeout=120)
    if stop == signal.SIGTERM:
        assert proc.returncode == 143
        assert stderr.count("\n") == 1 and "error: SIGTERM at step" in stderr and f"--resume {out}" in stderr, stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not os.path.exists(out)  # nothing that looks like a finished run
    checkpoint = load_state(os.path.join(out + ".partial", STATE_FILE))["stats"]
    stopped_at = checkpoint["steps"]
    assert main(["train", "--resume", out, "--no-progress", "--log-every", "0"]) == 0
    assert np.array_equal(load(out).matrix, reference)
    assert not os.path.exists(out + ".partial") and STATE_FILE not in os.listdir(out)
    # the resumed process took up the checkpoint's step (the same seed started over would give the same vectors):
    # it says so, and metrics.jsonl holds the lines logged up to the checkpoint (the later ones were dropped,
    # not repeated), then one line per step (--log-every 0) from the step after it
    assert 0 < stopped_at and f"resuming {out} from step {stopped_at} (" in caplog.text
    steps = [json.loads(line)["step"] for line in open(os.path.join(out, "metrics.jsonl"))]
    before = steps[: len(checkpoint["history"])]
    assert before == [record["step"] for record in checkpoint["history"]] and all(s <= stopped_at for s in before)
    assert steps[len(before):] == list(range(stopped_at + 1, json.load(open(os.path.join(out, "config.json")))
                                             ["training"]["steps"] + 1))


def test_resume_refuses_what_it_cannot_continue(tmp_path, cache_dir, capsys):
    out = str(tmp_path / "run")
    proc = start_training(out, cache_dir, "--checkpoint-every", "3")
    wait_for(os.path.join(out + ".partial", STATE_FILE), proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    cases = [
        (["train", *RUN, "--out", out], f"{out}.partial: holds an interrupted run; continue it with"),
        (["train", "--resume", out, "--dim", "50"], "--resume continues the run with its own settings; drop --dim"),
        (["train", "--resume", str(tmp_path / "nothing")], "no checkpoint to resume"),
    ]
    for args, message in cases:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    with pytest.raises(W2VError, match="the checkpoint was trained on another corpus"):
        resume(out, ["the cat sat on the mat"] * 100)
    state = os.path.join(out + ".partial", STATE_FILE)
    intact = open(state, "rb").read()
    open(state, "wb").write(intact[: len(intact) // 2])  # damaged by hand (our writes are atomic)
    with pytest.raises(W2VError, match=f"{STATE_FILE}: not a readable training checkpoint"):
        resume(out)
    open(state, "wb").write(intact)
    assert main(["train", "--resume", out, "--no-progress", "--checkpoint-every", "50"]) == 0  # allowed to change
    assert main(["train", "--resume", out]) == 2
    assert "this run finished; there is nothing to resume" in capsys.readouterr().err


def test_divergence_stops_naming_step_head_and_learning_rate_and_keeps_the_checkpoint(small_corpus, tmp_path):
    out = str(tmp_path / "nce")
    settings = dict(dim=24, epochs=1, lr=30.0, fused_cpu=False, threads=2, progress=False)
    with pytest.raises(W2VError) as error:
        train(small_corpus, "nce", out, checkpoint_every=2, **settings)
    message = str(error.value)
    assert message.startswith("step ") and "the loss is not finite" in message
    assert "nce head diverged" in message and "learning rate 30 is probably too high" in message
    assert "last good checkpoint (step " in message and "--nan-policy backoff" in message
    assert not os.path.exists(out)
    kept = load_state(os.path.join(out + ".partial", STATE_FILE))
    assert f"last good checkpoint (step {kept['stats']['steps']})" in message
    assert all(np.isfinite(tensor.numpy()).all() for tensor in kept["model"].values())


def test_backoff_halves_the_learning_rate_until_training_is_finite(small_corpus, tmp_path):
    """Each back-off reloads the state before the first step and halves the rate, so the finished run is
    exactly a run started at the rate the back-offs settled on (deterministic mode: bit for bit)."""
    out = str(tmp_path / "sgns")
    settings = dict(dim=32, epochs=1, deterministic=True, progress=False)
    result = train(small_corpus, "negative-sampling", out, lr=30.0, nan_policy="backoff", **settings)
    events = [r for r in result.stats.history if r.get("event") == "nan-backoff"]
    assert result.stats.backoffs == len(events) >= 1
    assert all(event["restored_step"] == 0 for event in events)  # no checkpoint yet: the initial state
    settled = 30.0 / 2 ** len(events)
    assert events[-1]["lr"] == pytest.approx(settled)
    logged = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    assert [r for r in logged if "event" in r] == events
    assert np.isfinite(result.vectors.matrix).all()
    reference = train(small_corpus, "negative-sampling", lr=settled, **settings)
    assert np.array_equal(result.vectors.matrix, reference.vectors.matrix)


def test_a_killed_writer_never_leaves_a_partial_output(tmp_path):
    target = str(tmp_path / "vectors.txt")
    writer = ("import numpy as np, sys\nfrom w2v_contrastive.vectors import Vectors\n"
              "table = Vectors([f'w{i}' for i in range(20000)], np.random.default_rng(0).normal(size=(20000, 100)))\n"
              "print('ready', flush=True)\n"
              "while True:\n    table.save_word2vec_text(sys.argv[1])\n")
    for delay in (0.05, 0.3, 0.7, 1.1):
        proc = subprocess.Popen([sys.executable, "-c", writer, target], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "ready\n"
        time.sleep(delay)
        proc.kill()
        proc.wait()
        if os.path.exists(target):
            assert load(target).matrix.shape == (20000, 100)  # complete, or not there at all
    Vectors(["a"], np.ones((1, 2))).save_word2vec_text(target)
    assert os.listdir(tmp_path) == ["vectors.txt"]  # the next write removed the killed writers' temporary files


def test_a_damaged_cache_is_detected_by_its_checksum_and_rebuilt(tmp_path, caplog):
    from w2v_contrastive import prepare_corpus

    cache = str(tmp_path / "cache")
    first = prepare_corpus(SMALL_CORPUS, cache_dir=cache)
    tokens = np.asarray(first.tokens).copy()
    with open(os.path.join(first.directory, "tokens.int32"), "r+b") as handle:  # same size, one id changed
        handle.seek(4 * 1000)
        handle.write(np.int32(tokens[1000] + 1).tobytes())
    rebuilt = prepare_corpus(SMALL_CORPUS, cache_dir=cache)
    assert not rebuilt.from_cache and "damaged or stale; rebuilding it" in caplog.text
    assert np.array_equal(np.asarray(rebuilt.tokens), tokens)


def test_a_run_on_in_memory_texts_resumes_only_when_given_them_again(tmp_path):
    texts = [" ".join(f"w{(i * j) % 97}" for j in range(40)) for i in range(200)]  # sentences, not file names
    out = str(tmp_path / "texts")

    class StopAfterTheFirstCheckpoint(Callback):
        def on_checkpoint(self, step, path):
            assert path == os.path.join(out + ".partial", STATE_FILE) and os.path.exists(path)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(texts, "negative-sampling", out, dim=8, min_count=1, checkpoint_every=1, progress=False,
              callbacks=[StopAfterTheFirstCheckpoint()])
    with pytest.raises(W2VError, match="in-memory texts, not files; pass the same corpus again"):
        resume(out)
    assert resume(out, texts).stats.words == pytest.approx(5 * 200 * 40)
