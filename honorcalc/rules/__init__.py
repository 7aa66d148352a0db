"""Ranks, red and black lists, vetoes and their consequences.

RULES.md §1.3 (list criteria), §1.4 (points and escalation), §1.5 (the five
principles) and the optional practices of §2 (vetoes, tiers, mobile flags,
three-colour slips, elimination quota). Every number comes from `Params`.

The pipeline, each step a pure function over a *results* frame with one row per
(round, unit) scored in that round, vectorized over all rounds at once:

``composite_scores`` (`honorcalc.rules.scoring`) → `apply_vetoes` → `rank_units` →
`apply_lists` → `award_points` → `escalate`; then, for one round, the optional
`assign_tiers`, `award_flags`, `issue_slips` and `apply_pass_quota`.

`evaluate_rounds` runs the pipeline on the six tables; `evaluate_round` runs it
on a dataset up to one round's date (points year to date and escalation need
the earlier rounds' lists, computed with the same parameters) and returns a
`RoundResult`, whose `RoundResult.ranking_table` is DESIGN.md's ``ranking.csv``.

Notes
-----
Readings of RULES.md used throughout (each a parameter where RULES.md gives a
number):

* Scores are compared with thresholds and with each other after rounding half
  up (四舍五入) to ``lists.precision`` decimals, "so a unit is never listed on a
  difference no reader of the notice can see" (§1.3). 89.996 → 90.00 is red.
* "90分以上" and "70分以下" include the boundary (§1.3).
* Ranks are competition ranks (1, 2, 2, 4) within the ranking group; the
  bottom rank counts from the worst (1 = lowest score).
* No unit can be on both lists: red needs a rounded score ≥ ``red_min``, black
  one ≤ ``black_max``, and `honorcalc.params.Lists` refuses ``red_min ≤
  black_max``.
"""


from .annual import (
    ESCALATION_COLUMNS,
    POINTS_COLUMNS,
    STANDING_COLUMNS,
    YearResult,
    annual_tables,
    evaluate_year,
    explain_year,
)
from .consequences import award_points, escalate
from .evaluate import (
    RANKING_COLUMNS,
    Evaluation,
    RoundResult,
    evaluate_round,
    evaluate_rounds,
    evaluate_until,
    ranking_table,
)
from .lists import TIE_COLUMNS, ListOutcome, apply_lists
from .practices import (
    apply_pass_quota,
    assign_tiers,
    award_flags,
    issue_slips,
)
from .ranking import (
    ListCut,
    competition_ranks,
    cut_list,
    list_cap,
    rank_units,
    round_half_up,
)
from .scoring import (
    SOURCE_SCORE_COLUMNS,
    category_scores,
    check_columns,
    composite_scores,
    deduction_points,
    indicator_points,
    order_rounds,
    satisfaction,
    source_scores,
)
from .vetoes import apply_vetoes

__all__ = [
    "SOURCE_SCORE_COLUMNS",
    "check_columns",
    "order_rounds",
    "indicator_points",
    "source_scores",
    "category_scores",
    "deduction_points",
    "satisfaction",
    "composite_scores",
    "round_half_up",
    "list_cap",
    "rank_units",
    "competition_ranks",
    "ListCut",
    "cut_list",
    "apply_vetoes",
    "TIE_COLUMNS",
    "ListOutcome",
    "apply_lists",
    "award_points",
    "escalate",
    "assign_tiers",
    "award_flags",
    "issue_slips",
    "apply_pass_quota",
    "RANKING_COLUMNS",
    "Evaluation",
    "evaluate_rounds",
    "RoundResult",
    "evaluate_round",
    "evaluate_until",
    "ranking_table",
    "STANDING_COLUMNS",
    "POINTS_COLUMNS",
    "ESCALATION_COLUMNS",
    "YearResult",
    "evaluate_year",
    "annual_tables",
    "explain_year",
]
