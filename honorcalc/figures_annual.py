"""Figures of the annual report (`honorcalc.present_annual`), built like `honorcalc.figures`.

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

from .errors import ParamError
from .figures import _BLACK, _LIGHT, _RED, RC, _figure, _require, _titles

__all__ = ["plot_points_over_year"]

_TEXT = {
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


def _text(lang: str | None, result) -> dict[str, str]:
    lang = result.params.lang if lang is None else lang
    if lang not in _TEXT:
        raise ParamError(f"lang ('{lang}') not recognized; must be 'zh' or 'en'", parameter="lang")
    return _TEXT[lang]


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
    result : honorcalc.annual.YearResult or honorcalc.present_annual.AnnualView
    lang : {'zh', 'en'}, optional
    highlight : int
        Units named in each group: the ``highlight`` highest (red) and lowest
        (black) final totals; every other unit is a thin grey line.

    Returns
    -------
    Figure
        x: the year's rounds in date order; y: points year to date
        (``points_ytd``) after each round, drawn as steps because points change
        only at a notice; the zero line marked. The highlighted units carry
        their name and final total at the right end of their line. No legend.
    """
    r = getattr(result, "result", result)
    T = _text(lang, r)
    pts = r.points
    _require(pts, "annual points", ("round_id", "date", "unit_id", "name", "ranking_group", "points_ytd"))
    rounds = r.rounds.sort_values(["date", "round_id"], kind="stable")
    position = {rid: k for k, rid in enumerate(rounds["round_id"])}
    groups = sorted(pts["ranking_group"].unique().tolist())
    n = max(len(groups), 1)
    ncols = 2 if n > 1 else 1
    nrows = -(-n // ncols)
    with matplotlib.rc_context(RC):
        fig = _figure(10, 1.0 + 3.1 * nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        x_last = max(len(position) - 1, 0)
        for k, ax in enumerate(axes.flat):
            if k >= len(groups):
                ax.set_visible(False)
                continue
            g = pts[pts["ranking_group"] == groups[k]]
            wide = g.pivot_table(index="unit_id", columns="round_id", values="points_ytd", aggfunc="first")
            wide = wide.reindex(columns=list(position)).ffill(axis=1).fillna(0.0)
            final = wide.iloc[:, -1].sort_values(kind="stable") if wide.shape[1] else wide.iloc[:, 0]
            # one extra half step after the last round, so its change shows as a step too
            x = np.r_[np.arange(wide.shape[1]), x_last + 0.5]
            values = np.column_stack([wide.to_numpy(), wide.to_numpy()[:, -1:]])
            segments = [np.column_stack([np.repeat(x, 2)[1:], np.repeat(row, 2)[:-1]]) for row in values]
            ax.add_collection(LineCollection(segments, colors=_LIGHT, linewidths=0.8, zorder=1))
            ax.axhline(0, color="#757575", lw=0.8, zorder=0)
            top = final.index[::-1][:highlight][final.iloc[::-1][:highlight] > 0]
            bottom = final.index[:highlight][final.iloc[:highlight] < 0]
            names = g.drop_duplicates("unit_id").set_index("unit_id")["name"]
            marked = [(u, _RED) for u in top] + [(u, _BLACK) for u in bottom]
            ends = np.array([final[u] for u, _ in marked], dtype=float)
            span = max(float(wide.to_numpy().max(initial=0)) - float(wide.to_numpy().min(initial=0)), 4.0)
            label_y = _spread(ends, 0.075 * span)
            for (unit, colour), y_text in zip(marked, label_y):
                row = values[wide.index.get_loc(unit)]
                ax.step(x, row, where="post", color=colour, lw=1.8, zorder=3)
                ax.annotate(f"{names[unit]} {final[unit]:+g}", (x[-1], final[unit]),
                            xytext=(x[-1] + 0.5, y_text), textcoords="data", va="center", ha="left",
                            fontsize=8.5, color=colour,
                            arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6})
            ax.set_xlim(-0.3, x[-1])
            ax.set_ylim(float(wide.to_numpy().min(initial=0)) - 0.08 * span,
                        float(wide.to_numpy().max(initial=0)) + 0.08 * span)
            ticks = [k for k, (rid, kind) in enumerate(zip(rounds["round_id"], rounds["kind"]))
                     if kind == "comprehensive"] or list(range(0, len(position), max(len(position) // 6, 1)))
            ax.set_xticks(ticks, [rounds["round_id"].iloc[t] for t in ticks])
            ax.tick_params(axis="x", labelsize=8)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
            ax.yaxis.grid(True, zorder=0)
            ax.set_title(f"{groups[k]}（{T['n_units'].format(n=len(wide))}）", loc="left", fontsize=10.5)
            if k % ncols == 0:
                ax.set_ylabel(T["points_axis"])
        title = T["points_year"].format(year=r.year)
        _titles(fig, title, T["points_year_note"].format(n=highlight))
    return fig
