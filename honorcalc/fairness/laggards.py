"""Who is a persistent laggard, as opposed to unlucky once? (RULES.md §3)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps
from scipy.special import ndtri

from ..errors import InputError
from ..params import Params
from ..rules.scoring import row_key
from .base import check_params, require, round_order, seeded_rng

__all__ = ["LAGGARD_COLUMNS", "LAGGARD_RULES", "LaggardResult", "flag_laggards", "year_window", "sort_rules", "CALIBRATION_COLUMNS", "EVIDENCE_COLUMNS"]

LAGGARD_COLUMNS = (
    "round_id", "unit_id", "name", "rule", "measure", "evidence", "threshold", "p_value", "ci_low",
    "ci_high", "rounds", "n_rounds", "false_alarm_rate", "seed", "q_value", "fdr", "rules",
)

LAGGARD_RULES = ("persistent", "listed_k_of_n", "cusum", "mann_kendall", "shortfall", "open_visit")

#: The rules whose evidence the one decision per unit combines, in the order of their statistics.
_RULES = ("listed_k_of_n", "cusum", "mann_kendall", "shortfall")

EVIDENCE_COLUMNS = (
    "unit_id", "listed", "cusum", "trend_p", "decline", "n_rounds", "shortfall", "p_listed", "p_cusum",
    "p_shortfall", "p_value", "q_value", "status", "rules", "note",
)

CALIBRATION_COLUMNS = (
    "rule", "threshold", "target_rate", "achieved_rate", "n_null_units", "n_rounds", "seed", "fdr",
    "flag_rate", "serial_correlation", "status", "note",
)

#: Null cities of the laggard calibration are simulated this many (unit, round)s at a time.
_NULL_CELLS = 250_000

_TOO_FEW = "too few rounds to tell a persistent laggard from bad luck"


@dataclass(frozen=True, eq=False)
class LaggardResult:
    """What `flag_laggards` returns.

    Attributes
    ----------
    table : DataFrame
        One row per unit called a persistent laggard, columns `LAGGARD_COLUMNS`:
        ``rule`` is ``'persistent'``; ``measure`` and ``evidence`` the unit's mean
        shortfall below its group (sd, its worst rounds counted as described in
        `flag_laggards`); ``threshold`` the p-value level (``false_alarm_rate``);
        ``p_value`` and ``q_value`` the unit's; ``fdr`` the false-discovery rate
        used; ``rules`` the rules that carried the decision (``;``-joined, from
        `_RULES`); ``rounds`` the rounds behind them; ``false_alarm_rate`` the
        per-unit false-alarm rate achieved on the null cities.
    calibration : DataFrame
        `CALIBRATION_COLUMNS`, one row per rule and a last row ``'persistent'`` for
        the decision: ``threshold`` (rule A: hits needed; B: the reference value k;
        C: the decline needed, sd; persistent: the p-value level), ``target_rate``
        (the stated false-alarm rate, persistent only), ``achieved_rate`` (share of
        null units whose p-value, of the rule or combined, is ≤ the level),
        ``flag_rate`` (persistent: share of null units called after the FDR
        control in their null city), ``fdr``, ``serial_correlation`` (lag-1
        correlation of the luck the null keeps), ``status`` (``'calibrated'`` or
        ``'cannot_tell'``) and ``note``.
    evidence : DataFrame
        `EVIDENCE_COLUMNS`, every unit, flagged or not: ``listed`` (rule A count),
        ``cusum`` (rule B, max of the statistic), ``trend_p`` (rule C's p-value),
        ``decline`` (sd over the year), ``n_rounds`` (ranked rounds in the
        window), ``shortfall``, ``p_listed``, ``p_cusum``, the combined
        ``p_value`` and its ``q_value``, ``status`` (``'laggard'``,
        ``'below_average'`` (a real shortfall smaller than
        ``laggard_min_shortfall``), ``'no_evidence'`` or ``'cannot_tell'``),
        ``rules`` and ``note``.
    """

    table: pd.DataFrame
    calibration: pd.DataFrame
    evidence: pd.DataFrame


def _cusum(z: np.ndarray, k: float, spans: bool = True, by_time: np.ndarray | None = None):
    """One-sided CUSUM of the shortfall -z over the last axis (NaN = not evaluated).

    Returns the maximum of S_t = max(0, S_{t-1} - z_t - k), and the first and last
    position of the excursion that reached it (None without ``spans``: the null cities
    need only the maximum). ``by_time`` is z with its last axis moved first, if at hand.
    """
    s = np.zeros(z.shape[:-1])
    best = np.zeros_like(s)
    start = np.zeros(s.shape, dtype=int)
    best_start = np.zeros(s.shape, dtype=int)
    best_end = np.full(s.shape, -1)
    if by_time is None:
        by_time = np.ascontiguousarray(np.moveaxis(z, -1, 0))
    seen_t = ~np.isnan(by_time)
    for t, (zt, seen) in enumerate(zip(np.where(seen_t, by_time, 0.0), seen_t)):
        new = np.maximum(0.0, s - zt - k)
        if spans:
            start = np.where(seen & (s == 0) & (new > 0), t, start)
        s = np.where(seen, new, s)
        higher = s > best
        best = np.where(higher, s, best)
        if spans:
            best_start = np.where(higher, start, best_start)
            best_end = np.where(higher, t, best_end)
    return (best, best_start, best_end) if spans else (best, None, None)


def _decline(z: np.ndarray, seen: np.ndarray | None = None, total: np.ndarray | None = None) -> np.ndarray:
    """Least-squares decline of z over the span of its rounds (last axis; NaN skipped).

    ``seen`` (~isnan(z), or its last two axes when every leading index shares them) and
    ``total`` (the sum of z over its rounds) are taken when given.
    """
    if seen is None:
        seen = ~np.isnan(z)
    if total is None:
        total = np.where(seen, z, 0.0).sum(axis=-1)
    t = np.arange(z.shape[-1], dtype=float)
    # sums of small whole numbers: exact in any order
    n = seen @ np.ones_like(t)
    first = seen.argmax(axis=-1)
    final = z.shape[-1] - 1 - seen[..., ::-1].argmax(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = (seen @ t) / n
        z_mean = total / n
        dt = np.where(seen, t - t_mean[..., None], 0.0)
        slope = (dt * np.where(seen, z - z_mean[..., None], 0.0)).sum(axis=-1) / (dt**2).sum(axis=-1)
    return np.where(n >= 2, -slope * (final - first), np.nan)


def _last_n(seen: np.ndarray, n: int) -> np.ndarray:
    """Mask of each unit's last n evaluated rounds (last axis in time order)."""
    from_end = np.cumsum(seen[..., ::-1], axis=-1)[..., ::-1]
    return seen & (from_end <= n)


def year_window(results: pd.DataFrame, round_id: str) -> pd.DataFrame:
    """The results of the report round's calendar year up to and including it."""
    current = results.loc[results["round_id"] == round_id]
    if current.empty:
        known = ", ".join(sorted(results["round_id"].astype(str).unique())[:10])
        raise InputError(f"round {round_id!r} is not in the results (rounds: {known})", file="rounds")
    date, year = current["date"].iloc[0], current["year"].iloc[0]
    return results[(results["year"] == year) & (results["date"] <= date)]


def _unit_rows(window: pd.DataFrame, params: Params):
    """The ranked (unit, round)s of the window: units, rounds (time order), and per row the unit,
    round position, (round, ranking group) code, standardized score z and rule A's hit."""
    rounds = round_order(window)["round_id"].to_numpy()
    units = np.sort(window["unit_id"].astype(str).unique())
    w = window[window["ranked"].astype(bool)]
    score = w["score"].to_numpy(dtype="float64")
    g = w.groupby(["round_id", "ranking_group"], sort=False)["score"]
    mean, sd = g.transform("mean").to_numpy(), g.transform("std").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd > 0, (score - mean) / sd, np.nan)
    # a (round, group) whose units all tie, or that has one unit, says nothing of anyone's
    # standing: its rows are left out, as if the round had not been held for them
    informative = np.isfinite(z)
    w, z = w[informative], z[informative]
    u = np.searchsorted(units, w["unit_id"].astype(str).to_numpy())
    t = pd.Index(rounds).get_indexer(w["round_id"])
    # the bottom ranking holds every scored unit, vetoed ones too (rules.ranking.rankings)
    n_ranked = w["n_ranked_bottom" if "n_ranked_bottom" in w.columns else "n_ranked"].to_numpy(dtype="float64")
    bottom = w["rank_bottom"].to_numpy(dtype="float64", na_value=np.nan) <= np.ceil(
        np.round(params.fairness.bottom_share * n_ranked, 9))
    hit = (w["list"] == "black").to_numpy() | bottom
    group = pd.factorize(row_key(w, ["round_id", "ranking_group"]))[0]
    return units, rounds, u, t, group, z, hit


def _winsorize(z: np.ndarray, m: int, seen: np.ndarray | None = None) -> np.ndarray:
    """Each series (last axis, NaN = not ranked) with its m - 1 lowest values raised to its m-th lowest.

    A unit's shortfall then needs m rounds: one catastrophic round weighs no more than
    the unit's next-worst round. Series with fewer than m values are left as they are.
    ``seen`` is ~isnan(z), if at hand.
    """
    if m <= 1 or z.shape[-1] < m:
        return z
    if seen is None:
        seen = ~np.isnan(z)
    floor = np.partition(np.where(seen, z, np.inf), m - 1, axis=-1)[..., m - 1]
    floor = np.where(np.isfinite(floor), floor, -np.inf)
    return np.where(seen, np.maximum(z, floor[..., None]), np.nan)


def _mann_kendall_s(z: np.ndarray, by_time: np.ndarray | None = None) -> np.ndarray:
    """Mann's (1945) S = Σ_{i<j} sign(z_j - z_i) along the last axis, NaN skipped.

    ``by_time`` is z with its last axis moved first, if at hand.
    """
    if by_time is None:
        by_time = np.ascontiguousarray(np.moveaxis(z, -1, 0))
    n = len(by_time)
    count = np.int16 if n < 256 else np.int64
    s = np.zeros(z.shape[:-1], dtype=count)
    # each round against all earlier ones: passes over whole planes, not short rows; a
    # comparison with NaN is false
    for j in range(1, n):
        # j comparisons: their counts fit in a byte below 128
        partial = np.int8 if j < 128 else count
        s += (by_time[j] > by_time[:j]).view(np.int8).sum(axis=0, dtype=partial)
        s -= (by_time[j] < by_time[:j]).view(np.int8).sum(axis=0, dtype=partial)
    return s.astype(float)


def _statistics(z: np.ndarray, hit: np.ndarray, last: np.ndarray, params: Params,
                seen: np.ndarray | None = None) -> np.ndarray:
    """The four rules' statistics, larger = more behind, shape (4, *z.shape[:-1]).

    z and hit are (..., units, rounds); the statistics are of the winsorized z (`_winsorize`):
    A the hits in the last ``laggard_n`` rounds, 0 below max(``laggard_k``,
    ``laggard_min_rounds``); B the maximum CUSUM of the shortfall; C Mann's -S where the
    least-squares decline is at least ``trend_min``, else -inf; D the mean shortfall -z̄.
    ``seen`` (units, rounds) is ~isnan(z) when every leading index shares it.
    """
    fp = params.fairness
    seen = ~np.isnan(z) if seen is None else seen
    zw = _winsorize(z, fp.laggard_min_rounds, seen)
    total = np.where(seen, zw, 0.0).sum(axis=-1)
    by_time = np.ascontiguousarray(np.moveaxis(zw, -1, 0))
    count = (hit & last).sum(axis=-1)
    listed = np.where(count >= max(fp.laggard_k, fp.laggard_min_rounds), count, 0).astype(float)
    cusum = _cusum(zw, fp.cusum_k, spans=False, by_time=by_time)[0]
    with np.errstate(invalid="ignore"):
        trend = np.where(_decline(zw, seen, total) >= fp.trend_min, -_mann_kendall_s(zw, by_time), -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        shortfall = -total / seen.sum(axis=-1)
    return np.stack([listed, cusum, trend, np.where(np.isnan(shortfall), -np.inf, shortfall)])


def _normal_scores(z: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Φ⁻¹((rank - ½) / n) of each row's z within its (round, group); NaN where z is."""
    frame = pd.DataFrame({"z": z, "g": group})
    rank = frame.groupby("g")["z"].rank(method="average").to_numpy()
    n = frame.groupby("g")["z"].transform("count").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ndtri((rank - 0.5) / n)


def _serial_correlation(scores: np.ndarray) -> float:
    """Lag-1 correlation ρ of an AR(1) luck, from a units × rounds matrix of normal scores.

    Each unit's series is centred on its own mean, which removes any lasting difference
    between units; the pooled lag-1 autocorrelation r of the centred series (pairs of
    consecutive rounds) is biased down by the centring, so ρ solves E[num](ρ) = r E[den](ρ),
    the expectations of r's numerator and denominator under a Gaussian AR(1) over each
    unit's own rounds: with M the centring matrix and R(ρ) = ρ^|s-t|, E[den] = tr(M R M)
    and E[num] the sum of (M R M) over consecutive pairs. Negative estimates are 0 (the
    independent null is then conservative). Units with fewer than three rounds are left out.
    """
    seen = np.isfinite(scores)
    keep = seen.sum(axis=1) >= 3
    if not keep.any():
        return 0.0
    x, seen = scores[keep], seen[keep]
    e = np.where(seen, x - np.nanmean(x, axis=1, keepdims=True), 0.0)
    num = float((e[:, 1:] * e[:, :-1]).sum())
    den = float((e**2).sum())
    if den <= 0:
        return 0.0
    r = num / den
    patterns, counts = np.unique(seen, axis=0, return_counts=True)
    designs = []
    for pattern, count in zip(patterns, counts):
        pos = np.flatnonzero(pattern)
        m = len(pos)
        centre = np.eye(m) - 1.0 / m
        consecutive = np.flatnonzero(np.diff(pos) == 1)
        designs.append((np.abs(pos[:, None] - pos[None, :]), centre, consecutive, count))

    def gap(rho: float) -> float:
        num = den = 0.0
        for lag, centre, consecutive, count in designs:
            c = centre @ rho**lag @ centre
            num += count * c[consecutive, consecutive + 1].sum()
            den += count * np.trace(c)
        return num / den - r

    if gap(0.0) >= 0:
        return 0.0
    # the bracket's end stands for ρ → 1, where luck is as lasting as a unit's standing
    top = 1.0 - 1e-6
    if gap(top) <= 0:
        return top
    return float(optimize.brentq(gap, 0.0, top, xtol=1e-6))


def _blocks(group: np.ndarray, z: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The rows of each (round, group), blocks of one size stacked together.

    Returns, per block size, the rows of each block in row order and the same rows in
    the order of their z (NaN last, ties in row order), both (blocks, size).
    """
    sizes = np.bincount(group)
    start = np.cumsum(sizes) - sizes
    by_row = np.argsort(group, kind="stable")
    by_z = np.lexsort((z, group))
    out = []
    for size in np.unique(sizes[sizes > 0]):
        rows = start[sizes == size, None] + np.arange(size)
        out.append((by_row[rows], by_z[rows]))
    return out


def _null_sources(group: np.ndarray, blocks: list[tuple[np.ndarray, np.ndarray]], u: np.ndarray,
                  t: np.ndarray, n_units: int, n_rounds: int, size: int, rho: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Which observed row each row of ``size`` null cities takes: permutations within (round, group).

    Every unit gets a latent AR(1) series over the window's rounds (lag-1 correlation
    ``rho``; independent rounds at 0); in each (round, group) the unit with the c-th
    lowest latent value takes the c-th lowest observed z (a Gaussian copula). Each round
    keeps its own scores, so their skew and spread; no unit is lastingly behind.
    ``blocks`` are the (round, group)s of `_blocks`. Returns row indices, shape (size, rows).
    """
    latent = rng.standard_normal((size, n_units, n_rounds))
    # rounds before units, so that each step of the series is a pass over contiguous rows
    latent = np.ascontiguousarray(latent.transpose(0, 2, 1))
    for k in range(1, n_rounds):
        latent[:, k] = rho * latent[:, k - 1] + np.sqrt(1.0 - rho**2) * latent[:, k]
    source = np.empty((size, len(group)), dtype=np.intp)
    for rows, by_z in blocks:
        # group first, then the latent value squeezed into (0, ½) by a monotone map: each
        # block's keys lie apart from the others', so each block is sorted on its own
        key = np.arctan(np.take(latent.reshape(size, -1), t[rows] * n_units + u[rows], axis=1))
        key /= np.pi
        key += 0.5
        key *= 0.5
        key += group[rows]
        order = np.argsort(key, axis=-1)
        ranked = np.take_along_axis(key, order, axis=-1)
        if (ranked[..., 1:] == ranked[..., :-1]).any():
            # equal keys keep their row order
            order = np.argsort(key, axis=-1, kind="stable")
        # flat positions: each block of each city is a run of rows.shape[1] keys
        at = order + np.arange(0, key.size, rows.shape[1]).reshape(key.shape[:-1] + (1,))
        taken = np.empty(key.shape, dtype=np.intp)
        taken.ravel()[at.ravel()] = np.broadcast_to(by_z, key.shape).ravel()
        source[:, rows] = taken
    return source


def _pool_pvalues(observed: np.ndarray, null: np.ndarray, pool: np.ndarray):
    """Monte Carlo p-values of "at least as large", each unit against the null units of its pool.

    ``observed`` (units,), ``null`` (cities, units). The observed unit's p is
    (1 + #null ≥ it) / (1 + N) (Phipson & Smyth, 2010), N = cities × pool size; each
    null unit's is #null ≥ it / N, for the null distribution of the combined test.
    """
    p_obs = np.ones(observed.shape)
    p_null = np.ones(null.shape)
    for k in np.unique(pool):
        members = pool == k
        pooled = null[:, members]
        flat = pooled.ravel()
        order = np.argsort(flat)
        values = flat[order]
        n = len(values)
        p_obs[members] = (1 + n - np.searchsorted(values, observed[members], side="left")) / (1 + n)
        # #null < each null value: the position of the first of its ties (NaNs, sorted last, tie)
        tied = values[1:] == values[:-1]
        if n and np.isnan(values[-1]):
            tied |= np.isnan(values[1:]) & np.isnan(values[:-1])
        below = np.empty(n, dtype=np.intp)
        below[order] = np.maximum.accumulate(np.where(np.concatenate(([False], tied)), 0, np.arange(n)))
        p_null[:, members] = ((n - below) / n).reshape(pooled.shape)
    return p_obs, p_null


def flag_laggards(results: pd.DataFrame, params: Params, round_id: str | None = None) -> LaggardResult:
    """Persistent laggards up to a round: one decision per unit from rules A, B, C and D.

    Parameters
    ----------
    results : DataFrame
        `honorcalc.rules.Evaluation.results` of every round up to ``round_id`` (later
        rounds are ignored).
    params : Params
        ``fairness.laggard_k``, ``laggard_n``, ``bottom_share``, ``cusum_k``,
        ``trend_min``, ``false_alarm_rate``, ``laggard_fdr``, ``laggard_fdr_method``,
        ``laggard_min_rounds``, ``laggard_min_history``, ``serial_correlation``,
        ``null_cities``; ``seed``.
    round_id : str, optional
        The report round; defaults to ``params.round``.

    Returns
    -------
    LaggardResult
        ``table`` (`LAGGARD_COLUMNS`, one row per unit called, by unit_id),
        ``calibration`` (`CALIBRATION_COLUMNS`) and ``evidence``
        (`EVIDENCE_COLUMNS`, by unit_id).

    Raises
    ------
    InputError
        Missing columns, or ``round_id`` not in ``results``.

    Notes
    -----
    The history is the report round's calendar year up to it (the annual assessment,
    年度考核, is what a laggard's record feeds), every ranked round of every work in
    time order. Within each (round, ranking group) a unit's score is standardized,
    z = (score - mean) / sd. Each unit's ``laggard_min_rounds`` - 1 lowest z are then
    raised to its ``laggard_min_rounds``-th lowest, so that evidence must span that
    many rounds: one catastrophic round weighs no more than the unit's next-worst.

    Four statistics per unit, each larger the further behind:

    * **A — listed.** Rounds black-listed or in the bottom ``bottom_share`` of the
      group (rank from the bottom ≤ ⌈share × N⌉) among the unit's last ``laggard_n``;
      counted from max(``laggard_k``, ``laggard_min_rounds``) hits, else 0.
    * **B — CUSUM.** Page's (1954) [1]_ one-sided CUSUM of the shortfall,
      S_t = max(0, S_{t-1} - z_t - k), k = ``cusum_k``; the statistic is max_t S_t.
    * **C — decline.** Mann's (1945) [2]_ -S, S = Σ_{i<j} sign(z_j - z_i), where
      the least-squares decline over the unit's rounds is at least ``trend_min`` sd.
    * **D — shortfall.** The mean of -z over the unit's rounds: the most direct
      measure of lasting standing, and the most powerful against a steady shortfall
      smaller than the CUSUM's 2k.

    *The null.* No unit is lastingly behind its group: within each (round, ranking
    group) the units are exchangeable. A null city gives each (round, group)'s own
    observed z (and listing) to its units in a random order, so each round keeps its
    skew and spread exactly. A unit's luck may persist from round to round: the orders
    of successive rounds are tied by a Gaussian copula of an AR(1) series with lag-1
    correlation ρ (``serial_correlation``, or estimated from the normal scores of the
    city's z, each unit centred on its own mean so that lasting differences do not
    count, with the bias of the centring removed; ρ = 0 gives independent
    permutations). Rule C is calibrated by this null too, so the trend test needs no
    variance correction for autocorrelation (Hamed & Rao, 1998 [3]_): the null
    carries the serial correlation itself.

    *One p-value per unit.* Units whose (round, group)s are the same are exchangeable
    under the null, so the ``null_cities`` null cities give a pool of N = cities ×
    units null units for each such set, and a unit's null keeps its own rounds (the
    CUSUM is never compared with units of another history). Each rule's p-value is
    (1 + #null ≥ observed) / (1 + N) [4]_; the unit's statistic is the smallest of its
    four p-values, and its p-value is the share of null units whose smallest
    p-value is at most as small (the min-p combination of Westfall & Young, 1993
    [5]_), so the four rules together keep the level. q-values across the units
    judged are Benjamini-Hochberg's [6]_ (or Benjamini-Yekutieli's [7]_, for any
    dependence). A unit is a persistent laggard when p ≤ ``false_alarm_rate``,
    q ≤ ``laggard_fdr``, and it is far enough behind to be one: a mean shortfall of
    at least ``laggard_min_shortfall`` sd, or a shortfall and a decline that rule C
    carried (its statistic already asks ``trend_min``; a unit declining from above
    its group is not behind it). A real but smaller shortfall is
    'below_average', not a laggard: the size condition only removes calls, so the
    false-alarm rate stays within the level. A unit with fewer than
    ``laggard_min_history`` ranked rounds is not judged ('cannot_tell').

    *Calibration.* The same null cities measure each rule's share of null units with
    p ≤ ``false_alarm_rate``, the combined test's (its achieved per-unit false-alarm
    rate, per unit-year once the year is complete), and the share called after the
    FDR control in their own null city. Seed stream ``laggards``.

    *Assumption.* Exchangeability of units within a round and group under the null,
    with luck whose persistence is one AR(1) correlation for the whole city. Luck that
    persists longer than that (a bad half-year) reads as lasting standing.

    References
    ----------
    .. [1] Page, E. S. (1954). Continuous inspection schemes. Biometrika, 41(1/2),
           100-115.
    .. [2] Mann, H. B. (1945). Nonparametric tests against trend. Econometrica, 13(3),
           245-259.
    .. [3] Hamed, K. H., & Rao, A. R. (1998). A modified Mann-Kendall trend test for
           autocorrelated data. Journal of Hydrology, 204(1-4), 182-196.
    .. [4] Phipson, B., & Smyth, G. K. (2010). Permutation p-values should never be
           zero: calculating exact p-values when permutations are randomly drawn.
           Statistical Applications in Genetics and Molecular Biology, 9(1), 39.
    .. [5] Westfall, P. H., & Young, S. S. (1993). Resampling-Based Multiple Testing.
           New York: Wiley.
    .. [6] Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery
           rate: a practical and powerful approach to multiple testing. Journal of
           the Royal Statistical Society B, 57(1), 289-300.
    .. [7] Benjamini, Y., & Yekutieli, D. (2001). The control of the false discovery
           rate in multiple testing under dependency. Annals of Statistics, 29(4),
           1165-1188.
    """
    check_params(params)
    require(results, "results", ["round_id", "unit_id", "name", "ranking_group", "round_kind", "date",
                                  "year", "score", "ranked", "rank_bottom", "n_ranked", "list"])
    fp = params.fairness
    alpha = fp.false_alarm_rate
    round_id = params.round if round_id is None else round_id
    window = year_window(results, round_id)
    units, rounds, u, t, group, z_rows, hit_rows = _unit_rows(window, params)
    names = window.drop_duplicates("unit_id").set_index("unit_id")["name"].astype(str)
    rng, seed = seeded_rng(params, "laggards")
    shape = (len(units), len(rounds))
    at = u * shape[1] + t  # (unit, round) in a units × rounds grid
    z = np.full(shape, np.nan)
    hit = np.zeros(shape, dtype=bool)
    seen = np.zeros(shape, dtype=bool)
    z[u, t], hit[u, t], seen[u, t] = z_rows, hit_rows, True
    last = _last_n(seen, fp.laggard_n)
    n_rounds = seen.sum(axis=1)
    judged = n_rounds >= fp.laggard_min_history
    observed = _statistics(z, hit, last, params)
    zw = _winsorize(z, fp.laggard_min_rounds)
    with np.errstate(invalid="ignore", divide="ignore"):
        shortfall = -np.where(seen, zw, 0.0).sum(axis=1) / n_rounds
        decline = _decline(zw)

    if fp.serial_correlation is not None:
        rho = float(fp.serial_correlation)
    else:
        scores = np.full(shape, np.nan)
        scores[u, t] = _normal_scores(z_rows, group)
        rho = _serial_correlation(scores)
    # units with the same (round, group) cells are exchangeable: they share one null pool
    cells = np.full(shape, -1)
    cells[u, t] = group
    pool = np.unique(cells, axis=0, return_inverse=True)[1].ravel() if shape[0] else np.zeros(0, int)

    p_rule = np.ones((len(_RULES), shape[0]))
    p = np.full(shape[0], np.nan)
    achieved = np.full(len(_RULES) + 1, np.nan)
    flag_rate = np.nan
    if judged.any():
        per_chunk = max(1, _NULL_CELLS // max(z.size, 1))
        blocks = _blocks(group, z_rows)
        # a (round, group) whose z are all missing or none: every null city misses the same cells
        missing = np.bincount(group, weights=np.isnan(z_rows))
        shared = ~np.isnan(z) if np.all((missing == 0) | (missing == np.bincount(group))) else None
        null = []
        for start in range(0, fp.null_cities, per_chunk):
            size = min(per_chunk, fp.null_cities - start)
            source = _null_sources(group, blocks, u, t, shape[0], shape[1], size, rho, rng)
            nz = np.full((size, z.size), np.nan)
            nz[:, at] = z_rows[source]
            nh = np.zeros((size, z.size), dtype=bool)
            nh[:, at] = hit_rows[source]
            null.append(_statistics(nz.reshape(size, *shape), nh.reshape(size, *shape), last, params, shared))
        null = np.concatenate(null, axis=1)  # (rules, cities, units)
        p_null_rule = np.ones(null.shape)
        for r in range(len(_RULES)):
            p_rule[r], p_null_rule[r] = _pool_pvalues(observed[r], null[r], pool)
        # min-p: smaller is stronger, so the p-value of m is P(null m ≤ m), via the negated values
        p_all, p_null = _pool_pvalues(-p_rule.min(axis=0), -p_null_rule.min(axis=0), pool)
        p = np.where(judged, p_all, np.nan)
        achieved[:-1] = (p_null_rule[:, :, judged] <= alpha).mean(axis=(1, 2))
        achieved[-1] = (p_null[:, judged] <= alpha).mean()
        q_null = sps.false_discovery_control(p_null[:, judged], axis=-1, method=fp.laggard_fdr_method)
        flag_rate = float(((p_null[:, judged] <= alpha) & (q_null <= fp.laggard_fdr)).mean())
    q = np.full(shape[0], np.nan)
    q[judged] = sps.false_discovery_control(p[judged], method=fp.laggard_fdr_method)
    # the rules that carried each decision: those at the level, else the strongest
    carried = (p_rule <= alpha) | (p_rule == p_rule.min(axis=0))
    # significance says a shortfall is real; a laggard is also far enough behind to be one, or
    # below its group and declining by trend_min (which rule C's statistic already asks): a unit
    # merely below average, or declining from the top, is not
    far_behind = (shortfall >= fp.laggard_min_shortfall) | (carried[_RULES.index("mann_kendall")] & (shortfall > 0))
    evident = judged & (p <= alpha) & (q <= fp.laggard_fdr)
    called = evident & far_behind
    _, b_start, b_end = _cusum(zw, fp.cusum_k)
    positions = np.arange(shape[1])
    span = seen & (positions >= b_start[:, None]) & (positions <= b_end[:, None])
    behind = np.stack([hit & last, span, seen, seen])
    table = []
    for i in np.flatnonzero(called):
        involved = (behind[carried[:, i], i]).any(axis=0)
        table.append({
            "round_id": round_id, "unit_id": units[i], "name": names.get(units[i], ""), "rule": "persistent",
            "measure": "mean shortfall below the group (sd)", "evidence": float(shortfall[i]),
            "threshold": alpha, "p_value": float(p[i]), "ci_low": np.nan, "ci_high": np.nan,
            "rounds": ";".join(rounds[involved]), "n_rounds": int(involved.sum()),
            "false_alarm_rate": float(achieved[-1]), "seed": seed, "q_value": float(q[i]),
            "fdr": fp.laggard_fdr, "rules": ";".join(np.array(_RULES)[carried[:, i]]),
        })
    frame = sort_rules(pd.DataFrame(table, columns=list(LAGGARD_COLUMNS)))

    few = f"{_TOO_FEW}: {{n}} ranked rounds in the window, {fp.laggard_min_history} needed"
    status = np.select([~judged, called, evident], ["cannot_tell", "laggard", "below_average"], "no_evidence")
    evidence = pd.DataFrame({
        "unit_id": units, "listed": (hit & last).sum(axis=1).astype("int64"),
        "cusum": _cusum(zw, fp.cusum_k, spans=False)[0], "trend_p": np.where(judged, p_rule[2], np.nan),
        "decline": decline, "n_rounds": n_rounds.astype("int64"), "shortfall": shortfall,
        "p_listed": np.where(judged, p_rule[0], np.nan), "p_cusum": np.where(judged, p_rule[1], np.nan),
        "p_shortfall": np.where(judged, p_rule[3], np.nan),
        "p_value": p, "q_value": q, "status": status,
        "rules": [";".join(np.array(_RULES)[carried[:, i]]) if called[i] else "" for i in range(shape[0])],
        "note": [few.format(n=n) if not j else "" for n, j in zip(n_rounds, judged)],
    }, columns=list(EVIDENCE_COLUMNS))

    window_note = "" if judged.any() else few.format(n=int(n_rounds.max(initial=0)))
    calibration = pd.DataFrame({
        "rule": [*_RULES, "persistent"],
        "threshold": [float(max(fp.laggard_k, fp.laggard_min_rounds)), fp.cusum_k, fp.trend_min, np.nan, alpha],
        "target_rate": [np.nan] * len(_RULES) + [alpha],
        "achieved_rate": achieved,
        "n_null_units": fp.null_cities * int(judged.sum()),
        "n_rounds": len(rounds),
        "seed": seed,
        "fdr": [np.nan] * len(_RULES) + [fp.laggard_fdr],
        "flag_rate": [np.nan] * len(_RULES) + [flag_rate],
        "serial_correlation": rho,
        "status": "calibrated" if judged.any() else "cannot_tell",
        "note": window_note,
    }, columns=list(CALIBRATION_COLUMNS))
    return LaggardResult(frame, calibration, evidence)


def sort_rules(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order of `LAGGARD_RULES`, then by unit_id."""
    order = frame["rule"].map({r: k for k, r in enumerate(LAGGARD_RULES)})
    return (frame.assign(_order=order).sort_values(["_order", "unit_id"], kind="stable")
            .drop(columns="_order").reset_index(drop=True))
