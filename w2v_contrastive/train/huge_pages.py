"""Tables on 2 MB pages, for a kernel that reads their rows at random.

With 4 KB pages a table larger than the CPU's TLB reach (a few MB) costs a page-table walk on most of its
random row reads: the fused kernel reads about 7 rows per skip-gram pair, and a subword model's n-gram table
(2,000,000 buckets x 100 floats, 800 MB) spreads a word's rows over as many pages. Linux backs memory with
transparent huge pages where it is asked to (``madvise(MADV_HUGEPAGE)``, or everywhere when the system's
setting is "always"); :func:`move_to_huge_pages` gives a model's tables such memory. On captured gutenberg-mid
batches, one thread (scripts/bench_fused_kernel.py's replays): 1,021 -> 889 ns/pair with subwords 3-6,
609 -> 562 without.
"""

from __future__ import annotations

import mmap
import sys

import numpy as np
import torch

HUGE_PAGE = 2 << 20
#: the system's transparent-huge-page setting ("always [madvise] never": the bracketed one is in force)
SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"


def huge_pages_available() -> bool:
    """Whether this system backs memory advised with MADV_HUGEPAGE by huge pages (Linux, THP not "never")."""
    if not sys.platform.startswith("linux") or not hasattr(mmap, "MADV_HUGEPAGE"):
        return False
    try:
        with open(SETTING) as setting:
            return "[never]" not in setting.read()
    except OSError:
        return False


def on_huge_pages(tensor: torch.Tensor) -> torch.Tensor:
    """A copy of a contiguous CPU tensor in anonymous memory aligned to 2 MB and advised MADV_HUGEPAGE (so the
    kernel backs it by huge pages as it is first written); the mapping lives as long as the copy."""
    memory = mmap.mmap(-1, tensor.numel() * tensor.element_size() + HUGE_PAGE,
                       flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    memory.madvise(mmap.MADV_HUGEPAGE)
    raw = np.frombuffer(memory, dtype=np.uint8)
    offset = -raw.ctypes.data % HUGE_PAGE
    copy = torch.from_numpy(raw[offset:offset + tensor.numel() * tensor.element_size()]).view(tensor.dtype)
    copy = copy.view(tensor.shape)
    copy.copy_(tensor)
    return copy


def move_to_huge_pages(module: torch.nn.Module) -> None:
    """Give each of a CPU module's parameters of at least 2 MB a copy on huge pages as its data (the parameter
    objects stay, so optimisers and state dicts see the move), where the system has them."""
    if not huge_pages_available():
        return
    for parameter in module.parameters():
        if parameter.device.type == "cpu" and parameter.is_contiguous() and \
                parameter.numel() * parameter.element_size() >= HUGE_PAGE:
            parameter.data = on_huge_pages(parameter.data)
