from w2v_contrastive import TokenizerOptions
from w2v_contrastive.corpus.tokenize import split_lines, tokenize

SENTENCE = "Mr. O'Brien paid $5 for ﬁve Cafés in 1999!"


def test_default_is_nfkc_lowercase_letters_only():
    # NFKC turns the "ﬁ" ligature into "fi"; punctuation and digits are dropped, words split at them
    assert tokenize(SENTENCE, TokenizerOptions()) == ["mr", "o", "brien", "paid", "for", "five", "cafés", "in"]


def test_options_keep_case_digits_and_punctuation():
    assert tokenize(SENTENCE, TokenizerOptions(lowercase=False))[:3] == ["Mr", "O", "Brien"]
    assert "1999" in tokenize(SENTENCE, TokenizerOptions(keep_digits=True))
    with_punct = tokenize(SENTENCE, TokenizerOptions(keep_punctuation=True))
    assert with_punct[:5] == ["mr", ".", "o", "'", "brien"] and "$" in with_punct and "!" in with_punct
    assert "1999" not in with_punct


def test_pretokenized_only_splits_on_whitespace():
    assert tokenize("New_York  is BIG ,ok", TokenizerOptions(pretokenized=True)) == ["New_York", "is", "BIG", ",ok"]


def test_marks_stay_in_words_and_each_punctuation_mark_is_one_token():
    # NFKC composes e + U+0301 into é; a mark with no composed form (U+0331) stays inside the word
    assert tokenize("Cafe\u0301 a\u0331b", TokenizerOptions()) == ["café", "a\u0331b"]
    assert tokenize("Wait!!--(no)", TokenizerOptions(keep_punctuation=True)) == ["wait", "!", "!", "-", "-", "(", "no", ")"]
    assert tokenize("\t 42 ... ", TokenizerOptions()) == []


def test_lines_never_merge():
    assert split_lines("one two\n\nthree,four", TokenizerOptions()) == [["one", "two"], [], ["three", "four"]]
