"""A model's large tables move onto memory advised for 2 MB pages, values and parameter objects kept."""

import re

import numpy as np
import pytest
import torch

from w2v_contrastive import TrainConfig
from w2v_contrastive.heads import build_head
from w2v_contrastive.model import SkipGram
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.train.fused_sgd import FusedSkipGramSGD
from w2v_contrastive.train.huge_pages import HUGE_PAGE, huge_pages_available, move_to_huge_pages

needs_huge_pages = pytest.mark.skipif(not huge_pages_available(), reason="no transparent huge pages here")


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
def test_tables_of_2_mb_or_more_move_and_keep_their_values_and_parameters():
    torch.manual_seed(0)
    model = SkipGram(20_000, 50, output_bias=True)  # (4 MB tables, an 80 KB bias)
    parameters = list(model.parameters())
    values = [p.detach().clone() for p in parameters]
    bias_address = model.bias.weight.data_ptr()
    move_to_huge_pages(model)
    assert list(model.parameters()) == parameters  # (the same objects: optimisers and state dicts follow)
    for parameter, value in zip(parameters, values):
        torch.testing.assert_close(parameter.detach(), value, rtol=0, atol=0)
    for table in (model.input.weight, model.output.weight):
        assert table.data_ptr() % HUGE_PAGE == 0 and advised_for_huge_pages(table.data_ptr())
    assert model.bias.weight.data_ptr() == bias_address  # (too small to gain)


@needs_huge_pages
def test_the_fused_kernel_trains_the_models_tables_on_huge_pages():
    vocab, dim = 20_000, 50
    counts = np.arange(vocab, 0, -1) * 10
    head = build_head("negative-sampling", TrainConfig(negatives=5))
    head.use_vocabulary(counts)
    model = SkipGram(vocab, dim)
    torch.nn.init.normal_(model.output.weight, std=0.3)
    before = model.input.weight.detach().clone()
    kernel = FusedSkipGramSGD(model, head, NoiseDistribution(counts, 0.75), threads=1)
    assert advised_for_huge_pages(model.input.weight.data_ptr())
    assert kernel.word_table.ctypes.data == model.input.weight.data_ptr()
    inputs = torch.arange(0, 200)
    kernel.step(inputs, inputs.flip(0), 0.5, torch.Generator().manual_seed(0))
    assert float((model.input.weight.detach() - before)[:200].abs().max()) > 0.01
