"""The reports' HTML, rendered from the Jinja2 templates in ``templates/``.

One `jinja2.Environment` (built on first use) renders every template with
autoescaping on, so a string from the data (a unit named ``<script>``, a group
named ``{{ 7*7 }}``) is always shown as text, and with `jinja2.StrictUndefined`,
so a template that names a value its context lacks fails instead of showing
nothing. The fragment functions of `honorcalc.report.round_report` and
`honorcalc.report.annual_report` compute a context (plain values, rows, label
strings from `honorcalc.report.i18n`) and call `render`; a layout change is an
edit of a template.

Markup is marked safe in the templates in four places only: nbconvert's body
in `page` (already escaped by nbconvert), the page's ``@font-face`` rule
(`font_face`: fixed words and base64), a figure's ``<img>`` (`figure`) and a
fragment that a template of this package rendered.

The page embeds its font: a subset of WenQuanYi Micro Hei holding only the
characters the page uses (`font_face`), so its Chinese renders on a machine
without Chinese fonts and the file stays one self-contained page.
"""

from __future__ import annotations

import base64
import html as html_text
import io
import threading
from pathlib import Path

import pandas as pd

from ..data.write import DIRECTION_CONTROLS

__all__ = ["TEMPLATES", "FONT_FAMILY", "Html", "environment", "render", "page", "font_face", "subset_font",
           "font_flavor", "table", "figure"]

#: The folder of the templates (package data).
TEMPLATES = Path(__file__).resolve().parent / "templates"


class Html(str):
    """An HTML fragment that a notebook displays as rich output."""

    def _repr_html_(self) -> str:
        return str(self)


_ENVIRONMENT = None
_LOCK = threading.Lock()


def environment():
    """The one `jinja2.Environment` of the reports: templates from `TEMPLATES`, autoescaped, strict.

    Returns
    -------
    jinja2.Environment
        Built on the first call, then shared (its compiled templates are cached).
    """
    global _ENVIRONMENT
    with _LOCK:
        if _ENVIRONMENT is None:
            _ENVIRONMENT = _new_environment()
    return _ENVIRONMENT


def _new_environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=without_direction_controls,
    )
    env.filters["amount"] = "{:,.2f}".format
    env.globals["DIRECTION_CONTROLS"] = DIRECTION_CONTROLS  # for the isolation of table cells (_macros)
    return env


_NO_DIRECTION = str.maketrans(dict.fromkeys(DIRECTION_CONTROLS))


def without_direction_controls(value):
    """Every text a template shows, without direction controls (the data's notices say which names held one).

    A name inside a sentence cannot be isolated from the words around it, which
    the template does not know; so the controls are removed from every plain text
    value. Fragments already rendered (`markupsafe.Markup`) are left as they are.
    """
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup) and any(c in value for c in DIRECTION_CONTROLS):
        return value.translate(_NO_DIRECTION)
    return value


def render(template_name: str, **context) -> Html:
    """Render the template ``template_name`` (a file of `TEMPLATES`) with ``context``.

    Parameters
    ----------
    template_name : str
        e.g. ``"round_summary.html.j2"``.
    **context
        The values the template names; every string among them is escaped.

    Returns
    -------
    Html

    Raises
    ------
    jinja2.UndefinedError
        The template names a value that ``context`` does not hold.
    jinja2.TemplateNotFound
        No such template.
    """
    return Html(environment().get_template(template_name).render(**context))


#: The family name of the font a page embeds (`font_face`); the reports' style sheet names it first.
FONT_FAMILY = "honorcalc WenQuanYi Micro Hei"

#: Always in the subset: printable ASCII (digits, Latin letters, what an entity such as ``&lt;`` shows).
_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def font_flavor() -> str:
    """The web-font format `subset_font` writes: ``woff2`` when a Brotli module is installed, else ``woff``.

    WOFF2 needs Brotli (the ``brotli`` package, or ``brotlicffi``); WOFF compresses with
    zlib, which Python always has, at some 30 % more bytes.
    """
    for module in ("brotli", "brotlicffi"):
        try:
            __import__(module)
        except ImportError:
            continue
        return "woff2"
    return "woff"


def subset_font(text: str, *, flavor: str | None = None) -> bytes:
    """The reports' font (face 0 of `honorcalc.report.figures.style.FONT_PATH`) cut to the glyphs of ``text``.

    Parameters
    ----------
    text : str
        Every character to keep; printable ASCII is always kept.
    flavor : {'woff2', 'woff'}, optional
        `font_flavor` by default.

    Returns
    -------
    bytes
        The font file, the same bytes for the same text (its timestamp is the
        original font's, hinting is dropped).
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    from .figures.style import FONT_PATH

    options = subset.Options()
    options.flavor = flavor or font_flavor()
    options.hinting = False
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: nothing a browser reads
    font = TTFont(FONT_PATH, fontNumber=0, recalcTimestamp=False, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text) | set(_ASCII))))
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


def font_face(text: str) -> str:
    """The ``@font-face`` rule of `FONT_FAMILY`: the font cut to ``text`` (`subset_font`), as a data URI.

    Parameters
    ----------
    text : str
        The page's text; markup in it only adds ASCII, which the subset holds anyway,
        and entities are read as the characters they show.
    """
    flavor = font_flavor()
    data = base64.b64encode(subset_font(html_text.unescape(text), flavor=flavor)).decode("ascii")
    return (f'@font-face {{ font-family: "{FONT_FAMILY}"; font-style: normal; font-weight: normal; '
            f'font-display: block; src: url(data:font/{flavor};base64,{data}) format("{flavor}"); }}')


def page(body: str, *, title: str, lang: str, version: str) -> str:
    """The self-contained HTML page of a report around nbconvert's ``body``.

    Parameters
    ----------
    body : str
        The exported cell outputs (nbconvert's ``basic`` template): HTML, inserted as is.
    title : str
        The page's title, escaped.
    lang : str
        The report's language, ``zh`` or ``en`` (written ``zh-CN`` and ``en``), or a
        language tag as is; escaped.
    version : str
        honorcalc's version, for the ``generator`` meta tag.

    Returns
    -------
    str
        The page: no script, style sheet or font is loaded from elsewhere (government
        intranet machines are often offline). Its font is embedded, cut to the
        characters of ``title`` and ``body`` (`font_face`); folded sections
        (``<details>``) print unfolded.
    """
    tag = {"zh": "zh-CN", "en": "en"}.get(lang, lang)
    return str(render("page.html.j2", body=body, title=title, lang=tag, version=version,
                      font_face=font_face(title + body), font_family=FONT_FAMILY)) + "\n"


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array: a value, shown as text
        return False


def _cell(value, code: bool):
    """A value as the table macro shows it: a float (``1,234.50``), an int, text, or None (empty)."""
    if _is_missing(value):
        return None
    if code:
        return str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return str(value)


def table(frame, row_classes: list[str] | None = None, *, code: tuple[str, ...] = (), css_class: str = "") -> dict:
    """The context of the ``table`` macro (``_macros.html.j2``) for a data frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Its column names are the headers; every value is shown escaped.
    row_classes : list of str, optional
        A CSS class for each row (``red``, ``black`` or empty).
    code : tuple of str
        Columns shown in monospace (hashes).
    css_class : str
        The table's CSS class: ``notes`` keeps every column but the last on one line.

    Returns
    -------
    dict
        ``class``, ``columns`` (str), ``code`` (a bool per column), ``rows`` (each a ``class`` and its ``cells``): every
        cell a float (right-aligned, two decimals), an int (right-aligned), a string, or None
        (an empty cell: a missing value).
    """
    columns = [str(c) for c in frame.columns]
    mono = [c in code for c in frame.columns]
    classes = row_classes or [""] * len(frame)
    rows = [
        {"class": str(cls or ""), "cells": [_cell(v, m) for m, v in zip(mono, row)]}
        for cls, row in zip(classes, frame.itertuples(index=False))
    ]
    return {"class": css_class, "columns": columns, "code": mono, "rows": rows}


def figure(title: str, fig) -> dict:
    """The context of the ``figure`` macro: a heading and the figure as an ``<img>`` (the figure is closed).

    The ``<img>`` of `honorcalc.report.figures.to_html_img` holds a base64 PNG and the
    escaped ``title`` as its alt text, and is inserted as markup.
    """
    from .figures import to_html_img

    return {"title": title, "img": to_html_img(fig, title)}
