"""The setup decisions of a run, from settings, head and machine alone: no corpus, no model, no processes."""

import pytest
import torch

from w2v_contrastive import TrainConfig, W2VError
from w2v_contrastive.heads import HEADS, build_head
from w2v_contrastive.train.setup import STEPS, Machine, plan

CPU = Machine(torch.device("cpu"), cpu_count=8)
GPU = Machine(torch.device("cuda", 0), cpu_count=16)


def setup_of(machine=CPU, **settings):
    config = TrainConfig(**settings)
    return plan(config, build_head(config.head, config), machine)


def test_sampled_heads_take_the_fused_kernel_on_the_cpu_and_the_row_step_elsewhere():
    cpu = setup_of(head="nce")
    assert (cpu.step, cpu.optimizer, cpu.lr, cpu.batch_size, cpu.threads) == ("fused", "sgd", 0.05, 16384, 8)
    assert cpu.output_bias and not cpu.tied and cpu.sync is None and cpu.rank_lr_factor == 1
    gpu = setup_of(GPU, head="nce")
    assert (gpu.step, gpu.batch_size, gpu.device) == ("rows", 8192, torch.device("cuda", 0))
    assert (setup_of(head="nce", fused_cpu=False).step, setup_of(head="nce", fused_cpu=False).batch_size) == ("rows", 4096)
    assert setup_of(head="nce", optimizer="adam").step == "rows"  # the kernel applies plain SGD; the row step Adam too
    assert setup_of(head="negative-sampling", shared_negatives=True).step == "rows"  # the kernel draws noise per pair
    assert setup_of(GPU, head="infonce", in_batch_negatives=True, negatives=0).batch_size == 512
    assert setup_of(GPU, head="triplet").step == "rows"
    assert setup_of(GPU, head="softmax", optimizer="sgd").step == "autograd"  # it reads the whole context table
    assert setup_of(head="negative-sampling", batch_size=100).batch_size == 100
    with_triton = Machine(torch.device("cuda", 0), cpu_count=16, triton=True)  # (the GPU kernel: test_triton_kernel.py)
    assert {setup_of(machine, head=head).step for machine in (CPU, GPU, with_triton) for head in HEADS} == set(STEPS)


def test_each_head_gets_its_defaults_unless_told_otherwise():
    softmax = setup_of(head="softmax")
    assert (softmax.optimizer, softmax.lr, softmax.output_bias, softmax.step) == ("adam", 0.04, True, "autograd")
    assert softmax.batch_size == 16384  # the head's own default (few dense Adam steps over the context table)
    assert setup_of(head="softmax", optimizer="sgd").lr == 0.002
    assert setup_of(head="contrastive").tied and not setup_of(head="contrastive", geometry="untied").tied
    assert setup_of(head="infonce", in_batch_negatives=True, negatives=0).batch_size == 512
    assert setup_of(head="negative-sampling", lr=0.1, threads=3).lr == 0.1
    assert setup_of(head="negative-sampling", threads=3).threads == 3
    assert not setup_of(head="nce", output_bias=False).output_bias
    with pytest.raises(W2VError, match="the triplet head measures distances between vectors; it takes no --output-bias"):
        setup_of(head="triplet", output_bias=True)
    # CBOW: twice the head's SGD step unless the user sets one (word2vec.c's rule); Adam's is the head's
    assert setup_of(head="negative-sampling", model="cbow").lr == 0.05 and setup_of(head="nce", model="cbow").lr == 0.1
    assert setup_of(head="negative-sampling", model="cbow", lr=0.01).lr == 0.01
    assert setup_of(head="n-pair", model="cbow").lr == setup_of(head="n-pair").lr == 0.005
    hierarchical = setup_of(head="hierarchical-softmax")
    assert (hierarchical.step, hierarchical.lr, hierarchical.output_bias) == ("fused", 0.025, False)


def test_torchrun_jobs_pick_how_ranks_stay_in_sync():
    gloo = Machine(torch.device("cpu"), cpu_count=8, ranks=4, local_ranks=2, backend="gloo")
    fused = setup_of(gloo, head="negative-sampling")
    assert (fused.step, fused.sync, fused.rank_lr_factor, fused.threads) == ("fused", "average", 4, 4)
    autograd = setup_of(gloo, head="softmax")
    assert (autograd.sync, autograd.rank_lr_factor) == ("gradients", 1)
    forced = setup_of(gloo, head="negative-sampling", sync="gradients")  # gradients need autograd
    assert (forced.step, forced.sync) == ("autograd", "gradients")
    nccl = Machine(torch.device("cuda", 1), cpu_count=16, ranks=8, local_ranks=8, backend="nccl")
    assert setup_of(nccl, head="softmax").sync == "average"  # NCCL sums no sparse gradients
    with pytest.raises(W2VError, match="--sync gradients needs the gloo backend"):
        setup_of(nccl, head="softmax", sync="gradients")


def test_the_default_step_fits_the_training_budget_unless_told_otherwise():
    def lr(budget, **settings):
        config = TrainConfig(**settings)
        return plan(config, build_head(config.head, config), CPU, budget)

    # word2vec-style heads: 0.2 up to 1.5M training words, then budget^-0.4, never below the head's classic step
    assert [round(lr(b).lr, 4) for b in (5e5, 1.5e6, 5e6, 2e7, 6e7, 1e9)] == [0.2, 0.2, 0.1236, 0.071, 0.0457, 0.025]
    assert lr(2e7, head="nce").lr == pytest.approx(0.071, abs=1e-3) and lr(2e7, head="infonce").lr == 0.1
    assert lr(1e10, head="nce").lr == 0.05
    # the hierarchical softmax takes half the rule's step (still never below its classic step)
    assert lr(1e6, head="hierarchical-softmax").lr == 0.1 and lr(2e7, head="hierarchical-softmax").lr == pytest.approx(
        0.0355, abs=1e-4) and lr(1e9, head="hierarchical-softmax").lr == 0.025
    assert lr(2e7).lr_rule == "budget rule: 20,000,000 training words -> 0.071"
    # what the rule leaves alone: --lr, parity runs, unknown budgets, CBOW, subwords, Adam heads
    assert (lr(2e7, lr=0.01).lr, lr(2e7, lr=0.01).lr_rule) == (0.01, "--lr")
    assert lr(2e7, lr_defaults="word2vec").lr == 0.025 and lr(None).lr == 0.025
    assert lr(2e7, model="cbow").lr == 0.05 and lr(2e7, subwords="3-6").lr == 0.025
    assert lr(2e7, head="softmax").lr == 0.04 and lr(2e7, head="softmax", optimizer="sgd").lr == 0.002
    # torchrun --sync average: each of W ranks steps W x lr, kept within the rule's largest step (0.2) a rank
    gloo = Machine(torch.device("cpu"), cpu_count=8, ranks=2, local_ranks=2, backend="gloo")
    config = TrainConfig()
    ranks = plan(config, build_head(config.head, config), gloo, 5e6)
    assert (ranks.step, ranks.rank_lr_factor, ranks.lr) == ("fused", 2, 0.1)
    assert ranks.lr_rule == "budget rule: 5,000,000 training words -> 0.1"
    assert plan(config, build_head(config.head, config), gloo, 1e9).lr == 0.025  # (the classic step: 2 x 0.025)


def test_the_training_budget_is_tokens_times_epochs_or_max_words():
    from w2v_contrastive.train.setup import training_words

    assert training_words(TrainConfig(epochs=3), 1_000_000) == 3e6
    assert training_words(TrainConfig(epochs=3, max_words=500_000), 1_000_000) == 5e5


def test_cbow_on_the_fused_kernel_reads_the_text_in_order_unless_told_otherwise():
    """--pair-order auto: word2vec's text order where sequential SGD trains CBOW, the centre order elsewhere."""
    assert setup_of(head="negative-sampling", model="cbow").pair_order == "text"
    assert setup_of(head="hierarchical-softmax", model="cbow").pair_order == "text"
    assert setup_of(head="negative-sampling").pair_order == "centre"  # (skip-gram)
    assert setup_of(GPU, head="negative-sampling", model="cbow").pair_order == "centre"  # (a batched step)
    assert setup_of(head="negative-sampling", model="cbow", fused_cpu=False).pair_order == "centre"
    assert setup_of(head="softmax", model="cbow").pair_order == "centre"
    assert setup_of(head="negative-sampling", model="cbow", pair_order="centre").pair_order == "centre"
    assert setup_of(GPU, head="negative-sampling", pair_order="text").pair_order == "text"


def test_a_comparison_gives_every_run_the_centre_order_unless_told_otherwise():
    from w2v_contrastive.comparison.runner import comparison_defaults

    for given, expected in (({}, "centre"), ({"pair_order": "auto"}, "centre"), ({"pair_order": "text"}, "text")):
        comparison_defaults(given)
        assert given["pair_order"] == expected and given["holdout"] > 0


def test_config_json_records_how_the_step_was_chosen(small_corpus, tmp_path):
    import json

    from w2v_contrastive import train

    train(small_corpus, "negative-sampling", tmp_path / "run", epochs=1, max_words=100_000, dim=8, threads=2,
          progress=False)
    training = json.loads((tmp_path / "run" / "config.json").read_text())["training"]
    assert training["lr"] == 0.2 and training["lr_rule"] == "budget rule: 100,000 training words -> 0.2"
    assert training["step"] == "fused" and training["pair_order"] == "centre"
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["lr_defaults"] == "budget"
