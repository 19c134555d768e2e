"""Training objectives ("heads"), one file each, selected by name from :data:`HEADS`."""

from .base import HEADS, Head, ScoreRequest, Scores, build_head, head_class, register, score_batch
from . import infonce, negative_sampling, nce, softmax  # noqa: F401  (each registers itself)

__all__ = ["HEADS", "Head", "ScoreRequest", "Scores", "build_head", "head_class", "register", "score_batch"]
