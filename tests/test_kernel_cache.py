"""numba's on-disk cache of the fused kernel: a second process compiles nothing, whatever the head's options,
and the key tells row losses apart."""

import json
import subprocess
import sys

from w2v_contrastive import TrainConfig
from w2v_contrastive.heads import build_head
from w2v_contrastive.train.kernel_cache import compiled_digest

#: builds a head's fused kernel (as a run does: head name and options as JSON) and prints its cache hits and misses
BUILD = """
import json, sys
from w2v_contrastive import Vocabulary, make_config, prepare_corpus
from w2v_contrastive.train.trainer import Trainer
corpus = prepare_corpus(["the cat sat on the mat and the dog sat on the log"] * 50, cache_dir=sys.argv[1])
vocab = Vocabulary.from_corpus(corpus, 1, None)
trainer = Trainer(make_config(sys.argv[2], threads=1, min_count=1, **json.loads(sys.argv[3])), corpus, vocab)
assert trainer.setup.step == "fused"
stats = trainer.step.kernel.kernel.stats
print(json.dumps({"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}))
"""


def build_in_a_fresh_process(corpus_cache: str, head: str = "negative-sampling", **options) -> dict:
    done = subprocess.run([sys.executable, "-c", BUILD, corpus_cache, head, json.dumps(options)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_a_second_process_loads_the_fused_kernel_from_the_cache_whatever_the_heads_options(tmp_path):
    """(numba's cache folder, as a user's run has it: the first process compiles and saves the kernel unless an
    earlier run, or test, did; the next ones load it, also for another head of the same row loss and other
    options, which the kernel reads at run time.)"""
    corpus_cache = str(tmp_path / "corpus")
    first = build_in_a_fresh_process(corpus_cache)
    assert first in ({"hits": 0, "misses": 1}, {"hits": 1, "misses": 0})
    assert build_in_a_fresh_process(corpus_cache) == {"hits": 1, "misses": 0}  # loaded, nothing compiled
    assert build_in_a_fresh_process(corpus_cache, "nce", negatives=10) == {"hits": 1, "misses": 0}


def test_the_key_follows_the_row_loss_not_the_heads_options_or_the_process():
    def digest(name, **settings):
        return compiled_digest(build_head(name, TrainConfig(**settings)).fused_row_loss())

    assert digest("nce") == digest("nce")  # two compiled functions of one head: one entry
    logistic = {digest("negative-sampling"), digest("nce"), digest("nce", negatives=10), digest("hierarchical-softmax")}
    categorical = {digest("infonce"), digest("infonce", temperature=0.5, logq_correction=True)}
    assert len(logistic) == len(categorical) == 1 and logistic != categorical  # (options are run-time settings)
