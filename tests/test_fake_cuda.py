"""The GPU path on a fake CUDA device (tests/fake_cuda.py), on every run of the suite, with or without a GPU.

The real Trainer, PairStream, RowStep and TrainingState train with ``device="cuda"`` in every configuration
that takes the row step on a GPU, over two chunk boundaries and an epoch boundary, through the trainer's
metrics records and snapshots (tests/fake_cuda.py ``FAKE_GPU_SETTINGS``). A run fails on a device mismatch,
on a CPU generator handed to a CUDA random op, and on a read of a CUDA value by the host inside the step
loop; the last test plants each kind of defect and checks that the fake device catches it.
"""

import pytest
import torch

from w2v_contrastive import make_config
from w2v_contrastive.heads import HEADS, build_head
from w2v_contrastive.sampling import pairs as pairs_module
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.sampling.pairs import PairBatch, PairStream
from w2v_contrastive.train.setup import build_model
from w2v_contrastive.train.state import TrainingState
from w2v_contrastive.train.steps import RowAdam, RowSGD, RowStep
from tests.fake_cuda import (FAKE_GPU_SETTINGS, FAKE_GPU_STEPS, HostSync, host_reads_on_meta, short_corpus,
                             train_on_fake_gpu)

#: every configuration of the row step: each head it trains (all but the full softmax, whose autograd step
#: runs under autocast and torch.compile, which a fake device cannot drive), then CBOW, subwords (with tied
#: tables too), shared and in-batch negatives, Adam, held-out documents and the pair order
CASES = [(name, {}) for name in sorted(HEADS) if name != "softmax"] + [
    ("negative-sampling", {"model": "cbow"}),
    ("hierarchical-softmax", {"model": "cbow"}),
    ("negative-sampling", {"subwords": "2-4", "buckets": 50}),
    ("contrastive", {"subwords": "2-4", "buckets": 50}),
    ("infonce", {"model": "cbow", "subwords": "3-3", "buckets": 50, "in_batch_negatives": True, "negatives": 3}),
    ("negative-sampling", {"shared_negatives": True}),
    ("infonce", {"in_batch_negatives": True}),
    ("negative-sampling", {"optimizer": "adam", "output_bias": True}),
    ("negative-sampling", {"holdout": 0.4}),
    ("negative-sampling", {"pair_order": "pair"}),
]


@pytest.fixture(scope="module")
def corpus():
    return short_corpus()


@pytest.mark.parametrize("head,settings", CASES, ids=[f"{h}-{'-'.join(s) or 'default'}" for h, s in CASES])
def test_every_row_step_configuration_trains_on_a_fake_gpu(corpus, head, settings):
    trainer, stats, fake = train_on_fake_gpu(corpus, head, **settings)
    assert (trainer.setup.step, trainer.device.type) == ("rows", "cuda")
    assert stats.steps == FAKE_GPU_STEPS
    position = trainer.pairs.position
    assert (position.epoch, position.chunk) == (1, len(trainer.pairs.chunks) - 1) and len(trainer.pairs.chunks) == 2
    assert len([r for r in stats.history if "loss" in r]) >= FAKE_GPU_STEPS  # a record (a sync point) every step
    assert trainer.state.last_checkpoint_step >= 3  # snapshots every 3 steps
    # the stream waited on one event per chunk it drew (the pair counts), each recorded on the training device
    assert fake.runtime.event_waits >= 2 * len(trainer.pairs.chunks)
    assert set(fake.runtime.events) == {torch.device("cuda", 0)}
    assert {parameter.device.type for parameter in trainer.model.parameters()} == {"cuda"}


#: the configurations that differ in the step (not only in the stream)
STEP_CASES = [(head, settings) for head, settings in CASES if not {"holdout", "pair_order"} & set(settings)]


@pytest.mark.parametrize("head,settings", STEP_CASES, ids=[f"{h}-{'-'.join(s) or 'default'}" for h, s in STEP_CASES])
def test_the_row_steps_backward_keeps_to_the_device(corpus, head, settings):
    """Autograd cannot run on fake CUDA tensors, so the row step's backward (each head's formulas, the bags'
    mean) runs on device "meta" instead: a tensor it made on the CPU would not mix with the meta ones."""
    words, vocab = corpus[1].words, corpus[1].counts
    config = make_config(head, **{**FAKE_GPU_SETTINGS, "device": "cpu", **settings})
    meta = torch.device("meta")
    objective = build_head(head, config)
    objective.use_vocabulary(vocab, meta)
    model = build_model(config, words, objective).to(meta)
    adam = (config.optimizer or objective.default_optimizer) == "adam"
    update = RowAdam(model.parameters(), lr=0.1) if adam else RowSGD()
    step = RowStep(model, objective, NoiseDistribution(vocab, config.alpha, meta), torch.Generator(), 16, update)
    centers = torch.zeros(12, dtype=torch.int64, device=meta)  # (a short batch: padded to 16 unless in-batch)
    contexts = torch.zeros((12, 2 * config.window) if config.model == "cbow" else 12, dtype=torch.int64, device=meta)
    with host_reads_on_meta():
        loss = step(PairBatch(centers, contexts, 12.0), 0.1)
    assert loss.device == meta and loss.shape == ()


def _plant(monkeypatch, owner, name, wrap):
    """Replace ``owner.name`` by ``wrap(original)``."""
    monkeypatch.setattr(owner, name, wrap(getattr(owner, name)))


def _cpu_generator_for_noise(monkeypatch):
    _plant(monkeypatch, NoiseDistribution, "sample",
           lambda sample: lambda self, shape, generator=None: sample(self, shape, torch.Generator()))


def _alias_table_on_the_cpu(monkeypatch):
    def build(init):
        def init_then_leave_on_the_cpu(self, *args, **kwargs):
            init(self, *args, **kwargs)
            self.accept, self.alias = self.accept.cpu(), self.alias.cpu()
        return init_then_leave_on_the_cpu
    _plant(monkeypatch, NoiseDistribution, "__init__", build)


def _keep_probabilities_on_the_cpu(monkeypatch):
    def tables(make):
        def make_then_leave_keep_on_the_cpu(self, *args):
            skip, keep = make(self, *args)
            return skip, keep.cpu()
        return make_then_leave_keep_on_the_cpu
    _plant(monkeypatch, PairStream, "_line_and_token_tables", tables)


def _bool_in_the_update(monkeypatch):
    def update(call):
        def update_if_any_gradient(self, table, rows, grads, lr):
            if bool(grads.abs().sum() > 0):
                call(self, table, rows, grads, lr)
        return update_if_any_gradient
    _plant(monkeypatch, RowSGD, "__call__", update)


def _item_in_the_loss_accounting(monkeypatch):
    _plant(monkeypatch, TrainingState, "count_step",
           lambda count: lambda self, pairs, loss: count(self, pairs, torch.tensor(loss.item())))


def _loss_copied_to_the_host(monkeypatch):
    _plant(monkeypatch, RowStep, "__call__", lambda call: lambda self, batch, lr: call(self, batch, lr).cpu())


def _nonzero_in_the_stream(monkeypatch):
    _plant(monkeypatch, pairs_module, "select", lambda select: lambda mask, fill, fixed: mask.nonzero().squeeze(1))


#: (a defect, how it is planted, what the fake device raises)
PLANTED = [
    ("a CPU generator for the noise draws", _cpu_generator_for_noise, RuntimeError,
     "Expected a 'cuda' device type for generator but found 'cpu'"),
    ("the alias table left on the CPU", _alias_table_on_the_cpu, RuntimeError, "indices should be either on cpu"),
    ("the keep probabilities left on the CPU", _keep_probabilities_on_the_cpu, RuntimeError,
     "Expected all tensors to be on the same device"),
    ("bool() of a CUDA tensor in the update", _bool_in_the_update, HostSync, "torch.bool"),
    (".item() of the loss", _item_in_the_loss_accounting, HostSync, "value read"),
    ("a blocking copy of the loss to the host", _loss_copied_to_the_host, HostSync, "blocking copy"),
    ("a data-dependent shape in the stream", _nonzero_in_the_stream, HostSync, "output shape depends"),
]


@pytest.mark.parametrize("plant,error,message", [p[1:] for p in PLANTED], ids=[p[0] for p in PLANTED])
def test_the_fake_gpu_catches_a_planted_defect(corpus, monkeypatch, plant, error, message):
    plant(monkeypatch)
    with pytest.raises(error, match=message):
        train_on_fake_gpu(corpus, "negative-sampling")
