"""The skip-gram model: two embedding tables (or one, tied) and an optional output bias, nothing else.

s(w, c) = u_w . v_c + b_c, where u = ``input`` (the word vectors that are exported) and
v = ``output`` (context vectors). word2vec's initialisation: u uniform in [-0.5/d, 0.5/d], v = 0
(``output_init="uniform"`` draws v like u). With ``tied=True`` there is one table and v_x = u_x, the
single embedding network f of the metric-learning papers.
Tables are ``nn.Embedding(sparse=True)``, so a batch only touches the rows it uses.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


class SkipGram(nn.Module):
    """``log_prior`` (float[V], optional) initialises the output bias to log p(c): with u.v = 0 the
    model then starts at the unigram distribution, the optimum of a context-free model, so the
    vectors only have to learn log p(c | w) - log p(c) (the PMI) rather than a shared offset too."""

    def __init__(self, vocab_size: int, dim: int, output_bias: bool = False, log_prior: torch.Tensor | None = None,
                 tied: bool = False, output_init: str = "zeros"):
        super().__init__()
        self.input = nn.Embedding(vocab_size, dim, sparse=True)
        self.output = self.input if tied else nn.Embedding(vocab_size, dim, sparse=True)
        self.bias = nn.Embedding(vocab_size, 1, sparse=True) if output_bias else None
        nn.init.uniform_(self.input.weight, -0.5 / dim, 0.5 / dim)
        if not tied and output_init == "zeros":
            nn.init.zeros_(self.output.weight)
        elif not tied:
            nn.init.uniform_(self.output.weight, -0.5 / dim, 0.5 / dim)
        if self.bias is not None:
            with torch.no_grad():
                self.bias.weight.copy_(log_prior.view(-1, 1) if log_prior is not None else torch.zeros(vocab_size, 1))

    @property
    def vocab_size(self) -> int:
        return self.input.num_embeddings

    @property
    def dim(self) -> int:
        return self.input.embedding_dim

    @property
    def tied(self) -> bool:
        return self.output is self.input

    def lookup(self, words: torch.Tensor, contexts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(u_w: float[B, d], v_c: float[..., d], b_c: float[...], zeros without a bias).

        One embedding call per table and step (for tied tables, one call for words and contexts
        together): each table then gets one sparse gradient, which autograd does not have to merge
        (merging two sparse gradients densifies the table)."""
        if self.bias is None:
            bias = torch.zeros(contexts.shape, dtype=self.output.weight.dtype, device=contexts.device)
        else:
            bias = self.bias(contexts).squeeze(-1)
        if self.tied:
            rows = self.input(torch.cat([words, contexts.reshape(-1)]))
            return rows[: words.shape[0]], rows[words.shape[0]:].view(*contexts.shape, -1), bias
        return self.input(words), self.output(contexts), bias

    def log_partition(self, u: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
        """log Z(w) = log sum_v exp s(w, v) over the whole vocabulary -> float[B].

        Computed ``chunk`` vocabulary rows at a time with activation checkpointing, so forward and
        backward hold at most a [B, chunk] block of scores whatever the vocabulary size.
        """
        weight = self.output.weight
        bias = None if self.bias is None else self.bias.weight.squeeze(1)
        parts = []
        for start in range(0, self.vocab_size, chunk):
            rows = slice(start, start + chunk)
            part_bias = None if bias is None else bias[rows]
            parts.append(checkpoint(_chunk_logsumexp, u, weight[rows], part_bias, use_reentrant=False))
        return torch.logsumexp(torch.stack(parts), dim=0)


def _chunk_logsumexp(u: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    scores = (u @ weight.T).float()
    if bias is not None:
        scores = scores + bias
    return torch.logsumexp(scores, dim=1)
