"""Training objectives ("heads"), one file each, selected by name from :data:`HEADS`."""

from .base import (HEADS, Head, ScoreRequest, Scores, build_head, constructor_arguments, head_class, register,
                   score_batch)
from . import (contrastive, hierarchical_softmax, infonce, lifted_structured, n_pair,  # noqa: F401
               negative_sampling, nce, softmax, triplet)  # each registers itself

__all__ = ["HEADS", "Head", "ScoreRequest", "Scores", "build_head", "constructor_arguments", "head_class", "register",
           "score_batch"]
