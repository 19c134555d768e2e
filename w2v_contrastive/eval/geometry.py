"""Collapse and anisotropy of an embedding matrix.

- mean cosine between random pairs of distinct words: 0 for isotropic vectors, 1 when every vector
  points the same way (the collapsed network that outputs a constant); Ethayarajh (2019) reports
  this as anisotropy of contextual embeddings.
- effective rank (Roy & Vetterli 2007): exp(H(p)) with p_i = sigma_i / sum_j sigma_j over the singular
  values of the matrix; 1 for a rank-one (collapsed) matrix, dim for a perfectly spread one.
"""

from __future__ import annotations

import numpy as np

from ..vectors import Vectors


def embedding_geometry(vectors: Vectors, pairs: int = 100_000, seed: int = 0) -> dict:
    """``{"mean_cosine", "effective_rank", "dim", "words"}`` of ``vectors``."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    first = rng.integers(0, n, pairs)
    second = (first + rng.integers(1, max(n, 2), pairs)) % n  # a different word
    unit = vectors.unit
    mean_cosine = float((unit[first] * unit[second]).sum(1).mean()) if n > 1 else float("nan")
    singular = np.linalg.svd(vectors.matrix.astype(np.float64), compute_uv=False)
    p = singular / singular.sum() if singular.sum() > 0 else np.ones(1)
    p = p[p > 0]
    return {"mean_cosine": mean_cosine, "effective_rank": float(np.exp(-(p * np.log(p)).sum())),
            "dim": vectors.dim, "words": n}
