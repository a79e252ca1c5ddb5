r"""Coordinate descent with working sets and Anderson acceleration.

Solves :math:`\min_w f(w) + \sum_j g_j(w_j)` for a datafit :math:`f`
(:class:`~proxgan.datafits.Quadratic` or :class:`~proxgan.datafits.Logistic`) and a
separable penalty given through its lowering (``L1`` with or without weights, ``L2``,
``ElasticNet``, ``L0``, ``Box``, ``NonNegative``, or any penalty whose ``lowering()`` gives a
kernel code; ``positive=True`` adds :math:`w \ge 0`). Each coordinate update is exact
for the quadratic datafit, :math:`w_j \leftarrow \operatorname{prox}_{g_j/L_j}(w_j - \nabla_j f(w)/L_j)`
with :math:`L_j = \lVert X_j\rVert^2/n`, and a proximal-gradient step with the
coordinate-wise Lipschitz constant for the logistic one.

The loops over coordinates are compiled with numba (:mod:`proxgan.solvers._cd_kernels`,
:mod:`proxgan.solvers._cd_logistic`); the per-coordinate prox is
:func:`proxgan.solvers._prox1d.prox1d`, the compiled twin of ``penalty.prox``.

Stopping: the quadratic datafit stops on the duality gap (``gap <= tol``) for L1 / ENet /
L2 penalties with or without ``positive``; otherwise (general boxes, logistic, non-convex
penalties such as L0) on the largest fixed-point violation
:math:`L_j|w_j - \operatorname{prox}(\dots)|`, which is at most ``tol``. It is zero exactly
at a minimiser of a convex problem, and at a stationary point (a fixed point of the
coordinate-wise prox map) of a non-convex one: for those there is no duality gap, and the
result is a local, not a global, minimiser (``criterion == "optimality"``).

Examples
--------
>>> import numpy as np
>>> from proxgan.datafits import Quadratic
>>> from proxgan.penalties import L1
>>> from proxgan.solvers.cd import solve
>>> X = np.random.default_rng(0).standard_normal((50, 20)); y = X[:, 0]
>>> res = solve(Quadratic(X, y), L1(0.1), tol=1e-10)
>>> bool(res.converged), int(np.count_nonzero(res.coef))
(True, 1)
"""
from __future__ import annotations

import numpy as np

from proxgan import penalties as _pen
from proxgan.datafits import Datafit, GLMDatafit, Logistic, Quadratic
from proxgan.solvers._cd_driver import SHRINK_CODES
from proxgan.solvers._cd_glm import solve_glm
from proxgan.solvers._cd_gram import cd_gram_kernel
from proxgan.solvers._cd_kernels import cd_quadratic_kernel, enet_gap, full_gradient, raw_residual
from proxgan.solvers._cd_logistic import cd_logistic_kernel
from proxgan.solvers._cd_multitask import multitask_cd
from proxgan.solvers._common import SolverResult
from proxgan.solvers._prox1d import enet_rows, penalty_params

__all__ = ["CDResult", "solve", "solve_multitask", "quadratic_gap", "lasso_certificate", "logistic_certificate",
           "default_p0", "dense_support"]

_EMPTY_F = np.zeros((0, 0), order="F")
_EMPTY_1 = np.zeros(0)
_EMPTY_I = np.zeros(1, dtype=np.int32)


CDResult = SolverResult


def dense_support(datafit: Datafit) -> bool:
    """Whether a solution may hold a large share of the features: least squares with ``p <= 2n`` (a
    Lasso solution has at most ``min(n, p)`` nonzeros). Read by :func:`default_p0` and by the
    estimators' choice of Anderson depth (:func:`proxgan.linear_model._quadratic.cd_anderson`).

    Parameters
    ----------
    datafit : Datafit
        The problem's datafit (its type and shape).

    Returns
    -------
    bool
    """
    return isinstance(datafit, Quadratic) and datafit.n_features <= 2 * datafit.n_samples


def default_p0(datafit: Datafit, code: int | None = None) -> int:
    r"""Smallest working set of :func:`solve` when none is given: the one rule, read by :func:`solve`,
    the certificates, the estimators and the benchopt solver files.

    * **Least squares with a non-convex penalty** (``code`` in :data:`proxgan.solvers._cd_driver.SHRINK_CODES`: L0, MCP,
      SCAD, log-sum, :math:`\ell_{1/2}`, :math:`\ell_{2/3}`): :math:`\max(10, \lfloor p/10\rfloor)` when
      :math:`n \ge p`, else 10. An inner epoch over :math:`k` features costs :math:`k/p` of an outer
      scoring pass, so a first working set of :math:`p/10` costs at most about 0.4 pass where the support
      turns out smaller, and saves the :math:`\log_2(p/100)` doublings (each a pass and an inner solve)
      where it is as large: on the 5000 x 500 problem L2 of ``bench/PROTOCOL.md`` (68 nonzeros) MCP and
      SCAD took 3-4 outer iterations instead of 5-6. When :math:`p > n` the objective has many critical
      points and a larger start changes which one coordinate descent reaches from zero (measured both
      ways on those problems, by +-50% in time), so it stays 10 there: over seeds 0-9 of L1, L3 and L5
      (MCP and SCAD), starts of 15 to 100 moved the geometric mean of the column reads by -25% to +8%
      with no trend in the start, and single fits by up to x2 either way.
    * **Least squares with** :math:`p \le 2n` (:func:`dense_support`, convex penalty):
      :math:`\max(10, \lfloor\min(n, p)/5\rfloor)`, a fifth of the largest support a Lasso solution can
      have. Every outer iteration pays a pass over ``X`` to score the coordinates, whatever the working
      set, and the working set at most doubles from one outer iteration to the next
      (``max(p0, 2·nnz)``): benchopt's simulated 500 × 600 Lasso at 0.1 and 0.05·alpha_max (120–190
      nonzeros) took 7 and 9 outer iterations from 10, 4 and 5 from 100, with about 40% fewer column
      reads (``bench/bench_lasso_small.py``); L2 (5000 × 500) and L4 (500 × 600) of
      ``bench/bench_lasso.py`` also ran faster.
    * **Otherwise** 10. When :math:`p \gg n` the number of outer iterations is set by convergence
      rather than by growth (L1, 1000 × 5000: 9–10 outer iterations for any start from 10 to 300) and a
      larger start only adds epochs on coordinates that are not needed yet (L1 took 250 ms from 10,
      330–400 ms from 100–300).

    Parameters
    ----------
    datafit : Datafit
        The problem's datafit (its type and shape).
    code : int, optional
        The penalty's lowered code (:class:`proxgan.kernels.fused_penalty.Code`); ``None`` for a convex one.

    Returns
    -------
    int
    """
    n, p = datafit.n_samples, datafit.n_features
    if code is not None and int(code) in SHRINK_CODES and isinstance(datafit, Quadratic):
        return max(10, p // 10) if n >= p else 10
    if dense_support(datafit):
        return max(10, min(n, p) // 5)
    return 10


def _parts(df: Datafit):
    if df.sparse:
        X = df.X
        return _EMPTY_F, X.data, X.indices, X.indptr, True
    return df.X, _EMPTY_1, _EMPTY_I, _EMPTY_I, False


def _column_sums(df: Datafit) -> np.ndarray:
    """c = Xᵀv (raw X, before the offset); zeros when there is no offset. Compiled, not BLAS (see
    :func:`_raw_residual`)."""
    c = np.zeros(df.n_features)
    if np.any(df.mu):
        X, data, ind, ptr, sparse = _parts(df)
        v = np.ascontiguousarray(df.v, dtype=np.float64)
        full_gradient(X, data, ind, ptr, sparse, np.zeros(df.n_features), v, 0.0, c)
    return c


def _raw_residual(df: Datafit, w: np.ndarray) -> np.ndarray:
    """``y − X w`` (raw X) by the compiled loop over the nonzero ``w_j``: a multithreaded BLAS
    called at every solve wakes its threads each time (milliseconds per call on a loaded machine)."""
    X, data, ind, ptr, sparse = _parts(df)
    out = np.empty(df.n_samples)
    raw_residual(X, data, ind, ptr, sparse, df.y, w, out)
    return out


def _l1_params(datafit, cls, penalty, positive, name: str):
    """:func:`_params` of an L1 penalty with every weight > 0 on a ``cls`` datafit (the certificates),
    or a TypeError / ValueError naming the function ``name``."""
    if not isinstance(datafit, cls):
        raise TypeError(f"datafit must be {cls.__name__}, got {type(datafit).__name__}")
    code, P, l1, l2, gap_ok, pos = _params(penalty, datafit.n_features, positive)
    if not (gap_ok and np.all(l1 > 0) and not np.any(l2)):
        raise ValueError(f"{name} needs an L1 penalty with every weight > 0")
    return code, P, l1, l2, gap_ok, pos


def _ok(converged, crit, norms2) -> bool:
    """Converged, with finite criterion and column norms: data so large that ‖X_j‖² overflows
    makes every coordinate step 0 (a fixed point of nothing), which is reported as not converged."""
    return bool(converged) and bool(np.isfinite(crit)) and bool(np.all(np.isfinite(norms2)))


def _params(penalty, p, positive):
    """``(code, P, l1, l2, gap_ok, pos)``: the per-coordinate penalty, and the rows of its
    :math:`l_1|w| + \tfrac12 l_2 w^2` form when the duality gap applies."""
    code, P = penalty_params(penalty, p, positive)
    lo, hi = P[2], P[3]
    rows = enet_rows(code, P)
    has_box = bool(np.any(np.isfinite(hi)) or np.any((lo != 0) & np.isfinite(lo)))
    pos = bool(np.all(lo == 0)) if np.any(np.isfinite(lo)) else False
    mixed = np.any(np.isfinite(lo)) and not pos
    if rows is None:
        l1 = l2 = np.zeros(p)
        gap_ok = False
    else:
        l1, l2 = (np.ascontiguousarray(r) for r in rows)
        gap_ok = not has_box and not mixed and not (pos and not np.any(l1 > 0))  # no gap for positive ridge
    return code, P, l1, l2, gap_ok, pos


def quadratic_gap(df: Quadratic, coef: np.ndarray, penalty: _pen.Penalty, positive: bool = False) -> float:
    """Duality gap of :math:`f + g` at ``coef`` for the quadratic datafit (float64).

    The dual point is the residual rescaled into the dual feasible set, as in
    scikit-learn (see :func:`proxgan.solvers._cd_kernels.enet_gap`).

    Parameters
    ----------
    df : Quadratic
        The quadratic datafit (dense or sparse ``X``, ``y``).
    coef : ndarray of shape (n_features,)
        The coefficients at which the gap is evaluated.
    penalty : Penalty
        An L1, L2 or ElasticNet penalty (possibly a :class:`~proxgan.solvers.Composite`).
    positive : bool, default False
        Whether the coefficients are constrained to ``coef >= 0``.

    Returns
    -------
    float
        The duality gap (>= 0 up to rounding).

    Raises
    ------
    ValueError
        If the gap is not available for ``penalty`` (not L1/L2/ElasticNet, a box bound,
        or a positive ridge).
    """
    _, _, l1, l2, gap_ok, pos = _params(penalty, df.n_features, positive)
    if not gap_ok:
        raise ValueError("the duality gap is only available for L1/L2/ElasticNet penalties (with positive)")
    w = np.asarray(coef, dtype=np.float64)
    X, data, ind, ptr, sparse = _parts(df)
    c = _column_sums(df)
    r_raw = df.y - (df.X @ w)
    s = float(df.mu @ w)
    G = np.empty(df.n_features)
    full_gradient(X, data, ind, ptr, sparse, c, r_raw, s, G)
    return float(enet_gap(r_raw + s * df.v, df.y, w, G, l1, l2, pos))


def _residual_cd(df, w, code, P, l1, l2, gap_ok, pos, tol, max_iter, p0, working_set, anderson, screening,
                 dual_extrapolation):
    """The quadratic datafit's CD on the residual: ``(result, dual point, active mask)``."""
    c = _column_sums(df)
    r_raw = _raw_residual(df, w)
    s = float(df.mu @ w)
    # a dense X without offset gets its column norms from the first scoring pass (one read of X, not two),
    # kept by the datafit for later solves and checks as if it had formed them
    fused = not df.sparse and not np.any(df.mu) and getattr(df, "_norms2", None) is None
    norms2 = np.empty(df.n_features) if fused else df._col_norms2()
    dual = np.zeros(df.n_samples)
    active = np.ones(df.n_features, dtype=np.bool_)
    X, data, ind, ptr, sparse = _parts(df)
    s, crit, n_ep, conv = cd_quadratic_kernel(
        X, data, ind, ptr, sparse, df.mu, df.v, c, norms2, df.y, w, r_raw, s,
        code, P, l1, l2, gap_ok, pos, float(tol), int(max_iter), int(p0), bool(working_set), int(anderson),
        screening=bool(screening), dual_extrapolation=int(dual_extrapolation), dual_out=dual, active=active,
        norms_todo=fused)
    if fused:
        df._norms2 = norms2
    res = CDResult(w, float(crit), "gap" if gap_ok else "optimality", int(n_ep), _ok(conv, crit, norms2))
    return res, dual, active


def _logistic_cd(df, w, intercept, code, P, l1, l2, gap_ok, pos, tol, max_iter, p0, working_set, anderson,
                 screening):
    """The logistic datafit's CD: ``(result, certified gap or inf, active mask)``; screening for L1."""
    X, data, ind, ptr, sparse = _parts(df)
    norms2 = df.weighted_col_norms2()
    p = df.n_features
    active = np.ones(p, dtype=np.bool_)
    gap = np.full(1, np.inf)
    l1_screen = l1 if screening and gap_ok and p > 0 and np.all(l1 > 0) and not np.any(l2) else None
    colnorm = None
    if l1_screen is not None:
        sq = df.X.multiply(df.X).sum(axis=0) if df.sparse else np.einsum("ij,ij->j", df.X, df.X)
        colnorm = np.sqrt(np.asarray(sq, dtype=np.float64).ravel())
    crit, n_ep, conv = cd_logistic_kernel(
        X, data, ind, ptr, sparse, norms2, df.y, df.sw, w, bool(intercept),
        code, P, float(tol), int(max_iter), int(p0), bool(working_set), int(anderson), l1=l1_screen,
        positive=pos, colnorm=colnorm, active=active, gap_out=gap)
    return CDResult(w, float(crit), "optimality", int(n_ep), _ok(conv, crit, norms2)), float(gap[0]), active


def logistic_certificate(datafit: Logistic, penalty: _pen.Penalty, *, positive: bool = False, intercept: bool = False,
                         coef_init=None, tol: float = 1e-8, max_iter: int = 1000,
                         screening: bool = True) -> tuple[CDResult, float, np.ndarray]:
    r""":func:`solve` on an L1 logistic regression, returning its certificate as well (inspection, tests).

    Parameters
    ----------
    datafit : Logistic
        The (possibly weighted) logistic datafit.
    penalty : Penalty
        ``L1`` (weights, if any, all > 0).
    positive : bool
        Constrain the coefficients to be ``>= 0``.
    intercept : bool
        Fit an unpenalised intercept (last entry of ``coef``).
    coef_init : array of shape (n_features + intercept,), optional
        Warm start.
    tol : float
        Tolerance on the largest fixed-point violation (the stopping rule of :func:`solve`).
    max_iter : int
        Maximal number of outer iterations.
    screening : bool
        Gap-safe screening (:mod:`proxgan.solvers._cd_logistic_screen`).

    Returns
    -------
    result : CDResult
        As :func:`solve`.
    gap : float
        The certified duality gap :math:`P(w) - D(\theta)` at the last check (an upper bound on
        :math:`P(w) - P^\star` for the ``w`` of that check; inf without screening).
    active : ndarray of bool, shape (n_features,)
        False on the coordinates removed by screening (0 at the optimum).
    """
    p = datafit.n_features
    code, P, l1, l2, gap_ok, pos = _l1_params(datafit, Logistic, penalty, positive, "logistic_certificate")
    q = p + int(intercept)
    w = np.zeros(q) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel().copy()
    w[:p] = np.clip(w[:p], P[2], P[3])
    return _logistic_cd(datafit, w, intercept, code, P, l1, l2, gap_ok, pos, tol, max_iter, default_p0(datafit), True,
                        10, screening)


def lasso_certificate(datafit: Quadratic, penalty: _pen.Penalty, *, positive: bool = False, coef_init=None,
                      tol: float = 1e-8, max_iter: int = 1000, screening: bool = True,
                      dual_extrapolation: int = 5) -> tuple[CDResult, np.ndarray, np.ndarray]:
    r""":func:`solve` on a Lasso, returning its certificate as well (for inspection and tests).

    Parameters
    ----------
    datafit : Quadratic
        The (possibly centred and weighted) least-squares datafit.
    penalty : Penalty
        ``L1`` (weights, if any, all > 0).
    positive : bool
        Constrain the coefficients to be ``>= 0``.
    coef_init : array of shape (n_features,), optional
        Warm start.
    tol : float
        Absolute tolerance on the duality gap.
    max_iter : int
        Maximal number of outer iterations.
    screening : bool
        Gap-safe screening.
    dual_extrapolation : int
        Residual differences extrapolated for the dual point (0: none).

    Returns
    -------
    result : CDResult
        As :func:`solve`; ``crit`` is :math:`P(w) - D(u)`.
    dual : ndarray of shape (n_samples,)
        The dual point :math:`u` (residual units, :math:`D(u) = (u^\top y - \tfrac12\lVert u\rVert^2)/n`),
        feasible for every coordinate left active.
    active : ndarray of bool, shape (n_features,)
        False on the coordinates removed by screening (0 at the optimum).
    """
    p = datafit.n_features
    code, P, l1, l2, gap_ok, pos = _l1_params(datafit, Quadratic, penalty, positive, "lasso_certificate")
    w = np.zeros(p) if coef_init is None else np.clip(np.array(coef_init, dtype=np.float64).ravel(), P[2], P[3])
    return _residual_cd(datafit, w, code, P, l1, l2, gap_ok, pos, tol, max_iter, default_p0(datafit), True, 10,
                        screening, dual_extrapolation)


def solve(datafit: Datafit, penalty: _pen.Penalty, *, positive: bool = False, coef_init=None,
          tol: float = 1e-8, max_iter: int = 1000, working_set: bool = True, anderson: int = 10,
          p0: int | None = None, intercept: bool = False, precompute: bool | np.ndarray = False, screening: bool = True,
          dual_extrapolation: int = 5) -> CDResult:
    """Minimise ``datafit + penalty`` by coordinate descent (see the module docstring).

    Parameters
    ----------
    datafit : Quadratic or Logistic
    penalty : Penalty
        A separable penalty with a lowering (see the module docstring).
    positive : bool
        Constrain the coefficients to be ``>= 0``.
    coef_init : array of shape (n_features,), optional
        Warm start.
    tol : float
        Absolute tolerance on the duality gap (quadratic) or optimality violation.
    max_iter : int
        Maximal number of outer iterations. One outer iteration scores every coordinate, checks
        the stopping criterion, then solves the working-set problem (cyclic epochs until its
        largest violation is below 0.3 × the outer one); more outer iterations never give a
        higher objective. ``CDResult.n_iter`` counts them (0 when the start already meets
        ``tol``).
    working_set : bool
        Use working sets (else every epoch sweeps all coordinates).
    anderson : int
        Number of iterates combined by Anderson extrapolation (0 disables it).
    p0 : int, optional
        Smallest working set (default :func:`default_p0`: a tenth of ``p`` for a non-convex penalty
        when ``n >= p``; for least squares with ``p <= 2n`` and a convex penalty a fifth of ``min(n, p)``;
        at least 10, and 10 otherwise).
    intercept : bool
        Logistic only: fit an unpenalised intercept (returned as the last entry of ``coef``).
    precompute : bool or ndarray of shape (n_features, n_features)
        Quadratic, dense, without ``X_offset`` only: work on the Gram matrix :math:`Q = X^\\top X`,
        :math:`O(p)` per coordinate update instead of :math:`O(n)`; worth it for :math:`n > p`
        along a path (:mod:`proxgan.solvers._cd_gram`). ``True``: formed once by the datafit
        (:meth:`~proxgan.datafits.Quadratic.gram`, which keeps it for the next call); an array:
        that matrix, as given (the caller vouches for it).
    screening : bool
        L1 with every weight > 0 (quadratic without ``precompute``, or logistic): gap-safe screening,
        which removes for good the coordinates proved to be 0 at the optimum
        (:mod:`proxgan.solvers._cd_screen`, :mod:`proxgan.solvers._cd_logistic_screen`). Other
        problems ignore it.
    dual_extrapolation : int
        Lasso as for ``screening``: the gap's dual point is the best of the rescaled residual and the
        extrapolation of the residuals of the last ``dual_extrapolation + 1`` epochs (0: the
        residual only). The reported gap is certified either way.

    Returns
    -------
    CDResult
    """
    if isinstance(datafit, GLMDatafit):  # Huber, Poisson, Gamma, smoothed Quantile (intercept: the datafit's)
        if intercept or not isinstance(precompute, bool) or precompute:
            raise ValueError("intercept= and precompute= are for Quadratic/Logistic; a GLM datafit takes intercept=")
        return solve_glm(datafit, penalty, positive=positive, coef_init=coef_init, tol=tol, max_iter=max_iter,
                         working_set=working_set, anderson=anderson, p0=default_p0(datafit) if p0 is None else p0)
    if not isinstance(datafit, (Quadratic, Logistic)):
        raise TypeError(f"datafit must be Quadratic or Logistic, got {type(datafit).__name__}")
    p = datafit.n_features
    X, data, ind, ptr, sparse = _parts(datafit)
    code, P, l1, l2, gap_ok, pos = _params(penalty, p, positive)
    p0 = default_p0(datafit, code) if p0 is None else p0
    lo, hi = P[2], P[3]
    if isinstance(datafit, Quadratic):
        if intercept:
            raise ValueError("intercept=True is for the logistic datafit; centre the data for least squares")
        w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel().copy()
        if w.shape[0] != p:
            raise ValueError(f"coef_init has {w.shape[0]} entries, expected {p}")
        w = np.clip(w, lo, hi)
        user_q = isinstance(precompute, np.ndarray)
        if (user_q or precompute) and not datafit.sparse and not np.any(datafit.mu):
            if user_q:
                if precompute.shape != (p, p):
                    raise ValueError(f"the Gram matrix must have shape ({p}, {p}), got {precompute.shape}")
                Q = np.ascontiguousarray(precompute, dtype=np.float64)
                Xty, yy = datafit.correlation(), float(datafit.y @ datafit.y)
            else:
                Q, Xty, yy = datafit.gram()
            G = Xty - Q @ w
            crit, n_ep, conv = cd_gram_kernel(Q, Xty, yy, float(datafit.n_samples), w, G, code, P, l1, l2, gap_ok,
                                              pos, float(tol), int(max_iter), int(p0), bool(working_set),
                                              int(anderson))
            return CDResult(w, float(crit), "gap" if gap_ok else "optimality", int(n_ep),
                            _ok(conv, crit, np.diag(Q)))
        return _residual_cd(datafit, w, code, P, l1, l2, gap_ok, pos, tol, max_iter, p0, working_set, anderson,
                            screening, dual_extrapolation)[0]
    if isinstance(datafit, Logistic):
        if np.any(datafit.mu):
            raise ValueError("the logistic datafit does not take X_offset; use intercept=True")
        q = p + int(intercept)
        w = np.zeros(q) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel().copy()
        if w.shape[0] != q:
            raise ValueError(f"coef_init has {w.shape[0]} entries, expected {q}")
        w[:p] = np.clip(w[:p], lo, hi)
        return _logistic_cd(datafit, w, intercept, code, P, l1, l2, gap_ok, pos, tol, max_iter, p0, working_set,
                            anderson, screening)[0]
    raise TypeError(f"datafit must be Quadratic or Logistic, got {type(datafit).__name__}")


def solve_multitask(X, Y, l1: float, l2: float, *, coef_init=None, tol: float = 1e-8, max_iter: int = 1000,
                    rel_change: float = 1e-4) -> CDResult:
    r"""Multi-task elastic net by block coordinate descent (:mod:`proxgan.solvers._cd_multitask`):
    :math:`\min_W \frac{1}{2n}\lVert Y - XW\rVert_F^2 + l_1\sum_j\lVert W_j\rVert_2 + \tfrac{l_2}2\lVert W\rVert_F^2`.

    Parameters
    ----------
    X : ndarray of shape (n, p) (dense)
    Y : ndarray of shape (n, T)
    l1, l2 : float
        Penalty weights (>= 0).
    coef_init : ndarray of shape (p, T), optional
    tol : float
        Absolute tolerance on the duality gap.
    max_iter : int
        Maximal number of epochs.
    rel_change : float
        The gap is computed after an epoch whose largest block change is at most this fraction of
        the largest block (and at the last epoch), as in scikit-learn.

    Returns
    -------
    CDResult
        ``coef`` of shape (p, T).
    """
    X = np.asfortranarray(X, dtype=np.float64)
    Y = np.asfortranarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X (n, p) and Y (n, T) must share n, got {X.shape} and {Y.shape}")
    p, T = X.shape[1], Y.shape[1]
    W = np.zeros((p, T)) if coef_init is None else np.array(coef_init, dtype=np.float64).reshape(p, T)
    R = np.asfortranarray(Y - X @ W)
    if l1 < 0 or l2 < 0:
        raise ValueError(f"l1 and l2 must be >= 0, got {l1} and {l2}")
    crit, n_ep, conv = multitask_cd(X, Y, W, R, float(l1), float(l2), float(tol), int(max_iter), float(rel_change))
    return CDResult(W, float(crit), "gap", int(n_ep), bool(conv) and bool(np.isfinite(crit)))
