"""What the annual report notebook shows, one HTML fragment per cell.

The annual counterpart of `honorcalc.report.round_report`: `honorcalc.report.view.prepare_annual`
evaluates the year once (`honorcalc.rules.annual.evaluate_year`) and writes the run's tables, then
one function per cell computes what it shows and renders a template (`honorcalc.report.html.render`).
The appendix is the round report's, with the persistent-laggard method; like the round
report, nothing before it is technical.
"""

from __future__ import annotations

import pandas as pd

from ..data.contract import is_final_score_rater, mapped, text_ids
from . import round_report as present
from .html import Html, figure, render, table
from .i18n import group_label, round_name, tier_label
from .view import AnnualView

__all__ = [
    "title", "summary", "leaders", "points_over_year", "escalations",
    "quota", "laggards", "standing", "data_overview", "appendix",
]


def _signed(value) -> str:
    return "" if pd.isna(value) else f"{float(value):+g}"


def _date(value) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"


def _group(view: AnnualView, value) -> str:
    return group_label(value, view.params.lists.ranking_scope, view.params.lang)


def _round_names(view: AnnualView) -> dict[str, str]:
    """Round id → the round's name (`honorcalc.report.i18n.round_name`), for every round of the dataset."""
    return {str(r["round_id"]): round_name(r, view.params.lang) for _, r in view.dataset.rounds.iterrows()}


def _chain(view: AnnualView, chain: str, names: dict[str, str]) -> str:
    """An escalation's chain of rounds ("S2026-01a → S2026-03a") by the rounds' names."""
    return " → ".join(names.get(r, r) for r in str(chain).split(" → "))


def title(view: AnnualView) -> Html:
    """The report's heading (city, year, rounds counted), with the style sheet; a warning if the year goes on."""
    L, r = view.labels, view.result
    kinds = r.rounds["kind"]
    last = r.rounds.iloc[-1]
    later = view.dataset.rounds
    later = later[(pd.to_datetime(later["date"]).dt.year == r.year) & (later["date"] > last["date"])]
    return render(
        "annual_title.html.j2", L=L, city=view.params.city, heading=L["annual_report"].format(year=r.year),
        counted=L["counted"].format(n=len(r.rounds), c=int((kinds == "comprehensive").sum()),
                                    s=int((kinds == "special").sum())),
        until=L["until"].format(round=round_name(last, view.params.lang)),
        partial=L["partial_year"].format(date=_date(last["date"])) if len(later) else None,
    )


def summary(view: AnnualView) -> Html:
    """概况 of the year: a paragraph, then listings, escalations, units with positive and negative points; the rule."""
    L, r, p = view.labels, view.result, view.params.points
    s = r.standing
    key_figures = [
        (L["units"], len(s)),
        (L["listings_red"], int(s["comprehensive_red"].sum() + s["special_red"].sum())),
        (L["listings_black"], int(s["comprehensive_black"].sum() + s["special_black"].sum())),
        (L["escalation_events"], len(r.escalations)),
        (L["escalated_units"], r.escalations["unit_id"].nunique()),
        (L["positive"], int((s["points"] > 0).sum())),
        (L["negative"], int((s["points"] < 0).sum())),
    ]
    if "passed" in s.columns:
        key_figures.append((L["quota_failed"], int((~s["passed"].astype(bool)).sum())))
    rule = L["points_rule"].format(cr=p.comprehensive_red, cb=p.comprehensive_black,
                                   sr=p.special_red, sb=p.special_black)
    text = L["year_text"].format(rounds=len(r.rounds), units=len(s), red=key_figures[1][1], black=key_figures[2][1],
                                 escalated=key_figures[4][1], events=key_figures[3][1], positive=key_figures[5][1],
                                 negative=key_figures[6][1])
    if "passed" in s.columns:
        text += L["year_text_quota"].format(n=key_figures[7][1])
    return render("annual_summary.html.j2", L=L, text=text.strip(), key_figures=key_figures, rule=rule)


def _standing_frame(view: AnnualView, rows: pd.DataFrame, *, rank: bool = True) -> pd.DataFrame:
    L = view.labels
    cols = {}
    if rank:
        cols[L["rank"]] = rows["points_rank"].astype(int)
    cols[L["unit"]] = rows["name"]
    cols[L["points"]] = rows["points"].map(_signed)
    cols[L["comp_red"]] = rows["comprehensive_red"].astype(int)
    cols[L["comp_black"]] = rows["comprehensive_black"].astype(int)
    cols[L["special_red"]] = rows["special_red"].astype(int)
    cols[L["special_black"]] = rows["special_black"].astype(int)
    cols[L["mean_comprehensive"]] = rows["mean_comprehensive"].astype(float)
    if "tier" in rows.columns:
        cols[L["tier"]] = rows["tier"].map(lambda t: tier_label(t, view.params.lang))
    if "passed" in rows.columns:
        cols[L["quota_title"]] = rows["passed"].map(lambda v: L["passed"] if bool(v) else L["not_passed"])
    cols[L["escalation_count"]] = rows["escalations"].map(lambda n: int(n) if n else "")
    return pd.DataFrame(cols)


def _classes(rows: pd.DataFrame) -> list[str]:
    return ["red" if p > 0 else "black" if p < 0 else "" for p in rows["points"]]


def _standing_table(view: AnnualView, rows: pd.DataFrame) -> dict:
    return table(_standing_frame(view, rows), _classes(rows))


def leaders(view: AnnualView, n: int = 3) -> Html:
    """Each group's top and bottom ``n`` by points: what leadership reads first."""
    L = view.labels
    groups = []
    for group, g in view.result.standing.groupby("ranking_group", sort=True):
        worst = g["points_rank"].max()
        top = g[g["points_rank"] <= g["points_rank"].nsmallest(n).max()]
        # the bottom n by position, widened to every unit tied with the last of them
        cut = g.iloc[max(len(g) - n, 0)]["points"]
        bottom = g[(g["points"] <= cut) & ~g["unit_id"].isin(top["unit_id"])]
        groups.append({
            "name": _group(view, group), "count": L["n_of"].format(n=len(g)), "top": _standing_table(view, top),
            "bottom": _standing_table(view, bottom) if len(bottom) and worst > 1 else None,
        })
    return render("annual_leaders.html.j2", L=L, note=L["top_note"].format(n=n), groups=groups)


def points_over_year(view: AnnualView) -> Html:
    """Each unit's running points through the year, one panel per ranking group."""
    from .figures import plot_points_over_year

    figures = [figure(view.labels["fig_points"], plot_points_over_year(view.result))]
    return render("figures.html.j2", heading=None, figures=figures)


def _work(L: dict, kind: str, topic) -> str:
    """The work a listing belongs to: the comprehensive evaluation, or the special topic's name."""
    return L["comprehensive"] if kind == "comprehensive" else str(topic)


def escalations(view: AnnualView) -> Html:
    """Units escalated (核查程序) during the year, most often first, with every trigger."""
    L, r = view.labels, view.result
    note = L["escalations_note"].format(n=view.params.escalation.consecutive)
    e = r.escalations
    if e.empty:
        return render("annual_escalations.html.j2", L=L, note=note, by_unit=None, events=None, n_events=0)
    e = e.assign(work=[_work(L, k, t) for k, t in zip(e["round_kind"], e["topic"])])
    by_unit = e.groupby("unit_id", sort=False).agg(
        name=("name", "first"), group=("ranking_group", "first"), times=("round_id", "size"),
        works=("work", lambda w: L["sep"].join(dict.fromkeys(w))), latest=("date", "max"),
    ).reset_index()
    by_unit = by_unit.sort_values(["times", "latest", "unit_id"], ascending=[False, False, True], kind="stable")
    frame = pd.DataFrame({
        L["unit"]: by_unit["name"], L["group"]: by_unit["group"].map(lambda g: _group(view, g)),
        L["times"]: by_unit["times"].astype(int),
        L["works"]: by_unit["works"], L["latest"]: by_unit["latest"].map(_date),
    })
    names = _round_names(view)
    events = pd.DataFrame({
        L["date"]: e["date"].map(_date), L["unit"]: e["name"], L["group"]: e["ranking_group"].map(
            lambda g: _group(view, g)),
        L["works"]: e["work"], L["chain"]: e["chain"].map(lambda c: _chain(view, c, names)),
    })
    return render("annual_escalations.html.j2", L=L, note=note, by_unit=table(frame, ["black"] * len(frame)),
                  events=table(events), n_events=len(events))


def quota(view: AnnualView) -> Html:
    """末位淘汰: who does not pass the year, per group."""
    L, s = view.labels, view.result.standing
    share = view.params.pass_quota.share
    if share is None:
        return render("annual_quota.html.j2", L=L, note=L["quota_off"], counts=None, failed=None, n_failed=0)
    failed = s[~s["passed"].astype(bool)]
    counts = s.groupby("ranking_group", sort=True)["passed"].agg(["size", "sum"])
    counts = table(pd.DataFrame({
        L["group"]: [_group(view, g) for g in counts.index], L["count"]: counts["size"].astype(int),
        L["passed"]: counts["sum"].astype(int), L["not_passed"]: (counts["size"] - counts["sum"]).astype(int),
    }))
    shown = None
    if len(failed):
        frame = _standing_frame(view, failed.assign(points_rank=failed["quota_rank"]))
        frame.insert(0, L["group"], [_group(view, g) for g in failed["ranking_group"]])
        shown = table(frame, _classes(failed))
    return render("annual_quota.html.j2", L=L, note=L["quota_note"].format(share=share), counts=counts,
                  failed=shown, n_failed=len(failed))


def laggards(view: AnnualView) -> Html:
    """Persistent laggards (RULES.md §3), one decision per unit, up to the cut-off round."""
    L, fp = view.labels, view.params.fairness
    t = view.tables["laggards.csv"]
    note = L["laggards_note"].format(n=fp.laggard_n, share=fp.bottom_share)
    final = _final_rounds_note(view)
    if t.empty:
        return render("annual_laggards.html.j2", L=L, note=note, laggards=None, final=final)
    names = {"listed_k_of_n": L["rule_listed"], "cusum": L["rule_cusum"], "mann_kendall": L["rule_decline"],
             "shortfall": L["rule_shortfall"]}
    by_unit = t[t["rule"] == "persistent"].assign(
        rules=lambda f: f["rules"].map(lambda r: L["sep"].join(names.get(x, x) for x in str(r).split(";") if x)))
    group = view.result.standing.set_index("unit_id")["ranking_group"]
    points = view.result.standing.set_index("unit_id")["points"]
    by_unit = by_unit.assign(group=mapped(by_unit["unit_id"], group), points=mapped(by_unit["unit_id"], points))
    by_unit = by_unit.sort_values(["q_value", "points", "unit_id"], kind="stable")
    frame = pd.DataFrame({
        L["unit"]: by_unit["name"], L["group"]: by_unit["group"].map(lambda g: _group(view, g)),
        L["rule"]: by_unit["rules"],
        L["points"]: by_unit["points"].map(_signed),
    })
    return render("annual_laggards.html.j2", L=L, note=note, laggards=table(frame), final=final)


def _final_rounds_note(view: AnnualView) -> str | None:
    """What the year's rounds of final scores only (no 评分人 recorded) leave unanswered, or None."""
    scores = view.dataset.scores
    rounds = view.result.rounds["round_id"].astype(str)
    mine = scores[text_ids(scores["round_id"]).isin(set(rounds)).to_numpy()]
    if mine.empty:
        return None
    final = is_final_score_rater(mine["rater_id"]).groupby(text_ids(mine["round_id"]), observed=True).all()
    n = int(final.sum())
    if not n:
        return None
    L = view.labels
    return L["final_rounds_all"] if n == len(final) else L["final_rounds_some"].format(n=n, m=len(final))


def _standing_notes(view: AnnualView, span: str) -> list[str]:
    L, years, s = view.labels, view.result.years_3y, view.result.standing
    notes = []
    if len(years) < 3:
        notes.append(L["three_years_missing"].format(years=L["sep"].join(map(str, years))))
    else:
        notes.append(L["three_years_note"].format(years=span))
    tiers = view.params.tiers
    if tiers.method == "off":
        notes.append(L["tiers_off"])
    elif s["mean_comprehensive"].isna().all():
        notes.append(L["tiers_none"])
    else:
        rule = (L["tiers_cuts"].format(good=tiers.cuts[0], fair=tiers.cuts[1]) if tiers.method == "cuts" else
                L["tiers_shares"].format(good=tiers.shares[0], fair=tiers.shares[1]))
        notes.append(L["tiers_note"].format(method=rule))
    return notes


def standing(view: AnnualView) -> Html:
    """Every unit's year, by group and points rank, with tiers and the three-year total (folded)."""
    L, r = view.labels, view.result
    years = r.years_3y
    span = L["year_span"].format(first=years[0], last=years[-1]) if len(years) > 1 else str(years[0])
    groups = []
    for group, g in r.standing.groupby("ranking_group", sort=True):
        frame = _standing_frame(view, g)
        for offset, col in ((2, "points_prev2"), (1, "points_prev1")):
            if r.year - offset in years:
                frame[L["year_points"].format(year=r.year - offset)] = g[col].map(_signed).to_numpy()
        if len(years) > 1:
            frame[f"{L['three_years']}{L['open']}{span}{L['close']}"] = g["points_3y"].map(_signed).to_numpy()
        groups.append({"name": _group(view, group), "count": L["n_of"].format(n=len(g)),
                       "table": table(frame, _classes(g))})
    return render("annual_standing.html.j2", L=L, notes=_standing_notes(view, span), groups=groups)


def data_overview(view: AnnualView) -> Html:
    """Nothing: the input tables and their sha256 are shown in the appendix (as in the round report)."""
    return present.data_overview(view)


def appendix(view: AnnualView) -> Html:
    """附录: the run, how persistent laggards are called, the input data, the parameters, the data notices."""
    L, fp = view.labels, view.params.fairness
    method = {"title": L["laggards_method"],
              "text": L["laggards_method_note"].format(alpha=fp.false_alarm_rate, fdr=fp.laggard_fdr)}
    return present.appendix(view, methods=[method])
