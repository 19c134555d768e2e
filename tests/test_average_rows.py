"""torchrun --sync average with the row step: only the rows the ranks changed since the last average are averaged
(the same parameters as averaging every row, from an all-reduce of those rows alone), and the ranks' default
batches keep the summed step where it was measured stable (train/setup.py SUMMED_STEP_LIMIT)."""

import copy
import json
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from w2v_contrastive import TrainConfig
from w2v_contrastive.heads import build_head
from w2v_contrastive.sampling.noise import NoiseDistribution
from w2v_contrastive.sampling.pairs import PairBatch
from w2v_contrastive.train.distributed import Distributed, TouchedRows
from w2v_contrastive.train.setup import Machine, build_model, plan
from w2v_contrastive.train.steps import RowSGD, RowStep
from tests.test_distributed import torchrun

V, PAIRS = 2000, 128


def average_both_ways(rank: int, init_file: str, results: str) -> None:
    """Rank ``rank`` of 2: two row steps on its own batches, then the average of the rows both ranks changed
    and, from the same parameters, the average of every row; writes what it found to ``results``.rank."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    config = TrainConfig(head="negative-sampling", dim=8, output_bias=True, subwords="3-4", buckets=500)
    head = build_head(config.head, config)
    torch.manual_seed(0)  # (the same initial model on both ranks, as the trainer's seed gives)
    model = build_model(config, [f"w{i:04d}" for i in range(V)], head)
    counts = np.sort(np.random.default_rng(0).zipf(1.3, V))[::-1].copy()
    touched = TouchedRows(model.parameters())
    step = RowStep(model, head, NoiseDistribution(counts), torch.Generator().manual_seed(rank), PAIRS, RowSGD(),
                   touched)
    generator = torch.Generator().manual_seed(10 + rank)
    for _ in range(2):
        words = torch.randint(0, V // 4, (2, PAIRS), generator=generator)
        step(PairBatch(words[0], words[1], float(PAIRS)), 0.5)
    distributed = Distributed(rank, 2, rank, 2, "gloo")
    marked = {name: int(touched.rows[id(p)].sum()) for name, p in model.named_parameters()}
    every_row = copy.deepcopy(model)
    distributed.average_parameters(model, touched)
    distributed.average_parameters(every_row)
    same = all(torch.equal(a, b) for a, b in zip(model.parameters(), every_row.parameters()))
    with open(f"{results}.{rank}", "w", encoding="utf-8") as handle:
        json.dump({"same": same, "marked": marked, "cleared": not any(m.any() for m in touched.rows.values()),
                   "rows": {name: p.shape[0] for name, p in model.named_parameters()}}, handle)
    dist.destroy_process_group()


def test_averaging_the_changed_rows_gives_the_average_of_every_row(tmp_path):
    results = str(tmp_path / "result")
    mp.spawn(average_both_ways, args=(str(tmp_path / "init"), results), nprocs=2)
    found = [json.load(open(f"{results}.{rank}", encoding="utf-8")) for rank in range(2)]
    for rank in found:
        assert rank["same"] and rank["cleared"]
        # the rows a rank changed: a few of each table (so a few to send), its n-gram rows among them
        for name, rows in rank["rows"].items():
            assert 0 < rank["marked"][name] < rows / 2, (name, rank["marked"])
    assert found[0]["marked"] != found[1]["marked"]  # (each rank changed rows of its own)


def test_a_torchrun_job_with_the_row_step_averages_to_one_model(tmp_path, cache_dir):
    out = str(tmp_path / "run")
    proc = torchrun("--out", out, "--cache-dir", cache_dir, "--no-fused-cpu", "--sync", "average",
                    "--average-every", "4", "--max-words", "150000")
    assert proc.returncode == 0, proc.stderr[-2000:]
    training = json.load(open(os.path.join(out, "config.json"), encoding="utf-8"))["training"]
    assert training["step"] == "rows" and training["sync"] == "average" and training["ranks"] == 2
    assert training["rank_parameter_spread"] == 0.0


@pytest.mark.parametrize("ranks,lr,batch", [(1, None, 8192), (2, None, 8192), (4, None, 4096), (8, None, 2048),
                                            (2, 0.1, 2048)])
def test_ranks_that_average_on_gpus_take_batches_whose_summed_step_stays_stable(ranks, lr, batch):
    """Each of W ranks steps W times as far (NCCL forces --sync average), so W x lr x B stays within 0.025 x 16,384:
    4 ranks of 8,192 pairs at 0.025 diverged on gutenberg-mid, 4 of 4,096 kept one process's rho
    (bench/average-ranks-2026-12-05.json)."""
    config = TrainConfig(head="negative-sampling", lr=lr)
    setup = plan(config, build_head(config.head, config), Machine(torch.device("cuda"), 16, ranks, ranks, "nccl"))
    assert (setup.step, setup.batch_size, setup.rank_lr_factor) == ("rows", batch, ranks)
    assert setup.sync == (None if ranks == 1 else "average")
    chosen = TrainConfig(head="negative-sampling", batch_size=8192)  # (the user's batch stands)
    four = Machine(torch.device("cuda"), 16, 4, 4, "nccl")
    assert plan(chosen, build_head(chosen.head, chosen), four).batch_size == 8192
