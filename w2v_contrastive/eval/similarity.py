"""Word-similarity evaluation: Spearman's rho between human scores and cosine similarities."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from ..vectors import Vectors
from .benchmarks import SimilarityBenchmark


def evaluate_similarity(vectors: Vectors, benchmark: SimilarityBenchmark) -> dict:
    """Spearman rho over the pairs whose two words are known; reports covered/total, never hides OOV.

    Returns ``{"benchmark", "spearman", "pairs", "covered"}``; spearman is NaN below 3 covered pairs.
    """
    known = [(a, b, s) for a, b, s in benchmark.pairs if a in vectors and b in vectors]
    rho = float("nan")
    if len(known) >= 3:
        unit = vectors.unit
        first = np.array([vectors.index[a] for a, _, _ in known])
        second = np.array([vectors.index[b] for _, b, _ in known])
        cosines = (unit[first] * unit[second]).sum(1)
        rho = float(spearmanr([s for _, _, s in known], cosines).statistic)
    return {"benchmark": benchmark.name, "spearman": rho, "pairs": len(benchmark.pairs), "covered": len(known)}
