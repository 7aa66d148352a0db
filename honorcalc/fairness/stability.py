"""Would the list change with other raters or other weights? (RULES.md §3)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import InputError
from ..params import SOURCES, Params
from ..rules import round_half_up
from ..scoring import (
    row_key,
)
from .base import (
    CELL,
    cap_array,
    cell_codes,
    check_params,
    rank_in_groups,
    require,
    rescaled,
    seeded_rng,
)

__all__ = ["STABILITY_COLUMNS", "Replicates", "list_replicates", "list_stability"]

STABILITY_COLUMNS = (
    "round_id", "unit_id", "name", "group", "score", "rank", "list", "rank_low", "rank_high",
    "p_red", "p_black", "uncertain", "n_replicates", "seed",
)

#: Replicates of the stability analysis draw and sum this many points at a time (cache-sized).
_REPLICATE_BLOCK = 150_000

_RESULT_COLUMNS = (
    "round_id", "unit_id", "name", "group", "ranking_group", "round_kind", "work", "seq", "date",
    "year", "score", "score_rounded", "ranked", "rank", "rank_bottom", "n_ranked", "list",
    "deduction", "satisfaction", "vetoed", "excluded", "composite",
)


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
    require(results, "results", _RESULT_COLUMNS)


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
    check_params(params)
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
    rng, seed = seeded_rng(params, "stability") if draws else (None, "")

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
        s = rescaled(scores[scores["round_id"].isin(needed)], indicators)
        cell, n_cells = cell_codes(s, CELL)
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
        rank, tie, n_ranked = rank_in_groups(self.group_codes, rounded, ranked)
        rank_bottom = n_ranked - (rank + tie - 1) + 1
        cap = cap_array(self.special[None, :], n_ranked, p)
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
    check_params(params)
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
