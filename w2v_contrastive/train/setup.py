"""What a run will do, decided before anything is built: a pure function of the settings, the head and the machine.

:func:`plan` takes the :class:`~w2v_contrastive.config.TrainConfig`, the head and a :class:`Machine`
description and returns a :class:`TrainingSetup`: the device and threads, the optimizer and learning
rate, the model's shape (output bias, tied tables), which training step runs (train/steps.py: the
fused CPU kernel, the GPU's Triton kernel, the row step or autograd), how torchrun ranks stay in
sync, and the batch size. No corpus, model or process group is needed, so every decision can be tested
on its own (tests/test_setup.py). :func:`build_model`, :func:`build_row_update` and :func:`build_optimizers` then
build what the setup says.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..config import TrainConfig
from ..errors import W2VError
from ..heads import Head
from ..model import SkipGram
from .distributed import TouchedRows
from .steps import RowAdam, RowSGD

#: the training steps of train/steps.py: the compiled CPU kernel, the Triton GPU kernel, SGD or Adam on gathered
#: rows, autograd and torch's optimizers
STEPS = ("fused", "triton", "rows", "autograd")
#: pairs per step of the row and autograd steps on a CPU when the user sets none
AUTOGRAD_BATCH_SIZE = 4096
#: pairs per row step on a GPU: the largest batch at which the row step stayed within 0.02 rho of the fused
#: kernel for negative-sampling, nce and infonce; at 65,536 the summed step diverges (docs/gpu.md)
GPU_ROWS_BATCH_SIZE = 8192
#: heads that score every word against every context of the batch do O(B) work per pair: smaller batches
IN_BATCH_SIZE = 512
#: CBOW's default SGD step is this many times the head's: word2vec.c's rule (-alpha 0.05 with -cbow 1, 0.025 for
#: skip-gram). On gutenberg-mid (negative-sampling, 5 epochs, medians of seeds 0-2) 0.025 gave WS353/SimLex/MEN
#: 0.212/0.114/0.311 (bench/parity-cbow-list-lr0.025-2026-12-01.json) and 0.05 gave 0.330/0.162/0.458
#: (bench/parity-cbow-2026-12-01.json); README, Benchmarks
CBOW_SGD_LR_FACTOR = 2
#: pairs per step of the fused CPU kernel (a unit of work there: every pair is scored with fresh vectors)
FUSED_BATCH_SIZE = 16384
#: the row step sums a batch's updates: B pairs at step lr move a frequent row about lr x B as far at once, and
#: under --sync average each of W ranks steps at W x lr (the linear scaling rule), as if one process summed the
#: W batches. Stable on gutenberg-mid up to lr x B = 0.025 x 16,384 (one process: 0.025 x 16,384 within 0.03 rho
#: of the fused kernel; 2 ranks x 8,192 at 0.05 and 4 ranks x 4,096 at 0.1 within 0.02 of one process), diverged
#: beyond (0.025 x 65,536; 4 ranks x 8,192 at 0.1): bench/batch-quality-2026-12-01.json,
#: bench/average-ranks-2026-12-05.json. So under --sync average a rank's default batch is at most this / (W x lr)
SUMMED_STEP_LIMIT = 0.025 * 16384
#: pairs per launch of the GPU kernel: 16,384 programs of WINDOW_SPAN pairs (about 400k corpus words; the
#: learning rate is one per launch); staleness is the programs in flight, not this
TRITON_BATCH_SIZE = 1 << 20
#: the budget rule (:func:`budget_step`): the SGD step of a word2vec-style head is BUDGET_STEP on a budget of up to
#: BUDGET_SMALL_WORDS training words, then falls as budget^-BUDGET_EXPONENT, never below the head's classic step.
#: Read from tuning on development pairs (scripts/bench_lr_budget.py; 3 seeds each): on 1.5M words (gutenberg-small,
#: 3 epochs) negative-sampling, nce and infonce all selected 0.2 (x8, x4, x2 of their classic steps; bench/
#: lr-budget-sweep-small.json); on 20M words (gutenberg-mid, 5 epochs) they selected 0.05-0.1, 0.05-0.1 and 0.1, and
#: hierarchical-softmax 0.05 (bench/tuned-comparison-2026-12-01, bench/tuned-lr-extension-2026-12-01): a factor of
#: 2-4 over 13x the words, (13)^0.4 = 2.8. Below 1.5M words (0.5M: vectors near rho 0.1) the selections were
#: erratic, so the step stays flat there; far above, the floor is word2vec's 0.025, set for billions of words.
BUDGET_STEP = 0.2
BUDGET_SMALL_WORDS = 1.5e6
BUDGET_EXPONENT = 0.4


@dataclass(frozen=True)
class Machine:
    """Where a run trains: its device, the cores of the machine, and its place in a torchrun job
    (``ranks`` processes in all, ``local_ranks`` of them on this machine, talking over ``backend``), and
    whether the Triton GPU kernel can run there (``triton``: triton imports and torch sees a GPU)."""

    device: torch.device
    cpu_count: int
    ranks: int = 1
    local_ranks: int = 1
    backend: str | None = None
    triton: bool = False

    @classmethod
    def current(cls, device: torch.device, distributed=None) -> "Machine":
        from .gpu_sgd import triton_runs_on

        triton = triton_runs_on(device)
        if distributed is None:
            return cls(device, os.cpu_count() or 1, triton=triton)
        return cls(device, os.cpu_count() or 1, distributed.world_size, distributed.local_world_size,
                   distributed.backend, triton)


@dataclass(frozen=True)
class TrainingSetup:
    """Every decision a run takes before it starts (see :func:`plan`)."""

    device: torch.device
    threads: int
    optimizer: str
    lr: float
    #: how ``lr`` was chosen (:func:`default_lr`), recorded in the run's config.json
    lr_rule: str
    output_bias: bool
    tied: bool
    #: which training step runs, one of :data:`STEPS`
    step: str
    #: torchrun: "gradients" or "average" (None alone)
    sync: str | None
    #: each rank's learning rate is this many times the run's (``average``: the linear scaling rule)
    rank_lr_factor: int
    batch_size: int
    #: the pair stream's order (sampling/pairs.py PAIR_ORDERS; :func:`pair_order` resolves "auto")
    pair_order: str


def resolve_device(name: str) -> torch.device:
    """The torch device ``--device`` names ("auto": CUDA when torch sees a GPU)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise W2VError("device cuda requested but torch sees no CUDA GPU (use --device cpu or auto)")
    return torch.device(name)


#: the heads the budget rule was measured for, and the fraction of :func:`budget_step` each takes (others, such as a
#: user's own head, keep their classic step). The hierarchical softmax takes half: on kjv-bible (2.4M words, 3 seeds,
#: a corpus the rule was not read from) its development pairs selected half the rule's step, whose reporting rho
#: was 0.020 above the full step's (which the other three heads selected there), and 2x collapsed (rho 0); on
#: gutenberg-mid (20M words) tuning selected 0.05 against the full rule's 0.071 (bench/lr-budget-check-kjv.json,
#: bench/tuned-comparison-2026-12-01)
BUDGET_RULE_HEADS = {"negative-sampling": 1.0, "nce": 1.0, "infonce": 1.0, "hierarchical-softmax": 0.5}


def plan(config: TrainConfig, head: Head, machine: Machine, budget_words: float | None = None) -> TrainingSetup:
    """The setup of a run with ``config`` and ``head`` on ``machine``, training on ``budget_words``
    corpus tokens in all (:func:`training_words`; None: not known); a one-line W2VError for combinations
    that cannot work. ``None`` settings take the head's defaults."""
    output_bias, tied = model_shape(config, head)
    optimizer = config.optimizer or head.default_optimizer
    threads = config.threads or max(1, machine.cpu_count // machine.local_ranks)
    fused = config.fused_cpu and fused_kernel_fits(head, machine.device, optimizer, tied)
    # (--deterministic: the row step, as the GPU kernel's programs add their updates in no fixed order)
    gpu_kernel = (config.fused_cpu and not config.deterministic and machine.triton
                  and gpu_kernel_fits(head, machine.device, optimizer, tied))
    sync = None
    if machine.ranks > 1:  # the fused kernel applies updates without gradients, and NCCL sums no sparse ones
        can_sum = machine.backend == "gloo" and not fused
        sync = config.sync if config.sync != "auto" else "gradients" if can_sum else "average"
        if sync == "gradients" and machine.backend != "gloo":
            raise W2VError(f"--sync gradients needs the gloo backend (CPU): {machine.backend} cannot "
                           "all-reduce the sparse row gradients; use --sync average")
        fused = fused and sync == "average"
        gpu_kernel = gpu_kernel and sync == "average"
    if fused:
        step = "fused"
    elif gpu_kernel:
        step = "triton"
    elif not head.request.full_vocabulary and sync != "gradients":
        step = "rows"  # (summed gradients need autograd's; the softmax reads the whole table)
    else:
        step = "autograd"
    # averaging W models divides each rank's update by W: each rank steps W times as far (the linear
    # scaling rule, as local SGD does), so the average moves as far as all their updates
    rank_lr_factor = machine.ranks if sync == "average" else 1
    # the budget rule was measured on the compiled kernels, which score every pair with fresh vectors; the row
    # step sums a batch's updates, and at the rule's larger steps lr x B leaves its stable range (SUMMED_STEP_LIMIT)
    lr, lr_rule = default_lr(config, head, optimizer, budget_words if step in ("fused", "triton") else None,
                             rank_lr_factor)
    if config.share_negatives == "window" and step not in ("fused", "triton"):
        raise W2VError(f"--share-negatives window is trained by the compiled kernels (the CPU's fused kernel, the "
                       f"GPU's Triton kernel), not by the {step} step this run takes")
    batch_size = config.batch_size or default_batch_size(head, step, machine.device)
    if not config.batch_size and sync == "average" and step == "rows":
        batch_size = min(batch_size, max(1, int(SUMMED_STEP_LIMIT / (lr * rank_lr_factor))))
    return TrainingSetup(machine.device, threads, optimizer, lr, lr_rule, output_bias, tied, step, sync,
                         rank_lr_factor, batch_size, pair_order(config, step))


def pair_order(config: TrainConfig, step: str) -> str:
    """``--pair-order``, "auto" resolved: word2vec's text order for CBOW on the fused kernel, whose sequential SGD
    finds neighbouring windows' rows in cache (gutenberg-mid, seeds 0/1: training 8.7/8.9 s -> 7.2/7.5 s, the
    same WS353/SimLex/MEN within 0.015), else the centre order: a batched step sums neighbouring, correlated examples
    (CBOW through the row step on gutenberg-small: MEN 0.20-0.21 -> 0.17 in text order), and skip-gram in text order
    scored lower on WS353 (the hierarchical softmax -0.016/-0.018 over seeds 0/1)."""
    if config.pair_order != "auto":
        return config.pair_order
    return "text" if config.model == "cbow" and step == "fused" else "centre"


def training_words(config: TrainConfig, corpus_tokens: int) -> float:
    """The training budget the step is chosen for: corpus tokens x epochs, or ``max_words`` when that is less."""
    words = float(corpus_tokens) * config.epochs
    return min(words, float(config.max_words)) if config.max_words else words


def default_lr(config: TrainConfig, head: Head, optimizer: str, budget_words: float | None,
               rank_lr_factor: int = 1) -> tuple[float, str]:
    """(the step, how it was chosen): ``--lr`` when given; else the head's classic step (word2vec's 0.025
    for SGD negative sampling), times :data:`CBOW_SGD_LR_FACTOR` for SGD CBOW; with ``--lr-defaults budget``
    (the default) and a known budget (``plan`` passes one for the compiled kernels' steps only), a skip-gram head
    trained by SGD as it is by default (no subwords: the rule was measured without them) takes max(classic step,
    its share, :data:`BUDGET_RULE_HEADS`, of :func:`budget_step` of the budget). Ranks that step
    ``rank_lr_factor`` x lr (--sync average) keep that per-pair step within the rule's largest, BUDGET_STEP:
    on gutenberg-small (5 epochs) 2 ranks at 2 x 0.16 reached MEN 0.19 where one process at 0.16 reached 0.46."""
    if config.lr is not None:
        return config.lr, "--lr"
    classic = head.default_lr[optimizer]
    if optimizer != "sgd":
        return classic, f"the {head.name} head's {optimizer} step"
    if config.model == "cbow":
        return classic * CBOW_SGD_LR_FACTOR, f"word2vec.c's CBOW rule: {CBOW_SGD_LR_FACTOR} x {classic:g}"
    measured = (head.name in BUDGET_RULE_HEADS and head.default_optimizer == "sgd"
                and config.subword_units() is None)
    if config.lr_defaults == "word2vec" or budget_words is None or not measured:
        return classic, f"the {head.name} head's classic step"
    step = min(BUDGET_RULE_HEADS[head.name] * budget_step(budget_words), BUDGET_STEP / rank_lr_factor)
    if step <= classic:
        return classic, f"budget rule: {budget_words:,.0f} training words -> the classic step {classic:g}"
    return step, f"budget rule: {budget_words:,.0f} training words -> {step:.3g}"


def budget_step(budget_words: float) -> float:
    """lr(B) = BUDGET_STEP x (BUDGET_SMALL_WORDS / max(B, BUDGET_SMALL_WORDS))^BUDGET_EXPONENT for B training words:
    0.2 up to 1.5M words, 0.124 at 5M, 0.071 at 20M, 0.046 at 60M, 0.025 at 275M."""
    return BUDGET_STEP * (BUDGET_SMALL_WORDS / max(budget_words, BUDGET_SMALL_WORDS)) ** BUDGET_EXPONENT


def default_batch_size(head: Head, step: str, device: torch.device) -> int:
    """Pairs per step when the user sets none: a unit of work for the fused kernel; the measured
    quality-preserving batch for the row step on a GPU; smaller for heads with in-batch candidates."""
    if step == "fused":
        return FUSED_BATCH_SIZE
    if step == "triton":
        return TRITON_BATCH_SIZE
    if head.default_batch_size:
        return head.default_batch_size
    if head.request.in_batch:
        return IN_BATCH_SIZE
    return GPU_ROWS_BATCH_SIZE if step == "rows" and device.type == "cuda" else AUTOGRAD_BATCH_SIZE


def fused_kernel_fits(head: Head, device: torch.device, optimizer: str, tied: bool) -> bool:
    """Whether the fused CPU kernel can train this head: SGD on the CPU, two tables, one row of
    candidates per pair (the true context and its own K noise words, or its path through a tree),
    and a compiled row loss."""
    return device.type == "cpu" and one_row_sgd(head, optimizer, tied) and head.has_fused_row_loss()


def gpu_kernel_fits(head: Head, device: torch.device, optimizer: str, tied: bool) -> bool:
    """Whether the Triton kernel (train/gpu_sgd.py) can train this head: what the fused CPU kernel needs,
    on a CUDA device, with the head's row loss described for it (``Head.gpu_row_loss``)."""
    return device.type == "cuda" and one_row_sgd(head, optimizer, tied) and head.has_gpu_row_loss()


def one_row_sgd(head: Head, optimizer: str, tied: bool) -> bool:
    """SGD, two tables, and one row of candidates per pair: the true context and its own K noise words, or
    its path through a tree."""
    request = head.request
    own_row = (request.negatives > 0 and not request.shared_negatives) or request.tree_paths
    return (optimizer == "sgd" and own_row and not request.in_batch and not request.full_vocabulary
            and not tied)


def model_shape(config: TrainConfig, head: Head) -> tuple[bool, bool]:
    """(output bias, tied tables) of the model ``config`` asks for, with the head's defaults where it says nothing."""
    output_bias = config.output_bias if config.output_bias is not None else head.wants_output_bias
    if output_bias and not head.takes_output_bias:
        raise W2VError(f"the {head.name} head measures distances between vectors; it takes no --output-bias")
    tied = (config.geometry or head.default_geometry) == "tied"
    if tied and head.request.full_vocabulary and config.subword_units() is not None:
        raise W2VError(f"the {head.name} head scores every word's context vector, and with --subwords and tied "
                       "tables each is a mean over its n-grams: use --geometry untied")
    if tied and not head.scores_words:
        raise W2VError(f"the {head.name} head keeps its own rows in the output table, not context vectors: it cannot "
                       "be tied to the word vectors (--geometry tied)")
    return output_bias, tied


def build_model(config: TrainConfig, words: list[str], head: Head, log_prior: torch.Tensor | None = None) -> SkipGram:
    """The model ``config`` and ``head`` describe for the vocabulary ``words`` (on the CPU; the caller moves it)."""
    output_bias, tied = model_shape(config, head)
    log_prior = log_prior if head.scores_words else None  # (a tree node's bias starts at 0)
    subwords = config.subword_units()
    rows = None if subwords is None else torch.from_numpy(subwords.input_rows(words))
    return SkipGram(len(words), config.dim, output_bias=output_bias, log_prior=log_prior, tied=tied,
                    output_init=head.output_init, subwords=rows, buckets=0 if subwords is None else subwords.buckets)


def dense_gradient_names(model: SkipGram, head: Head) -> set[str]:
    """The parameters whose gradients are dense: the full-vocabulary softmax reads the whole context
    table (and bias); every other gradient holds only the rows a batch used."""
    if not head.request.full_vocabulary:
        return set()
    prefixes = ("output.", "bias.") + (("input.",) if model.tied else ())
    return {name for name, _ in model.named_parameters() if name.startswith(prefixes)}


def build_row_update(setup: TrainingSetup, model: SkipGram) -> RowSGD | RowAdam:
    """The row step's update rule: plain SGD, or lazy Adam over the rows a step used."""
    return RowSGD() if setup.optimizer == "sgd" else RowAdam(model.parameters(), lr=setup.lr)


def touched_rows(setup: TrainingSetup, model: SkipGram) -> TouchedRows | None:
    """What the row step marks under ``--sync average``, so that an average reads only the rows the ranks changed."""
    return TouchedRows(model.parameters()) if setup.sync == "average" and setup.step == "rows" else None


def build_optimizers(setup: TrainingSetup, model: SkipGram, dense: set[str]) -> list[torch.optim.Optimizer]:
    """SGD takes sparse and dense gradients alike; Adam needs SparseAdam for the sparse ones."""
    if setup.optimizer == "sgd":
        return [torch.optim.SGD(model.parameters(), lr=setup.lr)]
    sparse = [p for n, p in model.named_parameters() if n not in dense]
    dense_parameters = [p for n, p in model.named_parameters() if n in dense]
    optimizers: list[torch.optim.Optimizer] = [torch.optim.SparseAdam(sparse, lr=setup.lr)]
    if dense_parameters:
        optimizers.append(torch.optim.Adam(dense_parameters, lr=setup.lr))
    return optimizers
