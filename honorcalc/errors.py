"""The exception types of honorcalc.

`InputError` is the one type for problems the *user* can fix: a bad file, cell or
parameter. It carries where the problem is, and `str(err)` says it in one line
(``scores.csv:14: column 'points': expected 0 to 10, got '12'``). Only the command
line turns it into an exit code (2). Anything else that escapes is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["HonorcalcError", "InputError", "ValidationError", "ParamError", "Problem"]


class HonorcalcError(Exception):
    """Base class of every error honorcalc raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the input, located as the user sees it.

    ``row`` is the row number in a spreadsheet program: the header is row 1, so
    the first data row is row 2.
    """

    file: str | None = None
    row: int | None = None
    column: str | None = None
    message: str = ""

    def __str__(self) -> str:
        where = self.file or ""
        if self.row is not None:
            where = f"{where}:{self.row}"
        parts = [p for p in (where, f"column '{self.column}'" if self.column else "") if p]
        return ": ".join(parts + [self.message])


class InputError(HonorcalcError):
    """A problem in the user's data or parameters; the message says where and what."""

    def __init__(self, message: str, *, file=None, row=None, column=None):
        self.problem = Problem(
            file=None if file is None else str(file), row=row, column=column, message=message
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
    """

    max_shown = 50

    def __init__(self, failure_cases: pd.DataFrame):
        cases = failure_cases.reset_index(drop=True)
        self.failure_cases = cases
        problems = [
            Problem(
                file=case.file,
                row=None if pd.isna(case.row) else int(case.row),
                column=None if pd.isna(case.column) else str(case.column),
                message=f"expected {case.expected}{_got(case.value)}",
            )
            for case in cases.head(self.max_shown).itertuples(index=False)
        ]
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
        self.problem = Problem(first.file, first.row, first.column, text)
        HonorcalcError.__init__(self, text)


def _got(value) -> str:
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f", got {value:g}"
    return f", got {value!r}"


class ParamError(InputError):
    """A bad parameter: unknown key, wrong type or contradictory values."""

    def __init__(self, message: str, *, file=None, parameter: str | None = None):
        self.parameter = parameter
        where = f"parameter '{parameter}': " if parameter else ""
        super().__init__(where + message, file=file)
