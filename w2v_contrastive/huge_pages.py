"""Tables on 2 MB pages, for kernels that read their rows at random.

With 4 KB pages a table larger than the CPU's TLB reach (a few MB) costs a page-table walk on most of its
random row reads: the fused kernel reads about 7 rows per skip-gram pair, and a subword model's n-gram table
(2,000,000 buckets x 100 floats, 800 MB) spreads a word's rows over as many pages. Linux backs memory with
transparent huge pages where it is asked to (``madvise(MADV_HUGEPAGE)``, or everywhere when the system's
setting is "always"): :func:`empty` gives a table such memory before anything is written to it (so no page is
first made small, and no copy is made). On captured gutenberg-mid batches, one thread (the fused kernel's replays,
scripts/bench_fused_kernel.py): 1,021 -> 889 ns/pair with subwords 3-6, 609 -> 562 without.
"""

from __future__ import annotations

import math
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


def empty(shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An uninitialised CPU tensor; of 2 MB or more, where the system has huge pages, in anonymous memory aligned
    to 2 MB and advised MADV_HUGEPAGE (the kernel backs it by huge pages as it is first written; the mapping lives
    as long as the tensor and its views)."""
    size = math.prod(shape) * torch.empty(0, dtype=dtype).element_size()
    if size < HUGE_PAGE or not huge_pages_available():
        return torch.empty(shape, dtype=dtype)
    memory = mmap.mmap(-1, size + HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    memory.madvise(mmap.MADV_HUGEPAGE)
    raw = np.frombuffer(memory, dtype=np.uint8)
    offset = -raw.ctypes.data % HUGE_PAGE
    return torch.from_numpy(raw[offset:offset + size]).view(dtype).view(shape)
