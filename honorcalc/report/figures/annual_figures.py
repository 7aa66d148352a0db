"""Figures of the annual report (`honorcalc.report.annual_report`), in the round figures' style
(`honorcalc.report.figures.style`).

=====================  ==============================================================
figure                 what a reader sees
=====================  ==============================================================
plot_points_over_year  every unit's points year to date after each round, one panel
                       per ranking group; the highest and lowest totals named
=====================  ==============================================================
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..i18n import ANNUAL_FIGURE_LABELS, group_label
from .style import (
    BLACK,
    LABEL_SIZE,
    LIGHT,
    PT,
    RED,
    TICK,
    TICK_SIZE,
    add_titles,
    new_figure,
    require,
    round_date,
    set_margins,
    short,
    style,
    text_size,
    texts_in,
)

__all__ = ["plot_points_over_year"]



#: Points between a line's end and its label.
_LABEL_GAP = 12


def _spread(y: np.ndarray, gap: float) -> np.ndarray:
    """Label positions near ``y``, at least ``gap`` apart, in the same order (labels never overlap)."""
    order = np.argsort(y, kind="stable")
    out = y[order].astype(float).copy()
    for k in range(1, len(out)):
        out[k] = max(out[k], out[k - 1] + gap)
    # centre the pushed block on the original values so labels drift both ways
    out -= (out - y[order]).mean() if len(out) else 0.0
    placed = np.empty_like(out)
    placed[order] = out
    return placed


def plot_points_over_year(result, *, lang: str | None = None, highlight: int = 3) -> Figure:
    """Each unit's running annual points through the year, one panel per ranking group.

    Parameters
    ----------
    result : honorcalc.rules.annual.YearResult or honorcalc.report.annual_report.AnnualView
    lang : {'zh', 'en'}, optional
    highlight : int
        Units named in each group: the ``highlight`` highest (red) and lowest
        (black) final totals; every other unit is a thin grey line.

    Returns
    -------
    Figure
        One panel per ranking group, titled with the group as the report names
        it (`honorcalc.report.i18n.group_label`: 行业单位 / 属地单位 / 全部单位
        with ``lists.ranking_scope`` kind or all). x: the year's rounds in date
        order; y: points year to date (``points_ytd``) after each round, drawn as steps because points change
        only at a notice; the zero line marked. The highlighted units carry
        their name and final total at the right end of their line. No legend.
    """
    r = getattr(result, "result", result)
    T = texts_in(ANNUAL_FIGURE_LABELS, lang, r)
    lang = lang if lang is not None else r.params.lang
    scope = r.params.lists.ranking_scope
    pts = r.points
    require(pts, "annual points", ("round_id", "date", "unit_id", "name", "ranking_group", "points_ytd"))
    rounds = r.rounds.sort_values(["date", "round_id"], kind="stable")
    order = list(rounds["round_id"])
    panels = [_panel(g, order, highlight) for _, g in pts.groupby("ranking_group", sort=True)]
    n = max(len(panels), 1)
    ncols = 2 if n > 1 else 1
    nrows = -(-n // ncols)
    # the x ticks: the comprehensive rounds, the quarters of the year; else about six rounds
    ticks = [i for i, kind in enumerate(rounds["kind"]) if kind == "comprehensive"] \
        or list(range(0, len(order), max(len(order) // 6, 1)))
    dates = list(rounds["date"])
    tick_labels = [round_date(dates[i], lang) for i in ticks]
    with matplotlib.rc_context(style()):
        fig = new_figure(10, 1.0 + 3.1 * nrows, layout=None)
        band = add_titles(fig, T["points_year"].format(year=r.year), T["points_year_note"].format(n=highlight))
        titles = [f"{short(group_label(p['group'], scope, lang))}（{T['n_units'].format(n=len(p['wide']))}）"
                  for p in panels]
        ends = [label for p in panels for label, _, _ in p["marked"]]
        y_numbers = [f"{v:g}" for p in panels for v in (p["low"], p["high"])]
        ylabel = text_size(fig, [T["points_axis"]], LABEL_SIZE, rotation=90)[0] \
            + matplotlib.rcParams["axes.labelpad"] * PT
        left = ylabel + text_size(fig, y_numbers, TICK_SIZE)[0] + TICK + 0.1
        right = text_size(fig, ends, 8.5)[0] + _LABEL_GAP * PT + 0.15
        title_h = text_size(fig, titles, 10.5)[1] + 0.1
        below = text_size(fig, tick_labels, 8)[1] + TICK + 0.1
        set_margins(fig, left=left, right=right, top=band + title_h, bottom=below, wgap=right + left,
                    hgap=below + title_h + 0.15, ncols=ncols, nrows=nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        line = text_size(fig, ends, 8.5)[1] + 1.5 * PT  # an end label's height, in inches
        for k, ax in enumerate(axes.flat):
            if k >= len(panels):
                ax.set_visible(False)
                continue
            _draw_panel(ax, panels[k], titles[k], ticks, tick_labels, line / ax.get_position().height
                        / fig.get_figheight())
            if k % ncols == 0:
                ax.set_ylabel(T["points_axis"])
    return fig


def _panel(g, order: list[str], highlight: int) -> dict:
    """One group's lines: running points per unit and round, and the units to name."""
    wide = g.pivot_table(index="unit_id", columns="round_id", values="points_ytd", aggfunc="first")
    # a unit not evaluated in a round keeps its total; before its first round it has none
    wide = wide.reindex(columns=order).ffill(axis=1).fillna(0.0)
    final = wide.iloc[:, -1].sort_values(kind="stable")
    top = final.index[::-1][:highlight][final.iloc[::-1][:highlight] > 0]
    bottom = final.index[:highlight][final.iloc[:highlight] < 0]
    names = g.drop_duplicates("unit_id").set_index("unit_id")["name"]
    marked = [(f"{short(names[u])} {final[u]:+g}", u, RED) for u in top] \
        + [(f"{short(names[u])} {final[u]:+g}", u, BLACK) for u in bottom]
    values = wide.to_numpy()
    return {"group": g["ranking_group"].iloc[0], "wide": wide, "final": final, "marked": marked,
            "low": float(values.min(initial=0)), "high": float(values.max(initial=0))}


def _draw_panel(ax, panel: dict, title: str, ticks: list[int], tick_labels: list[str], line: float) -> None:
    """Draw one group; ``line`` is an end label's height as a share of the panel's height."""
    wide, final = panel["wide"], panel["final"]
    n_rounds = wide.shape[1]
    # one extra half step after the last round, so its change shows as a step too
    x = np.r_[np.arange(n_rounds), n_rounds - 0.5]
    values = np.column_stack([wide.to_numpy(), wide.to_numpy()[:, -1:]])
    segments = [np.column_stack([np.repeat(x, 2)[1:], np.repeat(row, 2)[:-1]]) for row in values]
    ax.add_collection(LineCollection(segments, colors=LIGHT, linewidths=0.8, zorder=1))
    ax.axhline(0, color="#757575", lw=0.8, zorder=0)
    span = max(panel["high"] - panel["low"], 4.0)
    ends = np.array([final[u] for _, u, _ in panel["marked"]], dtype=float)
    for (label, unit, colour), y_text in zip(panel["marked"], _spread(ends, line * 1.16 * span)):
        ax.step(x, values[wide.index.get_loc(unit)], where="post", color=colour, lw=1.8, zorder=3)
        ax.annotate(label, (x[-1], final[unit]), xytext=(_LABEL_GAP, y_text), textcoords=("offset points", "data"),
                    va="center", ha="left", fontsize=8.5, color=colour, annotation_clip=False)
    ax.set_xlim(-0.3, x[-1])
    ax.set_ylim(panel["low"] - 0.08 * span, panel["high"] + 0.08 * span)
    ax.set_xticks(ticks, tick_labels)
    ax.tick_params(axis="x", labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.yaxis.grid(True, zorder=0)
    ax.set_title(title, loc="left", fontsize=10.5)
