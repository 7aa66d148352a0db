"""Figures of the leadership report, readable without a legend, with Chinese that renders.

Each ``plot_*`` function is pure: frames (or a `honorcalc.rules.RoundResult`, or
the notebook's `honorcalc.report.round_report.RoundView`) in, a new `matplotlib.figure.Figure`
out. Nothing is read or written, no random number is drawn, and the figures are
made with `~matplotlib.figure.Figure` on an Agg canvas, not with pyplot: they
never touch the notebook's backend or pyplot's list of open figures, so they need
no closing and the same input always gives the same PNG bytes (`png_bytes`).
`to_html_img` turns a figure into the ``<img>`` fragment the report embeds (both in
`honorcalc.report.figures.export`, re-exported here).

=======================  ============================================================
figure                   what a reader sees
=======================  ============================================================
plot_score_distribution  every unit's score, one column per ranking group; the red and
                         black lines labelled (红榜线 90 / 黑榜线 70), listed units in
                         their list's colour, vetoed units named
plot_score_intervals     caterpillar: every unit by rank, one panel per group, with the
                         interval of its score from rater disagreement
                         (`score_intervals`)
plot_category_heatmap    listed units × indicator categories and the all-unit average;
                         colour marks each row's weak spots (面上问题与具体问题相结合)
plot_list_history        small multiples: each listed unit's score in every round of
                         the same work, list status of each round on the dots
plot_rater_severity      each rater's severity with its interval (``raters.csv``)
plot_visit_gap           covert − open score gap of the units whose open visits score
                         most above covert ones
=======================  ============================================================

Labels are Chinese by default and English with ``lang="en"``; ``lang=None`` takes
the round's ``params.lang``. Data strings (unit, group and category names) are
shown as they are.

Font
----
The Chinese glyphs come from WenQuanYi Micro Hei (文泉驿微米黑) 0.2.0-beta,
vendored unchanged from Debian's package ``fonts-wqy-microhei`` into
``honorcalc/report/fonts/`` (5.2 MB) and shipped inside honorcalc's wheel, with
its licence: Apache License 2.0, or GPLv3 with a font-embedding exception
(``fonts/copyright``, ``fonts/README.md``). It covers all 20,902 hanzi of GBK
(U+4E00–U+9FA5), so every GB 2312 character, and every character of the demo
city and of the report's labels (tests/test_figures.py checks the latter). No
system font is assumed and nothing is downloaded.

Importing the figures changes nothing in matplotlib: the font is added to
matplotlib's font manager the first time a figure is built
(`honorcalc.report.figures.style.load_font`), and every figure is built and
saved under ``matplotlib.rc_context(style())`` (`~honorcalc.report.figures.style.style`),
which fixes the font, sizes and colours whatever the caller's rcParams are. A
figure's texts name the font itself, so one drawn later outside that context
(a notebook's inline display) still shows its Chinese. The font has one weight:
emphasis is colour and size, never bold.

Size
----
PNG at `DPI` (110): 10 in wide is 1100 px, sharp on a laptop, stored as RGB (the
figures are opaque). For the 150-unit demo city the six figures together are about
0.6 MB of PNG (0.8 MB as base64 in the HTML); for 600 units (the demo's four times
over) about 0.9 MB (1.2 MB), far inside the 15 MB a whole report may take. Figures
grow in height, not width, with the number of units or groups.

Speed
-----
A figure's time goes to matplotlib's text: every label is measured and drawn glyph
by glyph. So the figures have no layout engine: their margins are worked out from
the text they hold (`~honorcalc.report.figures.style.text_size`,
`~honorcalc.report.figures.style.set_margins`), measured on the renderer that later
saves them, and a figure is drawn once; constrained layout measured every text
again and made ``savefig`` draw twice. Small multiples share one axes
(`plot_list_history`): an axes costs more than the two ticks a panel needs.
"""

from __future__ import annotations

import textwrap
import warnings
from statistics import NormalDist

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from ...data.contract import mapped
from ...errors import ParamError
from ...rules.evaluate import RoundResult
from ..i18n import FIGURE_LABELS, group_label, round_name
from .style import (
    BLACK,
    GREY,
    HARSH,
    LABEL_SIZE,
    LENIENT,
    LIGHT,
    PANEL_TITLE_SIZE,
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

__all__ = [
    "score_intervals",
    "plot_score_distribution",
    "plot_score_intervals",
    "plot_category_heatmap",
    "plot_list_history",
    "plot_rater_severity",
    "plot_visit_gap",
    "plot_funnel",
]


# orange for a weak spot, pale purple for a strength: the eye goes to the weak spots
_PUOR = matplotlib.colormaps["PuOr"]
_WEAK_SPOTS = ListedColormap(
    [_PUOR(x) for x in np.linspace(0.0, 0.5, 128)] + [_PUOR(x) for x in np.linspace(0.5, 0.72, 128)],
    name="honorcalc_weak_spots",
)



# --------------------------------------------------------------------------- helpers


def _result(obj) -> RoundResult:
    result = getattr(obj, "result", obj)
    if not isinstance(result, RoundResult):
        raise TypeError(f"expected a RoundResult or a RoundView, got {type(obj).__name__}")
    return result


def _lang(lang: str | None, result: RoundResult | None) -> str:
    """``lang``, else the round's ``params.lang``, else Chinese (checked by `texts_in`)."""
    if lang is not None:
        return lang
    return result.params.lang if result is not None else "zh"


def _round_label(result: RoundResult, lang: str) -> str:
    """The round as a report names it (`honorcalc.report.i18n.round_name`): 2026年3月10日“同类点位建设”专项测评."""
    return round_name(result.round, lang)


def _score_label(T: dict, result: RoundResult | None) -> str:
    """The score axis' words: 专项得分 in a special round, 综合得分 otherwise."""
    special = result is not None and str(result.round.get("kind")) == "special"
    return T["score_special"] if special else T["score"]


def _group_name(group, result: RoundResult | None, lang: str) -> str:
    """A ranking group as the report names it (`honorcalc.report.i18n.group_label`)."""
    if result is None:
        return str(group)
    return group_label(group, result.params.lists.ranking_scope, lang)


#: Most characters of a group in a panel's title (Latin letters are about half as wide as hanzi).
_TITLE_CHARS = {"zh": 10, "en": 20}

def _round_ticks(fig: Figure, labels: list[str], step: float, size: float) -> tuple[int, list[int], float]:
    """Rotation, shown positions and height (inches) of round labels ``step`` inches apart.

    Measured on the figure's renderer (`text_size`): level when the widest label
    fits its step, else upright (90°) when their line height fits, else every k-th
    label, counted back from the latest round (which is always labelled), in
    whichever direction shows more of them (level at a tie). Neighbours keep a
    gap of 4 points.
    """
    if not labels:
        return 0, [], 0.0
    gap = 4 * PT
    level_w, level_h = text_size(fig, labels, size)
    upright_w, upright_h = text_size(fig, labels, size, rotation=90)
    # the upright labels' extent across the axis is the line height (its width once turned)
    every = {0: max(1, -(-(level_w + gap) // step)), 90: max(1, -(-(upright_w + gap) // step))}
    rotation = 0 if every[0] <= every[90] else 90
    k = int(every[rotation])
    last = len(labels) - 1
    shown = [i for i in range(len(labels)) if (last - i) % k == 0]
    return rotation, shown, level_h if rotation == 0 else upright_h


def _single_axes_margins(fig: Figure, band: float, names, *, above: str, xlabel: str) -> None:
    """Margins of a one-axes figure with a row per name.

    The names on the left, a line of text above the axes, numbers and ``xlabel`` below.
    """
    label = text_size(fig, [xlabel], LABEL_SIZE)[1] + matplotlib.rcParams["axes.labelpad"] * PT
    set_margins(fig, left=0.12 + text_size(fig, names, TICK_SIZE)[0] + TICK, right=0.2,
                top=band + text_size(fig, [above], 9)[1] + 0.05,
                bottom=0.1 + text_size(fig, ["0"], TICK_SIZE)[1] + TICK + label)


def _threshold_lines(ax, params, T, *, label: bool = True, fontsize: float = 9) -> None:
    """The red and black lines across the axes, labelled at their right end."""
    lists = params.lists
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    for value, colour, key in ((lists.red_min, RED, "red_line"), (lists.black_max, BLACK, "black_line")):
        ax.axhline(value, color=colour, lw=1, ls="--", zorder=1)
        if label:
            ax.text(1.01, value, T[key].format(v=value), transform=trans, color=colour,
                    ha="left", va="center", fontsize=fontsize, clip_on=False)


def _as_bool(values: pd.Series) -> pd.Series:
    """True for True, 1 and the text "true" / "1" (a column read back from CSV); else False."""
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "1.0"]).fillna(False).astype(bool)


def _list_colour(which) -> str:
    return {"red": RED, "black": BLACK}.get(which, GREY)


def _quasi_jitter(n: int, width: float) -> np.ndarray:
    """Deterministic, evenly spread offsets in (-width/2, width/2): the van der Corput sequence."""
    out = np.zeros(n)
    for i in range(n):
        k, denom, x = i + 1, 1.0, 0.0
        while k:
            denom *= 2
            k, bit = divmod(k, 2)
            x += bit / denom
        out[i] = x
    return (out - 0.5) * width


def _wrap(label, width: int) -> str:
    """Break a label into lines ``width`` hanzi wide, before a bracket if it has one.

    Text without hanzi gets 2.5 characters per hanzi of width (Latin letters are narrower).
    """
    text = str(label)
    if not any("\u3400" <= ch <= "\u9fff" for ch in text):
        width = int(width * 2.5)
    if len(text) <= width:
        return text
    for bracket in ("（", "("):
        head, found, tail = text.partition(bracket)
        if found and head:
            return _wrap(head, width) + "\n" + _wrap(found + tail, width)
    return "\n".join(textwrap.wrap(text, width))


def _listed(result: RoundResult, max_units: int | None) -> tuple[pd.DataFrame, int]:
    """The listed units, red (best first) then black (worst first), each by ranking group.

    When more than ``max_units`` are listed, black units get at least half the
    places (a black listing has consequences) and the most telling are kept:
    escalated black units, then the lowest scores; the highest red scores.
    """
    if max_units is not None and max_units < 1:
        raise ParamError(f"max_units ({max_units}) must be at least 1, or None", parameter="max_units")
    u = result.units
    red = u[u["list"] == "red"]
    black = u[u["list"] == "black"]
    total = len(red) + len(black)
    if max_units is not None and total > max_units:
        n_black = min(len(black), max(max_units - len(red), max_units // 2))
        red = red.sort_values(["score_rounded", "unit_id"], ascending=[False, True], kind="stable")
        black = black.assign(_calm=~black["escalated"].astype(bool)).sort_values(
            ["_calm", "score_rounded", "unit_id"], kind="stable").drop(columns="_calm")
        red, black = red.head(max_units - n_black), black.head(n_black)
    red = red.sort_values(["ranking_group", "rank", "unit_id"], kind="stable")
    black = black.sort_values(["ranking_group", "rank_bottom", "unit_id"], kind="stable")
    return pd.concat([red, black], ignore_index=True), total


# --------------------------------------------------------------------------- intervals


def score_intervals(result, *, level: float | None = None) -> pd.DataFrame:
    """Each unit's score with the interval of its measurement error.

    Parameters
    ----------
    result : RoundResult or RoundView
        A view carries the run's ``stability.csv``, whose ``se`` is used; for a
        bare result the measurement model is computed from its score rows.
    level : float, optional
        Central coverage of the interval; defaults to ``params.fairness.confidence_level``.

    Returns
    -------
    DataFrame
        One row per unit of ``result.units``, same order: ``unit_id``,
        ``ranking_group``, ``score``, ``score_rounded``, ``list``, ``se``,
        ``ci_low``, ``ci_high``, ``level``.

    Notes
    -----
    The standard error is the one measurement model of the fairness analysis
    (`honorcalc.fairness.measurement_model`): each source's error from its G-study
    under the unit's own design, combined with the rules' weights. A source whose
    error the data cannot estimate (one rater for the whole source) adds nothing,
    so the interval is then too short, as ``stability.csv`` says. The interval is
    score ± z · SE with z = Φ⁻¹((1 + level) / 2) (1.96 at 95%): measurement error
    of this round only, not the uncertainty of the rank (``stability.csv`` has that).
    """
    r = _result(result)
    level = r.params.fairness.confidence_level if level is None else float(level)
    if not 0 < level < 1:
        raise ParamError(f"level ({level}) must be between 0 and 1", parameter="level")
    units = r.units
    tables = getattr(result, "tables", None) or {}
    if "stability.csv" in tables:
        known = tables["stability.csv"].set_index("unit_id")["se"]
    else:
        from ...fairness import measurement_model

        indicators = r.points.drop_duplicates("indicator_id")[["indicator_id", "name", "category", "max_points"]]
        params = r.params.model_copy(update={"history": r.params.history.model_copy(update={"weight": 0.0})})
        model = measurement_model(r.ratings, indicators, units, params, round_ids=[r.round_id])
        known = model.units.set_index("unit_id")["se"]
    shrink = np.where(units["blended"].to_numpy(dtype=bool), 1.0 - r.params.history.weight, 1.0)
    se = mapped(units["unit_id"], known).to_numpy(dtype=float)
    if "stability.csv" not in tables:
        se = se * shrink  # the history blend scales this round's error
    z = NormalDist().inv_cdf(0.5 + level / 2)
    score = units["score"].to_numpy(dtype=float)
    return pd.DataFrame({
        "unit_id": units["unit_id"].to_numpy(),
        "ranking_group": units["ranking_group"].to_numpy(),
        "score": score,
        "score_rounded": units["score_rounded"].to_numpy(dtype=float),
        "list": units["list"].to_numpy(),
        "se": se,
        "ci_low": score - z * se,
        "ci_high": score + z * se,
        "level": level,
    })


# --------------------------------------------------------------------------- figures


def plot_score_distribution(result, *, lang: str | None = None) -> Figure:
    """Every unit's score, one column per ranking group, with the red and black lines.

    Parameters
    ----------
    result : RoundResult or RoundView
    lang : {'zh', 'en'}, optional
        Defaults to ``params.lang``.

    Returns
    -------
    Figure
        One axes: a box (median, quartiles, 1.5 IQR whiskers) and one dot per unit
        for each ranking group; red-listed units red, black-listed black, vetoed
        units a red ring labelled with their name; the lines ``lists.red_min`` and
        ``lists.black_max`` labelled at their right end; each group's list counts
        above it in the list's colour.

    Notes
    -----
    Dots are the published (rounded) scores, the ones the lists were decided on.
    The horizontal spread inside a column is the van der Corput sequence over the
    units in score order: it is only there to separate the dots, and is the same
    on every run.
    """
    r = _result(result)
    T = texts_in(FIGURE_LABELS, lang, r)
    lang = _lang(lang, r)
    score = _score_label(T, r)
    params = r.params
    u = r.units[r.units["score_rounded"].notna()]
    groups = sorted(u["ranking_group"].unique())
    # side by side while there is room, stacked when the groups are many
    stacked = len(groups) > 6
    ticks = [f"{_wrap(short(_group_name(g, r, lang), 18), 6 if stacked else 12)}\n"
             f"{T['n_units'].format(n=int((u['ranking_group'] == g).sum()))}" for g in groups]
    with matplotlib.rc_context(style()):
        fig = new_figure(10, 5.2, layout=None)
        note = T["distribution_note"] + (T["vetoed_note"] if u["vetoed"].any() else "")
        band = add_titles(fig, f"{T['distribution']} · {_round_label(r, lang)}", note)
        lines = [T["red_line"].format(v=params.lists.red_min), T["black_line"].format(v=params.lists.black_max)]
        # the list counts sit 1 % (stacked: 6 % and 1 %) of the axes' height above it, ~3.5 in
        count_h = text_size(fig, [T["red"], T["black"]], 8.5 if stacked else 9)[1]
        counts = 0.06 * 3.5 + count_h if stacked else 0.01 * 3.5 + count_h
        set_margins(fig, left=0.15 + text_size(fig, [score], LABEL_SIZE, rotation=90)[0]
                    + matplotlib.rcParams["axes.labelpad"] * PT + text_size(fig, ["100"], TICK_SIZE)[0]
                    + TICK,
                    right=0.15 + 0.01 * 8.5 + text_size(fig, lines, 9)[0],
                    top=band + counts + 0.08, bottom=0.12 + text_size(fig, ticks, TICK_SIZE)[1] + TICK)
        ax = fig.add_subplot()
        data = [u.loc[u["ranking_group"] == g, "score_rounded"].to_numpy(dtype=float) for g in groups]
        if groups:
            ax.boxplot(data, positions=np.arange(len(groups)), widths=0.55, showfliers=False,
                       medianprops={"color": "#555555", "lw": 1.2}, boxprops={"color": LIGHT},
                       whiskerprops={"color": LIGHT}, capprops={"color": LIGHT}, zorder=2)
        trans_top = blended_transform_factory(ax.transData, ax.transAxes)
        for i, g in enumerate(groups):
            part = u[u["ranking_group"] == g].sort_values(["score_rounded", "unit_id"], kind="stable")
            x = i + _quasi_jitter(len(part), 0.5)
            y = part["score_rounded"].to_numpy(dtype=float)
            which = part["list"].to_numpy()
            vetoed = part["vetoed"].to_numpy(dtype=bool)
            plain = ~np.isin(which, ["red", "black"]) & ~vetoed
            ax.scatter(x[plain], y[plain], s=14, color=GREY, alpha=0.7, lw=0, zorder=3)
            for key, colour in (("red", RED), ("black", BLACK)):
                hit = which == key
                ax.scatter(x[hit], y[hit], s=30, color=colour, lw=0.5, edgecolor="white", zorder=4)
            if vetoed.any():
                ax.scatter(x[vetoed], y[vetoed], s=42, facecolor="white", edgecolor=RED, lw=1.4, zorder=4)
                for xv, yv, name in zip(x[vetoed], y[vetoed], part["name"].to_numpy()[vetoed]):
                    ax.annotate(short(name, 12), (xv, yv), xytext=(8, 0), textcoords="offset points", va="center",
                                fontsize=8, color=RED, zorder=5,
                                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
            n_red, n_black = int((which == "red").sum()), int((which == "black").sum())
            for key, n_listed, colour, offset in (("red", n_red, RED, -0.05), ("black", n_black, BLACK, 0.05)):
                ax.text(i if stacked else i + offset, 1.06 if stacked and key == "red" else 1.01,
                        f"{T[key]} {n_listed}", color=colour, transform=trans_top, va="bottom",
                        ha="center" if stacked else ("right" if key == "red" else "left"),
                        fontsize=8.5 if stacked else 9)
        _threshold_lines(ax, params, T)
        ax.set_xticks(np.arange(len(groups)), ticks)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        low = float(u["score_rounded"].min()) if len(u) else params.lists.black_max
        ax.set_ylim(min(low, params.lists.black_max) - 3, 100.5)
        ax.set_ylabel(score)
        ax.yaxis.grid(True, zorder=0)
        ax.set_axisbelow(True)
    return fig


def _score_panels(fig: Figure, ylabel: str, band: float, titles, xlabel: str, *, right: float, ncols: int,
                  nrows: int, width_ratios=None):
    """A grid of panels sharing a score axis, its margins measured from the labels it will carry."""
    tick = text_size(fig, ["0"], TICK_SIZE)[1] + TICK
    title = text_size(fig, titles, PANEL_TITLE_SIZE)[1] + matplotlib.rcParams["axes.titlepad"] * PT
    label = matplotlib.rcParams["axes.labelpad"] * PT
    # the x tick labels at a panel's edges reach into the gap from both sides
    set_margins(fig, left=0.1 + label + text_size(fig, [ylabel], LABEL_SIZE, rotation=90)[0]
                + text_size(fig, ["100"], TICK_SIZE)[0] + TICK,
                right=right, top=band + title + 0.05,
                bottom=0.1 + tick + label + text_size(fig, [xlabel], LABEL_SIZE)[1],
                wgap=0.3, hgap=tick + title + 0.15, ncols=ncols, nrows=nrows)
    return fig.subplots(nrows, ncols, sharey=True, squeeze=False, width_ratios=width_ratios)


def _label_panel(ax, k: int, ncols: int, nrows: int, title: str, ylabel: str, xlabel: str) -> None:
    """Title and grid of panel k of a `_score_panels` grid; the y label on the first column, the x label
    under the first panel of the last row."""
    ax.set_title(title)
    ax.yaxis.grid(True, zorder=0)
    if k % ncols == 0:
        ax.set_ylabel(ylabel)
    if k // ncols == nrows - 1 and k % ncols == 0:
        # from the panel's left edge: the first panel may be narrower than the words
        ax.set_xlabel(xlabel, loc="left")


def plot_score_intervals(result, *, lang: str | None = None, level: float | None = None,
                         ncols: int = 4) -> Figure:
    """Caterpillar plot: every unit by rank in its group, with its score interval.

    Parameters
    ----------
    result : RoundResult or RoundView
    lang : {'zh', 'en'}, optional
    level : float, optional
        Interval coverage; defaults to ``params.fairness.confidence_level``.
    ncols : int
        Panels per row (ranking groups beyond it wrap onto new rows).

    Returns
    -------
    Figure
        One panel per ranking group (titled "group（n）"), x the rank in the group
        (1 = highest score), y the published score with a vertical bar for its
        `score_intervals` interval; red- and black-listed units in their colour,
        the red and black lines drawn (labelled on the right-most panel of each row).

    Notes
    -----
    One panel per group shows *every* unit of a 500-unit city without names: a
    caterpillar is read for its shape and for where the listed units' intervals
    sit relative to the lines, and the names are in the lists and rankings next to
    it. A panel stays legible up to a few hundred units (each unit is one bar); the
    y axis is shared so groups compare directly.
    """
    r = _result(result)
    T = texts_in(FIGURE_LABELS, lang, r)
    lang = _lang(lang, r)
    score = _score_label(T, r)
    if ncols < 1:
        raise ParamError(f"ncols ({ncols}) must be at least 1", parameter="ncols")
    iv = score_intervals(result, level=level)  # a view: the run's own standard errors (stability.csv)
    iv["vetoed"] = r.units["vetoed"].to_numpy(dtype=bool)
    iv = iv[iv["score_rounded"].notna()]
    groups = sorted(iv["ranking_group"].unique()) or [""]
    ncols = min(ncols, len(groups))
    nrows = -(-len(groups) // ncols)
    sizes = [int((iv["ranking_group"] == g).sum()) for g in groups]
    # one row of panels: width follows the group's size, but a small group keeps a readable panel
    widths = [max(n, 0.25 * max(sizes)) for n in sizes] if nrows == 1 else None
    params = r.params
    level = params.fairness.confidence_level if level is None else level
    z = NormalDist().inv_cdf(0.5 + level / 2)
    note = T["intervals_note"].format(z=z, level=level)
    if iv["vetoed"].any():
        note += T["vetoed_ring"]
    with matplotlib.rc_context(style()):
        fig = new_figure(10, 1.0 + 4.0 * nrows, layout=None)
        band = add_titles(fig, f"{T['intervals']} · {_round_label(r, lang)}", note)
        titles = [T["group_size"].format(group=short(_group_name(g, r, lang), _TITLE_CHARS[lang]), n=n)
                  for g, n in zip(groups, sizes)]
        lines = [T["red_line"].format(v=params.lists.red_min), T["black_line"].format(v=params.lists.black_max)]
        axes = _score_panels(fig, score, band, titles, T["rank_axis"], right=0.12 + text_size(fig, lines, 9)[0],
                             ncols=ncols, nrows=nrows, width_ratios=widths)
        for k, ax in enumerate(axes.flat):
            if k >= len(groups):
                ax.set_visible(False)
                continue
            g = groups[k]
            part = iv[iv["ranking_group"] == g].sort_values(["score_rounded", "unit_id"],
                                                            ascending=[False, True], kind="stable")
            x = np.arange(1, len(part) + 1)
            y = part["score_rounded"].to_numpy(dtype=float)
            # the interval is drawn around the published score the dot shows
            shift = y - part["score"].to_numpy(dtype=float)
            lo = part["ci_low"].to_numpy(dtype=float) + shift
            hi = part["ci_high"].to_numpy(dtype=float) + shift
            colours = np.array([_list_colour(w) for w in part["list"]], dtype=object)
            listed = part["list"].isin(["red", "black"]).to_numpy()
            lw = 0.8 if len(part) > 80 else 1.2
            for sel, zo in ((~listed, 2), (listed, 3)):
                ax.vlines(x[sel], lo[sel], hi[sel], colors=list(colours[sel]) if sel.any() else GREY,
                          lw=lw, alpha=0.9 if zo == 3 else 0.6, zorder=zo)
                ax.scatter(x[sel], y[sel], s=10 if len(part) > 80 else 16, c=list(colours[sel]) if sel.any() else GREY,
                           lw=0, zorder=zo + 1)
            vetoed = part["vetoed"].to_numpy()
            ax.scatter(x[vetoed], y[vetoed], s=30, facecolor="white", edgecolor=RED, lw=1.2, zorder=5)
            # a narrow panel (a small group beside a large one) gets fewer ticks: one per half inch at most
            inches = ax.get_position().width * fig.get_figwidth()
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=int(np.clip(inches / 0.5, 1, 5)),
                                                   min_n_ticks=2))
            _threshold_lines(ax, params, T, label=(k % ncols == ncols - 1 or k == len(groups) - 1))
            ax.set_xlim(0, len(part) + 1)
            _label_panel(ax, k, ncols, nrows, titles[k], score, T["rank_axis"])
        if len(iv):
            low = np.nanmin(np.r_[iv["ci_low"].to_numpy(dtype=float), iv["score_rounded"].to_numpy(dtype=float)])
            axes.flat[0].set_ylim(min(low, params.lists.black_max) - 2, 100.5)
    return fig


def plot_category_heatmap(result, *, lang: str | None = None, max_units: int | None = 60,
                          spread: float = 10.0) -> Figure:
    """Listed units × indicator categories, with the all-unit average as the last row.

    Parameters
    ----------
    result : RoundResult or RoundView
    lang : {'zh', 'en'}, optional
    max_units : int or None
        Most listed units shown (black ones first when cut); None shows all.
    spread : float
        Colour saturates at ± this many points from the row's mean.

    Returns
    -------
    Figure
        Cells annotated with the ``result.categories`` score (0–100). Rows are the
        red-listed units (by group and rank) then the black-listed ones (worst
        first), each labelled "name（group）" in its list's colour, with its list
        and score on the right; the last row is the mean over every unit of the
        round. Colour is the cell minus its row's mean: orange cells are the row's
        weak spots (短板), purple its strengths.

    Notes
    -----
    "面上问题与具体问题相结合" (RULES.md §1.5, principle 2). Colouring by the raw score would
    only repeat the list (every black-listed row dark); colouring by the
    difference from the row's own mean shows *which* categories pull a unit down.
    The last row does the same for the city: an orange column there is a
    city-wide (面上) problem, an orange cell only in one unit's row is that unit's
    own (具体) problem. The numbers keep the absolute level.
    """
    r = _result(result)
    T = texts_in(FIGURE_LABELS, lang, r)
    lang = _lang(lang, r)
    if not spread > 0:
        raise ParamError(f"spread ({spread}) must be positive", parameter="spread")
    listed, total = _listed(r, max_units)
    cats = r.points.sort_values("indicator_id", kind="stable")["category"].drop_duplicates().tolist()
    wide = r.categories.pivot_table(index="unit_id", columns="category", values="score", aggfunc="mean")
    wide = wide.reindex(columns=cats)
    matrix = wide.reindex(listed["unit_id"]).to_numpy(dtype=float)
    average = wide.reindex(r.units["unit_id"]).mean(axis=0).to_numpy(dtype=float)
    values = np.vstack([matrix, average[None, :]])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no category score is all-NaN
        deviation = values - np.nanmean(values, axis=1, keepdims=True)
    n_rows = values.shape[0]
    norm = Normalize(vmin=-spread, vmax=spread, clip=True)
    cmap = _WEAK_SPOTS
    shade = cmap(norm(np.nan_to_num(deviation)))
    dark = shade[..., :3] @ [0.299, 0.587, 0.114] < 0.5
    row_labels = [T["unit_group"].format(unit=short(n, 16), group=short(_group_name(g, r, lang), 8))
                  for n, g in zip(listed["name"], listed["ranking_group"])]
    row_labels.append(T["average"])
    col_labels = [_wrap(c, 5) for c in cats]
    right_labels = [f"{T[row.list]} {row.score_rounded:.2f}" for row in listed.itertuples(index=False)]
    title = f"{T['heatmap']} · {_round_label(r, lang)}"
    if len(listed) < total:
        title += T["shown_of"].format(shown=len(listed), total=total)
    with matplotlib.rc_context(style()):
        fig = new_figure(10, 2.3 + 0.3 * n_rows, layout=None)
        band = add_titles(fig, title, T["heatmap_note"] if len(listed) else T["no_listed"])
        pad = matplotlib.rcParams["xtick.major.pad"] * PT  # the ticks have no length
        # below the cells: the colour bar (0.12 in), its tick labels and its label
        bar_bottom = (0.1 + text_size(fig, [T["deviation"]], 9)[1] + matplotlib.rcParams["axes.labelpad"] * PT
                      + text_size(fig, ["+10"], 8)[1] + TICK)
        set_margins(fig, left=0.1 + text_size(fig, row_labels, TICK_SIZE)[0] + pad,
                    right=0.12 + 0.01 * 8 + text_size(fig, right_labels, 8.5)[0],
                    top=band + text_size(fig, col_labels, TICK_SIZE)[1] + pad + 0.05,
                    bottom=bar_bottom + 0.12 + 0.25)
        ax = fig.add_subplot()
        image = ax.imshow(np.ma.masked_invalid(deviation), cmap=cmap, norm=norm, aspect="auto",
                          interpolation="nearest")
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8.5,
                        color="white" if dark[i, j] else "#222222")
        ax.set_yticks(np.arange(n_rows), row_labels)
        for tick, which in zip(ax.get_yticklabels(), [*listed["list"], ""]):
            tick.set_color(_list_colour(which) if which else "#333333")
        ax.set_xticks(np.arange(len(cats)), col_labels)
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.axhline(n_rows - 1.5, color="white", lw=5)
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        for i, (text, which) in enumerate(zip(right_labels, listed["list"])):
            ax.text(1.01, i, text, transform=trans, va="center", ha="left", fontsize=8.5,
                    color=_list_colour(which))
        # the colour bar centred under the cells, 0.45 of their width
        box = ax.get_position()
        height = fig.get_figheight()
        cax = fig.add_axes((box.x0 + 0.275 * box.width, bar_bottom / height, 0.45 * box.width, 0.12 / height))
        bar = fig.colorbar(image, cax=cax, orientation="horizontal", extend="both")
        bar.set_ticks(np.linspace(-spread, spread, 5))
        bar.ax.xaxis.set_major_formatter(lambda v, _: f"{v:+g}" if v else "0")
        bar.set_label(T["deviation"], fontsize=9)
        bar.ax.tick_params(labelsize=8)
        bar.outline.set_visible(False)
    return fig


def plot_list_history(result, *, lang: str | None = None, max_units: int | None = 48,
                      ncols: int = 6) -> Figure:
    """Small multiples: each listed unit's score in every round of the same work.

    Parameters
    ----------
    result : RoundResult or RoundView
    lang : {'zh', 'en'}, optional
    max_units : int or None
        Most units shown (black ones first when cut); None shows all.
    ncols : int
        Panels per row.

    Returns
    -------
    Figure
        One small panel per unit listed this round (same order as
        `plot_category_heatmap`), titled with its name in its list's colour; the
        unit's published score in each round of ``result.history`` (x: rounds in
        date order, shared, labelled by date: 3月10日 / 10 Mar, with the year when
        the rounds span two), each dot filled red or black when the unit was on that
        list in that round; the red and black lines dashed, their values the only
        y ticks; the latest score written at the end of the line; a black badge
        "启动核查" on units escalated this round. No legend. The round labels never
        overlap: level when they fit, else upright, else every k-th one (always the
        latest), measured on the figure's renderer; their texts have the gid
        ``round_label``.

        The panels are drawn on a single axes spanning the figure, with data
        coordinates in inches from its lower-left corner (``fig.axes[0]``, axis
        off); each panel's frame, ticks and lines are segments of a few shared
        collections.

    Notes
    -----
    RULES.md §1.5, principle 4: "always show history", and a black listing in two
    consecutive rounds of the same work is escalated (§1.4), so the rounds are
    those of this round's work (``result.history``), not the calendar.

    One axes per unit, as `~matplotlib.figure.Figure.subplots` would make, costs
    tens of milliseconds each to build, lay out and draw: seconds for the 48
    units shown at most, for panels that have two ticks each.
    """
    r = _result(result)
    T = texts_in(FIGURE_LABELS, lang, r)
    lang = _lang(lang, r)
    if ncols < 1:
        raise ParamError(f"ncols ({ncols}) must be at least 1", parameter="ncols")
    params = r.params
    red_min, black_max = params.lists.red_min, params.lists.black_max
    listed, total = _listed(r, max_units)
    h = r.history.sort_values(["seq", "date", "round_id"], kind="stable")
    first = h.drop_duplicates("round_id")
    rounds = first["round_id"].tolist()
    position = {rid: k for k, rid in enumerate(rounds)}
    dates = pd.to_datetime(first["date"])
    round_labels = [round_date(d, lang, year=dates.dt.year.nunique() > 1) for d in dates]
    by_unit = dict(tuple(h.groupby("unit_id", sort=False)))
    n = max(len(listed), 1)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    scores = h["score_rounded"].to_numpy(dtype=float)
    low = np.nanmin(scores) if np.isfinite(scores).any() else black_max
    ylo, yhi = min(low, black_max) - 4, 101
    xlo, xhi = -0.4, max(len(rounds) - 1, 0) + 0.9
    names = [_wrap(short(name, 18), 9) for name in listed["name"]]
    title = f"{T['history']} · {_round_label(r, lang)}"
    if len(listed) < total:
        title += T["shown_of"].format(shown=len(listed), total=total)
    width, height = 10, 1.2 + 1.55 * nrows
    with matplotlib.rc_context(style()):
        fig = new_figure(width, height, layout=None)
        band = add_titles(fig, title, T["history_note"].format(red=red_min, black=black_max))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        # rows: the panels' titles above them, the round labels below the lowest panel of a column
        title_h = text_size(fig, names, 9.5)[1] + 6 * PT
        left = 0.12 + text_size(fig, [f"{red_min:g}", f"{black_max:g}"], TICK_SIZE)[0] + TICK
        wgap = 0.3
        pw = (width - left - 0.12 - (ncols - 1) * wgap) / ncols
        # the round labels level, upright or thinned, as the panel's width requires
        rotation, labelled, label_h = _round_ticks(fig, round_labels, pw / (xhi - xlo), 7.5)
        under = TICK + label_h
        # below each row the next row's titles; below the last but one also round labels when the
        # last row is short (the panels above its empty places are the lowest of their column)
        hgaps = [title_h + (under if i == nrows - 2 and len(listed) % ncols else 0.1) for i in range(nrows - 1)]
        tops = np.r_[0.0, np.cumsum(hgaps)]  # each row's added drop, on top of the panels above it
        top = band + title_h + 0.05
        ph = (height - top - under - 0.12 - sum(hgaps)) / nrows
        per_round, per_point = pw / (xhi - xlo), ph / (yhi - ylo)  # inches
        tick = matplotlib.rcParams["xtick.major.size"] * PT

        frames, ticks, reds, blacks, lines = [], [], [], [], []
        dots_x, dots_y, faces, edges = [], [], [], []
        for k, unit in enumerate(listed.itertuples(index=False)):
            # the panel's lower-left corner
            x0 = left + (k % ncols) * (pw + wgap)
            y0 = height - top - tops[k // ncols] - (k // ncols + 1) * ph
            x_rounds = x0 + (np.arange(len(rounds)) - xlo) * per_round
            y_red, y_black = y0 + (red_min - ylo) * per_point, y0 + (black_max - ylo) * per_point
            frames.append([(x0, y0 + ph), (x0, y0), (x0 + pw, y0)])
            reds.append([(x0, y_red), (x0 + pw, y_red)])
            blacks.append([(x0, y_black), (x0 + pw, y_black)])
            ticks += [[(x0 - tick, yv), (x0, yv)] for yv in (y_black, y_red)]
            ticks += [[(xv, y0), (xv, y0 - tick)] for xv in x_rounds]
            if k % ncols == 0:
                for value, yv, colour in ((black_max, y_black, BLACK), (red_min, y_red, RED)):
                    ax.text(x0 - TICK, yv, f"{value:g}", ha="right", va="center",
                            fontsize=TICK_SIZE, color=colour)
            # a panel carries the round labels when no panel is below it
            if k + ncols >= len(listed):
                for i in labelled:
                    ax.text(x_rounds[i], y0 - TICK, round_labels[i], ha="center", va="top", fontsize=7.5,
                            rotation=rotation, gid="round_label")
            mine = by_unit.get(unit.unit_id, h.iloc[:0])
            x = x0 + (mapped(mine["round_id"], position).to_numpy(dtype=float) - xlo) * per_round
            y = y0 + (mine["score_rounded"].to_numpy(dtype=float) - ylo) * per_point
            lines.append(np.column_stack([x, y]))
            dots_x.append(x)
            dots_y.append(y)
            faces += [_list_colour(w) if w in ("red", "black") else "white" for w in mine["list"]]
            edges += [_list_colour(w) if w in ("red", "black") else "#757575" for w in mine["list"]]
            colour = _list_colour(unit.list)
            if len(y):
                ax.text(x[-1] + 5 * PT, y[-1], f"{mine['score_rounded'].iloc[-1]:.1f}", va="center", ha="left",
                        fontsize=8, color=colour, zorder=4,
                        bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none"})
            ax.text(x0 + pw / 2, y0 + ph + 6 * PT, names[k], ha="center", va="bottom", fontsize=9.5,
                    color=colour)
            if unit.escalated:
                ax.text(x0 + 0.03 * pw, y0 + 0.96 * ph, T["escalated"], ha="left", va="top", fontsize=8,
                        color="white", zorder=5, bbox={"boxstyle": "round,pad=0.2", "fc": BLACK, "ec": "none"})
        rc = matplotlib.rcParams
        ax.add_collection(LineCollection(frames, colors=rc["axes.edgecolor"], linewidths=rc["axes.linewidth"],
                                         zorder=1.5), autolim=False)
        ax.add_collection(LineCollection(ticks, colors=rc["xtick.color"], linewidths=rc["xtick.major.width"],
                                         zorder=1.5), autolim=False)
        for segments, colour in ((reds, RED), (blacks, BLACK)):
            ax.add_collection(LineCollection(segments, colors=colour, linewidths=0.8, linestyles="--", zorder=1),
                              autolim=False)
        ax.add_collection(LineCollection(lines, colors="#757575", linewidths=1.3, zorder=2), autolim=False)
        if faces:
            ax.scatter(np.concatenate(dots_x), np.concatenate(dots_y), s=26, c=faces, edgecolors=edges, lw=1,
                       zorder=3)
        if listed.empty:
            ax.text(left + pw / 2, height - top - ph / 2, T["no_listed"], ha="center", va="center")
    return fig


_RATER_COLUMNS = ("rater_id", "severity", "ci_low", "ci_high", "flagged")


def plot_rater_severity(raters: pd.DataFrame, *, lang: str | None = None, scale: float | None = None,
                        margin: float | None = None) -> Figure:
    """Each rater's severity with its confidence interval, harsh and lenient raters labelled.

    Parameters
    ----------
    raters : DataFrame
        ``raters.csv`` (`honorcalc.fairness.rater_severity`): at least
        ``rater_id``, ``severity`` (points below the consensus; positive = harsh),
        ``ci_low``, ``ci_high``, ``flagged``; ``scale`` (the indicator size the
        severity is expressed on) is used for the axis label when present.
    lang : {'zh', 'en'}, optional
        Defaults to Chinese.
    scale : float, optional
        Overrides the ``scale`` column; 10 when neither is given.
    margin : float, optional
        ``fairness.severity_min``: the band ± margin around the consensus is shaded,
        since a rater is called harsh or lenient only when its interval lies
        beyond it.

    Returns
    -------
    Figure
        One row per rater with a severity, sorted from most lenient (bottom) to
        harshest (top): a dot and its interval, flagged harsh raters blue and
        flagged lenient ones orange with the word written beside them, the
        consensus (0) as a labelled vertical line. Raters without a severity (in no
        shared cell) are counted in the subtitle.

    Raises
    ------
    InputError
        A required column is missing.
    """
    require(raters, "raters.csv", _RATER_COLUMNS)
    T = texts_in(FIGURE_LABELS, lang)
    if scale is None:
        given = raters["scale"].dropna() if "scale" in raters.columns else pd.Series(dtype=float)
        scale = float(given.iloc[0]) if len(given) else 10.0
    frame = raters.copy()
    frame["severity"] = pd.to_numeric(frame["severity"], errors="coerce")
    missing = int(frame["severity"].isna().sum())
    frame = frame[frame["severity"].notna()].sort_values(["severity", "rater_id"], kind="stable")
    y = np.arange(len(frame))
    sev = frame["severity"].to_numpy(dtype=float)
    lo = pd.to_numeric(frame["ci_low"], errors="coerce").to_numpy(dtype=float)
    hi = pd.to_numeric(frame["ci_high"], errors="coerce").to_numpy(dtype=float)
    flagged = _as_bool(frame["flagged"]).to_numpy()
    colours = np.where(flagged, np.where(sev > 0, HARSH, LENIENT), GREY)
    names = [short(r) for r in frame["rater_id"]]
    note = T["interval_level"]
    if margin:
        note += T["margin_band"].format(m=margin)
    if missing:
        note += T["semicolon"] + T["not_estimable"].format(n=missing)
    with matplotlib.rc_context(style()):
        fig = new_figure(10, 1.7 + 0.24 * max(len(frame), 3), layout=None)
        band = add_titles(fig, T["severity"], note)
        xlabel = T["severity_axis"].format(scale=scale)
        _single_axes_margins(fig, band, names, above=T["consensus"], xlabel=xlabel)
        ax = fig.add_subplot()
        if margin:
            ax.axvspan(-margin, margin, color="#eeeeee", zorder=0)
        ax.axvline(0, color="#555555", lw=1, zorder=1)
        ax.hlines(y, lo, hi, colors=list(colours), lw=2, alpha=0.8, zorder=2)
        ax.scatter(sev, y, s=30, c=list(colours), zorder=3)
        for yi, h, l, s, f in zip(y, hi, lo, sev, flagged):
            if f:
                right = s > 0
                ax.annotate(T["harsh"] if right else T["lenient"], (h if right else l, yi),
                            xytext=(6 if right else -6, 0), textcoords="offset points", va="center",
                            ha="left" if right else "right", fontsize=9,
                            color=HARSH if right else LENIENT)
        ax.set_yticks(y, names)
        ax.set_ylim(-0.8, max(len(frame), 1) - 0.2)
        span = np.nanmax(np.abs(np.r_[lo, hi, sev, 0.5, margin or 0.0]))
        ax.set_xlim(-span * 1.25, span * 1.25)
        ax.text(0, 1.0, T["consensus"], transform=blended_transform_factory(ax.transData, ax.transAxes),
                ha="center", va="bottom", fontsize=9, color="#555555")
        ax.set_xlabel(xlabel)
        ax.xaxis.grid(True, zorder=0)
        ax.set_axisbelow(True)
    return fig


_FUNNEL_COLUMNS = ("unit_id", "name", "ranking_group", "score", "precision", "target", "tau2", "level_inner",
                   "level_outer", "status_outer")


def plot_funnel(funnel: pd.DataFrame, result=None, *, lang: str | None = None, ncols: int = 4) -> Figure:
    """Funnel plot: each unit's score against its precision, with its group's overdispersed limits.

    Parameters
    ----------
    funnel : DataFrame
        ``funnel.csv`` (`honorcalc.fairness.fairness_tables`): ``unit_id``,
        ``name``, ``ranking_group``, ``score``, ``precision``, ``target``, ``tau2``,
        ``level_inner``, ``level_outer``, ``status_outer``.
    result : RoundResult or RoundView, optional
        The round: its kind names the score axis (专项得分 in a special round),
        its ``lists.ranking_scope`` the panels' groups (`honorcalc.report.i18n.group_label`)
        and its ``params.lang`` the language; without it, 综合得分 and the groups as written.
    lang : {'zh', 'en'}, optional
    ncols : int
        Panels per row.

    Returns
    -------
    Figure
        One panel per ranking group: a dot per unit at (precision, score), the
        group's centre, and the inner (dashed) and outer (solid) limits
        θ ± z √(1/precision² + τ²) over the precisions shown (Spiegelhalter, 2005);
        units beyond the outer limits in the list colour of their side, named.
    """
    from ...fairness import funnel_curve

    require(funnel, "funnel.csv", _FUNNEL_COLUMNS)
    r = _result(result) if result is not None else None
    T = texts_in(FIGURE_LABELS, lang, r)
    lang = _lang(lang, r)
    score = _score_label(T, r)
    if ncols < 1:
        raise ParamError(f"ncols ({ncols}) must be at least 1", parameter="ncols")
    groups = sorted(funnel["ranking_group"].astype(str).unique()) or [""]
    ncols = min(ncols, len(groups))
    nrows = -(-len(groups) // ncols)
    inner = float(funnel["level_inner"].iloc[0]) if len(funnel) else 0.95
    outer = float(funnel["level_outer"].iloc[0]) if len(funnel) else 0.998
    pct = {lv: f"{100 * lv:.10g}%" for lv in (inner, outer)}
    note = T["funnel_note"].format(inner=pct[inner], outer=pct[outer])
    precision = pd.to_numeric(funnel["precision"], errors="coerce").to_numpy(dtype=float)
    # a city whose units were all scored alike has one precision: the axis still shows the funnel's shape
    low, high = (np.nanmin(precision), np.nanmax(precision)) if len(funnel) else (0.5, 1.0)
    span = max(high - low, 0.3 * high)
    x_range = (max(low - 0.5 * span, 1e-9), high + 0.5 * span)
    with matplotlib.rc_context(style()):
        fig = new_figure(10, 1.0 + 3.4 * nrows, layout=None)
        band = add_titles(fig, T["funnel"], note)
        titles = [short(_group_name(g, r, lang), _TITLE_CHARS[lang]) for g in groups]
        axes = _score_panels(fig, score, band, titles, T["funnel_axis"], right=0.2, ncols=ncols, nrows=nrows)
        for k, ax in enumerate(axes.flat):
            if k >= len(groups):
                ax.set_visible(False)
                continue
            part = funnel[funnel["ranking_group"].astype(str) == groups[k]]
            target, tau2 = float(part["target"].iloc[0]), float(part["tau2"].iloc[0])
            grid = np.linspace(*x_range, 60)
            curve = funnel_curve(target, tau2, precision=grid, level=(inner, outer))
            ax.axhline(target, color="#555555", lw=1, zorder=1)
            for lv, dash in ((inner, "--"), (outer, "-")):
                for side in ("lower", "upper"):
                    ax.plot(grid, curve[f"{side}_{100 * lv:.10g}"], color=GREY, lw=1, ls=dash, zorder=1)
            status = part["status_outer"].astype(str).to_numpy()
            colours = np.where(status == "below", BLACK, np.where(status == "above", RED, LIGHT))
            x = part["precision"].to_numpy(dtype=float)
            y = part["score"].to_numpy(dtype=float)
            ax.scatter(x, y, s=14, c=list(colours), edgecolor=np.where(status == "within", GREY, "none"),
                       lw=0.5, zorder=3)
            for xi, yi, name, s in zip(x, y, part["name"], status):
                if s != "within":
                    ax.annotate(short(name), (xi, yi), xytext=(4, 0), textcoords="offset points", va="center",
                                fontsize=8, color=RED if s == "above" else BLACK)
            ax.set_xlim(*x_range)
            _label_panel(ax, k, ncols, nrows, titles[k], score, T["funnel_axis"])
        if len(funnel):
            scores = pd.to_numeric(funnel["score"], errors="coerce")
            axes.flat[0].set_ylim(max(float(scores.min()) - 8, 0), min(float(scores.max()) + 8, 100.5))
    return fig


_GAP_COLUMNS = ("unit_id", "gap", "ci_low", "ci_high", "flagged")


def plot_visit_gap(gaps: pd.DataFrame, result=None, *, lang: str | None = None, top: int = 20,
                   threshold: float | None = None) -> Figure:
    """Covert − open score gap of the units where open visits score most above covert ones.

    Parameters
    ----------
    gaps : DataFrame
        `honorcalc.fairness.visit_gap`'s table: at least ``unit_id``, ``gap``
        (covert − open, points of 100), ``ci_low``, ``ci_high``, ``flagged``.
    result : RoundResult or RoundView, optional
        Gives the units' names, ``lang`` and the ``fairness.visit_gap_min`` line.
    lang : {'zh', 'en'}, optional
    top : int
        Units shown: the ``top`` lowest gaps, plus every flagged unit.
    threshold : float, optional
        Draw the line at -threshold; defaults to ``fairness.visit_gap_min`` when
        ``result`` is given, else no line.

    Returns
    -------
    Figure
        One row per unit shown, lowest gap on top: the gap and its interval
        (no bar where it has none), flagged units orange and marked; 0 and
        -threshold as labelled vertical lines.

    Raises
    ------
    InputError
        A required column is missing.
    """
    require(gaps, "visit gaps", _GAP_COLUMNS)
    r = _result(result) if result is not None else None
    T = texts_in(FIGURE_LABELS, lang, r)
    if top < 1:
        raise ParamError(f"top ({top}) must be at least 1", parameter="top")
    if threshold is None and r is not None:
        threshold = r.params.fairness.visit_gap_min
    frame = gaps.copy()
    frame["gap"] = pd.to_numeric(frame["gap"], errors="coerce")
    frame = frame[frame["gap"].notna()]
    frame["flagged"] = _as_bool(frame["flagged"])
    ordered = frame.sort_values(["gap", "unit_id"], kind="stable")
    shown = ordered[ordered["flagged"] | (np.arange(len(ordered)) < top)].iloc[::-1]
    names = r.units.set_index("unit_id")["name"] if r is not None else pd.Series(dtype=object)
    labels = [short(names.get(u, u)) for u in shown["unit_id"]]
    y = np.arange(len(shown))
    g = shown["gap"].to_numpy(dtype=float)
    lo = pd.to_numeric(shown["ci_low"], errors="coerce").to_numpy(dtype=float)
    hi = pd.to_numeric(shown["ci_high"], errors="coerce").to_numpy(dtype=float)
    flagged = shown["flagged"].to_numpy()
    colours = np.where(flagged, LENIENT, GREY)
    title = T["visit"] + (f" · {_round_label(r, _lang(lang, r))}" if r is not None else "")
    if not len(frame):
        note = T["no_data"]
    elif threshold is None:
        note = T["visit_top_plain"].format(n=len(shown))
    else:
        note = T["visit_top"].format(n=len(shown), v=threshold)
    with matplotlib.rc_context(style()):
        fig = new_figure(10, 1.7 + 0.26 * max(len(shown), 3), layout=None)
        band = add_titles(fig, title, note)
        _single_axes_margins(fig, band, labels, above=T["no_gap"], xlabel=T["visit_axis"])
        ax = fig.add_subplot()
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        ax.axvline(0, color="#555555", lw=1, zorder=1)
        ax.text(0, 1.0, " " + T["no_gap"], transform=trans, ha="left", va="bottom", fontsize=9,
                color="#555555")
        if threshold is not None:
            ax.axvline(-threshold, color=LENIENT, lw=1, ls="--", zorder=1)
            ax.text(-threshold, 1.0, T["visit_line"].format(v=threshold) + " ", transform=trans, ha="right",
                    va="bottom", fontsize=9, color=LENIENT)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.hlines(y[ok], lo[ok], hi[ok], colors=list(colours[ok]), lw=2, alpha=0.8, zorder=2)
        ax.scatter(g, y, s=30, c=list(colours), zorder=3)
        for yi, l, gi, f in zip(y, lo, g, flagged):
            if f:
                left = l if np.isfinite(l) else gi
                ax.annotate(T["visit_flag"], (left, yi), xytext=(-6, 0), textcoords="offset points",
                            ha="right", va="center", fontsize=9, color=LENIENT)
        ax.set_yticks(y, labels)
        for tick, f in zip(ax.get_yticklabels(), flagged):
            if f:
                tick.set_color(LENIENT)
        ax.set_ylim(-0.8, max(len(shown), 1) - 0.2)
        # the axis spans the gaps and the lines, not every interval: a unit with two rounds has
        # a t interval on 1 df, as wide as it is uninformative; such bars run off the edge
        values = np.r_[g, 0.0, -threshold if threshold is not None else 0.0]
        left_edge, right_edge = float(values.min()), float(values.max())
        width = max(right_edge - left_edge, 1.0)
        room = 0.35 * width if flagged.any() else 0.0  # for the flag words left of the bars
        ax.set_xlim(left_edge - 0.25 * width - room, right_edge + 0.25 * width)
        ax.set_xlabel(T["visit_axis"])
        ax.xaxis.grid(True, zorder=0)
        ax.set_axisbelow(True)
    return fig
