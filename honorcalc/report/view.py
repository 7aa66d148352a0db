"""What a report shows, assembled once: `RoundView` and `AnnualView`.

A view is built from what a run has already: the parameters, the dataset, the
run's tables and the evaluated result (`build_view`, `build_annual_view`). It
reads and writes nothing. The report notebooks get their view from
`honorcalc.runs.notebook.prepare` (or ``prepare_annual``), then call one function
of `honorcalc.report.round_report` (or ``annual_report``) per cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ..data.contract import Dataset
from ..params import Params
from ..rules.annual import YearResult, evaluate_year
from ..rules.evaluate import RoundResult, evaluate_round
from .findings import fairness_findings
from .i18n import labels

__all__ = ["RoundView", "AnnualView", "build_view", "build_annual_view"]


@dataclass(frozen=True)
class RoundView:
    """Everything a round report shows (`build_view`)."""

    params: Params
    dataset: Dataset
    round: pd.Series
    scores: pd.DataFrame
    result: RoundResult
    tables: dict[str, pd.DataFrame]
    #: The fairness findings (`honorcalc.report.findings.fairness_findings`): plain sentences, details for the appendix.
    findings: tuple = ()

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.params.lang)


def build_view(params: Params, dataset: Dataset, tables: Mapping[str, pd.DataFrame],
               result: RoundResult | None = None) -> RoundView:
    """The round report's view of ``params.round``.

    Parameters
    ----------
    params : Params
    dataset : Dataset
        The validated dataset the tables were computed from.
    tables : mapping of str to DataFrame
        The run's tables by file name (``ranking.csv``, the fairness tables,
        ``severity_adjusted.csv``): the fairness findings are read from them.
    result : RoundResult, optional
        `honorcalc.rules.evaluate_round` of the round, evaluated here when not given.

    Raises
    ------
    ParamError
        The round is not in the dataset or has no scores.
    InputError
        A fairness table is missing from ``tables``.
    """
    round_row = dataset.require_round(params.round)
    if result is None:
        result = evaluate_round(dataset, params, params.round)
    tables = dict(tables)
    return RoundView(
        params=params, dataset=dataset, round=round_row,
        scores=dataset.scores[dataset.scores["round_id"] == params.round], result=result, tables=tables,
        findings=tuple(fairness_findings(tables, lang=params.lang)),
    )


@dataclass(frozen=True)
class AnnualView:
    """Everything an annual report shows (`build_annual_view`)."""

    params: Params
    dataset: Dataset
    result: YearResult
    tables: dict[str, pd.DataFrame]

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.params.lang, annual=True)


def build_annual_view(params: Params, dataset: Dataset, tables: Mapping[str, pd.DataFrame],
                      result: YearResult | None = None) -> AnnualView:
    """The annual report's view of the year of ``params.round``, counted up to it.

    Parameters
    ----------
    params : Params
        Taken as ``report: annual``.
    dataset : Dataset
    tables : mapping of str to DataFrame
        The annual run's tables by file name (``annual.csv``, ``annual_points.csv``,
        ``escalations.csv``, ``ties.csv``, ``laggards.csv``).
    result : YearResult, optional
        `honorcalc.rules.annual.evaluate_year`'s, evaluated here when not given.

    Raises
    ------
    ParamError
        The round is not in the dataset or has no scores.
    """
    params = params.model_copy(update={"report": "annual"})
    dataset.require_round(params.round)
    if result is None:
        result = evaluate_year(dataset, params)
    return AnnualView(params=params, dataset=dataset, result=result, tables=dict(tables))
