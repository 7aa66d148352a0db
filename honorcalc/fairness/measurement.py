"""How precise is each unit's score? One measurement model of every source, from the G-study (RULES.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ..data.contract import text_ids
from ..errors import InputError
from ..params import SOURCES, Params
from ..rules.scoring import row_key
from .base import CELL, cell_codes, check_params, require, rescaled, sorted_ids
from .variance import variance_components

__all__ = ["SOURCE_ERROR_COLUMNS", "UNIT_ERROR_COLUMNS", "MeasurementModel", "Layout", "ErrorModel", "measurement_model",
           "error_model", "check_rounds", "point_components"]

SOURCE_ERROR_COLUMNS = (
    "round_id", "unit_id", "source", "n_scores", "n_indicators", "n_raters", "score", "weight",
    "var_rater", "var_halo", "var_residual", "error_var", "status", "note",
)
UNIT_ERROR_COLUMNS = (
    "round_id", "unit_id", "score", "se", *(f"error_var_{s}" for s in SOURCES), "status", "note",
)

_RESULT_COLUMNS = ("round_id", "unit_id", "work", "seq", "score", "deduction")


class Layout:
    """Score rows of the rounds modelled and their (round, unit) rows, laid out as arrays.

    ``res`` holds the results of the rounds asked for and of the trailing rounds that
    history blends into them; ``s`` the rescaled score rows of those rounds, sorted by
    cell and rater. Per score row: ``cell``, ``m`` (raters of its cell), ``ur`` (its
    row of ``res``), ``col`` (its (unit-round, source) column, ``ur · 5 + source``).
    """

    def __init__(self, scores, indicators, results, params: Params, round_ids):
        res = results.reset_index(drop=True)
        needed = set(round_ids)
        h = params.history
        if h.weight > 0 and h.rounds > 0:
            target = res[res["round_id"].isin(round_ids)][["work", "seq"]].drop_duplicates()
            info = res[["round_id", "work", "seq"]].drop_duplicates("round_id")
            for work, seq in target.itertuples(index=False):
                back = info[(info["work"] == work) & (info["seq"] < seq) & (info["seq"] >= seq - h.rounds)]
                needed |= set(back["round_id"])
        self.res = res = res[res["round_id"].isin(needed)].reset_index(drop=True)
        s = rescaled(scores[scores["round_id"].isin(needed)], indicators)
        cell, n_cells = cell_codes(s, CELL)
        order = np.lexsort((sorted_ids(s["rater_id"])[1], cell))
        self.s, self.cell = s.iloc[order].reset_index(drop=True), cell[order]
        self.n_cells = n_cells
        size = np.bincount(self.cell, minlength=n_cells)
        self.first = np.searchsorted(self.cell, np.arange(n_cells))
        # the rows of a cell share its round and unit: look each cell up once
        heads = self.s[["round_id", "unit_id"]].iloc[self.first]
        ur = pd.Index(row_key(res)).get_indexer(row_key(heads))[self.cell]
        if (ur < 0).any():
            bad = self.s.loc[ur < 0].iloc[0]
            raise InputError(
                f"scores of unit {bad['unit_id']!r} in round {bad['round_id']!r} have no row in the results "
                "(evaluate the same dataset)", file="scores")
        self.ur = ur
        self.n_ur = len(res)
        self.m = size[self.cell].astype(float)
        src_code, src_ids = pd.factorize(self.s["source"])
        self.src = np.append(pd.Index(SOURCES).get_indexer(src_ids), -1)[src_code]
        round_code, rounds = pd.factorize(heads["round_id"].astype(str))
        round_code = round_code[self.cell]
        self.rounds = np.asarray(rounds, dtype=object)
        self.round_source = round_code.astype(np.int64) * len(SOURCES) + self.src
        rater, raters = pd.factorize(text_ids(self.s["rater_id"]))
        self.rater, self.n_raters = rater.astype(np.int64), max(len(raters), 1)
        self.col = ur * len(SOURCES) + self.src
        cell_max = self.s["max_points"].to_numpy()[self.first]
        self.total = np.bincount(self.col[self.first], weights=cell_max, minlength=self.n_ur * len(SOURCES))
        self.present = (self.total > 0).reshape(self.n_ur, len(SOURCES))
        self.weights = np.array([params.weights.as_dict()[k] for k in SOURCES])
        is_target = res["round_id"].isin(round_ids).to_numpy()
        self.target_index = np.flatnonzero(is_target)
        self.targets = res.loc[is_target]
        self.lags = None
        if h.weight > 0 and h.rounds > 0:
            key = pd.Index(row_key(res, ["unit_id", "work", "seq"]))
            lags = []
            for lag in range(1, h.rounds + 1):
                shifted = self.targets.assign(seq=self.targets["seq"] - lag)
                lags.append(key.get_indexer(row_key(shifted, ["unit_id", "work", "seq"])))
            self.lags = np.column_stack(lags)

    def source_shares(self) -> np.ndarray:
        """(n_ur, 5): each source's weight renormalised over the sources present (RULES.md §1.2)."""
        w = np.where(self.present, self.weights[None, :], 0.0)
        total = w.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, w / total, 0.0)

    def blend_matrix(self, params: Params, observed: np.ndarray) -> sparse.csr_matrix:
        """(targets × n_ur) map of composites to ranked scores: the history blend of `composite_scores`."""
        n_t = len(self.target_index)
        rows, cols, vals = [np.arange(n_t)], [self.target_index], [np.ones(n_t)]
        if self.lags is not None:
            w = params.history.weight
            valid = self.lags >= 0
            n_past = valid.sum(axis=1)
            blend = (n_past > 0) & ~np.isnan(observed)
            vals[0] = np.where(blend, 1.0 - w, 1.0)
            r, k = np.nonzero(valid & blend[:, None])
            rows.append(r)
            cols.append(self.lags[r, k])
            vals.append(w / n_past[r])
        return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                 shape=(n_t, self.n_ur))


def _source_status(g: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Status and note of the error of each (round, source) G-study row."""
    rpc = g["raters_per_cell"].to_numpy(dtype=float)
    n_raters = g["n_raters"].to_numpy()
    failed = ~np.isfinite(g["var_unit"].to_numpy(dtype=float)) | ~np.isfinite(g["var_residual"].to_numpy(dtype=float))
    single = (n_raters < 2) & (rpc <= 1.0)
    approximate = np.zeros(len(g), dtype=bool)
    if "status" in g.columns:
        # the G-study's own verdict: 'not_estimable' when one rater scored the whole source,
        # 'approximate' when each unit had one rater (the halo is then part of the unit's level)
        verdict = g["status"].astype(str).to_numpy()
        single |= (verdict == "not_estimable") & ~failed
        approximate = (verdict == "approximate") & ~failed & ~single
    conditions = [failed, single, approximate, rpc > 1.0]
    status = np.select(conditions, ["not_estimable", "not_estimable", "approximate", "estimated"], "upper_bound")
    note = np.select(
        conditions,
        ["the G-study could not separate the units from the residual: the error of this source is unknown",
         "one rater scored the whole source (or one score per unit × indicator: final scores only), so rater "
         "error cannot be told from the units' own scores: the error of this source is unknown",
         "one rater per unit: the error counts the raters' severity and the residual (which also holds the "
         "units' indicator-specific differences), but not a rater's lasting impression of a unit: approximate",
         ""],
        "one rater per unit × indicator: the residual, taken as error, also holds the units' "
        "indicator-specific differences (an upper bound)")
    return status, note


def _component(g: pd.DataFrame, name: str) -> np.ndarray:
    if name not in g.columns:
        return np.zeros(len(g))
    return np.nan_to_num(g[name].to_numpy(dtype=float))


def _row_components(lay: "Layout", g: pd.DataFrame):
    """Per score row: the status and note of its (round, source) G-study, its components, and whether known.

    Computed once per layout and G-study (the replicates and the covariance share them).
    """
    cached = getattr(lay, "_row_cache", None)
    if cached is not None and cached[0] is g:
        return cached[1]
    status, note = _source_status(g)
    g_round = pd.Index(lay.rounds).get_indexer(g["round_id"].astype(str))
    g_src = pd.Index(SOURCES).get_indexer(g["source"])
    lookup = np.full(len(lay.rounds) * len(SOURCES), -1)
    ok = (g_round >= 0) & (g_src >= 0)
    lookup[g_round[ok] * len(SOURCES) + g_src[ok]] = np.flatnonzero(ok)
    # one entry per G-study row and a last one for rows without a G-study (index -1)
    at = lookup[lay.round_source]
    key_status = np.append(status.astype(object), "not_estimable").astype(object)
    key_note = np.append(note.astype(object), "no G-study of this round and source").astype(object)
    row_status, row_note = key_status[at], key_note[at]
    comp = {name: np.append(_component(g, name), 0.0)[at]
            for name in ("var_rater", "var_unit_x_rater", "var_residual")}
    known = (key_status != "not_estimable")[at]
    out = row_status, row_note, comp, known
    lay._row_cache = (g, out)
    return out


class ErrorModel:
    """The error of every score row, as independent and shared Gaussian parts.

    A score row of rater r on unit p and indicator i (points of 100) errs by
    ``ρ_r + η_pr + e_pir``: the rater's severity ρ (σ²_rater, one draw per rater of
    the round and source, shared by every unit it scored), the rater's halo on the
    unit η (σ²_unit×rater, one draw per rater and unit, shared by every indicator it
    scored there) and the residual e (σ²_residual). A cell's mean divides by its m
    raters, and a row enters the sum of points of its block with ``max_points / 100``,
    so the row's loading is ``c = max_points / (100 m)``.

    ``block`` groups the rows whose sum of points is needed; ``block_var`` is the
    variance of the independent part of each block's error, ``shared`` the
    (effects × blocks) loadings of the shared effects and ``effect_var`` their
    variances. Halo effects are folded into ``block_var`` when each touches a single
    block. Rows of a source whose error is not estimable carry no error.
    """

    def __init__(self, lay: Layout, g: pd.DataFrame, block: np.ndarray, n_blocks: int):
        _, _, comp, usable = _row_components(lay, g)
        var_r = np.where(usable, comp["var_rater"], 0.0)
        var_h = np.where(usable, comp["var_unit_x_rater"], 0.0)
        var_e = np.where(usable, comp["var_residual"], 0.0)
        c = lay.s["max_points"].to_numpy() / (100.0 * lay.m)

        self.block_var = np.bincount(block, weights=var_e * c * c, minlength=n_blocks)
        sev_key = pd.factorize(lay.round_source * lay.n_raters + lay.rater)[0]
        halo_key = pd.factorize(lay.col.astype(np.int64) * lay.n_raters + lay.rater)[0]
        sev = sparse.csr_matrix((c, (sev_key, block)), shape=(sev_key.max(initial=-1) + 1, n_blocks))
        sev_var = np.zeros(sev.shape[0])
        sev_var[sev_key] = var_r
        halo = sparse.csr_matrix((c, (halo_key, block)), shape=(halo_key.max(initial=-1) + 1, n_blocks))
        halo_var = np.zeros(halo.shape[0])
        halo_var[halo_key] = var_h
        blocks_per_halo = np.diff(halo.indptr)
        if (blocks_per_halo <= 1).all():
            self.block_var += np.asarray(halo.multiply(halo).T @ halo_var).ravel()
            shared, effect_var = sev, sev_var
        else:
            shared, effect_var = sparse.vstack([sev, halo]).tocsr(), np.concatenate([sev_var, halo_var])
        keep = (effect_var > 0) & (np.diff(shared.indptr) > 0)
        self.shared = shared[keep].tocsr()
        self.effect_var = effect_var[keep]
        self.effect_sd = np.sqrt(self.effect_var)
        self.block_sd = np.sqrt(self.block_var)
        self.has_error = bool(self.block_var.any() or self.effect_var.any())

    def draw(self, n: int, rng) -> np.ndarray:
        """(n, n_blocks) errors of the blocks' sums of points."""
        # one call per replicate row, so the draws do not depend on how replicates are chunked
        z = rng.standard_normal((n, len(self.block_sd) + len(self.effect_sd)))
        out = z[:, :len(self.block_sd)]
        out *= self.block_sd
        if len(self.effect_sd):
            shared = z[:, len(self.block_sd):]
            shared *= self.effect_sd
            out += (self.shared.T @ shared.T).T
        return out


@dataclass(frozen=True, eq=False)
class _Covariance:
    """The error covariance of the ranked scores, kept in factors: B diag(indep) Bᵀ + S diag(v) Sᵀ.

    B maps unit-rounds to ranked scores (the history blend), ``indep`` is each
    unit-round's own error variance, S the loading of each shared effect (a rater's
    severity) on the ranked scores and v its variance.
    """

    blend: sparse.csr_matrix
    indep: np.ndarray
    shared: sparse.csr_matrix
    effect_var: np.ndarray

    def of(self, rows: np.ndarray) -> np.ndarray:
        """The dense covariance of the ranked scores ``rows``."""
        b, s = self.blend[rows], self.shared[rows]
        out = (b @ sparse.diags(self.indep) @ b.T + s @ sparse.diags(self.effect_var) @ s.T)
        return np.asarray(out.toarray() if sparse.issparse(out) else out)


@dataclass(frozen=True, eq=False)
class MeasurementModel:
    """The measurement error of every unit's score in every source of the rounds modelled.

    Attributes
    ----------
    sources : DataFrame
        One row per (round, unit, source) scored, columns `SOURCE_ERROR_COLUMNS`:
        ``n_scores``, ``n_indicators`` and ``n_raters`` of the unit's source score;
        the source ``score`` (0-100); ``weight`` (the rules' weight renormalised over
        the unit's sources present); the error variance of the source score split
        into ``var_rater`` (σ²_rater Σ_r a²_pr), ``var_halo`` (σ²_unit×rater Σ_r
        a²_pr) and ``var_residual`` (σ²_residual Σ_i w²_i / m_pi), and their sum
        ``error_var`` (points of 100, squared; NaN when not estimable); ``status``
        ('estimated', 'upper_bound', 'approximate' or 'not_estimable') and ``note``.
    units : DataFrame
        One row per (round, unit) of the rounds asked for, columns
        `UNIT_ERROR_COLUMNS`: the ranked ``score`` (from the results), its
        measurement standard error ``se`` (NaN without a score), the error variance
        each source brings into it (``error_var_field`` …, weighted by its squared
        share, 0 for a source absent or with weight 0, NaN when not estimable),
        ``status`` ('estimated', 'not_estimable' when a source with positive
        weight has an unknown error; the se then leaves that source out) and
        ``note``.
    components : DataFrame
        The G-study used (`honorcalc.fairness.variance_components`).
    """

    sources: pd.DataFrame
    units: pd.DataFrame
    components: pd.DataFrame
    _covariance: _Covariance
    _round_of_row: np.ndarray

    def covariance(self, round_id: str, positions=None) -> tuple[pd.DataFrame, np.ndarray]:
        """Rows of ``units`` for one round and the error covariance matrix of their scores.

        Units that share a rater covary through its severity; sources with an
        unknown error contribute nothing (see ``units['status']``). The matrix is
        dense and built when asked for: of the round's units, or of those at
        ``positions`` among them (a ranking group), so its memory is that group's.
        """
        rows = np.flatnonzero(self._round_of_row == round_id)
        chosen = rows if positions is None else rows[np.asarray(positions, dtype=np.int64)]
        return self.units.iloc[rows].reset_index(drop=True), self._covariance.of(chosen)


def point_components(scores, indicators, params: Params, lay: Layout, components=None) -> pd.DataFrame:
    """``components`` when given, else the G-study of every round of the layout, point estimates only
    (the error model uses the σ², not their intervals, so the bootstrap is not run)."""
    if components is not None:
        return components
    fp = params.fairness.model_copy(update={"gstudy_bootstrap": 0})
    rounds = scores["round_id"].isin(lay.res["round_id"].unique())
    return variance_components(scores[rounds], indicators, params.model_copy(update={"fairness": fp}))


def check_rounds(results: pd.DataFrame, params: Params, round_ids=None, columns=_RESULT_COLUMNS) -> list:
    """The rounds asked for (default ``[params.round]``), checked to be in ``results``, which has ``columns``."""
    check_params(params)
    require(results, "results", columns)
    round_ids = [params.round] if round_ids is None else list(round_ids)
    missing = sorted(set(round_ids) - set(results["round_id"].astype(str).unique()))
    if missing:
        raise InputError(f"round(s) {', '.join(map(repr, missing))} not in the results", file="rounds")
    return round_ids


def measurement_model(
    scores: pd.DataFrame,
    indicators: pd.DataFrame,
    results: pd.DataFrame,
    params: Params,
    *,
    round_ids=None,
    components: pd.DataFrame | None = None,
) -> MeasurementModel:
    """The error of every unit's source and composite scores, from the G-study.

    Parameters
    ----------
    scores : DataFrame
        Score rows of the rounds and, when history is blended, of their trailing rounds.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    results : DataFrame
        `honorcalc.rules.Evaluation.results` of the same rounds (``round_id``,
        ``unit_id``, ``work``, ``seq``, ``score``, ``deduction``).
    params : Params
        ``weights`` and ``history``.
    round_ids : sequence of str, optional
        Defaults to ``[params.round]``.
    components : DataFrame, optional
        `variance_components` of those score rows, when already computed.

    Returns
    -------
    MeasurementModel

    Raises
    ------
    InputError
        Missing columns, a round not in ``results``, or score rows of a (round,
        unit) that ``results`` lacks.

    Notes
    -----
    The G-study model of `variance_components` (Brennan, 2001 [1]_), with the
    unit × rater (halo) component when the G-study reports one, gives each score
    row of rater r on unit p and indicator i the error ρ_r + η_pr + e_pir. A unit's
    source score S_p = Σ_i w_i ȳ_pi, w_i = max_points_i / Σ max_points over its
    indicators and ȳ_pi the mean of its m_pi raters (DESIGN.md scoring steps 1-2),
    has with its actual design the absolute error variance

    .. math:: \\sigma^2_{\\Delta,p} = \\sigma^2_r \\sum_r a_{pr}^2
              + \\sigma^2_{ur} \\sum_r a_{pr}^2 + \\sigma^2_e \\sum_i \\frac{w_i^2}{m_{pi}},
              \\quad a_{pr} = \\sum_{i \\ni r} \\frac{w_i}{m_{pi}},

    Brennan's σ²(Δ) for an unbalanced design, unit by unit. The composite
    Σ_s ω_ps S_ps (ω the rules' weights renormalised over the sources present) has
    error variance Σ_s ω²_ps σ²_Δ,ps: sources are scored by different raters, so
    their errors are independent. Units covary through a shared rater's severity:
    cov = Σ_s ω_ps ω_qs σ²_r Σ_r a_psr a_qsr. History blending is the linear map of
    `honorcalc.rules.scoring.composite_scores`, and each round's raters are taken afresh
    (the G-study is per round). Deductions and survey vetoes are facts, not
    measurements, and the clamp to 0-100 is left out of the variance.

    A source's error is 'estimated' when some unit × indicator has two raters (the
    residual is then rater noise alone); 'upper_bound' with one rater per unit ×
    indicator but several raters, where the residual also holds the units'
    indicator-specific differences; 'approximate' when each unit had one rater of
    several (the raters' severity and the residual are measured, but a rater's
    lasting impression of the one unit it scored cannot be, and is left out);
    'not_estimable' with one rater for the whole source (final scores only) or no
    G-study: nothing in the data tells rater error from the units' own differences.

    References
    ----------
    .. [1] Brennan, R. L. (2001). Generalizability Theory. New York: Springer.
    """
    round_ids = check_rounds(results, params, round_ids)
    lay = Layout(scores, indicators, results, params, round_ids)
    g = point_components(scores, indicators, params, lay, components)
    return error_model(lay, g, params)


def error_model(lay: Layout, g: pd.DataFrame, params: Params, error: ErrorModel | None = None) -> MeasurementModel:
    """`measurement_model` of a layout; ``error``: its `ErrorModel` by column, when already built."""
    n_cols = lay.n_ur * len(SOURCES)
    err = ErrorModel(lay, g, lay.col, n_cols) if error is None else error
    scale = np.zeros(n_cols)
    np.divide(100.0, lay.total, out=scale, where=lay.total > 0)
    # per column: severity, halo and residual parts of σ²_Δ from the row loadings
    row_status, row_note, comp_of_row, known = _row_components(lay, g)
    f = lay.s["max_points"].to_numpy() / lay.m / lay.total[lay.col]  # w_i / m_pi
    rater = pd.factorize(lay.col.astype(np.int64) * lay.n_raters + lay.rater)[0]
    a = np.bincount(rater, weights=f)
    rater_col = np.zeros(len(a), dtype=np.int64)
    rater_col[rater] = lay.col
    a2 = np.bincount(rater_col, weights=a * a, minlength=n_cols)
    e2 = np.bincount(lay.col, weights=f * f, minlength=n_cols)
    col_var = {}
    for name, part, weights in (("var_rater", "var_rater", a2), ("var_halo", "var_unit_x_rater", a2),
                                ("var_residual", "var_residual", e2)):
        comp = np.where(known, comp_of_row[part], 0.0)
        per_col = np.zeros(n_cols)
        per_col[lay.col] = comp
        col_var[name] = per_col * weights
    col_known = np.ones(n_cols, dtype=bool)
    col_known[lay.col[~known]] = False
    error_var = np.where(col_known, col_var["var_rater"] + col_var["var_halo"] + col_var["var_residual"], np.nan)

    shares = lay.source_shares().ravel()
    first_of_col = np.unique(lay.col, return_index=True)[1]
    cols = lay.col[first_of_col]
    rows_src = lay.s.iloc[first_of_col]
    n_ind = np.bincount(lay.col[lay.first], minlength=n_cols)
    n_scores = np.bincount(lay.col, minlength=n_cols)
    n_raters = np.bincount(rater_col, minlength=n_cols)
    source_score = np.bincount(lay.col, weights=lay.s["points"].to_numpy(dtype=float) / lay.m, minlength=n_cols)
    sources = pd.DataFrame({
        "round_id": rows_src["round_id"].to_numpy(), "unit_id": rows_src["unit_id"].to_numpy(),
        "source": rows_src["source"].to_numpy(), "n_scores": n_scores[cols], "n_indicators": n_ind[cols],
        "n_raters": n_raters[cols], "score": source_score[cols] * scale[cols], "weight": shares[cols],
        **{k: np.where(col_known[cols], v[cols], np.nan) for k, v in col_var.items()},
        "error_var": error_var[cols], "status": row_status[first_of_col], "note": row_note[first_of_col],
    })
    src_order = pd.Index(SOURCES).get_indexer(sources["source"])
    sources = sources.assign(_o=src_order).sort_values(["round_id", "unit_id", "_o"], kind="stable")
    sources = sources.drop(columns="_o").reset_index(drop=True)

    # composite: independent part per unit-round and shared severities mapped onto unit-rounds
    omega = shares.reshape(lay.n_ur, len(SOURCES))
    weighted = np.where(col_known, shares * shares * np.nan_to_num(error_var), 0.0).reshape(lay.n_ur, len(SOURCES))
    unknown = (~col_known.reshape(lay.n_ur, len(SOURCES))) & (omega > 0)
    sev_rows = err.effect_var > 0
    # severity of a rater loads on its columns' sums of points; ×100/total to the source, ×ω to the composite
    to_ur = sparse.csr_matrix((shares * scale, (np.arange(n_cols), np.arange(n_cols) // len(SOURCES))),
                              shape=(n_cols, lay.n_ur))
    # everything stays sparse: a city's covariance is dense only for the rows asked of `covariance`
    load = sparse.csr_matrix(err.shared[sev_rows] @ to_ur)  # shared effects × unit-rounds
    effect_var = err.effect_var[sev_rows]
    indep = weighted.sum(axis=1) - np.asarray(load.multiply(load).T @ effect_var).ravel()
    indep = np.maximum(indep, 0.0)
    observed = lay.targets["score"].to_numpy(dtype="float64", na_value=np.nan)
    blend = sparse.csr_matrix(lay.blend_matrix(params, observed))
    shared = sparse.csr_matrix(blend @ load.T)  # targets × shared effects
    variance = (np.asarray(blend.multiply(blend) @ indep).ravel()
                + np.asarray(shared.multiply(shared) @ effect_var).ravel())
    se = np.sqrt(np.clip(variance, 0.0, None))
    cov = _Covariance(blend, indep, shared, effect_var)
    t = lay.target_index
    unit_unknown = unknown[t]
    if lay.lags is not None:
        for k in range(lay.lags.shape[1]):
            lag = lay.lags[:, k]
            unit_unknown = unit_unknown | np.where((lag >= 0)[:, None], unknown[np.maximum(lag, 0)], False)
    per_source = np.where(unknown[t], np.nan, weighted[t])
    names = np.array(SOURCES)
    units = pd.DataFrame({
        "round_id": lay.targets["round_id"].to_numpy(), "unit_id": lay.targets["unit_id"].to_numpy(),
        "score": observed, "se": np.where(np.isnan(observed), np.nan, se),
        **{f"error_var_{s}": per_source[:, k] for k, s in enumerate(SOURCES)},
        "status": np.where(unit_unknown.any(axis=1), "not_estimable", "estimated"),
        "note": ["" if not u.any() else
                 "error of " + ", ".join(names[u]) + " cannot be estimated from these data; the se leaves it out"
                 for u in unit_unknown],
    })
    return MeasurementModel(sources, units, g, cov, units["round_id"].to_numpy())
