"""What a GPU holds for the row step with subwords at V = 1M words, 2M buckets, d = 300, 8,192 pairs a step.

    python scripts/bench_gpu_memory.py --corpus data/gutenberg-mid.txt.xz      # -> bench/gpu-memory-<date>.json

Per configuration (skip-gram, CBOW; negative-sampling, SGD, 3-6 n-grams), in bytes:
- what scales with V, counted: the input table ((V + buckets) x d float32), the output table (V x d), the
  vocabulary's subword rows (int64[V, R], R = 1 + the longest word's n-grams: 227 for a word of 58 characters,
  which a vocabulary of a million words has) and each word's row count (int64[V]);
- one step's tensors, measured: every tensor the step's operations create, alive until its storage is freed
  (:class:`PeakTensors`), at the peak of their sum. They depend on the batch's words, not on V, so they are
  measured with the corpus' own vocabulary plus one word of 58 characters, 2M buckets and d = 300, on a
  batch of the real pair stream (subsampling 1e-4, window 5);
- the padded layout the packed bags replaced (every bag padded to the longest bag, R rows a word), from its
  shapes: the step held the gathered rows, their gradient and its copy for the update, float32[B, R', d]
  each (R' = R for skip-gram, 2 x window x R for CBOW), measured too at a small batch by running this script
  against that code (``--padded-check``) to confirm the factor 3.
On a GPU (``--device cuda``) the step's peak is torch.cuda.max_memory_allocated above the model's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import DEFAULT_CORPUS, provenance, write_json  # noqa: E402

#: a word of 58 characters: 1 + 57 + 56 + 55 + 54 = 227 input rows at n-grams of 3-6
LONG_WORD = "pneumonoultramicroscopicsilicovolcanoconiosis" + "xylophonistic"
#: the scale of the table
SCALE = {"vocab": 1_000_000, "buckets": 2_000_000, "dim": 300, "batch": 8192, "window": 5}


class PeakTensors(TorchDispatchMode):
    """The peak, over the operations run inside it, of the bytes of the tensors they created that are still
    alive (a storage counts from the operation that made it until it is freed; views and in-place results
    share their input's storage and count nothing). ``largest``: the largest single one."""

    def __init__(self):
        super().__init__()
        self.live, self.peak, self.largest = 0, 0, 0
        self.alive: set[int] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        for tensor in tree_leaves(out):
            if not isinstance(tensor, torch.Tensor):
                continue
            storage = tensor.untyped_storage()
            address, size = storage.data_ptr(), storage.nbytes()
            if size == 0 or address in inputs or address in self.alive:
                continue
            self.alive.add(address)
            self.live += size
            self.peak, self.largest = max(self.peak, self.live), max(self.largest, size)
            weakref.finalize(storage, self._freed, address, size)
        return out

    def _freed(self, address: int, size: int) -> None:
        self.alive.discard(address)
        self.live -= size


def step_memory(model, step, batches, device: str) -> dict:
    """One row step's tensors (bytes) on the second of ``batches`` (the first warms up): their peak (on a GPU
    torch.cuda.max_memory_allocated above what was allocated before, and that maximum itself), the batch's
    input rows, and the longest bag's rows (read off the padded rows, which both layouts keep)."""
    step(next(batches), 0.025)
    sample = next(batches)
    words = sample.inputs
    rows = (model.subwords[words.clamp(min=0)] >= 0) & (words >= 0).unsqueeze(-1)
    found = {"rows": int(rows.sum()), "longest_bag_rows": model.subwords.shape[1]}
    if device == "cpu":
        with PeakTensors() as sizes:
            step(sample, 0.025)
        return {**found, "peak_bytes": sizes.peak, "largest_bytes": sizes.largest}
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step(sample, 0.025)
    torch.cuda.synchronize()
    return {**found, "peak_bytes": torch.cuda.max_memory_allocated() - base,
            "device_peak_bytes": torch.cuda.max_memory_allocated()}


def row_step(model_kind: str, words: list[str], counts, dim: int, buckets: int, batch: int, device: str):
    """(model, row step, noise) of negative-sampling with 3-6 n-grams over ``words`` (``counts`` each) on ``device``."""
    from w2v_contrastive import TrainConfig
    from w2v_contrastive.heads import build_head
    from w2v_contrastive.sampling.noise import NoiseDistribution
    from w2v_contrastive.train.setup import build_model
    from w2v_contrastive.train.steps import RowSGD, RowStep

    config = TrainConfig(head="negative-sampling", model=model_kind, dim=dim, subwords="3-6", buckets=buckets)
    head = build_head(config.head, config)
    model = build_model(config, words, head).to(device)
    noise = NoiseDistribution(counts, config.alpha, torch.device(device))
    step = RowStep(model, head, noise, torch.Generator(device=device).manual_seed(1), batch, RowSGD())
    return model, step, noise


def corpus_step_memory(model_kind: str, corpus, vocab, batch: int, device: str = "cpu") -> dict:
    """:func:`step_memory` on a batch of ``corpus``' pair stream, with ``vocab``'s words plus :data:`LONG_WORD`,
    2M buckets, d = 300."""
    import numpy as np

    from w2v_contrastive.sampling.pairs import PairStream

    counts = np.append(vocab.counts, 1)
    model, step, _ = row_step(model_kind, list(vocab.words) + [LONG_WORD], counts, SCALE["dim"], SCALE["buckets"],
                              batch, device)
    stream = PairStream(corpus, len(vocab), vocab.keep_probabilities(1e-4), SCALE["window"], batch,
                        torch.device(device), torch.Generator(device=device).manual_seed(0), model=model_kind)
    return step_memory(model, step, stream.batches(1), device)


def full_scale_step_memory(model_kind: str, device: str) -> dict:
    """:func:`step_memory` at :data:`SCALE` itself (a GPU's check): a million words (w0, w1, ..., and
    :data:`LONG_WORD`) of Zipf counts, 2M buckets, d = 300, 8,192 examples whose words are drawn from the noise
    distribution (CBOW: windows of 2 x 5 with 30% of the places empty)."""
    import numpy as np

    from w2v_contrastive.sampling.pairs import PairBatch

    vocab, batch = SCALE["vocab"], SCALE["batch"]
    counts = np.maximum(1, 1e9 / np.arange(1, vocab + 1)).astype(np.int64)
    words = [f"w{i}" for i in range(vocab - 1)] + [LONG_WORD]
    model, step, noise = row_step(model_kind, words, counts, SCALE["dim"], SCALE["buckets"], batch, device)
    generator = torch.Generator(device=device).manual_seed(0)

    def batches():
        while True:
            targets = noise.sample((batch,), generator)
            if model_kind == "skipgram":
                yield PairBatch(noise.sample((batch,), generator), targets, float(batch))
                continue
            windows = noise.sample((batch, 2 * SCALE["window"]), generator)
            empty = torch.rand(windows.shape, generator=generator, device=device) < 0.3
            empty[:, 0] = False
            yield PairBatch(targets, windows.masked_fill(empty, -1), float(batch))

    return step_memory(model, step, batches(), device)


def table(model_kind: str, measured: dict, measured_batch: int) -> dict:
    """The bytes of one configuration at :data:`SCALE`: counted (tables, subword rows), measured (the step, scaled
    from ``measured_batch`` pairs to SCALE's batch: every tensor of a step is linear in B) and the padded step."""
    vocab, buckets, dim, batch = SCALE["vocab"], SCALE["buckets"], SCALE["dim"], SCALE["batch"]
    longest = measured["longest_bag_rows"]
    bag_width = longest * (2 * SCALE["window"] if model_kind == "cbow" else 1)
    scale = batch / measured_batch
    counted = {"input_table": (vocab + buckets) * dim * 4, "output_table": vocab * dim * 4,
               "subword_rows": vocab * longest * 8 + vocab * 8}
    step = {"packed_step_peak": int(measured["peak_bytes"] * scale),
            "packed_rows_per_example": measured["rows"] / measured_batch,
            "padded_step_peak": 3 * batch * bag_width * dim * 4 + batch * bag_width * 8}
    return {**counted, **step, "total_packed": sum(counted.values()) + step["packed_step_peak"],
            "total_padded": sum(counted.values()) + step["padded_step_peak"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--batch", type=int, default=2048, help="pairs of the measured step (scaled to 8,192)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--padded-check", action="store_true",
                        help="measure the step at --batch only, without the table (to run against the padded code)")
    parser.add_argument("--out", default=f"bench/gpu-memory-{datetime.date.today()}.json")
    args = parser.parse_args()
    import w2v_contrastive as w2v
    from w2v_contrastive.corpus.vocab import Vocabulary

    torch.manual_seed(0)
    corpus = w2v.prepare_corpus(args.corpus)
    vocab = Vocabulary.from_corpus(corpus, 5)
    report = {**provenance(), "corpus": args.corpus, "corpus_vocabulary": len(vocab), "scale": SCALE,
              "measured_batch": args.batch,
              "device": args.device, "configurations": {}}
    for model_kind in ("skipgram", "cbow"):
        measured = corpus_step_memory(model_kind, corpus, vocab, args.batch, args.device)
        row = {"measured": measured}
        if not args.padded_check:
            row.update(table(model_kind, measured, args.batch))
        report["configurations"][model_kind] = row
        print(json.dumps({model_kind: row}), flush=True)
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
