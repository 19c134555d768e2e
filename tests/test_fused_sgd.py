"""The fused CPU path: each head's compiled row loss agrees with its torch forward and autograd
gradient, and a fused step updates the tables as an autograd SGD step does."""

import numpy as np
import pytest
import torch

from w2v_contrastive import HEADS, TrainConfig
from w2v_contrastive.heads import Scores, build_head, score_batch
from w2v_contrastive.model import SkipGram
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.subwords import Subwords
from w2v_contrastive.train import fused_sgd
from w2v_contrastive.train.fused_sgd import WINDOW_SPAN, FusedSkipGramSGD, compiled_noise_draw, mean_shift
from w2v_contrastive.train.setup import fused_kernel_fits

#: every registered head with a compiled row loss (so a new one is covered), plus variants of their options
FUSED_HEADS = [(name, {}) for name in sorted(HEADS) if HEADS[name].has_fused_row_loss()] + [
    ("infonce", {"temperature": 0.3, "logq_correction": True}),
]


def test_the_sampled_heads_have_a_fused_row_and_softmax_does_not():
    cpu = torch.device("cpu")
    for name in ("negative-sampling", "nce", "infonce", "hierarchical-softmax"):
        assert fused_kernel_fits(build_head(name, TrainConfig()), cpu, "sgd", tied=False)
    assert not fused_kernel_fits(build_head("softmax", TrainConfig()), cpu, "sgd", tied=False)
    in_batch = build_head("infonce", TrainConfig(in_batch_negatives=True))
    assert not fused_kernel_fits(in_batch, cpu, "sgd", tied=False)
    assert not fused_kernel_fits(build_head("nce", TrainConfig()), cpu, "adam", tied=False)
    assert not fused_kernel_fits(build_head("nce", TrainConfig()), cpu, "sgd", tied=True)
    assert not fused_kernel_fits(build_head("nce", TrainConfig(shared_negatives=True)), cpu, "sgd", tied=False)


@pytest.mark.parametrize("k,spread", [(6, 4.0), (2500, 0.5)], ids=["6-candidates", "2500-candidates"])
@pytest.mark.parametrize("name,settings", FUSED_HEADS, ids=[f"{n}{i}" for i, (n, _) in enumerate(FUSED_HEADS)])
def test_row_loss_and_gradient_match_forward_and_autograd(name, settings, k, spread):
    """Rows of 6 candidates with large |s|, and long rows of scores near 0 (a logistic row's product of its
    2,500 factors 1 + e^-|z| near 2 would overflow a float64)."""
    head = build_head(name, TrainConfig(negatives=k, **settings))
    row_loss, settings = head.fused_row_loss(), np.array(head.fused_row_settings(), dtype=np.float64)
    g = torch.Generator().manual_seed(3)
    batch = 5
    scores = (torch.randn(batch, 1 + k, generator=g) * spread).requires_grad_()
    log_q = torch.log(torch.rand(batch, 1 + k, generator=g) * 0.05 + 1e-6)
    hits = torch.zeros(batch, k, dtype=torch.bool)
    hits[1, 2] = hits[3, 0] = hits[3, 5] = True
    if head.request.tree_paths:  # a row is a path: scores of its nodes, hit the branches taken
        branches = torch.rand(batch, 1 + k, generator=g) < 0.5
        log_q = torch.zeros_like(log_q)
        losses = head(Scores(positive=None, positive_log_q=log_q[:, 0], path=scores, path_code=branches,
                             path_mask=torch.ones_like(branches)))
    else:
        losses = head(Scores(positive=scores[:, 0], positive_log_q=log_q[:, 0], negative=scores[:, 1:],
                             negative_log_q=log_q[:, 1:], negative_is_positive=hits))
    (expected_grad,) = torch.autograd.grad(losses.sum(), scores)
    for b in range(batch):
        grad = np.zeros(1 + k, dtype=np.float32)
        hit = branches[b].numpy() if head.request.tree_paths else np.concatenate([[False], hits[b].numpy()])
        loss = row_loss(scores[b].detach().numpy(), log_q[b].numpy().astype(np.float32), hit, grad, settings)
        assert loss == pytest.approx(losses[b].item(), rel=1e-4, abs=1e-5)
        np.testing.assert_allclose(grad, expected_grad[b].numpy(), rtol=1e-4, atol=1e-6)


def test_kernel_noise_draws_follow_q():
    counts = np.array([1000, 400, 150, 60, 20, 8, 3, 1] * 4)
    noise = NoiseDistribution(counts, 0.75)
    draw = compiled_noise_draw()
    n = 80_000
    words = np.array([draw(noise.accept.numpy(), noise.alias.numpy(), np.uint64(12345), j) for j in range(n)])
    empirical = np.bincount(words, minlength=len(counts)) / n
    expected = noise.probs.numpy()
    assert np.abs(empirical - expected).max() < 4 * np.sqrt(expected.max() / n)
    again = [draw(noise.accept.numpy(), noise.alias.numpy(), np.uint64(12345), j) for j in range(100)]
    assert list(words[:100]) == again  # a fixed draw per (seed, j)


class FixedNoise:
    """The kernel's noise words for one step, for the autograd reference to score the same candidates."""

    def __init__(self, noise: NoiseDistribution, words: torch.Tensor):
        self.log_probs, self.words = noise.log_probs, words

    def sample(self, shape, generator=None):
        return self.words.view(shape)


#: (input rows, target) examples: skip-gram words, and CBOW windows padded with -1 (a word twice in one)
EXAMPLES = {"skipgram": [(3, 40), (17, 2), (250, 9), (3, 41)],
            "cbow": [([3, 8, -1, 9], 40), ([17, -1, -1, -1], 2), ([250, 4, 250, 7], 9), ([3, 8, 11, -1], 41)]}


@pytest.mark.parametrize("subwords", [False, True], ids=["words", "subwords"])
@pytest.mark.parametrize("model", sorted(EXAMPLES))
@pytest.mark.parametrize("name", [name for name, settings in FUSED_HEADS if not settings])
def test_fused_step_equals_an_autograd_sgd_step(name, model, subwords):
    """One example per step (so no row is updated twice within a step, but for a word twice in one window),
    one thread: the fused update is the autograd gradient step on the same candidates, up to float rounding
    (CBOW: the window's mean as the input, each of its rows given the mean's whole gradient, model.BagMean;
    subwords: each input word the mean of its row and its n-grams' rows, shared n-grams shared rows)."""
    vocab, dim, lr, negatives = 500, 16, 0.05, 5
    counts = np.arange(vocab, 0, -1) * 10
    torch.manual_seed(0)
    units = Subwords(2, 4, 60) if subwords else None
    shape = {"subwords": torch.from_numpy(units.input_rows([f"word{i}" for i in range(vocab)])),
             "buckets": units.buckets} if subwords else {}
    reference = SkipGram(vocab, dim, output_bias=HEADS[name].wants_output_bias,
                         log_prior=torch.log(torch.tensor(counts / counts.sum(), dtype=torch.float32)), **shape)
    torch.nn.init.normal_(reference.output.weight, std=0.3)
    fused_model = SkipGram(vocab, dim, output_bias=reference.bias is not None, **shape)
    fused_model.load_state_dict(reference.state_dict())
    noise = NoiseDistribution(counts, 0.75)
    head = build_head(name, TrainConfig(negatives=negatives))
    head.use_vocabulary(counts)
    fused = FusedSkipGramSGD(fused_model, head, noise, threads=1)
    optimizer = torch.optim.SGD(reference.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(7)
    draw = compiled_noise_draw()
    for inputs, target in EXAMPLES[model]:
        inputs, targets = torch.tensor([inputs]), torch.tensor([target])
        seed = np.uint64(torch.randint(0, 2**62, (), generator=_copy(generator)).item())  # the step's seed
        noise_words = torch.tensor([draw(noise.accept.numpy(), noise.alias.numpy(), seed, k) for k in range(negatives)])
        optimizer.zero_grad()
        loss = head(score_batch(reference, FixedNoise(noise, noise_words), head.request, inputs, targets)).sum()
        loss.backward()
        optimizer.step()
        fused_loss = fused.step(inputs, targets, lr, generator)
        assert fused_loss == pytest.approx(loss.item(), rel=1e-4)
    for (key, ours), theirs in zip(fused_model.state_dict().items(), reference.state_dict().values()):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5, msg=key)


def _copy(generator: torch.Generator) -> torch.Generator:
    copy = torch.Generator()
    copy.set_state(generator.get_state())
    return copy


@pytest.mark.parametrize("head_name, replicated", [("hierarchical-softmax", "the whole table"),
                                                    ("hierarchical-softmax", "the top nodes"),
                                                    ("negative-sampling", "the whole table"),
                                                    ("nce", "the whole table")])
def test_each_thread_trains_its_own_replica_of_the_context_rows_and_the_table_takes_every_threads_change(
        head_name, replicated, monkeypatch):
    """Two slices whose input words differ: the input rows end as each slice alone leaves them (alone: the batch with
    the other slice's inputs absent, so the same noise draws), the context rows (and NCE's output bias) as the start
    plus both slices' changes: once flushed, or within the step once the slices trained MERGE_PAIRS_PER_ROW pairs per
    replicated row; the HOT_ROWS most trained (the first words', the tree's last nodes) at every step. Before the
    merge the table's other replicated rows hold the start. Replicas of the whole table and bias, or (past
    REPLICA_BYTES) of the tree's TOP_NODES nodes nearest the root."""
    vocab, dim, lr, bias = 12, 8, 0.1, head_name == "nce"
    replica_bytes = 0 if replicated == "the top nodes" else fused_sgd.REPLICA_BYTES
    if replicated == "the top nodes":
        monkeypatch.setattr(fused_sgd, "TOP_NODES", 4)
    monkeypatch.setattr(fused_sgd, "HOT_ROWS", 3)
    counts = np.arange(vocab, 0, -1) * 10
    head = build_head(head_name, TrainConfig())
    head.use_vocabulary(counts)
    noise = NoiseDistribution(counts, 0.75)
    torch.manual_seed(0)
    start = SkipGram(vocab, dim, output_bias=bias)
    torch.nn.init.normal_(start.output.weight, std=0.3)
    g = torch.Generator().manual_seed(5)
    inputs = torch.cat([torch.randint(0, 6, (WINDOW_SPAN,), generator=g),
                        torch.randint(6, vocab, (WINDOW_SPAN,), generator=g)])
    targets = torch.randint(0, vocab, (2 * WINDOW_SPAN,), generator=g)  # (the slices' context rows overlap)
    if replicated == "the top nodes":  # (rows below them are shared: each slice's target takes its own)
        first_top = start.output.weight.shape[0] - 4
        tree = head.request.tree
        below = [{int(node) for node in tree.nodes[word, :tree.lengths[word]] if node < first_top}
                 for word in range(vocab)]
        a, b = next((a, b) for a in range(vocab) for b in range(vocab)
                    if below[a] and below[b] and not below[a] & below[b])
        targets = torch.tensor([a] * WINDOW_SPAN + [b] * WINDOW_SPAN)

    def trained(inputs, threads, merge_pairs_per_row=fused_sgd.MERGE_PAIRS_PER_ROW):
        monkeypatch.setattr(fused_sgd, "MERGE_PAIRS_PER_ROW", merge_pairs_per_row)
        model = SkipGram(vocab, dim, output_bias=bias)
        model.load_state_dict(start.state_dict())
        kernel = FusedSkipGramSGD(model, head, noise, threads=threads, replica_bytes=replica_bytes)
        kernel.step(inputs, targets, lr, torch.Generator().manual_seed(7))
        return model, kernel

    alone = [trained(torch.where(torch.arange(2 * WINDOW_SPAN) // WINDOW_SPAN == i, inputs, -1), 1)[0] for i in (0, 1)]
    expected = {key: value + sum(model.state_dict()[key] - value for model in alone)
                for key, value in start.state_dict().items() if not key.startswith("input")}
    expected["input.weight"] = torch.cat([alone[0].input.weight[:6], alone[1].input.weight[6:]])
    assert ((expected["output.weight"] - start.output.weight).abs().sum(1) > 0).sum() >= 4  # (several rows moved)
    later, kernel = trained(inputs, 2, merge_pairs_per_row=10**6)
    assert kernel.own_start == (0 if replicated == "the whole table" else first_top)
    own = later.output.weight.shape[0] - kernel.own_start
    assert kernel.hot_rows == ((own - 3, own) if head_name == "hierarchical-softmax" else (0, 3))
    hot = torch.zeros(own, dtype=torch.bool)
    hot[slice(*kernel.hot_rows)] = True
    for key, value in start.state_dict().items():  # (the own rows of the context table, and of the bias)
        if not key.startswith("input"):
            rows = later.state_dict()[key][kernel.own_start:]
            torch.testing.assert_close(rows[~hot], value[kernel.own_start:][~hot], msg=key)
            torch.testing.assert_close(rows[hot], expected[key][kernel.own_start:][hot], rtol=1e-5, atol=1e-6, msg=key)
    kernel.flush()
    merged_in_step = trained(inputs, 2, merge_pairs_per_row=1)[0]
    assert set(expected) == set(start.state_dict()) and ("bias.weight" in expected) == bias
    for model in (later, merged_in_step):
        for key, value in model.state_dict().items():
            torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-6, msg=key)


def test_mean_shift_counts_a_row_that_occurs_twice_among_a_words_rows():
    """The mean of rows (0, 5, 5) moves by (1 + 2^2) / 3 per unit step of each row; of distinct rows, by 1."""
    rows = np.array([[0, 5, 5, -1], [1, 6, 7, 8], [2, -1, -1, -1]])
    np.testing.assert_allclose(mean_shift(rows), [5 / 3, 1.0, 1.0])
    assert mean_shift(np.zeros((0, 0), dtype=np.int64)).shape == (0,)


def test_a_run_of_one_input_words_examples_trains_as_its_examples_one_by_one():
    """Subwords, skip-gram: runs of examples with one input word (a centre token's pairs) read the word's rows once
    and write their summed step once; the tables end as one example per step leaves them (the hierarchical
    softmax: no noise draws, so both see the same candidates), words whose n-grams repeat a row included."""
    vocab, dim, lr = 40, 16, 0.2
    counts = np.arange(vocab, 0, -1) * 10
    words = ["banana", "anana", "papaya", "cocoa"] + [f"w{i}" for i in range(vocab - 4)]
    units = Subwords(2, 4, 30)  # (few buckets: n-grams share rows)
    input_rows = torch.from_numpy(units.input_rows(words))
    head = build_head("hierarchical-softmax", TrainConfig())
    head.use_vocabulary(counts)
    noise = NoiseDistribution(counts, 0.75)
    torch.manual_seed(0)
    start = SkipGram(vocab, dim, subwords=input_rows, buckets=units.buckets)
    torch.nn.init.normal_(start.output.weight, std=0.3)
    torch.nn.init.normal_(start.input.weight, std=0.3)
    models = [SkipGram(vocab, dim, subwords=input_rows, buckets=units.buckets) for _ in range(2)]
    kernels = []
    for model in models:
        model.load_state_dict(start.state_dict())
        kernels.append(FusedSkipGramSGD(model, head, noise, threads=1))
    assert (kernels[0].run_shift[:4] > 1).sum() >= 2  # ("banana", "anana": a row twice)
    inputs = torch.tensor([0] * 6 + [1] * 4 + [5, 0, 0, 2, 2, 2, 3])
    targets = torch.randint(0, vocab, inputs.shape, generator=torch.Generator().manual_seed(3))
    kernels[0].step(inputs, targets, lr, torch.Generator())
    for b in range(inputs.shape[0]):
        kernels[1].step(inputs[b:b + 1], targets[b:b + 1], lr, torch.Generator())
    for (key, ours), theirs in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6, msg=key)
    assert float((models[0].input.weight - start.input.weight).detach().abs().max()) > 0.05  # (the rows did move)


def test_a_threaded_run_ends_with_every_replicas_change_in_the_model(small_corpus, monkeypatch):
    """Two threads with replicas never merged within a step (no hot rows either): the context table (zeros at the
    start) holds the run's updates once fit returns, because the trainer flushes the replicas when it stops."""
    import w2v_contrastive as w2v
    from w2v_contrastive.train.trainer import Trainer

    monkeypatch.setattr(fused_sgd, "MERGE_PAIRS_PER_ROW", 10**9)
    monkeypatch.setattr(fused_sgd, "HOT_ROWS", 0)
    config = w2v.make_config("negative-sampling", progress=False, threads=2, dim=16, max_words=20_000)
    trainer = Trainer(config, small_corpus, w2v.Vocabulary.from_corpus(small_corpus, config.min_count))
    assert trainer.step.kernel.replicas and not trainer.model.output.weight.any()
    trainer.fit()
    assert trainer.step.kernel.unmerged is None
    assert int((trainer.model.output.weight.abs().sum(1) > 0).sum()) > 100  # (rows the run trained)
