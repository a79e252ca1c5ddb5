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

**Threads.** The passes over every column (the outer check of the coordinate-descent driver:
:math:`X'^\top r`, and :math:`X'^\top` of the extrapolated residual) are the only part of a solve
worth splitting among threads: the epochs on a working set are sequential by nature, and each of
their column updates is far too short. :func:`pass_threads` is the one rule that chooses how many
threads such a pass uses; :func:`grad_cols` / :func:`grad_cols_blocks` run it on a range of columns,
or on ``threads`` contiguous blocks of columns in a ``prange`` loop. Each column is computed by the
same leaf loop whichever thread runs it, so the result is bit for bit the serial one.
"""
from __future__ import annotations

import os
import threading

import numba
from numba import njit, prange
from numba.np.ufunc.parallel import _launch_threads

__all__ = ["FM", "dot_col", "dot2_col", "axpy_col", "dot_dense", "dot_sparse", "dot2_dense", "dot2_sparse", "axpy_dense",
           "axpy_sparse", "grad_cols", "grad_cols_blocks", "pass_threads",
           "MIN_THREADED_WORK"]

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


@njit(cache=True, nogil=True, parallel=True)
def grad_cols_blocks(X, data, indices, indptr, sparse, mu, c, r_raw, s, G, active, two, acc, vu, Ga, threads):
    """:func:`grad_cols` over every column, split into ``threads`` contiguous blocks run in parallel
    (``threads <= numba.get_num_threads()``, see :func:`pass_threads`)."""
    p = G.shape[0]
    for b in prange(threads):
        grad_cols(X, data, indices, indptr, sparse, mu, c, r_raw, s, G, active, two, acc, vu, Ga,
                  b * p // threads, (b + 1) * p // threads)


# numba's parallel runtime must be started before any compiled function that calls
# grad_cols_blocks is loaded from numba's on-disk cache (the coordinate-descent driver is): a cached
# caller links against the runtime's symbols, and loading it before the runtime has started aborts
# the process ("Symbol not found: allocate_sched"); compiling starts it, loading does not. Starting
# it loads the threading layer's library (about 40 ms, once per process) and creates no thread.
try:
    _launch_threads()
except (ValueError, RuntimeError):  # pragma: no cover - no usable threading layer (NUMBA_THREADING_LAYER):
    pass  # the import still works; compiling the driver then raises numba's own error

#: smallest full pass (entries of ``X`` read: ``n·p`` dense, the stored entries sparse) split among
#: threads: about 0.1 ms of one core, where waking a second thread (tens of µs) is paid back
MIN_THREADED_WORK = 500_000

_controller: list = []


def _library_threads() -> int:
    """The fewest threads allowed by the BLAS/OpenMP libraries loaded in this process, as
    threadpoolctl reads them (their environment variables, ``OMP_NUM_THREADS=1`` included, and any
    ``threadpool_limits`` in force); a large number when threadpoolctl is absent."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
        return 1 << 30
    if not _controller:
        _controller.append(ThreadpoolController())
    counts = [lib.num_threads for lib in _controller[0].lib_controllers]
    return min(counts) if counts else 1 << 30


def _free_cores() -> int:
    """Cores this process may run on that are not busy with other work: the cores of its affinity
    mask minus the one-minute load average, counting this process's own running thread as free
    (``ncpu − load + 1``, rounded); the whole mask where the load average is unknown."""
    try:
        ncpu = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        ncpu = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return ncpu
    return max(1, min(ncpu, int(ncpu - load + 1.5)))


def pass_threads(work: int) -> int:
    """Threads for a pass over every column of a design holding ``work`` entries: the one rule.

    One thread unless all of these hold: the pass is large (``work >= MIN_THREADED_WORK``); it
    runs in the main thread (a solve in a worker thread, e.g. a cross-validation fold or a Dask
    task, is already one of several running at once); the user allows more than one thread to
    numba (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), to OpenMP (``OMP_NUM_THREADS``)
    and to the BLAS (``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, threadpoolctl's
    ``threadpool_limits``); and other cores are free (:func:`_free_cores`). Then the fewest of
    those counts. A pass split among threads ends when its slowest thread ends: with the second
    core of a 2-core machine busy with another process, the pass over 100 x 10,000 took 5.4 ms on
    two threads against 0.56 ms on one (median of 200; 0.63 ms with ``OMP_WAIT_POLICY=PASSIVE``).

    Parameters
    ----------
    work : int
        Entries of ``X`` read by one pass.

    Returns
    -------
    int
        The number of threads, ``>= 1``.
    """
    if work < MIN_THREADED_WORK or threading.current_thread() is not threading.main_thread():
        return 1
    n = numba.get_num_threads()
    omp = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if omp.isdigit() and int(omp) > 0:
        n = min(n, int(omp))
    if n <= 1:
        return 1
    n = min(n, _library_threads())
    if n <= 1:
        return 1
    return max(1, min(n, _free_cores()))
