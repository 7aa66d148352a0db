"""Shared ground of the fairness analyses: seeds, rescaled points, cell codes, intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..data.contract import is_final_score_rater, text_ids
from ..errors import InputError
from ..params import Params
from ..rules.scoring import check_scores_and_indicators, require_columns, row_key

__all__ = ["SEED_STREAMS", "CELL", "check_params", "require", "seeded_rng", "rescaled", "cell_codes", "sorted_ids", "round_order", "t_interval", "dense_codes",
           "dersimonian_laird_tau2", "FINAL_SCORES_NOTE", "with_rater", "in_two_lanes"]

SEED_STREAMS = {"rater_slots": 1, "laggards": 2, "stability": 3, "groups": 4, "gstudy": 5, "ranks": 6}

CELL = ["round_id", "unit_id", "indicator_id", "source"]

#: What every note about scores without a recorded rater begins with (`honorcalc.fairness.final_scores`).
FINAL_SCORES_NOTE = "final scores only: no rater recorded"


def with_rater(scores: pd.DataFrame) -> np.ndarray:
    """Which rows of ``scores`` name a rater, not the pseudo-rater of final scores (a bool array)."""
    if "rater_id" not in scores.columns or not len(scores):
        return np.ones(len(scores), dtype=bool)
    # each distinct id is looked at once: a string test over every row of a city is slow
    codes, ids = pd.factorize(scores["rater_id"], use_na_sentinel=False)
    final = is_final_score_rater(pd.Series(ids, dtype=object)).to_numpy(dtype=bool)
    return ~final[codes]


def check_params(params) -> None:
    if not isinstance(params, Params):
        raise InputError(f"params: expected honorcalc.params.Params, got {type(params).__name__}")


def require(frame, table: str, columns) -> None:
    """Raise `InputError` naming the table and the missing columns."""
    require_columns(frame, columns, table)


def seeded_rng(params: Params, stream: str) -> tuple[np.random.Generator, str]:
    entropy = [int(params.seed), SEED_STREAMS[stream]]
    return np.random.default_rng(entropy), f"[{entropy[0]}, {entropy[1]}]"


def rescaled(scores: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """The score rows with ``max_points``, ``category`` (a categorical of sorted text) and
    ``pct`` = points / max_points × 100."""
    check_scores_and_indicators(scores, indicators)
    if not pd.api.types.is_numeric_dtype(scores["points"]):
        raise InputError(
            f"column 'points' must be numeric; got dtype {scores['points'].dtype} "
            "(load the dataset with honorcalc.data.load_dataset)", file="scores", column="points",
        )
    meta = indicators.set_index("indicator_id")
    # look up each distinct indicator once: a map over every row of a string column is slow
    at, ids = pd.factorize(scores["indicator_id"], use_na_sentinel=False)
    ids = pd.Series(ids)
    max_points = ids.map(meta["max_points"]).astype("float64").to_numpy()[at]
    unknown = np.flatnonzero(np.isnan(max_points))
    if len(unknown):
        raise InputError(f"unknown indicator_id {scores['indicator_id'].iloc[unknown[0]]!r}", file="scores",
                         column="indicator_id")
    # a new frame over the same columns (copy-on-write: no column is copied), three columns added
    out = scores.reset_index(drop=True)
    out["max_points"] = max_points
    # codes of the distinct indicators' categories, as sorted text: no text per row is made
    category, categories = pd.factorize(ids.map(meta["category"]).astype(str), sort=True)
    out["category"] = pd.Categorical.from_codes(category[at], dtype=pd.CategoricalDtype(categories))
    out["pct"] = out["points"].to_numpy(dtype="float64") / max_points * 100.0
    return out


def cell_codes(frame: pd.DataFrame, columns) -> tuple[np.ndarray, int]:
    """Each row's key over ``columns``, numbered 0 … K-1 in the sorted order of its `row_key`; and K.

    Joined keys sort as the tuples of their parts when no part holds a character at or
    below the separator (U+001F), so the parts are sorted on their own, which is far
    cheaper than joining them; otherwise the keys are joined.
    """
    key = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        part, uniques = pd.factorize(text_ids(frame[column]), sort=True)
        if (part < 0).any() or any(min(u, default="\x7f") <= "\x1f" for u in uniques):
            key = pd.factorize(row_key(frame, list(columns)), sort=True)[0]
            break
        key = key * len(uniques) + part
    else:
        key = np.unique(key, return_inverse=True)[1]
    codes = key.astype("int64")
    return codes, int(codes.max(initial=-1)) + 1


def sorted_ids(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids.astype(str), return_inverse=True)``, sorted by pandas (far faster on strings)."""
    text = text_ids(ids)
    codes, uniques = pd.factorize(text, sort=True)
    if (codes < 0).any():
        # a missing id: np.unique raises on it, as it always did
        return np.unique(text.to_numpy(), return_inverse=True)
    return uniques.to_numpy(dtype=object), codes.astype(np.int64)


def round_order(results: pd.DataFrame) -> pd.DataFrame:
    """One row per round of ``results`` in time order (date, round_id)."""
    r = results[["round_id", "date"]].drop_duplicates("round_id")
    return r.sort_values(["date", "round_id"], kind="stable").reset_index(drop=True)


def t_interval(estimate, se, df, level):
    q = sps.t.ppf(0.5 + level / 2, np.maximum(df, 1))
    with np.errstate(invalid="ignore"):
        return estimate - q * se, estimate + q * se


def dense_codes(key: np.ndarray, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` of non-negative integer keys below ``size``, by counting.

    Counting replaces the sort where the keys' range is not much larger than their
    number; otherwise the sort is used. The result is np.unique's either way.
    """
    key = np.asarray(key)
    if size is None:
        size = int(key.max()) + 1 if key.size else 0
    if key.size == 0 or size > 4 * key.size + 4096:
        return np.unique(key, return_inverse=True)
    present = np.zeros(size, dtype=bool)
    present[key] = True
    return np.flatnonzero(present), (np.cumsum(present) - 1)[key]


def dersimonian_laird_tau2(q: float, w: np.ndarray) -> float:
    """The method-of-moments between-unit variance τ² = max(0, (Q − (k − 1)) / (Σw − Σw²/Σw)).

    ``q`` is Cochran's Q = Σ w (y − ȳ_w)² of k estimates with inverse-variance weights
    ``w`` (DerSimonian & Laird, 1986, Controlled Clinical Trials 7(3), 177-188).
    """
    return max(0.0, float((q - (w.size - 1)) / (w.sum() - (w**2).sum() / w.sum())))


def in_two_lanes(steps, side, *, concurrent: bool) -> dict:
    """Run ``steps`` — ``(name, step)`` pairs, each ``step(done)`` given the results so far by
    name — in their order, those named in ``side`` in a second thread when ``concurrent``.

    A side step must not need a result of the main lane: each lane runs its own steps in
    order, so a step may use the results of the steps before it in its own lane. Every
    step is a pure function of its inputs, seeded from the parameters, so the results are
    those of one thread. When steps fail, the error raised is that of the first failing
    step in ``steps``' order, as in one thread. An interrupt of the main thread is not
    held up by the side lane (a daemon thread, whose result is then dropped), and once the
    main lane has failed or been interrupted the side lane starts no further step.
    """
    import threading

    done, failed = {}, {}
    # the side lane takes no step after the main lane's failing one: its errors could not come
    # first (an interrupt: no step at all)
    last = [len(steps)]

    def lane(in_side: bool, catch) -> None:
        for index, (name, step) in enumerate(steps):
            if (name in side) == in_side:
                if in_side and index > last[0]:
                    return
                try:
                    done[name] = step(done)
                except catch as error:
                    failed[name] = error
                    if not in_side:
                        last[0] = index
                    return

    thread = None
    if concurrent and side:
        thread = threading.Thread(target=lane, args=(True, BaseException), name="honorcalc-side", daemon=True)
        thread.start()
    try:
        lane(False, Exception)
        if thread is None:
            lane(True, Exception)
        else:
            thread.join()
    except BaseException:
        last[0] = -1  # an interrupt, in either lane's time: the side lane starts no further step
        raise
    for name, _ in steps:
        if name in failed:
            raise failed[name]
    return done

