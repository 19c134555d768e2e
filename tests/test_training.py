"""Every head learns on real text: the loss falls and the vectors beat random ones by a clear margin.

On gutenberg-small (0.5M tokens) WordSim-353 is too sparse to judge; MEN and SimLex-999 are used.
For reference, gensim's SGNS with 10 epochs and sample 1e-3 reaches MEN 0.34, SimLex 0.16 there.
"""

import subprocess
import sys

import numpy as np
import pytest

from w2v_contrastive import Vectors, evaluate, train

# (head, settings, minimum MEN rho, minimum SimLex rho or None). Random vectors score 0 +- 0.03 on
# MEN (1397 covered pairs) and 0 +- 0.04 on SimLex (631). The full softmax runs on the 2,000 most
# frequent words only (it is O(V) per pair on a CPU): there SimLex keeps 231 pairs of frequent words
# on which even SGNS scores about 0.04, too few to judge, so only MEN is asserted for it.
CASES = [
    ("negative-sampling", {"epochs": 10}, 0.30, 0.10),
    # the autograd path (what a GPU runs), which the fused CPU kernel replaces for the heads above
    ("negative-sampling", {"epochs": 10, "fused_cpu": False}, 0.30, 0.10),
    ("nce", {"epochs": 10}, 0.30, 0.07),
    ("infonce", {"epochs": 10}, 0.30, 0.08),
    ("infonce", {"epochs": 2, "in_batch_negatives": True, "negatives": 0, "batch_size": 1024, "temperature": 0.5},
     0.25, 0.06),
    ("softmax", {"max_vocab": 2000, "max_words": 1_000_000}, 0.35, None),
    # the metric-learning heads, with their defaults (Adam; tied tables for contrastive and lifted-structured)
    ("contrastive", {"epochs": 3}, 0.35, 0.04),
    ("triplet", {"epochs": 2}, 0.33, 0.04),
    ("n-pair", {"epochs": 2}, 0.30, 0.04),
    ("lifted-structured", {"epochs": 1}, 0.33, None),
]
FUSED_HEADS = ("negative-sampling", "nce", "infonce")


def random_baseline(vocab_words, dim=100, seed=0):
    rng = np.random.default_rng(seed)
    return Vectors(vocab_words, rng.standard_normal((len(vocab_words), dim)))


@pytest.mark.parametrize("head,settings,men_min,simlex_min", CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)])
def test_head_learns_and_beats_random_vectors(small_corpus, head, settings, men_min, simlex_min):
    result = train(small_corpus, head=head, dim=50, sample=1e-3, threads=2, progress=False, log_every_seconds=0.5,
                   **settings)
    fused = head in FUSED_HEADS and not settings.get("in_batch_negatives") and settings.get("fused_cpu", True)
    assert result.stats.fused_cpu == fused
    losses = [h["loss"] for h in result.stats.history]
    # the loss falls by at least 0.1 nat per pair (first vs last three logged averages)
    assert len(losses) >= 6 and np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.1, losses
    scores = {r["benchmark"]: r for r in evaluate(result.vectors, ["men3k", "simlex999"])}
    random = {r["benchmark"]: r for r in evaluate(random_baseline(result.vocab.words), ["men3k", "simlex999"])}
    assert abs(random["men3k"]["spearman"]) < 0.06 and abs(random["simlex999"]["spearman"]) < 0.08
    assert scores["men3k"]["spearman"] > men_min, scores
    if simlex_min is not None:
        assert scores["simlex999"]["spearman"] > simlex_min, scores
    assert scores["men3k"]["covered"] == random["men3k"]["covered"] > 300


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the inherited ru_maxrss is Linux behaviour")
def test_peak_rss_is_the_process_own_not_the_parent_it_was_started_from():
    """On Linux getrusage's ru_maxrss of a child includes its parent's peak; the trainer's figure must not."""
    ballast = bytearray(1500 * 2**20)  # the parent (this test process) now peaks above 1.5 GB
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])  # touch every page: resident, not just reserved
    child = subprocess.run([sys.executable, "-c", "from w2v_contrastive.train.trainer import process_peak_rss_mb; "
                            "print(process_peak_rss_mb())"], capture_output=True, text=True, check=True)
    del ballast
    assert 50 < float(child.stdout) < 1000  # importing torch and the package: a few hundred MB
