"""The dataset contract: its six tables, their columns, keys and the validated `Dataset`.

The one definition every layer reads (DESIGN.md, "Dataset contract").
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import InputError, ParamError
from ..params import SOURCES

if TYPE_CHECKING:
    pass

__all__ = ['TABLES', 'REQUIRED_TABLES', 'Col', 'CONTRACT', 'REQUIRED_COLUMNS', 'KEYS', 'Dataset', 'dataset_frames',
           'require_round']

#: The six tables of a dataset, in the contract's order (the attributes of `Dataset`).
TABLES = ("units", "indicators", "rounds", "scores", "deductions", "surveys")
#: The tables a dataset must have; the others may be absent (empty).
REQUIRED_TABLES = ("units", "indicators", "rounds", "scores")


@dataclass(frozen=True)
class Col:
    """One column of the contract.

    ``kind`` is ``id`` or ``text`` (strings), ``number``, ``choice``, ``date`` or
    ``bool``. ``low``/``low_open`` bound numbers from below (inclusive unless
    ``low_open``). ``aliases`` map other spellings of a choice to its value.
    """

    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    low: float | None = None
    low_open: bool = False


CONTRACT: dict[str, tuple[Col, ...]] = {
    "units": (
        Col("unit_id", "id"),
        Col("name", "text"),
        Col("kind", "choice", choices=("industry", "territorial"),
            aliases=(("行业", "industry"), ("属地", "territorial"))),
        Col("group", "text"),
        Col("size", "number", required=False, low=0),
    ),
    "indicators": (
        Col("indicator_id", "id"),
        Col("name", "text"),
        Col("category", "text"),
        Col("max_points", "number", low=0, low_open=True),
        Col("topic", "text", required=False),
    ),
    "rounds": (
        Col("round_id", "id"),
        Col("kind", "choice", choices=("comprehensive", "special"),
            aliases=(("综合", "comprehensive"), ("综合测评", "comprehensive"),
                     ("专项", "special"), ("专项测评", "special"))),
        Col("topic", "text", required=False),
        Col("date", "date"),
    ),
    "scores": (
        Col("round_id", "id"),
        Col("unit_id", "id"),
        Col("indicator_id", "id"),
        Col("rater_id", "id"),
        Col("source", "choice", choices=SOURCES,
            aliases=(("实地考察", "field"), ("实地", "field"), ("日常动态", "daily"),
                     ("日常", "daily"), ("上级反馈", "feedback"), ("上级部门反馈", "feedback"),
                     ("领导督导", "leader"), ("市级领导督导", "leader"),
                     ("群众监督", "public"), ("群众监督举报", "public"))),
        Col("points", "number", low=0),
        Col("visit", "choice", required=False, choices=("open", "covert"),
            aliases=(("明查", "open"), ("暗访", "covert"))),
    ),
    "deductions": (
        Col("round_id", "id"),
        Col("unit_id", "id"),
        Col("code", "id"),
        Col("points", "number", low=0, low_open=True),
        Col("role", "choice", choices=("primary", "joint"),
            aliases=(("主责", "primary"), ("主要责任", "primary"),
                     ("连带", "joint"), ("连带责任", "joint"))),
        Col("verified", "bool", required=False),
        Col("note", "text", required=False),
    ),
    "surveys": (
        Col("round_id", "id"),
        Col("unit_id", "id"),
        Col("respondents", "number", low=0, low_open=True),
        Col("satisfied", "number", low=0),
    ),
}


#: The columns each table must have (the contract's required ones); optional columns are
#: filled in when absent (``topic``, ``visit``, ``verified``, ``note``, ``size``).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(c.name for c in columns if c.required) for table, columns in CONTRACT.items()
}

#: Columns that identify a row; ``None``: rows have no natural key.
KEYS: dict[str, tuple[str, ...] | None] = {
    "units": ("unit_id",),
    "indicators": ("indicator_id",),
    "rounds": ("round_id",),
    "scores": ("round_id", "unit_id", "indicator_id", "rater_id", "source"),
    "deductions": None,
    "surveys": ("round_id", "unit_id"),
}




@dataclass(frozen=True)
class Dataset:
    """A validated dataset: typed frames, the files they came from, and notices.

    Ids and text are ``str``; numbers ``float64``; ``rounds.date`` is
    ``datetime64``; ``deductions.verified`` is ``bool``; blank optional cells are
    NaN. Optional tables that were not given are empty frames with the contract's
    columns. Each frame keeps its original row labels (spreadsheet row − 2).
    """

    units: pd.DataFrame
    indicators: pd.DataFrame
    rounds: pd.DataFrame
    scores: pd.DataFrame
    deductions: pd.DataFrame
    surveys: pd.DataFrame
    files: dict[str, str] = field(default_factory=dict)
    formats: dict[str, dict] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def require_round(self, round_id: str, parameter: str = "round") -> pd.Series:
        """The row of ``rounds`` for ``round_id``, which must exist and have scores (`require_round`)."""
        require_round(self.rounds, round_id, scores=self.scores, files=self.files, parameter=parameter)
        return self.rounds.loc[self.rounds["round_id"] == round_id].iloc[0]


def dataset_frames(dataset) -> dict[str, pd.DataFrame]:
    """The six tables of ``dataset`` (a `Dataset`, or any object with the six attributes) by name.

    Raises
    ------
    InputError
        ``dataset`` lacks one of the tables.
    """
    missing = [t for t in TABLES if not hasattr(dataset, t)]
    if missing:
        raise InputError(
            f"expected a dataset with tables {', '.join(TABLES)}; "
            f"{type(dataset).__name__} lacks {', '.join(missing)}"
        )
    return {t: getattr(dataset, t) for t in TABLES}


def require_round(rounds: pd.DataFrame, round_id: str, *, scores: pd.DataFrame | None = None,
                  files: dict | None = None, parameter: str = "round") -> None:
    """``round_id`` must be a round of ``rounds`` and, when ``scores`` are given, have scores.

    The one check of "does the round exist?" for the command line, the rules and
    the fairness analysis.

    Raises
    ------
    ParamError
        Names ``parameter``, the file and the nearest known round id.
    """
    files = files or {}
    known = rounds["round_id"].tolist()
    if round_id not in known:
        near = difflib.get_close_matches(str(round_id), known, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else f"; known rounds: {', '.join(known[:12])}"
        raise ParamError(f"round '{round_id}' is not in {files.get('rounds', 'rounds')}{hint}", parameter=parameter)
    if scores is not None and not (scores["round_id"] == round_id).any():
        raise ParamError(f"round '{round_id}' has no scores in {files.get('scores', 'scores')}", parameter=parameter)
