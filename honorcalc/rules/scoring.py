"""The default scoring model: from raters' points to each unit's score in a round.

DESIGN.md "Default scoring model", RULES.md §1.2 (five evidence sources, 百分制),
§1.5.3 (primary and joint responsibility), §1.5.4 (history) and §1.5.5 (survey
satisfaction). Every function takes long-format frames as the loader types them
(`honorcalc.data.Dataset`) plus `Params`, returns a new frame, and leaves
its inputs unchanged. Extra columns in the inputs are ignored.

The steps, each a vectorized group-by over all rounds at once:

1. `indicator_points`: mean over the raters of (round, unit, indicator, source);
2. `source_scores`: Σ points / Σ max_points × 100 per (round, unit, source);
3. `category_scores`: the same per indicator category (for the explanation and
   the prerequisite veto);
4. `deduction_points`: what each deduction row takes off (verified only,
   joint role × ``deductions.joint_share``, 负面清单 points when enabled), and
   the joint charges of the units the responsibility table names
   (`honorcalc.rules.responsibility`);
5. `composite_scores`: weighted sources renormalised over the sources present,
   minus deductions, clamped to 0–100, optionally blended with the trailing
   rounds of the same work; the history is reported whether or not it is blended.

Rounds are put in time order by `order_rounds`, which also names the *work* a
round belongs to: ``"comprehensive"``, or ``"special:<topic>"`` for a special
round (RULES.md §1.1, §1.4 "同一工作").
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..data.contract import REQUIRED_COLUMNS, mapped
from ..errors import InputError
from ..params import SOURCES, Params
from .responsibility import charge_responsible_units, problem_keys

__all__ = [
    "SOURCE_SCORE_COLUMNS",
    "check_columns",
    "order_rounds",
    "indicator_points",
    "source_scores",
    "category_scores",
    "deduction_points",
    "satisfaction",
    "composite_scores", "check_scores_and_indicators", "require_columns", "require_known", "row_key"]


#: The per-source sub-score columns, in the order of `honorcalc.params.SOURCES`.
SOURCE_SCORE_COLUMNS = tuple(f"score_{s}" for s in SOURCES)

_SCORE_KEYS = ["round_id", "unit_id", "indicator_id", "source"]


def check_scores_and_indicators(scores: pd.DataFrame, indicators: pd.DataFrame) -> None:
    """Both tables have their columns, and each indicator is defined once."""
    check_columns(scores, "scores")
    check_columns(indicators, "indicators")
    dup = indicators["indicator_id"][indicators["indicator_id"].duplicated()]
    if len(dup):
        raise InputError(
            f"indicator_id {dup.iloc[0]!r} appears more than once", file="indicators", column="indicator_id"
        )


def check_columns(frame: pd.DataFrame, table: str) -> None:
    """Raise `InputError` if ``frame`` lacks a column the ``table`` needs.

    Raises
    ------
    InputError
        Names the table, the missing columns and the columns that are present.
    """
    require_columns(frame, REQUIRED_COLUMNS[table], table)


def require_columns(frame: pd.DataFrame, columns, table: str, *, label: str | None = None) -> None:
    """Raise `InputError` unless ``frame`` is a DataFrame with every one of ``columns``.

    The message names the frame as ``label`` (default "table '<table>'"), the
    missing columns and the columns that are present.
    """
    label = f"table '{table}'" if label is None else label
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{label}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{label} lacks column(s) {', '.join(missing)} "
            f"(it has: {', '.join(map(str, frame.columns)) or 'none'})",
            file=table,
        )


def row_key(frame: pd.DataFrame, columns=("round_id", "unit_id")) -> pd.Series:
    """One string per row joining ``columns``: a cheap key to align frames without a merge."""
    key = frame[columns[0]].astype(str)
    for c in columns[1:]:
        key = key + "\x1f" + frame[c].astype(str)
    return key


def require_known(values: pd.Series, known: Iterable, what: str, table: str, column: str) -> None:
    bad = values[~values.isin(list(known))].drop_duplicates()
    if len(bad):
        shown = ", ".join(repr(v) for v in bad.head(5))
        more = "" if len(bad) <= 5 else f" and {len(bad) - 5} more"
        raise InputError(f"unknown {what} {shown}{more}", file=table, column=column)


def order_rounds(rounds: pd.DataFrame) -> pd.DataFrame:
    """Rounds in time order, with the work each belongs to and its place in that work.

    Parameters
    ----------
    rounds : DataFrame
        ``round_id``, ``kind`` (comprehensive | special), ``topic``, ``date``.

    Returns
    -------
    DataFrame
        One row per round, sorted by (date, round_id): ``round_id``, ``kind``,
        ``topic``, ``date``, ``year`` (calendar year of ``date``), ``work``
        (``"comprehensive"`` or ``"special:<topic>"``), ``seq`` (0-based position
        among the rounds of the same work) and ``order`` (position among all rounds).

    Raises
    ------
    InputError
        Missing columns, a duplicated round_id, an unknown kind, a special round
        without a topic, or a missing date.

    Notes
    -----
    "Consecutive" in RULES.md §1.4 counts rounds of the same work, so ``seq``
    (not the calendar) is what escalation, history and slips step along. Rounds
    on the same date are ordered by round_id, so the order is reproducible.
    """
    check_columns(rounds, "rounds")
    round_id = rounds["round_id"].to_numpy(dtype=object)
    kind = rounds["kind"].to_numpy(dtype=object)
    topic = rounds["topic"].to_numpy(dtype=object) if "topic" in rounds.columns else np.full(len(rounds), np.nan)
    date = pd.to_datetime(rounds["date"]).to_numpy(dtype="datetime64[ns]")
    dup = pd.Index(round_id).duplicated()
    if dup.any():
        raise InputError(f"round_id {round_id[dup][0]!r} appears more than once", file="rounds", column="round_id")
    bad_kind = ~np.isin(kind, ["comprehensive", "special"])
    if bad_kind.any():
        raise InputError(
            f"round kind {kind[bad_kind][0]!r} not recognized; must be 'comprehensive' or 'special'",
            file="rounds", column="kind",
        )
    special = kind == "special"
    no_topic = special & pd.isna(topic)
    if no_topic.any():
        raise InputError(f"special round {round_id[no_topic][0]!r} has no topic", file="rounds", column="topic")
    if np.isnat(date).any():
        raise InputError(f"round {round_id[np.isnat(date)][0]!r} has no date", file="rounds", column="date")
    order = np.lexsort((pd.factorize(round_id, sort=True)[0], date))
    work = np.where(special, "special:" + topic.astype(str), "comprehensive")[order]
    # position within the work = rounds of the same work before this one
    by_work = np.argsort(pd.factorize(work)[0], kind="stable")
    w = work[by_work]
    pos = np.arange(len(order))
    start = np.maximum.accumulate(np.where(np.r_[True, w[1:] != w[:-1]], pos, 0)) if len(pos) else pos
    seq = np.empty(len(order), dtype="int64")
    seq[by_work] = pos - start
    d = date[order]
    return pd.DataFrame({
        "round_id": round_id[order], "kind": kind[order], "topic": topic[order], "date": d,
        "year": d.astype("datetime64[Y]").astype("int64") + 1970, "work": work, "seq": seq,
        "order": np.arange(len(order), dtype="int64"),
    })


def _sorted_groups(frame: pd.DataFrame, keys: list[str], tiebreak: np.ndarray | None = None):
    """Sort rows by ``keys`` (then ``tiebreak``) and find where each group starts.

    One factorize per key and one lexsort, instead of a pandas group-by: the
    same result on millions of rows, and far less overhead on small rounds.

    Returns
    -------
    order : ndarray
        Row positions in sorted order.
    starts : ndarray
        Positions in ``order`` where a new group begins.
    groups : DataFrame
        The key values of each group, in sorted order (one row per group).
    """
    codes, uniques = [], []
    for k in keys:
        c, u = pd.factorize(frame[k], sort=True)
        if (c < 0).any():
            raise InputError(f"blank {k} in a row", column=k)
        codes.append(c)
        uniques.append(u)
    n = len(frame)
    order = np.lexsort(([] if tiebreak is None else [tiebreak]) + codes[::-1]) if n else np.arange(0)
    new = np.zeros(n, dtype=bool)
    new[:1] = True
    for c in codes:
        cs = c[order]
        new[1:] |= cs[1:] != cs[:-1]
    starts = np.flatnonzero(new)
    groups = pd.DataFrame({k: u.take(c[order][starts]) for k, c, u in zip(keys, codes, uniques)})
    return order, starts, groups


def _sums(values: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Σ values per group of `_sorted_groups`, adding in the sorted order."""
    if len(starts) == 0:
        return np.zeros(0)
    return np.add.reduceat(np.asarray(values, dtype="float64")[order], starts)


def indicator_points(scores: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """Mean points over the raters of each (round, unit, indicator, source).

    Parameters
    ----------
    scores : DataFrame
        One row per rater's points: ``round_id``, ``unit_id``, ``indicator_id``,
        ``rater_id``, ``source``, ``points``.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.

    Returns
    -------
    DataFrame
        ``round_id``, ``unit_id``, ``indicator_id``, ``source``, ``points`` (mean
        over raters), ``n_raters``, ``category``, ``max_points``; sorted by the
        four keys. This is the input of `source_scores` and `category_scores`.

    Raises
    ------
    InputError
        Missing columns, a duplicated indicator_id, or a score row naming an
        indicator that is not in ``indicators``.

    Notes
    -----
    DESIGN.md scoring step 1. Each score row is one rater (the contract keys
    scores by round, unit, indicator, rater and source), so the mean over rows
    is the mean over raters.
    """
    check_scores_and_indicators(scores, indicators)
    require_known(scores["indicator_id"], indicators["indicator_id"], "indicator_id", "scores", "indicator_id")
    points = scores["points"].to_numpy(dtype="float64")
    # points as the last sort key give a canonical order inside each group, so the
    # float sums (and every score after them) do not depend on the input row order
    order, starts, out = _sorted_groups(scores, _SCORE_KEYS, tiebreak=points)
    n_raters = np.diff(np.append(starts, len(order))).astype("int64")
    out["points"] = _sums(points, order, starts) / np.maximum(n_raters, 1)
    out["n_raters"] = n_raters
    meta = indicators.set_index("indicator_id")
    out["category"] = mapped(out["indicator_id"], meta["category"])
    out["max_points"] = mapped(out["indicator_id"], meta["max_points"]).astype("float64")
    return out


def _percent(points: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    order, starts, out = _sorted_groups(points, by)
    out["points"] = _sums(points["points"], order, starts)
    out["max_points"] = _sums(points["max_points"], order, starts)
    out["n_indicators"] = np.diff(np.append(starts, len(order))).astype("int64")
    out["score"] = out["points"] / out["max_points"] * 100.0
    return out


def source_scores(points: pd.DataFrame) -> pd.DataFrame:
    """Score (0–100) of each unit under each evidence source, per round.

    Parameters
    ----------
    points : DataFrame
        The output of `indicator_points`.

    Returns
    -------
    DataFrame
        ``round_id``, ``unit_id``, ``source``, ``points`` (Σ indicator points),
        ``max_points`` (Σ max_points), ``n_indicators``, ``score``.

    Notes
    -----
    DESIGN.md scoring step 2: score = Σ points / Σ max_points × 100 over the
    indicators scored under that source for that unit and round (RULES.md §1.2,
    百分制). Indicators not scored under a source do not count against it.
    """
    return _percent(points, ["round_id", "unit_id", "source"])


def category_scores(points: pd.DataFrame) -> pd.DataFrame:
    """Score (0–100) of each unit in each indicator category, per round: as `source_scores`,
    with ``category`` in place of ``source``.

    Notes
    -----
    RULES.md §1.5.2 (report by category, not only the total) and §2 (the
    prerequisite veto). The same formula as `source_scores`, over every
    (indicator, source) pair of the category: an indicator scored under two
    sources counts twice, with its max_points each time, as it does in the
    source scores.
    """
    return _percent(points, ["round_id", "unit_id", "category"])


def deduction_points(deductions: pd.DataFrame, params: Params,
                     responsibility: pd.DataFrame | None = None) -> pd.DataFrame:
    """What each deduction row takes off its unit's composite, and whom else a problem charges.

    Parameters
    ----------
    deductions : DataFrame
        ``round_id``, ``unit_id``, ``code``, ``points`` (> 0), ``role``
        (primary | joint), optional ``verified`` (default true), ``note`` and
        ``problem_id``.
    params : Params
        ``deductions.joint_share``, ``deductions.verified_only``,
        ``deductions.responsibility``, ``negative_list``.
    responsibility : DataFrame, optional
        The responsibility table (责任关系): each primary row also charges the
        units it names for the row's unit
        (`honorcalc.rules.responsibility.charge_responsible_units`).

    Returns
    -------
    DataFrame
        One row per input row, in input order, then the derived rows:
        ``round_id``, ``unit_id``, ``code``, ``role``, ``verified``, ``note``,
        ``problem_id``, ``points`` (as in the data), ``negative_list``
        (``"listed"``: points taken from the 负面清单; ``"unknown_code"``: list
        enabled but the code is not on it, so the data's points are kept;
        ``"off"``), ``base_points``, ``share`` (1 for primary, ``joint_share``
        for a recorded joint row, the relation's share for a derived one),
        ``counted`` (verified, or verification not required), ``deducted``
        (base_points × share if counted, else 0), ``problem`` (rows of one
        round with the same ``problem`` are one problem shared by their
        units: `honorcalc.rules.responsibility.problem_keys`), ``origin``
        (recorded | derived), ``source_unit`` and ``relation``.

    Raises
    ------
    InputError
        Missing columns, a role other than primary/joint, or non-positive points.

    Notes
    -----
    RULES.md §1.5.3: "a problem can count against several units: the primary
    one in full, joint ones (连带责任) at a configurable fraction"; §2 负面清单:
    "listed violations carry fixed point deductions". A problem is identified
    by its round and ``problem_id`` (问题编号) or, without one, by its code and
    note: give two separate violations with the same code different notes
    (the loader also refuses exact duplicate deductions for this reason).
    """
    check_columns(deductions, "deductions")
    d = deductions[["round_id", "unit_id", "code", "role", "points"]].copy()
    d["verified"] = deductions["verified"].astype(bool) if "verified" in deductions.columns else True
    d["note"] = deductions["note"] if "note" in deductions.columns else np.nan
    d["problem_id"] = deductions["problem_id"] if "problem_id" in deductions.columns else np.nan
    bad_role = d["role"][~d["role"].isin(["primary", "joint"])]
    if len(bad_role):
        raise InputError(
            f"role {bad_role.iloc[0]!r} not recognized; must be 'primary' or 'joint'",
            file="deductions", column="role",
        )
    if not (d["points"] > 0).all():
        raise InputError(
            f"deduction points must be > 0, got {d['points'][~(d['points'] > 0)].iloc[0]!r}",
            file="deductions", column="points",
        )
    nl = params.negative_list
    points = d["points"].to_numpy(dtype="float64")
    if nl.enabled:
        fixed = d["code"].map(pd.Series(nl.codes, dtype="float64")).to_numpy(dtype="float64")
        listed = ~np.isnan(fixed)
        negative_list = np.where(listed, "listed", "unknown_code")
        base = np.where(listed, fixed, points)
    else:
        negative_list, base = np.full(len(d), "off"), points
    verified = d["verified"].to_numpy(dtype=bool)
    share = np.where(d["role"].to_numpy() == "primary", 1.0, params.deductions.joint_share)
    counted = verified | (not params.deductions.verified_only)
    problem = problem_keys(d["round_id"], d["unit_id"], d["code"], d["role"], d["note"], d["problem_id"])
    recorded = pd.DataFrame({
        "round_id": d["round_id"], "unit_id": d["unit_id"], "code": d["code"], "role": d["role"],
        "verified": verified, "note": d["note"], "problem_id": d["problem_id"], "points": points,
        "negative_list": negative_list, "base_points": base, "share": share, "counted": counted,
        "deducted": np.where(counted, base * share, 0.0), "problem": problem,
    }, index=d.index)
    return charge_responsible_units(recorded, responsibility, params)


def satisfaction(surveys: pd.DataFrame) -> pd.DataFrame:
    """Public satisfaction of each unit per round (RULES.md §1.5.5, §2).

    Returns
    -------
    DataFrame
        ``round_id``, ``unit_id``, ``respondents`` (Σ), ``satisfied`` (Σ),
        ``satisfaction`` = Σ satisfied / Σ respondents over the unit's survey
        rows of the round (a share, 0–1).
    """
    check_columns(surveys, "surveys")
    order, starts, out = _sorted_groups(surveys, ["round_id", "unit_id"])
    out["respondents"] = _sums(surveys["respondents"], order, starts)
    out["satisfied"] = _sums(surveys["satisfied"], order, starts)
    out["satisfaction"] = out["satisfied"] / out["respondents"]
    return out


def composite_scores(
    sources: pd.DataFrame,
    rounds: pd.DataFrame,
    deductions: pd.DataFrame,
    params: Params,
) -> pd.DataFrame:
    """Composite score of every unit scored in every round.

    Parameters
    ----------
    sources : DataFrame
        The output of `source_scores`: ``round_id``, ``unit_id``, ``source``, ``score``.
    rounds : DataFrame
        The rounds table, or the output of `order_rounds` (not recomputed then).
    deductions : DataFrame
        The deductions table (may be empty), or the output of `deduction_points`.
    params : Params
        ``weights``, ``deductions``, ``negative_list``, ``history``.

    Returns
    -------
    DataFrame
        One row per (round, unit) with source scores, sorted by (round order,
        unit_id): ``round_id``, ``unit_id``, ``work``, ``seq``,
        ``score_field`` … ``score_public`` (NaN when absent),
        ``sources_present`` and ``sources_missing`` (tuples; missing = a source
        with positive weight the unit has no score under), ``weight_sum`` (Σ
        weights of the present sources), ``weighted`` (renormalised weighted
        mean), ``deduction`` (Σ deducted), ``composite_raw`` (weighted −
        deduction), ``composite`` (clamped to 0–100), ``history_n``,
        ``history_mean``, ``history_rounds`` (tuple of the trailing round_ids
        whose composite is available, oldest first), ``blended`` (whether
        history entered the score) and ``score`` (the score that is ranked).

    Raises
    ------
    InputError
        An unknown source, or a source score for a round not in ``rounds``.

    Notes
    -----
    DESIGN.md scoring step 3 and RULES.md §1.2, §1.5.3, §1.5.4:

    composite = clamp(Σ_s w_s·S_s / Σ_s w_s − D, 0, 100), s over the sources present;

    score = (1 − w)·composite + w·mean(available trailing composites),

    with w = ``history.weight`` over the ``history.rounds`` rounds of the same
    work immediately before this one. A trailing round where the unit has no
    composite is skipped; with none available the score is the composite. The
    trailing composites are the unblended ones, so blending never compounds.
    A unit whose present sources all have weight 0 has no composite (NaN) and
    is not ranked. Deductions of a (round, unit) without source scores have no
    composite to come off and are left out here (`honorcalc.rules` reports them).

    For example, field 80 and daily 90 with equal weights, the other sources
    missing and 2 points deducted: composite = (0.2·80 + 0.2·90) / 0.4 − 2 = 83.
    """
    bad_source = sources["source"][~sources["source"].isin(SOURCES)]
    if len(bad_source):
        raise InputError(
            f"source {bad_source.iloc[0]!r} not recognized; must be one of {', '.join(SOURCES)}",
            file="scores", column="source",
        )
    if not {"work", "seq", "order"} <= set(rounds.columns):
        rounds = order_rounds(rounds)
    require_known(sources["round_id"], rounds["round_id"], "round_id", "scores", "round_id")

    order, starts, keys = _sorted_groups(sources, ["round_id", "unit_id"])
    group = np.cumsum(np.isin(np.arange(len(order)), starts)) - 1
    column = pd.Index(SOURCES).get_indexer(sources["source"])[order]
    wide = np.full((len(keys), len(SOURCES)), np.nan)
    wide[group, column] = sources["score"].to_numpy(dtype="float64")[order]

    # rows in time order (round order, then unit_id), every column built as an array
    at = pd.Index(rounds["round_id"]).get_indexer(keys["round_id"])
    round_order = rounds["order"].to_numpy()[at]
    by_time = np.lexsort((np.arange(len(keys)), round_order))
    wide, at = wide[by_time], at[by_time]
    cols = {"round_id": keys["round_id"].to_numpy()[by_time], "unit_id": keys["unit_id"].to_numpy()[by_time],
            "work": rounds["work"].to_numpy()[at], "seq": rounds["seq"].to_numpy()[at]}

    weights = np.array([params.weights.as_dict()[s] for s in SOURCES])
    present = ~np.isnan(wide)
    weight_sum = present @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.where(weight_sum > 0, np.where(present, wide, 0.0) @ weights / weight_sum, np.nan)
    for j, s in enumerate(SOURCES):
        cols[f"score_{s}"] = wide[:, j]
    names = np.asarray(SOURCES, dtype=object)
    cols["sources_present"] = [tuple(names[row]) for row in present]
    cols["sources_missing"] = [tuple(names[~row & (weights > 0)]) for row in present]
    cols["weight_sum"] = weight_sum
    cols["weighted"] = weighted

    deduction = np.zeros(len(keys))
    if len(deductions):
        detail = deductions if "deducted" in deductions.columns else deduction_points(deductions, params)
        here = pd.Index(pd.Series(cols["round_id"]).astype(str) + "\x1f" + pd.Series(cols["unit_id"]).astype(str))
        pos = here.get_indexer(row_key(detail))
        hit = pos >= 0
        deduction = np.bincount(pos[hit], weights=detail["deducted"].to_numpy()[hit], minlength=len(keys))
    cols["deduction"] = deduction
    cols["composite_raw"] = weighted - deduction
    cols["composite"] = np.clip(cols["composite_raw"], 0.0, 100.0)
    cols.update(_blend_history(cols, params))
    return pd.DataFrame(cols)


def _blend_history(cols: dict[str, np.ndarray], params: Params) -> dict[str, object]:
    """The trailing-rounds history and the blended score (RULES.md §1.5.4), as arrays."""
    k, w = params.history.rounds, params.history.weight
    composite = cols["composite"]
    n_rows = len(composite)
    if k == 0:
        return {"history_n": np.zeros(n_rows, dtype="int64"), "history_mean": np.full(n_rows, np.nan),
                "history_rounds": [()] * n_rows, "blended": np.zeros(n_rows, dtype=bool),
                "score": composite.copy()}
    # (unit, work, seq) as one integer, so each lag is one vectorized look-up
    unit_work = pd.factorize(pd.Series(cols["unit_id"]).astype(str) + "\x1f" + pd.Series(cols["work"]).astype(str))[0]
    seq = np.asarray(cols["seq"], dtype="int64")
    span = int(seq.max(initial=0)) + k + 1
    here = pd.Index(unit_work * span + seq)
    round_ids = np.asarray(cols["round_id"], dtype=object)
    lag_scores, lag_rounds = [], []
    for lag in range(k, 0, -1):
        at = here.get_indexer(unit_work * span + seq - lag)
        ok = at >= 0
        ok[ok] = ~np.isnan(composite[at[ok]])
        lag_scores.append(np.where(ok, composite[at], np.nan))
        lag_rounds.append(np.where(ok, round_ids[at], None))
    mat = np.column_stack(lag_scores)
    n = np.sum(~np.isnan(mat), axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.where(n > 0, np.nansum(mat, axis=1) / np.maximum(n, 1), np.nan)
    blended = (n > 0) & (w > 0) & ~np.isnan(composite)
    return {
        "history_n": n.astype("int64"), "history_mean": mean,
        "history_rounds": [tuple(r for r in row if r is not None) for row in np.column_stack(lag_rounds)],
        "blended": blended,
        "score": np.where(blended, (1.0 - w) * composite + w * mean, composite),
    }
