"""Report figures: bundled Chinese font, no import-time state, structure, determinism, HTML embedding."""

from __future__ import annotations

import base64
import io
import itertools
import re
import subprocess
import sys
import warnings
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from fontTools.ttLib import TTCollection
from matplotlib import font_manager
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_hex
from matplotlib.text import Text

from honorcalc.data.read import load_dataset
from honorcalc.data.write import write_dataset
from honorcalc.datasets.demo import make_demo_city
from honorcalc.errors import InputError, ParamError
from honorcalc.params import Params, params_from_mapping
from honorcalc.report import figures
from honorcalc.report.figures import round_figures
from honorcalc.report.figures.style import FONT_NAME, FONT_PATH, load_font, style
from honorcalc.report.i18n import FIGURE_LABELS, LABELS
from honorcalc.rules.evaluate import evaluate_round

ROUND = "C2026Q2"
SPECIAL = "S2026-03a"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_city")
    write_dataset(make_demo_city(), root)
    return root, load_dataset(root)


@pytest.fixture(scope="module")
def result(demo):
    root, ds = demo
    return evaluate_round(ds, Params(dataset=str(root), round=ROUND), ROUND)


@pytest.fixture(scope="module")
def special(demo):
    root, ds = demo
    return evaluate_round(ds, Params(dataset=str(root), round=SPECIAL), SPECIAL)


@pytest.fixture(scope="module")
def raters():
    """A raters.csv as `honorcalc.fairness.rater_severity` writes it (the columns figures use)."""
    return pd.DataFrame({
        "rater_id": ["R01", "R02", "R03", "R04", "R05", "D01"],
        "severity": [0.1, -0.2, 0.05, -1.3, 1.6, np.nan],
        "ci_low": [-0.2, -0.5, -0.3, -1.7, 1.2, np.nan],
        "ci_high": [0.4, 0.1, 0.4, -0.9, 2.0, np.nan],
        "flagged": [False, False, False, True, True, False],
        "scale": 10.0,
    })


@pytest.fixture(scope="module")
def gaps():
    """A visit-gap table as `honorcalc.fairness.visit_gap` writes it: U012 flagged, U099 no interval."""
    ids = [f"U{i:03d}" for i in range(1, 41)]
    gap = np.linspace(-4.0, 3.0, len(ids))
    frame = pd.DataFrame({"unit_id": ids, "gap": gap, "ci_low": gap - 2, "ci_high": gap + 2, "flagged": False})
    frame.loc[frame["unit_id"] == "U012", ["gap", "ci_low", "ci_high", "flagged"]] = [-15.0, -17.0, -13.0, True]
    frame.loc[frame["unit_id"] == "U039", ["ci_low", "ci_high"]] = np.nan
    return frame


def _render(fig, dpi) -> tuple[bytes, list[str]]:
    """PNG bytes and every warning raised while drawing them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = figures.png_bytes(fig, dpi=dpi)
    return data, [str(w.message) for w in caught]


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _hline_values(ax) -> set[float]:
    values = set()
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        if len(y) == 2 and y[0] == y[1] and list(line.get_xdata()) == [0, 1]:
            values.add(float(y[0]))
    return values


def _drawn_texts(fig) -> list[Text]:
    """The texts a reader sees: the figure's, and each visible axes' texts, title, labels and ticks in view."""
    texts = list(fig.texts)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [*ax.texts, ax.title]
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                texts.append(axis.label)
                low, high = sorted(axis.get_view_interval())
                for tick in axis.get_major_ticks(len(axis.get_majorticklocs())):
                    if low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                        texts += [tick.label1, tick.label2]
    return [t for t in texts if t.get_visible() and t.get_text()]


def _assert_laid_out(fig) -> None:
    """Every text inside the figure and clear of every other: the margins are fixed, not computed by matplotlib."""
    with matplotlib.rc_context(style()):
        fig.canvas.draw()  # at the figure's own dpi: axis labels are placed in pixels when drawn
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _drawn_texts(fig)]
    assert boxes
    clipped = [text for text, b in boxes
               if b.x0 < page.x0 - 1 or b.y0 < page.y0 - 1 or b.x1 > page.x1 + 1 or b.y1 > page.y1 + 1]
    assert clipped == []
    overlapping = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]
    assert overlapping == []


def _assert_glyphs_and_font(fig, dpi=60) -> bytes:
    data, messages = _render(fig, dpi)
    assert data.startswith(PNG)
    assert not [m for m in messages if "missing from font" in m or "Glyph" in m], messages
    with matplotlib.rc_context(style()):
        # findfont gives a FontPath (a str that also carries the face index) for a collection
        used = {str(font_manager.findfont(t.get_fontproperties())) for t in fig.findobj(Text) if t.get_text()}
    assert used == {str(FONT_PATH)}
    _assert_laid_out(fig)
    return data


# --------------------------------------------------------------------------- font


def test_font_is_the_bundled_file():
    folder = Path(str(resources.files("honorcalc.report") / "fonts"))
    assert FONT_PATH.is_file() and FONT_PATH.parent == folder
    # shipped with its licence
    assert {"copyright", "LICENSE-Apache-2.0", "README.md"} <= {p.name for p in folder.iterdir()}
    assert "License: Apache-2.0 or GPL-3+ with Font exception" in (folder / "copyright").read_text(encoding="utf-8")
    load_font()
    assert font_manager.FontProperties(fname=FONT_PATH).get_name() == FONT_NAME == "WenQuanYi Micro Hei"
    own = font_manager.FontProperties(family=[FONT_NAME])
    assert str(font_manager.findfont(own, fallback_to_default=False)) == str(FONT_PATH)
    with matplotlib.rc_context(style()):
        for family in (["sans-serif"], matplotlib.rcParams["font.family"]):
            found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            assert str(found) == str(FONT_PATH)
    # the figures and the package share one style
    assert figures.FONT_PATH == FONT_PATH and figures.DPI == style()["savefig.dpi"]


def test_importing_the_figures_changes_nothing_in_matplotlib():
    """No rcParams rewritten and no font registered by an import; the font is loaded on first use."""
    code = """if True:
        import matplotlib
        from matplotlib import font_manager

        # the stored values (dict.items): reading rcParams["backend"] would resolve the backend
        before = dict(dict.items(matplotlib.rcParams))
        fonts = [f.fname for f in font_manager.fontManager.ttflist]
        import honorcalc.report.figures
        import honorcalc.report.figures.annual_figures
        import honorcalc.report.figures.export
        import honorcalc.report.figures.round_figures
        from honorcalc.report.figures import style

        after = dict(dict.items(matplotlib.rcParams))
        assert after == before, sorted(k for k in before if after[k] != before[k])
        assert [f.fname for f in font_manager.fontManager.ttflist] == fonts
        assert style.load_font.cache_info().currsize == 0
        assert str(style.FONT_PATH) not in fonts
        print("ok")
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_building_and_saving_a_figure_leaves_the_rcparams_as_they_were(result):
    # matplotlib's rc_context settles an automatic backend (and leaves it out of what it restores)
    before = {k: v for k, v in dict.items(matplotlib.rcParams) if k != "backend"}
    figures.png_bytes(figures.plot_score_distribution(result), dpi=40)
    assert {k: v for k, v in dict.items(matplotlib.rcParams) if k != "backend"} == before


def test_a_figure_drawn_outside_the_style_still_shows_its_chinese(result, raters):
    """A figure's texts name the bundled font: a notebook's inline display, under the caller's
    rcParams, draws the same glyphs (no missing-glyph boxes)."""
    for fig in (figures.plot_score_distribution(result), figures.plot_rater_severity(raters)):
        with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.canvas.draw()
            used = {str(font_manager.findfont(t.get_fontproperties())) for t in fig.findobj(Text) if t.get_text()}
        assert used == {str(FONT_PATH)}
        assert not [w for w in caught if "missing from font" in str(w.message)]
        assert any("红榜" in t or "偏严" in t for t in _texts(fig))


def test_font_covers_every_character_the_report_shows():
    shown = set()
    for frame in make_demo_city().values():
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                shown.update("".join(frame[column].dropna().astype(str)))
    for table in (*LABELS.values(), *FIGURE_LABELS.values()):
        shown.update("".join(table.values()))
    cmap = TTCollection(str(FONT_PATH)).fonts[0].getBestCmap()
    missing = sorted(c for c in shown if not c.isspace() and ord(c) not in cmap)
    assert missing == []
    assert style()["axes.unicode_minus"] == (0x2212 in cmap)


# --------------------------------------------------------------------------- figures, comprehensive round


def test_score_distribution(result):
    fig = figures.plot_score_distribution(result)
    [ax] = fig.axes
    texts = _texts(fig)
    assert any(t.startswith("各排名分组得分分布") for t in texts)
    assert {"红榜线 90", "黑榜线 70"} <= set(texts)
    assert _hline_values(ax) == {90.0, 70.0}
    groups = sorted(result.units["ranking_group"].unique())
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == groups
    colours = {"#c62828": "red", "#212121": "black"}
    counted = {"red": 0, "black": 0}
    for points in ax.findobj(PathCollection):
        faces = points.get_facecolors()
        if len(faces) and to_hex(faces[0]) in colours:
            counted[colours[to_hex(faces[0])]] += len(points.get_offsets())
    assert counted == result.units["list"].value_counts().reindex(["red", "black"]).to_dict()
    vetoed = result.units.loc[result.units["vetoed"], "name"]
    assert len(vetoed) and set(vetoed) <= set(texts)
    _assert_glyphs_and_font(fig)


def test_score_intervals_bracket_the_score(result):
    iv = figures.score_intervals(result)
    assert list(iv["unit_id"]) == list(result.units["unit_id"])
    assert (iv["se"] > 0).all() and (iv["ci_low"] < iv["score"]).all() and (iv["score"] < iv["ci_high"]).all()
    half = (iv["ci_high"] - iv["ci_low"]) / 2
    np.testing.assert_allclose(half, 1.959964 * iv["se"], rtol=1e-6)
    narrow = figures.score_intervals(result, level=0.5)
    assert (narrow["ci_high"] - narrow["ci_low"] < 2 * half).all()
    with pytest.raises(ParamError, match="level"):
        figures.score_intervals(result, level=1.5)


def test_score_intervals_use_the_one_measurement_model(result):
    """The caterpillar's error is the fairness analysis' measurement model, not a model of its own."""
    from honorcalc.fairness import measurement_model

    indicators = result.points.drop_duplicates("indicator_id")[["indicator_id", "name", "category", "max_points"]]
    model = measurement_model(result.ratings, indicators, result.units, result.params, round_ids=[result.round_id])
    expected = result.units["unit_id"].map(model.units.set_index("unit_id")["se"]).to_numpy()
    np.testing.assert_allclose(figures.score_intervals(result)["se"].to_numpy(), expected, rtol=1e-12)
    # a view hands over its run's stability table: the interval is the one stability.csv reports
    view = SimpleNamespace(result=result, tables={"stability.csv": pd.DataFrame(
        {"unit_id": result.units["unit_id"], "se": np.linspace(0.5, 2.0, len(result.units))})})
    np.testing.assert_allclose(figures.score_intervals(view)["se"], np.linspace(0.5, 2.0, len(result.units)))


def test_the_caterpillar_of_a_view_draws_its_runs_errors_without_modelling_them_again(result, monkeypatch):
    import honorcalc.fairness

    def refuse(*args, **kwargs):
        raise AssertionError("the run's stability.csv has the standard errors")

    monkeypatch.setattr(honorcalc.fairness, "measurement_model", refuse)
    view = SimpleNamespace(result=result, tables={"stability.csv": pd.DataFrame(
        {"unit_id": result.units["unit_id"], "se": np.linspace(0.5, 2.0, len(result.units))})})
    bars = [line for ax in figures.plot_score_intervals(view).axes for line in ax.collections]
    assert bars


def test_caterpillar_has_one_panel_per_group(result):
    fig = figures.plot_score_intervals(result)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    groups = sorted(result.units["ranking_group"].unique())
    sizes = result.units["ranking_group"].value_counts()
    assert [ax.get_title() for ax in panels] == [f"{g}（{sizes[g]}）" for g in groups]
    assert all(_hline_values(ax) == {90.0, 70.0} for ax in panels)
    texts = _texts(fig)
    assert any("评分误差范围（95%）" in t for t in texts) and {"红榜线 90", "黑榜线 70"} <= set(texts)
    _assert_glyphs_and_font(fig)


def test_category_heatmap_rows_and_values(result):
    fig = figures.plot_category_heatmap(result)
    ax = fig.axes[0]
    u = result.units
    listed = u[u["list"].isin(["red", "black"])]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert len(rows) == len(listed) + 1 and rows[-1] == "全部单位平均"
    assert set(rows[:-1]) == {f"{n}（{g}）" for n, g in zip(listed["name"], listed["ranking_group"])}
    colours = [to_hex(t.get_color()) for t in ax.get_yticklabels()[:-1]]
    first_black = colours.index("#212121")
    assert set(colours[:first_black]) == {"#c62828"} and set(colours[first_black:]) == {"#212121"}
    categories = [t.get_text().replace("\n", "") for t in ax.get_xticklabels()]
    assert sorted(categories) == sorted(result.categories["category"].unique())
    cells = [t for t in ax.texts if re.fullmatch(r"\d+", t.get_text())]
    assert len(cells) == len(rows) * len(categories)
    top = listed.sort_values(["ranking_group", "rank"]).iloc[0]
    score = result.categories[result.categories["unit_id"] == top.unit_id].set_index("category")["score"]
    assert cells[0].get_text() == f"{score[categories[0]]:.0f}"
    assert {f"红榜 {v:.2f}" for v in listed.loc[listed["list"] == "red", "score_rounded"]} <= set(_texts(fig))
    png = _assert_glyphs_and_font(fig, dpi=figures.DPI)
    # the largest figure of the demo city (150 units): a 500-unit report must stay under 15 MB
    assert len(png) < 400_000


def _dashed(ax, colour) -> list[np.ndarray]:
    """The segments of the dashed lines of one colour (the red or the black line of every panel)."""
    return [segment for c in ax.collections if isinstance(c, LineCollection)
            and c.get_linestyle()[0][1] is not None and to_hex(c.get_color()[0]) == colour
            for segment in c.get_segments()]


def test_list_history_small_multiples(result):
    fig = figures.plot_list_history(result)
    [ax] = fig.axes  # the panels are drawn on one axes, in inches
    u = result.units
    listed = u[u["list"].isin(["red", "black"])]
    texts = {t.get_text(): t for t in ax.texts}
    colours = {"red": "#c62828", "black": "#212121"}
    for name, which in zip(listed["name"], listed["list"]):
        assert to_hex(texts[round_figures._wrap(name, 9)].get_color()) == colours[which]
    # per panel, a red line at 90 above a black line at 70, both as wide as the panel
    red, black = _dashed(ax, "#c62828"), _dashed(ax, "#212121")
    assert len(red) == len(black) == len(listed)
    for r, b in zip(red, black):
        assert r[0, 1] == r[1, 1] > b[0, 1] == b[1, 1] and list(r[:, 0]) == list(b[:, 0])
    # the values of the lines labelled once a row, level with them and in their colour
    ninety = [t for t in ax.texts if t.get_text() == "90"]
    seventy = [t for t in ax.texts if t.get_text() == "70"]
    assert len(ninety) == len(seventy) == -(-len(listed) // 6)
    assert {t.get_position()[1] for t in ninety} <= {s[0, 1] for s in red}
    assert {t.get_position()[1] for t in seventy} <= {s[0, 1] for s in black}
    assert {to_hex(t.get_color()) for t in ninety} == {"#c62828"}
    # the rounds, in date order and named by their date, under the lowest panel of each of the 6 columns
    assert _round_labels(fig) == ["3月31日", "6月30日"] * 6
    assert not fig.legends and not any(a.get_legend() for a in fig.axes)
    escalated = u.loc[u["escalated"] & u["list"].eq("black"), "name"]
    assert _texts(fig).count("启动核查") == len(escalated) > 0
    # every listed unit's score in every round it has, and its latest score written
    history = result.history[result.history["unit_id"].isin(listed["unit_id"])]
    assert sum(len(c.get_offsets()) for c in ax.findobj(PathCollection)) == len(history)
    latest = history.sort_values(["seq", "date"]).groupby("unit_id")["score_rounded"].last()
    assert sorted(f"{v:.1f}" for v in latest) == sorted(t for t in _texts(fig) if re.fullmatch(r"\d+\.\d", t))
    _assert_glyphs_and_font(fig)


def test_history_keeps_black_units_when_cut(result):
    fig = figures.plot_list_history(result, max_units=6, ncols=3)
    [ax] = fig.axes
    assert len(_dashed(ax, "#c62828")) == 6
    names = set(_texts(fig))
    black = set(result.units.loc[result.units["list"] == "black", "name"])
    red = set(result.units.loc[result.units["list"] == "red", "name"])
    assert len(names & black) >= 3 and len(names & (black | red)) == 6
    assert any("显示 6 / 29 个" in t for t in _texts(fig))
    _assert_laid_out(fig)


def test_rater_severity(raters):
    fig = figures.plot_rater_severity(raters)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["R04", "R02", "R03", "R01", "R05"]
    texts = _texts(fig)
    assert texts.count("偏严") == 1 and texts.count("偏宽") == 1
    assert any("另有 1 名评分人" in t for t in texts)
    assert "按 10 分制指标计" in ax.get_xlabel()
    _assert_glyphs_and_font(fig)
    with pytest.raises(InputError, match="ci_high, flagged"):
        figures.plot_rater_severity(raters.drop(columns=["ci_high", "flagged"]))


def test_rater_severity_read_back_from_csv(raters):
    """raters.csv as read from a run folder: 'flagged' may come back as text."""
    text = raters.astype({"flagged": str}).assign(flagged=lambda f: f["flagged"].where(f["rater_id"] != "D01"))
    read = pd.read_csv(io.StringIO(text.to_csv(index=False)), dtype={"flagged": str})
    fig = figures.plot_rater_severity(read)
    assert _texts(fig).count("偏严") == 1 and _texts(fig).count("偏宽") == 1


def test_visit_gap(gaps, result):
    fig = figures.plot_visit_gap(gaps, result, top=5)
    ax = fig.axes[0]
    names = result.units.set_index("unit_id")["name"]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == names["U012"] and len(labels) == 5
    assert {line.get_xdata()[0] for line in ax.get_lines()} == {0.0, -10.0}
    assert "明查明显更高" in _texts(fig) and "−10 分 " in _texts(fig)
    _assert_glyphs_and_font(fig)
    flagged_beyond_top = figures.plot_visit_gap(gaps.assign(flagged=gaps["unit_id"].isin(["U012", "U040"])),
                                                result, top=3)
    labels = [t.get_text() for t in flagged_beyond_top.axes[0].get_yticklabels()]
    assert names["U040"] in labels and len(labels) == 4


def test_english_labels(demo, result, raters):
    fig = figures.plot_score_distribution(result, lang="en")
    assert {"red line 90", "black line 70"} <= set(_texts(fig))
    root, ds = demo
    english = evaluate_round(ds, Params(dataset=str(root), round=ROUND, lang="en"), ROUND)
    assert any(t.startswith("Category scores") for t in _texts(figures.plot_category_heatmap(english)))
    assert "harsh" in _texts(figures.plot_rater_severity(raters, lang="en"))
    with pytest.raises(ParamError, match=r"lang \('fr'\) not recognized; must be 'zh' or 'en'"):
        figures.plot_score_distribution(result, lang="fr")


def test_a_round_view_is_accepted_and_other_objects_are_not(result):
    class View:
        pass

    view = View()
    view.result = result
    assert len(figures.score_intervals(view)) == len(result.units)
    with pytest.raises(TypeError, match="RoundResult"):
        figures.plot_score_distribution(result.units)


# --------------------------------------------------------------------------- special round, edge cases


def test_special_round(special, raters, gaps):
    assert special.round["kind"] == "special"
    makers = {
        "distribution": lambda: figures.plot_score_distribution(special),
        "intervals": lambda: figures.plot_score_intervals(special),
        "heatmap": lambda: figures.plot_category_heatmap(special),
        "history": lambda: figures.plot_list_history(special),
        "visit": lambda: figures.plot_visit_gap(gaps, special),
    }
    built = {name: make() for name, make in makers.items()}
    for fig in built.values():
        _assert_glyphs_and_font(fig)
    heat = built["heatmap"].axes[0]
    topic = set(special.categories["category"])
    assert {t.get_text().replace("\n", "") for t in heat.get_xticklabels()} == topic
    assert set(_round_labels(built["history"])) == {"1月12日", "3月10日"}
    assert any("同类点位建设" in t for t in _texts(built["history"]))
    # a special round's score is 专项得分, and its title names the round by date and topic
    titled = {"2026年3月10日“同类点位建设”专项测评" in " ".join(_texts(fig)) for fig in built.values()}
    assert titled == {True} and not any(SPECIAL in t for fig in built.values() for t in _texts(fig))
    for name in ("distribution", "intervals"):
        ylabels = {ax.get_ylabel() for ax in built[name].axes if ax.get_ylabel()}
        assert ylabels == {FIGURE_LABELS["zh"]["score_special"]}
    funnel = _funnel_table(special.units["ranking_group"].tolist())
    ylabels = {ax.get_ylabel() for ax in figures.plot_funnel(funnel, special).axes if ax.get_ylabel()}
    assert ylabels == {FIGURE_LABELS["zh"]["score_special"]}
    assert {ax.get_ylabel() for ax in figures.plot_funnel(funnel).axes if ax.get_ylabel()} == {"综合得分"}


def _round_labels(fig) -> list[str]:
    """The round labels of a history figure, as drawn."""
    return [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "round_label"]


def _funnel_table(groups: list[str]) -> pd.DataFrame:
    """A funnel.csv of units in ``groups``, all within their limits."""
    n = len(groups)
    return pd.DataFrame({
        "unit_id": [f"U{k:03d}" for k in range(n)], "name": [f"单位{k}" for k in range(n)],
        "ranking_group": groups, "score": np.linspace(70, 95, n), "precision": np.linspace(0.5, 1.5, n),
        "target": 82.0, "tau2": 4.0, "level_inner": 0.95, "level_outer": 0.998, "status_outer": "within",
    })


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("round_id, ncols", [("S2026-05a", 6), ("S2026-11b", 6), ("S2026-11b", 12)])
def test_history_round_labels_never_overlap(demo, lang, round_id, ncols):
    """A special topic has a round every two months: its labels are dates, level, upright or thinned.

    Twelve columns leave panels too narrow for every upright date: every other one is shown.
    """
    root, ds = demo
    r = evaluate_round(ds, Params(dataset=str(root), round=round_id, lang=lang), round_id)
    fig = figures.plot_list_history(r, ncols=ncols)
    if ncols == 6:
        _assert_laid_out(fig)  # every text of the figure inside it and clear of every other
    with matplotlib.rc_context(style()):
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[0].texts if t.get_gid() == "round_label" and t.get_visible()]
    assert labels
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]
    # the round of the report is always labelled, by its date, not its id
    latest = "11月25日" if lang == "zh" else "25 Nov"
    shown = [t.get_text() for t in labels]
    assert (latest if round_id == "S2026-11b" else ("5月11日" if lang == "zh" else "11 May")) in shown
    assert not any(t.startswith("S2026") for t in shown)
    if ncols == 12:
        assert 0 < len(shown) < 12 * len(set(r.history["round_id"]))


def test_panels_name_the_groups_of_a_kind_or_all_scope(demo):
    """With lists.ranking_scope kind or all, the groups are shown in words, not as their codes."""
    root, ds = demo
    for scope, words in (("kind", {"行业单位", "属地单位"}), ("all", {"全部单位"})):
        params = params_from_mapping({"dataset": str(root), "round": ROUND, "lists": {"ranking_scope": scope}})
        r = evaluate_round(ds, params, ROUND)
        codes = set(r.units["ranking_group"].astype(str))
        intervals = [ax.get_title() for ax in figures.plot_score_intervals(r).axes if ax.get_visible()]
        assert {t.split("（")[0] for t in intervals} == words
        funnel = figures.plot_funnel(_funnel_table(r.units["ranking_group"].tolist()), r)
        assert {ax.get_title() for ax in funnel.axes if ax.get_visible()} == words
        ticks = [t.get_text().split("\n")[0] for t in figures.plot_score_distribution(r).axes[0].get_xticklabels()]
        assert set(ticks) == words
        heat = figures.plot_category_heatmap(r).axes[0]
        rows = [t.get_text() for t in heat.get_yticklabels()][:-1]
        assert rows and not any(t.endswith(f"（{c}）") for t in rows for c in codes)
        english = figures.plot_score_intervals(r, lang="en")
        assert all(ax.get_title().split(" (")[0] in {"industry units", "territorial units", "all units"}
                   for ax in english.axes if ax.get_visible())


def test_a_round_without_listed_units(demo):
    root, ds = demo
    params = params_from_mapping({"dataset": str(root), "round": ROUND, "lists": {"red_min": 100.0, "black_max": 1.0}})
    quiet = evaluate_round(ds, params, ROUND)
    assert not quiet.units["list"].isin(["red", "black"]).any()
    for fig in (figures.plot_category_heatmap(quiet), figures.plot_list_history(quiet)):
        assert "本期无上榜单位" in _texts(fig)
        _assert_glyphs_and_font(fig)


# --------------------------------------------------------------------------- export


def test_png_bytes_are_deterministic(result):
    first = figures.png_bytes(figures.plot_score_distribution(result))
    second = figures.png_bytes(figures.plot_score_distribution(result))
    assert first == second and first.startswith(PNG)
    assert b"Software" not in first and b"matplotlib" not in first.lower()


def test_to_html_img_escapes_alt_and_closes_the_figure(result):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.add_subplot().plot([1, 2], [3, 4])
    tag = figures.to_html_img(fig, 'Scores <script>alert("x")</script> & 红榜')
    assert fig.number not in plt.get_fignums()
    match = re.fullmatch(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">', tag)
    assert match
    assert base64.b64decode(match.group(1)).startswith(PNG)
    assert match.group(2) == "Scores &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 红榜"
    ours = figures.plot_score_distribution(result)
    figures.to_html_img(ours, "x")
    assert not ours.axes


def test_absurdly_long_names_are_cut_not_fatal(demo, raters):
    """A 123-character unit name (or rater id) must not squeeze the panels out of the figure."""
    import dataclasses

    root, ds = demo
    long = "超长名称" * 30 + "街道"
    units = ds.units.copy()
    listed = "U029"  # persistent laggard: black-listed in C2026Q2, in the heatmap and the history
    units.loc[units["unit_id"] == listed, "name"] = long
    units.loc[units["unit_id"] == listed, "group"] = "组" * 40
    r = evaluate_round(dataclasses.replace(ds, units=units), Params(dataset=str(root), round=ROUND), ROUND)
    wide = raters.assign(rater_id=raters["rater_id"].where(raters.index != 4, "R" * 123))
    for fig in (figures.plot_category_heatmap(r), figures.plot_list_history(r),
                figures.plot_score_distribution(r), figures.plot_score_intervals(r),
                figures.plot_rater_severity(wide)):
        _assert_glyphs_and_font(fig)
        assert long not in "".join(_texts(fig)) and any("…" in t for t in _texts(fig))


def test_funnel_names_the_units_beyond_the_outer_limits():
    """A group of twenty units around 80 with one far below: one panel per group, the outlier named."""
    from honorcalc.fairness import funnel_limits

    rng = np.random.default_rng(4)
    score = np.r_[rng.normal(80, 2, 19), 55.0, rng.normal(75, 2, 12)]
    se = np.r_[rng.uniform(1, 3, 20), rng.uniform(1, 3, 12)]
    group = np.r_[["街道"] * 20, ["社区"] * 12]
    res = funnel_limits(score, se, level=(0.95, 0.998), groups=group, winsor=0.0).table
    table = pd.DataFrame({
        "unit_id": [f"U{k:02d}" for k in range(32)], "name": [f"单位{k}" for k in range(32)],
        "ranking_group": group, "score": score, "precision": res["precision"], "target": res["target"],
        "tau2": res["tau2"], "level_inner": 0.95, "level_outer": 0.998, "status_outer": res["status_99.8"],
    })
    assert (table["status_outer"] == "below").sum() == 1
    fig = figures.plot_funnel(table)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["社区", "街道"]
    named = [t.get_text() for ax in panels for t in ax.texts]
    assert named == ["单位19"]
    _assert_glyphs_and_font(fig)


def test_annual_panels_name_the_groups_of_a_kind_scope(demo):
    from honorcalc.rules.annual import evaluate_year

    root, ds = demo
    params = params_from_mapping({"dataset": str(root), "round": ROUND, "lists": {"ranking_scope": "kind"}})
    fig = figures.plot_points_over_year(evaluate_year(ds, params, ROUND))
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
    assert {t.split("（")[0] for t in titles} == {"行业单位", "属地单位"}
