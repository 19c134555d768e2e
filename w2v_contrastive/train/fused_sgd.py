"""word2vec's CPU inner loop for any head that can score one pair's candidate row in compiled code.

For heads that score each pair (w, c) against its own row of candidates x_0 = c, x_1..x_K ~ Q
(``ScoreRequest(negatives=K)``), or against the inner nodes x_1..x_L of c's path through a tree
(``ScoreRequest(tree_paths=True)``, the hierarchical softmax), and provide
:meth:`~w2v_contrastive.heads.Head.fused_row_loss`, one numba kernel does, for each example of the
batch, what word2vec.c and gensim do:

    h = the mean of the input's rows u_r: the word's (skip-gram) or the window's words' (CBOW), each word
        with its n-grams' rows when it has subwords
    x_1..x_K ~ Q                              (Walker's alias tables, drawn in the kernel; or c's path)
    s_k = h . v_{x_k} + b_{x_k}              (read from the tables, nothing gathered)
    loss, g = row_loss(s, log Q(x), hit)      (the head's math, its options read at run time: g_k = dL/ds_k)
    u_r -= lr sum_k g_k v_{x_k} for each input row r;   v_{x_k} -= lr g_k h;   b_{x_k} -= lr g_k

in place (every update from the rows as they were when the pair started: a row that is two candidates
of one pair takes both updates), parallel over pairs with lock-free ("Hogwild", Recht et al. 2011)
updates as in word2vec.c: the batch is cut into one contiguous slice of whole spans per thread, and
each slice is one call of the compiled kernel, which releases the GIL (``nogil``), from the trainer's
thread or one of a pool's (plain threads, not numba's parallel runtime: a kernel without ``prange``
compiles in about half the time, and the trainer decides which threads run). Every pair is scored
with the current vectors, so a batch is only a unit of work: its size does not change the optimisation
the way a summed-loss autograd step over stale scores does, and it can be large enough to amortise the
per-batch cost of the pair stream and noise sampling. The batch's examples come in a random order (but for CBOW,
which reads the text in order by default: sampling/pairs.py), so their rows are rarely in cache: the kernel asks
for the input and target rows of the example :data:`PREFETCH_AHEAD` ahead while it trains the current one, and for
its noise words' rows, drawn then (on captured gutenberg-mid batches: negative-sampling 468 -> 435 ns/pair on one
thread, 402 -> 352 on two; CBOW 654 -> 637 and 550 -> 500), and the model's tables lie on 2 MB pages
(:mod:`~w2v_contrastive.huge_pages`).
With subwords a skip-gram input word has many rows (its own and its n-grams', 17 per token on gutenberg-mid at 3-6
characters) and the stream keeps a centre token's pairs together, so a *run* of examples with one input word reads
its rows once, at the run's start, and writes them once, at its end, each row taking the run's summed step; between,
h follows its rows exactly, h = h_start - c sum h_step (c = sum_r m_r^2 / sum_r m_r, m_r the times row r occurs
among the word's rows: :func:`mean_shift`), so on one thread the tables end as with a write per example, up to float
rounding (on captured gutenberg-mid batches, one thread: 1,167-1,255 -> 967-975 ns/pair with subwords 3-6).
With several threads the order of concurrent updates to one row is not fixed, so training is
reproducible bit for bit only with one slice of pairs (``serial=True``, the deterministic mode).

**Each thread's own context rows** (Hogwild++, Zhang, Hsieh & Akella 2016): a row that two cores write in turn
passes between their caches at each turn, and what that costs depends on where the machine puts the cores (on one
virtual machine, over minutes: negative sampling with subwords 3-6, two threads, 375-400 ns/pair, then 540-580).
So with several slices each slice trains its own replica of the context table and output bias (when the replicas
take at most :data:`REPLICA_BYTES`; else, for the hierarchical softmax without a bias, of its :data:`TOP_NODES` inner
nodes nearest the root, which lie on nearly every pair's path), copied from the table at the first step after a merge;
once the slices have trained :data:`MERGE_PAIRS_PER_ROW` pairs per replicated row since then, or when
:meth:`FusedSkipGramSGD.flush` is called, the table takes every slice's change, v <- v + sum_t (v_t - v). The
:data:`HOT_ROWS` rows trained most often (the most frequent words', first; the inner nodes nearest the root, last)
are merged and copied anew at every step: a row's replica sees none of the other slices' updates until the merge, and
these rows take a large share of all updates (a 512-word prefix of gutenberg's vocabularies holds 38-49% of the noise
distribution's mass). The input rows stay shared: the pairs of a batch come in a random order, so two slices seldom
write one input row in turn (with subwords the n-grams' rows do repeat; replicating the input table instead saved
none of the cost).

The noise words come from :class:`~w2v_contrastive.sampling.noise.NoiseDistribution`'s alias
tables with the uniform draws made by a counter-based generator: draw j of a step is
splitmix64(step seed + j) (Steele, Lea & Flood 2014), the step seed taken from the trainer's torch
generator. Each (pair, k) thus has its own fixed draw whichever thread handles it, at a few integer
operations instead of five tensor ops per batch.

**Window-shared negatives** (``share_window``; pWord2Vec, Ji et al. 2016): a *window* is a run of
consecutive examples with the same input word (skip-gram: the pair stream keeps a centre token's pairs
together) that does not cross a multiple of ``span`` (:data:`WINDOW_SPAN`) examples; its examples share the K noise
words drawn for its first example b (draws b K .. b K + K - 1), and each still scores and updates them
with the current rows. Without sharing every example is its own window (draws b K + k). The GPU kernel
(train/hogwild_kernel.py) runs the same algorithm, one program per span of WINDOW_SPAN examples, so the
two kernels give the same tables for the same examples, seed, span and order.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from .. import huge_pages
from ..heads.base import Head
from ..model import SkipGram
from ..sampling.noise import NoiseDistribution
from .kernel_cache import cache_on_disk

#: the kernel asks for the rows of the example this many ahead of the one it trains (on captured gutenberg-mid
#: batches, one thread: 2 ahead saved 4% of negative-sampling's time, 5% of the hierarchical softmax's, 9% of CBOW's)
PREFETCH_AHEAD = 2
#: each slice's replicas of the context table and bias may take this many bytes in all; past it only the
#: hierarchical softmax's top nodes are replicated, without a bias (their rows start every pair's path; shared, on
#: captured gutenberg-mid batches, two threads: 900-960 ns/pair against 345-372 with copies when the host passed
#: lines between the cores slowly)
REPLICA_BYTES = 256 << 20
#: the hierarchical softmax's inner nodes nearest the root (the last rows of its table: the root is made last)
TOP_NODES = 256
#: the replicas are merged into the table once the slices have trained this many pairs per replicated row since
#: they were copied (on captured gutenberg-mid batches with subwords 3-6, two threads, 31k rows: a merge every 4
#: steps of 16,384 pairs cost 464-488 ns/pair, every 16 431-447, every 64 421-463, shared rows 397-557)
MERGE_PAIRS_PER_ROW = 8
#: the most often trained of the replicated rows, merged at every step (gutenberg-small, min count 2, 15k words, 10
#: epochs, two threads, MEN: replicas merged every ~8 steps 0.448-0.466 over 8 runs, with these rows merged at every
#: step 0.477-0.487 over 8, rows shared 0.469-0.484 over 6, one thread 0.469; 1,024 rows 0.477-0.484, 256 rows every
#: second step 0.464-0.474; the hierarchical softmax 0.444-0.463 / 0.460-0.469 / shared 0.463-0.468. On captured
#: gutenberg-mid batches, negative sampling, two threads, 9 repeats: 242 ns/pair against 240 without)
HOT_ROWS = 512
#: examples per span: windows of shared negatives end at multiples of it (and each program of the GPU kernel
#: trains one span), so a window's negatives do not depend on how the batch is cut between threads or programs
WINDOW_SPAN = 64
#: the kernel draws an example's noise words when it asks for their rows, PREFETCH_AHEAD examples before it trains
#: it, and keeps them in a ring of this many examples' draws
DRAWN_AHEAD = PREFETCH_AHEAD + 1
#: the kernel's mean_shift argument for a step without runs of one input word's examples (it reads none)
NO_SHIFT = np.zeros(0, dtype=np.float32)


def step_seed(generator: torch.Generator | None) -> torch.Tensor:
    """int64[1] on the generator's device: the seed of one step's noise draws (no host sync)."""
    return torch.randint(0, 2**62, (1,), generator=generator, device=generator.device if generator else "cpu")


@functools.lru_cache(maxsize=None)
def compiled_noise_draw():
    """``draw(accept, alias, seed, j) -> word``: draw j ~ Q of the step with ``seed`` (numba)."""
    from numba import njit, uint64

    @njit(inline="always")
    def draw(accept, alias, seed, j):
        z = uint64(seed) + uint64(j) + uint64(0x9E3779B97F4A7C15)  # splitmix64(seed + j)
        z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
        bits = z ^ (z >> uint64(31))
        column = np.int64(((bits >> uint64(32)) * uint64(accept.shape[0])) >> uint64(32))  # high 32 bits
        coin = np.float32(bits & uint64(0xFFFFFFFF)) * np.float32(2.0 ** -32)  # low 32 bits
        return column if coin < accept[column] else alias[column]

    return draw


@functools.lru_cache(maxsize=None)
def compiled_prefetch_row():
    """``prefetch_row(table, row)``: ask the CPU to bring a row of a 2-d table into its caches (LLVM's
    ``prefetch`` hint, for a write, on every 64-byte line of the row) and go on without waiting (numba)."""
    from llvmlite import ir
    from numba import njit, types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def prefetch(typing_context, table, row, column):
        def codegen(context, builder, signature, arguments):
            array = context.make_array(signature.args[0])(context, builder, arguments[0])
            address = cgutils.get_item_pointer(context, builder, signature.args[0], array, arguments[1:],
                                               wraparound=False)
            byte_pointer = ir.IntType(8).as_pointer()
            int32 = ir.IntType(32)
            hint = builder.module.declare_intrinsic("llvm.prefetch", [byte_pointer], ir.FunctionType(
                ir.VoidType(), [byte_pointer, int32, int32, int32]))  # (address, write, locality, data cache)
            builder.call(hint, [builder.bitcast(address, byte_pointer), ir.Constant(int32, 1), ir.Constant(int32, 3),
                                ir.Constant(int32, 1)])
            return context.get_dummy_value()

        return types.void(table, types.intp, types.intp), codegen

    @njit(inline="always")
    def prefetch_row(table, row):
        for column in range(0, table.shape[1], 16):  # (16 float32s: a cache line)
            prefetch(table, row, column)
        prefetch(table, row, table.shape[1] - 1)  # (a row need not start on a line)

    return prefetch_row


@functools.lru_cache(maxsize=None)
def _compile_step(row_loss):
    """The kernel around one head's compiled ``row_loss``, one per row loss and process whatever the head's
    options (``row_settings`` is an argument): trains slice ``part`` of ``n_slices`` of the batch (whole spans
    of the examples) on the slice's ``context_table`` and ``bias``, whose rows from ``own_start`` on it reads and
    writes in ``own_rows`` instead, and returns its summed loss."""
    from numba import njit

    draw = compiled_noise_draw()
    prefetch_row = compiled_prefetch_row()

    @njit(inline="always")
    def continues_run(inputs, e, start, end):
        """Whether example e of slice [start, end) has the input word of example e - 1 (skip-gram: one word each)."""
        return start < e < end and inputs[e, 0] == inputs[e - 1, 0] >= 0

    @njit(inline="always")
    def starts_window(inputs, e, share_window, span):
        """Whether example e draws its own noise words (or shares those of its window's first example)."""
        return not share_window or e % span == 0 or inputs[e, 0] != inputs[e - 1, 0]

    @njit(inline="always")
    def draw_ahead(drawn, e, context_table, accept, alias, seed, negatives):
        """Draw example e's noise words into ``drawn[e % DRAWN_AHEAD]`` and ask for their rows."""
        for k in range(1, negatives + 1):
            x = draw(accept, alias, seed, e * negatives + k - 1)
            drawn[e % DRAWN_AHEAD, k] = x
            prefetch_row(context_table, x)

    @njit(fastmath=True, nogil=True, error_model="numpy")  # (numpy's: no zero-divisor checks in the loops)
    def fused_step(word_table, input_rows, mean_shift, log_q_table, accept, alias, tree_nodes, tree_codes,
                   tree_lengths, row_settings, inputs, targets, negatives, share_window, span, seed, lr, part, n_slices,
                   context_table, bias, own_start, own_rows):
        n_examples, bag = inputs.shape
        n_spans = (n_examples + span - 1) // span
        dim = context_table.shape[1]
        subwords = input_rows.shape[0] > 0  # (without subwords a word's one row is its id)
        n_rows = input_rows.shape[1] if subwords else 1
        runs = subwords and bag == 1  # (a run of examples with one input word reads and writes its rows once)
        width = max(negatives + 1, tree_nodes.shape[1])
        candidates = np.empty(width, dtype=np.int64)
        noise = np.empty(width, dtype=np.int64)  # the current window's noise words
        drawn = np.empty((DRAWN_AHEAD, width), dtype=np.int64)  # the noise words of the examples up to PREFETCH_AHEAD
        scores = np.empty(width, dtype=np.float32)
        grad = np.empty(width, dtype=np.float32)
        log_q = np.zeros(width, dtype=np.float32)
        hit = np.zeros(width, dtype=np.bool_)
        h = np.empty(dim, dtype=np.float32)
        h_step = np.empty(dim, dtype=np.float32)
        run_start = np.empty(dim, dtype=np.float32)  # h at the start of the current run
        total = 0.0
        start, end = part * n_spans // n_slices * span, min((part + 1) * n_spans // n_slices * span, n_examples)
        for e in range(start, min(start + PREFETCH_AHEAD, end)):
            if starts_window(inputs, e, share_window, span):
                draw_ahead(drawn, e, context_table, accept, alias, seed, negatives)
        for b in range(start, end):
            ahead = b + PREFETCH_AHEAD  # its rows that are least likely to be in cache: its input words' and target's
            for r in range(bag if ahead < end and not (runs and continues_run(inputs, ahead, start, end)) else 0):
                word = inputs[ahead, r]
                for j in range(n_rows if word >= 0 else 0):
                    row = input_rows[word, j] if subwords else word
                    if row < 0:
                        break
                    prefetch_row(word_table, row)
            if ahead < end and not tree_lengths.shape[0]:
                prefetch_row(context_table, targets[ahead])
                if starts_window(inputs, ahead, share_window, span):
                    draw_ahead(drawn, ahead, context_table, accept, alias, seed, negatives)
            if starts_window(inputs, b, share_window, span):
                for k in range(1, negatives + 1):
                    noise[k] = drawn[b % DRAWN_AHEAD, k]
            if runs and continues_run(inputs, b, start, end):  # the run goes on, h_step sums its steps
                shift = mean_shift[inputs[b, 0]]  # h: the mean of the word's rows after them, read from none
                for d in range(dim):
                    h[d] = run_start[d] - shift * h_step[d]
            else:
                present = 0  # h = the mean of the input words' rows (each word's own, then its n-grams')
                h[:] = 0.0
                for r in range(bag):
                    word = inputs[b, r]  # (-1: absent)
                    for j in range(n_rows if word >= 0 else 0):
                        row = input_rows[word, j] if subwords else word
                        if row < 0:
                            break
                        present += 1
                        for d in range(dim):
                            h[d] += word_table[row, d]
                if present == 0:
                    continue
                if present > 1:
                    h *= np.float32(1.0 / present)
                if runs:
                    run_start[:] = h
                h_step[:] = 0.0
            target = targets[b]
            if tree_lengths.shape[0]:  # the target's path through the tree, and its branches
                n_candidates = tree_lengths[target]
                for k in range(n_candidates):
                    candidates[k] = tree_nodes[target, k]
                    hit[k] = tree_codes[target, k]
            else:  # the target, then its noise words
                n_candidates = negatives + 1
                candidates[0] = target
                for k in range(1, n_candidates):
                    candidates[k] = noise[k]
                    hit[k] = candidates[k] == target
                for k in range(n_candidates):
                    log_q[k] = log_q_table[candidates[k]]
            for k in range(n_candidates):  # (rows indexed in place, not through per-row views)
                x = candidates[k]
                table, row = (own_rows, x - own_start) if x >= own_start else (context_table, x)
                s = np.float32(0.0)
                for d in range(dim):
                    s += h[d] * table[row, d]
                if bias.shape[0]:
                    s += bias[x]
                scores[k] = s
            total += row_loss(scores[:n_candidates], log_q[:n_candidates], hit[:n_candidates],
                              grad[:n_candidates], row_settings)
            for k in range(n_candidates):  # first from the rows as they are, then update them
                g, x = lr * grad[k], candidates[k]
                table, row = (own_rows, x - own_start) if x >= own_start else (context_table, x)
                for d in range(dim):
                    h_step[d] += g * table[row, d]
            for k in range(n_candidates):
                g, x = lr * grad[k], candidates[k]
                if g == 0.0:
                    continue
                table, row = (own_rows, x - own_start) if x >= own_start else (context_table, x)
                for d in range(dim):
                    table[row, d] -= g * h[d]
                if bias.shape[0]:
                    bias[x] -= g
            if runs and continues_run(inputs, b + 1, start, end):
                continue  # (the run goes on: its rows take its summed step when it ends)
            for r in range(bag):  # every input row takes the whole step (word2vec's CBOW update)
                word = inputs[b, r]  # (-1: absent)
                for j in range(n_rows if word >= 0 else 0):
                    row = input_rows[word, j] if subwords else word
                    if row < 0:
                        break
                    for d in range(dim):
                        word_table[row, d] -= h_step[d]
        return total

    return cache_on_disk(fused_step)


def mean_shift(input_rows: np.ndarray) -> np.ndarray:
    """float32[V]: for each word with input rows ``input_rows[w]`` (-1 padded), how far the mean of its rows moves
    when each of its rows takes a step of 1, sum_r m_r^2 / sum_r m_r (m_r: how often row r occurs among the
    word's rows, so 1 unless an n-gram occurs twice in the word, as "ana" in "banana")."""
    words, slots = np.nonzero(input_rows >= 0)
    rows = input_rows[words, slots]
    width = int(rows.max(initial=0)) + 1
    pairs, repeats = np.unique(words * width + rows, return_counts=True)
    squares = np.bincount(pairs // width, weights=repeats.astype(np.float64) ** 2, minlength=input_rows.shape[0])
    present = np.maximum((input_rows >= 0).sum(axis=1), 1)
    return (squares / present).astype(np.float32)


@functools.lru_cache(maxsize=None)
def _helper_threads(count: int) -> ThreadPoolExecutor:
    """The threads that run a step's other slices beside the caller's (one pool per size and process)."""
    return ThreadPoolExecutor(max_workers=count, thread_name_prefix="w2v-fused")


class FusedSkipGramSGD:
    """Trains a CPU :class:`SkipGram` in place, one batch of (input, target) examples per :meth:`step`;
    ``replica_bytes``: the most the slices' replicas of the context table and bias may take (0: none but the
    hierarchical softmax's top nodes)."""

    def __init__(self, model: SkipGram, head: Head, noise: NoiseDistribution, threads: int, serial: bool = False,
                 share_window: bool = False, span: int = WINDOW_SPAN, replica_bytes: int = REPLICA_BYTES):
        self.kernel = _compile_step(head.fused_row_loss())
        self.row_settings = np.array(head.fused_row_settings(), dtype=np.float64)
        self.slices = 1 if serial else max(1, threads)
        #: the slices past the first run on these threads while the caller's thread runs the first
        self.helpers = _helper_threads(self.slices - 1) if self.slices > 1 else None
        self.negatives = head.request.negatives
        self.share_window, self.span = share_window, span
        self.noise = noise
        self.word_table = model.input.weight.detach().numpy()
        #: each word's input rows (its own, then its n-grams'); empty without subwords (a word's row is its id)
        self.input_rows = (model.subwords.numpy() if model.subwords is not None
                           else np.zeros((0, 0), dtype=np.int64))
        self.context_table = model.output.weight.detach().numpy()
        self.bias = (model.bias.weight.detach().numpy().reshape(-1) if model.bias is not None
                     else np.zeros(0, dtype=np.float32))
        self.log_q = noise.log_probs.numpy()
        self.accept = noise.accept.numpy()
        self.alias = noise.alias.numpy()
        tree = head.request.tree
        self.tree = ((tree.nodes.numpy(), tree.codes.numpy(), tree.lengths.numpy()) if head.request.tree_paths else
                     (np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.bool_), np.zeros(0, dtype=np.int64)))
        n_rows = self.context_table.shape[0]
        replicate = self.slices > 1 and not model.tied  # (tied tables are one table, read as input rows too)
        whole = self.slices * (self.context_table.nbytes + self.bias.nbytes) <= replica_bytes
        #: the context rows from here on are each slice's own: its replica of them, merged into the table now and then
        #: (the top nodes' bias, when they alone are replicated, would stay shared: so no top nodes with a bias)
        self.own_start = (0 if replicate and whole else max(0, n_rows - TOP_NODES) if replicate and
                          head.request.tree_paths and not self.bias.shape[0] else n_rows)
        own_shape = (n_rows - self.own_start, self.context_table.shape[1])
        self.replicas = ([huge_pages.empty(own_shape).numpy() for _ in range(self.slices)]
                         if self.own_start < n_rows else [])
        self.bias_replicas = [np.empty_like(self.bias) for _ in self.replicas] if self.own_start == 0 else []
        self.merge_after = MERGE_PAIRS_PER_ROW * own_shape[0]
        hot = min(HOT_ROWS, own_shape[0])
        #: (first, end) of the own rows merged at every step: the tree's last (nearest the root), else the first
        self.hot_rows = (own_shape[0] - hot, own_shape[0]) if head.request.tree_paths else (0, hot)
        #: pairs trained on the replicas since they were copied from the table; None: not copied since the last merge
        self.unmerged: int | None = None
        empty = torch.zeros(0, dtype=torch.int64)
        self.step(empty, empty, 0.0, torch.Generator())  # compile now (a few seconds), not in the timed training loop

    @functools.cached_property
    def run_shift(self) -> np.ndarray:
        """float32[V]: how far each word's mean input moves per unit step of its rows (:func:`mean_shift`), computed
        at the first skip-gram step that needs it (CBOW's bags form no runs; a 1M-word vocabulary takes seconds)."""
        return mean_shift(self.input_rows)

    def step(self, inputs: torch.Tensor, targets: torch.Tensor, lr: float,
             generator: torch.Generator | None = None) -> float:
        """Score each example's candidates (its target and K noise words, or the target's path), update;
        return the summed loss. inputs: int64[B] words, or int64[B, R] bags (-1 padded); targets: int64[B]."""
        seed = np.uint64(step_seed(generator).item())
        bags = (inputs if inputs.dim() > 1 else inputs.unsqueeze(1)).numpy()
        runs = inputs.dim() == 1 and inputs.shape[0] and self.input_rows.shape[0]  # (as the kernel's runs)
        shift = self.run_shift if runs else NO_SHIFT
        arguments = (self.word_table, self.input_rows, shift, self.log_q, self.accept, self.alias, *self.tree,
                     self.row_settings, bags, targets.numpy(), self.negatives, self.share_window, self.span, seed,
                     np.float32(lr))
        if self.replicas and self.unmerged is None and targets.shape[0]:
            self._by_rows(self._copy_to_replicas)
            self.unmerged = 0
        others = [self.helpers.submit(self.kernel, *arguments, part, self.slices, *self._context_tables(part))
                  for part in range(1, self.slices)]
        total = self.kernel(*arguments, 0, self.slices, *self._context_tables(0))
        total += sum(other.result() for other in others)
        if self.unmerged is not None:
            self.unmerged += targets.shape[0]
            if self.unmerged >= self.merge_after:
                self.flush()
            elif targets.shape[0]:
                self._merge_replicas(*self.hot_rows)
                self._copy_to_replicas(*self.hot_rows)
        return total

    def flush(self) -> None:
        """Give the table every slice's change to its replica of the context rows since they were copied,
        v <- v + sum_t (v_t - v) (the next step copies them anew): before anything reads or writes the model."""
        if self.unmerged:
            self._by_rows(self._merge_replicas)
        self.unmerged = None

    def _context_tables(self, part: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        """Slice ``part``'s context table, output bias, first own row and own rows, as its kernel call takes them: a
        replica of the whole table (and of the bias) stands in for the table (so the kernel's prefetches read it)."""
        n_rows, no_rows = self.context_table.shape[0], self.context_table[:0]
        if not self.replicas:
            return self.context_table, self.bias, n_rows, no_rows
        if self.own_start == 0:
            return self.replicas[part], self.bias_replicas[part], n_rows, no_rows
        return self.context_table, self.bias, self.own_start, self.replicas[part]

    def _by_rows(self, work) -> None:
        """``work(start, end)`` over the own rows (counted from ``own_start``), cut among the slices' threads when
        they take a MB or more."""
        n_own = self.context_table.shape[0] - self.own_start
        parts = self.slices if self.replicas[0].nbytes >= 1 << 20 else 1
        cuts = [n_own * part // parts for part in range(parts + 1)]
        others = [self.helpers.submit(work, start, end) for start, end in zip(cuts[1:-1], cuts[2:])]
        work(cuts[0], cuts[1])
        for other in others:
            other.result()

    def _replicated(self) -> tuple[tuple[np.ndarray, list[np.ndarray]], ...]:
        """(the shared rows from ``own_start`` on, the slices' replicas of them): the context table's; the bias's,
        replicated with the whole table."""
        return (self.context_table[self.own_start:], self.replicas), (self.bias[self.own_start:], self.bias_replicas)

    def _copy_to_replicas(self, start: int, end: int) -> None:
        for shared, replicas in self._replicated():
            for replica in replicas:
                replica[start:end] = shared[start:end]

    def _merge_replicas(self, start: int, end: int) -> None:
        for shared, replicas in self._replicated():
            rows = shared[start:end]
            rows *= np.float32(1 - len(replicas))
            for replica in replicas:
                rows += replica[start:end]
