"""Are territorial and industry units, large and small, treated alike? (RULES.md §3)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..params import Params
from .base import (
    check_params,
    require,
    seeded_rng,
)

__all__ = ["GROUP_COLUMNS", "group_fairness"]

GROUP_COLUMNS = (
    "round_id", "dimension", "group", "n_units", "score_mean", "score_sd", "red_rate",
    "black_rate", "rater_severity", "p_score", "p_red", "p_black", "p_severity",
    "n_permutations", "seed",
)


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
    check_params(params)
    require(units, "units", ["unit_id", "kind"])
    require(results, "results", ["round_id", "unit_id", "score", "list"])
    require(scores, "scores", ["unit_id", "rater_id"])
    require(raters, "raters", ["rater_id", "severity"])
    n_perm = params.fairness.permutations
    rng, seed = seeded_rng(params, "groups")
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
