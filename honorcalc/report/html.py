"""The reports' HTML, rendered from the Jinja2 templates in ``templates/``.

One `jinja2.Environment` (built on first use) renders every template with
autoescaping on, so a string from the data (a unit named ``<script>``, a group
named ``{{ 7*7 }}``) is always shown as text, and with `jinja2.StrictUndefined`,
so a template that names a value its context lacks fails instead of showing
nothing. The fragment functions of `honorcalc.report.round_report` and
`honorcalc.report.annual_report` compute a context (plain values, rows, label
strings from `honorcalc.report.i18n`) and call `render`; a layout change is an
edit of a template.

Markup is marked safe in the templates in three places only: nbconvert's body
in `page` (already escaped by nbconvert), a figure's ``<img>`` (`figure`) and a
fragment that a template of this package rendered.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd

__all__ = ["TEMPLATES", "Html", "environment", "render", "page", "table", "figure"]

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
    )
    env.filters["amount"] = "{:,.2f}".format
    return env


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
        intranet machines are often offline).
    """
    tag = {"zh": "zh-CN", "en": "en"}.get(lang, lang)
    return str(render("page.html.j2", body=body, title=title, lang=tag, version=version)) + "\n"


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


def table(frame, row_classes: list[str] | None = None, *, code: tuple[str, ...] = ()) -> dict:
    """The context of the ``table`` macro (``_macros.html.j2``) for a data frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Its column names are the headers; every value is shown escaped.
    row_classes : list of str, optional
        A CSS class for each row (``red``, ``black`` or empty).
    code : tuple of str
        Columns shown in monospace (hashes).

    Returns
    -------
    dict
        ``columns`` (str), ``code`` (a bool per column), ``rows`` (each a ``class`` and its ``cells``): every
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
    return {"columns": columns, "code": mono, "rows": rows}


def figure(title: str, fig) -> dict:
    """The context of the ``figure`` macro: a heading and the figure as an ``<img>`` (the figure is closed).

    The ``<img>`` of `honorcalc.report.figures.to_html_img` holds a base64 PNG and the
    escaped ``title`` as its alt text, and is inserted as markup.
    """
    from .figures import to_html_img

    return {"title": title, "img": to_html_img(fig, title)}
