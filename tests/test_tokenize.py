from w2v_contrastive import TokenizerOptions
from w2v_contrastive.corpus.tokenize import tokenize

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
