r"""Exact (direct) and Krylov solvers of the ridge normal equations, one target per column.

With the centred, row-weighted design :math:`X'` and targets :math:`Y'` (see
:func:`proxgan.linear_model._base.center_scale`), every target :math:`k` solves

.. math::

    (X'^\top X' + \alpha_k I)\, w_k = X'^\top y'_k,

the minimiser of :math:`\lVert y'_k - X'w\rVert^2 + \alpha_k\lVert w\rVert^2`. The solvers:

* ``"cholesky"``: the :math:`p\times p` normal equations (dense or sparse :math:`X'`), or the
  :math:`n\times n` kernel system :math:`(X'X'^\top + \alpha I)d = y'`, :math:`w = X'^\top d`,
  when a dense design is wide (:math:`p > n`). A singular system (``alpha=0`` and a
  rank-deficient design) falls back to the least-squares solution through the SVD, with a
  warning, as scikit-learn does.
* ``"svd"``: :math:`w = V\,\mathrm{diag}(s/(s^2+\alpha))\,U^\top y'` (dense only).
* ``"lsqr"``: SciPy's LSQR on the (implicitly centred) operator with ``damp`` :math:`=\sqrt\alpha`.
* ``"positive"``: :math:`w \ge 0` by SciPy's active-set NNLS on :math:`[X'; \sqrt\alpha I]`
  and :math:`[y'; 0]` (exact).
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.optimize import nnls
from scipy.sparse.linalg import LinearOperator, lsqr

__all__ = ["centred_operator", "gram", "solve_cholesky", "solve_svd", "solve_lsqr", "solve_positive"]


def centred_operator(X, X_off, sq):
    r""":math:`X' = \mathrm{diag}(s^{1/2})X - s^{1/2}\mu^\top` as a LinearOperator (sparse X, kept sparse)."""
    n, p = X.shape
    v = np.ones(n) if sq is None else sq
    Xs = X if sq is None else sp.csr_matrix(sp.diags(sq) @ X)

    def mv(w):
        return np.asarray(Xs @ w).ravel() - v * float(X_off @ w)

    def rmv(r):
        return np.asarray(Xs.T @ r).ravel() - X_off * float(v @ r)

    return LinearOperator((n, p), matvec=mv, rmatvec=rmv, dtype=np.float64), Xs, v


def gram(X, Y, X_off=None, sq=None):
    """``(X'ᵀX', X'ᵀY')`` for a dense (already centred) or sparse (centred implicitly) design."""
    if not sp.issparse(X):
        return X.T @ X, X.T @ Y
    _, Xs, v = centred_operator(X, X_off, sq)
    c = np.asarray(Xs.T @ v).ravel()
    Q = np.asarray((Xs.T @ Xs).toarray())
    Q += (v @ v) * np.outer(X_off, X_off) - np.outer(c, X_off) - np.outer(X_off, c)
    XtY = np.asarray(Xs.T @ Y) - np.outer(X_off, v @ Y)
    return Q, XtY


def _lstsq_warn(A, B):
    warnings.warn("Singular matrix in solving dual problem. Using least-squares solution instead.",
                  sla.LinAlgWarning, stacklevel=4)
    return sla.lstsq(A, B, lapack_driver="gelsd")[0]


def solve_cholesky(X, Y, alphas, X_off=None, sq=None):
    """Coefficients of shape (p, n_targets) from the normal (or kernel) equations."""
    n, p = X.shape
    out = np.empty((p, Y.shape[1]))
    kernel = not sp.issparse(X) and p > n
    A, B = (X @ X.T, Y) if kernel else gram(X, Y, X_off, sq)
    for k, a in enumerate(alphas):
        M = A.copy()
        M.flat[:: M.shape[0] + 1] += a
        b = B[:, k]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", sla.LinAlgWarning)
                sol = sla.solve(M, b, assume_a="pos", overwrite_a=True)
        except (np.linalg.LinAlgError, sla.LinAlgError, sla.LinAlgWarning):
            M = A.copy()
            M.flat[:: M.shape[0] + 1] += a
            sol = _lstsq_warn(M, b)
        out[:, k] = X.T @ sol if kernel else sol
    return out


def solve_svd(X, Y, alphas):
    """Coefficients of shape (p, n_targets) from the thin SVD of the dense design."""
    U, s, Vt = sla.svd(X, full_matrices=False)
    keep = s > 1e-15
    s, U, Vt = s[keep], U[:, keep], Vt[keep]
    UtY = U.T @ Y
    out = np.empty((X.shape[1], Y.shape[1]))
    for k, a in enumerate(alphas):
        out[:, k] = Vt.T @ (s / (s * s + a) * UtY[:, k])
    return out


def solve_lsqr(X, Y, alphas, X_off, sq, tol, max_iter):
    """Coefficients (p, n_targets) and LSQR iteration counts (damped least squares)."""
    op = centred_operator(X, X_off, sq)[0] if sp.issparse(X) else X
    out = np.empty((X.shape[1], Y.shape[1]))
    n_iter = np.empty(Y.shape[1], dtype=np.int32)
    for k, a in enumerate(alphas):
        res = lsqr(op, Y[:, k], damp=np.sqrt(a), atol=tol, btol=tol, iter_lim=max_iter)
        out[:, k] = res[0]
        n_iter[k] = res[2]
    return out, n_iter


def solve_positive(X, Y, alphas, X_off=None, sq=None):
    """Non-negative coefficients (p, n_targets) by NNLS on the augmented least-squares problem."""
    if sp.issparse(X):
        op, Xs, v = centred_operator(X, X_off, sq)
        X = np.asarray(Xs.toarray()) - np.outer(v, X_off)
    p = X.shape[1]
    out = np.empty((p, Y.shape[1]))
    for k, a in enumerate(alphas):
        A = np.vstack([X, np.sqrt(a) * np.eye(p)])
        b = np.concatenate([Y[:, k], np.zeros(p)])
        out[:, k] = nnls(A, b, maxiter=50 * max(p, 1))[0]
    return out
