"""Parameters of a run: a typed, frozen model whose defaults are RULES.md §1.

Every number of the rules lives here, never in code. A params file is YAML read
with a safe loader; unknown keys, wrong types and contradictory values are
`ParamError`s that name the parameter (and suggest the nearest valid key).

>>> p = Params(dataset="data/demo", round="C2026Q1")
>>> p.lists.red_min, p.lists.black_max, p.lists.comprehensive_size
(90.0, 70.0, 10)
"""

from __future__ import annotations

import difflib
import hashlib
import json
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ParamError

__all__ = [
    "Params",
    "params_sha256",
    "Weights",
    "Lists",
    "Points",
    "Escalation",
    "Deductions",
    "History",
    "Veto",
    "NegativeList",
    "Tiers",
    "Flags",
    "Slips",
    "PassQuota",
    "Audit",
    "Notice",
    "Fairness",
    "SOURCES",
    "load_params",
    "params_from_mapping",
    "apply_overrides",
    "params_to_yaml",
    "parameters_markdown", "numeric_range", "SOURCE_LABELS"]

SOURCES = ("field", "daily", "feedback", "leader", "public")
#: The five sources' names as RULES.md §1.2 gives them, and in English: the one spelling of every output.
SOURCE_LABELS = {
    "zh": {"field": "实地考察测评", "daily": "日常动态", "feedback": "上级部门反馈",
           "leader": "市级领导督导", "public": "群众监督举报"},
    "en": {"field": "field inspection", "daily": "day-to-day monitoring",
           "feedback": "feedback from higher authorities", "leader": "city leaders' supervision",
           "public": "public supervision"},
}


class _Section(BaseModel):
    # NaN and ±inf compare False with every bound, so they would pass as any threshold or weight
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- ranges
# Every number has a lower and an upper bound, stated at the end of its description (and so in
# the README's table): a value outside it is a ParamError naming the parameter. The bounds keep
# out what makes no sense (a threshold of 150 on a 0-100 score, a negative red-list point) and
# what no machine can run (a billion replicates, a list of 10²⁹ units).


def _number_text(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _range_text(ge=None, gt=None, le=None, lt=None) -> str:
    low = f"{_number_text(ge)} ≤ " if ge is not None else f"{_number_text(gt)} < "
    high = f" ≤ {_number_text(le)}" if le is not None else f" < {_number_text(lt)}"
    return f"range {low}x{high}"


def _number(default: Any, description: str, *, ge=None, gt=None, le=None, lt=None, **kwargs):
    """A numeric parameter: its bounds, and its description ending with the range they make."""
    return Field(default, ge=ge, gt=gt, le=le, lt=lt,
                 description=f"{description}; {_range_text(ge=ge, gt=gt, le=le, lt=lt)}", **kwargs)


def _items(description: str, **bounds) -> str:
    """The description of a list or mapping of numbers, ending with the range of each item."""
    return f"{description}; each {_range_text(**bounds)}"


#: A score or threshold on the 0-100 scale of the composite.
_Score = Annotated[float, Field(ge=0, le=100)]
#: A share, above 0 and at most 1.
_Share = Annotated[float, Field(gt=0, le=1)]
#: A two-sided confidence level.
_Level = Annotated[float, Field(ge=0.5, lt=1)]


def numeric_range(field) -> tuple[float | None, float | None, str]:
    """The lower and upper bound of a numeric parameter (of each item, for a list or mapping) and
    the text its description states them in (empty when a bound is missing).

    >>> numeric_range(Lists.model_fields["red_min"])
    (0, 100, 'range 0 ≤ x ≤ 100')
    """
    metadata = list(field.metadata)
    prefix = ""
    for arg in typing.get_args(field.annotation):
        if typing.get_origin(arg) is Annotated:
            for extra in typing.get_args(arg)[1:]:
                metadata += getattr(extra, "metadata", [extra])
            prefix = "each "
    bounds = {name: getattr(m, name) for m in metadata for name in ("ge", "gt", "le", "lt") if hasattr(m, name)}
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    if low is None or high is None:
        return low, high, ""
    return low, high, prefix + _range_text(**bounds)


class Weights(_Section):
    """Weight of each evidence source in the composite (RULES.md §1.2).

    RULES.md names the five sources but fixes no weights, so they default to
    equal shares. Weights are renormalised over the sources present for a unit, so
    any scale works (shares, percent, or a 1000-point scheme's points).
    """

    field: float = _number(0.2, "§1.2 实地考察测评 field inspection", ge=0, le=1000)
    daily: float = _number(0.2, "§1.2 日常动态 day-to-day monitoring", ge=0, le=1000)
    feedback: float = _number(0.2, "§1.2 上级部门反馈 feedback from higher authorities", ge=0, le=1000)
    leader: float = _number(0.2, "§1.2 市级领导督导 city leaders' supervision", ge=0, le=1000)
    public: float = _number(0.2, "§1.2 群众监督举报 public supervision", ge=0, le=1000)

    @model_validator(mode="after")
    def _some_weight(self):
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("the source weights sum to zero; at least one must be positive")
        return self

    def as_dict(self) -> dict[str, float]:
        return {s: float(getattr(self, s)) for s in SOURCES}


class Lists(_Section):
    """Red and black list criteria (RULES.md §1.3)."""

    red_min: float = _number(90.0, "§1.3 red needs score ≥ this (90分以上, inclusive)", ge=0, le=100)
    black_max: float = _number(70.0, "§1.3 black needs score ≤ this (70分以下, inclusive)", ge=0, le=100)
    comprehensive_size: int = _number(10, "§1.3 comprehensive rounds: top/bottom N (排名前十/后十)", ge=1, le=10_000)
    special_share: float = _number(
        0.2, "§1.3 special rounds: at most ⌊share × N⌋ units (不超过五分之一)", gt=0, le=1
    )
    tie_policy: Literal["all_in", "none_in"] = Field(
        "all_in", description="§1.3 a tie straddling the cut: all tied units in, or none of them"
    )
    precision: int = _number(2, "§1.3 scores are compared after rounding to this many decimals", ge=0, le=6)
    ranking_scope: Literal["group", "kind", "all"] = Field(
        "group", description="§1.1 rank within the ranking group (按行业/按属地), by unit kind, or across all"
    )

    @model_validator(mode="after")
    def _thresholds_ordered(self):
        if self.red_min <= self.black_max:
            raise ValueError(
                f"red_min ({self.red_min}) must be above black_max ({self.black_max}); "
                "otherwise a unit could be on both lists"
            )
        return self


class Points(_Section):
    """Annual-assessment points per listing (RULES.md §1.4): a red listing adds, a black one deducts."""

    comprehensive_red: float = _number(3.0, "§1.4 综合测评被红榜通报的，每次加3分", ge=0, le=100)
    comprehensive_black: float = _number(-3.0, "§1.4 综合测评被黑榜通报的，每次扣3分", ge=-100, le=0)
    special_red: float = _number(1.0, "§1.4 专项测评被红榜通报的，每次加1分", ge=0, le=100)
    special_black: float = _number(-1.0, "§1.4 专项测评被黑榜通报的，每次扣1分", ge=-100, le=0)


class Escalation(_Section):
    """核查程序: black-listed for the same work in this many consecutive rounds of it (§1.4)."""

    consecutive: int = _number(
        2, "§1.4 同一单位同一工作连续两次被黑榜通报 → 核查程序", ge=1, le=100
    )


class Deductions(_Section):
    """How deductions enter the composite (DESIGN.md scoring step 3; RULES.md §1.5.3)."""

    joint_share: float = _number(
        0.5, ge=0, le=1,
        description="§1.5.3 a joint-responsibility (连带责任) deduction counts at this share",
    )
    verified_only: bool = Field(True, description="DESIGN scoring 3: only verified deductions count")
    responsibility: bool = Field(
        True,
        description="§1.5.3 a primary deduction also counts against each unit the responsibility table "
                    "(责任关系) names for its unit (属地, 行业, 挂包), at that row's share (blank: joint_share); "
                    "false: only the deductions as recorded",
    )


class History(_Section):
    """Blend the current composite with trailing rounds of the same work (§1.5.4)."""

    weight: float = _number(
        0.0, ge=0, le=1,
        description="§1.5.4 share of the trailing rounds' mean in the score",
    )
    rounds: int = _number(
        0, ge=0, le=100,
        description="§1.5.4 how many trailing rounds of the same work",
    )

    @model_validator(mode="after")
    def _consistent(self):
        if self.weight > 0 and self.rounds == 0:
            raise ValueError("weight > 0 needs rounds ≥ 1 (which trailing rounds to blend)")
        return self


class Veto(_Section):
    """Vetoes that block the red list (RULES.md §2, 一票否决 / 前置条件)."""

    satisfaction_min: float | None = _number(
        0.75, ge=0, le=1,
        description="§2 群众满意率低于75%: vetoes the red list; null = off",
    )
    prerequisite_category: str | None = Field(
        None, description="§2 前置条件: category whose score (0–100) is a prerequisite; null = off"
    )
    prerequisite_min: float = _number(
        85.0, ge=0, le=100,
        description="§2 前置条件: prerequisite score below this vetoes",
    )
    action: Literal["no_red", "exclude"] = Field(
        "no_red",
        description="§2 no_red: keeps its rank, nobody promoted; exclude: out of the red ranking (the others' red "
                    "ranks close up); under both a vetoed unit can be black-listed",
    )


class NegativeList(_Section):
    """负面清单: deduction codes with fixed points, overriding the points in the data."""

    enabled: bool = Field(False, description="§2 负面清单: use fixed deductions per code")
    codes: dict[str, Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=dict, description=_items("code → points deducted", gt=0, le=100))

    @model_validator(mode="after")
    def _positive(self):
        if self.enabled and not self.codes:
            raise ValueError("enabled needs at least one code under codes")
        return self


class Tiers(_Section):
    """好 / 较好 / 一般 tiers, by score cuts or by shares of the ranking."""

    method: Literal["off", "cuts", "shares"] = Field(
        "off", description="§2 好/较好/一般 tiers: off, by score cuts, or by rank shares"
    )
    cuts: list[_Score] = Field(default_factory=lambda: [90.0, 80.0], min_length=2, max_length=2,
                               description=_items("score cuts [好, 较好]", ge=0, le=100))
    shares: list[_Share] = Field(default_factory=lambda: [0.2, 0.5], min_length=2, max_length=2,
                                 description=_items("cumulative rank shares [好, 较好]", gt=0, le=1))

    @model_validator(mode="after")
    def _ordered(self):
        if self.cuts[0] < self.cuts[1]:
            raise ValueError(f"cuts must be (好, 较好) with 好 ≥ 较好, got {self.cuts}")
        if not (0 < self.shares[0] <= self.shares[1] <= 1):
            raise ValueError(f"shares must be 0 < 好 ≤ 较好 ≤ 1 (cumulative), got {self.shares}")
        return self


class Flags(_Section):
    """流动红旗 / 流动黑旗: the top and bottom unit of each group each round."""

    enabled: bool = Field(False, description="§2 流动红旗/流动黑旗 per group and round")


class Slips(_Section):
    """白黄红三色责任单: escalate when a unit's same deduction code recurs."""

    enabled: bool = Field(False, description="§2 白黄红三色责任单 for recurring deductions")


class PassQuota(_Section):
    """末位淘汰: only this top share of units passes the year; null = off."""

    share: float | None = _number(
        None, gt=0, le=1,
        description="§2 末位淘汰: top share that passes the year; null = off",
    )


class Fairness(_Section):
    """The fairness analysis of a round (RULES.md §3; `honorcalc.fairness`).

    Rater severity is in points of an indicator worth ``severity_scale`` points;
    the visit gap in points of 100 (the indicator's points / max_points × 100).
    """

    confidence_level: float = _number(
        0.95, ge=0.5, lt=1,
        description="§3 level of every confidence interval in the fairness tables",
    )
    severity_scale: float = _number(
        10.0, gt=0, le=1000,
        description="§3 rater severity is reported in points of an indicator worth this many points",
    )
    severity_min: float = _number(
        0.5, ge=0, le=1000,
        description="§3 flag a harsh or lenient rater only if its CI lies entirely beyond ± this (FDR-controlled); "
                    "'fair' if within ± this",
    )
    severity_min_units: int = _number(
        5, ge=2, le=10_000,
        description="§3 rater severity: units needed for the unit-clustered (sandwich) SE; fewer (≥ 2) use the "
                    "model-based SE with a rater × unit term, one unit is not estimable",
    )
    rater_slots: int = _number(
        2, ge=2, le=20,
        description="§3 ICC and Kendall's W: raters per unit × indicator, taken in this many slots",
    )
    visit_gap_min: float = _number(
        10.0, ge=0, le=100,
        description="§2 明查/暗访: flag a unit whose open-visit advantage beyond the city's own is at least this "
                    "(of 100): its interval beyond it, and real under FDR control",
    )
    laggard_k: int = _number(
        3, ge=1, le=100,
        description="§3 laggard rule A: black-listed or in the bottom share in at least k …",
    )
    laggard_n: int = _number(
        6, ge=1, le=100,
        description="§3 laggard rule A: … of the unit's last n rounds",
    )
    bottom_share: float = _number(
        0.1, gt=0, le=1,
        description="§3 laggard rule A: bottom share of the ranking group (bottom decile)",
    )
    cusum_k: float = _number(
        1.0, ge=0, le=10,
        description="§3 laggard rule B: CUSUM reference value k, in sd of the group (detects a 2k shortfall)",
    )
    false_alarm_rate: float = _number(
        0.05, gt=0, lt=1,
        description="§3 laggards: false alarms per unit-year of the one test that combines rules A, B and C",
    )
    trend_min: float = _number(
        1.0, ge=0, le=10,
        description="§3 laggard rule C: the decline over the year must also be at least this many sd of the group",
    )
    null_cities: int = _number(
        400, ge=20, le=100_000,
        description="§3 laggards: null cities (the city's own scores permuted within each round and group) "
                    "that calibrate every unit's p-value",
    )
    laggard_fdr: float = _number(
        0.1, gt=0, lt=1,
        description="§3 laggards: false-discovery rate across units; a unit is called a persistent laggard "
                    "only when its q-value ≤ this (and its p-value ≤ false_alarm_rate)",
    )
    laggard_fdr_method: Literal["bh", "by"] = Field(
        "bh", description="§3 laggards: q-values by Benjamini-Hochberg, or Benjamini-Yekutieli (any dependence)"
    )
    laggard_min_rounds: int = _number(
        2, ge=2, le=100,
        description="§3 laggards: evidence must span this many rounds (a unit's worst rounds count as its "
                    "this-many-th worst, so one bad round never suffices)",
    )
    laggard_min_shortfall: float = _number(
        1.0, ge=0, le=10,
        description="§3 laggards: a unit called must also average at least this many sd below its group over "
                    "the window (or be below it and declining by trend_min): a real but small shortfall is "
                    "below average, not a laggard",
    )
    laggard_min_history: int = _number(
        4, ge=2, le=100,
        description="§3 laggards: fewer ranked rounds in the window than this: cannot tell a persistent "
                    "laggard from bad luck",
    )
    serial_correlation: float | None = _number(
        None, ge=0, lt=1,
        description="§3 laggards: lag-1 correlation of a unit's round-to-round luck kept by the null; "
                    "null = estimated from the city's within-unit residuals",
    )
    replicates: int = _number(
        1000, ge=10, le=100_000,
        description="§3 stability: Monte Carlo replicates",
    )
    measurement_error: bool = Field(
        True,
        description="§3 stability: draw every source's measurement error from its G-study (rater severity, "
                    "halo, residual); false = no draws, stability not judged",
    )
    weight_shift: float = _number(
        0.05, gt=0, lt=1,
        description="§3 weight sensitivity: move each source weight by ± this (absolute, then renormalised)",
    )
    permutations: int = _number(
        2000, ge=99, le=100_000,
        description="§3 group comparison: permutations of each test",
    )
    rank_coverage: float = _number(
        0.95, ge=0.5, lt=1,
        description="§3 stability: coverage of the rank confidence sets, of 'certainly among the top/bottom τ' "
                    "and of the score's interval against the list thresholds; below it: cannot tell",
    )
    rank_draws: int = _number(
        1000, ge=100, le=100_000,
        description="§3 stability: Gaussian draws for the max-t critical values of the rank sets",
    )
    rank_stepdown: bool = Field(True, description="§3 stability: step-down refinement of the rank sets")
    rank_max_units: int = _number(
        3000, ge=2, le=20_000,
        description="§3 stability: rank confidence sets for ranking groups of up to this many units (their memory "
                    "grows with its square); a larger group keeps the replicates' rank intervals",
    )
    funnel_levels: list[_Level] = Field(
        default_factory=lambda: [0.95, 0.998], min_length=1, max_length=2,
        description=_items("§3 funnel plot: two-sided levels of the inner and outer control limits", ge=0.5, lt=1),
    )
    funnel_winsor: float = _number(
        0.0, ge=0, lt=0.5,
        description="§3 funnel plot: share of z-scores winsorized at each end before the overdispersion τ² is "
                    "estimated (Spiegelhalter's 0.1 underestimates τ² and over-flags; 0 = none)",
    )
    equivalence_margin: float = _number(
        2.0, gt=0, le=100,
        description="§3 group comparison: groups are 'alike' in score only if the difference is within ± this "
                    "(points of 100, equivalence test)",
    )
    equivalence_margin_rate: float = _number(
        0.1, gt=0, le=1,
        description="§3 group comparison: groups are 'alike' in red/black rate only if the difference is within "
                    "± this share (equivalence test); rater severity uses ± severity_min",
    )
    gstudy_bootstrap: int = _number(
        200, ge=0, le=10_000,
        description="§3 variance decomposition: bootstrap replicates (units resampled) for the intervals of Φ "
                    "and the variance components; 0 = no intervals",
    )
    phi_target: float = _number(
        0.8, gt=0, lt=1,
        description="§3 variance decomposition: the D-study gives the raters per unit × indicator needed for "
                    "Φ ≥ this",
    )

    @model_validator(mode="after")
    def _consistent(self):
        if self.laggard_k > self.laggard_n:
            raise ValueError(
                f"laggard_k ({self.laggard_k}) must be at most laggard_n ({self.laggard_n})"
            )
        if len(set(self.funnel_levels)) != len(self.funnel_levels):
            raise ValueError(f"funnel_levels must differ, got {self.funnel_levels}")
        return self


class Audit(_Section):
    """What a run keeps for auditors (DESIGN.md "Run folder")."""

    keep_inputs: bool = Field(
        True, description="DESIGN run folder: keep a compressed copy of the exact inputs (inputs.zip)"
    )


class Notice(_Section):
    """The Word notice (通报) of a run (`honorcalc.report.documents`): issuing office, 文号, 整改要求, wording.

    Null takes the built-in text (`honorcalc.report.documents.NOTICE_DEFAULTS`).
    ``issuer`` and ``number`` are single lines, in which ``{city}`` stands for
    the city (``XX市`` when ``city`` is blank) and ``{year}`` for the year of the round.
    """

    issuer: str | None = Field(
        None, min_length=1, max_length=80,
        description="通报: issuing office (发文机关), in the header, the opening and the signature; "
                    "null = {city}创建全国文明城市工作指挥部办公室",
    )
    number: str | None = Field(
        None, min_length=1, max_length=40, description="通报: 文号 under the issuing office; null = 〔{year}〕X号",
    )
    rectification: str | None = Field(
        None, min_length=1, max_length=4000,
        description="通报: the 整改要求 paragraph (line breaks start new paragraphs); null = the built-in paragraph",
    )
    template: str | None = Field(
        None, min_length=1, max_length=1000,
        description="通报: the office's own wording, a Jinja2 text template (relative to the params file) in "
                    "place of notice_round.txt.j2 (notice_annual.txt.j2 for report: annual); null = the built-in",
    )

    @model_validator(mode="after")
    def _plain_text(self):
        for name in ("issuer", "number", "template"):
            value = getattr(self, name)
            if value is not None and (not value.strip() or any(ord(ch) < 32 for ch in value)):
                raise ValueError(f"{name} must be one line of text, got {value!r}")
        text = self.rectification
        if text is not None and (not text.strip() or any(ord(ch) < 32 and ch not in "\n" for ch in text)):
            raise ValueError("rectification must be text, without control characters other than line breaks")
        return self


class Params(_Section):
    """All parameters of one run. The defaults are RULES.md §1."""

    dataset: str = Field(description="dataset directory, relative to the params file")
    round: str = Field(description="round_id of the round to report; annual: the last round counted")
    report: Literal["round", "annual"] = Field(
        "round", description="the report: one round's lists, or the annual assessment (年度考核) up to `round`"
    )
    city: str = Field("", max_length=100, description="city name shown in the report title (at most 100 characters)")
    lang: Literal["zh", "en"] = Field("zh", description="report language")
    seed: int = _number(
        20240601, ge=0, le=2**63 - 1,
        description="seed of every random draw in the run",
    )
    weights: Weights = Field(default_factory=Weights)
    lists: Lists = Field(default_factory=Lists)
    points: Points = Field(default_factory=Points)
    escalation: Escalation = Field(default_factory=Escalation)
    deductions: Deductions = Field(default_factory=Deductions)
    history: History = Field(default_factory=History)
    veto: Veto = Field(default_factory=Veto)
    negative_list: NegativeList = Field(default_factory=NegativeList)
    tiers: Tiers = Field(default_factory=Tiers)
    flags: Flags = Field(default_factory=Flags)
    slips: Slips = Field(default_factory=Slips)
    pass_quota: PassQuota = Field(default_factory=PassQuota)
    audit: Audit = Field(default_factory=Audit)
    notice: Notice = Field(default_factory=Notice)
    fairness: Fairness = Field(default_factory=Fairness)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON/YAML-ready dict of every parameter (defaults included)."""
        return self.model_dump(mode="json")


# --------------------------------------------------------------------------- loading


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that also refuses duplicate keys (a silent overwrite otherwise),
    keys that are lists or mappings, and the merge key ``<<``."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            raise yaml.constructor.ConstructorError(
                None, None, "the merge key '<<' is not supported; write the keys out in full",
                key_node.start_mark,
            )
        if isinstance(key_node, (yaml.SequenceNode, yaml.MappingNode)):
            what = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a name, not {what}", key_node.start_mark
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParamError("params file not found", file=path) from None
    except IsADirectoryError:
        raise ParamError("expected a YAML file, got a directory", file=path) from None
    except UnicodeDecodeError:
        raise ParamError("params file is not UTF-8 text", file=path) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is not None:
            raise ParamError(f"invalid YAML: {problem}", file=f"{path}:{mark.line + 1}") from None
        raise ParamError(f"invalid YAML: {problem}", file=path) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamError(f"expected a mapping of parameters, got {type(data).__name__}", file=path)
    _check_size(data, path)
    return data


#: A params file is a few dozen values; anything far larger is a mistake or an
#: alias bomb ("billion laughs": nested anchors that expand exponentially).
_MAX_VALUES = 100_000


def _check_size(data, path: Path) -> None:
    """Refuse a document whose aliases expand beyond `_MAX_VALUES` values, without expanding it."""
    seen = 0
    stack = [data]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > _MAX_VALUES:
            raise ParamError(
                f"the YAML expands to more than {_MAX_VALUES:,} values (nested aliases?); refused",
                file=path,
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _model_at(loc: tuple) -> type[BaseModel] | None:
    model: type[BaseModel] = Params
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return None
    return model


#: Keys an earlier version took, and what became of them: named in the error, not merely unknown.
_RETIRED = {
    ("fairness", "resample_raters"): "retired: stability now draws every source's error from its G-study "
                                     "(fairness.measurement_error)",
    ("fairness", "weight_concentration"): "retired: other weights are a policy question, answered by weights.csv "
                                          "(fairness.weight_shift), not mixed into stability",
    ("fairness", "rank_interval"): "retired: rank intervals are rank confidence sets at fairness.rank_coverage",
    ("fairness", "certainty"): "retired: 'cannot tell' now follows from the rank confidence sets and the score's "
                               "interval at fairness.rank_coverage",
}


def _describe(error: dict) -> tuple[str, str]:
    loc = tuple(error["loc"])
    name = ".".join(str(p) for p in loc)
    kind = error["type"]
    if kind == "extra_forbidden" and tuple(map(str, loc)) in _RETIRED:
        return name, _RETIRED[tuple(map(str, loc))]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = sorted(parent.model_fields) if parent else []
        near = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        hint = f"; did you mean '{'.'.join([*map(str, loc[:-1]), near[0]])}'?" if near else ""
        return name, f"unknown key{hint} (valid here: {', '.join(valid)})"
    if kind == "missing":
        return name, "required but missing"
    got = error.get("input")
    msg = error["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind.startswith(("literal_error", "enum")):
        return name, f"{msg}, got {got!r}"
    if isinstance(got, dict | list):
        return name, msg
    return name, f"{msg}, got {got!r}"


def params_from_mapping(data: dict[str, Any], *, source: str | Path | None = None) -> Params:
    """Validate a mapping into `Params`, turning every problem into one `ParamError`."""
    try:
        return Params.model_validate(data)
    except pydantic.ValidationError as exc:
        described = [_describe(e) for e in exc.errors()]
        if len(described) == 1:
            name, msg = described[0]
            raise ParamError(msg, file=source, parameter=name or None) from None
        lines = [f"{len(described)} problems in the parameters:"]
        lines += [f"  parameter '{n}': {m}" if n else f"  {m}" for n, m in described]
        raise ParamError("\n".join(lines), file=source) from None


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML scalars) to a copy.

    Unknown keys are refused here, with the nearest valid key suggested, so a
    typo on the command line never silently adds a parameter.
    """
    out = _deep_copy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParamError(f"--set expects key=value, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        parts = key.split(".")
        model: type[BaseModel] | None = Params
        node = out
        for depth, part in enumerate(parts):
            fields = model.model_fields if model else {}
            if tuple(parts[: depth + 1]) in _RETIRED:
                raise ParamError(_RETIRED[tuple(parts[: depth + 1])], parameter=key)
            if part not in fields:
                near = difflib.get_close_matches(part, sorted(fields), n=1, cutoff=0.5)
                prefix = ".".join(parts[:depth])
                hint = f"; did you mean '{'.'.join(filter(None, [prefix, near[0]]))}'?" if near else ""
                raise ParamError(f"unknown key in --set{hint}", parameter=key)
            if depth == len(parts) - 1:
                node[part] = value
            else:
                model = _model_at(tuple(parts[: depth + 1]))
                if model is None:
                    raise ParamError(f"'{'.'.join(parts[: depth + 1])}' has no sub-keys", parameter=key)
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return out


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def load_params(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Params:
    """Read, override and validate a params file.

    Parameters
    ----------
    path : path of the YAML file.
    overrides : ``key=value`` strings (``weights.field=0.6``), applied before validation.

    Returns
    -------
    Params
        With ``dataset`` resolved to an absolute path: relative to the params file
        when it comes from the file, relative to the working directory when it
        comes from an override.

    Raises
    ------
    ParamError
        Missing or unreadable file, invalid or unsafe YAML (tags such as
        ``!!python/object/apply`` are refused, never executed), unknown keys,
        wrong types, contradictory values.
    """
    path = Path(path)
    data = _read_yaml(path)
    from_file = data.get("dataset")
    data = apply_overrides(data, overrides)
    params = params_from_mapping(data, source=path)
    base = path.parent if params.dataset == from_file else Path.cwd()
    dataset = Path(params.dataset).expanduser()
    dataset = (dataset if dataset.is_absolute() else base / dataset).resolve()
    return params.model_copy(update={"dataset": str(dataset)})


def parameters_markdown() -> str:
    """The README's table of every parameter: key, default, meaning and RULES.md clause."""
    rows = ["| key | default | meaning (RULES.md clause) |", "|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
                continue
            if field.is_required():
                default = "(required)"
            else:
                value = field.get_default(call_default_factory=True)
                default = f"`{yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}`"
            rows.append(f"| `{prefix}{name}` | {default} | {field.description or ''} |")

    walk(Params, "")
    return "\n".join(rows)


def params_to_yaml(params: Params) -> str:
    """The resolved parameters as YAML (key order as in the model, Unicode kept)."""
    return yaml.safe_dump(params.to_dict(), allow_unicode=True, sort_keys=False)


def params_sha256(params: Params | dict[str, Any]) -> str:
    """sha256 of the parameters as canonical JSON (sorted keys, UTF-8): the hash a manifest records."""
    data = params.to_dict() if isinstance(params, Params) else params
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
