"""The fairness findings in words, for the report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["fairness_findings"]



_SOURCE_NAMES = {
    "zh": {"field": "实地考察", "daily": "日常动态", "feedback": "上级部门反馈", "leader": "市级领导督导",
           "public": "群众监督"},
    "en": {"field": "field inspection", "daily": "day-to-day monitoring", "feedback": "feedback from higher "
           "authorities", "leader": "city leaders' supervision", "public": "public supervision"},
}
_GROUP_NAMES = {
    "zh": {"industry": "行业单位", "territorial": "属地单位", "small": "小规模单位", "medium": "中等规模单位",
           "large": "大规模单位"},
    "en": {"industry": "industry units", "territorial": "territorial units", "small": "small units",
           "medium": "medium-sized units", "large": "large units"},
}


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def fairness_findings(tables: dict[str, pd.DataFrame], lang: str = "zh") -> list[str]:
    """The fairness tables' findings, each one plain sentence with the number behind it.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The output of `fairness_tables`.
    lang : {'zh', 'en'}, default 'zh'
        Chinese for leadership, or English.

    Returns
    -------
    list of str
        In order: flagged raters, disconnected raters, the G-study of each source,
        rater agreement, laggards and open-visit flags, list stability, group
        comparisons. For example: "评分人 R05 平均比共识低 1.4 分（按满分10分的指标计，
        95%置信区间 1.3–1.5），评分明显偏严。"

    Raises
    ------
    InputError
        ``lang`` not 'zh' or 'en', or a table missing from ``tables``.
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang ({lang!r}) not recognized; must be 'zh' or 'en'")
    needed = ("raters.csv", "reliability.csv", "laggards.csv", "stability.csv", "groups.csv")
    missing = [name for name in needed if name not in tables]
    if missing:
        raise InputError(f"tables lacks {', '.join(missing)} (pass the output of fairness_tables)")
    zh = lang == "zh"
    out: list[str] = []
    raters = tables["raters.csv"]
    # every interval of one run has the same level; the raters table carries it and the scale
    scale = float(raters["scale"].iloc[0]) if len(raters) else 10.0
    level = _pct(raters["ci_level"].iloc[0]) if len(raters) else "95%"

    for r in raters[raters["flagged"].astype(bool)].itertuples(index=False):
        size = abs(r.severity)
        low, high = sorted((abs(r.ci_low), abs(r.ci_high)))
        if zh:
            more, word = ("低", "偏严") if r.severity > 0 else ("高", "偏宽")
            out.append(f"评分人 {r.rater_id} 平均比共识{more} {size:.1f} 分（按满分{scale:g}分的指标计，"
                       f"{level}置信区间 {low:.1f}–{high:.1f}），评分明显{word}。")
        else:
            more, word = ("fewer", "harsh") if r.severity > 0 else ("more", "lenient")
            out.append(f"Rater {r.rater_id} awards on average {size:.1f} points {more} than the consensus "
                       f"(on a {scale:g}-point indicator; {level} CI {low:.1f}–{high:.1f}): clearly {word}.")
    n_components = int(raters["component"].max()) if len(raters) else 0
    if n_components > 1:
        out.append(f"评分人分为 {n_components} 个互不相连的组（没有共同评过的单位和指标），不同组之间的严宽程度不能直接比较。"
                   if zh else f"The raters fall into {n_components} disconnected sets (no unit and indicator in "
                   "common); severities cannot be compared across sets.")

    rel = tables["reliability.csv"]
    g = rel[rel["scope"] == "source"].pivot_table(index="key", columns="statistic", values="value",
                                                  aggfunc="first", sort=False)
    for source, row in g.iterrows():
        if not (np.isfinite(row.get("share_unit", np.nan)) and np.isfinite(row.get("phi", np.nan))):
            continue
        name = _SOURCE_NAMES[lang].get(source, source)
        out.append(f"{name}评分中，单位之间的真实差异占单次评分方差的 {_pct(row['share_unit'])}，"
                   f"按实际评分人数计算的可靠性系数 Φ = {row['phi']:.2f}。" if zh else
                   f"In {name} scores, real differences between units are {_pct(row['share_unit'])} of the "
                   f"variance of a single score; the dependability of the unit scores with the raters actually "
                   f"used is Φ = {row['phi']:.2f}.")
    overall = rel[(rel["scope"] == "overall")].set_index("statistic")
    if "ICC(1,1)" in overall.index and np.isfinite(overall.loc["ICC(1,1)", "value"]):
        icc1 = overall.loc["ICC(1,1)"]
        alpha = overall["value"].get("krippendorff_alpha", np.nan)
        w = overall["value"].get("kendall_w", np.nan)
        level = _pct(icc1["ci_level"])
        out.append(f"评分人之间的一致性：ICC(1,1) = {icc1['value']:.2f}（{level}置信区间 {icc1['ci_low']:.2f}–"
                   f"{icc1['ci_high']:.2f}），Krippendorff α = {alpha:.2f}，Kendall W = {w:.2f}。" if zh else
                   f"Agreement between raters: ICC(1,1) = {icc1['value']:.2f} ({level} CI {icc1['ci_low']:.2f}–"
                   f"{icc1['ci_high']:.2f}), Krippendorff's alpha = {alpha:.2f}, Kendall's W = {w:.2f}.")

    # one sentence per rule, naming every unit it flags: a leader reads a list, not forty sentences
    lag = tables["laggards.csv"]
    sep = "、" if zh else ", "
    for rule, part in lag.groupby("rule", sort=False):
        r0 = part.iloc[0]
        if rule == "listed_k_of_n":
            who = sep.join(f"{r.name}（{r.evidence:.0f}/{r.n_rounds}）" if zh else
                           f"{r.name} ({r.evidence:.0f}/{r.n_rounds})" for r in part.itertuples(index=False))
            out.append(f"持续后进（规则A：最近 {r0.n_rounds} 轮中至少 {r0.threshold:.0f} 轮上黑榜或排本组末尾）"
                       f"{len(part)} 个：{who}。" if zh else
                       f"Persistent laggards (rule A: black-listed or at the bottom of the group in at least "
                       f"{r0.threshold:.0f} of the last {r0.n_rounds} rounds), {len(part)}: {who}.")
        elif rule == "cusum":
            who = sep.join(f"{r.name}（{r.evidence:.1f}）" if zh else f"{r.name} ({r.evidence:.1f})"
                           for r in part.itertuples(index=False))
            out.append(f"累积落后量（CUSUM）超过判定线 {r0.threshold:.2f} 的单位 {len(part)} 个（判定线按无后进单位时"
                       f"误报率 {r0.false_alarm_rate:.1%} 模拟确定）：{who}。" if zh else
                       f"Cumulative shortfall (CUSUM) above the limit {r0.threshold:.2f} (set by simulation to a "
                       f"false-alarm rate of {r0.false_alarm_rate:.1%} without laggards), {len(part)}: {who}.")
        elif rule == "mann_kendall":
            who = sep.join(f"{r.name}（降 {r.evidence:.1f} 个标准差，{_p(r.p_value)}）" if zh else
                           f"{r.name} (−{r.evidence:.1f} sd, {_p(r.p_value)})" for r in part.itertuples(index=False))
            out.append(f"本年度得分持续下降（Mann-Kendall 单侧检验）的单位 {len(part)} 个：{who}。" if zh else
                       f"Steadily declining this year (one-sided Mann-Kendall), {len(part)}: {who}.")
        elif rule == "open_visit":
            for r in part.itertuples(index=False):
                who = f"{r.name}（{r.unit_id}）" if zh else f"{r.name} ({r.unit_id})"
                low, high = sorted((-r.ci_low, -r.ci_high))
                out.append(f"{who}暗访得分比明查平均低 {-r.evidence:.1f} 分（百分制，{level}置信区间 {low:.1f}–{high:.1f}），"
                           "明查时表现明显更好。" if zh else
                           f"{who} scores {-r.evidence:.1f} points (of 100) lower on covert than on open visits "
                           f"({level} CI {low:.1f}–{high:.1f}): it performs for announced visits.")

    stab = tables["stability.csv"]
    if len(stab):
        n = int(stab["n_replicates"].iloc[0])
        uncertain = stab[stab["uncertain"].astype(bool)]
        if uncertain.empty:
            out.append(f"名单稳定性（{n} 次模拟）：红黑榜名单稳定，没有难以确定的单位。" if zh else
                       f"List stability ({n} replicates): the lists are stable; no unit is uncertain.")
        # the list a unit is uncertain about is the one whose probability is nearer one half
        red_side = (uncertain["p_red"] - 0.5).abs() <= (uncertain["p_black"] - 0.5).abs()
        for side, column, word_zh, word_en in ((red_side, "p_red", "红榜", "red"),
                                               (~red_side, "p_black", "黑榜", "black")):
            chosen = uncertain[side].sort_values([column, "unit_id"], ascending=[False, True], kind="stable")
            if chosen.empty:
                continue
            listed = ("、" if zh else ", ").join(
                f"{u}（{_pct(p)}）" if zh else f"{u} ({_pct(p)})" for u, p in zip(chosen["name"], chosen[column]))
            out.append(f"名单稳定性（{n} 次模拟）：{len(chosen)} 个单位能否进入{word_zh}难以确定（括号内为上榜概率）：{listed}。"
                       if zh else f"List stability ({n} replicates): for {len(chosen)} unit(s) the data cannot "
                       f"tell whether they belong on the {word_en} list (probability in brackets): {listed}.")

    groups = tables["groups.csv"]
    said = False
    for _, part in groups.groupby("dimension", sort=False):
        p_sev = part["p_severity"].iloc[0]
        if np.isfinite(p_sev) and p_sev < 0.05:
            harsh = part.loc[part["rater_severity"].idxmax()]
            others = part[part["group"] != harsh["group"]]["rater_severity"].mean()
            name = _GROUP_NAMES[lang].get(harsh["group"], harsh["group"])
            diff = harsh["rater_severity"] - others
            out.append(f"{name}的评分人平均比其他单位的严 {diff:.2f} 分（按满分{scale:g}分的指标计，置换检验 "
                       f"{_p(p_sev)}），{name}被更严的评分人打分。" if zh else
                       f"The raters of {name} were on average {diff:.2f} points harsher than those of the "
                       f"others (on a {scale:g}-point indicator; permutation test {_p(p_sev)}): {name} were "
                       "scored by harsher raters.")
            said = True
    if len(groups) and not said:
        out.append("不同类型、不同规模的单位所遇评分人的严宽程度没有显著差异（置换检验 p ≥ 0.05）。" if zh else
                   "Units of different kinds and sizes met equally severe raters (permutation tests p ≥ 0.05).")
    return out
