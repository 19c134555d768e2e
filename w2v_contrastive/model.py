"""The model: two embedding tables (or one, tied) and an optional output bias, nothing else.

s(w, c) = u_w . v_c + b_c, where u = ``input`` (the word vectors that are exported) and
v = ``output`` (context vectors; the hierarchical softmax keeps its tree's inner nodes there). The
input u_w of an example is one word's row (skip-gram) or the mean of a bag of rows (CBOW: the window's
context words), :meth:`SkipGram.lookup`. word2vec's initialisation: u uniform in [-0.5/d, 0.5/d], v = 0
(``output_init="uniform"`` draws v like u). With ``tied=True`` there is one table and v_x = u_x, the
single embedding network f of the metric-learning papers.
With subwords (fastText, w2v_contrastive/subwords.py) the input table holds V word rows and then one row per
n-gram hash bucket, and a word's vector is the mean of its own row and its n-grams' rows, wherever the model
reads a word's input vector (the centre word, each of CBOW's context words, and with tied tables the
scored contexts too). Tables are ``nn.Embedding(sparse=True)``, so a batch only touches the rows it uses; those
of 2 MB or more lie on 2 MB pages where the system has them (:mod:`.huge_pages`: fewer TLB misses for rows read
at random).
A batch's bags of rows (a CBOW window's, a word's own and n-gram rows) are packed without padding, as
``embedding_bag`` takes them (:class:`PackedBags`, :meth:`SkipGram.pack_bags`): a step reads the rows its
bags have, not B times the vocabulary's longest bag.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn

from . import huge_pages

#: the input models: ``skipgram`` predicts each context word from the centre word's row; ``cbow`` the centre
#: word from the mean of its window's context rows (Mikolov et al. 2013a)
MODELS = ("skipgram", "cbow")


class SkipGram(nn.Module):
    """``log_prior`` (float[V], optional) initialises the output bias to log p(c): with u.v = 0 the
    model then starts at the unigram distribution, the optimum of a context-free model, so the
    vectors only have to learn log p(c | w) - log p(c) (the PMI) rather than a shared offset too."""

    def __init__(self, vocab_size: int, dim: int, output_bias: bool = False, log_prior: torch.Tensor | None = None,
                 tied: bool = False, output_init: str = "zeros", subwords: torch.Tensor | None = None,
                 buckets: int = 0):
        super().__init__()
        self.input = nn.Embedding(vocab_size + buckets, dim, sparse=True, _weight=huge_pages.empty(
            (vocab_size + buckets, dim)))  # (on 2 MB pages: rows are read at random)
        self.output = self.input if tied else nn.Embedding(vocab_size, dim, sparse=True,
                                                           _weight=huge_pages.empty((vocab_size, dim)))
        self.bias = nn.Embedding(vocab_size, 1, sparse=True) if output_bias else None
        nn.init.uniform_(self.input.weight, -0.5 / dim, 0.5 / dim)
        if not tied and output_init == "zeros":
            nn.init.zeros_(self.output.weight)
        elif not tied:
            nn.init.uniform_(self.output.weight, -0.5 / dim, 0.5 / dim)
        if self.bias is not None:
            with torch.no_grad():
                self.bias.weight.copy_(log_prior.view(-1, 1) if log_prior is not None else torch.zeros(vocab_size, 1))
        #: int64[V, R]: the input rows of each word, its own then its n-grams' (-1 after the last); None without
        #: subwords (derived from the vocabulary, so not saved with the parameters)
        self.register_buffer("subwords", subwords, persistent=False)
        #: int64[V + 1]: how many input rows each word has (1 + its n-grams), then 0, what an absent word (-1) reads;
        #: None without subwords
        self.register_buffer("bag_sizes", None if subwords is None else
                             torch.cat([(subwords >= 0).sum(1), subwords.new_zeros(1)]), persistent=False)
        self.n_words = vocab_size

    @property
    def vocab_size(self) -> int:
        return self.n_words

    @property
    def dim(self) -> int:
        return self.input.embedding_dim

    @property
    def tied(self) -> bool:
        return self.output is self.input

    def lookup(self, inputs: torch.Tensor, contexts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(u: float[B, d], v_c: float[..., d], b_c: float[...], zeros without a bias).

        ``inputs``: int64[B] words, whose rows u_w are the inputs (skip-gram), or int64[B, R] bags of words
        with -1 where a bag has fewer, whose mean is the input (CBOW's windows); with subwords each word stands
        for its bag of rows (:meth:`input_bags`).
        One embedding call per table and step (for tied tables, one call for words and contexts
        together): each table then gets one sparse gradient, which autograd does not have to merge
        (merging two sparse gradients densifies the table)."""
        if self.bias is None:
            bias = torch.zeros(contexts.shape, dtype=self.output.weight.dtype, device=contexts.device)
        else:
            bias = self.bias(contexts).squeeze(-1)
        input_bags, context_rows = self.input_bags(inputs), self.context_rows(contexts)
        if self.tied:
            rows = [bag_rows(input_bags), bag_rows(context_rows)]
            both = self.input(torch.cat([r.reshape(-1) for r in rows]))
            u, v = both[: rows[0].numel()], both[rows[0].numel():].view(*rows[1].shape, -1)
        else:
            u, v = self.input(bag_rows(input_bags)), self.output(context_rows)
        return (*self.compose(u, v, input_bags, context_rows), bias)

    def input_bags(self, inputs: torch.Tensor) -> "torch.Tensor | PackedBags":
        """What the input vector h of each example is the mean of: ``inputs`` themselves when each is one row
        (int64[B] words without subwords), else their packed bags (:meth:`pack_bags`): CBOW's window
        (int64[B, R] words), with subwords all the rows of the words of each example's input together (CBOW: of
        every context word; fastText's mean over them)."""
        if inputs.dim() == 1 and self.subwords is None:
            return inputs
        return self.pack_bags(inputs.view(inputs.shape[0], -1))

    def context_rows(self, contexts: torch.Tensor) -> "torch.Tensor | PackedBags":
        """The rows of the scored ``contexts`` (int64[...]): themselves, or with subwords and tied tables (where v_x
        is x's word vector, the mean of its rows) their packed bags, one per context."""
        if self.tied and self.subwords is not None:
            return self.pack_bags(contexts.reshape(-1, 1), contexts.shape)
        return contexts

    def compose(self, u: torch.Tensor, v: torch.Tensor, input_bags: "torch.Tensor | PackedBags",
                context_rows: "torch.Tensor | PackedBags") -> tuple[torch.Tensor, torch.Tensor]:
        """(h float[B, d], v_x float[..., d]) from the rows read for :meth:`input_bags` and :meth:`context_rows`
        (float[N, d] for packed bags, float[..., d] for rows of their own)."""
        return bag_mean(u, input_bags), bag_mean(v, context_rows)

    def row_counts(self, words: torch.Tensor) -> torch.Tensor:
        """int64[...]: how many input rows each of ``words`` (int64[...], -1 where absent) reads: its own row, with
        subwords its n-grams' rows too; 0 where absent."""
        if self.subwords is None:
            return (words >= 0).long()
        return self.bag_sizes[words]  # (-1 reads the last entry, 0)

    def pack_bags(self, bags: torch.Tensor, shape: tuple[int, ...] | None = None) -> "PackedBags":
        """The input rows of ``bags`` (int64[M, W]: bag m holds every input row of its W words, -1 where a word is
        absent: a CBOW window, or one word with its n-grams) packed without padding; ``shape``: the bags' shape
        (default [M]). The packed length N (the bags' rows) sizes the tensors, so the host reads it from the
        device: on a GPU an event wait for its copy (sampling/pairs.py ``HostValue``), not a stream sync."""
        from .sampling.pairs import HostValue  # (here: the pair stream imports this module)

        counts = self.row_counts(bags)  # int64[M, W]
        flat_words, flat_counts = bags.reshape(-1), counts.reshape(-1)
        total = HostValue(flat_counts.sum()).get()
        if self.subwords is None:  # (a present word has one row, itself)
            word_of_row = torch.nonzero_static(flat_counts, size=total).squeeze(1)  # int64[N]
            rows = flat_words[word_of_row]
        else:
            starts = flat_counts.cumsum(0) - flat_counts  # each word's first packed slot
            word_of_row = torch.repeat_interleave(torch.arange(flat_counts.shape[0], device=bags.device),
                                                  flat_counts, output_size=total)
            position = torch.arange(total, device=bags.device) - starts[word_of_row]
            rows = self.subwords[flat_words[word_of_row], position]
        if bags.shape[1] == 1:  # (one word a bag: its bag is its index)
            return PackedBags(rows, word_of_row, flat_counts, tuple(shape or bags.shape[:1]))
        return PackedBags(rows, word_of_row.div(bags.shape[1], rounding_mode="floor"), counts.sum(1),
                          tuple(shape or bags.shape[:1]))

    def word_vectors(self) -> torch.Tensor:
        """float[V, d], the exported word vectors: the input rows, or with subwords the mean of each word's rows
        (fastText's composed vectors)."""
        with torch.no_grad():
            if self.subwords is None:
                return self.input.weight.detach().clone()
            present = self.subwords >= 0
            offsets = torch.cat([present.new_zeros(1, dtype=torch.int64), present.sum(1).cumsum(0)[:-1]])
            return nn.functional.embedding_bag(self.subwords[present], self.input.weight, offsets, mode="mean")

    def log_partition(self, u: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """log Z(w) = log sum_v exp s(w, v) over the whole vocabulary -> float[B].

        Computed ``chunk`` vocabulary rows at a time, forward and backward (see ``ChunkedLogPartition``),
        so no more than a [B, chunk] block of scores exists at once, whatever the vocabulary size.
        ``chunk=None``: :func:`default_chunk`.
        """
        bias = None if self.bias is None else self.bias.weight.squeeze(1)
        return ChunkedLogPartition.apply(u, self.output.weight, bias, chunk or default_chunk(u))


@dataclass(frozen=True)
class PackedBags:
    """Bags of table rows packed without padding, as ``embedding_bag`` takes them: ``rows`` int64[N], bag 0's
    rows, then bag 1's, ...; ``owners`` int64[N], the bag of each row (in place of ``embedding_bag``'s offsets);
    ``sizes`` int64[M], each bag's rows; ``shape``, the bags' shape (M bags in all). The tensors a step makes
    from them hold N rows, whatever the vocabulary's longest word."""

    rows: torch.Tensor
    owners: torch.Tensor
    sizes: torch.Tensor
    shape: tuple[int, ...]


def bag_rows(bags: "torch.Tensor | PackedBags") -> torch.Tensor:
    """The table rows to read for ``bags``: int64[...] one row each, or packed bags' rows int64[N]."""
    return bags.rows if isinstance(bags, PackedBags) else bags


def bag_mean(rows: torch.Tensor, bags: "torch.Tensor | PackedBags") -> torch.Tensor:
    """The vectors (float[..., d]) of the ``rows`` read for ``bags``: the rows themselves for one row each; for
    packed bags (rows float[N, d]) the mean of each bag's rows, float[*bags.shape, d], with :class:`BagMean`'s
    backward."""
    if not isinstance(bags, PackedBags):
        return rows
    return BagMean.apply(rows, bags.owners, bags.sizes).view(*bags.shape, rows.shape[-1])


class BagMean(torch.autograd.Function):
    """h_m = (1 / n_m) sum of x_r over bag m's n_m rows r (0 for an empty bag), whose backward hands every
    row the whole dL/dh_m, not 1/n_m of it: the update word2vec.c and gensim (``cbow_mean=1``) and fastText
    make to each context (or n-gram) row, so that a row moves as far as a skip-gram word's would. The step
    is thus n_m times the exact gradient's for the bag's rows; every training path (fused kernel, row step,
    autograd) makes the same one. rows float[N, d], owners int64[N], sizes int64[M] -> float[M, d]."""

    @staticmethod
    def forward(ctx, rows: torch.Tensor, owners: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(owners)
        sums = rows.new_zeros((sizes.shape[0], rows.shape[1])).index_add_(0, owners, rows)
        return sums / sizes.clamp(min=1).unsqueeze(1).to(rows.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (owners,) = ctx.saved_tensors
        return grad[owners], None, None


#: on a CPU, a chunk of scores of about this many floats (1 MB) stays in the cores' caches through the
#: passes over it (scores, bias, log-sum-exp; recomputed scores, softmax, products), and chunks of at
#: least CPU_MIN_CHUNK_ROWS keep the per-chunk overhead small: on 2 cores at V = 24,294, d = 100, 256-row
#: chunks trained 1.9x faster than 8,192-row ones (bench/softmax-2026-12-01.json, docs/softmax.md)
CPU_CHUNK_FLOATS = 1 << 18
CPU_MIN_CHUNK_ROWS = 256
#: on a GPU the chunk only bounds memory: [B, 8,192] scores per chunk
GPU_CHUNK_ROWS = 8192


def default_chunk(u: torch.Tensor) -> int:
    """Vocabulary rows per chunk for the words ``u`` (float[B, d]): cache-sized blocks on a CPU."""
    if u.device.type != "cpu":
        return GPU_CHUNK_ROWS
    return max(CPU_MIN_CHUNK_ROWS, CPU_CHUNK_FLOATS // max(1, u.shape[0]))


class ChunkedLogPartition(torch.autograd.Function):
    """log Z_b = log sum_v exp(u_b . W_v + c_v) in vocabulary chunks, with a hand-written backward.

    With p_bv = exp(u_b . W_v + c_v - log Z_b) (the softmax) and g_b = dL/dlog Z_b:

        dL/du_b = sum_v g_b p_bv W_v,   dL/dW_v = sum_b g_b p_bv u_b,   dL/dc_v = sum_b g_b p_bv

    The forward keeps only u, W, c and log Z; the backward recomputes each chunk's scores and writes
    that chunk's rows of dL/dW and dL/dc in place. Four [B, chunk, d] products per chunk, one dense
    V x d gradient, and O(B x chunk) scratch memory, whatever V. (Autograd through slices of W would
    instead materialise a zero-filled V x d gradient per chunk.) Each chunk's work is one call of
    :func:`chunk_log_sum_exp` (forward) and :func:`chunk_gradients` (backward); on a GPU they run
    compiled by ``torch.compile``, which fuses the passes over a chunk's scores (bias, exponentials,
    scaling, the bias gradient's sum) around the matrix products; on a CPU as they are written.
    Under CUDA autocast both passes run with the forward's autocast state (bf16 products, float32
    scores and softmax).
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx, u: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, chunk: int) -> torch.Tensor:
        log_sum_exp = _for_device(chunk_log_sum_exp, u)
        parts = [log_sum_exp(u, weight[rows], None if bias is None else bias[rows]) for rows in _chunks(weight, chunk)]
        log_z = torch.logsumexp(torch.stack(parts), dim=0)
        ctx.save_for_backward(u, weight, bias, log_z)
        ctx.chunk = chunk
        return log_z

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad_log_z: torch.Tensor):
        u, weight, bias, log_z = ctx.saved_tensors
        gradients = _for_device(chunk_gradients, u)
        grad_u = torch.zeros_like(u)
        grad_weight = torch.zeros_like(weight)
        grad_bias = None if bias is None else torch.zeros_like(bias)
        for rows in _chunks(weight, ctx.chunk):
            part_u, grad_weight[rows], part_bias = gradients(u, weight[rows], None if bias is None else bias[rows],
                                                             log_z, grad_log_z)
            grad_u += part_u
            if grad_bias is not None:
                grad_bias[rows] = part_bias
        want_u, want_weight, want_bias, _ = ctx.needs_input_grad
        return (grad_u if want_u else None, grad_weight if want_weight else None,
                grad_bias if want_bias else None, None)


def chunk_log_sum_exp(u: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """float[B]: log sum_v exp(u_b . W_v + c_v) over one chunk's rows W, c."""
    return torch.logsumexp(_chunk_scores(u, weight, bias), dim=1)


def chunk_gradients(u: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, log_z: torch.Tensor,
                    grad_log_z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One chunk's share of the backward pass: (dL/du part [B, d], dL/dW [rows, d], dL/dc [rows] or None),
    from g_b p_bv with p the softmax over the whole vocabulary (``log_z``) and g = ``grad_log_z``."""
    weighted = _chunk_scores(u, weight, bias).sub_(log_z[:, None]).exp_().mul_(grad_log_z[:, None])  # g_b p_bv
    return (weighted.to(weight.dtype) @ weight, weighted.T.to(u.dtype) @ u,
            None if bias is None else weighted.sum(dim=0))


def _chunk_scores(u: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """[B, rows], float32 or wider: u . W_v + c_v, a fresh tensor the caller may overwrite."""
    scores = u @ weight.T
    scores = scores.to(torch.promote_types(scores.dtype, torch.float32))
    return scores if bias is None else scores.add_(bias)


def _chunks(weight: torch.Tensor, chunk: int) -> list[slice]:
    return [slice(start, start + chunk) for start in range(0, weight.shape[0], chunk)]


@functools.lru_cache(maxsize=None)
def _compiled(function):
    return torch.compile(function, dynamic=True)


def _for_device(function, u: torch.Tensor):
    """``function`` compiled on a GPU (fused passes over the scores), as written on a CPU."""
    return _compiled(function) if u.is_cuda else function
