r"""Column primitives of the coordinate-descent loops (numba): :math:`X_j^\top v`,
:math:`(X_j^\top a, X_j^\top b)` and :math:`v \mathrel{+}= a X_j` for a dense (Fortran-ordered
float64) or CSC (``data, indices, indptr``) design.

Each primitive is a *dispatcher* compiled into its caller (``inline="always"``) that picks one of
two *leaf* loops, one per storage, each compiled on its own with reassociated sums (fastmath, so
that the dot products vectorise). The split matters: one function holding both loops (as these
primitives were written before) makes numba count references to its four array arguments at every
call, in a branch its reference-count pruning does not remove, and the caller's loop over columns
then ran 3.5x slower than BLAS's ``gemv`` on a 100 x 10,000 design (70 ns a column against 17-20;
the leaves alone run at ``gemv``'s speed). A leaf takes only the arrays of its storage, and its
single loop is pruned. An inlined dispatcher keeps its caller's fastmath flags, not its own, which
is why the arithmetic stays in the leaves (a caller without fastmath would otherwise get one
dependent chain of additions per dot product). The dispatchers suit loops that do little else per
column (:func:`grad_cols`); in the coordinate-descent epochs, where the column calls sit in
branches, the copies of the arguments that inlining makes are counted again (an epoch of 200
columns of 100 rows: 28 µs against 13 µs), so the epochs call the leaves themselves, choosing the
storage at the call (``dot_sparse(...) if sparse else dot_dense(...)``).

**No threads.** The passes over every column (the outer check of the coordinate-descent driver)
were tried on two threads (column blocks in a ``prange`` loop, the same bits as one thread), chosen
by one rule (large passes, main thread only, within numba's, OpenMP's and the BLAS's limits, a free
core). It was dropped: on the 2-core development machine, shared with other jobs, a two-thread
pass with the other core busy took 5.4 ms against 0.56 ms on one (100 x 10,000, median of 200),
no benchmark run ever had a free core to use it, and the ``prange`` loop compiled into the driver
added about 9 s (30%) to its first compile and 40 ms to the import (numba's parallel runtime must
be started before a cached caller of it is loaded). The serial pass runs at the speed of a
single-thread BLAS ``gemv``.
"""
from __future__ import annotations

from numba import njit

__all__ = ["FM", "dot_col", "dot2_col", "axpy_col", "dot_dense", "dot_sparse", "dot2_dense", "dot2_sparse", "axpy_dense",
           "axpy_sparse", "grad_cols", "dot_sq_dense"]

#: fastmath flags of the leaf loops: reassociation lets LLVM vectorise the sums (no ``nnan``/``ninf``:
#: NaN and infinity propagate as without fastmath)
FM = {"reassoc", "contract", "arcp", "nsz"}


@njit(cache=True, fastmath=FM, nogil=True)
def dot_dense(X, j, vec):
    """:math:`X_j^\\top v` for a dense ``X``."""
    acc = 0.0
    for i in range(X.shape[0]):
        acc += X[i, j] * vec[i]
    return acc


@njit(cache=True, fastmath=FM, nogil=True)
def dot_sparse(data, indices, indptr, j, vec):
    """:math:`X_j^\\top v` for a CSC ``X``."""
    acc = 0.0
    for k in range(indptr[j], indptr[j + 1]):
        acc += data[k] * vec[indices[k]]
    return acc


@njit(cache=True, fastmath=FM, nogil=True)
def dot2_dense(X, j, a, b):
    """``(X_jᵀa, X_jᵀb)`` in one read of the dense column ``j``."""
    acc_a = 0.0
    acc_b = 0.0
    for i in range(X.shape[0]):
        x = X[i, j]
        acc_a += x * a[i]
        acc_b += x * b[i]
    return acc_a, acc_b


@njit(cache=True, fastmath=FM, nogil=True)
def dot2_sparse(data, indices, indptr, j, a, b):
    """``(X_jᵀa, X_jᵀb)`` in one read of the CSC column ``j``."""
    acc_a = 0.0
    acc_b = 0.0
    for k in range(indptr[j], indptr[j + 1]):
        x = data[k]
        acc_a += x * a[indices[k]]
        acc_b += x * b[indices[k]]
    return acc_a, acc_b


@njit(cache=True, fastmath=FM, nogil=True)
def dot_sq_dense(X, j, vec):
    """``(X_jᵀv, ‖X_j‖²)`` in one read of the dense column ``j`` (the first scoring pass, which also
    forms the column norms: :mod:`~proxgan.solvers._cd_kernels`)."""
    acc = 0.0
    sq = 0.0
    for i in range(X.shape[0]):
        x = X[i, j]
        acc += x * vec[i]
        sq += x * x
    return acc, sq


@njit(cache=True, fastmath=FM, nogil=True)
def axpy_dense(X, j, a, vec):
    """``vec += a·X_j`` for a dense ``X``."""
    for i in range(X.shape[0]):
        vec[i] += a * X[i, j]


@njit(cache=True, fastmath=FM, nogil=True)
def axpy_sparse(data, indices, indptr, j, a, vec):
    """``vec += a·X_j`` for a CSC ``X``."""
    for k in range(indptr[j], indptr[j + 1]):
        vec[indices[k]] += a * data[k]


@njit(inline="always")
def dot_col(X, data, indices, indptr, sparse, j, vec):
    """:math:`X_j^\\top v` (dense ``X`` or CSC ``data, indices, indptr`` when ``sparse``)."""
    return dot_sparse(data, indices, indptr, j, vec) if sparse else dot_dense(X, j, vec)


@njit(inline="always")
def dot2_col(X, data, indices, indptr, sparse, j, a, b):
    """``(X_jᵀa, X_jᵀb)`` in one read of column ``j``."""
    return dot2_sparse(data, indices, indptr, j, a, b) if sparse else dot2_dense(X, j, a, b)


@njit(inline="always")
def axpy_col(X, data, indices, indptr, sparse, j, a, vec):
    """``vec += a·X_j``."""
    if sparse:
        axpy_sparse(data, indices, indptr, j, a, vec)
    else:
        axpy_dense(X, j, a, vec)


@njit(cache=True, nogil=True)
def grad_cols(X, data, indices, indptr, sparse, mu, c, r_raw, s, G, active, two, acc, vu, Ga, lo, hi):
    """For the active columns ``j`` of ``[lo, hi)``: ``G_j = X_jᵀr_raw + s·c_j`` (``c = Xᵀv``; this is
    ``X'_jᵀr`` for ``r = r_raw + s·v`` with ``vᵀr = 0``, see :mod:`~proxgan.solvers._cd_kernels`) and, when
    ``two``, ``Ga_j = X'_jᵀacc = X_jᵀacc − μ_j·vu`` (``vu = vᵀacc``) in the same read of
    the column; ``Ga_j = 0`` for the screened ones. Nothing else in this function: in one that also
    allocates, numba counted references to the loop's arrays at every column (3-4x slower)."""
    if not two:
        for j in range(lo, hi):
            if active[j]:
                G[j] = dot_col(X, data, indices, indptr, sparse, j, r_raw) + s * c[j]
        return
    for j in range(lo, hi):
        if not active[j]:
            Ga[j] = 0.0
            continue
        g, ga = dot2_col(X, data, indices, indptr, sparse, j, r_raw, acc)
        G[j] = g + s * c[j]
        Ga[j] = ga - mu[j] * vu
