"""What would change a unit's list: the score it needed, exact under every tie policy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..params import SOURCE_LABELS
from ..rules.evaluate import RoundResult
from ..rules.ranking import competition_ranks, cut_list, round_half_up
from .values import as_text

__all__ = ['counterfactual', 'counterfactual_lines']


def counterfactual(result: RoundResult, unit_id: str) -> dict:
    """What it would have taken: the smallest score change that moves the unit on or off each list.

    Returns
    -------
    dict
        For ``red`` and ``black``: ``listed``; ``change`` — the composite-score
        change (points on the 0–100 scale, positive = higher) that would have
        changed the outcome (for a listed unit, leave the list; otherwise enter
        it), ``None`` when no change can (a vetoed unit cannot be red, a list
        with cap 0 has no room); ``route`` — which condition binds
        (``threshold`` or ``rank``); ``target`` — the score to reach.
        For a black-listed unit also ``indicators``: the indicators whose
        missing points alone could have carried it (``headroom`` in composite
        points ≥ ``change``), largest first, and ``headroom_total``.

    Notes
    -----
    Scores are compared rounded half up to ``precision`` p, so a rounded score
    ≥ T needs a raw score ≥ T − ½·10⁻ᵖ, and a rounded score > T a raw score ≥
    T + ½·10⁻ᵖ. The candidates are the raw scores at which the unit's rounded
    score reaches, or passes, a threshold or another ranked unit of its group
    (the others as they scored); each is put through the lists' own rule
    (`honorcalc.rules.competition_ranks` and `honorcalc.rules.cut_list`, one
    batch of candidates), and the nearest that changes the outcome is the
    answer, so ties are decided by ``tie_policy`` exactly as the lists decide
    them. The route is the condition that binds: the threshold when the target
    sits on it, else the rank. An indicator's headroom is its missing points
    (max − mean of the raters) × the source's renormalised weight × 100 / the
    source's Σ max_points, times (1 − history weight) when the score is blended
    with history.
    """
    units = result.units
    row = units[units["unit_id"] == unit_id]
    if row.empty:
        raise InputError(f"unit {unit_id!r} was not evaluated in round {result.round_id!r}")
    u = row.iloc[0]
    p = result.params
    score = float(u["score"])
    cap = int(u["cap"])
    out: dict = {"score": score, "cap": cap, "precision": p.lists.precision}
    moves = _moves(result, u) if bool(u["ranked"]) else None
    for name, threshold in (("black", p.lists.black_max), ("red", p.lists.red_min)):
        listed = u["list"] == name
        route, target = None, None
        if moves is not None:
            raw, rounded, on_list = moves
            wanted = on_list[name] != listed
            if wanted.any():
                k = np.flatnonzero(wanted)[np.argmin(np.abs(raw[wanted] - score))]
                target = float(raw[k])
                if listed:  # leaving: the condition the target breaks
                    broken = rounded[k] < threshold if name == "red" else rounded[k] > threshold
                else:  # entering: the condition the target just meets
                    broken = rounded[k] == threshold
                route = "threshold" if broken else "rank"
        out[name] = {"listed": bool(listed), "route": route, "target": target,
                     "change": None if target is None else target - score}
    out["red"]["vetoed"] = bool(u["vetoed"])
    if out["black"]["listed"] and out["black"]["change"] is not None:
        out["black"].update(_headroom(result, u, out["black"]["change"]))
    return out


def _moves(result: RoundResult, u: pd.Series):
    """Candidate raw scores of a ranked unit, their rounded values, and the lists each gives.

    For every boundary b (the two thresholds and each other ranked unit's rounded
    score of the group): the raw scores that reach b from below (b − ½·10⁻ᵖ) and
    from above (b + ½·10⁻ᵖ − 10⁻ᵖ), and that pass it (b ± ½·10⁻ᵖ, the next
    published step). Candidates in the direction away from the unit's score are
    dropped; the rest are ordered threshold first, so that an equally near
    threshold is the route named.
    """
    p = result.params
    units = result.units
    step = 10.0 ** -p.lists.precision
    half = 0.5 * step
    group = units[(units["ranking_group"] == u["ranking_group"]) & units["ranked"].astype(bool)]
    others = group.loc[group["unit_id"] != u["unit_id"], "score_rounded"].to_numpy(dtype="float64")
    bases = np.concatenate([[p.lists.red_min, p.lists.black_max], np.unique(others)])
    up = np.concatenate([bases - half, bases + half])
    down = np.concatenate([bases + half - step, bases - half - step])
    score = float(u["score"])
    raw = np.concatenate([up[up > score], down[down < score]])
    rounded = round_half_up(raw, p.lists.precision)
    # each candidate is a replicate of the group: the others as they scored, the unit at its candidate
    values = np.concatenate([np.broadcast_to(others, (len(raw), len(others))), rounded[:, None]], axis=1)
    rank, tie, n_ranked = competition_ranks(np.zeros(values.shape[1], dtype=np.int64), values)
    rank_bottom = n_ranked - (rank + tie - 1) + 1
    ranked = np.ones(values.shape, dtype=bool)
    cap = int(u["cap"])
    no_red = bool(u["vetoed"]) and p.veto.action == "no_red"
    on_list = {
        "red": cut_list("red", values, rank, tie, cap, ranked, p, np.full(values.shape, no_red))
        .on_list[:, -1],
        "black": cut_list("black", values, rank_bottom, tie, cap, ranked, p).on_list[:, -1],
    }
    return raw, rounded, on_list


def _headroom(result: RoundResult, u: pd.Series, needed: float) -> dict:
    p = result.params
    weights = p.weights.as_dict()
    present = list(u["sources_present"])
    total = sum(weights[s] for s in present)
    blend = (1.0 - p.history.weight) if bool(u["blended"]) else 1.0
    pts = result.points[result.points["unit_id"] == u["unit_id"]]
    src = result.sources[result.sources["unit_id"] == u["unit_id"]].set_index("source")
    pts = pts.drop_duplicates(["indicator_id", "source"])
    headroom = [
        (r.indicator_id, r.name, r.source,
         (r.max_points - r.points) * weights[r.source] / total * 100.0 / src.at[r.source, "max_points"] * blend)
        for r in pts.itertuples(index=False)
        if r.source in present and total > 0
    ]
    headroom.sort(key=lambda h: (-h[3], h[0], h[2]))
    return {
        "indicators": [
            {"indicator_id": str(i), "name": as_text(n), "source": str(s), "headroom": float(h)}
            for i, n, s, h in headroom if h >= needed
        ],
        "headroom_total": float(sum(h[3] for h in headroom)),
    }


_CF = {
    "zh": {
        "title": "十二、差距分析 (其他单位得分不变)",
        "leave_black": "  黑榜: 综合得分再高 {d} 分 (达到 {target}) 即可不上黑榜 ({route})",
        "enter_black": "  黑榜: 距黑榜尚有 {d} 分 (降至 {target} 即入榜, {route})",
        "leave_red": "  红榜: 得分降低 {d} 分 (降至 {target}) 将不再入选红榜 ({route})",
        "enter_red": "  红榜: 再高 {d} 分 (达到 {target}) 可入选红榜 ({route})",
        "vetoed": "  红榜: 已被一票否决, 得分再高也不能入选",
        "no_room": "  {list}: 本期无名额, 不适用",
        "route": {"threshold": "分数线", "rank": "名次"},
        "list": {"red": "红榜", "black": "黑榜"},
        "carry": "  单项即可弥补差距的指标 (失分折合综合得分):",
        "carry_row": "    {id} {name} [{source}]: 最多可提高 {h} 分",
        "no_carry": "  没有单项指标能独自弥补差距; 全部失分合计折合 {h} 分",
    },
    "en": {
        "title": "12. What it would have taken (other units unchanged)",
        "leave_black": "  Black list: {d} more points (reaching {target}) would have kept it off ({route})",
        "enter_black": "  Black list: {d} points above it (falling to {target} would list it, {route})",
        "leave_red": "  Red list: losing {d} points (falling to {target}) would drop it ({route})",
        "enter_red": "  Red list: {d} more points (reaching {target}) would list it ({route})",
        "vetoed": "  Red list: vetoed; no score would list it",
        "no_room": "  {list}: no places this round",
        "route": {"threshold": "threshold", "rank": "rank cut"},
        "list": {"red": "Red list", "black": "Black list"},
        "carry": "  Indicators whose missing points alone could have closed the gap (in composite points):",
        "carry_row": "    {id} {name} [{source}]: up to {h}",
        "no_carry": "  No single indicator could have closed it; all missing points together are worth {h}",
    },
}


def counterfactual_lines(cf: dict, lang: str) -> list[str]:
    t = _CF[lang]
    p = cf["precision"]
    fmt = lambda x: f"{x:.{p}f}"  # noqa: E731
    shown = lambda x: fmt(float(round_half_up(x, p)))  # noqa: E731 - as the notice would print it
    lines = [t["title"]]
    for name in ("black", "red"):
        c = cf[name]
        if c["change"] is None:
            lines.append(t["vetoed"] if name == "red" and c.get("vetoed") else
                         t["no_room"].format(list=t["list"][name]))
            continue
        key = ("leave_" if c["listed"] else "enter_") + name
        lines.append(t[key].format(d=fmt(abs(c["change"])), target=shown(c["target"]),
                                   route=t["route"][c["route"]]))
        if name == "black" and c["listed"]:
            if c["indicators"]:
                lines.append(t["carry"])
                lines += [t["carry_row"].format(id=i["indicator_id"], name=i["name"],
                                                source=SOURCE_LABELS[lang][i["source"]],
                                                h=fmt(i["headroom"])) for i in c["indicators"][:8]]
            else:
                lines.append(t["no_carry"].format(h=fmt(c["headroom_total"])))
    return lines
