"""The Triton Hogwild kernel (train/hogwild_kernel.py) as a trainer's kernel, and its variants.

:class:`HogwildSGD` trains a :class:`SkipGram` in place, one launch per batch of examples, like
:class:`~w2v_contrastive.train.fused_sgd.FusedSkipGramSGD` on the CPU: the same candidates, noise
draws, update and windows of shared negatives, so one kernel is the other's reference. The step's
seed and learning rate reach the kernel as device tensors (no host sync, nothing baked into the launch).

A :class:`Variant` is what a compiled kernel depends on (the model's input bag, subwords, tree or
noise words, shared windows, bias, the head's row loss, the block sizes and warps): the trainer
launches the variant of its run, and :func:`compile_variant` builds any variant for a GPU architecture
without a GPU (Triton's own ptxas), so tests and docs/gpu.md read their register use with
:func:`resource_usage` (cuobjdump, shipped with Triton).

triton is imported only here, when a kernel is built: CUDA builds of torch bring it; CPU runs need none.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass

import torch

from ..heads.base import Head
from ..model import SkipGram
from ..sampling.noise import NoiseDistribution
from .fused_sgd import WINDOW_SPAN, step_seed

KERNEL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hogwild_kernel.py")
#: the kernel's arguments before its constexprs, with their Triton types (for compiling without a launch)
SIGNATURE = {"word_table": "*fp32", "input_rows": "*i64", "context_table": "*fp32", "bias": "*fp32",
             "log_q_table": "*fp32", "accept": "*fp32", "alias": "*i64", "tree_nodes": "*i64", "tree_codes": "*i1",
             "tree_lengths": "*i64", "inputs": "*i64", "targets": "*i64", "seed_ptr": "*i64", "lr_ptr": "*fp32",
             "losses": "*fp32", "n_examples": "i32", "vocab": "i32", "dim": "i32", "n_rows": "i32", "depth": "i32",
             "negatives": "i32", "log_k": "fp32", "temperature": "fp32"}


def triton_runs_on(device: torch.device) -> bool:
    """Whether the kernel can run on ``device``: a CUDA device torch sees, and triton to build the kernel
    (CUDA builds of torch bring it)."""
    return device.type == "cuda" and torch.cuda.is_available() and importlib.util.find_spec("triton") is not None


@functools.lru_cache(maxsize=None)
def kernel_module(interpret: bool = False):
    """train/hogwild_kernel.py with its functions built for the GPU (``triton.jit``), or for Triton's
    interpreter (``interpret``: a launch runs its programs one after another on CPU tensors), whatever the
    environment's TRITON_INTERPRET says: both in one process."""
    from triton import knobs

    spec = importlib.util.spec_from_file_location(f"{__package__}.hogwild_kernel{'_interpreted' * interpret}",
                                                  KERNEL_FILE)
    module = importlib.util.module_from_spec(spec)
    with knobs.runtime.scope():
        knobs.runtime.interpret = interpret
        spec.loader.exec_module(module)
    if interpret:  # the helpers as plain functions: a launch patches triton.language for the whole kernel, and
        # the interpreter's patching again at every helper call (milliseconds each) would take most of a run
        from triton.runtime.interpreter import InterpretedFunction

        for name, value in list(vars(module).items()):
            if isinstance(value, InterpretedFunction) and name != "hogwild_sgd":
                setattr(module, name, value.rewrite())
    return module


#: registers per thread a kernel may use (ptxas' .maxnreg): a program of 2 warps then holds at most 8,192 of an
#: SM's 65,536 (8 programs per SM), one of 8 warps 32,768 (2 per SM); the roofline counts on this, and the tests
#: fail if a variant needs more (it spills)
MAX_REGISTERS = 128
#: floats of a [candidates, dim] tile per thread, which sets the warps: a tile of 1,024 floats (d <= 128, K < 8)
#: takes 2 warps, one of 4,096 (d = 300) 8; at 32 floats a thread a window's five tiles spill
TILE_FLOATS_PER_THREAD = 16

#: a tree's path is scored this many nodes at a time (its nodes' loss terms are independent)
TREE_NODES_AT_ONCE = 8


@dataclass(frozen=True)
class Variant:
    """The compile-time constants of one kernel (their names are the kernel's constexprs), its warps and registers."""

    BAG: int = 1
    SUBWORDS: bool = False
    TREE: bool = False
    SHARE_WINDOW: bool = False
    BIAS: bool = False
    CATEGORICAL: bool = False
    SUBTRACT_LOG_Q: bool = False
    BLOCK_D: int = 128
    BLOCK_C: int = 8
    SPAN: int = WINDOW_SPAN
    num_warps: int = 2
    maxnreg: int = MAX_REGISTERS

    @classmethod
    def of(cls, model: SkipGram, head: Head, bag: int, share_window: bool = False,
           span: int = WINDOW_SPAN) -> "Variant":
        """The variant that trains ``model`` with ``head`` on examples of ``bag`` input words."""
        request, loss = head.request, head.gpu_row_loss()
        width = TREE_NODES_AT_ONCE if request.tree_paths else request.negatives + 1
        dim = model.input.weight.shape[1]
        return cls.sized(dim, width, BAG=bag, SUBWORDS=model.subwords is not None, TREE=request.tree_paths,
                         SHARE_WINDOW=share_window, BIAS=model.bias is not None, CATEGORICAL=loss.categorical,
                         SUBTRACT_LOG_Q=loss.subtract_log_q, SPAN=span)

    @classmethod
    def sized(cls, dim: int, width: int, **constants) -> "Variant":
        """A variant for vectors of ``dim`` and candidate rows of ``width`` (1 + K, or a tree's nodes at once): blocks
        of the next powers of two, warps for TILE_FLOATS_PER_THREAD floats of a [width, dim] tile per thread."""
        block_d, block_c = next_power_of_2(dim), next_power_of_2(width)
        warps = min(8, max(1, block_d * block_c // (32 * TILE_FLOATS_PER_THREAD)))
        return cls(BLOCK_D=block_d, BLOCK_C=block_c, num_warps=warps, **constants)

    def constexprs(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("num_warps", "maxnreg")}

    def options(self) -> dict:
        """The compile options, for a launch and for :func:`compile_variant` alike."""
        return {"num_warps": self.num_warps, "maxnreg": self.maxnreg, "enable_fp_fusion": True}


def next_power_of_2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


class HogwildSGD:
    """Trains a :class:`SkipGram` in place with the Triton kernel, one launch per :meth:`step`
    (on CPU tensors with ``interpret``: Triton's interpreter, for tests)."""

    def __init__(self, model: SkipGram, head: Head, noise: NoiseDistribution, bag: int, share_window: bool = False,
                 span: int = WINDOW_SPAN, interpret: bool = False):
        self.kernel = kernel_module(interpret).hogwild_sgd
        self.variant = Variant.of(model, head, bag, share_window, span)
        device = model.input.weight.device
        nothing = torch.zeros(1, dtype=torch.int64, device=device)  # (for an argument the variant never reads)
        self.word_table = model.input.weight.detach()
        self.context_table = model.output.weight.detach()
        self.input_rows = model.subwords if model.subwords is not None else nothing
        self.bias = model.bias.weight.detach().view(-1) if model.bias is not None else self.context_table  # (unread)
        request = head.request
        self.tree = ((request.tree.nodes, request.tree.codes, request.tree.lengths) if request.tree_paths
                     else (nothing, nothing.bool(), nothing))
        self.noise = noise
        self.negatives = request.negatives
        loss = head.gpu_row_loss()
        self.log_k, self.temperature = loss.log_k, loss.temperature
        self.lr = torch.zeros(1, dtype=torch.float32, device=device)

    def flush(self) -> None:
        """Nothing to merge: the programs write the model's tables themselves."""

    def step(self, inputs: torch.Tensor, targets: torch.Tensor, lr: float,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Train the examples in order (``span`` of them per program); return their summed loss (a 0-d
        tensor on the device). inputs: int64[B] words, or int64[B, R] bags (-1 padded); targets: int64[B]."""
        seed = step_seed(generator).to(self.lr.device)
        self.lr.fill_(lr)
        bags = (inputs if inputs.dim() > 1 else inputs.unsqueeze(1)).contiguous()
        programs = -(-targets.shape[0] // self.variant.SPAN)
        losses = torch.zeros(max(programs, 1), dtype=torch.float32, device=self.lr.device)
        if programs:
            self.kernel[(programs,)](
                self.word_table, self.input_rows, self.context_table, self.bias, self.noise.log_probs,
                self.noise.accept, self.noise.alias, *self.tree, bags, targets.contiguous(), seed, self.lr, losses,
                targets.shape[0], len(self.noise), self.word_table.shape[1], self.input_rows.shape[-1],
                self.tree[0].shape[-1], self.negatives, self.log_k, self.temperature, **self.variant.constexprs(),
                **self.variant.options())
        return losses.sum()


def compile_variant(variant: Variant, arch: int = 90):
    """The kernel of ``variant`` compiled for CUDA compute capability ``arch`` (90: H100/H200, 80: A100),
    with no GPU: a ``triton.compiler.CompiledKernel`` (``.asm["cubin"]``, ``.asm["ptx"]``)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    kernel = kernel_module().hogwild_sgd
    constants = variant.constexprs()
    signature = {**SIGNATURE, **{name: "constexpr" for name in constants}}
    # (torch's allocations are 16-byte aligned, as a launch would find them)
    aligned = {(kernel.arg_names.index(name),): [["tt.divisibility", 16]]
               for name, kind in SIGNATURE.items() if kind.startswith("*")}
    source = ASTSource(fn=kernel, signature=signature, constexprs=constants, attrs=aligned)
    return triton.compile(source, target=GPUTarget("cuda", arch, 32), options=variant.options())


def resource_usage(cubin: bytes) -> dict:
    """Registers per thread, stack, shared and local (spilled) memory of the cubin's kernel, from
    ``cuobjdump --dump-resource-usage`` (its line ``REG:40 STACK:0 SHARED:0 LOCAL:0 ...``)."""
    import triton

    tool = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    with tempfile.NamedTemporaryFile(suffix=".cubin") as handle:
        handle.write(cubin)
        handle.flush()
        text = subprocess.run([tool, "--dump-resource-usage", handle.name], capture_output=True, text=True,
                              check=True).stdout
    line = next(line for line in text.splitlines() if "REG:" in line)
    return {key.lower(): int(value) for key, value in re.findall(r"(REG|STACK|SHARED|LOCAL):(\d+)", line)}
