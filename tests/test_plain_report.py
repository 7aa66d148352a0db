"""The HTML report speaks plainly: a summary paragraph first, names not codes, and every
statistic, test, hash, parameter and the run id in one final section, 附录.

The body is built as the report notebook builds it: the fragments of
``honorcalc/report/notebooks/*.ipynb``, called in the order of its cells.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from honorcalc.data.read import load_dataset
from honorcalc.params import load_params
from honorcalc.report import annual_report, round_report
from honorcalc.report import html as report_html
from honorcalc.report.execute import ANNUAL_NOTEBOOK, ROUND_NOTEBOOK
from honorcalc.report.view import build_annual_view, build_view, run_folder
from honorcalc.runs.pipeline import evaluate, run_tables

ROOT = Path(__file__).resolve().parent.parent

#: Words of statistics, tests and audit records that only the appendix may use.
STATISTICS_WORDS = (
    "Φ", "ICC", "α", "Krippendorff", "Kendall", "CUSUM", "Mann-Kendall", "置换检验", "标准误", "τ", "σ", "ρ",
    "sha256", "SHA256", "哈希", "TOST", "Benjamini", "infit", "outfit", "置信", "检验", "显著", "1.96", "±",
    "p 值", "p值", "q 值", "bootstrap", "概化", "漏斗图", "运行编号", "run id", "manifest", "honorcalc explain",
    "ranking.csv", "raters.csv", "fairness.", "severity_min", "pass_quota", "tiers.method", "veto.action",
    "confidence interval", "p-value", "permutation", "standard error",
)
#: A statistic with its value ("p = 0.03", "q < 0.001", "z = 2.1", "W = 0.4") or a hash.
STATISTICS_PATTERNS = (r"(?<![A-Za-z])[pqzW]\s*[=<>≤]", r"\b[0-9a-f]{64}\b")
#: Rules data and codes a reader should never see as such.
CODES = ("industry", "territorial", ">all<", "red_flag", "black_flag", "all_in", "none_in", "comprehensive",
         "C2026Q2", "C2026Q4", "S2026-")


def notebook_cells(notebook: Path) -> list[str]:
    """The fragment functions a report notebook calls, in the order of its cells."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return [m.group(1) for s in sources for m in [re.fullmatch(r"present\.(\w+)\(view\)", s.strip())] if m]


def body(module, view, notebook: Path) -> str:
    return "\n".join(str(getattr(module, name)(view)) for name in notebook_cells(notebook))


def visible_text(markup: str) -> str:
    """What a reader sees: no style sheet, script, tag or embedded image; entities read."""
    markup = re.sub(r"<(style|script)\b.*?</\1>", " ", markup, flags=re.S)
    markup = re.sub(r"<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(markup))


def before_appendix(markup: str, heading: str = "附录") -> str:
    """The markup before the appendix's heading (which must be there, once)."""
    parts = re.split(rf"<h2[^>]*>{heading}</h2>", markup)
    assert len(parts) == 2, f"the heading {heading} appears {len(parts) - 1} times"
    return parts[0]


def technical_words(text: str, extra=()) -> list[str]:
    found = [w for w in (*STATISTICS_WORDS, *extra) if w in text]
    found += [m.group(0) for p in STATISTICS_PATTERNS for m in re.finditer(p, text)]
    return found




def _view(params_file: Path, overrides=(), run_dir=None):
    params = load_params(params_file, list(overrides))
    dataset = load_dataset(params.dataset)
    result = evaluate(params, dataset)
    build = build_annual_view if params.report == "annual" else build_view
    return build(params, dataset, run_tables(params, dataset, result), result, run_dir=run_dir)


@pytest.fixture(scope="module")
def round_run(demo_city, tmp_path_factory):
    """The demo's round report, made in a run folder while it is written (its hidden temporary name)."""
    folder = tmp_path_factory.mktemp("reports") / "C2026Q2" / ".20260630T101500Z-abc123.x9y8"
    folder.mkdir(parents=True)
    view = _view(demo_city / "params" / "demo.yaml", run_dir=folder)
    return view, body(round_report, view, ROUND_NOTEBOOK)


@pytest.fixture(scope="module")
def annual_run(demo_city):
    view = _view(demo_city / "params" / "demo-annual.yaml")
    return view, body(annual_report, view, ANNUAL_NOTEBOOK)


def test_the_notebooks_cells_are_known():
    assert notebook_cells(ROUND_NOTEBOOK)[:2] == ["title", "summary"]
    assert notebook_cells(ROUND_NOTEBOOK)[-1] == "appendix"
    assert notebook_cells(ANNUAL_NOTEBOOK)[-1] == "appendix"


def test_no_statistics_before_the_appendix_of_a_round_report(round_run):
    view, markup = round_run
    text = visible_text(before_appendix(markup))
    assert technical_words(text, extra=(view.run_id,)) == []
    assert [c for c in CODES if c in before_appendix(markup)] == []


def test_no_statistics_before_the_appendix_of_an_annual_report(annual_run):
    _, markup = annual_run
    text = visible_text(before_appendix(markup))
    assert technical_words(text) == []
    assert [c for c in CODES if c in before_appendix(markup)] == []


def test_an_english_report_keeps_statistics_for_the_appendix_too(demo_city):
    view = _view(demo_city / "params" / "demo.yaml", ["lang=en"])
    markup = body(round_report, view, ROUND_NOTEBOOK)
    assert technical_words(visible_text(before_appendix(markup, "Appendix"))) == []


def test_the_appendix_holds_the_statistics_the_run_and_how_to_explain_a_unit(round_run):
    view, markup = round_run
    appendix = visible_text(markup.split(">附录</h2>")[1])
    assert view.run_id == "20260630T101500Z-abc123"
    assert f"运行编号 {view.run_id}" in appendix and "轮次编号 C2026Q2" in appendix
    folder = view.run_dir
    assert folder.name == view.run_id and folder.parent.name == "C2026Q2"
    assert f"honorcalc explain {folder} U084" in appendix  # the vetoed unit, by its id
    for word in ("ICC", "Krippendorff", "Kendall", "sha256", "p < 0.001", "Benjamini", "red_min"):
        assert word in appendix, word


def test_a_report_made_outside_a_run_folder_says_it_is_not_saved(tmp_path, tiny_params):
    params = load_params(tiny_params)
    dataset = load_dataset(params.dataset)
    result = evaluate(params, dataset)
    view = build_view(params, dataset, run_tables(params, dataset, result), result)
    assert (view.run_id, view.run_dir) == (None, None)
    shown = visible_text(round_report.appendix(view))
    assert "未保存的运行" in shown and "无法用 honorcalc explain 查询" in shown and "honorcalc explain <" not in shown
    assert run_folder(tmp_path / "C1" / "20260101T000000Z-ab12") == ("20260101T000000Z-ab12",
                                                                      tmp_path / "C1" / "20260101T000000Z-ab12")
    assert run_folder("") == (None, None)


def test_the_round_report_reads_top_down(round_run):
    """Title, summary paragraph, lists, vetoes, evidence, fairness, group rankings, then 附录, last."""
    _, markup = round_run
    headings = [visible_text(h).strip() for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", markup)]
    assert headings == ["文明示范市红黑榜测评通报", "概况", "红榜", "黑榜", "得分依据", "公平性分析", "分组排名", "附录"]
    assert markup.index("一票否决只取消红榜资格") < markup.index(">得分依据<")
    # the first thing under 概况 is the summary paragraph, in words
    first = visible_text(markup.split(">概况</h2>")[1]).strip()
    assert first.startswith("本期共测评150家单位，分4组排名。红榜18家，黑榜11家。5家单位同一工作连续被列入黑榜，启动核查程序。")
    assert "1家单位达到红榜条件，因一票否决未列入红榜。县区当期不设黑榜。" in first


def test_the_annual_report_reads_top_down(annual_run):
    _, markup = annual_run
    headings = [visible_text(h).strip() for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", markup)]
    assert headings[0] == "文明示范市2026年度红黑榜考核报告" and headings[-1] == "附录"
    first = visible_text(markup.split(">概况</h2>")[1]).strip()
    assert first.startswith("本年度计入28期通报，150家单位参评：红榜上榜390次，黑榜上榜243次；19家单位启动核查程序，共90次；")
    assert headings.index("持续后进单位") < headings.index("全部单位年度积分") < headings.index("附录")
    assert "持续后进单位的认定方法" in markup.split(">附录</h2>")[1]
    assert "截至2026年12月31日综合测评" in visible_text(markup)


def test_every_listed_unit_says_why(round_run):
    """Each row of the lists names the unit's two weakest categories against its group's mean,
    and its deductions with their codes."""
    view, markup = round_run
    black = visible_text(str(round_report.black_list(view)))
    # 城北街道 (U070): a deduction of the negative list (N03), in two consecutive rounds
    assert re.search(r"城北街道 64\.71 .*较弱类别：志愿服务 60\.0（组均 81\.2）、公共秩序 60\.2（组均 81\.0）；"
                     r"扣分：N03 垃圾暴露 −1分", black)
    black_ids = view.result.units.loc[view.result.units["list"] == "black", "unit_id"]
    reasons = round_report.unit_reasons(view, black_ids)
    assert all(reasons[u].startswith("较弱类别：") and reasons[u].count("组均") == 2 for u in black_ids)
    # a red-listed unit is told by its strongest categories, each above its group's mean
    red = view.result.units[view.result.units["list"] == "red"]
    strong = round_report.unit_reasons(view, red["unit_id"], strongest=True)
    for u in red["unit_id"]:
        assert strong[u].startswith("较强类别：") and strong[u].count("组均") == 2
        pairs = re.findall(r" ([0-9.]+)（组均 ([0-9.]+)）", strong[u])
        assert all(float(a) >= float(b) for a, b in pairs), strong[u]
    red_text = visible_text(str(round_report.red_list(view)))
    assert "较强类别：" in red_text and "较弱类别：" not in red_text


def test_page_embeds_its_font_and_prints_folded_sections_open(round_run):
    _, markup = round_run
    page = report_html.page(markup, title="文明示范市红黑榜测评通报", lang="zh", version="9")
    face = re.search(r'@font-face \{ font-family: "honorcalc WenQuanYi Micro Hei";.*?'
                     r'src: url\(data:font/(woff2?);base64,([A-Za-z0-9+/=]+)\)', page)
    assert face, "no embedded font"
    import base64
    import io

    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(base64.b64decode(face.group(2))))
    cmap = font.getBestCmap()
    shown = set(visible_text(markup)) - set(" \n")
    missing_from_font = {c for c in shown if ord(c) not in cmap}
    full = set(TTFont(report_html.TEMPLATES.parent / "fonts" / "wqy-microhei.ttc", fontNumber=0).getBestCmap())
    assert {c for c in missing_from_font if ord(c) in full} == set()  # every glyph the font has, kept
    assert len(cmap) < 3000  # a subset: the font has some 30,000
    assert "details::details-content { content-visibility: visible; display: contents; }" in page
    assert 'addEventListener("beforeprint"' in page and "d.open = true" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
