import json
import os
import subprocess
import sys

import numpy as np
import pytest

from w2v_contrastive import load, load_model
from w2v_contrastive.cli import main
from tests.conftest import SMALL_CORPUS


def run_cli(*args):
    """Run the real console entry point in a subprocess: exit code, stdout, stderr."""
    proc = subprocess.run([sys.executable, "-m", "w2v_contrastive", *args], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache_dir):
    out = str(tmp_path_factory.mktemp("run") / "sgns")
    code, stdout, stderr = run_cli("train", "--corpus", SMALL_CORPUS, "--head", "negative-sampling", "--out", out,
                                   "--epochs", "3", "--lr", "0.1", "--dim", "32", "--cache-dir", cache_dir,
                                   "--threads", "2")
    assert code == 0, stderr
    assert "words/s" in stdout
    # stderr is a pipe here, not a terminal: progress comes as whole lines, never carriage-return redraws
    assert "\r" not in stderr and stderr.endswith("\n")
    assert stderr.splitlines()[-1].startswith("negative-sampling: 1.5M/1.5M words (100%), "), stderr
    return out


def test_train_writes_every_output_file(trained):
    assert sorted(os.listdir(trained)) == ["checkpoint.pt", "config.json", "metrics.jsonl", "vectors.txt", "vocab.tsv"]
    config = json.load(open(os.path.join(trained, "config.json")))
    assert config["config"]["head"] == "negative-sampling" and config["config"]["dim"] == 32
    assert config["corpus"]["tokens"] == 493442 and config["training"]["words_per_second"] > 0
    assert config["corpus"]["encoding"]["tokens_per_second"] > 0 and config["corpus"]["encoding"]["workers"] >= 1
    assert {"torch", "numpy", "w2v_contrastive"} <= set(config["versions"])
    metrics = [json.loads(line) for line in open(os.path.join(trained, "metrics.jsonl"))]
    assert metrics and {"step", "loss", "lr", "words_per_second"} <= set(metrics[-1])
    vocab = [line.split("\t") for line in open(os.path.join(trained, "vocab.tsv"))]
    assert vocab[0][0] == "the" and all(int(c) >= 5 for _, c in vocab)


def test_vectors_load_in_gensim_and_match_the_checkpoint(trained):
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(os.path.join(trained, "vectors.txt"), binary=False)
    ours = load(trained)
    model, vocab, config = load_model(trained)
    assert kv.index_to_key == ours.words == vocab.words
    assert np.allclose(kv.vectors, ours.matrix, atol=1e-5)
    assert np.allclose(model.input.weight.detach().numpy(), ours.matrix, rtol=1e-5, atol=1e-6)
    assert config.dim == 32


def test_evaluate_json_lines(trained, capsys, random_baseline):
    assert main(["evaluate", trained, "--benchmark", "men3k", "--benchmark", "simlex999", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["benchmark"] for r in rows] == ["men3k", "simlex999"]
    mean, spread, covered = random_baseline(load(trained).words)
    assert rows[0]["pairs"] == 3000 and rows[0]["covered"] == covered == 1397
    assert rows[0]["spearman"] > mean + 5 * spread  # the trained vectors beat random ones (measured: 0.43)
    assert set(rows[0]) >= {"benchmark", "spearman", "pairs", "covered"}  # the contract; more keys may follow


def test_evaluate_analogies_and_diagnostics_from_the_cli(trained, capsys):
    assert main(["evaluate", trained, "--analogy", "questions-words", "--diagnostics", "--json"]) == 0
    geometry, analogy = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert geometry["diagnostics"] == "geometry" and geometry["dim"] == 32 and 1 < geometry["effective_rank"] <= 32
    assert analogy["benchmark"] == "questions-words" and analogy["questions"] == 19544
    assert 0 < analogy["covered"] < 19544 and len(analogy["sections"]) == 14


def test_neighbors(trained, capsys):
    assert main(["neighbors", trained, "king", "-k", "3"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("king: ") and line.count(",") == 2


def test_existing_output_needs_overwrite(trained, capsys):
    assert main(["train", "--corpus", SMALL_CORPUS, "--out", trained, "--epochs", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err


BAD_INPUTS = {
    "missing file": (lambda d: ["--corpus", os.path.join(d, "nope.txt")], "nope.txt: no such file"),
    "empty corpus": (lambda d: ["--corpus", write(d, "empty.txt", b"")], "empty.txt: the corpus holds no words"),
    "punctuation only": (lambda d: ["--corpus", write(d, "punct.txt", b"... !!! 123\n")], "holds no words"),
    "min count": (lambda d: ["--corpus", write(d, "few.txt", b"one two three\n")], "no word occurs at least 5 times"),
    "undecodable": (lambda d: ["--corpus", write(d, "bad.txt", b"caf\xe9\n")], "bad.txt: not valid UTF-8"),
    "unknown head": (lambda d: ["--corpus", SMALL_CORPUS, "--head", "magic"], "unknown head 'magic'"),
    "bad setting": (lambda d: ["--corpus", SMALL_CORPUS, "--dim", "0"], "dim must be at least 1"),
    "bias on a distance head": (lambda d: ["--corpus", SMALL_CORPUS, "--head", "triplet", "--output-bias"],
                                "the triplet head measures distances between vectors; it takes no --output-bias"),
    "cbow with a distance head": (lambda d: ["--corpus", SMALL_CORPUS, "--head", "triplet", "--model", "cbow"],
                                  "the triplet head trains only skipgram, not --model cbow"),
    "a tree of one word": (lambda d: ["--corpus", write(d, "one.txt", b"word word word word word other\n"), "--head",
                                      "hierarchical-softmax"], "needs a vocabulary of at least 2 words for its tree"),
}


def write(directory, name, data):
    path = os.path.join(directory, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_exit_2_and_no_output(tmp_path, case, capsys):
    make_args, message = BAD_INPUTS[case]
    out = tmp_path / "out"
    code = main(["train", *make_args(str(tmp_path)), "--out", str(out), "--no-progress",
                 "--cache-dir", str(tmp_path / "cache")])
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("error: ") and message in stderr, stderr
    assert not out.exists() and not (tmp_path / "out.partial").exists()


def test_bad_input_through_the_console_entry_point_prints_no_traceback(tmp_path):
    """The same as above in a real process: the one line is all the user sees."""
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("train", "--corpus", str(tmp_path / "nope.txt"), "--out", str(out))
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("error: ") and "nope.txt: no such file" in stderr, stderr
    assert "Traceback" not in stderr and not out.exists() and not (tmp_path / "out.partial").exists()


def test_malformed_benchmark_names_file_and_line(trained, tmp_path):
    bench = write(str(tmp_path), "bench.tsv", b"word1\tword2\tscore\nking\tqueen\t8.5\nking queen\n")
    code, _, stderr = run_cli("evaluate", trained, "--benchmark", bench)
    assert code == 2 and stderr.strip() == f"error: {bench}:3: expected 'word1 word2 score', found 2 fields"
    bench = write(str(tmp_path), "bench2.tsv", b"king\tqueen\t8.5\nking\tman\thigh\n")
    code, _, stderr = run_cli("evaluate", trained, "--benchmark", bench)
    assert code == 2 and "bench2.tsv:2: score 'high' is not a number" in stderr


def test_export_every_format_and_table(trained, tmp_path, capsys):
    from gensim.models import KeyedVectors

    model, vocab, _ = load_model(trained)
    tables = {"input": model.input.weight, "output": model.output.weight,
              "sum": model.input.weight + model.output.weight}
    for which, table in tables.items():
        expected = table.detach().numpy()
        for fmt, target in (("word2vec-text", "v.txt"), ("word2vec-binary", "v.bin"), ("npy", "npy")):
            out = str(tmp_path / f"{which}-{target}")
            assert main(["export", trained, "--format", fmt, "--vectors", which, "--out", out]) == 0
            assert f"{len(vocab)} words x 32 dims" in capsys.readouterr().out
            back = load(out)
            assert back.words == vocab.words and np.array_equal(back.matrix, expected), (which, fmt)
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "sum-v.bin"), binary=True)
    assert np.array_equal(kv.vectors, tables["sum"].detach().numpy())
    code, _, stderr = run_cli("export", trained, "--format", "parquet", "--out", str(tmp_path / "x"))
    assert code == 2 and "invalid choice: 'parquet'" in stderr
    code, _, stderr = run_cli("export", str(tmp_path / "missing"), "--vectors", "output", "--out", str(tmp_path / "y"))
    assert code == 2 and stderr.startswith("error: ") and "no such checkpoint" in stderr and not os.path.exists(tmp_path / "y")


def test_metric_head_options_from_the_cli_and_a_tied_checkpoint_reloads(tmp_path, cache_dir):
    out = str(tmp_path / "triplet")
    assert main(["train", "--corpus", SMALL_CORPUS, "--head", "triplet", "--geometry", "tied", "--mining", "semi-hard",
                 "--distance", "cosine", "--margin", "0.3", "--max-words", "100000", "--dim", "16", "--out", out,
                 "--cache-dir", cache_dir, "--no-progress"]) == 0
    with open(os.path.join(out, "config.json")) as handle:
        config = json.load(handle)["config"]
    assert (config["geometry"], config["mining"], config["distance"], config["margin"]) == ("tied", "semi-hard",
                                                                                          "cosine", 0.3)
    model, vocab, _ = load_model(out)
    assert model.tied and model.output is model.input
    assert np.array_equal(load(out).matrix, model.input.weight.detach().numpy())
