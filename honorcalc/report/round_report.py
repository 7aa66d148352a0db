"""What the round report notebook shows, one HTML fragment per cell.

The notebook stays thin: it calls `honorcalc.report.view.prepare` once, then one
function here per cell. Each function computes what its cell shows (plain
values, rows, label strings of `honorcalc.report.i18n`) and renders a template
of ``templates/`` (`honorcalc.report.html.render`), which escapes every string,
so a unit named ``<script>`` is shown as text. Labels are Chinese by default
(``lang: en`` switches them).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data.contract import TABLES
from ..data.write import input_sha256
from ..params import params_sha256, params_to_yaml
from .html import Html, figure, render, table
from .view import RoundView

__all__ = [
    "title", "summary", "red_list", "black_list", "vetoes", "ties",
    "practices", "distribution", "evidence", "fairness", "group_rankings", "data_overview", "appendix",
]


def _signed(value) -> str:
    return f"{float(value):+g}"


def title(view: RoundView) -> Html:
    """The report's heading (city, round, kind, date), with the style sheet of every fragment."""
    L, r = view.labels, view.round
    special = r["kind"] == "special"
    return render(
        "round_title.html.j2", L=L, city=view.params.city,
        heading=L["report_special"].format(topic=r["topic"]) if special else L["report"],
        kind=L[r["kind"]], topic=r["topic"] if special else None,
        round_id=r["round_id"], date=f"{r['date']:%Y-%m-%d}",
    )


def summary(view: RoundView) -> Html:
    """概况: units, listed units, escalations, vetoes, groups, score records and raters; units per group."""
    L = view.labels
    s = view.scores
    units = view.dataset.units[view.dataset.units["unit_id"].isin(s["unit_id"])]
    u = view.result.units
    key_figures = [
        (L["units"], units["unit_id"].nunique()),
        (L["red_n"], int((u["list"] == "red").sum())),
        (L["black_n"], int((u["list"] == "black").sum())),
        (L["escalations"], int(u["escalated"].sum())),
        (L["vetoes"], int(u["vetoed"].sum())),
        (L["groups"], units["group"].nunique()),
        (L["scores"], len(s)),
        (L["raters"], s["rater_id"].nunique()),
    ]
    by_group = (
        units.groupby(["group", "kind"], sort=True).size().reset_index(name="n")
        .assign(kind=lambda f: f["kind"].map(lambda k: L.get(k, k)))
    )
    by_group.columns = [L["group"], L["kind"], L["count"]]
    return render("round_summary.html.j2", L=L, key_figures=key_figures, groups=table(by_group))


def _list_rule(view: RoundView, which: str) -> str:
    L, lists = view.labels, view.params.lists
    special = view.round["kind"] == "special"
    key = f"{which}_rule_special" if special else f"{which}_rule"
    return L[key].format(
        red=f"{lists.red_min:g}", black=f"{lists.black_max:g}",
        n=lists.comprehensive_size, share=f"{lists.special_share:g}",
    )


def _caps(view: RoundView, status: pd.DataFrame) -> str:
    """A special round's cap in each group: "县区 10 家，至多 2 家；…" (⌊N × share⌋, RULES.md §1.3)."""
    L = view.labels
    return L["cap_note"].format(share=f"{view.params.lists.special_share * 100:g}%") + L["semicolon"].join(
        L["cap_group"].format(group=row.ranking_group, n=int(row.n_ranked), cap=int(row.cap))
        for row in status.itertuples(index=False)
    )


def _one_list(view: RoundView, which: str) -> Html:
    L = view.labels
    u = view.result.units
    listed = u[u["list"] == which]
    status = view.result.list_status
    status = status[status["list"] == which]
    rule = _list_rule(view, which)
    if view.round["kind"] == "special":
        rule += L["full_stop"] + _caps(view, status)
    frame = None
    if not listed.empty:
        frame = table(pd.DataFrame({
            L["group"]: listed["ranking_group"],
            L["rank"]: listed["rank"].astype(int),
            L["unit"]: listed["name"],
            L["score"]: listed["score_rounded"].astype(float),
            L["round_points"]: listed["points"].map(_signed),
            L["ytd"]: listed["points_ytd"].map(_signed),
            L["escalated"]: listed["escalated"].map(lambda e: L["escalated_yes"] if e else ""),
        }), [which] * len(listed))
    return render(
        "round_list.html.j2", L=L, which=which, heading=L[which], rule=rule, nobody=L["no_" + which],
        listed=frame, empty_groups=status[status["n_listed"] == 0]["ranking_group"].tolist(),
    )


def red_list(view: RoundView) -> Html:
    """红榜: every red-listed unit with rank, score, points and year-to-date points."""
    return _one_list(view, "red")


def black_list(view: RoundView) -> Html:
    """黑榜: every black-listed unit, with escalations (核查程序) marked."""
    return _one_list(view, "black")


def _veto_text(view: RoundView, row) -> str:
    L, veto = view.labels, view.params.veto
    texts = []
    for reason in row.veto_reasons:
        if reason == "satisfaction":
            texts.append(L["veto_satisfaction"].format(value=row.satisfaction, min=veto.satisfaction_min))
        elif reason == "prerequisite":
            texts.append(L["veto_prerequisite"].format(
                category=veto.prerequisite_category, value=row.prerequisite_score,
                min=veto.prerequisite_min))
        else:
            texts.append(str(reason))
    return L["semicolon"].join(texts)


def vetoes(view: RoundView) -> Html:
    """Units that met the red-list conditions but were vetoed (一票否决); nothing when none was."""
    L = view.labels
    u = view.result.units
    vetoed = u[u["vetoed"]]
    if vetoed.empty:
        return Html("")
    frame = pd.DataFrame({
        L["group"]: vetoed["ranking_group"],
        L["rank"]: vetoed["rank"],
        L["unit"]: vetoed["name"],
        L["score"]: vetoed["score_rounded"].astype(float),
        L["vetoed"]: [_veto_text(view, row) for row in vetoed.itertuples(index=False)],
    })
    return render("round_vetoes.html.j2", L=L, vetoed=table(frame))


def ties(view: RoundView) -> Html:
    """Every tie at a cut that the tie policy decided, and notes for auditors; nothing when there is none."""
    L = view.labels
    items = [
        L["tie_note"].format(
            group=t.ranking_group, list=L.get(t.list, t.list), rank=t.rank,
            units=L["sep"].join(map(str, t.units)) if not isinstance(t.units, str) else t.units,
            policy=L.get(t.policy, t.policy),
        )
        for t in view.result.ties.itertuples(index=False)
    ]
    notes = [str(n) for n in view.result.notes]
    if not items and not notes:
        return Html("")
    return render("round_ties.html.j2", L=L, ties=items, notes=notes)


def _tiers(view: RoundView) -> dict:
    L, units = view.labels, view.result.units
    counts = units.pivot_table(index="ranking_group", columns="tier", values="unit_id",
                               aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=[t for t in ("好", "较好", "一般") if t in counts.columns])
    return table(counts.reset_index().rename(columns={"ranking_group": L["group"]}))


def _flags(view: RoundView, names: pd.Series) -> dict:
    L, r = view.labels, view.result
    rows = []
    seqs = r.flags["round_id"].unique().tolist()
    for (group, flag), held in r.flags.groupby(["ranking_group", "flag"], sort=True):
        now = held[held["round_id"] == r.round_id]["unit_id"]
        before = held[held["round_id"] == seqs[-2]]["unit_id"] if len(seqs) > 1 else now.iloc[:0]
        rows.append((group, L[f"flag_{flag}"], L["sep"].join(names.get(u, u) for u in now),
                     L["sep"].join(names.get(u, u) for u in before)))
    return table(pd.DataFrame(rows, columns=[L["group"], L["flags"], L["holder"], L["previous"]]))


def _slips(view: RoundView, names: pd.Series) -> dict:
    L = view.labels
    slips = view.result.slips.sort_values(["slip", "unit_id"], key=lambda c: c.map(
        {"red": 0, "yellow": 1, "white": 2}) if c.name == "slip" else c)
    frame = pd.DataFrame({
        L["unit"]: slips["unit_id"].map(lambda u: names.get(u, u)),
        L["code"]: slips["code"],
        L["colour"]: slips["slip"].map(lambda c: L[f"slip_{c}"]),
        L["streak"]: slips["streak"].astype(int),
    })
    return table(frame, slips["slip"].map({"red": "red", "yellow": "", "white": ""}).tolist())


def _quota(view: RoundView, names: pd.Series) -> dict:
    L, q, share = view.labels, view.result.pass_quota, view.params.pass_quota.share
    failed = q[~q["passed"]]
    frame = pd.DataFrame({
        L["group"]: failed["ranking_group"],
        L["unit"]: failed["unit_id"].map(lambda u: names.get(u, u)),
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
    return table(pd.DataFrame({
        L["group"]: changed["group"],
        L["unit"]: changed["name"],
        f"{L['score']}{L['open']}{L['before']}{L['close']}": changed["score_before"].astype(float),
        f"{L['score']}{L['open']}{L['after']}{L['close']}": changed["score_after"].astype(float),
        f"{L['list']}{L['open']}{L['before']}{L['close']}": changed["list_before"].map(word),
        f"{L['list']}{L['open']}{L['after']}{L['close']}": changed["list_after"].map(word),
    }))


def _findings(view) -> list[dict]:
    # the annual report has no fairness findings of its own; a round report words every one
    return [{"certainty": str(f.certainty), "text": str(f.text), "detail": "" if f.detail is None else str(f.detail)}
            for f in getattr(view, "findings", ())]


def fairness(view: RoundView) -> Html:
    """The fairness findings (RULES.md §3), each one plain sentence that says how sure it is."""
    from .figures import plot_funnel, plot_rater_severity, plot_visit_gap

    L, lang = view.labels, view.params.lang
    adjusted = _adjusted(view)
    note = L["adjusted_none"] if adjusted is None else L["adjusted"].format(n=len(adjusted["rows"]))
    figures = [figure(L["fig_severity"], plot_rater_severity(view.tables["raters.csv"], lang=lang,
                                                             margin=view.params.fairness.severity_min))]
    if len(view.tables["funnel.csv"]):
        figures.append(figure(L["fig_funnel"], plot_funnel(view.tables["funnel.csv"], lang=lang)))
    visits = view.tables["visits.csv"]
    if len(visits):
        figures.append(figure(L["fig_visits"], plot_visit_gap(visits, view.result, lang=lang)))
    return render("round_fairness.html.j2", L=L, findings=_findings(view), adjusted_note=note,
                  adjusted=adjusted, figures=figures)


def group_rankings(view: RoundView) -> Html:
    """The full ranking of every group, folded so the lists come first."""
    L = view.labels
    groups = []
    for group, g in view.result.units.groupby("ranking_group", sort=True):
        frame = pd.DataFrame({
            L["rank"]: g["rank"].map(lambda r: "" if pd.isna(r) else int(r)),
            L["unit"]: g["name"],
            L["score"]: g["score_rounded"].astype(float),
            L["list"]: g["list"].map(lambda x: L.get(x, "") if x else ""),
            L["vetoed"]: g["vetoed"].map(lambda v: L["vetoed_mark"] if v else ""),
        })
        groups.append({"name": group, "count": L["n_of"].format(n=len(g)),
                       "table": table(frame, g["list"].tolist())})
    return render("round_rankings.html.j2", L=L, groups=groups)


def data_overview(view: RoundView) -> Html:
    """Each input table: file, rows and sha256 (the manifest's input hashes), and the parameters' hash."""
    L = view.labels
    root = Path(view.params.dataset)
    rows = [
        (name, file, len(view.dataset.table(name)), input_sha256(view.dataset, name, root / file))
        for name, file in ((n, view.dataset.files.get(n)) for n in TABLES) if file
    ]
    frame = pd.DataFrame(rows, columns=[L["table"], L["file"], L["rows"], L["sha256"]])
    return render("data_overview.html.j2", L=L, inputs=table(frame, code=(L["sha256"],)),
                  params_sha256=params_sha256(view.params))


def appendix(view: RoundView) -> Html:
    """附录: the numbers behind the fairness findings, the parameters and the data notices."""
    return render("appendix.html.j2", L=view.labels, findings=_findings(view),
                  params_yaml=params_to_yaml(view.params), notices=[str(n) for n in view.dataset.notices])
