"""Which fairness questions data of final scores (no 评分人 recorded) cannot answer, and why.

An office may keep only each unit's final points per indicator and source. The
loader reads such scores under one pseudo-rater per source, ``final:<source>``
(`honorcalc.data.contract.final_score_rater`). A pseudo-rater is not a rater: it
never shares a unit × indicator with another, so nothing in the data tells a
rater's error from the unit's own score. The analyses that need raters run on the
rows that name one; for the rest, `final_score_rows` states in ``reliability.csv``
(scope ``final_scores``) which question cannot be answered, why, and what would
have to be recorded to answer it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import FINAL_SCORES_NOTE, with_rater
from .raters import RELIABILITY_COLUMNS

__all__ = ["FINAL_SCORE_QUESTIONS", "FINAL_SCORES_SCOPE", "FINAL_SCORES_NOTE", "with_rater", "final_score_rows"]

#: The ``scope`` of the ``reliability.csv`` rows written by `final_score_rows`.
FINAL_SCORES_SCOPE = "final_scores"

_RECORD = "record who scored what (评分人: one row per rater, unit, indicator and source) to answer it"

#: The questions final scores cannot answer (``key``), in report order, and why (``note``).
FINAL_SCORE_QUESTIONS = {
    "agreement": "whether raters agree on the same unit and indicator cannot be assessed",
    "severity": "whether a rater is harsh or lenient, and whether groups of units met harsher raters, "
                "cannot be assessed; no list can be corrected for rater severity",
    "measurement_error": "the scores' error from rater disagreement is unknown: no rank interval, list "
                         "probability or funnel limit counts it, so none can show that a place or a list is secure",
    "g_study": "the variance components that need several raters (rater, unit × rater) and the raters "
               "needed for a reliable score cannot be estimated",
    "visits": "open and covert visits to the same unit and indicator cannot be compared: each final score "
              "has one visit type, or none",
}


def final_score_rows(scores: pd.DataFrame, round_id: str, window: pd.DataFrame | None = None) -> pd.DataFrame:
    """``reliability.csv`` rows stating what final scores leave unanswered; none when every score names a rater.

    Parameters
    ----------
    scores : DataFrame
        The report round's score rows.
    round_id : str
        The report round.
    window : DataFrame, optional
        The score rows of the rounds the open/covert comparison looks at (the report
        round's year up to it); defaults to ``scores``.

    Returns
    -------
    DataFrame
        Columns `RELIABILITY_COLUMNS`, scope ``final_scores``, one row per question of
        `FINAL_SCORE_QUESTIONS` that the final scores touch (``key``: the question),
        statistic ``share_final_scores``: ``value`` the share of the score rows
        without a recorded rater (1 = the round holds final scores only; for
        ``visits``, the share over the rounds compared), ``n_units`` the units with
        such rows, ``n_raters`` 0 and ``note`` the reason, ending with what to
        record to answer the question. Where the share is below 1 the analyses ran
        on the rows with raters, and the note says so.
    """
    window = scores if window is None else window
    finals = {"round": ~with_rater(scores), "window": ~with_rater(window)}
    rows = []
    for key, reason in FINAL_SCORE_QUESTIONS.items():
        frame = window if key == "visits" else scores
        final = finals["window" if key == "visits" else "round"]
        if not final.any():
            continue
        share = float(final.mean())
        where = ("" if share == 1.0 else
                 f"; {100 * share:.3g}% of the score rows have no rater: the analysis ran on the rows with raters, "
                 "and says nothing of the others")
        rows.append({"round_id": round_id, "scope": FINAL_SCORES_SCOPE, "key": key,
                     "statistic": "share_final_scores", "value": share, "ci_low": np.nan, "ci_high": np.nan,
                     "ci_level": np.nan, "p_value": np.nan,
                     "n_units": int(frame.loc[final, "unit_id"].nunique()), "n_raters": 0,
                     "note": f"{FINAL_SCORES_NOTE}: {reason}{where}; status not_estimable; {_RECORD}", "seed": ""})
    return pd.DataFrame(rows, columns=list(RELIABILITY_COLUMNS))
