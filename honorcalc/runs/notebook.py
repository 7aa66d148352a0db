"""The report notebooks' first cell: parameters, data and the run's tables in, the report's view out.

`honorcalc.runs.folder.run_report` computes a run's tables, writes them into the
run folder and executes the notebook there (papermill) with these parameters
(`hand_over`):

``parameters``
    the resolved parameters (`honorcalc.params.Params.to_dict`);
``run_dir``
    the run folder, relative to the notebook's working directory: ``"."``, so an
    executed ``report.ipynb`` re-executed later in its folder reads that folder,
    wherever it has been moved;
``table_sha256``
    ``{file: sha256}`` of every table the run wrote;
``table_columns``
    ``{file: {column: type}}``: how each table's columns are read back (`column_types`);
``input_sha256``
    ``{table: sha256}`` of every input file as the run read it.

`prepare` (`prepare_annual`) loads the dataset (``parameters["dataset"]``),
refuses it if an input file is not the one the run read, evaluates the round
(the year) and reads the tables from the run folder, refusing any table whose
bytes are not the ones the run wrote. Only data crosses from the run to the
notebook: no file of a run folder is ever executed or deserialised into
objects. "Run All" in JupyterLab injects nothing: the parameters come from
``params_file`` and the tables are computed.

While the run computes the tables, its kernel loads the same dataset and
evaluates the same report (`preload`); `prepare` takes them only when they are
exactly what it would compute.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import numbers
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.contract import Dataset
from ..data.read import load_dataset
from ..data.write import file_sha256, unescape_cell, write_tables
from ..errors import InputError, ParamError
from ..params import Params, load_params, params_from_mapping
from ..report.view import AnnualView, RoundView, build_annual_view, build_view
from .pipeline import evaluate, run_tables

__all__ = [
    "KERNEL_IMPORTS", "prepare", "prepare_annual", "notebook_params", "params_path", "hand_over",
    "column_types", "read_table", "read_run_tables", "input_hashes", "check_inputs", "preload", "preload_code",
]


#: What each report's cells import, loaded by its kernel as it starts
#: (`honorcalc.report.execute.start_kernel`).
KERNEL_IMPORTS = {
    "round": ("honorcalc.runs.notebook", "honorcalc.report.round_report", "honorcalc.report.figures.round_figures"),
    "annual": ("honorcalc.runs.notebook", "honorcalc.report.annual_report",
               "honorcalc.report.figures.annual_figures"),
}


# --------------------------------------------------------------------------- parameters


def params_path(params_file: str | Path) -> Path:
    """``params_file`` as found from the working directory: itself or in the nearest parent that has it.

    A notebook's default ``params/demo.yaml`` is thus found when JupyterLab was
    started in the repository, whichever folder the notebook sits in. A path
    found nowhere is returned as given (`load_params` then says it is missing).
    """
    path = Path(params_file).expanduser()
    if path.is_absolute():
        return path
    here = Path.cwd()
    for base in (here, *here.parents):
        if (base / path).is_file():
            return base / path
    return path


def notebook_params(params_file: str | Path | None, parameters: Mapping | None) -> Params:
    """The parameters a notebook runs with: the injected ones, else those of its params file (`params_path`).

    Raises
    ------
    ParamError
        Neither is given, or they are invalid.
    """
    if parameters:
        return params_from_mapping(dict(parameters))
    if not params_file:
        raise ParamError("the notebook needs params_file or parameters")
    return load_params(params_path(params_file))


# --------------------------------------------------------------------------- the hand-over


def hand_over(tables: Mapping[str, pd.DataFrame], dataset: Dataset, folder: str | Path) -> dict:
    """Write a run's tables into ``folder``; return the notebook parameters that read them back.

    Returns
    -------
    dict
        ``run_dir`` (``"."``: the notebook is executed in ``folder``),
        ``table_sha256``, ``table_columns`` and ``input_sha256`` (module docstring);
        `honorcalc.runs.folder.run_report` adds ``parameters``.
    """
    folder = Path(folder)
    write_tables(tables, folder)
    return {
        "run_dir": ".",
        "table_sha256": {name: file_sha256(folder / name) for name in tables},
        "table_columns": {name: column_types(frame) for name, frame in tables.items()},
        "input_sha256": input_hashes(dataset),
    }


def input_hashes(dataset: Dataset) -> dict[str, str | None]:
    """``{table: sha256}`` of the file of every table of ``dataset`` as it was read
    (`honorcalc.data.read.load_dataset` records it)."""
    return {table: dataset.formats.get(table, {}).get("sha256") for table in sorted(dataset.files)}


def column_types(frame: pd.DataFrame) -> dict[str, str]:
    """How each column of ``frame`` is read back from its CSV (`read_table`), by column.

    ``str``
        text; a blank cell is the empty string. ``str?``: a blank cell is missing (NaN).
    ``object``, ``object?``
        the same in a column of dtype object.
    ``object:int``, ``object:float``, ``object:bool``
        a column of dtype object holding Python numbers or booleans; a blank cell is missing.
    ``tuple``
        tuples, each written as a Python literal (``('U009', 'U027')``).
    a dtype's name
        ``bool``, ``int64``, ``Int64``, ``float64``, ``datetime64[ns]`` …; a blank cell is missing.

    Raises
    ------
    TypeError
        A column mixes values of different kinds, or a column name repeats:
        the table could not be read back as it is.
    """
    if frame.columns.has_duplicates:
        raise TypeError(f"columns named twice: {sorted(set(frame.columns[frame.columns.duplicated()]))}")
    return {str(name): _column_type(frame[name]) for name in frame.columns}


def _column_type(column: pd.Series) -> str:
    dtype = column.dtype
    if dtype == object:
        values = column.dropna()
        kinds = {_value_kind(v) for v in values}
        if kinds <= {"str"}:
            return "object?" if len(values) < len(column) and not (values == "").any() else "object"
        if len(kinds) == 1 and kinds <= {"tuple", "int", "float", "bool"}:
            kind = kinds.pop()
            return kind if kind == "tuple" else f"object:{kind}"
        raise TypeError(f"column {column.name!r} mixes {', '.join(sorted(kinds))}: it cannot be read back as written")
    if pd.api.types.is_string_dtype(dtype):
        return "str?" if column.isna().any() and not (column == "").any() else "str"
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype) \
            or pd.api.types.is_datetime64_dtype(dtype):
        return str(dtype)
    raise TypeError(f"column {column.name!r} has dtype {dtype}: it cannot be read back as written")


def _value_kind(value) -> str:
    """``str``, ``tuple``, ``bool``, ``int``, ``float``, or the type's name."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, tuple):
        return "tuple"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    return type(value).__name__


# --------------------------------------------------------------------------- reading a run folder


_TABLE_NAME = re.compile(r"[^/\\]+\.csv")


def read_run_tables(run_dir: str | Path, table_sha256: Mapping[str, str] | None,
                    table_columns: Mapping[str, Mapping[str, str]] | None) -> dict[str, pd.DataFrame]:
    """The tables a run wrote into ``run_dir``, each checked against its sha256, then read back typed.

    Raises
    ------
    InputError
        No hashes or column types are given, a table is missing from
        ``run_dir``, or a table's bytes are not the ones the run wrote (the
        message names the file).
    """
    folder = Path(run_dir)
    table_sha256, table_columns = dict(table_sha256 or {}), dict(table_columns or {})
    if not table_sha256:
        raise InputError(f"run_dir is {str(run_dir)!r} but table_sha256 is empty: which tables the run wrote "
                         "is unknown (leave run_dir empty to compute the tables)")
    if set(table_sha256) != set(table_columns):
        raise InputError("table_sha256 and table_columns name different tables: "
                         f"{', '.join(sorted(set(table_sha256) ^ set(table_columns)))}")
    tables = {}
    for name, expected in table_sha256.items():
        if not _TABLE_NAME.fullmatch(name) or name.startswith("."):
            raise InputError(f"table_sha256 names {name!r}, which is not a table of a run folder")
        path = folder / name
        if not path.is_file():
            raise InputError(f"{name} is missing from the run folder {folder.resolve()}", file=name)
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise InputError(
                f"{name} in the run folder {folder.resolve()} is not the table the run wrote "
                f"(sha256 {actual}, the run wrote {expected}): it was changed after the run", file=name)
        tables[name] = read_table(data, table_columns[name], name=name)
    return tables


def read_table(data: bytes, columns: Mapping[str, str], *, name: str = "table") -> pd.DataFrame:
    """A table written by `honorcalc.data.write.write_tables`, read back from its bytes.

    Every cell is read as text first (so ``001`` and ``NA`` stay what they
    are), then each column is typed as ``columns`` says (`column_types`). The
    column names and the cells of text columns are unescaped
    (`honorcalc.data.write.unescape_cell`): a name written ``'=HYPERLINK(…)``,
    neutralised for spreadsheets, is read back ``=HYPERLINK(…)``, exactly as the
    run had it.

    Raises
    ------
    InputError
        The header is not ``columns``, or a cell is not of its column's type.
    """
    columns = dict(columns)
    if not columns:
        return pd.DataFrame()
    text = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    text.columns = [unescape_cell(str(c)) for c in text.columns]
    if list(text.columns) != list(columns):
        raise InputError(f"{name}: the header is not the run's columns ({', '.join(columns)})", file=name)
    out = {}
    for column, kind in columns.items():
        try:
            cells = _unescaped(text[column]) if kind in _TEXT_KINDS else text[column]
            out[column] = _typed(cells, kind)
        except (ValueError, TypeError, SyntaxError, OverflowError):
            raise InputError(f"a cell cannot be read as {kind}", file=name, column=column) from None
    return pd.DataFrame(out, index=text.index)


#: The column types (`column_types`) whose cells are text, neutralised when written.
_TEXT_KINDS = ("str", "str?", "object", "object?")


def _unescaped(text: pd.Series) -> pd.Series:
    """A text column as it was before it was written (`honorcalc.data.write.unescape_cell`)."""
    quoted = text.str.startswith("'").to_numpy(dtype=bool)
    if not quoted.any():
        return text
    out = text.copy()
    out[quoted] = [unescape_cell(v) for v in text[quoted]]
    return out


def _typed(text: pd.Series, kind: str) -> pd.Series:
    """One column of text typed as ``kind`` (`column_types`)."""
    blank = text == ""
    if kind == "str":
        return text
    if kind == "str?":
        return text.mask(blank)
    if kind in ("object", "object?"):
        values = text.astype(object)
        return values.mask(blank) if kind == "object?" else values
    if kind in _OBJECT_VALUES:
        parse = _OBJECT_VALUES[kind]
        return pd.Series([np.nan if b else parse(v) for v, b in zip(text, blank)], index=text.index,
                         dtype=object, name=text.name)
    if kind == "bool":
        return _boolean(text)
    missing = text.mask(blank)
    if kind.startswith("datetime64"):
        return pd.to_datetime(missing, format="ISO8601").astype(kind)
    if kind == "boolean":
        return missing.map(_boolean_cell, na_action="ignore").astype(kind)
    if kind.startswith(("int", "uint")):
        return text.astype(kind)
    if kind.startswith(("Int", "UInt")):
        return missing.astype(kind)
    if kind.startswith(("float", "Float")):
        return pd.to_numeric(missing).astype(kind)
    raise TypeError(f"unknown column type {kind!r}")


def _boolean_cell(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(f"not a boolean: {text!r}")
    return text == "True"


def _boolean(text: pd.Series) -> pd.Series:
    if not text.isin(("True", "False")).all():
        raise ValueError("not a boolean")
    return text == "True"


def _literal_tuple(text: str) -> tuple:
    value = ast.literal_eval(text)  # literals only: never code
    if not isinstance(value, tuple):
        raise TypeError("not a tuple")
    return value


#: How a cell of each ``object:…`` column type (`column_types`) is read.
_OBJECT_VALUES = {"object:int": int, "object:float": float, "object:bool": _boolean_cell, "tuple": _literal_tuple}


def check_inputs(dataset: Dataset, expected: Mapping[str, str] | None) -> None:
    """The dataset's files, as they were read, must be the ones the run read (``expected``: table → sha256).

    Raises
    ------
    InputError
        A table is missing, added, or its file differs: the dataset changed since the run.
    """
    if not expected:
        return
    read = input_hashes(dataset)
    for table in sorted(set(expected) | set(read)):
        if read.get(table) != expected.get(table):
            file = dataset.files.get(table, table)
            raise InputError(
                f"the dataset changed since the run: {file} is not the file the run read "
                f"(sha256 {read.get(table) or 'none'}, the run read {expected.get(table) or 'none'})", file=file)


# --------------------------------------------------------------------------- the notebooks' first cell


def prepare(params_file: str | Path | None = None, parameters: Mapping | None = None, run_dir: str = "",
            table_sha256: Mapping[str, str] | None = None,
            table_columns: Mapping[str, Mapping[str, str]] | None = None,
            input_sha256: Mapping[str, str] | None = None) -> RoundView:
    """The round report's view, for its notebook's first cell.

    ``parameters`` (injected by `honorcalc run`) win over ``params_file`` (the
    notebook's default, for "Run All" in JupyterLab; found by `params_path`).
    The dataset is loaded and checked against ``input_sha256``, and the round
    evaluated; with a ``run_dir`` the tables are the run's (`read_run_tables`),
    without one they are computed (`honorcalc.runs.pipeline.run_tables`).

    Raises
    ------
    InputError
        Bad parameters or data, an input changed since the run, or a table of
        the run folder missing or altered.
    """
    params = notebook_params(params_file, parameters)
    dataset, result, tables = _contents(params, run_dir, table_sha256, table_columns, input_sha256)
    return build_view(params, dataset, tables, result, run_dir=run_dir or None)


def prepare_annual(params_file: str | Path | None = None, parameters: Mapping | None = None, run_dir: str = "",
                   table_sha256: Mapping[str, str] | None = None,
                   table_columns: Mapping[str, Mapping[str, str]] | None = None,
                   input_sha256: Mapping[str, str] | None = None) -> AnnualView:
    """The annual report's view, for its notebook's first cell: as `prepare`, for the year of ``round``."""
    params = notebook_params(params_file, parameters).model_copy(update={"report": "annual"})
    dataset, result, tables = _contents(params, run_dir, table_sha256, table_columns, input_sha256)
    return build_annual_view(params, dataset, tables, result, run_dir=run_dir or None)


def _contents(params: Params, run_dir, table_sha256, table_columns, input_sha256):
    """The dataset, the evaluated result and the tables a report of ``params`` shows."""
    preloaded = _take_preloaded(params, input_sha256)
    if preloaded is not None:
        dataset, result = preloaded
    else:
        dataset = load_dataset(params.dataset)
        check_inputs(dataset, input_sha256)
        dataset.require_round(params.round)
        result = evaluate(params, dataset)
    if run_dir:
        tables = read_run_tables(run_dir, table_sha256, table_columns)
    else:
        tables = run_tables(params, dataset, result)
    return dataset, result, tables


# --------------------------------------------------------------------------- the kernel's head start


#: What `preload` left for `prepare`: (params, dataset, result), taken once.
_PRELOADED: list = []


def preload(parameters: Mapping) -> None:
    """Load the dataset and evaluate the report of ``parameters`` now, in this kernel, for `prepare`.

    `honorcalc.runs.folder.run_report` has its kernel run this (`preload_code`)
    while it computes the tables itself, so the notebook finds the dataset
    loaded and the result evaluated. `prepare` takes them only for the same
    parameters and when every input file, as read here, is the one the run read
    (``input_sha256``): then they are exactly what it would compute. An error
    here leaves nothing, and `prepare` loads and evaluates as usual.
    """
    _PRELOADED.clear()
    params = notebook_params(None, parameters)
    dataset = load_dataset(params.dataset)
    dataset.require_round(params.round)
    _PRELOADED.append((params, dataset, evaluate(params, dataset)))


def preload_code(params: Params) -> str:
    """The line a kernel runs to `preload` ``params``, leaving no name in the notebook's namespace."""
    text = json.dumps(params.to_dict(), ensure_ascii=True)
    return f"__import__('honorcalc.runs.notebook', fromlist=['preload']).preload(__import__('json').loads({text!r}))"


def _take_preloaded(params: Params, input_sha256: Mapping[str, str] | None):
    """``(dataset, result)`` `preload` left for ``params`` and these very inputs, else None; taken once."""
    if not _PRELOADED:
        return None
    preloaded_params, dataset, result = _PRELOADED.pop()
    if not input_sha256 or preloaded_params != params or input_hashes(dataset) != dict(input_sha256):
        return None
    return dataset, result
