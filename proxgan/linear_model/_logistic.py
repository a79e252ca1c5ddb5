r"""Logistic regression (scikit-learn's ``LogisticRegression``): binary, or multinomial (softmax)
for more than two classes, with an L2, L1 or elastic-net penalty.

scikit-learn's objective :math:`C\sum_i s_i\,\ell_i + r(W)`, with
:math:`r = \rho\lVert W\rVert_1 + \tfrac{1-\rho}{2}\lVert W\rVert_F^2` (:math:`\rho` = ``l1_ratio``;
``C=np.inf``: no penalty), divided by :math:`C\sum_i s_i`, is the weighted mean loss plus the
penalty with strength :math:`\lambda = 1/(C\sum_i s_i)`. Class weights multiply the sample
weights. The intercept is not penalised, except with ``solver="liblinear"``, which (like
LIBLINEAR) appends a constant column ``intercept_scaling`` whose coefficient is penalised.

Algorithms, per ``solver`` name (:mod:`proxgan.linear_model._logistic_newton`,
:mod:`proxgan.linear_model._logistic_fit`, :mod:`proxgan.solvers`). Smooth problems (L2 or no
penalty) stop when the largest gradient entry is ``<= tol``, the others when the largest
optimality violation is:

* ``"lbfgs"``: L-BFGS (SciPy), binary or multinomial, L2 or none;
* ``"newton-cholesky"``: Newton's method with a Cholesky-factorised Hessian, binary or multinomial;
* ``"newton-cg"``: Newton's method with the Newton system solved by conjugate gradients on
  Hessian-vector products (truncated Newton), binary or multinomial;
* ``"sag"``, ``"saga"``, ``"liblinear"`` (stochastic or dual methods, not implemented: their
  problem is solved to the same ``tol`` by a deterministic method instead): with L2 or no penalty,
  the ``"auto"`` choice below; with L1 / elastic net, proximal Newton with working sets
  (:mod:`proxgan.solvers.prox_newton`) for two classes and FISTA on the softmax loss for more;
* ``"auto"``: L2 or none, Newton-Cholesky when the Hessian is cheap
  (:math:`n\,(K(p+1))^2 \le` ``NEWTON_MAX_WORK``), else L-BFGS; L1 / elastic net as ``"saga"``
  on the CPU, as ``"fista"`` on CUDA;
* ``"cd"``: working-set coordinate descent (:mod:`proxgan.solvers.cd`), two classes only;
* ``"fista"`` / ``"ista"``: (accelerated) proximal gradient, any penalty; two classes through
  :mod:`proxgan.solvers.fista` / :mod:`proxgan.solvers.ista` (also on CUDA), more classes on the
  softmax loss (CPU).

``max_iter=0`` returns the starting point. Any other name is refused by parameter validation.
"""
from __future__ import annotations

import importlib
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, _fit_context
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import compute_class_weight
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from proxgan import penalties as _pen
from proxgan.datafits import Logistic
from proxgan.linear_model import _dask
from proxgan.linear_model._base import check_device, check_solver, to_numpy, warn_not_converged
from proxgan.linear_model._logistic_fit import fit_prox, fit_smooth
from proxgan.linear_model._logistic_newton import fit_newton
from proxgan.solvers import Composite
from proxgan.solvers import cd as _cd
from proxgan.solvers import prox_newton as _pn

__all__ = ["LogisticRegression"]

# scikit-learn's own first sentence of the ConvergenceWarning, per solver name (code that filters
# warnings by message keeps working)
_NOT_CONVERGED = {
    "lbfgs": "lbfgs failed to converge after {n_iter} iteration(s). ",
    "newton-cg": "newton-cg failed to converge. Increase the number of iterations. ",
    "newton-cholesky": "Newton solver did not converge after {n_iter} iterations. ",
    "sag": "The max_iter was reached which means the coef_ did not converge. ",
    "saga": "The max_iter was reached which means the coef_ did not converge. ",
    "liblinear": "Liblinear failed to converge, increase the number of iterations. ",
}
#: ``solver="auto"`` (and the substitutes for sag / saga / liblinear) on smooth problems runs Newton-Cholesky
#: when n·(K(p+1))² is at most this (the Hessian is cheap), else L-BFGS.
NEWTON_MAX_WORK = 5e7
SKLEARN_SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga")
PROXGAN_SOLVERS = ("auto", "cd", "fista", "ista")


def _resolve_penalty(est):
    """scikit-learn 1.9's rules: ``penalty`` is deprecated in favour of ``l1_ratio`` and ``C``."""
    if est.penalty == "deprecated":
        if est.l1_ratio is None:
            warnings.warn("'l1_ratio=None' was deprecated in version 1.8 and will trigger an error in 1.10. Use "
                          "0<=l1_ratio<=1 instead.", FutureWarning, stacklevel=3)
        r = 0.0 if est.l1_ratio is None else est.l1_ratio
        penalty = "l2" if r == 0 else "l1" if r == 1 else "elasticnet"
        return (None if est.C == np.inf else penalty), float(r)
    warnings.warn("'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid this warning, "
                  "leave 'penalty' set to its default value and use 'l1_ratio' or 'C' instead. Use l1_ratio=0 "
                  "instead of penalty='l2', l1_ratio=1 instead of penalty='l1', l1_ratio set to a float between 0 "
                  "and 1 instead of penalty='elasticnet', and C=np.inf instead of penalty=None.",
                  FutureWarning, stacklevel=3)
    penalty = est.penalty
    if penalty is None and est.C != 1.0:
        warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters", stacklevel=3)
    if penalty != "elasticnet" and est.l1_ratio is not None and 0 < est.l1_ratio < 1:
        warnings.warn(f"l1_ratio parameter is only used when penalty is 'elasticnet'. Got (penalty={penalty})",
                      stacklevel=3)
    if (penalty == "l2" and est.l1_ratio != 0) or (penalty == "l1" and est.l1_ratio != 1):
        warnings.warn(f"Inconsistent values: penalty={penalty} with l1_ratio={est.l1_ratio}. penalty is "
                      f"deprecated. Please use l1_ratio only.", stacklevel=3)
    if penalty == "elasticnet" and est.l1_ratio is None:
        raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
    r = {"l1": 1.0, "l2": 0.0, None: 0.0}.get(penalty, est.l1_ratio)
    return penalty, float(r)


def _check_solver(solver, penalty, dual):
    """scikit-learn's combinations (same errors); proxgan's own solvers take every penalty."""
    if solver in PROXGAN_SOLVERS:
        return
    if solver not in ("liblinear", "saga") and penalty not in ("l2", None):
        raise ValueError(f"Solver {solver} supports only 'l2' or None penalties, got {penalty} penalty.")
    if solver != "liblinear" and dual:
        raise ValueError(f"Solver {solver} supports only dual=False, got dual={dual}")
    if penalty == "elasticnet" and solver != "saga":
        raise ValueError(f"Only 'saga' solver supports elasticnet penalty, got solver={solver}.")
    if solver == "liblinear" and penalty is None:
        raise ValueError("C=np.inf as well as penalty=None is not supported for the liblinear solver")


def _smooth_method(solver: str, shape: tuple[int, int], K: int) -> str | None:
    """The method for an L2 / unpenalised problem: ``"lbfgs"``, ``"cholesky"`` or ``"cg"`` (Newton's
    method, :func:`fit_newton`'s ``inner``), or None (proxgan's cd / fista / ista on two classes)."""
    if solver == "lbfgs":
        return "lbfgs"
    if solver.startswith("newton-"):
        return solver[len("newton-"):]
    if solver in ("auto", "sag", "saga", "liblinear"):
        n, q = shape
        return "cholesky" if n * (K * (q + 1)) ** 2 <= NEWTON_MAX_WORK else "lbfgs"
    return None  # cd / fista / ista: proxgan's penalised solvers


class LogisticRegression(SparseCoefMixin, LinearClassifierMixin, BaseEstimator):
    """Regularised logistic regression (scikit-learn's ``LogisticRegression``).

    Binary for two classes (``coef_`` of shape (1, p)); multinomial (softmax, ``coef_`` of shape
    (n_classes, p)) for more. See the module docstring for the objective and the algorithms.

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet", None}, deprecated
        As in scikit-learn 1.9: use ``l1_ratio`` (0: L2, 1: L1) and ``C=np.inf`` (no penalty).
    C : float, default=1.0
        Inverse regularisation strength (> 0; ``np.inf``: no penalty).
    l1_ratio : float, default=0.0
        Elastic-net mixing :math:`\\rho` in [0, 1].
    dual : bool, default=False
        Accepted with ``solver="liblinear"`` (the primal is solved; the solution is the same).
    tol : float, default=1e-4
        Stop when the largest gradient entry (smooth problems) or optimality violation is <= tol.
    fit_intercept : bool, default=True
    intercept_scaling : float, default=1
        ``solver="liblinear"`` only: value of the penalised constant column.
    class_weight : dict, "balanced" or None, default=None
    random_state : int, RandomState instance or None, default=None
        Accepted for compatibility; every solver here is deterministic.
    solver : str, default="lbfgs"
        scikit-learn's names (mapped as in the module docstring) or proxgan's ``"auto"``, ``"cd"``,
        ``"fista"``, ``"ista"``.
    max_iter : int, default=100
        0 returns the initial point (zeros, or the previous fit with ``warm_start``).
    verbose : int, default=0
        Accepted for compatibility.
    warm_start : bool, default=False
    n_jobs : None
        Has no effect (deprecated in scikit-learn 1.8; warns when set).
    device : {"cpu", "cuda"}, default="cpu"
        ``"cuda"`` needs ``solver="fista"`` or ``"ista"`` (two classes).

    Attributes
    ----------
    classes_, coef_, intercept_, n_iter_ (shape (1,)), n_features_in_
    optimality_ : ndarray of shape (1,)
        Criterion reached: largest gradient entry (L-BFGS) or optimality violation.

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import LogisticRegression
    >>> X = np.random.default_rng(0).standard_normal((60, 3)); y = (X[:, 0] > 0).astype(int)
    >>> LogisticRegression(l1_ratio=1.0, solver="saga").fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l1", "l2", "elasticnet"}), None, Hidden(StrOptions({"deprecated"}))],
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [StrOptions(set(SKLEARN_SOLVERS + PROXGAN_SOLVERS))],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [None, Integral],
        "device": [str],
    }

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=1e-4, fit_intercept=True,
                 intercept_scaling=1, class_weight=None, random_state=None, solver="lbfgs", max_iter=100,
                 verbose=0, warm_start=False, n_jobs=None, device="cpu"):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.device = device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``X``: array, sparse matrix or tensor; ``y``: class labels."""
        if _dask.is_dask(X) or _dask.is_dask(y):
            return _dask.fit_logistic(self, X, y, sample_weight)
        penalty, rho = _resolve_penalty(self)
        _check_solver(self.solver, penalty, self.dual)
        device = check_device(self.device)
        if self.n_jobs is not None:
            warnings.warn(f"'n_jobs' has no effect since 1.8 and will be removed in 1.10. You provided "
                          f"'n_jobs={self.n_jobs}', please leave it unspecified.", FutureWarning, stacklevel=2)
        X, y = validate_data(self, to_numpy(X), to_numpy(y), accept_sparse=["csr", "csc"],
                             dtype=[np.float64, np.float32], accept_large_sparse=self.solver not in (
                                 "liblinear", "sag", "saga"))
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        K = self.classes_.size
        if K < 2:
            raise ValueError(f"This solver needs samples of at least 2 classes in the data, but the data contains "
                             f"only one class: {self.classes_[0]!r}")
        if self.solver == "liblinear" and K > 2:
            raise ValueError("The 'liblinear' solver does not support multiclass classification (n_classes >= 3). "
                             "Either use another solver or wrap the estimator in a OneVsRestClassifier to keep "
                             "applying a one-versus-rest scheme.")
        if self.solver == "cd" and K > 2:
            raise ValueError("solver='cd' handles two classes only; for more classes use solver='newton-cholesky', "
                             "'lbfgs' (L2 or no penalty) or 'fista' (any penalty).")
        n, p = X.shape
        sw = _check_sample_weight(to_numpy(sample_weight), X, dtype=np.float64, ensure_non_negative=True)
        if self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
            sw = sw * cw[LabelEncoder().fit(self.classes_).transform(y)]
        S = float(sw.sum())
        if S <= 0:
            raise ValueError("sample_weight must have a positive sum")
        lam = 0.0 if (penalty is None or self.C == np.inf) else 1.0 / (self.C * S)
        l1, l2 = lam * rho, lam * (1.0 - rho)
        liblinear = self.solver == "liblinear"
        fit_b = self.fit_intercept and not liblinear
        Xf = sp.csr_matrix(X, dtype=np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        if liblinear and self.fit_intercept:  # LIBLINEAR's penalised intercept: a constant column
            col = np.full((n, 1), float(self.intercept_scaling))
            Xf = sp.hstack([Xf, col], format="csr") if sp.issparse(Xf) else np.hstack([Xf, col])
        q = Xf.shape[1]
        rows = 1 if K == 2 else K
        W0, b0 = np.zeros((rows, q)), np.zeros(rows)
        if self.warm_start and getattr(self, "coef_", None) is not None and self.coef_.shape == (rows, p):
            W0[:, :p] = self.coef_
            if fit_b:
                b0 = np.array(self.intercept_, dtype=np.float64).reshape(rows)
            elif liblinear and self.fit_intercept:
                W0[:, p] = np.ravel(self.intercept_) / self.intercept_scaling
        s = sw / S
        if K == 2:
            Y = np.where(y == self.classes_[1], 1.0, -1.0)[:, None]
        else:
            Y = (y[:, None] == self.classes_[None, :]).astype(np.float64)
        W, b, n_iter, ok, crit = self._solve(Xf, Y, s, l1, l2, W0, b0, fit_b, K > 2, device)
        self.optimality_ = np.array([crit])
        if not ok:
            warn_not_converged(crit, self.tol, "optimality violation", prefix=_NOT_CONVERGED.get(self.solver, "")
                               .format(n_iter=n_iter))
        if liblinear and self.fit_intercept:
            b = W[:, p] * self.intercept_scaling
            W = W[:, :p]
        dtype = X.dtype
        self.coef_ = W.astype(dtype)
        self.intercept_ = (b if self.fit_intercept else np.zeros(rows)).astype(dtype)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        return self

    def _solve(self, X, Y, s, l1, l2, W0, b0, fit_b, multinomial, device):
        """``(W, b, n_iter, converged, criterion)`` of the scaled problem (module docstring)."""
        tol, max_iter = self.tol, self.max_iter
        solver = self.solver
        if max_iter == 0:
            return fit_smooth(X, Y, s, l2, W0, b0, fit_intercept=fit_b, multinomial=multinomial, tol=tol,
                              max_iter=0)
        method = _smooth_method(solver, X.shape, W0.shape[0]) if l1 == 0 else None
        if method == "lbfgs":
            return fit_smooth(X, Y, s, l2, W0, b0, fit_intercept=fit_b, multinomial=multinomial, tol=tol,
                              max_iter=max_iter)
        if method is not None:
            return fit_newton(X, Y, s, l2, W0, b0, fit_intercept=fit_b, tol=tol, max_iter=max_iter,
                              multinomial=multinomial, inner=method)
        if multinomial:
            return fit_prox(X, Y, s, l1, l2, W0, b0, fit_intercept=fit_b, tol=tol, max_iter=max_iter,
                            accelerated=solver != "ista")
        # binary L1 / elastic net: the Logistic datafit (weights with mean 1) and proxgan's solvers
        n = X.shape[0]
        pen = _pen.L1(l1) if l2 == 0 else _pen.ElasticNet(l1 + l2, l1 / (l1 + l2))
        Xc = sp.csc_matrix(X) if sp.issparse(X) else X
        w0 = np.concatenate([W0[0], b0]) if fit_b else W0[0]
        if solver in SKLEARN_SOLVERS or (solver == "auto" and device == "cpu"):
            res = _pn.solve(Logistic(Xc, Y[:, 0], sample_weight=s * n), pen, coef_init=w0, tol=tol,
                            max_iter=max_iter, intercept=fit_b)
        elif check_solver(solver, device) == "cd":
            res = _cd.solve(Logistic(Xc, Y[:, 0], sample_weight=s * n), pen, coef_init=w0, tol=tol,
                            max_iter=max_iter, intercept=fit_b)
        else:
            if fit_b:
                Xc = sp.hstack([Xc, np.ones((n, 1))], format="csc") if sp.issparse(Xc) else np.hstack(
                    [Xc, np.ones((n, 1))])
            df = Logistic(Xc, Y[:, 0], sample_weight=s * n).to(device)
            mod = importlib.import_module(f"proxgan.solvers.{solver}")  # fista / ista: torch, imported when used
            res = mod.solve(df, Composite(pen, n_free=int(fit_b)), coef_init=w0, tol=tol, max_iter=max_iter)
        q = X.shape[1]
        return res.coef[None, :q], res.coef[q:] if fit_b else np.zeros(1), res.n_iter, res.converged, res.crit

    def decision_function(self, X):
        """:math:`XW^\\top + b` (one column for two classes)."""
        if _dask.is_dask(X):
            return _dask.decision_function(self, X)
        return super().decision_function(to_numpy(X))

    def predict(self, X):
        """Class labels (of the largest score).

        Parameters
        ----------
        X : array-like, sparse matrix, tensor or dask array of shape (n_samples, n_features)
            Samples; a dask array gives a lazy dask array of labels.

        Returns
        -------
        ndarray or dask array of shape (n_samples,)
        """
        if _dask.is_dask(X):
            return _dask.predict_classes(self, X)
        return super().predict(X)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict`.

        Parameters
        ----------
        X : array-like, sparse matrix, tensor or dask array of shape (n_samples, n_features)
            Samples; a dask array gives a lazy 0-d dask array (``.compute()`` for the number).
        y : array-like or dask array of shape (n_samples,)
            True labels.
        sample_weight : array-like or dask array of shape (n_samples,), optional
            Weights of the samples.

        Returns
        -------
        float or 0-d dask array
        """
        if _dask.is_dask(X):
            return _dask.accuracy(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Class probabilities: :math:`\\sigma(Xw + b)` (two classes) or the softmax of the scores."""
        if _dask.is_dask(X):
            return _dask.predict_proba(self, X)
        d = self.decision_function(X)
        if d.ndim == 1:
            p1 = expit(d)
            return np.column_stack([1 - p1, p1])
        return softmax(d, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
