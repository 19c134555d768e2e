"""Word-similarity evaluation: Spearman's rho (and Pearson's r) between human scores and cosine
similarities, with a bootstrap 95% confidence interval for rho."""

from __future__ import annotations

import numpy as np

from ..errors import W2VError
from ..vectors import Vectors, unit_rows
from .benchmarks import SimilarityBenchmark

BOOTSTRAP_RESAMPLES = 1000


def spearman_bootstrap_ci(human: np.ndarray, model: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                          seed: int = 0) -> tuple[float, float]:
    """Percentile 95% interval of Spearman's rho over ``resamples`` resamplings of the pairs with
    replacement (Efron & Tibshirani 1993); resamples whose ranks do not vary are left out."""
    picks = np.random.default_rng(seed).integers(0, len(human), (resamples, len(human)))
    low, high = np.percentile(resampled_spearman(human, model, picks), [2.5, 97.5])
    return float(low), float(high)


def spearman(human: np.ndarray, model: np.ndarray) -> float:
    """Spearman's rho with average ranks for ties (scipy's ``spearmanr``, without importing scipy.stats, a
    second of every evaluating process's start); NaN when either side is constant."""
    rhos = resampled_spearman(human, model, np.arange(len(human))[None])
    return float(rhos[0]) if len(rhos) else float("nan")


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r (scipy's ``pearsonr`` statistic); NaN when either side is constant."""
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def resampled_spearman(human: np.ndarray, model: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Spearman's rho (average ranks for ties) of each resample ``human[picks[r]], model[picks[r]]``, without
    sorting a resample: with c_i the copies of pair i in it, rho is the c-weighted Pearson correlation of the
    pairs' ranks in the resample (:func:`_ranks_in_resamples`)."""
    resamples, n = picks.shape
    copies = np.bincount((picks + n * np.arange(resamples)[:, None]).ravel(), minlength=resamples * n)
    copies = copies.reshape(resamples, n)
    centred = []
    for values in (human, model):
        ranks = _ranks_in_resamples(values, copies)
        centred.append(ranks - (copies * ranks).sum(axis=1, keepdims=True) / n)
    numerator = (copies * centred[0] * centred[1]).sum(axis=1)
    denominator = np.sqrt((copies * centred[0] ** 2).sum(axis=1) * (copies * centred[1] ** 2).sum(axis=1))
    return numerator[denominator > 0] / denominator[denominator > 0]


def _ranks_in_resamples(values: np.ndarray, copies: np.ndarray) -> np.ndarray:
    """[R, n]: the average rank of pair i's value in resample r, from the copies C_g of each distinct value g
    in it: (copies of smaller values) + (C_g + 1) / 2."""
    _, group = np.unique(values, return_inverse=True)
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
    per_group = np.add.reduceat(copies[:, order], starts, axis=1)
    return (np.cumsum(per_group, axis=1) - (per_group - 1) / 2)[:, group]


#: how pairs with a word outside the vocabulary are treated: left out, or (subword models) given the mean of
#: the word's character n-gram vectors
OOV_POLICIES = ("vocabulary", "subwords")


def evaluate_similarity(vectors: Vectors, benchmark: SimilarityBenchmark, oov: str = "vocabulary",
                        interval: bool = True) -> dict:
    """Spearman rho over the pairs whose two words have vectors; reports covered/total, never hides OOV.

    Returns ``{"benchmark", "spearman", "pairs", "covered", "pearson", "spearman_ci95"}``; the
    correlations are NaN (and the interval None) below 3 covered pairs. ``oov="vocabulary"`` scores the pairs
    of two vocabulary words; ``oov="subwords"`` also those whose words a subword model composes from their
    n-grams, and adds ``"in_vocabulary"``: the same figures over the vocabulary pairs alone. Without ``interval``
    the bootstrap (most of the cost) is skipped and the interval is None.
    """
    if oov not in OOV_POLICIES:
        raise W2VError(f"oov must be one of {', '.join(OOV_POLICIES)}, not {oov!r}")
    if oov == "subwords" and vectors.subwords is None:
        raise W2VError("these vectors were trained without subwords: no vectors for words outside the vocabulary "
                       "(train with --subwords MIN-MAX, or evaluate with --oov vocabulary)")
    in_vocabulary = [(a, b, s) for a, b, s in benchmark.pairs if a in vectors and b in vectors]
    row = {"benchmark": benchmark.name, "pairs": len(benchmark.pairs),
           **_correlations(vectors, in_vocabulary, interval)}
    if oov == "subwords":
        covered = [(a, b, s) for a, b, s in benchmark.pairs if vectors.covers(a) and vectors.covers(b)]
        row = {**row, **_correlations(vectors, covered, interval),
               "in_vocabulary": _correlations(vectors, in_vocabulary, interval)}
    return row


def pair_cosines(vectors: Vectors, pairs: list[tuple[str, str, float]]) -> np.ndarray:
    """float64[N]: cos(a, b) of each pair (a, b, score), on the words' vectors."""
    first = unit_rows(vectors.vectors_of([a for a, _, _ in pairs]))
    second = unit_rows(vectors.vectors_of([b for _, b, _ in pairs]))
    return (first * second).sum(1).astype(np.float64)


def _correlations(vectors: Vectors, known: list[tuple[str, str, float]], interval: bool = True) -> dict:
    """{"spearman", "pearson", "spearman_ci95", "covered"} of the cosines of the ``known`` pairs."""
    rho = pearson = float("nan")
    ci95 = None
    if len(known) >= 3:
        cosines = pair_cosines(vectors, known)
        human = np.array([s for _, _, s in known], dtype=np.float64)
        rho = spearman(human, cosines)
        pearson = pearson_r(human, cosines)
        ci95 = list(spearman_bootstrap_ci(human, cosines)) if interval else None
    return {"spearman": rho, "covered": len(known), "pearson": pearson, "spearman_ci95": ci95}
