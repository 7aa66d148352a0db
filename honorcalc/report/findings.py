"""The fairness findings in words: one plain sentence each for the report, the numbers for its appendix.

A finding accuses a unit or a rater, or reassures a leader, so each sentence says how
sure it is, in the words of a municipal office: 有把握 (the statement holds at the
run's confidence level, with the false-discovery rate controlled where many units or
raters are tested), 证据不足，无法判断 (the data allow either answer), or 现有数据无法回答
(the design cannot separate what the question needs). The statistics behind each
sentence — their names, values, intervals, p- and q-values — are the finding's
``detail``, which the report prints in its technical appendix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.contract import is_final_score_rater, mapped
from ..errors import InputError
from ..fairness.final_scores import FINAL_SCORES_SCOPE
from ..params import SOURCE_LABELS

__all__ = ["Finding", "fairness_findings"]


@dataclass(frozen=True)
class Finding:
    """One fairness finding.

    Attributes
    ----------
    topic : str
        ``final_scores``, ``raters``, ``reliability``, ``agreement``, ``laggards``,
        ``visits``, ``stability``, ``weights``, ``funnel`` or ``groups``.
    certainty : str
        ``sure`` (the statement holds at the stated confidence), ``cannot_tell``
        (the data allow either answer), ``not_estimable`` (the data cannot answer
        the question) or ``none`` (a count or a description, no claim).
    text : str
        The plain sentence for the report's body: no statistic's name.
    detail : str
        The numbers behind it, for the technical appendix.
    """

    topic: str
    certainty: str
    text: str
    detail: str

    def __str__(self) -> str:
        return self.text


_GROUP = {
    "zh": {"industry": "行业单位", "territorial": "属地单位", "small": "规模较小的单位", "medium": "中等规模的单位",
           "large": "规模较大的单位"},
    "en": {"industry": "industry units", "territorial": "territorial units", "small": "small units",
           "medium": "medium-sized units", "large": "large units"},
}
_STATISTIC = {
    "zh": {"score": "的得分", "red": "上红榜的比例", "black": "上黑榜的比例", "severity": "所遇评分人的严宽程度"},
    "en": {"score": "scores", "red": "red-list rates", "black": "black-list rates",
           "severity": "the severity of the raters they met"},
}
_GROUP_STATUS = {"alike": "相当", "differ": "有差别", "cannot_tell": "无法判断", "not_estimable": "无法估计"}
_SURE = {"zh": "有把握", "en": "with confidence"}
_CANNOT = {"zh": "证据不足，无法判断", "en": "the evidence is not enough to tell"}
_UNKNOWN = {"zh": "现有数据无法回答", "en": "these data cannot answer"}


def _pct(x: float) -> str:
    return f"{100 * x:.10g}%"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _names(values, zh: bool, limit: int = 12) -> str:
    values = [str(v) for v in values]
    sep = "、" if zh else ", "
    if len(values) > limit:
        rest = len(values) - limit
        return sep.join(values[:limit]) + (f"等{len(values)}家" if zh else f" and {rest} more")
    return sep.join(values)


def fairness_findings(tables: dict[str, pd.DataFrame], lang: str = "zh") -> list[Finding]:
    """The fairness tables' findings, each a plain sentence that says how sure it is.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The output of `honorcalc.fairness.fairness_tables`.
    lang : {'zh', 'en'}, default 'zh'
        Chinese for leadership, or English.

    Returns
    -------
    list of Finding
        In order: what final scores (no rater recorded) leave unanswered, raters,
        reliability of each source, agreement, laggards, open and covert visits,
        stability of the lists, weights, the funnel, and groups. For
        example ``Finding(topic='raters', certainty='sure', text='评分人 R05 评分明显
        偏严：……有把握。', detail='R05: severity 1.41 points per 10 (95% CI …')``.

    Raises
    ------
    InputError
        ``lang`` not 'zh' or 'en', or a table missing from ``tables``.
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang ({lang!r}) not recognized; must be 'zh' or 'en'")
    needed = ("raters.csv", "reliability.csv", "laggards.csv", "laggard_units.csv", "laggard_calibration.csv",
              "stability.csv", "weights.csv", "funnel.csv", "groups.csv", "visits.csv")
    missing = [name for name in needed if name not in tables]
    if missing:
        raise InputError(f"tables lacks {', '.join(missing)} (pass the output of fairness_tables)")
    names = tables["stability.csv"].drop_duplicates("unit_id").set_index("unit_id")["name"].astype(str)
    out: list[Finding] = []
    for part in (_final_scores, _raters, _reliability, _agreement, _laggards, _visits, _stability, _weights,
                 _funnel, _groups):
        out += part(tables, lang, names)
    return out


# --------------------------------------------------------------------------- final scores only

#: How the fairness tables mark what final scores (no rater recorded) leave unanswered.
_FINAL = "final scores only"
_FINAL_ITEMS = {
    "zh": {"agreement": "评分人之间的一致性", "severity": "评分尺度宽严", "measurement_error": "评分误差",
           "g_study": "各评价来源评分的可靠程度"},
    "en": {"agreement": "whether raters agree", "severity": "how harsh or lenient they are",
           "measurement_error": "how large the scoring error is", "g_study": "how reliable each source's scores are"},
}
_FINAL_REASONS_ZH = {
    "agreement": "不同评分人对同一单位同一指标的评分是否一致，无法评估",
    "severity": "评分人是否偏严或偏宽、各类单位所遇评分人是否同样宽严，无法评估；名单无法按评分人宽严校正",
    "measurement_error": "评分人之间分歧所反映的评分误差未知：名次区间、上榜把握和漏斗图控制限均未计入这部分误差，不能据此认定名次或名单稳定",
    "g_study": "需要多名评分人才能估计的方差分量（评分人、单位×评分人）以及达到可靠所需评分人数，无法估计",
    "visits": "同一单位同一指标的明查与暗访得分无法配对比较：每个最终得分只有一种检查方式，或未注明",
}


def _final_scores(tables, lang, names) -> list[Finding]:
    """What scores without a recorded rater cannot answer, said once, and what to record to answer it."""
    zh = lang == "zh"
    rel = tables["reliability.csv"]
    rows = rel[rel["scope"] == FINAL_SCORES_SCOPE]
    if rows.empty:
        return []
    share = rows.set_index("key")["value"].astype(float)
    items = [_FINAL_ITEMS[lang][k] for k in _FINAL_ITEMS[lang] if k in share.index]
    what = "、".join(items) if zh else " and ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))
    this_round = share.drop("visits", errors="ignore")
    laggards = tables["laggards.csv"]
    called = bool(len(laggards)) and bool((laggards["rule"] == "persistent").any())
    record = ("如需回答上述问题，今后测评应按评分人逐项记录得分（每名评分人对每个单位、每项指标、每个评价来源的评分各记一行）。" if zh else
              " To answer these questions, future rounds should record each rater's score (one row per rater, "
              "unit, indicator and source).")
    if this_round.empty:
        # the report round names its raters; earlier rounds of the year compared for visits do not
        text = ("本年度部分轮次仅有各单位最终得分，未记录评分人，明查与暗访得分的比较只依据记录了评分人的轮次。" if zh else
                "Some rounds of this year hold only final scores, with no rater recorded: open and covert visits "
                "are compared on the rounds that record their raters only.")
    elif (this_round >= 1.0).all():
        visits = share.get("visits", 0.0)
        # (whether it is said, in Chinese, in English)
        clauses = [
            (visits >= 1.0, "，明查与暗访得分无法比较", ", and open and covert visits cannot be compared"),
            (not visits >= 1.0 and "visits" in share.index, "；明查与暗访得分的比较只依据本年度记录了评分人的轮次",
             "; open and covert visits are compared on this year's rounds that record their raters only"),
            ("measurement_error" in share.index, "；各单位名次区间无法给出，名次和上榜结果是否受评分误差影响，无法判断",
             "; no rank interval can be given, and whether scoring error moved a place or a listing cannot be judged"),
            (called, "；持续后进单位的认定只依据得分，不能排除个别单位因所遇评分人偏严而显得落后",
             "; persistent laggards are called on the scores alone, and a unit that met harsh raters cannot be told "
             "from one that lags"),
        ]
        said = "".join(chinese if zh else english for say, chinese, english in clauses if say)
        text = (f"本轮数据仅有各单位最终得分，未记录评分人：{what}无法评估{said}。{record}" if zh else
                f"This round's data hold only each unit's final scores, with no rater recorded: {what} cannot be "
                f"assessed{said}.{record}")
    else:
        part = f"{100 * float(this_round.max()):.3g}%"
        text = (f"本轮约 {part} 的评分仅有最终得分，未记录评分人：{what}只依据记录了评分人的评分，其余评分无法评估；"
                f"名次区间和上榜把握未计入这部分评分的误差，不能据此认定名单稳定。{record}" if zh else
                f"About {part} of this round's scores are final scores with no rater recorded: {what} rest on the "
                f"scores that record their raters only, and cannot be assessed for the others; rank intervals and "
                f"list statements leave out the error of those scores, so they cannot show the lists are "
                f"stable.{record}")
    if zh:
        shares = {(float(r.value), int(r.n_units)) for r in rows.itertuples(index=False)}
        if len(shares) == 1:
            value, n_units = shares.pop()
            detail = (f"未记录评分人的评分占 {100 * value:.3g}%（涉及 {n_units} 家单位）。"
                      + "；".join(_FINAL_REASONS_ZH.get(r.key, r.key) for r in rows.itertuples(index=False)))
        else:
            detail = "；".join(f"{_FINAL_REASONS_ZH.get(r.key, r.key)}（未记录评分人的评分占 {100 * float(r.value):.3g}%，"
                              f"涉及 {r.n_units} 家单位）" for r in rows.itertuples(index=False))
    else:
        detail = "; ".join(f"{r.key}: {r.note}" for r in rows.itertuples(index=False))
    g = rel[(rel["scope"] == "source") & rel["note"].astype(str).str.contains(_FINAL, regex=False)]
    for source, part in g.groupby("key", sort=False):
        detail += ("；" if zh else "; ") + _g_detail(source, part.set_index("statistic"), "final_scores", lang)
    return [Finding("final_scores", "not_estimable", text, detail)]


# --------------------------------------------------------------------------- raters


def _raters(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    raters = tables["raters.csv"]
    # the pseudo-raters of final scores are no raters: `_final_scores` says what they leave unanswered
    raters = raters[~is_final_score_rater(raters["rater_id"]).to_numpy(dtype=bool)] if len(raters) else raters
    if raters.empty:
        return []
    scale = float(raters["scale"].iloc[0])
    level = _pct(float(raters["ci_level"].iloc[0]))
    status = raters["status"].astype(str)
    out = []
    for r in raters[status.isin(["harsh", "lenient"])].itertuples(index=False):
        size = abs(r.severity)
        if zh:
            more, word = ("少", "偏严") if r.severity > 0 else ("多", "偏宽")
            text = (f"评分人 {r.rater_id} 评分明显{word}：在满分{scale:g}分的指标上，平均比其他评分人{more}给约 "
                    f"{size:.1f} 分，{_SURE['zh']}。")
        else:
            more, word = ("fewer", "harsh") if r.severity > 0 else ("more", "lenient")
            text = (f"Rater {r.rater_id} is clearly {word}: about {size:.1f} points {more} than the other raters "
                    f"on a {scale:g}-point indicator, {_SURE['en']}.")
        detail = (f"{r.rater_id}：严宽程度 {r.severity:.2f} 分（满分{scale:g}分指标计，{level}置信区间 {r.ci_low:.2f}–"
                  f"{r.ci_high:.2f}；经验贝叶斯收缩估计 {r.severity_eb:.2f} ± {r.se_eb:.2f}）；单侧检验“偏离超过规定幅度”"
                  f"{_p(r.p_value)}，评分人间错误发现率校正 q = {r.q_value:.3g}（Benjamini–Hochberg）；infit {r.infit:.2f}，"
                  f"outfit {r.outfit:.2f}；在 {r.n_units} 个单位上与他人比较评分 {r.n_compared} 个" if zh else
                  f"{r.rater_id}: severity {r.severity:.2f} points per {scale:g} ({level} CI {r.ci_low:.2f}–"
                  f"{r.ci_high:.2f}; shrunken {r.severity_eb:.2f} ± {r.se_eb:.2f}); one-sided test of |severity| > "
                  f"the minimum that matters, {_p(r.p_value)}, q = {r.q_value:.3g} (Benjamini–Hochberg across "
                  f"raters); infit {r.infit:.2f}, outfit {r.outfit:.2f}; {r.n_compared} scores compared at "
                  f"{r.n_units} units")
        out.append(Finding("raters", "sure", text, detail))
    fair = raters[status == "fair"]
    if len(fair):
        text = (f"其余 {len(fair)} 名评分人评分尺度一致，与他人的差异在满分{scale:g}分指标上不超过规定幅度，{_SURE['zh']}。"
                if zh else f"{len(fair)} other raters score alike: their difference from the others stays within "
                f"the margin that matters on a {scale:g}-point indicator, {_SURE['en']}.")
        out.append(Finding("raters", "sure", text, ("置信区间全部落在 ± fairness.severity_min 以内：" if zh else
                                                    "fair (interval within ± severity_min): ")
                           + ", ".join(fair["rater_id"].astype(str))))
    unsure = raters[status == "cannot_tell"]
    if len(unsure):
        ids = _names(unsure["rater_id"], zh)
        text = (f"评分人 {ids} 的评分尺度是否偏严或偏宽，{_CANNOT['zh']}。" if zh else
                f"Whether raters {ids} are harsh or lenient: {_CANNOT['en']}.")
        detail = ("；" if zh else "; ").join(
            f"{r.rater_id}：严宽程度 {r.severity:.2f}（{level}置信区间 {r.ci_low:.2f}–{r.ci_high:.2f}）" if zh else
            f"{r.rater_id}: severity {r.severity:.2f} ({level} CI {r.ci_low:.2f}–{r.ci_high:.2f})"
            for r in unsure.itertuples(index=False))
        out.append(Finding("raters", "cannot_tell", text, detail))
    blind = raters[status == "not_estimable"]
    if len(blind):
        ids = _names(blind["rater_id"], zh)
        text = (f"评分人 {ids} 没有与其他评分人共同评过同一单位的同一指标（或只评过一个单位），其评分尺度{_UNKNOWN['zh']}。"
                if zh else f"Raters {ids} never scored a unit and indicator that another rater scored too (or "
                f"scored one unit only): whether they are harsh or lenient, {_UNKNOWN['en']}.")
        detail = (f"无法估计的评分人：{ids}（没有与他人共同评分的单位和指标，或只评过一个单位）" if zh else
                  "; ".join(f"{r.rater_id}: {r.note}" for r in blind.itertuples(index=False)))
        out.append(Finding("raters", "not_estimable", text, detail))
    n_components = int(pd.to_numeric(raters["component"]).max())
    if n_components > 1:
        text = (f"评分人分为 {n_components} 个互不相连的组（组间没有共同评过的单位和指标），不同组之间评分尺度的比较{_UNKNOWN['zh']}。"
                if zh else f"The raters fall into {n_components} sets that never scored the same unit and "
                f"indicator; comparing severity across sets: {_UNKNOWN['en']}.")
        out.append(Finding("raters", "not_estimable", text, f"评分人连通组 {n_components} 个" if zh else
                           f"{n_components} connected components of raters"))
    return out


# --------------------------------------------------------------------------- reliability of each source


def _reliability(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    rel = tables["reliability.csv"]
    g = rel[rel["scope"] == "source"]
    out = []
    for source, part in g.groupby("key", sort=False):
        stat = part.set_index("statistic")
        phi = stat["value"].get("phi", np.nan)
        note = str(stat["note"].iloc[0])
        if _FINAL in note:
            continue  # final scores only: said once, by `_final_scores`
        status = next((s for s in ("not_estimable", "approximate", "lower_bound", "estimated")
                       if f"status {s}" in note), "estimated")
        name = SOURCE_LABELS[lang].get(source, source)
        detail = _g_detail(source, stat, status, lang)
        if status == "not_estimable" or not np.isfinite(phi):
            text = (f"{name}评分全部出自同一评分人（或只有最终得分），评分误差有多大，{_UNKNOWN['zh']}。" if zh else
                    f"{name.capitalize()} scores come from one rater (or are final scores only): how large their "
                    f"error is, {_UNKNOWN['en']}.")
            out.append(Finding("reliability", "not_estimable", text, detail))
            continue
        word = _phi_word(phi, zh)
        low, high = stat["ci_low"].get("phi", np.nan), stat["ci_high"].get("phi", np.nan)
        needed = stat["value"].get("raters_needed", np.nan)
        if status == "approximate":
            text = (f"{name}评分可靠程度看来{word}，但每个单位只有一名评分人，评分人对单位的整体印象无法与单位"
                    f"实际水平区分，实际可靠程度可能更低。" if zh else
                    f"{name.capitalize()} scores look {word}, but each unit had one rater, whose overall "
                    "impression of the unit cannot be told from the unit's own level: they may be less reliable.")
            out.append(Finding("reliability", "cannot_tell", text, detail))
            continue
        # the sentence says how reliable in words, and how sure (the words at both ends of the interval);
        # the value, its interval and the target are the detail's
        sure = np.isfinite(low)
        how_sure = ""
        if sure:
            low_word, high_word = _phi_word(low, zh), _phi_word(high, zh)
            how_sure = ((f"，{_SURE['zh']}" if zh else f", {_SURE['en']}") if low_word == high_word else
                        f"（{_SURE['zh']}在{low_word}至{high_word}之间）" if zh else
                        f" ({_SURE['en']} between {low_word} and {high_word})")
        if zh:
            text = f"{name}评分可靠程度{word}{how_sure}"
            if status == "lower_bound":
                text += "（保守估计，实际可能更高）"
            if np.isfinite(needed) and phi < 0.8:
                text += f"；要达到较高水平，每项指标约需 {needed:.0f} 名评分人"
            text += "。"
        else:
            text = f"{name.capitalize()} scores are {word}{how_sure}"
            if status == "lower_bound":
                text += " (a cautious estimate: they may be more reliable)"
            if np.isfinite(needed) and phi < 0.8:
                text += f"; to be reliable they need about {needed:.0f} raters per indicator"
            text += "."
        out.append(Finding("reliability", "sure" if sure else "none", text, detail))
    return out


def _phi_word(phi: float, zh: bool) -> str:
    if phi >= 0.8:
        return "较高" if zh else "reliable"
    if phi >= 0.7:
        return "尚可" if zh else "acceptably reliable"
    return "偏低" if zh else "unreliable"


_G_LABELS = {
    "zh": {"variance_unit": "单位 σ²", "variance_rater": "评分人 σ²", "variance_unit_x_rater": "单位×评分人（印象）σ²",
           "variance_indicator": "指标 σ²", "variance_unit_x_indicator": "单位×指标 σ²", "variance_residual": "残差 σ²",
           "share_unit": "单位方差占比", "phi": "Φ", "raters_needed": "Φ 达到目标所需每项指标评分人数"},
    "en": {"share_unit": "share of unit variance", "phi": "Φ", "raters_needed": "raters needed for Φ ≥ target"},
}
_G_STATUS = {"estimated": "已估计", "lower_bound": "下限（每个单位每项指标一名评分人）",
             "approximate": "近似（每个单位一名评分人）", "not_estimable": "无法估计（全部出自同一评分人）",
             "final_scores": "无法估计（仅有最终得分，未记录评分人；单位方差含评分人对该单位的整体印象，残差含评分误差）"}


def _g_detail(source: str, stat: pd.DataFrame, status: str, lang: str) -> str:
    zh = lang == "zh"
    parts = []
    for name in ("variance_unit", "variance_rater", "variance_unit_x_rater", "variance_indicator",
                 "variance_unit_x_indicator", "variance_residual", "share_unit", "phi", "raters_needed"):
        if name not in stat.index or not np.isfinite(stat.at[name, "value"]):
            continue
        low, high = stat.at[name, "ci_low"], stat.at[name, "ci_high"]
        level = _pct(stat.at[name, "ci_level"])
        interval = ((f"（{level}置信区间 {low:.3g}–{high:.3g}）" if zh else f" ({level} CI {low:.3g}–{high:.3g})")
                    if np.isfinite(low) else "")
        label = _G_LABELS[lang].get(name, name.replace("variance_", "σ²_"))
        parts.append(f"{label} {stat.at[name, 'value']:.3g}{interval}")
    if zh:
        return (f"{SOURCE_LABELS['zh'].get(source, source)}：概化研究（Henderson 方法 I，百分制）："
                + "；".join(parts) + f"；估计状态：{_G_STATUS.get(status, status)}")
    return f"{source}: G-study (Method I, points of 100): " + "; ".join(parts) + f" — {stat['note'].iloc[0]}"


# --------------------------------------------------------------------------- agreement


def _agreement(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    rel = tables["reliability.csv"]
    overall = rel[rel["scope"] == "overall"].set_index("statistic")
    if "ICC(1,1)" not in overall.index or not np.isfinite(overall.at["ICC(1,1)", "value"]):
        return []
    icc1 = overall.loc["ICC(1,1)"]
    value, low, high = icc1["value"], icc1["ci_low"], icc1["ci_high"]
    word = ("较高" if zh else "high") if low >= 0.6 else ("一般" if zh else "moderate") if low >= 0.4 else (
        "偏低" if zh else "low") if high < 0.4 else None
    if word is None:
        text = (f"不同评分人对同一单位同一指标的评分是否一致，{_CANNOT['zh']}。" if zh else
                f"Whether raters agree on the same unit and indicator: {_CANNOT['en']}.")
        certainty = "cannot_tell"
    else:
        text = (f"不同评分人对同一单位同一指标的评分一致程度{word}，{_SURE['zh']}。" if zh else
                f"Raters agree {word}ly on the same unit and indicator, {_SURE['en']}." if word != "high" else
                f"Raters agree well on the same unit and indicator, {_SURE['en']}.")
        certainty = "sure"
    alpha = overall["value"].get("krippendorff_alpha", np.nan)
    w = overall["value"].get("kendall_w", np.nan)
    w_rescaled = overall["value"].get("kendall_w_rescaled", np.nan)
    detail = (f"ICC(1,1) = {value:.2f}（{_pct(icc1['ci_level'])}置信区间 {low:.2f}–{high:.2f}，{_p(icc1['p_value'])}）；"
              f"Krippendorff α（区间尺度）= {alpha:.2f}；Kendall W = {w:.2f}（评分人槽位，完全不一致时为 1/k），"
              f"换算 (kW − 1)/(k − 1) = {w_rescaled:.2f}（即平均 Spearman ρ）" if zh else
              f"ICC(1,1) = {value:.2f} ({_pct(icc1['ci_level'])} CI {low:.2f}–{high:.2f}, {_p(icc1['p_value'])}); "
              f"Krippendorff's alpha (interval) = {alpha:.2f}; Kendall's W = {w:.2f} on rater slots, where no "
              f"agreement gives 1/k, rescaled (kW − 1)/(k − 1) = {w_rescaled:.2f} (the mean Spearman ρ)")
    sep = rel[(rel["scope"] == "raters") & (rel["statistic"] == "separation_reliability")]
    if len(sep):
        detail += ("；评分人分离信度 " if zh else "; rater separation reliability ") + ", ".join(
            f"{str(r.key).replace('component', '连通组') if zh else r.key} {r.value:.2f}"
            for r in sep.itertuples(index=False))
    return [Finding("agreement", certainty, text, detail)]


# --------------------------------------------------------------------------- laggards


def _laggards(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    lag = tables["laggards.csv"]
    units = tables["laggard_units.csv"]
    calibration = tables["laggard_calibration.csv"].set_index("rule")
    out = []
    called = lag[lag["rule"] == "persistent"]
    row = calibration.loc["persistent"] if "persistent" in calibration.index else None
    if row is not None and str(row["status"]) == "cannot_tell":
        text = (f"本年度参评期数太少，谁是持续后进单位，{_UNKNOWN['zh']}。" if zh else
                f"Too few rounds this year: who is a persistent laggard, {_UNKNOWN['en']}.")
        return [Finding("laggards", "not_estimable", text, "窗口内排名期数少于 fairness.laggard_min_history" if zh
                        else str(row["note"]))]
    rate = float(row["target_rate"]) if row is not None else np.nan
    fdr = float(row["fdr"]) if row is not None else np.nan
    if len(called):
        who = _names(called["name"], zh)
        text = (f"持续后进单位 {len(called)} 家：{who}。这些单位本年度多期明显落后于同组单位，不是偶然一次失利，{_SURE['zh']}。"
                if zh else f"Persistent laggards, {len(called)}: {who}. They fell clearly behind their group in "
                f"several rounds this year, not once by bad luck, {_SURE['en']}.")
        if zh:
            detail = (f"每个单位作一次判断：规则A（多次上榜或垫底）、B（CUSUM 累积落后）、C（Mann-Kendall 下滑）、"
                      f"D（平均差距）以最小 p 值合并，对照将本市每期标准化得分在组内随机置换的模拟"
                      f"（期间相关 ρ = {float(row['serial_correlation']):.2f}）；设定单位误报率 {_pct(rate)}，实测 "
                      f"{float(row['achieved_rate']):.3f}；错误发现率 {_pct(fdr)}（Benjamini–Hochberg）；各单位：" + "；".join(
                          f"{r.name}（{r.unit_id}）平均差距 {r.evidence:.2f} 个标准差，{_p(r.p_value)}，q = "
                          f"{r.q_value:.3g}，依据规则 {r.rules}" for r in called.itertuples(index=False)))
        else:
            detail = (f"one test per unit combining rules A (listed), B (CUSUM), C (decline) and D (mean shortfall) "
                      f"by min-p against a null of the city's own scores permuted within each round and group "
                      f"(serial correlation {float(row['serial_correlation']):.2f}); stated per-unit false-alarm "
                      f"rate {_pct(rate)}, achieved {float(row['achieved_rate']):.3f}; false-discovery rate "
                      f"{_pct(fdr)} (Benjamini–Hochberg); units: " + "; ".join(
                          f"{r.name} ({r.unit_id}) shortfall {r.evidence:.2f} sd, {_p(r.p_value)}, q = "
                          f"{r.q_value:.3g}, rules {r.rules}" for r in called.itertuples(index=False)))
        out.append(Finding("laggards", "sure", text, detail))
    else:
        text = ("没有发现持续后进单位。" if zh else "No persistent laggard was found.")
        out.append(Finding("laggards", "none", text, f"设定单位误报率 {_pct(rate)}，错误发现率 {_pct(fdr)}" if zh else
                           f"stated per-unit false-alarm rate {_pct(rate)}, false-discovery rate {_pct(fdr)}"))
    below = units[units["status"] == "below_average"]
    if len(below):
        who = _names(mapped(below["unit_id"], names).fillna(below["unit_id"]), zh)
        text = (f"另有 {len(below)} 家单位本年度得分持续略低于同组平均（{who}），差距不大，不认定为后进。" if zh else
                f"{len(below)} more units stayed somewhat below their group's average ({who}), not far enough "
                "behind to be called laggards.")
        out.append(Finding("laggards", "sure", text, ("；" if zh else "; ").join(
            f"{r.unit_id} 平均差距 {r.shortfall:.2f} 个标准差，q = {r.q_value:.3g}" if zh else
            f"{r.unit_id} shortfall {r.shortfall:.2f} sd, q = {r.q_value:.3g}" for r in below.itertuples(index=False))))
    thin = units[units["status"] == "cannot_tell"]
    if len(thin):
        who = _names(mapped(thin["unit_id"], names).fillna(thin["unit_id"]), zh)
        text = (f"{who}本年度参评期数不足，是否持续后进，{_UNKNOWN['zh']}。" if zh else
                f"{who}: too few rounds this year; whether persistently behind, {_UNKNOWN['en']}.")
        out.append(Finding("laggards", "not_estimable", text, "窗口内排名期数少于 fairness.laggard_min_history" if zh
                           else str(thin["note"].iloc[0])))
    return out


# --------------------------------------------------------------------------- visits


def _visits(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    visits = tables["visits.csv"]
    if visits.empty:
        return []
    out = []
    first = visits.iloc[0]
    city, low, high = first["city_gap"], first["city_ci_low"], first["city_ci_high"]
    if np.isfinite(city) and np.isfinite(low):
        if high < 0 or low > 0:
            more = "低" if city < 0 else "高"
            text = (f"全市暗访得分平均比明查{more}约 {abs(city):.1f} 分（百分制），{_SURE['zh']}。" if zh else
                    f"Across the city, covert visits score about {abs(city):.1f} points (of 100) "
                    f"{'lower' if city < 0 else 'higher'} than open ones, {_SURE['en']}.")
            certainty = "sure"
        else:
            text = (f"全市明查与暗访得分是否有差别，{_CANNOT['zh']}。" if zh else
                    f"Whether open and covert visits score differently across the city: {_CANNOT['en']}.")
            certainty = "cannot_tell"
        out.append(Finding("visits", certainty, text, f"全市暗访−明查效应 {city:.2f}（置信区间 {low:.2f}–{high:.2f}），"
                           "来自含明查/暗访项的评分人严宽模型" if zh else f"city-wide covert − open effect {city:.2f} "
                           f"(CI {low:.2f}–{high:.2f}), from the rater-severity model with a visit term"))
    for r in visits[visits["status"] == "real"].itertuples(index=False):
        who = names.get(r.unit_id, r.unit_id)
        text = (f"{who}明查得分高于暗访约 {-r.excess:.1f} 分（已扣除全市一般差距），这一差别{_SURE['zh']}；"
                f"但差距是否达到认定标准，{_CANNOT['zh']}。" if zh else
                f"{who} scores about {-r.excess:.1f} points more on open than on covert visits beyond the city's "
                f"usual gap, a real difference {_SURE['en']}; whether it reaches the level that calls for action: "
                f"{_CANNOT['en']}.")
        detail = (f"{r.unit_id}：暗访−明查 {r.gap:.2f}（置信区间 {r.ci_low:.2f}–{r.ci_high:.2f}），超出全市差距 "
                  f"{r.excess:.2f}，单侧 {_p(r.p_value)}，q = {r.q_value:.3g}；区间未完全超过认定标准 "
                  f"fairness.visit_gap_min；共 {r.n_rounds} 期" if zh else
                  f"{r.unit_id}: covert − open {r.gap:.2f} (CI {r.ci_low:.2f}–{r.ci_high:.2f}), {r.excess:.2f} beyond "
                  f"the city's gap, one-sided {_p(r.p_value)}, q = {r.q_value:.3g}; the interval does not clear the "
                  f"minimum of the parameters (fairness.visit_gap_min) over {r.n_rounds} rounds")
        out.append(Finding("visits", "cannot_tell", text, detail))
    for r in visits[visits["flagged"].astype(bool)].itertuples(index=False):
        who = names.get(r.unit_id, r.unit_id)
        text = (f"{who}暗访得分比明查低约 {-r.gap:.1f} 分，明显超出全市的一般差距，明查时表现明显更好，{_SURE['zh']}。"
                if zh else f"{who} scores about {-r.gap:.1f} points lower on covert than on open visits, well beyond "
                f"the city's usual gap: it performs for announced visits, {_SURE['en']}.")
        detail = (f"{r.unit_id}：暗访−明查 {r.gap:.2f}（置信区间 {r.ci_low:.2f}–{r.ci_high:.2f}），超出全市差距 "
                  f"{r.excess:.2f}，单侧 {_p(r.p_value)}，单位间错误发现率校正 q = {r.q_value:.3g}（Benjamini–Hochberg）；"
                  f"共 {r.n_rounds} 期" if zh else
                  f"{r.unit_id}: covert − open {r.gap:.2f} (CI {r.ci_low:.2f}–{r.ci_high:.2f}), {r.excess:.2f} beyond "
                  f"the city's gap, one-sided {_p(r.p_value)}, q = {r.q_value:.3g} (Benjamini–Hochberg across units) "
                  f"over {r.n_rounds} rounds")
        out.append(Finding("visits", "sure", text, detail))
    return out


# --------------------------------------------------------------------------- stability, weights, funnel


def _stability(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    st = tables["stability.csv"]
    if st.empty:
        return []
    level = _pct(float(st["rank_level"].iloc[0]))
    measured = st[st["se"] > 0]
    rel = tables["reliability.csv"]
    final = rel[(rel["scope"] == FINAL_SCORES_SCOPE) & (rel["key"] == "measurement_error")]
    if measured.empty and len(final) and (final["value"] >= 1.0).all():
        return []  # final scores only: `_final_scores` says that the lists' stability cannot be judged
    if measured.empty:
        text = (f"各评价来源的评分误差都无法从现有数据估计（只有一名评分人或只有最终得分），名单是否稳定，{_UNKNOWN['zh']}。" if zh
                else f"No source's scoring error can be estimated from these data (one rater, or final scores only): "
                f"whether the lists are stable, {_UNKNOWN['en']}.")
        return [Finding("stability", "not_estimable", text, _unknown_sources(tables, lang)
                        or " | ".join(sorted(set(st["note"].astype(str)))))]
    st = measured
    listed = st[st["list"].isin(["red", "black"])]
    out = []
    status = {name: np.where(listed["list"] == name, listed[f"{name}_status"], "") for name in ("red", "black")}
    confirmed = (status["red"] == "in") | (status["black"] == "in")
    sure = listed[confirmed & (listed["status"] == "stable").to_numpy()]
    partly = listed[confirmed & (listed["status"] == "not_estimable").to_numpy()]
    unsure = listed[~confirmed]
    unknown = st[st["status"] == "not_estimable"]
    if len(partly):
        text = (f"{_names(partly['name'], zh)}在可以估计的评分误差范围内上榜有把握，但部分评价来源的评分误差{_UNKNOWN['zh']}，"
                "不能据此认定其上榜结果不受评分误差影响。" if zh else
                f"{_names(partly['name'], zh)} are on their lists with confidence as far as the measured scoring "
                f"error goes, but for some sources the error is unknown ({_UNKNOWN['en']}), so this does not show "
                "their listing is safe from scoring error.")
        out.append(Finding("stability", "not_estimable", text, _rank_detail(partly, level, zh)))
    if len(sure):
        text = (f"考虑评分误差后，{_names(sure['name'], zh)}上榜{_SURE['zh']}（名次和分数都不会因评分误差而改变上榜结果）。"
                if zh else f"Allowing for scoring error, {_names(sure['name'], zh)} are on their lists "
                f"{_SURE['en']}: neither their place nor their score is in doubt.")
        out.append(Finding("stability", "sure", text, _rank_detail(sure, level, zh)))
    if len(unsure):
        text = (f"{_names(unsure['name'], zh)}是否应当上榜，{_CANNOT['zh']}：其名次或分数与上榜界线的差距在评分误差范围之内。"
                if zh else f"Whether {_names(unsure['name'], zh)} belong on their lists: {_CANNOT['en']}; their "
                "place or score is within scoring error of the cut.")
        out.append(Finding("stability", "cannot_tell", text, _rank_detail(unsure, level, zh)))
    near = st[(st["list"] == "") & ((st["red_status"] == "cannot_tell") | (st["black_status"] == "cannot_tell"))]
    if len(near):
        text = (f"另有 {len(near)} 家未上榜单位与上榜界线的差距在评分误差范围之内（{_names(near['name'], zh)}）。" if zh else
                f"{len(near)} units off the lists are within scoring error of a cut ({_names(near['name'], zh)}).")
        out.append(Finding("stability", "cannot_tell", text, _rank_detail(near, level, zh)))
    if len(unknown):
        reasons = sorted(set(unknown["note"].astype(str)))
        text = (f"部分评价来源的评分误差{_UNKNOWN['zh']}（该来源只有一名评分人或只有最终得分），以上判断只计入了可以估计的误差，"
                "不能据此认定名单完全稳定。" if zh else
                f"For some sources the scoring error is unknown ({_UNKNOWN['en']}: one rater, or final scores only); "
                "the statements above count only the errors that can be measured and cannot show the lists are "
                "wholly stable.")
        out.append(Finding("stability", "not_estimable", text, _unknown_sources(tables, lang) or " | ".join(reasons)))
    elif not len(unsure) and not len(near):
        text = ("红黑榜名单在评分误差范围内稳定。" if zh else "The lists are stable within scoring error.")
        out.append(Finding("stability", "sure", text, f"every listing confirmed at {level}"))
    return out


_LIST_STATUS = {"in": "有把握上榜", "out": "有把握不上榜", "cannot_tell": "无法判断"}


def _rank_detail(rows: pd.DataFrame, level: str, zh: bool) -> str:
    if zh:
        return "；".join(
            f"{r.name}（{r.unit_id}）：得分 {r.score:.2f} ± {r.se:.2f}（评分误差），名次 {r.rank:.0f}，{level}名次置信集 "
            f"{r.rank_low:.0f}–{r.rank_high:.0f}（同时置信集 {r.rank_low_simul:.0f}–{r.rank_high_simul:.0f}）；红榜"
            f"{_LIST_STATUS.get(r.red_status, r.red_status)}，黑榜{_LIST_STATUS.get(r.black_status, r.black_status)}"
            for r in rows.itertuples(index=False))
    return "; ".join(
        f"{r.name} ({r.unit_id}): score {r.score:.2f} ± {r.se:.2f} (measurement SE), rank {r.rank:.0f}, "
        f"{level} rank set {r.rank_low:.0f}–{r.rank_high:.0f} (simultaneous {r.rank_low_simul:.0f}–"
        f"{r.rank_high_simul:.0f}); red {r.red_status}, black {r.black_status}"
        for r in rows.itertuples(index=False))


def _unknown_sources(tables, lang: str) -> str:
    """The sources whose error the G-study could not estimate, named (empty when none is)."""
    rel = tables["reliability.csv"]
    g = rel[(rel["scope"] == "source") & rel["note"].astype(str).str.contains("status not_estimable")]
    sources = list(dict.fromkeys(g["key"].astype(str)))
    if not sources:
        return ""
    names = [SOURCE_LABELS[lang].get(s, s) for s in sources]
    return (f"评分误差无法估计的来源：{'、'.join(names)}（全部出自同一评分人，或只有最终得分）" if lang == "zh" else
            f"sources whose error cannot be estimated: {', '.join(names)} (one rater for all, or final scores only)")


def _weights(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    w = tables["weights.csv"]
    if w.empty:
        return []
    shift = float(w["shift"].abs().max())
    changed = w[w["changed"].astype(bool)]
    if changed.empty:
        text = (f"各评价来源的权重即使上下调整 {shift:.2f}，红黑榜名单也不会改变。" if zh else
                f"Moving any source's weight up or down by {shift:.2f} would change no listing.")
        return [Finding("weights", "none", text, "权重敏感性：没有单位的榜单改变" if zh else
                        "weight sensitivity: no listing changes")]
    units = changed.drop_duplicates("unit_id")
    text = (f"若某一评价来源的权重上下调整 {shift:.2f}，{len(units)} 家单位的上榜结果会改变（{_names(units['name'], zh)}）；"
            "这是政策选择问题，不是评分误差。" if zh else
            f"Moving one source's weight up or down by {shift:.2f} would change the listing of {len(units)} units "
            f"({_names(units['name'], zh)}): a question of policy, not of scoring error.")
    word = {"red": "红榜", "black": "黑榜", "": "未上榜"}
    detail = ("；".join(f"{r.name}（{r.unit_id}）：{SOURCE_LABELS['zh'].get(r.source, r.source)}权重"
                       f"{'调高' if r.direction == 'up' else '调低'} → {word.get(r.list, r.list)}变为"
                       f"{word.get(r.list_shifted, r.list_shifted)}" for r in changed.itertuples(index=False)) if zh else
              "; ".join(f"{r.name} ({r.unit_id}): {r.source} {r.direction} → {r.list or '-'} to {r.list_shifted or '-'}"
                        for r in changed.itertuples(index=False)))
    return [Finding("weights", "none", text, detail)]


def _funnel(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    f = tables["funnel.csv"]
    if f.empty:
        return []
    level = _pct(float(f["level_outer"].iloc[0]))
    out = []
    for side, word_zh, word_en in (("below", "偏低", "below"), ("above", "偏高", "above")):
        part = f[f["status_outer"] == side]
        if part.empty:
            continue
        text = (f"与同组单位相比，{_names(part['name'], zh)}得分明显{word_zh}，超出了正常波动范围，{_SURE['zh']}。" if zh else
                f"{_names(part['name'], zh)} score clearly {word_en} their group, beyond its normal spread, "
                f"{_SURE['en']}.")
        detail = ("；".join(f"{r.name}（{r.unit_id}）：得分 {r.score:.2f}，组中心 {r.target:.2f}，{level}控制限 "
                            f"{r.lower_outer:.2f}–{r.upper_outer:.2f}（过度离散 τ² {r.tau2:.2f}）"
                            for r in part.itertuples(index=False)) if zh else
                  "; ".join(f"{r.name} ({r.unit_id}): score {r.score:.2f}, group centre {r.target:.2f}, "
                            f"{level} limits {r.lower_outer:.2f}–{r.upper_outer:.2f} (overdispersion τ² {r.tau2:.2f})"
                            for r in part.itertuples(index=False)))
        out.append(Finding("funnel", "sure", text, detail))
    if not out:
        text = ("没有单位的得分超出同组单位的正常波动范围。" if zh else
                "No unit's score lies beyond its group's normal spread.")
        tau2 = ", ".join(f"{g} {v:.1f}" for g, v in f.groupby("ranking_group")["tau2"].first().items())
        out.append(Finding("funnel", "none", text, f"漏斗图，{level}控制限，已计入过度离散（Spiegelhalter 2005），"
                           f"各排名分组 τ²：{tau2}" if zh else f"funnel plot, {level} limits with overdispersion "
                           f"(Spiegelhalter 2005), per ranking group: τ² {tau2}"))
    return out


# --------------------------------------------------------------------------- groups


def _groups(tables, lang, names) -> list[Finding]:
    zh = lang == "zh"
    groups = tables["groups.csv"]
    if groups.empty:
        return []
    out = []
    for dimension, part in groups.groupby("dimension", sort=False):
        labels = [_GROUP[lang].get(g, g) for g in part["group"]]
        who = ("与" if zh else " and ").join(labels) if len(labels) == 2 else _names(labels, zh)
        for stat in ("severity", "score"):
            status = str(part[f"status_{stat}"].iloc[0])
            what = _STATISTIC[lang][stat]
            p_perm, p_equiv = float(part[f"p_{stat}"].iloc[0]), float(part[f"p_equiv_{stat}"].iloc[0])
            detail = (f"{who}，{what.lstrip('的')}：置换检验 {_p(p_perm)}，等效检验（TOST）p = {p_equiv:.3g}，结论 "
                      f"{_GROUP_STATUS.get(status, status)}" if zh else f"{dimension}, {stat}: permutation "
                      f"{_p(p_perm)}, TOST equivalence p = {p_equiv:.3g}, status {status}")
            if stat == "severity":
                detail += ("；与其余单位之差 " if zh else "; ") + ", ".join(
                    f"{_GROUP[lang].get(g, g) if zh else g} {d:+.2f} ({lo:+.2f}–{hi:+.2f})" for g, d, lo, hi in zip(
                        part["group"], part["severity_diff"], part["severity_diff_low"], part["severity_diff_high"]))
            if status == "alike":
                text = (f"{who}{what}相当，{_SURE['zh']}。" if zh else
                        f"{who.capitalize()} are alike in {what}, {_SURE['en']}.")
                out.append(Finding("groups", "sure", text, detail))
            elif status == "differ":
                text = (f"{who}{what}存在明显差别，{_SURE['zh']}。" if zh else
                        f"{who.capitalize()} differ in {what}, {_SURE['en']}.")
                if stat == "severity":
                    harsh = part.loc[part["severity_diff"].idxmax()]
                    name = _GROUP[lang].get(harsh["group"], harsh["group"])
                    text = (f"{name}所遇评分人明显更严，{_SURE['zh']}。" if zh else
                            f"{name.capitalize()} met clearly harsher raters, {_SURE['en']}.")
                out.append(Finding("groups", "sure", text, detail))
            elif status == "cannot_tell":
                text = (f"{who}{what}是否有差别，{_CANNOT['zh']}。" if zh else
                        f"Whether {who} differ in {what}: {_CANNOT['en']}.")
                out.append(Finding("groups", "cannot_tell", text, detail))
    return out
