"""Defects of the GPU path a review found, each checked where a GPU user would meet it first: on the fake
CUDA device (tests/fake_cuda.py) where it needs one, on the CPU where it does not."""

import weakref

import numpy as np
import pytest
import torch

from w2v_contrastive import make_config
from w2v_contrastive.errors import W2VError
from w2v_contrastive.eval.estimators import held_out_pairs
from w2v_contrastive.sampling.pairs import HostValue, PairStream
from w2v_contrastive.train.state import MAX_BACKOFFS, NonFinite
from w2v_contrastive.train.trainer import Trainer
from tests.fake_cuda import (FAKE_GPU_PAIR_COUNT, FakeCuda, fake_cuda, short_corpus, tensors_in,  # noqa: F401
                             train_on_fake_gpu)


@pytest.fixture(scope="module")
def corpus():
    return short_corpus()


def test_a_device_count_is_awaited_on_its_own_devices_stream(fake_cuda):
    """The copy of a count to the host runs on the stream of the count's device; an event recorded on the
    current device's stream (another GPU's) would let the host read the count before it arrives."""
    count = torch.zeros((), dtype=torch.int64, device="cuda:1")
    assert fake_cuda.runtime.current == 0
    HostValue(count).get()
    assert fake_cuda.runtime.events == [torch.device("cuda", 1)]


def test_a_run_on_the_second_gpu_selects_it(corpus):
    trainer, stats, fake = train_on_fake_gpu(corpus, "negative-sampling", device="cuda:1")
    assert fake.runtime.set_devices == [1]
    assert set(fake.runtime.events) == {torch.device("cuda", 1)}
    assert {parameter.device for parameter in trainer.model.parameters()} == {torch.device("cuda", 1)}


def test_a_snapshot_keeps_the_optimizer_state_on_the_cpu_and_restoring_it_moves_it_back(corpus):
    trainer, _, _ = train_on_fake_gpu(corpus, "negative-sampling", optimizer="adam")
    snapshot = trainer.state.last_good  # (--nan-policy backoff: the state kept in memory at the last snapshot)
    moments = [t for t in tensors_in(snapshot["optimizers"]) if t.dim() == 2]
    assert len(moments) == 4  # Adam's two moments of the two tables
    assert {t.device.type for t in tensors_in(snapshot["optimizers"])} == {"cpu"}
    with FakeCuda():
        trainer.state.restore(snapshot)
    live = list(tensors_in(trainer.step.optimizers[0].state_dict()["state"]))
    assert live and {t.device.type for t in live} == {"cuda"}


def test_held_out_pairs_read_the_training_corpus_and_keep_only_each_chunks_pairs(corpus, monkeypatch):
    """No second copy of the corpus goes to the device, and a chunk's fixed-shape buffers (its n-slot and
    [n, 2 window] blocks) are freed once its pairs are taken: only the held-out pairs stay."""
    uploads, buffers = [], []
    upload, chunk_pairs = PairStream._upload, PairStream.chunk_pairs

    def counted_upload(self, *args):
        uploads.append(args)
        return upload(self, *args)

    def watched_chunk_pairs(self, *args):
        alive = [buffer for buffer in buffers if buffer() is not None]
        assert not alive, f"{len(alive)} buffers of earlier chunks are still held"
        chunk = chunk_pairs(self, *args)
        buffers.extend(weakref.ref(t) for t in (chunk.centers, chunk.contexts))
        return chunk

    monkeypatch.setattr(PairStream, "_upload", counted_upload)
    trainer, _, _ = train_on_fake_gpu(corpus, "negative-sampling", holdout=0.4)
    assert len(uploads) == 1
    chunks_held_out = [first for first, end in trainer.pairs.chunks if trainer.held_out[first:end].any()]
    assert len(chunks_held_out) == 2
    monkeypatch.setattr(PairStream, "chunk_pairs", watched_chunk_pairs)
    with FakeCuda(pair_count=FAKE_GPU_PAIR_COUNT):
        centers, contexts = held_out_pairs(trainer.pairs, len(trainer.vocab), trainer.held_out)
    assert len(uploads) == 1
    assert centers.shape[0] == contexts.shape[0] == FAKE_GPU_PAIR_COUNT * len(chunks_held_out)
    assert centers.device.type == "cuda"


def test_back_offs_exhausted_without_an_output_folder_stop_with_the_one_line_error(corpus):
    corpus_, vocab = corpus
    trainer = Trainer(make_config("negative-sampling", device="cpu", fused_cpu=False, min_count=1, dim=8,
                                  nan_policy="backoff", progress=False), corpus_, vocab)
    state = trainer.state
    state.checkpoint()  # (in memory: there is no checkpoint path)
    state.stats.backoffs = MAX_BACKOFFS
    with pytest.raises(W2VError) as error:
        state.back_off(NonFinite(7, "the loss is not finite"))
    message = str(error.value)
    assert message.startswith("step 7: the loss is not finite: training the negative-sampling head diverged")
    assert f"after {MAX_BACKOFFS} learning-rate back-offs" in message and "kept in" not in message
    assert "\n" not in message
