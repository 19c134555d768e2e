"""Callbacks: hooks a training run calls between two steps, as gensim's callbacks do.

    class Watch(Callback):
        def on_log(self, record, vectors):
            print(record["words"], vectors().most_similar("king", k=3))

    w2v_contrastive.train(corpus, head="nce", callbacks=[Watch()])

Callbacks run in the process that writes the run's outputs (rank 0 of a torchrun job), and the time
they take is not counted as training time.
"""

from __future__ import annotations

from typing import Callable

from ..vectors import Vectors


class Callback:
    """Override the hooks you need; the others do nothing."""

    def on_log(self, record: dict, vectors: Callable[[], Vectors]) -> None:
        """After each metrics record (every ``log_every_seconds``, and once at the end). ``record`` is
        the line written to metrics.jsonl (step, epoch, words, pairs, loss, lr, seconds, words_per_second);
        ``vectors()`` returns a copy of the current word vectors, made only when called."""

    def on_checkpoint(self, step: int, path: str | None) -> None:
        """After a checkpoint at ``step`` is taken: written to ``path``, or kept in memory only (None)
        for ``nan_policy="backoff"`` in a run without an output folder."""
