"""One-vote vetoes (一票否决, RULES.md §2): satisfaction and prerequisite categories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..params import Params
from .ranking import round_half_up
from .scoring import (
    row_key,
)

__all__ = ['apply_vetoes']


def apply_vetoes(
    results: pd.DataFrame, categories: pd.DataFrame, surveys: pd.DataFrame, params: Params
) -> pd.DataFrame:
    """Flag the units a veto (一票否决 / 前置条件) disqualifies (RULES.md §2).

    Parameters
    ----------
    results : DataFrame
        ``round_id``, ``unit_id`` (one row per scored unit and round).
    categories : DataFrame
        The output of `honorcalc.rules.scoring.category_scores`.
    surveys : DataFrame
        The output of `honorcalc.rules.scoring.satisfaction` (may be empty).
    params : Params
        ``veto`` and ``lists.precision``.

    Returns
    -------
    DataFrame
        ``results`` plus ``respondents``, ``satisfied``, ``satisfaction`` (0–1;
        NaN without survey rows), ``prerequisite_score`` (NaN when off or not
        scored), ``veto_reasons`` (tuple of ``"satisfaction"``,
        ``"prerequisite"``), ``vetoed`` and ``excluded`` (vetoed and
        ``veto.action == "exclude"``: out of the red ranking, still in the
        bottom ranking, `honorcalc.rules.ranking.rank_units`).

    Notes
    -----
    "群众满意率低于75%将被取消参评资格": satisfaction = Σ satisfied / Σ
    respondents < ``veto.satisfaction_min`` vetoes; a prerequisite category
    score < ``veto.prerequisite_min`` vetoes. Both are strict ("低于"), and both
    are compared at the published precision (satisfaction as a percentage), as
    scores are. A unit without survey rows, or without indicators in the
    prerequisite category, is not vetoed: a veto needs evidence.
    """
    v = params.veto
    p = params.lists.precision
    out = results.copy()
    key = pd.Index(row_key(out))
    at = key.get_indexer(row_key(surveys)) if len(surveys) else np.zeros(0, dtype="int64")
    for col in ("respondents", "satisfied", "satisfaction"):
        values = np.full(len(out), np.nan)
        values[at[at >= 0]] = surveys[col].to_numpy(dtype="float64")[at >= 0]
        out[col] = values
    prerequisite = np.full(len(out), np.nan)
    if v.prerequisite_category is not None:
        pre = categories[categories["category"] == v.prerequisite_category]
        at = key.get_indexer(row_key(pre))
        prerequisite[at[at >= 0]] = pre["score"].to_numpy(dtype="float64")[at >= 0]
    out["prerequisite_score"] = prerequisite
    if v.satisfaction_min is None:
        low_sat = np.zeros(len(out), dtype=bool)
    else:
        low_sat = (round_half_up(out["satisfaction"] * 100.0, p) < v.satisfaction_min * 100.0).to_numpy()
    low_pre = (round_half_up(out["prerequisite_score"], p) < v.prerequisite_min).to_numpy()
    out["veto_reasons"] = [
        tuple(r for r, hit in (("satisfaction", s), ("prerequisite", q)) if hit)
        for s, q in zip(low_sat, low_pre)
    ]
    out["vetoed"] = low_sat | low_pre
    out["excluded"] = out["vetoed"] & (v.action == "exclude")
    return out
