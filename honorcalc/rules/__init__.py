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

from . import annual as _annual
from . import consequences as _consequences
from . import evaluate as _evaluate
from . import lists as _lists
from . import practices as _practices
from . import ranking as _ranking
from . import responsibility as _responsibility
from . import scoring as _scoring
from . import vetoes as _vetoes
from .annual import *  # noqa: F403
from .consequences import *  # noqa: F403
from .evaluate import *  # noqa: F403
from .lists import *  # noqa: F403
from .practices import *  # noqa: F403
from .ranking import *  # noqa: F403
from .responsibility import *  # noqa: F403
from .scoring import *  # noqa: F403
from .vetoes import *  # noqa: F403

__all__ = [*_scoring.__all__, *_ranking.__all__, *_vetoes.__all__, *_lists.__all__, *_consequences.__all__, *_practices.__all__, *_evaluate.__all__, *_annual.__all__, *_responsibility.__all__]
