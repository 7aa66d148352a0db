"""Compiled passes over the pairs of a ranking group, for the rank confidence sets (`ranks`).

A ranking group of a province holds thousands of units, so millions of pairs, each
taken over a thousand draws: billions of values. NumPy needs a temporary array and
six passes over memory for each row of pairs; these loops take each value once, in
tiles that stay in the processor's cache, and release the GIL, so that the slices
of draws run in threads. Each computes a maximum or a minimum, which does not
depend on the order its values are taken in, from the same floating-point
operations as the NumPy expressions they replace (``(z_i − z_j) · w_ij``): the
results are identical, bit for bit.

Every function works on the draws ``first`` … ``last − 1`` (columns of the
unit × draw arrays) and writes only those columns, so that slices of draws can be
given to threads that share no output.
"""

from __future__ import annotations

from numba import njit

__all__ = ["pair_extremes", "masked_maxima"]

#: Units per side of a tile of pairs: a tile's rows (draws × tile × 3 arrays) stay in the cache.
TILE = 64


@njit(cache=True, nogil=True)
def pair_extremes(z, w, hi, lo, first, last):  # pragma: no cover - compiled
    """For every unit i: ``hi[i] = max(hi[i], max_j V_ij)`` and ``lo[i] = min(lo[i], min_j V_ij)``.

    ``V_ij = (z_i − z_j) · w_ij`` over the pairs i < j; V is symmetric in i and j, so each
    pair's value feeds the extremes of both its units.
    """
    p = z.shape[0]
    for i0 in range(0, p - 1, TILE):
        i1 = min(i0 + TILE, p - 1)
        for j0 in range(i0 + 1, p, TILE):
            j1 = min(j0 + TILE, p)
            for i in range(i0, i1):
                zi, hi_i, lo_i = z[i, first:last], hi[i, first:last], lo[i, first:last]
                for j in range(max(j0, i + 1), j1):
                    wij = w[i, j]
                    zj, hi_j, lo_j = z[j, first:last], hi[j, first:last], lo[j, first:last]
                    for r in range(last - first):
                        v = (zi[r] - zj[r]) * wij
                        hi_i[r] = v if v > hi_i[r] else hi_i[r]
                        lo_i[r] = v if v < lo_i[r] else lo_i[r]
                        hi_j[r] = v if v > hi_j[r] else hi_j[r]
                        lo_j[r] = v if v < lo_j[r] else lo_j[r]


@njit(cache=True, nogil=True)
def masked_maxima(z, w, rows, mask, out, first, last):  # pragma: no cover - compiled
    """``out[k] = max(out[k], max_{j: mask[k, j]} (z_j − z_i) · w_ij)`` with ``i = rows[k]``.

    −V of the row's pairs that ``mask`` holds; a row with none keeps ``out[k]``.
    """
    p = z.shape[0]
    for k0 in range(0, rows.size, TILE):
        k1 = min(k0 + TILE, rows.size)
        for j0 in range(0, p, TILE):
            j1 = min(j0 + TILE, p)
            for k in range(k0, k1):
                i = rows[k]
                zi, acc = z[i, first:last], out[k, first:last]
                for j in range(j0, j1):
                    if not mask[k, j]:
                        continue
                    wij = w[i, j]
                    zj = z[j, first:last]
                    for r in range(last - first):
                        v = (zj[r] - zi[r]) * wij
                        acc[r] = v if v > acc[r] else acc[r]
