"""The noise distribution Q of the sampled objectives.

Q(w) = count(w)^alpha / sum_v count(v)^alpha, with alpha = 0.75 as in word2vec; alpha = 1 gives the
unigram distribution and alpha = 0 the uniform one. Samples are drawn with Walker's alias method
(Vose's construction): two uniform draws and two table lookups per sample, whatever the vocabulary
size, as batched tensor ops on the training device.
"""

from __future__ import annotations

import numpy as np
import torch


def alias_tables(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias tables: sample i ~ uniform, keep i with probability ``accept[i]`` else ``alias[i]``."""
    n = len(probabilities)
    scaled = np.asarray(probabilities, dtype=np.float64) * n
    accept = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        accept[s] = scaled[s]
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return accept, alias


class NoiseDistribution:
    """Q over the vocabulary, on ``device``: ``probs`` (float32[V]), ``log_probs`` and ``sample``."""

    def __init__(self, counts: np.ndarray, alpha: float = 0.75, device: str | torch.device = "cpu"):
        weights = np.asarray(counts, dtype=np.float64) ** alpha
        probabilities = weights / weights.sum()
        accept, alias = alias_tables(probabilities)
        self.alpha = alpha
        self.device = torch.device(device)
        self.probs = torch.tensor(probabilities, dtype=torch.float32, device=self.device)
        self.log_probs = torch.log(torch.tensor(probabilities, dtype=torch.float64)).float().to(self.device)
        #: Walker's tables: draw i uniformly, keep it with probability accept[i], else take alias[i]
        self.accept = torch.tensor(accept, dtype=torch.float32, device=self.device)
        self.alias = torch.tensor(alias, dtype=torch.int64, device=self.device)

    def __len__(self) -> int:
        return int(self.probs.shape[0])

    def sample(self, shape: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
        """Word ids drawn i.i.d. from Q, as an int64 tensor of ``shape`` on the device."""
        column = torch.randint(len(self), shape, device=self.device, generator=generator)
        coin = torch.rand(shape, device=self.device, generator=generator)
        return torch.where(coin < self.accept[column], column, self.alias[column])
