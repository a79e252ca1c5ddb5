"""The CD column primitives and the passes over every column (:mod:`proxgan.solvers._cd_columns`).

* the dense and sparse leaves behind ``dot_col`` / ``dot2_col`` / ``axpy_col`` against numpy;
* ``grad_cols`` (centred design, screened columns, with and without the second vector) against
  numpy, and its threaded form ``grad_cols_blocks`` bit for bit against the serial one;
* the one thread rule ``pass_threads``: one thread for small passes, in worker threads, when the
  other cores are busy, and whenever numba, OpenMP or the BLAS is limited to one thread;
* a Lasso solved with the threaded full pass gives the serial solve's coefficients bit for bit.
"""
import threading

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit
from threadpoolctl import threadpool_limits

from proxgan.datafits import Quadratic
from proxgan.penalties import L1
from proxgan.solvers import _cd_columns as C
from proxgan.solvers import _cd_kernels as K
from proxgan.solvers import cd


def _design(sparse, n=37, p=53, seed=0, huge=False):
    """A design with zeros, an empty column and (``huge``) an entry of 1e300, dense or CSC."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[rng.random((n, p)) < 0.4] = 0.0
    X[:, 5] = 0.0
    if huge:
        X[3, 7] = 1e300
    if sparse:
        S = sp.csc_matrix(X)
        return X, (np.zeros((0, 0), order="F"), S.data, S.indices, S.indptr, True)
    return X, (np.asfortranarray(X), np.zeros(0), np.zeros(1, np.int32), np.zeros(1, np.int32), False)


@njit
def _prims(X, data, indices, indptr, sparse, a, b, out_a, out_b, vec, coef):
    for j in range(out_a.shape[0]):
        out_a[j] = C.dot_col(X, data, indices, indptr, sparse, j, a)
        out_b[j] = C.dot2_col(X, data, indices, indptr, sparse, j, a, b)[1]
        C.axpy_col(X, data, indices, indptr, sparse, j, coef[j], vec)


@pytest.mark.parametrize("sparse", [False, True])
def test_primitives_match_numpy(sparse):
    X, parts = _design(sparse)
    rng = np.random.default_rng(1)
    a, b, coef = rng.standard_normal(X.shape[0]), rng.standard_normal(X.shape[0]), rng.standard_normal(X.shape[1])
    out_a, out_b, vec = np.zeros(X.shape[1]), np.zeros(X.shape[1]), np.zeros(X.shape[0])
    _prims(*parts, a, b, out_a, out_b, vec, coef)
    np.testing.assert_allclose(out_a, X.T @ a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_b, X.T @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(vec, X @ coef, rtol=1e-12, atol=1e-12)


def _grads(parts, X, two, threads, seed=2):
    rng = np.random.default_rng(seed)
    n, p = X.shape
    r, acc, v = rng.standard_normal(n), rng.standard_normal(n), np.ones(n)
    mu, c = rng.standard_normal(p), X.T @ v
    s = 0.7
    active = rng.random(p) > 0.3
    G, Ga = np.full(p, 5.0), np.full(p, 5.0)
    vu = float(v @ acc)
    if threads > 1:
        C.grad_cols_blocks(*parts, mu, c, r, s, G, active, two, acc, vu, Ga, threads)
    else:
        C.grad_cols(*parts, mu, c, r, s, G, active, two, acc, vu, Ga, 0, p)
    # G_j = X_jᵀr_raw + s·c_j (the centred X'_jᵀr when vᵀr = 0), Ga_j = X'_jᵀacc = X_jᵀacc − μ_j·vᵀacc
    return G, Ga, active, X.T @ r + s * c, X.T @ acc - mu * vu


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("two", [False, True])
def test_grad_cols_matches_numpy(sparse, two):
    X, parts = _design(sparse)
    G, Ga, active, G_ref, Ga_ref = _grads(parts, X, two, 1)
    np.testing.assert_allclose(G[active], G_ref[active], rtol=1e-12, atol=1e-12)
    assert np.all(G[~active] == 5.0)  # screened: left alone
    if two:
        np.testing.assert_allclose(Ga[active], Ga_ref[active], rtol=1e-12, atol=1e-12)
        assert np.all(Ga[~active] == 0.0)
    else:
        assert np.all(Ga == 5.0)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("two", [False, True])
@pytest.mark.parametrize("threads", [2, 3, 7])
def test_threaded_pass_is_the_serial_one_bit_for_bit(sparse, two, threads):
    X, parts = _design(sparse, n=41, p=1001, huge=True)  # 1001 columns: blocks of unequal sizes
    G1, Ga1 = _grads(parts, X, two, 1)[:2]
    Gt, Gat = _grads(parts, X, two, threads)[:2]
    assert G1.tobytes() == Gt.tobytes()
    assert Ga1.tobytes() == Gat.tobytes()


def test_pass_threads_rule(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    big = 10 * C.MIN_THREADED_WORK
    assert C.pass_threads(C.MIN_THREADED_WORK - 1) == 1
    expected = min(numba.get_num_threads(), C._library_threads(), C._free_cores())
    assert C.pass_threads(big) == max(1, expected)
    monkeypatch.setattr(C, "_free_cores", lambda: 1)  # the other cores busy
    assert C.pass_threads(big) == 1
    monkeypatch.setattr(C, "_free_cores", lambda: 64)
    assert C.pass_threads(big) == max(1, min(numba.get_num_threads(), C._library_threads()))
    with threadpool_limits(limits=1):
        assert C.pass_threads(big) == 1
    out = []
    t = threading.Thread(target=lambda: out.append(C.pass_threads(big)))
    t.start()
    t.join()
    assert out == [1]  # a worker thread (a CV fold, a Dask task) never adds threads
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert C.pass_threads(big) == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assert C.pass_threads(big) == 1
    finally:
        numba.set_num_threads(old)


@pytest.mark.parametrize("sparse", [False, True])
def test_lasso_threaded_full_pass_same_bits(monkeypatch, sparse):
    """The whole solve (screening, dual extrapolation: every outer check runs the pass) with the
    pass on 2 threads gives the serial coefficients, gap and iteration count exactly."""
    rng = np.random.default_rng(4)
    n, p = 40, 900
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))
    y = X[:, :8] @ rng.standard_normal(8) + 0.1 * rng.standard_normal(n)
    Xd = sp.csc_matrix(X) if sparse else np.asfortranarray(X)
    lam = 0.05 * np.abs(X.T @ y).max() / n
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(K, "pass_threads", lambda work, t=threads: t)
        res = cd.solve(Quadratic(Xd, y), L1(lam), tol=1e-12, max_iter=100)
        results.append(res)
    assert results[0].converged
    assert results[0].coef.tobytes() == results[1].coef.tobytes()
    assert results[0].crit == results[1].crit and results[0].n_iter == results[1].n_iter
