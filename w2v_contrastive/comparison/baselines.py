"""The incumbent tools as rows of a comparison: gensim's Word2Vec and FastText, and fastText's own module.

A baseline trains on what the heads train on and is evaluated by the same code (it returns our
:class:`~w2v_contrastive.vectors.Vectors`; comparison/runner.py scores them):

- the same corpus: the encoded corpus's training lines (the held-out ones left out), mapped back to
  words, with the words outside the vocabulary dropped before any window is drawn (as word2vec.c, gensim
  and our pair stream drop them); lines are cut into gensim's 10,000-token sentences;
- the same vocabulary: gensim's is built from our :class:`~w2v_contrastive.corpus.vocab.Vocabulary`'s
  words and counts (``build_vocab_from_freq``), so it holds exactly our words with our counts, and its
  subsampling reads the same frequencies. fastText reads a file of those lines (``minCount`` 1: every
  word left in them is one of ours) and adds its end-of-line token ``</s>``;
- the same settings: dim, window, negatives K, sample t, Q's exponent (gensim's ``ns_exponent``; fastText's
  is fixed at 0.5), epochs, threads, seed (the fastText module takes none), the step (``lr``; None: the tool's own default, gensim's 0.025 and
  fastText's 0.05) decaying linearly to ``lr x min_lr_ratio`` (fastText: to 0), and for subword baselines
  the character n-grams of ``--subwords`` (fastText's 3-6 when none are given) in ``--buckets`` buckets;
- the same budget: ``epochs`` passes; with ``max_words``, each pass reads the first ``max_words / epochs``
  tokens. A wall-clock budget (``max_seconds``) has no equivalent in the tools and is refused.

Head-only options (temperature, margin, batch size, optimizer...) do not apply to a baseline. Its
configuration is the :class:`TrainConfig` of the head that trains the same objective (``head``), with
``model`` and ``subwords`` set as the tool trains; that config is what its recorded run is matched on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import os
import tempfile
import time
from typing import Any, Sequence

import numpy as np

from ..api import make_config
from ..config import TrainConfig
from ..corpus.cache import EncodedCorpus
from ..corpus.vocab import Vocabulary
from ..errors import W2VError
from ..sampling.pairs import held_out_lines
from ..vectors import Vectors

#: gensim truncates longer sentences; lines are cut into pieces of this many tokens
GENSIM_SENTENCE_TOKENS = 10_000
#: the character n-grams of a subword baseline when --subwords gives none (fastText's defaults)
FASTTEXT_SUBWORDS = "3-6"
#: the settings a baseline honours; a --tune search over any other is refused for it
SETTINGS = ("dim", "window", "negatives", "sample", "alpha", "epochs", "threads", "seed", "lr", "min_lr_ratio",
            "min_count", "max_vocab", "subwords", "buckets", "holdout", "max_words")


@dataclasses.dataclass(frozen=True)
class Baseline:
    """One incumbent tool trained one way: ``train`` gives its vectors and a record of the run."""

    name: str
    #: the module it needs, and the extra of pyproject.toml that installs it
    package: str
    extra: str
    #: what it trains, for the reports: e.g. "Word2Vec(sg=1, hs=0, negative=K)"
    trains: str
    #: our head with the same objective: its config validates and records the baseline's settings
    head: str
    model: str = "skipgram"
    subwords: bool = False
    hierarchical: bool = False
    #: the tool's own default step (used when lr is None, and as x1 of a --tune search)
    default_lr: float = 0.025

    def check_installed(self) -> None:
        if importlib.util.find_spec(self.package) is None:
            raise W2VError(f"baseline {self.name} needs the {self.package} package: pip install "
                           f"'w2v-contrastive[{self.extra}]'")

    def version(self) -> str:
        """The tool's version (the distribution that provides its module)."""
        distributions = importlib.metadata.packages_distributions().get(self.package, [self.package])
        return f"{distributions[0]} {importlib.metadata.version(distributions[0])}"

    def config(self, settings: dict[str, Any]) -> TrainConfig:
        """The validated config of a run of this baseline with ``settings`` (shared training settings)."""
        settings = {**settings, "model": self.model}
        if self.subwords and settings.get("subwords", "0") == "0":
            settings["subwords"] = FASTTEXT_SUBWORDS
        elif not self.subwords:
            settings["subwords"] = "0"
        if settings.get("max_seconds") is not None:
            raise W2VError(f"baseline {self.name} trains for a number of words: give --epochs or --max-words, "
                           "not --max-seconds")
        return make_config(self.head, **settings)

    def describe(self) -> dict:
        return {"tool": self.version(), "trains": self.trains, "default_lr": self.default_lr}

    def train(self, encoded: EncodedCorpus, config: TrainConfig, timeline) -> tuple[Vectors, dict]:
        """Train on ``encoded`` as ``config`` says; (vectors of our vocabulary's words in its order, the run's
        record: training statistics, head_settings, history, baseline). ``timeline.on_log(record, vectors)``
        follows the run after each epoch (gensim) or at its end (fastText)."""
        self.check_installed()
        vocab = Vocabulary.from_corpus(encoded, config.min_count, config.max_vocab)
        lines, tokens = training_lines(encoded, len(vocab), config)
        lr = config.lr if config.lr is not None else self.default_lr
        threads = config.threads or os.cpu_count() or 1
        if self.package == "gensim":
            vectors, seconds, history = self._train_gensim(lines, tokens, vocab, config, lr, threads, timeline)
        else:
            vectors, seconds, history = self._train_fasttext(lines, tokens, vocab, config, lr, threads)
        words = float(tokens * config.epochs)
        training = {"seconds": seconds, "words": words, "words_per_second": words / max(seconds, 1e-9),
                    "pairs": None, "pairs_per_second": None, "lr": lr, "optimizer": "sgd", "batch_size": None,
                    "step": self.package, "threads": threads, "device": "cpu", "lr_rule": "the tool's default"
                    if config.lr is None else "--lr"}
        return vectors, {"training": training, "history": history, "held_out": None,
                         "head_settings": {"name": self.name, "lr": lr, "hyperparameters": {}},
                         "baseline": {**self.describe(), "vocabulary": len(vectors)}}

    def gensim_model(self, config: TrainConfig, vocab: Vocabulary, lines: int, lr: float, threads: int):
        """gensim's model for ``config``, its vocabulary built from ``vocab``'s words and counts (``lines``
        sentences): ready to train."""
        from gensim.models import FastText, Word2Vec

        options = dict(vector_size=config.dim, window=config.window, sg=int(self.model == "skipgram"), cbow_mean=1,
                       hs=int(self.hierarchical), negative=0 if self.hierarchical else config.negatives,
                       ns_exponent=config.alpha, sample=config.sample, alpha=lr, min_alpha=lr * config.min_lr_ratio,
                       min_count=1, workers=threads, seed=config.seed)
        units = config.subword_units()
        model = (FastText(**options, min_n=units.min_n, max_n=units.max_n, bucket=units.buckets) if units
                 else Word2Vec(**options))
        model.build_vocab_from_freq(dict(zip(vocab.words, vocab.counts.tolist())), corpus_count=lines)
        return model

    def _train_gensim(self, lines: list[list[str]], tokens: int, vocab: Vocabulary, config: TrainConfig, lr: float,
                      threads: int, timeline) -> tuple[Vectors, float, list[dict]]:
        from gensim.models.callbacks import CallbackAny2Vec

        model = self.gensim_model(config, vocab, len(lines), lr, threads)
        history: list[dict] = []

        class Follow(CallbackAny2Vec):
            def on_epoch_end(self, trained) -> None:
                seconds, words = clock.seconds, float((len(history) + 1) * tokens)
                with clock.excluding():  # (following the run is not training)
                    history.append({"seconds": seconds, "words": words, "loss": float("nan"),
                                    "words_per_second": words / max(seconds, 1e-9)})
                    timeline.on_log(history[-1], lambda: in_our_order(trained.wv, vocab))

        clock = Clock()
        model.train(lines, total_words=sum(map(len, lines)), epochs=config.epochs, callbacks=[Follow()])
        return in_our_order(model.wv, vocab), clock.seconds, history

    def _train_fasttext(self, lines: list[list[str]], tokens: int, vocab: Vocabulary, config: TrainConfig, lr: float,
                        threads: int) -> tuple[Vectors, float, list[dict]]:
        import fasttext

        units = config.subword_units()
        with tempfile.TemporaryDirectory(prefix="w2v-fasttext-") as folder:
            path = os.path.join(folder, "lines.txt")
            with open(path, "w", encoding="utf-8") as handle:
                handle.writelines(" ".join(line) + "\n" for line in lines)
            started = time.perf_counter()
            try:
                model = fasttext.train_unsupervised(
                    path, model="skipgram" if self.model == "skipgram" else "cbow", loss="hs" if self.hierarchical
                    else "ns", dim=config.dim, ws=config.window, neg=config.negatives, t=config.sample, lr=lr,
                    epoch=config.epochs, minCount=1, minn=units.min_n if units else 0,
                    maxn=units.max_n if units else 0, bucket=units.buckets if units else 0, thread=threads, verbose=0)
            except RuntimeError as exc:  # ("Encountered NaN": its check of the mean loss)
                raise W2VError(f"baseline {self.name}: fastText stopped: {exc}") from None
            seconds = time.perf_counter() - started
        matrix = np.stack([model.get_word_vector(word) for word in vocab.words])
        words = float(tokens * config.epochs)
        return Vectors(vocab.words, matrix), seconds, [{"seconds": seconds, "words": words, "loss": float("nan"),
                                                        "words_per_second": words / max(seconds, 1e-9)}]


class Clock:
    """Training seconds of a tool that calls back between epochs, the time spent in the callbacks left out."""

    def __init__(self):
        self.started, self.excluded = time.perf_counter(), 0.0

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started - self.excluded

    @contextlib.contextmanager
    def excluding(self):
        paused = time.perf_counter()
        try:
            yield
        finally:
            self.excluded += time.perf_counter() - paused


def in_our_order(keyed_vectors, vocab: Vocabulary) -> Vectors:
    """gensim's vectors of our vocabulary's words, in its order (gensim orders ties of counts its own way)."""
    return Vectors(vocab.words, np.asarray(keyed_vectors[vocab.words], dtype=np.float32))


def training_lines(encoded: EncodedCorpus, vocab_size: int, config: TrainConfig) -> tuple[list[list[str]], int]:
    """(the training lines as lists of vocabulary words, the corpus tokens they hold, out-of-vocabulary ones
    included, as the heads count words): the lines not held out (``config.holdout``, the heads' own choice
    of lines), the first ``max_words / epochs`` tokens of them with ``max_words``, cut into gensim's sentences."""
    words = np.asarray(encoded.words[:vocab_size], dtype=object)
    starts = encoded.line_starts
    ids = encoded.read(0, encoded.n_tokens)
    skipped = held_out_lines(encoded.n_lines, config.holdout) if config.holdout else np.zeros(encoded.n_lines, bool)
    per_epoch = -(-config.max_words // config.epochs) if config.max_words else encoded.n_tokens
    lines, tokens = [], 0
    for line in np.flatnonzero(~skipped):
        if tokens >= per_epoch:
            break
        start, stop = int(starts[line]), min(int(starts[line + 1]), int(starts[line]) + per_epoch - tokens)
        tokens += stop - start
        kept = ids[start:stop]
        kept = kept[kept < vocab_size]
        lines.extend(words[kept[i:i + GENSIM_SENTENCE_TOKENS]].tolist()
                     for i in range(0, len(kept), GENSIM_SENTENCE_TOKENS))
    return lines, tokens


BASELINES = {b.name: b for b in (
    Baseline("gensim-sgns", "gensim", "baselines", "gensim Word2Vec(sg=1, hs=0, negative=K)", "negative-sampling"),
    Baseline("gensim-hs", "gensim", "baselines", "gensim Word2Vec(sg=1, hs=1, negative=0)", "hierarchical-softmax",
             hierarchical=True),
    Baseline("gensim-cbow", "gensim", "baselines", "gensim Word2Vec(sg=0, cbow_mean=1, negative=K)",
             "negative-sampling", model="cbow"),
    Baseline("gensim-fasttext", "gensim", "baselines", "gensim FastText(sg=1, negative=K, n-grams)",
             "negative-sampling", subwords=True),
    Baseline("fasttext", "fasttext", "fasttext", "fastText skipgram (loss ns, n-grams)", "negative-sampling",
             subwords=True, default_lr=0.05),
)}


def parse_baselines(names: Sequence[str]) -> list[Baseline]:
    """The baselines ``names`` names, each installed: a one-line W2VError for an unknown or missing one."""
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise W2VError(f"unknown baseline {unknown[0]!r}; choose from: {', '.join(BASELINES)}")
    chosen = [BASELINES[n] for n in dict.fromkeys(names)]
    for baseline in chosen:
        baseline.check_installed()
    return chosen
