"""How much memory each simulation of the fairness analysis needs, checked before any of them runs.

The simulations grow with the data times a parameter: the laggard null with units ×
``null_cities``, the stability replicates with units × ``replicates``, the rank sets
with the square of the largest ranking group (up to ``rank_max_units``) and with
``rank_draws``, the G-study bootstrap with units × ``gstudy_bootstrap``, the group
comparison with units × ``permutations``; the rater-agreement statistics with the
cells scored by at least ``rater_slots`` raters. `fairness_sizes` reads the sizes off
the evaluation, `memory_needs` turns them into bytes, and `check_memory` refuses, in
one message naming each parameter and the largest value that fits, whatever would
not fit in the memory at hand, instead of a MemoryError (or the kernel's OOM killer)
minutes into the run.

The estimates are each simulation's peak, measured with tracemalloc on synthetic
cities of 40 to 2,400 units (``tests/test_limits.py`` checks that they bound what the
simulations allocate), and somewhat above it. The frames an analysis copies grow with
the score rows, which the row limit of the data (``HONORCALC_MAX_ROWS``) bounds.

The memory at hand is ``HONORCALC_MAX_MEMORY_MB`` when set; else the memory available
now (Linux: ``MemAvailable``, within a container's cgroup limit and the process's
address-space limit; elsewhere what ``os.sysconf`` or psutil report).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.read import env_limit
from ..errors import ParamError
from ..params import Fairness, Params, numeric_range
from .laggards import year_window

__all__ = [
    "ANALYSES",
    "MAX_MEMORY_VARIABLE",
    "MemoryNeed",
    "SimulationSizes",
    "available_memory",
    "check_memory",
    "fit_together",
    "fairness_sizes",
    "memory_needs",
]

#: Environment variable that sets the memory a run may use, in megabytes (default: what is available now).
MAX_MEMORY_VARIABLE = "HONORCALC_MAX_MEMORY_MB"

_LARGEST_MEMORY_MB = 1 << 30  # a petabyte: beyond it a number is a typo

#: The analyses sized, in the order the fairness tables run them.
ANALYSES = ("agreement", "gstudy", "laggards", "stability", "ranks", "groups")

# Bytes per element of each simulation's arrays at its peak (float64 is 8; several arrays are alive at once).
_NULL_BYTES = 120        # laggard null: (4 rules × 2 arrays of p-values + pools) per null city × unit
_NULL_CELLS = 250_000    # the null's cities are drawn this many (unit × round) cells at a time
_REPLICATE_BYTES = 44    # replicates: score, rank (float64), list (int8); the sorted ranks and their quantiles
_REPLICATE_KEPT = 17     # what the replicates keep while the rank sets are computed
_PERMUTATION_BYTES = 32  # group comparison: the permuted labels and the bins of each permutation
_BLOCK = 3 * 8 * 2_000_000  # the rank sets' and the laggards' blocked passes
_AGREEMENT_BYTES = 96    # agreement: the scopes' padded slots, the ICC's work on them, the raters × cells matrix
# bytes per score row of the round that an analysis copies (rescaled, sorted, laid out as arrays)
_ROW_BYTES = {"gstudy": 200, "stability": 250, "agreement": 100}


@dataclass(frozen=True)
class SimulationSizes:
    """The sizes of the data each simulation runs over (`fairness_sizes`).

    Attributes
    ----------
    window_units, window_rounds : units and rounds of the laggard window (the report
        round's calendar year up to it).
    judged_units : units with at least ``laggard_min_history`` ranked rounds there (none:
        the null is not drawn).
    round_units : (unit, round) rows of the report round: the replicates' columns.
    round_rows : rows the replicates score: those and the trailing rounds history blends in.
    rank_groups : ranked units of each ranking group of the round.
    sources : per source of the round, (units, raters, indicators): the G-study's sizes.
    cell_raters : cells (unit × indicator × source) of the round by their number of raters,
        ``cell_raters[m]`` with m raters (the last entry: m or more).
    scopes : scopes of the agreement statistics: all, each category, each indicator.
    score_rows : score rows of the round, which the G-study, the agreement statistics and
        (with those of the trailing rounds history blends in) the replicates copy.
    group_units : units the group comparison permutes: those of the round, when there is a
        comparison to make (two kinds of unit, or units with a size); else 0.
    """

    window_units: int = 0
    window_rounds: int = 0
    judged_units: int = 0
    round_units: int = 0
    round_rows: int = 0
    rank_groups: tuple[int, ...] = ()
    sources: tuple[tuple[int, int, int], ...] = ()
    cell_raters: tuple[int, ...] = ()
    scopes: int = 0
    score_rows: int = 0
    group_units: int = 0


@dataclass(frozen=True)
class MemoryNeed:
    """The memory one simulation needs, and how its parameter changes it.

    ``bytes`` is the need at the parameter's value; ``at(value)`` the need at another
    value of it (a need that grows with it).
    """

    analysis: str
    parameter: str
    what: str
    value: int
    at: Callable[[int], float] = field(repr=False)
    detail: str = ""

    @property
    def bytes(self) -> int:
        return int(self.at(self.value))

    @property
    def smallest(self) -> int:
        """The parameter's smallest value (`honorcalc.params.Fairness`)."""
        return int(numeric_range(Fairness.model_fields[self.parameter.split(".")[-1]])[0])

    def largest_fitting(self, available: float) -> int | None:
        """The largest value of the parameter, from its minimum up to its value, whose need fits; None if none."""
        low = self.smallest
        if self.at(low) > available:
            return None
        high = self.value
        while low < high:
            middle = (low + high + 1) // 2
            if self.at(middle) <= available:
                low = middle
            else:
                high = middle - 1
        return low


def _cgroup_room() -> float:
    """What a container's memory limit leaves (cgroup v2, else v1); inf outside one."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as limit, open(usage_file) as usage:
                text = limit.read().strip()
                if text != "max" and int(text) < 1 << 60:
                    return max(0.0, int(text) - int(usage.read().strip()))
        except (OSError, ValueError):
            continue
    return float("inf")


def _address_space_room() -> float:
    """What ``ulimit -v`` (RLIMIT_AS) leaves this process; inf without one."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft == resource.RLIM_INFINITY:
            return float("inf")
        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        return max(0.0, soft - used)
    except (ImportError, OSError, ValueError, IndexError):
        return float("inf")


def _measured() -> float | None:
    """The memory available now, in bytes; None where nothing says."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    # MemAvailable counts the page cache the kernel can drop; MemFree does not
                    return int(line.split()[1]) * 1024.0
    except (OSError, ValueError, IndexError):
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except ImportError:
        return None


def available_memory() -> tuple[float, str]:
    """The memory the fairness simulations may use, in bytes, and where the number comes from.

    Raises
    ------
    InputError
        ``HONORCALC_MAX_MEMORY_MB`` is set to something other than a positive number.
    """
    megabytes = env_limit(MAX_MEMORY_VARIABLE, 0.0, unit="megabytes", largest=_LARGEST_MEMORY_MB)
    if megabytes:
        return megabytes * (1 << 20), f"set by {MAX_MEMORY_VARIABLE}"
    measured = _measured()
    room = min(_cgroup_room(), _address_space_room())
    if measured is None and room == float("inf"):
        return float("inf"), f"not measurable here; set {MAX_MEMORY_VARIABLE}"
    return min(room, float("inf") if measured is None else measured), \
        f"available now; {MAX_MEMORY_VARIABLE} sets another amount"


def fairness_sizes(results: pd.DataFrame, params: Params, round_id: str | None = None, *,
                   scores: pd.DataFrame | None = None, indicators: pd.DataFrame | None = None,
                   units: pd.DataFrame | None = None) -> SimulationSizes:
    """The sizes of every simulation of the fairness tables of ``round_id`` (default ``params.round``).

    ``results`` is `honorcalc.rules.Evaluation.results` up to the round; ``scores`` and
    ``indicators`` (the dataset's) give the G-study's and the agreement's sizes, left
    at zero without them; ``units`` tells whether the group comparison has groups to
    compare (without it, it is sized as if it had). Reads counts only: a pass over the
    results and one over the round's score rows.
    """
    round_id = params.round if round_id is None else round_id
    window = year_window(results, round_id)
    ranked = window[window["ranked"].astype(bool)]
    history = ranked.groupby("unit_id", sort=False).size()
    current = results[results["round_id"] == round_id]
    in_round = current[current["ranked"].astype(bool)]
    h = params.history
    trailing = h.rounds if h.weight > 0 else 0
    sizes = {
        "window_units": int(window["unit_id"].nunique()), "window_rounds": int(window["round_id"].nunique()),
        "judged_units": int((history >= params.fairness.laggard_min_history).sum()),
        "round_units": len(current), "round_rows": len(current) * (1 + trailing),
        "rank_groups": tuple(int(n) for n in in_round.groupby("ranking_group", sort=False).size()),
        "group_units": len(current),
    }
    if units is not None:
        # the comparisons of `group_fairness`: the kinds of unit, and size terciles within a kind
        mine = units[units["unit_id"].isin(current["unit_id"])]
        compared = mine["kind"].nunique() >= 2 or (
            "size" in mine.columns and bool((mine.groupby("kind")["size"].count() >= 3).any()))
        sizes["group_units"] = len(current) if compared else 0
    if scores is not None:
        this = scores[scores["round_id"] == round_id]
        sizes["score_rows"] = len(this)
        counts = this.groupby("source", sort=True)[["unit_id", "rater_id", "indicator_id"]].nunique()
        sizes["sources"] = tuple(tuple(int(v) for v in row) for row in counts.to_numpy())
        per_cell = this.groupby(["unit_id", "indicator_id", "source"], sort=False).size().to_numpy()
        top = int(numeric_range(Fairness.model_fields["rater_slots"])[1])
        sizes["cell_raters"] = tuple(int(v) for v in np.bincount(np.minimum(per_cell, top), minlength=top + 1))
        ids = this["indicator_id"].unique()
        categories = 0
        if indicators is not None:
            categories = int(indicators.loc[indicators["indicator_id"].isin(ids), "category"].nunique())
        sizes["scopes"] = 1 + categories + len(ids)
    return SimulationSizes(**sizes)


def _rank_sets(p: int, draws: int) -> float:
    """One ranking group's rank sets: pairwise matrices (p²) and per-unit draws (p × draws)."""
    if p < 2:
        return 0.0
    return 8.0 * (12 * p * p + 8 * p * draws) + min(_BLOCK, 24.0 * p * p * draws)


def memory_needs(sizes: SimulationSizes, params: Params, analyses=ANALYSES) -> list[MemoryNeed]:
    """The memory of each simulation of ``analyses`` (`ANALYSES`) at the parameters' values."""
    fp = params.fairness
    needs = []
    units, rounds = sizes.window_units, sizes.window_rounds
    if "laggards" in analyses and sizes.judged_units:
        needs.append(MemoryNeed(
            "laggards", "fairness.null_cities", "the laggard null", fp.null_cities,
            lambda c: _NULL_BYTES * c * units + 80.0 * max(_NULL_CELLS, units * rounds),
            f"{fp.null_cities:,} null cities × {units:,} units"))
    n, rows = sizes.round_units, sizes.round_rows
    laid_out = _ROW_BYTES["stability"] * sizes.score_rows * rows / max(n, 1) + 400.0 * rows
    if "stability" in analyses and n:
        needs.append(MemoryNeed(
            "stability", "fairness.replicates", "the stability replicates", fp.replicates,
            lambda r: _REPLICATE_BYTES * r * n + laid_out,
            f"{fp.replicates:,} replicates × {n:,} units"))
    groups = sorted(g for g in sizes.rank_groups if g >= 2)
    largest = max((g for g in groups if g <= fp.rank_max_units), default=0)
    if "ranks" in analyses and n and fp.measurement_error and largest:
        kept = _REPLICATE_KEPT * fp.replicates * n + laid_out

        def ranks(limit: int) -> float:
            inside = [g for g in groups if g <= limit]
            return kept + (_rank_sets(inside[-1], fp.rank_draws) if inside else 0.0)

        needs.append(MemoryNeed(
            "ranks", "fairness.rank_max_units", "the rank confidence sets", fp.rank_max_units, ranks,
            f"a ranking group of {largest:,} units × {fp.rank_draws:,} draws (fairness.rank_draws), "
            f"beside the replicates"))
    if "gstudy" in analyses and sizes.sources:
        def gstudy(b: int) -> float:
            return _ROW_BYTES["gstudy"] * sizes.score_rows + max(
                16.0 * p * (r + i) + b * (32.0 * p + 24.0 * (r * i + r + i)) for p, r, i in sizes.sources)

        needs.append(MemoryNeed(
            "gstudy", "fairness.gstudy_bootstrap", "the G-study bootstrap", fp.gstudy_bootstrap, gstudy,
            f"{fp.gstudy_bootstrap:,} resamples of up to {max(s[0] for s in sizes.sources):,} units"))
    compared = sizes.group_units
    if "groups" in analyses and compared:
        needs.append(MemoryNeed(
            "groups", "fairness.permutations", "the group comparison's permutations", fp.permutations,
            lambda m: _PERMUTATION_BYTES * m * compared, f"{fp.permutations:,} permutations × {compared:,} units"))
    if "agreement" in analyses and sizes.cell_raters:
        counts, scopes = np.asarray(sizes.cell_raters), sizes.scopes

        def agreement(k: int) -> float:
            # every scope's k rater slots, padded to the cells of the widest scope, and the ICC's work on them
            return _AGREEMENT_BYTES * scopes * k * counts[min(k, len(counts) - 1):].sum() + \
                _ROW_BYTES["agreement"] * sizes.score_rows

        needs.append(MemoryNeed(
            "agreement", "fairness.rater_slots", "the rater agreement statistics", fp.rater_slots, agreement,
            f"{scopes:,} scopes × {int(counts[min(fp.rater_slots, len(counts) - 1):].sum()):,} cells × "
            f"{fp.rater_slots} slots"))
    return needs


#: The share of the memory at hand that the value advised for a parameter may use.
_HEADROOM = 0.8


def _round_down(value: int) -> int:
    """``value`` rounded down to two significant digits (12,345 → 12,000)."""
    step = 10 ** max(0, len(str(value)) - 2)
    return value // step * step


def _megabytes(size: float) -> str:
    megabytes = size / (1 << 20)
    return f"{megabytes:.2g} MB" if megabytes < 10 else f"{megabytes:,.0f} MB"


def fit_together(needs: list[MemoryNeed], available: tuple[float, str] | None = None) -> bool:
    """Whether every simulation's memory fits at the same time, with the room `check_memory` leaves."""
    size = (available_memory() if available is None else available)[0]
    return sum(need.bytes for need in needs) <= _HEADROOM * size


def check_memory(needs: list[MemoryNeed], available: tuple[float, str] | None = None) -> None:
    """Refuse, before anything is computed, every simulation that would not fit in the memory at hand.

    Parameters
    ----------
    needs : `memory_needs`.
    available : bytes and their source (default `available_memory`).

    Raises
    ------
    ParamError
        One line per simulation that does not fit: what it needs, and a value of
        its parameter that fits with room to spare (its need within 80% of the
        memory at hand, rounded down to two significant digits), or, when even its
        smallest does not, that it needs more memory or less data.
    """
    size, source = available_memory() if available is None else available
    over = [need for need in needs if need.bytes > size]
    if not over:
        return
    at_hand = f"the {_megabytes(size)} of memory at hand ({source})"
    problems = []
    for need in over:
        # the value advised leaves room: the memory at hand changes, and the data need some too
        fit = need.largest_fitting(_HEADROOM * size)
        if fit is not None:
            fit = max(need.smallest, _round_down(fit))
        if fit is None:
            low = need.smallest
            advice = (f"even at its smallest ({need.parameter} = {low:,}) it would need "
                      f"{_megabytes(need.at(low))}: run it with more memory, or on less data (one dataset per city)")
        else:
            advice = f"lower {need.parameter} to {fit:,} or less"
        problems.append((need.parameter, f"{need.what} would need about {_megabytes(need.bytes)} ({need.detail})",
                         advice))
    if len(problems) == 1:
        parameter, needed, advice = problems[0]
        raise ParamError(f"{needed}, more than {at_hand}; {advice}", parameter=parameter)
    lines = [f"{len(problems)} simulations would not fit in {at_hand}:"]
    lines += [f"  parameter '{parameter}': {needed}; {advice}" for parameter, needed, advice in problems]
    raise ParamError("\n".join(lines))
