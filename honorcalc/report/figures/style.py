"""The one style of the report's figures: the bundled font, sizes, colours and the layout helpers.

Importing this module changes nothing in matplotlib. The bundled font is added
to matplotlib's font manager the first time a style is asked for
(`load_font`, once per process), and the rcParams of `style` hold only inside
``matplotlib.rc_context(style())``, around the building of a figure and its
saving (`honorcalc.report.figures.export.png_bytes`). The texts of a figure name
the font itself (``font.family`` is the font, not "sans-serif"), so a figure
drawn later outside that context, as a notebook's inline display does, still
shows its Chinese.

Text
----
Every text is drawn as written: ``text.parse_math`` is off, so a ``$`` in a
unit, group, category or rater name is a dollar sign, not the start of
mathtext (``单位$$`` would not parse, ``a$b$c`` would be drawn as a formula),
and ``text.usetex`` is off. A text keeps the setting it was made with, so a
figure drawn later outside the style draws its names plainly too.

Font
----
`FONT_PATH`: WenQuanYi Micro Hei (文泉驿微米黑) 0.2.0-beta, face 0 of
``honorcalc/report/fonts/wqy-microhei.ttc``, taken unchanged from Debian's
package ``fonts-wqy-microhei`` and shipped inside honorcalc's wheel with its
licence (Apache-2.0, or GPLv3 with a font-embedding exception; see
``fonts/README.md``). No system font is assumed and nothing is downloaded.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from ...errors import ParamError
from ...rules.scoring import require_columns

__all__ = [
    "round_date",
    "FONT_PATH", "FONT_NAME", "DPI", "load_font", "style",
    "TITLE_SIZE", "PANEL_TITLE_SIZE", "LABEL_SIZE", "TICK_SIZE", "PT", "TICK",
    "RED", "BLACK", "GREY", "LIGHT", "HARSH", "LENIENT",
    "NAME_CHARS", "short", "require", "texts_in",
    "new_figure", "text_size", "set_margins", "add_titles",
]

#: The bundled CJK font file (WenQuanYi Micro Hei; matplotlib uses face 0 of the collection).
FONT_PATH = Path(__file__).resolve().parent.parent / "fonts" / "wqy-microhei.ttc"
#: Its family name, as matplotlib knows it (checked when the font is loaded).
FONT_NAME = "WenQuanYi Micro Hei"

#: PNG resolution of the report: 10 in wide → 1100 px, sharp on a laptop, small in the HTML.
DPI = 110

#: Font sizes in points: the figure's title, a panel's title, axis labels, tick labels.
TITLE_SIZE = 13
PANEL_TITLE_SIZE = 11
LABEL_SIZE = 10
TICK_SIZE = 9

#: Inches per point.
PT = 1 / 72
#: Tick length plus the gap to its label (rcParams ``*tick.major.size`` + ``*tick.major.pad``).
TICK = 7 * PT

RED = "#c62828"
BLACK = "#212121"
GREY = "#9e9e9e"
LIGHT = "#d0d0d0"
HARSH = "#1565c0"
LENIENT = "#ef6c00"

#: Most characters of a name a figure shows; longer names end in "…" (the tables show them whole).
NAME_CHARS = 24


@functools.cache
def load_font() -> bool:
    """Add the bundled font to matplotlib's font manager, once per process.

    Returns
    -------
    bool
        Whether the font has the minus sign U+2212 (``axes.unicode_minus``).

    Raises
    ------
    FileNotFoundError
        The font file is not where the package put it (a broken installation).
    RuntimeError
        The file is not the font the figures were designed with.
    """
    if not FONT_PATH.is_file():
        raise FileNotFoundError(f"the report's font is missing: {FONT_PATH} (reinstall honorcalc)")
    font_manager.fontManager.addfont(str(FONT_PATH))
    name = font_manager.FontProperties(fname=FONT_PATH).get_name()
    if name != FONT_NAME:
        raise RuntimeError(f"{FONT_PATH} holds the font {name!r}, not {FONT_NAME!r}")
    return 0x2212 in ft2font.FT2Font(str(FONT_PATH)).get_charmap()


def style() -> dict:
    """The rcParams every figure is built and saved under (a new dict each call).

    Use as ``with matplotlib.rc_context(style()):``; the first call loads the font
    (`load_font`).
    """
    has_minus = load_font()
    return {
        # DejaVu Sans (matplotlib's own) covers any symbol the CJK font lacks
        "font.family": [FONT_NAME, "DejaVu Sans"],
        "font.sans-serif": [FONT_NAME, "DejaVu Sans"],
        "axes.unicode_minus": has_minus,
        # every text as written: "$" in a unit name is a dollar sign, not mathtext (a name such
        # as 单位$$ would not even parse), and never TeX; stored on each text as it is made
        "text.parse_math": False,
        "text.usetex": False,
        "font.size": 10,
        "axes.titlesize": PANEL_TITLE_SIZE,
        "axes.labelsize": LABEL_SIZE,
        "xtick.labelsize": TICK_SIZE,
        "ytick.labelsize": TICK_SIZE,
        "figure.titlesize": TITLE_SIZE,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#666666",
        "axes.grid": False,
        "grid.color": "#e6e6e6",
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        # built at the PNG's resolution: the text measured to lay a figure out (`text_size`)
        # is then not measured again when it is saved
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "savefig.bbox": "standard",
        "path.simplify": True,
    }


# --------------------------------------------------------------------------- labels and inputs


def texts_in(texts: dict, lang: str | None, result=None) -> dict[str, str]:
    """The labels of ``texts`` (``{"zh": {...}, "en": {...}}``) in ``lang``, else in the result's language.

    Raises
    ------
    ParamError
        ``lang`` is not one of ``texts``' languages.
    """
    if lang is None:
        lang = result.params.lang if result is not None else "zh"
    if lang not in texts:
        raise ParamError(f"lang ('{lang}') not recognized; must be 'zh' or 'en'", parameter="lang")
    return texts[lang]


def require(frame: pd.DataFrame, what: str, columns) -> None:
    """Raise `InputError` naming the ``columns`` missing from ``frame`` (a table called ``what``)."""
    require_columns(frame, columns, what, label=what)


def short(label, limit: int = NAME_CHARS) -> str:
    """``label`` as text, cut to ``limit`` characters with "…" when longer.

    A figure's margins are measured from its labels; an absurdly long unit name
    must not squeeze the panels away.
    """
    text = str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- layout


def new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """A figure on its own Agg canvas.

    The report's figures pass ``layout=None`` and place their axes with
    `set_margins`: constrained layout measures every text of the figure and makes
    ``savefig`` draw the figure twice, most of a figure's time. Constrained layout
    remains the default for a figure whose margins are not worked out.
    """
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def text_size(fig: Figure, labels, size: float, *, rotation: float = 0) -> tuple[float, float]:
    """Width and height, in inches, of the widest and of the tallest of ``labels`` at ``size`` points.

    Measured as matplotlib measures text it draws, on the figure's own Agg renderer
    in the current font (call under `style`), so a fixed margin fits the text it
    holds. The renderer keeps the measurements: text measured here is not measured
    again when the figure is saved at its own dpi (`DPI`), and measuring glyphs of
    the CJK font is a good part of a figure's time. ``labels`` empty: (0, 0).
    """
    renderer = fig.canvas.get_renderer()
    width = height = 0.0
    for label in labels:
        box = Text(text=str(label), fontsize=size, rotation=rotation, figure=fig).get_window_extent(renderer)
        width, height = max(width, box.width), max(height, box.height)
    return width / fig.dpi, height / fig.dpi


def set_margins(fig: Figure, *, left: float, right: float, top: float, bottom: float,
                wgap: float = 0.0, hgap: float = 0.0, ncols: int = 1, nrows: int = 1) -> None:
    """Fix the subplot area by its margins and the gaps between panels, all in inches.

    Call before adding axes: `Figure.add_subplot` and `Figure.subplots` take
    their positions from these.
    """
    width, height = fig.get_size_inches()
    # a backstop: margins and gaps never take more than 70% of the figure, whatever the labels
    spent_w, spent_h = left + right + (ncols - 1) * wgap, top + bottom + (nrows - 1) * hgap
    if spent_w > 0.7 * width:
        k = 0.7 * width / spent_w
        left, right, wgap = left * k, right * k, wgap * k
    if spent_h > 0.7 * height:
        k = 0.7 * height / spent_h
        top, bottom, hgap = top * k, bottom * k, hgap * k
    cell_w = (width - left - right - (ncols - 1) * wgap) / ncols
    cell_h = (height - top - bottom - (nrows - 1) * hgap) / nrows
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                        bottom=bottom / height, wspace=wgap / cell_w, hspace=hgap / cell_h)


def add_titles(fig: Figure, title: str, note: str = "") -> float:
    """Title and one line of explanation in a band above the panels; returns the band's height in inches.

    A figure with a layout engine has its panels laid out below the band; the
    others leave that much room in their top margin (`set_margins`).
    """
    height = fig.get_figheight()
    band = 0.62 if note else 0.4
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.set(rect=(0, 0, 1, 1 - band / height))
    fig.text(0.012, 1 - 0.08 / height, title, ha="left", va="top", fontsize=TITLE_SIZE)
    if note:
        fig.text(0.012, 1 - 0.38 / height, note, ha="left", va="top", fontsize=9, color="#555555")
    return band


#: English month abbreviations of the round labels (independent of the system's locale).
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def round_date(date, lang: str, *, year: bool = False) -> str:
    """A round's short label, its date: 3月10日 / 10 Mar (with the year when ``year``)."""
    d = pd.Timestamp(date)
    if lang == "zh":
        return f"{d.year}年{d.month}月{d.day}日" if year else f"{d.month}月{d.day}日"
    return f"{d.day} {MONTHS[d.month - 1]}" + (f" {d.year}" if year else "")
