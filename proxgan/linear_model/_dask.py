r"""Dask input for the linear models: the one place where ``dask.array`` / ``dask.dataframe`` X and y
are checked, reduced chunk by chunk, and routed to the distributed solvers.

Nothing here gathers X: every fit is a few *passes*, each a map over the row chunks (a function of
one chunk returning sums of size p or p × p) followed by a tree reduction
(:meth:`Rows.reduce`). Least squares (Lasso, elastic net, Ridge, paths, CV) needs one pass, for
the :mod:`~proxgan.linear_model._dask_gram` moments; logistic regression one pass per Newton
iteration (:mod:`~proxgan.linear_model._dask_newton`). Whatever scheduler dask uses runs the
passes: a ``dask.distributed`` client when one is active (any cluster), threads otherwise.

Input rules (checked before the first pass, except finiteness, checked by each chunk in the
first pass before any solver runs): X is 2-D, chunked along rows only; y and ``sample_weight``
are 1-D with the same row chunks (NumPy y / weights are cut to X's chunks); dask dataframes are
turned into arrays; unknown chunk sizes (``nan``, from a dataframe) are refused with an error
naming ``compute_chunk_sizes()``, or computed (one extra pass) under
``dask.config.set({"proxgan.compute-chunk-sizes": True})``. dask is imported only when dask input
arrives; without it, such input raises an error naming the ``dask`` extra.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["EXTRA_MESSAGE", "CONFIG_KEY", "is_dask", "require_dask", "refuse_dask", "Rows", "fit_enet", "fit_ridge", "enet_path",
           "fit_cv", "fit_logistic", "fold_of_chunks", "predict", "score", "decision_function", "predict_classes",
           "predict_proba", "accuracy"]

EXTRA_MESSAGE = "dask input needs the optional dependencies of proxgan's dask extra: pip install 'proxgan[dask]'"
CONFIG_KEY = "proxgan.compute-chunk-sizes"


def is_dask(a) -> bool:
    """Whether ``a`` is a dask collection (judged by its type's module: dask itself is not imported)."""
    return (type(a).__module__ or "").split(".")[0] in ("dask", "dask_expr")


def refuse_dask(est, *arrays) -> None:
    """Refuse dask input to an estimator that has no distributed solver yet, before any work.

    Such an estimator would otherwise gather the whole of X into one NumPy array on the
    client (``np.asarray``), the failure dask users must never meet on data that does not fit.

    Parameters
    ----------
    est : estimator
        The estimator being fitted or asked to predict (its class name goes into the message).
    *arrays : array-like or None
        Its inputs (X, y, sample_weight).
    """
    if any(a is not None and is_dask(a) for a in arrays):
        raise TypeError(f"{type(est).__name__} does not take dask input yet (it would gather X on the client); "
                        "the estimators that fit dask arrays without gathering them are Lasso, ElasticNet, Ridge, "
                        "LogisticRegression, LassoCV, ElasticNetCV and lasso_path/enet_path")


def require_dask():
    """``dask.array``, or an ImportError naming the extra to install."""
    try:
        import dask.array as da
    except ImportError as e:
        raise ImportError(EXTRA_MESSAGE) from e
    return da


def _chunks_known(a) -> bool:
    return not any(np.isnan(c) for c in a.chunks[0])


def _as_array(a, name, da):
    if hasattr(a, "to_dask_array"):  # dask DataFrame / Series
        import dask
        a = a.to_dask_array(lengths=True if dask.config.get(CONFIG_KEY, False) else None)
    if not isinstance(a, da.Array):
        raise TypeError(f"{name} must be a dask array or dataframe, got {type(a).__name__}")
    if not _chunks_known(a):
        import dask
        if not dask.config.get(CONFIG_KEY, False):
            raise ValueError(f"{name} has unknown chunk sizes (nan), e.g. from a dask dataframe: call "
                             f"{name}.compute_chunk_sizes() (one pass over the data), or allow proxgan to do it with "
                             f"dask.config.set({{{CONFIG_KEY!r}: True}})")
        a = a.compute_chunk_sizes()
    return a


class Rows:
    """Checked dask X (n × p, row chunks), y and sample weights (n, same chunks; optional).

    Parameters
    ----------
    X : dask array or dataframe of shape (n_samples, n_features)
    y : dask array, dataframe column, NumPy array or None
    sample_weight : dask or NumPy array of shape (n_samples,), or None
    """

    def __init__(self, X, y=None, sample_weight=None) -> None:
        da = require_dask()
        X = _as_array(X, "X", da)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got a dask array of shape {X.shape}")
        if len(X.chunks[1]) != 1:
            raise ValueError(f"X is split along its columns (column chunks {X.chunks[1]}); chunks must hold whole "
                             f"rows: X.rechunk({{1: -1}})")
        if not np.issubdtype(X.dtype, np.number):
            raise ValueError(f"X must hold numbers, got dtype {X.dtype}")
        self.X = X
        self.n, self.p = int(X.shape[0]), int(X.shape[1])
        self.y = None if y is None else self._vector(y, "y", da)
        self.sw = None if sample_weight is None or np.isscalar(sample_weight) else self._vector(
            sample_weight, "sample_weight", da)
        self.starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
        self.passes = 0

    def _vector(self, v, name, da):
        if not is_dask(v):
            v = np.asarray(v)
            if v.ndim != 1 or v.shape[0] != self.n:
                raise ValueError(f"{name} must have shape ({self.n},), got {v.shape}")
            return da.from_array(v, chunks=(self.X.chunks[0],))
        v = _as_array(v, name, da)
        if v.ndim == 2 and v.shape[1] == 1:
            v = v[:, 0]
        if v.ndim != 1:
            raise ValueError(f"{name} must be 1-D for dask input, got shape {v.shape}")
        if v.chunks[0] != self.X.chunks[0]:
            raise ValueError(f"X and {name} must be chunked alike along the rows; X's row chunks are "
                             f"{self.X.chunks[0]}, {name}'s {v.chunks[0]}: {name}.rechunk(X.chunks[0])")
        return v

    def reduce(self, fn, combine, *args, groups=None):
        """One pass: ``fn(X_chunk, y_chunk, w_chunk, first_row, *args)`` on every row chunk, results
        merged by ``combine`` in a binary tree (per group of chunks when ``groups`` lists a group
        index per chunk: a list of results, one per group)."""
        import dask
        from dask import delayed
        xs = self.X.to_delayed().ravel()
        ys = self.y.to_delayed().ravel() if self.y is not None else [None] * len(xs)
        ss = self.sw.to_delayed().ravel() if self.sw is not None else [None] * len(xs)
        args = [delayed(a) if isinstance(a, np.ndarray) else a for a in args]
        parts = [delayed(fn, pure=True)(x, y, s, int(r0), *args) for x, y, s, r0 in zip(xs, ys, ss, self.starts)]
        groups = np.zeros(len(parts), dtype=int) if groups is None else np.asarray(groups)
        trees = [_tree([parts[i] for i in np.flatnonzero(groups == g)], combine) for g in range(groups.max() + 1)]
        out = dask.compute(*trees)
        self.passes += 1
        return out[0] if len(out) == 1 else list(out)

    def moments(self, centre: bool, groups=None):
        """:class:`~proxgan.linear_model._dask_gram.Moments` of all rows (or one per group): one pass."""
        from proxgan.linear_model._dask_gram import chunk_moments, merge_moments
        out = self.reduce(chunk_moments, merge_moments, bool(centre), groups=groups)
        counted = out.n if groups is None else sum(m.n for m in out)
        if counted != self.n:
            raise RuntimeError(f"a pass counted {counted} rows of {self.n}: a chunk was lost")
        return out


def _tree(parts, combine):
    from dask import delayed
    if not parts:
        raise ValueError("a group of chunks is empty")
    while len(parts) > 1:
        parts = [delayed(combine, pure=True)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


def _check_cd(solver, device):
    if solver not in ("auto", "cd") or str(device) != "cpu":
        raise ValueError(f"dask input is solved by coordinate descent on the Gram matrix (CPU): use solver='auto' or "
                         f"'cd' and device='cpu', got solver={solver!r}, device={device!r}")


def _solve_gram(m, alpha, l1_ratio, *, tol, max_iter, positive, coef_init=None):
    """Gram CD on the moments ``m``: ``(SolverResult, intercept)``."""
    from proxgan.linear_model._base import warn_not_converged
    from proxgan.linear_model._dask_gram import GramQuadratic
    from proxgan.linear_model._quadratic import enet_penalty, fit_quadratic
    df = GramQuadratic.from_moments(m)
    tol_abs = tol * df.gram()[2] / m.n
    res = fit_quadratic(df, enet_penalty(float(alpha), float(l1_ratio)), solver="cd", device="cpu", tol=tol_abs,
                        max_iter=max_iter, positive=positive, coef_init=coef_init, precompute=True)
    if not res.converged:
        warn_not_converged(res.crit, tol_abs)
    return res, float(m.ybar - m.mu @ res.coef)


def _rows_1d(X, y, sample_weight):
    rows = Rows(X, y, sample_weight)
    if rows.y is None:
        raise ValueError("y is required")
    return rows


def fit_enet(est, X, y, sample_weight=None):
    """:meth:`ElasticNet.fit` / :meth:`Lasso.fit` on dask input: one pass, then Gram CD."""
    from proxgan.linear_model._coordinate_descent import ALPHA0_ADVICE
    _check_cd(est.solver, est.device)
    if float(est.alpha) == 0:
        warnings.warn(ALPHA0_ADVICE, UserWarning, stacklevel=3)
    rows = _rows_1d(X, y, sample_weight)
    m = rows.moments(est.fit_intercept)
    w0 = None
    if est.warm_start and getattr(est, "coef_", None) is not None and np.size(est.coef_) == rows.p:
        w0 = np.ravel(est.coef_)
    res, b = _solve_gram(m, est.alpha, est._l1_ratio(), tol=est.tol, max_iter=1000 if est.max_iter is None else
                         est.max_iter, positive=bool(est.positive), coef_init=w0)
    est.n_features_in_ = rows.p
    est.coef_ = res.coef.astype(rows.X.dtype if rows.X.dtype in (np.float32, np.float64) else np.float64)
    est.intercept_ = np.float64(b) if est.fit_intercept else 0.0
    est.dual_gap_, est.n_iter_, est.n_passes_ = res.crit, res.n_iter, rows.passes
    return est


def fit_ridge(est, X, y, sample_weight=None):
    """:meth:`Ridge.fit` on dask input: one pass, then a Cholesky solve of the p × p system."""
    import scipy.linalg as sla
    if est.positive:
        raise ValueError("positive=True is not available for dask input to Ridge")
    rows = _rows_1d(X, y, sample_weight)
    alpha = np.asarray(est.alpha, dtype=np.float64).ravel()
    if alpha.size != 1 or not np.isfinite(alpha[0]) or alpha[0] < 0:
        raise ValueError(f"alpha must be one finite number >= 0 for dask input (1-D y), got {est.alpha!r}")
    m = rows.moments(est.fit_intercept)
    A = m.C + alpha[0] * np.eye(rows.p)
    try:
        coef = sla.cho_solve(sla.cho_factor(A), m.c)
    except np.linalg.LinAlgError:
        coef = np.linalg.lstsq(A, m.c, rcond=None)[0]
    est.n_features_in_ = rows.p
    est.coef_ = coef.astype(rows.X.dtype)
    est.intercept_ = float(m.ybar - m.mu @ coef) if est.fit_intercept else 0.0
    est.solver_, est.n_iter_, est.n_passes_ = "cholesky", None, rows.passes
    return est


def enet_path(X, y, *, l1_ratio, eps, n_alphas, alphas, coef_init, return_n_iter, positive, tol, max_iter,
              solver, device):
    """:func:`~proxgan.linear_model.enet_path` on dask input: one pass for the Gram matrix, then the path."""
    from proxgan.linear_model._base import warn_not_converged
    from proxgan.linear_model._dask_gram import GramQuadratic
    from proxgan.linear_model._path import _grid
    from proxgan.linear_model._quadratic import enet_penalty, fit_quadratic
    _check_cd(solver, device)
    rows = _rows_1d(X, y, None)
    m = rows.moments(centre=False)
    df = GramQuadratic.from_moments(m)
    grid = _grid(df, alphas, n_alphas, l1_ratio, eps, positive)
    tol_abs = tol * df.gram()[2] / m.n
    coefs = np.empty((rows.p, len(grid)), dtype=rows.X.dtype)
    gaps, n_iters = np.empty(len(grid)), []
    w = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).ravel()
    for i, a in enumerate(grid):
        res = fit_quadratic(df, enet_penalty(float(a), l1_ratio), solver="cd", device="cpu", tol=tol_abs,
                            max_iter=max_iter, positive=positive, coef_init=w, precompute=True)
        if not res.converged:
            warn_not_converged(res.crit, tol_abs)
        w = res.coef
        coefs[:, i], gaps[i] = w, res.crit
        n_iters.append(res.n_iter)
    return (grid, coefs, gaps, n_iters) if return_n_iter else (grid, coefs, gaps)


def fold_of_chunks(chunks, n_folds: int) -> np.ndarray:
    """Fold index of every row chunk: a chunk goes to the fold of scikit-learn's ``KFold(n_folds)`` that
    holds its first row (folds of contiguous rows; exactly KFold when chunk edges meet fold edges)."""
    n = int(np.sum(chunks))
    sizes = np.full(n_folds, n // n_folds)
    sizes[: n % n_folds] += 1
    edges = np.cumsum(sizes)[:-1]
    starts = np.concatenate([[0], np.cumsum(chunks)[:-1]])
    folds = np.searchsorted(edges, starts, side="right")
    missing = sorted(set(range(n_folds)) - set(folds.tolist()))
    if missing:
        raise ValueError(f"cross-validation on dask input assigns whole row chunks to folds, and folds {missing} got "
                         f"none: use at least as many row chunks ({len(chunks)}) as folds ({n_folds})")
    return folds


def fit_cv(est, X, y, sample_weight=None):
    """:meth:`ElasticNetCV.fit` / :meth:`LassoCV.fit` on dask input: one pass gives the moments of every
    fold (chunks assigned to folds by :func:`fold_of_chunks`); training moments are merges of the other
    folds, held-out errors follow from the fold's own moments (:func:`~proxgan.linear_model._dask_gram.heldout_sse`),
    and the refit on all rows uses their merge: no further pass."""
    import numbers
    from functools import reduce
    from proxgan.linear_model._dask_gram import GramQuadratic, heldout_sse, merge_moments
    from proxgan.linear_model._quadratic import alpha_grid
    _check_cd(est.solver, est.device)
    cv = 5 if est.cv is None else est.cv
    if isinstance(cv, bool) or not isinstance(cv, numbers.Integral) or cv < 2:
        raise ValueError(f"cv must be None or an integer >= 2 for dask input (whole row chunks form the folds), "
                         f"got {est.cv!r}")
    ratios, single = est._l1_ratios()
    rows = _rows_1d(X, y, sample_weight)
    folds = rows.moments(est.fit_intercept, groups=fold_of_chunks(rows.X.chunks[0], int(cv)))
    total = reduce(merge_moments, folds)
    if isinstance(est.alphas, numbers.Integral):
        df = GramQuadratic.from_moments(total)
        grids = [alpha_grid(df, r, est.eps, int(est.alphas), bool(est.positive)) for r in ratios]
    else:
        grids = est._grids(None, None, None, ratios)
    mse = np.empty((len(ratios), len(grids[0]), len(folds)))
    for k, test in enumerate(folds):
        train = reduce(merge_moments, [f for i, f in enumerate(folds) if i != k])
        for r_i, r in enumerate(ratios):
            w = None
            for a_i, a in enumerate(grids[r_i]):
                res, b = _solve_gram(train, a, r, tol=est.tol, max_iter=est.max_iter, positive=bool(est.positive),
                                     coef_init=w)
                w = res.coef
                mse[r_i, a_i, k] = heldout_sse(test, w, b if est.fit_intercept else 0.0) / test.W
    r_i, a_i = np.unravel_index(np.argmin(mse.mean(axis=2)), mse.shape[:2])
    est.l1_ratio_, est.alpha_ = ratios[r_i], float(grids[r_i][a_i])
    est.alphas_ = grids[0] if single or not isinstance(est.alphas, numbers.Integral) else np.array(grids)
    est.mse_path_ = mse[0] if single else mse
    res, b = _solve_gram(total, est.alpha_, est.l1_ratio_, tol=est.tol, max_iter=est.max_iter,
                         positive=bool(est.positive))
    est.n_features_in_ = rows.p
    est.coef_ = res.coef.astype(rows.X.dtype)
    est.intercept_ = np.float64(b) if est.fit_intercept else 0.0
    est.dual_gap_, est.n_iter_, est.n_passes_ = res.crit, res.n_iter, rows.passes
    return est


def fit_logistic(est, X, y, sample_weight=None):
    """:meth:`LogisticRegression.fit` on dask input (binary or multinomial): distributed proximal Newton,
    one pass per iteration (``n_passes_`` counts them, plus one pass over y for the classes)."""
    import dask
    from proxgan.linear_model._base import warn_not_converged
    from proxgan.linear_model._dask_newton import add_sums, chunk_newton, prox_newton
    from proxgan.linear_model._logistic import _check_solver, _resolve_penalty
    penalty, rho = _resolve_penalty(est)
    _check_solver(est.solver, penalty, est.dual)
    if est.class_weight is not None:
        raise ValueError("class_weight is not available for dask input; pass the weights as sample_weight")
    if est.solver == "liblinear" and est.fit_intercept:
        raise ValueError("solver='liblinear' penalises the intercept, which the dask solver does not: use another "
                         "solver name (all run proximal Newton on dask input)")
    if str(est.device) != "cpu":
        raise ValueError(f"dask input runs on the CPU of the dask workers, got device={est.device!r}")
    rows = _rows_1d(X, y, sample_weight)
    classes = np.asarray(dask.compute(require_dask().unique(rows.y))[0])
    if classes.size < 2:
        raise ValueError(f"This solver needs samples of at least 2 classes in the data, but the data contains only "
                         f"one class: {classes[0]!r}")
    K = 1 if classes.size == 2 else classes.size
    lam = (lambda S: 0.0) if (penalty is None or est.C == np.inf) else (lambda S: 1.0 / (est.C * S))

    def run_pass(W, b, dW, db, ws, first):
        return rows.reduce(chunk_newton, add_sums, classes, W, b, dW, db, np.asarray(ws, dtype=np.int64), first)

    W0 = b0 = None
    if est.warm_start and getattr(est, "coef_", None) is not None and est.coef_.shape == (K, rows.p):
        W0, b0 = est.coef_, (np.ravel(est.intercept_) if est.fit_intercept else None)
    res = prox_newton(run_pass, (K, rows.p), lambda S: (lam(S) * rho, lam(S) * (1.0 - rho)),
                      intercept=est.fit_intercept, tol=est.tol, max_iter=est.max_iter, W0=W0, b0=b0)
    if not res.converged:
        warn_not_converged(res.crit, est.tol, "optimality violation")
    est.classes_, est.n_features_in_ = classes, rows.p
    est.coef_ = res.W.astype(rows.X.dtype)
    est.intercept_ = (res.b if est.fit_intercept else np.zeros(K)).astype(rows.X.dtype)
    est.n_iter_, est.optimality_ = np.array([res.n_iter], dtype=np.int32), np.array([res.crit])
    est.n_passes_ = res.n_passes
    return est


def _scores_block(block, coef, intercept):
    out = np.asarray(block @ coef.T) + intercept
    return out.ravel() if coef.ndim == 1 or coef.shape[0] == 1 else out


def decision_function(est, X):
    """Lazy :math:`Xw + b` (a dask array with X's row chunks; 2-D for several targets / classes)."""
    from sklearn.utils.validation import check_is_fitted
    check_is_fitted(est)
    da = require_dask()
    X = _as_array(X, "X", da) if hasattr(X, "to_dask_array") else X
    if X.ndim != 2 or X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has shape {X.shape}, but this model is fitted on {est.n_features_in_} features")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    coef = np.asarray(est.coef_, dtype=np.float64)
    b = np.asarray(est.intercept_, dtype=np.float64)
    if coef.ndim == 1 or coef.shape[0] == 1:
        return X.map_blocks(_scores_block, coef, b, drop_axis=1, dtype=np.float64)
    return X.map_blocks(_scores_block, coef, b, chunks=(X.chunks[0], (coef.shape[0],)), dtype=np.float64)


predict = decision_function


def _weighted_mean(v, sample_weight):
    return v.mean() if sample_weight is None else (v * sample_weight).sum() / sample_weight.sum()


def score(est, X, y, sample_weight=None):
    """Lazy R² of :meth:`predict` (a 0-d dask array; ``.compute()`` gives the number)."""
    yp = predict(est, X)
    rows_y = Rows(X, y, sample_weight)
    u = _weighted_mean((rows_y.y - yp) ** 2, rows_y.sw)
    v = _weighted_mean((rows_y.y - _weighted_mean(rows_y.y, rows_y.sw)) ** 2, rows_y.sw)
    return 1.0 - u / v


def _classes_block(d, classes):
    return classes[(d > 0).astype(int)] if d.ndim == 1 else classes[np.argmax(d, axis=1)]


def predict_classes(est, X):
    """Lazy class labels (``classes_`` of the largest score)."""
    d = decision_function(est, X)
    return d.map_blocks(_classes_block, est.classes_, drop_axis=list(range(1, d.ndim)), dtype=est.classes_.dtype)


def _proba_block(d):
    from scipy.special import expit, softmax
    if d.ndim == 1:
        p1 = expit(d)
        return np.column_stack([1 - p1, p1])
    return softmax(d, axis=1)


def predict_proba(est, X):
    """Lazy class probabilities, shape (n, n_classes)."""
    d = decision_function(est, X)
    return d.map_blocks(_proba_block, chunks=(d.chunks[0], (len(est.classes_),)), new_axis=1 if d.ndim == 1 else None,
                        dtype=np.float64)


def accuracy(est, X, y, sample_weight=None):
    """Lazy (weighted) accuracy of :func:`predict_classes`."""
    rows_y = Rows(X, y, sample_weight)
    return _weighted_mean((predict_classes(est, X) == rows_y.y).astype(np.float64), rows_y.sw)
