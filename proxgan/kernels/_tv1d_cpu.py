"""The numba loop of the 1-D total-variation prox: Condat's direct algorithm (2013).

Solves :math:`\\arg\\min_y \\tfrac12\\lVert y - x\\rVert^2 + \\lambda\\sum_i \\lvert y_{i+1} - y_i\\rvert`
exactly for one signal. The algorithm walks left to right keeping the current segment
``[k0, k]`` and two candidate levels ``vlo <= vhi`` for it (the lowest and highest level the
segment can still take) with the running dual values ``ulo``, ``uhi``. When the dual
leaves :math:`[-\\lambda, \\lambda]` the segment is final: it is written at the level that
broke, and the walk restarts just after the last point where that level was attained
(``klo`` or ``khi``). At the end of the signal the last segment is settled the same way.
Linear time on typical inputs, quadratic in the worst case (L. Condat, "A direct algorithm
for 1-D total variation denoising", IEEE SPL 20(11), 2013).
"""
from __future__ import annotations

from numba import njit, prange

__all__ = ["tv1d_rows"]


@njit(cache=True)
def _tv1d_one(x, y, lam):
    n = x.size
    if n == 0:
        return
    if n == 1 or lam == 0.0:
        for i in range(n):
            y[i] = x[i]
        return
    k = 0
    k0 = 0
    klo = 0
    khi = 0
    ulo = lam
    uhi = -lam
    vlo = x[0] - lam
    vhi = x[0] + lam
    while True:
        while k == n - 1:  # the last point: settle the open segment
            if ulo < 0.0:  # the low level is too low for the end: segment [k0, klo] at vlo
                while k0 <= klo:
                    y[k0] = vlo
                    k0 += 1
                k = k0
                klo = k0
                vlo = x[k0]
                ulo = lam
                uhi = vlo + ulo - vhi
            elif uhi > 0.0:  # the high level is too high: segment [k0, khi] at vhi
                while k0 <= khi:
                    y[k0] = vhi
                    k0 += 1
                k = k0
                khi = k0
                vhi = x[k0]
                uhi = -lam
                ulo = vhi + uhi - vlo
            else:  # both feasible: one level for the rest
                vlo += ulo / (k - k0 + 1)
                while k0 <= k:
                    y[k0] = vlo
                    k0 += 1
                return
        ulo += x[k + 1] - vlo
        uhi += x[k + 1] - vhi
        if ulo < -lam:  # a jump down after the segment: write it at vlo
            while k0 <= klo:
                y[k0] = vlo
                k0 += 1
            k = k0
            klo = k0
            khi = k0
            vlo = x[k0]
            vhi = vlo + 2.0 * lam
            ulo = lam
            uhi = -lam
        elif uhi > lam:  # a jump up: write the segment at vhi
            while k0 <= khi:
                y[k0] = vhi
                k0 += 1
            k = k0
            klo = k0
            khi = k0
            vhi = x[k0]
            vlo = vhi - 2.0 * lam
            ulo = lam
            uhi = -lam
        else:  # the segment grows by one point
            k += 1
            if ulo >= lam:
                klo = k
                vlo += (ulo - lam) / (k - k0 + 1)
                ulo = lam
            if uhi <= -lam:
                khi = k
                vhi += (uhi + lam) / (k - k0 + 1)
                uhi = -lam


@njit(parallel=True, cache=True)
def tv1d_rows(x, y, lam):
    """The prox of every row of ``x`` (2-D float64, C-contiguous) at ``lam``, into ``y``."""
    for r in prange(x.shape[0]):
        _tv1d_one(x[r], y[r], lam)
