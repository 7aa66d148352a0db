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
from pathlib import Path

import pandas as pd

from ..data.contract import Dataset
from ..params import Params
from ..rules.annual import YearResult, evaluate_year
from ..rules.evaluate import RoundResult, evaluate_round
from .findings import fairness_findings
from .i18n import labels

__all__ = ["RoundView", "AnnualView", "build_view", "build_annual_view", "run_folder"]


def run_folder(run_dir: str | Path | None) -> tuple[str | None, Path | None]:
    """The run id and the final path of the run folder a report is made in, or ``(None, None)``.

    Parameters
    ----------
    run_dir : str, Path or None
        The run folder the report notebook is executed in (``"."``: its working
        directory), or empty when the notebook computes its own tables.

    Returns
    -------
    run_id, path : str and Path, or None and None
        The run id is the run folder's name. While `honorcalc run` writes it, the
        folder has a hidden temporary name, ``.<run id>.<suffix>``, and is renamed
        to ``<run id>`` when complete (`honorcalc.runs.folder`): the id and the
        path are the final ones.
    """
    if not run_dir:
        return None, None
    path = Path(run_dir).resolve()
    name = path.name
    if name.startswith(".") and "." in name[1:]:
        name = name[1:].rsplit(".", 1)[0]
    return name, path.parent / name


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
    #: The run id (the run folder's name), or None for a report not made in a run folder (`run_folder`).
    run_id: str | None = None
    #: The run folder, or None.
    run_dir: Path | None = None

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.params.lang)


def build_view(params: Params, dataset: Dataset, tables: Mapping[str, pd.DataFrame],
               result: RoundResult | None = None, *, run_dir: str | Path | None = None) -> RoundView:
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
    run_dir : str or Path, optional
        The run folder the report is made in; its name is the run id shown in the
        appendix (`run_folder`). None: the report says the run is not saved.

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
    run_id, folder = run_folder(run_dir)
    return RoundView(
        params=params, dataset=dataset, round=round_row,
        scores=dataset.scores[dataset.scores["round_id"] == params.round], result=result, tables=tables,
        findings=tuple(fairness_findings(tables, lang=params.lang)), run_id=run_id, run_dir=folder,
    )


@dataclass(frozen=True)
class AnnualView:
    """Everything an annual report shows (`build_annual_view`)."""

    params: Params
    dataset: Dataset
    result: YearResult
    tables: dict[str, pd.DataFrame]
    #: The run id, or None (`run_folder`).
    run_id: str | None = None
    #: The run folder, or None.
    run_dir: Path | None = None

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.params.lang, annual=True)


def build_annual_view(params: Params, dataset: Dataset, tables: Mapping[str, pd.DataFrame],
                      result: YearResult | None = None, *, run_dir: str | Path | None = None) -> AnnualView:
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
    run_dir : str or Path, optional
        The run folder (`build_view`).

    Raises
    ------
    ParamError
        The round is not in the dataset or has no scores.
    """
    params = params.model_copy(update={"report": "annual"})
    dataset.require_round(params.round)
    if result is None:
        result = evaluate_year(dataset, params)
    run_id, folder = run_folder(run_dir)
    return AnnualView(params=params, dataset=dataset, result=result, tables=dict(tables), run_id=run_id,
                      run_dir=folder)
