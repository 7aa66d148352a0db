"""Fairness analysis of a round: is the spread real, are the raters fair, who lags, how stable.

RULES.md §3 asks six questions of every list; this module answers five of them (the
sixth, "can it be reproduced", is `honorcalc.audit`). Each answer is a pure function
over the long-format frames of the dataset contract plus `Params`, returning a new
frame; `fairness_tables` assembles DESIGN.md's ``raters.csv``, ``reliability.csv``,
``laggards.csv``, ``stability.csv`` and ``groups.csv`` for ``params.round``, and
`fairness_findings` says what they show in plain sentences.

=======================================  =====================================  ===========================
question (RULES.md §3)                   function                               table
=======================================  =====================================  ===========================
spread real, or rater noise?             `variance_components` (G-study)        reliability.csv (source)
do raters agree?                         `rater_consistency` (ICC, α, W)        reliability.csv
is a rater harsh or lenient?             `rater_severity`,                      raters.csv
                                         `adjust_rater_severity`,
                                         `severity_adjusted_lists`
persistent laggard, or unlucky once?     `flag_laggards` (rules A, B, C)        laggards.csv
open visits kinder than covert ones?     `visit_gap` (RULES.md §2 明查/暗访)     laggards.csv (open_visit)
would the list change?                   `list_replicates`, `list_stability`    stability.csv
are groups treated alike?                `group_fairness`                       groups.csv
=======================================  =====================================  ===========================

Conventions
-----------
* Points are compared on the indicator's own scale, rescaled to percent of its
  maximum: ``pct = points / max_points × 100``, so that a 4-point and a 40-point
  indicator are comparable. Rater severity is reported in points of an indicator
  worth ``fairness.severity_scale`` (10) points, so 0.8 means "0.8 points fewer on
  a 10-point indicator"; positive is harsh (DESIGN.md ``raters.csv``).
* A *cell* is one (round, unit, indicator, source): the raters of a cell saw the same
  thing, and its mean is what the scoring model uses (DESIGN.md scoring step 1).
* Every random draw comes from ``np.random.default_rng([params.seed, stream])`` with
  one fixed stream per analysis (`SEED_STREAMS`); the tables that use randomness
  record that seed in a ``seed`` column, as the text ``"[seed, stream]"``.
* Every number is kept at full precision; rounding is for the report.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy import stats as sps
from scipy.sparse.csgraph import connected_components

from .errors import InputError
from .params import SOURCES, Params
from .rules import Evaluation, _frames, evaluate_rounds, evaluate_until, round_half_up
from .scoring import check_scores_and_indicators, order_rounds, require_columns, row_key
from .stats import icc, kendall_w, krippendorff_alpha

__all__ = [
    "SEED_STREAMS",
    "RATER_COLUMNS",
    "RELIABILITY_COLUMNS",
    "LAGGARD_COLUMNS",
    "STABILITY_COLUMNS",
    "GROUP_COLUMNS",
    "LaggardResult",
    "Replicates",
    "variance_components",
    "rater_consistency",
    "rater_severity",
    "adjust_rater_severity",
    "severity_adjusted_lists",
    "visit_gap",
    "flag_laggards",
    "list_replicates",
    "list_stability",
    "group_fairness",
    "fairness_tables",
    "fairness_findings",
]

#: The random stream of each analysis: ``np.random.default_rng([params.seed, stream])``.
SEED_STREAMS = {"rater_slots": 1, "laggards": 2, "stability": 3, "groups": 4}

RATER_COLUMNS = (
    "round_id", "rater_id", "source", "n_scores", "n_compared", "n_units", "severity", "se",
    "ci_low", "ci_high", "ci_level", "scale", "flagged", "direction", "component",
    "component_size", "note",
)
RELIABILITY_COLUMNS = (
    "round_id", "scope", "key", "statistic", "value", "ci_low", "ci_high", "ci_level", "p_value",
    "n_units", "n_raters", "note", "seed",
)
LAGGARD_COLUMNS = (
    "round_id", "unit_id", "name", "rule", "measure", "evidence", "threshold", "p_value", "ci_low",
    "ci_high", "rounds", "n_rounds", "false_alarm_rate", "seed",
)
STABILITY_COLUMNS = (
    "round_id", "unit_id", "name", "group", "score", "rank", "list", "rank_low", "rank_high",
    "p_red", "p_black", "uncertain", "n_replicates", "seed",
)
GROUP_COLUMNS = (
    "round_id", "dimension", "group", "n_units", "score_mean", "score_sd", "red_rate",
    "black_rate", "rater_severity", "p_score", "p_red", "p_black", "p_severity",
    "n_permutations", "seed",
)

_CELL = ["round_id", "unit_id", "indicator_id", "source"]
#: Null cities of the laggard calibration are simulated this many (unit, round)s at a time.
_NULL_CELLS = 1_000_000
#: Replicates of the stability analysis draw and sum this many points at a time (cache-sized).
_REPLICATE_BLOCK = 150_000
_COMPONENTS = ("unit", "rater", "indicator", "unit_x_indicator")
_LAGGARD_RULES = ("listed_k_of_n", "cusum", "mann_kendall", "open_visit")
_RESULT_COLUMNS = (
    "round_id", "unit_id", "name", "group", "ranking_group", "round_kind", "work", "seq", "date",
    "year", "score", "score_rounded", "ranked", "rank", "rank_bottom", "n_ranked", "list",
    "deduction", "satisfaction", "vetoed", "excluded", "composite",
)


# --------------------------------------------------------------------------- helpers


def _check_params(params) -> None:
    if not isinstance(params, Params):
        raise InputError(f"params: expected honorcalc.params.Params, got {type(params).__name__}")


def _require(frame, table: str, columns) -> None:
    """Raise `InputError` naming the table and the missing columns."""
    require_columns(frame, columns, table)


def _rng(params: Params, stream: str) -> tuple[np.random.Generator, str]:
    entropy = [int(params.seed), SEED_STREAMS[stream]]
    return np.random.default_rng(entropy), f"[{entropy[0]}, {entropy[1]}]"


def _rescaled(scores: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """The score rows with ``max_points``, ``category`` and ``pct`` = points / max_points × 100."""
    check_scores_and_indicators(scores, indicators)
    if not pd.api.types.is_numeric_dtype(scores["points"]):
        raise InputError(
            f"column 'points' must be numeric; got dtype {scores['points'].dtype} "
            "(load the dataset with honorcalc.io.load_dataset)", file="scores", column="points",
        )
    meta = indicators.set_index("indicator_id")
    # look up each distinct indicator once: a map over every row of a string column is slow
    at, ids = pd.factorize(scores["indicator_id"], use_na_sentinel=False)
    ids = pd.Series(ids)
    max_points = ids.map(meta["max_points"]).astype("float64").to_numpy()[at]
    unknown = np.flatnonzero(np.isnan(max_points))
    if len(unknown):
        raise InputError(f"unknown indicator_id {scores['indicator_id'].iloc[unknown[0]]!r}", file="scores",
                         column="indicator_id")
    out = scores.copy()
    out["max_points"] = max_points
    out["category"] = ids.map(meta["category"]).astype(str).to_numpy()[at]
    out["pct"] = out["points"].to_numpy(dtype="float64") / out["max_points"].to_numpy() * 100.0
    return out.reset_index(drop=True)


def _codes(frame: pd.DataFrame, columns) -> tuple[np.ndarray, int]:
    """Each row's key over ``columns``, numbered 0 … K-1 in the sorted order of its `row_key`; and K.

    Joined keys sort as the tuples of their parts when no part holds a character at or
    below the separator (U+001F), so the parts are sorted on their own, which is far
    cheaper than joining them; otherwise the keys are joined.
    """
    key = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        part, uniques = pd.factorize(frame[column].astype(str), sort=True)
        if (part < 0).any() or any(min(u, default="\x7f") <= "\x1f" for u in uniques):
            key = pd.factorize(row_key(frame, list(columns)), sort=True)[0]
            break
        key = key * len(uniques) + part
    else:
        key = np.unique(key, return_inverse=True)[1]
    codes = key.astype("int64")
    return codes, int(codes.max(initial=-1)) + 1


def _sorted_ids(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids.astype(str), return_inverse=True)``, sorted by pandas (far faster on strings)."""
    text = ids.astype(str)
    codes, uniques = pd.factorize(text, sort=True)
    if (codes < 0).any():
        # a missing id: np.unique raises on it, as it always did
        return np.unique(text.to_numpy(), return_inverse=True)
    return uniques.to_numpy(dtype=object), codes.astype(np.int64)


def _round_order(results: pd.DataFrame) -> pd.DataFrame:
    """One row per round of ``results`` in time order (date, round_id)."""
    r = results[["round_id", "date"]].drop_duplicates("round_id")
    return r.sort_values(["date", "round_id"], kind="stable").reset_index(drop=True)


def _ci(estimate, se, df, level):
    q = sps.t.ppf(0.5 + level / 2, np.maximum(df, 1))
    with np.errstate(invalid="ignore"):
        return estimate - q * se, estimate + q * se


# --------------------------------------------------------------------------- 1. variance components


def _method_one_system(y: np.ndarray, factors: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Henderson's Method I: the matrix of expected T terms and the observed T terms.

    ``factors`` maps each random factor to the integer level (0 … q-1) of every
    observation; the residual is the observation itself. Unknowns, in order: μ², the
    factors' σ², σ²_e. ``y`` must be centred: the σ² estimates do not depend on the
    origin, and a centred y keeps T_0 - T_μ free of cancellation.
    """
    n = len(y)
    names = list(factors)
    size = len(names) + 2
    a = np.zeros((size, size))
    t = np.zeros(size)
    a[0, 0], a[0, -1], t[0] = n, 1.0, y.sum() ** 2 / n
    a[-1, :], t[-1] = n, float(y @ y)
    counts = {f: np.bincount(c).astype(float) for f, c in factors.items()}
    for j, g in enumerate(names, start=1):
        a[0, j] = float((counts[g] ** 2).sum()) / n
    for i, f in enumerate(names, start=1):
        nf = counts[f]
        t[i] = float((np.bincount(factors[f], weights=y) ** 2 / nf).sum())
        a[i, 0], a[i, -1] = n, len(nf)
        for j, g in enumerate(names, start=1):
            if f == g:
                a[i, j] = n
                continue
            _, first, n_lm = np.unique(factors[f].astype(np.int64) * len(counts[g]) + factors[g],
                                       return_index=True, return_counts=True)
            a[i, j] = float((n_lm.astype(float) ** 2 / nf[factors[f][first]]).sum())
    return a, t


def _g_study(y: np.ndarray, factors: dict[str, np.ndarray]) -> tuple[dict[str, float], list[str]]:
    """Variance components (truncated at 0) and notes on what the design could not separate."""
    comp = {name: np.nan for name in (*_COMPONENTS, "residual")}
    notes = []
    kept = {}
    for name, codes in factors.items():
        levels = int(codes.max()) + 1
        if levels < 2:
            notes.append(f"{name}: one level, variance not estimable (left in the residual)")
        elif levels == len(y):
            notes.append(f"{name}: one score per level, confounded with the residual")
        else:
            kept[name] = codes
    y = y - y.mean()
    while "unit" in kept:
        a, t = _method_one_system(y, kept)
        scaled = a / np.linalg.norm(a, axis=0)
        if np.linalg.matrix_rank(scaled, tol=1e-9) == len(a):
            solution = np.linalg.solve(a, t)
            estimate = {**dict(zip(kept, solution[1:-1])), "residual": float(solution[-1])}
            negative = sorted(k for k, v in estimate.items() if v < 0)
            if negative:
                notes.append(f"negative estimate set to 0: {', '.join(negative)}")
            comp.update({k: max(float(v), 0.0) for k, v in estimate.items()})
            return comp, notes
        # confounded facets: give up the least central one first
        name = next(n for n in ("unit_x_indicator", "rater", "indicator", "unit") if n in kept)
        notes.append(f"{name}: confounded with the other facets in this design (left in the residual)")
        del kept[name]
    notes.append("units cannot be separated from the other facets: no G-study")
    return comp, notes


def variance_components(scores: pd.DataFrame, indicators: pd.DataFrame, params: Params) -> pd.DataFrame:
    """G-study of each round and source: unit, rater, indicator and residual variance.

    Parameters
    ----------
    scores : DataFrame
        Score rows (``round_id``, ``unit_id``, ``indicator_id``, ``rater_id``,
        ``source``, ``points``), of one or more rounds.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    params : Params

    Returns
    -------
    DataFrame
        One row per (round, source), sorted by round_id and the order of
        `honorcalc.params.SOURCES`: ``round_id``, ``source``, ``n_scores``,
        ``n_units``, ``n_raters``, ``n_indicators``, ``raters_per_cell`` (mean raters
        per unit × indicator), ``var_unit``, ``var_rater``, ``var_indicator``,
        ``var_unit_x_indicator``, ``var_residual`` (variances of the rescaled points,
        percent of max_points squared; NaN when not separable), ``share_unit``
        (σ²_unit over the sum of all components: the share of a single score's
        variance that is real difference between units), ``phi`` (dependability of
        the unit's source score with the raters actually used) and ``note``.

    Raises
    ------
    InputError
        Missing columns, an unknown or duplicated indicator, non-numeric points.

    Notes
    -----
    The model, on ``pct = points / max_points × 100``, is the crossed random-effects
    model of generalizability theory (Brennan, 2001 [1]_)

    .. math:: y_{pir} = \\mu + u_p + c_i + r_r + (uc)_{pi} + e_{pir},

    with unit *p*, indicator *i* and rater *r*; e holds every other interaction. The
    design is unbalanced (each unit has its own inspection team), so the components
    are estimated by Henderson's Method I, Brennan's "analogous ANOVA" (2001, ch. 7):
    with T_f = Σ_l y²_{l·} / n_l for each factor f, T_μ = y²_{··}/N and T_0 = Σ y²,

    .. math:: E[T_f] = N\\mu^2 + \\sum_g k_{fg}\\,\\sigma^2_g + q_f\\,\\sigma^2_e,
              \\quad k_{fg} = \\sum_l \\sum_m n_{lm}^2 / n_l,

    (q_f levels of f; for T_μ, k_g = Σ_m n²_m / N and 1; for T_0, N throughout) is
    solved for μ² and the σ². On a balanced design this is the ANOVA (expected mean
    squares) solution. A factor the design cannot separate is left out and its variance
    stays in the residual: one rater per cell confounds unit × indicator with the
    residual (every source but field inspection in the demo city); one rater overall
    makes rater variance inestimable. Negative estimates are set to 0, the usual
    convention (Brennan, 2001, ch. 3), and say so in ``note``.

    Indicators are a fixed facet (every unit is scored on the same indicators, and
    indicator difficulty is the same for all), raters a random one. The unit's source
    score is S_p = Σ_i w_i ȳ_pi with w_i = max_points_i / Σ max_points and ȳ_pi the
    mean of its m_pi raters (DESIGN.md scoring steps 1-2), so with the unit's actual
    design its universe-score and absolute-error variances are

    .. math:: \\sigma^2_{\\tau,p} = \\sigma^2_u + \\sigma^2_{uc} \\sum_i w_i^2, \\quad
              \\sigma^2_{\\Delta,p} = \\sigma^2_r \\sum_r \\Big(\\sum_{i \\ni r}
              \\frac{w_i}{m_{pi}}\\Big)^2 + \\sigma^2_e \\sum_i \\frac{w_i^2}{m_{pi}},

    and Φ = mean σ²_τ / (mean σ²_τ + mean σ²_Δ), Brennan's dependability coefficient
    with indicators fixed (2001, ch. 4) and the design of each unit as it was.

    Speed decided the estimator: Method I takes 0.03 s on the demo city's 6,400 field
    scores of one round; ``statsmodels`` MixedLM (REML, crossed variance components,
    even without the 2,550-level unit × indicator facet) takes 19 s on the same scores
    and agrees within 10 % (``benchmarks/bench_fairness.py --mixedlm``).

    Checked on simulated designs with known components (``tests/test_fairness.py``):
    balanced, where it equals the classical ANOVA solution, and unbalanced.

    References
    ----------
    .. [1] Brennan, R. L. (2001). Generalizability Theory. New York: Springer.
    .. [2] Henderson, C. R. (1953). Estimation of variance and covariance components.
           Biometrics, 9(2), 226-252.
    """
    _check_params(params)
    s = _rescaled(scores, indicators)
    cols = ["round_id", "source", "n_scores", "n_units", "n_raters", "n_indicators", "raters_per_cell",
            *(f"var_{c}" for c in (*_COMPONENTS, "residual")), "share_unit", "phi", "note"]
    rows = []
    source_rank = {src: k for k, src in enumerate(SOURCES)}
    for (round_id, source), part in s.groupby(["round_id", "source"], sort=True):
        part = part.reset_index(drop=True)
        y = part["pct"].to_numpy(dtype="float64")
        unit = pd.factorize(part["unit_id"])[0]
        ind = pd.factorize(part["indicator_id"])[0]
        factors = {
            "unit": unit,
            "rater": pd.factorize(part["rater_id"])[0],
            "indicator": ind,
            "unit_x_indicator": pd.factorize(unit.astype(np.int64) * (ind.max() + 1) + ind)[0],
        }
        comp, notes = _g_study(y, factors)
        phi = _dependability(part, comp)
        total = sum(v for v in comp.values() if np.isfinite(v))
        n_levels = {name: int(codes.max()) + 1 for name, codes in factors.items()}
        rows.append({
            "round_id": round_id, "source": source, "n_scores": len(part),
            "n_units": n_levels["unit"], "n_raters": n_levels["rater"], "n_indicators": n_levels["indicator"],
            "raters_per_cell": len(part) / n_levels["unit_x_indicator"],
            **{f"var_{k}": v for k, v in comp.items()},
            "share_unit": comp["unit"] / total if total > 0 else np.nan,
            "phi": phi, "note": "; ".join(notes), "_order": source_rank.get(source, len(SOURCES)),
        })
    out = pd.DataFrame(rows, columns=[*cols, "_order"])
    out = out.sort_values(["round_id", "_order"], kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)


def _dependability(part: pd.DataFrame, comp: dict[str, float]) -> float:
    """Φ of the units' source scores with their actual raters (`variance_components`)."""
    if not np.isfinite(comp["unit"]):
        return np.nan
    # pandas' group sums (compensated, in row order) on integer keys: grouping by the id
    # columns themselves was most of the cost. Units and raters sort as their ids.
    unit = pd.factorize(part["unit_id"], sort=True)[0].astype(np.int64)
    rater = pd.factorize(part["rater_id"], sort=True)[0].astype(np.int64)
    indicator = pd.factorize(part["indicator_id"])[0]
    # unit × indicator cells in order of appearance
    cell = pd.factorize(unit * (indicator.max() + 1) + indicator)[0]
    first = np.unique(cell, return_index=True)[1]
    cell_unit = unit[first]
    m = np.bincount(cell)
    max_points = pd.Series(part["max_points"].to_numpy()[first])
    w = max_points / max_points.groupby(cell_unit).transform("sum")
    w2 = (w**2).groupby(cell_unit).sum()
    w2_m = (w**2 / m).groupby(cell_unit).sum()
    rater_load = pd.Series(w.to_numpy()[cell] / m[cell]).groupby(unit * (rater.max() + 1) + rater).sum()
    r2 = (rater_load**2).groupby(rater_load.index // (rater.max() + 1)).sum()
    # a component the design could not separate (NaN) is part of the residual already
    universe = comp["unit"] + np.nan_to_num(comp["unit_x_indicator"]) * w2
    error = np.nan_to_num(comp["rater"]) * r2 + np.nan_to_num(comp["residual"]) * w2_m
    tau, delta = float(universe.mean()), float(error.reindex(universe.index).mean())
    return tau / (tau + delta) if tau + delta > 0 else np.nan


# --------------------------------------------------------------------------- 2. rater consistency


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
    _check_params(params)
    fp = params.fairness
    k = fp.rater_slots
    s = _rescaled(scores, indicators)
    rng, seed = _rng(params, "rater_slots")
    # a canonical order makes the slot draw independent of the input row order
    s = s.sort_values([*_CELL, "rater_id"], kind="stable").reset_index(drop=True)
    cell = _codes(s, _CELL)[0]
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


# --------------------------------------------------------------------------- 3. rater severity


@dataclass(frozen=True, eq=False)
class _SeverityFit:
    """Least-squares rater effects of `_fit_severity`, in percent of max_points."""

    raters: np.ndarray
    severity: np.ndarray
    se: np.ndarray
    df: np.ndarray
    n_scores: np.ndarray
    n_compared: np.ndarray
    n_units: np.ndarray
    component: np.ndarray
    component_size: np.ndarray


def _fit_severity(s: pd.DataFrame) -> _SeverityFit:
    """Fit pct = cell effect − severity + e by least squares with the cells absorbed.

    See `rater_severity`, Notes. ``s`` holds rescaled score rows.
    """
    y = s["pct"].to_numpy(dtype="float64")
    cell, n_cells = _codes(s, _CELL)
    raters, rater = _sorted_ids(s["rater_id"])
    units, unit = _sorted_ids(s["unit_id"])
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
    return _SeverityFit(raters, severity, se, np.maximum(n_units - 1, 1), np.bincount(rater, minlength=n_r),
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
    _check_params(params)
    fp = params.fairness
    s = _rescaled(scores, indicators)
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RATER_COLUMNS})
    fit = _fit_severity(s)
    scale = fp.severity_scale / 100.0
    severity = fit.severity * scale
    se = fit.se * scale
    low, high = _ci(severity, se, fit.df, fp.confidence_level)
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
    _check_params(params)
    _require(severity, "raters", ["rater_id", "severity", "flagged"])
    if not isinstance(flagged_only, (bool, np.bool_)):
        raise InputError(f"flagged_only must be True or False; got {flagged_only!r}")
    s = _rescaled(scores, indicators)
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
    _check_params(params)
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


# --------------------------------------------------------------------------- 4. open vs covert visits


def visit_gap(scores: pd.DataFrame, indicators: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Covert-minus-open difference of each unit's field points (RULES.md §2 明查/暗访).

    Parameters
    ----------
    scores : DataFrame
        Score rows with ``visit`` (open | covert); `fairness_tables` passes the
        rounds of the report round's year up to it.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    params : Params
        ``fairness.visit_gap_min``, ``fairness.confidence_level``.

    Returns
    -------
    DataFrame
        One row per unit with at least one round in which an indicator was scored on
        both an open and a covert visit, sorted by unit_id: ``unit_id``,
        ``n_rounds`` (rounds with such pairs), ``n_pairs`` (round × indicator
        pairs), ``gap`` (covert − open, points of 100; negative = open visits score
        higher), ``se``, ``ci_low``, ``ci_high``, ``flagged`` (the interval lies below
        0 and gap ≤ -``visit_gap_min``) and ``rounds`` (round_ids, ';'-joined).

    Notes
    -----
    Paired, not Welch: an open and a covert visit to the same unit in the same round
    and on the same indicator see the same state of the unit, so their difference
    d_ti = ȳ_covert - ȳ_open removes the unit's round-to-round variation. The
    differences of one round share its raters (a covert inspector's halo touches
    every indicator), so they are averaged within the round first,
    d_t = mean_i d_ti, and the gap is the mean of the d_t with a t interval on
    n_rounds - 1 degrees of freedom: the round is the independent replicate.

    Before pairing, every field rater's severity (`rater_severity`'s model, fitted on
    the same rows) is added back to the points, so that a harsh covert inspector does
    not make a unit look as if it performed for open visits.
    """
    _check_params(params)
    fp = params.fairness
    cols = ["unit_id", "n_rounds", "n_pairs", "gap", "se", "ci_low", "ci_high", "flagged", "rounds"]
    if "visit" not in scores.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    s = _rescaled(scores, indicators)
    s = s[(s["source"] == "field") & s["visit"].isin(["open", "covert"])].reset_index(drop=True)
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    fit = _fit_severity(s)
    severity = pd.Series(np.nan_to_num(fit.severity), index=fit.raters)
    adjusted = pd.Series(s["pct"] + s["rater_id"].astype(str).map(severity).to_numpy())
    # The mean of each (unit, round, indicator) and visit, by pandas' group mean as the pivot
    # table this replaces, but on integer keys (the string keys were most of the time). The
    # keys sort as the ids do; 2 × cell + 1 is the covert visit, 2 × cell the open one.
    unit, units = pd.factorize(s["unit_id"], sort=True)
    rnd, round_ids = pd.factorize(s["round_id"], sort=True)
    ind = pd.factorize(s["indicator_id"], sort=True)[0]
    # ids typed from their values, as the pivot table's index was
    units, round_ids = pd.Index(units.to_numpy(), name="unit_id"), pd.Index(round_ids.to_numpy())
    keep = (unit >= 0) & (rnd >= 0) & (ind >= 0)
    n_rounds, n_ind = len(round_ids), int(ind.max(initial=-1)) + 1
    cell = (unit.astype(np.int64) * n_rounds + rnd) * n_ind + ind
    means = adjusted[keep].groupby(cell[keep] * 2 + (s["visit"] == "covert").to_numpy()[keep]).mean()
    key = means.index.to_numpy()
    visit = {v: pd.Series(means.to_numpy()[key % 2 == v], index=key[key % 2 == v] // 2) for v in (0, 1)}
    d = (visit[1] - visit[0]).dropna()  # covert - open, where a cell had both
    per_round = d.groupby(d.index // n_ind).agg(["mean", "size"])
    unit_round = per_round.index.to_numpy()  # unit × rounds + round
    g = per_round.groupby(unit_round // n_rounds)
    out = pd.DataFrame({
        "n_rounds": g.size(),
        "n_pairs": g["size"].sum(),
        "gap": g["mean"].mean(),
        "se": g["mean"].std(ddof=1) / np.sqrt(g.size()),
        "rounds": _joined(round_ids.to_numpy()[unit_round % n_rounds], unit_round // n_rounds),
    })
    if out.empty:
        out["rounds"] = out["rounds"].astype(round_ids.dtype)
    out.index = units.take(out.index)
    out = out.reset_index()
    out["ci_low"], out["ci_high"] = _ci(out["gap"].to_numpy(), out["se"].to_numpy(),
                                        out["n_rounds"].to_numpy() - 1, fp.confidence_level)
    out.loc[out["n_rounds"] < 2, ["se", "ci_low", "ci_high"]] = np.nan
    out["flagged"] = ((out["ci_high"] < 0) & (out["gap"] <= -fp.visit_gap_min)).astype(bool)
    out["n_rounds"] = out["n_rounds"].astype("int64")
    out["n_pairs"] = out["n_pairs"].astype("int64")
    return out[cols]


def _joined(values: np.ndarray, group: np.ndarray) -> list[str]:
    """``values`` joined with ';' per run of equal ``group`` (sorted), in order."""
    starts = np.flatnonzero(np.diff(group, prepend=-1) != 0)
    return [";".join(values[a:b]) for a, b in zip(starts, np.append(starts[1:], len(values)))]


# --------------------------------------------------------------------------- 5. persistent laggards


@dataclass(frozen=True, eq=False)
class LaggardResult:
    """What `flag_laggards` returns.

    Attributes
    ----------
    table : DataFrame
        One row per (flagged unit, rule), columns `LAGGARD_COLUMNS`.
    calibration : DataFrame
        One row per rule: ``rule``, ``threshold``, ``target_rate`` (the stated
        false-alarm rate; NaN for rule A, which has none), ``achieved_rate`` (share
        of null units flagged in an independent batch of null cities), ``n_null_units``,
        ``n_rounds`` and ``seed``.
    evidence : DataFrame
        Every unit's evidence under each rule, flagged or not: ``unit_id``,
        ``listed`` (rule A count), ``cusum`` (rule B, max of the statistic),
        ``trend_p`` and ``decline`` (rule C), ``n_rounds``.
    """

    table: pd.DataFrame
    calibration: pd.DataFrame
    evidence: pd.DataFrame


def _rank_in_groups(codes: np.ndarray, values: np.ndarray, ranked: np.ndarray):
    """Competition ranks within groups for every row of a stack of score vectors.

    ``codes`` (n,) is the group of each column; ``values`` and ``ranked`` are (B, n).
    Returns ``rank`` (1 = highest, NaN unranked), ``tie_size`` and ``n_ranked`` (of
    the column's group), each (B, n). One sort per row, as `honorcalc.rules` does per
    round.
    """
    b, n = values.shape
    unranked_code = int(codes.max(initial=0)) + 1
    primary = np.where(ranked, codes[None, :], unranked_code)
    order = np.lexsort((np.where(ranked, -values, 0.0), primary), axis=-1)
    c = np.take_along_axis(primary, order, axis=1)
    v = np.take_along_axis(np.where(ranked, values, 0.0), order, axis=1)
    pos = np.broadcast_to(np.arange(n), (b, n))
    new_group = np.ones((b, n), dtype=bool)
    new_group[:, 1:] = c[:, 1:] != c[:, :-1]
    new_block = new_group.copy()
    new_block[:, 1:] |= v[:, 1:] != v[:, :-1]

    def first(starts):
        return np.maximum.accumulate(np.where(starts, pos, 0), axis=1)

    def last(starts):
        ends = np.ones((b, n), dtype=bool)
        ends[:, :-1] = starts[:, 1:]
        return np.minimum.accumulate(np.where(ends, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]

    group_start, block_start = first(new_group), first(new_block)
    sorted_rank = (block_start - group_start + 1).astype(float)
    sorted_tie = (last(new_block) - block_start + 1).astype(float)
    sorted_n = (last(new_group) - group_start + 1).astype(float)
    rank, tie, n_ranked = (np.empty((b, n)) for _ in range(3))
    for target, source in ((rank, sorted_rank), (tie, sorted_tie), (n_ranked, sorted_n)):
        np.put_along_axis(target, order, source, axis=1)
    rank[~ranked] = np.nan
    tie[~ranked] = np.nan
    return rank, tie, n_ranked


def _group_grid(codes: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Cell of each column in a grid of one line per group: line × width + slot; lines, width."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    new = np.ones(len(codes), dtype=bool)
    new[1:] = sorted_codes[1:] != sorted_codes[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(codes)))
    width = int(sizes.max(initial=1))
    cell = np.empty(len(codes), dtype=np.int64)
    cell[order] = np.repeat(np.arange(len(starts)) * width - starts, sizes) + np.arange(len(codes))
    return cell, len(starts), width


def _lowest_in_groups(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each group's values of every row in ascending order, for order statistics.

    ``codes`` (n,) are the groups 0 … G-1 of the columns of ``values`` (B, n). Returns
    ``lowest`` (B, G, width + 2), where ``lowest[b, g, c]`` is the c-th lowest value of
    group g in row b, -inf for c = 0 and +inf past the group's size; and the group
    (line of ``lowest``) of each column.
    """
    cell, n_lines, width = _group_grid(codes)
    line, slot = cell // width, cell % width
    lowest = np.full((len(values), n_lines, width + 2), np.inf)
    lowest[..., 0] = -np.inf
    lowest.reshape(len(values), -1)[:, line * (width + 2) + 1 + slot] = values
    lowest[..., 1:-1].sort(axis=-1)
    return lowest, line


def _cap(special: np.ndarray, n_ranked: np.ndarray, params: Params) -> np.ndarray:
    """`honorcalc.rules.list_cap` for arrays (special rounds: ⌊share × N⌋)."""
    share = np.floor(np.round(params.lists.special_share * n_ranked, 9))
    return np.where(special, share, params.lists.comprehensive_size)


def _cusum(z: np.ndarray, k: float, spans: bool = True):
    """One-sided CUSUM of the shortfall -z over the last axis (NaN = not evaluated).

    Returns the maximum of S_t = max(0, S_{t-1} - z_t - k), and the first and last
    position of the excursion that reached it (None without ``spans``: the null cities
    need only the maximum).
    """
    s = np.zeros(z.shape[:-1])
    best = np.zeros_like(s)
    start = np.zeros(s.shape, dtype=int)
    best_start = np.zeros(s.shape, dtype=int)
    best_end = np.full(s.shape, -1)
    for t, zt in enumerate(np.ascontiguousarray(np.moveaxis(z, -1, 0))):
        seen = ~np.isnan(zt)
        new = np.maximum(0.0, s - np.where(seen, zt, 0.0) - k)
        if spans:
            start = np.where(seen & (s == 0) & (new > 0), t, start)
        s = np.where(seen, new, s)
        higher = s > best
        best = np.where(higher, s, best)
        if spans:
            best_start = np.where(higher, start, best_start)
            best_end = np.where(higher, t, best_end)
    return (best, best_start, best_end) if spans else (best, None, None)


def _mahonian_cdf(n: int) -> np.ndarray:
    """P(Q ≤ q), q = 0 … n(n-1)/2, for the inversions Q of a random permutation of n.

    The Mann-Kendall S of untied data is n(n-1)/2 - 2Q (Kendall, 1975, ch. 4).
    """
    f = np.ones(1)
    for k in range(2, n + 1):
        # f_k(q) = (1/k) Σ_{j<k} f_{k-1}(q - j): a moving sum, from cumulative sums
        c = np.concatenate([[0.0], np.cumsum(np.concatenate([f, np.zeros(k - 1)]))])
        q = np.arange(len(c) - 1)
        f = (c[q + 1] - c[np.maximum(q + 1 - k, 0)]) / k
    return np.minimum(np.cumsum(f), 1.0)


def _mann_kendall_decline(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Mann-Kendall p-value of a decline along the last axis (NaN skipped).

    Returns (p, n). Exact for untied series (the permutation distribution of S);
    with ties, the normal approximation with the tie-corrected variance and a
    continuity correction (Kendall, 1975).
    """
    seen = ~np.isnan(z)
    n = seen.sum(axis=-1)
    s = np.zeros(z.shape[:-1])
    # time first, so that each comparison below is a pass over whole planes, not short rows
    by_time = np.ascontiguousarray(np.moveaxis(z, -1, 0))
    for i in range(len(by_time) - 1):
        later = by_time[i + 1:] - by_time[i]
        # Σ sign(later), NaN skipped: a comparison with NaN is false
        s += (later > 0).sum(axis=0) - (later < 0).sum(axis=0)
    ordered = np.sort(np.where(seen, z, np.inf), axis=-1)
    same = (ordered[..., 1:] == ordered[..., :-1]) & np.isfinite(ordered[..., 1:])
    tied = same.any(axis=-1)
    p = np.ones(s.shape)
    for size in np.unique(n[~tied & (n >= 2)]):
        at = ~tied & (n == size)
        cdf = _mahonian_cdf(int(size))
        total = int(size) * (int(size) - 1) // 2
        q = np.rint((total - s[at]) / 2).astype(int)
        p[at] = 1.0 - np.where(q > 0, cdf[np.clip(q - 1, 0, total)], 0.0)
    if tied.any():
        for idx in zip(*np.nonzero(tied)):
            values = z[idx][seen[idx]]
            m = len(values)
            _, t = np.unique(values, return_counts=True)
            var = (m * (m - 1) * (2 * m + 5) - np.sum(t * (t - 1) * (2 * t + 5))) / 18.0
            p[idx] = sps.norm.cdf((s[idx] + 1) / np.sqrt(var)) if var > 0 else 1.0
    return p, n


def _decline(z: np.ndarray) -> np.ndarray:
    """Least-squares decline of z over the span of its rounds (last axis; NaN skipped)."""
    seen = ~np.isnan(z)
    t = np.broadcast_to(np.arange(z.shape[-1], dtype=float), z.shape)
    n = seen.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = np.where(seen, t, 0.0).sum(axis=-1) / n
        z_mean = np.where(seen, z, 0.0).sum(axis=-1) / n
        dt = np.where(seen, t - t_mean[..., None], 0.0)
        slope = (dt * np.where(seen, z - z_mean[..., None], 0.0)).sum(axis=-1) / (dt**2).sum(axis=-1)
        span = np.where(seen, t, -np.inf).max(axis=-1) - np.where(seen, t, np.inf).min(axis=-1)
    return np.where(n >= 2, -slope * span, np.nan)


def _window(results: pd.DataFrame, round_id: str) -> pd.DataFrame:
    """The results of the report round's calendar year up to and including it."""
    current = results.loc[results["round_id"] == round_id]
    if current.empty:
        known = ", ".join(sorted(results["round_id"].astype(str).unique())[:10])
        raise InputError(f"round {round_id!r} is not in the results (rounds: {known})", file="rounds")
    date, year = current["date"].iloc[0], current["year"].iloc[0]
    return results[(results["year"] == year) & (results["date"] <= date)]


def _unit_matrices(window: pd.DataFrame, params: Params):
    """Units × rounds matrices (rounds in time order) of the laggard rules' inputs."""
    rounds = _round_order(window)["round_id"].to_numpy()
    units = np.sort(window["unit_id"].astype(str).unique())
    w = window[window["ranked"].astype(bool)].copy()
    u = np.searchsorted(units, w["unit_id"].astype(str).to_numpy())
    t = pd.Index(rounds).get_indexer(w["round_id"])
    score = w["score"].to_numpy(dtype="float64")
    g = w.groupby(["round_id", "ranking_group"], sort=False)["score"]
    mean, sd = g.transform("mean").to_numpy(), g.transform("std").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd > 0, (score - mean) / sd, np.nan)
    n_ranked = w["n_ranked"].to_numpy(dtype="float64")
    bottom = w["rank_bottom"].to_numpy(dtype="float64", na_value=np.nan) <= np.ceil(
        np.round(params.fairness.bottom_share * n_ranked, 9))
    hit = (w["list"] == "black").to_numpy() | bottom
    shape = (len(units), len(rounds))
    zm = np.full(shape, np.nan)
    hm = np.zeros(shape, dtype=bool)
    seen = np.zeros(shape, dtype=bool)
    zm[u, t], hm[u, t], seen[u, t] = z, hit, True
    group = pd.factorize(row_key(w, ["round_id", "ranking_group"]))[0]
    return units, rounds, zm, hm, seen, w.assign(_u=u, _t=t, _group=group, _mean=mean, _sd=sd)


def _last_n(seen: np.ndarray, n: int) -> np.ndarray:
    """Mask of each unit's last n evaluated rounds (last axis in time order)."""
    from_end = np.cumsum(seen[..., ::-1], axis=-1)[..., ::-1]
    return seen & (from_end <= n)


def _null_batch(rows: pd.DataFrame, shape, n_sims: int, rng: np.random.Generator, params: Params,
                *, hits: bool = True):
    """Rule inputs of ``n_sims`` null cities: the same units, groups and rounds, no laggards.

    Each ranked (round, unit) of the window gets a fresh score drawn from the normal
    distribution of its ranking group in that round (observed mean and sd), so every
    unit is, in every round, a random draw from its group: no unit is persistently
    behind. Scores are rounded and cut as the lists are (vetoes aside).

    Returns the z scores, shape (n_sims, units, rounds) with NaN where a unit was not
    ranked, and rule A's hits, or None without ``hits`` (the cut is most of the work,
    and the batch that sets the CUSUM limit needs only z). Every null city is ranked
    in the (unit, round)s of ``rows``, so the mask of those is the city's own.
    """
    fp, lists = params.fairness, params.lists
    codes = rows["_group"].to_numpy()
    mean, sd = rows["_mean"].to_numpy(), np.nan_to_num(rows["_sd"].to_numpy())
    score = rng.standard_normal((n_sims, len(rows)))
    score *= sd
    score += mean  # mean + sd · draw, in place
    counts = np.bincount(codes).astype(float)
    # one bin per (city, group); bincount adds each bin's rows in row order, as np.add.at would
    bins = (np.arange(n_sims)[:, None] * len(counts) + codes).ravel()

    def group_sums(values: np.ndarray) -> np.ndarray:
        return np.bincount(bins, weights=values.ravel(), minlength=n_sims * len(counts)).reshape(n_sims, -1)

    deviation = score - (group_sums(score) / counts)[:, codes]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = deviation / np.sqrt(group_sums(deviation**2) / (counts - 1))[:, codes]
    at = rows["_u"].to_numpy() * shape[1] + rows["_t"].to_numpy()  # (unit, round) in a units × rounds grid
    zm = np.full((n_sims, shape[0] * shape[1]), np.nan)
    zm[:, at] = z
    zm = zm.reshape(n_sims, *shape)
    if not hits:
        return zm, None
    rounded = round_half_up(score, lists.precision)
    # Rule A asks only how far from the bottom of its group a score is. With a_c the c-th
    # lowest score of the group (ties counted), rank from the bottom ≤ c ⟺ score ≤ a_c, and
    # rank from the bottom + ties - 1 ≤ c ⟺ score < a_(c+1): sorted groups, and no ranks, give
    # the same cut as the lists' rules.
    lowest, line = _lowest_in_groups(codes, rounded)
    n_ranked = np.bincount(line).astype(float)
    special = np.zeros(len(n_ranked), dtype=bool)
    special[line] = (rows["round_kind"] == "special").to_numpy()

    def lowest_at(c: np.ndarray) -> np.ndarray:
        """a_c of each column's group, for c per group (-inf for c < 1, +inf past the group)."""
        at = np.clip(np.floor(c), 0, lowest.shape[-1] - 1).astype(np.int64)
        return lowest[:, np.arange(len(at)), at][:, line]

    cap = _cap(special, n_ranked, params)
    black = (rounded <= lists.black_max) & (rounded <= lowest_at(cap))
    if lists.tie_policy == "none_in":
        black &= rounded < lowest_at(cap + 1)
    hit = black | (rounded <= lowest_at(np.ceil(np.round(fp.bottom_share * n_ranked, 9))))
    hm = np.zeros((n_sims, shape[0] * shape[1]), dtype=bool)
    hm[:, at] = hit
    return zm, hm.reshape(n_sims, *shape)


def flag_laggards(results: pd.DataFrame, params: Params, round_id: str | None = None) -> LaggardResult:
    """Persistent laggards up to a round: rules A (listed), B (CUSUM) and C (Mann-Kendall).

    Parameters
    ----------
    results : DataFrame
        `honorcalc.rules.Evaluation.results` of every round up to ``round_id`` (later
        rounds are ignored).
    params : Params
        ``fairness.laggard_k``, ``laggard_n``, ``bottom_share``, ``cusum_k``,
        ``false_alarm_rate``, ``null_cities``; ``seed``.
    round_id : str, optional
        The report round; defaults to ``params.round``.

    Returns
    -------
    LaggardResult
        ``table`` (`LAGGARD_COLUMNS`; rule A rows first, then B, then C, each by
        unit_id), ``calibration`` and ``evidence``.

    Raises
    ------
    InputError
        Missing columns, or ``round_id`` not in ``results``.

    Notes
    -----
    The history is the report round's calendar year up to it (the annual assessment,
    年度考核, is what a laggard's record feeds), every round of every work in time
    order. Within each (round, ranking group) a unit's score is standardized,
    z = (score - mean) / sd, so that comprehensive and special rounds, and easy and
    hard rounds, count alike.

    * **A — listed k of n.** Black-listed, or in the bottom ``bottom_share`` of its
      ranking group (rank from the bottom ≤ ⌈share × N⌉), in at least ``laggard_k``
      of its last ``laggard_n`` rounds. Evidence: the count; threshold: k.
    * **B — CUSUM.** Page's (1954) [1]_ one-sided CUSUM of the shortfall,
      S_t = max(0, S_{t-1} - z_t - k) with reference value k = ``cusum_k``; flagged
      when max_t S_t ≥ h (and > 0). One bad round adds at most -z - k, so an isolated slump is
      forgiven while a run of below-average rounds accumulates. Evidence: max S;
      threshold: h.
    * **C — Mann-Kendall.** The trend test of Mann (1945) [2]_ on z against round
      order, S = Σ_{i<j} sign(z_j - z_i), one-sided for a decline, p from the exact
      permutation distribution of S (Kendall, 1975 [3]_; normal approximation with
      the tie correction when values tie). Flagged when p ≤ ``false_alarm_rate``
      *and* the decline is large enough to matter: the least-squares slope of z on
      round order times the span of the unit's rounds is at least ``trend_min`` sd
      (a unit that drifts from the middle of its group to a little below it is not
      a laggard). Evidence: the decline; threshold: ``trend_min``; ``p_value``: p.

    *Calibration.* h is set by simulation so that a unit of a city without laggards
    is flagged with probability ``false_alarm_rate`` over the rounds of the window
    (per unit-year once the year is complete). ``null_cities`` null cities are drawn
    with the same units, ranking groups and rounds: each ranked score is redrawn from
    the normal distribution of its group and round (the observed mean and sd), so no
    unit is persistently behind; h is the 1 - rate quantile of their max S. A second,
    independent batch of as many null cities then measures the false-alarm rate each
    rule achieves (reported in ``calibration`` and in the table's
    ``false_alarm_rate``): for B it checks the calibration, for C it gives the rate of
    the level and the size condition together (at most the level: the exact test of a
    discrete statistic is conservative), and for A, which has no stated rate, what
    k-of-n costs. Seed stream ``laggards``.

    The null makes rounds independent. Real units also have runs of good and bad
    months; such short-term persistence raises the achieved false-alarm rates of B
    and C above the stated ones, which is one reason rule C also asks for a decline
    of ``trend_min`` sd, and why every flag lists the rounds behind it.

    References
    ----------
    .. [1] Page, E. S. (1954). Continuous inspection schemes. Biometrika, 41(1/2),
           100-115.
    .. [2] Mann, H. B. (1945). Nonparametric tests against trend. Econometrica, 13(3),
           245-259.
    .. [3] Kendall, M. G. (1975). Rank Correlation Methods (4th ed.). London: Griffin.
    """
    _check_params(params)
    _require(results, "results", ["round_id", "unit_id", "name", "ranking_group", "round_kind", "date",
                                  "year", "score", "ranked", "rank_bottom", "n_ranked", "list"])
    fp = params.fairness
    round_id = params.round if round_id is None else round_id
    window = _window(results, round_id)
    units, rounds, z, hit, seen, rows = _unit_matrices(window, params)
    names = window.drop_duplicates("unit_id").set_index("unit_id")["name"].astype(str)
    rng, seed = _rng(params, "laggards")

    # batch 0 sets h, batch 1 (fresh draws) measures the rates. The cities of a batch are drawn
    # in chunks of at most _NULL_CELLS (unit, round)s, to bound the memory; the draws are the
    # same however they are split. A null city is ranked where the city was: it has its masks.
    last = _last_n(seen, fp.laggard_n)
    present = seen.any(axis=-1)
    per_chunk = max(1, _NULL_CELLS // max(z.size, 1))
    maxima, checks = [], []
    for batch in range(2):
        for start in range(0, fp.null_cities, per_chunk):
            size = min(per_chunk, fp.null_cities - start)
            nz, nh = _null_batch(rows, z.shape, size, rng, params, hits=batch == 1)
            best = _cusum(nz, fp.cusum_k, spans=False)[0][:, present]
            if batch == 0:
                maxima.append(best.ravel())
                continue
            listed = (nh & last).sum(axis=-1) >= fp.laggard_k
            # rule C needs both conditions: the test only where the decline is large enough
            with np.errstate(invalid="ignore"):
                trend = _decline(nz) >= fp.trend_min
                trend[trend] = _mann_kendall_decline(nz[trend])[0] <= fp.false_alarm_rate
            checks.append((listed[:, present].ravel(), best.ravel(), trend[:, present].ravel()))
    h = float(np.quantile(np.concatenate(maxima), 1 - fp.false_alarm_rate, method="higher"))
    achieved = {
        "listed_k_of_n": float(np.concatenate([c[0] for c in checks]).mean()),
        "cusum": float(_alarm(np.concatenate([c[1] for c in checks]), h).mean()),
        "mann_kendall": float(np.concatenate([c[2] for c in checks]).mean()),
    }

    listed_hits = hit & last
    count = listed_hits.sum(axis=1)
    best, b_start, b_end = _cusum(z, fp.cusum_k)
    trend_p, n_z = _mann_kendall_decline(z)
    decline = _decline(z)
    n_rounds = seen.sum(axis=1)

    def involved(mask_row) -> str:
        return ";".join(rounds[mask_row])

    positions = np.arange(len(rounds))
    table = []
    for i, unit in enumerate(units):
        base = {"round_id": round_id, "unit_id": unit, "name": names.get(unit, ""), "p_value": np.nan,
                "ci_low": np.nan, "ci_high": np.nan, "seed": seed}
        if count[i] >= fp.laggard_k:
            table.append({**base, "rule": "listed_k_of_n", "measure": f"rounds listed of last {fp.laggard_n}",
                          "evidence": float(count[i]), "threshold": float(fp.laggard_k),
                          "rounds": involved(listed_hits[i]), "n_rounds": int(last[i].sum()),
                          "false_alarm_rate": achieved["listed_k_of_n"]})
        if _alarm(best[i], h):
            span = seen[i] & (positions >= b_start[i]) & (positions <= b_end[i])
            table.append({**base, "rule": "cusum", "measure": "CUSUM of shortfall (sd)",
                          "evidence": float(best[i]), "threshold": h, "rounds": involved(span),
                          "n_rounds": int(span.sum()), "false_alarm_rate": achieved["cusum"]})
        if trend_p[i] <= fp.false_alarm_rate and decline[i] >= fp.trend_min:
            table.append({**base, "rule": "mann_kendall", "measure": "decline over the year (sd)",
                          "evidence": float(decline[i]), "threshold": fp.trend_min,
                          "p_value": float(trend_p[i]), "rounds": involved(seen[i]),
                          "n_rounds": int(n_z[i]), "false_alarm_rate": achieved["mann_kendall"]})
    frame = pd.DataFrame(table, columns=list(LAGGARD_COLUMNS))
    frame = _sort_rules(frame)
    calibration = pd.DataFrame({
        "rule": ["listed_k_of_n", "cusum", "mann_kendall"],
        "threshold": [float(fp.laggard_k), h, fp.trend_min],
        "target_rate": [np.nan, fp.false_alarm_rate, fp.false_alarm_rate],
        "achieved_rate": [achieved["listed_k_of_n"], achieved["cusum"], achieved["mann_kendall"]],
        "n_null_units": fp.null_cities * int(present.sum()),
        "n_rounds": len(rounds),
        "seed": seed,
    })
    evidence = pd.DataFrame({"unit_id": units, "listed": count.astype("int64"), "cusum": best,
                             "trend_p": trend_p, "decline": decline, "n_rounds": n_rounds.astype("int64")})
    return LaggardResult(frame, calibration, evidence)


def _alarm(best, h: float):
    """CUSUM alarm: the statistic reached h, and some shortfall was seen (h may be 0 in
    a degenerate window where most null units never fall behind)."""
    return (best >= h) & (best > 0)


def _sort_rules(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame["rule"].map({r: k for k, r in enumerate(_LAGGARD_RULES)})
    return (frame.assign(_order=order).sort_values(["_order", "unit_id"], kind="stable")
            .drop(columns="_order").reset_index(drop=True))


# --------------------------------------------------------------------------- 6. stability of the lists


@dataclass(frozen=True, eq=False)
class Replicates:
    """Ranks and lists of every replicate of `list_replicates`.

    Attributes
    ----------
    rows : DataFrame
        One row per (round, unit) of the rounds replicated, in the order of the
        arrays' columns: ``round_id``, ``unit_id``, ``name``, ``group``,
        ``ranking_group``, and the observed ``score``, ``rank`` and ``list``.
    score : ndarray, shape (n_replicates, n_rows)
        Score ranked in each replicate (before rounding; NaN = no score).
    rank : ndarray, shape (n_replicates, n_rows)
        Competition rank within the ranking group (NaN = not ranked).
    list : ndarray of int8, shape (n_replicates, n_rows)
        0 = no list, 1 = red, 2 = black.
    seed : str
        The seed of the draws, ``"[params.seed, stream]"``, or ``""`` without draws.
    """

    rows: pd.DataFrame
    score: np.ndarray
    rank: np.ndarray
    list: np.ndarray
    seed: str


def _check_results(results: pd.DataFrame) -> None:
    _require(results, "results", _RESULT_COLUMNS)


def list_replicates(
    scores: pd.DataFrame,
    indicators: pd.DataFrame,
    results: pd.DataFrame,
    params: Params,
    n_replicates: int,
    *,
    round_ids=None,
    resample_raters: bool = True,
    perturb_weights: bool = True,
) -> Replicates:
    """Score, rank and list rounds again under resampled raters and perturbed weights.

    Parameters
    ----------
    scores : DataFrame
        Score rows of the rounds replicated and, when history is blended, of their
        trailing rounds.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    results : DataFrame
        `honorcalc.rules.Evaluation.results` of the same rounds: the deductions,
        satisfaction vetoes, ranking groups and round kinds are taken from it.
    params : Params
        The rules (``weights``, ``lists``, ``veto``, ``history``), ``seed`` and
        ``fairness.weight_concentration``.
    n_replicates : int
        Number of replicates (≥ 1).
    round_ids : sequence of str, optional
        The rounds to replicate; defaults to ``[params.round]``.
    resample_raters : bool, default True
        Bootstrap the raters within each cell (round, unit, indicator, source).
    perturb_weights : bool, default True
        Draw the source weights from a Dirichlet distribution around the configured
        weights (concentration ``fairness.weight_concentration``; no perturbation
        when it is null).

    Returns
    -------
    Replicates

    Raises
    ------
    InputError
        Missing columns, ``n_replicates`` < 1, a round not in ``results``, or score
        rows of a (round, unit) that ``results`` lacks.

    Notes
    -----
    Each replicate repeats DESIGN.md's scoring model and RULES.md §1.3 on arrays of
    shape (replicates, rows), a chunk of replicates at a time:

    1. *raters*: in each cell of m raters, m points are drawn with replacement
       (the nonparametric bootstrap, Efron & Tibshirani, 1993 [1]_, ch. 6); a cell
       with one rater keeps it, so rater noise there is not represented;
    2. *weights*: w ~ Dirichlet(c · w₀ / Σ w₀) over the sources with positive weight
       (each w_s has mean w₀_s / Σ w₀ and sd √(p(1 − p)/(c + 1)));
    3. the source scores Σ mean points / Σ max_points × 100 (one sparse product),
       the composite renormalised over the sources present, minus the observed
       deductions, clamped to 0-100, blended with the trailing composites of the
       same work as `honorcalc.scoring.composite_scores` does;
    4. vetoes: the satisfaction veto as observed (surveys are not resampled), the
       prerequisite veto recomputed from the replicate's category score;
    5. rounding half up to ``lists.precision``, competition ranks within the ranking
       group, and the list cut of `honorcalc.rules.apply_lists` (thresholds,
       caps, the tie policy, ``veto.action``), vectorized over the replicates.

    With ``resample_raters=False`` and ``perturb_weights=False`` every replicate
    reproduces `honorcalc.rules` exactly (tested).

    References
    ----------
    .. [1] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
           New York: Chapman & Hall.
    """
    _check_params(params)
    _check_results(results)
    if isinstance(n_replicates, bool) or not isinstance(n_replicates, (int, np.integer)) or n_replicates < 1:
        raise InputError(f"n_replicates must be a positive integer; got {n_replicates!r}")
    round_ids = [params.round] if round_ids is None else list(round_ids)
    missing = sorted(set(round_ids) - set(results["round_id"].astype(str).unique()))
    if missing:
        raise InputError(f"round(s) {', '.join(map(repr, missing))} not in the results", file="rounds")
    concentration = params.fairness.weight_concentration
    perturb_weights = bool(perturb_weights) and concentration is not None
    draws = bool(resample_raters) or perturb_weights
    rng, seed = _rng(params, "stability") if draws else (None, "")

    model = _ReplicateModel(scores, indicators, results, params, round_ids)
    n_rows = len(model.targets)
    score = np.empty((n_replicates, n_rows))
    rank = np.empty((n_replicates, n_rows))
    listed = np.empty((n_replicates, n_rows), dtype=np.int8)
    chunk = max(1, min(n_replicates, 4_000_000 // max(len(model.points), 1)))
    for start in range(0, n_replicates, chunk):
        stop = min(start + chunk, n_replicates)
        sl = slice(start, stop)
        score[sl], rank[sl], listed[sl] = model.run(stop - start, rng, bool(resample_raters), perturb_weights)
    return Replicates(model.target_rows, score, rank, listed, seed)


class _ReplicateModel:
    """The scoring model and list rules laid out as arrays (`list_replicates`)."""

    def __init__(self, scores, indicators, results, params: Params, round_ids):
        self.params = params
        res = results.reset_index(drop=True)
        needed = set(round_ids)
        h = params.history
        if h.weight > 0 and h.rounds > 0:
            target = res[res["round_id"].isin(round_ids)][["work", "seq"]].drop_duplicates()
            info = res[["round_id", "work", "seq"]].drop_duplicates("round_id")
            for work, seq in target.itertuples(index=False):
                back = info[(info["work"] == work) & (info["seq"] < seq) & (info["seq"] >= seq - h.rounds)]
                needed |= set(back["round_id"])
        res = res[res["round_id"].isin(needed)].reset_index(drop=True)
        s = _rescaled(scores[scores["round_id"].isin(needed)], indicators)
        cell, n_cells = _codes(s, _CELL)
        # rows of a cell must be contiguous: the bootstrap draws a row in [start, start + m)
        order = np.lexsort((s["rater_id"].astype(str).to_numpy(), cell))
        s, cell = s.iloc[order].reset_index(drop=True), cell[order]

        unit_round = pd.Index(row_key(res))
        ur = unit_round.get_indexer(row_key(s))
        if (ur < 0).any():
            bad = s.loc[ur < 0].iloc[0]
            raise InputError(
                f"scores of unit {bad['unit_id']!r} in round {bad['round_id']!r} have no row in the results "
                "(evaluate the same dataset)", file="scores")
        m = np.bincount(cell, minlength=n_cells)
        self.points = s["points"].to_numpy(dtype="float64")
        self.cell_start = np.searchsorted(cell, np.arange(n_cells))[cell]
        self.cell_size = m[cell].astype(float)  # float: multiplied by the draws, with no cast per draw
        self.n_ur = len(res)

        # one entry per score row: its share of the source (or category) score
        first = np.searchsorted(cell, np.arange(n_cells))
        cell_ur, cell_max = ur[first], s["max_points"].to_numpy()[first]
        src = pd.Index(SOURCES).get_indexer(s["source"])
        cell_src = src[first]
        total = np.bincount(cell_ur * len(SOURCES) + cell_src, weights=cell_max,
                            minlength=self.n_ur * len(SOURCES))
        col = ur * len(SOURCES) + src
        self.to_source = sparse.csc_matrix(
            (100.0 / (m[cell] * total[col]), (np.arange(len(s)), col)),
            shape=(len(s), self.n_ur * len(SOURCES)))
        self.present = (total > 0).reshape(self.n_ur, len(SOURCES))
        self.weights = np.array([params.weights.as_dict()[k] for k in SOURCES])

        self.prerequisite = None
        category = params.veto.prerequisite_category
        if category is not None:
            inside = (s["category"] == category).to_numpy()
            cat_total = np.bincount(cell_ur[inside[first]], weights=cell_max[inside[first]], minlength=self.n_ur)
            rows = np.flatnonzero(inside)
            self.prerequisite = sparse.csc_matrix(
                (100.0 / (m[cell][rows] * cat_total[ur[rows]]), (rows, ur[rows])), shape=(len(s), self.n_ur))
            self.prerequisite_seen = cat_total > 0

        self.deduction = res["deduction"].to_numpy(dtype="float64")
        is_target = res["round_id"].isin(round_ids).to_numpy()
        self.target_index = np.flatnonzero(is_target)
        targets = res.loc[is_target]
        self.targets = targets
        self.target_rows = targets[["round_id", "unit_id", "name", "group", "ranking_group", "score", "rank",
                                    "list"]].reset_index(drop=True)
        self.group_codes = pd.factorize(row_key(targets, ["round_id", "ranking_group"]))[0]
        self.special = (targets["round_kind"] == "special").to_numpy()
        sat = targets["satisfaction"].to_numpy(dtype="float64", na_value=np.nan)
        if params.veto.satisfaction_min is None:
            self.sat_veto = np.zeros(len(targets), dtype=bool)
        else:
            pct = round_half_up(sat * 100.0, params.lists.precision)
            with np.errstate(invalid="ignore"):
                self.sat_veto = pct < params.veto.satisfaction_min * 100.0

        self.lags = None
        if h.weight > 0 and h.rounds > 0:
            key = pd.Index(row_key(res, ["unit_id", "work", "seq"]))
            lags = []
            for lag in range(1, h.rounds + 1):
                shifted = targets.assign(seq=targets["seq"] - lag)
                lags.append(key.get_indexer(row_key(shifted, ["unit_id", "work", "seq"])))
            self.lags = np.column_stack(lags)

    def _weights(self, n: int, rng, perturb: bool) -> np.ndarray:
        if not perturb:
            return np.broadcast_to(self.weights, (n, len(SOURCES)))
        positive = self.weights > 0
        alpha = self.params.fairness.weight_concentration * self.weights[positive] / self.weights[positive].sum()
        out = np.zeros((n, len(SOURCES)))
        out[:, positive] = rng.dirichlet(alpha, size=n)
        return out

    def _sums(self, n: int, rng, resample: bool):
        """Source scores, and the prerequisite category's (or None), of ``n`` replicates' points.

        The points are drawn and summed a block of replicates at a time: a block's arrays
        stay in the processor's cache through the few passes over them, and the draws and
        each replicate's sums are the same however the replicates are split.
        """
        source = np.empty((n, self.to_source.shape[1]))
        category = None if self.prerequisite is None else np.empty((n, self.n_ur))
        block = max(1, _REPLICATE_BLOCK // max(len(self.points), 1))
        for start in range(0, n, block):
            rows = slice(start, min(start + block, n))
            if resample:
                # row start + ⌊r · m⌋ of the cell, in place (truncation is the floor of r · m ≥ 0)
                pick = rng.random((rows.stop - rows.start, len(self.points)))
                pick *= self.cell_size
                pick = pick.astype(np.int64)
                pick += self.cell_start
                points = self.points[pick]
            else:
                points = np.broadcast_to(self.points, (rows.stop - rows.start, len(self.points)))
            source[rows] = (self.to_source.T @ points.T).T
            if category is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    category[rows] = (self.prerequisite.T @ points.T).T
        return source, category

    def run(self, n: int, rng, resample: bool, perturb: bool):
        """Score, rank and list ``n`` replicates."""
        p = self.params
        source, category = self._sums(n, rng, resample)
        weights = self._weights(n, rng, perturb)
        source = source.reshape(n, self.n_ur, len(SOURCES))
        present = self.present[None, :, :]
        weight_sum = (present * weights[:, None, :]).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            weighted = np.where(present, source * weights[:, None, :], 0.0).sum(axis=-1) / np.where(
                weight_sum > 0, weight_sum, np.nan)
        composite = np.clip(weighted - self.deduction, 0.0, 100.0)
        score = composite[:, self.target_index]
        if self.lags is not None:
            w = p.history.weight
            valid = self.lags >= 0
            past = np.where(valid, composite[:, np.where(valid, self.lags, 0)], np.nan)
            n_past = (~np.isnan(past)).sum(axis=-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.nansum(past, axis=-1) / n_past
            blend = (n_past > 0) & ~np.isnan(score)
            score = np.where(blend, (1.0 - w) * score + w * mean, score)

        vetoed = np.broadcast_to(self.sat_veto, score.shape)
        if self.prerequisite is not None:
            cat = np.where(self.prerequisite_seen[self.target_index], category[:, self.target_index], np.nan)
            with np.errstate(invalid="ignore"):
                vetoed = vetoed | (round_half_up(cat, p.lists.precision) < p.veto.prerequisite_min)
        rounded = round_half_up(score, p.lists.precision)
        excluded = vetoed & (p.veto.action == "exclude")
        ranked = ~np.isnan(rounded) & ~excluded
        rank, tie, n_ranked = _rank_in_groups(self.group_codes, rounded, ranked)
        rank_bottom = n_ranked - (rank + tie - 1) + 1
        cap = _cap(self.special[None, :], n_ranked, p)
        all_in = p.lists.tie_policy == "all_in"
        with np.errstate(invalid="ignore"):
            red = (ranked & (rounded >= p.lists.red_min) & (rank <= cap) & (all_in | (rank + tie - 1 <= cap))
                   & ~(vetoed & (p.veto.action == "no_red")))
            black = (ranked & (rounded <= p.lists.black_max) & (rank_bottom <= cap)
                     & (all_in | (rank_bottom + tie - 1 <= cap)))
        listed = np.where(red, 1, np.where(black, 2, 0)).astype(np.int8)
        return score, rank, listed


def list_stability(
    scores: pd.DataFrame,
    indicators: pd.DataFrame,
    results: pd.DataFrame,
    params: Params,
    round_id: str | None = None,
) -> pd.DataFrame:
    """How sure is each unit's place: rank interval and list probabilities by Monte Carlo.

    Parameters
    ----------
    scores, indicators, results, params
        As for `list_replicates`; ``fairness.replicates``,
        ``fairness.resample_raters``, ``fairness.weight_concentration``,
        ``fairness.rank_interval`` and ``fairness.certainty`` set the analysis.
    round_id : str, optional
        Defaults to ``params.round``.

    Returns
    -------
    DataFrame
        One row per unit of the round, sorted by (group, observed rank, unit_id),
        columns `STABILITY_COLUMNS`: the observed ``score``, ``rank`` and ``list``;
        ``rank_low`` and ``rank_high`` (the central ``rank_interval`` of the
        replicates' ranks: 5 %-95 % by default; rank 1 is best, so rank_low is the
        best plausible rank); ``p_red`` and ``p_black`` (share of replicates on each
        list); ``uncertain`` (p_red or p_black within ``certainty`` = [low, high]:
        the data cannot tell whether the unit belongs on that list);
        ``n_replicates`` and ``seed``.

    Notes
    -----
    See `list_replicates` for what a replicate varies. The rank quantiles are the
    inverse empirical distribution function (``numpy.quantile``,
    ``method="inverted_cdf"``), so they are ranks that occurred; replicates in which
    the unit is not ranked (excluded by a veto) do not count.

    References
    ----------
    .. [1] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
           New York: Chapman & Hall.
    """
    _check_params(params)
    fp = params.fairness
    round_id = params.round if round_id is None else round_id
    rep = list_replicates(scores, indicators, results, params, fp.replicates, round_ids=[round_id],
                          resample_raters=fp.resample_raters, perturb_weights=True)
    tail = (1 - fp.rank_interval) / 2
    low, high = _nan_quantiles(rep.rank, [tail, 1 - tail])
    p_red = (rep.list == 1).mean(axis=0)
    p_black = (rep.list == 2).mean(axis=0)
    lo, hi = fp.certainty
    out = rep.rows.copy()
    out["rank_low"], out["rank_high"] = low, high
    out["p_red"], out["p_black"] = p_red, p_black
    out["uncertain"] = ((p_red >= lo) & (p_red <= hi)) | ((p_black >= lo) & (p_black <= hi))
    out["n_replicates"] = fp.replicates
    out["seed"] = rep.seed
    out = out.sort_values(["group", "rank", "unit_id"], kind="stable", na_position="last")
    return out[list(STABILITY_COLUMNS)].reset_index(drop=True)


def _nan_quantiles(values: np.ndarray, q) -> np.ndarray:
    """``np.nanquantile(values, q, axis=0, method="inverted_cdf")``, NaN for an all-NaN column.

    Columns are taken together by their number of values, one quantile call each,
    rather than one call per column as nanquantile makes. The inverted CDF picks
    an order statistic, so the result is exactly nanquantile's.
    """
    count = (~np.isnan(values)).sum(axis=0)
    ordered = np.sort(values, axis=0)  # NaN last
    out = np.full((len(q), values.shape[1]), np.nan)
    for size in np.unique(count[count > 0]):
        columns = np.flatnonzero(count == size)
        out[:, columns] = np.quantile(ordered[:size, columns], q, axis=0, method="inverted_cdf")
    return out


# --------------------------------------------------------------------------- 7. group fairness


def _permutation_pvalue(values: np.ndarray, labels: np.ndarray, strata: np.ndarray, n_permutations: int,
                        rng: np.random.Generator) -> float:
    """Permutation p-value of a difference between the groups ``labels`` in ``values``.

    Statistic: |mean difference| for two groups, Σ_g n_g (mean_g - mean)² for more.
    Labels are permuted within ``strata``; p = (1 + #{T* ≥ T}) / (1 + B) (Phipson &
    Smyth, 2010).
    """
    keep = ~np.isnan(values)
    values, labels, strata = values[keep], labels[keep], strata[keep]
    levels, labels = np.unique(labels, return_inverse=True)  # labels 0 … L-1 from here
    if len(levels) < 2:
        return np.nan
    permuted = np.empty((n_permutations, len(labels)), dtype=labels.dtype)
    for stratum in np.unique(strata):
        idx = np.flatnonzero(strata == stratum)
        permuted[:, idx] = rng.permuted(np.broadcast_to(labels[idx], (n_permutations, len(idx))), axis=1)

    # permuting within strata keeps every level's count: the counts are the observed ones
    n = np.bincount(labels, minlength=len(levels))

    def statistic(lab: np.ndarray) -> np.ndarray:
        """The statistic of each row of labels."""
        rows, n_levels = len(lab), len(levels)
        # one bin per (row, level): bincount adds each bin's values in order, as the sum over a
        # one-hot axis did, at a fraction of the cost
        bins = (np.arange(rows)[:, None] * n_levels + lab).ravel()
        sums = np.bincount(bins, weights=np.broadcast_to(values, lab.shape).ravel(), minlength=rows * n_levels)
        means = sums.reshape(rows, n_levels) / np.maximum(n, 1)
        if n_levels == 2:
            return np.abs(means[:, 0] - means[:, 1])
        return (n * (means - values.mean()) ** 2).sum(axis=-1)

    observed = statistic(labels[None, :])[0]
    null = statistic(permuted)
    # a tolerance, so that ties with the observed value are not lost to rounding
    return float((1 + np.sum(null >= observed - 1e-12 * max(1.0, abs(observed)))) / (1 + n_permutations))


def group_fairness(
    units: pd.DataFrame,
    results: pd.DataFrame,
    scores: pd.DataFrame,
    raters: pd.DataFrame,
    params: Params,
) -> pd.DataFrame:
    """Are territorial and industry units, large and small, treated alike? (RULES.md §3)

    Parameters
    ----------
    units : DataFrame
        ``unit_id``, ``kind`` (industry | territorial), optional ``size``.
    results : DataFrame
        One round's results: ``round_id``, ``unit_id``, ``score``, ``list``.
    scores : DataFrame
        The same round's score rows (``unit_id``, ``rater_id``).
    raters : DataFrame
        `rater_severity` of the round: ``rater_id``, ``severity``.
    params : Params
        ``fairness.permutations``, ``seed``.

    Returns
    -------
    DataFrame
        One row per (dimension, group), columns `GROUP_COLUMNS`. ``dimension``
        ``kind`` (groups ``industry`` and ``territorial``) and ``size`` (tertiles
        ``small``, ``medium``, ``large`` within each kind). Per group: ``n_units``,
        ``score_mean`` and ``score_sd`` (of the scores ranked), ``red_rate`` and
        ``black_rate`` (share listed), ``rater_severity`` (exposure to harsh raters:
        the mean, over the group's units, of the mean severity of the raters behind
        each unit's scores, points per ``scale``; raters without an estimate do not
        count). ``p_score``, ``p_red``, ``p_black``, ``p_severity``: permutation
        p-values of the difference between the groups of the dimension (repeated on
        each of its rows), ``n_permutations`` and ``seed``.

    Notes
    -----
    Size is staff for a department and residents for a territory, so the tertiles
    are formed within each kind (ranks of size, ties broken by unit_id), and the
    size labels are permuted within kind: the test asks whether size matters among
    units of the same kind. A unit without size is left out of that dimension.

    Permutation tests (Efron & Tibshirani, 1993 [1]_, ch. 15): the group labels are
    shuffled ``permutations`` times (seed stream ``groups``); the statistic is the
    absolute difference of the group means for two groups and the between-group sum
    of squares Σ n_g (mean_g - mean)² for three. p = (1 + #{T* ≥ T}) / (1 + B), never
    0 (Phipson & Smyth, 2010 [2]_). Under the null hypothesis p is uniform.

    References
    ----------
    .. [1] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
           New York: Chapman & Hall.
    .. [2] Phipson, B., & Smyth, G. K. (2010). Permutation p-values should never be
           zero. Statistical Applications in Genetics and Molecular Biology, 9(1), 39.
    """
    _check_params(params)
    _require(units, "units", ["unit_id", "kind"])
    _require(results, "results", ["round_id", "unit_id", "score", "list"])
    _require(scores, "scores", ["unit_id", "rater_id"])
    _require(raters, "raters", ["rater_id", "severity"])
    n_perm = params.fairness.permutations
    rng, seed = _rng(params, "groups")
    per_rater = raters.drop_duplicates("rater_id").set_index("rater_id")["severity"].astype("float64")
    # each score's rater severity, looked up once per rater: a map over every row is slow
    at, ids = pd.factorize(scores["rater_id"], use_na_sentinel=False)
    severity = pd.Series(ids).map(per_rater).astype("float64").to_numpy()[at]
    exposure = pd.Series(severity, index=scores.index).groupby(scores["unit_id"]).mean()
    u = results[["round_id", "unit_id", "score", "list"]].merge(
        units[["unit_id", "kind", *(["size"] if "size" in units.columns else [])]], on="unit_id", how="left")
    u = u.sort_values("unit_id", kind="stable").reset_index(drop=True)
    u["severity"] = u["unit_id"].map(exposure).astype("float64")
    u["red"] = (u["list"] == "red").astype(float)
    u["black"] = (u["list"] == "black").astype(float)
    u["score"] = u["score"].astype("float64")

    dims = [("kind", u["kind"], pd.Series("all", index=u.index))]
    if "size" in u.columns:
        size = pd.Series(np.nan, index=u.index, dtype=object)
        for _, part in u[u["size"].notna()].groupby("kind", sort=True):
            if len(part) >= 3:
                order = part["size"].rank(method="first")
                size[part.index] = pd.qcut(order, 3, labels=["small", "medium", "large"]).astype(str)
        dims.append(("size", size, u["kind"].astype(str)))
    level_order = {"industry": 0, "territorial": 1, "small": 0, "medium": 1, "large": 2}

    rows = []
    round_id = ";".join(sorted(u["round_id"].astype(str).unique()))
    for dimension, label, strata in dims:
        have = label.notna().to_numpy()
        if label[have].nunique() < 2:
            continue
        codes = pd.factorize(label[have], sort=True)[0]
        stratum_codes = pd.factorize(strata[have])[0]
        p = {stat: _permutation_pvalue(u.loc[have, column].to_numpy(dtype="float64"), codes, stratum_codes,
                                       n_perm, rng)
             for stat, column in (("score", "score"), ("red", "red"), ("black", "black"),
                                  ("severity", "severity"))}
        for level, part in u[have].groupby(label[have], sort=False):
            rows.append({
                "round_id": round_id, "dimension": dimension, "group": level, "n_units": len(part),
                "score_mean": part["score"].mean(), "score_sd": part["score"].std(ddof=1),
                "red_rate": part["red"].mean(), "black_rate": part["black"].mean(),
                "rater_severity": part["severity"].mean(),
                "p_score": p["score"], "p_red": p["red"], "p_black": p["black"], "p_severity": p["severity"],
                "n_permutations": n_perm, "seed": seed, "_order": level_order.get(level, 9),
            })
    out = pd.DataFrame(rows, columns=[*GROUP_COLUMNS, "_order"])
    out["_dim"] = out["dimension"].map({"kind": 0, "size": 1})
    out = out.sort_values(["_dim", "_order", "group"], kind="stable").drop(columns=["_order", "_dim"])
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- 8. the tables of a run


def fairness_tables(dataset, params: Params, evaluation: Evaluation | None = None) -> dict[str, pd.DataFrame]:
    """The fairness tables of the report round, keyed by file name.

    Parameters
    ----------
    dataset : object
        The six tables as attributes (`honorcalc.validation.Dataset`).
    params : Params
        ``round`` is the report round.
    evaluation : Evaluation, optional
        `honorcalc.rules.evaluate_rounds` of the dataset (at least every round up to
        the report round's date), to avoid evaluating twice; computed when not given.

    Returns
    -------
    dict of str to DataFrame
        ``raters.csv`` (`rater_severity`), ``reliability.csv`` (the G-study rows of
        `variance_components`, scope ``source``, then `rater_consistency`),
        ``laggards.csv`` (`flag_laggards` rows, then the ``open_visit`` rows of
        `visit_gap`), ``stability.csv`` (`list_stability`) and ``groups.csv``
        (`group_fairness`) and ``visits.csv`` (`visit_gap` for every unit with open
        and covert visits), each with a fixed column order and a deterministic row
        order.

    Raises
    ------
    InputError
        The report round is not in the dataset or the evaluation; a table breaks the
        contract.

    Notes
    -----
    Raters, reliability, stability and groups are about the report round; laggards
    and the open/covert gap look at the rounds of its calendar year up to it. The
    seeds used are in each table's ``seed`` column.

    Examples
    --------
    The demo city's report round (about 1 s):

    >>> from honorcalc.io import load_dataset                       # doctest: +SKIP
    >>> tables = fairness_tables(load_dataset("data/demo"),
    ...                          Params(dataset="data/demo", round="C2026Q2"))  # doctest: +SKIP
    >>> tables["raters.csv"].query("flagged")[["rater_id", "severity", "direction"]]  # doctest: +SKIP
      rater_id  severity direction
    12     R05  1.412812     harsh
    16     R09 -1.171579   lenient
    >>> fairness_findings(tables)[0]                                  # doctest: +SKIP
    '评分人 R05 平均比共识低 1.4 分（按满分10分的指标计，95%置信区间 1.3–1.5），评分明显偏严。'
    """
    _check_params(params)
    frames = _frames(dataset)
    round_id = params.round
    ordered = order_rounds(frames["rounds"])
    if round_id not in set(ordered["round_id"]):
        raise InputError(f"round {round_id!r} is not in the dataset", file="rounds")
    date = ordered.loc[ordered["round_id"] == round_id, "date"].iloc[0]
    upto = set(ordered.loc[ordered["date"] <= date, "round_id"])
    if evaluation is None:
        sub = {t: f[f["round_id"].isin(upto)] if "round_id" in f.columns else f for t, f in frames.items()}
        evaluation = evaluate_rounds(sub["units"], sub["indicators"], sub["rounds"], sub["scores"],
                                     sub["deductions"], sub["surveys"], params)
    results = getattr(evaluation, "results", None)
    if not isinstance(results, pd.DataFrame) or round_id not in set(results["round_id"].unique()):
        raise InputError(f"the evaluation given has no results for round {round_id!r}")
    results = results[results["round_id"].isin(upto)]
    scores, indicators = frames["scores"], frames["indicators"]
    this = scores[scores["round_id"] == round_id]

    raters = rater_severity(this, indicators, params)

    g = variance_components(this, indicators, params)
    g_rows = []
    for row in g.itertuples(index=False):
        for stat in (*(f"var_{c}" for c in (*_COMPONENTS, "residual")), "share_unit", "phi"):
            g_rows.append({"round_id": row.round_id, "scope": "source", "key": row.source,
                           "statistic": stat.replace("var_", "variance_"), "value": getattr(row, stat),
                           "ci_low": np.nan, "ci_high": np.nan, "ci_level": np.nan, "p_value": np.nan,
                           "n_units": row.n_units, "n_raters": row.n_raters,
                           "note": "; ".join(filter(None, [
                               f"Method I G-study on points of 100; {row.raters_per_cell:.2f} raters per "
                               f"unit × indicator", row.note])),
                           "seed": ""})
    reliability = pd.concat([pd.DataFrame(g_rows, columns=list(RELIABILITY_COLUMNS)),
                             rater_consistency(this, indicators, params)], ignore_index=True)

    window = _window(results, round_id)
    laggards = flag_laggards(results, params, round_id).table
    gap = visit_gap(scores[scores["round_id"].isin(window["round_id"].unique())], indicators, params)
    flagged = gap[gap["flagged"].astype(bool)]
    if len(flagged):
        names = window.drop_duplicates("unit_id").set_index("unit_id")["name"]
        visits = pd.DataFrame({
            "round_id": round_id, "unit_id": flagged["unit_id"].to_numpy(),
            "name": flagged["unit_id"].map(names).to_numpy(), "rule": "open_visit",
            "measure": "covert minus open (points of 100)", "evidence": flagged["gap"].to_numpy(),
            "threshold": -params.fairness.visit_gap_min, "p_value": np.nan,
            "ci_low": flagged["ci_low"].to_numpy(), "ci_high": flagged["ci_high"].to_numpy(),
            "rounds": flagged["rounds"].to_numpy(), "n_rounds": flagged["n_rounds"].to_numpy(),
            "false_alarm_rate": np.nan, "seed": "",
        })
        laggards = _sort_rules(pd.concat([laggards, visits], ignore_index=True))

    stability = list_stability(scores, indicators, results, params, round_id)
    groups = group_fairness(frames["units"], results[results["round_id"] == round_id], this, raters, params)
    return {
        "raters.csv": raters[list(RATER_COLUMNS)],
        "reliability.csv": reliability[list(RELIABILITY_COLUMNS)],
        "laggards.csv": laggards[list(LAGGARD_COLUMNS)],
        "stability.csv": stability,
        "groups.csv": groups,
        "visits.csv": gap.sort_values("unit_id", kind="stable").reset_index(drop=True),
    }


# --------------------------------------------------------------------------- findings in words


_SOURCE_NAMES = {
    "zh": {"field": "实地考察", "daily": "日常动态", "feedback": "上级部门反馈", "leader": "市级领导督导",
           "public": "群众监督"},
    "en": {"field": "field inspection", "daily": "day-to-day monitoring", "feedback": "feedback from higher "
           "authorities", "leader": "city leaders' supervision", "public": "public supervision"},
}
_GROUP_NAMES = {
    "zh": {"industry": "行业单位", "territorial": "属地单位", "small": "小规模单位", "medium": "中等规模单位",
           "large": "大规模单位"},
    "en": {"industry": "industry units", "territorial": "territorial units", "small": "small units",
           "medium": "medium-sized units", "large": "large units"},
}


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def fairness_findings(tables: dict[str, pd.DataFrame], lang: str = "zh") -> list[str]:
    """The fairness tables' findings, each one plain sentence with the number behind it.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The output of `fairness_tables`.
    lang : {'zh', 'en'}, default 'zh'
        Chinese for leadership, or English.

    Returns
    -------
    list of str
        In order: flagged raters, disconnected raters, the G-study of each source,
        rater agreement, laggards and open-visit flags, list stability, group
        comparisons. For example: "评分人 R05 平均比共识低 1.4 分（按满分10分的指标计，
        95%置信区间 1.3–1.5），评分明显偏严。"

    Raises
    ------
    InputError
        ``lang`` not 'zh' or 'en', or a table missing from ``tables``.
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang ({lang!r}) not recognized; must be 'zh' or 'en'")
    needed = ("raters.csv", "reliability.csv", "laggards.csv", "stability.csv", "groups.csv")
    missing = [name for name in needed if name not in tables]
    if missing:
        raise InputError(f"tables lacks {', '.join(missing)} (pass the output of fairness_tables)")
    zh = lang == "zh"
    out: list[str] = []
    raters = tables["raters.csv"]
    # every interval of one run has the same level; the raters table carries it and the scale
    scale = float(raters["scale"].iloc[0]) if len(raters) else 10.0
    level = _pct(raters["ci_level"].iloc[0]) if len(raters) else "95%"

    for r in raters[raters["flagged"].astype(bool)].itertuples(index=False):
        size = abs(r.severity)
        low, high = sorted((abs(r.ci_low), abs(r.ci_high)))
        if zh:
            more, word = ("低", "偏严") if r.severity > 0 else ("高", "偏宽")
            out.append(f"评分人 {r.rater_id} 平均比共识{more} {size:.1f} 分（按满分{scale:g}分的指标计，"
                       f"{level}置信区间 {low:.1f}–{high:.1f}），评分明显{word}。")
        else:
            more, word = ("fewer", "harsh") if r.severity > 0 else ("more", "lenient")
            out.append(f"Rater {r.rater_id} awards on average {size:.1f} points {more} than the consensus "
                       f"(on a {scale:g}-point indicator; {level} CI {low:.1f}–{high:.1f}): clearly {word}.")
    n_components = int(raters["component"].max()) if len(raters) else 0
    if n_components > 1:
        out.append(f"评分人分为 {n_components} 个互不相连的组（没有共同评过的单位和指标），不同组之间的严宽程度不能直接比较。"
                   if zh else f"The raters fall into {n_components} disconnected sets (no unit and indicator in "
                   "common); severities cannot be compared across sets.")

    rel = tables["reliability.csv"]
    g = rel[rel["scope"] == "source"].pivot_table(index="key", columns="statistic", values="value",
                                                  aggfunc="first", sort=False)
    for source, row in g.iterrows():
        if not (np.isfinite(row.get("share_unit", np.nan)) and np.isfinite(row.get("phi", np.nan))):
            continue
        name = _SOURCE_NAMES[lang].get(source, source)
        out.append(f"{name}评分中，单位之间的真实差异占单次评分方差的 {_pct(row['share_unit'])}，"
                   f"按实际评分人数计算的可靠性系数 Φ = {row['phi']:.2f}。" if zh else
                   f"In {name} scores, real differences between units are {_pct(row['share_unit'])} of the "
                   f"variance of a single score; the dependability of the unit scores with the raters actually "
                   f"used is Φ = {row['phi']:.2f}.")
    overall = rel[(rel["scope"] == "overall")].set_index("statistic")
    if "ICC(1,1)" in overall.index and np.isfinite(overall.loc["ICC(1,1)", "value"]):
        icc1 = overall.loc["ICC(1,1)"]
        alpha = overall["value"].get("krippendorff_alpha", np.nan)
        w = overall["value"].get("kendall_w", np.nan)
        level = _pct(icc1["ci_level"])
        out.append(f"评分人之间的一致性：ICC(1,1) = {icc1['value']:.2f}（{level}置信区间 {icc1['ci_low']:.2f}–"
                   f"{icc1['ci_high']:.2f}），Krippendorff α = {alpha:.2f}，Kendall W = {w:.2f}。" if zh else
                   f"Agreement between raters: ICC(1,1) = {icc1['value']:.2f} ({level} CI {icc1['ci_low']:.2f}–"
                   f"{icc1['ci_high']:.2f}), Krippendorff's alpha = {alpha:.2f}, Kendall's W = {w:.2f}.")

    # one sentence per rule, naming every unit it flags: a leader reads a list, not forty sentences
    lag = tables["laggards.csv"]
    sep = "、" if zh else ", "
    for rule, part in lag.groupby("rule", sort=False):
        r0 = part.iloc[0]
        if rule == "listed_k_of_n":
            who = sep.join(f"{r.name}（{r.evidence:.0f}/{r.n_rounds}）" if zh else
                           f"{r.name} ({r.evidence:.0f}/{r.n_rounds})" for r in part.itertuples(index=False))
            out.append(f"持续后进（规则A：最近 {r0.n_rounds} 轮中至少 {r0.threshold:.0f} 轮上黑榜或排本组末尾）"
                       f"{len(part)} 个：{who}。" if zh else
                       f"Persistent laggards (rule A: black-listed or at the bottom of the group in at least "
                       f"{r0.threshold:.0f} of the last {r0.n_rounds} rounds), {len(part)}: {who}.")
        elif rule == "cusum":
            who = sep.join(f"{r.name}（{r.evidence:.1f}）" if zh else f"{r.name} ({r.evidence:.1f})"
                           for r in part.itertuples(index=False))
            out.append(f"累积落后量（CUSUM）超过判定线 {r0.threshold:.2f} 的单位 {len(part)} 个（判定线按无后进单位时"
                       f"误报率 {r0.false_alarm_rate:.1%} 模拟确定）：{who}。" if zh else
                       f"Cumulative shortfall (CUSUM) above the limit {r0.threshold:.2f} (set by simulation to a "
                       f"false-alarm rate of {r0.false_alarm_rate:.1%} without laggards), {len(part)}: {who}.")
        elif rule == "mann_kendall":
            who = sep.join(f"{r.name}（降 {r.evidence:.1f} 个标准差，{_p(r.p_value)}）" if zh else
                           f"{r.name} (−{r.evidence:.1f} sd, {_p(r.p_value)})" for r in part.itertuples(index=False))
            out.append(f"本年度得分持续下降（Mann-Kendall 单侧检验）的单位 {len(part)} 个：{who}。" if zh else
                       f"Steadily declining this year (one-sided Mann-Kendall), {len(part)}: {who}.")
        elif rule == "open_visit":
            for r in part.itertuples(index=False):
                who = f"{r.name}（{r.unit_id}）" if zh else f"{r.name} ({r.unit_id})"
                low, high = sorted((-r.ci_low, -r.ci_high))
                out.append(f"{who}暗访得分比明查平均低 {-r.evidence:.1f} 分（百分制，{level}置信区间 {low:.1f}–{high:.1f}），"
                           "明查时表现明显更好。" if zh else
                           f"{who} scores {-r.evidence:.1f} points (of 100) lower on covert than on open visits "
                           f"({level} CI {low:.1f}–{high:.1f}): it performs for announced visits.")

    stab = tables["stability.csv"]
    if len(stab):
        n = int(stab["n_replicates"].iloc[0])
        uncertain = stab[stab["uncertain"].astype(bool)]
        if uncertain.empty:
            out.append(f"名单稳定性（{n} 次模拟）：红黑榜名单稳定，没有难以确定的单位。" if zh else
                       f"List stability ({n} replicates): the lists are stable; no unit is uncertain.")
        # the list a unit is uncertain about is the one whose probability is nearer one half
        red_side = (uncertain["p_red"] - 0.5).abs() <= (uncertain["p_black"] - 0.5).abs()
        for side, column, word_zh, word_en in ((red_side, "p_red", "红榜", "red"),
                                               (~red_side, "p_black", "黑榜", "black")):
            chosen = uncertain[side].sort_values([column, "unit_id"], ascending=[False, True], kind="stable")
            if chosen.empty:
                continue
            listed = ("、" if zh else ", ").join(
                f"{u}（{_pct(p)}）" if zh else f"{u} ({_pct(p)})" for u, p in zip(chosen["name"], chosen[column]))
            out.append(f"名单稳定性（{n} 次模拟）：{len(chosen)} 个单位能否进入{word_zh}难以确定（括号内为上榜概率）：{listed}。"
                       if zh else f"List stability ({n} replicates): for {len(chosen)} unit(s) the data cannot "
                       f"tell whether they belong on the {word_en} list (probability in brackets): {listed}.")

    groups = tables["groups.csv"]
    said = False
    for _, part in groups.groupby("dimension", sort=False):
        p_sev = part["p_severity"].iloc[0]
        if np.isfinite(p_sev) and p_sev < 0.05:
            harsh = part.loc[part["rater_severity"].idxmax()]
            others = part[part["group"] != harsh["group"]]["rater_severity"].mean()
            name = _GROUP_NAMES[lang].get(harsh["group"], harsh["group"])
            diff = harsh["rater_severity"] - others
            out.append(f"{name}的评分人平均比其他单位的严 {diff:.2f} 分（按满分{scale:g}分的指标计，置换检验 "
                       f"{_p(p_sev)}），{name}被更严的评分人打分。" if zh else
                       f"The raters of {name} were on average {diff:.2f} points harsher than those of the "
                       f"others (on a {scale:g}-point indicator; permutation test {_p(p_sev)}): {name} were "
                       "scored by harsher raters.")
            said = True
    if len(groups) and not said:
        out.append("不同类型、不同规模的单位所遇评分人的严宽程度没有显著差异（置换检验 p ≥ 0.05）。" if zh else
                   "Units of different kinds and sizes met equally severe raters (permutation tests p ≥ 0.05).")
    return out
