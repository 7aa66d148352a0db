"""A whole round, and the rounds before it, through every rule: `evaluate_round` and `RoundResult`.

The pipeline, each step a pure function over a *results* frame with one row per
(round, unit), vectorized over all rounds at once: ``composite_scores``
(`honorcalc.rules.scoring`) → `apply_vetoes` → `rank_units` → `apply_lists` →
`award_points` → `escalate`; then, for one round, the optional `assign_tiers`,
`award_flags`, `issue_slips` and `apply_pass_quota`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.contract import Dataset, dataset_frames, mapped, require_round
from ..errors import InputError, ParamError
from ..params import Params
from .consequences import award_points, escalate
from .lists import apply_lists, empty_ties
from .practices import apply_pass_quota, assign_tiers, award_flags, issue_slips
from .ranking import rank_units
from .responsibility import check_responsibility
from .scoring import (
    SOURCE_SCORE_COLUMNS,
    category_scores,
    check_columns,
    composite_scores,
    deduction_points,
    indicator_points,
    order_rounds,
    require_known,
    row_key,
    satisfaction,
    source_scores,
)
from .vetoes import apply_vetoes

#: The tables every evaluation checks; the responsibility table (optional) is checked on its own
#: (`honorcalc.rules.responsibility.check_responsibility`).
_SIX = ("units", "indicators", "rounds", "scores", "deductions", "surveys")


__all__ = ['RANKING_COLUMNS', 'Evaluation', 'evaluate_rounds', 'RoundResult', 'evaluate_round', 'evaluate_until', 'ranking_table',
           'negative_list_codes']


#: The columns of ``ranking.csv`` (DESIGN.md "Run folder"), in order.
RANKING_COLUMNS = (
    "round_id", "unit_id", "name", "group", "score", "rank", "list", "vetoed",
    "points", "points_ytd", "escalated", "negative_list", *SOURCE_SCORE_COLUMNS,
)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Every round of a dataset scored, ranked and listed (`evaluate_rounds`).

    Attributes
    ----------
    rounds : DataFrame
        `honorcalc.rules.scoring.order_rounds` of the rounds evaluated.
    results : DataFrame
        One row per (round, unit scored in it); see `RoundResult.units`.
    ties, list_status : DataFrame
        As in `ListOutcome`, for every round.
    points : DataFrame
        `honorcalc.rules.scoring.indicator_points` (with the indicator's name).
    sources, categories : DataFrame
        `honorcalc.rules.scoring.source_scores` and `category_scores`.
    deductions : DataFrame
        `honorcalc.rules.scoring.deduction_points` (recorded rows, then the joint
        charges the responsibility table derives), with ``evaluated`` (the unit
        has a score in that round, so the deduction applies) and ``name``.
    surveys : DataFrame
        `honorcalc.rules.scoring.satisfaction`.
    """

    rounds: pd.DataFrame
    results: pd.DataFrame
    ties: pd.DataFrame
    list_status: pd.DataFrame
    points: pd.DataFrame
    sources: pd.DataFrame
    categories: pd.DataFrame
    deductions: pd.DataFrame
    surveys: pd.DataFrame


def _check_inputs(units, indicators, rounds, scores, deductions, surveys, params: Params, *,
                  validated: bool = False, responsibility: pd.DataFrame | None = None) -> None:
    """The tables hold together and the parameters fit them.

    Tables of a validated `honorcalc.data.Dataset` (``validated``) are trusted:
    validation has checked their columns, ids and references already, so only
    what depends on the parameters is checked.
    """
    if not isinstance(params, Params):
        raise InputError(f"params: expected honorcalc.params.Params, got {type(params).__name__}")
    if not validated:
        _check_tables(units, indicators, rounds, scores, deductions, surveys)
        if responsibility is not None:
            check_responsibility(responsibility, units)
    category = params.veto.prerequisite_category
    if category is not None and not indicators["category"].eq(category).any():
        known = ", ".join(sorted(indicators["category"].dropna().astype(str).unique()))
        raise ParamError(
            f"category {category!r} is not an indicator category (categories: {known})",
            parameter="veto.prerequisite_category",
        )


def _check_tables(units, indicators, rounds, scores, deductions, surveys) -> None:
    for frame, table in zip((units, indicators, rounds, scores, deductions, surveys), _SIX):
        check_columns(frame, table)
    dup = units["unit_id"][units["unit_id"].duplicated()]
    if len(dup):
        raise InputError(f"unit_id {dup.iloc[0]!r} appears more than once", file="units", column="unit_id")
    for frame, table in ((scores, "scores"), (deductions, "deductions"), (surveys, "surveys")):
        require_known(frame["unit_id"], units["unit_id"], "unit_id", table, "unit_id")
        require_known(frame["round_id"], rounds["round_id"], "round_id", table, "round_id")


def _ranking_group(units: pd.DataFrame, params: Params) -> pd.Series:
    scope = params.lists.ranking_scope
    if scope == "group":
        return units["group"].astype(str)
    if scope == "kind":
        return units["kind"].astype(str)
    return pd.Series("all", index=units.index, dtype=str)


def evaluate_rounds(
    units: pd.DataFrame,
    indicators: pd.DataFrame,
    rounds: pd.DataFrame,
    scores: pd.DataFrame,
    deductions: pd.DataFrame,
    surveys: pd.DataFrame,
    params: Params,
    responsibility: pd.DataFrame | None = None,
) -> Evaluation:
    """Score, rank and list every round of a dataset (RULES.md §1, §2).

    Parameters
    ----------
    units, indicators, rounds, scores, deductions, surveys : DataFrame
        The tables of the dataset contract, typed as the loader types them;
        ``deductions`` and ``surveys`` may be empty. Extra columns are ignored.
    params : Params
    responsibility : DataFrame, optional
        The responsibility table (责任关系, RULES.md §1.5.3): each primary
        deduction also charges the units it names. None: only the deductions
        as recorded.

    Returns
    -------
    Evaluation

    Raises
    ------
    InputError
        A missing column, a duplicated id, a reference to an unknown unit,
        round or indicator, or a malformed responsibility table.
    ParamError
        ``veto.prerequisite_category`` names no indicator category.

    Notes
    -----
    A unit is evaluated in a round when it has score rows in it; a deduction or
    survey of a unit that was not scored in that round has no score to act on
    and is kept, with ``evaluated`` false, in ``Evaluation.deductions``.
    """
    _check_inputs(units, indicators, rounds, scores, deductions, surveys, params, responsibility=responsibility)
    return _evaluate(units, indicators, order_rounds(rounds), scores, deductions, surveys, params,
                     responsibility=responsibility)


def _evaluate(units, indicators, ro, scores, deductions, surveys, params: Params, *,
              responsibility: pd.DataFrame | None = None) -> Evaluation:
    """`evaluate_rounds` on checked inputs, with the rounds already ordered."""
    points = indicator_points(scores, indicators)
    sources = source_scores(points)
    categories = category_scores(points)
    sat = satisfaction(surveys)
    detail = deduction_points(deductions, params, responsibility)
    comp = composite_scores(sources, ro, detail, params)

    res = comp.copy()
    at = pd.Index(ro["round_id"]).get_indexer(res["round_id"])
    for col, src in (("round_kind", "kind"), ("topic", "topic"), ("date", "date"), ("year", "year"),
                     ("order", "order")):
        res[col] = ro[src].to_numpy()[at]
    meta = units.assign(ranking_group=_ranking_group(units, params))
    at = pd.Index(meta["unit_id"]).get_indexer(res["unit_id"])
    for col in ("name", "kind", "group", "ranking_group"):
        res[col] = meta[col].to_numpy()[at]
    res = apply_vetoes(res, categories, sat, params)
    res = rank_units(res, params)
    outcome = apply_lists(res, params)
    res = award_points(outcome.results, params)
    res = escalate(res, ro, params)
    by_place = np.lexsort((
        pd.factorize(res["unit_id"], sort=True)[0],
        np.nan_to_num(res["rank"].to_numpy(dtype="float64"), nan=np.inf),
        pd.factorize(res["ranking_group"], sort=True)[0],
        res["order"].to_numpy(),
    ))
    res = res.iloc[by_place].drop(columns="order").reset_index(drop=True)
    for col in ("rank", "rank_bottom", "tie_size", "tie_size_bottom"):
        res[col] = res[col].astype("Int64")

    detail["evaluated"] = row_key(detail).isin(row_key(comp)).to_numpy(dtype=bool)
    detail["name"] = mapped(detail["unit_id"], units.set_index("unit_id")["name"])
    named = points.assign(name=mapped(points["indicator_id"], indicators.set_index("indicator_id")["name"]))
    return Evaluation(ro, res, outcome.ties, outcome.status, named, sources, categories, detail, sat)


@dataclass(frozen=True, eq=False)
class RoundResult:
    """One round evaluated, with everything needed to explain it (`evaluate_round`).

    Attributes
    ----------
    round_id : str
    round : dict
        ``round_id``, ``kind``, ``topic``, ``date``, ``year``, ``work``, ``seq``.
    params : Params
    units : DataFrame
        One row per unit scored in the round, sorted by (ranking_group, rank,
        unit_id): identity (``unit_id``, ``name``, ``kind``, ``group``,
        ``ranking_group``); scoring (``score_field`` … ``score_public``,
        ``sources_present``, ``sources_missing``, ``weight_sum``, ``weighted``,
        ``deduction``, ``composite_raw``, ``composite``, ``history_n``,
        ``history_mean``, ``history_rounds``, ``blended``, ``score``,
        ``score_rounded``); vetoes (``respondents``, ``satisfied``,
        ``satisfaction``, ``prerequisite_score``, ``veto_reasons``, ``vetoed``,
        ``excluded``); the red ranking (``ranked``, ``rank``, ``n_ranked``,
        ``tie_size``, ``cap``) and the bottom ranking of every scored unit
        (``rank_bottom``, ``n_ranked_bottom``, ``tie_size_bottom``,
        ``cap_bottom``); lists (``red_status``, ``black_status``, ``list``,
        ``veto_withheld``); consequences (``points``, ``points_ytd``,
        ``black_streak``, ``escalated``, ``escalation_chain``); options
        (``tier``, ``flag``, ``slips``, ``passed``).
    ties : DataFrame
        Every tie a policy decided this round (`TIE_COLUMNS`): lists, flags, quota.
    list_status : DataFrame
        Per ranking group and list: size, cap, or why empty (``reason``).
    points, sources, categories : DataFrame
        Indicator, source and category scores of the round.
    ratings : DataFrame
        The round's raw score rows (``rater_id``, ``points``, ``visit`` …).
    deductions : DataFrame
        The round's deductions (`honorcalc.rules.scoring.deduction_points`, plus
        ``evaluated`` and the unit's ``name``).
    history : DataFrame
        The units' results in every round of the same work up to this one:
        ``round_id``, ``date``, ``seq``, ``unit_id``, ``composite``, ``score``,
        ``score_rounded``, ``rank``, ``n_ranked``, ``list``, ``vetoed``,
        ``points``, ``escalated`` (RULES.md §1.5.4: always show history).
    ledger : DataFrame
        The points behind ``points_ytd``: ``round_id``, ``date``,
        ``round_kind``, ``topic``, ``unit_id``, ``list``, ``points``.
    flags : DataFrame
        流动红旗/黑旗 holders in every round of the same work up to this one
        (empty when off).
    slips : DataFrame
        Three-colour slips of this round (empty when off).
    pass_quota : DataFrame
        末位淘汰 standing for the year to date (empty when off).
    notes : tuple of str
        Things an auditor should know (ignored deductions, unknown 负面清单 codes,
        units without a weighted score, unscored prerequisites).
    evaluation : Evaluation or None
        Every round up to this one (`evaluate_until`), for analyses that need the
        earlier rounds too (`honorcalc.fairness.fairness_tables`).
    """

    round_id: str
    round: dict
    params: Params
    units: pd.DataFrame
    ties: pd.DataFrame
    list_status: pd.DataFrame
    points: pd.DataFrame
    sources: pd.DataFrame
    categories: pd.DataFrame
    ratings: pd.DataFrame
    deductions: pd.DataFrame
    history: pd.DataFrame
    ledger: pd.DataFrame
    flags: pd.DataFrame
    slips: pd.DataFrame
    pass_quota: pd.DataFrame
    notes: tuple[str, ...] = field(default=())
    evaluation: Evaluation | None = field(default=None, repr=False)

    def ranking_table(self) -> pd.DataFrame:
        """DESIGN.md's ``ranking.csv`` frame; see `ranking_table`."""
        return ranking_table(self)


def evaluate_round(dataset, params: Params, round_id: str | None = None) -> RoundResult:
    """Evaluate one round: scores, ranks, lists, vetoes, points, escalation, options.

    Parameters
    ----------
    dataset : object
        Anything with the table attributes of `honorcalc.data.Dataset`
        (``units``, ``indicators``, ``rounds``, ``scores``, ``deductions``,
        ``surveys``, and optionally ``responsibility``).
    params : Params
    round_id : str, optional
        Defaults to ``params.round``.

    Returns
    -------
    RoundResult

    Raises
    ------
    InputError
        The round is not in the dataset, or a table breaks the contract (see
        `evaluate_rounds`).

    Notes
    -----
    The rounds dated on or before this round are evaluated with the same
    parameters, because points year to date (RULES.md §1.4) and escalation
    ("连续两次") depend on the earlier rounds' lists and history blending on
    their composites. Later rounds never influence this one.

    Examples
    --------
    >>> result = evaluate_round(dataset, params, "C2026Q1")      # doctest: +SKIP
    >>> result.ranking_table().to_csv("ranking.csv", index=False)  # doctest: +SKIP
    """
    frames = dataset_frames(dataset)
    ev, current = evaluate_until(frames, params, params.round if round_id is None else round_id,
                                 validated=isinstance(dataset, Dataset))
    return _round_result(ev, frames, params, current)


def evaluate_until(frames: dict[str, pd.DataFrame], params: Params, round_id: str, *,
                   validated: bool = False) -> tuple[Evaluation, pd.Series]:
    """Every round dated on or before ``round_id``, evaluated; and that round's row.

    ``frames`` are the tables by name (`TABLES`; ``responsibility`` may be
    absent). Later rounds never influence a round, so they are left out; the
    returned row is the round's `honorcalc.rules.scoring.order_rounds` row
    (``work``, ``seq``, ``year`` …).
    """
    responsibility = frames.get("responsibility")
    _check_inputs(*(frames[t] for t in _SIX), params, validated=validated, responsibility=responsibility)
    ro = order_rounds(frames["rounds"])
    require_round(ro, round_id)
    current = ro[ro["round_id"] == round_id].iloc[0]
    # rounds up to this date are a prefix of every work's sequence, so seq is unchanged
    ro = ro[ro["date"] <= current["date"]]
    keep = ro["round_id"]
    sub = {t: frames[t][frames[t]["round_id"].isin(keep)] for t in ("scores", "deductions", "surveys")}
    return _evaluate(frames["units"], frames["indicators"], ro, params=params, responsibility=responsibility,
                     **sub), current


def _round_result(ev: Evaluation, frames: dict, params: Params, current: pd.Series) -> RoundResult:
    round_id, work, seq = current["round_id"], current["work"], int(current["seq"])
    res = ev.results
    this = res["round_id"] == round_id
    units = res[this].copy()
    units["tier"] = assign_tiers(units, params)
    ties = [ev.ties[ev.ties["round_id"] == round_id]]

    same_work = res[(res["work"] == work) & (res["seq"] <= seq) & res["unit_id"].isin(units["unit_id"])]
    flags = pd.DataFrame(columns=["round_id", "ranking_group", "flag", "unit_id"])
    units["flag"] = ""
    if params.flags.enabled:
        flags, flag_ties = award_flags(res[(res["work"] == work) & (res["seq"] <= seq)], params)
        now = flags[flags["round_id"] == round_id].set_index("unit_id")["flag"]
        units["flag"] = mapped(units["unit_id"], now).fillna("").astype(str)
        ties.append(flag_ties[flag_ties["round_id"] == round_id])

    deductions = ev.deductions[ev.deductions["round_id"] == round_id].reset_index(drop=True)
    slips = pd.DataFrame(columns=["round_id", "unit_id", "code", "work", "streak", "slip", "rounds"])
    units["slips"] = [()] * len(units)
    if params.slips.enabled:
        all_slips = issue_slips(ev.deductions, res, ev.rounds)
        slips = all_slips[all_slips["round_id"] == round_id].reset_index(drop=True)
        held = slips.groupby("unit_id")[["code", "slip"]].apply(lambda f: tuple(zip(f["code"], f["slip"])))
        units["slips"] = [held.get(u, ()) for u in units["unit_id"]]

    quota, quota_ties = apply_pass_quota(res, params, round_id=round_id)
    units["passed"] = mapped(units["unit_id"], quota.set_index("unit_id")["passed"]) if len(quota) else np.nan
    ties.append(quota_ties)

    in_year = (res["year"] == current["year"]) & (res["date"] <= current["date"])
    ledger = res.loc[in_year & res["unit_id"].isin(units["unit_id"]),
                     ["round_id", "date", "round_kind", "topic", "unit_id", "list", "points"]]
    history = same_work[["round_id", "date", "seq", "unit_id", "composite", "score", "score_rounded", "rank",
                         "n_ranked", "list", "vetoed", "points", "escalated"]]
    scores = frames["scores"]
    ratings = scores[scores["round_id"] == round_id]
    info = {k: current[k] for k in ("round_id", "kind", "topic", "date", "year", "work", "seq")}
    info["topic"] = None if pd.isna(info["topic"]) else str(info["topic"])
    info["seq"], info["year"] = int(info["seq"]), int(info["year"])
    tie_frame = pd.concat([t for t in ties if len(t)], ignore_index=True) if any(len(t) for t in ties) \
        else empty_ties()
    return RoundResult(
        round_id=round_id,
        round=info,
        params=params,
        units=units.reset_index(drop=True),
        ties=tie_frame,
        list_status=ev.list_status[ev.list_status["round_id"] == round_id].reset_index(drop=True),
        points=ev.points[ev.points["round_id"] == round_id].reset_index(drop=True),
        sources=ev.sources[ev.sources["round_id"] == round_id].reset_index(drop=True),
        categories=ev.categories[ev.categories["round_id"] == round_id].reset_index(drop=True),
        ratings=ratings.reset_index(drop=True),
        deductions=deductions,
        history=history.reset_index(drop=True),
        ledger=ledger.reset_index(drop=True),
        flags=flags.reset_index(drop=True),
        slips=slips,
        pass_quota=quota,
        notes=_notes(units, deductions, params),
        evaluation=ev,
    )


def _notes(units: pd.DataFrame, deductions: pd.DataFrame, params: Params) -> tuple[str, ...]:
    notes = []
    for row in deductions[~deductions["evaluated"]].itertuples(index=False):
        notes.append(f"deduction {row.code} of unit {row.unit_id} not applied: the unit has no scores this round")
    for row in deductions[deductions["negative_list"] == "unknown_code"].itertuples(index=False):
        notes.append(
            f"deduction code {row.code} (unit {row.unit_id}) is not on the negative list; "
            f"the data's {row.points:g} points are used"
        )
    for u in units.loc[units["score"].isna(), "unit_id"]:
        notes.append(f"unit {u} has no score under a source with positive weight and is not ranked")
    if params.veto.prerequisite_category is not None:
        for u in units.loc[units["prerequisite_score"].isna(), "unit_id"]:
            notes.append(
                f"unit {u} has no score in the prerequisite category "
                f"{params.veto.prerequisite_category!r}; the prerequisite veto cannot apply"
            )
    return tuple(notes)


def ranking_table(result: RoundResult) -> pd.DataFrame:
    """The ``ranking.csv`` frame of a round (DESIGN.md "Run folder").

    Returns
    -------
    DataFrame
        `RANKING_COLUMNS`, then one column per optional practice switched on
        (``tier``, ``flag``, ``slips`` as ``code:colour;…``, ``passed``), one
        row per unit scored in the round, sorted
        by (group, rank, unit_id) with unranked units last in their group.
        ``score`` keeps full precision (lists compare it rounded half up to
        ``lists.precision``); ``rank`` is a nullable integer (the red ranking's:
        empty for units excluded by a veto); ``list`` is ``red``, ``black`` or
        empty; ``negative_list`` holds the codes of the deductions (负面清单
        items) counted against the unit this round, ``;``-joined in the order
        of the data, one code per deduction (empty when none).
    """
    p = result.params
    optional = [
        column for column, on in (
            ("tier", p.tiers.method != "off"),
            ("flag", p.flags.enabled),
            ("slips", p.slips.enabled),
            ("passed", p.pass_quota.share is not None),
        ) if on
    ]
    units = result.units.assign(negative_list=negative_list_codes(result.units, result.deductions))
    t = units.loc[:, [*RANKING_COLUMNS, *optional]]
    if "slips" in optional:
        t["slips"] = t["slips"].map(lambda slips: ";".join(f"{code}:{colour}" for code, colour in slips))
    t = t.sort_values(["group", "rank", "unit_id"], kind="stable", na_position="last")
    return t.reset_index(drop=True)


def negative_list_codes(units: pd.DataFrame, deductions: pd.DataFrame) -> pd.Series:
    """Each unit's counted deduction codes of the round, ``;``-joined in the order of the data.

    Parameters
    ----------
    units : DataFrame
        `RoundResult.units` (``unit_id``).
    deductions : DataFrame
        `RoundResult.deductions` (``unit_id``, ``code``, ``counted``): a deduction
        that does not count (unverified, with ``deductions.verified_only``) is left out.

    Returns
    -------
    Series of str
        Aligned with ``units``; empty for a unit without counted deductions.
    """
    counted = deductions[deductions["counted"].astype(bool)]
    codes = counted.groupby("unit_id", sort=False)["code"].agg(lambda c: ";".join(map(str, c)))
    return pd.Series([codes.get(u, "") for u in units["unit_id"]], index=units.index, dtype=object)
