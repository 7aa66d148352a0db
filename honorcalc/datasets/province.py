"""A synthetic province's year, for scale tests: 16 cities, about ten million score rows.

`make_city` builds one city's six tables of the dataset contract in memory, with
NumPy array operations only (no Python loop over units or rows); `write_province`
writes every city as Parquet. The data are plausible but carry no planted story:
they exist to be loaded, validated, scored and ranked at scale
(``benchmarks/bench_scale.py``); the demo city (`honorcalc.datasets.demo`) is the one
whose outcome is checked.

Layout: one dataset directory per city, ``<root>/<city_id>/<table>.parquet``,
plus ``<root>/province.json`` listing the cities. `write_province_dataset` writes
the same cities as ONE dataset directory instead (``<root>/<table>.parquet``,
unit and rater ids prefixed with the city's id), the way a provincial office
would run them in one report: the scale case of one ``honorcalc run``
(``benchmarks/bench_province.py``). DESIGN.md's contract is a
*city's* dataset: unit ids, ranking groups, rounds and lists belong to one city,
and ``honorcalc batch`` runs cities as independent jobs. A single province
directory with a ``city`` column would validate too (extra columns are kept),
but every unit would then be ranked against the whole province's groups, which
no rule asks for.

Per city and year (the defaults):

- 150-600 units (drawn), a quarter of them city departments (市直部门,
  ``industry``), the rest districts, streets and communities (``territorial``);
- 40 comprehensive indicators of 2 or 3 points (100 in all, 8 categories) and
  four special topics of 6 indicators (100 points per topic);
- 4 quarterly comprehensive rounds and 24 special rounds (the 10th and 25th of
  each month, the topics in turn);
- comprehensive rounds: every indicator scored by 5 of the city's 40 field
  inspectors, and half of them also by one other source; special rounds: 4 field
  inspectors and the unit's day-to-day monitor per topic indicator. That is
  1,600 score rows per unit and year, about 9.6 million for 6,000 units;
- deductions for about 3% of unit-rounds (a fifth with a joint unit) and one
  satisfaction survey per unit and comprehensive round.

Scores are a unit's latent quality plus a round shock, the rater's severity and
noise, clipped to 0..max_points and rounded to half points.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..params import SOURCES

__all__ = ["CITIES", "city_sizes", "make_city", "write_province", "write_province_dataset"]

#: City ids and names of the synthetic province (the prefecture-level cities of an invented 文明省).
CITIES = (
    ("C01", "东州市"), ("C02", "西陵市"), ("C03", "南川市"), ("C04", "北原市"),
    ("C05", "江城市"), ("C06", "河阳市"), ("C07", "山南市"), ("C08", "湖东市"),
    ("C09", "临海市"), ("C10", "青石市"), ("C11", "白沙市"), ("C12", "红岭市"),
    ("C13", "金水市"), ("C14", "玉泉市"), ("C15", "松林市"), ("C16", "桃源市"),
)

_YEAR = 2026
_GROUPS = (("市直部门", "industry", 0.25), ("县区", "territorial", 0.05),
           ("街道", "territorial", 0.25), ("社区", "territorial", 0.45))
_N_COMPREHENSIVE = 40
_CATEGORIES = ("公共秩序", "环境卫生", "市民素质", "志愿服务", "未成年人思想道德建设",
               "公共设施", "窗口服务", "宣传氛围")
_TOPICS = ("同类点位建设", "网申工作", "挂包工作", "问卷调查")
_TOPIC_POINTS = (20, 20, 15, 15, 15, 15)
_N_FIELD_RATERS = 40
_COMP_TEAM, _SPECIAL_TEAM = 5, 4
_CODES = ("N01", "N02", "N03", "N04", "N05", "N06", "N07", "N08")
_CODE_POINTS = np.array([1.0, 0.5, 1.0, 0.5, 0.5, 1.5, 3.0, 2.0])
_DEDUCTION_RATE, _JOINT_SHARE = 0.03, 0.2


def city_sizes(seed: int = 2026, n_cities: int = 16, units: tuple[int, int] = (150, 600)) -> np.ndarray:
    """Number of units of each city: uniform in ``units`` (inclusive), from ``seed``."""
    rng = np.random.default_rng([seed, 0])
    return rng.integers(units[0], units[1] + 1, n_cities)


def _units(rng: np.random.Generator, n: int) -> pd.DataFrame:
    shares = np.array([g[2] for g in _GROUPS])
    counts = np.maximum(1, np.floor(shares * n).astype(int))
    counts[-1] = max(1, n - counts[:-1].sum())
    group = np.repeat(np.arange(len(_GROUPS)), counts)[:n]
    names = np.array([g[0] for g in _GROUPS])
    kinds = np.array([g[1] for g in _GROUPS])
    serial = np.arange(1, n + 1)
    size = np.where(kinds[group] == "industry", rng.lognormal(np.log(300), 0.6, n),
                    rng.lognormal(np.log(20_000), 0.8, n))
    return pd.DataFrame({
        "unit_id": np.char.add("U", np.char.zfill(serial.astype(str), 4)),
        "name": np.char.add(names[group].astype(str), np.char.zfill(serial.astype(str), 4)),
        "kind": kinds[group],
        "group": names[group],
        "size": np.round(size).astype(np.int64),
    })


def _indicators() -> pd.DataFrame:
    k = np.arange(_N_COMPREHENSIVE)
    comp = pd.DataFrame({
        "indicator_id": [f"I{j + 1:02d}" for j in k],
        "name": [f"综合指标{j + 1:02d}" for j in k],
        "category": np.array(_CATEGORIES)[k * len(_CATEGORIES) // _N_COMPREHENSIVE],
        "max_points": np.where(k % 2 == 0, 2.0, 3.0),
        "topic": None,
    })
    t, j = np.divmod(np.arange(len(_TOPICS) * len(_TOPIC_POINTS)), len(_TOPIC_POINTS))
    special = pd.DataFrame({
        "indicator_id": [f"T{a + 1}-{b + 1:02d}" for a, b in zip(t, j)],
        "name": [f"{_TOPICS[a]}指标{b + 1}" for a, b in zip(t, j)],
        "category": [_TOPICS[a] for a in t],
        "max_points": np.array(_TOPIC_POINTS, dtype=float)[j],
        "topic": np.array(_TOPICS)[t],
    })
    return pd.concat([comp, special], ignore_index=True)


def _rounds() -> pd.DataFrame:
    quarter_end = [dt.date(_YEAR, 3, 31), dt.date(_YEAR, 6, 30), dt.date(_YEAR, 9, 30),
                   dt.date(_YEAR, 12, 31)]
    comp = pd.DataFrame({"round_id": [f"C{_YEAR}Q{q + 1}" for q in range(4)],
                         "kind": "comprehensive", "topic": None, "date": quarter_end})
    k = np.arange(24)
    special = pd.DataFrame({
        "round_id": [f"S{_YEAR}-{m + 1:02d}{'ab'[h]}" for m, h in zip(k // 2, k % 2)],
        "kind": "special",
        "topic": np.array(_TOPICS)[k % len(_TOPICS)],
        "date": [dt.date(_YEAR, m + 1, (10, 25)[h]) for m, h in zip(k // 2, k % 2)],
    })
    return pd.concat([comp, special], ignore_index=True).sort_values(
        "date", kind="stable", ignore_index=True)


def make_city(seed: int, n_units: int) -> dict[str, pd.DataFrame]:
    """One city's year as the six tables of the dataset contract.

    Parameters
    ----------
    seed : int
        Seed of every draw; the same seed and size give identical tables.
    n_units : int
        Number of units.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``units``, ``indicators``, ``rounds``, ``scores``, ``deductions``,
        ``surveys``. Ids and text are strings; ``points``, ``max_points`` and
        ``size`` numbers; ``rounds.date`` a ``datetime.date``; ``verified`` bool:
        typed columns, as a Parquet export from a database would have them.
    """
    rng = np.random.default_rng(seed)
    units, indicators, rounds = _units(rng, n_units), _indicators(), _rounds()
    n_rounds = len(rounds)
    kind = rounds["kind"].to_numpy()
    quality = np.clip(rng.normal(0.83, 0.06, n_units)[:, None]
                      + rng.normal(0.0, 0.04, (n_units, n_rounds)), 0.3, 0.99)
    # raters 0-39 are the field inspectors; 40-42 the three offices of the other
    # sources (a unit is served by office unit % 3), which scatter less
    severity = rng.normal(0.0, 0.02, _N_FIELD_RATERS + 3)
    noise = np.r_[np.full(_N_FIELD_RATERS, 0.06), np.full(3, 0.04)]
    # field inspectors R01-R40; each other source has three offices (daily01 ... public03)
    rater_ids = np.array([f"R{k + 1:02d}" for k in range(_N_FIELD_RATERS)]
                         + [f"{s}{o:02d}" for s in SOURCES[1:] for o in (1, 2, 3)])
    daily = _N_FIELD_RATERS + np.arange(n_units) % 3
    # a unit's inspection team: consecutive inspectors from a random start, 8 apart
    start = rng.integers(0, _N_FIELD_RATERS, (n_rounds, n_units))

    comp = np.flatnonzero(kind == "comprehensive")
    n_comp_ind = _N_COMPREHENSIVE
    # (round, unit, indicator, rater, source) of every score row, built as index grids
    r, u, i, k = np.indices((len(comp), n_units, n_comp_ind, _COMP_TEAM)).reshape(4, -1)
    parts = [(comp[r], u, i, (start[comp[r], u] + 8 * k) % _N_FIELD_RATERS, np.zeros_like(u))]
    # half the indicators (the odd ones) are also scored by one other source
    other = np.arange(1, n_comp_ind, 2)
    r, u, j = np.indices((len(comp), n_units, len(other))).reshape(3, -1)
    source = 1 + (other[j] // 2) % (len(SOURCES) - 1)
    parts.append((comp[r], u, other[j], daily[u], source))

    special = np.flatnonzero(kind == "special")
    topic = rounds["topic"].to_numpy()[special]
    topic_ind = n_comp_ind + pd.Index(_TOPICS).get_indexer(topic) * len(_TOPIC_POINTS)
    r, u, j, k = np.indices((len(special), n_units, len(_TOPIC_POINTS), _SPECIAL_TEAM + 1)).reshape(4, -1)
    field = k < _SPECIAL_TEAM
    rater = np.where(field, (start[special[r], u] + 8 * k) % _N_FIELD_RATERS, daily[u])
    parts.append((special[r], u, topic_ind[r] + j, rater, np.where(field, 0, 1)))

    rnd, unit, ind, rater, src = (np.concatenate(c) for c in zip(*parts))
    share = (quality[unit, rnd] + severity[rater]
             + noise[rater] * rng.standard_normal(len(rnd)))
    max_points = indicators["max_points"].to_numpy()
    points = np.round(np.clip(share, 0.0, 1.0) * max_points[ind] * 2) / 2
    visit = np.where(src == 0, np.where(rng.random(len(rnd)) < 1 / 3, 2, 1), 0)
    order = np.lexsort((rater, src, ind, unit, rnd))
    office = np.where(src == 0, rater, _N_FIELD_RATERS + 3 * (src - 1) + unit % 3)
    scores = pd.DataFrame({
        "round_id": rounds["round_id"].to_numpy()[rnd[order]],
        "unit_id": units["unit_id"].to_numpy()[unit[order]],
        "indicator_id": indicators["indicator_id"].to_numpy()[ind[order]],
        "rater_id": rater_ids.astype(object)[office[order]],
        "source": np.array(SOURCES)[src[order]],
        "points": points[order],
        "visit": np.array([None, "open", "covert"], dtype=object)[visit[order]],
    })
    return {
        "units": units,
        "indicators": indicators,
        "rounds": rounds,
        "scores": scores,
        "deductions": _deductions(rng, units, rounds, quality),
        "surveys": _surveys(rng, units, rounds, quality),
    }


def _deductions(rng, units: pd.DataFrame, rounds: pd.DataFrame, quality: np.ndarray) -> pd.DataFrame:
    n_units, n_rounds = quality.shape
    has = rng.random((n_units, n_rounds)) < _DEDUCTION_RATE * np.exp(-8 * (quality - 0.83))
    code = rng.integers(0, len(_CODES), (n_units, n_rounds))
    joint = has & (rng.random((n_units, n_rounds)) < _JOINT_SHARE)
    partner = (np.arange(n_units)[:, None] + 1 + rng.integers(0, n_units - 1, (n_units, n_rounds))) % n_units
    u, t = np.nonzero(has)
    ju, jt = np.nonzero(joint)
    ids = units["unit_id"].to_numpy()
    codes = np.array(_CODES)
    rows = pd.DataFrame({
        "t": np.r_[t, jt],
        "u": np.r_[u, partner[ju, jt]],
        "code": np.r_[code[u, t], code[ju, jt]],
        "joint": np.r_[np.zeros(len(u), bool), np.ones(len(ju), bool)],
        "verified": rng.random(len(u) + len(ju)) >= 0.05,
        # a joint row names its primary unit: two joint rows never look identical
        "note": np.r_[np.char.add("违反", codes[code[u, t]]),
                      np.char.add("连带：", ids[ju].astype(str))],
    }).sort_values(["t", "u", "joint"], kind="stable", ignore_index=True)
    return pd.DataFrame({
        "round_id": rounds["round_id"].to_numpy()[rows["t"]],
        "unit_id": ids[rows["u"]],
        "code": codes[rows["code"]],
        "points": _CODE_POINTS[rows["code"]],
        "role": np.where(rows["joint"], "joint", "primary"),
        "verified": rows["verified"].to_numpy(),
        "note": rows["note"].to_numpy(),
    })


def _surveys(rng, units: pd.DataFrame, rounds: pd.DataFrame, quality: np.ndarray) -> pd.DataFrame:
    comp = np.flatnonzero(rounds["kind"].to_numpy() == "comprehensive")
    u, c = np.indices((len(units), len(comp))).reshape(2, -1)
    respondents = rng.integers(40, 301, len(u))
    rate = np.clip(0.875 + 0.5 * (quality[u, comp[c]] - 0.83) + rng.normal(0, 0.03, len(u)), 0.6, 0.98)
    order = np.lexsort((u, c))
    return pd.DataFrame({
        "round_id": rounds["round_id"].to_numpy()[comp[c]][order],
        "unit_id": units["unit_id"].to_numpy()[u][order],
        "respondents": respondents[order],
        "satisfied": np.round(rate * respondents).astype(np.int64)[order],
    })


def write_province(
    directory: str | Path,
    *,
    seed: int = 2026,
    n_cities: int = 16,
    units: tuple[int, int] = (150, 600),
) -> dict:
    """Write the province: one Parquet dataset directory per city, and ``province.json``.

    Parameters
    ----------
    directory : created if needed; existing city directories are overwritten.
    seed : seed of every draw (city ``k`` draws from a seed derived from ``(seed, k + 1)``).
    n_cities : at most 16.
    units : inclusive range of the number of units per city.

    Returns
    -------
    dict
        The contents of ``province.json``: ``seed``, ``year`` and ``cities``, a
        list of ``{"city_id", "name", "dir", "units", "score_rows"}``.
    """
    if not 1 <= n_cities <= len(CITIES):
        raise ValueError(f"n_cities must be 1..{len(CITIES)}, got {n_cities}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sizes = city_sizes(seed, n_cities, units)
    cities = []
    for k, ((city_id, name), n_units) in enumerate(zip(CITIES, sizes)):
        tables = make_city(int(np.random.SeedSequence([seed, k + 1]).generate_state(1)[0]), int(n_units))
        city_dir = directory / city_id
        city_dir.mkdir(exist_ok=True)
        for table, frame in tables.items():
            frame.to_parquet(city_dir / f"{table}.parquet", index=False)
        cities.append({"city_id": city_id, "name": name, "dir": city_id,
                       "units": int(n_units), "score_rows": len(tables["scores"])})
        del tables
    info = {"seed": seed, "year": _YEAR, "cities": cities}
    (directory / "province.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
    return info


def write_province_dataset(
    directory: str | Path,
    *,
    seed: int = 2026,
    n_cities: int = 16,
    units: tuple[int, int] = (150, 600),
) -> dict:
    """Write the province as one dataset directory: ``<directory>/<table>.parquet``.

    The cities are those of `write_province` (same seeds, same tables), written
    one after the other into each table's file, so that only one city is in
    memory at a time. Ids stay unique across cities: unit ids become
    ``<city_id>-<unit_id>`` (in scores, deductions, surveys and a joint
    deduction's note too), rater ids ``<city_id>-<rater_id>`` and unit names
    start with the city's name; indicators and rounds are the same in every
    city and written once. Ranking groups (县区, 街道 …) then span the province.

    Returns
    -------
    dict
        ``seed``, ``year``, ``units``, ``score_rows`` and ``cities`` (as in `write_province`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not 1 <= n_cities <= len(CITIES):
        raise ValueError(f"n_cities must be 1..{len(CITIES)}, got {n_cities}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sizes = city_sizes(seed, n_cities, units)
    writers: dict[str, pq.ParquetWriter] = {}
    cities = []
    try:
        for k, ((city_id, name), n_units) in enumerate(zip(CITIES, sizes)):
            tables = make_city(int(np.random.SeedSequence([seed, k + 1]).generate_state(1)[0]), int(n_units))
            prefix = f"{city_id}-"
            for table in ("units", "scores", "deductions", "surveys"):
                tables[table]["unit_id"] = prefix + tables[table]["unit_id"]
            tables["units"]["name"] = name + tables["units"]["name"]
            # the size as text (the contract reads both alike): a province's thousands of distinct
            # sizes would make an integer column that the Parquet reader cannot yet turn into text
            tables["units"]["size"] = tables["units"]["size"].astype(str)
            tables["scores"]["rater_id"] = prefix + tables["scores"]["rater_id"]
            note = tables["deductions"]["note"]
            tables["deductions"]["note"] = note.str.replace("连带：", "连带：" + prefix, regex=False)
            for table, frame in tables.items():
                if k > 0 and table in ("indicators", "rounds"):
                    continue
                data = pa.Table.from_pandas(frame, preserve_index=False)
                if table not in writers:
                    writers[table] = pq.ParquetWriter(directory / f"{table}.parquet", data.schema)
                writers[table].write_table(data.cast(writers[table].schema))
            cities.append({"city_id": city_id, "name": name, "units": int(n_units),
                           "score_rows": len(tables["scores"])})
            del tables
    finally:
        for writer in writers.values():
            writer.close()
    return {"seed": seed, "year": _YEAR, "units": sum(c["units"] for c in cities),
            "score_rows": sum(c["score_rows"] for c in cities), "cities": cities}
