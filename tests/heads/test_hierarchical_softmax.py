"""hierarchical-softmax: Mikolov et al. 2013a/b, Morin & Bengio 2005, as a loop over the tree; the tree itself
against a hand-worked Huffman code and Huffman's bounds; the model normalised over the vocabulary."""

import math

import numpy as np
import pytest
import torch

from w2v_contrastive import TrainConfig, W2VError
from w2v_contrastive.heads import build_head, score_batch
from w2v_contrastive.heads.huffman import HuffmanTree
from w2v_contrastive.train.setup import build_model, model_shape

from .common import COLLAPSED, COUNTS, collapsed, noise_distribution, score

CASES = [("untied", {}), ("untied", {"output_bias": True})]


def reference(head, u, v, b, words, contexts, noise, log_q):
    """sum over the inner nodes n_j of c's path of -log sigma((1 - 2 d_j) s(w, n_j)), the path read from the tree."""
    tree = head.tree
    losses = []
    for w, c in zip(words, contexts):
        loss = torch.zeros(())
        for j in range(int(tree.lengths[c])):
            node, branch = int(tree.nodes[c, j]), bool(tree.codes[c, j])
            sign = -1.0 if branch else 1.0
            loss = loss - torch.nn.functional.logsigmoid(sign * score(u, v, b, w, node))
        losses.append(loss)
    return torch.stack(losses)


def test_a_hand_worked_huffman_code():
    """counts 5, 3, 2, 1: merge 1 + 2 (inner node 0), then that node (3) before the leaf of equal count 3 (inner
    node 1, word2vec's tie rule), then 5 + 6 at the root (inner node 2). Codes: 0, 11, 101, 100."""
    tree = HuffmanTree(np.array([5, 3, 2, 1]))
    codes = ["".join("1" if bit else "0" for bit in tree.codes[c, : tree.lengths[c]].tolist()) for c in range(4)]
    assert codes == ["0", "11", "101", "100"]
    assert [tree.nodes[c, : tree.lengths[c]].tolist() for c in range(4)] == [[2], [2, 1], [2, 1, 0], [2, 1, 0]]
    assert tree.mask.sum(1).tolist() == [1, 2, 3, 3]


def test_the_tree_is_a_huffman_code_on_a_zipfian_vocabulary():
    counts = np.sort(np.random.default_rng(0).zipf(1.4, 5000).clip(max=10**7))[::-1].copy()
    tree = HuffmanTree(counts)
    lengths = tree.lengths.numpy()
    codes = {"".join("1" if x else "0" for x in tree.codes[c, : lengths[c]].tolist()) for c in range(len(counts))}
    assert len(codes) == len(counts)  # distinct, and (Kraft's equality for a full binary tree) complete:
    assert math.isclose(sum(2.0 ** -lengths), 1.0)
    assert not any(a != b and b.startswith(a) for a in codes for b in codes if len(a) < len(b) and len(a) < 4)
    p = counts / counts.sum()
    entropy, mean_length = float(-(p * np.log2(p)).sum()), float((p * lengths).sum())
    assert entropy <= mean_length < entropy + 1  # Huffman's bounds
    assert (np.diff(lengths) >= 0).all()  # (counts decrease, so paths never get shorter)
    nodes = tree.nodes[tree.mask]
    assert nodes.min() == 0 and nodes.max() == len(counts) - 2 and (tree.nodes[:, 0] == len(counts) - 2).all()


def test_the_model_is_normalised_over_the_vocabulary():
    """sum_c p(c | w) = 1 for every w, p(c | w) = exp(-L(w, c)), at any vectors."""
    config = TrainConfig(head="hierarchical-softmax", dim=5, output_bias=True)
    head = build_head("hierarchical-softmax", config)
    head.use_vocabulary(COUNTS)
    model = build_model(config, [str(i) for i in range(len(COUNTS))], head)
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter)
    vocab = len(COUNTS)
    words = torch.arange(3).repeat_interleave(vocab)
    contexts = torch.arange(vocab).repeat(3)
    with torch.no_grad():
        loss = head(score_batch(model, noise_distribution(), head.request, words, contexts))
    assert torch.allclose(torch.exp(-loss).view(3, vocab).sum(1), torch.ones(3), atol=1e-5)


def test_a_vocabulary_without_a_tree_and_tied_tables_are_one_line_errors():
    head = build_head("hierarchical-softmax", TrainConfig())
    with pytest.raises(W2VError, match="at least 2 words for its tree; this one has 1"):
        head.use_vocabulary(np.array([7]))
    with pytest.raises(W2VError, match="cannot be tied to the word vectors"):
        model_shape(TrainConfig(head="hierarchical-softmax", geometry="tied"), head)


def test_at_a_constant_embedding_every_node_is_a_coin_flip_of_the_same_score():
    loss, gradient, head, _ = collapsed("hierarchical-softmax", COLLAPSED)
    s = float(COLLAPSED @ COLLAPSED)
    lengths = head.tree.lengths[torch.arange(6) + 6].float()
    codes = head.tree.codes[torch.arange(6) + 6].float() * head.tree.mask[torch.arange(6) + 6]
    ones = codes.sum(1)  # each branch 1 costs softplus(s), each 0 softplus(-s)
    expected = ones * math.log1p(math.exp(s)) + (lengths - ones) * math.log1p(math.exp(-s))
    assert torch.allclose(loss, expected) and gradient > 1e-2


def test_the_fused_kernel_takes_skipgram_pairs_context_first_for_the_tree_only(small_corpus):
    """word2vec's order for the tree: the centre word's path, scored from each of its context words."""
    from w2v_contrastive import Vocabulary, make_config
    from w2v_contrastive.train.trainer import Trainer

    vocab = Vocabulary.from_corpus(small_corpus, 5, None)
    for head, model, context_first in [("hierarchical-softmax", "skipgram", True),
                                       ("hierarchical-softmax", "cbow", False),
                                       ("negative-sampling", "skipgram", False)]:
        step = Trainer(make_config(head, model=model, threads=1), small_corpus, vocab).step
        assert step.context_first == context_first, (head, model)
