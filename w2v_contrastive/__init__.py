"""w2v-contrastive: skip-gram word embeddings with interchangeable training objectives."""

__version__ = "0.1.0"

from .api import (DEFAULT_BENCHMARKS, Callback, TrainResult, embedding_geometry, evaluate, evaluate_analogies, export,
                  load_model, make_config, prepare_corpus, resume, train)
from .comparison import compare, tune
from .config import TokenizerOptions, TrainConfig
from .corpus.cache import EncodedCorpus
from .corpus.vocab import Vocabulary
from .errors import W2VError
from .heads import HEADS
from .sampling.noise import NoiseDistribution
from .vectors import Vectors, load

__all__ = [
    "Callback", "DEFAULT_BENCHMARKS", "EncodedCorpus", "HEADS", "NoiseDistribution", "TokenizerOptions", "TrainConfig",
    "TrainResult", "Vectors", "Vocabulary", "W2VError", "compare", "embedding_geometry", "evaluate", "evaluate_analogies",
    "export", "load", "load_model", "make_config", "prepare_corpus", "resume", "train", "tune",
]
