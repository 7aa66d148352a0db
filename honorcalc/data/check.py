"""``honorcalc check``: is a dataset ready? Every problem at once, before any report is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, ValidationError
from ..messages import localize_error, localize_notice
from .contract import TABLE_NAMES_ZH, TABLES

__all__ = ["CheckOutcome", "check_dataset"]


@dataclass(frozen=True)
class CheckOutcome:
    """What `check_dataset` found: ``ok`` when the data can be used, and the text to show."""

    ok: bool
    text: str


_WORDS = {
    "zh": {
        "checked": "检查：{path}",
        "ok": "数据可以使用：没有发现问题。",
        "not_ok": "数据暂不能使用，请逐项修改后再检查。",
        "tables": "各表行数：",
        "table": "  {name}：{rows:,} 行",
        "rounds": "测评轮次：{n} 轮（{first} 至 {last}），有评分的 {scored} 轮",
        "raters": "评分人：{n} 人已记录",
        "final": "评分人：未记录（仅有最终得分）。评分人之间的一致性和评分尺度宽严无法评估。",
        "mixed": "评分人：部分评分未记录评分人（{n:,} 条仅有最终得分）",
        "notices": "提示（已按说明读取，无需修改）：",
        "params": "参数文件：{path}（数据：{dataset}）",
    },
    "en": {
        "checked": "Checked: {path}",
        "ok": "The data can be used: no problem found.",
        "not_ok": "The data cannot be used yet: fix each problem and check again.",
        "tables": "Rows per table:",
        "table": "  {name}: {rows:,} rows",
        "rounds": "Rounds: {n} ({first} to {last}), {scored} with scores",
        "raters": "Raters: {n} recorded",
        "final": "Raters: not recorded (final scores only). Rater agreement and severity cannot be assessed.",
        "mixed": "Raters: some scores name no rater ({n:,} are final scores only)",
        "notices": "Notices (read as described, nothing to fix):",
        "params": "Params file: {path} (dataset: {dataset})",
    },
}


def check_dataset(path: str | Path, *, lang: str = "zh", limit: int | None = 200) -> CheckOutcome:
    """Validate a dataset folder, workbook or params file without running anything.

    Parameters
    ----------
    path : a dataset folder, a workbook (``.xlsx``), or a params file (``.yaml``),
        whose parameters and dataset are both checked (and its round, that it has scores).
    lang : ``zh`` or ``en``, the language of the text.
    limit : the most problems listed (None: all of them).

    Returns
    -------
    CheckOutcome
        ``ok`` is False when any problem was found; ``text`` lists every problem
        (up to ``limit``), or, when there is none, a summary of what was read.
    """
    from ..params import load_params
    from .read import load_dataset

    words = _WORDS["en" if lang == "en" else "zh"]
    path = Path(path)
    lines = [words["checked"].format(path=path)]
    params = None
    try:
        if path.suffix.lower() in (".yaml", ".yml") and not path.is_dir():
            params = load_params(path)
            lines.append(words["params"].format(path=path, dataset=params.dataset))
            target = params.dataset
        else:
            target = path
        dataset = load_dataset(target)
        if params is not None:
            dataset.require_round(params.round)
    except ValidationError as err:
        shown = len(err.failure_cases) if limit is None else limit
        every = ValidationError(err.failure_cases, max_shown=shown)
        return CheckOutcome(False, "\n".join([*lines, localize_error(every, lang), words["not_ok"]]))
    except InputError as err:
        return CheckOutcome(False, "\n".join([*lines, localize_error(err, lang), words["not_ok"]]))
    return CheckOutcome(True, "\n".join([*lines, words["ok"], *_summary(dataset, words, lang)]))


def _summary(dataset, words: dict, lang: str) -> list[str]:
    lines = [words["tables"]]
    for table in TABLES:
        frame = dataset.table(table)
        if table in dataset.files or len(frame):
            name = table if lang == "en" else f"{TABLE_NAMES_ZH[table]}"
            lines.append(words["table"].format(name=name, rows=len(frame)))
    rounds = dataset.rounds.sort_values(["date", "round_id"])
    if len(rounds):
        scored = dataset.scores["round_id"].nunique()
        lines.append(words["rounds"].format(n=len(rounds), first=rounds["round_id"].iloc[0],
                                            last=rounds["round_id"].iloc[-1], scored=scored))
    from .contract import is_final_score_rater

    final = is_final_score_rater(dataset.scores["rater_id"])
    if dataset.final_scores_only:
        lines.append(words["final"])
    elif final.any():
        lines.append(words["mixed"].format(n=int(final.sum())))
    else:
        lines.append(words["raters"].format(n=dataset.scores["rater_id"].nunique()))
    if dataset.notices:
        lines.append(words["notices"])
        lines += [f"  {localize_notice(n, lang)}" for n in dataset.notices]
    return lines
