"""The GPU's Triton kernel without a GPU (train/hogwild_kernel.py, train/gpu_sgd.py).

- Numbers: Triton's interpreter runs a launch's programs one after another on CPU tensors, so a launch
  must leave the tables the fused CPU kernel leaves on one thread over the same examples, seed and spans
  (to 1e-5): one program over its span, then several over theirs in program order, for each head, model
  and option the kernel covers, on examples where noise words repeat and equal targets.
- Builds: every variant compiles for sm_90 (H100/H200) and sm_80 (A100) with Triton's ptxas, and
  cuobjdump shows no local memory (no spills) within the register cap the roofline assumes (docs/gpu.md).
- Choice: the trainer on cuda takes the kernel for the heads it covers, the row step for the others.
"""

import dataclasses
from unittest import mock

import numpy as np
import pytest
import torch

pytest.importorskip("triton", reason="triton is not installed (a test dependency: pip install -e '.[test]')")

from w2v_contrastive import TrainConfig, make_config  # noqa: E402
from w2v_contrastive.errors import W2VError  # noqa: E402
from w2v_contrastive.heads import build_head  # noqa: E402
from w2v_contrastive.model import SkipGram  # noqa: E402
from w2v_contrastive.sampling.noise import NoiseDistribution  # noqa: E402
from w2v_contrastive.subwords import Subwords  # noqa: E402
from w2v_contrastive.train.fused_sgd import FusedSkipGramSGD, compiled_noise_draw, step_seed  # noqa: E402
from w2v_contrastive.train import gpu_sgd  # noqa: E402
from w2v_contrastive.train.gpu_sgd import (MAX_REGISTERS, HogwildSGD, Variant, compile_variant,  # noqa: E402
                                           resource_usage)
from w2v_contrastive.train.setup import Machine, plan  # noqa: E402

VOCAB, DIM, NEGATIVES, LR = 40, 12, 5, 0.2
#: examples per program in these tests (the trainer's is WINDOW_SPAN): 8, then 20 (three programs)
SPAN, LAUNCHES = 8, (8, 20)
#: the cases the kernel covers: (head, its settings, model, subwords, window-shared negatives)
CASES = {
    "negative-sampling": ("negative-sampling", {}, "skipgram", False, False),
    "negative-sampling-window": ("negative-sampling", {}, "skipgram", False, True),
    "nce-window": ("nce", {}, "skipgram", False, True),
    "infonce-logq": ("infonce", {"temperature": 0.5, "logq_correction": True}, "skipgram", False, False),
    "hierarchical-softmax": ("hierarchical-softmax", {}, "skipgram", False, False),
    "negative-sampling-cbow": ("negative-sampling", {}, "cbow", False, False),
    "negative-sampling-subwords": ("negative-sampling", {}, "skipgram", True, False),
}
COUNTS = (2000 / np.arange(1, VOCAB + 1) ** 1.2).astype(np.int64) + 1  # Zipf: noise words repeat, and hit targets


def models(head, subwords: bool) -> tuple[SkipGram, SkipGram]:
    """Two equal models: word vectors as word2vec starts them, context vectors N(0, 0.3) so all rows move."""
    torch.manual_seed(0)
    units = Subwords(2, 3, 30) if subwords else None
    shape = {"subwords": torch.from_numpy(units.input_rows([f"w{i}x" for i in range(VOCAB)])),
             "buckets": units.buckets} if subwords else {}
    log_prior = torch.log(torch.tensor(COUNTS / COUNTS.sum(), dtype=torch.float32))
    reference = SkipGram(VOCAB, DIM, output_bias=head.wants_output_bias, log_prior=log_prior, **shape)
    torch.nn.init.normal_(reference.output.weight, std=0.3)
    twin = SkipGram(VOCAB, DIM, output_bias=reference.bias is not None, **shape)
    twin.load_state_dict(reference.state_dict())
    return reference, twin


def examples(model: str, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets): skip-gram centre words in runs of 1-6 pairs (a centre token's window), their
    targets drawn from Q (so they meet the noise words); CBOW windows of 4 with absent (-1) and repeated words."""
    q = torch.tensor(COUNTS ** 0.75, dtype=torch.float64)
    targets = torch.multinomial(q, n, replacement=True, generator=generator)
    if model == "cbow":
        windows = torch.multinomial(q, 4 * n, replacement=True, generator=generator).view(n, 4)
        windows[torch.rand(n, 4, generator=generator) < 0.3] = -1
        windows[:, 0] = targets.flip(0)  # (at least one context each)
        return windows, targets
    runs = torch.randint(1, 7, (n,), generator=generator)
    centres = torch.randint(0, VOCAB, (n,), generator=generator).repeat_interleave(runs)[:n]
    return centres, targets


def window_collisions(inputs: torch.Tensor, targets: torch.Tensor, seed: int, noise: NoiseDistribution,
                      share: bool) -> tuple[int, int]:
    """(examples whose target is one of their noise words, examples with a noise word twice): recomputed
    from the draws, so that a test can check its examples reach the kernel's alias and duplicate cases."""
    draw, accept, alias = compiled_noise_draw(), noise.accept.numpy(), noise.alias.numpy()
    hits = repeats = 0
    for b in range(targets.shape[0]):
        if not share or b % SPAN == 0 or inputs[b] != inputs[b - 1]:
            words = [draw(accept, alias, np.uint64(seed), b * NEGATIVES + k) for k in range(NEGATIVES)]
        hits += int(targets[b]) in words
        repeats += len(set(words)) < NEGATIVES
    return hits, repeats


@pytest.mark.parametrize("case", sorted(CASES))
def test_launches_leave_the_tables_of_the_cpu_kernel(case):
    """One program over a span, then three over theirs: the interpreter's tables equal the fused CPU kernel's."""
    name, settings, model, subwords, share = CASES[case]
    head = build_head(name, TrainConfig(negatives=NEGATIVES, **settings))
    head.use_vocabulary(COUNTS)
    noise = NoiseDistribution(COUNTS)
    reference, twin = models(head, subwords)
    before = [p.detach().clone() for p in reference.parameters()]
    bag = 4 if model == "cbow" else 1
    cpu = FusedSkipGramSGD(reference, head, noise, threads=1, serial=True, share_window=share, span=SPAN)
    gpu = HogwildSGD(twin, head, noise, bag, share_window=share, span=SPAN, interpret=True)
    assert gpu.variant.SHARE_WINDOW == share and gpu.variant.BAG == bag
    generator = torch.Generator().manual_seed(1)
    hits = repeats = 0
    for launch, n in enumerate(LAUNCHES):
        inputs, targets = examples(model, n, generator)
        seeds = torch.Generator().manual_seed(launch), torch.Generator().manual_seed(launch)
        if not head.request.tree_paths and model == "skipgram":
            seed = int(step_seed(torch.Generator().manual_seed(launch)))
            found = window_collisions(inputs, targets, seed, noise, share)
            hits, repeats = hits + found[0], repeats + found[1]
        cpu_loss = cpu.step(inputs, targets, LR, seeds[0])
        gpu_loss = gpu.step(inputs, targets, LR, seeds[1])
        assert float(gpu_loss) == pytest.approx(cpu_loss, rel=1e-5)
        for (parameter, expected), actual in zip(reference.named_parameters(), twin.parameters()):
            np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), rtol=0, atol=1e-5,
                                       err_msg=f"{parameter} after launch {launch} ({n} examples)")
    moved = max(float((p.detach() - b).abs().max()) for p, b in zip(reference.parameters(), before))
    assert moved > 0.01  # (the tables did train)
    if not head.request.tree_paths and model == "skipgram":
        assert hits >= 2 and repeats >= 2  # (the cases the resident rows must get right did occur)


#: the kernels the trainer launches, at the roofline's dims: negative sampling with and without shared windows
#: at d = 100 and 300, and at d = 100 each other head, model and input kind
VARIANTS = {
    "ns-d100": Variant.sized(100, 1 + NEGATIVES),
    "ns-d100-window": Variant.sized(100, 1 + NEGATIVES, SHARE_WINDOW=True),
    "ns-d300": Variant.sized(300, 1 + NEGATIVES),
    "ns-d300-window": Variant.sized(300, 1 + NEGATIVES, SHARE_WINDOW=True),
    "nce-d100-window": Variant.sized(100, 1 + NEGATIVES, SHARE_WINDOW=True, BIAS=True, SUBTRACT_LOG_Q=True),
    "infonce-d100-logq": Variant.sized(100, 1 + NEGATIVES, CATEGORICAL=True, SUBTRACT_LOG_Q=True),
    "hs-d100": Variant.sized(100, 8, TREE=True),
    "ns-d100-cbow": Variant.sized(100, 1 + NEGATIVES, BAG=10),
    "ns-d100-subwords": Variant.sized(100, 1 + NEGATIVES, SUBWORDS=True),
}


@pytest.mark.parametrize("arch", [90, 80])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_compiles_without_spills(variant, arch):
    kernel = compile_variant(VARIANTS[variant], arch)
    usage = resource_usage(kernel.asm["cubin"])
    assert usage["stack"] == 0 and usage["local"] == 0, f"{variant} spills to local memory on sm_{arch}: {usage}"
    assert usage["reg"] <= MAX_REGISTERS  # (the programs per SM the roofline counts on)
    assert ".maxnreg 128" in kernel.asm["ptx"]


def test_a_variant_past_its_register_cap_is_caught():
    """The check above can fail: a d = 300 window on half the warps holds 32 floats of each tile per thread."""
    crowded = Variant.sized(300, 1 + NEGATIVES, SHARE_WINDOW=True)
    crowded = dataclasses.replace(crowded, num_warps=crowded.num_warps // 2)
    assert resource_usage(compile_variant(crowded, 90).asm["cubin"])["stack"] > 0


#: (head, settings, the step a run on a GPU with triton takes)
GPU_STEPS = [("negative-sampling", {}, "triton"), ("nce", {}, "triton"), ("infonce", {}, "triton"),
             ("hierarchical-softmax", {}, "triton"), ("negative-sampling", {"model": "cbow"}, "triton"),
             ("negative-sampling", {"subwords": "3-6"}, "triton"),
             ("negative-sampling", {"share_negatives": "window"}, "triton"),
             ("softmax", {}, "autograd"), ("triplet", {}, "rows"),
             ("negative-sampling", {"shared_negatives": True}, "rows"),
             ("infonce", {"in_batch_negatives": True}, "rows"), ("negative-sampling", {"optimizer": "adam"}, "rows"),
             ("negative-sampling", {"fused_cpu": False}, "rows"), ("negative-sampling", {"deterministic": True}, "rows")]


@pytest.mark.parametrize("name,settings,step", GPU_STEPS)
def test_a_run_on_a_gpu_takes_the_kernel_for_the_heads_it_covers(name, settings, step):
    config = make_config(name, **settings)
    setup = plan(config, build_head(name, config), Machine(torch.device("cuda"), 16, triton=True))
    assert setup.step == step
    if step == "triton":
        assert setup.batch_size == 1 << 20
    if step == "triton" and "share_negatives" not in settings:  # (a window needs a kernel: the test below)
        without_triton = plan(config, build_head(name, config), Machine(torch.device("cuda"), 16))
        assert without_triton.step == "rows"


def test_shared_windows_need_a_compiled_kernel_skipgram_and_noise_words_per_pair():
    window = make_config("negative-sampling", share_negatives="window")
    with pytest.raises(W2VError, match="share-negatives window is trained by the compiled kernels"):
        plan(window, build_head("negative-sampling", window), Machine(torch.device("cuda"), 16))
    for name, settings in [("negative-sampling", {"model": "cbow"}), ("nce", {"shared_negatives": True}),
                           ("hierarchical-softmax", {})]:
        with pytest.raises(W2VError, match="share-negatives window shares"):
            make_config(name, share_negatives="window", **settings).validate()


def test_the_trainer_builds_the_kernel_on_a_fake_gpu():
    """Under the fake-CUDA harness (tests/fake_cuda.py), told that the kernel runs there, the trainer builds the
    kernel's step for negative sampling with shared windows, and the row step for the triplet head."""
    from tests.fake_cuda import FAKE_GPU_PAIR_COUNT, FAKE_GPU_SETTINGS, FakeCuda, short_corpus
    from w2v_contrastive.train.trainer import Trainer

    corpus, vocab = short_corpus()
    built = {}
    with FakeCuda(pair_count=FAKE_GPU_PAIR_COUNT), mock.patch.object(gpu_sgd, "triton_runs_on", lambda device: True):
        for name, settings in [("negative-sampling", {"share_negatives": "window"}), ("triplet", {})]:
            trainer = Trainer(make_config(name, **FAKE_GPU_SETTINGS, **settings), corpus, vocab)
            built[name] = trainer.setup.step, type(getattr(trainer.step, "kernel", None))
            if name == "negative-sampling":
                assert trainer.step.kernel.variant.SHARE_WINDOW
                assert trainer.step.kernel.context_table.device.type == "cuda"
    assert built == {"negative-sampling": ("triton", HogwildSGD), "triplet": ("rows", type(None))}
