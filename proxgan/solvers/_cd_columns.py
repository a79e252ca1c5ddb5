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
dependent chain of additions per dot product).
"""
from __future__ import annotations

from numba import njit

__all__ = ["FM", "dot_col", "dot2_col", "axpy_col"]

#: fastmath flags of the leaf loops: reassociation lets LLVM vectorise the sums (no ``nnan``/``ninf``:
#: NaN and infinity propagate as without fastmath)
FM = {"reassoc", "contract", "arcp", "nsz"}


@njit(cache=True, fastmath=FM, nogil=True)
def _dot_dense(X, j, vec):
    acc = 0.0
    for i in range(X.shape[0]):
        acc += X[i, j] * vec[i]
    return acc


@njit(cache=True, fastmath=FM, nogil=True)
def _dot_sparse(data, indices, indptr, j, vec):
    acc = 0.0
    for k in range(indptr[j], indptr[j + 1]):
        acc += data[k] * vec[indices[k]]
    return acc


@njit(cache=True, fastmath=FM, nogil=True)
def _dot2_dense(X, j, a, b):
    acc_a = 0.0
    acc_b = 0.0
    for i in range(X.shape[0]):
        x = X[i, j]
        acc_a += x * a[i]
        acc_b += x * b[i]
    return acc_a, acc_b


@njit(cache=True, fastmath=FM, nogil=True)
def _dot2_sparse(data, indices, indptr, j, a, b):
    acc_a = 0.0
    acc_b = 0.0
    for k in range(indptr[j], indptr[j + 1]):
        x = data[k]
        acc_a += x * a[indices[k]]
        acc_b += x * b[indices[k]]
    return acc_a, acc_b


@njit(cache=True, fastmath=FM, nogil=True)
def _axpy_dense(X, j, a, vec):
    for i in range(X.shape[0]):
        vec[i] += a * X[i, j]


@njit(cache=True, fastmath=FM, nogil=True)
def _axpy_sparse(data, indices, indptr, j, a, vec):
    for k in range(indptr[j], indptr[j + 1]):
        vec[indices[k]] += a * data[k]


@njit(inline="always")
def dot_col(X, data, indices, indptr, sparse, j, vec):
    """:math:`X_j^\\top v` (dense ``X`` or CSC ``data, indices, indptr`` when ``sparse``)."""
    return _dot_sparse(data, indices, indptr, j, vec) if sparse else _dot_dense(X, j, vec)


@njit(inline="always")
def dot2_col(X, data, indices, indptr, sparse, j, a, b):
    """``(X_jᵀa, X_jᵀb)`` in one read of column ``j``."""
    return _dot2_sparse(data, indices, indptr, j, a, b) if sparse else _dot2_dense(X, j, a, b)


@njit(inline="always")
def axpy_col(X, data, indices, indptr, sparse, j, a, vec):
    """``vec += a·X_j``."""
    if sparse:
        _axpy_sparse(data, indices, indptr, j, a, vec)
    else:
        _axpy_dense(X, j, a, vec)
