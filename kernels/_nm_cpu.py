"""The numba loop of the N:M projection on the CPU (imported at the first call: numba loads in about a second).

One block of ``m`` entries per ``prange`` iteration: entry ``i`` is kept when fewer than
``n`` entries of its block beat it (a larger score, or an equal score at a lower index).
The score is :math:`|x|`, or :math:`x^2/s` with a per-entry step (``inf`` where ``s = 0``
and ``x != 0``). ``y`` must not alias ``x``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["nm_project_numba", "adam_nm_step"]


@njit(inline="always")
def _score(x, s, has_step):
    if not has_step:
        return abs(x)
    if s > 0:
        return x * x / s
    return np.inf if x != 0 else 0.0


@njit(parallel=True, cache=True)
def nm_project_numba(x, s, y, n, m, has_step):
    for b in prange(x.size // m):
        base = b * m
        for i in range(m):
            si = _score(x[base + i], s[base + i] if has_step else 1.0, has_step)
            rank = 0
            for j in range(m):
                sj = _score(x[base + j], s[base + j] if has_step else 1.0, has_step)
                if sj > si or (sj == si and j < i):
                    rank += 1
            y[base + i] = x[base + i] if rank < n else 0.0


_CHUNK = 1024  # blocks per parallel task: one scratch row of scores per task


@njit(inline="always")
def _rank_and_drop(p, scores, ranks, base, k, n, mb):
    """Zero the entries of the block at ``base`` (stride ``k``) beaten ``n`` times or more.

    Each pair ``i < j`` is compared once: ``j`` beats ``i`` on a strictly larger score, else
    ``i`` beats ``j`` (ties go to the lower index).
    """
    for i in range(mb):
        ranks[i] = 0
    for i in range(mb):
        si = scores[i]
        for j in range(i + 1, mb):
            beats = scores[j] > si  # branch-free: the comparisons of random data are unpredictable
            ranks[i] += beats
            ranks[j] += 1 - beats
    for i in range(mb):  # branch-free again: multiply by keep (0 or 1)
        p[base + i * k] *= ranks[i] < n


@njit(parallel=True, cache=True)
def adam_nm_step(p, g, m, v, n, mb, n_in, k, lr, omb1, b2, omb2, bc2s, eps, ss, precond):
    """One ProxAdam step (no weight decay, no AMSGrad, not maximising) with the N:M projection,
    fused: one pass over the blocks of ``mb`` entries along the input dimension.

    ``p, g, m, v`` are the flat contiguous data of a tensor of shape ``(out, n_in, *rest)``
    with ``k = prod(rest)``: block ``(o, ib, r)`` holds entries ``(o, ib*mb + t, r)``. For each
    block: the moments, the Adam point ``u`` and its score :math:`u^2/s = u^2 D/lr` (or
    :math:`|u|` with a scalar step), then the ``n`` largest scores are kept.
    """
    per_row = n_in // mb
    n_blocks = p.size // mb
    for c in prange((n_blocks + _CHUNK - 1) // _CHUNK):
        scores = np.empty(mb, dtype=np.float64)
        ranks = np.empty(mb, dtype=np.int64)
        for b in range(c * _CHUNK, min((c + 1) * _CHUNK, n_blocks)):
            r = b % k
            t = b // k
            base = (t // per_row) * n_in * k + (t % per_row) * mb * k + r
            for j in range(mb):
                a = base + j * k
                gi = g[a]
                mi = m[a] + omb1 * (gi - m[a])
                vi = b2 * v[a] + omb2 * gi * gi
                m[a] = mi
                v[a] = vi
                den = np.sqrt(vi) / bc2s + eps
                u = p[a] - ss * (mi / den)
                p[a] = u
                u = p[a]  # the score of the stored (rounded) value, as the unfused path sees it
                scores[j] = u * u * (den / lr) if precond else abs(u)
            if n < mb:
                _rank_and_drop(p, scores, ranks, base, k, n, mb)
