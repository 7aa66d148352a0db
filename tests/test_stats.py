"""Tests of honorcalc.stats: ICC, Krippendorff's alpha and Kendall's W.

Where each reference value comes from (kept here, as pingouin keeps its R scripts):

* ICC, Shrout & Fleiss (1979): the six ICCs (.17 .29 .71 .44 .62 .91) are the paper's.
  F, df, p and the 95% intervals are those of R ``psych::ICC`` on the same data, as
  recorded in pingouin's ``tests/test_reliability.py``:
  ``psych::ICC(psych::sf)`` (``sf`` is psych's copy of the 6 x 4 table).
* Krippendorff (2011), "Computing Krippendorff's alpha-reliability": the 4 observers x
  12 units example with missing values (nominal .743, ordinal .815, interval .849, ratio
  .797, n.. = 40) and the binary two-observer example (.095). The same values are
  asserted by the krippendorff package's own tests.
* Kendall's W: the Siegel & Castellan (1988) example of three raters ranking eight
  attributes (W = 0.6560847, chi-square 13.778, df 7, p = 0.05528) and the ``anxiety``
  data of the R package irr (W corrected for ties 0.5396569, chi-square 30.76, df 19,
  p = 0.04288), both as printed by the examples of R ``DescTools::KendallW``:
  ``KendallW(t(d.att[, -1]), test = TRUE)`` and ``KendallW(anxiety, TRUE, test = TRUE)``.
* Peers computed live, on seeded random matrices with missing cells:
  ``pingouin.intraclass_corr`` (``nan_policy='omit'``, CI rounding switched off),
  ``krippendorff.alpha`` and ``pingouin.friedman`` / ``scipy.stats.friedmanchisquare``.
"""

from __future__ import annotations

import doctest
import warnings

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats as sps

from honorcalc.errors import InputError
from honorcalc.stats import agreement as stats
from honorcalc.stats.agreement import ICC_TYPES, icc, kendall_w, krippendorff_alpha

NAN = np.nan

# Shrout & Fleiss (1979): targets 1-6 (rows) rated by judges 1-4 (columns)
SHROUT_FLEISS = np.array([
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
], dtype=float)

# Krippendorff (2011), example C: 4 observers (rows) x 12 units (columns)
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])

# Siegel & Castellan (1988): 8 attributes (rows) ranked by 3 raters (columns)
SIEGEL_CASTELLAN = np.array([
    [5, 1, 4], [6, 7, 5], [7, 6, 1], [1, 2, 3], [2, 3, 2], [4, 5, 7], [3, 4, 6], [8, 8, 8],
])

# R package irr, data(anxiety): 20 subjects (rows) rated by 3 raters (columns)
ANXIETY = np.array([
    [3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3],
    [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4],
    [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2],
]).T

PEER = dict(rtol=1e-9, atol=1e-9)
LEVELS = ["nominal", "ordinal", "interval", "ratio"]


@pytest.fixture
def pingouin_full_precision(monkeypatch):
    """pingouin rounds its CI95 column to 2 decimals by default; compare unrounded."""
    monkeypatch.setitem(pingouin.options, "round.column.CI95", None)


def long_format(ratings: np.ndarray) -> pd.DataFrame:
    return (pd.DataFrame(ratings).rename_axis("unit").reset_index()
            .melt(id_vars="unit", var_name="rater", value_name="score"))


def random_ratings(seed: int, n_units: int = 12, n_raters: int = 4, missing: float = 0.1):
    rng = np.random.default_rng(seed)
    x = (rng.normal(5, 2, size=(n_units, 1)) + rng.normal(0, 1, size=(1, n_raters))
         + rng.normal(0, 1.5, size=(n_units, n_raters)))
    x[rng.random(x.shape) < missing] = np.nan
    return x


def icc_values(res) -> np.ndarray:
    return np.array([res.ICC1, res.ICC2, res.ICC3, res.ICC1k, res.ICC2k, res.ICC3k], dtype=float)


def test_doctests():
    failures, _ = doctest.testmod(stats, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0


# ------------------------------------------------------------------------------- ICC


def test_icc_shrout_fleiss_1979_example():
    res = icc(SHROUT_FLEISS)
    table = res.table
    assert list(table["Type"]) == list(ICC_TYPES)
    # Shrout & Fleiss: ICC(1,1), ICC(2,1), ICC(3,1), ICC(1,4), ICC(2,4), ICC(3,4)
    assert_allclose(table["ICC"], [0.17, 0.29, 0.71, 0.44, 0.62, 0.91], atol=0.005)
    # R psych::ICC
    assert_allclose(table["F"], [1.8, 11.0, 11.0, 1.8, 11.0, 11.0], atol=0.05)
    assert_array_equal(table["df1"], [5] * 6)
    assert_array_equal(table["df2"], [18, 15, 15, 18, 15, 15])
    assert_allclose(table["pval"], [0.16472, 0.00013, 0.00013, 0.16472, 0.00013, 0.00013],
                    atol=5e-5)
    ci = np.stack(table["CI95"])
    assert_allclose(ci[:, 0], [-0.13, 0.02, 0.34, -0.88, 0.07, 0.68], atol=0.005)
    assert_allclose(ci[:, 1], [0.72, 0.76, 0.95, 0.91, 0.93, 0.99], atol=0.005)


def test_icc_attributes_are_floats_in_table_order():
    res = icc(SHROUT_FLEISS)
    for name in ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k", "ms_units", "ms_error"):
        assert type(getattr(res, name)) is float
    assert (res.n_units, res.n_raters) == (6, 4)
    assert_array_equal(icc_values(res), res.table["ICC"])


def test_icc_table_columns_match_pingouin(pingouin_full_precision):
    ref = pingouin.intraclass_corr(long_format(SHROUT_FLEISS), "unit", "rater", "score")
    table = icc(SHROUT_FLEISS).table
    assert list(table.columns) == list(ref.columns)
    assert list(table["Type"]) == list(ref["Type"])
    assert table.index.equals(ref.index)
    assert table.dtypes.equals(ref.dtypes)


def assert_icc_equals_pingouin(x: np.ndarray) -> None:
    ref = pingouin.intraclass_corr(long_format(x), "unit", "rater", "score", nan_policy="omit")
    ours = icc(x).table
    for column in ("ICC", "F", "pval"):
        assert_allclose(ours[column], ref[column], **PEER, err_msg=column)
    assert_array_equal(ours["df1"], ref["df1"])
    assert_array_equal(ours["df2"], ref["df2"])
    assert_allclose(np.stack(ours["CI95"]), np.stack(ref["CI95"]), **PEER)


@pytest.mark.parametrize("seed", range(12))
def test_icc_equals_pingouin_with_missing_ratings(seed, pingouin_full_precision):
    rng = np.random.default_rng(1000 + seed)
    x = random_ratings(seed, n_units=int(rng.integers(6, 30)), n_raters=int(rng.integers(2, 7)),
                       missing=0.07)
    assert (~np.isnan(x)).all(axis=1).sum() >= 3, "too few complete units; pick another seed"
    assert_icc_equals_pingouin(x)


def test_icc_rater_without_ratings_is_left_out_as_in_pingouin(pingouin_full_precision):
    # pingouin's pivot_table drops an all-NaN rater before listwise deletion of units
    x = SHROUT_FLEISS.copy()
    x[:, 1] = np.nan
    x[0, 2] = np.nan
    res = icc(x)
    assert (res.n_units, res.n_raters) == (5, 3)
    assert_icc_equals_pingouin(x)


def test_icc_omit_is_listwise_deletion():
    x = SHROUT_FLEISS.copy()
    x[2, 1] = np.nan
    assert_allclose(icc_values(icc(x)), icc_values(icc(np.delete(SHROUT_FLEISS, 2, axis=0))),
                    rtol=1e-12)


def test_icc_nan_policy_raise_names_the_cell():
    x = SHROUT_FLEISS.copy()
    x[3, 2] = np.nan
    with pytest.raises(InputError, match=r"first at unit 3, rater 2 .*nan_policy='raise'"):
        icc(x, nan_policy="raise")
    with pytest.raises(InputError, match=r"first at unit 3, rater 2 \(0-based\) of matrix \(1,\)"):
        icc(np.stack([SHROUT_FLEISS, x]), nan_policy="raise")


def test_icc_nan_policy_propagate_only_touches_matrices_with_nan():
    x = SHROUT_FLEISS.copy()
    x[0, 0] = np.nan
    res = icc(np.stack([x, SHROUT_FLEISS]), nan_policy="propagate")
    assert np.isnan(icc_values(res)[:, 0]).all()
    assert_allclose(icc_values(res)[:, 1], icc_values(icc(SHROUT_FLEISS)), rtol=1e-12)


def test_icc_stack_equals_one_matrix_at_a_time(pingouin_full_precision):
    stack = np.stack([random_ratings(seed, n_units=15, n_raters=5, missing=0.05)
                      for seed in range(6)]).reshape(2, 3, 15, 5)
    res = icc(stack)
    assert res.ICC2.shape == (2, 3)
    flat = stack.reshape(6, 15, 5)
    for i, matrix in enumerate(flat):
        one = icc(matrix)
        assert_allclose(icc_values(res).reshape(6, 6)[:, i], icc_values(one), rtol=1e-12)
        assert res.n_units.reshape(6)[i] == one.n_units
    table = res.table
    assert list(table.columns[:2]) == ["matrix", "Type"]
    assert len(table) == 36
    last = table[table["matrix"] == 5].drop(columns="matrix").reset_index(drop=True)
    assert_allclose(np.stack(last["CI95"]), np.stack(icc(flat[5]).table["CI95"]), rtol=1e-12)
    assert_array_equal(last["df2"], icc(flat[5]).table["df2"])


def test_icc_too_few_complete_units_gives_nan_and_warns():
    x = SHROUT_FLEISS.copy()
    x[1:, 0] = np.nan
    with pytest.warns(RuntimeWarning, match="fewer than 2 complete units"):
        res = icc(x)
    assert np.isnan(icc_values(res)).all()
    assert res.n_units == 1


def test_icc_confidence_level():
    res = icc(SHROUT_FLEISS, confidence_level=0.90)
    assert "CI90" in res.table.columns
    ci90 = np.stack(res.table["CI90"])
    ci95 = res.confidence_interval(0.95)
    assert_allclose(np.stack(icc(SHROUT_FLEISS).table["CI95"]),
                    np.column_stack([ci95.low, ci95.high]), rtol=1e-12)
    assert (ci95.low <= ci90[:, 0]).all() and (ci90[:, 1] <= ci95.high).all()


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(ratings=SHROUT_FLEISS, nan_policy="drop"),
     r"nan_policy \('drop'\) not recognized; must be 'omit', 'raise' or 'propagate'"),
    (dict(ratings=SHROUT_FLEISS, confidence_level=95),
     r"confidence_level must be a number between 0 and 1.*got 95"),
    (dict(ratings=[1.0, 2.0, 3.0]), r"units × raters.*got shape \(3,\)"),
    (dict(ratings=SHROUT_FLEISS[:, :1]), r"at least 2 units.*2 raters.*got shape \(6, 1\)"),
    (dict(ratings=[["a", "b"], ["c", "d"]]), r"must be numeric.*got dtype <U1"),
    (dict(ratings=[[1.0, np.inf], [2.0, 3.0]]), r"infinite value, at unit 0, rater 1"),
])
def test_icc_rejects_bad_input(kwargs, message):
    with pytest.raises(InputError, match=message):
        icc(**kwargs)


# ---------------------------------------------------------------- Krippendorff's alpha


@pytest.mark.parametrize(("level", "published"), [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797),
])
def test_alpha_krippendorff_2011_example_with_missing_values(level, published):
    res = krippendorff_alpha(KRIPPENDORFF_2011, level_of_measurement=level)
    assert round(res.alpha, 3) == published
    assert res.n_pairable == 40
    assert res.n_pairable_units == 11
    assert res.alpha == pytest.approx(1 - res.observed_disagreement / res.expected_disagreement)
    assert float(res) == res.alpha


def test_alpha_krippendorff_2011_binary_example():
    data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
            [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    assert round(krippendorff_alpha(data, level_of_measurement="nominal").alpha, 3) == 0.095


def test_alpha_labels_as_in_the_krippendorff_package():
    names = np.array([None, "very low", "low", "mid", "high", "very high"], dtype=object)
    codes = np.nan_to_num(KRIPPENDORFF_2011, nan=0).astype(int)
    labels = names[codes].tolist()
    domain = ["very low", "low", "mid", "high", "very high"]
    ordinal = krippendorff_alpha(labels, level_of_measurement="ordinal", value_domain=domain)
    assert round(ordinal.alpha, 3) == 0.815
    as_strings = np.where(codes == 0, np.nan, names[codes]).astype(str)  # NaN becomes "nan"
    nominal = krippendorff_alpha(as_strings, level_of_measurement="nominal")
    assert round(nominal.alpha, 3) == 0.743
    with_none = [[None if np.isnan(v) else v for v in row] for row in KRIPPENDORFF_2011]
    assert krippendorff_alpha(with_none).alpha == krippendorff_alpha(KRIPPENDORFF_2011).alpha


def random_reliability_data(seed: int, level: str):
    rng = np.random.default_rng(seed)
    n_raters, n_units = int(rng.integers(2, 7)), int(rng.integers(5, 60))
    if level in ("nominal", "ordinal"):
        data = rng.integers(1, 8, size=(n_raters, n_units)).astype(float)
    else:
        data = np.round(rng.gamma(2.0, 5.0, size=(n_raters, n_units)), 2)
        if level == "ratio":
            data[rng.random(data.shape) < 0.1] = 0.0
    data[rng.random(data.shape) < 0.15] = np.nan
    return data


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(8))
def test_alpha_equals_krippendorff_package(level, seed):
    data = random_reliability_data(seed, level)
    expected = krippendorff.alpha(data, level_of_measurement=level)
    assert krippendorff_alpha(data, level_of_measurement=level).alpha == pytest.approx(
        expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_alpha_equals_krippendorff_package_with_value_domain(level):
    data = random_reliability_data(3, level)
    domain = np.arange(0, 12)
    expected = krippendorff.alpha(data, level_of_measurement=level, value_domain=domain)
    ours = krippendorff_alpha(data, level_of_measurement=level, value_domain=domain).alpha
    assert ours == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert ours == pytest.approx(krippendorff_alpha(data, level_of_measurement=level).alpha,
                                 rel=1e-12)


def test_alpha_ordinal_follows_the_value_domain_order():
    data = [[1, 2, 3, 1], [1, 3, 3, 2], [2, 2, 3, 1]]
    scrambled = [3, 1, 2]
    expected = krippendorff.alpha(data, level_of_measurement="ordinal", value_domain=scrambled)
    ours = krippendorff_alpha(data, level_of_measurement="ordinal", value_domain=scrambled)
    assert ours.alpha == pytest.approx(expected, rel=1e-12)


def test_alpha_ratio_expected_pairs_equal_brute_force():
    rng = np.random.default_rng(7)
    for size in (2, 3, 50, 400):
        values = np.concatenate([10 ** rng.uniform(-5, 5, size=size), np.zeros(3),
                                 np.repeat(2.5, 4)])
        a, b = values[:, None], values[None, :]
        s = a + b
        brute = np.where(s > 0, ((a - b) / np.where(s > 0, s, 1)) ** 2, 0.0).sum()
        assert stats._ratio_pair_sum(values) == pytest.approx(brute, rel=1e-13)


def test_alpha_undefined_gives_nan_and_warns():
    with pytest.warns(RuntimeWarning, match="do not vary"):
        res = krippendorff_alpha([[1, 1, 1], [1, 1, np.nan]], level_of_measurement="nominal")
    assert np.isnan(res.alpha)
    with pytest.warns(RuntimeWarning, match="no unit has values from two or more raters"):
        res = krippendorff_alpha([[1, np.nan], [np.nan, 2]])
    assert np.isnan(res.alpha) and res.n_pairable == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(level_of_measurement="metric"),
     r"level_of_measurement \('metric'\) not recognized; must be 'nominal', 'ordinal', "
     r"'interval' or 'ratio'"),
    (dict(reliability_data=[1, 2, 3]), r"2-D raters × units.*got shape \(3,\)"),
    (dict(reliability_data=[["a", "b"], ["a", "c"]]), r"'interval' needs numbers.*'a'"),
    (dict(reliability_data=[["a", "b"], ["a", "c"]], level_of_measurement="ordinal"),
     r"'ordinal' with labels needs value_domain"),
    (dict(reliability_data=[[1, -2], [1, 3]], level_of_measurement="ratio"),
     r"'ratio' needs non-negative values; got -2"),
    (dict(reliability_data=[[1, 2], [1, 3]], value_domain=[1, 2]),
     r"outside value_domain: \[3\.0\]; value_domain is \[1, 2\]"),
    (dict(reliability_data=[[1, 2], [1, 2]], value_domain=[1, 2, 2]), r"each value once"),
    (dict(reliability_data=[[1, np.inf], [1, 2]]), r"infinite value"),
])
def test_alpha_rejects_bad_input(kwargs, message):
    kwargs.setdefault("reliability_data", KRIPPENDORFF_2011)
    with pytest.raises(InputError, match=message):
        krippendorff_alpha(**kwargs)


# ------------------------------------------------------------------------ Kendall's W


def test_kendall_w_siegel_castellan_1988_example():
    res = kendall_w(SIEGEL_CASTELLAN)
    assert res.statistic == pytest.approx(0.6560847, abs=5e-8)
    assert res.chi_square == pytest.approx(13.778, abs=5e-4)
    assert res.df == 7
    assert res.pvalue == pytest.approx(0.05528, abs=5e-6)
    assert (res.n_units, res.n_raters) == (8, 3)


def test_kendall_w_anxiety_example_with_ties():
    res = kendall_w(ANXIETY)
    assert res.statistic == pytest.approx(0.5396569, abs=5e-8)
    assert res.chi_square == pytest.approx(30.76, abs=5e-3)
    assert res.df == 19
    assert res.pvalue == pytest.approx(0.04288, abs=5e-6)
    untied = kendall_w(ANXIETY, correction_for_ties=False).statistic
    assert untied < res.statistic


@pytest.mark.parametrize("seed", range(6))
def test_kendall_w_equals_pingouin_friedman_and_scipy(seed):
    rng = np.random.default_rng(seed)
    ratings = rng.integers(0, 6, size=(int(rng.integers(4, 25)), int(rng.integers(3, 8))))
    res = kendall_w(ratings)
    # pingouin.friedman ranks within rows: its rows ("subjects") are our raters
    ref = pingouin.friedman(pd.DataFrame(ratings.T.astype(float)))
    assert res.statistic == pytest.approx(ref.at["Friedman", "W"], rel=1e-12)
    assert res.chi_square == pytest.approx(ref.at["Friedman", "Q"], rel=1e-12)
    assert res.pvalue == pytest.approx(ref.at["Friedman", "p_unc"], rel=1e-9, abs=1e-15)
    friedman = sps.friedmanchisquare(*ratings)
    assert res.chi_square == pytest.approx(friedman.statistic, rel=1e-12)


def test_kendall_w_nan_policies_and_stacks():
    x = ANXIETY.astype(float)
    x[4, 1] = np.nan
    assert kendall_w(x).statistic == pytest.approx(
        kendall_w(np.delete(ANXIETY, 4, axis=0)).statistic, rel=1e-12)
    with pytest.raises(InputError, match=r"at unit 4, rater 1"):
        kendall_w(x, nan_policy="raise")
    res = kendall_w(np.stack([x, ANXIETY]), nan_policy="propagate")
    assert np.isnan(res.statistic[0])
    assert res.statistic[1] == pytest.approx(kendall_w(ANXIETY).statistic, rel=1e-12)
    stack = np.stack([ANXIETY, SIEGEL_CASTELLAN.repeat(3, axis=0)[:20]])
    both = kendall_w(stack)
    for i in range(2):
        assert both.statistic[i] == pytest.approx(kendall_w(stack[i]).statistic, rel=1e-12)
        assert both.pvalue[i] == pytest.approx(kendall_w(stack[i]).pvalue, rel=1e-12)


def test_kendall_w_rejects_bad_input():
    with pytest.raises(InputError, match=r"correction_for_ties must be True or False; got 'yes'"):
        kendall_w(ANXIETY, correction_for_ties="yes")
    with pytest.raises(InputError, match=r"nan_policy \('skip'\) not recognized"):
        kendall_w(ANXIETY, nan_policy="skip")


# ----------------------------------------------------------------- properties (hypothesis)


def ratings_matrices(min_units=3, max_units=12, min_raters=2, max_raters=6):
    shapes = st.tuples(st.integers(min_units, max_units), st.integers(min_raters, max_raters))
    return shapes.flatmap(lambda shape: hnp.arrays(
        np.float64, shape, elements=st.integers(0, 10).map(float)))


@settings(max_examples=60, deadline=None)
@given(ratings_matrices(), st.randoms(use_true_random=False))
def test_icc_unchanged_by_permuting_raters_and_units(x, random):
    raters = list(range(x.shape[1]))
    units = list(range(x.shape[0]))
    random.shuffle(raters)
    random.shuffle(units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        before = icc_values(icc(x))
        after = icc_values(icc(x[units][:, raters]))
    assert_allclose(after, before, rtol=1e-9, atol=1e-9, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(ratings_matrices(), st.floats(-50, 50), st.floats(0.1, 10))
@example(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 0.0, 3.0)
def test_icc_unchanged_by_a_linear_change_of_scale(x, shift, scale):
    # with MS_R = 0 exactly, ICC(1,k) is -inf; rounding after rescaling makes it finite
    assume(icc(x).ms_units > 1e-9 * (1 + np.var(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # a denominator that is 0 in exact arithmetic (MS_R + (MS_C - MS_E)/n = 0 for [[0, 0], [1, 0],
        # [0, 1]]) leaves the coefficient undefined: rounding makes it -inf or -1e16 by chance
        assume(np.all(np.abs(icc_values(icc(x))) < 1e6))
        assert_allclose(icc_values(icc(shift + scale * x)), icc_values(icc(x)),
                        rtol=1e-7, atol=1e-7, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(ratings_matrices().flatmap(lambda x: st.tuples(
    st.just(x), hnp.arrays(np.bool_, x.shape).filter(np.any))))
def test_nan_policy_raise_never_accepts_nan(args):
    x, holes = args
    x = np.where(holes, np.nan, x)
    with pytest.raises(InputError):
        icc(x, nan_policy="raise")
    with pytest.raises(InputError):
        kendall_w(x, nan_policy="raise")


@st.composite
def reliability_data(draw):
    n_raters = draw(st.integers(2, 5))
    n_units = draw(st.integers(2, 15))
    values = draw(hnp.arrays(np.float64, (n_raters, n_units),
                             elements=st.integers(0, 6).map(float)))
    holes = draw(hnp.arrays(np.bool_, (n_raters, n_units)))
    return np.where(holes, np.nan, values)


def defined(data) -> bool:
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    return np.unique(data[:, pairable][~np.isnan(data[:, pairable])]).size >= 2


@settings(max_examples=80, deadline=None)
@given(reliability_data(), st.sampled_from(LEVELS))
def test_alpha_is_one_for_identical_raters(data, level):
    one_rater = np.nanmax(np.where(np.isnan(data), -np.inf, data), axis=0)
    identical = np.where(np.isnan(data), np.nan, one_rater)
    assume(defined(identical))
    assert krippendorff_alpha(identical, level_of_measurement=level).alpha == pytest.approx(1.0)


@settings(max_examples=80, deadline=None)
@given(reliability_data(), st.sampled_from(LEVELS), st.randoms(use_true_random=False))
def test_alpha_unchanged_by_permuting_units_and_raters(data, level, random):
    assume(defined(data))
    units = list(range(data.shape[1]))
    raters = list(range(data.shape[0]))
    random.shuffle(units)
    random.shuffle(raters)
    before = krippendorff_alpha(data, level_of_measurement=level).alpha
    after = krippendorff_alpha(data[raters][:, units], level_of_measurement=level).alpha
    assert after == pytest.approx(before, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(ratings_matrices(min_raters=2))
def test_kendall_w_lies_between_0_and_1(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        w = kendall_w(x).statistic
    assert np.isnan(w) or -1e-12 <= w <= 1 + 1e-12
