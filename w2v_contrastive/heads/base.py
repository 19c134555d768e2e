"""The head interface: scores in, per-example loss out.

A head declares in :attr:`Head.request` which scores it needs (how many noise words from Q, shared
by the batch or drawn per example, the batch's other contexts, the full-vocabulary log partition);
:func:`score_batch` computes exactly those for a batch of (word, context) pairs and hands them to the
head in a :class:`Scores`. The head never touches the corpus, the optimizer or the device choice.

Adding an objective is one file in this folder that subclasses :class:`Head` under
``@register("name")``, plus its import line in ``heads/__init__.py`` (docs/extending.md walks through
one). Constructor keyword arguments are filled from the training config fields of the same name; the
head checks them and keeps each as an attribute of the same name (:meth:`Head.hyperparameters`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import W2VError

HEADS: dict[str, type["Head"]] = {}


def register(name: str):
    """Class decorator that makes a head selectable as ``--head name``."""

    def decorate(cls: type["Head"]) -> type["Head"]:
        cls.name = name
        HEADS[name] = cls
        return cls

    return decorate


@dataclass(frozen=True)
class ScoreRequest:
    """What a head needs besides s(w, c) of the true pairs."""

    negatives: int = 0
    shared_negatives: bool = False
    in_batch: bool = False
    full_vocabulary: bool = False
    #: squared norms ||u_w||^2 and ||v_x||^2 of every scored vector, for distance-based heads
    squared_norms: bool = False
    #: the scores of the inner nodes on the context's path through a tree (the hierarchical softmax), whose
    #: rows the output table holds instead of context vectors; ``tree`` is that tree (heads/huffman.py),
    #: set by the head once the vocabulary is known (:meth:`Head.use_vocabulary`)
    tree_paths: bool = False
    tree: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class RowLoss:
    """A head's loss over one pair's candidate row, as data for the GPU kernel (train/hogwild_kernel.py
    ``row_loss``; the CPU kernel compiles :meth:`Head.fused_row_loss` instead). With s_k the row's scores:

    logistic (``categorical`` False): L = sum_k softplus(-z_k), z_k = +-(s_k - [subtract_log_q] (log_k + log Q(x_k))),
        + for the target (for a tree path, for branch 0);
    categorical: L = log sum_k exp f_k - f_0, f_k = s_k / temperature - [subtract_log_q] log Q(x_k), hits left out.
    """

    categorical: bool = False
    subtract_log_q: bool = False
    log_k: float = 0.0
    temperature: float = 1.0


@dataclass
class Scores:
    """Scores of one batch of B (word w, context c) pairs. Optional fields are None unless requested.
    (With CBOW, w is the input, the mean of a window's word vectors, and c the centre word.)

    positive: float[B], s(w, c) (None for a tree's scores). positive_log_q: float[B], log Q(c).
    negative: float[B, K], s(w, n_k) for noise words n_k ~ Q. negative_log_q: float[B, K] or [1, K].
    negative_is_positive: bool[B, K], n_k == c (an "accidental hit").
    in_batch: float[B, B], s(w_i, c_j). in_batch_log_q: float[1, B]. in_batch_is_positive: bool[B, B], c_j == c_i
    or w_j == w_i: candidate j is the true context, or a context of the same word (no negative for w_i: the pair
    stream keeps a centre token's pairs together, so these are its other true contexts).
    log_partition: float[B], log sum_v exp s(w, v) over the whole vocabulary (computed once per distinct w).
    word_sq_norm: float[B], ||u_w||^2; positive_sq_norm: float[B], ||v_c||^2; negative_sq_norm and
    in_batch_sq_norm: ||v_x||^2 shaped like negative_log_q and in_batch_log_q.
    path: float[B, L], s(w, n_j) for the inner nodes n_j on c's path (root first, padded to the tree's depth L);
    path_code: bool[B, L], the branch d_j taken at n_j; path_mask: bool[B, L], True on c's own path.
    """

    positive: torch.Tensor | None
    positive_log_q: torch.Tensor
    negative: torch.Tensor | None = None
    negative_log_q: torch.Tensor | None = None
    negative_is_positive: torch.Tensor | None = None
    in_batch: torch.Tensor | None = None
    in_batch_log_q: torch.Tensor | None = None
    in_batch_is_positive: torch.Tensor | None = None
    log_partition: torch.Tensor | None = None
    word_sq_norm: torch.Tensor | None = None
    positive_sq_norm: torch.Tensor | None = None
    negative_sq_norm: torch.Tensor | None = None
    in_batch_sq_norm: torch.Tensor | None = None
    path: torch.Tensor | None = None
    path_code: torch.Tensor | None = None
    path_mask: torch.Tensor | None = None


class Head(nn.Module):
    """A training objective for skip-gram: ``forward(scores) -> float[B]`` per-example losses."""

    name: ClassVar[str] = ""
    #: whether the model gets a per-word output bias b_c unless the user says otherwise
    wants_output_bias: ClassVar[bool] = False
    #: the optimizer used when the user names none, and the learning rate per optimizer
    default_optimizer: ClassVar[str] = "sgd"
    default_lr: ClassVar[dict[str, float]] = {"sgd": 0.025, "adam": 0.005}
    #: whether the context table v is the word table u ("tied") or its own ("untied"), unless the user says
    default_geometry: ClassVar[str] = "untied"
    #: initial context vectors (untied): word2vec's "zeros", or "uniform" like the word vectors
    output_init: ClassVar[str] = "zeros"
    #: False for heads that read s(w, x) as the dot product u_w . v_x (distances): no bias allowed
    takes_output_bias: ClassVar[bool] = True
    #: pairs per autograd step when the user sets none (None: the trainer's default for the kind of head)
    default_batch_size: ClassVar[int | None] = None
    #: whether the output table's rows are the words' context vectors v_c (False: the hierarchical softmax's
    #: tree nodes), so that they can be tied to the word vectors, exported, and scored as a softmax over words
    scores_words: ClassVar[bool] = True
    #: the input models the head trains (``--model``): distance heads compare two words' points, and the
    #: mean of a window of them (CBOW's input) is no word's point
    models: ClassVar[tuple[str, ...]] = ("skipgram", "cbow")

    request: ScoreRequest

    def forward(self, scores: Scores) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def use_vocabulary(self, counts, device: torch.device | str = "cpu") -> None:
        """Called once the vocabulary is known (``counts``: int64[V], by word id), before any scores: a
        head whose candidates depend on the vocabulary builds them here, on ``device`` (the hierarchical
        softmax its Huffman tree). Others ignore it."""

    def fused_row_loss(self):
        """Optional: the same loss for one pair's candidate row, as a numba-compiled function
        ``row_loss(s, log_q, hit, grad, settings) -> L`` for the fused CPU path (``train/fused_sgd.py``).

        s: float32[1 + K], scores of the true context then of its K noise words; log_q: their log Q;
        hit[k]: candidate k is the true context (k > 0). For a tree (``request.tree_paths``) the row is the
        context's path instead: s its nodes' scores, hit the branches d_j, log_q zeros. settings: float64[:],
        the head's :meth:`fused_row_settings`. Writes dL/ds_k into grad (float32[1 + K]) and returns L. Only
        for heads whose ``request`` is per-example negatives or a tree; it must agree with :meth:`forward`
        (tests check both on the same scores). Heads without it use autograd.
        """
        raise NotImplementedError

    def fused_row_settings(self) -> tuple[float, ...]:
        """The numbers :meth:`fused_row_loss` reads from its ``settings`` argument (the head's options, such as
        NCE's log k), passed at run time so that one compiled kernel serves every value; none by default."""
        return ()

    def gpu_row_loss(self) -> RowLoss:
        """Optional: :meth:`fused_row_loss`'s loss described as a :class:`RowLoss`, for the GPU kernel."""
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The options this head trains with, defaults resolved (recorded in config.json and compare's
        results): one entry per constructor argument, read from the attribute of the same name, which
        each head sets to the value it uses (a distance is recorded by its name)."""
        values = {name: getattr(self, name) for name in constructor_arguments(type(self))}
        return {name: getattr(value, "name", value) for name, value in values.items()}

    @classmethod
    def has_fused_row_loss(cls) -> bool:
        """Whether the head provides :meth:`fused_row_loss`."""
        return cls.fused_row_loss is not Head.fused_row_loss

    @classmethod
    def has_gpu_row_loss(cls) -> bool:
        """Whether the head provides :meth:`gpu_row_loss`."""
        return cls.gpu_row_loss is not Head.gpu_row_loss


def head_class(name: str) -> type[Head]:
    """The registered head called ``name``; a W2VError listing the choices if there is none."""
    if name not in HEADS:
        raise W2VError(f"unknown head {name!r}; choose one of: {', '.join(sorted(HEADS))}")
    return HEADS[name]


def constructor_arguments(cls: type[Head]) -> list[str]:
    """The names of a head's constructor arguments: each is a training setting of the same name."""
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def build_head(name: str, settings: Any) -> Head:
    """Instantiate head ``name``, taking every constructor argument from the ``settings`` attribute of
    the same name (a :class:`~w2v_contrastive.config.TrainConfig`; an argument without one is a
    programming error, which tests/test_head_contract.py catches for every registered head)."""
    cls = head_class(name)
    return cls(**{argument: getattr(settings, argument) for argument in constructor_arguments(cls)})


def score_batch(model, noise, request: ScoreRequest, inputs: torch.Tensor, contexts: torch.Tensor,
                generator: torch.Generator | None = None, softmax_chunk: int | None = None) -> Scores:
    """Compute the scores ``request`` asks for, for examples (inputs[b], contexts[b]).

    model: a :class:`~w2v_contrastive.model.SkipGram`; noise: a
    :class:`~w2v_contrastive.sampling.noise.NoiseDistribution` on the same device. inputs: int64[B] words
    (skip-gram), or int64[B, R] bags of input rows, -1 where there is none (CBOW: the window); contexts:
    int64[B], the words to predict.
    """
    candidates, noise_words = draw_candidates(noise, request, contexts, generator)
    rows = model.lookup(inputs, candidates)
    return score_rows(*rows, noise, request, inputs, contexts, noise_words, model, softmax_chunk)


class _CandidateScores(torch.autograd.Function):
    """s[b, k] = v[b, k] . u[b] with the backward written out: dL/dv[b, k] = g[b, k] u[b] (a broadcast
    product) and dL/du[b] = sum_k g[b, k] v[b, k]. Autograd's backward of the same ``bmm`` forms dL/dv as a
    batch of rank-one products, on the CPU 13x slower than the broadcast (the step of a [4,096, 6, 50] block:
    3.3 -> 2.2 ms with the forward and dL/du, 2 cores)."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(v, u)
        return (v * u.unsqueeze(1)).sum(-1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        v, u = ctx.saved_tensors
        grad = grad.unsqueeze(2)
        return grad * u.unsqueeze(1), (grad * v).sum(1)


def candidate_scores(v: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """float[B, C]: each example's input vector u[b] (float[B, d]) against each of its C candidate rows v[b]
    (float[B, C, d])."""
    return _CandidateScores.apply(v, u)


def draw_candidates(noise, request: ScoreRequest, contexts: torch.Tensor,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(the output rows to look up, the noise words drawn): per-example negatives give a [B, 1 + K]
    block (the true context first, then its noise words), shared ones [B + K] (the contexts, then K
    noise words for the whole batch), a tree the [B, L] nodes of each context's path, none the contexts alone."""
    if request.tree_paths:
        return request.tree.nodes[contexts], None
    if request.negatives and not request.shared_negatives:
        noise_words = noise.sample((contexts.shape[0], request.negatives), generator)
        return torch.cat([contexts.unsqueeze(1), noise_words], dim=1), noise_words
    if request.negatives:
        noise_words = noise.sample((request.negatives,), generator)
        return torch.cat([contexts, noise_words]), noise_words
    return contexts, None


def score_rows(u: torch.Tensor, v: torch.Tensor, b: torch.Tensor, noise, request: ScoreRequest, inputs: torch.Tensor,
               contexts: torch.Tensor, noise_words: torch.Tensor | None, model=None,
               softmax_chunk: int | None = None) -> Scores:
    """The :class:`Scores` of a batch from its looked-up rows: the inputs' vectors u (float[B, d]) and the rows v
    and biases b of :func:`draw_candidates`' words. ``model`` is read only for the full-vocabulary log partition."""
    if request.tree_paths:
        tree = request.tree
        return Scores(positive=None, positive_log_q=noise.log_probs[contexts],
                      path=(candidate_scores(v, u) + b).float(), path_code=tree.codes[contexts],
                      path_mask=tree.mask[contexts])
    batch = contexts.shape[0]
    per_example = request.negatives and not request.shared_negatives
    if per_example:
        candidate = (candidate_scores(v, u) + b).float()
        positive, scores_negative = candidate[:, 0], candidate[:, 1:]
        v_true, b_true, v_noise = v[:, 0], b[:, 0], v[:, 1:]
        negative_log_q = noise.log_probs[noise_words]
        hits = noise_words
    elif request.negatives:
        v_true, b_true, v_noise = v[:batch], b[:batch], v[batch:]
        positive = ((u * v_true).sum(-1) + b_true).float()
        scores_negative = (u @ v_noise.T + b[batch:]).float()
        negative_log_q = noise.log_probs[noise_words].unsqueeze(0)
        hits = noise_words.unsqueeze(0)
    else:
        v_true, b_true = v, b
        positive = ((u * v_true).sum(-1) + b_true).float()
    scores = Scores(positive=positive, positive_log_q=noise.log_probs[contexts])
    if request.negatives:
        scores.negative = scores_negative
        scores.negative_log_q = negative_log_q
        scores.negative_is_positive = hits == contexts.unsqueeze(1)
    if request.in_batch:
        scores.in_batch = (u @ v_true.T + b_true).float()
        scores.in_batch_log_q = scores.positive_log_q.unsqueeze(0)
        scores.in_batch_is_positive = contexts.unsqueeze(0) == contexts.unsqueeze(1)
        if inputs.dim() == 1:  # skip-gram: pairs of one centre token share their word
            scores.in_batch_is_positive |= inputs.unsqueeze(0) == inputs.unsqueeze(1)
    if request.full_vocabulary:
        scores.log_partition = grouped_log_partition(model, u, inputs, softmax_chunk).float()
    if request.squared_norms:
        scores.word_sq_norm = u.float().square().sum(-1)
        scores.positive_sq_norm = v_true.float().square().sum(-1)
        if request.negatives:
            scores.negative_sq_norm = v_noise.float().square().sum(-1).view_as(negative_log_q)
        if request.in_batch:
            scores.in_batch_sq_norm = scores.positive_sq_norm.unsqueeze(0)
    return scores


def grouped_log_partition(model, u: torch.Tensor, inputs: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """log Z(w_b) for every example b -> float[B], computed once per distinct input word of the batch.

    log Z(w) = log sum_v exp(u_w . v_v + b_v) depends on the input alone, so with one word per input
    (skip-gram) the V-wide row of scores is computed for the U distinct words (U <= B; about B / 6 when
    the stream keeps a centre token's pairs together) and gathered back to the pairs. Exact: a word's rows
    u_b are one embedding row, and the gather's backward sums the pairs' gradients into it, so the loss and
    every gradient are those of the per-pair computation (tests/test_scores.py). Bags of rows (CBOW's
    windows, ``inputs`` int64[B, R]) differ from example to example: one row of scores each."""
    if inputs.dim() > 1:
        return model.log_partition(u, chunk)
    words, inverse = torch.unique(inputs, return_inverse=True)
    positions = torch.arange(inputs.shape[0], device=inputs.device)
    first = torch.full(words.shape, inputs.shape[0], device=inputs.device).scatter_reduce_(
        0, inverse, positions, reduce="amin")  # one pair of each word: its row of u
    return model.log_partition(u[first], chunk)[inverse]
