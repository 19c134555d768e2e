"""w2v-contrastive: skip-gram word embeddings with interchangeable training objectives.

The names below are imported on first use (PEP 562), so a process that only loads or queries vectors
(``from w2v_contrastive import load``) does not import torch, the trainer or scipy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: each public name and the module it lives in
_EXPORTS = {
    **dict.fromkeys(["DEFAULT_BENCHMARKS", "Callback", "TrainResult", "embedding_geometry", "evaluate",
                     "evaluate_analogies", "export", "load_model", "make_config", "prepare_corpus", "resume", "train"],
                    ".api"),
    "compare": ".comparison", "tune": ".comparison", "TokenizerOptions": ".config", "TrainConfig": ".config",
    "EncodedCorpus": ".corpus.cache", "Vocabulary": ".corpus.vocab", "W2VError": ".errors", "HEADS": ".heads",
    "NoiseDistribution": ".sampling.noise", "Vectors": ".vectors", "load": ".vectors",
}
__all__ = sorted(_EXPORTS)

# ``train`` names both the subpackage of the trainer and the API's function. Importing the (empty) subpackage
# now and dropping the attribute the import set keeps the name for the function: a later import of
# ``w2v_contrastive.train.<module>`` finds the subpackage in sys.modules and sets no attribute again.
from . import train as _trainer_package  # noqa: E402

del train, _trainer_package

if TYPE_CHECKING:
    from .api import (DEFAULT_BENCHMARKS, Callback, TrainResult, embedding_geometry, evaluate, evaluate_analogies,
                      export, load_model, make_config, prepare_corpus, resume, train)
    from .comparison import compare, tune
    from .config import TokenizerOptions, TrainConfig
    from .corpus.cache import EncodedCorpus
    from .corpus.vocab import Vocabulary
    from .errors import W2VError
    from .heads import HEADS
    from .sampling.noise import NoiseDistribution
    from .vectors import Vectors, load


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # (the next lookup finds it without this function)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
