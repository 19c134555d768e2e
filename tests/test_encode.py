"""Parallel, piecewise and sharded encoding (corpus/encode.py, pieces.py, shards.py) gives the cache one
process gives: byte for byte, for any number of workers, pieces or ranks."""

import gzip
import hashlib
import json
import lzma
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import torch.distributed as dist
import torch.multiprocessing as mp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from w2v_contrastive import TokenizerOptions, W2VError, prepare_corpus
from w2v_contrastive.corpus import cache
from w2v_contrastive.corpus.encode import encode
from w2v_contrastive.corpus.pieces import plan
from w2v_contrastive.corpus.readers import CorpusSource, iter_file_lines
from w2v_contrastive.sampling.pairs import PairStream
from tests.conftest import SMALL_CORPUS

CACHE_FILES = ("tokens.int32", "lines.int64", "vocab.tsv")


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory):
    """gutenberg-small four ways: plain with \\n (2.7 MB), plain with \\r\\n, gzip, and one text8-style line
    of 1.4 MB; plus a jsonl file of documents."""
    folder = tmp_path_factory.mktemp("corpus")
    with lzma.open(SMALL_CORPUS, "rt", encoding="utf-8") as handle:
        text = handle.read()
    lines = text.split("\n")
    (folder / "a-plain.txt").write_text(text, encoding="utf-8")
    (folder / "b-crlf.txt").write_bytes("\r\n".join(lines[: len(lines) // 3]).encode())
    with gzip.open(folder / "c-packed.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines[len(lines) // 3: len(lines) // 2]))
    (folder / "d-oneline.txt").write_text(" ".join(lines[len(lines) // 2:])[: 1_400_000], encoding="utf-8")
    (folder / "e-docs.jsonl").write_text("".join(json.dumps({"text": "\n".join(lines[i: i + 50])}) + "\n"
                                                 for i in range(0, 5000, 50)), encoding="utf-8")
    return str(folder)


def cache_digest(directory: str) -> dict:
    return {name: hashlib.sha256(open(os.path.join(directory, name), "rb").read()).hexdigest() for name in CACHE_FILES}


def test_two_workers_give_the_cache_of_one_byte_for_byte(corpus_folder, tmp_path, capsys):
    one = prepare_corpus(corpus_folder, cache_dir=str(tmp_path / "one"), workers=1)
    two = prepare_corpus(corpus_folder, cache_dir=str(tmp_path / "two"), workers=2, progress=True)
    assert cache_digest(one.directory) == cache_digest(two.directory)
    assert one.encoding["workers"] == 1 and two.encoding["workers"] == 2 and two.encoding["pieces"] >= 6
    assert two.encoding["tokens_per_second"] > 0
    # the one-line file (1.4 MB, 245,819 tokens) was cut at spaces into lines of about a megabyte (its first MiB:
    # 189,198 tokens), not read as one line
    assert one.n_lines > 5000 and 150_000 < np.diff(one.line_starts).max() < 200_000
    assert re.search(r"^encoding: [\d.]+[kM] tokens, [\d,]+k tokens/s, lines [\d,]+$", capsys.readouterr().err, re.M)


def test_many_small_pieces_encode_like_one_piece(corpus_folder, tmp_path):
    """Pieces of 16 kB with long-line cuts every 4 kB: hundreds of pieces, cut after a \\n or at a cut of
    the one-line file; the files agree with one piece per input, encoded in one process."""
    source = CorpusSource.from_inputs(corpus_folder)
    many = plan(source, workers=2, piece_bytes=16_384, piece_rows=7, cut_bytes=4096)
    assert len(many.pieces) > 300
    for name, pieces, workers in (("one", plan(source, workers=1, cut_bytes=4096), 1), ("many", many, 2)):
        os.makedirs(tmp_path / name)
        built = encode(pieces, TokenizerOptions(), str(tmp_path / name), workers)
        cache.write_vocabulary(str(tmp_path / name), built["words"], built["counts"])
    assert cache_digest(str(tmp_path / "one")) == cache_digest(str(tmp_path / "many"))
    assert sorted(os.listdir(tmp_path / "many")) == sorted(CACHE_FILES)  # the pieces' files are gone


LINE_BREAKS = st.sampled_from(["\n", "\r\n", "\r"])
TEXT = st.lists(st.one_of(st.text(st.sampled_from("ab é€𝄞"), max_size=60), LINE_BREAKS, st.just("x" * 70)),
                max_size=40).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, cut=st.integers(8, 40), per_piece=st.integers(1, 4))
def test_pieces_read_back_the_lines_of_the_whole_file(text, cut, per_piece):
    """Any text, with \\n, \\r\\n and \\r line ends, multi-byte characters and 'words' longer than the cut."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "corpus.txt")
        with open(path, "wb") as handle:
            handle.write(text.encode())
        whole = list(iter_file_lines(path, cut_bytes=cut))
        pieces = plan(CorpusSource(paths=(path,)), workers=2, piece_bytes=cut * per_piece, cut_bytes=cut)
        lines = [line for piece in pieces.pieces for line in pieces.lines(piece)]
        # a piece boundary adds no line and removes none (empty lines aside: they encode to nothing)
        assert [line for line in lines if line] == [line for line in whole if line]
        if text and "\r" not in text and len(text.encode()) < cut:
            assert whole == text.split("\n")[: -1 if text.endswith("\n") else None]


def test_a_streamed_dataset_encodes_like_its_file(tmp_path, small_corpus):
    import datasets

    with lzma.open(SMALL_CORPUS, "rt", encoding="utf-8") as handle:
        (tmp_path / "small.txt").write_text(handle.read(), encoding="utf-8")
    stream = datasets.load_dataset("text", data_files=str(tmp_path / "small.txt"), split="train", streaming=True)
    streamed = prepare_corpus(stream, cache_dir=str(tmp_path / "cache"))
    assert streamed.words == small_corpus.words and np.array_equal(streamed.counts, small_corpus.counts)
    assert np.array_equal(streamed.read(0, streamed.n_tokens), small_corpus.read(0, small_corpus.n_tokens))
    assert "IterableDataset" in streamed.description


def _rank(rank: int, ranks: int, port: int, corpus: str, cache_dir: str, broken: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=ranks)
    from w2v_contrastive.corpus.shards import Job, load_or_build_shard

    report = {}
    for attempt in ("built", "cached"):
        shard = load_or_build_shard(CorpusSource.from_inputs(corpus), TokenizerOptions(), Job.joined(), cache_dir,
                                    workers=2)
        first, end = shard.stored_lines
        np.save(os.path.join(out, f"ids-{rank}.npy"), shard.read(int(shard.line_starts[first]),
                                                                  int(shard.line_starts[end])))
        report[attempt] = {"lines": [first, end], "from_cache": shard.from_cache, "words": shard.words,
                           "counts": shard.counts.tolist(), "line_starts": hashlib.sha256(shard.line_starts).hexdigest(),
                           "stored": len(shard.tokens)}
    import datasets  # a streamed dataset: each rank reads its share of the rows (split_dataset_by_node)

    stream = datasets.load_dataset("text", data_files=corpus, split="train", streaming=True)
    own_group = Job(rank, ranks, dist.new_group(backend="gloo"))  # as in an NCCL job: a gloo group of its own
    shard = load_or_build_shard(CorpusSource.from_inputs(stream), TokenizerOptions(), own_group, cache_dir)
    report["streamed"] = {"words": shard.words, "counts": shard.counts.tolist(), "stored": len(shard.tokens),
                          "tokens": shard.n_tokens}
    try:  # a file only one rank reads is corrupt: every rank hears of it, none waits forever
        load_or_build_shard(CorpusSource.from_inputs(broken), TokenizerOptions(), Job.joined(), cache_dir)
    except W2VError as exc:
        report["error"] = str(exc)
    with open(os.path.join(out, f"rank-{rank}.json"), "w") as handle:
        json.dump(report, handle)
    dist.destroy_process_group()


def test_two_ranks_encode_their_shares_and_hold_the_vocabulary_of_one_process(corpus_folder, tmp_path):
    """From a file (built, then from the cache) and from a streamed dataset; and a corrupt file fails both ranks."""
    corpus = os.path.join(corpus_folder, "a-plain.txt")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.txt").write_text("some words here\n" * 80_000)
    (broken / "b.txt.xz").write_bytes(b"not really xz")
    port = 29_500 + os.getpid() % 400
    mp.start_processes(_rank, args=(2, port, corpus, str(tmp_path / "cache"), str(broken), str(tmp_path)), nprocs=2,
                       start_method="spawn")
    single = prepare_corpus(corpus, cache_dir=str(tmp_path / "single"), workers=1)
    for rank in range(2):
        report = json.load(open(tmp_path / f"rank-{rank}.json"))
        first, end = PairStream.shard_lines(single.line_starts, rank, 2)
        for attempt in ("built", "cached"):
            seen = report[attempt]
            assert seen["words"] == single.words and seen["counts"] == single.counts.tolist()
            assert seen["line_starts"] == hashlib.sha256(single.line_starts).hexdigest()
            assert seen["lines"] == [first, end] and seen["from_cache"] == (attempt == "cached")
            assert seen["stored"] == single.line_starts[end] - single.line_starts[first] < 0.6 * single.n_tokens
        streamed = report["streamed"]
        assert streamed["words"] == single.words and streamed["counts"] == single.counts.tolist()
        assert streamed["tokens"] == single.n_tokens and 0 < streamed["stored"] < single.n_tokens
        ids = np.load(tmp_path / f"ids-{rank}.npy")
        assert np.array_equal(ids, single.read(int(single.line_starts[first]), int(single.line_starts[end])))
        assert "b.txt.xz: corrupt or truncated xz file" in report["error"]


def test_a_bad_file_read_by_a_worker_is_one_line_exit_2_and_leaves_no_cache(corpus_folder, tmp_path):
    """The worker that meets it fails, the others are stopped without a word, no partial cache remains."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_bytes(open(os.path.join(corpus_folder, "a-plain.txt"), "rb").read())
    (folder / "b.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    proc = subprocess.run([sys.executable, "-m", "w2v_contrastive", "train", "--corpus", str(folder), "--out",
                           str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr == f"error: {folder / 'b.txt'}: not valid UTF-8 (byte 0xe9); pass --encoding-errors " \
                          "replace to replace undecodable bytes\n"
    assert os.listdir(tmp_path / "cache") == [] and not os.path.exists(tmp_path / "run")
