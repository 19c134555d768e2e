"""Progress of a training run (or of encoding a corpus) on stderr: a live bar on a terminal, a plain line
every few seconds elsewhere.

A bar redraws itself with carriage returns many times a second; written into a file (a CI log,
``| tee``) that is thousands of partial lines. So when stderr is not a terminal, the run writes one
complete line every ``LINE_SECONDS`` instead, and a last one when it ends::

    nce: 12.1M/20.1M words (60%), 845k words/s, loss 2.4402, lr 0.02013, 9s left
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm.auto import tqdm

#: seconds between two progress lines when stderr is not a terminal
LINE_SECONDS = 5.0


class Progress:
    """``unit``s (words, tokens) done out of ``total`` (None: not known ahead), with the speed and the
    latest figures of :meth:`set_fields` (loss, learning rate).

    ``enabled=False`` shows nothing. ``stream`` (default stderr) decides the form: a tqdm bar when it
    is a terminal, plain lines otherwise."""

    def __init__(self, total: int | None, initial: int = 0, desc: str = "", enabled: bool = True,
                 stream: TextIO | None = None, unit: str = "words"):
        self.stream = stream or sys.stderr
        self.total, self.done, self.desc, self.unit = None if total is None else max(1, total), initial, desc, unit
        self.enabled = enabled
        self.fields: dict[str, str] = {}
        self.bar = None
        if enabled and _is_terminal(self.stream):
            self.bar = tqdm(total=total, initial=initial, unit=unit[0], unit_scale=True, dynamic_ncols=True, desc=desc,
                            file=self.stream)
        self.started = time.perf_counter()
        self.start_done = initial
        self.last_line = self.started

    def update(self, done: int) -> None:
        """``done`` words of the total are trained."""
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
        self.done = done
        if self.enabled and self.bar is None and time.perf_counter() - self.last_line >= LINE_SECONDS:
            self._line()

    def set_fields(self, **fields: str) -> None:
        """Figures shown beside the count (the bar also shows its own speed)."""
        self.fields = fields
        if self.bar is not None:
            self.bar.set_postfix(fields, refresh=False)

    def close(self, finished: bool = True) -> None:
        """End the display: a last line, unless the work did not finish (an error says why instead)."""
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and finished:
            self._line(last=True)

    def _line(self, last: bool = False) -> None:
        now = time.perf_counter()
        rate = (self.done - self.start_done) / max(now - self.started, 1e-9)
        if self.total is None:
            parts = [f"{_count(self.done)} {self.unit}"]
        else:
            parts = [f"{_count(self.done)}/{_count(self.total)} {self.unit} ({100.0 * self.done / self.total:.0f}%)"]
        parts += [f"{rate / 1000:,.0f}k {self.unit}/s", *(f"{name} {value}" for name, value in self.fields.items())]
        if not last and self.total is not None and 0 < self.done < self.total and rate > 0:
            parts.append(f"{(self.total - self.done) / rate:.0f}s left")
        self.stream.write(f"{self.desc}: {', '.join(parts)}\n")
        self.stream.flush()
        self.last_line = now


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def _count(words: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if words >= size:
            return f"{words / size:.1f}{suffix}"
    return f"{words:.0f}"
