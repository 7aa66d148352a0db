"""From a validated dataset and parameters to every table of a run folder.

One function, `run_tables`, produces the tables a run writes, so that the
report notebooks, ``honorcalc verify`` and ``honorcalc diff`` can never compute
them in two different ways. `honorcalc.data.write_tables` writes them with a fixed
float format, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import pandas as pd

from ..data.contract import Dataset
from ..errors import InputError
from ..params import Params

__all__ = ["run_tables", "evaluate"]


def evaluate(params: Params, dataset: Dataset):
    """The report's result: `honorcalc.rules.RoundResult`, or `honorcalc.rules.annual.YearResult`
    for ``report: annual``."""
    if params.report == "annual":
        from ..rules.annual import evaluate_year

        return evaluate_year(dataset, params)
    from ..rules.evaluate import evaluate_round

    return evaluate_round(dataset, params, params.round)


def run_tables(params: Params, dataset: Dataset, result=None) -> dict[str, pd.DataFrame]:
    """Every table of a run, keyed by file name.

    ``result`` is `evaluate`'s when the caller has it already (the notebooks
    do), to avoid evaluating twice.

    A round run writes ``ranking.csv``, the fairness tables and
    ``severity_adjusted.csv``; an annual run writes the annual standing, points
    and escalations (`honorcalc.rules.annual.annual_tables`) and ``laggards.csv``
    (the persistent-laggard rules up to the cut-off round).

    Raises
    ------
    ParamError
        A simulation would not fit in the memory at hand: checked from the data
        before any runs (`honorcalc.fairness.memory`), naming the parameter that
        lowers it.
    InputError
        The memory ran out all the same (a MemoryError): refused in one message,
        not a traceback.
    """
    try:
        return _tables(params, dataset, result)
    except MemoryError:
        raise InputError(
            "the memory ran out while computing the tables: lower the fairness simulations "
            "(fairness.null_cities, fairness.replicates, fairness.rank_max_units, fairness.permutations, "
            "fairness.gstudy_bootstrap), or split the data (one dataset per city)"
        ) from None


def _tables(params: Params, dataset: Dataset, result) -> dict[str, pd.DataFrame]:
    from ..fairness import (
        LAGGARD_COLUMNS,
        fairness_tables,
        flag_laggards,
        severity_adjusted_lists,
    )
    from ..fairness.memory import check_memory, fairness_sizes, memory_needs

    if result is None:
        result = evaluate(params, dataset)
    if params.report == "annual":
        from ..rules.annual import annual_tables

        sizes = fairness_sizes(result.results, params, result.round_id)
        check_memory(memory_needs(sizes, params, analyses=("laggards",)))
        laggards = flag_laggards(result.results, params, result.round_id).table
        return {**annual_tables(result), "laggards.csv": laggards[list(LAGGARD_COLUMNS)]}
    fairness = fairness_tables(dataset, params, result.evaluation)
    return {
        "ranking.csv": result.ranking_table(),
        **fairness,
        "severity_adjusted.csv": severity_adjusted_lists(dataset, params, fairness["raters.csv"],
                                                         evaluation=result.evaluation),
    }
