"""Training checkpoints: the complete state of a run, written atomically, and the stop signals.

A checkpoint holds everything the rest of the run depends on: the parameters, the optimizer state,
the pair-stream and noise generator states, the pair stream's position (epoch, chunk, batches
consumed, and the generator state its chunk was drawn from), the counters that drive the learning
rate schedule, and the length of the metrics log at that moment. Resuming from it therefore
replays the same updates an uninterrupted run makes (bit for bit where the run is deterministic:
see docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Iterator

import torch

from ..errors import W2VError
from ..fileio import atomic_write

#: the in-progress state file inside a run's ``<out>.partial`` folder (removed when the run completes)
STATE_FILE = "training-state.pt"
#: 2: the pair stream's order became a setting (pair_order); a format-1 checkpoint shuffled pairs
#: 3: the pair stream draws on the training device with fixed shapes (other pairs for a seed than format 2),
#: the stats name the step that ran, and the generators' device is recorded
STATE_FORMAT = 3
#: settings that may change when a run resumes: they do not change what is trained
RESUMABLE_OVERRIDES = ("checkpoint_every", "checkpoint_minutes", "nan_policy", "progress", "log_every_seconds",
                       "workers")


def save_state(path: str, state: dict) -> None:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_write(path, "wb") as handle:
        torch.save(state, handle)


def load_state(path: str) -> dict:
    """The state saved by :func:`save_state`, or a one-line error naming the file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise W2VError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # torch raises many types for damaged files
        raise W2VError(f"{path}: not a readable training checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise W2VError(f"{path}: not a training checkpoint of this version (format {STATE_FORMAT})")
    return state


def find_state(directory: str) -> str:
    """The checkpoint of the interrupted run whose output folder is ``directory`` (or of its
    ``.partial`` work folder, which may also be named directly)."""
    directory = os.fspath(directory).rstrip("/\\")
    for candidate in (directory + ".partial", directory):
        path = os.path.join(candidate, STATE_FILE)
        if os.path.isfile(path):
            return path
    if os.path.isfile(os.path.join(directory, "config.json")):
        raise W2VError(f"{directory}: this run finished; there is nothing to resume")
    raise W2VError(f"{directory}: no checkpoint to resume ({directory}.partial/{STATE_FILE} does not exist)")


class StopSignals:
    """While active (in the main thread), SIGINT and SIGTERM only set :attr:`received`, so that the
    training loop can write a checkpoint and stop between two steps. A second SIGINT interrupts at
    once."""

    def __init__(self) -> None:
        self.received: int | None = None

    def _handle(self, number: int, frame) -> None:
        if self.received == signal.SIGINT and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = number

    @contextlib.contextmanager
    def active(self) -> Iterator["StopSignals"]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {number: signal.signal(number, self._handle) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
