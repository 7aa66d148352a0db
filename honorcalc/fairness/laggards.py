"""Who is a persistent laggard, as opposed to unlucky once? (RULES.md §3)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import InputError
from ..params import Params
from ..rules import round_half_up
from ..scoring import (
    row_key,
)
from .base import (
    cap_array,
    check_params,
    require,
    round_order,
    seeded_rng,
)

__all__ = ["LAGGARD_COLUMNS", "LAGGARD_RULES", "LaggardResult", "flag_laggards", "year_window", "sort_rules"]

LAGGARD_COLUMNS = (
    "round_id", "unit_id", "name", "rule", "measure", "evidence", "threshold", "p_value", "ci_low",
    "ci_high", "rounds", "n_rounds", "false_alarm_rate", "seed",
)

LAGGARD_RULES = ("listed_k_of_n", "cusum", "mann_kendall", "open_visit")

#: Null cities of the laggard calibration are simulated this many (unit, round)s at a time.
_NULL_CELLS = 1_000_000


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


def year_window(results: pd.DataFrame, round_id: str) -> pd.DataFrame:
    """The results of the report round's calendar year up to and including it."""
    current = results.loc[results["round_id"] == round_id]
    if current.empty:
        known = ", ".join(sorted(results["round_id"].astype(str).unique())[:10])
        raise InputError(f"round {round_id!r} is not in the results (rounds: {known})", file="rounds")
    date, year = current["date"].iloc[0], current["year"].iloc[0]
    return results[(results["year"] == year) & (results["date"] <= date)]


def _unit_matrices(window: pd.DataFrame, params: Params):
    """Units × rounds matrices (rounds in time order) of the laggard rules' inputs."""
    rounds = round_order(window)["round_id"].to_numpy()
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

    cap = cap_array(special, n_ranked, params)
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
    check_params(params)
    require(results, "results", ["round_id", "unit_id", "name", "ranking_group", "round_kind", "date",
                                  "year", "score", "ranked", "rank_bottom", "n_ranked", "list"])
    fp = params.fairness
    round_id = params.round if round_id is None else round_id
    window = year_window(results, round_id)
    units, rounds, z, hit, seen, rows = _unit_matrices(window, params)
    names = window.drop_duplicates("unit_id").set_index("unit_id")["name"].astype(str)
    rng, seed = seeded_rng(params, "laggards")

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
    frame = sort_rules(frame)
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


def sort_rules(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame["rule"].map({r: k for k, r in enumerate(LAGGARD_RULES)})
    return (frame.assign(_order=order).sort_values(["_order", "unit_id"], kind="stable")
            .drop(columns="_order").reset_index(drop=True))
