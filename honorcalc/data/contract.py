"""The dataset contract: its tables, their columns, keys and the validated `Dataset`.

The one definition every layer reads (DESIGN.md, "Dataset contract").
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from ..errors import InputError, ParamError
from ..params import SOURCE_LABELS, SOURCES

__all__ = ['TABLES', 'REQUIRED_TABLES', 'TABLE_NAMES_ZH', 'Col', 'CONTRACT', 'REQUIRED_COLUMNS', 'KEYS', 'Dataset',
           'dataset_frames', 'require_round', 'empty_table', 'FINAL_SCORE_PREFIX', 'FINAL_SCORE_RATER', 'final_score_rater',
           'is_final_score_rater', 'table_of_name', 'column_of_header', 'is_documented_header', 'choice_value',
           'contract_markdown']

#: The tables of a dataset, in the contract's order (the attributes of `Dataset`).
TABLES = ("units", "indicators", "rounds", "scores", "deductions", "surveys", "responsibility")
#: The tables a dataset must have; the others may be absent (empty).
REQUIRED_TABLES = ("units", "indicators", "rounds", "scores")

#: Each table's name as a city office writes it: a workbook's sheet or a file may carry either name.
TABLE_NAMES_ZH = {
    "units": "单位", "indicators": "指标", "rounds": "测评轮次", "scores": "评分", "deductions": "扣分",
    "surveys": "满意度调查", "responsibility": "责任关系",
}


@dataclass(frozen=True)
class Col:
    """One column of the contract.

    ``kind`` is ``id`` or ``text`` (strings), ``number``, ``choice``, ``date`` or
    ``bool``. ``low``/``low_open`` bound numbers from below (inclusive unless
    ``low_open``), ``high`` from above (inclusive). ``aliases`` map other
    spellings of a choice to its value. ``zh`` is the column's Chinese header;
    ``headers`` are further headers read as this column.
    """

    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    low: float | None = None
    low_open: bool = False
    zh: str = ""
    headers: tuple[str, ...] = ()
    high: float | None = None


#: The sources as an office writes them: RULES.md §1.2's names (`SOURCE_LABELS`), in English too, and
#: their usual short forms.
_SOURCE_ALIASES = tuple(dict.fromkeys(
    [(label, source) for lang in ("zh", "en") for source, label in SOURCE_LABELS[lang].items()]
    + [("实地考察", "field"), ("实地测评", "field"), ("实地", "field"), ("日常动态监测", "daily"),
       ("日常监测", "daily"), ("日常", "daily"), ("上级反馈", "feedback"), ("上级部门反馈意见", "feedback"),
       ("领导督导", "leader"), ("市领导督导", "leader"), ("群众监督", "public"), ("群众举报", "public"),
       ("群众投诉", "public")]))

CONTRACT: dict[str, tuple[Col, ...]] = {
    "units": (
        Col("unit_id", "id", zh="单位编号"),
        Col("name", "text", zh="单位名称"),
        Col("kind", "choice", choices=("industry", "territorial"),
            aliases=(("行业", "industry"), ("属地", "territorial"), ("行业单位", "industry"),
                     ("行业部门", "industry"), ("属地单位", "territorial")), zh="单位类型"),
        Col("group", "text", zh="排名分组"),
        Col("size", "number", required=False, low=0, zh="规模"),
    ),
    "indicators": (
        Col("indicator_id", "id", zh="指标编号"),
        Col("name", "text", zh="指标名称"),
        Col("category", "text", zh="指标类别"),
        Col("max_points", "number", low=0, low_open=True, zh="满分", headers=("分值",)),
        Col("topic", "text", required=False, zh="专项主题"),
    ),
    "rounds": (
        Col("round_id", "id", zh="轮次编号"),
        Col("kind", "choice", choices=("comprehensive", "special"),
            aliases=(("综合", "comprehensive"), ("综合测评", "comprehensive"),
                     ("专项", "special"), ("专项测评", "special")), zh="测评类型"),
        Col("topic", "text", required=False, zh="专项主题"),
        Col("date", "date", zh="测评日期"),
        Col("name", "text", required=False, zh="轮次名称"),
    ),
    "scores": (
        Col("round_id", "id", zh="轮次编号"),
        Col("unit_id", "id", zh="单位编号"),
        Col("indicator_id", "id", zh="指标编号"),
        Col("rater_id", "id", zh="评分人", headers=("评分人编号",)),
        Col("source", "choice", choices=SOURCES, aliases=_SOURCE_ALIASES, zh="评价来源"),
        Col("points", "number", low=0, zh="得分"),
        Col("visit", "choice", required=False, choices=("open", "covert"),
            aliases=(("明查", "open"), ("暗访", "covert"), ("明察", "open"), ("暗查", "covert")), zh="明查暗访"),
    ),
    "deductions": (
        Col("round_id", "id", zh="轮次编号"),
        Col("unit_id", "id", zh="单位编号"),
        Col("code", "id", zh="扣分代码"),
        Col("points", "number", low=0, low_open=True, zh="扣分分值"),
        Col("role", "choice", choices=("primary", "joint"),
            aliases=(("主责", "primary"), ("主要责任", "primary"), ("主体责任", "primary"),
                     ("连带", "joint"), ("连带责任", "joint")), zh="责任类型"),
        Col("verified", "bool", required=False, zh="是否核实"),
        Col("note", "text", required=False, zh="备注"),
        Col("problem_id", "id", required=False, zh="问题编号"),
    ),
    "surveys": (
        Col("round_id", "id", zh="轮次编号"),
        Col("unit_id", "id", zh="单位编号"),
        Col("respondents", "number", low=0, low_open=True, zh="调查人数"),
        Col("satisfied", "number", low=0, zh="满意人数"),
    ),
    # RULES.md §1.5.3: a problem recorded against ``unit_id`` also counts against ``responsible_id``
    # (its street or district: 属地; the department in charge: 行业; its paired unit: 挂包) at ``share``
    "responsibility": (
        Col("unit_id", "id", zh="单位编号"),
        Col("responsible_id", "id", zh="责任单位编号"),
        Col("relation", "choice", choices=("territorial", "industry", "paired"),
            aliases=(("属地", "territorial"), ("属地责任", "territorial"), ("行业", "industry"),
                     ("行业责任", "industry"), ("挂包", "paired"), ("挂包责任", "paired")), zh="责任类型"),
        Col("share", "number", required=False, low=0, low_open=True, high=1, zh="分担比例"),
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
    "responsibility": ("unit_id", "responsible_id"),
}

#: The tables a dataset may leave out even as an attribute: older callers build datasets of six tables.
_LATER_TABLES = ("responsibility",)

#: How the rater id of a final score begins: one pseudo-rater per source, for scores given without a
#: 评分人 (rater) column.
FINAL_SCORE_PREFIX = "final:"
FINAL_SCORE_RATER = FINAL_SCORE_PREFIX + "{source}"


def final_score_rater(source: str) -> str:
    """The pseudo-rater of ``source`` for scores given without raters (`FINAL_SCORE_RATER`)."""
    return FINAL_SCORE_RATER.format(source=source)


def is_final_score_rater(rater_ids: pd.Series) -> pd.Series:
    """Which of ``rater_ids`` are pseudo-raters of final scores (no rater was recorded)."""
    return text_ids(rater_ids).str.startswith(FINAL_SCORE_PREFIX).astype(bool)


def coded_ids(values: pd.Series) -> pd.Series:
    """A text column as a categorical of sorted text categories (`Dataset` keeps the score rows' ids so).

    Ten million score rows hold a few thousand distinct ids: as codes they take a
    tenth of the memory, and numbering, grouping and looking them up is work on
    small integers instead of on text.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return text_ids(values)
    codes, uniques = pd.factorize(values, sort=True)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(uniques)), index=values.index,
                     name=values.name)


def mapped(values: pd.Series, mapping) -> pd.Series:
    """``values.map(mapping)``, as it is on text, also for a categorical of ids.

    A categorical maps its categories, and where the mapping is one-to-one the result is
    again a categorical, whose categories keep the old order: sorting or numbering it
    would follow the ids, not the new values, and a ``fillna`` with a new value fails.
    Here each distinct id is mapped once and the result taken per row, as a plain column.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        text = text_ids(values)
        if isinstance(text.dtype, pd.CategoricalDtype):
            per = pd.Series(list(text.cat.categories), dtype="str").map(mapping)
            out = per.reindex(text.cat.codes.to_numpy())
            out.index, out.name = values.index, values.name
            return out
        values = text
    return values.map(mapping)


def text_ids(values: pd.Series) -> pd.Series:
    """``values.astype(str)``, except that a categorical stays one: its categories become text, sorted.

    Whatever works on text (comparison, ``isin``, ``.str``, `pandas.factorize` with
    ``sort=True``) then gives the same answer, without writing out every row's text.
    """
    if isinstance(values.dtype, pd.CategoricalDtype) and not values.isna().any():
        text = values.cat.categories.astype(str)
        if text.is_unique:
            values = values.cat.rename_categories(text).cat.as_unordered()
            return values if text.is_monotonic_increasing else values.cat.reorder_categories(sorted(text))
    return values.astype(str)


def empty_table(name: str) -> pd.DataFrame:
    """A typed, empty frame with the contract's columns of table ``name``."""
    frame = pd.DataFrame(index=pd.RangeIndex(0))
    for col in CONTRACT[name]:
        if col.kind == "number":
            frame[col.name] = pd.Series(dtype="float64")
        elif col.kind == "date":
            frame[col.name] = pd.Series(dtype="datetime64[ns]")
        elif col.kind == "bool":
            frame[col.name] = pd.Series(dtype=bool)
        else:
            frame[col.name] = pd.Series(dtype="str")
    return frame


@dataclass(frozen=True)
class Dataset:
    """A validated dataset: typed frames, the files they came from, and notices.

    Ids and text are ``str``; numbers ``float64``; ``rounds.date`` is
    ``datetime64``; ``deductions.verified`` is ``bool``; blank optional cells are
    NaN. The text columns of ``scores`` (ids, source, visit) are categoricals of
    sorted text categories (`coded_ids`): a province's millions of score rows hold
    a few thousand distinct values. Optional tables that were not given are empty frames with the contract's
    columns. Each frame keeps its original row labels (spreadsheet row − 2).
    """

    units: pd.DataFrame
    indicators: pd.DataFrame
    rounds: pd.DataFrame
    scores: pd.DataFrame
    deductions: pd.DataFrame
    surveys: pd.DataFrame
    responsibility: pd.DataFrame | None = None
    files: dict[str, str] = field(default_factory=dict)
    formats: dict[str, dict] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    def __post_init__(self):
        if self.responsibility is None:
            object.__setattr__(self, "responsibility", empty_table("responsibility"))

    @property
    def final_scores_only(self) -> bool:
        """Whether no score names its rater: the data hold final scores (one pseudo-rater per source)."""
        return bool(len(self.scores)) and bool(is_final_score_rater(self.scores["rater_id"]).all())

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def require_round(self, round_id: str, parameter: str = "round") -> pd.Series:
        """The row of ``rounds`` for ``round_id``, which must exist and have scores (`require_round`)."""
        require_round(self.rounds, round_id, scores=self.scores, files=self.files, parameter=parameter)
        return self.rounds.loc[self.rounds["round_id"] == round_id].iloc[0]


def dataset_frames(dataset) -> dict[str, pd.DataFrame]:
    """The tables of ``dataset`` (a `Dataset`, or any object with the tables as attributes) by name.

    ``responsibility`` may be absent: an empty table then.

    Raises
    ------
    InputError
        ``dataset`` lacks one of the tables.
    """
    missing = [t for t in TABLES if not hasattr(dataset, t) and t not in _LATER_TABLES]
    if missing:
        raise InputError(
            f"expected a dataset with tables {', '.join(TABLES)}; "
            f"{type(dataset).__name__} lacks {', '.join(missing)}"
        )
    frames = {t: getattr(dataset, t, None) for t in TABLES}
    return {t: empty_table(t) if frame is None else frame for t, frame in frames.items()}


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


def _folded(text) -> str:
    """A header or name as compared: NFKC (full-width → half-width), surrounding spaces and case ignored."""
    import unicodedata

    return unicodedata.normalize("NFKC", str(text)).strip().lstrip("\ufeff").strip().lower()


def table_of_name(name) -> str | None:
    """The table a sheet or file stem names (``评分``, ``scores``, ``Scores``), or None."""
    folded = _folded(name)
    for table in TABLES:
        if folded in (table, _folded(TABLE_NAMES_ZH[table])):
            return table
    return None


def column_of_header(table: str, header) -> str | None:
    """The contract column of ``table`` that a header names, or None.

    A column is named by its English name, its Chinese header (`Col.zh`) or one
    of `Col.headers`, ignoring surrounding spaces, case and full-/half-width
    forms (``得分``, ``ＰＯＩＮＴＳ``, `` Points ``).
    """
    folded = _folded(header)
    for col in CONTRACT[table]:
        if folded in (col.name, *(_folded(h) for h in (col.zh, *col.headers) if h)):
            return col.name
    return None


def is_documented_header(table: str, header) -> bool:
    """Whether ``header`` is written exactly as documented (a name or Chinese header, spaces aside)."""
    text = str(header).strip().lstrip("\ufeff").strip()
    return any(text in (col.name, col.zh, *col.headers) for col in CONTRACT[table])


def choice_value(table: str, column: str, text) -> str | None:
    """The contract value of a choice written ``text`` (``实地考察`` → ``field``), or None."""
    col = next(c for c in CONTRACT[table] if c.name == column)
    folded = _folded(text)
    mapping = {**{c: c for c in col.choices}, **{_folded(a): v for a, v in col.aliases}}
    return mapping.get(folded)


def contract_markdown() -> str:
    """The contract as a Markdown table: every table and column, its Chinese header, what else is
    read as it, and its values with their Chinese spellings (the README's "every alias")."""
    kinds = {"id": "id (text)", "text": "text", "number": "number", "date": "date YYYY-MM-DD",
             "bool": "true/false (是/否, 已核实/未核实)", "choice": "one of"}
    lines = ["| table (sheet) | column | Chinese header | also read as | values |", "|---|---|---|---|---|"]
    for table, columns in CONTRACT.items():
        for k, col in enumerate(columns):
            name = f"`{table}` {TABLE_NAMES_ZH[table]}" if k == 0 else ""
            column = f"**{col.name}**" if col.required else col.name
            values = kinds[col.kind]
            if col.kind == "choice":
                spelled = {c: [a for a, v in col.aliases if v == c] for c in col.choices}
                values = " \\| ".join(f"`{c}` " + " ".join(spelled[c]) if spelled[c] else f"`{c}`"
                                      for c in col.choices)
            if col.kind == "number":
                bounds = []
                if col.low is not None:
                    bounds.append(f"{'>' if col.low_open else '≥'} {col.low:g}")
                if col.high is not None:
                    bounds.append(f"≤ {col.high:g}")
                values += f" ({', '.join(bounds)})" if bounds else ""
            also = ", ".join(col.headers)
            lines.append(f"| {name} | {column} | {col.zh} | {also} | {values} |")
    return "\n".join(lines)
