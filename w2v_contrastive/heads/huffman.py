"""The Huffman tree of the hierarchical softmax: every word a leaf, V - 1 inner nodes.

word2vec's construction (Mikolov et al. 2013a, ``CreateBinaryTree`` in word2vec.c): with the words in
order of decreasing count, repeatedly merge the two least frequent of the remaining nodes (leaves and
merged nodes) into a new inner node, V - 1 times; the node made last is the root. Because both the
leaves (read from the rarest up) and the merged nodes (made in order of increasing count) are already
sorted, two pointers find the two smallest in O(1): O(V) merges. A word's code is the sequence of
branches from the root to its leaf (1 where the path takes the child merged second, the larger), and
frequent words get short codes: the mean path length weighted by count is the entropy of the unigram
distribution in bits, rounded up at most by one (Huffman 1952).

Inner node n (0 <= n < V - 1, numbered in the order they were made, so the root is V - 2) has one row
of the model's output table: the hierarchical softmax scores a word's path against those rows.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..errors import W2VError


class HuffmanTree:
    """Paths of every word through the tree, padded to the deepest leaf's length L.

    ``nodes``: int64[V, L], the inner nodes on word c's path, root first (padding: 0);
    ``codes``: bool[V, L], the branch taken at each (True: the child merged second);
    ``mask``: bool[V, L], True on the first ``lengths[c]`` entries; ``lengths``: int64[V].
    """

    def __init__(self, counts: np.ndarray, device: torch.device | str = "cpu"):
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape[0] < 2:
            raise W2VError(f"the hierarchical softmax needs a vocabulary of at least 2 words for its tree; this one "
                           f"has {counts.shape[0]} (lower --min-count or use a larger corpus)")
        parent, branch = huffman_parents(counts)
        nodes, codes, lengths = leaf_paths(parent, branch, counts.shape[0])
        self.nodes = torch.from_numpy(nodes).to(device)
        self.codes = torch.from_numpy(codes).to(device)
        self.lengths = torch.from_numpy(lengths).to(device)
        self.mask = torch.arange(nodes.shape[1], device=device) < self.lengths.unsqueeze(1)

    @property
    def depth(self) -> int:
        """L: the longest path (the padded width of :attr:`nodes`)."""
        return int(self.nodes.shape[1])

    def to(self, device: torch.device | str) -> "HuffmanTree":
        for name in ("nodes", "codes", "lengths", "mask"):
            setattr(self, name, getattr(self, name).to(device))
        return self


def huffman_parents(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(parent, branch) over the 2V - 1 nodes of the tree: nodes 0..V-1 are the words, V + n is inner
    node n. ``parent[x]`` is x's parent (-1 for the root), ``branch[x]`` is 1 when x was merged second.
    Ties go as in word2vec: a merged node is taken before a leaf of equal count."""
    n_words = counts.shape[0]
    order = np.argsort(-counts, kind="stable")  # decreasing count; equal counts keep their order
    parent, branch = _compiled_merges()(counts[order].astype(np.float64))
    # back from sorted positions to word ids for the leaves
    leaf_parent, leaf_branch = parent[:n_words].copy(), branch[:n_words].copy()
    parent[order], branch[order] = leaf_parent, leaf_branch
    return parent, branch


@functools.lru_cache(maxsize=None)
def _compiled_merges():
    """``merges(sorted_counts) -> (parent, branch)`` with the leaves in decreasing-count order (numba:
    a million words take milliseconds where the Python loop takes seconds)."""
    from numba import njit

    @njit(cache=True)
    def merges(sorted_counts):
        n_words = sorted_counts.shape[0]
        weight = np.zeros(2 * n_words - 1)
        weight[:n_words] = sorted_counts
        parent = np.full(2 * n_words - 1, -1, dtype=np.int64)
        branch = np.zeros(2 * n_words - 1, dtype=np.uint8)
        leaf, merged = n_words - 1, n_words  # the next leaf (rarest first) and the next merged node
        for made in range(n_words, 2 * n_words - 1):
            for second in range(2):
                if leaf >= 0 and (merged >= made or weight[leaf] < weight[merged]):
                    smallest, leaf = leaf, leaf - 1
                else:
                    smallest, merged = merged, merged + 1
                weight[made] += weight[smallest]
                parent[smallest] = made
                branch[smallest] = second
        return parent, branch

    return merges


def leaf_paths(parent: np.ndarray, branch: np.ndarray, n_words: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nodes int64[V, L], codes bool[V, L], lengths int64[V]): every leaf's path, root first, as inner
    node numbers (node x is inner node x - V). All leaves climb together, one level per iteration."""
    steps_nodes, steps_codes = [], []
    current = np.arange(n_words)
    while True:
        up = parent[current]
        climbing = up >= 0
        if not climbing.any():
            break
        steps_nodes.append(np.where(climbing, up - n_words, -1))
        steps_codes.append(np.where(climbing, branch[current], 0))
        current = np.where(climbing, up, current)
    climbed = np.stack(steps_nodes, axis=1)  # leaf-first, -1 once a leaf has reached the root
    lengths = (climbed >= 0).sum(axis=1)
    depth = climbed.shape[1]
    # reverse each row's first lengths[c] entries: root first
    index = lengths[:, None] - 1 - np.arange(depth)[None, :]
    valid = index >= 0
    rows = np.arange(n_words)[:, None]
    nodes = np.where(valid, climbed[rows, np.clip(index, 0, None)], 0).astype(np.int64)
    codes = np.where(valid, np.stack(steps_codes, axis=1)[rows, np.clip(index, 0, None)], 0).astype(bool)
    return nodes, codes, lengths.astype(np.int64)
