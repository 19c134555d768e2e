import numpy as np
import pytest

from w2v_contrastive import Vectors, W2VError, evaluate, load


def test_word2vec_text_round_trip_and_lookups(tmp_path):
    vectors = Vectors(["king", "queen", "apple"], np.array([[1, 0.1], [0.9, 0.2], [-0.1, 1.0]]))
    path = tmp_path / "v.txt"
    vectors.save_word2vec_text(path)
    assert path.read_text().splitlines()[0] == "3 2"
    back = load(path)
    assert back.words == vectors.words and np.allclose(back.matrix, vectors.matrix, atol=1e-6)
    assert back.most_similar("king", 1)[0][0] == "queen"
    assert back.similarity("king", "queen") == pytest.approx(float(vectors.unit[0] @ vectors.unit[1]))
    assert "apple" in back and "pear" not in back
    with pytest.raises(W2VError, match="'pear' is not in the vocabulary"):
        back.vector("pear")


@pytest.mark.parametrize("body,message", [
    ("2 3\nking 1 2 3\n", "header promises 2 vectors, the file holds 1"),
    ("1 3\nking 1 2 3\nqueen 1 2 3\n", "v.txt:3: more vectors than the header's 1"),
    ("1 3\nking 1 2\n", "v.txt:2: expected a word and 3 numbers, found 2 fields"),
    ("1 2\nking 1 x\n", "v.txt:2: not a number in the vector of 'king'"),
    ("king 1 2\n", "v.txt:1: expected a word2vec header"),
])
def test_malformed_vector_files_name_the_line(tmp_path, body, message):
    path = tmp_path / "v.txt"
    path.write_text(body)
    with pytest.raises(W2VError, match=message):
        load(path)


def test_evaluation_counts_out_of_vocabulary_pairs(tmp_path):
    bench = tmp_path / "b.tsv"
    bench.write_text("# comment\nKing\tqueen\t9\nking\tapple\t1\nqueen\tapple\t2\nking\tpear\t5\n")
    vectors = Vectors(["king", "queen", "apple"], np.array([[1, 0.1], [0.9, 0.2], [-0.1, 1.0]]))
    (row,) = evaluate(vectors, [str(bench)])
    assert row == {"benchmark": "b", "spearman": pytest.approx(1.0), "pairs": 4, "covered": 3}
