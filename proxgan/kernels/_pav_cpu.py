"""The numba loop of the sorted-L1 (SLOPE) prox: pool-adjacent-violators on sorted magnitudes.

After sorting :math:`|x|` in decreasing order the SLOPE prox reduces to the non-increasing
isotonic regression of :math:`z_i = |x|_{(i)} - s\\lambda_i`, clipped at zero (Bogdan et al.
2015, Algorithm 3). Pool-adjacent-violators keeps a stack of blocks (sum, length): each
new value starts a block, and while the previous block's mean is not larger than the last
one's the two are merged (their common value is the mean). One pass, O(n) after the sort.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["pav_nonincreasing_clip"]


@njit(cache=True)
def pav_nonincreasing_clip(z, out):
    """Write into ``out`` the non-increasing least-squares fit of ``z`` (1-D float64), clipped at 0."""
    n = z.size
    sums = np.empty(n)
    lens = np.empty(n, dtype=np.int64)
    top = -1
    for i in range(n):
        top += 1
        sums[top] = z[i]
        lens[top] = 1
        # merge while the previous block's mean <= the last block's mean (a violated order)
        while top > 0 and sums[top - 1] * lens[top] <= sums[top] * lens[top - 1]:
            sums[top - 1] += sums[top]
            lens[top - 1] += lens[top]
            top -= 1
    i = 0
    for b in range(top + 1):
        v = sums[b] / lens[b]
        if v < 0.0:
            v = 0.0
        for _ in range(lens[b]):
            out[i] = v
            i += 1
