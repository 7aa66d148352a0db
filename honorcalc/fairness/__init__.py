"""Fairness analysis of a round: is the spread real, are the raters fair, who lags, how stable.

RULES.md §3 asks six questions of every list; this package answers five of them, one
module per question (the sixth, "can it be reproduced", is `honorcalc.audit`); `tables`
assembles them and `findings` words them. Each answer is a pure function over the long-format frames of the dataset contract plus `Params`, returning a new
frame; `fairness_tables` assembles DESIGN.md's ``raters.csv``, ``reliability.csv``,
``laggards.csv``, ``stability.csv`` and ``groups.csv`` for ``params.round``, and
`fairness_findings` says what they show in plain sentences.

=======================================  =====================================  ===========================
question (RULES.md §3)                   function                               table
=======================================  =====================================  ===========================
spread real, or rater noise?             `variance_components` (G-study)        reliability.csv (source)
do raters agree?                         `rater_consistency` (ICC, α, W)        reliability.csv
is a rater harsh or lenient?             `rater_severity`,                      raters.csv
                                         `adjust_rater_severity`,
                                         `severity_adjusted_lists`
persistent laggard, or unlucky once?     `flag_laggards` (rules A, B, C)        laggards.csv
open visits kinder than covert ones?     `visit_gap` (RULES.md §2 明查/暗访)     laggards.csv (open_visit)
would the list change?                   `list_replicates`, `list_stability`    stability.csv
are groups treated alike?                `group_fairness`                       groups.csv
=======================================  =====================================  ===========================

Conventions
-----------
* Points are compared on the indicator's own scale, rescaled to percent of its
  maximum: ``pct = points / max_points × 100``, so that a 4-point and a 40-point
  indicator are comparable. Rater severity is reported in points of an indicator
  worth ``fairness.severity_scale`` (10) points, so 0.8 means "0.8 points fewer on
  a 10-point indicator"; positive is harsh (DESIGN.md ``raters.csv``).
* A *cell* is one (round, unit, indicator, source): the raters of a cell saw the same
  thing, and its mean is what the scoring model uses (DESIGN.md scoring step 1).
* Every random draw comes from ``np.random.default_rng([params.seed, stream])`` with
  one fixed stream per analysis (`SEED_STREAMS`); the tables that use randomness
  record that seed in a ``seed`` column, as the text ``"[seed, stream]"``.
* Every number is kept at full precision; rounding is for the report.
"""

from .base import SEED_STREAMS
from .findings import fairness_findings
from .groups import GROUP_COLUMNS, group_fairness
from .laggards import LAGGARD_COLUMNS, LaggardResult, flag_laggards
from .raters import (
    RATER_COLUMNS,
    RELIABILITY_COLUMNS,
    adjust_rater_severity,
    rater_consistency,
    rater_severity,
    severity_adjusted_lists,
)
from .stability import STABILITY_COLUMNS, Replicates, list_replicates, list_stability
from .tables import fairness_tables
from .variance import variance_components
from .visits import visit_gap

__all__ = [
    "SEED_STREAMS",
    "RATER_COLUMNS",
    "RELIABILITY_COLUMNS",
    "LAGGARD_COLUMNS",
    "STABILITY_COLUMNS",
    "GROUP_COLUMNS",
    "LaggardResult",
    "Replicates",
    "variance_components",
    "rater_consistency",
    "rater_severity",
    "adjust_rater_severity",
    "severity_adjusted_lists",
    "visit_gap",
    "flag_laggards",
    "list_replicates",
    "list_stability",
    "group_fairness",
    "fairness_tables",
    "fairness_findings",
]
