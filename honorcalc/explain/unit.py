"""Why a unit stands where it stands: every step from its scores to its list, in words (zh/en).
"""

from __future__ import annotations

import pandas as pd

from ..data.contract import FINAL_SCORE_PREFIX, mapped
from ..errors import InputError
from ..params import SOURCE_LABELS, SOURCES
from ..rules.evaluate import RoundResult
from .counterfactual import counterfactual, counterfactual_lines
from .values import as_float, as_int, as_text, inert_text

__all__ = ['LANGS', 'explain_unit_dict', 'explain_unit']


LANGS = ("zh", "en")


def explain_unit_dict(result: RoundResult, unit_id: str) -> dict:
    """Everything that produced one unit's score, rank and list, as plain data.

    Parameters
    ----------
    result : RoundResult
        From `honorcalc.rules.evaluate_round`.
    unit_id : str

    Returns
    -------
    dict
        JSON-ready (str, float, int, bool, None, lists, dicts). Keys:
        ``unit_id``, ``name``, ``kind``, ``group``, ``ranking_group``, ``round``;
        ``sources`` (source, score, weight, weight_used, points, max_points,
        n_indicators), ``sources_missing``, ``weighted``; ``categories``;
        ``indicators`` (each with its ``raters``: rater_id, points, visit);
        ``deductions`` (code, role, points, base_points, negative_list, share,
        verified, counted, deducted, note, ``origin`` (recorded | derived),
        ``source_unit`` (unit_id, name of the unit the problem was recorded
        against, or None), ``relation`` (territorial | industry | paired, or
        None), ``co_responsible`` (the other units of the problem: unit_id,
        name, role) and ``shared_with`` (the same units with why and how
        much: unit_id, name, role, relation, share, origin)),
        ``deduction_total``, ``composite_raw``, ``composite``;
        ``history`` (weight, n, mean, rounds, blended, ``past``: the unit's
        rounds of the same work); ``score``, ``score_rounded``; ``survey``;
        ``veto``; ``rank``, ``rank_bottom``, ``n_ranked``, ``tie_size``,
        ``cap``; ``red`` and ``black`` (listed, status, threshold,
        meets_threshold, rank, in_cut, tie, list_empty, reason); ``list``; ``points``,
        ``points_ytd``, ``ledger``; ``escalated``, ``escalation_chain``;
        ``tier``, ``flag``, ``slips``, ``passed``.

    Raises
    ------
    InputError
        ``unit_id`` was not scored in the round (the message names it).
    """
    if not isinstance(result, RoundResult):
        raise InputError(f"expected a RoundResult, got {type(result).__name__}")
    rows = result.units[result.units["unit_id"] == unit_id]
    if rows.empty:
        known = ", ".join(result.units["unit_id"].head(10))
        raise InputError(
            f"unit {unit_id!r} was not evaluated in round {result.round_id!r} (units: {known}"
            f"{' …' if len(result.units) > 10 else ''})",
            column="unit_id",
        )
    u = rows.iloc[0]
    p = result.params
    weights = p.weights.as_dict()
    present = set(u["sources_present"])
    used = sum(weights[s] for s in present)

    src = result.sources[result.sources["unit_id"] == unit_id].set_index("source")
    sources = [
        {
            "source": s,
            "score": as_float(src.at[s, "score"]),
            "weight": weights[s],
            "weight_used": weights[s] / used if used > 0 else None,
            "points": as_float(src.at[s, "points"]),
            "max_points": as_float(src.at[s, "max_points"]),
            "n_indicators": as_int(src.at[s, "n_indicators"]),
        }
        for s in SOURCES if s in src.index
    ]
    cats = result.categories[result.categories["unit_id"] == unit_id]
    categories = [
        {"category": str(c.category), "score": as_float(c.score), "points": as_float(c.points),
         "max_points": as_float(c.max_points)}
        for c in cats.itertuples(index=False)
    ]

    ratings = result.ratings[result.ratings["unit_id"] == unit_id]
    has_visit = "visit" in ratings.columns
    raters: dict[tuple[str, str], list[dict]] = {}
    for r in ratings.sort_values(["indicator_id", "source", "rater_id"]).itertuples(index=False):
        raters.setdefault((r.indicator_id, r.source), []).append(
            {"rater_id": str(r.rater_id), "points": as_float(r.points),
             "visit": as_text(r.visit) if has_visit else None}
        )
    ind = result.points[result.points["unit_id"] == unit_id]
    # the same order as the sources section: by source, then indicator
    ind = ind.assign(_s=mapped(ind["source"], {s: i for i, s in enumerate(SOURCES)}))
    ind = ind.sort_values(["_s", "indicator_id"], kind="stable")
    indicators = [
        {"indicator_id": str(i.indicator_id), "name": as_text(i.name), "category": as_text(i.category),
         "source": str(i.source), "max_points": as_float(i.max_points), "points": as_float(i.points),
         "n_raters": int(i.n_raters), "raters": raters.get((i.indicator_id, i.source), [])}
        for i in ind.itertuples(index=False)
    ]

    ded = result.deductions
    mine = ded[ded["unit_id"] == unit_id]
    names = ded.drop_duplicates("unit_id").set_index("unit_id")["name"]
    deductions = []
    for d in mine.itertuples(index=False):
        # one problem: the same key (rules.responsibility.problem_keys), recorded or derived
        same = ded[ded["problem"] == d.problem]
        others = same[same["unit_id"] != unit_id].sort_values("unit_id")
        source = as_text(d.source_unit)
        deductions.append({
            "code": str(d.code), "role": str(d.role), "points": as_float(d.points),
            "base_points": as_float(d.base_points), "negative_list": str(d.negative_list),
            "share": as_float(d.share), "verified": bool(d.verified), "counted": bool(d.counted),
            "deducted": as_float(d.deducted), "note": as_text(d.note), "origin": str(d.origin),
            "source_unit": None if source is None else {"unit_id": source, "name": as_text(names.get(source))},
            "relation": as_text(d.relation),
            "co_responsible": [
                {"unit_id": str(o.unit_id), "name": as_text(o.name), "role": str(o.role)}
                for o in others.itertuples(index=False)
            ],
            "shared_with": [
                {"unit_id": str(o.unit_id), "name": as_text(o.name), "role": str(o.role),
                 "relation": as_text(o.relation), "share": as_float(o.share), "origin": str(o.origin)}
                for o in others.itertuples(index=False)
            ],
        })

    hist = result.history[result.history["unit_id"] == unit_id].sort_values("seq")
    past = [
        {"round_id": str(h.round_id), "date": h.date.date().isoformat(), "composite": as_float(h.composite),
         "score": as_float(h.score), "rank": as_int(h.rank), "n_ranked": as_int(h.n_ranked),
         "list": str(h.list), "vetoed": bool(h.vetoed), "escalated": bool(h.escalated)}
        for h in hist.itertuples(index=False)
    ]
    ledger = result.ledger[(result.ledger["unit_id"] == unit_id) & (result.ledger["points"] != 0)]
    status = result.list_status[result.list_status["ranking_group"] == u["ranking_group"]].set_index("list")

    def verdict(name: str, rank_col: str, meets: bool) -> dict:
        code = str(u[f"{name}_status"])
        # each list is cut from its own ranking: the black one holds every scored unit (rules.ranking.rankings)
        cap_col = "cap_bottom" if name == "black" and "cap_bottom" in u.index else "cap"
        tie = result.ties[
            (result.ties["list"] == name) & result.ties["units"].map(lambda t: unit_id in t)
        ] if len(result.ties) else result.ties
        return {
            "listed": code in ("listed", "listed_tie"),
            "status": code,
            "threshold": p.lists.red_min if name == "red" else p.lists.black_max,
            "meets_threshold": bool(meets),
            "rank": as_int(u[rank_col]),
            "cap": int(u[cap_col]),
            "in_cut": not pd.isna(u[rank_col]) and as_int(u[rank_col]) <= int(u[cap_col]),
            "tie": None if tie.empty else {
                "rank": int(tie.iloc[0]["rank"]), "units": list(tie.iloc[0]["units"]),
                "policy": str(tie.iloc[0]["policy"]), "listed": list(tie.iloc[0]["listed"]),
            },
            "list_empty": bool(status.at[name, "n_listed"] == 0) if name in status.index else False,
            "reason": str(status.at[name, "reason"]) if name in status.index else "",
        }

    score_rounded = as_float(u["score_rounded"])
    red_meets = score_rounded is not None and score_rounded >= p.lists.red_min
    black_meets = score_rounded is not None and score_rounded <= p.lists.black_max
    return {
        "unit_id": str(unit_id), "name": as_text(u["name"]), "kind": as_text(u["kind"]),
        "group": as_text(u["group"]), "ranking_group": as_text(u["ranking_group"]),
        "round": {k: (v.date().isoformat() if isinstance(v, pd.Timestamp) else v)
                  for k, v in result.round.items()},
        "precision": p.lists.precision,
        "sources": sources, "sources_missing": list(u["sources_missing"]), "weighted": as_float(u["weighted"]),
        "categories": categories, "indicators": indicators,
        "deductions": deductions, "deduction_total": as_float(u["deduction"]),
        "composite_raw": as_float(u["composite_raw"]), "composite": as_float(u["composite"]),
        "history": {
            "weight": p.history.weight, "rounds_param": p.history.rounds, "n": int(u["history_n"]),
            "mean": as_float(u["history_mean"]), "rounds": list(u["history_rounds"]),
            "blended": bool(u["blended"]), "past": past,
        },
        "score": as_float(u["score"]), "score_rounded": score_rounded,
        "survey": {
            "respondents": as_float(u["respondents"]), "satisfied": as_float(u["satisfied"]),
            "satisfaction": as_float(u["satisfaction"]), "min": p.veto.satisfaction_min,
        },
        "veto": {
            "vetoed": bool(u["vetoed"]), "reasons": list(u["veto_reasons"]), "action": p.veto.action,
            "excluded": bool(u["excluded"]), "prerequisite_category": p.veto.prerequisite_category,
            "prerequisite_score": as_float(u["prerequisite_score"]), "prerequisite_min": p.veto.prerequisite_min,
        },
        "ranked": bool(u["ranked"]), "rank": as_int(u["rank"]), "rank_bottom": as_int(u["rank_bottom"]),
        "n_ranked": int(u["n_ranked"]), "tie_size": as_int(u["tie_size"]), "cap": int(u["cap"]),
        "round_kind": str(u["round_kind"]),
        "red": verdict("red", "rank", red_meets), "black": verdict("black", "rank_bottom", black_meets),
        "list": str(u["list"]),
        "points": as_float(u["points"]), "points_ytd": as_float(u["points_ytd"]),
        "ledger": [
            {"round_id": str(r.round_id), "date": r.date.date().isoformat(), "kind": str(r.round_kind),
             "topic": as_text(r.topic), "list": str(r.list), "points": as_float(r.points)}
            for r in ledger.itertuples(index=False)
        ],
        "escalated": bool(u["escalated"]), "black_streak": int(u["black_streak"]),
        "escalation_chain": list(u["escalation_chain"]), "consecutive": p.escalation.consecutive,
        "tier": as_text(u["tier"]), "flag": str(u["flag"]),
        "slips": [{"code": c, "slip": s} for c, s in u["slips"]],
        "passed": None if pd.isna(u["passed"]) else bool(u["passed"]),
        "counterfactual": counterfactual(result, unit_id),
    }


_T = {
    "zh": {
        "title": "单位 {unit_id} {name} (排名组: {group}) — {round_id} {kind}, {date}",
        "comprehensive": "综合测评", "special": "专项测评 · {topic}",
        "sources": "一、评价来源得分 (百分制, 权重按已有来源重新归一)",
        "source": "  {label} ({source}): {score} 分 ({points}/{max}, {n} 项指标; 权重 {w:g} → {wu:.4g})",
        "missing": "  缺少来源: {names}; 其权重按比例分给已有来源",
        "weighted": "  加权得分: {x}",
        "categories": "二、分类得分",
        "category": "  {category}: {score} 分 ({points}/{max})",
        "indicators": "三、指标得分 (评分人均分)",
        "indicator": "  {id} {name} [{category}] {label}: 均分 {points}/{max} ({n} 名评分人: {raters})",
        "indicator_final": "  {id} {name} [{category}] {label}: 最终得分 {points}/{max} (未记录评分人)",
        "rater": "{rater} {points}", "visit": {"open": "明查", "covert": "暗访"},
        "deductions": "四、扣分",
        "no_deductions": "  无扣分",
        "deduction": "  {code} ({role}) 扣 {points} 分{share}{nl}{state}{note}",
        "role": {"primary": "主责", "joint": "连带责任"},
        "share": ", 按 {share:g} 计",
        "nl_listed": ", 负面清单定额 {base}", "nl_unknown": ", 代码不在负面清单, 按数据 {base} 分",
        "not_counted": ", 未核实, 不计", "note": "; 说明: {note}",
        "co": "    共同担责: {units}", "co_unit": "{unit_id} {name} ({role})",
        "co_relation": "{unit_id} {name} ({relation}, {share})",
        "relation": {"territorial": "属地责任", "industry": "行业责任", "paired": "挂包责任"},
        "because": "; {relation}: {unit_id} {name} 的问题{derived}", "derived": " (按责任关系连带)",
        "deduction_total": "  合计扣分: {x}",
        "composite": "  综合得分: {weighted} − {ded} = {raw}{clamp}",
        "clamp": ", 截至 0–100 区间为 {x}",
        "history": "五、历史表现 (同一工作, 不以一次定论)",
        "history_blend": "  本期得分 = (1 − {w:g}) × {c} + {w:g} × 近 {n} 期均分 {m} = {s} (参与: {rounds})",
        "history_none": "  本期得分 = 综合得分 {s} (未与历史加权)",
        "history_row": "  {round_id} ({date}): 得分 {score}, 排名 {rank}{list}",
        "survey": "六、群众满意度",
        "survey_row": "  满意度 {sat}% (受访 {r:g} 人, 满意 {s:g} 人), 门槛 {min}%",
        "survey_none": "  无问卷数据",
        "veto": "七、一票否决",
        "veto_none": "  无否决",
        "veto_sat": "  群众满意率 {sat}% < {min}%",
        "veto_pre": "  前置条件 “{cat}” 得分 {score} < {min:g}",
        "veto_no_red": "  → 保留得分和排名, 不得列入红榜, 其后单位不递补",
        "veto_exclude": "  → 不参与红榜排名, 其后单位名次前移; 仍参与黑榜排名",
        "rank": "八、排名: 得分 {s} (保留 {p} 位小数), 第 {rank} 名 / 共 {n} 家 (倒数第 {bottom} 名); 本期上限 {cap} 家",
        "rank_special": "; 专项测评上限 = ⌊{share:g} × {n}⌋ = {cap}",
        "unranked": "八、排名: 不参与排名",
        "lists": "九、红黑榜",
        "red_in": "  红榜: 入选 — 得分 {s} ≥ {t:g}, 排名第 {rank}, 在前 {cap} 名内",
        "black_in": "  黑榜: 入选 — 得分 {s} ≤ {t:g}, 倒数第 {rank}, 在后 {cap} 名内",
        "red_out": "  红榜: 未入选 — {why}", "black_out": "  黑榜: 未入选 — {why}",
        "red_threshold": "得分 {s} < {t:g}, 不满足红榜条件",
        "black_threshold": "得分 {s} > {t:g}, 不满足黑榜条件",
        "red_rank": "排名第 {rank}, 不在前 {cap} 名", "black_rank": "倒数第 {rank}, 不在后 {cap} 名",
        "cap_zero": "本组测评单位 {n} 家, 上限 ⌊{share:g} × {n}⌋ = 0",
        "tie_none_in": "第 {rank} 名并列 {k} 家 ({units}), 跨越第 {cap} 名, 按规则 none_in 均不入榜",
        "tie_all_in": " (第 {rank} 名并列 {k} 家: {units}, 跨越第 {cap} 名, 按规则 all_in 全部入榜)",
        "vetoed": "一票否决, 不得列入红榜",
        "excluded": "一票否决, 不参与红榜排名", "unscored": "无有效加权得分, 不参与排名",
        "list_empty": {"red": "  本组当期不设红榜", "black": "  本组当期不设黑榜"},
        "points": "十、年度考核: 本期 {pts} 分, 本年度累计 {ytd} 分",
        "ledger_row": "  {round_id} ({date}) {kind} {list}: {pts}",
        "list_word": {"red": "红榜", "black": "黑榜", "": ""},
        "escalated": "十一、核查: 同一工作连续 {n} 次被黑榜通报 ({chain}), 启动核查程序",
        "not_escalated": "十一、核查: 未触发 (同一工作连续黑榜 {n} 次, 门槛 {c} 次)",
        "tier": "等次: {tier}", "flag": {"red": "流动红旗", "black": "流动黑旗"},
        "slips": "责任单: {slips}", "slip": {"white": "白单", "yellow": "黄单", "red": "红单"},
        "passed": "末位淘汰: {x}", "pass_yes": "通过", "pass_no": "未通过",
        "kind": {"comprehensive": "综合测评", "special": "专项测评"},
        "veto_pre_none": "  前置条件 “{cat}” 本期无得分, 不适用",
    },
    "en": {
        "title": "Unit {unit_id} {name} (ranking group: {group}) — {round_id} {kind}, {date}",
        "comprehensive": "comprehensive round", "special": "special round · {topic}",
        "sources": "1. Source scores (0–100; weights renormalised over the sources present)",
        "source": "  {label} ({source}): {score} ({points}/{max}, indicators: {n}; weight {w:g} → {wu:.4g})",
        "missing": "  Missing sources: {names}; their weight is shared among the present ones",
        "weighted": "  Weighted score: {x}",
        "categories": "2. Category scores",
        "category": "  {category}: {score} ({points}/{max})",
        "indicators": "3. Indicators (mean over raters)",
        "indicator": "  {id} {name} [{category}] {label}: mean {points}/{max} (raters, n = {n}: {raters})",
        "indicator_final": "  {id} {name} [{category}] {label}: final score {points}/{max} (no rater recorded)",
        "rater": "{rater} {points}", "visit": {"open": "open", "covert": "covert"},
        "deductions": "4. Deductions",
        "no_deductions": "  none",
        "deduction": "  {code} ({role}) −{points}{share}{nl}{state}{note}",
        "role": {"primary": "primary", "joint": "joint responsibility"},
        "share": ", counted at {share:g}",
        "nl_listed": ", negative-list points {base}", "nl_unknown": ", code not on the negative list, data's {base} kept",
        "not_counted": ", unverified, not counted", "note": "; note: {note}",
        "co": "    Shared with: {units}", "co_unit": "{unit_id} {name} ({role})",
        "co_relation": "{unit_id} {name} ({relation}, {share})",
        "relation": {"territorial": "territorial responsibility", "industry": "industry responsibility",
                     "paired": "paired-assistance responsibility"},
        "because": "; {relation} for a problem of {unit_id} {name}{derived}",
        "derived": " (charged by the responsibility table)",
        "deduction_total": "  Total deducted: {x}",
        "composite": "  Composite: {weighted} − {ded} = {raw}{clamp}",
        "clamp": ", clamped to 0–100: {x}",
        "history": "5. History (same work; no judgement on one snapshot)",
        "history_blend": "  score = (1 − {w:g}) × {c} + {w:g} × mean of {n} trailing rounds {m} = {s} ({rounds})",
        "history_none": "  score = composite {s} (not blended with history)",
        "history_row": "  {round_id} ({date}): score {score}, rank {rank}{list}",
        "survey": "6. Public satisfaction",
        "survey_row": "  satisfaction {sat}% ({r:g} respondents, {s:g} satisfied); threshold {min}%",
        "survey_none": "  no survey data",
        "veto": "7. Veto",
        "veto_none": "  none",
        "veto_sat": "  satisfaction {sat}% < {min}%",
        "veto_pre": "  prerequisite '{cat}' score {score} < {min:g}",
        "veto_no_red": "  → keeps its score and rank, cannot be red-listed; nobody below moves up",
        "veto_exclude": "  → out of the red ranking, the units below move up; still in the bottom ranking",
        "rank": "8. Rank: score {s} ({p} decimals), rank {rank} of {n} (bottom rank {bottom}); list cap {cap}",
        "rank_special": "; special-round cap = ⌊{share:g} × {n}⌋ = {cap}",
        "unranked": "8. Rank: not ranked",
        "lists": "9. Red and black lists",
        "red_in": "  Red list: yes — score {s} ≥ {t:g}, rank {rank}, within the top {cap}",
        "black_in": "  Black list: yes — score {s} ≤ {t:g}, bottom rank {rank}, within the bottom {cap}",
        "red_out": "  Red list: no — {why}", "black_out": "  Black list: no — {why}",
        "red_threshold": "score {s} < {t:g}, red-list condition not met",
        "black_threshold": "score {s} > {t:g}, black-list condition not met",
        "red_rank": "rank {rank}, not in the top {cap}", "black_rank": "bottom rank {rank}, not in the bottom {cap}",
        "cap_zero": "{n} units in the group, cap ⌊{share:g} × {n}⌋ = 0",
        "tie_none_in": "{k} units tied at rank {rank} ({units}) straddle the cut at {cap}; policy none_in lists none",
        "tie_all_in": " ({k} units tied at rank {rank}: {units}, straddling the cut at {cap}; policy all_in lists all)",
        "vetoed": "vetoed, cannot be red-listed",
        "excluded": "vetoed, out of the red ranking", "unscored": "no weighted score, not ranked",
        "list_empty": {"red": "  This group: no red list this round", "black": "  This group: no black list this round"},
        "points": "10. Annual assessment: {pts} this round, {ytd} year to date",
        "ledger_row": "  {round_id} ({date}) {kind} {list}: {pts}",
        "list_word": {"red": "red", "black": "black", "": ""},
        "escalated": "11. Verification: black-listed {n} consecutive times for the same work ({chain}); procedure triggered",
        "not_escalated": "11. Verification: not triggered ({n} consecutive black listings of this work; threshold {c})",
        "tier": "Tier: {tier}", "flag": {"red": "mobile red flag", "black": "mobile black flag"},
        "slips": "Responsibility slips: {slips}", "slip": {"white": "white", "yellow": "yellow", "red": "red"},
        "passed": "Elimination quota: {x}", "pass_yes": "passed", "pass_no": "not passed",
        "kind": {"comprehensive": "comprehensive", "special": "special"},
        "veto_pre_none": "  prerequisite '{cat}' not scored this round; it cannot veto",
    },
}




def explain_unit(result: RoundResult, unit_id: str, lang: str = "zh") -> str:
    """How one unit got its score, rank and list, as text.

    Parameters
    ----------
    result : RoundResult
    unit_id : str
    lang : {"zh", "en"}
        Chinese (default) or English.

    Returns
    -------
    str
        Sections: sources, categories, indicators with each rater's points,
        deductions with co-responsible units, history, survey, veto, rank,
        each list with the reason (e.g. "得分 88.50 < 90, 不满足红榜条件",
        "排名第 12, 不在前 10 名"), points this round and year to date,
        escalation, then the optional practices that are on.

    Raises
    ------
    InputError
        Unknown ``lang``, or a unit not evaluated in the round.
    """
    if lang not in LANGS:
        raise InputError(f"lang ({lang!r}) not recognized; must be 'zh' or 'en'")
    e = explain_unit_dict(result, unit_id)
    t = _T[lang]
    p = e["precision"]

    def f(x) -> str:
        return "—" if x is None else f"{x:.{p}f}"

    def g(x) -> str:
        """Points as a notice prints them: at the precision, without trailing zeros."""
        text = f"{x:.{p}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    def signed(x) -> str:
        return "0" if not x else f"{x:+g}"

    rnd = e["round"]
    kind = t["comprehensive"] if rnd["kind"] == "comprehensive" else t["special"].format(topic=rnd["topic"])
    labels = SOURCE_LABELS[lang]
    out = [t["title"].format(unit_id=e["unit_id"], name=e["name"], group=e["ranking_group"],
                             round_id=rnd["round_id"], kind=kind, date=rnd["date"])]

    out.append(t["sources"])
    for s in e["sources"]:
        out.append(t["source"].format(label=labels[s["source"]], source=s["source"], score=f(s["score"]),
                                      points=g(s["points"]), max=g(s["max_points"]),
                                      n=s["n_indicators"], w=s["weight"], wu=s["weight_used"] or 0.0))
    if e["sources_missing"]:
        names = ", ".join(f"{labels[s]} ({s})" for s in e["sources_missing"])
        out.append(t["missing"].format(names=names))
    out.append(t["weighted"].format(x=f(e["weighted"])))

    out.append(t["categories"])
    for c in e["categories"]:
        out.append(t["category"].format(category=c["category"], score=f(c["score"]),
                                        points=g(c["points"]), max=g(c["max_points"])))

    out.append(t["indicators"])
    for i in e["indicators"]:
        if i["raters"] and all(str(r["rater_id"]).startswith(FINAL_SCORE_PREFIX) for r in i["raters"]):
            out.append(t["indicator_final"].format(id=i["indicator_id"], name=i["name"], category=i["category"],
                                                   label=labels[i["source"]], points=g(i["points"]),
                                                   max=g(i["max_points"])))
            continue
        raters = "; ".join(
            t["rater"].format(rater=r["rater_id"], points=g(r["points"]))
            + (f" {t['visit'].get(r['visit'], r['visit'])}" if r["visit"] else "")
            for r in i["raters"]
        )
        out.append(t["indicator"].format(id=i["indicator_id"], name=i["name"], category=i["category"],
                                         label=labels[i["source"]], points=g(i["points"]),
                                         max=g(i["max_points"]), n=i["n_raters"], raters=raters))

    out.append(t["deductions"])
    if not e["deductions"]:
        out.append(t["no_deductions"])
    for d in e["deductions"]:
        share = t["share"].format(share=d["share"]) if d["share"] != 1 else ""
        nl = {"listed": t["nl_listed"], "unknown_code": t["nl_unknown"]}.get(d["negative_list"], "")
        because = ""
        if d["relation"] and d["source_unit"]:
            because = t["because"].format(relation=t["relation"][d["relation"]], unit_id=d["source_unit"]["unit_id"],
                                          name=d["source_unit"]["name"] or "",
                                          derived=t["derived"] if d["origin"] == "derived" else "")
        out.append(t["deduction"].format(
            code=d["code"], role=t["role"][d["role"]], points=g(d["deducted"]), share=share,
            nl=nl.format(base=g(d["base_points"])), state="" if d["counted"] else t["not_counted"],
            note=t["note"].format(note=d["note"]) if d["note"] else "",
        ) + because)
        if d["shared_with"]:
            units = ", ".join(
                t["co_relation"].format(unit_id=o["unit_id"], name=o["name"] or "",
                                        relation=t["relation"][o["relation"]], share=f"{o['share'] * 100:g}%")
                if o["relation"] else
                t["co_unit"].format(unit_id=o["unit_id"], name=o["name"] or "", role=t["role"][o["role"]])
                for o in d["shared_with"])
            out.append(t["co"].format(units=units))
    out.append(t["deduction_total"].format(x=f(e["deduction_total"])))
    clamp = t["clamp"].format(x=f(e["composite"])) if e["composite_raw"] != e["composite"] else ""
    out.append(t["composite"].format(weighted=f(e["weighted"]), ded=f(e["deduction_total"]),
                                     raw=f(e["composite_raw"]), clamp=clamp))

    h = e["history"]
    out.append(t["history"])
    if h["blended"]:
        out.append(t["history_blend"].format(w=h["weight"], c=f(e["composite"]), n=h["n"], m=f(h["mean"]),
                                             s=f(e["score"]), rounds=", ".join(h["rounds"])))
    else:
        out.append(t["history_none"].format(s=f(e["score"])))
    for r in h["past"]:
        word = t["list_word"][r["list"]]
        out.append(t["history_row"].format(round_id=r["round_id"], date=r["date"], score=f(r["score"]),
                                           rank=r["rank"] if r["rank"] is not None else "—",
                                           list=f", {word}" if word else ""))

    sv = e["survey"]
    out.append(t["survey"])
    if sv["satisfaction"] is None:
        out.append(t["survey_none"])
    else:
        minimum = "—" if sv["min"] is None else f"{sv['min'] * 100:g}"
        out.append(t["survey_row"].format(sat=f(sv["satisfaction"] * 100), r=sv["respondents"],
                                          s=sv["satisfied"], min=minimum))

    v = e["veto"]
    out.append(t["veto"])
    if v["prerequisite_category"] is not None and v["prerequisite_score"] is None:
        out.append(t["veto_pre_none"].format(cat=v["prerequisite_category"]))
    if not v["vetoed"]:
        out.append(t["veto_none"])
    else:
        if "satisfaction" in v["reasons"]:
            out.append(t["veto_sat"].format(sat=f(sv["satisfaction"] * 100), min=f"{sv['min'] * 100:g}"))
        if "prerequisite" in v["reasons"]:
            out.append(t["veto_pre"].format(cat=v["prerequisite_category"], score=f(v["prerequisite_score"]),
                                            min=v["prerequisite_min"]))
        out.append(t["veto_exclude"] if v["excluded"] else t["veto_no_red"])

    share = result.params.lists.special_share
    if e["ranked"]:
        line = t["rank"].format(s=f(e["score_rounded"]), p=p, rank=e["rank"], n=e["n_ranked"],
                                bottom=e["rank_bottom"], cap=e["cap"])
        if e["round_kind"] == "special":
            line += t["rank_special"].format(share=share, n=e["n_ranked"], cap=e["cap"])
        out.append(line)
    else:
        out.append(t["unranked"])

    out.append(t["lists"])
    for name in ("red", "black"):
        out.extend(_verdict_lines(e, name, t, f, share))
        if e[name]["list_empty"]:
            out.append(t["list_empty"][name])

    out.append(t["points"].format(pts=signed(e["points"]), ytd=signed(e["points_ytd"])))
    for r in e["ledger"]:
        out.append(t["ledger_row"].format(round_id=r["round_id"], date=r["date"],
                                          kind=t["kind"][r["kind"]] + (f" · {r['topic']}" if r["topic"] else ""),
                                          list=t["list_word"][r["list"]], pts=signed(r["points"])))
    if e["escalated"]:
        out.append(t["escalated"].format(n=e["black_streak"], chain=" → ".join(e["escalation_chain"])))
    else:
        out.append(t["not_escalated"].format(n=e["black_streak"], c=e["consecutive"]))

    if e["tier"]:
        out.append(t["tier"].format(tier=e["tier"]))
    if e["flag"]:
        out.append(t["flag"][e["flag"]])
    if e["slips"]:
        out.append(t["slips"].format(slips=", ".join(f"{s['code']} {t['slip'][s['slip']]}" for s in e["slips"])))
    if e["passed"] is not None:
        out.append(t["passed"].format(x=t["pass_yes"] if e["passed"] else t["pass_no"]))
    out.extend(counterfactual_lines(e["counterfactual"], lang))
    return inert_text("\n".join(out))


def _verdict_lines(e: dict, name: str, t: dict, f, share: float) -> list[str]:
    """Why the unit is or is not on one list: every condition, met or not."""
    v = e[name]
    s = f(e["score_rounded"])
    rank = v["rank"]
    tie = v["tie"]
    tie_units = ", ".join(tie["units"]) if tie else ""
    if v["listed"]:
        line = t[f"{name}_in"].format(s=s, t=v["threshold"], rank=rank, cap=v["cap"])
        if tie:
            line += t["tie_all_in"].format(rank=tie["rank"], k=len(tie["units"]), units=tie_units, cap=v["cap"])
        return [line]
    code = v["status"]
    if code in ("excluded", "unscored"):
        return [t[f"{name}_out"].format(why=t[code])]
    why = []
    if not v["meets_threshold"]:
        why.append(t[f"{name}_threshold"].format(s=s, t=v["threshold"]))
    if code == "cap_zero":
        why.append(t["cap_zero"].format(n=e["n_ranked"], share=share))
    elif not v["in_cut"]:
        why.append(t[f"{name}_rank"].format(rank=rank, cap=v["cap"]))
    if code == "tie_none_in" and tie:
        why.append(t["tie_none_in"].format(rank=tie["rank"], k=len(tie["units"]), units=tie_units, cap=v["cap"]))
    if name == "red" and e["veto"]["vetoed"] and not e["veto"]["excluded"]:
        why.append(t["vetoed"])
    return [t[f"{name}_out"].format(why="; ".join(why))]
