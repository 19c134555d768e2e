"""A fake CUDA device: the GPU path driven on a CPU-only build of torch, in tests that run everywhere.

Inside :class:`FakeCuda` (or the :func:`fake_cuda` fixture) a tensor made with ``device="cuda"`` is a
fake tensor (torch's ``FakeTensorMode``): it has a shape, a dtype and a device but no values, every op
checks what a CUDA build checks first (all of an op's tensors on one device, else
``FakeTensorDeviceMismatchError``), and an op costs microseconds whatever the shapes. The code under test
runs unchanged; what the CPU build lacks, or what the fake mode lets through, is stood in for here:

- **Device guards.** Python-level calls that open a CUDA device guard before they dispatch (indexing and
  index assignment, ``.to``/``.cuda`` across devices, ``copy_``, ``contiguous``, ``new_tensor``,
  ``torch.tensor(array, device=...)``, ``~``) fail on a CPU build with "not linked with support for cuda
  devices": :class:`_FakeCudaFunctions` reroutes them to the aten ops they stand for (and checks the
  indices' device as CUDA's indexing does).
- **Generators.** ``torch.Generator(device="cuda")`` cannot be built on a CPU build: it gives a
  :class:`CudaGeneratorStandIn`, a CPU generator whose ``device`` says cuda. Fake random ops accept any
  generator, so every call with a ``generator=`` checks its device against the result's and raises
  CUDA's "Expected a 'cuda' device type for generator but found 'cpu'".
- **The runtime.** ``torch.cuda``'s ``Event``, ``current_stream``, ``stream``, ``device``,
  ``set_device``, ``current_device``, ``synchronize`` and the memory counters are stood in for by
  :class:`FakeCudaRuntime`, which records what they were asked (:attr:`FakeCuda.runtime`).
- **Autograd.** Recording an autograd graph on a fake CUDA tensor aborts the process (the engine's
  device guard, uncatchable). Grad mode is off, and ``torch.autograd.grad`` returns zeros shaped like its
  inputs on their device, after checking the outputs and inputs share one device. So the forward and
  the update run here; the gradients' values are checked on the CPU (tests/test_row_step.py) and their
  formulas' devices on ``device="meta"`` (:func:`host_reads_on_meta`, tests/test_fake_cuda.py).
- **Host reads.** A CUDA tensor has no value here. Inside :meth:`FakeCuda.strict` (by default the
  trainer's step loop, :data:`STEP_LOOP`, less its deliberate sync points, :data:`SYNC_POINTS`) a read
  of one by the host raises :class:`HostSync`: ``int``/``float``/``bool``/``.item()``/``.tolist()``/
  ``.numpy()``, a blocking device-to-host copy (``.cpu()``, ``.to("cpu")``), an op whose output shape
  depends on values (``nonzero``, ``unique``, a boolean mask): what ``torch.cuda.set_sync_debug_mode("error")``
  catches on a device. ``torch.cuda.synchronize`` and a stream's ``synchronize`` do too. Elsewhere a read
  returns the answer of a healthy run (:data:`HEALTHY_READS`: every loss and parameter finite), and a
  read of a CPU tensor's value, which in the code under test is the pinned copy of a chunk's pair count
  (sampling/pairs.py ``HostValue``), returns :attr:`FakeCuda.pair_count`.

Not covered: ``torch.autocast("cuda")`` and ``torch.compile`` cannot be driven this way (the full
softmax's autograd step), nor can values (a kernel's numbers need a device or the CPU path).

Usage::

    with FakeCuda(pair_count=40) as fake:
        trainer = Trainer(make_config(..., device="cuda"), corpus, vocab)
        trainer.fit()
    fake.runtime.events  # the devices of the streams events were recorded on
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from unittest import mock

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode, unset_fake_temporarily
from torch.overrides import TorchFunctionMode

from w2v_contrastive.train import trainer as trainer_module

aten = torch.ops.aten

#: the trainer's step loop, where no host read of a device value may happen (:meth:`FakeCuda.strict`)
STEP_LOOP = (trainer_module.Trainer, "_train")
#: the loop's deliberate sync points (docs/gpu.md, "Where the host still waits"): a metrics record (the mean
#: loss, after checking every loss was finite), a checkpoint or the in-memory state kept for back-off, and
#: the checkpoint a signal asks for
SYNC_POINTS = ((trainer_module.Trainer, "_log"), (trainer_module.Trainer, "_checkpoint"),
               (trainer_module.Trainer, "_interrupt"))
#: what the trainer builds on the CPU with real values before it moves it to the device: the model (a fake mode
#: cannot move parameters it made itself to another device)
BUILT_ON_THE_CPU = ((trainer_module, "build_model"),)
#: what reading a CUDA value returns outside the step loop, by kind: the answers of a healthy run (the
#: finiteness checks pass, no step had a non-finite loss: first bad step -1, losses 0.0)
HEALTHY_READS = {bool: True, int: -1, float: 0.0}


class HostSync(AssertionError):
    """The host read a CUDA value (or waited for the device) inside the step loop."""


class CudaGeneratorStandIn(torch.Generator):
    """What ``torch.Generator(device="cuda")`` makes under :class:`FakeCuda`: a CPU generator (its state,
    seeding and draws are the CPU's) whose :attr:`device` is the CUDA device it was asked for. A
    ``torch.Generator(device="cpu")`` is an ordinary CPU generator."""

    def __new__(cls, device: str | torch.device = "cpu"):
        device = torch.device(device)
        if device.type != "cuda":
            return _REAL_GENERATOR(device)
        generator = super().__new__(cls)
        generator.cuda_device = torch.device("cuda", device.index or 0)
        return generator

    def __init__(self, device: str | torch.device = "cpu"):
        pass

    @property
    def device(self) -> torch.device:
        return self.cuda_device


_REAL_GENERATOR = torch.Generator


@dataclass
class FakeStream:
    """A stand-in ``torch.cuda.Stream``: the device it belongs to."""

    device: torch.device
    runtime: "FakeCudaRuntime" = field(repr=False)

    def synchronize(self) -> None:
        self.runtime.wait(f"a synchronize of the stream of {self.device}")

    def wait_stream(self, other: "FakeStream") -> None:
        pass


class FakeEvent:
    """A stand-in ``torch.cuda.Event``: :meth:`record` notes the device of the stream it was recorded on
    (the current device's stream when none is given, as CUDA's), :meth:`synchronize` that it was waited on."""

    def __init__(self, runtime: "FakeCudaRuntime", **options):
        self.runtime, self.device = runtime, None

    def record(self, stream: FakeStream | None = None) -> None:
        stream = stream or self.runtime.current_stream()
        self.device = stream.device
        self.runtime.events.append(stream.device)

    def synchronize(self) -> None:
        if self.device is None:
            raise RuntimeError("a CUDA event waited on before it was recorded")
        self.runtime.event_waits += 1

    def query(self) -> bool:
        return True


class FakeCudaRuntime:
    """The stand-ins of ``torch.cuda``'s runtime calls, and what they were asked: :attr:`current` (the
    current device index), :attr:`set_devices` (every ``set_device``), :attr:`events` (the device of each
    recorded event's stream), :attr:`event_waits`."""

    def __init__(self, fake: "FakeCuda"):
        self.fake = fake
        self.current = 0
        self.set_devices: list[int] = []
        self.events: list[torch.device] = []
        self.event_waits = 0

    def patches(self) -> dict[str, Any]:
        """The ``torch.cuda`` attributes to replace, by name."""
        return {"Event": lambda **options: FakeEvent(self, **options), "current_stream": self.current_stream,
                "default_stream": self.current_stream, "stream": self.stream, "device": self.device,
                "set_device": self.set_device, "current_device": lambda: self.current,
                "synchronize": lambda device=None: self.wait("torch.cuda.synchronize()"),
                "reset_peak_memory_stats": lambda device=None: None, "max_memory_allocated": lambda device=None: 0,
                "memory_allocated": lambda device=None: 0}

    def index(self, device: Any) -> int:
        if device is None:
            return self.current
        if isinstance(device, int):
            return device
        device = torch.device(device)
        return self.current if device.index is None else device.index

    def current_stream(self, device: Any = None) -> FakeStream:
        return FakeStream(torch.device("cuda", self.index(device)), self)

    def set_device(self, device: Any) -> None:
        self.current = self.index(device)
        self.set_devices.append(self.current)

    @contextlib.contextmanager
    def device(self, device: Any) -> Iterator[None]:
        before, self.current = self.current, self.index(device)
        try:
            yield
        finally:
            self.current = before

    @contextlib.contextmanager
    def stream(self, stream: FakeStream | None) -> Iterator[None]:
        with self.device(None if stream is None else stream.device):
            yield

    def wait(self, what: str) -> None:
        if self.fake.is_strict:
            raise HostSync(f"the host waits for the device inside the step loop: {what}")


def _is_cuda(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.device.type == "cuda"


def tensors_in(value: Any) -> Iterator[torch.Tensor]:
    """The tensors in ``value``: a tensor, or dicts, lists and tuples of them (a result, a state dict)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from tensors_in(item)


class _FakeCudaFunctions(TorchFunctionMode):
    """The torch-function layer of :class:`FakeCuda`: reroutes the calls that open a CUDA device guard, checks
    random ops' generators, and turns host reads of CUDA values into :class:`HostSync` (in the step loop)
    or stand-in values (elsewhere). Calls made inside a handled call do not come back here (torch's rule
    for modes), so each handler does its work with aten ops."""

    def __init__(self, fake: "FakeCuda"):
        super().__init__()
        self.fake = fake
        tensor = torch.Tensor
        self.handlers: dict[Callable, Callable] = {
            tensor.__getitem__: _get_item, tensor.__setitem__: _set_item, tensor.to: self._to,
            tensor.cuda: lambda t, device=None, non_blocking=False, **_: self._copy_to(
                t, torch.device("cuda" if device is None else device), None, non_blocking),
            tensor.cpu: lambda t, **_: self._copy_to(t, torch.device("cpu"), None, False),
            torch.tensor: self._tensor, torch.as_tensor: self._tensor, tensor.copy_: self._copy_into,
            tensor.new_tensor: lambda t, data, dtype=None, device=None, **_: self._tensor(
                data, dtype or t.dtype, device or t.device),
            tensor.contiguous: _contiguous, tensor.__invert__: aten.bitwise_not.default,
            tensor.__deepcopy__: _deep_copy,
            tensor.nonzero: self._data_dependent_shape, torch.nonzero: self._data_dependent_shape,
            tensor.unique: self._data_dependent_shape, torch.unique: self._data_dependent_shape,
            tensor.masked_select: self._data_dependent_shape, torch.masked_select: self._data_dependent_shape,
        }
        for read, kind in [(tensor.__int__, int), (tensor.__index__, int), (tensor.__float__, float),
                           (tensor.__complex__, complex), (tensor.__bool__, bool), (tensor.item, None)]:
            self.handlers[read] = functools.partial(self._read_scalar, kind=kind)
        self.handlers[tensor.tolist] = lambda t: self._read_all(t, torch.Tensor.tolist)
        for read in (tensor.numpy, tensor.__array__):
            self.handlers[read] = lambda t, *args, **kwargs: self._read_all(t, torch.Tensor.numpy)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        handler = self.handlers.get(func)
        if handler is not None:
            return handler(*args, **kwargs)
        result = func(*args, **kwargs)
        if kwargs.get("generator") is not None:
            _check_generator(kwargs["generator"], result)
        return result

    # -- host reads ------------------------------------------------------------------------------------

    def _read_scalar(self, tensor: torch.Tensor, kind: type | None) -> Any:
        """``kind(tensor)`` (``tensor.item()`` for None) of a one-element tensor."""
        if tensor.numel() != 1:
            raise RuntimeError("a Tensor with more than one value read as a scalar")
        value = self._stand_in(tensor, "read")
        return value if kind is None else kind(value)

    def _read_all(self, tensor: torch.Tensor, convert: Callable) -> Any:
        """``convert`` (``tolist`` or ``numpy``) of a tensor shaped like ``tensor``, every value the stand-in
        of :meth:`_stand_in`."""
        value = self._stand_in(tensor, "read as a list or an array")
        with unset_fake_temporarily():
            return convert(_REAL_FULL(tuple(tensor.shape), value, dtype=tensor.dtype))

    def _stand_in(self, tensor: torch.Tensor, how: str) -> Any:
        """The value a read of ``tensor`` returns, or :class:`HostSync` in the step loop."""
        kind = bool if tensor.dtype == torch.bool else float if tensor.dtype.is_floating_point else int
        if not _is_cuda(tensor):
            return kind(self.fake.pair_count)
        self.fake.host_read(f"a CUDA tensor's value {how} ({tensor.dtype}, shape {list(tensor.shape)})")
        return HEALTHY_READS[kind]

    def _data_dependent_shape(self, tensor: torch.Tensor, *args, **kwargs):
        if _is_cuda(tensor):
            self.fake.host_read("an op whose output shape depends on a CUDA tensor's values (nonzero, unique, "
                                "masked_select, a boolean mask)")
        return aten.nonzero.default(tensor)  # (fake tensors cannot have such a shape: raises)

    # -- copies between devices ------------------------------------------------------------------------

    def _to(self, tensor: torch.Tensor, *args, copy: bool = False, **kwargs) -> torch.Tensor:
        device, dtype, non_blocking, _ = torch._C._nn._parse_to(*args, **kwargs)
        same_device = device is None or device == tensor.device or (
            device.type == "cuda" and device.index is None and tensor.device.type == "cuda")
        if not same_device:
            return self._copy_to(tensor, device, dtype, non_blocking)
        if copy or dtype not in (None, tensor.dtype):
            return aten._to_copy.default(tensor, dtype=dtype or tensor.dtype)
        return tensor

    def _tensor(self, data, dtype=None, device=None, **kwargs) -> torch.Tensor:
        """``torch.tensor(data, device="cuda")``: made on the CPU, then copied."""
        if isinstance(data, torch.Tensor) and dtype in (None, data.dtype) and device is None:
            return data
        host = _REAL_TENSOR(data, dtype=dtype)
        return host if device is None else self._copy_to(host, torch.device(device), None, False)

    def _copy_to(self, tensor: torch.Tensor, device: torch.device, dtype, non_blocking: bool) -> torch.Tensor:
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", self.fake.runtime.current)
        if _is_cuda(tensor) and device.type == "cpu" and not non_blocking:
            self.fake.host_read("a blocking copy of a CUDA tensor to the host (.cpu(), .to('cpu'))")
        return aten._to_copy.default(tensor, dtype=dtype or tensor.dtype, device=device, non_blocking=non_blocking)

    def _copy_into(self, target: torch.Tensor, source: torch.Tensor, non_blocking: bool = False) -> torch.Tensor:
        if _is_cuda(source) and target.device.type == "cpu" and not non_blocking:
            self.fake.host_read("a blocking copy of a CUDA tensor into host memory (copy_)")
        return aten.copy_.default(target, source, non_blocking)


_REAL_FULL, _REAL_TENSOR, _REAL_DEEP_COPY = torch.full, torch.tensor, torch.Tensor.__deepcopy__


def _check_generator(generator: torch.Generator, result: Any) -> None:
    """Raise as CUDA's random ops do when ``generator`` is not on the device of the tensors they made (meta
    tensors draw nothing: any generator goes)."""
    for tensor in tensors_in(result):
        if tensor.device.type not in (generator.device.type, "meta"):
            raise RuntimeError(f"Expected a '{tensor.device.type}' device type for generator but found "
                               f"'{generator.device.type}'")


def _deep_copy(tensor: torch.Tensor, memo: dict) -> torch.Tensor:
    """A copy of a fake tensor is fake; of a real one (a generator's state), real."""
    if isinstance(tensor, FakeTensor):
        return _REAL_DEEP_COPY(tensor, memo)
    with unset_fake_temporarily():
        return _REAL_DEEP_COPY(tensor, memo)


def _contiguous(tensor: torch.Tensor, memory_format=torch.contiguous_format) -> torch.Tensor:
    if tensor.is_contiguous(memory_format=memory_format):
        return tensor
    return aten.clone.default(tensor, memory_format=memory_format)


# -- indexing with aten ops ------------------------------------------------------------------------------

def _split_index(tensor: torch.Tensor, key) -> tuple[torch.Tensor, list]:
    """Apply the basic part of an index (ints, slices, None, Ellipsis) to ``tensor`` as aten views, and
    return (that view, the index tensors by dimension of the view, None where a dimension is not indexed)."""
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        at = key.index(Ellipsis)
        used = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:at] + (slice(None),) * (tensor.dim() - used) + key[at + 1:]
    view, dim, advanced = tensor, 0, []
    for item in key:
        if item is None:
            view = aten.unsqueeze.default(view, dim)
            advanced.append(None)
            dim += 1
        elif isinstance(item, bool) or (isinstance(item, torch.Tensor) and item.dtype == torch.bool):
            raise HostSync("indexing with a boolean mask: the result's size depends on the mask's values")
        elif isinstance(item, int):
            view = aten.select.int(view, dim, item)
        elif isinstance(item, slice):
            start, stop, step = item.start, item.stop, item.step or 1
            view = aten.slice.Tensor(view, dim, start, stop, step)
            advanced.append(None)
            dim += 1
        elif isinstance(item, torch.Tensor):
            if item.device.type != "cpu" and item.device != view.device:
                raise RuntimeError(f"indices should be either on cpu or on the same device as the indexed "
                                   f"tensor ({view.device})")
            advanced.append(item)
            dim += 1
        else:
            raise TypeError(f"the fake CUDA device cannot index with {type(item).__name__}")
    return view, advanced


def _get_item(tensor: torch.Tensor, key) -> torch.Tensor:
    view, advanced = _split_index(tensor, key)
    if any(index is not None for index in advanced):
        return aten.index.Tensor(view, advanced)
    return view


def _set_item(tensor: torch.Tensor, key, value) -> None:
    view, advanced = _split_index(tensor, key)
    if not isinstance(value, torch.Tensor):
        value = torch.tensor(value, dtype=tensor.dtype)  # (a 0-d CPU tensor goes with any device)
    if any(index is not None for index in advanced):
        aten.index_put_.default(view, advanced, value)
    else:
        aten.copy_.default(view, value)


class FakeCuda:
    """The fake CUDA device as a context manager (see the module docstring). ``pair_count``: what a read of a
    CPU tensor's value returns (the pinned copy of a chunk's pair count: choose it below a chunk's pair
    buffer and above the batch size, so that chunks cut into several batches). ``strict_step_loop``: make
    the trainer's step loop (:data:`STEP_LOOP`) a :meth:`strict` region, less its :data:`SYNC_POINTS`."""

    def __init__(self, pair_count: int = 40, strict_step_loop: bool = True):
        self.pair_count = pair_count
        self.strict_step_loop = strict_step_loop
        self.runtime = FakeCudaRuntime(self)
        #: the :meth:`strict` regions entered, innermost last: strict (True) or relaxed inside one (False)
        self._strict: list[bool] = []
        self._stack: contextlib.ExitStack | None = None

    @property
    def is_strict(self) -> bool:
        return bool(self._strict) and self._strict[-1]

    @contextlib.contextmanager
    def strict(self, on: bool = True) -> Iterator[None]:
        """A region where a host read of a CUDA value raises :class:`HostSync` (``on=False``: where it may,
        inside a strict one)."""
        self._strict.append(on)
        try:
            yield
        finally:
            self._strict.pop()

    def host_read(self, what: str) -> None:
        if self.is_strict:
            raise HostSync(f"the host reads the device inside the step loop: {what}")

    def __enter__(self) -> "FakeCuda":
        stack = self._stack = contextlib.ExitStack()
        try:
            for name, stand_in in self.runtime.patches().items():
                stack.enter_context(mock.patch.object(torch.cuda, name, stand_in))
            stack.enter_context(mock.patch.object(torch, "Generator", CudaGeneratorStandIn))
            stack.enter_context(mock.patch.object(torch.autograd, "grad", _zero_gradients))
            # the trainer asks torch whether it sees a GPU, which this build never does
            stack.enter_context(mock.patch.object(trainer_module, "resolve_device", torch.device))
            for owner, name in BUILT_ON_THE_CPU:
                stack.enter_context(mock.patch.object(owner, name, _real(getattr(owner, name))))
            if self.strict_step_loop:
                for (owner, name), on in [(STEP_LOOP, True)] + [(point, False) for point in SYNC_POINTS]:
                    stack.enter_context(mock.patch.object(owner, name, self._region(getattr(owner, name), on)))
            stack.enter_context(torch.no_grad())
            stack.enter_context(warnings.catch_warnings())  # (a deep copy of a fake tensor asks for its address)
            warnings.filterwarnings("ignore", "Accessing the data pointer of FakeTensor")
            stack.enter_context(FakeTensorMode(allow_non_fake_inputs=True))
            stack.enter_context(_FakeCudaFunctions(self))
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _region(self, method: Callable, on: bool) -> Callable:
        @functools.wraps(method)
        def wrapped(*args, **kwargs):
            with self.strict(on):
                return method(*args, **kwargs)
        return wrapped


def host_reads_on_meta(pair_count: int = 40) -> TorchFunctionMode:
    """A context for code run on device "meta", where autograd works (the row step's backward, which fake CUDA
    tensors cannot have): a host read of a meta tensor's value (a count the code waits for) returns
    ``pair_count`` instead of failing; meta and CPU tensors do not mix, as CUDA and CPU ones do not."""
    return _FakeCudaFunctions(FakeCuda(pair_count, strict_step_loop=False))


def _real(function: Callable) -> Callable:
    """``function`` run outside the fake mode: on real CPU tensors."""
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with unset_fake_temporarily():
            return function(*args, **kwargs)
    return wrapped


def _zero_gradients(outputs, inputs, *args, **kwargs) -> tuple[torch.Tensor, ...]:
    """The stand-in of ``torch.autograd.grad`` (see the module docstring): zeros shaped like ``inputs``."""
    outputs = list(tensors_in(outputs))
    inputs = list(tensors_in(inputs))
    devices = {t.device for t in outputs + inputs}
    if len(devices) > 1:
        raise RuntimeError(f"autograd.grad over tensors on several devices: {sorted(map(str, devices))}")
    return tuple(torch.zeros_like(t) for t in inputs)


# -- a short run of the trainer on the fake device -------------------------------------------------------

#: the first 96 words of gutenberg-small's first paragraph, in 8 lines (documents) of 12
SHORT_LINES = 8
WORDS_PER_LINE = 12
#: a run over :func:`short_corpus`: two chunks of four lines (48 tokens each) per epoch and two epochs, so the
#: stream crosses two chunk boundaries and an epoch boundary; batches of 16 pairs and a pair count of 24 per
#: chunk (:attr:`FakeCuda.pair_count`) give two steps per chunk, the second padded (8 steps in all); window 2
#: keeps the stream's per-offset loop short; a metrics record every step and a snapshot every 3 steps
#: (--nan-policy backoff keeps it in memory) drive the trainer's sync points too
FAKE_GPU_SETTINGS = dict(device="cuda", min_count=1, dim=8, window=2, epochs=2, batch_size=16, chunk_tokens=48,
                         sample=1e-3, progress=False, log_every_seconds=0, checkpoint_every=3, nan_policy="backoff")
FAKE_GPU_PAIR_COUNT = 24
FAKE_GPU_STEPS = 8


def short_corpus():
    """(EncodedCorpus, Vocabulary) of :data:`SHORT_LINES` lines of real text, every word in the vocabulary."""
    import lzma
    import os

    from w2v_contrastive import TokenizerOptions, Vocabulary, prepare_corpus

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "gutenberg-small.txt.xz")
    with lzma.open(path, "rt", encoding="utf-8") as handle:
        words = handle.read(4000).split("\n", 2)[2].lower().split()[:SHORT_LINES * WORDS_PER_LINE]
    lines = [" ".join(words[at:at + WORDS_PER_LINE]) for at in range(0, len(words), WORDS_PER_LINE)]
    corpus = prepare_corpus(lines, TokenizerOptions(pretokenized=True))
    return corpus, Vocabulary.from_corpus(corpus, 1, None)


def train_on_fake_gpu(corpus_and_vocab, head: str, **settings):
    """(trainer, its TrainStats, the FakeCuda it ran on): a :class:`Trainer` built and fitted on the fake
    device with :data:`FAKE_GPU_SETTINGS` (``settings`` added or replaced)."""
    from w2v_contrastive import make_config

    corpus, vocab = corpus_and_vocab
    with FakeCuda(pair_count=FAKE_GPU_PAIR_COUNT) as fake:
        trainer = trainer_module.Trainer(make_config(head, **{**FAKE_GPU_SETTINGS, **settings}), corpus, vocab)
        stats = trainer.fit()
    return trainer, stats, fake


@pytest.fixture
def fake_cuda() -> Iterator[FakeCuda]:
    """A :class:`FakeCuda` device for one test (pair count 40, strict step loop)."""
    with FakeCuda() as fake:
        yield fake
