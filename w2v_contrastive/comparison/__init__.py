"""Head-to-head comparison of heads (and of the incumbent tools) under identical conditions: the runner,
the baselines, the tuning and the report."""

from .baselines import BASELINES
from .report import overlapping_pairs, results_table, summarise
from .runner import COMPARE_HOLDOUT, compare
from .tuning import tune, tuning_table

__all__ = ["BASELINES", "COMPARE_HOLDOUT", "compare", "overlapping_pairs", "results_table", "summarise", "tune", "tuning_table"]
