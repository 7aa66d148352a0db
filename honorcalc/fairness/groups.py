"""Are territorial and industry units, large and small, treated alike? (RULES.md §3)"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..data.contract import mapped
from ..params import Params
from .base import FINAL_SCORES_NOTE, check_params, require, seeded_rng, with_rater

__all__ = ["GROUP_COLUMNS", "group_fairness"]

GROUP_COLUMNS = (
    "round_id", "dimension", "group", "n_units", "score_mean", "score_sd", "red_rate",
    "black_rate", "rater_severity", "p_score", "p_red", "p_black", "p_severity",
    "n_permutations", "seed",
    # appended
    "p_equiv_score", "p_equiv_red", "p_equiv_black", "p_equiv_severity",
    "status_score", "status_red", "status_black", "status_severity",
    "margin_score", "margin_rate", "margin_severity",
    "severity_diff", "severity_diff_low", "severity_diff_high", "ci_level", "components", "note",
)

STATISTICS = ("score", "red", "black", "severity")


def _stratified_difference(values: np.ndarray, in_a: np.ndarray, in_b: np.ndarray,
                           strata: np.ndarray) -> tuple[float, float, float]:
    """Difference of the means of groups a and b within strata, its standard error and df.

    Strata holding both groups are combined with weights n_a n_b / (n_a + n_b) (the
    Cochran-Mantel-Haenszel weights); each group's variance is pooled over its strata,
    and the degrees of freedom are Welch-Satterthwaite's. NaN when a group has fewer
    than two values or no stratum holds both.
    """
    keep = ~np.isnan(values) & (in_a | in_b)
    values, in_a, strata = values[keep], in_a[keep], strata[keep]
    levels, strata = np.unique(strata, return_inverse=True)
    n_s = len(levels)
    out = (np.nan, np.nan, np.nan)
    if n_s == 0:
        return out
    n = [np.bincount(strata[g], minlength=n_s).astype(float) for g in (in_a, ~in_a)]
    sums = [np.bincount(strata[g], weights=values[g], minlength=n_s) for g in (in_a, ~in_a)]
    both = (n[0] > 0) & (n[1] > 0)
    if not both.any():
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        means = [np.where(both, s / np.maximum(k, 1), 0.0) for s, k in zip(sums, n)]
        weight = np.where(both, n[0] * n[1] / (n[0] + n[1]), 0.0)
        weight = weight / weight.sum()
        diff = float(weight @ (means[0] - means[1]))
        variance, dof, coef = [], [], []
        for g, group in enumerate((in_a, ~in_a)):
            used = group & both[strata]
            resid = values[used] - means[g][strata[used]]
            df_g = used.sum() - both.sum()
            variance.append(float(resid @ resid) / df_g if df_g > 0 else np.nan)
            dof.append(df_g)
            coef.append(float((weight[both] ** 2 / n[g][both]).sum()))
        parts = [c * v for c, v in zip(coef, variance)]
        se2 = sum(parts)
        df = se2**2 / sum(p**2 / d for p, d in zip(parts, dof)) if se2 > 0 else np.nan
    if not np.isfinite(se2):
        return out
    return diff, float(np.sqrt(se2)), float(df)


def _tost_pvalue(diff: float, se: float, df: float, margin: float) -> float:
    """Two one-sided tests (Schuirmann, 1987) of |difference| < margin: the larger one-sided p."""
    if not (np.isfinite(diff) and np.isfinite(se) and np.isfinite(df)):
        return np.nan
    if se == 0:
        return np.nan  # no spread: nothing to base an interval on
    return float(max(sps.t.sf((diff + margin) / se, df), sps.t.cdf((diff - margin) / se, df)))


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
        `rater_severity` of the round: ``rater_id``, ``severity``, and ``component``
        (connected set of raters, 0 = none); without ``component`` the raters are
        taken as one connected set, and ``note`` says so.
    params : Params
        ``fairness.permutations``, ``fairness.confidence_level``,
        ``fairness.equivalence_margin``, ``fairness.equivalence_margin_rate``,
        ``fairness.severity_min``, ``seed``.

    Returns
    -------
    DataFrame
        One row per (dimension, group), columns `GROUP_COLUMNS`. ``dimension``
        ``kind`` (groups ``industry`` and ``territorial``) and ``size`` (tertiles
        ``small``, ``medium``, ``large`` within each kind). Per group: ``n_units``,
        ``score_mean`` and ``score_sd`` (of the scores ranked), ``red_rate`` and
        ``black_rate`` (share listed), ``rater_severity`` (exposure to harsh raters:
        the mean, over the group's units, of the mean severity of the raters behind
        each unit's scores in the unit's rater component, points per ``scale``,
        shrunken (``severity_eb``) where the raters table has it;
        where the units' raters fall in several components, each unit's exposure is
        taken relative to the mean of the units of its component; raters without an
        estimate do not count). ``p_score``, ``p_red``, ``p_black``, ``p_severity``:
        permutation p-values of the difference between the groups of the dimension
        (repeated on each of its rows), ``n_permutations`` and ``seed``. Then, per
        dimension (repeated on its rows): ``p_equiv_<statistic>``, the p-value of the
        equivalence test (every pair of groups within ± the margin);
        ``status_<statistic>``: ``alike`` (p_equiv ≤ 1 - ``confidence_level``: the
        difference is shown to be within the margin), ``differ`` (not alike, and
        the permutation p ≤ 1 - ``confidence_level``), ``cannot_tell`` (neither) or
        ``not_estimable`` (no values); ``margin_score`` (points of 100),
        ``margin_rate`` (share), ``margin_severity`` (points per ``scale``). Per
        group: ``severity_diff`` (the group's exposure minus the other groups',
        compared within rater components and strata), ``severity_diff_low``,
        ``severity_diff_high`` (Welch interval at ``ci_level``), ``ci_level``,
        ``components`` (the rater components the severity comparison used, joined
        with ';') and ``note``.

    Notes
    -----
    Size is staff for a department and residents for a territory, so the tertiles
    are formed within each kind (ranks of size, ties broken by unit_id), and the
    size labels are permuted within kind: the test asks whether size matters among
    units of the same kind. A unit without size is left out of that dimension.

    *Rater components.* Severities are identified only within a connected set of
    raters, each set with its own zero (`rater_severity`), so exposures are compared
    only within a component: a unit's exposure uses the raters of its main
    component (the one behind most of its scores), the severity test permutes
    labels within component (and kind, for size), and where there are several
    components each exposure is centred on its component's units. Units whose
    raters have no severity do not count.

    Permutation tests (Efron & Tibshirani, 1993 [1]_, ch. 15): the group labels are
    shuffled ``permutations`` times (seed stream ``groups``); the statistic is the
    absolute difference of the group means for two groups and the between-group sum
    of squares Σ n_g (mean_g - mean)² for three. p = (1 + #{T* ≥ T}) / (1 + B), never
    0 (Phipson & Smyth, 2010 [2]_). Under the null hypothesis p is uniform.

    *Equivalence.* A large p says the data did not show a difference, not that
    there is none, so "alike" needs its own test: two one-sided tests (Schuirmann,
    1987 [3]_) of H0: |difference| ≥ margin, on the difference of group means within
    strata (Cochran-Mantel-Haenszel weights n_a n_b / (n_a + n_b), each group's
    variance pooled over its strata, Welch-Satterthwaite df). p_equiv is the larger
    one-sided p; rejecting at α is the same as the (1 - 2α) interval lying within
    ± margin. With three groups every pair must be alike, and p_equiv is the
    largest pair's (an intersection-union test, Berger & Hsu, 1996 [4]_, which
    needs no multiplicity correction). A difference shown to lie within the margin
    is ``alike`` even where the permutation test finds it.

    References
    ----------
    .. [1] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
           New York: Chapman & Hall.
    .. [2] Phipson, B., & Smyth, G. K. (2010). Permutation p-values should never be
           zero. Statistical Applications in Genetics and Molecular Biology, 9(1), 39.
    .. [3] Schuirmann, D. J. (1987). A comparison of the two one-sided tests
           procedure and the power approach for assessing the equivalence of average
           bioavailability. Journal of Pharmacokinetics and Biopharmaceutics, 15(6),
           657-680.
    .. [4] Berger, R. L., & Hsu, J. C. (1996). Bioequivalence trials,
           intersection-union tests and equivalence confidence sets. Statistical
           Science, 11(4), 283-319.
    """
    check_params(params)
    require(units, "units", ["unit_id", "kind"])
    require(results, "results", ["round_id", "unit_id", "score", "list"])
    require(scores, "scores", ["unit_id", "rater_id"])
    require(raters, "raters", ["rater_id", "severity"])
    fp = params.fairness
    n_perm = fp.permutations
    alpha = 1.0 - fp.confidence_level
    margins = {"score": fp.equivalence_margin, "red": fp.equivalence_margin_rate,
               "black": fp.equivalence_margin_rate, "severity": fp.severity_min}
    rng, seed = seeded_rng(params, "groups")
    table = raters.drop_duplicates("rater_id").set_index("rater_id")
    # the shrunken severities where the table has them: the raw estimates of raters seen at few
    # units are noisy, and exposure averages them
    per_rater = table["severity_eb" if "severity_eb" in table.columns else "severity"].astype("float64")
    notes = []
    if "component" in table.columns:
        per_component = table["component"].fillna(0).astype("int64")
    else:
        per_component = pd.Series(1, index=table.index, dtype="int64")
        notes.append("raters table without components: its raters are taken as one connected set")
    # each score's rater severity and component, looked up once per rater: a map over every row is slow
    at, ids = pd.factorize(scores["rater_id"], use_na_sentinel=False)
    ids = pd.Series(ids)
    severity = ids.map(per_rater).astype("float64").to_numpy()[at]
    component = ids.map(per_component).fillna(0).astype("int64").to_numpy()[at]
    have = np.isfinite(severity) & (component > 0)
    rows_ = pd.DataFrame({"unit_id": scores["unit_id"].to_numpy()[have], "component": component[have],
                          "severity": severity[have]})
    counts = rows_.groupby(["unit_id", "component"], sort=True)["severity"].agg(["size", "mean"]).reset_index()
    # the unit's main component: most scores, then the lowest number (the largest component)
    counts = counts.sort_values(["unit_id", "size", "component"], ascending=[True, False, True], kind="stable")
    main = counts.drop_duplicates("unit_id").set_index("unit_id")
    used_components = sorted(main["component"].unique())
    exposure = main["mean"]
    if len(used_components) > 1:
        exposure = exposure - exposure.groupby(main["component"]).transform("mean")
        notes.append(f"rater severity compared within rater components {', '.join(map(str, used_components))}, "
                     "each relative to the mean of its units")
    final = ~with_rater(scores)
    if final.any():
        notes.append(f"{FINAL_SCORES_NOTE}: " + ("no unit's exposure to harsh raters can be assessed" if final.all()
                                                 else "the exposure counts only the scores with a rater"))
    u = results[["round_id", "unit_id", "score", "list"]].merge(
        units[["unit_id", "kind", *(["size"] if "size" in units.columns else [])]], on="unit_id", how="left")
    u = u.sort_values("unit_id", kind="stable").reset_index(drop=True)
    u["severity"] = mapped(u["unit_id"], exposure).astype("float64")
    u["component"] = mapped(u["unit_id"], main["component"]).fillna(0).astype("int64")
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
        stratum_codes = {stat: pd.factorize(strata[have])[0] for stat in STATISTICS}
        # severities have one zero per rater component: compare within components only
        stratum_codes["severity"] = pd.factorize(
            strata[have].astype(str) + "\x1f" + u.loc[have, "component"].astype(str))[0]
        values = {stat: u.loc[have, stat].to_numpy(dtype="float64") for stat in STATISTICS}
        p = {stat: _permutation_pvalue(values[stat], codes, stratum_codes[stat], n_perm, rng)
             for stat in STATISTICS}
        p_equiv = {}
        for stat in STATISTICS:
            pairs = [_stratified_difference(values[stat], codes == a, codes == b, stratum_codes[stat])
                     for a in range(codes.max() + 1) for b in range(a + 1, codes.max() + 1)]
            tost = [_tost_pvalue(*pair, margins[stat]) for pair in pairs]
            p_equiv[stat] = np.nan if any(np.isnan(tost)) else max(tost)
        status = {stat: "not_estimable" if np.isnan(p[stat]) and np.isnan(p_equiv[stat]) else
                  "alike" if p_equiv[stat] <= alpha else "differ" if p[stat] <= alpha else "cannot_tell"
                  for stat in STATISTICS}
        labels = label[have]
        for level, part in u[have].groupby(labels, sort=False):
            in_group = (labels == level).to_numpy()
            diff, se, df = _stratified_difference(values["severity"], in_group, ~in_group,
                                                  stratum_codes["severity"])
            q = sps.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else np.nan
            rows.append({
                "round_id": round_id, "dimension": dimension, "group": level, "n_units": len(part),
                "score_mean": part["score"].mean(), "score_sd": part["score"].std(ddof=1),
                "red_rate": part["red"].mean(), "black_rate": part["black"].mean(),
                "rater_severity": part["severity"].mean(),
                "p_score": p["score"], "p_red": p["red"], "p_black": p["black"], "p_severity": p["severity"],
                "n_permutations": n_perm, "seed": seed,
                **{f"p_equiv_{stat}": p_equiv[stat] for stat in STATISTICS},
                **{f"status_{stat}": status[stat] for stat in STATISTICS},
                "margin_score": margins["score"], "margin_rate": margins["red"],
                "margin_severity": margins["severity"],
                "severity_diff": diff, "severity_diff_low": diff - q * se, "severity_diff_high": diff + q * se,
                "ci_level": fp.confidence_level, "components": ";".join(map(str, used_components)),
                "note": "; ".join(notes), "_order": level_order.get(level, 9),
            })
    out = pd.DataFrame(rows, columns=[*GROUP_COLUMNS, "_order"])
    out["_dim"] = out["dimension"].map({"kind": 0, "size": 1})
    out = out.sort_values(["_dim", "_order", "group"], kind="stable").drop(columns=["_order", "_dim"])
    return out.reset_index(drop=True)
