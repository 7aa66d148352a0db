"""The demo city (文明示范市): one synthetic, reproducible campaign year, 2026.

`make_demo_city` builds the seven tables of the dataset contract (DESIGN.md) in
memory; `write_demo` writes them as CSV for ``honorcalc demo`` and ``make report``.
The city is invented but shaped like a real one, so that every part of a report
has something to show:

- 150 units: 36 city departments (市直部门, ranked by industry) and 10 districts,
  counties and parks (县区), 30 streets (街道) and 74 communities (社区), ranked by
  territory. Each community belongs to a street and each street to a district;
  the responsibility table (责任关系, RULES.md §1.5.3) records that hierarchy
  (属地), the departments in charge of a few former enterprise estates and of
  the station area (行业), and eight communities paired with a city department
  (挂包), so a community's problem also counts against its street, and so on.
- 20 comprehensive indicators in 8 categories (100 points), and 3-4 indicators
  for each of the four special topics of RULES.md §1.1 (100 points per topic).
- 4 quarterly comprehensive rounds and 24 special rounds (the 10th and the 25th
  of every month, moved to the Monday when they fall on a weekend).
- Every unit is scored in every round by field inspectors (R01-R14, two or three
  per indicator, open or covert visits), day-to-day monitors (D01-D03), feedback
  from higher authorities (F01, F02), city leaders (L01, L02) and the public
  (P01); plus a negative list of deductions and a satisfaction survey per
  comprehensive round.

A unit's latent quality is a fraction of full marks: a unit mean (the groups
differ only slightly), an AR(1) deviation that carries over from round to round,
and persistent strengths and weaknesses per indicator and per source. A score is
that quality plus the rater's severity and noise, clipped to 0..max_points and
rounded to half points, as inspectors' sheets are.

The planted story, `PLANTED`, is the answer key that the fairness analysis and
the lists should find. Its ids are fixed: another seed redraws the noise around
the same story, but only the default seed's outcome (who is listed, who is
escalated) is checked, by tests/test_demo.py.

==============================  =================  ================================
PLANTED keys                    ids                what to expect
==============================  =================  ================================
harsh_rater                     R05                ~1.5 points fewer per 10
lenient_rater                   R09                ~1.2 points more per 10
noisy_rater                     R12                three times the usual scatter
persistent_laggards             U029 U061 U118     ≤ 70 in most rounds, escalated
one_off_unit, one_off_round     U093, C2026Q2      black once, fine otherwise
declining_unit                  U052               from ~90 to ~60 within the year
open_visit_unit                 U012               far better open than covert
vetoed_unit, vetoed_round       U084, C2026Q2      a top unit with 70% satisfied
repeat_deduction_unit, _code,   U070, N03,         the same violation in two
_rounds                         C2026Q1 C2026Q2    consecutive comprehensive rounds
==============================  =================  ================================

Two laggards also have a survey below 75% (U118 in C2026Q1, U061 in C2026Q3).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..params import SOURCES

__all__ = ["PLANTED", "make_demo_city", "write_demo"]

_YEAR = 2026

#: The planted effects, by role (see the module docstring).
PLANTED = MappingProxyType({
    "harsh_rater": "R05",
    "lenient_rater": "R09",
    "noisy_rater": "R12",
    "persistent_laggards": ("U029", "U061", "U118"),
    "one_off_unit": "U093",
    "one_off_round": "C2026Q2",
    "declining_unit": "U052",
    "open_visit_unit": "U012",
    "vetoed_unit": "U084",
    "vetoed_round": "C2026Q2",
    "repeat_deduction_unit": "U070",
    "repeat_deduction_code": "N03",
    "repeat_deduction_rounds": ("C2026Q1", "C2026Q2"),
})

_DEPARTMENTS = (
    "市公安局", "市城管局", "市卫健委", "市交通运输局", "市教育局", "市民政局",
    "市财政局", "市人社局", "市自然资源和规划局", "市生态环境局", "市住建局", "市水务局",
    "市农业农村局", "市商务局", "市文旅局", "市市场监管局", "市应急管理局", "市统计局",
    "市医保局", "市司法局", "市发改委", "市工信局", "市科技局", "市退役军人事务局",
    "市体育局", "市审计局", "市国资委", "市林业和园林局", "市信访局", "市行政审批服务局",
    "市机关事务管理局", "市税务局", "市邮政管理局", "市消防救援支队", "市总工会", "团市委",
)
_COUNTIES = (
    "东城区", "西城区", "南湖区", "北山区", "滨江区",
    "临川县", "青松县", "云溪县", "高新技术产业开发区", "经济技术开发区",
)
_STREETS = (
    "解放路街道", "人民路街道", "中山路街道", "建设路街道", "和平街道", "新华街道",
    "胜利街道", "长江路街道", "黄河路街道", "文化路街道", "朝阳街道", "东风街道",
    "红旗街道", "光明街道", "滨河街道", "站前街道", "府前街道", "鼓楼街道",
    "南门街道", "北关街道", "西关街道", "东关街道", "城南街道", "城北街道",
    "花园街道", "工农街道", "友谊路街道", "青年路街道", "迎宾路街道", "湖滨街道",
)
_COMMUNITIES = tuple(f"{stem}社区" for stem in (
    "幸福里", "阳光花园", "和谐家园", "锦绣", "春晖", "翠苑", "金桥", "银杏", "桂花园",
    "丽景", "康乐", "安居", "祥和", "东苑", "西苑", "南苑", "北苑", "枫林", "梧桐",
    "柳岸", "荷花池", "紫荆", "玉兰", "香樟", "海棠", "明珠", "滨湖", "碧水", "青山",
    "绿洲", "朝晖", "晨光", "星光", "月湖", "彩虹", "文苑", "书香", "育才", "百花",
    "怡园", "瑞景", "嘉园", "馨园", "福田", "福寿", "长乐", "永安", "太平", "兴隆",
    "振兴", "富民", "惠民", "利民", "新村", "站北", "铁路新村", "电厂", "纺织",
    "机械厂", "粮贸", "水电", "汇景", "天鹅湖", "金色家园", "望江", "临河", "竹园",
    "松鹤", "樱花", "牡丹", "芙蓉", "石榴", "龙泉", "凤凰",
))

# group, kind, names, (centre, relative spread) of the units' mean quality,
# (median, sd) of log size: staff for departments, residents for territorial units.
# Streets spread a little wider: old town centres and new estates both have them.
_GROUPS = (
    ("市直部门", "industry", _DEPARTMENTS, (0.835, 1.0), (np.log(300), 0.6)),
    ("县区", "territorial", _COUNTIES, (0.845, 0.9), (np.log(350_000), 0.45)),
    ("街道", "territorial", _STREETS, (0.830, 1.15), (np.log(60_000), 0.35)),
    ("社区", "territorial", _COMMUNITIES, (0.830, 1.0), (np.log(8_000), 0.35)),
)

# indicator_id, name, category, max_points, sources that score it
_COMPREHENSIVE = (
    ("I01", "交通秩序管理", "公共秩序", 8, ("field", "daily", "public")),
    ("I02", "占道经营治理", "公共秩序", 5, ("field", "daily", "public")),
    ("I03", "公共场所秩序", "公共秩序", 5, ("field", "leader")),
    ("I04", "背街小巷环境卫生", "环境卫生", 7, ("field", "daily")),
    ("I05", "生活垃圾分类", "环境卫生", 5, ("field", "daily")),
    ("I06", "农贸市场环境秩序", "环境卫生", 5, ("field", "public")),
    ("I07", "公共厕所管理", "环境卫生", 4, ("field",)),
    ("I08", "文明交通行为", "市民素质", 5, ("field",)),
    ("I09", "文明餐桌与公筷公勺", "市民素质", 4, ("field", "daily")),
    ("I10", "志愿服务站点建设", "志愿服务", 5, ("field",)),
    ("I11", "志愿者注册与服务时长", "志愿服务", 5, ("daily", "feedback")),
    ("I12", "校园周边环境治理", "未成年人思想道德建设", 5, ("field", "leader")),
    ("I13", "未成年人活动阵地", "未成年人思想道德建设", 5, ("field", "feedback")),
    ("I14", "无障碍设施", "公共设施", 5, ("field",)),
    ("I15", "公共文化体育设施", "公共设施", 5, ("field", "leader")),
    ("I16", "非机动车停放秩序", "公共设施", 4, ("field", "daily")),
    ("I17", "窗口单位服务规范", "窗口服务", 5, ("field", "public")),
    ("I18", "便民服务与投诉办理", "窗口服务", 4, ("daily", "feedback")),
    ("I19", "公益广告刊播", "宣传氛围", 5, ("field", "daily")),
    ("I20", "社会主义核心价值观宣传", "宣传氛围", 4, ("leader", "feedback")),
)

_TOPICS = ("同类点位建设", "网申工作", "挂包工作", "问卷调查")

# indicator_id, name, category, max_points, topic; ids use the pinyin initials of
# the topic (点位 DW, 网申 WS, 挂包 GB, 问卷 WJ) so that they stay ASCII
_TOPIC_INDICATORS = (
    ("T-DW-01", "点位硬件设施达标", "点位硬件", 30, "同类点位建设"),
    ("T-DW-02", "点位环境卫生", "点位环境", 30, "同类点位建设"),
    ("T-DW-03", "点位管理制度落实", "点位管理", 20, "同类点位建设"),
    ("T-DW-04", "点位宣传氛围营造", "点位宣传", 20, "同类点位建设"),
    ("T-WS-01", "网上申报及时率", "申报进度", 40, "网申工作"),
    ("T-WS-02", "申报材料完整性", "材料质量", 30, "网申工作"),
    ("T-WS-03", "申报数据准确性", "数据质量", 30, "网申工作"),
    ("T-GB-01", "挂包责任落实", "责任落实", 30, "挂包工作"),
    ("T-GB-02", "入户走访帮扶", "走访帮扶", 25, "挂包工作"),
    ("T-GB-03", "问题整改销号", "问题整改", 25, "挂包工作"),
    ("T-GB-04", "共建活动开展", "共建活动", 20, "挂包工作"),
    ("T-WJ-01", "问卷发放完成率", "组织实施", 30, "问卷调查"),
    ("T-WJ-02", "创建工作知晓率", "知晓率", 35, "问卷调查"),
    ("T-WJ-03", "创建工作支持率", "支持率", 35, "问卷调查"),
)

# code, violation, fixed deduction (负面清单: a listed violation costs fixed points),
# relative frequency
_NEGATIVE_LIST = (
    ("N01", "占道经营", 1.0, 6),
    ("N02", "乱贴乱画", 0.5, 6),
    ("N03", "垃圾暴露", 1.0, 6),
    ("N04", "车辆乱停乱放", 0.5, 5),
    ("N05", "公益广告破损缺失", 0.5, 3),
    ("N06", "窗口服务推诿扯皮", 1.5, 2),
    ("N07", "媒体曝光负面问题", 3.0, 1),
    ("N08", "群众投诉逾期未办结", 2.0, 2),
)

# rater_id, source, sd of the rater's noise as a fraction of max_points; day-to-day
# monitors see a unit most often, so they scatter least
_RATERS = (
    *((f"R{k:02d}", "field", 0.06) for k in range(1, 15)),
    ("D01", "daily", 0.04), ("D02", "daily", 0.04), ("D03", "daily", 0.04),
    ("F01", "feedback", 0.05), ("F02", "feedback", 0.05),
    ("L01", "leader", 0.05), ("L02", "leader", 0.05),
    ("P01", "public", 0.05),
)
# the planted raters: severity (fraction of max_points added) and noise sd
_HARSH, _LENIENT, _NOISY = -0.15, 0.12, 0.17

# A special round's quality: its units are pulled towards this centre by this factor,
# as one piece of work varies less between units than the whole campaign does.
_SPECIAL_CENTRE, _SPECIAL_SPREAD = 0.82, 0.7
_COVERT_SHARE = 1 / 3
_OPEN_BONUS = 0.2  # how much better the open-visit unit looks when it is expected
_DEDUCTION_RATE = 0.035  # per unit and round, for a unit of average quality
_JOINT_SHARE = 0.2
_UNVERIFIED_SHARE = 0.06

# RULES.md §1.5.3 responsibility: a street answers for half of its communities' problems;
# districts at the parameter's joint share (blank); departments in charge (行业) of former
# enterprise estates and of the station area; city departments paired with communities (挂包)
_STREET_SHARE = 0.5
_INDUSTRY = (
    ("市住建局", ("铁路新村社区", "电厂社区", "纺织社区", "机械厂社区", "粮贸社区", "水电社区"), 0.3),
    ("市交通运输局", ("站前街道", "站北社区"), None),
)
_PAIRED = (("市财政局", "市人社局", "市发改委", "市工信局", "市科技局", "市审计局", "市国资委", "市税务局"), 9, 0.2)


def _units(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The units table, each unit's mean quality, and each unit's parent.

    The parent (a row position) of a community is its street, of a street its
    district; departments and districts have none (-1).
    """
    frames, means = [], []
    for group, kind, names, (centre, spread), (log_median, log_sd) in _GROUPS:
        n = len(names)
        # evenly spaced quantiles, not draws: under every seed each group has its
        # strong and its weak units; the weak tail is the longer, as in real notices
        z = ndtri((np.arange(n) + 0.5) / n)
        means.append(rng.permutation(centre + spread * np.where(z < 0, 0.0625, 0.055) * z))
        size = np.exp(rng.normal(log_median, log_sd, n))
        size = np.round(size, -1 if kind == "industry" else -2).astype(int)
        frames.append(pd.DataFrame({"name": names, "kind": kind, "group": group,
                                    "size": np.maximum(size, 10)}))
    units = pd.concat(frames, ignore_index=True)
    units.insert(0, "unit_id", [f"U{k:03d}" for k in range(1, len(units) + 1)])
    units = units.astype({"unit_id": str, "name": str, "kind": str, "group": str})

    start = np.cumsum([0] + [len(g[2]) for g in _GROUPS])
    n_county, n_street, n_community = (len(g[2]) for g in _GROUPS[1:])
    parent = np.full(len(units), -1)
    parent[start[2]:start[3]] = start[1] + np.arange(n_street) * n_county // n_street
    parent[start[3]:] = start[2] + np.arange(n_community) * n_street // n_community
    return units, np.concatenate(means), parent


def _indicators() -> pd.DataFrame:
    rows = [(i, n, c, m, None) for i, n, c, m, _ in _COMPREHENSIVE] + list(_TOPIC_INDICATORS)
    frame = pd.DataFrame(rows, columns=["indicator_id", "name", "category", "max_points", "topic"])
    return frame.astype({"indicator_id": str, "name": str, "category": str, "topic": str})


def _rounds() -> pd.DataFrame:
    """Quarterly comprehensive rounds and two special rounds a month, in date order."""
    rows = [(f"C{_YEAR}Q{q}", "comprehensive", None,
             dt.date(_YEAR + q // 4, 3 * q % 12 + 1, 1) - dt.timedelta(days=1))
            for q in range(1, 5)]
    for k in range(24):
        month, half = divmod(k, 2)
        date = dt.date(_YEAR, month + 1, (10, 25)[half])
        # notices are not issued at weekends: a Saturday or Sunday moves to the Monday
        if date.weekday() >= 5:
            date += dt.timedelta(days=7 - date.weekday())
        rows.append((f"S{_YEAR}-{month + 1:02d}{'ab'[half]}", "special",
                     _TOPICS[k % len(_TOPICS)], date))
    frame = pd.DataFrame(rows, columns=["round_id", "kind", "topic", "date"])
    frame = frame.sort_values("date", kind="stable", ignore_index=True)
    frame["date"] = frame["date"].map(dt.date.isoformat)
    return frame.astype({"round_id": str, "kind": str, "topic": str, "date": str})


def _quality(rng: np.random.Generator, units: pd.DataFrame, rounds: pd.DataFrame,
             means: np.ndarray) -> np.ndarray:
    """Latent quality of each unit (rows) in each round (columns, in date order).

    Quality is a fraction of full marks: the unit's mean plus an AR(1) deviation,
    because a unit that slipped last round has rarely recovered fully by the next.
    """
    unit = pd.Index(units["unit_id"]).get_loc
    rho, sd = 0.8, 0.045
    shocks = rng.normal(0.0, sd, (len(units), len(rounds)))
    shocks[:, 1:] *= np.sqrt(1 - rho**2)  # keeps the deviation's sd at `sd` in every round
    # a loop over rounds, not a matrix product: BLAS may sum in another order on
    # another machine, and the demo must be the same to the last bit everywhere
    deviation = np.empty_like(shocks)
    deviation[:, 0] = shocks[:, 0]
    for t in range(1, len(rounds)):
        deviation[:, t] = rho * deviation[:, t - 1] + shocks[:, t]
    quality = means[:, None] + deviation

    year_share = (pd.to_datetime(rounds["date"]).dt.day_of_year.to_numpy() - 1) / 365
    planted_means = {
        **dict(zip(PLANTED["persistent_laggards"], (0.645, 0.635, 0.64))),
        # its true standard: open visits see it `_OPEN_BONUS` better (`_scores`)
        PLANTED["open_visit_unit"]: 0.75,
        PLANTED["one_off_unit"]: 0.85,
    }
    for unit_id, mean in planted_means.items():
        quality[unit(unit_id)] = mean + deviation[unit(unit_id)]
    # steady, so that the trend shows through
    declining = unit(PLANTED["declining_unit"])
    quality[declining] = 0.93 - 0.28 * year_share + 0.5 * deviation[declining]
    one_off_round = pd.Index(rounds["round_id"]).get_loc(PLANTED["one_off_round"])
    quality[unit(PLANTED["one_off_unit"]), one_off_round] -= 0.24
    # a steady top unit, so that only its survey can keep it off the red list
    vetoed = unit(PLANTED["vetoed_unit"])
    quality[vetoed] = 0.975 + 0.3 * deviation[vetoed]

    special = rounds["kind"].to_numpy() == "special"
    quality[:, special] = _SPECIAL_CENTRE + _SPECIAL_SPREAD * (quality[:, special] - means.mean())
    return np.clip(quality, 0.3, 0.99)


def _scores(rng: np.random.Generator, units: pd.DataFrame, indicators: pd.DataFrame,
            rounds: pd.DataFrame, quality: np.ndarray) -> pd.DataFrame:
    """Every unit scored in every round, one row per rater, indicator and source.

    Comprehensive rounds: an inspection team of three field raters per unit, two
    or three of whom score each field indicator, and one rater for each other
    source on that source's indicators. Special rounds: two field raters and the
    unit's day-to-day monitor on the round's topic indicators.
    """
    n_units, n_ind = len(units), len(indicators)
    source_code = {s: k for k, s in enumerate(SOURCES)}
    rater_ids = np.array([r[0] for r in _RATERS])
    rater_source = np.array([source_code[r[1]] for r in _RATERS])
    noise = np.array([r[2] for r in _RATERS])
    of_source = {s: np.flatnonzero(rater_source == k) for s, k in source_code.items()}
    field = of_source["field"]
    severity = np.zeros(len(_RATERS))
    # fair inspectors differ a little too; only the planted ones differ clearly
    severity[field] = rng.normal(0.0, 0.012, len(field))
    severity[rater_ids == PLANTED["harsh_rater"]] = _HARSH
    severity[rater_ids == PLANTED["lenient_rater"]] = _LENIENT
    noise[rater_ids == PLANTED["noisy_rater"]] = _NOISY

    # centred within the comprehensive set and within each topic: no topic is easier
    difficulty = rng.normal(0.0, 0.02, n_ind)
    topic = indicators["topic"].fillna("").to_numpy()
    difficulty -= pd.Series(difficulty).groupby(topic).transform("mean").to_numpy()
    # a unit's persistent strengths and weaknesses, by indicator, topic and source
    unit_indicator = rng.normal(0.0, 0.035, (n_units, n_ind))
    topic_code = pd.Categorical(indicators["topic"], categories=_TOPICS).codes
    unit_topic = rng.normal(0.0, 0.02, (n_units, len(_TOPICS)))
    on_topic = topic_code >= 0
    unit_indicator[:, on_topic] += unit_topic[:, topic_code[on_topic]]
    unit_source = rng.normal(0.0, 0.02, (n_units, len(SOURCES)))

    kind = rounds["kind"].to_numpy()
    comp, special = np.flatnonzero(kind == "comprehensive"), np.flatnonzero(kind == "special")
    ind_at = pd.Index(indicators["indicator_id"]).get_loc
    field_ind = np.array([ind_at(i[0]) for i in _COMPREHENSIVE if "field" in i[4]])
    other = np.array([(source_code[s], ind_at(i[0])) for i in _COMPREHENSIVE
                      for s in i[4] if s != "field"])
    # each unit has its own day-to-day monitor; the feedback office depends on its kind
    unit_daily = of_source["daily"][np.arange(n_units) % len(of_source["daily"])]
    unit_feedback = np.where(units["kind"].to_numpy() == "industry", *of_source["feedback"][:2])

    parts = []  # (round, unit, indicator, rater, visit: 0 none, 1 open, 2 covert)

    team = np.argsort(rng.random((len(comp), n_units, len(field))), axis=-1)[..., :3]
    covert = rng.random(team.shape) < _COVERT_SHARE
    absent = rng.integers(0, 3, (len(comp), n_units, len(field_ind)))
    all_three = rng.random(absent.shape) < 0.5
    scored = all_three[..., None] | (np.arange(3) != absent[..., None])
    r, u, i, k = np.nonzero(scored)
    parts.append((comp[r], u, field_ind[i], field[team[r, u, k]], 1 + covert[r, u, k]))

    r, u, p = np.indices((len(comp), n_units, len(other))).reshape(3, -1)
    leaders = of_source["leader"]
    leader = leaders[rng.integers(0, len(leaders), (len(comp), n_units))][r, u]
    source = other[p, 0]
    rater = np.select([source == source_code["daily"], source == source_code["feedback"],
                       source == source_code["leader"]],
                      [unit_daily[u], unit_feedback[u], leader], of_source["public"][0])
    parts.append((comp[r], u, other[p, 1], rater, np.zeros_like(u)))

    pairs = np.array([(s, i) for s, t in enumerate(rounds["topic"].to_numpy()[special])
                      for i in np.flatnonzero(topic == t)])  # (special round, its indicator)
    team = np.argsort(rng.random((len(special), n_units, len(field))), axis=-1)[..., :2]
    covert = rng.random(team.shape) < _COVERT_SHARE
    p, u, k = np.indices((len(pairs), n_units, 2)).reshape(3, -1)
    s = pairs[p, 0]
    parts.append((special[s], u, pairs[p, 1], field[team[s, u, k]], 1 + covert[s, u, k]))
    p, u = np.indices((len(pairs), n_units)).reshape(2, -1)
    parts.append((special[pairs[p, 0]], u, pairs[p, 1], unit_daily[u], np.zeros_like(u)))

    rnd, unit, ind, rater, visit = (np.concatenate(c) for c in zip(*parts))
    src = rater_source[rater]
    open_bonus = np.where(units["unit_id"].to_numpy() == PLANTED["open_visit_unit"], _OPEN_BONUS, 0.0)
    share = (quality[unit, rnd] + difficulty[ind] + unit_indicator[unit, ind]
             + unit_source[unit, src] + severity[rater] + open_bonus[unit] * (visit == 1)
             + noise[rater] * rng.standard_normal(len(rnd)))
    max_points = indicators["max_points"].to_numpy(dtype=float)
    # inspectors' sheets are marked in half points
    points = np.round(np.clip(share, 0.0, 1.0) * max_points[ind] * 2) / 2

    order = np.lexsort((rater, src, ind, unit, rnd))
    return pd.DataFrame({
        "round_id": rounds["round_id"].to_numpy()[rnd[order]],
        "unit_id": units["unit_id"].to_numpy()[unit[order]],
        "indicator_id": indicators["indicator_id"].to_numpy()[ind[order]],
        "rater_id": rater_ids[rater[order]],
        "source": np.array(SOURCES)[src[order]],
        "points": points[order],
        "visit": pd.Series(np.array([None, "open", "covert"])[visit[order]], dtype=str),
    })


def _deductions(rng: np.random.Generator, units: pd.DataFrame, rounds: pd.DataFrame,
                quality: np.ndarray, parent: np.ndarray) -> pd.DataFrame:
    """Negative-list deductions: at most one violation per unit and round.

    A fifth of the violations are also recorded against a jointly responsible
    unit (连带责任): a community's street, a street's district, one of a
    district's streets, or, for a city department, the street where it
    happened. Both rows carry the problem's id (问题编号, ``<round>-<unit>`` of
    the primary unit), so they are one problem; the other units the
    responsibility table names are charged by the rules, not recorded here.
    """
    n_units, n_rounds = quality.shape
    codes = np.array([c[0] for c in _NEGATIVE_LIST])
    what = np.array([c[1] for c in _NEGATIVE_LIST])
    points = np.array([c[2] for c in _NEGATIVE_LIST])
    frequency = np.array([c[3] for c in _NEGATIVE_LIST], dtype=float)

    # weak units break the rules more often
    has = rng.random((n_units, n_rounds)) < _DEDUCTION_RATE * np.exp(-8 * (quality - 0.83))
    code = rng.choice(len(codes), size=(n_units, n_rounds), p=frequency / frequency.sum())
    joint = has & (rng.random((n_units, n_rounds)) < _JOINT_SHARE)
    verified = rng.random((n_units, n_rounds)) >= _UNVERIFIED_SHARE
    where = rng.random((n_units, n_rounds))

    repeat = pd.Index(units["unit_id"]).get_loc(PLANTED["repeat_deduction_unit"])
    repeat_rounds = pd.Index(rounds["round_id"]).get_indexer(PLANTED["repeat_deduction_rounds"])
    has[repeat, repeat_rounds] = verified[repeat, repeat_rounds] = True
    code[repeat, repeat_rounds] = np.flatnonzero(codes == PLANTED["repeat_deduction_code"])[0]

    # the joint unit is drawn from a contiguous range [low, low + count) of rows
    group = units["group"].to_numpy()
    streets, counties = np.flatnonzero(group == "街道"), np.flatnonzero(group == "县区")
    low, count = parent.copy(), np.ones(n_units, dtype=int)
    low[counties] = streets[0] + np.searchsorted(parent[streets], counties)
    count[counties] = np.bincount(parent[streets] - counties[0], minlength=len(counties))
    departments = np.flatnonzero(units["kind"].to_numpy() == "industry")
    low[departments], count[departments] = streets[0], len(streets)
    partner = low[:, None] + (where * count[:, None]).astype(int)

    u, t = np.nonzero(has)
    ju, jt = np.nonzero(joint)
    names = units["name"].to_numpy()
    violation = np.concatenate([code[u, t], code[ju, jt]])
    rows = pd.DataFrame({
        "t": np.concatenate([t, jt]),
        "u": np.concatenate([u, partner[ju, jt]]),
        "joint": np.r_[np.zeros(len(u), bool), np.ones(len(ju), bool)],
        "verified": np.concatenate([verified[u, t], verified[ju, jt]]),
        # a joint row names the primary unit: two joint rows must never look identical
        "note": np.concatenate([what[code[u, t]],
                                [f"{w}（连带：{n}）" for w, n in zip(what[code[ju, jt]], names[ju])]]),
        "violation": violation,
        "problem_id": np.concatenate([
            np.where(joint[u, t], rounds["round_id"].to_numpy()[t] + "-" + units["unit_id"].to_numpy()[u], None),
            rounds["round_id"].to_numpy()[jt] + "-" + units["unit_id"].to_numpy()[ju],
        ]),
    }).sort_values(["t", "u", "joint"], kind="stable", ignore_index=True)
    return pd.DataFrame({
        "round_id": rounds["round_id"].to_numpy()[rows["t"]],
        "unit_id": units["unit_id"].to_numpy()[rows["u"]],
        "code": codes[rows["violation"]],
        "points": points[rows["violation"]],
        "role": np.where(rows["joint"], "joint", "primary"),
        "verified": rows["verified"].to_numpy(),
        "note": rows["note"].to_numpy(),
        "problem_id": rows["problem_id"].to_numpy(dtype=object),
    }).astype({"round_id": str, "unit_id": str, "code": str, "role": str, "note": str})


def _responsibility(units: pd.DataFrame, parent: np.ndarray) -> pd.DataFrame:
    """Who answers for whose problems (责任关系, RULES.md §1.5.3): unit_id, responsible_id, relation, share.

    Every community's street (share 0.5) and every street's district (blank: the
    parameter's joint share) are territorial (属地); the departments in charge of
    a few units are industry (行业); every ninth community is paired with a city
    department (挂包).
    """
    ids = units["unit_id"].to_numpy()
    by_name = pd.Series(ids, index=units["name"].to_numpy())
    group = units["group"].to_numpy()
    rows = []
    for members, share in ((group == "社区", _STREET_SHARE), (group == "街道", None)):
        for k in np.flatnonzero(members):
            rows.append((ids[k], ids[parent[k]], "territorial", share))
    for department, names, share in _INDUSTRY:
        rows.extend((by_name[n], by_name[department], "industry", share) for n in names)
    departments, step, share = _PAIRED
    communities = ids[group == "社区"][::step]
    rows.extend((c, by_name[d], "paired", share) for c, d in zip(communities, departments))
    frame = pd.DataFrame(rows, columns=["unit_id", "responsible_id", "relation", "share"])
    return frame.astype({"unit_id": str, "responsible_id": str, "relation": str, "share": "float64"})


def _surveys(rng: np.random.Generator, units: pd.DataFrame, rounds: pd.DataFrame,
             quality: np.ndarray) -> pd.DataFrame:
    """One satisfaction survey per unit and comprehensive round.

    Satisfaction follows quality loosely and stays within 78-97%, except in the
    planted low surveys: the top unit vetoed in C2026Q2, and two laggards.
    """
    comp = np.flatnonzero(rounds["kind"].to_numpy() == "comprehensive")
    comp_ids = pd.Index(rounds["round_id"].to_numpy()[comp])
    respondents = rng.integers(40, 301, (len(units), len(comp)))
    rate = 0.875 + 0.5 * (quality[:, comp] - 0.83) + rng.normal(0.0, 0.025, respondents.shape)
    rate = np.clip(rate, 0.78, 0.97)
    unit = pd.Index(units["unit_id"]).get_loc
    laggards = PLANTED["persistent_laggards"]
    for unit_id, round_id, low in ((PLANTED["vetoed_unit"], PLANTED["vetoed_round"], 0.70),
                                   (laggards[2], comp_ids[0], 0.72),
                                   (laggards[1], comp_ids[2], 0.73)):
        rate[unit(unit_id), comp_ids.get_loc(round_id)] = low
    satisfied = np.round(rate * respondents).astype(int)
    c, u = np.indices((len(comp), len(units))).reshape(2, -1)
    return pd.DataFrame({
        "round_id": comp_ids.to_numpy()[c],
        "unit_id": units["unit_id"].to_numpy()[u],
        "respondents": respondents[u, c],
        "satisfied": satisfied[u, c],
    }).astype({"round_id": str, "unit_id": str})


def make_demo_city(seed: int = 2026) -> dict[str, pd.DataFrame]:
    """Build the demo city's dataset for 2026.

    Parameters
    ----------
    seed : int, default 2026
        Seed of every random draw. The same seed gives identical tables on every
        run (with the same NumPy: NumPy does not promise its random streams across
        versions); another seed redraws the noise around the same planted story
        (`PLANTED`).

    Returns
    -------
    dict of str to pandas.DataFrame
        The seven tables of the dataset contract, with the contract's columns in
        its order:

        - ``units``: unit_id, name, kind, group, size (staff or residents);
        - ``indicators``: indicator_id, name, category, max_points, topic (blank
          for the comprehensive evaluation);
        - ``rounds``: round_id, kind, topic (blank for comprehensive), date
          (ISO text), in date order;
        - ``scores``: round_id, unit_id, indicator_id, rater_id, source, points,
          visit (blank except for field scores);
        - ``deductions``: round_id, unit_id, code, points, role, verified (bool),
          note (the violation, and the primary unit of a joint row), problem_id
          (on the rows of a problem recorded against two units);
        - ``surveys``: round_id, unit_id, respondents, satisfied;
        - ``responsibility``: unit_id, responsible_id, relation (territorial,
          industry, paired), share (blank: the parameter's joint share).

        Ids are strings; optional cells left blank are NaN.

    Examples
    --------
    >>> tables = make_demo_city()
    >>> {name: len(frame) for name, frame in tables.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'units': 150, 'indicators': 34, 'rounds': 28, 'scores': 75969, 'deductions': 229,
     'surveys': 600, 'responsibility': 120}
    >>> tables["units"].groupby("group").size().to_dict()
    {'县区': 10, '市直部门': 36, '社区': 74, '街道': 30}
    """
    rng = np.random.default_rng(seed)
    units, means, parent = _units(rng)
    indicators = _indicators()
    rounds = _rounds()
    quality = _quality(rng, units, rounds, means)
    return {
        "units": units,
        "indicators": indicators,
        "rounds": rounds,
        "scores": _scores(rng, units, indicators, rounds, quality),
        "deductions": _deductions(rng, units, rounds, quality, parent),
        "surveys": _surveys(rng, units, rounds, quality),
        "responsibility": _responsibility(units, parent),
    }


def write_demo(directory: str | Path, *, force: bool = False) -> list[Path]:
    """Write the demo city (`make_demo_city` with its default seed) as CSV files.

    Parameters
    ----------
    directory : str or pathlib.Path
        Created if needed. A folder that already holds anything is refused
        unless ``force``: it may be a dataset someone is working on.
    force : bool
        Overwrite the ``<table>.csv`` files of a non-empty folder (other files stay).

    Returns
    -------
    list of pathlib.Path
        The seven files written, UTF-8, one per table.

    Raises
    ------
    InputError
        ``directory`` is not empty (without ``force``), is not a folder, or it or
        one of the files to write is a symbolic link: nothing is written through a
        link, even with ``force``, and nothing is written at all when one is refused.

    Notes
    -----
    Each file is written to a new temporary file beside it and renamed over the
    target, so a link created after the checks is replaced, never followed.
    """
    from ..data.write import csv_text

    directory = Path(directory)
    tables = make_demo_city()
    targets = [directory / f"{name}.csv" for name in tables]
    _check_demo_target(directory, targets, force)
    directory.mkdir(parents=True, exist_ok=True)
    for path, frame in zip(targets, tables.values()):
        _replace_file(path, csv_text(frame).encode("utf-8"))
    return targets


def _check_demo_target(directory: Path, targets: list[Path], force: bool) -> None:
    """Refuse a folder that is a link, a file, non-empty without ``force``, or holds a linked target."""
    from ..errors import InputError

    if directory.is_symlink():
        raise InputError("is a symbolic link; the demo city is never written through a link: "
                         "give a real folder", file=directory)
    if directory.exists() and not directory.is_dir():
        raise InputError("exists and is not a folder", file=directory)
    linked = [p for p in targets if p.is_symlink()]
    if linked:
        raise InputError(f"{linked[0].name} is a symbolic link; the demo city is never written "
                         "through a link: remove it first", file=directory)
    if not directory.exists() or force:
        return
    present = sorted(p.name for p in directory.iterdir())
    if present:
        shown = ", ".join(present[:5]) + (f" and {len(present) - 5} more" if len(present) > 5 else "")
        raise InputError(f"is not empty ({shown}); writing the demo city would overwrite a dataset. "
                         "Give an empty or new folder, or --force to overwrite its <table>.csv files",
                         file=directory)


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a fresh temporary file beside ``path``, then rename it over ``path``."""
    import os
    import tempfile

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def write_demo_workbook(path: str | Path, *, force: bool = False) -> Path:
    """Write the demo city as one workbook, the way a city office keeps it.

    Chinese sheet names, headers and values, and one wide score sheet per round
    (`honorcalc.data.template.write_workbook`); ``params/demo.yaml`` runs it.

    Raises
    ------
    InputError
        ``path`` exists (without ``force``), is a folder, or is a symbolic link
        (nothing is written through a link, even with ``force``).
    """
    import os
    import tempfile

    from ..data.template import write_workbook
    from ..data.validate import validate_tables
    from ..errors import InputError

    path = Path(path)
    if path.is_symlink():
        raise InputError("is a symbolic link; the demo city is never written through a link: remove it first",
                         file=path)
    if path.is_dir():
        raise InputError("is a folder; give the workbook's file name (demo.xlsx)", file=path)
    if path.exists() and not force:
        raise InputError("exists; writing the demo city would overwrite it. Give a new file name, or --force",
                         file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset = validate_tables(make_demo_city())
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".xlsx")
    os.close(handle)
    try:
        write_workbook(dataset, temporary, force=True)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)  # a link made after the checks is replaced, never followed
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    return path
