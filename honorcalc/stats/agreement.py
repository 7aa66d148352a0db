"""Rater-reliability statistics: ICC, Krippendorff's alpha and Kendall's W.

These are the statistical kernels behind the fairness section and ``reliability.csv``.
They follow scipy's conventions: arrays in, ``NaN`` for a missing rating, keyword-only
options, a frozen result object out, full precision kept (round only in the report).

Orientation
-----------
`icc` and `kendall_w` take ``ratings`` as a **units × raters** array (one row per unit,
one column per rater), or a stack of such matrices with shape ``(..., n_units, n_raters)``.
`krippendorff_alpha` takes ``reliability_data`` as **raters × units**, the orientation of
the ``krippendorff`` package, so that it is a drop-in replacement for ``krippendorff.alpha``.

Missing ratings
---------------
`icc` and `kendall_w` need complete units × raters tables, so their ``nan_policy`` decides
what a ``NaN`` rating does:

%(nan_policy)s

Krippendorff's alpha is defined for incomplete data: a ``NaN`` there is simply a value
nobody recorded, and units with fewer than two values are not pairable.
"""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import InputError

__all__ = [
    "ICC_TYPES",
    "ConfidenceInterval",
    "IccResult",
    "KendallWResult",
    "KrippendorffAlphaResult",
    "icc",
    "kendall_w",
    "krippendorff_alpha",
]

NAN_POLICIES = ("omit", "raise", "propagate")
LEVELS_OF_MEASUREMENT = ("nominal", "ordinal", "interval", "ratio")

#: The six ICC variants, in pingouin's order and Liljequist et al. (2019) / McGraw &
#: Wong (1996) notation. Shrout & Fleiss (1979) call ICC(A,·) "ICC(2,·)" and ICC(C,·)
#: "ICC(3,·)".
ICC_TYPES = ("ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)")

_NAN_POLICY_DOC = """\
* ``'omit'``: listwise deletion. A rater with no rating at all in a matrix is left
  out, then every unit with a missing rating from a remaining rater is dropped, and
  the statistic is computed on the complete units that are left. This is what
  pingouin does (``nan_policy='omit'``), and what the two-way ANOVA behind the ICC
  needs: it is defined for balanced data only. A matrix with fewer than two complete
  units or raters left gives ``NaN`` and a `RuntimeWarning`.
* ``'raise'``: any ``NaN`` raises `~honorcalc.errors.InputError`.
* ``'propagate'``: a matrix with any ``NaN`` gives ``NaN`` results; other matrices of
  a stack are unaffected."""


def _fill_doc(func):
    """Write the one definition of ``nan_policy`` into a docstring's parameter list."""
    func.__doc__ = func.__doc__.replace(
        "%(nan_policy)s", textwrap.indent(_NAN_POLICY_DOC, " " * 8)
    )
    return func


__doc__ = __doc__.replace("%(nan_policy)s", _NAN_POLICY_DOC)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ConfidenceInterval:
    """A confidence interval: ``low`` and ``high`` bounds (floats or arrays)."""

    low: float | np.ndarray
    high: float | np.ndarray


@dataclass(frozen=True, eq=False)
class IccResult:
    """Result of `icc`.

    For one units × raters matrix every attribute is a Python scalar; for a stack of
    matrices, an array with the stack's shape.

    Attributes
    ----------
    ICC1, ICC2, ICC3 : float or ndarray
        Single-rating ICCs: ICC(1,1), ICC(A,1) and ICC(C,1), i.e. Shrout & Fleiss's
        ICC(1,1), ICC(2,1) and ICC(3,1).
    ICC1k, ICC2k, ICC3k : float or ndarray
        Average-of-k-ratings ICCs: ICC(1,k), ICC(A,k) and ICC(C,k).
    n_units : int or ndarray
        Units used, after listwise deletion (``n`` in the formulas).
    n_raters : int or ndarray
        Raters used (``k``).
    ms_units, ms_within, ms_raters, ms_error : float or ndarray
        Mean squares of the two-way ANOVA: between units (MS_R), within units (MS_W),
        between raters (MS_C) and residual (MS_E).
    confidence_level : float
        Level of the interval in `table`.
    """

    ICC1: float | np.ndarray
    ICC2: float | np.ndarray
    ICC3: float | np.ndarray
    ICC1k: float | np.ndarray
    ICC2k: float | np.ndarray
    ICC3k: float | np.ndarray
    n_units: int | np.ndarray
    n_raters: int | np.ndarray
    ms_units: float | np.ndarray
    ms_within: float | np.ndarray
    ms_raters: float | np.ndarray
    ms_error: float | np.ndarray
    confidence_level: float = 0.95

    def _f_tests(self):
        n = np.asarray(self.n_units)
        k = np.asarray(self.n_raters)
        with np.errstate(divide="ignore", invalid="ignore"):
            f_one = np.asarray(self.ms_units) / np.asarray(self.ms_within)
            f_two = np.asarray(self.ms_units) / np.asarray(self.ms_error)
        df1 = np.maximum(n - 1, 0)
        df2_one = np.maximum(n * (k - 1), 0)
        df2_two = df1 * np.maximum(k - 1, 0)
        return f_one, f_two, df1, df2_one, df2_two

    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """Confidence intervals of the six ICCs (McGraw & Wong, 1996, Table 7).

        Parameters
        ----------
        confidence_level : float, optional
            Between 0 and 1; defaults to the level given to `icc`.

        Returns
        -------
        ConfidenceInterval
            ``low`` and ``high`` arrays of shape ``(6, ...)``, the first axis in the
            order of `ICC_TYPES` (the rows of `table`).

        Raises
        ------
        InputError
            If ``confidence_level`` is not strictly between 0 and 1.
        """
        level = self.confidence_level if confidence_level is None else confidence_level
        _check_confidence_level(level)
        tail = (1 - level) / 2
        n = np.asarray(self.n_units, dtype=float)
        k = np.asarray(self.n_raters, dtype=float)
        msb, msj, mse = (np.asarray(v) for v in (self.ms_units, self.ms_raters, self.ms_error))
        icc2 = np.asarray(self.ICC2)
        f_one, f_two, df1, df2_one, df2_two = self._f_tests()
        ppf = sps.f.ppf
        with np.errstate(divide="ignore", invalid="ignore"):
            f1l = f_one / ppf(1 - tail, df1, df2_one)
            f1u = f_one * ppf(1 - tail, df2_one, df1)
            f3l = f_two / ppf(1 - tail, df1, df2_two)
            f3u = f_two * ppf(1 - tail, df2_two, df1)
            # Satterthwaite degrees of freedom for ICC(A,1), McGraw & Wong (1996) case 2A
            fj = msj / mse
            a = n * (1 + (k - 1) * icc2) - k * icc2
            v = df2_two * (k * icc2 * fj + a) ** 2 / (df1 * k**2 * icc2**2 * fj**2 + a**2)
            f2u = ppf(1 - tail, df1, v)
            f2l = ppf(1 - tail, v, df1)
            l2 = n * (msb - f2u * mse) / (f2u * (k * msj + (k * n - k - n) * mse) + n * msb)
            u2 = n * (f2l * msb - mse) / (k * msj + (k * n - k - n) * mse + n * f2l * msb)
            low = np.stack([
                (f1l - 1) / (f1l + k - 1),
                l2,
                (f3l - 1) / (f3l + k - 1),
                1 - 1 / f1l,
                l2 * k / (1 + l2 * (k - 1)),
                1 - 1 / f3l,
            ])
            high = np.stack([
                (f1u - 1) / (f1u + k - 1),
                u2,
                (f3u - 1) / (f3u + k - 1),
                1 - 1 / f1u,
                u2 * k / (1 + u2 * (k - 1)),
                1 - 1 / f3u,
            ])
        return ConfidenceInterval(low=low, high=high)

    @property
    def table(self) -> pd.DataFrame:
        """One row per ICC variant, as ``pingouin.intraclass_corr`` returns it.

        Columns ``Type``, ``ICC``, ``F``, ``df1``, ``df2``, ``pval`` and ``CI95`` (named
        after `confidence_level`: ``CI90`` at 0.90), the interval a 2-element array per
        row. For a stack of matrices the rows of every matrix follow each other, with a
        leading ``matrix`` column holding the matrix's flat (C-order) index in the stack.
        """
        f_one, f_two, df1, df2_one, df2_two = self._f_tests()
        pval_one = sps.f.sf(f_one, df1, df2_one)
        pval_two = sps.f.sf(f_two, df1, df2_two)
        ci = self.confidence_interval()
        values = np.stack([np.asarray(getattr(self, name), dtype=float) for name in
                           ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")])
        shape = values.shape[1:]
        m = int(np.prod(shape, dtype=int))

        def per_row(one, two):
            one, two = (np.broadcast_to(x, shape).reshape(m) for x in (one, two))
            return np.stack([one, two, two, one, two, two], axis=1).reshape(-1)

        low = ci.low.reshape(6, m).T.reshape(-1)
        high = ci.high.reshape(6, m).T.reshape(-1)
        frame = pd.DataFrame({
            "Type": np.tile(ICC_TYPES, m),
            "ICC": values.reshape(6, m).T.reshape(-1),
            "F": per_row(f_one, f_two),
            "df1": np.repeat(np.broadcast_to(df1, shape).reshape(m), 6).astype(int),
            "df2": per_row(df2_one, df2_two).astype(int),
            "pval": per_row(pval_one, pval_two),
            _ci_column(self.confidence_level): list(np.column_stack([low, high])),
        })
        if shape:
            frame.insert(0, "matrix", np.repeat(np.arange(m), 6))
        return frame


@dataclass(frozen=True)
class KrippendorffAlphaResult:
    """Result of `krippendorff_alpha`.

    Attributes
    ----------
    alpha : float
        Krippendorff's alpha, ``1 - observed_disagreement / expected_disagreement``.
    observed_disagreement : float
        D_o in Krippendorff (2011).
    expected_disagreement : float
        D_e in Krippendorff (2011).
    n_pairable : int
        Number of pairable values (n.. in Krippendorff, 2011): the values in units
        that hold at least two of them.
    n_pairable_units : int
        Number of units holding at least two values.
    level_of_measurement : str
        The metric used.
    """

    alpha: float
    observed_disagreement: float
    expected_disagreement: float
    n_pairable: int
    n_pairable_units: int
    level_of_measurement: str

    def __float__(self) -> float:
        return float(self.alpha)


@dataclass(frozen=True, eq=False)
class KendallWResult:
    """Result of `kendall_w`.

    For one matrix the attributes are Python scalars; for a stack, arrays.

    Attributes
    ----------
    statistic : float or ndarray
        Kendall's W (corrected for ties when asked).
    chi_square : float or ndarray
        Friedman's statistic ``m (n - 1) W``.
    df : int or ndarray
        Degrees of freedom of the chi-square approximation, ``n - 1``.
    pvalue : float or ndarray
        Upper-tail p-value of ``chi_square`` (null hypothesis: no concordance).
    n_units : int or ndarray
        Units ranked (``n``), after listwise deletion.
    n_raters : int or ndarray
        Raters (``m``).
    """

    statistic: float | np.ndarray
    chi_square: float | np.ndarray
    df: int | np.ndarray
    pvalue: float | np.ndarray
    n_units: int | np.ndarray
    n_raters: int | np.ndarray


# ------------------------------------------------------------------------ validation


def _check_nan_policy(nan_policy) -> None:
    if nan_policy not in NAN_POLICIES:
        raise InputError(
            f"nan_policy ({nan_policy!r}) not recognized; must be 'omit', 'raise' or 'propagate'"
        )


def _check_confidence_level(level) -> None:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not (
        0 < level < 1
    ):
        raise InputError(
            f"confidence_level must be a number between 0 and 1 (exclusive); got {level!r}"
        )


def _ci_column(level: float) -> str:
    return f"CI{100 * level:.10g}"


def _as_ratings(ratings) -> np.ndarray:
    """Units × raters (or a stack of them) as a float array, or an InputError."""
    try:
        x = np.asarray(ratings)
    except ValueError as exc:  # ragged nested lists
        raise InputError(f"ratings must be a units × raters array; {exc}") from None
    if x.dtype.kind not in "biuf":
        raise InputError(
            f"ratings must be numeric (NaN for a missing rating); got dtype {x.dtype}"
        )
    if x.ndim < 2:
        raise InputError(
            "ratings must be a units × raters array, or a stack of shape "
            f"(..., n_units, n_raters); got shape {x.shape}"
        )
    n_units, n_raters = x.shape[-2:]
    if n_units < 2 or n_raters < 2:
        raise InputError(
            f"ratings needs at least 2 units (rows) and 2 raters (columns); got shape {x.shape}"
        )
    x = x.astype(float)
    if np.isinf(x).any():
        raise InputError(
            f"ratings contain an infinite value, {_locate(np.isinf(x))}; "
            "use NaN for a missing rating"
        )
    return x


def _locate(flags: np.ndarray) -> str:
    """Where the first flagged cell of a units × raters array (or stack) is, in words."""
    where = [int(i) for i in np.argwhere(flags)[0]]
    text = f"at unit {where[-2]}, rater {where[-1]} (0-based)"
    return text if len(where) == 2 else f"{text} of matrix {tuple(where[:-2])}"


def _complete_cells(x: np.ndarray, nan_policy: str):
    """Which units and raters enter each matrix under ``nan_policy``.

    Returns ``(keep_units, keep_raters)``, boolean arrays of shapes ``(..., n_units)`` and
    ``(..., n_raters)``.
    """
    missing = np.isnan(x)
    if nan_policy == "raise" and missing.any():
        raise InputError(
            f"ratings contain {int(missing.sum())} missing value(s), the first "
            f"{_locate(missing)}; nan_policy='raise' accepts none (use 'omit' for listwise "
            "deletion)"
        )
    if nan_policy == "omit":
        keep_raters = ~missing.all(axis=-2)
        keep_units = ~(missing & keep_raters[..., None, :]).any(axis=-1)
    else:
        keep_raters = np.ones(x.shape[:-2] + x.shape[-1:], dtype=bool)
        keep_units = np.ones(x.shape[:-1], dtype=bool)
    return keep_units, keep_raters


def _warn_too_few(n_units, n_raters, what: str) -> None:
    too_few = (np.asarray(n_units) < 2) | (np.asarray(n_raters) < 2)
    if too_few.any():
        warnings.warn(
            f"{what}: {int(too_few.sum())} matrix(es) have fewer than 2 complete units or "
            "raters after listwise deletion; their results are NaN",
            RuntimeWarning,
            stacklevel=3,
        )


def _scalar(a, kind=float):
    a = np.asarray(a)
    return kind(a) if a.ndim == 0 else a


# ------------------------------------------------------------------------------- ICC


@_fill_doc
def icc(ratings, *, nan_policy: str = "omit", confidence_level: float = 0.95) -> IccResult:
    """Intraclass correlations: the six ICC variants of McGraw & Wong (1996).

    Parameters
    ----------
    ratings : array_like, shape (n_units, n_raters) or (..., n_units, n_raters)
        Ratings, one row per unit (target) and one column per rater; ``NaN`` for a
        missing rating. A stack of matrices is computed all at once.
    nan_policy : {'omit', 'raise', 'propagate'}, default 'omit'
        What a missing rating does:

%(nan_policy)s
    confidence_level : float, default 0.95
        Level of the confidence intervals in ``table``.

    Returns
    -------
    IccResult
        ``ICC1``, ``ICC2``, ``ICC3``, ``ICC1k``, ``ICC2k``, ``ICC3k`` (floats, or arrays
        for a stack), the ANOVA mean squares, and ``table``, one row per variant exactly
        as ``pingouin.intraclass_corr`` gives it:

        * ``'Type'``: ``ICC(1,1)``, ``ICC(A,1)``, ``ICC(C,1)``, ``ICC(1,k)``,
          ``ICC(A,k)``, ``ICC(C,k)``;
        * ``'ICC'``: the coefficient;
        * ``'F'``, ``'df1'``, ``'df2'``, ``'pval'``: the F test of the null hypothesis
          ICC = 0, MS_R / MS_W for ICC(1,·) and MS_R / MS_E for the others;
        * ``'CI95'``: the confidence interval (``[low, high]``).

        ``confidence_interval(level)`` gives intervals at another level.

    Raises
    ------
    InputError
        If ``ratings`` is not numeric, has fewer than 2 dimensions, 2 units or 2 raters,
        holds an infinite value, or holds ``NaN`` under ``nan_policy='raise'``; if
        ``nan_policy`` or ``confidence_level`` is not one of the allowed values.

    Notes
    -----
    With ``n`` units, ``k`` raters and a two-way ANOVA without interaction, the mean
    squares are MS_R (between units, ``n - 1`` df), MS_C (between raters, ``k - 1`` df),
    MS_E (residual, ``(n - 1)(k - 1)`` df) and MS_W = (SS_C + SS_E) / (n (k - 1))
    (within units). In the notation of McGraw & Wong (1996) [2]_, as used by
    Liljequist et al. (2019) [3]_ and pingouin:

    .. math::

        ICC(1,1) &= \\frac{MS_R - MS_W}{MS_R + (k-1) MS_W}, &
        ICC(1,k) &= \\frac{MS_R - MS_W}{MS_R}, \\\\
        ICC(A,1) &= \\frac{MS_R - MS_E}{MS_R + (k-1) MS_E + \\frac{k}{n}(MS_C - MS_E)}, &
        ICC(A,k) &= \\frac{MS_R - MS_E}{MS_R + \\frac{MS_C - MS_E}{n}}, \\\\
        ICC(C,1) &= \\frac{MS_R - MS_E}{MS_R + (k-1) MS_E}, &
        ICC(C,k) &= \\frac{MS_R - MS_E}{MS_R}.

    ICC(A,·) and ICC(C,·) are Shrout & Fleiss's (1979) [1]_ ICC(2,·) and ICC(3,·). The
    confidence intervals are those of McGraw & Wong (1996), Table 7, with Satterthwaite
    degrees of freedom for ICC(A,·).

    The ANOVA is only defined for balanced data, so a missing rating is handled by
    listwise deletion (``nan_policy``); mixed models for incomplete designs are out of
    scope. The sums of squares are computed from centred values (the residual directly,
    not by subtraction), for every matrix of a stack at once.

    Checked against ``pingouin.intraclass_corr`` 0.7 (itself validated against the R
    package psych): ICC, F, df, p and CI agree to 1e-9 on random matrices with missing
    ratings (``tests/test_stats.py``).

    References
    ----------
    .. [1] Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: Uses in
           assessing rater reliability. Psychological Bulletin, 86(2), 420-428.
    .. [2] McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some
           intraclass correlation coefficients. Psychological Methods, 1(1), 30-46.
    .. [3] Liljequist, D., Elfving, B., & Skavberg Roaldsen, K. (2019). Intraclass
           correlation - A discussion and demonstration of basic features. PLOS ONE,
           14(7), e0219854.

    Examples
    --------
    Shrout & Fleiss's (1979) six targets rated by four judges:

    >>> import numpy as np
    >>> from honorcalc.stats import icc
    >>> ratings = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
    ...                     [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    >>> res = icc(ratings)
    >>> round(res.ICC2, 2), round(res.ICC3, 2)
    (0.29, 0.71)
    >>> res.table.round(3)[["Type", "ICC", "F", "df1", "df2"]]
           Type    ICC       F  df1  df2
    0  ICC(1,1)  0.166   1.795    5   18
    1  ICC(A,1)  0.290  11.027    5   15
    2  ICC(C,1)  0.715  11.027    5   15
    3  ICC(1,k)  0.443   1.795    5   18
    4  ICC(A,k)  0.620  11.027    5   15
    5  ICC(C,k)  0.909  11.027    5   15

    A stack of matrices gives arrays:

    >>> icc(np.stack([ratings, ratings[:, ::-1]])).ICC3.round(3)
    array([0.715, 0.715])
    """
    _check_nan_policy(nan_policy)
    _check_confidence_level(confidence_level)
    x = _as_ratings(ratings)

    keep_units, keep_raters = _complete_cells(x, nan_policy)
    cells = keep_units[..., :, None] & keep_raters[..., None, :]
    n = keep_units.sum(axis=-1)
    k = keep_raters.sum(axis=-1)
    if nan_policy == "omit":
        _warn_too_few(n, k, "icc")

    with np.errstate(divide="ignore", invalid="ignore"):
        x0 = np.where(cells, x, 0.0)
        grand = x0.sum(axis=(-2, -1)) / (n * k)
        unit_mean = x0.sum(axis=-1) / k[..., None]
        rater_mean = x0.sum(axis=-2) / n[..., None]
        unit_dev = np.where(keep_units, unit_mean - grand[..., None], 0.0)
        rater_dev = np.where(keep_raters, rater_mean - grand[..., None], 0.0)
        fitted = unit_dev[..., :, None] + rater_dev[..., None, :] + grand[..., None, None]
        resid = np.where(cells, x0 - fitted, 0.0)
        ss_units = k * (unit_dev**2).sum(axis=-1)
        ss_raters = n * (rater_dev**2).sum(axis=-1)
        ss_error = (resid**2).sum(axis=(-2, -1))

        msb = ss_units / (n - 1)
        msj = ss_raters / (k - 1)
        mse = ss_error / ((n - 1) * (k - 1))
        msw = (ss_raters + ss_error) / (n * (k - 1))
        too_few = (n < 2) | (k < 2)
        msb, msj, mse, msw = (np.where(too_few, np.nan, v) for v in (msb, msj, mse, msw))

        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = (msb - mse) / (msb + (k - 1) * mse)
        icc1k = (msb - msw) / msb
        icc2k = (msb - mse) / (msb + (msj - mse) / n)
        icc3k = (msb - mse) / msb

    return IccResult(
        ICC1=_scalar(icc1), ICC2=_scalar(icc2), ICC3=_scalar(icc3),
        ICC1k=_scalar(icc1k), ICC2k=_scalar(icc2k), ICC3k=_scalar(icc3k),
        n_units=_scalar(n, int), n_raters=_scalar(k, int),
        ms_units=_scalar(msb), ms_within=_scalar(msw),
        ms_raters=_scalar(msj), ms_error=_scalar(mse),
        confidence_level=float(confidence_level),
    )


# ------------------------------------------------------------------ Krippendorff's alpha


def krippendorff_alpha(
    reliability_data, *, level_of_measurement: str = "interval", value_domain=None
) -> KrippendorffAlphaResult:
    """Krippendorff's alpha for raters × units data with missing values.

    Parameters
    ----------
    reliability_data : array_like, shape (n_raters, n_units)
        Value rater *i* gave unit *j*; ``NaN`` (or ``None``, or the string ``"nan"``
        that NumPy makes of ``NaN`` among strings) where there is none. Numbers, or
        labels (strings) for the nominal and ordinal levels. Same orientation as
        ``krippendorff.alpha``.
    level_of_measurement : {'nominal', 'ordinal', 'interval', 'ratio'}, default 'interval'
        The difference function (metric).
    value_domain : array_like, optional
        The values a rating may take. Every value in the data must belong to it. For
        the ordinal level it gives the order of the values (required for labels);
        otherwise it only checks the data. Values of the domain that nobody used do not
        change alpha.

    Returns
    -------
    KrippendorffAlphaResult
        ``alpha``, ``observed_disagreement`` (D_o), ``expected_disagreement`` (D_e),
        ``n_pairable`` (n..), ``n_pairable_units`` and ``level_of_measurement``.
        ``float(result)`` is alpha. Alpha is ``NaN``, with a `RuntimeWarning`, where it
        is undefined: no unit with two or more values, or no variation among the
        pairable values (D_e = 0).

    Raises
    ------
    InputError
        If ``level_of_measurement`` is not one of the four levels; ``reliability_data``
        is not 2-D, holds an infinite value, or holds labels where the level needs
        numbers; the ordinal level gets labels without a ``value_domain``; the ratio
        level gets a negative value; ``value_domain`` has duplicates or misses a value
        present in the data.

    Notes
    -----
    In the notation of Krippendorff (2011) [1]_: unit *u* holds m_u pairable values
    (units with m_u < 2 are left out), n.. = Σ m_u, the coincidences are
    o_ck = Σ_u (number of c-k pairs in u) / (m_u - 1), n_c = Σ_k o_ck, and

    .. math::

        \\alpha = 1 - \\frac{D_o}{D_e}, \\quad
        D_o = \\frac{1}{n_{..}} \\sum_c \\sum_k o_{ck}\\, \\delta^2_{ck}, \\quad
        D_e = \\frac{1}{n_{..}(n_{..}-1)} \\sum_c \\sum_k n_c n_k\\, \\delta^2_{ck}.

    The sums over pairs of values are never formed as a V × V matrix (V distinct
    values), so the cost does not grow with V²:

    * interval, δ² = (c - k)²: Σ over ordered pairs in a unit of (x_i - x_j)² is
      2 m_u SS_u, with SS_u the unit's sum of squared deviations, so
      D_o = (1/n..) Σ_u 2 m_u SS_u / (m_u - 1), and D_e = 2 SS / (n.. - 1) is twice the
      variance of the pooled pairable values;
    * ordinal, δ²_ck = (Σ_{g=c}^{k} n_g - (n_c + n_k)/2)² = (M_k - M_c)² with
      M_c = Σ_{g≤c} n_g - n_c / 2: the interval formulas on the values replaced by M_c
      (a sort, O(V log V));
    * nominal, δ = 0 or 1: D_o = (1/n..) Σ_u (m_u² - Σ_c n_uc²) / (m_u - 1) from the
      value counts n_uc of each unit, and D_e = (n..² - Σ_c n_c²) / (n.. (n.. - 1));
    * ratio, δ² = ((c - k)/(c + k))² (0 for c = k = 0): D_o over the pairs of raters
      within each unit. D_e has no closed form; with 1/s² = ∫ t e^{-ts} dt and
      t = e^u, Σ_{c,k} n_c n_k δ²_ck = ∫ e^{2u} Σ_{c,k} w_c w_k (c - k)² du with
      w_c = n_c exp(-c e^u), and the inner double sum is 2 W Σ_c w_c (c - c̄_w)², O(V)
      per node. The integrand is analytic in a strip, so the trapezoidal rule converges
      geometrically (Trefethen & Weideman, 2014 [2]_): with a step of 1/8 the bound,
      4 exp(-π²/(2 · 1/8)) ≈ 3e-17 relative, is below rounding error. Pairs of a zero
      and a positive value (δ² = 1) are counted exactly.

    Checked against ``krippendorff.alpha`` 0.9 (to 1e-9, all four levels, random
    matrices with missing values) and against the worked examples of Krippendorff
    (2011).

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
           Departmental Papers (ASC), 43, Annenberg School for Communication,
           University of Pennsylvania. https://repository.upenn.edu/asc_papers/43
    .. [2] Trefethen, L. N., & Weideman, J. A. C. (2014). The exponentially convergent
           trapezoidal rule. SIAM Review, 56(3), 385-458.

    Examples
    --------
    Krippendorff's (2011) example with missing values: 4 observers, 12 units.

    >>> import numpy as np
    >>> from honorcalc.stats import krippendorff_alpha
    >>> nan = np.nan
    >>> data = [[1,   2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1,   2, 3, 3, 2, 2, 4, 1, 2, 5,   nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5,   1,   nan],
    ...         [1,   2, 3, 3, 2, 4, 4, 1, 2, 5,   1,   nan]]
    >>> for level in ["nominal", "ordinal", "interval", "ratio"]:
    ...     print(level, round(krippendorff_alpha(data, level_of_measurement=level).alpha, 3))
    nominal 0.743
    ordinal 0.815
    interval 0.849
    ratio 0.797
    >>> krippendorff_alpha(data, level_of_measurement="nominal").n_pairable
    40
    """
    if level_of_measurement not in LEVELS_OF_MEASUREMENT:
        raise InputError(
            f"level_of_measurement ({level_of_measurement!r}) not recognized; must be "
            "'nominal', 'ordinal', 'interval' or 'ratio'"
        )
    level = level_of_measurement
    values, present = _alpha_values(reliability_data, level, value_domain)

    m_u = present.sum(axis=0)
    pairable_units = m_u >= 2
    cells = present & pairable_units
    n = int(cells.sum())
    n_units = int(pairable_units.sum())

    def result(d_o, d_e):
        alpha = 1 - d_o / d_e if d_e > 0 else np.nan
        if np.isnan(alpha):
            why = ("no unit has values from two or more raters" if n == 0
                   else "the pairable values do not vary (D_e = 0)")
            warnings.warn(f"krippendorff_alpha is undefined: {why}", RuntimeWarning, stacklevel=3)
        return KrippendorffAlphaResult(float(alpha), float(d_o), float(d_e), n, n_units, level)

    if n == 0:
        return result(np.nan, np.nan)

    m = m_u[pairable_units].astype(float)
    if level == "nominal":
        codes = values[cells].astype(np.int64)
        units = np.nonzero(cells)[1]
        n_codes = int(codes.max()) + 1
        keys, per_unit_value = np.unique(units * n_codes + codes, return_counts=True)
        sum_sq = np.bincount(keys // n_codes, weights=per_unit_value.astype(float) ** 2,
                             minlength=values.shape[1])[pairable_units]
        n_c = np.bincount(codes).astype(float)
        d_o = np.sum((m**2 - sum_sq) / (m - 1)) / n
        d_e = (float(n) ** 2 - np.sum(n_c**2)) / (n * (n - 1.0))
        return result(d_o, d_e)

    if level == "ordinal":
        codes = values[cells].astype(np.int64)
        n_c = np.bincount(codes).astype(float)
        mid = np.cumsum(n_c) - n_c / 2
        values = np.where(cells, mid[np.where(cells, values, 0).astype(np.int64)], np.nan)

    if level == "ratio":
        d_o = _ratio_within_units(values, cells)[pairable_units] / (m - 1)
        d_o = d_o.sum() / n
        d_e = _ratio_pair_sum(values[cells]) / (n * (n - 1.0))
        return result(d_o, d_e)

    x = np.where(cells, values, 0.0)[:, pairable_units]
    inside = cells[:, pairable_units]
    unit_mean = x.sum(axis=0) / m
    ss_u = (np.where(inside, x - unit_mean, 0.0) ** 2).sum(axis=0)
    pooled = values[cells]
    d_o = np.sum(2 * m * ss_u / (m - 1)) / n
    d_e = 2 * np.sum((pooled - pooled.mean()) ** 2) / (n - 1)
    return result(d_o, d_e)


def _alpha_values(reliability_data, level: str, value_domain):
    """Raters × units values as floats (codes for nominal and ordinal) and the mask of
    recorded values; every user error is an InputError."""
    try:
        arr = np.asarray(reliability_data)
    except ValueError as exc:
        raise InputError(f"reliability_data must be a raters × units array; {exc}") from None
    if arr.ndim != 2:
        raise InputError(
            f"reliability_data must be a 2-D raters × units array; got shape {arr.shape}"
        )
    if arr.dtype.kind in "biuf":
        numbers = arr.astype(float)
        present = ~np.isnan(numbers)
        labels = numbers[present]
        numeric = True
    elif arr.dtype.kind in "OUS":
        present = ~(pd.isna(arr) | (arr.astype(str) == "nan"))
        labels = arr[present]
        numeric = arr.dtype.kind == "O" and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in labels
        )
        if numeric:
            labels = labels.astype(float)
    else:
        raise InputError(
            f"reliability_data must hold numbers or labels; got dtype {arr.dtype}"
        )
    if numeric and np.isinf(labels).any():
        raise InputError("reliability_data contains an infinite value; use NaN for a missing value")
    if not numeric and level in ("interval", "ratio"):
        example = next(iter(labels), None)
        raise InputError(
            f"level_of_measurement {level!r} needs numbers; reliability_data holds labels "
            f"such as {example!r} (use 'nominal', or 'ordinal' with a value_domain)"
        )
    if level == "ratio" and (labels < 0).any():
        raise InputError(
            "level_of_measurement 'ratio' needs non-negative values; got "
            f"{labels[labels < 0].min():g}"
        )

    if value_domain is not None:
        domain = pd.Index(np.asarray(value_domain, dtype=object if not numeric else None).ravel())
        if domain.has_duplicates:
            raise InputError(
                f"value_domain must list each value once; "
                f"{list(domain[domain.duplicated()])} repeat"
            )
        codes = domain.get_indexer(labels)
        if (codes < 0).any():
            outside = pd.unique(np.asarray(labels[codes < 0], dtype=object))
            raise InputError(
                f"reliability_data holds values outside value_domain: {list(outside[:5])}"
                f"{' ...' if len(outside) > 5 else ''}; value_domain is {list(domain[:10])}"
                f"{' ...' if len(domain) > 10 else ''}"
            )
    elif level == "ordinal":
        if not numeric:
            raise InputError(
                "level_of_measurement 'ordinal' with labels needs value_domain, the labels in "
                "their order"
            )
        codes = np.unique(labels, return_inverse=True)[1]
    elif level == "nominal":
        codes = pd.factorize(labels if numeric else labels.astype(object))[0]

    values = np.full(arr.shape, np.nan)
    if level in ("nominal", "ordinal"):
        values[present] = codes
    else:
        values[present] = labels
    return values, present


def _ratio_within_units(values: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Σ over ordered pairs of raters (i ≠ j) in each unit of the ratio δ²."""
    total = np.zeros(values.shape[1])
    for i in range(values.shape[0] - 1):
        a, b = values[i], values[i + 1:]
        both = cells[i] & cells[i + 1:]
        s = np.where(both, a + b, 1.0)
        q = np.where(both & (s != 0), (a - b) / np.where(s == 0, 1.0, s), 0.0)
        total += 2 * (q**2).sum(axis=0)
    return total


def _ratio_pair_sum(pooled: np.ndarray, step: float = 0.125) -> float:
    """Σ over ordered pairs (i ≠ j) of the ratio δ² = ((x_i - x_j)/(x_i + x_j))².

    Exact for the pairs involving a zero; the pairs of positive values go through the
    trapezoidal rule on 1/s² = ∫ e^{2u} e^{-s e^u} du (see `krippendorff_alpha`, Notes).
    """
    values, counts = np.unique(pooled, return_counts=True)
    counts = counts.astype(float)
    n_zero = counts[values == 0].sum()
    with_zero = 2.0 * n_zero * (counts.sum() - n_zero)
    values, counts = values[values > 0], counts[values > 0]
    if values.size < 2:
        return with_zero
    # δ² is scale-free, and scaling to a largest value of 1 keeps exp() in range
    a = values / values[-1]
    # each pair-sum s contributes a bump at u = -log s; s lies in [2 a_min, 2]. Below the
    # grid the integrand is < e^{2u} (negligible 21 units below the bump); above it, it
    # falls like exp(-s e^u) (e^{4.5} = 90)
    nodes = np.exp(np.arange(-np.log(2.0) - 21.0, -np.log(2 * a[0]) + 4.5, step))
    total = 0.0
    block = max(1, 2**20 // a.size)
    for start in range(0, nodes.size, block):
        t = nodes[start:start + block, None]
        w = counts * np.exp(-t * a)
        weight = w.sum(axis=1)
        mean = (w @ a) / weight
        spread = (w * (a - mean[:, None]) ** 2).sum(axis=1)
        total += np.sum(t[:, 0] ** 2 * 2 * weight * spread)
    return with_zero + step * total


# ------------------------------------------------------------------------ Kendall's W


@_fill_doc
def kendall_w(
    ratings, *, correction_for_ties: bool = True, nan_policy: str = "omit"
) -> KendallWResult:
    """Kendall's coefficient of concordance W of m raters ranking n units.

    Parameters
    ----------
    ratings : array_like, shape (n_units, n_raters) or (..., n_units, n_raters)
        Scores or ranks, one row per unit (the objects ranked) and one column per rater
        (the judges); each column is turned into ranks across the units (average ranks
        for ties). The orientation of `icc`, and of R's ``irr::kendall`` and
        ``DescTools::KendallW``.
    correction_for_ties : bool, default True
        Subtract the ties term m Σ T_j from the denominator.
    nan_policy : {'omit', 'raise', 'propagate'}, default 'omit'
        What a missing rating does:

%(nan_policy)s

    Returns
    -------
    KendallWResult
        ``statistic`` (W), ``chi_square``, ``df``, ``pvalue``, ``n_units``, ``n_raters``;
        floats, or arrays for a stack.

    Raises
    ------
    InputError
        If ``ratings`` is not numeric, has fewer than 2 dimensions, 2 units or 2 raters,
        holds an infinite value, or holds ``NaN`` under ``nan_policy='raise'``; if
        ``nan_policy`` is not allowed or ``correction_for_ties`` is not a bool.

    Notes
    -----
    With r_ij the rank rater j gives unit i, R_i = Σ_j r_ij the rank sums,
    S = Σ_i (R_i - m (n + 1) / 2)², and T_j = Σ (t³ - t) over the groups of t tied
    ranks of rater j (Kendall & Babington Smith, 1939 [1]_; Legendre, 2005 [2]_):

    .. math::

        W = \\frac{12 S}{m^2 (n^3 - n) - m \\sum_j T_j}, \\qquad
        \\chi^2 = m (n - 1) W \\sim \\chi^2_{n-1}.

    W is 1 when all raters rank the units alike and 0 when the rank sums are all equal;
    the chi-square statistic equals Friedman's (tie-corrected) statistic, and its
    p-value is the asymptotic one (conservative for few raters; Legendre, 2005).

    ``pingouin.friedman`` computes the same W with raters as rows (its "subjects"):
    ``pingouin.friedman(pd.DataFrame(ratings.T))``. It deletes *raters* with a missing
    value, where ``nan_policy='omit'`` here deletes *units*, as `icc` does.

    Checked against the Siegel & Castellan (1988) [3]_ example (W = 0.656) and
    ``pingouin.friedman`` (to 1e-12).

    References
    ----------
    .. [1] Kendall, M. G., & Babington Smith, B. (1939). The problem of m rankings.
           The Annals of Mathematical Statistics, 10(3), 275-287.
    .. [2] Legendre, P. (2005). Species associations: The Kendall coefficient of
           concordance revisited. Journal of Agricultural, Biological, and Environmental
           Statistics, 10(2), 226-245.
    .. [3] Siegel, S., & Castellan, N. J., Jr. (1988). Nonparametric statistics for the
           behavioral sciences (2nd ed.). McGraw-Hill.

    Examples
    --------
    Three raters rank eight attributes (Siegel & Castellan, 1988):

    >>> import numpy as np
    >>> from honorcalc.stats import kendall_w
    >>> ranks = np.array([[5, 1, 4], [6, 7, 5], [7, 6, 1], [1, 2, 3],
    ...                   [2, 3, 2], [4, 5, 7], [3, 4, 6], [8, 8, 8]])
    >>> res = kendall_w(ranks)
    >>> round(res.statistic, 4), round(res.chi_square, 3), res.df, round(res.pvalue, 4)
    (0.6561, 13.778, 7, 0.0553)
    """
    _check_nan_policy(nan_policy)
    if not isinstance(correction_for_ties, (bool, np.bool_)):
        raise InputError(
            f"correction_for_ties must be True or False; got {correction_for_ties!r}"
        )
    x = _as_ratings(ratings)

    keep_units, keep_raters = _complete_cells(x, nan_policy)
    cells = keep_units[..., :, None] & keep_raters[..., None, :]
    n = keep_units.sum(axis=-1)
    m = keep_raters.sum(axis=-1)
    if nan_policy == "omit":
        _warn_too_few(n, m, "kendall_w")
    invalid = np.isnan(x).any(axis=(-2, -1)) if nan_policy == "propagate" else False

    # left-out units rank after every kept one, so the kept units get ranks 1..n
    filled = np.where(cells, x, np.inf)
    filled = np.where(np.isnan(filled), np.inf, filled)
    ranks = sps.rankdata(filled, axis=-2)
    rank_sums = np.where(keep_units, np.where(cells, ranks, 0.0).sum(axis=-1), 0.0)
    nf, mf = n.astype(float), m.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        deviations = np.where(keep_units, rank_sums - (mf * (nf + 1) / 2)[..., None], 0.0)
        s = (deviations**2).sum(axis=-1)
        denominator = mf**2 * (nf**3 - nf)
        if correction_for_ties:
            tie_size = (sps.rankdata(filled, method="max", axis=-2)
                        - sps.rankdata(filled, method="min", axis=-2) + 1)
            # Σ over tie groups of (t³ - t) is Σ over ranks of (t² - 1)
            ties = np.where(cells, tie_size**2 - 1, 0.0).sum(axis=(-2, -1))
            denominator = denominator - mf * ties
        w = 12 * s / denominator
        w = np.where(invalid | (n < 2) | (m < 2) | (denominator <= 0), np.nan, w)
        chi_square = mf * (nf - 1) * w
    df = np.maximum(n - 1, 0)
    pvalue = sps.chi2.sf(chi_square, df)
    return KendallWResult(
        statistic=_scalar(w), chi_square=_scalar(chi_square), df=_scalar(df, int),
        pvalue=_scalar(pvalue), n_units=_scalar(n, int), n_raters=_scalar(m, int),
    )
