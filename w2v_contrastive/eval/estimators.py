"""Estimator diagnostics on held-out documents: every head judged as an estimate of the same model.

Whatever its training objective, a skip-gram model defines scores s(w, c) = u_w . v_c (+ b_c) and so
the softmax model p(c | w) = exp s(w, c) / Z(w), Z(w) = sum_v exp s(w, v). On the pairs (w, c) of
documents held out of training (``TrainConfig.holdout``; every pair of their dynamic windows, no
subsampling), this module reports:

- the exact softmax cross-entropy, mean over pairs of log Z(w) - s(w, c), computed over the whole
  vocabulary: the quantity the ``softmax`` head minimises, so heads are compared as estimators of one
  model (NCE and sampled softmax tend to it as the number of noise words grows);
- log Z(w) over the held-out words (mean, standard deviation, extremes): 0 for a self-normalised
  model, which is what NCE aims at; negative sampling is not (its optimum is PMI - log k);
- the InfoNCE bound log(K + 1) - L on the same pairs, with K noise words from Q per pair: a lower
  bound on the mutual information I(w; c) (van den Oord et al. 2018), at most log(K + 1).

The hierarchical softmax defines p(c | w) through its tree instead (its output rows are tree nodes,
not words): for it the cross-entropy is its own loss, exact and normalised by construction, and the
log Z and InfoNCE figures, which read the output rows as context vectors, do not apply. Every result
has ``cross_entropy``, the held-out cross-entropy of the run's own normalised model (``model``:
"softmax" or "tree"), so the two exact models and every estimator of the softmax sit in one column.
With CBOW the pairs are (window, centre word) examples and w is the window's mean.

Distance heads score with a distance, not with s; their s is still the dot product of their vectors,
so the numbers are computed alike but mean less for them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..heads import score_batch
from ..heads.base import candidate_scores
from ..sampling.pairs import PairBatch, PairStream

BATCH = 2048


def held_out_pairs(stream: PairStream, vocab_size: int, held_out: np.ndarray, max_pairs: int = 20_000,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(centers, contexts) of the held-out lines among those of the training ``stream`` (its window, model
    and device): every pair of word2vec's dynamic windows (CBOW: every centre word with its window,
    int64[N, 2 window]), without subsampling, a random ``max_pairs`` of them when there are more. A
    torchrun rank's stream covers its own lines: the held-out lines among them.

    The pairs are drawn by a :meth:`~w2v_contrastive.sampling.pairs.PairStream.sibling` of ``stream``, which
    reads the training stream's token ids (on a GPU no second copy of the corpus), one chunk at a time:
    only each chunk's pairs are kept, not its fixed-shape buffers (about 160 bytes per token of the chunk)."""
    generator = torch.Generator(device=stream.device).manual_seed(seed)
    pairs = stream.sibling(~held_out, np.ones(vocab_size), generator)
    parts = [_chunk_examples(pairs, first, end) for first, end in pairs.chunks if held_out[first:end].any()]
    empty = torch.zeros(0, dtype=torch.int64, device=stream.device)
    parts = parts or [(empty, empty.view(0, 2 * stream.window) if stream.windows else empty)]
    centers, contexts = (torch.cat(column) for column in zip(*parts))
    if centers.shape[0] > max_pairs:
        pick = torch.randperm(centers.shape[0], device=stream.device, generator=generator)[:max_pairs]
        centers, contexts = centers[pick], contexts[pick]
    return centers, contexts


def _chunk_examples(pairs: PairStream, first: int, end: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(centers, contexts) of lines [first, end): copies of the chunk's pairs, its buffers left to be freed."""
    chunk = pairs.chunk_pairs(first, end)
    count = chunk.count
    return chunk.centers[:count].clone(), chunk.contexts[:count].clone()


@torch.no_grad()
def estimator_diagnostics(model, noise, centers: torch.Tensor, contexts: torch.Tensor, negatives: int = 5,
                          softmax_chunk: int | None = None, seed: int = 0, head=None) -> dict:
    """The held-out cross-entropy; for heads that score words (all but the hierarchical softmax, ``head``),
    the softmax's, log Z statistics and the InfoNCE bound on the examples (centers, contexts)."""
    if centers.shape[0] == 0:
        return {"pairs": 0}
    example = PairBatch(centers, contexts, 0.0)
    inputs, targets = example.inputs, example.targets
    n = targets.shape[0]
    if head is not None and not head.scores_words:
        loss = sum(float(head(score_batch(model, noise, head.request, inputs[i:i + BATCH], targets[i:i + BATCH])).sum())
                   for i in range(0, n, BATCH))
        return {"pairs": n, "model": "tree", "cross_entropy": loss / n}
    generator = torch.Generator(device=centers.device).manual_seed(seed)
    negatives = max(1, negatives)
    cross_entropy, infonce, log_z_parts = 0.0, 0.0, []
    for start in range(0, n, BATCH):
        words, true = inputs[start:start + BATCH], targets[start:start + BATCH]
        drawn = noise.sample((true.shape[0], negatives), generator)
        u, v, b = model.lookup(words, torch.cat([true.unsqueeze(1), drawn], dim=1))
        scores = (candidate_scores(v, u) + b).float()
        log_z = model.log_partition(u, softmax_chunk).float()
        if words.dim() > 1:  # CBOW: every example's input is its own
            log_z_parts.append(log_z)
        cross_entropy += float((log_z - scores[:, 0]).sum())
        candidates = scores.clone()
        candidates[:, 1:] = candidates[:, 1:].masked_fill(drawn == true.unsqueeze(1), float("-inf"))
        infonce += float((torch.logsumexp(candidates, dim=1) - scores[:, 0]).sum())
    if inputs.dim() == 1:  # skip-gram: log Z once per distinct word
        distinct = torch.unique(inputs)
        log_z_parts = [model.log_partition(model.input(distinct[i:i + BATCH]), softmax_chunk).float()
                       for i in range(0, distinct.shape[0], BATCH)]
    log_z = torch.cat(log_z_parts)
    return {"pairs": n, "model": "softmax", "cross_entropy": cross_entropy / n,
            "softmax_cross_entropy": cross_entropy / n,
            "log_z": {"words": int(log_z.shape[0]), "mean": float(log_z.mean()), "std": float(log_z.std()),
                      "min": float(log_z.min()), "max": float(log_z.max())},
            "infonce_bound": {"negatives": negatives, "bound": math.log(negatives + 1) - infonce / n,
                              "max": math.log(negatives + 1)}}
