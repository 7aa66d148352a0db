"""Is the spread of scores real, or rater noise? The G-study of each source (RULES.md §3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..params import SOURCES, Params
from .base import (
    check_params,
    rescaled,
)

__all__ = ["COMPONENTS", "variance_components"]

COMPONENTS = ("unit", "rater", "indicator", "unit_x_indicator")


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
    comp = {name: np.nan for name in (*COMPONENTS, "residual")}
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
    check_params(params)
    s = rescaled(scores, indicators)
    cols = ["round_id", "source", "n_scores", "n_units", "n_raters", "n_indicators", "raters_per_cell",
            *(f"var_{c}" for c in (*COMPONENTS, "residual")), "share_unit", "phi", "note"]
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
