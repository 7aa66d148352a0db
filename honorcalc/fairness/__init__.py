"""Fairness analysis of a round: is the spread real, are the raters fair, who lags, how stable.

RULES.md §3 asks six questions of every list; this package answers five of them, one
module per question (the sixth, "can it be reproduced", is `honorcalc.runs.manifest`); `tables`
assembles them and `findings` words them. Each answer is a pure function over the long-format frames of the dataset contract plus `Params`, returning a new
frame; `fairness_tables` assembles DESIGN.md's ``raters.csv``, ``reliability.csv``,
``laggards.csv``, ``stability.csv`` and ``groups.csv`` for ``params.round``, and
`fairness_findings` says what they show in plain sentences.

=====================================  ===========================================  =============================
question (RULES.md §3)                 module: function                             table
=====================================  ===========================================  =============================
spread real, or rater noise?           variance: `variance_components` (G-study,    reliability.csv (source)
                                       halo, bootstrap intervals, D-study)
do raters agree?                       raters: `rater_consistency` (ICC, α, W),     reliability.csv
                                       `rater_separation`
is a rater harsh or lenient?           raters: `rater_severity`,                    raters.csv,
                                       `adjust_rater_severity`,                     severity_adjusted.csv
                                       `severity_adjusted_lists`
persistent laggard, or unlucky once?   laggards: `flag_laggards` (one calibrated    laggards.csv, laggard_units.csv,
                                       decision per unit, FDR across units)         laggard_calibration.csv
open visits kinder than covert ones?   visits: `visit_gap` (RULES.md §2 明查/暗访)   laggards.csv (open_visit),
                                                                                    visits.csv
how precise is each unit's score?      measurement: `measurement_model`             stability.csv (se)
would the list change?                 stability: `list_stability`,                 stability.csv, weights.csv
                                       `list_replicates`, `weight_sensitivity`;
                                       ranks: `rank_uncertainty` (rank
                                       confidence sets, top/bottom-τ statements)
is a unit out of line with its peers?  ranks: `funnel_limits` (overdispersed)       funnel.csv
are groups treated alike?              groups: `group_fairness` (within rater       groups.csv
                                       components, TOST for "alike")
what can final scores not answer?      final_scores: `final_score_rows`             reliability.csv (final_scores)
=====================================  ===========================================  =============================

Every finding states how sure it is: an interval, a q-value under false-discovery
control, or a status ('cannot_tell', 'not_estimable') where the data cannot say.
Scores without a recorded rater (final scores, rater ``final:<source>``) are not
taken for a rater's: the rater analyses run on the rows that name one, and
`final_score_rows` states what the others leave unanswered.
`tables.fairness_tables` assembles the tables of a run; `findings.fairness_findings`
words them (the report's plain sentences, and the technical detail for its appendix).

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
from .final_scores import FINAL_SCORE_QUESTIONS, FINAL_SCORES_SCOPE, final_score_rows
from .groups import GROUP_COLUMNS, group_fairness
from .laggards import (
    CALIBRATION_COLUMNS,
    EVIDENCE_COLUMNS,
    LAGGARD_COLUMNS,
    LaggardResult,
    flag_laggards,
)
from .measurement import (
    SOURCE_ERROR_COLUMNS,
    UNIT_ERROR_COLUMNS,
    MeasurementModel,
    measurement_model,
)
from .ranks import (
    FunnelResult,
    RankSets,
    TauSets,
    bottom_set,
    funnel_curve,
    funnel_limits,
    rank_confidence_sets,
    rank_uncertainty,
    tau_sets,
    top_set,
)
from .raters import (
    RATER_COLUMNS,
    RELIABILITY_COLUMNS,
    adjust_rater_severity,
    rater_consistency,
    rater_separation,
    rater_severity,
    severity_adjusted_lists,
)
from .stability import (
    STABILITY_COLUMNS,
    WEIGHT_COLUMNS,
    Replicates,
    list_replicates,
    list_stability,
    weight_sensitivity,
)
from .tables import FAIRNESS_TABLES, FUNNEL_COLUMNS, fairness_tables
from .variance import VARIANCE_COLUMNS, variance_components
from .visits import visit_gap

__all__ = [
    "SEED_STREAMS", "FAIRNESS_TABLES",
    "RATER_COLUMNS", "RELIABILITY_COLUMNS", "VARIANCE_COLUMNS", "LAGGARD_COLUMNS", "EVIDENCE_COLUMNS",
    "CALIBRATION_COLUMNS", "STABILITY_COLUMNS", "WEIGHT_COLUMNS", "FUNNEL_COLUMNS", "GROUP_COLUMNS",
    "SOURCE_ERROR_COLUMNS", "UNIT_ERROR_COLUMNS", "LaggardResult", "Replicates", "MeasurementModel", "RankSets", "TauSets", "FunnelResult",
    "variance_components", "rater_consistency", "rater_separation", "rater_severity", "adjust_rater_severity",
    "severity_adjusted_lists", "visit_gap", "flag_laggards", "measurement_model", "list_replicates",
    "list_stability", "weight_sensitivity", "rank_confidence_sets", "tau_sets", "bottom_set", "top_set",
    "rank_uncertainty", "funnel_limits", "funnel_curve", "group_fairness", "fairness_tables",
    "FINAL_SCORE_QUESTIONS", "FINAL_SCORES_SCOPE", "final_score_rows",
]
