"""How sure is a rank? Confidence sets for ranks and funnel-plot limits (RULES.md §3).

A unit's place in a list is an estimate: its score carries measurement error, so its
rank does too. This module answers "where could this unit truly stand?" without
pretending to more certainty than the scores give:

* `rank_confidence_sets` — marginal or simultaneous confidence sets for ranks
  (Mogstad, Romano, Shaikh & Wilhelm 2024, the method of the R package ``csranks``);
* `tau_sets`, `bottom_set`, `top_set` — which units may be, and which certainly are,
  among the bottom (top) τ of their ranking group;
* `rank_uncertainty` — all of the above from one set of draws, one row per unit;
* `funnel_limits`, `funnel_curve` — each score against its precision, with control
  limits around the group mean that allow for overdispersion (Spiegelhalter 2005).

All functions are pure, take arrays (one entry per unit) and a ``numpy.random.Generator``
for the Monte Carlo critical values, and return frozen results whose ``table`` has one row
per unit in input order.

References
----------
.. [1] Mogstad, M., Romano, J. P., Shaikh, A. M., & Wilhelm, D. (2024). Inference for
   ranks with applications to mobility across neighbourhoods and academic achievement
   across countries. Review of Economic Studies, 91(1), 476-518.
   https://doi.org/10.1093/restud/rdad006
.. [2] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
   performance. Statistics in Medicine, 24(8), 1185-1202. https://doi.org/10.1002/sim.1970
.. [3] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
   Quality & Safety in Health Care, 14(5), 347-351. https://doi.org/10.1136/qshc.2005.013755
.. [4] DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
   Controlled Clinical Trials, 7(3), 177-188.
"""

from __future__ import annotations

import concurrent.futures
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import InputError
from ..rules.ranking import competition_ranks
from . import pairs
from .base import dersimonian_laird_tau2

__all__ = [
    "RANK_SET_COLUMNS",
    "TAU_SET_COLUMNS",
    "RANK_UNCERTAINTY_COLUMNS",
    "RankSets",
    "TauSets",
    "FunnelResult",
    "rank_confidence_sets",
    "tau_sets",
    "bottom_set",
    "top_set",
    "rank_uncertainty",
    "funnel_limits",
    "funnel_curve",
]

RANK_SET_COLUMNS = (
    "unit", "group", "estimate", "se", "rank", "n_ranked", "rank_low", "rank_high", "kind",
    "coverage", "critical_value", "status", "note",
)
TAU_SET_COLUMNS = (
    "unit", "group", "estimate", "se", "rank", "n_ranked", "side", "tau", "rank_low",
    "rank_high", "estimated_in", "may_be_in", "certainly_in", "status", "note",
)
RANK_UNCERTAINTY_COLUMNS = (
    "unit", "group", "estimate", "se", "rank", "n_ranked", "rank_low", "rank_high",
    "rank_low_simul", "rank_high_simul", "tau", "top_may", "top_certain", "top_status",
    "bottom_may", "bottom_certain", "bottom_status", "coverage", "note",
)

#: Draws in a slice of the passes over the pairs (a tile's rows of them stay in the cache).
_SLICE_DRAWS = 128
#: At most this many threads, and only for passes touching more values than `_THREAD_WORK`.
_MAX_THREADS, _THREAD_WORK = 4, 20_000_000


# ---------------------------------------------------------------------------------------
# validation


def _as_estimates(estimates) -> np.ndarray:
    x = np.asarray(estimates, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise InputError(f"estimates: expected a non-empty 1-D array, got shape {x.shape}")
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x))[0])
        raise InputError(f"estimates: every entry must be finite; entry {bad} is {x[bad]!r}")
    return x


def _as_cov(cov, n: int) -> np.ndarray:
    """``cov`` as an n × n covariance matrix; a 1-D ``cov`` holds standard errors."""
    c = np.asarray(cov, dtype=float)
    if c.ndim == 1:
        if c.shape != (n,):
            raise InputError(f"cov: standard errors must have one entry per estimate ({n}), got {c.size}")
        if not (np.isfinite(c).all() and (c >= 0).all()):
            raise InputError("cov: standard errors must be finite and ≥ 0")
        return np.diag(c**2)
    if c.shape != (n, n):
        raise InputError(f"cov: expected {n} standard errors or a {n} × {n} covariance matrix, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise InputError("cov: the covariance matrix must be finite")
    if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12):
        raise InputError("cov: the covariance matrix must be symmetric")
    if n > 1 and np.linalg.eigvalsh(c)[0] < -1e-10 * max(1.0, float(np.abs(c).max())):
        raise InputError("cov: the covariance matrix must be positive semi-definite")
    return c


def _check_level(name: str, value: float) -> float:
    value = float(value)
    if not 0 < value < 1:
        raise InputError(f"{name}: expected a probability strictly between 0 and 1, got {value}")
    return value


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"rng: expected numpy.random.Generator, got {type(rng).__name__}")


def _group_codes(groups, n: int) -> tuple[np.ndarray, np.ndarray]:
    if groups is None:
        return np.zeros(n, dtype=np.int64), np.array([""], dtype=object)
    g = pd.Series(np.asarray(groups, dtype=object))
    if len(g) != n:
        raise InputError(f"groups: expected one label per estimate ({n}), got {len(g)}")
    if g.isna().any():
        raise InputError(f"groups: entry {int(np.flatnonzero(g.isna())[0])} has no group")
    codes, labels = pd.factorize(g.astype(str), sort=True)
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


def _indices_mask(indices, n: int) -> np.ndarray:
    if indices is None:
        return np.ones(n, dtype=bool)
    idx = np.asarray(indices)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise InputError(f"indices: a boolean mask needs {n} entries, got {idx.size}")
        return idx.copy()
    idx = idx.astype(np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise InputError(f"indices: positions must lie in 0 … {n - 1}, got {idx.min()} … {idx.max()}")
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return mask


def _competition_rank(x: np.ndarray) -> np.ndarray:
    """1 = largest; equal values share the best of their places (1, 2, 2, 4), as the lists rank."""
    return competition_ranks(np.zeros(x.size, dtype=np.int64), x)[0].astype(np.int64)


# ---------------------------------------------------------------------------------------
# the pairwise-difference engine (one ranking group)


def _threads() -> int:
    """Threads for the passes over the pairs: the compiled loops release the GIL, so the cores add up."""
    return max(1, min(_MAX_THREADS, os.cpu_count() or 1))


def _in_threads(func, parts, *, work: int) -> None:
    """``func(part)`` for every part, in threads when the work (values touched) is worth it.

    Each part must write outputs of its own; the results are then the same as in one thread.
    """
    parts = list(parts)
    if work < _THREAD_WORK or _threads() == 1 or len(parts) < 2:
        for part in parts:
            func(part)
        return
    with concurrent.futures.ThreadPoolExecutor(_threads()) as pool:
        for done in pool.map(func, parts):
            del done


def _over_draws(kernel, n_draws: int, work: int) -> None:
    """``kernel(first, last)`` for slices of the draws, in threads when the work is worth it."""
    width = max(1, min(_SLICE_DRAWS, -(-n_draws // _threads())))
    _in_threads(lambda first: kernel(first, min(first + width, n_draws)), range(0, n_draws, width), work=work)


class _PairwiseDifferences:
    """Max-t critical values for all pairwise differences of one group, from one set of draws.

    ``t[i, j] = (x_i − x_j) / σ_ij``. For each unit ``i`` and draw ``r`` it keeps
    ``g_max[i, r] = max_j V_ijr`` and ``h[i, r] = max_j |T_ijr|``, where
    ``T_ijr = (Z_ir − Z_jr) / σ_ij`` is the bootstrap t and ``V = −sign(t) T`` is the
    direction of a pair that stays under test once the pair is decided (V is symmetric
    in i and j). A step-down family is then "every pair in direction V, plus the
    undecided pairs in direction −V", and only the undecided pairs need new work.
    The passes over the pairs are compiled loops (`honorcalc.fairness.pairs`).
    """

    def __init__(self, x: np.ndarray, cov: np.ndarray, n_draws: int, rng: np.random.Generator):
        p = x.size
        var = np.diag(cov)
        sd2 = var[:, None] + var[None, :] - 2.0 * cov
        np.fill_diagonal(sd2, 1.0)
        if (sd2 <= 0).any():
            i, j = np.argwhere(sd2 <= 0)[0]
            raise InputError(
                f"cov: the difference of estimates {i} and {j} has zero variance; "
                "their order is then known and cannot be tested"
            )
        sigma = np.sqrt(sd2, out=sd2)
        self.p = p
        # the draws first, so that the eigen-decomposition's arrays are let go before t and w are made
        eps = rng.standard_normal((n_draws, p))
        if np.count_nonzero(cov - np.diag(var)):
            vals, vecs = np.linalg.eigh(cov)
            z = eps @ (vecs * np.sqrt(np.clip(vals, 0.0, None))).T
            del vals, vecs
        else:
            z = eps * np.sqrt(var)
        del eps
        # units × draws: each unit's draws are one row
        self.z = np.ascontiguousarray(z.T)
        del z
        self.t = (x[:, None] - x[None, :]) / sigma
        np.fill_diagonal(self.t, 0.0)
        self.abs_t = np.abs(self.t)
        # −sign(t)/σ; a tie (t = 0) counts as positive above the diagonal and negative below it
        sign = np.sign(self.t)
        ties = np.flatnonzero(sign == 0)
        sign.flat[ties] = np.where(ties % p > ties // p, 1.0, -1.0)
        self.w = np.divide(np.negative(sign, out=sign), sigma, out=sign)
        del sigma
        np.fill_diagonal(self.w, 0.0)
        self.g_max = np.full((p, n_draws), -np.inf)
        g_min = np.full((p, n_draws), np.inf)
        _over_draws(lambda first, last: pairs.pair_extremes(self.z, self.w, self.g_max, g_min, first, last),
                    n_draws, work=p * p * n_draws // 2)
        self.h = np.maximum(self.g_max, -g_min)

    def _with_pairs(self, base: np.ndarray, who: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``base`` (one row per unit of ``who``) raised by −V over the pairs in ``mask``
        (one row per unit of ``who``, one column per unit of the group)."""
        out = base.copy()
        _over_draws(lambda first, last: pairs.masked_maxima(self.z, self.w, who, mask, out, first, last),
                    self.z.shape[1], work=int(np.count_nonzero(mask)) * self.z.shape[1])
        return out

    def marginal(self, units: np.ndarray, coverage: float, stepdown: bool) -> np.ndarray:
        """The final critical value of each unit's own family (its pairs with every other)."""
        c = np.quantile(self.h[units], coverage, axis=1)
        if not stepdown or self.p < 2:
            return c
        absolute = self.abs_t[units]
        decided = (absolute > c[:, None]).sum(axis=1)
        active = np.flatnonzero(decided)
        if not active.size:
            return c
        who = units[active]
        # every step's family contains all pairs in direction V, so no step's critical
        # value falls below `floor`: pairs with |t| ≤ floor stay undecided to the end
        floor = np.quantile(self.g_max[who], coverage, axis=1)
        off = np.ones((active.size, self.p), dtype=bool)
        off[np.arange(active.size), who] = False
        low_band = off & (absolute[active] <= floor[:, None])
        base = self._with_pairs(self.g_max[who], who, low_band)
        while active.size:
            band = off & ~low_band & (absolute[active] <= c[active, None])
            c[active] = np.quantile(self._with_pairs(base, who, band), coverage, axis=1)
            now = (absolute[active] > c[active, None]).sum(axis=1)
            more = now > decided[active]
            decided[active] = now
            active, who, off, low_band, base = active[more], who[more], off[more], low_band[more], base[more]
        return c

    def simultaneous(self, units: np.ndarray, coverage: float, stepdown: bool) -> float:
        """The final critical value of the family of all pairs with at least one unit in ``units``."""
        c = float(np.quantile(self.h[units].max(axis=0), coverage))
        if not stepdown or self.p < 2:
            return c
        touch = np.zeros(self.p, dtype=bool)
        touch[units] = True
        family = np.triu(touch[:, None] | touch[None, :], 1)
        decided = int((family & (self.abs_t > c)).sum())
        if not decided:
            return c
        g = self.g_max[units].max(axis=0)
        floor = float(np.quantile(g, coverage))
        low_band = family & (self.abs_t <= floor)

        def raised(base, mask):
            """``base`` raised by −V over the pairs in ``mask`` (units × units)."""
            rows = np.flatnonzero(mask.any(axis=1))
            out = self._with_pairs(np.full((rows.size, self.z.shape[1]), -np.inf), rows, mask[rows])
            return np.maximum(base, out.max(axis=0, initial=-np.inf))

        base = raised(g, low_band)
        while True:
            c = float(np.quantile(raised(base, family & ~low_band & (self.abs_t <= c)), coverage))
            now = int((family & (self.abs_t > c)).sum())
            if now == decided:
                return c
            decided = now

    def bounds(self, units: np.ndarray, c) -> tuple[np.ndarray, np.ndarray]:
        """Rank bounds 1 + #{j significantly better}, p − #{j significantly worse}."""
        t = self.t[units]
        c = np.broadcast_to(np.asarray(c, dtype=float), (units.size,))[:, None]
        return 1 + (t < -c).sum(axis=1), self.p - (t > c).sum(axis=1)


def _by_group(x, cov, codes, n_draws, rng, groups_needed):
    """One `_PairwiseDifferences` per ranking group (in sorted label order), drawing in that order."""
    out = {}
    for g in groups_needed:
        members = np.flatnonzero(codes == g)
        out[g] = (members, _PairwiseDifferences(x[members], cov[np.ix_(members, members)], n_draws, rng))
    return out


def _common_inputs(estimates, cov, groups, coverage, n_draws, rng):
    x = _as_estimates(estimates)
    c = _as_cov(cov, x.size)
    codes, labels = _group_codes(groups, x.size)
    coverage = _check_level("coverage", coverage)
    if int(n_draws) != n_draws or n_draws < 10:
        raise InputError(f"n_draws: expected an integer ≥ 10, got {n_draws}")
    _check_rng(rng)
    return x, c, codes, labels, coverage, int(n_draws)


def _base_frame(x, cov, codes, labels, rows):
    rank = np.empty(x.size, dtype=np.int64)
    n_ranked = np.empty(x.size, dtype=np.int64)
    for g in np.unique(codes):
        members = np.flatnonzero(codes == g)
        rank[members] = _competition_rank(x[members])
        n_ranked[members] = members.size
    return pd.DataFrame({
        "unit": rows,
        "group": labels[codes[rows]].astype(str),
        "estimate": x[rows],
        "se": np.sqrt(np.diag(cov))[rows],
        "rank": rank[rows],
        "n_ranked": n_ranked[rows],
    })


def _set_status(low: np.ndarray, high: np.ndarray, n_ranked: np.ndarray):
    status = np.where(low == high, "exact", np.where((low == 1) & (high == n_ranked), "cannot_tell", "bounded"))
    note = np.select(
        [low == high, (low == 1) & (high == n_ranked)],
        ["the data fix this unit's rank", "the data cannot tell this unit's rank from any other in its group"],
        "the true rank lies between rank_low and rank_high",
    )
    return status, note


# ---------------------------------------------------------------------------------------
# public: rank confidence sets


@dataclass(frozen=True, eq=False)
class RankSets:
    """Confidence sets for ranks (`rank_confidence_sets`).

    Attributes
    ----------
    table : DataFrame
        One row per unit asked for, in input order, columns `RANK_SET_COLUMNS`:
        ``unit`` (position in the input), ``group``, ``estimate``, ``se``, ``rank``
        (competition rank of the estimate within its group, 1 = largest), ``n_ranked``
        (units in the group), ``rank_low`` ≤ ``rank_high`` (the confidence set
        {rank_low, …, rank_high}), ``kind`` ('marginal' / 'simultaneous'),
        ``coverage``, ``critical_value`` (the final max-t critical value),
        ``status`` ('exact': one rank; 'cannot_tell': every rank of the group;
        'bounded': in between) and a plain ``note``.
    coverage : float
    simultaneous : bool
    stepdown : bool
    n_draws : int
    """

    table: pd.DataFrame
    coverage: float
    simultaneous: bool
    stepdown: bool
    n_draws: int


def rank_confidence_sets(
    estimates, cov, *, coverage: float = 0.95, simultaneous: bool = False, indices=None,
    stepdown: bool = True, n_draws: int = 1000, groups=None, rng: np.random.Generator,
) -> RankSets:
    """Marginal or simultaneous confidence sets for the ranks of estimated scores.

    Parameters
    ----------
    estimates : array_like, shape (n,)
        Each unit's estimated score; rank 1 is the largest.
    cov : array_like, shape (n,) or (n, n)
        Standard errors of the estimates (1-D: independent estimates) or their full
        covariance matrix (2-D).
    coverage : float
        Nominal coverage of the sets.
    simultaneous : bool
        False: each unit's set covers its own true rank with probability ≥ ``coverage``
        (marginal). True: the sets of all units in ``indices`` of a group cover all their
        true ranks at once with probability ≥ ``coverage``.
    indices : array_like of int or bool, optional
        Units whose ranks are wanted (positions or a mask); all by default. Their rows
        only are returned. Simultaneous sets are joint over these units within each group.
    stepdown : bool
        Use the stepwise (step-down) refinement, which rejects at least as much.
    n_draws : int
        Draws of the Gaussian parametric bootstrap for the critical values.
    groups : array_like, shape (n,), optional
        Ranking group of each unit; ranks are taken within each group separately, and
        each group is one family.
    rng : numpy.random.Generator
        Source of the draws (groups draw in sorted label order).

    Returns
    -------
    RankSets
        ``table`` has the columns `RANK_SET_COLUMNS` (see `RankSets`).

    Raises
    ------
    InputError
        Estimates not finite, a covariance of the wrong shape, not symmetric or not
        positive semi-definite, a pair of units whose difference has zero variance,
        coverage outside (0, 1), or ``rng`` not a Generator.

    Notes
    -----
    The construction of Mogstad, Romano, Shaikh & Wilhelm (2024) [1]_, §3, as the R
    package ``csranks`` (`csranks`, `csdiffmeans`) implements it. With
    :math:`\\hat\\theta \\approx N(\\theta, \\Sigma)`, the pairwise differences
    :math:`\\theta_j - \\theta_k` are tested with the statistics
    :math:`t_{jk} = (\\hat\\theta_j - \\hat\\theta_k)/\\sigma_{jk}`,
    :math:`\\sigma_{jk}^2 = \\Sigma_{jj} + \\Sigma_{kk} - 2\\Sigma_{jk}`. The critical
    value :math:`c` is the ``coverage`` quantile (linear interpolation, R's type 7) of
    :math:`\\max |T_{jk}|` over the family, :math:`T = (Z_j - Z_k)/\\sigma_{jk}`,
    :math:`Z \\sim N(0, \\Sigma)`. The family of unit *j*'s marginal set is its pairs
    with every other unit; of a simultaneous set, every pair with a unit in
    ``indices``. :math:`k` is significantly better than *j* when :math:`t_{kj} > c`;
    the set is

    .. math:: \\{1 + \\#\\{k: t_{kj} > c\\}, \\dots, p - \\#\\{k: t_{jk} > c\\}\\}.

    Step-down (Romano & Wolf 2005): a pair whose direction was rejected leaves the
    family, its other direction staying in as a one-sided test, and the critical value
    is recomputed until nothing new is rejected. Unlike ``csranks``, which redraws at
    each step, the same draws serve every step, so each step's critical value is at
    most the last one's. The draws are shared by all units of a group.

    Assumption: the estimates are approximately normal with known covariance; the
    sets are as good as the standard errors. Tied true scores share the best of their
    places (competition rank); a set covers a tied unit when it contains every place
    of the tie.

    Checked against the examples of ``csranks`` (its documented output for
    ``csranks(seq(1, 3, length=10), rep(0.2, 10))`` and the published PISA 2018 math
    sets), and by simulation for coverage (``tests/test_fairness_ranks.py``).

    References
    ----------
    .. [1] Mogstad, M., Romano, J. P., Shaikh, A. M., & Wilhelm, D. (2024). Inference
       for ranks with applications to mobility across neighbourhoods and academic
       achievement across countries. Review of Economic Studies, 91(1), 476-518.
    .. [2] Romano, J. P., & Wolf, M. (2005). Exact and approximate stepdown methods
       for multiple hypothesis testing. Journal of the American Statistical
       Association, 100(469), 94-108.

    Examples
    --------
    >>> x = np.linspace(1, 3, 10)
    >>> sets = rank_confidence_sets(x, np.full(10, 0.2), simultaneous=True,
    ...                             rng=np.random.default_rng(1))
    >>> sets.table["rank_low"].tolist()    # csranks: 7 6 5 4 3 2 1 1 1 1
    [7, 6, 5, 4, 3, 2, 1, 1, 1, 1]
    >>> sets.table["rank_high"].tolist()   # csranks: 10 10 10 10 9 8 7 6 5 4
    [10, 10, 10, 10, 9, 8, 7, 6, 5, 4]
    """
    x, c, codes, labels, coverage, n_draws = _common_inputs(estimates, cov, groups, coverage, n_draws, rng)
    wanted = _indices_mask(indices, x.size)
    rows = np.flatnonzero(wanted)
    low = np.empty(x.size, dtype=np.int64)
    high = np.empty(x.size, dtype=np.int64)
    crit = np.full(x.size, np.nan)
    for members, engine in _by_group(x, c, codes, n_draws, rng, np.unique(codes[rows])).values():
        local = np.flatnonzero(wanted[members])
        if simultaneous:
            ci = engine.simultaneous(local, coverage, stepdown)
        else:
            ci = engine.marginal(local, coverage, stepdown)
        lo, hi = engine.bounds(local, ci)
        low[members[local]], high[members[local]] = lo, hi
        crit[members[local]] = ci
    table = _base_frame(x, c, codes, labels, rows)
    table["rank_low"] = low[rows]
    table["rank_high"] = high[rows]
    table["kind"] = "simultaneous" if simultaneous else "marginal"
    table["coverage"] = coverage
    table["critical_value"] = crit[rows]
    table["status"], table["note"] = _set_status(low[rows], high[rows], table["n_ranked"].to_numpy())
    return RankSets(table=table[list(RANK_SET_COLUMNS)], coverage=coverage, simultaneous=bool(simultaneous),
                    stepdown=bool(stepdown), n_draws=n_draws)


# ---------------------------------------------------------------------------------------
# public: the τ-best and τ-worst


@dataclass(frozen=True, eq=False)
class TauSets:
    """Who may be, and who certainly is, among the top or bottom τ (`tau_sets`).

    Attributes
    ----------
    table : DataFrame
        One row per unit in input order, columns `TAU_SET_COLUMNS`: ``unit``,
        ``group``, ``estimate``, ``se``, ``rank``, ``n_ranked``, ``side``
        ('top' / 'bottom'), ``tau``, the simultaneous ``rank_low`` and ``rank_high``,
        ``estimated_in`` (the estimate's own rank puts it among the τ), ``may_be_in``
        (the unit is in the confidence set for the τ-best / τ-worst), ``certainly_in``
        (its whole rank set lies among the τ), ``status`` ('in' / 'out' /
        'cannot_tell') and a plain ``note``.
    coverage : float
        Probability that every statement of a group holds at once.
    """

    table: pd.DataFrame
    coverage: float
    stepdown: bool
    n_draws: int


def _tau_per_unit(tau, codes: np.ndarray, n: int) -> np.ndarray:
    t = np.asarray(tau)
    if t.ndim == 0:
        t = np.full(n, t)
    if t.shape != (n,):
        raise InputError(f"tau: expected one integer or one per estimate ({n}), got shape {t.shape}")
    if not (np.isfinite(t.astype(float)).all() and (t.astype(float) == np.round(t.astype(float))).all()):
        raise InputError("tau: expected whole numbers")
    t = t.astype(np.int64)
    if (t < 0).any():
        raise InputError(f"tau: must be ≥ 0, got {int(t.min())}")
    for g in np.unique(codes):
        if np.unique(t[codes == g]).size > 1:
            raise InputError(f"tau: must be the same for every unit of a group; group {g} has {np.unique(t[codes == g])}")
    return t


def _tau_columns(side: str, tau, rank, low, high, n_ranked):
    if side == "top":
        estimated = rank <= tau
        may = low <= tau
        certain = high <= tau
    else:
        cut = n_ranked - tau + 1
        estimated = rank >= cut
        may = high >= cut
        certain = low >= cut
    word = "top" if side == "top" else "bottom"
    status = np.select([certain, ~may], ["in", "out"], "cannot_tell")
    note = np.select(
        [certain, ~may, estimated],
        [f"among the {word} tau with the stated confidence",
         f"not among the {word} tau with the stated confidence",
         f"listed among the {word} tau by its score, but the data cannot confirm it"],
        f"not listed among the {word} tau by its score, but the data cannot rule it in or out",
    )
    return estimated, may, certain, status, note


def tau_sets(
    estimates, cov, tau, *, side: str = "bottom", coverage: float = 0.95, stepdown: bool = True,
    n_draws: int = 1000, groups=None, rng: np.random.Generator,
) -> TauSets:
    """Confidence statements about membership of the top or bottom τ of each group.

    Parameters
    ----------
    estimates, cov, coverage, stepdown, n_draws, groups, rng
        As in `rank_confidence_sets`.
    tau : int or array_like of int
        Size of the top (bottom) set: one number, or one per unit (equal within a group,
        e.g. ⌊N/5⌋ for a special round).
    side : {'bottom', 'top'}

    Returns
    -------
    TauSets
        ``table`` has the columns `TAU_SET_COLUMNS` (see `TauSets`).

    Raises
    ------
    InputError
        As `rank_confidence_sets`; ``side`` not 'bottom' or 'top'; ``tau`` negative,
        fractional or varying within a group.

    Notes
    -----
    Mogstad, Romano, Shaikh & Wilhelm (2024) [1]_, §4.3, via the simultaneous
    confidence set :math:`[L_j, U_j]` for the ranks of all units of a group
    (`rank_confidence_sets` with ``simultaneous=True``). For the bottom τ of *p*:

    * ``may_be_in``: :math:`U_j \\ge p - \\tau + 1`, the confidence set for the
      τ-worst (``csranks::cstauworst``); it contains every truly τ-worst unit with
      probability ≥ ``coverage``;
    * ``certainly_in``: :math:`L_j \\ge p - \\tau + 1`; every unit so marked is truly
      among the τ-worst, all at once, with probability ≥ ``coverage``.

    The top τ mirror these (:math:`L_j \\le \\tau`, ``csranks::cstaubest``; and
    :math:`U_j \\le \\tau`). Both hold together, as they come from one simultaneous
    set. ``status`` is 'in' (certainly in), 'out' (not even possibly in) or
    'cannot_tell'. Assumption: approximately normal estimates with known covariance.

    References
    ----------
    .. [1] Mogstad, M., Romano, J. P., Shaikh, A. M., & Wilhelm, D. (2024). Inference
       for ranks with applications to mobility across neighbourhoods and academic
       achievement across countries. Review of Economic Studies, 91(1), 476-518.

    Examples
    --------
    >>> x = np.linspace(1, 3, 10)
    >>> top = tau_sets(x, np.full(10, 0.2), 3, side="top", rng=np.random.default_rng(1))
    >>> top.table["may_be_in"].tolist()    # csranks::cstaubest(x, sd, tau=3)
    [False, False, False, False, True, True, True, True, True, True]
    """
    if side not in ("bottom", "top"):
        raise InputError(f"side ('{side}') not recognized; must be 'bottom' or 'top'")
    sets = rank_confidence_sets(estimates, cov, coverage=coverage, simultaneous=True, stepdown=stepdown,
                                n_draws=n_draws, groups=groups, rng=rng)
    table = sets.table[["unit", "group", "estimate", "se", "rank", "n_ranked", "rank_low", "rank_high"]].copy()
    codes, _ = _group_codes(groups, len(table))
    t = _tau_per_unit(tau, codes, len(table))
    estimated, may, certain, status, note = _tau_columns(
        side, t, table["rank"].to_numpy(), table["rank_low"].to_numpy(), table["rank_high"].to_numpy(),
        table["n_ranked"].to_numpy(),
    )
    table["side"] = side
    table["tau"] = t
    table["estimated_in"], table["may_be_in"], table["certainly_in"] = estimated, may, certain
    table["status"], table["note"] = status, note
    return TauSets(table=table[list(TAU_SET_COLUMNS)], coverage=sets.coverage, stepdown=sets.stepdown,
                   n_draws=sets.n_draws)


def bottom_set(estimates, cov, tau, *, coverage: float = 0.95, stepdown: bool = True, n_draws: int = 1000,
               groups=None, rng: np.random.Generator) -> TauSets:
    """`tau_sets` for the bottom τ ("these units are among the bottom τ with 95% confidence")."""
    return tau_sets(estimates, cov, tau, side="bottom", coverage=coverage, stepdown=stepdown,
                    n_draws=n_draws, groups=groups, rng=rng)


def top_set(estimates, cov, tau, *, coverage: float = 0.95, stepdown: bool = True, n_draws: int = 1000,
            groups=None, rng: np.random.Generator) -> TauSets:
    """`tau_sets` for the top τ."""
    return tau_sets(estimates, cov, tau, side="top", coverage=coverage, stepdown=stepdown,
                    n_draws=n_draws, groups=groups, rng=rng)


def rank_uncertainty(
    estimates, cov, tau, *, coverage: float = 0.95, stepdown: bool = True, n_draws: int = 1000,
    groups=None, rng: np.random.Generator, tau_coverage: float | None = None,
) -> pd.DataFrame:
    """Marginal and simultaneous rank sets and top/bottom-τ statements from one set of draws.

    Parameters
    ----------
    estimates, cov, coverage, stepdown, n_draws, groups, rng
        As in `rank_confidence_sets`.
    tau : int or array_like of int
        As in `tau_sets` (the list size of each group).
    tau_coverage : float, optional
        Coverage of the simultaneous sets behind the top/bottom-τ statements, when
        it differs from ``coverage`` (a statement that joins them with another
        claim spends part of its error there); from the same draws, single-step
        (no step-down refinement: the sets are then conservative).

    Returns
    -------
    DataFrame
        One row per unit in input order, columns `RANK_UNCERTAINTY_COLUMNS`: ``unit``,
        ``group``, ``estimate``, ``se``, ``rank``, ``n_ranked``; the marginal set
        ``rank_low`` … ``rank_high``; the simultaneous set ``rank_low_simul`` …
        ``rank_high_simul``; ``tau``; ``top_may``, ``top_certain``, ``top_status`` and
        ``bottom_may``, ``bottom_certain``, ``bottom_status`` as ``may_be_in``,
        ``certainly_in`` and ``status`` of `tau_sets`; ``coverage``; and a ``note``
        on the bottom-τ statement.

    Notes
    -----
    The same computation as `rank_confidence_sets` (both kinds) and `tau_sets` (both
    sides), sharing the draws and the one pass over all pairs, so it costs little more
    than one of them. See those functions for the method and its assumptions.
    """
    x, c, codes, labels, coverage, n_draws = _common_inputs(estimates, cov, groups, coverage, n_draws, rng)
    t = _tau_per_unit(tau, codes, x.size)
    rows = np.arange(x.size)
    out = {k: np.empty(x.size, dtype=np.int64) for k in ("low", "high", "low_s", "high_s")}
    tau_coverage = coverage if tau_coverage is None else _check_level("tau_coverage", tau_coverage)
    out["low_t"], out["high_t"] = np.empty(x.size, dtype=np.int64), np.empty(x.size, dtype=np.int64)
    for members, engine in _by_group(x, c, codes, n_draws, rng, np.unique(codes)).values():
        local = np.arange(members.size)
        out["low"][members], out["high"][members] = engine.bounds(local, engine.marginal(local, coverage, stepdown))
        out["low_s"][members], out["high_s"][members] = engine.bounds(
            local, engine.simultaneous(local, coverage, stepdown))
        if tau_coverage == coverage:
            out["low_t"][members], out["high_t"][members] = out["low_s"][members], out["high_s"][members]
        else:
            # the single-step bound: conservative, and without a second step-down pass over the pairs
            out["low_t"][members], out["high_t"][members] = engine.bounds(
                local, engine.simultaneous(local, tau_coverage, False))
    table = _base_frame(x, c, codes, labels, rows)
    table["rank_low"], table["rank_high"] = out["low"], out["high"]
    table["rank_low_simul"], table["rank_high_simul"] = out["low_s"], out["high_s"]
    table["tau"] = t
    rank, n_ranked = table["rank"].to_numpy(), table["n_ranked"].to_numpy()
    for side in ("top", "bottom"):
        _, may, certain, status, note = _tau_columns(side, t, rank, out["low_t"], out["high_t"], n_ranked)
        table[f"{side}_may"], table[f"{side}_certain"], table[f"{side}_status"] = may, certain, status
    table["coverage"] = coverage
    table["note"] = note
    return table[list(RANK_UNCERTAINTY_COLUMNS)]


# ---------------------------------------------------------------------------------------
# public: funnel plot


def _level_name(level: float) -> str:
    return f"{100 * level:.10g}"


def _check_levels(level) -> tuple[float, ...]:
    levels = tuple(float(v) for v in np.atleast_1d(level))
    for v in levels:
        _check_level("level", v)
    if len(set(levels)) != len(levels):
        raise InputError(f"level: the levels must differ, got {levels}")
    return levels


def _overdispersion(z: np.ndarray, w: np.ndarray, winsor: float) -> tuple[float, float]:
    """Spiegelhalter's φ (mean winsorized z²) and the DerSimonian-Laird τ² from it."""
    n = z.size
    if n < 2:
        return np.nan, 0.0
    lo, hi = np.quantile(z, [winsor, 1.0 - winsor])
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    # n φ is Cochran's Q of the winsorized z-scores
    return phi, dersimonian_laird_tau2(n * phi, w)


@dataclass(frozen=True, eq=False)
class FunnelResult:
    """Funnel-plot limits for each unit (`funnel_limits`).

    Attributes
    ----------
    table : DataFrame
        One row per unit in input order: ``unit``, ``group``, ``score``, ``se``,
        ``precision`` (1/se), ``target`` (the group's centre), ``tau2`` (the group's
        between-unit variance added to the limits), ``z`` ((score − target)/se),
        ``z_adjusted`` ((score − target)/√(se² + τ²)); then per level, named by the
        level in percent (``95``, ``99.8``): ``lower_95``, ``upper_95``, ``status_95``
        ('above' / 'below' / 'within'), …; and a plain ``note``.
    groups : DataFrame
        One row per group: ``group``, ``n``, ``target``, ``phi`` (mean winsorized z²,
        ≈ 1 without overdispersion), ``tau2``, ``p_overdispersion`` (χ² test of
        nφ against n − 1 degrees of freedom) and ``overdispersed`` (τ² > 0 was used).
    levels : tuple of float
    """

    table: pd.DataFrame
    groups: pd.DataFrame
    levels: tuple[float, ...]


def funnel_limits(
    score, se, *, group_mean=None, level=(0.95, 0.998), overdispersion: bool = True,
    winsor: float = 0.1, groups=None,
) -> FunnelResult:
    """Control limits of a funnel plot, allowing for overdispersion.

    Parameters
    ----------
    score : array_like, shape (n,)
        Each unit's score.
    se : array_like, shape (n,)
        Its standard error (> 0).
    group_mean : float or array_like, shape (n,), optional
        The centre of the funnel (one value, or each unit's group's value). By default
        the precision-weighted mean of the group, Σwᵢyᵢ / Σwᵢ with wᵢ = 1/seᵢ².
    level : float or sequence of float
        Two-sided levels of the limits (Spiegelhalter's 95% and 99.8%).
    overdispersion : bool
        Widen the limits by the additive random-effects τ² estimated from the data
        (False: τ² = 0, limits from the standard errors alone).
    winsor : float
        Share of z-scores winsorized at each end before φ is estimated.
    groups : array_like, shape (n,), optional
        Ranking group of each unit; each group has its own centre and τ².

    Returns
    -------
    FunnelResult
        ``table`` and ``groups`` as described in `FunnelResult`.

    Raises
    ------
    InputError
        Scores not finite, standard errors not finite and positive, a level outside
        (0, 1), ``winsor`` outside [0, 0.5), or a group_mean of the wrong length.

    Notes
    -----
    Spiegelhalter (2005a) [1]_, the normal case, with the additive random-effects
    overdispersion of Spiegelhalter (2005b) [2]_ (DerSimonian & Laird [3]_), as
    ``FunnelPlotR`` computes it:

    1. :math:`z_i = (y_i - \\theta_0)/s_i`, winsorized at the ``winsor`` and
       1 − ``winsor`` quantiles (linear interpolation);
    2. :math:`\\hat\\phi = \\frac{1}{n}\\sum z_i^2` (winsorized);
    3. :math:`\\hat\\tau^2 = \\frac{n\\hat\\phi - (n - 1)}{\\sum w_i - \\sum w_i^2/\\sum w_i}`,
       :math:`w_i = 1/s_i^2`, and 0 if :math:`n\\hat\\phi \\le n - 1`;
    4. limits :math:`\\theta_0 \\pm z_{1-(1-\\ell)/2}\\sqrt{s_i^2 + \\hat\\tau^2}`.

    A unit outside its limits at level ℓ is 'above' or 'below'. τ² says how much the
    units truly differ beyond their measurement error; limits that include it flag
    only units that stand out from that spread. Assumption: approximately normal
    scores with known standard errors; a group of one unit gets τ² = 0.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
       performance. Statistics in Medicine, 24(8), 1185-1202.
    .. [2] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance
       indicators. Quality & Safety in Health Care, 14(5), 347-351.
    .. [3] DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
       Controlled Clinical Trials, 7(3), 177-188.

    Examples
    --------
    >>> res = funnel_limits([80.0, 82.0, 90.0], [1.0, 2.0, 1.0], overdispersion=False)
    >>> round(float(res.table["target"].iloc[0]), 4)
    84.6667
    >>> res.table["status_95"].tolist()
    ['below', 'within', 'above']
    """
    y = _as_estimates(score)
    s = np.asarray(se, dtype=float)
    if s.shape != y.shape or not (np.isfinite(s).all() and (s > 0).all()):
        raise InputError(f"se: expected {y.size} finite standard errors > 0")
    levels = _check_levels(level)
    winsor = float(winsor)
    if not 0 <= winsor < 0.5:
        raise InputError(f"winsor: expected a share in [0, 0.5), got {winsor}")
    codes, labels = _group_codes(groups, y.size)
    if group_mean is not None:
        centre = np.broadcast_to(np.asarray(group_mean, dtype=float), y.shape) if np.ndim(group_mean) == 0 \
            else np.asarray(group_mean, dtype=float)
        if centre.shape != y.shape or not np.isfinite(centre).all():
            raise InputError(f"group_mean: expected one finite number or {y.size}")
    w = 1.0 / s**2
    target = np.empty(y.size)
    tau2 = np.zeros(y.size)
    rows = []
    for g in np.unique(codes):
        m = codes == g
        theta = float(np.sum(w[m] * y[m]) / w[m].sum()) if group_mean is None else float(centre[m][0])
        target[m] = theta
        phi, t2 = _overdispersion((y[m] - theta) / s[m], w[m], winsor)
        n = int(m.sum())
        p_value = float(sps.chi2.sf(n * phi, n - 1)) if n > 1 else np.nan
        used = t2 if overdispersion else 0.0
        tau2[m] = used
        rows.append({"group": str(labels[g]), "n": n, "target": theta, "phi": phi, "tau2": used,
                     "p_overdispersion": p_value, "overdispersed": used > 0})
    spread = np.sqrt(s**2 + tau2)
    table = pd.DataFrame({
        "unit": np.arange(y.size), "group": labels[codes].astype(str), "score": y, "se": s,
        "precision": 1.0 / s, "target": target, "tau2": tau2, "z": (y - target) / s,
        "z_adjusted": (y - target) / spread,
    })
    outside = np.zeros(y.size, dtype=bool)
    for lv in levels:
        q = sps.norm.ppf(0.5 + lv / 2)
        name = _level_name(lv)
        table[f"lower_{name}"] = target - q * spread
        table[f"upper_{name}"] = target + q * spread
        above, below = y > table[f"upper_{name}"].to_numpy(), y < table[f"lower_{name}"].to_numpy()
        table[f"status_{name}"] = np.select([above, below], ["above", "below"], "within")
        outside |= above | below
    widest = _level_name(max(levels))
    table["note"] = np.where(
        outside, np.where(table[f"status_{widest}"] != "within",
                          f"outside the {widest}% limits: stands out beyond chance and the usual spread",
                          "outside the inner limits only: may be chance"),
        "within the limits: consistent with the group",
    )
    return FunnelResult(table=table, groups=pd.DataFrame(rows), levels=levels)


def funnel_curve(target: float, tau2: float = 0.0, *, se=None, precision=None, level=(0.95, 0.998),
                 n_points: int = 100) -> pd.DataFrame:
    """The funnel's limits over a grid of precisions, for drawing.

    Parameters
    ----------
    target : float
        The funnel's centre (``FunnelResult.groups['target']``).
    tau2 : float
        The between-unit variance (``FunnelResult.groups['tau2']``).
    se : array_like, optional
        Standard errors to span: the grid runs evenly in precision from 1/max(se) to
        1/min(se). Give this or ``precision``.
    precision : array_like, optional
        The precisions (1/se) at which to draw the limits, used as given.
    level : float or sequence of float
        As in `funnel_limits`.
    n_points : int
        Points of the grid when ``se`` is given.

    Returns
    -------
    DataFrame
        Columns ``precision``, ``se``, then ``lower_<level>`` and ``upper_<level>`` for
        each level in percent, rows in increasing precision.

    Notes
    -----
    The limits of `funnel_limits`, :math:`\\theta_0 \\pm z\\sqrt{1/\\text{precision}^2 + \\tau^2}`
    (Spiegelhalter 2005).
    """
    levels = _check_levels(level)
    if not (np.isfinite(target) and np.isfinite(tau2) and tau2 >= 0):
        raise InputError(f"target and tau2 must be finite, tau2 ≥ 0; got {target}, {tau2}")
    if (se is None) == (precision is None):
        raise InputError("give exactly one of se and precision")
    if precision is None:
        s = np.asarray(se, dtype=float)
        if s.size == 0 or not (np.isfinite(s).all() and (s > 0).all()):
            raise InputError("se: expected finite standard errors > 0")
        grid = np.linspace(1.0 / s.max(), 1.0 / s.min(), int(n_points))
    else:
        grid = np.sort(np.asarray(precision, dtype=float))
        if grid.size == 0 or not (np.isfinite(grid).all() and (grid > 0).all()):
            raise InputError("precision: expected finite precisions > 0")
    spread = np.sqrt(1.0 / grid**2 + tau2)
    out = {"precision": grid, "se": 1.0 / grid}
    for lv in levels:
        q = sps.norm.ppf(0.5 + lv / 2)
        out[f"lower_{_level_name(lv)}"] = target - q * spread
        out[f"upper_{_level_name(lv)}"] = target + q * spread
    return pd.DataFrame(out)
