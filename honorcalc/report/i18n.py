"""Every label of the reports, in Chinese (the default) and English.

`LABELS` holds the round report's; `ANNUAL_LABELS` adds the annual report's.
Both languages have the same keys. The punctuation that joins a report's
words is a label too (``sep``, ``semicolon``, ``colon``, ``open``/``close``,
``full_stop``, ``dot``): an English report joins with ", " and "; ", never
with Chinese punctuation. The templates (``templates/*.j2``) read labels as
``L.key``, so no key is named as a method of ``dict``.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["LABELS", "ANNUAL_LABELS", "FIGURE_LABELS", "ANNUAL_FIGURE_LABELS", "TIER_LABELS", "labels",
           "tier_label", "group_label", "round_name"]

LABELS = {
    "zh": {
        "report": "红黑榜测评通报",
        "report_special": "“{topic}”专项测评红黑榜通报",
        "city_sep": "",
        "sep": "、",
        "open": "（",
        "close": "）",
        "colon": "：",
        "semicolon": "；",
        "full_stop": "。",
        "dot": " · ",
        "cap_note": "专项测评榜单原则上不超过参评单位数的 {share}（向下取整）：",
        "cap_group": "{group} {n} 家，至多 {cap} 家",
        "comprehensive": "综合测评",
        "special": "专项测评",
        "topic": "专项",
        "date": "测评日期",
        "summary": "概况",
        "units": "参评单位",
        "groups": "排名分组",
        "scores": "评分记录",
        "raters": "评分人",
        "sources": "证据来源",
        "group": "分组",
        "kind": "类别",
        "count": "单位数",
        "data": "数据概况",
        "table": "数据表",
        "rows": "行数",
        "file": "文件",
        "appendix": "附录",
        "appendix_note": "以下为技术资料，供审计和复核使用：运行信息、统计方法与数值、输入数据及其 sha256、运行参数和数据读取提示。",
        "run": "运行信息",
        "run_id": "运行编号",
        "run_unsaved": "未保存的运行（未写入运行目录，例如在 JupyterLab 中直接运行）",
        "run_dir": "运行目录",
        "round_id": "轮次编号",
        "explain_note": "查询某个单位的得分、名次和上榜原因：在保存本次运行的电脑上执行下列命令（单位编号见下表）。",
        "explain_unsaved": "本次运行未保存，无法用 honorcalc explain 查询；请用 honorcalc run 重新运行。",
        "explain_units": "上榜及被一票否决单位的编号",
        "unit_id": "单位编号",
        "command": "查询命令",
        "inputs": "输入数据",
        "fairness_methods": "公平性分析的方法与数值",
        "fairness_methods_note": "正文每条结论所依据的统计量、区间和检验（置信水平、错误发现率控制等参数见下方运行参数 fairness 部分；数据见运行目录中的 raters.csv、reliability.csv、laggards.csv、laggard_units.csv、laggard_calibration.csv、stability.csv、weights.csv、funnel.csv、groups.csv、visits.csv）：",
        "params": "本次运行参数",
        "notices": "数据读取提示",
        "params_hash": "参数 sha256（与运行清单 manifest.json 一致）",
        "sha256": "sha256",
        "none": "无",
        "industry": "按行业",
        "territorial": "按属地",
        "field": "实地考察测评",
        "daily": "日常动态",
        "feedback": "上级部门反馈",
        "leader": "市级领导督导",
        "public": "群众监督举报",
        "red": "红榜",
        "black": "黑榜",
        "red_n": "红榜单位",
        "black_n": "黑榜单位",
        "escalations": "启动核查",
        "vetoes": "一票否决",
        "rank": "排名",
        "unit": "单位",
        "score": "综合得分",
        "round_points": "本期加减分",
        "ytd": "年度累计",
        "escalated": "核查程序",
        "escalated_yes": "连续上榜，启动核查",
        "no_red": "当期不设红榜",
        "no_black": "当期不设黑榜",
        "red_rule": "综合得分 ≥ {red} 分且排名前 {n} 名",
        "black_rule": "综合得分 ≤ {black} 分且排名后 {n} 名",
        "red_rule_special": "专项得分 ≥ {red} 分且排名前 ⌊N×{share}⌋ 名",
        "black_rule_special": "专项得分 ≤ {black} 分且排名后 ⌊N×{share}⌋ 名",
        "score_special": "专项得分",
        "reason": "说明",
        "weak": "较弱类别：",
        "strong": "较强类别：",
        "weak_item": "{category} {score}（组均 {mean}）",
        "deductions": "扣分：",
        "deduction_item": "{code} {note}{marks} −{points}分",
        "joint": "连带",
        "relation_territorial": "属地责任", "relation_industry": "行业责任", "relation_paired": "挂包责任",
        "deduction_from": "源自{name}",
        "deduction_shared": "，与{units}共担",
        "deduction_shared_unit": "{name}（{relation}，{share}）",
        "on_negative_list": "负面清单",
        "comma": "，",
        "summary_intro": "本期共测评{n}家单位，分{groups}组排名。",
        "summary_red": "红榜{n}家",
        "summary_red_none": "不设红榜",
        "summary_black": "黑榜{n}家",
        "summary_black_none": "不设黑榜",
        "summary_escalated": "{n}家单位同一工作连续被列入黑榜，启动核查程序。",
        "summary_withheld": "{n}家单位达到红榜条件，因一票否决未列入红榜。",
        "summary_vetoed_other": "{n}家单位被一票否决，但其得分本未达到红榜条件。",
        "summary_empty_red": "{groups}当期不设红榜。",
        "summary_empty_black": "{groups}当期不设黑榜。",
        "summary_ties": "排名并列{n}处，已按规则处理（见下文）。",
        "scope_industry": "行业单位",
        "scope_territorial": "属地单位",
        "scope_all": "全部单位",
        "tier_round": "档次",
        "rankings": "分组排名",
        "list": "榜单",
        "vetoed": "否决",
        "vetoed_mark": "✔",
        "veto_note": "一票否决只取消红榜资格，不影响黑榜。本期被一票否决的单位：",
        "veto_reason": "否决原因",
        "veto_outcome": "结果",
        "veto_withheld": "达到红榜条件，因一票否决未列入红榜",
        "veto_not_red": "未达到红榜条件",
        "veto_kept": "保留名次，其后单位不递补",
        "veto_excluded": "不参加红榜排名，其后单位名次依次提前",
        "veto_black": "已列入黑榜（一票否决不影响黑榜）",
        "veto_no_effect": "一票否决未影响榜单",
        "red_flag": "流动红旗",
        "black_flag": "流动黑旗",
        "pass": "末位淘汰",
        "shared": "并列单位共同持有",
        "ties": "并列处理",
        "tie_note": "{group}{list}第 {rank} 名并列（{units}），按规则“{policy}”处理。",
        "all_in": "并列单位全部入榜",
        "none_in": "并列单位均不入榜",
        "audit_notes": "审计提示",
        "n_of": "{n} 家",
        "fig_distribution": "各组得分分布与红黑榜分数线",
        "fig_intervals": "各单位得分及其不确定区间（按组排序，上榜单位突出显示）",
        "fig_funnel": "各单位得分是否超出同组正常波动范围",
        "fig_heatmap": "上榜单位分类得分（颜色表示相对本单位平均的强弱）",
        "fig_history": "上榜单位历次得分",
        "fig_severity": "评分人宽严程度",
        "fig_visits": "明查与暗访得分差",
        "evidence": "得分依据",
        "fairness": "公平性分析",
        "fairness_note": "评分是否公正、名单是否稳健。每条结论注明把握程度：“有把握”指按本次分析设定的标准可以确认；“证据不足，无法判断”指数据不足以得出结论；“现有数据无法回答”指数据的采集方式无法回答该问题。所依据的方法与数值见附录。",
        "adjusted": "若校正评分人宽严偏差，名单将有 {n} 处变化（仅供参考，不改变本期通报）：",
        "adjusted_none": "即使校正评分人宽严偏差，名单也不会变化。",
        "adjusted_final": "本轮未记录评分人，无法校正评分人宽严偏差，也无法判断校正后名单是否变化。",
        "before": "校正前",
        "after": "校正后",
        "practices": "其他通报方式",
        "tiers": "好 / 较好 / 一般 分档",
        "flags": "流动红旗 / 流动黑旗",
        "flag_red": "流动红旗",
        "flag_black": "流动黑旗",
        "holder": "本期持有单位",
        "previous": "上期持有单位",
        "slips": "三色责任单",
        "slip_white": "白单（交办）",
        "slip_yellow": "黄单（警醒）",
        "slip_red": "红单（移交）",
        "code": "问题代码",
        "colour": "责任单",
        "streak": "连续次数",
        "quota": "末位淘汰（年度累计）",
        "quota_rule": "每组仅前 {share:.0%} 通过：",
        "quota_count": "未通过 {n} / {total}",
        "passed": "通过",
        "not_passed": "未通过",
        "veto_satisfaction": "群众满意率 {value}，低于 {min}",
        "veto_prerequisite": "前置条件“{category}”{value:.2f} 分，低于 {min:g} 分",
    },
    "en": {
        "report": "Red and black list report",
        "report_special": "Special evaluation '{topic}': red and black lists",
        "city_sep": " ",
        "sep": ", ",
        "open": " (",
        "close": ")",
        "colon": ": ",
        "semicolon": "; ",
        "full_stop": ". ",
        "dot": " · ",
        "cap_note": "A special round's list holds at most {share} of the units evaluated (rounded down): ",
        "cap_group": "{group} {n} units, at most {cap}",
        "comprehensive": "Comprehensive evaluation",
        "special": "Special evaluation",
        "topic": "Topic",
        "date": "Date",
        "summary": "Summary",
        "units": "Units evaluated",
        "groups": "Ranking groups",
        "scores": "Score records",
        "raters": "Raters",
        "sources": "Evidence sources",
        "group": "Group",
        "kind": "Kind",
        "count": "Units",
        "data": "Data overview",
        "table": "Table",
        "rows": "Rows",
        "file": "File",
        "appendix": "Appendix",
        "appendix_note": "Technical material for audit and review: the run, the statistics behind the findings, the input data with their sha256, the parameters and the notices from reading the data.",
        "run": "Run",
        "run_id": "Run id",
        "run_unsaved": "not saved (no run folder, e.g. run in JupyterLab)",
        "run_dir": "Run folder",
        "round_id": "Round id",
        "explain_note": "How a unit got its score, rank and list: run this command on the computer that holds the run (unit ids below).",
        "explain_unsaved": "This run was not saved, so honorcalc explain cannot read it; run it again with honorcalc run.",
        "explain_units": "Ids of the listed and vetoed units",
        "unit_id": "Unit id",
        "command": "Command",
        "inputs": "Input data",
        "fairness_methods": "Fairness analysis: methods and numbers",
        "fairness_methods_note": "The statistics, intervals and tests behind each finding of the report (confidence level, false-discovery rates and the other settings are in the parameters below, under fairness; data in the run folder: raters.csv, reliability.csv, laggards.csv, laggard_units.csv, laggard_calibration.csv, stability.csv, weights.csv, funnel.csv, groups.csv, visits.csv):",
        "params": "Parameters of this run",
        "notices": "Notices from reading the data",
        "params_hash": "Parameters' sha256 (as in the run's manifest.json)",
        "sha256": "sha256",
        "none": "none",
        "industry": "by industry",
        "territorial": "by territory",
        "field": "field inspection",
        "daily": "day-to-day monitoring",
        "feedback": "higher-authority feedback",
        "leader": "city leaders' supervision",
        "public": "public supervision",
        "red": "Red list",
        "black": "Black list",
        "red_n": "Red-listed",
        "black_n": "Black-listed",
        "escalations": "Escalated",
        "vetoes": "Vetoed",
        "rank": "Rank",
        "unit": "Unit",
        "score": "Score",
        "round_points": "Points this round",
        "ytd": "Points year to date",
        "escalated": "Verification",
        "escalated_yes": "consecutive listing: verification",
        "no_red": "no red list this round",
        "no_black": "no black list this round",
        "red_rule": "score ≥ {red} and within the top {n}",
        "black_rule": "score ≤ {black} and within the bottom {n}",
        "red_rule_special": "score ≥ {red} and within the top ⌊N×{share}⌋",
        "black_rule_special": "score ≤ {black} and within the bottom ⌊N×{share}⌋",
        "score_special": "Special-round score",
        "reason": "Why",
        "weak": "weakest: ",
        "strong": "strongest: ",
        "weak_item": "{category} {score} (group mean {mean})",
        "deductions": "deductions: ",
        "deduction_item": "{code} {note}{marks} −{points}",
        "joint": "joint",
        "relation_territorial": "territorial responsibility", "relation_industry": "industry responsibility",
        "relation_paired": "paired-assistance responsibility",
        "deduction_from": "for {name}",
        "deduction_shared": ", shared with {units}",
        "deduction_shared_unit": "{name} ({relation}, {share})",
        "on_negative_list": "negative list",
        "comma": ", ",
        "summary_intro": "{n} units were evaluated this round, ranked in {groups} groups. ",
        "summary_red": "{n} on the red list",
        "summary_red_none": "no red list",
        "summary_black": "{n} on the black list",
        "summary_black_none": "no black list",
        "summary_escalated": "{n} units were black-listed for the same work in consecutive rounds: verification. ",
        "summary_withheld": "{n} units met the red-list conditions but were vetoed. ",
        "summary_vetoed_other": "{n} units were vetoed without having met the red-list conditions. ",
        "summary_empty_red": "No red list this round in: {groups}. ",
        "summary_empty_black": "No black list this round in: {groups}. ",
        "summary_ties": "{n} ties at a cut, resolved by the rules (below). ",
        "scope_industry": "industry units",
        "scope_territorial": "territorial units",
        "scope_all": "all units",
        "tier_round": "Tier",
        "rankings": "Rankings by group",
        "list": "List",
        "vetoed": "Vetoed",
        "vetoed_mark": "✔",
        "veto_note": "A veto withholds the red list only; it never shields a unit from the black list. Vetoed this round:",
        "veto_reason": "Reason",
        "veto_outcome": "Outcome",
        "veto_withheld": "met the red-list conditions; not red-listed because of the veto",
        "veto_not_red": "did not meet the red-list conditions",
        "veto_kept": "keeps its rank; nobody moves up",
        "veto_excluded": "out of the red ranking; the units below move up",
        "veto_black": "black-listed (a veto never shields from the black list)",
        "veto_no_effect": "the veto changed no list",
        "red_flag": "red flag",
        "black_flag": "black flag",
        "pass": "elimination quota",
        "shared": "tied units share it",
        "ties": "Ties at the cut",
        "tie_note": "{group} {list}: tie at rank {rank} ({units}), resolved by '{policy}'.",
        "all_in": "all tied units in",
        "none_in": "no tied unit in",
        "audit_notes": "Notes for auditors",
        "n_of": "{n}",
        "fig_distribution": "Scores by group with the list thresholds",
        "fig_intervals": "Each unit's score with its uncertainty (listed units highlighted)",
        "fig_funnel": "Is any unit's score beyond its group's normal spread?",
        "fig_heatmap": "Category scores of listed units (colour: relative to the unit's own average)",
        "fig_history": "Listed units' scores over the rounds",
        "fig_severity": "Rater severity",
        "fig_visits": "Open versus covert visits",
        "evidence": "Evidence",
        "fairness": "Fairness analysis",
        "fairness_note": "Are the scores fair and the lists robust? Each finding says how sure it is: \"with confidence\" means the finding holds by the standard this analysis sets; \"the evidence is not enough to tell\" means the data allow either answer; \"these data cannot answer\" means the way the data were collected cannot settle the question. The methods and numbers are in the appendix.",
        "adjusted": "Correcting for harsh and lenient raters would change the lists in {n} places (for reference; the notice stands):",
        "adjusted_none": "Correcting for harsh and lenient raters would not change the lists.",
        "adjusted_final": "No rater was recorded this round: the lists cannot be corrected for harsh or lenient "
                          "raters, nor can it be told whether a correction would change them.",
        "before": "as scored",
        "after": "rater-adjusted",
        "practices": "Other forms of notice",
        "tiers": "Tiers (good / fairly good / fair)",
        "flags": "Mobile red and black flags",
        "flag_red": "red flag",
        "flag_black": "black flag",
        "holder": "Holder this round",
        "previous": "Holder last round",
        "slips": "Three-colour responsibility slips",
        "slip_white": "white (assigned)",
        "slip_yellow": "yellow (warning)",
        "slip_red": "red (handed over)",
        "code": "Code",
        "colour": "Slip",
        "streak": "Consecutive",
        "quota": "Elimination quota (year to date)",
        "quota_rule": "Only the top {share:.0%} of each group pass: ",
        "quota_count": "not passed {n} / {total}",
        "passed": "passed",
        "not_passed": "not passed",
        "veto_satisfaction": "public satisfaction {value}, below {min}",
        "veto_prerequisite": "prerequisite '{category}' {value:.2f}, below {min:g}",
    },
}

ANNUAL_LABELS = {
    "zh": {
        "annual_report": "{year}年度红黑榜考核报告",
        "annual": "年度考核",
        "counted": "计入 {n} 期通报（综合测评 {c} 期、专项测评 {s} 期）",
        "until": "截至{round}",
        "partial_year": "本年度尚未结束：统计截至 {date}，为年度累计，非全年结果。",
        "year_text": "本年度计入{rounds}期通报，{units}家单位参评：红榜上榜{red}次，黑榜上榜{black}次；"
                     "{escalated}家单位启动核查程序，共{events}次；{positive}家单位年度积分为正，{negative}家为负。",
        "year_text_quota": "{n}家单位末位淘汰未通过。",
        "listings_red": "红榜上榜次数",
        "listings_black": "黑榜上榜次数",
        "escalation_events": "启动核查次数",
        "escalated_units": "被核查单位",
        "positive": "年度积分为正",
        "negative": "年度积分为负",
        "points_rule": "积分规则：综合测评红榜 {cr:+g}、黑榜 {cb:+g}；专项测评红榜 {sr:+g}、黑榜 {sb:+g}（每次）。",
        "leaders": "各组年度积分前列与末位",
        "top": "积分前列",
        "bottom": "积分末位",
        "top_note": "每组积分最高与最低的 {n} 家（同分并列时全部列出）；积分相同者按全年综合测评平均分排序。",
        "points": "年度积分",
        "comp_red": "综合红榜",
        "comp_black": "综合黑榜",
        "special_red": "专项红榜",
        "special_black": "专项黑榜",
        "mean_comprehensive": "综合测评平均分",
        "tier": "年度档次",
        "escalation_count": "核查次数",
        "fig_points": "各单位年度积分累计走势",
        "escalations_title": "年内启动核查的单位",
        "escalations_note": "同一单位同一工作连续 {n} 次被黑榜通报，启动核查程序（每次触发计一次）。",
        "no_escalations": "本年度无单位启动核查程序。",
        "times": "次数",
        "works": "涉及工作",
        "latest": "最近一次",
        "chain": "连续黑榜通报",
        "all_events": "全部核查记录",
        "quota_title": "末位淘汰",
        "quota_failed": "末位淘汰未通过",
        "quota_note": "每组按年度积分排名，仅前 {share:.0%}（向上取整）通过；积分相同按全年平均得分。",
        "quota_off": "本年度未实行末位淘汰。",
        "laggards_title": "持续后进单位",
        "laggards_note": "区别“偶然一次”与“持续落后”：综合考察近 {n} 期中多次上黑榜或居组内末位 {share:.0%}、"
                         "持续低于组内水平、年内得分下滑和平均差距，对每个单位作一次判断；单独一期失利不足以认定。"
                         "认定方法见附录。",
        "final_rounds_all": "本年度测评数据仅有各单位最终得分，未记录评分人：持续后进单位的认定只依据得分，"
                            "评分人之间的一致性、评分尺度宽严和评分误差无法评估，不能排除个别单位因所遇评分人偏严而显得落后。"
                            "如需评估，今后测评应按评分人逐项记录得分（每名评分人对每个单位、每项指标、每个评价来源的评分各记一行）。",
        "final_rounds_some": "本年度 {m} 期测评中有 {n} 期仅有各单位最终得分，未记录评分人：这些期次的评分人一致性、"
                             "评分尺度宽严和评分误差无法评估，不能排除个别单位在这些期次因所遇评分人偏严而显得落后。"
                             "如需评估，今后测评应按评分人逐项记录得分。",
        "laggards_method": "持续后进单位的认定方法",
        "laggards_method_note": "按本市本年各期的实际得分分布检验（四条规则：多次上榜或垫底、CUSUM 累积落后、"
                                "Mann-Kendall 下滑、平均差距，以最小 p 值合并，对照组内随机置换的模拟），认定有把握："
                                "在没有持续后进单位的情况下，每个单位被误认定的概率不超过 {alpha:.0%}，全部认定中误判的"
                                "比例控制在 {fdr:.0%} 以内（Benjamini–Hochberg）。各单位的数值见运行目录中的 "
                                "laggards.csv。",
        "rule_listed": "多次垫底",
        "rule_cusum": "持续低于组内水平",
        "rule_decline": "得分下滑",
        "rule_shortfall": "平均差距明显",
        "rule": "依据",
        "rounds_involved": "涉及通报",
        "no_laggards": "未发现持续后进单位。",
        "standing_title": "全部单位年度积分",
        "three_years": "三年累计",
        "year_span": "{first}–{last}",
        "three_years_note": "三年累计为 {years} 年积分之和（数据集中有通报的年份）；某年未参评的单位该年记为空。",
        "three_years_missing": "数据集中仅有 {years} 年的通报，三年累计只含这些年份。",
        "year_points": "{year}年积分",
        "tiers_off": "本年度不评定档次。",
        "tiers_note": "年度档次按全年综合测评平均分，采用与每期相同的分档规则（{method}）。",
        "tiers_cuts": "{good:g} 分及以上为好，{fair:g} 分及以上为较好，其余为一般",
        "tiers_shares": "组内排名前 {good:.0%} 为好，前 {fair:.0%} 为较好，其余为一般",
        "tiers_none": "截至本期尚无综合测评，年度档次暂不评定。",
    },
    "en": {
        "annual_report": "Annual assessment {year}: red and black lists",
        "annual": "Annual assessment",
        "counted": "{n} notices counted ({c} comprehensive, {s} special)",
        "until": "up to the {round}",
        "partial_year": "The year is not over: totals up to {date}, not the full year.",
        "year_text": "{rounds} notices counted this year, {units} units evaluated: {red} red listings and {black} "
                     "black listings; {escalated} units escalated, {events} times in all; {positive} units with "
                     "positive points, {negative} with negative points. ",
        "year_text_quota": "{n} units do not pass the elimination quota.",
        "listings_red": "Red listings",
        "listings_black": "Black listings",
        "escalation_events": "Escalations",
        "escalated_units": "Units escalated",
        "positive": "Positive points",
        "negative": "Negative points",
        "points_rule": "Points: comprehensive red {cr:+g}, black {cb:+g}; special red {sr:+g}, black {sb:+g} (each time).",
        "leaders": "Top and bottom of each group",
        "top": "Top",
        "bottom": "Bottom",
        "top_note": "The {n} highest and lowest of each group by points (all tied units shown); "
                    "equal points are ordered by the mean comprehensive score.",
        "points": "Points",
        "comp_red": "Comp. red",
        "comp_black": "Comp. black",
        "special_red": "Special red",
        "special_black": "Special black",
        "mean_comprehensive": "Mean comprehensive score",
        "tier": "Tier",
        "escalation_count": "Escalations",
        "fig_points": "Each unit's points over the year",
        "escalations_title": "Units escalated during the year",
        "escalations_note": "Black-listed for the same work in {n} consecutive rounds of it: verification "
                            "(each trigger counted).",
        "no_escalations": "No unit was escalated this year.",
        "times": "Times",
        "works": "Work",
        "latest": "Latest",
        "chain": "Consecutive black listings",
        "all_events": "Every escalation",
        "quota_title": "Elimination quota",
        "quota_failed": "Not passing the quota",
        "quota_note": "Units are ranked by points within their group; only the top {share:.0%} (rounded up) pass; "
                      "equal points are ordered by the mean score.",
        "quota_off": "No elimination quota this year.",
        "laggards_title": "Persistent laggards",
        "final_rounds_all": "This year's data hold only each unit's final scores, with no rater recorded: "
                            "persistent laggards are called on the scores alone; whether raters agree, how harsh "
                            "or lenient they are and how large the scoring error is cannot be assessed, and a unit "
                            "that met harsh raters cannot be told from one that lags. To assess them, future rounds "
                            "should record each rater's score (one row per rater, unit, indicator and source).",
        "final_rounds_some": "{n} of this year's {m} rounds hold only each unit's final scores, with no rater "
                             "recorded: in those rounds rater agreement, severity and scoring error cannot be "
                             "assessed, and a unit that met harsh raters there cannot be told from one that lags. "
                             "To assess them, future rounds "
                             "should record each rater's score.",
        "laggards_note": "Unlucky once or persistently behind: one decision per unit weighs repeated black "
                         "listings or places in the group's bottom {share:.0%} over the last {n} rounds, a "
                         "lasting shortfall below the group, a decline within the year and the mean gap; one "
                         "bad round is never enough. How units are called: see the appendix.",
        "laggards_method": "How persistent laggards are called",
        "laggards_method_note": "Tested against the city's own score distribution of each round (four rules: "
                                "repeated listings or bottom places, CUSUM shortfall, Mann-Kendall decline, mean "
                                "gap, combined by their minimum p-value against permutations within each group): "
                                "without persistent laggards a unit is called with probability at most "
                                "{alpha:.0%}, and at most {fdr:.0%} of the units called are expected to be false "
                                "calls (Benjamini–Hochberg). Each unit's numbers are in laggards.csv of the run folder.",
        "rule_listed": "repeatedly at the bottom",
        "rule_cusum": "persistently below the group",
        "rule_decline": "declining",
        "rule_shortfall": "large mean gap",
        "rule": "Evidence",
        "rounds_involved": "Rounds",
        "no_laggards": "No persistent laggard found.",
        "standing_title": "Every unit's points",
        "three_years": "3-year total",
        "year_span": "{first}–{last}",
        "three_years_note": "The 3-year total sums {years} (the years with notices in the dataset); a unit "
                            "not evaluated in a year has no entry for it.",
        "three_years_missing": "The dataset has notices of {years} only; the 3-year total counts those years.",
        "year_points": "Points {year}",
        "tiers_off": "No tiers this year.",
        "tiers_note": "The annual tier is from the mean comprehensive score, with the rounds' tier rule ({method}).",
        "tiers_cuts": "good from {good:g}, fair from {fair:g}, else average",
        "tiers_shares": "good: the top {good:.0%} of the group, fair: the top {fair:.0%}, else average",
        "tiers_none": "No comprehensive round yet this year: no annual tier.",
    },
}


def labels(lang: str, *, annual: bool = False) -> dict[str, str]:
    """The labels of a report in ``lang`` (``zh`` or ``en``)."""
    return {**LABELS[lang], **ANNUAL_LABELS[lang]} if annual else LABELS[lang]


#: The tiers of RULES.md §2 (rules data: 好 / 较好 / 一般) as a report shows them.
TIER_LABELS = {
    "zh": {"好": "好", "较好": "较好", "一般": "一般"},
    "en": {"好": "good", "较好": "fair", "一般": "average"},
}

_KIND_NAMES = {
    "zh": {"comprehensive": "综合测评", "special": "“{topic}”专项测评"},
    "en": {"comprehensive": "comprehensive evaluation", "special": "special evaluation '{topic}'"},
}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def tier_label(tier, lang: str) -> str:
    """A tier (好 / 较好 / 一般) in the report's language; empty for none (an unranked unit)."""
    if tier is None or (isinstance(tier, float) and tier != tier) or tier == "":
        return ""
    return TIER_LABELS[lang].get(str(tier), str(tier))


def group_label(group, scope: str, lang: str) -> str:
    """A ranking group as a report names it.

    With ``lists.ranking_scope: group`` the groups are the dataset's own names,
    shown as they are; with ``kind`` they are the unit kinds (``industry``,
    ``territorial``) and with ``all`` the one group ``all``, shown in words
    (行业单位, 属地单位, 全部单位).
    """
    if scope == "group":
        return str(group)
    L = LABELS[lang]
    return L["scope_all"] if scope == "all" else L.get(f"scope_{group}", str(group))


def round_name(round_row, lang: str) -> str:
    """A round as a report names it: the dataset's name for it, else its date and its work (2026年6月30日综合测评).

    Parameters
    ----------
    round_row : mapping or Series
        ``kind`` (comprehensive | special), ``topic`` (special rounds) and
        ``date`` of a round of the dataset.
    lang : {'zh', 'en'}

    Returns
    -------
    str
        e.g. ``2026年5月25日“网申工作”专项测评``, or ``special evaluation 'Online
        filing' of 25 May 2026``. The round's id is the appendix's.
    """
    name = round_row.get("name") if hasattr(round_row, "get") else None
    if isinstance(name, str) and name.strip():
        return name.strip()  # the dataset's own name of the round (轮次名称)
    date = pd.Timestamp(round_row["date"])
    topic = round_row.get("topic") if hasattr(round_row, "get") else None
    topic = "" if topic is None or pd.isna(topic) else str(topic)
    work = _KIND_NAMES[lang].get(str(round_row["kind"]), str(round_row["kind"])).format(topic=topic)
    if lang == "zh":
        return f"{date.year}年{date.month}月{date.day}日{work}"
    return f"{work} of {date.day} {_MONTHS[date.month - 1]} {date.year}"

#: The figures' words (`honorcalc.report.figures`).
FIGURE_LABELS = {
    "zh": {
        "score": "综合得分",
        "score_special": "专项得分",
        "red": "红榜",
        "black": "黑榜",
        "red_line": "红榜线 {v:g}",
        "black_line": "黑榜线 {v:g}",
        "n_units": "{n} 个单位",
        "distribution": "各排名分组得分分布",
        "distribution_note": "每个点为一个单位；红点为红榜单位，黑点为黑榜单位",
        "vetoed_note": "；空心红圈为被一票否决的单位（标注名称）",
        "vetoed_ring": "；空心红圈：一票否决",
        "intervals": "各单位得分及评分差异区间",
        "intervals_note": "竖线：得分的评分误差范围（{level:.0%}），按各评价来源的评分人严宽、印象和随机误差估计",
        "funnel": "得分与评分精度（漏斗图）",
        "funnel_note": "每个点为一个单位；横轴越靠右，得分越精确。虚线和实线为同组正常波动范围（{inner}、{outer}），"
                       "已计入单位之间的正常差异；落在实线以外的单位标注名称",
        "funnel_axis": "评分精度（1 ÷ 评分误差）",
        "funnel_centre": "组均值",
        "rank_axis": "组内名次（按得分由高到低）",
        "heatmap": "上榜单位分类得分",
        "heatmap_note": "数字为分类得分；颜色为与本行平均分之差，橙色越深越是短板。"
                        "面上问题看最后一行（全部单位平均），具体问题看各单位所在行",
        "deviation": "与本行平均分之差（分）",
        "average": "全部单位平均",
        "no_listed": "本期无上榜单位",
        "shown_of": "（显示 {shown} / {total} 个）",
        "history": "上榜单位历次得分",
        "history_note": "实心红点：该期红榜；实心黑点：该期黑榜；虚线：红榜线 {red:g} / 黑榜线 {black:g}；"
                        "末端数字为本期得分",
        "escalated": "启动核查",
        "severity": "评分人尺度：偏严与偏宽",
        "severity_axis": "比共识少给的分数（按 {scale:g} 分制指标计；正 = 偏严，负 = 偏宽）",
        "harsh": "偏严",
        "lenient": "偏宽",
        "consensus": "与共识一致",
        "not_estimable": "另有 {n} 名评分人未与他人评同一单位同一指标，无法估计",
        "interval_level": "横线：置信区间",
        "margin_band": "；灰色带：差异在 ±{m:g} 分以内视为尺度一致，区间完全落在带外才认定偏严或偏宽",
        "visit": "明查与暗访得分差距",
        "visit_top": "明查得分高出暗访最多的 {n} 个单位；橙色：明查明显更高（比全市一般差距多出 {v:g} 分以上，且经多重比较校正后仍有把握）",
        "visit_top_plain": "明查得分高出暗访最多的 {n} 个单位",
        "visit_axis": "暗访 − 明查（百分制；负值 = 明查得分更高）",
        "visit_flag": "明查明显更高",
        "visit_line": "−{v:g} 分",
        "no_gap": "无差距",
        "no_data": "无数据",
        "semicolon": "；",
        "group_size": "{group}（{n}）",
        "unit_group": "{unit}（{group}）",
    },
    "en": {
        "score": "Score",
        "score_special": "Special-round score",
        "red": "Red list",
        "black": "Black list",
        "red_line": "red line {v:g}",
        "black_line": "black line {v:g}",
        "n_units": "{n} units",
        "distribution": "Scores by ranking group",
        "distribution_note": "One dot per unit; red: red-listed, black: black-listed",
        "vetoed_note": "; red ring: vetoed (named)",
        "vetoed_ring": "; red ring: vetoed",
        "intervals": "Scores with their rater-disagreement intervals",
        "intervals_note": "Bars: the score's measurement error ({level:.0%} interval), from each source's "
                          "rater severity, halo and residual error",
        "funnel": "Scores against their precision (funnel plot)",
        "funnel_note": "One dot per unit; further right, more precisely scored. Dashed and solid lines: the "
                       "group's normal spread ({inner}, {outer}), allowing for real differences between units; "
                       "units beyond the solid lines are named",
        "funnel_axis": "Precision (1 / measurement error)",
        "funnel_centre": "group mean",
        "rank_axis": "Rank in group (highest score first)",
        "heatmap": "Category scores of the listed units",
        "heatmap_note": "Numbers: category scores; colour: difference from the row's mean, "
                        "orange = weak spot. City-wide problems: last row; specific ones: each unit's row",
        "deviation": "Difference from the row's mean (points)",
        "average": "All units (mean)",
        "no_listed": "no unit listed this round",
        "shown_of": " ({shown} of {total} shown)",
        "history": "Listed units: score in every round",
        "history_note": "Filled red: red-listed that round; filled black: black-listed; "
                        "dashed: red line {red:g} / black line {black:g}; number: this round's score",
        "escalated": "escalated",
        "severity": "Rater severity: harsh and lenient raters",
        "severity_axis": "Points below the consensus on an indicator worth {scale:g} "
                         "(positive = harsh, negative = lenient)",
        "harsh": "harsh",
        "lenient": "lenient",
        "consensus": "consensus",
        "not_estimable": "{n} more raters shared no unit × indicator with another rater: not estimable",
        "interval_level": "bars: confidence interval",
        "margin_band": "; grey band: within ±{m:g} points counts as alike; a rater is called harsh or lenient "
                       "only when its whole interval lies outside it",
        "visit": "Open vs covert visits",
        "visit_top": "The {n} units whose open visits score most above covert ones; orange: clearly "
                     "higher on open visits ({v:g} points or more beyond the city's usual gap, real after "
                     "correcting for testing every unit)",
        "visit_top_plain": "The {n} units whose open visits score most above covert ones",
        "visit_axis": "Covert − open (points of 100; negative = open visits score higher)",
        "visit_flag": "open visits clearly higher",
        "visit_line": "−{v:g}",
        "no_gap": "no gap",
        "no_data": "no data",
        "semicolon": "; ",
        "group_size": "{group} ({n})",
        "unit_group": "{unit} ({group})",
    },
}

#: The annual figure's words.
ANNUAL_FIGURE_LABELS = {
    "zh": {
        "points_year": "{year}年度积分累计走势",
        "points_year_note": "每条线为一个单位，每期通报后的年度累计积分；红线：各组积分最高的 {n} 家，"
                            "黑线：最低的 {n} 家（末端为名称和全年积分）",
        "points_axis": "年度累计积分",
        "n_units": "{n} 个单位",
    },
    "en": {
        "points_year": "Points year to date, {year}",
        "points_year_note": "One line per unit, its points after each notice; red: each group's {n} highest, "
                            "black: its {n} lowest (name and total at the end)",
        "points_axis": "Points year to date",
        "n_units": "{n} units",
    },
}
