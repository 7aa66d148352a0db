"""From a validated dataset and parameters to every table of a run folder.

One function, `run_tables`, produces the tables a run writes, so that the
report notebook, ``honorcalc verify`` and ``honorcalc diff`` can never compute
them in two different ways. `honorcalc.io.write_tables` writes them with a fixed
float format, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import pandas as pd

from .params import Params
from .validation import Dataset

__all__ = ["run_tables"]


def run_tables(params: Params, dataset: Dataset, result=None) -> dict[str, pd.DataFrame]:
    """Every table of a run, keyed by file name.

    ``result`` is the round's `honorcalc.rules.RoundResult` when the caller has
    it already (the notebook does), to avoid evaluating the round twice.
    """
    from .fairness import fairness_tables, severity_adjusted_lists
    from .rules import evaluate_round

    if result is None:
        result = evaluate_round(dataset, params, params.round)
    fairness = fairness_tables(dataset, params)
    return {
        "ranking.csv": result.ranking_table(),
        **fairness,
        "severity_adjusted.csv": severity_adjusted_lists(dataset, params, fairness["raters.csv"]),
    }
