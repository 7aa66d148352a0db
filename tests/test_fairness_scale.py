"""What the province-scale paths of the fairness analysis keep: the very numbers of the plain ones.

Each test is quick (well under a second or two): the scale itself is measured by
``benchmarks/bench_province.py``, not here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import honorcalc.fairness.pairs as pairs
import honorcalc.fairness.ranks as ranks
import honorcalc.fairness.raters as raters
from honorcalc.data import load_dataset
from honorcalc.data.contract import coded_ids, text_ids
from honorcalc.datasets.province import write_province_dataset
from honorcalc.fairness import rank_uncertainty
from honorcalc.fairness.raters import _interval_alpha, _rater_matrix
from honorcalc.stats.agreement import krippendorff_alpha


@pytest.mark.parametrize("block", [97, 4_000_000])
def test_alpha_from_score_rows_is_the_dense_matrix_alpha_to_the_last_bit(monkeypatch, block):
    monkeypatch.setattr(raters, "_ALPHA_BLOCK", block)  # several blocks of columns, and one
    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(0, 400))
        rater = rng.integers(-1, int(rng.integers(1, 40)), n)
        cell = rng.integers(0, int(rng.integers(1, 120)), n)
        values = np.round(rng.normal(50, 20, n), int(rng.integers(0, 3)))
        values[rng.random(n) < 0.05] = np.nan
        if trial % 5 == 0:
            values[rng.random(n) < 0.3] = 0.0
        if trial % 7 == 0:
            values[:] = 5.0  # no variation: alpha undefined
        matrix = _rater_matrix(rater, cell, values)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dense = krippendorff_alpha(matrix) if matrix.shape[0] >= 2 else None
        alpha, n_units, n_raters = _interval_alpha(rater, cell, values)
        assert n_raters == matrix.shape[0]
        assert n_units == (0 if dense is None else dense.n_pairable_units)
        expected = np.nan if dense is None else dense.alpha
        assert (np.isnan(alpha) and np.isnan(expected)) or alpha == expected  # equal, not close


@pytest.mark.parametrize("p, first, last", [(1, 0, 7), (2, 0, 7), (pairs.TILE + 3, 2, 5), (2 * pairs.TILE + 1, 0, 7)])
def test_the_compiled_passes_over_the_pairs_are_numpys_to_the_last_bit(p, first, last):
    """The same floating-point operations as the NumPy expressions, so the same maxima and minima."""
    rng = np.random.default_rng(p)
    z = rng.normal(0, 2, (p, 7))
    w = rng.normal(0, 1, (p, p))
    w = np.triu(w, 1) - np.triu(w, 1).T  # −sign(t)/σ is antisymmetric
    hi, lo = np.full((p, 7), -np.inf), np.full((p, 7), np.inf)
    pairs.pair_extremes(z, w, hi, lo, first, last)
    want_hi, want_lo = np.full((p, 7), -np.inf), np.full((p, 7), np.inf)
    for i in range(p):
        for j in range(i + 1, p):
            v = (z[i, first:last] - z[j, first:last]) * w[i, j]
            for k in (i, j):
                want_hi[k, first:last] = np.maximum(want_hi[k, first:last], v)
                want_lo[k, first:last] = np.minimum(want_lo[k, first:last], v)
    assert np.array_equal(hi, want_hi) and np.array_equal(lo, want_lo)

    rows = rng.permutation(p)[: max(1, p // 2)]
    mask = rng.random((rows.size, p)) < 0.4
    out = rng.normal(0, 1, (rows.size, 7))
    want = out.copy()
    pairs.masked_maxima(z, w, rows, mask, out, first, last)
    for k, i in enumerate(rows):
        cols = np.flatnonzero(mask[k])
        if cols.size:
            best = ((z[cols, first:last] - z[i, first:last]) * w[i, cols][:, None]).max(axis=0)
            want[k, first:last] = np.maximum(want[k, first:last], best)
    assert np.array_equal(out, want)


def test_rank_sets_are_the_same_in_threads_and_in_one():
    rng = np.random.default_rng(3)
    p = 260
    x = rng.normal(80, 3, p)
    a = rng.normal(0, 0.3, (p, p // 4))
    cov = a @ a.T + np.diag(rng.uniform(0.5, 2.0, p))
    kwargs = dict(coverage=0.95, n_draws=1000, stepdown=True)
    threaded = rank_uncertainty(x, cov, 10, rng=np.random.default_rng(1), **kwargs)
    old = ranks._MAX_THREADS
    try:
        ranks._MAX_THREADS = 1
        single = rank_uncertainty(x, cov, 10, rng=np.random.default_rng(1), **kwargs)
    finally:
        ranks._MAX_THREADS = old
    pd.testing.assert_frame_equal(threaded, single)
    assert (threaded["rank_low"] < threaded["rank_high"]).any()


def test_the_province_as_one_dataset_loads_with_ids_unique_across_cities(tmp_path):
    info = write_province_dataset(tmp_path, n_cities=2, units=(12, 14))
    dataset = load_dataset(tmp_path)
    units = dataset.units
    assert len(units) == info["units"] and units["unit_id"].is_unique
    assert {u.split("-")[0] for u in units["unit_id"]} == {"C01", "C02"}
    assert len(dataset.scores) == info["score_rows"]
    raters_of = dataset.scores.groupby("rater_id")["unit_id"].agg(lambda u: {x.split("-")[0] for x in u})
    assert raters_of.map(len).eq(1).all()  # no rater crosses a city
    assert len(dataset.rounds) == 28 and dataset.indicators["indicator_id"].is_unique


def test_score_ids_are_held_as_sorted_codes_and_read_as_their_text(demo_data):
    scores = load_dataset(demo_data).scores
    for column in ("round_id", "unit_id", "indicator_id", "rater_id", "source"):
        categories = scores[column].cat.categories
        assert list(categories) == sorted(categories) and not scores[column].cat.ordered
        text = scores[column].astype(str)
        codes, uniques = pd.factorize(text_ids(scores[column]), sort=True)
        want_codes, want_uniques = pd.factorize(text, sort=True)
        assert np.array_equal(codes, want_codes) and list(uniques) == list(want_uniques)
    # categories not in text order, or not text, are put in order first
    odd = pd.Series([3, 1, 2, 1]).astype(pd.CategoricalDtype([3, 2, 1]))
    assert list(pd.factorize(text_ids(odd), sort=True)[1]) == ["1", "2", "3"]
    assert coded_ids(pd.Series(["b", "a", "b"])).cat.codes.tolist() == [1, 0, 1]


@pytest.fixture(scope="module")
def one_category_each(tmp_path_factory, demo_data):
    """The demo city with every indicator in a category of its own, named in the reverse order of
    the ids: a mapping from ids that is one-to-one, where codes and text part ways if they can."""
    import shutil

    folder = tmp_path_factory.mktemp("one-category-each")
    shutil.copytree(demo_data, folder, dirs_exist_ok=True)
    indicators = pd.read_csv(folder / "indicators.csv", dtype=str, keep_default_na=False)
    indicators["category"] = [f"c{99 - k}" for k in range(len(indicators))]
    indicators.to_csv(folder / "indicators.csv", index=False)
    return folder


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: "str" for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)})


@pytest.mark.parametrize("which", ["demo", "one category each"])
def test_every_output_is_the_same_from_score_ids_as_text_and_as_codes(which, demo_data, one_category_each):
    """The library takes score rows built by hand (ids as text) as well as `load_dataset`'s (ids as
    codes): every table, every frame of the evaluation in its row order, `explain`, the notice and the workbook."""
    import dataclasses

    from honorcalc.data.write import table_bytes
    from honorcalc.explain import explain_unit
    from honorcalc.params import Params
    from honorcalc.report.documents import round_notice
    from honorcalc.report.workbook import round_workbook
    from honorcalc.runs.pipeline import evaluate, run_tables

    folder = demo_data if which == "demo" else one_category_each
    coded = load_dataset(folder)
    as_text = dataclasses.replace(coded, scores=_as_text(coded.scores))
    for round_id in ("C2026Q4", "S2026-12a"):
        params = Params(dataset=str(folder), round=round_id)
        results = [evaluate(params, dataset) for dataset in (coded, as_text)]
        for field in dataclasses.fields(results[0]):
            first, second = getattr(results[0], field.name), getattr(results[1], field.name)
            if isinstance(first, pd.DataFrame):
                pd.testing.assert_frame_equal(_as_text(first), _as_text(second), obj=field.name)
        for unit in results[0].units["unit_id"].iloc[:5]:
            assert explain_unit(results[0], unit) == explain_unit(results[1], unit)
        assert round_notice(results[0]) == round_notice(results[1])
        assert round_workbook(results[0]) == round_workbook(results[1])
        tables = [run_tables(params, dataset, result) for dataset, result in zip((coded, as_text), results)]
        assert tables[0].keys() == tables[1].keys()
        for name in tables[0]:
            assert table_bytes(tables[0][name]) == table_bytes(tables[1][name]), name


def test_the_fairness_tables_are_the_same_in_two_lanes_and_in_one(monkeypatch, demo_data):
    from honorcalc.data.write import table_bytes
    from honorcalc.fairness import fairness_tables
    from honorcalc.fairness import tables as module
    from honorcalc.params import Params

    dataset, params = load_dataset(demo_data), Params(dataset=str(demo_data), round="C2026Q4")
    lanes = []
    real = module.in_two_lanes

    def spy(steps, side, *, concurrent):
        lanes.append(concurrent)
        return real(steps, side, concurrent=concurrent)

    monkeypatch.setattr(module, "in_two_lanes", spy)
    monkeypatch.setattr(module.os, "cpu_count", lambda: 2)
    two = fairness_tables(dataset, params)
    monkeypatch.setattr(module.os, "cpu_count", lambda: 1)
    one = fairness_tables(dataset, params)
    assert lanes == [True, False]
    assert {k: table_bytes(v) for k, v in two.items()} == {k: table_bytes(v) for k, v in one.items()}


def test_two_analyses_share_the_machine_only_when_their_memory_fits_together():
    from honorcalc.fairness.memory import MemoryNeed, fit_together

    needs = [MemoryNeed("laggards", "fairness.null_cities", "null", 10, lambda v: 600.0),
             MemoryNeed("ranks", "fairness.rank_draws", "draws", 10, lambda v: 600.0)]
    assert fit_together(needs, (2000.0, "test")) and not fit_together(needs, (1000.0, "test"))


@pytest.mark.parametrize("concurrent", [True, False])
def test_two_lanes_give_each_step_the_results_of_its_lane_and_raise_the_first_error_in_order(concurrent):
    from honorcalc.fairness.base import in_two_lanes

    steps = [("a", lambda d: 1), ("b", lambda d: 2), ("c", lambda d: d["a"] + 10), ("d", lambda d: d["b"] + 20)]
    assert in_two_lanes(steps, {"b", "d"}, concurrent=concurrent) == {"a": 1, "b": 2, "c": 11, "d": 22}

    def fail(message):
        def step(d):
            raise ValueError(message)
        return step

    # the side lane's error comes first in the steps' order, though the main lane fails too
    steps = [("a", lambda d: 1), ("b", fail("side")), ("c", fail("main")), ("d", lambda d: 4)]
    with pytest.raises(ValueError, match="side"):
        in_two_lanes(steps, {"b", "d"}, concurrent=concurrent)
    steps = [("a", fail("main")), ("b", fail("side"))]
    with pytest.raises(ValueError, match="main"):
        in_two_lanes(steps, {"b"}, concurrent=concurrent)


@pytest.mark.parametrize("concurrent", [True, False])
def test_the_side_lane_takes_no_step_after_the_main_lanes_failure(concurrent):
    import threading
    import time

    from honorcalc.fairness.base import in_two_lanes

    main_failed, ran = threading.Event(), []

    def fail(d):
        main_failed.set()
        raise ValueError("main")

    def side(name):
        def step(d):
            # the main lane's step has raised by now; its lane records the failure within microseconds
            main_failed.wait(5)
            time.sleep(0.2)
            ran.append(name)
        return step

    steps = [("s1", side("s1")), ("m", fail), ("s2", side("s2"))]
    with pytest.raises(ValueError, match="main"):
        in_two_lanes(steps, {"s1", "s2"}, concurrent=concurrent)
    assert ran == ["s1"]  # a step before the failing one still runs: its error would have come first


def test_an_interrupt_while_the_main_lane_waits_stops_the_side_lane():
    import os
    import signal
    import threading
    import time

    from honorcalc.fairness.base import in_two_lanes

    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        pytest.skip("Ctrl-C reaches the main thread as KeyboardInterrupt only")
    ran = []

    def first(d):
        time.sleep(0.3)  # the main lane is waiting for this one by now
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
        time.sleep(0.3)  # and has seen it
        ran.append("first")

    steps = [("main", lambda d: 1), ("first", first), ("second", lambda d: ran.append("second"))]
    with pytest.raises(KeyboardInterrupt):
        in_two_lanes(steps, {"first", "second"}, concurrent=True)
    time.sleep(0.6)
    assert ran == ["first"]
