import numpy as np
import pytest
import torch

from w2v_contrastive import NoiseDistribution, Vocabulary, W2VError
from w2v_contrastive.corpus.cache import EncodedCorpus
from w2v_contrastive.sampling.pairs import PairStream


def make_corpus(lines: list[list[int]], vocab_size: int) -> EncodedCorpus:
    tokens = np.array([t for line in lines for t in line], dtype=np.int32)
    starts = np.concatenate([[0], np.cumsum([len(l) for l in lines])]).astype(np.int64)
    counts = np.bincount(tokens, minlength=vocab_size).astype(np.int64)
    return EncodedCorpus(tokens, starts, [f"w{i}" for i in range(vocab_size)], counts, "test")


def test_vocabulary_cuts_and_word2vec_keep_probabilities():
    corpus = make_corpus([[0] * 50 + [1] * 20 + [2] * 5 + [3] * 2], 4)
    corpus.counts = np.array([50, 20, 5, 2])
    vocab = Vocabulary.from_corpus(corpus, min_count=5)
    assert vocab.words == ["w0", "w1", "w2"] and vocab.total == 75
    assert len(Vocabulary.from_corpus(corpus, min_count=1, max_vocab=2)) == 2
    t = 0.01
    keep = vocab.keep_probabilities(t)
    for count, p in zip(vocab.counts, keep):
        f = count / 75
        assert p == pytest.approx(min(1.0, (np.sqrt(f / t) + 1) * t / f))
    with pytest.raises(W2VError, match="no word occurs at least 100 times"):
        Vocabulary.from_corpus(corpus, min_count=100)


@pytest.mark.parametrize("alpha", [0.75, 1.0, 0.0])
def test_noise_distribution_is_count_power_alpha_and_sampler_matches_it(alpha):
    counts = np.array([1000, 300, 100, 30, 10, 3, 1])
    noise = NoiseDistribution(counts, alpha)
    expected = counts**alpha / (counts**alpha).sum()
    assert np.allclose(noise.probs.numpy(), expected, rtol=1e-6)
    generator = torch.Generator().manual_seed(0)
    draws = noise.sample((400_000,), generator)
    empirical = np.bincount(draws.numpy(), minlength=len(counts)) / draws.numel()
    assert np.abs(empirical - expected).max() < 0.004
    assert draws.dtype == torch.int64 and draws.min() >= 0 and draws.max() < len(counts)


@pytest.fixture(params=[False, True], ids=["exact-sizes", "fixed-shapes"])
def stream(request):
    """A pair stream factory, in both formulations: exact sizes (the CPU's) and the fixed shapes a GPU
    runs without host syncs, here on the CPU."""

    def make(lines, vocab_size, window, keep=None, batch_size=1 << 30, seed=0, order="centre", model="skipgram"):
        corpus = make_corpus(lines, vocab_size)
        keep = np.ones(vocab_size) if keep is None else keep
        generator = torch.Generator().manual_seed(seed)
        pairs = PairStream(corpus, vocab_size, keep, window, batch_size, torch.device("cpu"), generator,
                           chunk_tokens=64, order=order, model=model)
        pairs.fixed_shapes = request.param
        return pairs

    return make


def test_pairs_stay_inside_lines_and_windows_and_offsets_follow_the_dynamic_window(stream):
    # token ids equal positions, so a pair's offset is context - center
    lines = [list(range(i * 1000, i * 1000 + 1000)) for i in range(20)]
    window = 5
    pairs = stream(lines, 20_000, window)
    offsets = []
    for _ in range(3):
        for batch in pairs.batches(1):
            assert torch.equal(batch.centers // 1000, batch.contexts // 1000)  # same line
            offsets.append(batch.contexts - batch.centers)
    offsets = torch.cat(offsets).abs()
    assert offsets.min() >= 1 and offsets.max() <= window
    # P(|offset| = o) is proportional to P(b >= o) = (window - o + 1) / window
    observed = torch.bincount(offsets, minlength=window + 1)[1:].double()
    expected = torch.tensor([window - o + 1 for o in range(1, window + 1)], dtype=torch.float64)
    assert torch.allclose(observed / observed.sum(), expected / expected.sum(), atol=0.005)
    # each token is a center about 2 * E[b] = window + 1 times per epoch
    assert offsets.numel() / 3 / 20_000 == pytest.approx(window + 1, rel=0.02)


def test_subsampling_and_out_of_vocabulary_tokens_are_dropped_before_windowing(stream):
    lines = [[0, 5, 1, 5, 2, 5, 3]]  # id 5 is out of the 5-word vocabulary
    pairs = stream(lines, 5, window=1, keep=np.array([1, 0, 1, 1, 1.0]))  # word 1 is always dropped
    got = set()
    for _ in range(20):
        for batch in pairs.batches(1):
            got |= set(zip(batch.centers.tolist(), batch.contexts.tolist()))
    # after dropping 5 and 1 the line is 0 2 3: window 1 links 0-2 and 2-3 across the removed tokens
    assert got == {(0, 2), (2, 0), (2, 3), (3, 2)}


def test_batches_are_shuffled_and_account_for_every_token(stream):
    lines = [list(range(100)) for _ in range(50)]
    pairs = stream(lines, 100, window=3, batch_size=256)
    batches = list(pairs.batches(1))
    assert sum(b.tokens for b in batches) == pytest.approx(5000)
    assert all(b.centers.numel() <= 256 for b in batches)
    first = batches[0].centers[:50].tolist()
    assert first != sorted(first)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_text_order_gives_a_chunks_centre_order_examples_with_the_centre_tokens_in_corpus_order(stream, model):
    """Token ids are positions: in the text order the centre ids never decrease, over the whole epoch, and a
    chunk's pairs (CBOW: windows) are the centre order's (the same draws, only not shuffled)."""
    lines = [list(range(i * 100, i * 100 + 100)) for i in range(10)]
    text = stream(lines, 1000, window=4, seed=3, order="text", model=model)
    centers = torch.cat([b.centers for b in text.batches(1)])
    assert centers.numel() > (3000 if model == "skipgram" else 900) and bool((centers.diff() >= 0).all())
    chunks = [stream(lines, 1000, window=4, seed=3, order=order, model=model).chunk_pairs(*text.chunks[0])
              for order in ("text", "centre")]
    examples = [sorted(zip(c.centers[:c.count].tolist(), map(tuple, c.contexts[:c.count].tolist())
                           if model == "cbow" else c.contexts[:c.count].tolist())) for c in chunks]
    assert examples[0] == examples[1] and len(examples[0]) > 30
    shuffled = chunks[1].centers[:chunks[1].count].tolist()
    assert shuffled != sorted(shuffled)


def test_centre_order_keeps_each_tokens_pairs_together_in_a_random_order_of_tokens(stream):
    """Token ids are positions, so a centre id is one token: in the centre order its pairs are one run."""
    lines = [list(range(i * 100, i * 100 + 100)) for i in range(10)]
    for order in ("centre", "pair"):
        batches = list(stream(lines, 1000, window=4, batch_size=128, seed=3, order=order).batches(1))
        centers = torch.cat([b.centers for b in batches])
        runs = torch.unique_consecutive(centers).numel()  # contiguous runs of one centre token
        if order == "centre":
            assert runs == torch.unique(centers).numel()  # every token's pairs form one run
            assert centers[:200].tolist() != sorted(centers[:200].tolist())  # in a random order of tokens
            assert max(len(set(b.centers.tolist())) for b in batches) <= 128 // 2 + 2  # about 5 pairs a token
        else:
            assert runs > 0.8 * centers.numel()  # pairs scattered
