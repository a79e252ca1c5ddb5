"""Input handling shared by the estimators: conversion, checks, centring, solver choice."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from proxgan._torch import is_tensor, torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight, assert_all_finite, check_is_fitted, validate_data

from proxgan.datafits import Quadratic
from proxgan.linear_model import _dask

__all__ = ["to_numpy", "check_device", "check_solver", "check_alpha", "check_l1_ratio", "center_scale", "preprocess",
           "LinearRegressorBase", "warn_not_converged", "check_finite_design"]

SOLVERS = ("auto", "cd", "fista", "ista")


def to_numpy(a):
    """torch tensors (dense or sparse) → NumPy / SciPy; everything else unchanged."""
    if is_tensor(a):
        if a.layout == torch.sparse_csr:
            a = a.detach().cpu()
            return sp.csr_matrix((a.values().numpy(), a.col_indices().numpy(), a.crow_indices().numpy()),
                                 shape=tuple(a.shape))
        if a.layout != torch.strided:
            a = a.to_dense()
        return a.detach().cpu().numpy()
    return a


def check_device(device) -> str:
    """'cpu' or 'cuda' (a GPU must then be visible to torch)."""
    dev = str(device)
    if dev not in ("cpu", "cuda") and not dev.startswith("cuda:"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but no CUDA GPU is available to torch; use device='cpu'")
    return dev


def check_solver(solver, device) -> str:
    """Resolve solver='auto' ('cd' on CPU, 'fista' on CUDA) and check the combination."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if solver == "auto":
        return "cd" if device == "cpu" else "fista"
    if solver == "cd" and device != "cpu":
        raise ValueError("solver='cd' runs on the CPU (numba); use solver='fista' or 'ista' with device='cuda'")
    return solver


def check_alpha(alpha, name="alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{name} must be a finite number >= 0, got {alpha!r}")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {alpha!r}")
    return float(alpha)


def check_l1_ratio(l1_ratio) -> float:
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real):
        raise TypeError(f"l1_ratio must be a number in [0, 1], got {l1_ratio!r}")
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be a number in [0, 1], got {l1_ratio!r}")
    return float(l1_ratio)


def check_positive_int(v, name) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    return int(v)


def check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    return float(tol)


def center_scale(X, y, fit_intercept: bool, sample_weight=None, normalize_weights: bool = True):
    r"""Centre (weighted means) and weight the problem: ``(X', y', X_offset, y_offset, sqrt_weights)``.

    Dense X becomes :math:`X' = \mathrm{diag}(\sqrt s)(X - 1\mu^\top)` (a Fortran float64 copy when
    anything changes); sparse X keeps its sparsity and is returned as CSC, *uncentred and
    unweighted*: the offset :math:`\mu` and the weights :math:`\sqrt s` are applied implicitly
    by the caller. ``y`` may be 1-D or 2-D (one column per target). Sample weights are rescaled
    to sum to n when ``normalize_weights`` (scikit-learn's ElasticNet), so that the datafit is
    :math:`\frac{1}{2n}\sum_i s_i (y_i - x_i^\top w - b)^2`.
    """
    n, p = X.shape
    y = np.asarray(y, dtype=np.float64)
    sq = None
    sw = None
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if normalize_weights:
            sw = sw * (n / sw.sum())
        sq = np.sqrt(sw)
    if fit_intercept:
        y_off = np.average(y, axis=0, weights=sw)
        if sw is None:
            X_off = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        else:
            X_off = np.asarray(X.T @ sw, dtype=np.float64).ravel() / sw.sum()
    else:
        y_off = np.zeros(y.shape[1:]) if y.ndim > 1 else 0.0
        X_off = np.zeros(p)
    yc = y - y_off
    if sq is not None:
        yc = yc * (sq[:, None] if yc.ndim > 1 else sq)
    if sp.issparse(X):
        return sp.csc_matrix(X, dtype=np.float64, copy=True), yc, X_off, y_off, sq
    # read-only from here on: no copy when X is already Fortran float64 and is not modified
    if fit_intercept or sq is not None:
        Xd = np.array(X, dtype=np.float64, order="F", copy=True)
    else:
        Xd = np.asfortranarray(X, dtype=np.float64)
    if fit_intercept:
        Xd -= X_off
    if sq is not None:
        Xd *= sq[:, None]
    return Xd, yc, X_off, y_off, sq


def preprocess(X, y, fit_intercept: bool, sample_weight=None, normalize_weights: bool = True):
    """:func:`center_scale` for a 1-D ``y``, wrapped in a Quadratic datafit.

    Returns ``(datafit, X_offset, y_offset)``; sparse designs are centred implicitly through
    the datafit's ``X_offset`` and ``row_scale``.
    """
    Xc, yc, X_off, y_off, sq = center_scale(X, y, fit_intercept, sample_weight, normalize_weights)
    if sp.issparse(Xc):
        if sq is not None:
            Xc = sp.csc_matrix(sp.diags(sq) @ Xc)
        df = Quadratic(Xc, yc, X_offset=X_off if fit_intercept else None, row_scale=sq)
    else:
        df = Quadratic(Xc, yc)
    return df, X_off, float(y_off)


def check_finite_design(df: Quadratic, X) -> None:
    r"""scikit-learn's error for a dense design ``X`` with a NaN or an infinity, found through the datafit ``df``
    built from it (:func:`preprocess`), for estimators that validate a dense ``X`` with ``ensure_all_finite=False``
    (``LinearRegressorBase._validate_fit(..., finite=False)``; a sparse ``X`` is checked there, entry by entry).

    A NaN or :math:`\pm\infty` entry makes its column's :math:`\lVert X'_j\rVert^2` (kept by ``df`` for
    coordinate descent; centring and sample weights included, a zero weight making it NaN) NaN or
    infinite, so a scan of those ``p`` numbers replaces scikit-learn's scan of the ``n·p`` entries
    (1.7 ms of a 13 ms fit of a 5000 x 500 problem). Called after the solve, whose first scoring pass
    formed the norms (:func:`proxgan.solvers.cd.solve`), it reads no entry of ``X`` again; with a NaN or
    an infinity in ``X`` the solve takes at most the time of a fit (that column's scores are NaN, so
    the working sets leave it out, or every score becomes NaN once it is in, which ends the solve).
    Only when a norm is not finite is ``X`` itself scanned, by scikit-learn's check, which raises its
    own message, or passes when finite entries overflowed the norm (left to the solver's report, as
    before).

    Parameters
    ----------
    df : Quadratic
        The datafit made from ``X`` by :func:`preprocess`.
    X : ndarray of shape (n_samples, n_features)
        The design as validated (the one scanned when a norm is not finite).

    Raises
    ------
    ValueError
        scikit-learn's "Input X contains NaN" / "Input X contains infinity" error.
    """
    if not np.all(np.isfinite(df.lipschitz_coords())):
        assert_all_finite(X, input_name="X")


def warn_not_converged(crit, tol, what="duality gap", prefix=""):
    """scikit-learn's ConvergenceWarning (a non-finite criterion, e.g. from overflowing data, included)."""
    warnings.warn(
        f"{prefix}Objective did not converge. You might want to increase the number of iterations, check the scale "
        f"of the features or consider increasing regularisation. {what.capitalize()}: {crit:.3e}, "
        f"tolerance: {tol:.3e}",
        ConvergenceWarning, stacklevel=3)


class LinearRegressorBase(RegressorMixin, BaseEstimator):
    """predict / input validation shared by the linear regressors."""

    def _validate_fit(self, X, y, sample_weight=None, multi_output=False, finite=True):
        """scikit-learn's checks of ``X``, ``y`` and ``sample_weight``; ``finite=False`` leaves the NaN /
        infinity check of a dense ``X`` to the caller (:func:`check_finite_design`; a sparse one's stored
        entries are checked here)."""
        X = to_numpy(X)
        y = to_numpy(y)
        if sample_weight is not None:
            sample_weight = to_numpy(sample_weight)
        X, y = validate_data(self, X, y, accept_sparse=["csc", "csr"], dtype=[np.float64, np.float32],
                             y_numeric=True, multi_output=multi_output, accept_large_sparse=False,
                             ensure_all_finite=finite or sp.issparse(X))
        if sample_weight is not None and not isinstance(sample_weight, numbers.Number):
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if sample_weight.sum() <= 0:
                raise ValueError("sample_weight must have a positive sum")
        else:
            sample_weight = None
        return X, y, sample_weight

    def predict(self, X):
        """Linear prediction :math:`Xw + b` (NumPy in, NumPy out; torch and sparse accepted)."""
        if _dask.is_dask(X):
            return _dask.predict(self, X)  # lazy
        check_is_fitted(self)
        X = validate_data(self, to_numpy(X), accept_sparse=["csr", "csc"], reset=False,
                          dtype=[np.float64, np.float32])
        out = X @ self.coef_.T
        return (np.asarray(out).ravel() if self.coef_.ndim == 1 else np.asarray(out)) + self.intercept_

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² of :meth:`predict` (scikit-learn's).

        Parameters
        ----------
        X : array-like, sparse matrix, tensor or dask array of shape (n_samples, n_features)
            Samples; a dask array gives a lazy 0-d dask array (``.compute()`` for the number).
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
            True values.
        sample_weight : array-like or dask array of shape (n_samples,), optional
            Weights of the samples.

        Returns
        -------
        float or 0-d dask array
        """
        if _dask.is_dask(X):
            return _dask.score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
