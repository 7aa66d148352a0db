"""Is the spread of scores real, or rater noise? The G-study of each source (RULES.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ..params import SOURCES, Params
from .base import check_params, dense_codes, rescaled

__all__ = ["COMPONENTS", "VARIANCE_COLUMNS", "variance_components"]

COMPONENTS = ("unit", "rater", "indicator", "unit_x_indicator", "unit_x_rater")

# facets whose levels lie within one unit, and facets that cross units
_NESTED = ("unit", "unit_x_indicator", "unit_x_rater")
# the order in which facets are given up when the design cannot separate them
_DROP_ORDER = ("unit_x_rater", "unit_x_indicator", "rater", "indicator", "unit")

_SEED_STREAM = 5

VARIANCE_COLUMNS = (
    "round_id", "source", "n_scores", "n_units", "n_raters", "n_indicators", "raters_per_cell",
    "var_unit", "var_rater", "var_indicator", "var_unit_x_indicator", "var_residual", "share_unit", "phi",
    "note",
    # appended
    "var_unit_x_rater", "status", "phi_low", "phi_high",
    *(f"var_{c}_{end}" for c in (*COMPONENTS, "residual") for end in ("low", "high")),
    "ci_level", "n_bootstrap", "raters_needed", "raters_needed_low", "raters_needed_high", "d_study", "seed",
)


@dataclass(frozen=True, eq=False)
class _Moments:
    """Per-unit sums from which Henderson's Method I system of any resample of units is built.

    Resampling units with replacement gives each unit a multiplicity w_p; every T term
    and every coefficient of the system is then a sum over units of per-unit terms
    (facets nested in units) or a function of per-unit × level sums (facets crossing
    units), so a replicate costs a few small matrix products.
    """

    names: tuple[str, ...]
    n: np.ndarray
    s: np.ndarray
    ss: np.ndarray
    nested_t: dict
    nested_levels: dict
    nested_sq: dict
    crossed_sum: dict
    crossed_count: dict
    pair_nested: dict
    pair_crossed_nested: dict
    pair_crossed: dict


def _pair_counts(a: np.ndarray, b: np.ndarray, levels_a: int, levels_b: int, count_a: np.ndarray,
                 count_b: np.ndarray):
    """The (a, b) level pairs present and their counts, as ``np.unique(a · levels_b + b, return_counts=True)``.

    Codes are 0 … q-1 with every level present. When one facet determines the other
    (a level of unit × indicator lies in one unit) the pairs are the finer facet's
    levels, and no sort of the rows is needed.
    """
    owner = np.zeros(levels_a, dtype=np.int64)
    owner[a] = b
    if (owner[a] == b).all():
        return np.arange(levels_a), owner, count_a
    owner = np.zeros(levels_b, dtype=np.int64)
    owner[b] = a
    if (owner[b] == a).all():
        order = np.argsort(owner, kind="stable")
        return owner[order], order, count_b[order]
    key = a.astype(np.int64) * levels_b + b
    if levels_a * levels_b <= 4 * len(key) + 1024:
        n = np.bincount(key, minlength=levels_a * levels_b)
        pairs = np.flatnonzero(n)
        n = n[pairs]
    else:
        pairs, n = np.unique(key, return_counts=True)
    return pairs // levels_b, pairs % levels_b, n


def _moments(y: np.ndarray, unit: np.ndarray, n_units: int, factors: dict[str, np.ndarray]) -> _Moments:
    """The per-unit sums of `_Moments` for the facets ``factors`` (codes 0 … q-1 per facet)."""
    names = tuple(factors)
    levels = {f: int(c.max()) + 1 for f, c in factors.items()}
    level_unit = {}
    for f in names:
        if f in _NESTED:
            owner = np.zeros(levels[f], dtype=np.int64)
            owner[factors[f]] = unit
            level_unit[f] = owner
    count = {f: np.bincount(c, minlength=levels[f]).astype(float) for f, c in factors.items()}
    total = {f: np.bincount(c, weights=y, minlength=levels[f]) for f, c in factors.items()}
    nested_t, nested_levels, nested_sq, crossed_sum, crossed_count = {}, {}, {}, {}, {}
    for f in names:
        if f in _NESTED:
            nested_t[f] = np.bincount(level_unit[f], weights=total[f] ** 2 / count[f], minlength=n_units)
            nested_levels[f] = np.bincount(level_unit[f], minlength=n_units).astype(float)
            nested_sq[f] = np.bincount(level_unit[f], weights=count[f] ** 2, minlength=n_units)
        else:
            shape = (n_units, levels[f])
            crossed_sum[f] = sparse.csr_matrix((y, (unit, factors[f])), shape=shape).toarray()
            crossed_count[f] = sparse.csr_matrix((np.ones(len(y)), (unit, factors[f])), shape=shape).toarray()
    pair_nested, pair_crossed_nested, pair_crossed = {}, {}, {}
    for f in names:
        for g in names:
            if f == g:
                continue
            if f in _NESTED or g in _NESTED:
                lf, lg, n_fg = _pair_counts(factors[f], factors[g], levels[f], levels[g], count[f], count[g])
                n_fg = n_fg.astype(float)
            if f in _NESTED:
                # Σ_{l in p} Σ_m n_lm² / n_l
                pair_nested[f, g] = np.bincount(level_unit[f][lf], weights=n_fg**2 / count[f][lf],
                                                minlength=n_units)
            elif g in _NESTED:
                # Q[p, l] = Σ_{m in p} n_lm²
                pair_crossed_nested[f, g] = sparse.csr_matrix(
                    (n_fg**2, (level_unit[g][lg], lf)), shape=(n_units, levels[f])).toarray()
            else:
                # n_plm, one column per (l, m)
                key = factors[f].astype(np.int64) * levels[g] + factors[g]
                pair_crossed[f, g] = sparse.csr_matrix(
                    (np.ones(len(y)), (unit, key)), shape=(n_units, levels[f] * levels[g]))
    return _Moments(
        names, np.bincount(unit, minlength=n_units).astype(float), np.bincount(unit, weights=y, minlength=n_units),
        np.bincount(unit, weights=y * y, minlength=n_units), nested_t, nested_levels, nested_sq,
        crossed_sum, crossed_count, pair_nested, pair_crossed_nested, pair_crossed,
    )


def _method_one_system(mom: _Moments, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Henderson's Method I system of each resample of units: A (B, K, K) and T (B, K).

    ``weights`` (B, P) is the multiplicity of each unit in each resample (a row of
    ones is the data as observed); a unit drawn twice counts as two units. Unknowns,
    in order: μ², the σ² of ``mom.names``, σ²_e. Rows: T_μ, the T_f, T_0.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    b = len(w)
    names = mom.names
    k = len(names) + 2
    a = np.zeros((b, k, k))
    t = np.zeros((b, k))
    n = w @ mom.n
    a[:, 0, 0] = n
    a[:, 0, -1] = 1.0
    t[:, 0] = (w @ mom.s) ** 2 / n
    a[:, -1, :] = n[:, None]
    t[:, -1] = w @ mom.ss
    level_count = {f: w @ c for f, c in mom.crossed_count.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = {f: np.where(c > 0, 1.0 / c, 0.0) for f, c in level_count.items()}
        for j, g in enumerate(names, start=1):
            sq = w @ mom.nested_sq[g] if g in _NESTED else (level_count[g] ** 2).sum(axis=1)
            a[:, 0, j] = sq / n
        for i, f in enumerate(names, start=1):
            a[:, i, 0] = n
            if f in _NESTED:
                t[:, i] = w @ mom.nested_t[f]
                a[:, i, -1] = w @ mom.nested_levels[f]
            else:
                t[:, i] = ((w @ mom.crossed_sum[f]) ** 2 * inverse[f]).sum(axis=1)
                a[:, i, -1] = (level_count[f] > 0).sum(axis=1)
            for j, g in enumerate(names, start=1):
                if f == g:
                    a[:, i, j] = n
                elif f in _NESTED:
                    a[:, i, j] = w @ mom.pair_nested[f, g]
                elif g in _NESTED:
                    a[:, i, j] = ((w @ mom.pair_crossed_nested[f, g]) * inverse[f]).sum(axis=1)
                else:
                    n_lm = np.asarray((mom.pair_crossed[f, g].T @ w.T).T).reshape(b, len(inverse[f][0]), -1)
                    a[:, i, j] = ((n_lm**2).sum(axis=2) * inverse[f]).sum(axis=1)
    return a, t


def _solve(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Solutions of a stack of systems; a singular one gives NaN."""
    try:
        return np.linalg.solve(a, t[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(t.shape, np.nan)
        for k in range(len(a)):
            try:
                out[k] = np.linalg.solve(a[k], t[k])
            except np.linalg.LinAlgError:
                pass
        return out


def _separable(factors: dict[str, np.ndarray], unit: np.ndarray, n: int,
               mom: _Moments, observed: tuple[np.ndarray, np.ndarray]) -> tuple[list[str], list[str], set[str]]:
    """The facets the design separates, notes on the others, and how each was lost.

    ``observed`` is `_method_one_system` of the data as observed (weights of one).
    """
    notes, lost = [], set()
    kept = []
    for name, codes in factors.items():
        q = int(codes.max()) + 1
        if q < 2:
            notes.append(f"{name}: one level, variance not estimable (left in the residual)")
        elif q == n:
            notes.append(f"{name}: one score per level, confounded with the residual")
            lost.add(f"{name}:residual")
        elif name == "unit_x_rater" and q == int(unit.max()) + 1:
            notes.append("each unit scored by one rater: the rater's impression of the unit (halo) cannot be "
                         "separated from the unit's score")
            lost.add("unit_x_rater:unit")
        else:
            kept.append(name)
    full = ("mu", *mom.names, "residual")
    a = observed[0][0]
    while "unit" in kept:
        idx = [0, *(full.index(f) for f in kept), len(full) - 1]
        sub = a[np.ix_(idx, idx)]
        scaled = sub / np.linalg.norm(sub, axis=0)
        if np.linalg.matrix_rank(scaled, tol=1e-9) == len(sub):
            return kept, notes, lost
        name = next(n for n in _DROP_ORDER if n in kept)
        notes.append(f"{name}: confounded with the other facets in this design (left in the residual)")
        kept.remove(name)
    notes.append("units cannot be separated from the other facets: no G-study")
    return kept, notes, lost


def _estimates(mom: _Moments, kept: list[str], weights: np.ndarray, system=None) -> np.ndarray:
    """Variance components (B, 6) in the order of `COMPONENTS` then residual, truncated at 0; NaN if not kept.

    ``system``: `_method_one_system` of ``weights``, when already built.
    """
    a, t = _method_one_system(mom, weights) if system is None else system
    full = ("mu", *mom.names, "residual")
    idx = [0, *(full.index(f) for f in kept), len(full) - 1]
    solution = _solve(a[:, idx][:, :, idx], t[:, idx])
    out = np.full((len(a), len(COMPONENTS) + 1), np.nan)
    for j, name in enumerate(kept, start=1):
        out[:, COMPONENTS.index(name)] = solution[:, j]
    out[:, -1] = solution[:, -1]
    return out


def _coefficients(unit: np.ndarray, rater: np.ndarray, cell: np.ndarray, max_points: np.ndarray,
                  n_units: int) -> np.ndarray:
    """Per unit (P, 3): Σ_i w_i², Σ_r (Σ_{i∋r} w_i/m_pi)² and Σ_i w_i²/m_pi (`variance_components`, Notes)."""
    n_cells = int(cell.max()) + 1
    m = np.bincount(cell, minlength=n_cells).astype(float)
    cell_unit = np.zeros(n_cells, dtype=np.int64)
    cell_unit[cell] = unit
    cell_points = np.zeros(n_cells)
    cell_points[cell] = max_points
    w = cell_points / np.bincount(cell_unit, weights=cell_points, minlength=n_units)[cell_unit]
    pair = dense_codes(unit.astype(np.int64) * (int(rater.max()) + 1) + rater)[1]
    load = np.bincount(pair, weights=(w / m)[cell])
    pair_unit = np.zeros(len(load), dtype=np.int64)
    pair_unit[pair] = unit
    return np.column_stack([
        np.bincount(cell_unit, weights=w**2, minlength=n_units),
        np.bincount(pair_unit, weights=load**2, minlength=n_units),
        np.bincount(cell_unit, weights=w**2 / m, minlength=n_units),
    ])


def _dependability(comp: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Φ of each row of components (B, 6) with the mean coefficients of its units (B, 3)."""
    c = np.nan_to_num(np.maximum(comp, 0.0))
    universe = c[:, 0] + c[:, 3] * coef[:, 0]
    error = (c[:, 1] + c[:, 4]) * coef[:, 1] + c[:, 5] * coef[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(universe + error > 0, universe / (universe + error), np.nan)


def _raters_needed(comp: np.ndarray, sum_w2: np.ndarray, target: float) -> np.ndarray:
    """Raters per unit × indicator for Φ ≥ ``target`` with a team scoring every indicator; inf if unreachable."""
    c = np.nan_to_num(np.maximum(comp, 0.0))
    universe = c[:, 0] + c[:, 3] * sum_w2
    error = c[:, 1] + c[:, 4] + c[:, 5] * sum_w2
    with np.errstate(invalid="ignore", divide="ignore"):
        # the float guard keeps an exact ratio (say 4.0) from rounding up to 5
        needed = np.ceil(target / (1.0 - target) * error / universe - 1e-9)
    return np.where(universe > 0, np.maximum(needed, 1.0), np.inf)


def variance_components(scores: pd.DataFrame, indicators: pd.DataFrame, params: Params) -> pd.DataFrame:
    """G-study of each round and source: variance components, Φ with its interval, and a D-study.

    Parameters
    ----------
    scores : DataFrame
        Score rows (``round_id``, ``unit_id``, ``indicator_id``, ``rater_id``,
        ``source``, ``points``), of one or more rounds.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    params : Params
        ``seed``, ``fairness.gstudy_bootstrap`` (B), ``fairness.confidence_level``,
        ``fairness.phi_target``.

    Returns
    -------
    DataFrame
        One row per (round, source), sorted by round_id and the order of
        `honorcalc.params.SOURCES`, columns `VARIANCE_COLUMNS`: ``round_id``,
        ``source``, ``n_scores``, ``n_units``, ``n_raters``, ``n_indicators``,
        ``raters_per_cell`` (mean raters per unit × indicator), ``var_unit``,
        ``var_rater``, ``var_indicator``, ``var_unit_x_indicator``, ``var_residual``
        (variances of the rescaled points, percent of max_points squared; NaN when
        not separable), ``share_unit`` (σ²_unit over the sum of all components: the
        share of a single score's variance that is real difference between units),
        ``phi`` (dependability of the unit's source score with the raters actually
        used; NaN when ``status`` is ``not_estimable``), ``note`` (what the design
        could not separate, and where it went); then ``var_unit_x_rater`` (the halo:
        a rater's lasting impression of a unit, shared by the indicators the rater
        scored there), ``status`` (``estimated``; ``lower_bound``: one rater per
        cell, so unit × indicator is counted as error and Φ is at least ``phi``;
        ``approximate``: several raters but one per unit, so the halo is counted
        as the unit's own level; ``not_estimable``: one rater in the source, rater
        error cannot be told from the unit's score),
        ``phi_low``, ``phi_high`` and ``var_<component>_low``, ``var_<component>_high``
        for every component (bootstrap percentile interval at ``ci_level``),
        ``ci_level``, ``n_bootstrap`` (replicates with a solution), ``raters_needed``
        (raters per unit × indicator, each scoring all the unit's indicators, for
        Φ ≥ ``phi_target``; NaN unless ``d_study`` is ``estimated``),
        ``raters_needed_low``, ``raters_needed_high`` (its bootstrap interval; inf
        where a replicate has no unit variance), ``d_study`` (``estimated`` |
        ``unreachable``: no unit variance, no number of raters suffices |
        ``not_estimable``) and ``seed``.

    Raises
    ------
    InputError
        Missing columns, an unknown or duplicated indicator, non-numeric points.

    Notes
    -----
    *Model.* On ``pct = points / max_points × 100``, the crossed random-effects
    model of generalizability theory (Brennan, 2001 [1]_), the p × i × r design with
    the unit × rater interaction,

    .. math:: y_{pir} = \\mu + u_p + c_i + r_r + (uc)_{pi} + (ur)_{pr} + e_{pir},

    with unit *p*, indicator *i* and rater *r*; e holds the rest (indicator × rater
    and the three-way interaction). (ur) is the halo: a rater who likes a unit likes
    all its indicators. Each unit has its own inspection team, so the design is
    unbalanced and the components are estimated by Henderson's (1953) [2]_ Method I,
    Brennan's "analogous ANOVA" (2001, ch. 7): with T_f = Σ_l y²_{l·} / n_l for each
    facet f, T_μ = y²_{··}/N and T_0 = Σ y²,

    .. math:: E[T_f] = N\\mu^2 + \\sum_g k_{fg}\\,\\sigma^2_g + q_f\\,\\sigma^2_e,
              \\quad k_{fg} = \\sum_l \\sum_m n_{lm}^2 / n_l,

    (q_f levels of f; for T_μ, k_g = Σ_m n²_m / N and 1; for T_0, N throughout) is
    solved for μ² and the σ². On a balanced design this is the ANOVA (expected mean
    squares) solution; ``tests/test_fairness_variance_groups.py`` checks it against
    the hand ANOVA of a fully crossed p × i × r design with the p × r interaction.
    Negative estimates are set to 0 (Brennan, 2001, ch. 3) and ``note`` says so.

    *What the design separates.* A facet with one score per level is the residual
    (one rater per cell: unit × indicator; one indicator per rater and unit: the
    halo, which is then error of the same size as the residual, so Φ is unaffected);
    a facet with one level has no variance (one rater overall). A unit × rater term
    needs units with two or more raters; where every unit has one rater it is part
    of the unit's variance, the unit's score cannot be told from that rater's view
    of it, and Φ is not estimable. Otherwise facets the Method I system cannot
    separate are left in the residual, the halo first, and ``note`` says so.

    *Dependability.* Indicators are a fixed facet (every unit is scored on the same
    indicators), raters a random one. The unit's source score is
    S_p = Σ_i w_i ȳ_pi with w_i = max_points_i / Σ max_points and ȳ_pi the mean of
    its m_pi raters (DESIGN.md scoring steps 1-2). Its rater part is
    Σ_r L_pr (r_r + (ur)_pr) + Σ_i (w_i/m_pi) Σ_{r∈R_pi} e_pir with
    L_pr = Σ_{i∋r} w_i/m_pi: a rater's severity and halo enter once for all the
    indicators it scored at the unit. So with the unit's actual design

    .. math:: \\sigma^2_{\\tau,p} = \\sigma^2_u + \\sigma^2_{uc} \\sum_i w_i^2, \\quad
              \\sigma^2_{\\Delta,p} = (\\sigma^2_r + \\sigma^2_{ur}) \\sum_r L_{pr}^2
              + \\sigma^2_e \\sum_i \\frac{w_i^2}{m_{pi}},

    and Φ = mean σ²_τ / (mean σ²_τ + mean σ²_Δ), Brennan's dependability with
    indicators fixed (2001, ch. 4). On the fully crossed design this is Brennan's
    Φ for p × I × R with I fixed. Without the halo term, the halo is counted as
    independent error on every indicator and Φ is overstated.

    *Intervals.* Percentile bootstrap over units, the object of measurement
    (Brennan, 2001, ch. 6, "boot-p"): B resamples of the units with replacement, a
    unit drawn twice counting as two units. Method I's T terms are sums over units,
    so a resample is a reweighting of per-unit sums and a batch of small solves,
    not B passes over the scores. Rater main effects are not resampled, so the
    interval of σ²_r reflects only the units' share of its uncertainty; the
    coverage of the Φ interval, measured on simulated designs with 14 to 40 raters,
    is in the test file.

    *D-study.* With n' raters per unit, each scoring all its indicators (the
    inspection team), Σ_r L²_pr = 1/n' and Σ_i w_i²/m_pi = Σ_i w_i²/n', so
    Φ(n') = τ / (τ + (σ²_r + σ²_ur + σ²_e Σw²)/n') (Brennan, 2001, ch. 4, with the
    design's weights, Σw² averaged over units) and the smallest n' with Φ ≥ target is
    ⌈target/(1 - target) · (σ²_r + σ²_ur + σ²_e Σw²)/τ⌉. With one rater per cell the
    residual holds unit × indicator too and the number is an upper bound.

    Speed: one Method I solve takes 0.03 s on the demo city's 6,400 field scores of
    one round when done over the scores; from the per-unit sums, the estimate and
    200 replicates take a few milliseconds. ``statsmodels`` MixedLM (REML, crossed
    variance components, even without the unit × indicator facet) takes 19 s on the
    same scores and agrees within 10 % (``benchmarks/bench_fairness.py --mixedlm``).

    References
    ----------
    .. [1] Brennan, R. L. (2001). Generalizability Theory. New York: Springer.
    .. [2] Henderson, C. R. (1953). Estimation of variance and covariance components.
           Biometrics, 9(2), 226-252.
    .. [3] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
           New York: Chapman & Hall.
    """
    check_params(params)
    fp = params.fairness
    n_boot = int(fp.gstudy_bootstrap)
    level = float(fp.confidence_level)
    rng = np.random.default_rng([int(params.seed), _SEED_STREAM])
    seed = f"[{int(params.seed)}, {_SEED_STREAM}]"
    s = rescaled(scores, indicators)
    source_rank = {src: k for k, src in enumerate(SOURCES)}
    keys = s[["round_id", "source"]].drop_duplicates().astype(str)
    keys = keys.assign(_order=keys["source"].map(source_rank).fillna(len(SOURCES)))
    keys = keys.sort_values(["round_id", "_order", "source"], kind="stable")
    # the ids numbered once for all groups, units and raters in sorted order
    all_unit = pd.factorize(s["unit_id"], sort=True)[0]
    all_rater = pd.factorize(s["rater_id"], sort=True)[0]
    all_ind = pd.factorize(s["indicator_id"], sort=True)[0]
    group = s.groupby(["round_id", "source"], sort=False).indices
    y_all = s["pct"].to_numpy(dtype="float64")
    max_points_all = s["max_points"].to_numpy(dtype="float64")
    rows = []
    for round_id, source in zip(keys["round_id"], keys["source"]):
        at = np.sort(group[round_id, source])
        rows.append({"round_id": round_id, "source": source, **_g_study(
            y_all[at], all_unit[at], all_rater[at], all_ind[at], max_points_all[at], n_boot, level,
            fp.phi_target, rng)})
    out = pd.DataFrame(rows, columns=list(VARIANCE_COLUMNS[:-1]))
    out["seed"] = seed if n_boot > 0 else ""
    return out[list(VARIANCE_COLUMNS)].reset_index(drop=True)


def _g_study(y, unit, rater, ind, max_points, n_boot: int, level: float, target: float,
             rng: np.random.Generator) -> dict:
    """One row of `variance_components`."""
    unit = dense_codes(unit)[1]
    rater = dense_codes(rater)[1]
    ind = dense_codes(ind)[1]
    n_units = int(unit.max()) + 1
    factors = {
        "unit": unit,
        "rater": rater,
        "indicator": ind,
        "unit_x_indicator": dense_codes(unit.astype(np.int64) * (ind.max() + 1) + ind)[1],
        "unit_x_rater": dense_codes(unit.astype(np.int64) * (rater.max() + 1) + rater)[1],
    }
    y = y - y.mean()
    mom = _moments(y, unit, n_units, factors)
    ones = np.ones((1, n_units))
    observed = _method_one_system(mom, ones)
    kept, notes, lost = _separable(factors, unit, len(y), mom, observed)
    n_levels = {name: int(codes.max()) + 1 for name, codes in factors.items()}
    names = (*COMPONENTS, "residual")
    row = {
        "n_scores": len(y), "n_units": n_levels["unit"], "n_raters": n_levels["rater"],
        "n_indicators": n_levels["indicator"], "raters_per_cell": len(y) / n_levels["unit_x_indicator"],
        "ci_level": level, "n_bootstrap": 0,
    }
    estimable = "unit" in kept
    if estimable:
        raw = _estimates(mom, kept, ones, observed)
        negative = [name for name, v in zip(names, raw[0]) if v < 0]
        if negative:
            notes.append(f"negative estimate set to 0: {', '.join(negative)}")
        comp = np.maximum(raw, 0.0)
    else:
        comp = np.full((1, len(names)), np.nan)
    coef = _coefficients(unit, rater, factors["unit_x_indicator"], max_points, n_units)
    phi = _dependability(comp, coef.mean(axis=0)[None, :])[0] if estimable else np.nan
    if not estimable or ("unit_x_rater:unit" in lost and n_levels["rater"] < 2):
        status = "not_estimable"
        if n_levels["rater"] == 1 and "unit_x_indicator:residual" in lost:
            notes.append("one score per unit and indicator: rater error cannot be separated from the unit's score")
        phi = np.nan
    elif "unit_x_rater:unit" in lost:
        # several raters, one per unit: their severity and the residual are measured, but a
        # rater's lasting impression of a unit is indistinguishable from the unit's own level
        status = "approximate"
        notes.append("one rater per unit: a rater's lasting impression of a unit cannot be told from the unit's "
                     "own level; Φ counts it as real difference and is approximate")
    elif "unit_x_indicator:residual" in lost:
        status = "lower_bound"
        notes.append("one rater per unit × indicator: unit × indicator counted as error, Φ is a lower bound")
    else:
        status = "estimated"
    sum_w2 = coef[:, 0].mean()
    needed = _raters_needed(comp, np.array([sum_w2]), target)[0] if status != "not_estimable" else np.nan
    row.update({f"var_{name}": float(v) for name, v in zip(names, comp[0])})
    total = np.nansum(comp[0])
    row["share_unit"] = comp[0, 0] / total if estimable and total > 0 else np.nan
    row.update({"phi": phi, "status": status, "note": "; ".join(notes)})
    row["d_study"] = ("not_estimable" if status == "not_estimable" else
                      "unreachable" if not np.isfinite(needed) else "estimated")
    row["raters_needed"] = needed if row["d_study"] == "estimated" else np.nan
    bounds = {}
    if estimable and n_boot > 0:
        draws = rng.integers(0, n_units, (n_boot, n_units))
        weights = np.bincount((np.arange(n_boot)[:, None] * n_units + draws).ravel(),
                              minlength=n_boot * n_units).reshape(n_boot, n_units).astype(float)
        boot_raw = _estimates(mom, kept, weights)
        ok = np.isfinite(boot_raw[:, -1])
        boot_raw = boot_raw[ok]
        boot = np.maximum(boot_raw, 0.0)
        row["n_bootstrap"] = int(ok.sum())
        tails = [50 * (1 - level), 50 * (1 + level)]
        if len(boot):
            # resampled units carry their unit × rater effects into every copy, which the
            # replicates read as rater variance: each component's bootstrap distribution is
            # recentred on the estimate before its percentiles are taken
            shift = boot_raw.mean(axis=0) - raw[0]
            for j, name in enumerate(names):
                if name == "residual" or name in kept:
                    bounds[f"var_{name}"] = np.maximum(np.percentile(boot_raw[:, j] - shift[j], tails), 0.0)
            if status != "not_estimable":
                mean_coef = weights[ok] @ coef / n_units
                bounds["phi"] = np.percentile(_dependability(boot, mean_coef), tails)
                boot_needed = _raters_needed(boot, mean_coef[:, 0], target)
                bounds["raters_needed"] = np.percentile(boot_needed, tails, method="inverted_cdf")
    for name in ("phi", *(f"var_{c}" for c in names), "raters_needed"):
        low, high = bounds.get(name, (np.nan, np.nan))
        row[f"{name}_low"], row[f"{name}_high"] = float(low), float(high)
    return row
