"""The Word drafts an office sends out: a round's 通报 (``通报.docx``) and the year's (``年度考核通报.docx``).

The wording is a plain-text Jinja2 template (``templates/notice_round.txt.j2``,
``templates/notice_annual.txt.j2``), which an office replaces with its own
through the parameter ``notice.template``, without code. The template gets
plain values (`round_notice_context`, `annual_notice_context` list them) and
writes lines; the first characters of a line say what it becomes:

=============  =====================================================================
``! text``     发文机关标志: the issuing office, red, centred, above the rule
``^ text``     a centred line (the 文号)
``===``        the red rule under the header
``# text``     the title (二号 小标宋, centred)
``## text``    a first-level heading (黑体: 一、…)
``### text``   a second-level heading (楷体: （一）…)
``< text``     a line flush left (the 主送机关: 各区县、各有关单位：)
``> text``     a line flush right (the signature and the date)
``| a | b |``  a table row; consecutive rows make one table, the first row its header
blank line     an empty line
other text     a body paragraph, its first line indented by two characters
``\\x``        the character x itself, never a marker
=============  =====================================================================

Every value a template prints (``{{ … }}``) is escaped, so a unit named
``# x`` or ``a|b`` is printed as it is and never starts a heading or a new
cell; line breaks inside a value become spaces. Templates run in Jinja2's
sandbox, without autoescaping (the output is text, not HTML) and with
`jinja2.StrictUndefined`: a template that names a value the context lacks is
an error naming the template, not a silent blank.

The layout follows GB/T 9704-2012 (党政机关公文格式): A4, margins 37 mm top,
35 mm bottom, 28 mm left, 26 mm right; title in 小标宋 二号 (22 pt), body in
仿宋 三号 (16 pt) on a fixed 28.95 pt line, headings in 黑体 and 楷体, page
numbers "— 1 —" in the footer. The fonts are named as offices have them
(方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312), each with a substitute
(`FONTS`) recorded in the document's font table for machines without them.

A document's bytes depend only on its inputs: its properties are fixed (created
and modified = the round's date, author = the issuing office, revision 1) and
every member of the archive carries that date (`honorcalc.data.write.stable_zip`),
so a rerun gives an identical file.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.write import stable_zip
from ..errors import ParamError
from ..params import SOURCE_LABELS, SOURCES, Params
from .office import (
    chinese_date,
    chinese_number,
    clean_text,
    count_word,
    display_width,
    fixed_time,
    share_words,
)

__all__ = [
    "NOTICE", "ANNUAL_NOTICE", "ROUND_TEMPLATE", "ANNUAL_TEMPLATE", "NOTICE_DEFAULTS", "FONTS",
    "round_name", "round_when", "work_name", "group_label", "notice_fields", "notice_template", "check_notice_template", "render_notice",
    "round_notice_context", "annual_notice_context", "parse_notice", "title_lines", "notice_docx", "round_notice", "annual_notice",
]

#: File names in a run folder.
NOTICE = "通报.docx"
ANNUAL_NOTICE = "年度考核通报.docx"

#: The built-in templates (package data, beside the HTML ones).
TEMPLATES = Path(__file__).resolve().parent / "templates"
ROUND_TEMPLATE = "notice_round.txt.j2"
ANNUAL_TEMPLATE = "notice_annual.txt.j2"

#: What a notice says where ``notice.issuer``, ``notice.number`` or ``notice.rectification`` is null.
NOTICE_DEFAULTS = {
    "issuer": "{city}创建全国文明城市工作指挥部办公室",
    "number": "〔{year}〕X号",
    "rectification": (
        "各单位要对照本次通报的问题，认真查找差距，深入剖析原因，明确整改责任和时限，立行立改、举一反三。"
        "列入黑榜的单位要自通报印发之日起15个工作日内将整改情况书面报送市文明办；"
        "启动核查程序的单位要如实说明情况，配合做好核查工作。"
        "列入红榜的单位要巩固成绩、再接再厉，持续提升创建工作水平。"
    ),
}

#: Each role's font as offices name it, and the substitute recorded for machines without it.
FONTS = {
    "title": ("方正小标宋简体", "SimSun"),
    "body": ("仿宋_GB2312", "FangSong"),
    "heading": ("黑体", "SimHei"),
    "subheading": ("楷体_GB2312", "KaiTi"),
    "page": ("宋体", "SimSun"),
    "latin": ("Times New Roman", "Times New Roman"),
}

_RED = "FF0000"
#: Characters with a meaning at the start of a line, and the escape character.
_MARKUP = "\\|#!^<>="
_LINE = re.compile(r"^(!|\^|#{1,3}|<|>) (.*)$")


# --------------------------------------------------------------------------- names


def round_name(round_info: Mapping) -> str:
    """The round as a notice names it: its ``name`` when the data give one, else one made from its date.

    A comprehensive round is named by its quarter (``2026年第二季度``), a special
    round by its month, part of the month and topic (``2026年5月下旬“网申工作”``).

    Parameters
    ----------
    round_info : mapping
        ``kind``, ``date``, ``topic`` and, when the dataset has one, ``name``
        (`honorcalc.rules.RoundResult.round`, or a row of the rounds table).
    """
    name = round_info.get("name")
    if isinstance(name, str) and name.strip():
        return clean_text(name.strip())
    topic = round_info.get("topic")
    special = round_info.get("kind") == "special" and isinstance(topic, str) and topic
    return round_when(round_info) + (f"“{clean_text(topic)}”" if special else "")


def round_when(round_info: Mapping, year: int | None = None) -> str:
    """When a round took place, without its topic: ``第二季度``, ``5月下旬`` (its ``name`` when the data give one).

    The year is written only when it is not ``year`` (a chain of rounds reaching into the year before).
    """
    name = round_info.get("name")
    if isinstance(name, str) and name.strip():
        return clean_text(name.strip())
    day = fixed_time(round_info["date"])
    prefix = "" if day.year == year else f"{day.year}年"
    if round_info.get("kind") != "special":
        return f"{prefix}第{chinese_number((day.month - 1) // 3 + 1)}季度"
    part = "上旬" if day.day <= 10 else "中旬" if day.day <= 20 else "下旬"
    return f"{prefix}{day.month}月{part}"


def work_name(kind: str, topic) -> str:
    """The work a round evaluates (RULES.md §1.4 "同一工作"): 综合测评, or “topic”专项测评."""
    if kind != "special":
        return "综合测评"
    return f"“{clean_text(topic)}”专项测评" if isinstance(topic, str) and topic else "专项测评"


def group_label(group: str, scope: str) -> str:
    """A ranking group as a reader knows it: the group's own name, or the scope's when ranked by kind or across all."""
    if scope == "kind":
        return {"industry": "行业单位", "territorial": "属地单位"}.get(group, clean_text(group))
    if scope == "all":
        return "全部参评单位"
    return clean_text(group)


def _scope_text(scope: str, groups: list[str]) -> str:
    if scope == "group":
        return f"按排名分组（{'、'.join(groups)}）分别排名"
    if scope == "kind":
        return "按行业、按属地分别排名"
    return "全部参评单位统一排名"


def notice_fields(params: Params, year: int) -> dict[str, str]:
    """Issuer, 文号 and 整改要求 with the built-in text where null and ``{city}``, ``{year}`` filled in."""
    notice = params.notice
    city = params.city.strip() or "XX市"

    def fill(text: str) -> str:
        return clean_text(text.replace("{city}", city).replace("{year}", str(year)))

    return {
        "issuer": fill(notice.issuer or NOTICE_DEFAULTS["issuer"]),
        "number": fill(notice.number or NOTICE_DEFAULTS["number"]),
        "rectification": clean_text(notice.rectification or NOTICE_DEFAULTS["rectification"]),
    }


# --------------------------------------------------------------------------- templates


def _escape(value) -> str:
    """A printed value: one line of text, its markup characters escaped (module docstring)."""
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    text = " ".join(clean_text(value).splitlines())
    return re.sub(f"([{re.escape(_MARKUP)}])", r"\\\1", text)


@functools.cache
def _environment():
    """The notice templates' environment: sandboxed, plain text, strict, every printed value escaped (built once)."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES), autoescape=False, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, finalize=_escape,
    )
    env.filters["cn"] = chinese_number
    env.filters["count"] = count_word
    return env


def _template_path(params: Params) -> Path | None:
    if params.notice.template is None:
        return None
    return Path(params.notice.template).expanduser()


def notice_template(params: Params):
    """The compiled template of a run's notice: ``notice.template`` when given, else the built-in one.

    ``report: annual`` takes ``notice_annual.txt.j2``, a round ``notice_round.txt.j2``.
    A relative ``notice.template`` is taken from the working directory
    (`honorcalc.runs.folder.run_report` resolves it against the params file first).

    Raises
    ------
    ParamError
        ``notice.template`` names no readable UTF-8 file, or not a valid template.
    """
    from jinja2 import TemplateSyntaxError

    env = _environment()
    path = _template_path(params)
    if path is None:
        return env.get_template(ANNUAL_TEMPLATE if params.report == "annual" else ROUND_TEMPLATE)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParamError(f"the notice template {str(path)!r} does not exist", parameter="notice.template") from None
    except IsADirectoryError:
        raise ParamError(f"the notice template {str(path)!r} is a folder, not a file",
                         parameter="notice.template") from None
    except UnicodeDecodeError:
        raise ParamError(f"the notice template {str(path)!r} is not UTF-8 text", parameter="notice.template") from None
    except OSError as exc:
        raise ParamError(f"the notice template {str(path)!r} cannot be read ({exc.strerror})",
                         parameter="notice.template") from None
    try:
        return env.from_string(text)
    except TemplateSyntaxError as exc:
        raise ParamError(f"{path}:{exc.lineno}: not a valid template: {exc.message}",
                         parameter="notice.template") from None


def check_notice_template(params: Params) -> None:
    """Raise `ParamError` now if the run's notice template cannot be used (see `notice_template`)."""
    notice_template(params)


def render_notice(params: Params, context: Mapping) -> str:
    """The notice's text: its template (`notice_template`) rendered with ``context``.

    Raises
    ------
    ParamError
        An office's template (``notice.template``) names a value the context lacks
        or fails while rendering.
    """
    from jinja2 import TemplateError

    template = notice_template(params)
    if params.notice.template is None:
        return template.render(**context)
    try:
        return template.render(**context)
    except TemplateError as exc:
        raise ParamError(f"{params.notice.template}: the template fails: {exc}", parameter="notice.template") from None


# --------------------------------------------------------------------------- contexts


def _signed(value) -> str:
    """Points as a notice prints them: +3, -3, 0."""
    value = float(value)
    return "0" if value == 0 else f"{value:+g}"


def _points_text(value: float) -> str:
    value = float(value)
    if value > 0:
        return f"加{value:g}分"
    if value < 0:
        return f"扣{-value:g}分"
    return "不加减分"


def _score(value, precision: int) -> str:
    return "" if pd.isna(value) else f"{float(value):.{precision}f}"


def _round_names(rounds: pd.DataFrame | None) -> dict[str, str]:
    """``{round_id: round_name}`` of a frame of rounds (``round_id``, ``kind`` or ``round_kind``, ``topic``, ``date``)."""
    if rounds is None or rounds.empty:
        return {}
    kind = "kind" if "kind" in rounds.columns else "round_kind"
    out = {}
    for row in rounds.drop_duplicates("round_id").itertuples(index=False):
        info = row._asdict()
        topic = info.get("topic")
        out[str(info["round_id"])] = round_name({
            "kind": info[kind], "date": info["date"], "topic": None if pd.isna(topic) else topic,
            "name": info.get("name"),
        })
    return out


def _veto_rules(params: Params) -> list[str]:
    rules = []
    if params.veto.satisfaction_min is not None:
        rules.append(f"群众满意率低于{params.veto.satisfaction_min * 100:g}%")
    if params.veto.prerequisite_category is not None:
        rules.append(f"{params.veto.prerequisite_category}测评得分低于{params.veto.prerequisite_min:g}分")
    return rules


def _veto_reason(row, params: Params) -> str:
    parts = []
    for reason in row.veto_reasons:
        if reason == "satisfaction":
            parts.append(f"群众满意率{row.satisfaction * 100:.1f}%，低于{params.veto.satisfaction_min * 100:g}%")
        elif reason == "prerequisite":
            parts.append(f"{params.veto.prerequisite_category}测评得分{row.prerequisite_score:.2f}分，"
                         f"低于{params.veto.prerequisite_min:g}分")
        else:
            parts.append(str(reason))
    return "；".join(parts)


_EMPTY_REASONS = {
    "threshold": {
        "red": "排名前{size}的单位{score}均不到{red}分，当期不设红榜。",
        "black": "排名后{size}的单位{score}均超过{black}分，当期不设黑榜。",
    },
    "no_units": {"red": "本组无参评单位，当期不设红榜。", "black": "本组无参评单位，当期不设黑榜。"},
    "cap_zero": {
        "red": "本组参评单位{n}家，按{share}计算名额为零，当期不设红榜。",
        "black": "本组参评单位{n}家，按{share}计算名额为零，当期不设黑榜。",
    },
    "tie_none_in": {
        "red": "入榜名次处得分并列，按规定并列单位均不列入，当期不设红榜。",
        "black": "入榜名次处得分并列，按规定并列单位均不列入，当期不设黑榜。",
    },
    "vetoed": {
        "red": "符合条件的单位均被一票否决，当期不设红榜。",
        "black": "当期不设黑榜。",
    },
}


def _empty_reason(reason: str, which: str, *, special: bool, n: int, words: dict) -> str:
    texts = _EMPTY_REASONS.get(reason, {"red": "当期不设红榜。", "black": "当期不设黑榜。"})
    text = texts[which]
    if reason == "threshold" and special:
        text = ("排名靠前的单位{score}均不到{red}分，当期不设红榜。" if which == "red"
                else "排名靠后的单位{score}均超过{black}分，当期不设黑榜。")
    return text.format(n=n, **words)


def round_notice_context(result) -> dict:
    """The values a round's notice template gets.

    Parameters
    ----------
    result : honorcalc.rules.RoundResult

    Returns
    -------
    dict
        Text, numbers already written as a notice writes them:

        ``issuer``, ``number``
            the issuing office and the 文号 (``notice.issuer``, ``notice.number``).
        ``city``, ``round_id``, ``round_name`` (`round_name`), ``special`` (bool),
        ``kind`` (``综合`` or ``专项``), ``topic`` (or empty), ``work`` (`work_name`),
        ``date`` (``2026年6月30日``), ``date_iso``, ``year``.
        ``score_label``
            ``综合得分`` or ``专项得分``.
        ``sources``
            the Chinese names of the evidence sources with a positive weight (RULES.md §1.2).
        ``units_total``, ``units_ranked``, ``red_total``, ``black_total``
            counts of the round.
        ``red_min``, ``black_max``
            the thresholds (``90``, ``70``); ``size``, ``size_words`` (``10``, ``十``):
            comprehensive list size; ``share``, ``share_words`` (``0.2``, ``五分之一``):
            a special round's cap.
        ``scope``, ``scope_text``
            ``lists.ranking_scope`` and how the units were ranked, in words.
        ``tie_policy``, ``ties``
            ``lists.tie_policy`` (``all_in``, ``none_in``) and the ties it decided for
            the lists this round: each ``group``, ``list`` (红榜/黑榜), ``rank``,
            ``units`` (names), ``listed`` (bool).
        ``veto_rules``
            the veto conditions switched on, in words (``群众满意率低于75%``).
        ``groups``
            one per ranking group, in order: ``name``, ``n`` (units ranked), and
            ``red`` and ``black``, each with ``units`` (the listed units), ``cap``
            (its cap), ``reason`` (`honorcalc.rules.ListOutcome` status) and
            ``reason_text`` (why the list is empty, in words; empty when listed).
            Each unit: ``rank``, ``name``, ``group``, ``score`` (at the published
            precision), ``points`` (``+3``), ``points_ytd``, ``escalated`` (bool),
            ``note`` (``启动核查程序`` or empty), ``vetoed`` (bool), ``tier``.
        ``red``, ``black``
            every listed unit, all groups together.
        ``vetoed``
            every vetoed unit: ``name``, ``group``, ``reason`` (in words), ``list``
            (红榜/黑榜/empty: the list it is on nevertheless).
        ``escalated``
            every unit escalated this round: ``name``, ``group``, ``streak``,
            ``streak_words``, ``rounds`` (names of the rounds of its chain).
        ``consecutive``, ``consecutive_words``
            ``escalation.consecutive`` (``2``, ``两``).
        ``points_red``, ``points_black``
            the points of a listing of this kind (``3``, ``-3``) and
            ``points_red_text``, ``points_black_text`` in words (``加3分``, ``扣3分``).
        ``rectification``, ``rectification_paragraphs``
            the 整改要求 text, whole and as a list of paragraphs.
    """
    params: Params = result.params
    info = result.round
    special = info["kind"] == "special"
    precision = params.lists.precision
    scope = params.lists.ranking_scope
    year = int(info["year"]) if "year" in info else fixed_time(info["date"]).year
    fields = notice_fields(params, year)
    units = result.units
    status = result.list_status
    score_label = "专项得分" if special else "综合得分"
    lists = params.lists
    words = {
        "red": f"{lists.red_min:g}", "black": f"{lists.black_max:g}",
        "size": chinese_number(lists.comprehensive_size), "share": share_words(lists.special_share),
        "score": score_label,
    }

    def unit_row(row) -> dict:
        return {
            "rank": "" if pd.isna(row.rank) else int(row.rank),
            "name": clean_text(row.name), "group": group_label(str(row.ranking_group), scope),
            "score": _score(row.score_rounded, precision),
            "points": _signed(row.points), "points_ytd": _signed(row.points_ytd),
            "escalated": bool(row.escalated), "note": "启动核查程序" if bool(row.escalated) else "",
            "vetoed": bool(row.vetoed), "tier": "" if pd.isna(row.tier) else str(row.tier),
        }

    groups = []
    for group in sorted(units["ranking_group"].astype(str).unique()):
        in_group = units[units["ranking_group"].astype(str) == group]
        entry = {"name": group_label(group, scope), "n": int(in_group["ranked"].sum())}
        for which in ("red", "black"):
            listed = in_group[in_group["list"] == which].sort_values("rank", kind="stable")
            st = status[(status["ranking_group"].astype(str) == group) & (status["list"] == which)]
            reason = str(st["reason"].iloc[0]) if len(st) else ("listed" if len(listed) else "no_units")
            cap = int(st["cap"].iloc[0]) if len(st) and not pd.isna(st["cap"].iloc[0]) else None
            entry[which] = {
                "units": [unit_row(r) for r in listed.itertuples(index=False)],
                "cap": cap, "reason": reason,
                "reason_text": "" if len(listed) else _empty_reason(
                    reason, which, special=special, n=entry["n"], words=words),
            }
        groups.append(entry)

    names = _round_names(result.evaluation.rounds if result.evaluation is not None else None)
    escalated = [
        {
            "name": clean_text(r.name), "group": group_label(str(r.ranking_group), scope),
            "streak": int(r.black_streak), "streak_words": count_word(int(r.black_streak)),
            "rounds": [names.get(str(x), str(x)) for x in r.escalation_chain],
        }
        for r in units[units["escalated"].astype(bool)].itertuples(index=False)
    ]
    list_words = {"red": "红榜", "black": "黑榜"}
    vetoed = [
        {"name": clean_text(r.name), "group": group_label(str(r.ranking_group), scope),
         "reason": _veto_reason(r, params), "list": list_words.get(r.list, "")}
        for r in units[units["vetoed"].astype(bool)].itertuples(index=False)
    ]
    ties = [
        {"group": group_label(str(t.ranking_group), scope), "list": list_words[t.list], "rank": int(t.rank),
         "units": [clean_text(units.set_index("unit_id")["name"].get(u, u)) for u in t.units],
         "listed": bool(len(t.listed))}
        for t in result.ties.itertuples(index=False) if t.list in list_words
    ]
    kind_points = (params.points.special_red, params.points.special_black) if special else \
        (params.points.comprehensive_red, params.points.comprehensive_black)
    ranked_groups = [g["name"] for g in groups]
    return {
        **fields,
        "rectification_paragraphs": [p.strip() for p in fields["rectification"].splitlines() if p.strip()],
        "city": clean_text(params.city), "round_id": clean_text(info["round_id"]), "round_name": round_name(info),
        "special": special, "kind": "专项" if special else "综合",
        "topic": clean_text(info.get("topic") or ""), "work": work_name(info["kind"], info.get("topic")),
        "date": chinese_date(info["date"]), "date_iso": fixed_time(info["date"]).date().isoformat(), "year": year,
        "score_label": score_label,
        "sources": [SOURCE_LABELS["zh"][s] for s in SOURCES if params.weights.as_dict()[s] > 0],
        "units_total": len(units), "units_ranked": int(units["ranked"].sum()),
        "red_total": int((units["list"] == "red").sum()), "black_total": int((units["list"] == "black").sum()),
        "red_min": words["red"], "black_max": words["black"],
        "size": lists.comprehensive_size, "size_words": words["size"],
        "share": f"{lists.special_share:g}", "share_words": words["share"],
        "scope": scope, "scope_text": _scope_text(scope, ranked_groups),
        "tie_policy": lists.tie_policy, "ties": ties,
        "veto_rules": _veto_rules(params),
        "groups": groups,
        "red": [u for g in groups for u in g["red"]["units"]],
        "black": [u for g in groups for u in g["black"]["units"]],
        "vetoed": vetoed, "escalated": escalated,
        "consecutive": params.escalation.consecutive,
        "consecutive_words": count_word(params.escalation.consecutive),
        "points_red": f"{kind_points[0]:g}", "points_black": f"{kind_points[1]:g}",
        "points_red_text": _points_text(kind_points[0]), "points_black_text": _points_text(kind_points[1]),
    }


def annual_notice_context(result) -> dict:
    """The values the annual notice template gets.

    Parameters
    ----------
    result : honorcalc.rules.annual.YearResult

    Returns
    -------
    dict
        ``issuer``, ``number``, ``city``, ``rectification``, ``rectification_paragraphs``
        as for a round (`round_notice_context`); and

        ``year``; ``cutoff_id``, ``cutoff_name``, ``cutoff_date`` (``2026年12月31日``), ``date_iso``:
            the last round counted.
        ``n_comprehensive``, ``n_special``
            the rounds counted, by kind.
        ``points``
            the points of a listing, in words: ``comprehensive_red`` (``加3分``),
            ``comprehensive_black``, ``special_red``, ``special_black``.
        ``groups``
            one per ranking group: ``name``, ``n``, ``passed`` and ``failed`` (counts,
            when 末位淘汰 is on), ``units``: every unit of the group in points order,
            each ``rank``, ``name``, ``group``, ``rounds``, ``red`` and ``black``
            (listings of the year), ``comprehensive_red``, ``comprehensive_black``,
            ``special_red``, ``special_black``, ``points`` (``+6``), ``mean_score``,
            ``tier``, ``escalations``, ``passed`` (``通过``/``未通过``/empty), ``quota_rank``.
        ``quota``, ``quota_share``, ``quota_share_words``
            whether 末位淘汰 is on, its share (``0.6``, ``五分之三``).
        ``failed``
            the units that did not pass, every group together.
        ``tiers``
            whether the year's tiers (好/较好/一般) are on.
        ``escalations``
            every 核查程序 of the year: ``name``, ``group``, ``work``, ``round_name``,
            ``date``, ``streak``, ``streak_words``, ``rounds`` (names of its chain) and
            ``when`` (the same rounds without their topic, `round_when`).
        ``consecutive``, ``consecutive_words``
            ``escalation.consecutive``.
    """
    params: Params = result.params
    scope = params.lists.ranking_scope
    rounds = result.rounds
    cutoff = rounds[rounds["round_id"] == result.round_id].iloc[0]
    fields = notice_fields(params, result.year)
    precision = params.lists.precision
    standing = result.standing
    quota = params.pass_quota.share is not None and "passed" in standing.columns
    tiers = "tier" in standing.columns

    def unit_row(row) -> dict:
        r = row._asdict()
        passed = r.get("passed")
        return {
            "rank": int(r["points_rank"]), "name": clean_text(r["name"]),
            "group": group_label(str(r["ranking_group"]), scope), "rounds": int(r["rounds"]),
            "red": int(r["comprehensive_red"] + r["special_red"]),
            "black": int(r["comprehensive_black"] + r["special_black"]),
            **{k: int(r[k]) for k in ("comprehensive_red", "comprehensive_black", "special_red", "special_black")},
            "points": _signed(r["points"]), "mean_score": _score(r["mean_comprehensive"], precision),
            "tier": "" if not tiers or pd.isna(r.get("tier")) else str(r["tier"]),
            "escalations": int(r["escalations"]),
            "passed": "" if not quota or pd.isna(passed) else ("通过" if bool(passed) else "未通过"),
            "quota_rank": "" if not quota or pd.isna(r.get("quota_rank")) else int(r["quota_rank"]),
        }

    groups = []
    for group in sorted(standing["ranking_group"].astype(str).unique()):
        rows = [unit_row(r) for r in standing[standing["ranking_group"].astype(str) == group].itertuples(index=False)]
        groups.append({
            "name": group_label(group, scope), "n": len(rows), "units": rows,
            "passed": sum(u["passed"] == "通过" for u in rows), "failed": sum(u["passed"] == "未通过" for u in rows),
        })
    rounds_all = result.results.rename(columns={"round_kind": "kind"})[["round_id", "kind", "topic", "date"]]
    names = _round_names(rounds_all)
    when = {str(r.round_id): round_when(r._asdict(), int(result.year))
            for r in rounds_all.drop_duplicates("round_id").itertuples(index=False)}
    escalations = [
        {
            "name": clean_text(e.name), "group": group_label(str(e.ranking_group), scope),
            "work": work_name(e.round_kind, None if pd.isna(e.topic) else e.topic),
            "round_name": names.get(str(e.round_id), str(e.round_id)), "date": chinese_date(e.date),
            "streak": int(e.black_streak), "streak_words": count_word(int(e.black_streak)),
            "rounds": [names.get(x, x) for x in str(e.chain).split(" → ")],
            "when": [when.get(x, x) for x in str(e.chain).split(" → ")],
        }
        for e in result.escalations.itertuples(index=False)
    ]
    p = params.points
    share = params.pass_quota.share
    return {
        **fields,
        "rectification_paragraphs": [x.strip() for x in fields["rectification"].splitlines() if x.strip()],
        "city": clean_text(params.city), "year": int(result.year),
        "cutoff_id": clean_text(result.round_id), "cutoff_name": round_name(cutoff.to_dict()),
        "cutoff_date": chinese_date(cutoff["date"]), "date": chinese_date(cutoff["date"]),
        "date_iso": fixed_time(cutoff["date"]).date().isoformat(),
        "n_comprehensive": int((rounds["kind"] == "comprehensive").sum()),
        "n_special": int((rounds["kind"] == "special").sum()),
        "points": {k: _points_text(getattr(p, k))
                   for k in ("comprehensive_red", "comprehensive_black", "special_red", "special_black")},
        "groups": groups,
        "quota": quota, "quota_share": "" if share is None else f"{share:g}",
        "quota_share_words": "" if share is None else share_words(share),
        "failed": [u for g in groups for u in sorted(g["units"], key=lambda u: u["quota_rank"] or 0)
                   if u["passed"] == "未通过"],
        "tiers": tiers,
        "escalations": escalations,
        "consecutive": params.escalation.consecutive,
        "consecutive_words": count_word(params.escalation.consecutive),
    }


# --------------------------------------------------------------------------- the text, parsed


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _cells(line: str) -> list[str]:
    """A table row's cells: split at every unescaped ``|``, outer empty cells dropped."""
    cells, current, escaped = [], [], False
    for ch in line:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    cells.append("".join(current).strip())
    if cells and not cells[0]:
        cells = cells[1:]
    if cells and not cells[-1]:
        cells = cells[:-1]
    return cells


def parse_notice(text: str) -> list[tuple[str, object]]:
    """The blocks of a rendered notice (module docstring): ``(kind, text)`` or ``("table", rows)``.

    Kinds: ``banner``, ``center``, ``rule``, ``title``, ``heading``,
    ``subheading``, ``left``, ``right``, ``blank``, ``body``, ``table``.
    Runs of blank lines count as one; blank lines at the start and end are dropped.
    """
    kinds = {"!": "banner", "^": "center", "#": "title", "##": "heading", "###": "subheading",
             "<": "left", ">": "right"}
    blocks: list[tuple[str, object]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if blocks and blocks[-1][0] != "blank":
                blocks.append(("blank", ""))
            continue
        if line.startswith("|"):
            row = [_unescape(c) for c in _cells(line)]
            if blocks and blocks[-1][0] == "table":
                blocks[-1][1].append(row)
            else:
                blocks.append(("table", [row]))
            continue
        if line == "===":
            blocks.append(("rule", ""))
            continue
        match = _LINE.match(line)
        if match:
            blocks.append((kinds[match.group(1)], _unescape(match.group(2).strip())))
        else:
            blocks.append(("body", _unescape(line)))
    while blocks and blocks[-1][0] == "blank":
        blocks.pop()
    return blocks


# --------------------------------------------------------------------------- the document


_BODY_PT = 16.0  # 三号
_TITLE_PT = 22.0  # 二号
#: Characters of the title's size on one line of the type area (156 mm).
_TITLE_CHARS = int((210 - 28 - 26) / (_TITLE_PT * 25.4 / 72))
_LINE_PT = 28.95  # 22 lines on the 225 mm type area (GB/T 9704: 22 lines of 28 characters)
_TEXT_WIDTH_MM = 210 - 28 - 26


def _set_fonts(run_or_style, role: str, size: float, *, bold: bool = False, color: str | None = None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    face = FONTS[role][0]
    latin = FONTS["latin"][0] if role in ("body", "subheading") else face
    font = run_or_style.font
    font.size = Pt(size)
    font.bold = bold
    font.name = latin
    if color is not None:
        font.color.rgb = RGBColor.from_string(color)
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), face)
    fonts.set(qn("w:cs"), latin)


def _paragraph(doc, text: str, role: str, size: float, *, align=None, indent: float = 0.0,
               right_indent: float = 0.0, line: float = _LINE_PT, bold: bool = False, color: str | None = None):
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Pt

    para = doc.add_paragraph()
    fmt = para.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(line)
    fmt.first_line_indent = Pt(indent)
    if right_indent:
        fmt.right_indent = Pt(right_indent)
    if align is not None:
        para.alignment = align
    if text:
        _set_fonts(para.add_run(text), role, size, bold=bold, color=color)
    return para


#: Where a title may break: before these words, or after a closing quote.
_TITLE_BREAKS = ("综合测评", "专项测评", "红黑榜", "全国文明城市", "“")


def title_lines(title: str, capacity: int) -> list[str]:
    """A title too long for one line, in two lines that keep words whole and differ least in length.

    GB/T 9704 asks a title that wraps to break between words, its lines
    symmetrical (梯形 or 菱形). A break is tried before each of `_TITLE_BREAKS`
    and after a closing quote; among the breaks whose lines both fit
    ``capacity`` characters, the most even wins, the shorter line on top when
    two are as even. A title without such a break is cut in the middle.

    >>> title_lines("关于2026年第二季度综合测评红黑榜情况的通报", 20)
    ['关于2026年第二季度', '综合测评红黑榜情况的通报']
    """
    width = display_width(title)
    if width <= 2 * capacity:
        return [title]
    points = {i for i in range(1, len(title)) if title.startswith(_TITLE_BREAKS, i) or title[i - 1] == "”"}
    fitting = [i for i in points if max(display_width(title[:i]), display_width(title[i:])) <= 2 * capacity]
    if not fitting:
        half = len(title) // 2
        return [title[:half], title[half:]]

    def unevenness(i: int) -> tuple[int, int]:
        top, bottom = display_width(title[:i]), display_width(title[i:])
        return abs(bottom - top), 0 if top <= bottom else 1

    best = min(sorted(fitting), key=unevenness)
    return [title[:best], title[best:]]


def _rule(doc) -> None:
    """The red line under the header (版头分隔线): a paragraph's bottom border."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    para = _paragraph(doc, "", "body", _BODY_PT, line=12)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "1"), ("w:color", _RED)):
        bottom.set(qn(key), value)
    borders.append(bottom)
    para.paragraph_format.element.get_or_add_pPr().append(borders)


def _column_widths(rows: list[list[str]], size: float = 12.0) -> list[float]:
    """Column widths (mm) filling the type area: each column its widest text and the cell's margins, a
    long text wrapping beyond a third of the line, the rest shared in proportion (everything scaled down
    when the texts need more than the line)."""
    n = max(len(r) for r in rows)
    half_em = size / 2 * 25.4 / 72  # one unit of `display_width`, in mm
    need = [min(_TEXT_WIDTH_MM / 3, max(display_width(r[k]) for r in rows if k < len(r)) * half_em + 4.5)
            for k in range(n)]
    total = sum(need)
    if total >= _TEXT_WIDTH_MM:
        return [_TEXT_WIDTH_MM * w / total for w in need]
    return [w + (_TEXT_WIDTH_MM - total) * w / total for w in need]


def _table(doc, rows: list[list[str]]) -> None:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml import OxmlElement
    from docx.shared import Mm, Pt

    n = max(len(r) for r in rows)
    rows = [r + [""] * (n - len(r)) for r in rows]
    widths = _column_widths(rows)
    table = doc.add_table(rows=0, cols=n)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for k, width in enumerate(widths):
        table.columns[k].width = Mm(width)
    for i, values in enumerate(rows):
        row = table.add_row()
        trpr = row._tr.get_or_add_trPr()
        keep = OxmlElement("w:cantSplit")
        trpr.append(keep)
        if i == 0:  # the header row repeats on every page
            header = OxmlElement("w:tblHeader")
            trpr.append(header)
        for k, (cell, value) in enumerate(zip(row.cells, values)):
            cell.width = Mm(widths[k])
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            para = cell.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            para.paragraph_format.keep_with_next = i == 0
            fmt = para.paragraph_format
            fmt.space_before = Pt(0)
            fmt.space_after = Pt(0)
            fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            fmt.line_spacing = Pt(20)
            if value:
                _set_fonts(para.add_run(value), "heading" if i == 0 else "body", 12)


def _footer(section) -> None:
    """Page numbers "— 1 —" centred in the footer (四号 宋体)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    para = section.footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_fonts(para.add_run("— "), "page", 14)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), " PAGE ")
    para._p.append(field)
    run = para.add_run("1")
    _set_fonts(run, "page", 14)
    field.append(run._r)
    _set_fonts(para.add_run(" —"), "page", 14)


def _font_table() -> bytes:
    """``word/fontTable.xml``: every font the notice names, each with its substitute (``w:altName``)."""
    from xml.sax.saxutils import quoteattr

    families = {"title": "roman", "body": "modern", "heading": "modern", "subheading": "modern", "page": "roman",
                "latin": "roman"}
    entries = []
    for role, (face, alt) in FONTS.items():
        latin = role == "latin"
        entries.append(
            f"<w:font w:name={quoteattr(face)}>"
            + ("" if face == alt else f"<w:altName w:val={quoteattr(alt)}/>")
            + f"<w:charset w:val=\"{'00' if latin else '86'}\"/><w:family w:val=\"{families[role]}\"/>"
            + f"<w:pitch w:val=\"{'variable' if latin or role in ('title', 'page') else 'fixed'}\"/></w:font>"
        )
    unique = list(dict.fromkeys(entries))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            + "".join(unique) + "</w:fonts>").encode("utf-8")


def _app_properties() -> bytes:
    """``docProps/app.xml``: the application that made the file (the template's says another)."""
    from .. import __version__

    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            f"<Application>honorcalc {__version__}</Application><DocSecurity>0</DocSecurity>"
            "<ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
            "<HyperlinksChanged>false</HyperlinksChanged></Properties>").encode("utf-8")


def _setup(doc, *, title: str, author: str, when) -> None:
    """Page (A4, GB/T 9704 margins), default fonts and language, fixed properties, no thumbnail."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml.ns import qn
    from docx.shared import Mm

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(25)
    _footer(section)

    normal = doc.styles["Normal"]
    _set_fonts(normal, "body", _BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        from docx.oxml import OxmlElement

        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    theme_lang = doc.settings.element.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:eastAsia"), "zh-CN")

    package = doc.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package.rels[rid]

    props = doc.core_properties
    props.title = title
    props.subject = "红黑榜通报"
    props.author = author
    props.last_modified_by = author
    props.comments = ""
    props.keywords = "红黑榜"
    props.category = "通报"
    props.language = "zh-CN"
    props.revision = 1
    props.created = when
    props.modified = when


def notice_docx(text: str, *, date, title: str | None = None, author: str = "") -> bytes:
    """The Word document of a rendered notice (module docstring for the line markup).

    Parameters
    ----------
    text : str
        The rendered template.
    date : date-like
        The notice's date: the file's created and modified time and every archive member's.
    title : str, optional
        The document's title property; the first ``#`` line when not given.
    author : str
        The author and last-modified-by properties (the issuing office).

    Returns
    -------
    bytes
        The .docx file, the same bytes for the same arguments.
    """
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    blocks = parse_notice(text)
    if title is None:
        title = next((t for kind, t in blocks if kind == "title"), "")
    when = fixed_time(date)
    doc = Document()
    body = doc.element.body
    for child in list(body):  # the template's empty paragraph; the section properties stay
        if child.tag.endswith("}p"):
            body.remove(child)
    _setup(doc, title=str(title), author=author, when=when)

    center, right, justify = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.JUSTIFY
    for at, (kind, value) in enumerate(blocks):
        after = blocks[at + 1][0] if at + 1 < len(blocks) else None
        if after == "blank" and at + 2 < len(blocks) and blocks[at + 2][0] == "right":
            after = "right"  # the body's last lines stay with the signature (GB/T 9704: 落款 never alone)
        para = None
        if kind == "table":
            _table(doc, value)
        elif kind == "rule":
            _rule(doc)
        elif kind == "banner":
            size = max(16.0, min(30.0, float(int(430 / max(1, display_width(value) / 2)))))
            para = _paragraph(doc, value, "title", size, align=center, line=max(_LINE_PT, size * 1.5), color=_RED)
        elif kind == "title":
            for line in title_lines(value, _TITLE_CHARS):
                para = _paragraph(doc, line, "title", _TITLE_PT, align=center, line=36)
                para.paragraph_format.keep_with_next = True
        elif kind == "center":
            para = _paragraph(doc, value, "body", _BODY_PT, align=center)
        elif kind == "heading":
            para = _paragraph(doc, value, "heading", _BODY_PT, indent=2 * _BODY_PT, align=justify)
        elif kind == "subheading":
            para = _paragraph(doc, value, "subheading", _BODY_PT, indent=2 * _BODY_PT, align=justify)
        elif kind == "left":
            para = _paragraph(doc, value, "body", _BODY_PT, align=justify)
        elif kind == "right":
            para = _paragraph(doc, value, "body", _BODY_PT, align=right, right_indent=2 * _BODY_PT)
        elif kind == "blank":
            para = _paragraph(doc, "", "body", _BODY_PT)
        else:
            para = _paragraph(doc, value, "body", _BODY_PT, indent=2 * _BODY_PT, align=justify)
        if para is not None and (kind in ("banner", "center", "rule", "title", "heading", "subheading")
                                 or after in ("table", "right")):
            para.paragraph_format.keep_with_next = True  # a heading, a table's lead-in, the signature stay together
    out = io.BytesIO()
    doc.save(out)
    return stable_zip(out.getvalue(), when, replace={
        "word/fontTable.xml": _font_table(), "docProps/app.xml": _app_properties(),
    })


def round_notice(result) -> bytes:
    """``通报.docx`` of a round (`honorcalc.rules.RoundResult`), worded by its template."""
    context = round_notice_context(result)
    text = render_notice(result.params, context)
    return notice_docx(text, date=result.round["date"], author=context["issuer"])


def annual_notice(result) -> bytes:
    """``年度考核通报.docx`` of a year (`honorcalc.rules.annual.YearResult`), worded by its template."""
    params = result.params.model_copy(update={"report": "annual"})
    context = annual_notice_context(result)
    text = render_notice(params, context)
    return notice_docx(text, date=context["date_iso"], author=context["issuer"])
