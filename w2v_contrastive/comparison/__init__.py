"""Head-to-head comparison of heads under identical conditions: the runner and its report."""

from .report import overlapping_pairs, results_table, summarise
from .runner import COMPARE_HOLDOUT, compare
from .tuning import tune, tuning_table

__all__ = ["COMPARE_HOLDOUT", "compare", "overlapping_pairs", "results_table", "summarise", "tune", "tuning_table"]
