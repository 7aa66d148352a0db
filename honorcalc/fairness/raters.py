"""Do raters agree, and is any rater harsh or lenient? (RULES.md §3)"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy import stats as sps
from scipy.sparse.csgraph import connected_components

from ..data.contract import dataset_frames, mapped, text_ids
from ..errors import InputError
from ..params import Params
from ..rules.evaluate import Evaluation, evaluate_until
from ..rules.scoring import order_rounds
from ..stats.agreement import icc, kendall_w
from .base import (
    CELL,
    FINAL_SCORES_NOTE,
    cell_codes,
    check_params,
    dense_codes,
    dersimonian_laird_tau2,
    require,
    rescaled,
    seeded_rng,
    sorted_ids,
    t_interval,
    with_rater,
)

__all__ = ["RATER_COLUMNS", "RELIABILITY_COLUMNS", "SeverityFit", "fit_severity", "fit_severity_coded",
           "rater_consistency", "rater_severity", "rater_separation", "adjust_rater_severity",
           "severity_adjusted_lists"]

RATER_COLUMNS = (
    "round_id", "rater_id", "source", "n_scores", "n_compared", "n_units", "severity", "se",
    "ci_low", "ci_high", "ci_level", "scale", "flagged", "direction", "component",
    "component_size", "note", "status", "p_value", "q_value", "severity_eb", "se_eb", "tau", "infit",
    "outfit",
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
        ``krippendorff_alpha`` (interval), ``kendall_w`` with its chi-square
        p-value and ``kendall_w_rescaled`` = (kW - 1)/(k - 1), W on the scale of
        a correlation (0 = no agreement). ``n_units`` counts the rated targets (unit × indicator × source
        cells), ``n_raters`` the distinct raters in them. Only cells scored by at least
        two raters carry information on agreement, so sources with one rater per
        cell, and final scores (no rater recorded), do not appear.

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
    is (1 + ρ_s) / 2 between the two slots, so 0.5 is no agreement: under no
    agreement E W = 1/k, and (kW - 1)/(k - 1) is the mean Spearman correlation of the
    slots (Kendall & Babington Smith [3]_; exact without ties), reported beside W.
    Krippendorff's alpha (interval,
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
    # final scores name no rater: they carry nothing on agreement (`honorcalc.fairness.final_scores`)
    s = rescaled(scores[with_rater(scores)], indicators)
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
    # one stack of matrices per kind of scope, each as tall as its largest: the overall scope
    # holds every cell, and padding the 40-odd indicators' matrices to its height would take
    # gigabytes on a province (the padding rows are incomplete, and left out either way)
    stats = {name: np.full(len(scopes), np.nan) for name in ("ICC1", "ICC1k", "W", "p_W")}
    stats.update({f"{name}_{bound}": np.full(len(scopes), np.nan) for name in ("ICC1", "ICC1k")
                  for bound in ("low", "high", "p")})
    kinds = [scope for scope, _, _, _ in scopes]
    for kind in dict.fromkeys(kinds):
        members = [g for g, scope in enumerate(kinds) if scope == kind]
        width = max((len(in_scope[g]) for g in members), default=0)
        stack = np.full((len(members), max(width, 2), k), np.nan)
        for j, g in enumerate(members):
            stack[j, :len(in_scope[g])] = matrices[scopes[g][3]][in_scope[g]]
        with warnings.catch_warnings():
            # scopes with fewer than two complete cells are NaN, and reported as such
            warnings.simplefilter("ignore", RuntimeWarning)
            res = icc(stack, confidence_level=level)
            w = kendall_w(stack)
        del stack
        ci = res.confidence_interval()
        table = res.table
        for name, row_ci, kind_name in (("ICC1", 0, "ICC(1,1)"), ("ICC1k", 3, "ICC(1,k)")):
            stats[name][members] = np.atleast_1d(getattr(res, name))
            stats[f"{name}_low"][members] = ci.low[row_ci]
            stats[f"{name}_high"][members] = ci.high[row_ci]
            stats[f"{name}_p"][members] = table.loc[table["Type"] == kind_name, "pval"].to_numpy()
        stats["W"][members] = np.atleast_1d(w.statistic)
        stats["p_W"][members] = np.atleast_1d(w.pvalue)
    note = f"one-way model on {k} rater slots per unit × indicator"

    slot_rater = rater[taken]
    rows = []
    for g, (scope, key, mask, column) in enumerate(scopes):
        scoped = np.zeros(len(cells), dtype=bool)
        scoped[in_scope[g]] = True
        raters = slot_rater[scoped[cell_row]]
        base = {"round_id": round_id, "scope": scope, "key": key, "n_units": len(in_scope[g]),
                "n_raters": len(np.unique(raters[raters >= 0])), "seed": seed}
        for name, stat in (("ICC(1,1)", "ICC1"), ("ICC(1,k)", "ICC1k")):
            value = float(stats[stat][g]) if usable[g] else np.nan
            rows.append({**base, "statistic": name, "value": value,
                         "ci_low": float(stats[f"{stat}_low"][g]) if usable[g] else np.nan,
                         "ci_high": float(stats[f"{stat}_high"][g]) if usable[g] else np.nan,
                         "ci_level": level, "p_value": float(stats[f"{stat}_p"][g]) if usable[g] else np.nan,
                         "note": note if usable[g] else "fewer than 2 cells with enough raters"})
        alpha, n_pairable, n_alpha_raters = _interval_alpha(rater[mask], cell[mask], values[column][mask])
        rows.append({**base, "statistic": "krippendorff_alpha", "value": alpha, "ci_low": np.nan,
                     "ci_high": np.nan, "ci_level": np.nan, "p_value": np.nan, "n_units": n_pairable,
                     "n_raters": n_alpha_raters, "note": "interval metric, all raters of each cell"})
        w_value = float(stats["W"][g]) if usable[g] else np.nan
        rows.append({**base, "statistic": "kendall_w", "value": w_value, "ci_low": np.nan,
                     "ci_high": np.nan, "ci_level": np.nan,
                     "p_value": float(stats["p_W"][g]) if usable[g] else np.nan,
                     "note": f"{k} rater slots as judges, chi-square test of no concordance; "
                             f"no agreement gives W = 1/{k}, not 0"})
        rows.append({**base, "statistic": "kendall_w_rescaled", "value": (k * w_value - 1) / (k - 1),
                     "ci_low": np.nan, "ci_high": np.nan, "ci_level": np.nan,
                     "p_value": float(stats["p_W"][g]) if usable[g] else np.nan,
                     "note": f"(kW - 1)/(k - 1) with k = {k}: the mean Spearman correlation between the "
                             "slots; 0 = no agreement, 1 = the same order"})
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


#: Entries of one block of `_interval_alpha`'s raters × cells columns (32 MB of floats).
_ALPHA_BLOCK = 4_000_000


def _interval_alpha(rater: np.ndarray, cell: np.ndarray, values: np.ndarray) -> tuple[float, int, int]:
    """Krippendorff's alpha (interval) of `_rater_matrix` (rater, cell, values), from the score rows.

    Returns alpha (NaN where fewer than two raters, or where it is undefined), the
    number of pairable cells and the number of raters (the matrix's rows).

    The very sums of `honorcalc.stats.krippendorff_alpha` on that raters × cells
    matrix, so the result is the same to the last bit: the pooled values in the
    matrix's row-major order (rater, then cell), and each pairable cell's sums over
    a column of all the raters laid out as the matrix's are, built a block of
    columns at a time. A city's raters × cells matrix is mostly empty (each cell has
    its own few inspectors): a province's takes gigabytes, a block 32 MB.
    """
    keep = (rater >= 0) & ~np.isnan(values)
    raters, row = np.unique(rater[keep], return_inverse=True)
    cells, col = np.unique(cell[keep], return_inverse=True)
    # one value per (rater, cell), the first; sorted rater-major like the matrix's entries
    pairs, first = np.unique(row.astype(np.int64) * len(cells) + col, return_index=True)
    if len(raters) < 2:
        return np.nan, 0, len(raters)
    value = values[keep][first]
    at = pairs % len(cells)
    m_u = np.bincount(at, minlength=len(cells))
    pairable = m_u >= 2
    inside = pairable[at]
    n = int(inside.sum())
    if n == 0:
        return np.nan, 0, len(raters)
    pooled = value[inside]
    m = m_u[pairable].astype(float)
    # the pairable cells' columns, a block at a time: laid out as the matrix's are (column-major),
    # so that NumPy sums each column over all its raters in the same (pairwise) order
    column = np.cumsum(pairable) - 1
    rows, cols = (pairs // len(cells))[inside], column[at[inside]]
    ss_u = np.empty(len(m))
    step = max(1, _ALPHA_BLOCK // len(raters))
    order = np.argsort(cols, kind="stable")
    rows, cols, block_values = rows[order], cols[order], pooled[order]
    edges = np.searchsorted(cols, np.arange(0, len(m), step))
    edges = np.append(edges, len(cols))
    for b, first_col in enumerate(range(0, len(m), step)):
        last_col = min(first_col + step, len(m))
        a, z = edges[b], edges[b + 1]
        x = np.zeros((len(raters), last_col - first_col), order="F")
        inside_block = np.zeros(x.shape, dtype=bool, order="F")
        x[rows[a:z], cols[a:z] - first_col] = block_values[a:z]
        inside_block[rows[a:z], cols[a:z] - first_col] = True
        unit_mean = x.sum(axis=0) / m[first_col:last_col]
        ss_u[first_col:last_col] = (np.where(inside_block, x - unit_mean, 0.0) ** 2).sum(axis=0)
    d_o = np.sum(2 * m * ss_u / (m - 1)) / n
    d_e = 2 * np.sum((pooled - pooled.mean()) ** 2) / (n - 1)
    alpha = 1 - d_o / d_e if d_e > 0 else np.nan
    return float(alpha), int(pairable.sum()), len(raters)


@dataclass(frozen=True, eq=False)
class SeverityFit:
    """Least-squares rater effects of `fit_severity`, in percent of max_points.

    Attributes
    ----------
    raters : ndarray of str
        The rater ids, sorted; every other per-rater array follows this order.
    severity : ndarray
        δ_r (NaN for a rater in no shared cell).
    se, df : ndarray
        The standard error used and the degrees of freedom of its t interval (units
        compared - 1, at least 1, for the sandwich; rater × unit pairs - raters for the
        model-based SE); se is NaN where the severity is not estimable.
    se_method : ndarray of str
        ``cluster`` (unit-clustered sandwich), ``model`` (model-based, with the
        rater × unit term) or empty (not estimable).
    n_scores, n_compared, n_units, component, component_size : ndarray
        See `rater_severity`.
    visit_split : ndarray of bool
        The rater's component has open and covert visits by different raters, so
        the visit effect is identified only by convention (see Notes of `rater_severity`).
    infit, outfit : ndarray
        Information-weighted and unweighted mean squares of the standardized residuals.
    visit_effect, visit_se, visit_df : float
        Covert - open (percent of max_points), its standard error and degrees of
        freedom; NaN when the scores carry no cell with both visit types.
    var_residual, var_halo : float
        σ²_e and σ²_h of the rater × unit (halo) term, percent²; var_halo is NaN
        when the design does not identify it.
    """

    raters: np.ndarray
    severity: np.ndarray
    se: np.ndarray
    df: np.ndarray
    se_method: np.ndarray
    n_scores: np.ndarray
    n_compared: np.ndarray
    n_units: np.ndarray
    component: np.ndarray
    component_size: np.ndarray
    visit_split: np.ndarray
    infit: np.ndarray
    outfit: np.ndarray
    visit_effect: float
    visit_se: float
    visit_df: float
    var_residual: float
    var_halo: float


# numerical tolerances of the rank decisions (relative to the largest eigenvalue or trace)
_RANK_TOL = 1e-9


def fit_severity(s: pd.DataFrame, *, min_units: int) -> SeverityFit:
    """Fit pct = cell effect − severity (+ visit effect) + e by least squares with the cells absorbed.

    See `rater_severity`, Notes. ``s`` holds rescaled score rows; ``min_units`` is
    ``fairness.severity_min_units``.
    """
    cell, n_cells = cell_codes(s, CELL)
    raters, rater = sorted_ids(s["rater_id"])
    return fit_severity_coded(s, cell, n_cells, raters, rater, sorted_ids(s["unit_id"])[1], min_units=min_units)


def fit_severity_coded(s: pd.DataFrame, cell, n_cells, raters, rater, unit, *, min_units: int) -> SeverityFit:
    """`fit_severity` on codes already made: ``cell`` and ``n_cells`` as `cell_codes` (s, CELL)
    gives them, ``raters``, ``rater`` and ``unit`` as `sorted_ids` of the rater and unit ids."""
    y = s["pct"].to_numpy(dtype="float64")
    n_r, n_u = len(raters), int(unit.max(initial=-1)) + 1
    m = np.bincount(cell, minlength=n_cells).astype(float)

    def centred(v):
        return v - (np.bincount(cell, weights=v, minlength=n_cells) / m)[cell]

    dev = centred(y)
    shared = m[cell] >= 2
    covert = np.zeros(len(y))
    if "visit" in s.columns:
        covert = (text_ids(s["visit"]) == "covert").to_numpy(dtype="float64")
    xdev = centred(covert)
    has_visit = bool(xdev @ xdev > _RANK_TOL)
    n_p = n_r + has_visit  # parameters: −δ of every rater, then the visit effect

    in_cell = sparse.csr_matrix((np.ones(len(y)), (cell, rater)), shape=(n_cells, n_r))
    per_cell = sparse.diags(1.0 / m)
    # raters × raters: Σ_c n_cr n_cr' / m_c, non-zero exactly where two raters share a cell
    shared_cells = (in_cell.T @ per_cell @ in_cell).tocsr()
    normal = np.zeros((n_p, n_p))
    normal[:n_r, :n_r] = np.diag(np.bincount(rater, minlength=n_r).astype(float))
    normal[:n_r, :n_r] -= shared_cells.toarray()
    gradient = np.zeros(n_p)
    gradient[:n_r] = np.bincount(rater, weights=dev, minlength=n_r)
    if has_visit:
        normal[:n_r, n_r] = normal[n_r, :n_r] = np.bincount(rater, weights=xdev, minlength=n_r)
        normal[n_r, n_r] = xdev @ xdev
        gradient[n_r] = xdev @ dev
    n_compared = np.bincount(rater, weights=shared, minlength=n_r)

    _, label = connected_components(shared_cells, directed=False)
    estimable = n_compared > 0
    # components numbered 1, 2, … from the largest; raters sharing no cell get 0
    sizes = pd.Series(label[estimable]).value_counts()
    ordered = sorted(sizes.index, key=lambda c: (-sizes[c], raters[label == c].min()))
    number = {c: k + 1 for k, c in enumerate(ordered)}
    component = np.array([number.get(c, 0) if e else 0 for c, e in zip(label, estimable)])
    component_size = np.array([int(sizes.get(c, 1)) if e else 1 for c, e in zip(label, estimable)])

    inverse, visit_split = _constrained_inverse(normal, n_r, estimable, component, n_compared)
    beta = inverse @ gradient
    severity = np.where(estimable, -beta[:n_r], np.nan)
    fitted = beta[:n_r][rater] + (beta[n_r] * covert if has_visit else 0.0)
    resid = np.where(shared, dev - centred(fitted), 0.0)
    del dev, fitted  # a province's field rows: each array of them is tens of megabytes

    # the rater × unit pairs of the shared scores: pair_of[i] numbers the pair of the i-th of them
    sh = np.flatnonzero(shared)
    pairs, pair_of = dense_codes(unit[sh].astype(np.int64) * n_r + rater[sh], n_u * n_r)
    resid_pair = np.bincount(pair_of, weights=resid[sh], minlength=len(pairs))

    # cluster-robust (CR1) variance with units as clusters (Liang & Zeger, 1986); a residual
    # outside a shared cell is 0, so each unit's score is the sum over its pairs
    score = np.zeros((n_u, n_p))
    score[pairs // n_r, pairs % n_r] = resid_pair
    if has_visit:
        score[:, n_r] = np.bincount(unit, weights=resid * xdev, minlength=n_u)
    meat = score.T @ score
    clusters = int(np.count_nonzero(np.bincount(unit[sh], minlength=n_u)))
    small_sample = clusters / (clusters - 1) if clusters > 1 else np.nan
    robust = np.einsum("ij,jk,ik->i", inverse, meat, inverse) * small_sample

    model, var_e, var_h = _model_variance(normal, inverse, resid, sh, pair_of, resid_pair, cell, n_cells, m,
                                          rater, n_r, xdev if has_visit else None, in_cell, per_cell)
    n_units = np.bincount(pairs % n_r, minlength=n_r)
    se_robust = np.sqrt(np.maximum(robust, 0.0))
    se_model = np.sqrt(np.maximum(model, 0.0))
    # few clusters: the sandwich is biased down (zero with one unit); the model-based
    # variance, with the rater × unit term, is the floor. One unit: not estimable.
    rater_units = np.append(n_units, clusters) if has_visit else n_units
    by_cluster = rater_units >= min_units
    by_model = (rater_units >= 2) & ~by_cluster & np.isfinite(se_model)
    se_all = np.where(by_cluster, se_robust, np.where(by_model, np.fmax(se_robust, se_model), np.nan))
    method = np.where(by_cluster, "cluster", np.where(by_model, "model", ""))
    se_all[:n_r] = np.where(estimable, se_all[:n_r], np.nan)
    method[:n_r] = np.where(estimable, method[:n_r], "")

    # fit mean squares (Wright & Masters, 1982): model variance of a residual s²(1 - 1/m_c)
    dof = float(np.sum(m[m >= 2] - 1)) - float(np.trace(inverse @ normal))
    s2 = float(resid @ resid) / dof if dof > 0 else np.nan
    w = np.where(shared, s2 * (1.0 - 1.0 / m[cell]), 0.0)
    sq = resid**2
    with np.errstate(invalid="ignore", divide="ignore"):
        outfit = np.bincount(rater, weights=np.where(shared, sq / w, 0.0), minlength=n_r) / n_compared
        infit = np.bincount(rater, weights=sq, minlength=n_r) / np.bincount(rater, weights=w, minlength=n_r)
    outfit, infit = np.where(estimable, outfit, np.nan), np.where(estimable, infit, np.nan)

    # a model-based SE pools σ²_e and σ²_h over every rater: its df are those of the pooled rater × unit level
    pooled_df = max(len(pairs) - int(estimable.sum()), 1)
    df = np.where(method[:n_r] == "model", pooled_df, np.maximum(n_units - 1, 1))
    return SeverityFit(
        raters, severity, se_all[:n_r], df, method[:n_r],
        np.bincount(rater, minlength=n_r), n_compared.astype(int), n_units, component, component_size,
        visit_split, infit, outfit,
        float(beta[n_r]) if has_visit else np.nan, float(se_all[n_r]) if has_visit else np.nan,
        float(max(clusters - 1, 1)) if has_visit else np.nan, var_e, var_h,
    )


def _constrained_inverse(normal, n_r, estimable, component, n_compared):
    """Constrained generalized inverse of the normal equations (`fit_severity`).

    Each component's severities, weighted by their compared scores, average 0.
    When the visit effect is confounded with the raters (open and covert visits by
    different raters), each further null direction of the normal matrix gets the
    constraint that its raters, weighted alike, average 0 along it: the raters of
    each visit type are then, on average, fair. Returns the inverse (zero outside the
    estimable parameters) and which raters sit in a component split by visit type.
    """
    n_p = normal.shape[0]
    idx = np.flatnonzero(np.append(estimable, np.ones(n_p - n_r, dtype=bool)))
    sub = normal[np.ix_(idx, idx)]
    comp = np.append(component, np.zeros(n_p - n_r, dtype=int))[idx]
    weight = np.append(n_compared, np.zeros(n_p - n_r))[idx]
    labels = np.unique(comp[comp > 0])
    member = (comp[:, None] == labels[None, :]).astype(float)
    constraints = member * weight[:, None]
    visit_split = np.zeros(n_r, dtype=bool)
    if n_p > n_r:
        values, vectors = np.linalg.eigh(sub)
        null = vectors[:, values <= _RANK_TOL * max(values.max(initial=0.0), 1.0)]
        # the null directions beyond the components' constants
        rest = null - member @ np.linalg.lstsq(member, null, rcond=None)[0]
        left, singular, _ = np.linalg.svd(rest, full_matrices=False)
        extra = left[:, singular > np.sqrt(_RANK_TOL)]
        if extra.shape[1]:
            # orthogonal to the constants in the weighted metric, so that each constraint fixes one direction
            mean = (member * weight[:, None]).T @ extra / np.maximum(member.T @ weight, 1e-300)[:, None]
            extra = extra - member @ mean
            constraints = np.hstack([constraints, extra * weight[:, None]])
            touched = np.abs(extra[comp > 0]).max(axis=1) > np.sqrt(_RANK_TOL)
            split_labels = np.unique(comp[comp > 0][touched])
            visit_split = np.isin(component, split_labels) & (component > 0)
    k = constraints.shape[1]
    bordered = np.zeros((len(idx) + k, len(idx) + k))
    bordered[:len(idx), :len(idx)] = sub
    bordered[:len(idx), len(idx):] = constraints
    bordered[len(idx):, :len(idx)] = constraints.T
    inverse = np.zeros((n_p, n_p))
    inverse[np.ix_(idx, idx)] = np.linalg.inv(bordered)[:len(idx), :len(idx)]
    return inverse, visit_split


def _model_variance(normal, inverse, resid, sh, pair, zr, cell, n_cells, m, rater, n_r, xdev, in_cell, per_cell):
    """Model-based variance of the parameters with a rater × unit (halo) term.

    Σ = σ²_e I + σ²_h Z Zᵀ, Z the incidence of (rater, unit) pairs; σ²_e and σ²_h by
    the method of moments (Henderson's Method III form) from rᵀr and ‖Zᵀr‖², with
    M the residual maker and B = ZᵀMZ: E rᵀr = σ²_e tr M + σ²_h tr B and
    E ‖Zᵀr‖² = σ²_e tr B + σ²_h ‖B‖²_F. Returns the diagonal of
    σ²_e G A G + σ²_h G HᵀH G (H = ZᵀQX), σ²_e and σ²_h; all NaN where σ²_h is
    not identified (every rater seen at one unit: B = 0).
    """
    n_p = normal.shape[0]
    if len(sh) == 0:
        return np.full(n_p, np.nan), np.nan, np.nan
    n_pairs = len(zr)
    cell_pair = sparse.csr_matrix((np.ones(len(sh)), (cell[sh], pair)), shape=(n_cells, n_pairs))
    pair_rater = sparse.csr_matrix((np.ones(len(sh)), (pair, rater[sh])), shape=(n_pairs, n_r))
    spread = (cell_pair.T @ per_cell).tocsr()
    # H and B are as sparse as the pairs that share cells: kept sparse, only the small products are dense
    h = (pair_rater - spread @ in_cell).tocsr()
    if xdev is not None:
        visit = np.bincount(pair, weights=xdev[sh], minlength=n_pairs)
        h = sparse.hstack([h, sparse.csr_matrix(visit[:, None])], format="csr")
    s = (sparse.diags(np.bincount(pair, minlength=n_pairs).astype(float)) - spread @ cell_pair).tocsr()
    hth = (h.T @ h).toarray()
    hsh = (h.T @ (s @ h)).toarray()
    tr_m = float(np.sum(m[m >= 2] - 1)) - float(np.trace(inverse @ normal))
    tr_b = float(s.diagonal().sum()) - float(np.sum(inverse * hth))
    gh = inverse @ hth
    b2 = float(s.multiply(s).sum()) - 2.0 * float(np.sum(inverse * hsh)) + float(np.sum(gh * gh.T))
    rr = float(resid @ resid)
    zz = float(zr @ zr)
    det = tr_m * b2 - tr_b**2
    if not (tr_m > 0 and tr_b > _RANK_TOL * tr_m and det > _RANK_TOL * tr_m * b2):
        return np.full(n_p, np.nan), (rr / tr_m if tr_m > 0 else np.nan), np.nan
    var_e, var_h = np.linalg.solve([[tr_m, tr_b], [tr_b, b2]], [rr, zz])
    if var_h < 0:
        var_e, var_h = rr / tr_m, 0.0
    var_e = max(var_e, 0.0)
    gag = np.einsum("ij,jk,ik->i", inverse, normal, inverse)
    ghhg = np.einsum("ij,jk,ik->i", inverse, hth, inverse)
    return var_e * gag + var_h * ghhg, float(var_e), float(var_h)


def rater_severity(scores: pd.DataFrame, indicators: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Each rater's severity: points awarded below the consensus for the same unit and indicator.

    Parameters
    ----------
    scores : DataFrame
        Score rows; normally one round's (`fairness_tables` uses the report round).
        With ``visit`` (open | covert), the model has a visit effect.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    params : Params
        ``fairness.severity_scale``, ``fairness.severity_min``,
        ``fairness.severity_min_units``, ``fairness.confidence_level``.

    Returns
    -------
    DataFrame
        One row per rater, sorted by rater_id, columns `RATER_COLUMNS`: ``round_id``
        (the rounds of ``scores``, joined with ';'), ``rater_id``, ``source``,
        ``n_scores``, ``n_compared`` (scores in cells another rater also scored),
        ``n_units`` (units among those), ``severity`` (points fewer than the consensus
        on an indicator worth ``scale`` points: positive = harsh, negative = lenient),
        ``se``, ``ci_low``, ``ci_high``, ``ci_level``, ``scale``, ``flagged`` (status
        harsh or lenient), ``direction`` (``harsh`` | ``lenient`` | empty),
        ``component`` (connected set of raters, 1 = largest; 0 = shares no cell with
        anyone), ``component_size``, ``note`` (why a rater is not estimable, how its
        SE was obtained, what its severity is relative to); then ``status``
        (``harsh`` | ``lenient`` | ``fair`` | ``cannot_tell`` | ``not_estimable``),
        ``p_value`` (one-sided test that |severity| exceeds ``severity_min``),
        ``q_value`` (Benjamini–Hochberg over the estimable raters), ``severity_eb``
        and ``se_eb`` (empirical-Bayes severity and its posterior SE), ``tau``
        (between-rater SD of the component, points) and ``infit`` / ``outfit``
        (mean squares; 1 = as noisy as the typical rater). The pseudo-rater of
        final scores (``final:<source>``, no rater recorded) is not a rater: it is
        left out of the model and listed as 'not_estimable', its note saying why.

    Notes
    -----
    A many-facet model in the spirit of FACETS (Linacre, 1989 [1]_), linear rather
    than Rasch because the points are near-continuous: for score *o* of rater *r* in
    cell *c* (round, unit, indicator, source),

    .. math:: y_o = \\alpha_c - \\delta_r + \\gamma\\,\\mathrm{covert}_o + e_o,
              \\qquad y = \\text{points}/\\text{max\\_points} \\times 100,

    where α_c is the consensus of the cell, δ_r the rater's severity and γ the
    city-wide covert − open effect (present when some cell has both visit types), so
    that an open-visit advantage is not booked as the severity of covert
    inspectors. The cell effects are absorbed (Frisch-Waugh-Lovell): with Q the
    within-cell centring and X = [D, x] (score × rater incidence, covert indicator),
    β = (−δ, γ) solves Xᵀ Q X β = Xᵀ Q y; the rater block of XᵀQX is a weighted
    graph Laplacian of the raters, solved densely (a city has tens to hundreds of
    raters; the scores enter only through sparse sums).

    *Connectedness and origin.* Two raters are linked when they scored the same
    cell; δ is identified only within a connected component of that graph (Linacre's
    "disconnected subsets"): each component's severities, weighted by compared
    scores, average 0, and severities of different components cannot be compared.
    When open and covert visits are made by different raters, γ is confounded with
    the two groups' severities; the convention is then that each visit type's
    raters are on average fair, and the note says so.

    *Standard error.* For a rater compared at ≥ ``severity_min_units`` units, the
    unit-clustered sandwich (Liang & Zeger, 1986 [2]_; CR1 factor U/(U-1)). With
    fewer units the sandwich is biased down (exactly 0 for a rater seen at one unit),
    so the SE is the larger of it and the model-based SE under
    Σ = σ²_e I + σ²_h Z Zᵀ, Z the (rater, unit) incidence: σ²_h, the rater × unit
    (halo) variance, is a rater's shared view of one unit, estimated by the method
    of moments from all raters (`_model_variance`). A rater compared at one unit
    only is 'not_estimable': its severity is confounded with its view of that unit
    (every unit's own team of two raters is such a design). The interval is
    δ ± t_df · se, df = n_u - 1 (n_u the units compared) for the sandwich and the
    pooled df of the rater × unit level (pairs - raters) for the model-based SE.

    *Flag and status.* H0: |δ| ≤ ``severity_min`` against |δ| > ``severity_min``
    (a minimum-effect test): p = P(T_{n_u-1} > (|δ̂| - severity_min)/se); the
    p-values of all estimable raters get Benjamini–Hochberg q-values [3]_ and a
    rater is flagged harsh / lenient where q ≤ (1 - confidence_level)/2, which
    implies that its interval lies entirely beyond ±``severity_min``: the rate of
    false flags among flagged raters is controlled, and a severity smaller than
    ``severity_min`` is not flagged however precise. 'fair' is an interval within
    ±``severity_min``; 'cannot_tell' is everything else.

    *Shrinkage.* The between-rater variance τ² of each component by
    DerSimonian & Laird's moment estimator [4]_ on the estimates and their SEs;
    severity_eb = δ̂ τ²/(τ² + se²), shrunk towards the consensus (0), with posterior
    SE se·√(τ²/(τ² + se²)) (Efron & Morris, 1975 [5]_). Raters flagged for being far
    from 0 are the ones whose raw estimates overstate their severity most (the
    winner's curse); `adjust_rater_severity` uses the shrunken values.

    *Fit.* Standardized residuals z_o = r_o / √W_o, W_o = s² (1 - 1/m_c) with s² the
    residual variance and m_c the raters of the cell (the leverage of the rater
    parameters, of order 1/n_compared, is ignored); outfit = mean z², infit =
    Σ r² / Σ W, as Wright & Masters (1982) [6]_ define them for FACETS and Winsteps.
    Values well above 1 are an erratic rater; well below 1, one who copies the
    consensus.

    References
    ----------
    .. [1] Linacre, J. M. (1989). Many-facet Rasch measurement. Chicago: MESA Press.
    .. [2] Liang, K.-Y., & Zeger, S. L. (1986). Longitudinal data analysis using
           generalized linear models. Biometrika, 73(1), 13-22.
    .. [3] Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate:
           a practical and powerful approach to multiple testing. Journal of the Royal
           Statistical Society B, 57(1), 289-300.
    .. [4] DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
           Controlled Clinical Trials, 7(3), 177-188.
    .. [5] Efron, B., & Morris, C. (1975). Data analysis using Stein's estimator and
           its generalizations. Journal of the American Statistical Association,
           70(350), 311-319.
    .. [6] Wright, B. D., & Masters, G. N. (1982). Rating scale analysis. Chicago:
           MESA Press.
    """
    check_params(params)
    fp = params.fairness
    s = rescaled(scores, indicators)
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RATER_COLUMNS})
    real = with_rater(s)
    final = _final_score_raters(s[~real], fp)
    s = s[real].reset_index(drop=True)
    if s.empty:
        return final
    fit = fit_severity(s, min_units=fp.severity_min_units)
    scale = fp.severity_scale / 100.0
    severity = fit.severity * scale
    se = fit.se * scale
    low, high = t_interval(severity, se, fit.df, fp.confidence_level)
    testable = np.isfinite(se) & np.isfinite(severity)
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.where(se > 0, (np.abs(severity) - fp.severity_min) / se,
                          np.where(np.abs(severity) > fp.severity_min, np.inf, -np.inf))
    p_value = np.where(testable, sps.t.sf(excess, fit.df), np.nan)
    q_value = np.full(len(se), np.nan)
    if testable.any():
        q_value[testable] = sps.false_discovery_control(p_value[testable], method="bh")
    flagged = testable & (q_value <= (1 - fp.confidence_level) / 2)
    fair = testable & ~flagged & (low >= -fp.severity_min) & (high <= fp.severity_min)
    status = np.select([~testable, flagged & (severity > 0), flagged & (severity < 0), fair],
                       ["not_estimable", "harsh", "lenient", "fair"], "cannot_tell")
    eb, se_eb, tau = _shrunken(severity, se, fit.component, testable)

    # the sources of each rater, joined (the distinct pairs first: the join is then per rater, not per row)
    pairs = s[["rater_id", "source"]].drop_duplicates()
    source = pairs.groupby("rater_id")["source"].agg(lambda v: ";".join(sorted(set(map(str, v)))))
    n_components = int(fit.component.max(initial=0))
    notes = []
    for k in range(len(fit.raters)):
        why = []
        if fit.component[k] == 0:
            why.append("shares no unit × indicator with another rater: not estimable")
        elif fit.n_units[k] < 2:
            why.append("all comparisons at one unit: severity cannot be told apart from the rater's view of "
                       "that unit; not estimable")
        elif not testable[k]:
            why.append(f"compared at only {fit.n_units[k]} units and no rater × unit variance to judge them by; "
                       "not estimable")
        elif fit.se_method[k] == "model":
            why.append(f"compared at only {fit.n_units[k]} units: model-based SE with a rater × unit term")
        if n_components > 1 and fit.component[k] > 0:
            why.append("severities are comparable only within the same component")
        if fit.visit_split[k]:
            why.append("open and covert visits by different raters: severity relative to raters of the same "
                       "visit type")
        if testable[k] and not flagged[k] and p_value[k] <= (1 - fp.confidence_level) / 2:
            why.append(f"beyond ±{fp.severity_min:g} on its own, not after the false-discovery control over "
                       f"{int(testable.sum())} raters")
        if fit.component[k] > 0 and testable[k] and not np.isfinite(eb[k]):
            why.append("too few estimable raters in the component to shrink")
        notes.append("; ".join(why))
    out = pd.DataFrame({
        "round_id": ";".join(sorted(text_ids(s["round_id"]).unique())),
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
        "status": status, "p_value": p_value, "q_value": q_value,
        "severity_eb": eb, "se_eb": se_eb, "tau": tau,
        "infit": fit.infit, "outfit": fit.outfit,
    })
    if len(final):
        out = pd.concat([out, final], ignore_index=True)
    return out[list(RATER_COLUMNS)].sort_values("rater_id", kind="stable").reset_index(drop=True)


def _final_score_raters(s: pd.DataFrame, fp) -> pd.DataFrame:
    """`rater_severity` rows of the pseudo-raters of final scores: not raters, so 'not_estimable', said why."""
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RATER_COLUMNS})
    g = s.groupby("rater_id", sort=True)
    nan = np.nan
    out = pd.DataFrame({
        "round_id": ";".join(sorted(text_ids(s["round_id"]).unique())),
        "rater_id": g.size().index.to_numpy(),
        "source": g["source"].agg(lambda v: ";".join(sorted(set(map(str, v))))).to_numpy(),
        "n_scores": g.size().to_numpy(dtype="int64"), "n_compared": 0, "n_units": 0,
        "severity": nan, "se": nan, "ci_low": nan, "ci_high": nan, "ci_level": fp.confidence_level,
        "scale": fp.severity_scale, "flagged": False, "direction": "", "component": 0, "component_size": 1,
        "note": f"{FINAL_SCORES_NOTE}: the final scores of a source, not a rater; whether its raters are harsh "
                "or lenient cannot be assessed",
        "status": "not_estimable", "p_value": nan, "q_value": nan, "severity_eb": nan, "se_eb": nan, "tau": nan,
        "infit": nan, "outfit": nan,
    })
    return out[list(RATER_COLUMNS)]


def _shrunken(severity, se, component, testable):
    """Empirical-Bayes severities, their posterior SE and τ per rater (`rater_severity`, Notes)."""
    eb, se_eb, tau = (np.full(len(severity), np.nan) for _ in range(3))
    for c in np.unique(component[component > 0]):
        k = np.flatnonzero((component == c) & testable)
        if len(k) < 2:
            continue
        d, v = severity[k], se[k] ** 2
        precise = v > 0
        if precise.sum() >= 2:
            w = 1.0 / v[precise]
            mean = np.sum(w * d[precise]) / w.sum()
            tau2 = dersimonian_laird_tau2(np.sum(w * (d[precise] - mean) ** 2), w)
        else:
            # estimates without error (an exact fit): their spread is the spread of severities
            tau2 = float(np.mean(d**2))
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = np.where(precise, tau2 / (tau2 + v), 1.0)
        eb[k], se_eb[k], tau[k] = d * factor, np.sqrt(factor * v), np.sqrt(tau2)
    return eb, se_eb, tau


def rater_separation(raters: pd.DataFrame, scores: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Separation of the rater facet, per component, as FACETS reports it.

    Parameters
    ----------
    raters : DataFrame
        `rater_severity` output.
    scores : DataFrame
        The score rows it was estimated on (for the units counted).
    params : Params
        ``fairness.confidence_level`` (recorded only).

    Returns
    -------
    DataFrame
        Columns `RELIABILITY_COLUMNS`, scope ``raters``, key ``component <k>``, one
        row per statistic of each component with at least two estimable raters:
        ``separation_reliability``, ``separation_index``, ``strata`` and
        ``between_rater_sd`` (τ of the shrinkage, points). ``n_raters`` counts the
        estimable raters, ``n_units`` the units they scored.

    Notes
    -----
    Linacre's rater separation (Wright & Masters, 1982, ch. 5): with SD² the
    observed variance of the severities (divisor n - 1) and MSE the mean of their
    squared SEs, the true variance is SD² - MSE, the reliability
    R = (SD² - MSE) / SD², the separation index G = √(SD² - MSE) / √MSE (both 0
    when SD² ≤ MSE) and the strata (4G + 1)/3. For raters, high separation means
    the raters differ reliably in severity, which is not wanted.

    References
    ----------
    .. [1] Wright, B. D., & Masters, G. N. (1982). Rating scale analysis. Chicago:
           MESA Press.
    """
    check_params(params)
    require(raters, "raters", ["round_id", "rater_id", "severity", "se", "component", "status", "tau"])
    rows = []
    usable = raters[(raters["status"] != "not_estimable") & (raters["component"] > 0)]
    rater_of_score = text_ids(scores["rater_id"])
    for c, part in usable.groupby("component", sort=True):
        if len(part) < 2:
            continue
        sd2 = float(part["severity"].var(ddof=1))
        mse = float(np.mean(part["se"] ** 2))
        true = max(sd2 - mse, 0.0)
        reliability = true / sd2 if sd2 > 0 else np.nan
        index = np.sqrt(true / mse) if mse > 0 else np.nan
        n_units = scores.loc[rater_of_score.isin(part["rater_id"].astype(str)).to_numpy(), "unit_id"].nunique()
        base = {"round_id": str(part["round_id"].iloc[0]), "scope": "raters", "key": f"component {c}",
                "ci_low": np.nan, "ci_high": np.nan, "ci_level": np.nan, "p_value": np.nan,
                "n_units": int(n_units), "n_raters": len(part), "seed": ""}
        note = "rater severities, points per indicator worth `scale`; SD² with divisor n - 1"
        for name, value in (("separation_reliability", reliability), ("separation_index", index),
                            ("strata", (4 * index + 1) / 3), ("between_rater_sd", float(part["tau"].iloc[0]))):
            rows.append({**base, "statistic": name, "value": value, "note": note})
    return pd.DataFrame(rows, columns=list(RELIABILITY_COLUMNS))


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
        ``flagged``; with ``severity_eb``, the shrunken severities are added back
        instead of the raw ones (raters flagged for a large estimate would otherwise
        be over-corrected), and a rater without one (not estimable) is unchanged.
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
        min(max(points + severity_eb × max_points / scale, 0), max_points) and a column
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
    estimate = table["severity_eb" if "severity_eb" in table.columns else "severity"].astype("float64")
    per_rater = estimate.where(table["flagged"].astype(bool) | (not flagged_only))
    shift = mapped(s["rater_id"], per_rater).astype("float64").fillna(0.0).to_numpy()
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
        The six tables as attributes (`honorcalc.data.Dataset`).
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
    frames = dataset_frames(dataset)
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
        after = _results_after(frames, new_scores, params, round_id, before)
    keep = ["unit_id", "name", "group", "score", "rank", "list"]
    out = before[keep].merge(after[["unit_id", "score", "rank", "list"]], on="unit_id",
                             suffixes=("_before", "_after"), how="outer")
    out.insert(0, "round_id", round_id)
    out["changed"] = out["list_before"].fillna("") != out["list_after"].fillna("")
    cols = ["round_id", "unit_id", "name", "group", "score_before", "score_after", "rank_before",
            "rank_after", "list_before", "list_after", "changed"]
    out = out[cols].sort_values(["group", "rank_before", "unit_id"], kind="stable", na_position="last")
    return out.reset_index(drop=True)


def _results_after(frames: dict, new_scores: pd.DataFrame, params: Params, round_id: str,
                   before: pd.DataFrame) -> pd.DataFrame:
    """The round's results on the adjusted scores (`evaluate_until`), evaluating only the rounds they need.

    A round's score, rank and list depend on its own rows and, when history is blended
    in (``history.weight`` > 0), on the earlier rounds of the same work; points year to
    date and escalation, which look further back, are not compared. So those rounds
    alone are evaluated, once on the scores as they are (which must give ``before``'s
    score, rank and list exactly) and once on the adjusted scores. Should the check
    fail, or the rounds needed hold most of the scores, every round up to the round's
    date is evaluated instead, as `evaluate_round` does.
    """
    ro = order_rounds(frames["rounds"])
    current = ro[ro["round_id"] == round_id].iloc[0]
    if params.history.weight > 0 and params.history.rounds > 0:
        needed = ro.loc[(ro["work"] == current["work"]) & (ro["date"] <= current["date"]), "round_id"]
    else:
        needed = pd.Series([round_id])
    rows = new_scores["round_id"].isin(needed).to_numpy(dtype=bool)
    if 2 * int(rows.sum()) < len(rows):
        sub = {t: f[f["round_id"].isin(needed)] if "round_id" in f.columns else f for t, f in frames.items()}
        check = _round_results(evaluate_until(sub, params, round_id)[0], round_id)
        compared = ["unit_id", "score", "rank", "list"]
        if check[compared].reset_index(drop=True).equals(before[compared].reset_index(drop=True)):
            sub["scores"] = new_scores[rows]
            return _round_results(evaluate_until(sub, params, round_id)[0], round_id)
    return _round_results(evaluate_until({**frames, "scores": new_scores}, params, round_id)[0], round_id)


def _round_results(evaluation: Evaluation, round_id: str) -> pd.DataFrame:
    """The results of one round of an evaluation (an `InputError` if it has none)."""
    results = getattr(evaluation, "results", None)
    if not isinstance(results, pd.DataFrame) or round_id not in set(results["round_id"].unique()):
        raise InputError(f"the evaluation given has no results for round {round_id!r}")
    return results[results["round_id"] == round_id]
