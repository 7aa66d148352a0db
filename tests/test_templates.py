"""The reports' HTML comes from the Jinja2 templates: escaped, strict, complete in both languages."""

from __future__ import annotations

import re

import jinja2
import pandas as pd
import pytest

from honorcalc.data.read import load_dataset
from honorcalc.params import load_params
from honorcalc.report import annual_report, round_report
from honorcalc.report import html as report_html
from honorcalc.report.i18n import ANNUAL_LABELS, LABELS, labels
from honorcalc.report.view import build_annual_view, build_view
from honorcalc.runs.pipeline import evaluate, run_tables

from .conftest import tiny_tables, write_tables

ROUND_FRAGMENTS = ("title", "summary", "red_list", "black_list", "vetoes", "ties", "practices", "distribution",
                   "evidence", "fairness", "group_rankings", "data_overview", "appendix")
ANNUAL_FRAGMENTS = ("title", "summary", "leaders", "points_over_year", "escalations", "quota", "laggards",
                    "standing", "data_overview", "appendix")
#: Every optional part of a round report switched on; one unit vetoed, a tie at the red list's cut.
EVERYTHING = ["tiers.method=cuts", "flags.enabled=true", "slips.enabled=true", "pass_quota.share=0.5",
              "lists.comprehensive_size=1"]
CHINESE_PUNCTUATION = "；、，：。（）"


def tied_tables() -> dict[str, pd.DataFrame]:
    """The tiny dataset with 东城区 and 西城区 on equal scores and no deductions: a tie at rank 1."""
    tables = tiny_tables()
    tables["scores"].loc[4, "points"] = "55"
    tables["scores"].loc[5, "points"] = "38"
    tables["deductions"] = tables["deductions"].iloc[:0]
    return tables


def ascii_tables() -> dict[str, pd.DataFrame]:
    """`tied_tables` with every name, group, category and topic in ASCII."""
    tables = tied_tables()
    tables["units"]["name"] = ["East district", "Police bureau", "West district", "None"]
    tables["units"]["group"] = ["Districts", "Departments", "Districts", "Departments"]
    tables["indicators"]["name"] = ["Street vending", "Back streets", "Online filing"]
    tables["indicators"]["category"] = ["Order", "Hygiene", "Online"]
    tables["indicators"]["topic"] = ["", "", "Online"]
    tables["rounds"]["topic"] = ["", "Online"]
    return tables


def round_fragments(params) -> dict[str, str]:
    dataset = load_dataset(params.dataset)
    result = evaluate(params, dataset)
    view = build_view(params, dataset, run_tables(params, dataset, result), result)
    return {name: getattr(round_report, name)(view) for name in ROUND_FRAGMENTS}


def annual_fragments(params) -> dict[str, str]:
    params = params.model_copy(update={"report": "annual"})
    dataset = load_dataset(params.dataset)
    result = evaluate(params, dataset)
    view = build_annual_view(params, dataset, run_tables(params, dataset, result), result)
    return {name: getattr(annual_report, name)(view) for name in ANNUAL_FRAGMENTS}


def params_for(directory, tables, overrides=(), city="测试市"):
    write_tables(directory / "data", tables)
    path = directory / "p.yaml"
    path.write_text(f"dataset: data\nround: C2026Q1\ncity: {city}\n", encoding="utf-8")
    return load_params(path, list(overrides))


@pytest.fixture(scope="module")
def templates_used(tmp_path_factory):
    """Every fragment of round (all parts on, a special round) and annual reports in zh and en,
    and the names of the templates they rendered."""
    env = report_html.environment()
    used = {"zh": set(), "en": set()}
    lang = "zh"
    get_template = env.get_template

    def spy(name, *args, **kwargs):
        used[lang].add(name)
        return get_template(name, *args, **kwargs)

    env.get_template = spy
    try:
        shown = {}
        for lang in ("zh", "en"):
            base = tmp_path_factory.mktemp(f"all_{lang}")
            params = params_for(base, tied_tables(), [f"lang={lang}", *EVERYTHING])
            shown[lang, "round"] = round_fragments(params)
            shown[lang, "special"] = round_fragments(params.model_copy(update={"round": "S2026-01a"}))
            shown[lang, "annual"] = annual_fragments(params)
            no_quota = params.model_copy(update={"pass_quota": params.pass_quota.model_copy(update={"share": None})})
            shown[lang, "annual without quota"] = annual_fragments(no_quota)
    finally:
        del env.get_template
    return shown, used


def test_every_template_is_rendered_in_both_languages(templates_used):
    shown, used = templates_used
    every = {p.name for p in report_html.TEMPLATES.glob("*.html.j2")} - {"page.html.j2"}
    assert every - used["zh"] == set() and every - used["en"] == set()
    for (lang, kind), fragments in shown.items():
        assert fragments["title"].startswith("<style>"), (lang, kind)
        for name, fragment in fragments.items():
            assert isinstance(fragment, report_html.Html), (lang, kind, name)
    rich = shown["zh", "round"]
    for name in ROUND_FRAGMENTS:
        # nothing optional left out; the input data are the appendix's (data_overview shows nothing)
        assert rich[name] or name == "data_overview", name
    assert "并列单位全部入榜" in rich["ties"] and "一票否决" in rich["vetoes"]
    assert "all tied units in" in shown["en", "round"]["ties"]


def test_labels_are_complete_in_both_languages():
    for table in (LABELS, ANNUAL_LABELS):
        assert set(table["zh"]) == set(table["en"])
        assert all(isinstance(v, str) for lang in table.values() for v in lang.values())
    # the templates read labels as attributes (L.red): no key may be a dict method's name
    assert not set(labels("zh", annual=True)) & set(dir(dict))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Every fragment, in Chinese and English, of data with markup and template syntax in it."""
    tables = tied_tables()
    tables["units"].loc[2, "name"] = "<script>alert(1)</script>"
    tables["units"]["group"] = tables["units"]["group"].replace("县区", "{{ 7*7 }}")
    shown = {}
    for lang in ("zh", "en"):
        params = params_for(tmp_path_factory.mktemp(f"hostile_{lang}"), tables, [f"lang={lang}", *EVERYTHING],
                            city="'{{ 7*7 }}'")
        shown.update({(lang, "round", k): v for k, v in round_fragments(params).items()})
        shown.update({(lang, "annual", k): v for k, v in annual_fragments(params).items()})
    return shown


def test_markup_and_template_syntax_in_the_data_are_shown_as_text(hostile):
    for where, fragment in hostile.items():
        assert "<script" not in fragment, where
        assert fragment.count("7*7") == fragment.count("{{ 7*7 }}"), where  # never evaluated
    for lang in ("zh", "en"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile[lang, "round", "red_list"]
        assert "{{ 7*7 }}" in hostile[lang, "round", "red_list"]
        assert "{{ 7*7 }}" in hostile[lang, "round", "title"]
        assert "{{ 7*7 }}" in hostile[lang, "annual", "standing"]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile[lang, "annual", "standing"]


def test_an_english_report_of_ascii_data_has_no_chinese_punctuation(tmp_path):
    params = params_for(tmp_path, ascii_tables(), ["lang=en", *EVERYTHING, "veto.prerequisite_category=Order",
                                                   "veto.prerequisite_min=99"], city="Testville")
    shown = {**round_fragments(params)}
    special = round_fragments(params.model_copy(update={"round": "S2026-01a"}))
    shown.update({f"special {k}": v for k, v in special.items()})
    shown.update({f"annual {k}": v for k, v in annual_fragments(params).items()})
    for name, fragment in shown.items():
        text = re.sub(r'src="data:image/png;base64,[^"]*"', "", fragment)
        found = sorted({c for c in text if c in CHINESE_PUNCTUATION})
        assert found == [], (name, found)
    # several reasons for one veto, the units of a tie, a special round's caps: English separators
    assert "below 75%; prerequisite &#39;Order&#39;" in shown["vetoes"]
    assert "(East district, West district)" in shown["ties"]
    assert "2 units, at most 0; " in shown["special red_list"]


def test_a_value_missing_from_the_context_is_an_error():
    with pytest.raises(jinja2.UndefinedError):
        report_html.render("round_summary.html.j2", L=labels("zh"), text="x", key_figures=[])
    with pytest.raises(jinja2.UndefinedError):
        report_html.render("round_title.html.j2", L={}, city="x", heading="h", round_name="2026年1月1日综合测评")


def test_tables_format_numbers_and_escape_text():
    frame = pd.DataFrame({"a": [1234.5, float("nan")], "b": [3, 4], "c": ["<i>x</i>", None],
                          "sha256": ["ab<c", None]})
    context = report_html.table(frame, ["red", ""], code=("sha256",))
    shown = report_html.environment().from_string(
        '{% from "_macros.html.j2" import table %}{{ table(t) }}').render(t=context)
    assert '<tr class="red"><td class="num">1,234.50</td><td class="num">3</td><td>&lt;i&gt;x&lt;/i&gt;</td>' \
           '<td><code>ab&lt;c</code></td></tr>' in shown
    assert '<tr><td></td><td class="num">4</td><td></td><td><code></code></td></tr>' in shown
    assert "<th>sha256</th>" in shown


def test_the_page_holds_the_body_as_is_and_escapes_the_title():
    page = report_html.page("<p>cell outputs</p>", title="<测试市> & co", lang="zh", version="9.9")
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"zh-CN\">") and page.endswith("</html>\n")
    assert "<title>&lt;测试市&gt; &amp; co</title>" in page
    assert "<body>\n<p>cell outputs</p>\n</body>" in page
    assert '<meta name="generator" content="honorcalc 9.9">' in page
    assert '<html lang="en">' in report_html.page("", title="t", lang="en", version="1")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_the_page_embeds_a_font_cut_to_its_text_and_prints_folded_sections_open():
    """WenQuanYi Micro Hei, cut to the page's characters, as a data URI; the same bytes each time;
    print CSS and an inline script unfold every <details>."""
    import base64
    import io

    from fontTools.ttLib import TTFont

    page = report_html.page("<p>红黑榜&lt;通报&gt;</p>", title="测试市", lang="zh", version="1")
    assert page == report_html.page("<p>红黑榜&lt;通报&gt;</p>", title="测试市", lang="zh", version="1")
    found = re.search(r"url\(data:font/(woff2?);base64,([A-Za-z0-9+/=]+)\) format\(\"(woff2?)\"\)", page)
    assert found and found.group(1) == found.group(3) == report_html.font_flavor()
    font = TTFont(io.BytesIO(base64.b64decode(found.group(2))))
    assert font.flavor == found.group(1)
    cmap = set(font.getBestCmap())
    assert {ord(c) for c in "红黑榜通报测试市<>09Az"} <= cmap and ord("城") not in cmap
    assert '"honorcalc WenQuanYi Micro Hei"' in page
    assert "details::details-content { content-visibility: visible; display: contents; }" in page
    assert "<script>" in page and 'addEventListener("beforeprint"' in page


def test_a_fragment_is_shown_as_html_in_a_notebook():
    fragment = report_html.render("figures.html.j2", heading="<h>", figures=[])
    assert fragment._repr_html_() == str(fragment) == '<div class="hc">\n<h2>&lt;h&gt;</h2>\n</div>'
