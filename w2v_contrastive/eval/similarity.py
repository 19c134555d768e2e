"""Word-similarity evaluation: Spearman's rho (and Pearson's r) between human scores and cosine
similarities, with a bootstrap 95% confidence interval for rho."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, rankdata, spearmanr

from ..vectors import Vectors
from .benchmarks import SimilarityBenchmark

BOOTSTRAP_RESAMPLES = 1000


def spearman_bootstrap_ci(human: np.ndarray, model: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                          seed: int = 0) -> tuple[float, float]:
    """Percentile 95% interval of Spearman's rho over ``resamples`` resamplings of the pairs with
    replacement (Efron & Tibshirani 1993), all resamples ranked at once (average ranks for ties)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(human), (resamples, len(human)))
    ranks = [rankdata(values[picks], axis=1) for values in (human, model)]
    centred = [r - r.mean(axis=1, keepdims=True) for r in ranks]
    numerator = (centred[0] * centred[1]).sum(axis=1)
    denominator = np.sqrt((centred[0] ** 2).sum(axis=1) * (centred[1] ** 2).sum(axis=1))
    rhos = numerator[denominator > 0] / denominator[denominator > 0]
    low, high = np.percentile(rhos, [2.5, 97.5])
    return float(low), float(high)


def evaluate_similarity(vectors: Vectors, benchmark: SimilarityBenchmark) -> dict:
    """Spearman rho over the pairs whose two words are known; reports covered/total, never hides OOV.

    Returns ``{"benchmark", "spearman", "pairs", "covered", "pearson", "spearman_ci95"}``; the
    correlations are NaN (and the interval None) below 3 covered pairs.
    """
    known = [(a, b, s) for a, b, s in benchmark.pairs if a in vectors and b in vectors]
    rho = pearson = float("nan")
    interval = None
    if len(known) >= 3:
        unit = vectors.unit
        first = np.array([vectors.index[a] for a, _, _ in known])
        second = np.array([vectors.index[b] for _, b, _ in known])
        cosines = (unit[first] * unit[second]).sum(1).astype(np.float64)
        human = np.array([s for _, _, s in known], dtype=np.float64)
        rho = float(spearmanr(human, cosines).statistic)
        pearson = float(pearsonr(human, cosines).statistic)
        interval = list(spearman_bootstrap_ci(human, cosines))
    return {"benchmark": benchmark.name, "spearman": rho, "pairs": len(benchmark.pairs), "covered": len(known),
            "pearson": pearson, "spearman_ci95": interval}
