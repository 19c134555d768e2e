"""A model's large tables lie in memory advised for 2 MB pages, initialised as word2vec does, and the fused kernel
trains them in place."""

import re

import numpy as np
import pytest
import torch

from w2v_contrastive import TrainConfig, huge_pages
from w2v_contrastive.heads import build_head
from w2v_contrastive.model import SkipGram
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.train.fused_sgd import FusedSkipGramSGD

needs_huge_pages = pytest.mark.skipif(not huge_pages.huge_pages_available(), reason="no transparent huge pages here")


def advised_for_huge_pages(address: int) -> bool:
    """Whether the mapping holding ``address`` carries MADV_HUGEPAGE ("hg" among its VmFlags, /proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            span = re.match(r"([0-9a-f]+)-([0-9a-f]+) ", line)
            if span:
                inside = int(span.group(1), 16) <= address < int(span.group(2), 16)
            elif inside and line.startswith("VmFlags:"):
                return "hg" in line.split()
    return False


@needs_huge_pages
def test_tables_of_2_mb_or_more_lie_on_huge_pages_with_word2vecs_start():
    vocab, dim = 20_000, 50  # (4 MB tables)
    model = SkipGram(vocab, dim, output_init="uniform")
    for table in (model.input.weight, model.output.weight):
        assert table.data_ptr() % huge_pages.HUGE_PAGE == 0 and advised_for_huge_pages(table.data_ptr())
        assert float(table.detach().abs().max()) <= 0.5 / dim and float(table.detach().std()) > 0.25 / dim
    assert float(SkipGram(vocab, dim).output.weight.detach().abs().max()) == 0.0  # (v = 0, word2vec's default)


@needs_huge_pages
def test_the_fused_kernel_trains_the_tables_on_huge_pages_in_place():
    vocab, dim = 20_000, 50
    counts = np.arange(vocab, 0, -1) * 10
    head = build_head("negative-sampling", TrainConfig(negatives=5))
    head.use_vocabulary(counts)
    model = SkipGram(vocab, dim)
    torch.nn.init.normal_(model.output.weight, std=0.3)
    before = model.input.weight.detach().clone()
    kernel = FusedSkipGramSGD(model, head, NoiseDistribution(counts, 0.75), threads=1)
    assert kernel.word_table.ctypes.data == model.input.weight.data_ptr()
    inputs = torch.arange(0, 200)
    kernel.step(inputs, inputs.flip(0), 0.5, torch.Generator().manual_seed(0))
    assert float((model.input.weight.detach() - before)[:200].abs().max()) > 0.01


def test_small_tensors_and_systems_without_huge_pages_get_plain_memory(monkeypatch):
    def no_mapping(*arguments, **settings):
        raise AssertionError("a mapping for a table that gains nothing from it")

    monkeypatch.setattr(huge_pages.mmap, "mmap", no_mapping)
    assert huge_pages.empty((10, 10)).shape == (10, 10)
    model = SkipGram(100, 50, output_bias=True)  # (20 KB tables)
    assert model.input.weight.shape == (100, 50) and model.bias.weight.shape == (100, 1)
    monkeypatch.setattr(huge_pages, "huge_pages_available", lambda: False)
    table = huge_pages.empty((20_000, 50))
    assert table.shape == (20_000, 50) and table.dtype == torch.float32 and table.is_contiguous()
