"""The CD column primitives and the pass over every column (:mod:`proxgan.solvers._cd_columns`).

* the dense and sparse leaves behind ``dot_col`` / ``dot2_col`` / ``axpy_col``, and the leaves
  themselves as the epochs call them, against numpy;
* ``grad_cols`` (centred design, screened columns, with and without the second vector, a range of
  columns) against numpy.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit

from proxgan.solvers import _cd_columns as C


def _design(sparse, n=37, p=53, seed=0):
    """A design with zeros and an empty column, dense or CSC."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[rng.random((n, p)) < 0.4] = 0.0
    X[:, 5] = 0.0
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


@njit
def _leaves(X, data, indices, indptr, sparse, a, b, out_a, out_b, vec, coef):
    for j in range(out_a.shape[0]):
        out_a[j] = C.dot_sparse(data, indices, indptr, j, a) if sparse else C.dot_dense(X, j, a)
        out_b[j] = (C.dot2_sparse(data, indices, indptr, j, a, b) if sparse else C.dot2_dense(X, j, a, b))[1]
        if sparse:
            C.axpy_sparse(data, indices, indptr, j, coef[j], vec)
        else:
            C.axpy_dense(X, j, coef[j], vec)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("calls", [_prims, _leaves])
def test_primitives_match_numpy(sparse, calls):
    X, parts = _design(sparse)
    rng = np.random.default_rng(1)
    a, b, coef = rng.standard_normal(X.shape[0]), rng.standard_normal(X.shape[0]), rng.standard_normal(X.shape[1])
    out_a, out_b, vec = np.zeros(X.shape[1]), np.zeros(X.shape[1]), np.zeros(X.shape[0])
    calls(*parts, a, b, out_a, out_b, vec, coef)
    np.testing.assert_allclose(out_a, X.T @ a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_b, X.T @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(vec, X @ coef, rtol=1e-12, atol=1e-12)


def _grads(parts, X, two, lo=0, hi=None, seed=2):
    rng = np.random.default_rng(seed)
    n, p = X.shape
    r, acc, v = rng.standard_normal(n), rng.standard_normal(n), np.ones(n)
    mu, c = rng.standard_normal(p), X.T @ v
    s = 0.7
    active = rng.random(p) > 0.3
    G, Ga = np.full(p, 5.0), np.full(p, 5.0)
    vu = float(v @ acc)
    C.grad_cols(*parts, mu, c, r, s, G, active, two, acc, vu, Ga, lo, p if hi is None else hi)
    # G_j = X_jᵀr_raw + s·c_j (the centred X'_jᵀr when vᵀr = 0), Ga_j = X'_jᵀacc = X_jᵀacc − μ_j·vᵀacc
    return G, Ga, active, X.T @ r + s * c, X.T @ acc - mu * vu


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("two", [False, True])
def test_grad_cols_matches_numpy(sparse, two):
    X, parts = _design(sparse)
    G, Ga, active, G_ref, Ga_ref = _grads(parts, X, two)
    np.testing.assert_allclose(G[active], G_ref[active], rtol=1e-12, atol=1e-12)
    assert np.all(G[~active] == 5.0)  # screened: left alone
    if two:
        np.testing.assert_allclose(Ga[active], Ga_ref[active], rtol=1e-12, atol=1e-12)
        assert np.all(Ga[~active] == 0.0)
    else:
        assert np.all(Ga == 5.0)
    # a range of columns: those outside it are left alone, those inside get the same bits
    Gr, Gar = _grads(parts, X, two, 11, 30)[:2]
    inside = np.zeros(X.shape[1], dtype=bool)
    inside[11:30] = True
    assert Gr[inside].tobytes() == G[inside].tobytes() and Gar[inside].tobytes() == Ga[inside].tobytes()
    assert np.all(Gr[~inside] == 5.0) and np.all(Gar[~inside] == 5.0)
