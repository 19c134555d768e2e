"""The benchmark scripts' bookkeeping: ratios against gensim are taken within a repeat, medians over
repeats, and --set parses per-head settings. (The measurements themselves live in scripts/bench*.py
and write JSON; nothing here times anything.)"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import bench  # noqa: E402


def run(engine, repeat, words_per_second, ws353, simlex=0.2, process_seconds=10.0):
    return {"engine": engine, "repeat": repeat, "seconds": 1.0, "words_per_second": words_per_second,
            "process_seconds": process_seconds, "process_cpu_seconds": 2 * process_seconds,
            "pairs_per_second": None, "peak_rss_mb": 100.0, "peak_gpu_mb": None,
            "wordsim353": ws353, "simlex999": simlex, "men3k": 0.4}


def test_ratios_pair_each_run_with_gensim_of_the_same_repeat_and_take_the_median():
    runs = [run("gensim", 0, 100.0, 0.30, process_seconds=30.0), run("ns", 0, 150.0, 0.31, process_seconds=20.0),
            run("gensim", 1, 200.0, 0.30, process_seconds=15.0), run("ns", 1, 180.0, 0.33, process_seconds=10.0),
            run("gensim", 2, 100.0, 0.30, process_seconds=30.0), run("ns", 2, 120.0, 0.29, process_seconds=25.0)]
    summary = bench.summarise(runs)
    # the whole process: gensim's seconds over ours within each repeat, and our slowest over our fastest
    assert summary["ns"]["process_ratios_vs_gensim"] == pytest.approx([1.5, 1.5, 1.2])
    assert summary["ns"]["process_ratio_vs_gensim"] == pytest.approx(1.5)
    assert summary["ns"]["process_seconds"] == 20.0 and summary["ns"]["process_seconds_max_over_min"] == 2.5
    assert summary["ns"]["process_cpu_seconds"] == 40.0
    assert summary["ns"]["ratios_vs_gensim"] == pytest.approx([1.5, 0.9, 1.2])
    assert summary["ns"]["ratio_vs_gensim"] == pytest.approx(1.2)  # not 150/100, the ratio of medians
    assert summary["ns"]["words_per_second"] == 150.0
    assert summary["ns"]["words_per_second_range"] == [120.0, 180.0]
    assert summary["ns"]["rho_difference_vs_gensim"]["wordsim353"] == pytest.approx(0.01)
    assert summary["ns"]["quality_vs_gensim"] == "equal"
    assert summary["gensim"]["ratio_vs_gensim"] == 1.0


def test_a_rho_gap_beyond_the_tolerance_is_better_or_worse_quality():
    runs = [run("gensim", 0, 100.0, 0.30, simlex=0.25), run("ns", 0, 150.0, 0.30, simlex=0.22),
            run("nce", 0, 90.0, 0.35, simlex=0.24)]
    assert bench.summarise(runs)["ns"]["quality_vs_gensim"] == "worse"
    assert bench.summarise(runs)["nce"]["quality_vs_gensim"] == "better"
    table = bench.markdown({"command": "python scripts/bench.py", "machine": {"description": "2 CPUs"},
                            "corpus": "/x/mid.txt", "corpus_tokens": 10, "settings": {"dim": 100}, "repeats": 1,
                            "overrides": {"ns": {"lr": 0.05}}, "summary": bench.summarise(runs)})
    assert "| ns | 150 |  | 1.50 (1.50) | 10.0 (1.00) | 1.00 (1.00) | 100 |" in table and "ns: lr 0.05." in table


def test_per_head_settings_parse_as_json_values():
    assert bench.parse_overrides(["softmax.max-words=20000", "nce.lr=0.05", "infonce.shared_negatives=true",
                                  "nce.device=cpu"]) == {
        "softmax": {"max_words": 20000}, "nce": {"lr": 0.05, "device": "cpu"}, "infonce": {"shared_negatives": True}}
    with pytest.raises(SystemExit, match="HEAD.KEY=VALUE"):
        bench.parse_overrides(["lr=0.05"])


def test_the_encoding_prediction_schedules_the_measured_pieces_and_keeps_the_serial_phases():
    import bench_tokenize

    assert bench_tokenize.schedule([3.0, 1.0, 1.0, 1.0], 2) == 3.0  # 3 on one worker, 1 + 1 + 1 on the other
    assert bench_tokenize.schedule([1.0] * 8, 3) == 3.0
    # 8 s of pieces on 2 workers in 4.5 s (0.5 s start-up), 1 s merge of which 0.2 s orders the vocabulary
    row = {"workers": 2, "tokens": 1000, "types": 100, "seconds": 6.0, "pieces_seconds": 4.5, "vocabulary_seconds": 0.2,
           "merge_seconds": 1.0, "each_piece_seconds": [1.0] * 8}
    curve = bench_tokenize.predict(row, 4)
    serial = 6.0 - 4.5 - 1.0 + 0.2  # planning and writing, plus ordering the vocabulary
    assert curve[0]["seconds"] == pytest.approx(8.0 + 0.5 + serial + 1.6, abs=0.01)  # renumbering: 0.8 s x 2
    assert curve[3]["seconds"] == pytest.approx(2.0 + 0.5 + serial + 0.4, abs=0.01)
    large = bench_tokenize.predict_at_scale(row, [1, 16], tokens=1e4, types=100)  # 96 s of pieces, 0.7 s serial
    assert large[0]["efficiency"] == 1.0 and large[1]["efficiency"] == pytest.approx(96.7 / (16 * 6.7), abs=1e-3)
    large = bench_tokenize.predict_at_scale(row, [1, 16], tokens=1e8, types=100)
    assert large[0]["tokens_per_second"] == round(1e8 / (9.6 * 1e5 + serial))


def test_the_kernel_phases_are_consecutive_parts_of_the_steps():
    import bench_kernel_phases

    steps = [(1.0, 2.0, 100)] * 5 + [(2.0, 4.0, 100)] * 5  # the last half of the steps twice as slow
    parts = bench_kernel_phases.by_part(steps)
    assert [p["kernel_seconds"] for p in parts] == [2.0, 2.0, 3.0, 4.0, 4.0]
    assert [p["pairs_per_kernel_second"] for p in parts] == [100, 100, 67, 50, 50]
    assert parts[0]["kernel_cpu_seconds"] == 4.0


def test_the_own_tables_replay_trains_each_threads_share_of_a_batch_on_its_own_copy_of_the_tables():
    import types

    import bench_fused_kernel
    import numpy as np
    import torch

    from w2v_contrastive import TrainConfig
    from w2v_contrastive.heads import build_head
    from w2v_contrastive.model import SkipGram
    from w2v_contrastive.sampling.noise import NoiseDistribution
    from w2v_contrastive.train.fused_sgd import FusedSkipGramSGD

    vocab, dim = 30, 8
    counts = np.arange(vocab, 0, -1) * 10
    head, noise = build_head("negative-sampling", TrainConfig()), NoiseDistribution(counts, 0.75)
    head.use_vocabulary(counts)
    torch.manual_seed(0)
    model = SkipGram(vocab, dim)
    torch.nn.init.normal_(model.output.weight, std=0.3)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    own = bench_fused_kernel.OwnTables(types.SimpleNamespace(model=model, head=head, noise=noise), threads=2)
    inputs, targets = torch.randint(0, vocab, (100,)), torch.randint(0, vocab, (100,))
    state = torch.Generator().manual_seed(5).get_state()
    own.step(inputs, targets, 0.1, torch.Generator().set_state(state))
    for fused, share in zip(own.kernels, (slice(0, 50), slice(50, 100))):  # each kernel: its half, from the start
        alone = SkipGram(vocab, dim)
        alone.load_state_dict(before)
        FusedSkipGramSGD(alone, head, noise, 1).step(inputs[share], targets[share], 0.1,
                                                     torch.Generator().set_state(state))
        np.testing.assert_array_equal(fused.word_table, alone.input.weight.detach().numpy())
        np.testing.assert_array_equal(fused.context_table, alone.output.weight.detach().numpy())
    assert not np.array_equal(own.kernels[0].context_table, own.kernels[1].context_table)
    for key, value in model.state_dict().items():  # (the captured model itself is not trained)
        assert torch.equal(value, before[key])


def test_the_context_rows_shared_replay_runs_the_threaded_kernel_without_replicas():
    import types

    import bench_fused_kernel
    import numpy as np

    from w2v_contrastive import TrainConfig
    from w2v_contrastive.heads import build_head
    from w2v_contrastive.model import SkipGram
    from w2v_contrastive.sampling.noise import NoiseDistribution
    from w2v_contrastive.train.fused_sgd import FusedSkipGramSGD

    counts = np.arange(30, 0, -1) * 10
    head, noise = build_head("negative-sampling", TrainConfig()), NoiseDistribution(counts, 0.75)
    model = SkipGram(30, 8)
    head.use_vocabulary(counts)
    shared = bench_fused_kernel.context_rows_shared(types.SimpleNamespace(model=model, head=head, noise=noise), 2)
    replicated = FusedSkipGramSGD(model, head, noise, 2)
    assert (shared.replicas, shared.own_start, replicated.own_start) == ([], 30, 0)
