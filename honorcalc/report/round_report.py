"""What the round report notebook shows, one HTML fragment per cell.

The notebook stays thin: it calls `honorcalc.report.view.prepare` once, then one
function here per cell. Each function computes what its cell shows (plain
values, rows, label strings of `honorcalc.report.i18n`) and renders a template
of ``templates/`` (`honorcalc.report.html.render`), which escapes every string,
so a unit named ``<script>`` is shown as text. Labels are Chinese by default
(``lang: en`` switches them).

The report reads top-down for a leader, in plain words: a summary paragraph,
the lists with each listed unit's reasons, the vetoes, the evidence and the
fairness findings; everything technical (statistics, tests, hashes, parameters,
the run id) is in one final section, `appendix`.
"""

from __future__ import annotations

import pandas as pd

from ..data.contract import TABLES, is_final_score_rater, mapped
from ..data.read import dataset_file
from ..data.write import input_sha256
from ..messages import localize_message, localize_notice
from ..params import params_sha256, params_to_yaml
from ..rules.ranking import round_half_up
from .html import Html, figure, render, table
from .i18n import group_label, round_name, tier_label
from .view import RoundView

__all__ = [
    "title", "summary", "red_list", "black_list", "vetoes", "ties",
    "practices", "distribution", "evidence", "fairness", "group_rankings", "data_overview", "appendix",
    "score_label", "unit_reasons",
]


def _signed(value) -> str:
    return f"{float(value):+g}"


def _special(view: RoundView) -> bool:
    return view.round["kind"] == "special"


def score_label(view: RoundView) -> str:
    """The score's name: 综合得分, or 专项得分 in a special round."""
    return view.labels["score_special" if _special(view) else "score"]


def _group(view, value) -> str:
    return group_label(value, view.params.lists.ranking_scope, view.params.lang)


def _names(view: RoundView) -> pd.Series:
    """Unit id → name, for every unit of the dataset."""
    return view.dataset.units.set_index("unit_id")["name"].astype(str)


def title(view: RoundView) -> Html:
    """The report's heading (city, round), with the style sheet of every fragment."""
    L, r = view.labels, view.round
    heading = L["report_special"].format(topic=r["topic"]) if _special(view) else L["report"]
    name = round_name(r, view.params.lang)
    return render("round_title.html.j2", L=L, city=view.params.city, heading=heading,
                  round_name=name[:1].upper() + name[1:])


def _summary_text(view: RoundView) -> str:
    """The summary paragraph: how many units, the lists, escalations, vetoes, empty lists and ties."""
    L, u = view.labels, view.result.units
    status = view.result.list_status
    n_red, n_black = int((u["list"] == "red").sum()), int((u["list"] == "black").sum())
    parts = [L["summary_intro"].format(n=len(u), groups=u["ranking_group"].nunique())]
    lists = [L["summary_red"].format(n=n_red) if n_red else L["summary_red_none"],
             L["summary_black"].format(n=n_black) if n_black else L["summary_black_none"]]
    parts.append(L["comma"].join(lists) + L["full_stop"])
    escalated = int(u["escalated"].sum())
    if escalated:
        parts.append(L["summary_escalated"].format(n=escalated))
    withheld = int(u["veto_withheld"].sum())
    if withheld:
        parts.append(L["summary_withheld"].format(n=withheld))
    other = int(u["vetoed"].sum()) - withheld
    if other:
        parts.append(L["summary_vetoed_other"].format(n=other))
    for which, n in (("red", n_red), ("black", n_black)):
        empty = status[(status["list"] == which) & (status["n_listed"] == 0)]["ranking_group"]
        if n and len(empty):
            parts.append(L[f"summary_empty_{which}"].format(groups=L["sep"].join(_group(view, g) for g in empty)))
    list_ties = view.result.ties[view.result.ties["list"].isin(["red", "black"])]
    if len(list_ties):
        parts.append(L["summary_ties"].format(n=len(list_ties)))
    return "".join(parts).strip()


def summary(view: RoundView) -> Html:
    """概况: a paragraph first (units, lists, escalations, vetoes), then key figures and the units per group."""
    L = view.labels
    s = view.scores
    units = view.dataset.units[view.dataset.units["unit_id"].isin(s["unit_id"].unique())]
    u = view.result.units
    key_figures = [
        (L["units"], units["unit_id"].nunique()),
        (L["red_n"], int((u["list"] == "red").sum())),
        (L["black_n"], int((u["list"] == "black").sum())),
        (L["escalations"], int(u["escalated"].sum())),
        (L["vetoes"], int(u["vetoed"].sum())),
        (L["groups"], u["ranking_group"].nunique()),
    ]
    ranked_in = u[["unit_id", "ranking_group"]].merge(units[["unit_id", "kind"]], on="unit_id")
    by_group = (
        ranked_in.groupby(["ranking_group", "kind"], sort=True).size().reset_index(name="n")
        .assign(ranking_group=lambda f: f["ranking_group"].map(lambda g: _group(view, g)),
                kind=lambda f: f["kind"].map(lambda k: L.get(k, k)))
    )
    by_group.columns = [L["group"], L["kind"], L["count"]]
    return render("round_summary.html.j2", L=L, text=_summary_text(view), key_figures=key_figures,
                  groups=table(by_group))


def _list_rule(view: RoundView, which: str) -> str:
    L, lists = view.labels, view.params.lists
    key = f"{which}_rule_special" if _special(view) else f"{which}_rule"
    return L[key].format(
        red=f"{lists.red_min:g}", black=f"{lists.black_max:g}",
        n=lists.comprehensive_size, share=f"{lists.special_share:g}",
    )


def _caps(view: RoundView, status: pd.DataFrame) -> str:
    """A special round's cap in each group: "县区 10 家，至多 2 家；…" (⌊N × share⌋, RULES.md §1.3)."""
    L = view.labels
    return L["cap_note"].format(share=f"{view.params.lists.special_share * 100:g}%") + L["semicolon"].join(
        L["cap_group"].format(group=_group(view, row.ranking_group), n=int(row.n_ranked), cap=int(row.cap))
        for row in status.itertuples(index=False)
    )


def _number(value: float) -> str:
    return f"{value:.1f}"


def _weak_categories(view: RoundView, unit_ids, n: int = 2, strongest: bool = False) -> dict[str, str]:
    """Each unit's ``n`` weakest (``strongest``: strongest) categories against its ranking group's mean:
    "环境卫生 61.2（组均 80.5）、…"."""
    L = view.labels
    units = view.result.units[["unit_id", "ranking_group"]]
    cats = view.result.categories.merge(units, on="unit_id")
    if cats.empty:
        return {}
    cats = cats.assign(mean=cats.groupby(["ranking_group", "category"])["score"].transform("mean"))
    cats = cats.assign(gap=(cats["mean"] - cats["score"]) if strongest else (cats["score"] - cats["mean"]))
    wanted = cats[cats["unit_id"].isin(list(unit_ids))].sort_values(["unit_id", "gap", "category"], kind="stable")
    out = {}
    for unit_id, rows in wanted.groupby("unit_id", sort=False):
        out[unit_id] = L["sep"].join(
            L["weak_item"].format(category=r.category, score=_number(r.score), mean=_number(r.mean))
            for r in rows.head(n).itertuples(index=False))
    return out


def _deduction_items(view: RoundView, unit_ids) -> dict[str, str]:
    """Each unit's counted deductions of the round, with their codes; negative-list items marked, and
    who shares each problem and why (RULES.md §1.5.3: 属地, 行业, 挂包 responsibility, at which share)."""
    L = view.labels
    every = view.result.deductions
    d = every[every["counted"].astype(bool) & every["unit_id"].isin(list(unit_ids))]
    names = every.drop_duplicates("unit_id").set_index("unit_id")["name"]
    out: dict[str, list[str]] = {}
    for r in d.itertuples(index=False):
        marks = [L["joint"]] if r.role == "joint" else []
        if isinstance(r.relation, str):  # RULES.md §1.5.3: why the unit shares another unit's problem
            marks.append(L[f"relation_{r.relation}"])
            marks.append(L["deduction_from"].format(name=names.get(r.source_unit, r.source_unit)))
        if r.negative_list == "listed":
            marks.append(L["on_negative_list"])
        note = "" if pd.isna(r.note) else str(r.note)
        item = L["deduction_item"].format(
            code=r.code, note=note, points=f"{float(r.deducted):g}",
            marks=f"{L['open']}{L['sep'].join(marks)}{L['close']}" if marks else "").replace("  ", " ")
        if r.role == "primary":
            shared = every[(every["problem"] == r.problem) & (every["unit_id"] != r.unit_id)
                           & (every["role"] == "joint") & every["counted"].astype(bool)]
            if len(shared):
                item += L["deduction_shared"].format(units=L["sep"].join(
                    L["deduction_shared_unit"].format(
                        name=s.name, share=f"{s.share * 100:g}%",
                        relation=L[f"relation_{s.relation}"] if isinstance(s.relation, str) else L["joint"])
                    for s in shared.itertuples(index=False)))
        out.setdefault(r.unit_id, []).append(item)
    return {u: L["sep"].join(items) for u, items in out.items()}


def unit_reasons(view: RoundView, unit_ids, strongest: bool = False) -> dict[str, str]:
    """Why each unit stands where it does, in words: its weakest categories (a red-listed unit's:
    its strongest, ``strongest``) and its deductions.

    Parameters
    ----------
    view : RoundView
    unit_ids : iterable of str

    Returns
    -------
    dict of str to str
        Unit id → "较弱类别：环境卫生 61.2（组均 80.5）、公共秩序 65.0（组均 81.3）；扣分：N03 垃圾暴露 −1分":
        the two categories where the unit falls furthest below its ranking group's mean
        (``view.result.categories``), then every deduction counted against it this round,
        negative-list (负面清单) items marked.
    """
    L = view.labels
    unit_ids = list(unit_ids)
    weak, deductions = _weak_categories(view, unit_ids, strongest=strongest), _deduction_items(view, unit_ids)
    out = {}
    for u in unit_ids:
        parts = []
        if u in weak:
            parts.append(L["strong" if strongest else "weak"] + weak[u])
        if u in deductions:
            parts.append(L["deductions"] + deductions[u])
        out[u] = L["semicolon"].join(parts)
    return out


def _one_list(view: RoundView, which: str) -> Html:
    L = view.labels
    u = view.result.units
    listed = u[u["list"] == which]
    status = view.result.list_status
    status = status[status["list"] == which]
    rule = _list_rule(view, which)
    if _special(view):
        rule += L["full_stop"] + _caps(view, status)
    frame = None
    if not listed.empty:
        reasons = unit_reasons(view, listed["unit_id"], strongest=which == "red")
        frame = table(pd.DataFrame({
            L["group"]: listed["ranking_group"].map(lambda g: _group(view, g)),
            # a unit out of the red ranking by a veto (veto.action exclude) has no rank from the top
            L["rank"]: listed["rank"].map(lambda r: "" if pd.isna(r) else int(r)),
            L["unit"]: listed["name"],
            score_label(view): listed["score_rounded"].astype(float),
            L["round_points"]: listed["points"].map(_signed),
            L["ytd"]: listed["points_ytd"].map(_signed),
            L["escalated"]: listed["escalated"].map(lambda e: L["escalated_yes"] if e else ""),
            L["reason"]: mapped(listed["unit_id"], reasons),
        }), [which] * len(listed), css_class="notes")
    empty = status[status["n_listed"] == 0]["ranking_group"]
    return render(
        "round_list.html.j2", L=L, which=which, heading=L[which], rule=rule, nobody=L["no_" + which],
        listed=frame, empty_groups=[_group(view, g) for g in empty],
    )


def red_list(view: RoundView) -> Html:
    """红榜: every red-listed unit with rank, score, points, year-to-date points and why."""
    return _one_list(view, "red")


def black_list(view: RoundView) -> Html:
    """黑榜: every black-listed unit, with escalations (核查程序) marked and why."""
    return _one_list(view, "black")


def _percent(share: float, decimals: int) -> str:
    """A share as a percentage at the precision it is compared at (87.5%, 70%): never 88% below 88%."""
    return f"{round_half_up(share * 100.0, decimals):.{decimals}f}".rstrip("0").rstrip(".") + "%"


def _veto_text(view: RoundView, row) -> str:
    L, veto = view.labels, view.params.veto
    texts = []
    for reason in row.veto_reasons:
        if reason == "satisfaction":
            p = view.params.lists.precision
            texts.append(L["veto_satisfaction"].format(value=_percent(row.satisfaction, p),
                                                       min=_percent(veto.satisfaction_min, p)))
        elif reason == "prerequisite":
            texts.append(L["veto_prerequisite"].format(
                category=veto.prerequisite_category, value=row.prerequisite_score,
                min=veto.prerequisite_min))
        else:
            texts.append(str(reason))
    return L["semicolon"].join(texts)


def _veto_outcome(view: RoundView, row) -> str:
    """What the veto did to this unit, truly: withheld a red listing or not; the black list untouched."""
    L = view.labels
    parts = [L["veto_withheld"] if row.veto_withheld else L["veto_not_red"]]
    if row.excluded:
        parts.append(L["veto_excluded"])
    elif row.veto_withheld:
        parts.append(L["veto_kept"])
    if row.list == "black":
        parts.append(L["veto_black"])
    elif not row.excluded and not row.veto_withheld:
        parts.append(L["veto_no_effect"])
    return L["semicolon"].join(parts)


def vetoes(view: RoundView) -> Html:
    """一票否决: every vetoed unit, why, and what the veto did to it; nothing when none was vetoed."""
    L = view.labels
    u = view.result.units
    vetoed = u[u["vetoed"]]
    if vetoed.empty:
        return Html("")
    frame = pd.DataFrame({
        L["group"]: vetoed["ranking_group"].map(lambda g: _group(view, g)),
        L["rank"]: vetoed["rank"].map(lambda r: "" if pd.isna(r) else int(r)),
        L["unit"]: vetoed["name"],
        score_label(view): vetoed["score_rounded"].astype(float),
        L["veto_reason"]: [_veto_text(view, row) for row in vetoed.itertuples(index=False)],
        L["veto_outcome"]: [_veto_outcome(view, row) for row in vetoed.itertuples(index=False)],
    })
    classes = ["black" if x == "black" else "" for x in vetoed["list"]]
    return render("round_vetoes.html.j2", L=L, vetoed=table(frame, classes, css_class="notes"))


def _unit_names(view: RoundView, ids) -> str:
    names = _names(view)
    ids = [ids] if isinstance(ids, str) else list(ids)
    return view.labels["sep"].join(names.get(u, str(u)) for u in ids)


def ties(view: RoundView) -> Html:
    """Every tie at a cut that the tie policy decided, naming the tied units; nothing when there is none."""
    L = view.labels
    items = [
        L["tie_note"].format(
            group=_group(view, t.ranking_group), list=L.get(t.list, t.list), rank=t.rank,
            units=_unit_names(view, t.units), policy=L.get(t.policy, t.policy),
        )
        for t in view.result.ties.itertuples(index=False)
    ]
    if not items:
        return Html("")
    return render("round_ties.html.j2", L=L, ties=items)


def _tiers(view: RoundView) -> dict:
    L, units = view.labels, view.result.units
    counts = units.pivot_table(index="ranking_group", columns="tier", values="unit_id",
                               aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=[t for t in ("好", "较好", "一般") if t in counts.columns])
    counts.columns = [tier_label(t, view.params.lang) for t in counts.columns]
    counts.index = [_group(view, g) for g in counts.index]
    return table(counts.rename_axis(L["group"]).reset_index())


def _flags(view: RoundView, names: pd.Series) -> dict:
    L, r = view.labels, view.result
    rows = []
    seqs = r.flags["round_id"].unique().tolist()
    for (group, flag), held in r.flags.groupby(["ranking_group", "flag"], sort=True):
        now = held[held["round_id"] == r.round_id]["unit_id"]
        before = held[held["round_id"] == seqs[-2]]["unit_id"] if len(seqs) > 1 else now.iloc[:0]
        rows.append((_group(view, group), L[f"flag_{flag}"], L["sep"].join(names.get(u, u) for u in now),
                     L["sep"].join(names.get(u, u) for u in before)))
    return table(pd.DataFrame(rows, columns=[L["group"], L["flags"], L["holder"], L["previous"]]))


def _slips(view: RoundView, names: pd.Series) -> dict:
    L = view.labels
    slips = view.result.slips.sort_values(["slip", "unit_id"], key=lambda c: c.map(
        {"red": 0, "yellow": 1, "white": 2}) if c.name == "slip" else c)
    frame = pd.DataFrame({
        L["unit"]: mapped(slips["unit_id"], lambda u: names.get(u, u)),
        L["code"]: slips["code"],
        L["colour"]: slips["slip"].map(lambda c: L[f"slip_{c}"]),
        L["streak"]: slips["streak"].astype(int),
    })
    return table(frame, slips["slip"].map({"red": "red", "yellow": "", "white": ""}).tolist())


def _quota(view: RoundView, names: pd.Series) -> dict:
    L, q, share = view.labels, view.result.pass_quota, view.params.pass_quota.share
    failed = q[~q["passed"]]
    frame = pd.DataFrame({
        L["group"]: failed["ranking_group"].map(lambda g: _group(view, g)),
        L["unit"]: mapped(failed["unit_id"], lambda u: names.get(u, u)),
        L["ytd"]: failed["points_ytd"].map(_signed),
        L["rank"]: failed["quota_rank"].astype(int),
    })
    return {"rule": L["quota_rule"].format(share=share),
            "count": L["quota_count"].format(n=len(failed), total=len(q)), "failed": table(frame)}


def practices(view: RoundView) -> Html:
    """The optional practices of RULES.md §2 that the parameters switch on; nothing when none is."""
    p, r = view.params, view.result
    names = r.units.set_index("unit_id")["name"]
    shown = {
        "tiers": _tiers(view) if p.tiers.method != "off" else None,
        "flags": _flags(view, names) if p.flags.enabled and not r.flags.empty else None,
        "slips": _slips(view, names) if p.slips.enabled and not r.slips.empty else None,
        "quota": _quota(view, names) if p.pass_quota.share is not None and not r.pass_quota.empty else None,
    }
    if all(part is None for part in shown.values()):
        return Html("")
    return render("round_practices.html.j2", L=view.labels, **shown)


def distribution(view: RoundView) -> Html:
    """Score distribution by group, the red and black lines drawn and labelled."""
    from .figures import plot_score_distribution

    figures = [figure(view.labels["fig_distribution"], plot_score_distribution(view))]
    return render("figures.html.j2", heading=None, figures=figures)


def evidence(view: RoundView) -> Html:
    """面上问题与具体问题相结合: listed units by category, their history, and every unit's interval."""
    from .figures import (
        plot_category_heatmap,
        plot_list_history,
        plot_score_intervals,
    )

    L = view.labels
    figures = []
    if (view.result.units["list"] != "").any():
        figures.append(figure(L["fig_heatmap"], plot_category_heatmap(view)))
        figures.append(figure(L["fig_history"], plot_list_history(view)))
    # with no unit's measurement error known (final scores only) the bars would have no length: a certainty
    # the data do not give; the fairness section says why
    stability = view.tables.get("stability.csv")
    if stability is None or (stability["se"] > 0).any():
        figures.append(figure(L["fig_intervals"], plot_score_intervals(view)))
    return render("figures.html.j2", heading=L["evidence"], figures=figures)


def _adjusted(view: RoundView) -> dict | None:
    """The units whose list would change if rater severity were corrected, or None."""
    L = view.labels
    adjusted = view.tables["severity_adjusted.csv"]
    changed = adjusted[adjusted["changed"]]
    if changed.empty:
        return None
    word = lambda x: L.get(x, "") if x else ""  # noqa: E731
    score = score_label(view)
    return table(pd.DataFrame({
        L["group"]: changed["group"].map(lambda g: _group(view, g)),
        L["unit"]: changed["name"],
        f"{score}{L['open']}{L['before']}{L['close']}": changed["score_before"].astype(float),
        f"{score}{L['open']}{L['after']}{L['close']}": changed["score_after"].astype(float),
        f"{L['list']}{L['open']}{L['before']}{L['close']}": changed["list_before"].map(word),
        f"{L['list']}{L['open']}{L['after']}{L['close']}": changed["list_after"].map(word),
    }))


def _findings(view) -> list[dict]:
    # the annual report has no fairness findings of its own; a round report words every one
    return [{"certainty": str(f.certainty), "text": str(f.text), "detail": "" if f.detail is None else str(f.detail)}
            for f in getattr(view, "findings", ())]


def fairness(view: RoundView) -> Html:
    """The fairness findings (RULES.md §3), each one plain sentence that says how sure it is.

    The statistics behind them, and the funnel plot, are the appendix's.
    """
    from .figures import plot_rater_severity, plot_visit_gap

    L, lang = view.labels, view.params.lang
    adjusted = _adjusted(view)
    note = L["adjusted_none"] if adjusted is None else L["adjusted"].format(n=len(adjusted["rows"]))
    raters = view.tables["raters.csv"]
    # the pseudo-raters of final scores are no raters: no severity to correct or to draw
    raters = raters[~is_final_score_rater(raters["rater_id"]).to_numpy(dtype=bool)] if len(raters) else raters
    figures = []
    if len(raters):
        figures.append(figure(L["fig_severity"], plot_rater_severity(raters, lang=lang,
                                                                     margin=view.params.fairness.severity_min)))
    elif len(view.tables["raters.csv"]):
        note = L["adjusted_final"]
    visits = view.tables["visits.csv"]
    if len(visits):
        figures.append(figure(L["fig_visits"], plot_visit_gap(visits, view.result, lang=lang)))
    return render("round_fairness.html.j2", L=L, findings=_findings(view), adjusted_note=note,
                  adjusted=adjusted, figures=figures)


def group_rankings(view: RoundView) -> Html:
    """The full ranking of every group, folded so the lists come first; each unit's tier when tiers are on."""
    L, lang = view.labels, view.params.lang
    tiers = view.params.tiers.method != "off"
    groups = []
    for group, g in view.result.units.groupby("ranking_group", sort=True):
        columns = {
            L["rank"]: g["rank"].map(lambda r: "" if pd.isna(r) else int(r)),
            L["unit"]: g["name"],
            score_label(view): g["score_rounded"].astype(float),
        }
        if tiers:
            columns[L["tier_round"]] = g["tier"].map(lambda t: tier_label(t, lang))
        columns[L["list"]] = g["list"].map(lambda x: L.get(x, "") if x else "")
        columns[L["vetoed"]] = g["vetoed"].map(lambda v: L["vetoed_mark"] if v else "")
        groups.append({"name": _group(view, group), "count": L["n_of"].format(n=len(g)),
                       "table": table(pd.DataFrame(columns), g["list"].tolist())})
    return render("round_rankings.html.j2", L=L, groups=groups)


def data_overview(view) -> Html:
    """Nothing: the input tables, their sha256 and the parameters' are shown in the appendix (`appendix`)."""
    return Html("")


def _inputs(view) -> dict:
    """Each input table: file, rows and sha256 (the manifest's input hashes)."""
    L = view.labels
    rows = [
        (name, file, len(view.dataset.table(name)),
         input_sha256(view.dataset, name, dataset_file(view.params.dataset, file)))
        for name, file in ((n, view.dataset.files.get(n)) for n in TABLES) if file
    ]
    frame = pd.DataFrame(rows, columns=[L["table"], L["file"], L["rows"], L["sha256"]])
    return table(frame, code=(L["sha256"],))


def _explained_units(view) -> pd.DataFrame:
    """The units a reader most likely asks about: the listed and the vetoed of a round; the escalated of a year."""
    if isinstance(view, RoundView):
        u = view.result.units
        return u[(u["list"] != "") | u["vetoed"]]
    s = view.result.standing
    return s[s["unit_id"].isin(view.result.escalations["unit_id"])] if len(view.result.escalations) else s.iloc[:0]


def _run_section(view) -> dict:
    """The appendix's run: the run id and folder, the round id, and the ``honorcalc explain`` command."""
    L = view.labels
    units = _explained_units(view)
    folder = str(view.run_dir) if view.run_dir is not None else "<run>"
    commands = table(pd.DataFrame({
        L["unit"]: units["name"].astype(str),
        L["unit_id"]: units["unit_id"].astype(str),
        L["command"]: [f"honorcalc explain {folder} {u}" for u in units["unit_id"]],
    }), code=(L["unit_id"], L["command"])) if len(units) else None
    return {
        "run_id": view.run_id if view.run_id is not None else L["run_unsaved"],
        "saved": view.run_id is not None,
        "run_dir": str(view.run_dir) if view.run_dir is not None else None,
        "round_id": str(view.params.round),
        "command": f"honorcalc explain {folder} <{L['unit_id']}>",
        "units": commands,
    }


def appendix(view, *, methods: list[dict] | None = None) -> Html:
    """附录, the report's last section: everything technical, for auditors.

    The run (run id, run folder, round id and the ``honorcalc explain`` command for
    the listed units), the statistics behind each fairness finding and the funnel
    plot, notes for auditors, the input tables with their sha256, the parameters
    and their sha256, and the notices from reading the data.

    Parameters
    ----------
    view : RoundView or AnnualView
    methods : list of dict, optional
        More method notes (``title``, ``text``), e.g. the annual report's laggard test.
    """
    L = view.labels
    figures = []
    if isinstance(view, RoundView) and len(view.tables.get("funnel.csv", ())):
        from .figures import plot_funnel

        figures.append(figure(L["fig_funnel"], plot_funnel(view.tables["funnel.csv"], view, lang=view.params.lang)))
    lang = view.params.lang
    notes = [localize_message(str(n), lang) for n in view.result.notes] if isinstance(view, RoundView) else []
    return render(
        "appendix.html.j2", L=L, run=_run_section(view), findings=_findings(view), figures=figures,
        methods=methods or [], audit_notes=notes, inputs=_inputs(view), params_sha256=params_sha256(view.params),
        params_yaml=params_to_yaml(view.params), notices=[localize_notice(str(n), lang) for n in view.dataset.notices],
    )
