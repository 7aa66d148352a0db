"""Would the list change with other raters, other weights, or within rounding? (RULES.md §3)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy import stats as sps

from ..errors import InputError
from ..params import SOURCES, Params
from ..rules.ranking import cut_list, list_cap, rankings, round_half_up
from ..rules.scoring import row_key
from .base import FINAL_SCORES_NOTE, check_params, seeded_rng, with_rater
from .measurement import ErrorModel, Layout, check_rounds, error_model, point_components
from .ranks import rank_uncertainty

__all__ = ["STABILITY_COLUMNS", "WEIGHT_COLUMNS", "Replicates", "list_replicates", "list_stability",
           "weight_sensitivity"]

STABILITY_COLUMNS = (
    "round_id", "unit_id", "name", "group", "score", "rank", "list", "rank_low", "rank_high",
    "p_red", "p_black", "uncertain", "n_replicates", "seed", "se", "rank_level", "rank_method",
    "rank_low_simul", "rank_high_simul", "status", "note", "red_status", "black_status", "top_status",
    "bottom_status",
)

WEIGHT_COLUMNS = (
    "round_id", "source", "direction", "weight", "shift", "unit_id", "name", "group", "score", "rank", "list",
    "score_shifted", "rank_shifted", "list_shifted", "changed",
)

#: Replicates draw this many normal deviates at a time (cache-sized).
_REPLICATE_BLOCK = 150_000

_RESULT_COLUMNS = (
    "round_id", "unit_id", "name", "group", "ranking_group", "round_kind", "work", "seq", "date",
    "year", "score", "score_rounded", "ranked", "rank", "rank_bottom", "n_ranked", "list",
    "deduction", "satisfaction", "vetoed", "excluded", "composite",
)

_LISTS = np.array(["", "red", "black"], dtype=object)

#: A G-study with no rows: no source has a known error (weight scenarios draw none).
_NO_G_STUDY = pd.DataFrame({c: pd.Series(dtype="float64") for c in (
    "round_id", "source", "n_raters", "raters_per_cell", "var_unit", "var_rater", "var_residual")})


@dataclass(frozen=True, eq=False)
class Replicates:
    """Ranks and lists of every replicate of `list_replicates`.

    Attributes
    ----------
    rows : DataFrame
        One row per (round, unit) of the rounds replicated, in the order of the
        arrays' columns: ``round_id``, ``unit_id``, ``name``, ``group``,
        ``ranking_group``, ``round_kind``, and the observed ``score``, ``rank``,
        ``list`` and ``vetoed``.
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


def list_replicates(
    scores: pd.DataFrame,
    indicators: pd.DataFrame,
    results: pd.DataFrame,
    params: Params,
    n_replicates: int,
    *,
    round_ids=None,
    measurement_error: bool = True,
    components: pd.DataFrame | None = None,
) -> Replicates:
    """Score, rank and list rounds again with plausible scores drawn from the measurement model.

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
        The rules (``weights``, ``lists``, ``veto``, ``history``) and ``seed``.
    n_replicates : int
        Number of replicates (≥ 1).
    round_ids : sequence of str, optional
        The rounds to replicate; defaults to ``[params.round]``.
    measurement_error : bool, default True
        Draw each source's measurement error; False reproduces the observed lists.
    components : DataFrame, optional
        `variance_components` of the score rows, when already computed.

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
    Each replicate is a parametric bootstrap (Efron & Tibshirani, 1993 [1]_, ch. 6)
    of the measurement model of `honorcalc.fairness.measurement_model` (Brennan,
    2001 [2]_), then DESIGN.md's scoring model and RULES.md §1.3 on arrays of shape
    (replicates, rows):

    1. *errors*: every source whose error is known gets Gaussian error of its
       G-study size: each rater's severity is drawn once per round and source and
       shared by every unit it scored, its halo once per (rater, unit) and shared by
       the indicators it scored there, and the residual of every score; a cell's
       mean divides them by its raters. They are drawn on the sums of points of each
       (unit, source) (and of the prerequisite category), mapped through the sparse
       loadings of each rater, rather than score by score;
    2. the source scores Σ mean points / Σ max_points × 100 plus their error, the
       composite with the rules' weights renormalised over the sources present,
       minus the observed deductions, clamped to 0-100, blended with the trailing
       composites of the same work as `honorcalc.rules.scoring.composite_scores` does;
    3. vetoes: the satisfaction veto as observed (surveys are facts, not
       measurements), the prerequisite veto recomputed from the replicate's category
       score;
    4. rounding half up to ``lists.precision``, competition ranks within the ranking
       group, and the list cut of `honorcalc.rules.apply_lists` (thresholds,
       caps, the tie policy, ``veto.action``), vectorized over the replicates.

    The weights stay as the rules fix them (`weight_sensitivity` moves them). A
    source whose error is not estimable gets none. With ``measurement_error=False``
    every replicate reproduces `honorcalc.rules` exactly (tested).

    References
    ----------
    .. [1] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
           New York: Chapman & Hall.
    .. [2] Brennan, R. L. (2001). Generalizability Theory. New York: Springer.
    """
    round_ids = check_rounds(results, params, round_ids, _RESULT_COLUMNS)
    if isinstance(n_replicates, bool) or not isinstance(n_replicates, (int, np.integer)) or n_replicates < 1:
        raise InputError(f"n_replicates must be a positive integer; got {n_replicates!r}")
    lay = Layout(scores, indicators, results, params, round_ids)
    g = point_components(scores, indicators, params, lay, components)
    return _replicate(lay, g, params, n_replicates, measurement_error)


def _replicate(lay: Layout, g: pd.DataFrame, params: Params, n_replicates: int, measurement_error: bool,
               model: "_ReplicateModel | None" = None):
    model = _ReplicateModel(lay, g, params) if model is None else model
    draws = bool(measurement_error) and model.error.has_error
    rng, seed = seeded_rng(params, "stability") if draws else (None, "")
    n_rows = len(lay.targets)
    score = np.empty((n_replicates, n_rows))
    rank = np.empty((n_replicates, n_rows))
    listed = np.empty((n_replicates, n_rows), dtype=np.int8)
    chunk = max(1, min(n_replicates, _REPLICATE_BLOCK // max(model.n_deviates, 1)))
    for start in range(0, n_replicates, chunk):
        sl = slice(start, min(start + chunk, n_replicates))
        score[sl], rank[sl], listed[sl] = model.run(sl.stop - sl.start, rng if draws else None)
    return Replicates(model.target_rows, score, rank, listed, seed)


class _ReplicateModel:
    """The scoring model, its measurement error and the list rules laid out as arrays (`list_replicates`)."""

    def __init__(self, lay: Layout, g: pd.DataFrame, params: Params):
        self.params = p = params
        self.n_ur = lay.n_ur
        s, m, col = lay.s, lay.m, lay.col
        self.to_source = sparse.csc_matrix((100.0 / (m * lay.total[col]), (np.arange(len(s)), col)),
                                           shape=(len(s), lay.n_ur * len(SOURCES)))
        self.points = s["points"].to_numpy(dtype="float64")
        self.present = lay.present
        self.weights = lay.weights
        self.source = self.to_source.T @ self.points

        n_cols = lay.n_ur * len(SOURCES)
        self.prerequisite = None
        block, n_blocks = col, n_cols
        category = p.veto.prerequisite_category
        if category is not None:
            inside = (s["category"] == category).to_numpy()
            first = lay.first
            cell_ur, cell_max = lay.ur[first], s["max_points"].to_numpy()[first]
            cat_total = np.bincount(cell_ur[inside[first]], weights=cell_max[inside[first]], minlength=lay.n_ur)
            rows = np.flatnonzero(inside)
            ur = lay.ur
            self.prerequisite = sparse.csc_matrix(
                (100.0 / (m[rows] * cat_total[ur[rows]]), (rows, ur[rows])), shape=(len(s), lay.n_ur))
            self.prerequisite_seen = cat_total > 0
            self.category = self.prerequisite.T @ self.points
            # the category's error shares the rows of the source's: blocks split each column by category
            block = col * 2 + inside
            n_blocks = n_cols * 2
        self.error = ErrorModel(lay, g, block, n_blocks)
        #: the error model by (unit-round, source) column, which `measurement_model` uses too
        self.error_by_column = self.error if self.prerequisite is None else None
        scale = np.zeros(n_cols)
        np.divide(100.0, lay.total, out=scale, where=lay.total > 0)
        blocks = np.arange(n_blocks)
        block_col = blocks // (n_blocks // n_cols)
        self.block_to_source = sparse.csr_matrix((scale[block_col], (blocks, block_col)), shape=(n_blocks, n_cols))
        if self.prerequisite is not None:
            in_cat = (blocks % 2 == 1)
            bur = block_col // len(SOURCES)
            with np.errstate(divide="ignore"):
                cat_scale = np.where(cat_total[bur] > 0, 100.0 / np.where(cat_total[bur] > 0, cat_total[bur], 1), 0)
            self.block_to_category = sparse.csr_matrix((np.where(in_cat, cat_scale, 0.0), (blocks, bur)),
                                                       shape=(n_blocks, lay.n_ur))
        self.n_deviates = len(self.error.block_sd) + len(self.error.effect_sd)

        res = lay.res
        self.deduction = res["deduction"].to_numpy(dtype="float64")
        self.target_index = lay.target_index
        targets = lay.targets
        self.target_rows = targets[["round_id", "unit_id", "name", "group", "ranking_group", "round_kind", "score",
                                    "rank", "list", "vetoed"]].reset_index(drop=True)
        self.group_codes = pd.factorize(row_key(targets, ["round_id", "ranking_group"]))[0]
        self.special = (targets["round_kind"] == "special").to_numpy()
        sat = targets["satisfaction"].to_numpy(dtype="float64", na_value=np.nan)
        if p.veto.satisfaction_min is None:
            self.sat_veto = np.zeros(len(targets), dtype=bool)
        else:
            pct = round_half_up(sat * 100.0, p.lists.precision)
            with np.errstate(invalid="ignore"):
                self.sat_veto = pct < p.veto.satisfaction_min * 100.0
        self.lags = lay.lags

    def _sums(self, n: int, rng):
        """Source scores, and the prerequisite category's (or None), of ``n`` replicates."""
        source = np.broadcast_to(self.source, (n, len(self.source)))
        category = None if self.prerequisite is None else np.broadcast_to(self.category, (n, self.n_ur))
        if rng is None:
            return source, category
        error = self.error.draw(n, rng)
        source = source + (self.block_to_source.T @ error.T).T
        if category is not None:
            category = category + (self.block_to_category.T @ error.T).T
        return source, category

    def run(self, n: int, rng, weights: np.ndarray | None = None):
        """Score, rank and list ``n`` replicates (``weights``: (n, 5) source weights, default the rules')."""
        p = self.params
        source, category = self._sums(n, rng)
        weights = np.broadcast_to(self.weights, (n, len(SOURCES))) if weights is None else weights
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
        # a veto withholds honours, never shields from the black list: the red ranking leaves out the
        # excluded units, the bottom ranking holds every scored unit (rules.ranking.rankings)
        r = rankings(self.group_codes, rounded, vetoed & (p.veto.action == "exclude"))
        cap = list_cap(self.special[None, :], r.n_ranked, p)
        cap_bottom = list_cap(self.special[None, :], r.n_ranked_bottom, p)
        no_red = vetoed & (p.veto.action == "no_red")
        red = cut_list("red", rounded, r.rank, r.tie_size, cap, r.ranked, p, no_red).on_list
        black = cut_list("black", rounded, r.rank_bottom, r.tie_size_bottom, cap_bottom, r.scored, p).on_list
        listed = np.where(red, 1, np.where(black, 2, 0)).astype(np.int8)
        return score, r.rank, listed


def list_stability(
    scores: pd.DataFrame,
    indicators: pd.DataFrame,
    results: pd.DataFrame,
    params: Params,
    round_id: str | None = None,
    *,
    components: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """How sure is each unit's place: its score's error, rank interval and list probabilities.

    Parameters
    ----------
    scores, indicators, results, params
        As for `list_replicates`; ``fairness.replicates``,
        ``fairness.measurement_error``, ``fairness.rank_coverage``,
        ``fairness.rank_draws`` and ``fairness.rank_stepdown`` set the analysis.
    round_id : str, optional
        Defaults to ``params.round``.
    components : DataFrame, optional
        `variance_components` of the round (and of the trailing rounds history
        blends in), when already computed.

    Returns
    -------
    DataFrame
        One row per unit of the round, sorted by (group, observed rank, unit_id),
        columns `STABILITY_COLUMNS`: the observed ``score``, ``rank`` and ``list``;
        ``rank_low`` and ``rank_high`` (the marginal rank confidence set at
        ``rank_coverage``, Mogstad et al. 2024; rank 1 is best, so rank_low is the
        best plausible rank); ``p_red`` and ``p_black`` (share of the measurement
        model's replicates on each list); ``uncertain`` (``status`` is not
        'stable'); ``n_replicates``; ``seed`` (of the replicates; the rank sets
        draw from stream ``ranks``); ``se`` (the measurement standard error of
        the score, `measurement_model`); ``rank_level`` (the coverage);
        ``rank_method`` ('confidence_set', or 'simulated' where some score carries
        no error and the sets are undefined: then the replicates' central
        interval); ``rank_low_simul``, ``rank_high_simul`` (the simultaneous set);
        ``status``: 'stable' (the unit's listing is confirmed both ways: see
        ``red_status``), 'cannot_tell' (the data cannot tell, even from the errors
        they can measure), or 'not_estimable' (a source weighing in the unit's
        score has an error these data cannot estimate, so stability cannot be
        shown; where no error of the unit's score is known at all, as with final
        scores only, its ``se``, ``rank_low``, ``rank_high``, ``p_red`` and
        ``p_black`` are NaN, ``rank_method`` is empty and ``red_status`` and
        ``black_status`` are 'cannot_tell' unless the unit is unranked or vetoed:
        an interval drawn without error would have zero width, a certainty the
        data do not give); ``note``; ``red_status`` and ``black_status`` ('in',
        'out' or 'cannot_tell': on the list with confidence, off it with
        confidence, or the data cannot tell; see `_list_statements`) and
        ``top_status``, ``bottom_status`` (the place alone: certainly among the
        list's τ places of the group, certainly not, or cannot tell).

    Notes
    -----
    A listing needs a place and a score (RULES.md §1.3), so "is this unit surely on
    the black list?" is two statements at ``rank_coverage``: the unit's
    simultaneous rank set lies within the bottom τ of its group (τ the list cap;
    "these units are among the bottom 10 of their group with 95% confidence"), and
    its score's interval lies on the listed side of the threshold. Both rest on the
    measurement model's standard errors (approximately normal scores with known
    error covariance): a source whose error the data cannot estimate leaves the
    unit 'not_estimable'.

    Checked on simulated cities with known true scores
    (``tests/test_fairness_stability.py``): the ``se`` matches the spread of a
    unit's score over independent re-scorings of the city, and the rank sets cover
    the true rank at least at their stated level.
    """
    check_params(params)
    fp = params.fairness
    round_id = params.round if round_id is None else round_id
    check_rounds(results, params, [round_id], _RESULT_COLUMNS)
    lay = Layout(scores, indicators, results, params, [round_id])
    g = point_components(scores, indicators, params, lay, components)
    replicate_model = _ReplicateModel(lay, g, params)
    rep = _replicate(lay, g, params, fp.replicates, fp.measurement_error, replicate_model)
    level = fp.rank_coverage
    low, high = _nan_quantiles(rep.rank, [(1 - level) / 2, (1 + level) / 2])
    p_red = (rep.list == 1).mean(axis=0)
    p_black = (rep.list == 2).mean(axis=0)
    model = error_model(lay, g, params, replicate_model.error_by_column)
    units = model.units
    unknown = (units["status"] == "not_estimable").to_numpy() | (not fp.measurement_error)
    out = rep.rows.copy()
    n = len(out)
    simul = np.full((2, n), np.nan)
    method = np.full(n, "simulated", dtype=object)
    sides = {"top": np.full(n, "cannot_tell", dtype=object), "bottom": np.full(n, "cannot_tell", dtype=object)}
    sets = _rank_sets(model, round_id, out, params) if fp.measurement_error else None
    if sets is not None:
        at, table = sets
        low[at], high[at] = table["rank_low"].to_numpy(dtype=float), table["rank_high"].to_numpy(dtype=float)
        simul[:, at] = table[["rank_low_simul", "rank_high_simul"]].to_numpy(dtype=float).T
        method[at] = "confidence_set"
        for side in sides:
            sides[side][at] = table[f"{side}_status"].to_numpy()
    se = units["se"].to_numpy(dtype=float)
    red, black = _list_statements(out, se, sides, params)
    settled = (red == np.where(out["list"] == "red", "in", "out")) & (
        black == np.where(out["list"] == "black", "in", "out"))
    ranked = out["rank"].notna().to_numpy()
    # nothing known of a score's error: nothing can be said; an error known only in part can
    # still show that the data cannot tell, but not that the list is stable
    blind = unknown & ~(se > 0)
    status = np.where(blind, "not_estimable",
                      np.where(ranked & ~settled, "cannot_tell", np.where(unknown, "not_estimable", "stable")))
    if blind.any():
        # nothing known of the error: an interval of zero width, or a list called sure, would claim a
        # certainty the data do not give; the measurement error is unknown, and said to be
        low, high, p_red, p_black, se = (np.where(blind, np.nan, v) for v in (low, high, p_red, p_black, se))
        known_out = out["rank"].isna().to_numpy() | (
            out["vetoed"].to_numpy(dtype=bool) & (params.veto.action == "no_red"))
        red = np.where(blind & ~known_out, "cannot_tell", red).astype(object)
        black = np.where(blind & out["rank"].notna().to_numpy(), "cannot_tell", black).astype(object)
        method = np.where(blind, "", method).astype(object)
    reason = pd.Series(units["note"].to_numpy() if fp.measurement_error else np.full(n, "measurement error not drawn"))
    if blind.any():
        this = scores["round_id"].astype(str) == str(round_id)
        if this.any() and not with_rater(scores[this]).any():
            reason = FINAL_SCORES_NOTE + "; " + reason
    note = np.select(
        [blind, unknown & (status == "cannot_tell"), unknown],
        [reason.str.cat([_UNKNOWN_ERROR] * n, sep=": ").to_numpy(),
         reason.str.cat(["cannot tell even without that error"] * n, sep="; ").to_numpy(),
         reason.str.cat([_PARTLY_JUDGED] * n, sep=": ").to_numpy()],
        "")
    out["rank_low"], out["rank_high"] = low, high
    out["p_red"], out["p_black"] = p_red, p_black
    out["uncertain"] = status != "stable"
    out["n_replicates"] = fp.replicates
    out["seed"] = rep.seed
    out["se"] = se
    out["rank_level"] = level
    out["rank_method"] = method
    out["rank_low_simul"], out["rank_high_simul"] = simul
    out["status"], out["note"] = status, note
    out["red_status"], out["black_status"] = red, black
    out["top_status"], out["bottom_status"] = sides["top"], sides["bottom"]
    out = out.sort_values(["group", "rank", "unit_id"], kind="stable", na_position="last")
    return out[list(STABILITY_COLUMNS)].reset_index(drop=True)


_NOT_JUDGED = "the list's stability cannot be judged from these data"
_UNKNOWN_ERROR = ("the measurement error is unknown, so no rank interval or list probability is given: "
                  + _NOT_JUDGED)
_PARTLY_JUDGED = "stable as far as the sources with a known error go, which cannot show the list is stable"


def _list_statements(rows: pd.DataFrame, se: np.ndarray, sides: dict, params: Params):
    """Whether each unit is on the red and on the black list with confidence: 'in', 'out' or 'cannot_tell'.

    A list needs two things (RULES.md §1.3): the place, and the score. The place is
    certain when the unit's simultaneous rank set at 1 − α/2 lies inside (or outside)
    the list's τ places of its group (`rank_uncertainty`, α = 1 − ``rank_coverage``);
    the score when score ∓ z·se lies on the listed side of the threshold as published
    (rounded half up), z = Φ⁻¹(1 − α/2), an error of at most α/2 on that side. By the
    union bound a statement 'in' or 'out' is wrong with probability at most α. A
    vetoed unit is out of the red list whatever it scores. The errors are those the
    measurement model knows: where a source's error is unknown (``status``
    'not_estimable'), 'in' and 'out' hold only as far as the measured sources go.
    """
    fp, lists = params.fairness, params.lists
    half = 0.5 * 10.0 ** -lists.precision
    z = sps.norm.ppf(0.5 + fp.rank_coverage / 2)
    score = rows["score"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        low, high = score - z * se, score + z * se
        red_in = (sides["top"] == "in") & (low >= lists.red_min - half)
        red_out = (sides["top"] == "out") | (high < lists.red_min - half)
        black_in = (sides["bottom"] == "in") & (high < lists.black_max + half)
        black_out = (sides["bottom"] == "out") | (low >= lists.black_max + half)
    blocked = rows["vetoed"].to_numpy(dtype=bool) & (params.veto.action == "no_red")
    red = np.where(blocked | red_out, "out", np.where(red_in, "in", "cannot_tell"))
    black = np.where(black_out, "out", np.where(black_in, "in", "cannot_tell"))
    unranked = rows["rank"].isna().to_numpy()
    return np.where(unranked, "out", red).astype(object), np.where(unranked, "out", black).astype(object)


def _rank_sets(model, round_id: str, rows: pd.DataFrame, params: Params):
    """Rank confidence sets and top/bottom-τ statements of the ranked units, or None when undefined.

    Returns the positions of the units in ``rows`` and `rank_uncertainty`'s table for
    them; τ is each group's list cap. Groups are taken one at a time in the order of
    their labels, so that the covariance held in memory is one group's. A group whose
    scores do not all carry some error, or with more than ``fairness.rank_max_units``
    units, keeps the replicates' intervals.
    """
    fp = params.fairness
    units, _ = model.covariance(round_id, positions=[])
    estimates = units["score"].to_numpy(dtype=float)
    scored = rows["rank"].notna().to_numpy() & np.isfinite(estimates)
    labels = rows["ranking_group"].astype(str).to_numpy()
    rng = seeded_rng(params, "ranks")[0]
    found, tables = [], []
    for label in sorted(set(labels[scored])):
        at = np.flatnonzero(scored & (labels == label))
        if len(at) > fp.rank_max_units:
            continue
        cov = model.covariance(round_id, positions=at)[1]
        if not (np.diag(cov) > 0).all():
            continue
        tau = list_cap(rows["round_kind"].to_numpy()[at], len(at), params)
        try:
            # a listing joins the place with the score: each spends half of the error the statement may make
            table = rank_uncertainty(estimates[at], cov, tau, coverage=fp.rank_coverage, stepdown=fp.rank_stepdown,
                                     n_draws=fp.rank_draws, rng=rng, tau_coverage=1 - (1 - fp.rank_coverage) / 2)
        except InputError:
            continue
        found.append(at)
        tables.append(table)
    if not tables:
        return None
    return np.concatenate(found), pd.concat(tables, ignore_index=True)


def weight_sensitivity(
    scores: pd.DataFrame,
    indicators: pd.DataFrame,
    results: pd.DataFrame,
    params: Params,
    round_id: str | None = None,
) -> pd.DataFrame:
    """Would the list change if a source weight moved by ± ``fairness.weight_shift``?

    Parameters
    ----------
    scores, indicators, results, params
        As for `list_replicates`; ``fairness.weight_shift`` is the move.
    round_id : str, optional
        Defaults to ``params.round``.

    Returns
    -------
    DataFrame
        One row per (source, direction, unit), columns `WEIGHT_COLUMNS`, sorted by
        the order of `honorcalc.params.SOURCES`, direction ('down' before 'up'),
        group, observed rank and unit_id: ``source`` and ``direction``; ``weight``
        (the source's weight moved, before renormalisation) and ``shift`` (the move
        made: a weight stops at 0); the unit's observed ``score``, ``rank`` and
        ``list``; ``score_shifted``, ``rank_shifted`` and ``list_shifted`` under the
        moved weights; ``changed`` (the list differs).

    Notes
    -----
    Deterministic: one scenario per source with a score in the round and
    direction, the other weights as the rules fix them, the composite
    renormalised over the sources present (DESIGN.md scoring step 3), then the
    rules' rounding, ranking and cut (`list_replicates` with the measurement error
    off). A move that leaves the weights as they are (a weight of 0 moved down) is
    left out. This is a question about the policy, not about the data: it is kept
    apart from the measurement error of `list_stability`.
    """
    check_params(params)
    round_id = params.round if round_id is None else round_id
    check_rounds(results, params, [round_id], _RESULT_COLUMNS)
    lay = Layout(scores, indicators, results, params, [round_id])
    model = _ReplicateModel(lay, _NO_G_STUDY, params)
    shift = params.fairness.weight_shift
    base = lay.weights
    scenarios = []
    for k, source in enumerate(SOURCES):
        if not lay.present[lay.target_index, k].any():
            continue
        for direction, sign in (("down", -1.0), ("up", 1.0)):
            w = base.copy()
            w[k] = max(base[k] + sign * shift, 0.0)
            if w[k] == base[k] or w.sum() <= 0:
                continue
            scenarios.append((source, direction, w))
    rows = model.target_rows
    if not scenarios:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in WEIGHT_COLUMNS})
    weights = np.array([w for _, _, w in scenarios])
    score, rank, listed = model.run(len(scenarios), None, weights=weights)
    k = pd.Index(SOURCES)
    parts = []
    for j, (source, direction, w) in enumerate(scenarios):
        part = rows[["unit_id", "name", "group", "score", "rank", "list"]].copy()
        part.insert(0, "round_id", rows["round_id"].to_numpy())
        part.insert(1, "source", source)
        part.insert(2, "direction", direction)
        part.insert(3, "weight", w[k.get_loc(source)])
        part.insert(4, "shift", w[k.get_loc(source)] - base[k.get_loc(source)])
        part["score_shifted"] = score[j]
        part["rank_shifted"] = rank[j]
        part["list_shifted"] = _LISTS[listed[j]]
        part["changed"] = part["list_shifted"].to_numpy() != part["list"].fillna("").to_numpy()
        part["_order"] = j
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["_order", "group", "rank", "unit_id"], kind="stable", na_position="last")
    return out[list(WEIGHT_COLUMNS)].reset_index(drop=True)


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
