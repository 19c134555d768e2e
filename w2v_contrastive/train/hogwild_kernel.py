"""word2vec's inner loop as one Triton kernel: the GPU twin of the fused CPU kernel (train/fused_sgd.py).

One program trains one span of ``SPAN`` consecutive examples of a batch, one after another, updating
the tables in place while other programs train theirs (Hogwild, Recht et al. 2011, as word2vec.c on
CPU threads): staleness is the spans in flight on the device, not the batch. For each example, with
its input rows r (skip-gram: the word's row; CBOW: the window's words'; each word with its n-grams'
rows when it has subwords) and candidates x_0 = c, x_1..x_K ~ Q (or the inner nodes of c's path):

    h = mean_r u_r;   s_k = h . v_{x_k} + b_{x_k};   g_k = lr dL/ds_k   (the head's row loss)
    u_r -= sum_k g_k v_{x_k}  for every input row r;   v_{x_k} -= g_k h;   b_{x_k} -= g_k

every update computed from the rows as they were when the example started (a row that is two
candidates of one example takes both updates). The noise words are drawn in the kernel from Q's alias
tables with a counter-based generator: draw j of a launch is splitmix64(seed + j), the same function as
the CPU kernel's, so both kernels draw the same words for the same seed.

**Window-shared negatives** (``SHARE_WINDOW``; pWord2Vec, Ji et al. 2016): a *window* is a run of
consecutive examples with the same input word (the pair stream keeps a centre token's pairs together)
inside one span; its examples share the K noise words drawn for its first example. Their rows (and
biases) stay in registers for the whole window, each example updating them there, and go back to the
tables once, when the window ends, as the delta added to what the tables then hold (``atomic_add``):
per example only the target's row and the input's rows travel. Register copies stay exact: a
noise word drawn twice, or equal to a later example's target, is one row, so every copy takes the
updates of all copies of its word, and a target that is a resident noise word is read and updated
there instead of in the table. Without sharing, every example is a window of its own.

Run on the CPU by Triton's interpreter (programs one after another), a launch gives the tables a
sequential loop over the same examples gives (tests/test_triton_kernel.py); on a GPU the programs
overlap and every update is an atomic add, so none is lost, only read stale by the programs in flight.

Shapes: tables float32 [rows, dim] (contiguous); ``input_rows`` int64 [V, n_rows] (-1 padded);
``inputs`` int64 [B, BAG] (-1 absent); ``targets`` int64 [B]; ``tree_nodes`` int64 [V, depth],
``tree_codes`` bool [V, depth], ``tree_lengths`` int64 [V]; ``seed`` int64 [1]; ``lr`` float32 [1];
``losses`` float32 [programs]: each program's summed loss.
"""

import triton
import triton.language as tl


# Reductions through tl.reduce with triton's own combine functions, not tl.sum / tl.max / tl.min: those are
# jit functions built when triton is imported, so only a process started with TRITON_INTERPRET=1 could run
# them in the interpreter, while the interpreter runs these combine functions as numpy reductions.
@triton.jit
def total_of(x, axis: tl.constexpr):
    return tl.reduce(x, axis, tl.standard._sum_combine)


@triton.jit
def largest(x, axis: tl.constexpr):
    return tl.reduce(x, axis, tl.standard._elementwise_max)


@triton.jit
def smallest(x, axis: tl.constexpr):
    return tl.reduce(x, axis, tl.standard._elementwise_min)


@triton.jit
def noise_word(accept, alias, vocab, seed, j):
    """Word j ~ Q of the launch with ``seed`` (uint64): splitmix64(seed + j) (Steele, Lea & Flood 2014),
    its high 32 bits pick an alias column, its low 32 bits the coin (fused_sgd.compiled_noise_draw)."""
    z = seed + j.to(tl.uint64) + 0x9E3779B97F4A7C15
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    bits = z ^ (z >> 31)
    column = (((bits >> 32) * vocab.to(tl.uint64)) >> 32).to(tl.int64)
    coin = (bits & 0xFFFFFFFF).to(tl.float32) * 2.3283064365386963e-10  # 2^-32
    return tl.where(coin < tl.load(accept + column), column, tl.load(alias + column))


@triton.jit
def input_vector(word_table, input_rows, inputs, example, dim, n_rows, d,
                 BAG: tl.constexpr, SUBWORDS: tl.constexpr, BLOCK_D: tl.constexpr):
    """(h, present): the mean of the example's input rows, float32[BLOCK_D], and how many there are."""
    h = tl.full((BLOCK_D,), 0.0, tl.float32)
    present = 0
    for r in tl.static_range(BAG):
        word = tl.load(inputs + example * BAG + r)  # (-1: absent)
        if SUBWORDS:
            for j in range(n_rows):
                row = tl.load(input_rows + word * n_rows + j, mask=word >= 0, other=-1)
                h += tl.load(word_table + row * dim + d, mask=tl.where(row >= 0, d < dim, False), other=0.0)
                present += (row >= 0).to(tl.int32)
        else:
            h += tl.load(word_table + word * dim + d, mask=tl.where(word >= 0, d < dim, False), other=0.0)
            present += (word >= 0).to(tl.int32)
    if present > 1:
        h = h * (1.0 / present.to(tl.float32))
    return h, present


@triton.jit
def step_inputs(word_table, input_rows, inputs, example, dim, n_rows, d, h_step,
                BAG: tl.constexpr, SUBWORDS: tl.constexpr):
    """u_r -= h_step for every input row r of the example (a row there twice takes it twice)."""
    for r in tl.static_range(BAG):
        word = tl.load(inputs + example * BAG + r)
        if SUBWORDS:
            for j in range(n_rows):
                row = tl.load(input_rows + word * n_rows + j, mask=word >= 0, other=-1)
                tl.atomic_add(word_table + row * dim + d, -h_step, mask=tl.where(row >= 0, d < dim, False),
                              sem="relaxed")
        else:
            tl.atomic_add(word_table + word * dim + d, -h_step, mask=tl.where(word >= 0, d < dim, False),
                          sem="relaxed")


@triton.jit
def row_loss(s, log_q, hit, valid, c, log_k, temperature,
             CATEGORICAL: tl.constexpr, SUBTRACT_LOG_Q: tl.constexpr, TREE: tl.constexpr):
    """(L, dL/ds) of one candidate row s (float32[BLOCK_C], slots where ``valid``), the heads' row losses:

    logistic (negative-sampling, nce, the hierarchical softmax): logit_k = s_k (- log k - log Q(x_k) for nce),
        label 1 for the target (a tree: for branch 0), L = sum_k softplus(-z_k), z_k = +-logit_k;
    categorical (infonce): f_k = s_k / tau (- log Q(x_k)), hits left out, L = log sum_k exp f_k - f_0."""
    if CATEGORICAL:
        f = s / temperature
        if SUBTRACT_LOG_Q:
            f -= log_q
        f = tl.where(valid & (hit == 0), f, float("-inf"))
        top = largest(f, 0)
        p = tl.exp(f - top)
        norm = total_of(p, 0)
        grad = tl.where(valid, (p / norm - (c == 0).to(tl.float32)) / temperature, 0.0)
        loss = top + tl.log(norm) - total_of(tl.where(c == 0, f, 0.0), 0)
    else:
        logit = s
        if SUBTRACT_LOG_Q:
            logit -= log_k + log_q
        if TREE:
            label = hit == 0
        else:
            label = c == 0
        z = tl.where(label, logit, -logit)  # the loss term is softplus(-z) = -log sigma(z)
        e = tl.exp(-tl.abs(z))
        loss = total_of(tl.where(valid, tl.maximum(-z, 0.0) + tl.log(1.0 + e), 0.0), 0)
        sigma_minus_z = tl.where(z >= 0, e / (1.0 + e), 1.0 / (1.0 + e))
        grad = tl.where(valid, tl.where(label, -sigma_minus_z, sigma_minus_z), 0.0)
    return loss, grad


@triton.jit
def train_paths(word_table, input_rows, context_table, bias, tree_nodes, tree_codes, tree_lengths, inputs, targets,
                start, stop, lr, dim, n_rows, depth, log_k, temperature, d, c,
                BAG: tl.constexpr, SUBWORDS: tl.constexpr, BIAS: tl.constexpr, BLOCK_D: tl.constexpr,
                BLOCK_C: tl.constexpr):
    """Examples [start, stop) against their targets' paths, BLOCK_C nodes at a time (each node's loss term and
    gradient stand alone; a path's nodes are distinct); returns their summed loss."""
    span_loss = 0.0
    for example in range(start, stop):
        target = tl.load(targets + example)
        h, present = input_vector(word_table, input_rows, inputs, example, dim, n_rows, d, BAG, SUBWORDS, BLOCK_D)
        length = tl.where(present > 0, tl.load(tree_lengths + target), 0)
        h_step = tl.full((BLOCK_D,), 0.0, tl.float32)
        for first in range(0, length, BLOCK_C):
            on_path = first + c < length
            nodes = tl.load(tree_nodes + target * depth + first + c, mask=on_path, other=0)
            branch = tl.load(tree_codes + target * depth + first + c, mask=on_path, other=0).to(tl.int32)
            tile = nodes[:, None] * dim + d[None, :]
            cells = on_path[:, None] & (d < dim)[None, :]
            rows = tl.load(context_table + tile, mask=cells, other=0.0)
            s = total_of(rows * h[None, :], 1)
            if BIAS:
                s += tl.load(bias + nodes, mask=on_path, other=0.0)
            loss, grad = row_loss(s, tl.full((BLOCK_C,), 0.0, tl.float32), branch, on_path, c, log_k, temperature,
                                  False, False, True)
            g = lr * grad
            h_step += total_of(g[:, None] * rows, 0)
            tl.atomic_add(context_table + tile, -g[:, None] * h[None, :], mask=cells, sem="relaxed")
            if BIAS:
                tl.atomic_add(bias + nodes, -g, mask=on_path, sem="relaxed")
            span_loss += loss
        step_inputs(word_table, input_rows, inputs, example, dim, n_rows, d, h_step, BAG, SUBWORDS)
    return span_loss


@triton.jit
def train_window(word_table, input_rows, context_table, bias, log_q_table, accept, alias, inputs, targets,
                 window, window_stop, seed, lr, vocab, dim, n_rows, negatives, log_k, temperature, d, c,
                 BAG: tl.constexpr, SUBWORDS: tl.constexpr, BIAS: tl.constexpr, CATEGORICAL: tl.constexpr,
                 SUBTRACT_LOG_Q: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_C: tl.constexpr):
    """Examples [window, window_stop) against their targets and the K noise words drawn for the window,
    whose rows stay in registers until it ends; returns their summed loss."""
    is_noise = (c >= 1) & (c <= negatives)
    noise = tl.where(is_noise, noise_word(accept, alias, vocab, seed, window * negatives + c - 1), -1)
    same_noise = (noise[:, None] == noise[None, :]) & is_noise[None, :]
    first = is_noise & (total_of((same_noise & (c[None, :] < c[:, None])).to(tl.int32), 1) == 0)  # first copies
    resident_tile = noise[:, None] * dim + d[None, :]
    resident = tl.load(context_table + resident_tile, mask=is_noise[:, None] & (d < dim)[None, :], other=0.0)
    resident_delta = tl.full((BLOCK_C, BLOCK_D), 0.0, tl.float32)
    resident_bias = tl.full((BLOCK_C,), 0.0, tl.float32)
    if BIAS:
        resident_bias = tl.load(bias + noise, mask=is_noise, other=0.0)
    resident_bias_delta = tl.full((BLOCK_C,), 0.0, tl.float32)
    resident_log_q = tl.load(log_q_table + noise, mask=is_noise, other=0.0)
    span_loss = 0.0
    for example in range(window, window_stop):
        target = tl.load(targets + example)
        h, present = input_vector(word_table, input_rows, inputs, example, dim, n_rows, d, BAG, SUBWORDS, BLOCK_D)
        hit = is_noise & (noise == target)
        aliased = largest(hit.to(tl.int32), 0) > 0  # the target is one of the resident noise words: use that copy
        copy = smallest(tl.where(hit, c, BLOCK_C), 0)
        in_table = tl.where(aliased, False, d < dim)
        target_row = tl.where(aliased, total_of(tl.where((c == copy)[:, None], resident, 0.0), 0),
                              tl.load(context_table + target * dim + d, mask=in_table, other=0.0))
        rows = tl.where((c == 0)[:, None], target_row[None, :], resident)
        valid = tl.where(present > 0, (c == 0) | is_noise, False)
        words = tl.where(c == 0, target, noise)
        s = total_of(rows * h[None, :], 1)
        if BIAS:
            target_bias = tl.where(aliased, total_of(tl.where(c == copy, resident_bias, 0.0), 0),
                                   tl.load(bias + target, mask=~aliased, other=0.0))
            s += tl.where(c == 0, target_bias, resident_bias)
        log_q = tl.where(c == 0, tl.load(log_q_table + target), resident_log_q)
        loss, grad = row_loss(s, log_q, hit.to(tl.int32), valid, c, log_k, temperature, CATEGORICAL, SUBTRACT_LOG_Q,
                              False)
        g = lr * grad
        h_step = total_of(g[:, None] * rows, 0)
        # every copy of a word takes the updates of all its copies (it is one row)
        same_word = (words[:, None] == words[None, :]) & valid[:, None] & valid[None, :]
        g_word = total_of(tl.where(same_word, g[None, :], 0.0), 1)
        step = g_word[:, None] * h[None, :]
        resident = tl.where(is_noise[:, None], resident - step, resident)
        resident_delta = tl.where(is_noise[:, None], resident_delta - step, resident_delta)
        g_target = total_of(tl.where(c == 0, g_word, 0.0), 0)
        tl.atomic_add(context_table + target * dim + d, -g_target * h, mask=in_table, sem="relaxed")
        if BIAS:
            resident_bias = tl.where(is_noise, resident_bias - g_word, resident_bias)
            resident_bias_delta = tl.where(is_noise, resident_bias_delta - g_word, resident_bias_delta)
            tl.atomic_add(bias + target, -g_target, mask=~aliased, sem="relaxed")
        step_inputs(word_table, input_rows, inputs, example, dim, n_rows, d, h_step, BAG, SUBWORDS)
        span_loss += loss
    # the noise rows go back once, from each word's first copy
    tl.atomic_add(context_table + resident_tile, resident_delta, mask=first[:, None] & (d < dim)[None, :],
                  sem="relaxed")
    if BIAS:
        tl.atomic_add(bias + noise, resident_bias_delta, mask=first, sem="relaxed")
    return span_loss


@triton.jit
def hogwild_sgd(word_table, input_rows, context_table, bias, log_q_table, accept, alias,
                tree_nodes, tree_codes, tree_lengths, inputs, targets, seed_ptr, lr_ptr, losses,
                n_examples, vocab, dim, n_rows, depth, negatives, log_k, temperature,
                SPAN: tl.constexpr, BAG: tl.constexpr, SUBWORDS: tl.constexpr, TREE: tl.constexpr,
                SHARE_WINDOW: tl.constexpr, BIAS: tl.constexpr, CATEGORICAL: tl.constexpr,
                SUBTRACT_LOG_Q: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_C: tl.constexpr):
    """Train examples [SPAN p, SPAN (p + 1)) of the batch, p the program id, one window after another (without
    SHARE_WINDOW, a window is one example); store their summed loss in losses[p]. See the module docstring."""
    start = tl.program_id(0) * SPAN
    stop = tl.minimum(start + SPAN, n_examples)
    lr = tl.load(lr_ptr)
    d = tl.arange(0, BLOCK_D)
    c = tl.arange(0, BLOCK_C)  # candidate slot: 0 the target, 1..K its noise words; or a path's node
    if TREE:
        span_loss = train_paths(word_table, input_rows, context_table, bias, tree_nodes, tree_codes, tree_lengths,
                                inputs, targets, start, stop, lr, dim, n_rows, depth, log_k, temperature, d, c,
                                BAG, SUBWORDS, BIAS, BLOCK_D, BLOCK_C)
    else:
        seed = tl.load(seed_ptr).to(tl.uint64, bitcast=True)
        span_loss = 0.0
        window = start
        while window < stop:
            window_stop = window + 1
            if SHARE_WINDOW:  # the run of examples with the window's input word
                key = tl.load(inputs + window * BAG)
                following = tl.load(inputs + window_stop * BAG, mask=window_stop < stop, other=-1)
                while following == key:
                    window_stop += 1
                    following = tl.load(inputs + window_stop * BAG, mask=window_stop < stop, other=-1)
            span_loss += train_window(word_table, input_rows, context_table, bias, log_q_table, accept, alias,
                                      inputs, targets, window, window_stop, seed, lr, vocab, dim, n_rows, negatives,
                                      log_k, temperature, d, c, BAG, SUBWORDS, BIAS, CATEGORICAL, SUBTRACT_LOG_Q,
                                      BLOCK_D, BLOCK_C)
            window = window_stop
    tl.store(losses + tl.program_id(0), span_loss)
