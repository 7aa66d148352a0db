"""The exception types of honorcalc.

`InputError` is the one type for problems the *user* can fix: a bad file, cell or
parameter. It carries where the problem is, and `str(err)` says it in one line
(``scores.csv:14: column 'points': expected 0 to 10, got '12'``). Only the command
line turns it into an exit code (2). Anything else that escapes is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["HonorcalcError", "InputError", "ValidationError", "ParamError", "Problem", "problem_of_case", "shown_value"]


class HonorcalcError(Exception):
    """Base class of every error honorcalc raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the input, located as the user sees it.

    ``row`` is the row number in a spreadsheet program: the header is row 1, so
    the first data row is row 2. In a workbook, ``sheet`` names the sheet and
    ``cell`` the Excel cell (``F17``), and ``column`` is the header as the user
    wrote it: ``测评数据.xlsx › 评分-C2026Q2 › F17: column '得分': …``.
    """

    file: str | None = None
    row: int | None = None
    column: str | None = None
    message: str = ""
    sheet: str | None = None
    cell: str | None = None

    def place(self, row: str = "{file}:{row}") -> str:
        """Where the problem is: file, sheet and cell (``测评数据.xlsx › 评分-C2026Q2 › F17``), or the
        file and row as ``row`` writes them (``scores.csv:14``; in Chinese ``scores.csv 第 14 行``)."""
        where = self.file or ""
        if self.sheet:
            where = f"{where} › {self.sheet}"
        if self.cell:
            where = f"{where} › {self.cell}"
        elif self.row is not None:
            where = row.format(file=where, row=self.row)
        return where

    def __str__(self) -> str:
        where = self.place()
        parts = [p for p in (where, f"column '{self.column}'" if self.column else "") if p]
        return ": ".join(parts + [self.message])


class InputError(HonorcalcError):
    """A problem in the user's data or parameters; the message says where and what."""

    def __init__(self, message: str, *, file=None, row=None, column=None, sheet=None, cell=None):
        self.problem = Problem(
            file=None if file is None else str(file), row=row, column=column, message=message,
            sheet=sheet, cell=cell,
        )
        super().__init__(str(self.problem))

    @property
    def file(self) -> str | None:
        return self.problem.file

    @property
    def row(self) -> int | None:
        return self.problem.row

    @property
    def column(self) -> str | None:
        return self.problem.column


class ValidationError(InputError):
    """Every contract violation found in a dataset, gathered in one pass.

    Attributes
    ----------
    failure_cases : pandas.DataFrame
        One row per problem: ``file``, ``row``, ``column``, ``value``, ``expected``;
        ``row`` and ``column`` are missing where the problem is a whole file or column.
        A workbook's problems also have ``sheet`` and ``cell`` (the Excel cell).
    """

    #: How many problems the message lists by default; the rest are counted.
    max_shown = 50

    def __init__(self, failure_cases: pd.DataFrame, *, max_shown: int | None = None):
        if max_shown is not None:
            self.max_shown = max(int(max_shown), 1)
        cases = failure_cases.reset_index(drop=True)
        self.failure_cases = cases
        problems = [problem_of_case(case) for case in cases.head(self.max_shown).itertuples(index=False)]
        n = len(cases)
        if n == 1:
            text = str(problems[0])
        else:
            lines = [f"the dataset breaks its contract in {n} places:"]
            lines += [f"  {p}" for p in problems]
            if n > self.max_shown:
                lines.append(f"  ... and {n - self.max_shown} more")
            text = "\n".join(lines)
        first = problems[0] if problems else Problem()
        self.problem = Problem(first.file, first.row, first.column, text, first.sheet, first.cell)
        HonorcalcError.__init__(self, text)


def problem_of_case(case) -> Problem:
    """One row of `ValidationError.failure_cases` (a namedtuple) as a `Problem`."""
    def given(name):
        value = getattr(case, name, None)
        return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value

    row = given("row")
    return Problem(
        file=case.file, row=None if row is None else int(row),
        column=None if given("column") is None else str(case.column),
        message=f"expected {case.expected}{_got(case.value)}",
        sheet=given("sheet"), cell=given("cell"),
    )


def shown_value(value) -> str:
    """A bad value as a message shows it: ``""`` for none, ``12.5`` for a number, ``'缺'`` quoted."""
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def _got(value) -> str:
    shown = shown_value(value)
    return f", got {shown}" if shown else ""


class ParamError(InputError):
    """A bad parameter: unknown key, wrong type or contradictory values."""

    def __init__(self, message: str, *, file=None, parameter: str | None = None):
        self.parameter = parameter
        where = f"parameter '{parameter}': " if parameter else ""
        super().__init__(where + message, file=file)
