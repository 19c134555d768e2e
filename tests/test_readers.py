import bz2
import gzip
import lzma

import numpy as np
import pytest

from w2v_contrastive import TokenizerOptions, W2VError, prepare_corpus
from w2v_contrastive.corpus.readers import CorpusSource, iter_file_lines

TEXT = "The cat sat on the mat.\nA dog, a DOG!\n\nThe end of 1999 café\n"


def write(path, data: bytes, opener=open):
    with opener(path, "wb") as handle:
        handle.write(data)
    return str(path)


@pytest.mark.parametrize("suffix,opener", [(".txt", open), (".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_compressed_files_read_like_plain_text(tmp_path, suffix, opener):
    path = write(tmp_path / ("corpus" + suffix), TEXT.encode(), opener)
    assert list(iter_file_lines(path)) == TEXT.split("\n")[:-1]


def test_directory_is_read_recursively_in_order_and_skips_binary_files(tmp_path, caplog):
    (tmp_path / "b").mkdir()
    write(tmp_path / "a.txt", b"first line\n")
    write(tmp_path / "b" / "c.txt.gz", b"second line\n", gzip.open)
    write(tmp_path / "b" / "image.bin", b"\x89PNG\x00\x00\x01")
    source = CorpusSource.from_inputs(str(tmp_path))
    assert list(source.lines()) == ["first line", "second line"]
    assert "image.bin" in caplog.text


def test_text8_style_single_line_streams_in_bounded_pieces(tmp_path):
    words = [f"w{i % 97}" for i in range(300_000)]
    path = write(tmp_path / "text8", " ".join(words).encode())  # one line, no newline, ~1.3 MB
    pieces = list(iter_file_lines(path, cut_bytes=100_000))
    assert len(pieces) > 10 and max(len(p) for p in pieces) <= 100_010
    assert " ".join(pieces).split() == words


def test_undecodable_bytes_raise_a_one_line_error_naming_the_file(tmp_path):
    path = write(tmp_path / "latin1.txt", "caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(W2VError, match="latin1.txt: not valid UTF-8.*encoding-errors replace"):
        list(iter_file_lines(path))
    assert list(iter_file_lines(path, encoding_errors="replace")) == ["caf\ufffd au lait"]


def test_missing_and_corrupt_inputs(tmp_path):
    with pytest.raises(W2VError, match="nope.txt: no such file"):
        CorpusSource.from_inputs(str(tmp_path / "nope.txt"))
    path = write(tmp_path / "broken.xz", b"not really xz")
    with pytest.raises(W2VError, match="broken.xz: corrupt or truncated xz file"):
        list(iter_file_lines(path))


def test_iterable_of_strings_and_datasets_objects_give_the_same_corpus(tmp_path, cache_dir):
    import datasets

    lines = ["the cat sat on the mat", "the dog sat on the log"]
    from_texts = prepare_corpus(lines, cache_dir=cache_dir)
    from_dataset = prepare_corpus(datasets.Dataset.from_dict({"body": lines}), text_column="body", cache_dir=cache_dir)
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text("\n".join('{"text": "%s"}' % line for line in lines) + "\n")
    from_json = prepare_corpus(str(jsonl), cache_dir=cache_dir)
    for corpus in (from_dataset, from_json):
        assert corpus.words == from_texts.words
        assert np.array_equal(np.asarray(corpus.tokens), np.asarray(from_texts.tokens))
        assert np.array_equal(corpus.line_starts, from_texts.line_starts)
    assert from_texts.words[0] == "the" and from_texts.counts[0] == 4
    with pytest.raises(W2VError, match="^dataset: no column 'text'"):
        prepare_corpus(datasets.Dataset.from_dict({"body": lines}), cache_dir=cache_dir)
    other = tmp_path / "a.txt"
    other.write_text("\n".join(lines) + "\n")
    with pytest.raises(W2VError, match=f"^{jsonl}: no column 'body'"):  # the error names the file, not the corpus
        prepare_corpus([str(other), str(jsonl)], text_column="body", cache_dir=cache_dir, workers=2)


def test_nul_bytes_empty_lines_and_empty_files_read_as_separators(tmp_path, caplog):
    path = write(tmp_path / "nul.txt", b"alpha\x00beta\n\n\n   \ngamma\x00\x00\n")
    corpus = prepare_corpus(path, cache_dir=str(tmp_path / "cache"))
    assert "nul.txt: holds NUL bytes" in caplog.text
    assert sorted(corpus.words) == ["alpha", "beta", "gamma"] and corpus.n_lines == 2
    (tmp_path / "dir").mkdir()
    write(tmp_path / "dir" / "empty.txt", b"")
    write(tmp_path / "dir" / "words.txt", b"delta\n")
    assert prepare_corpus(str(tmp_path / "dir"), cache_dir=str(tmp_path / "cache")).words == ["delta"]


def test_a_directory_of_binary_files_is_an_error_not_an_empty_corpus(tmp_path):
    write(tmp_path / "a.bin", b"\x00\x01\x02")
    write(tmp_path / "b.bin", b"\x7fELF\x00")
    with pytest.raises(W2VError, match="directory holds no text files \\(2 binary files skipped\\)"):
        CorpusSource.from_inputs(str(tmp_path))


def test_replaced_undecodable_bytes_are_counted_and_reported(tmp_path, caplog):
    path = write(tmp_path / "mixed.txt", "caf\xe9 na\xefve\n".encode("latin-1") + "caf\u00e9 ok\n".encode())
    corpus = prepare_corpus(path, cache_dir=str(tmp_path / "cache"), tokenizer=TokenizerOptions(encoding_errors="replace"))
    assert "mixed.txt: replaced 2 undecodable bytes" in caplog.text
    assert "café" in corpus.words and "ok" in corpus.words


def test_a_crlf_split_between_two_reads_ends_one_line(tmp_path):
    """Read in 4-byte blocks at every alignment: some \\r\\n pairs fall across two blocks."""
    for shift in range(4):
        path = write(tmp_path / f"crlf{shift}.txt", b"\n" * shift + b"one\r\ntwo\r\nsix\r\nten\r\n")
        assert list(iter_file_lines(path, cut_bytes=4)) == [""] * shift + ["one", "two", "six", "ten"]
