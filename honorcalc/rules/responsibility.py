"""Co-responsibility (责任细化与共同担责): a problem counts against the units answerable for it.

RULES.md §1.5.3: "responsibility is attributed to the territorial unit (属地责任), the industry
unit (行业责任) and the paired-assistance unit (挂包责任); a problem can count against several
units: the primary one in full, joint ones (连带责任) at a configurable fraction."

The ``responsibility`` table (责任关系) names, for a unit, the units answerable for its
problems: its street or district (``territorial``), the department in charge (``industry``)
and its paired unit (``paired``), each with an optional ``share``. `charge_responsible_units`
turns every primary deduction of a unit into a joint deduction of each unit named for it, so
a problem is recorded once and still counts wherever §1.5.3 says it should.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.contract import REQUIRED_COLUMNS
from ..errors import InputError
from ..params import Params

__all__ = ["RELATIONS", "PROVENANCE_COLUMNS", "problem_keys", "check_responsibility", "charge_responsible_units"]

#: The relations of the responsibility table, in the order of RULES.md §1.5.3.
RELATIONS = ("territorial", "industry", "paired")

#: The columns `charge_responsible_units` adds to each deduction row.
PROVENANCE_COLUMNS = ("origin", "source_unit", "relation")


def problem_keys(round_id: pd.Series, unit_id: pd.Series, code: pd.Series, role: pd.Series,
                 note: pd.Series, problem_id: pd.Series) -> np.ndarray:
    """Which deduction rows of a round are one problem: one key per row.

    Parameters
    ----------
    round_id, unit_id, code, role, note, problem_id : Series
        Columns of the deductions table, aligned; ``note`` and ``problem_id`` may be blank.

    Returns
    -------
    ndarray of str
        Rows of one round with the same key are one problem shared by their units.

    Notes
    -----
    A ``problem_id`` (问题编号) links rows explicitly, whatever their notes. Without one, rows
    of a round with the same code and note are one problem when one of them is ``joint``
    (someone holds it jointly); several ``primary`` rows alone are separate violations of the
    same code, each its own problem (so a responsible unit is charged for each of them).
    """
    note = note.to_numpy(dtype=object)
    text = code.astype(str).to_numpy(dtype=object) + "\x1f" + np.where(pd.isna(note), "", note.astype(str))
    given = problem_id.notna().to_numpy()
    implicit = pd.Series(text).where(~given)
    group = round_id.astype(str).to_numpy(dtype=object) + "\x1f" + implicit.to_numpy(dtype=object).astype(str)
    joint = pd.Series(role.to_numpy() == "joint") & ~pd.Series(given)
    shared = pd.Series(joint.to_numpy()).groupby(group).transform("any").to_numpy(dtype=bool)
    separate = np.where(shared, "", "\x1f" + unit_id.astype(str).to_numpy(dtype=object))
    return np.where(given, problem_id.astype(str).to_numpy(dtype=object), text + separate).astype(object)


def _row(label) -> int | None:
    """The spreadsheet row of a frame's row label (the loader labels rows by spreadsheet row − 2)."""
    return int(label) + 2 if isinstance(label, (int, np.integer)) else None


def check_responsibility(responsibility: pd.DataFrame, units: pd.DataFrame) -> None:
    """Raise `InputError` unless ``responsibility`` is a well-formed 责任关系 table for ``units``.

    A validated `honorcalc.data.Dataset` has passed these checks already; they are for frames
    given directly to `honorcalc.rules.evaluate_rounds`.

    Raises
    ------
    InputError
        A missing column, an unknown unit, an unknown relation, a share outside (0, 1], a
        unit named responsible for itself, or one pair of units given twice.
    """
    label = "table 'responsibility'"
    if not isinstance(responsibility, pd.DataFrame):
        raise InputError(f"{label}: expected a pandas DataFrame, got {type(responsibility).__name__}")
    missing = [c for c in REQUIRED_COLUMNS["responsibility"] if c not in responsibility.columns]
    if missing:
        raise InputError(f"{label} lacks column(s) {', '.join(missing)} "
                         f"(it has: {', '.join(map(str, responsibility.columns)) or 'none'})",
                         file="responsibility")
    known = set(units["unit_id"])
    for column in ("unit_id", "responsible_id"):
        bad = responsibility[column][~responsibility[column].isin(known)]
        if len(bad):
            raise InputError(f"unknown unit {bad.iloc[0]!r}", file="responsibility", row=_row(bad.index[0]),
                             column=column)
    bad = responsibility["relation"][~responsibility["relation"].isin(RELATIONS)]
    if len(bad):
        raise InputError(f"relation {bad.iloc[0]!r} not recognized; must be one of {', '.join(RELATIONS)}",
                         file="responsibility", row=_row(bad.index[0]), column="relation")
    if "share" in responsibility.columns:
        share = pd.to_numeric(responsibility["share"], errors="coerce")
        bad = responsibility["share"][responsibility["share"].notna() & ~((share > 0) & (share <= 1))]
        if len(bad):
            raise InputError(f"share must be > 0 and ≤ 1, got {bad.iloc[0]}", file="responsibility",
                             row=_row(bad.index[0]), column="share")
    own = responsibility[responsibility["unit_id"] == responsibility["responsible_id"]]
    if len(own):
        raise InputError(f"unit {own['unit_id'].iloc[0]!r} is named responsible for itself",
                         file="responsibility", row=_row(own.index[0]), column="responsible_id")
    twice = responsibility[responsibility.duplicated(["unit_id", "responsible_id"])]
    if len(twice):
        raise InputError(f"units {twice['unit_id'].iloc[0]!r} and {twice['responsible_id'].iloc[0]!r} "
                         "are paired more than once", file="responsibility", row=_row(twice.index[0]),
                         column="responsible_id")


def charge_responsible_units(detail: pd.DataFrame, responsibility: pd.DataFrame | None,
                             params: Params) -> pd.DataFrame:
    """Each primary deduction also charged, jointly, to the units responsible for its unit.

    Parameters
    ----------
    detail : DataFrame
        The recorded deductions as `honorcalc.rules.scoring.deduction_points` prices them:
        ``round_id``, ``unit_id``, ``code``, ``role``, ``verified``, ``note``,
        ``problem_id``, ``points``, ``negative_list``, ``base_points``, ``share``,
        ``counted``, ``deducted``, ``problem``.
    responsibility : DataFrame or None
        ``unit_id``, ``responsible_id``, ``relation`` (territorial | industry | paired),
        optional ``share`` (0 < share ≤ 1; blank: ``deductions.joint_share``). None or empty:
        nothing is derived.
    params : Params
        ``deductions.responsibility`` (off: nothing is derived), ``deductions.joint_share``.

    Returns
    -------
    DataFrame
        ``detail`` with three more columns, then one more row per derived charge:
        ``origin`` (``"recorded"``: a row of the data; ``"derived"``: charged here),
        ``source_unit`` (a derived row's, or a recorded joint row's, primary unit: the
        unit the problem was recorded against), ``relation`` (territorial, industry or
        paired when the responsibility table names the unit for ``source_unit``; blank
        otherwise). A derived row is ``joint``, carries its primary row's round, code,
        points, note, problem, verification and 负面清单 price, and takes off
        ``base_points × share`` when counted. Recorded rows keep their labels and order;
        derived rows follow, in the order of their primary rows.

    Notes
    -----
    A primary row of unit U charges every unit R the table names for U, at that row's share
    (blank: ``deductions.joint_share``), unless R already has a row of the same problem: the
    recorded row counts, never both. When one problem has several primary rows whose units
    name the same R, R is charged once, by the heaviest of them (counted first, then the
    largest deduction, then the first in the data). A charged unit not scored in the round
    is reported as a deduction not applied, as any other.

    Relations are followed one level only: a community's problem counts against its street,
    not, through the street, against the district. The table states who answers for a
    unit's problems directly; following chains would charge a district at share × share, a
    fraction nobody set, and a cycle (A answers for B, B for A) would charge a unit for its
    own problem. A city that wants the district to share its communities' problems names
    that relation in the table.
    """
    out = detail.assign(origin="recorded", source_unit=np.nan, relation=np.nan)
    out["source_unit"] = out["source_unit"].astype(object)
    out["relation"] = out["relation"].astype(object)
    if len(out) == 0:
        return out
    key = out["round_id"].astype(str) + "\x1f" + out["problem"].astype(str)
    primary = out["role"].to_numpy() == "primary"
    first_primary = pd.Series(out["unit_id"].to_numpy()[primary], index=key[primary].to_numpy())
    first_primary = first_primary[~first_primary.index.duplicated()]
    joint = ~primary
    out.loc[joint, "source_unit"] = key[joint].map(first_primary).to_numpy()
    if responsibility is None or len(responsibility) == 0:
        return out
    rel = responsibility[["unit_id", "responsible_id", "relation"]].copy()
    rel["share"] = (pd.to_numeric(responsibility["share"], errors="coerce") if "share" in responsibility.columns
                    else np.nan)
    rel["share"] = rel["share"].fillna(params.deductions.joint_share).astype("float64")
    pair = rel["unit_id"].astype(str) + "\x1f" + rel["responsible_id"].astype(str)

    # a recorded joint row whose unit the table names for the problem's primary unit: say why
    named = pd.Series(rel["relation"].to_numpy(), index=pair.to_numpy())
    recorded_pair = out["source_unit"].astype(str) + "\x1f" + out["unit_id"].astype(str)
    out.loc[joint, "relation"] = recorded_pair[joint].map(named).to_numpy()
    if not params.deductions.responsibility:
        return out

    src = out[primary].assign(_pos=np.flatnonzero(primary))
    cand = src.merge(rel.rename(columns={"unit_id": "_u"}), left_on="unit_id", right_on="_u", how="inner",
                     suffixes=("", "_rel"))
    if cand.empty:
        return out
    share = cand["share_rel"].to_numpy(dtype="float64")
    base = cand["base_points"].to_numpy(dtype="float64")
    counted = cand["counted"].to_numpy(dtype=bool)
    derived = pd.DataFrame({
        "round_id": cand["round_id"].to_numpy(), "unit_id": cand["responsible_id"].to_numpy(),
        "code": cand["code"].to_numpy(), "role": "joint", "verified": cand["verified"].to_numpy(dtype=bool),
        "note": cand["note"].to_numpy(), "problem_id": cand["problem_id"].to_numpy(),
        "points": cand["points"].to_numpy(dtype="float64"), "negative_list": cand["negative_list"].to_numpy(),
        "base_points": base, "share": share, "counted": counted,
        "deducted": np.where(counted, base * share, 0.0), "problem": cand["problem"].to_numpy(),
        "origin": "derived", "source_unit": cand["unit_id"].to_numpy(), "relation": cand["relation_rel"].to_numpy(),
    })
    charged = derived["round_id"].astype(str) + "\x1f" + derived["problem"].astype(str) + "\x1f" \
        + derived["unit_id"].astype(str)
    held = set(key + "\x1f" + out["unit_id"].astype(str))
    keep = ~charged.isin(held).to_numpy()
    # one charge per unit and problem: the heaviest primary row's (then the first in the data)
    rank = np.lexsort((cand["_pos"].to_numpy(), -derived["deducted"].to_numpy(), ~counted))
    first = np.zeros(len(derived), dtype=bool)
    first[rank[~charged.iloc[rank].duplicated().to_numpy()]] = True
    derived = derived[keep & first]
    order = np.lexsort((pd.Index(RELATIONS).get_indexer(derived["relation"]), cand["_pos"].to_numpy()[keep & first]))
    derived = derived.iloc[order]
    top = pd.to_numeric(pd.Series(out.index), errors="coerce").max()
    start = len(out) if pd.isna(top) else max(len(out), int(top) + 1)
    derived.index = pd.RangeIndex(start, start + len(derived))
    return pd.concat([out, derived[out.columns]])
