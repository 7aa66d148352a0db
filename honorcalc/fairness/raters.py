"""Do raters agree, and is any rater harsh or lenient? (RULES.md §3)"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..errors import InputError
from ..params import Params
from ..rules import Evaluation, _frames, evaluate_until
from ..stats import icc, kendall_w, krippendorff_alpha
from .base import (
    CELL,
    cell_codes,
    check_params,
    require,
    rescaled,
    seeded_rng,
    sorted_ids,
    t_interval,
)

__all__ = ["RATER_COLUMNS", "RELIABILITY_COLUMNS", "SeverityFit", "fit_severity", "rater_consistency", "rater_severity", "adjust_rater_severity", "severity_adjusted_lists"]

RATER_COLUMNS = (
    "round_id", "rater_id", "source", "n_scores", "n_compared", "n_units", "severity", "se",
    "ci_low", "ci_high", "ci_level", "scale", "flagged", "direction", "component",
    "component_size", "note",
)

RELIABILITY_COLUMNS = (
    "round_id", "scope", "key", "statistic", "value", "ci_low", "ci_high", "ci_level", "p_value",
    "n_units", "n_raters", "note", "seed",
)


def rater_consistency(scores: pd.DataFrame, indicators: pd.DataFrame, params: Params) -> pd.DataFrame:
    """ICC, Krippendorff's alpha and Kendall's W of the raters, overall, by category and by indicator.

    Parameters
    ----------
    scores : DataFrame
        Score rows of one or more rounds.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    params : Params
        ``seed``, ``fairness.rater_slots`` (k) and ``fairness.confidence_level``.

    Returns
    -------
    DataFrame
        Long format, columns `RELIABILITY_COLUMNS`: per round, ``scope`` ``overall``
        (``key`` ``all``), ``category`` (key: the category) and ``indicator`` (key:
        the indicator_id), and four ``statistic`` rows each: ``ICC(1,1)`` and
        ``ICC(1,k)`` with their confidence interval and F-test p-value,
        ``krippendorff_alpha`` (interval) and ``kendall_w`` with its chi-square
        p-value. ``n_units`` counts the rated targets (unit × indicator × source
        cells), ``n_raters`` the distinct raters in them. Only cells scored by at least
        two raters carry information on agreement, so sources with one rater per
        cell do not appear.

    Notes
    -----
    Each unit is scored by its own inspection team, so raters are not crossed with
    units and a units × raters matrix would be mostly empty. The matrices are formed
    from *rater slots*: in every cell with at least k raters, k of them are drawn at
    random (seed stream ``rater_slots``) and put in slots 1 … k, and the cell is one
    row. Slots are exchangeable, so the statistic that fits is the one-way ICC of
    Shrout & Fleiss (1979) [1]_, case 1 (each target rated by a different set of
    raters): ICC(1,1) = (MS_R - MS_W) / (MS_R + (k - 1) MS_W) for one rater and
    ICC(1,k) = (MS_R - MS_W) / MS_R for the mean of k, computed by
    `honorcalc.stats.icc` on a stack of matrices (one per scope). ICC(A,·) and
    ICC(C,·) need the same raters on every row and are not reported. Kendall's W is
    computed on the same slot matrices (`honorcalc.stats.kendall_w`): with k = 2 it
    is (1 + ρ_s) / 2 between the two slots. Krippendorff's alpha (interval,
    `honorcalc.stats.krippendorff_alpha`) needs no slots: its raters × cells matrix
    holds every rater's value, missing elsewhere.

    Values are the rescaled points (percent of max_points). For the overall and
    category scopes each (round, indicator, source) is first centred on its mean, so
    that easy and hard indicators do not pass for agreement between raters.

    References
    ----------
    .. [1] Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: Uses in
           assessing rater reliability. Psychological Bulletin, 86(2), 420-428.
    .. [2] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
           Departmental Papers (ASC), 43, University of Pennsylvania.
    .. [3] Kendall, M. G., & Babington Smith, B. (1939). The problem of m rankings.
           The Annals of Mathematical Statistics, 10(3), 275-287.
    """
    check_params(params)
    fp = params.fairness
    k = fp.rater_slots
    s = rescaled(scores, indicators)
    rng, seed = seeded_rng(params, "rater_slots")
    # a canonical order makes the slot draw independent of the input row order
    s = s.sort_values([*CELL, "rater_id"], kind="stable").reset_index(drop=True)
    cell = cell_codes(s, CELL)[0]
    shared = np.bincount(cell)[cell] >= 2
    s, cell = s[shared].reset_index(drop=True), cell[shared]
    s["cell"] = cell
    s["centred"] = s["pct"] - s.groupby(["round_id", "indicator_id", "source"])["pct"].transform("mean")
    # slot = the rank of the row's draw within its cell
    order = np.lexsort((rng.random(len(s)), cell))
    slot = np.empty(len(s), dtype=np.int64)
    slot[order] = np.arange(len(s)) - np.searchsorted(cell[order], cell[order])
    s["slot"] = slot

    rows = []
    for round_id, part in s.groupby("round_id", sort=True):
        scopes = [("overall", "all", np.ones(len(part), dtype=bool), "centred")]
        for scope, column, values in (("category", "category", "centred"), ("indicator", "indicator_id", "pct")):
            keys = sorted(part[column].unique())
            at = pd.Index(keys).get_indexer(part[column])
            scopes += [(scope, key, at == j, values) for j, key in enumerate(keys)]
        rows += _consistency_rows(round_id, part, scopes, k, fp.confidence_level, seed)
    return pd.DataFrame(rows, columns=list(RELIABILITY_COLUMNS))


def _consistency_rows(round_id, part: pd.DataFrame, scopes, k: int, level: float, seed: str) -> list[dict]:
    """The four statistics of every scope of one round (`rater_consistency`)."""
    cell = part["cell"].to_numpy()
    slot = part["slot"].to_numpy()
    rater = pd.factorize(part["rater_id"], sort=True)[0]
    values = {column: part[column].to_numpy(dtype="float64") for column in ("pct", "centred")}
    # the slot rows of the cells that fill all k slots
    in_slots = slot < k
    taken = in_slots & (np.bincount(cell[in_slots], minlength=cell.max(initial=-1) + 1)[cell] == k)
    cells, cell_row = np.unique(cell[taken], return_inverse=True)
    matrices = {}
    for column in ("pct", "centred"):
        mat = np.full((len(cells), k), np.nan)
        mat[cell_row, slot[taken]] = values[column][taken]
        matrices[column] = mat
    # the complete cells (rows of the matrices) of each scope, in order
    in_scope = []
    for _, _, mask, column in scopes:
        scoped = np.zeros(cell.max(initial=-1) + 1, dtype=bool)
        scoped[cell[mask]] = True
        in_scope.append(np.flatnonzero(scoped[cells]))
    usable = [len(idx) >= 2 for idx in in_scope]
    width = max((len(idx) for idx in in_scope), default=0)
    stack = np.full((len(scopes), max(width, 2), k), np.nan)
    for g, ((_, _, _, column), idx) in enumerate(zip(scopes, in_scope)):
        stack[g, :len(idx)] = matrices[column][idx]
    with warnings.catch_warnings():
        # scopes with fewer than two complete cells are NaN, and reported as such
        warnings.simplefilter("ignore", RuntimeWarning)
        res = icc(stack, confidence_level=level)
        w = kendall_w(stack)
    ci = res.confidence_interval()
    table = res.table
    pval = {t: table.loc[table["Type"] == t, "pval"].to_numpy() for t in ("ICC(1,1)", "ICC(1,k)")}
    note = f"one-way model on {k} rater slots per unit × indicator"

    slot_rater = rater[taken]
    rows = []
    for g, (scope, key, mask, column) in enumerate(scopes):
        scoped = np.zeros(len(cells), dtype=bool)
        scoped[in_scope[g]] = True
        raters = slot_rater[scoped[cell_row]]
        base = {"round_id": round_id, "scope": scope, "key": key, "n_units": len(in_scope[g]),
                "n_raters": len(np.unique(raters[raters >= 0])), "seed": seed}
        for name, row_ci in (("ICC(1,1)", 0), ("ICC(1,k)", 3)):
            value = float(getattr(res, "ICC1" if row_ci == 0 else "ICC1k")[g]) if usable[g] else np.nan
            rows.append({**base, "statistic": name, "value": value,
                         "ci_low": float(ci.low[row_ci, g]) if usable[g] else np.nan,
                         "ci_high": float(ci.high[row_ci, g]) if usable[g] else np.nan,
                         "ci_level": level, "p_value": float(pval[name][g]) if usable[g] else np.nan,
                         "note": note if usable[g] else "fewer than 2 cells with enough raters"})
        matrix = _rater_matrix(rater[mask], cell[mask], values[column][mask])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            alpha = krippendorff_alpha(matrix) if matrix.shape[0] >= 2 else None
        rows.append({**base, "statistic": "krippendorff_alpha",
                     "value": np.nan if alpha is None else alpha.alpha, "ci_low": np.nan, "ci_high": np.nan,
                     "ci_level": np.nan, "p_value": np.nan,
                     "n_units": 0 if alpha is None else alpha.n_pairable_units,
                     "n_raters": int(matrix.shape[0]), "note": "interval metric, all raters of each cell"})
        rows.append({**base, "statistic": "kendall_w",
                     "value": float(w.statistic[g]) if usable[g] else np.nan, "ci_low": np.nan,
                     "ci_high": np.nan, "ci_level": np.nan,
                     "p_value": float(w.pvalue[g]) if usable[g] else np.nan,
                     "note": f"{k} rater slots as judges, chi-square test of no concordance"})
    return rows


def _rater_matrix(rater: np.ndarray, cell: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Raters × cells matrix of ``values``, NaN where a rater did not score a cell.

    ``rater`` holds codes in the sorted order of the rater ids (-1 = no rater). Rows
    and columns are the raters and cells with a value, in sorted order; a rater who
    scored a cell twice counts with the first value: what ``pivot_table(index=rater,
    columns=cell, aggfunc="first")`` gives, without its cost in a loop over scopes.
    """
    keep = (rater >= 0) & ~np.isnan(values)
    raters, row = np.unique(rater[keep], return_inverse=True)
    cells, col = np.unique(cell[keep], return_inverse=True)
    pairs, first = np.unique(row * len(cells) + col, return_index=True)
    matrix = np.full((len(raters), len(cells)), np.nan)
    matrix.flat[pairs] = values[keep][first]
    return matrix


@dataclass(frozen=True, eq=False)
class SeverityFit:
    """Least-squares rater effects of `fit_severity`, in percent of max_points."""

    raters: np.ndarray
    severity: np.ndarray
    se: np.ndarray
    df: np.ndarray
    n_scores: np.ndarray
    n_compared: np.ndarray
    n_units: np.ndarray
    component: np.ndarray
    component_size: np.ndarray


def fit_severity(s: pd.DataFrame) -> SeverityFit:
    """Fit pct = cell effect − severity + e by least squares with the cells absorbed.

    See `rater_severity`, Notes. ``s`` holds rescaled score rows.
    """
    y = s["pct"].to_numpy(dtype="float64")
    cell, n_cells = cell_codes(s, CELL)
    raters, rater = sorted_ids(s["rater_id"])
    units, unit = sorted_ids(s["unit_id"])
    n_r = len(raters)
    m = np.bincount(cell, minlength=n_cells).astype(float)
    dev = y - (np.bincount(cell, weights=y, minlength=n_cells) / m)[cell]
    shared = m[cell] >= 2
    in_cell = sparse.csr_matrix((np.ones(len(y)), (cell, rater)), shape=(n_cells, n_r))
    laplacian = np.diag(np.bincount(rater, minlength=n_r).astype(float))
    laplacian -= (in_cell.T @ sparse.diags(1.0 / m) @ in_cell).toarray()
    gradient = np.bincount(rater, weights=dev, minlength=n_r)
    n_compared = np.bincount(rater, weights=shared, minlength=n_r)

    linked = (in_cell.T @ in_cell).tolil()
    linked.setdiag(0)
    _, label = connected_components(linked.tocsr(), directed=False)
    estimable = n_compared > 0
    # components numbered 1, 2, … from the largest; raters sharing no cell get 0
    sizes = pd.Series(label[estimable]).value_counts()
    ordered = sorted(sizes.index, key=lambda c: (-sizes[c], raters[label == c].min()))
    number = {c: k + 1 for k, c in enumerate(ordered)}
    component = np.array([number.get(c, 0) if e else 0 for c, e in zip(label, estimable)])
    component_size = np.array([int(sizes.get(c, 1)) if e else 1 for c, e in zip(label, estimable)])

    severity = np.full(n_r, np.nan)
    inverse = np.zeros((n_r, n_r))
    for c in ordered:
        idx = np.flatnonzero((label == c) & estimable)
        weight = n_compared[idx]
        bordered = np.zeros((len(idx) + 1, len(idx) + 1))
        bordered[:-1, :-1] = laplacian[np.ix_(idx, idx)]
        bordered[:-1, -1] = bordered[-1, :-1] = weight
        g = np.linalg.inv(bordered)[:-1, :-1]
        severity[idx] = g @ -gradient[idx]
        inverse[np.ix_(idx, idx)] = g

    fitted = np.nan_to_num(severity)
    resid = dev + fitted[rater] - (np.bincount(cell, weights=fitted[rater], minlength=n_cells) / m)[cell]
    resid = np.where(shared, resid, 0.0)
    per_unit = sparse.csr_matrix((resid, (unit, rater)), shape=(len(units), n_r))
    meat = (per_unit.T @ per_unit).toarray()
    clusters = len(np.unique(unit[shared]))
    small_sample = clusters / (clusters - 1) if clusters > 1 else np.nan
    variance = np.einsum("ij,jk,ik->i", inverse, meat, inverse) * small_sample
    pairs = np.unique(unit[shared].astype(np.int64) * n_r + rater[shared])
    n_units = np.bincount(pairs % n_r, minlength=n_r)
    se = np.where(estimable, np.sqrt(np.maximum(variance, 0.0)), np.nan)
    return SeverityFit(raters, severity, se, np.maximum(n_units - 1, 1), np.bincount(rater, minlength=n_r),
                        n_compared.astype(int), n_units, component, component_size)


def rater_severity(scores: pd.DataFrame, indicators: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Each rater's severity: points awarded below the consensus for the same unit and indicator.

    Parameters
    ----------
    scores : DataFrame
        Score rows; normally one round's (`fairness_tables` uses the report round).
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    params : Params
        ``fairness.severity_scale``, ``fairness.severity_min``, ``fairness.confidence_level``.

    Returns
    -------
    DataFrame
        One row per rater, sorted by rater_id, columns `RATER_COLUMNS`: ``round_id``
        (the rounds of ``scores``, joined with ';'), ``rater_id``, ``source``,
        ``n_scores``, ``n_compared`` (scores in cells another rater also scored),
        ``n_units`` (units among those), ``severity`` (points fewer than the consensus
        on an indicator worth ``scale`` points: positive = harsh, negative = lenient),
        ``se``, ``ci_low``, ``ci_high``, ``ci_level``, ``scale``, ``flagged``,
        ``direction`` (``harsh`` | ``lenient`` | empty), ``component`` (connected set
        of raters, 1 = largest; 0 = shares no cell with anyone), ``component_size``
        and ``note``.

    Notes
    -----
    A many-facet model in the spirit of FACETS (Linacre, 1989 [1]_), linear rather
    than Rasch because the points are near-continuous: for score *o* of rater *r* in
    cell *c* (round, unit, indicator, source),

    .. math:: y_o = \\alpha_c - \\delta_r + e_o, \\qquad y = \\text{points}/\\text{max\\_points} \\times 100,

    where α_c is the consensus of the cell and δ_r the rater's severity. The cell
    effects are absorbed (Frisch-Waugh-Lovell): with Q the within-cell centring and D
    the score × rater incidence, δ solves the normal equations L δ = -Dᵀ Q y with
    L = Dᵀ Q D = Σ_c (diag(n_c) - n_c n_cᵀ / m_c), a weighted graph Laplacian of the
    raters (m_c raters in cell c). This is the least-squares solution that
    alternating means converge to, in one dense R × R solve: a city has tens to
    hundreds of raters, and the scores enter only through sparse sums.

    *Connectedness.* Two raters are linked when they scored the same cell; δ is
    identified only within a connected component of that graph (Linacre's
    "disconnected subsets"), so each component gets its own origin: the severities of
    its raters, weighted by their compared scores, average 0, and the consensus is
    the typical rater of the component. Severities of different components cannot be
    compared, and a rater in no shared cell (every source with one rater per cell)
    has none.

    *Confidence interval.* Scores of one rater at one unit are not independent (a
    rater who likes a unit likes most of its indicators), so the variance is the
    cluster-robust sandwich with units as clusters (Liang & Zeger, 1986 [2]_):
    V = G (Σ_u h_u h_uᵀ) Gᵀ · U / (U - 1), G the constrained inverse of L, h_u the
    rater sums of the unit's within-cell residuals, U the units. It is wide for an
    erratic rater, whose noise is not mistaken for bias. The interval is
    δ ± t_{n_u - 1} · se with n_u the units the rater compared.

    *Scale and flag.* δ is in percent of max_points; the table reports
    δ × ``scale`` / 100, points on an indicator worth ``scale`` points. A rater is
    flagged when the interval excludes 0 *and* |severity| ≥ ``severity_min``: a
    difference must be both real and large enough to matter.

    References
    ----------
    .. [1] Linacre, J. M. (1989). Many-facet Rasch measurement. Chicago: MESA Press.
    .. [2] Liang, K.-Y., & Zeger, S. L. (1986). Longitudinal data analysis using
           generalized linear models. Biometrika, 73(1), 13-22.
    """
    check_params(params)
    fp = params.fairness
    s = rescaled(scores, indicators)
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RATER_COLUMNS})
    fit = fit_severity(s)
    scale = fp.severity_scale / 100.0
    severity = fit.severity * scale
    se = fit.se * scale
    low, high = t_interval(severity, se, fit.df, fp.confidence_level)
    with np.errstate(invalid="ignore"):
        flagged = ((low > 0) | (high < 0)) & (np.abs(severity) >= fp.severity_min)
    # the sources of each rater, joined (the distinct pairs first: the join is then per rater, not per row)
    pairs = s[["rater_id", "source"]].drop_duplicates()
    source = pairs.groupby("rater_id")["source"].agg(lambda v: ";".join(sorted(set(map(str, v)))))
    n_components = int(fit.component.max(initial=0))
    notes = np.where(fit.component == 0, "shares no unit × indicator with another rater: not estimable",
                     np.where(n_components > 1,
                              "severities are comparable only within the same component", ""))
    out = pd.DataFrame({
        "round_id": ";".join(sorted(s["round_id"].astype(str).unique())),
        "rater_id": fit.raters,
        "source": source.reindex(fit.raters).to_numpy(),
        "n_scores": fit.n_scores.astype("int64"),
        "n_compared": fit.n_compared.astype("int64"),
        "n_units": fit.n_units.astype("int64"),
        "severity": severity, "se": se, "ci_low": low, "ci_high": high,
        "ci_level": fp.confidence_level, "scale": fp.severity_scale,
        "flagged": flagged.astype(bool),
        "direction": np.where(flagged, np.where(severity > 0, "harsh", "lenient"), ""),
        "component": fit.component.astype("int64"),
        "component_size": fit.component_size.astype("int64"),
        "note": notes,
    })
    return out[list(RATER_COLUMNS)].sort_values("rater_id", kind="stable").reset_index(drop=True)


def adjust_rater_severity(
    scores: pd.DataFrame,
    severity: pd.DataFrame,
    indicators: pd.DataFrame,
    params: Params,
    *,
    flagged_only: bool = True,
) -> pd.DataFrame:
    """Score rows with each rater's severity added back to the points.

    Parameters
    ----------
    scores : DataFrame
        The score rows to adjust (every row is adjusted by its rater's severity, so
        pass the rounds the severity was estimated on).
    severity : DataFrame
        `rater_severity` output: ``rater_id``, ``severity`` (points per ``scale``),
        ``flagged``.
    indicators : DataFrame
        ``indicator_id``, ``max_points``.
    params : Params
        ``fairness.severity_scale``.
    flagged_only : bool, default True
        Adjust only the flagged raters (the policy question "what if the flagged
        raters had been fair?"); False adjusts every rater with an estimate.

    Returns
    -------
    DataFrame
        A copy of ``scores``, same rows and order, with ``points`` replaced by
        min(max(points + severity × max_points / scale, 0), max_points) and a column
        ``adjustment`` (the change made, after the clamp). Raters without an estimate
        are unchanged.

    Raises
    ------
    InputError
        Missing columns, or ``flagged_only`` not a bool.
    """
    check_params(params)
    require(severity, "raters", ["rater_id", "severity", "flagged"])
    if not isinstance(flagged_only, (bool, np.bool_)):
        raise InputError(f"flagged_only must be True or False; got {flagged_only!r}")
    s = rescaled(scores, indicators)
    table = severity.drop_duplicates("rater_id").set_index("rater_id")
    per_rater = table["severity"].astype("float64").where(table["flagged"].astype(bool) | (not flagged_only))
    shift = s["rater_id"].map(per_rater).astype("float64").fillna(0.0).to_numpy()
    max_points = s["max_points"].to_numpy()
    points = s["points"].to_numpy(dtype="float64")
    adjusted = np.clip(points + shift * max_points / params.fairness.severity_scale, 0.0, max_points)
    out = scores.copy()
    out["points"] = adjusted
    out["adjustment"] = adjusted - points
    return out


def severity_adjusted_lists(
    dataset,
    params: Params,
    raters: pd.DataFrame | None = None,
    *,
    flagged_only: bool = True,
    evaluation: Evaluation | None = None,
) -> pd.DataFrame:
    """The report round's lists before and after removing the raters' severity, side by side.

    Parameters
    ----------
    dataset : object
        The six tables as attributes (`honorcalc.validation.Dataset`).
    params : Params
        ``round`` is the round re-evaluated.
    raters : DataFrame, optional
        `rater_severity` of that round; estimated when not given.
    flagged_only : bool, default True
        See `adjust_rater_severity`.
    evaluation : Evaluation, optional
        `honorcalc.rules.evaluate_rounds` of the dataset (at least every round up to
        the round's date), as `fairness_tables` takes it: the lists before, to avoid
        evaluating them again; computed when not given.

    Returns
    -------
    DataFrame
        One row per unit scored in the round, sorted by (group, rank before,
        unit_id): ``round_id``, ``unit_id``, ``name``, ``group``, ``score_before``,
        ``score_after``, ``rank_before``, ``rank_after``, ``list_before``,
        ``list_after`` and ``changed`` (the list differs).

    Notes
    -----
    Only the report round's scores are adjusted; both evaluations use
    `honorcalc.rules.evaluate_until` (the evaluation of `honorcalc.rules.evaluate_round`)
    with the same parameters, so points year to date, escalation and history come
    from the same earlier rounds.

    Raises
    ------
    InputError
        The round is not in the dataset or in ``evaluation``; a table breaks the
        contract.
    """
    check_params(params)
    frames = _frames(dataset)
    round_id = params.round
    scores = frames["scores"]
    this = (scores["round_id"] == round_id).to_numpy()
    if raters is None:
        raters = rater_severity(scores[this], frames["indicators"], params)
    adjusted = adjust_rater_severity(scores[this], raters, frames["indicators"], params,
                                     flagged_only=flagged_only)
    new_scores = scores.assign(points=scores["points"].astype("float64"))
    new_scores.loc[this, "points"] = adjusted["points"].to_numpy()
    # the lists are all that is compared: the evaluation alone, not the rest of evaluate_round
    if evaluation is None:
        evaluation = evaluate_until(frames, params, round_id)[0]
    before = _round_results(evaluation, round_id)
    old, new = scores["points"], new_scores["points"]
    if old.dtype == new.dtype and np.array_equal(old.to_numpy().view(np.int64), new.to_numpy().view(np.int64)):
        after = before  # nothing adjusted (no rater flagged): the very same scores, the same lists
    else:
        after = _round_results(evaluate_until({**frames, "scores": new_scores}, params, round_id)[0], round_id)
    keep = ["unit_id", "name", "group", "score", "rank", "list"]
    out = before[keep].merge(after[["unit_id", "score", "rank", "list"]], on="unit_id",
                             suffixes=("_before", "_after"), how="outer")
    out.insert(0, "round_id", round_id)
    out["changed"] = out["list_before"].fillna("") != out["list_after"].fillna("")
    cols = ["round_id", "unit_id", "name", "group", "score_before", "score_after", "rank_before",
            "rank_after", "list_before", "list_after", "changed"]
    out = out[cols].sort_values(["group", "rank_before", "unit_id"], kind="stable", na_position="last")
    return out.reset_index(drop=True)


def _round_results(evaluation: Evaluation, round_id: str) -> pd.DataFrame:
    """The results of one round of an evaluation (an `InputError` if it has none)."""
    results = getattr(evaluation, "results", None)
    if not isinstance(results, pd.DataFrame) or round_id not in set(results["round_id"].unique()):
        raise InputError(f"the evaluation given has no results for round {round_id!r}")
    return results[results["round_id"] == round_id]
