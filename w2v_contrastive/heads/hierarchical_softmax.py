"""Hierarchical softmax: p(c | w) as the product of the binary decisions down a Huffman tree.

Every word c is a leaf of a binary tree over the vocabulary (heads/huffman.py: word2vec's Huffman tree,
so frequent words have short paths). The path from the root to c passes the inner nodes n_1..n_L(c),
taking branch d_j in {0, 1} at n_j; each inner node has a vector theta_n (a row of the model's output
table) and, with s(w, n) = u_w . theta_n (+ b_n),

    p(c | w) = prod_{j=1..L(c)} sigma((1 - 2 d_j) s(w, n_j))
    L(w, c) = -log p(c | w) = sum_{j=1..L(c)} softplus((2 d_j - 1) s(w, n_j))

sigma(x) + sigma(-x) = 1 at every node, so sum_c p(c | w) = 1: the model is normalised by construction,
and L is its exact cross-entropy, at L(c) ~ log2 V scores per pair instead of the full softmax's V.

References: Morin & Bengio (2005), "Hierarchical Probabilistic Neural Network Language Model", AISTATS;
Mnih & Hinton (2009), "A Scalable Hierarchical Distributed Language Model", NIPS; Mikolov, Chen, Corrado
& Dean (2013a), "Efficient Estimation of Word Representations in Vector Space", and Mikolov et al.
(2013b), "Distributed Representations of Words and Phrases and their Compositionality", section 2.1
(word2vec's ``-hs 1``, which uses this tree and these codes).
Related: ``softmax`` is the other exact model of p(c | w) (V scores per pair); ``nce``,
``negative-sampling`` and ``infonce`` estimate that one with sampled words.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Head, RowLoss, Scores, ScoreRequest, register
from .huffman import HuffmanTree
from .nce import logistic_row_loss, logistic_row_settings


@register("hierarchical-softmax")
class HierarchicalSoftmax(Head):
    scores_words = False  # the output table holds the tree's inner nodes

    def __init__(self):
        super().__init__()
        self.request = ScoreRequest(tree_paths=True)
        self.tree: HuffmanTree | None = None

    def use_vocabulary(self, counts, device: torch.device | str = "cpu") -> None:
        """Build the Huffman tree of ``counts`` (int64[V]); its paths are the candidates scored."""
        self.tree = HuffmanTree(counts, device)
        self.request = ScoreRequest(tree_paths=True, tree=self.tree)

    def forward(self, scores: Scores) -> torch.Tensor:
        signed = torch.where(scores.path_code, scores.path, -scores.path)  # (2 d_j - 1) s(w, n_j)
        return (F.softplus(signed) * scores.path_mask).sum(1)

    def fused_row_loss(self):
        return logistic_row_loss()

    def fused_row_settings(self):
        return logistic_row_settings(labels_from_hits=True)

    def gpu_row_loss(self):
        return RowLoss()  # (the labels come from the path's branches)
