r"""Sufficient statistics of least squares, computed chunk by chunk and merged: the one pass behind
the dask Lasso / elastic net / Ridge, their paths and their cross-validation.

For rows :math:`x_i` with targets :math:`y_i` and weights :math:`s_i` (a row chunk, a fold, all
the data) the :class:`Moments` are

.. math::

    W = \sum_i s_i,\quad \mu = \frac1W\sum_i s_i x_i,\quad \bar y = \frac1W\sum_i s_i y_i,\quad
    C = \sum_i s_i (x_i - \mu)(x_i - \mu)^\top,\quad c = \sum_i s_i (x_i - \mu)(y_i - \bar y),\quad
    c_{yy} = \sum_i s_i (y_i - \bar y)^2

(``centre=False``: :math:`\mu = 0`, :math:`\bar y = 0`, raw second moments). Two sets merge exactly
(Chan, Golub and LeVeque's pairwise update): with :math:`\delta = \mu_b - \mu_a`,
:math:`C = C_a + C_b + \frac{W_aW_b}{W}\delta\delta^\top`, and likewise for :math:`c` and
:math:`c_{yy}`; centring each chunk before its product keeps the Gram matrix as accurate as
centring the whole of X in memory.

The centred, weighted least-squares problem of scikit-learn's ``ElasticNet`` (weights rescaled to
sum to :math:`n`) then has Gram matrix :math:`Q = \frac nW C`, :math:`X'^\top y' = \frac nW c` and
:math:`\lVert y'\rVert^2 = \frac nW c_{yy}`: :class:`GramQuadratic` hands these to the same
coordinate descent on the Gram matrix as an in-memory fit with ``precompute=True``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from proxgan.datafits import Quadratic

__all__ = ["Moments", "chunk_moments", "merge_moments", "GramQuadratic", "heldout_sse"]


class Moments(NamedTuple):
    """Weighted moments of a set of rows (see the module docstring); ``n`` counts the rows."""

    n: int
    W: float
    mu: np.ndarray
    ybar: float
    C: np.ndarray
    c: np.ndarray
    cyy: float


def _check_finite(name, a, r0):
    data = a.data if sp.issparse(a) else a
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} holds NaN or infinity in the row chunk starting at row {r0}; dask input must be "
                         f"finite (clean it first, e.g. with da.nan_to_num or a dropna on the dataframe)")


def chunk_moments(X, y, s, r0: int, centre: bool) -> Moments:
    """:class:`Moments` of one row chunk ``X`` (dense or SciPy sparse), ``y`` and weights ``s``
    (``None``: ones); ``r0`` (the chunk's first row) only names the chunk in the finiteness error."""
    _check_finite("X", X, r0)
    y = np.asarray(y, dtype=np.float64).ravel()
    _check_finite("y", y, r0)
    n = X.shape[0]
    s = np.ones(n) if s is None else np.asarray(s, dtype=np.float64).ravel()
    _check_finite("sample_weight", s, r0)
    if np.any(s < 0):
        raise ValueError(f"sample_weight must be >= 0; a negative weight is in the row chunk starting at row {r0}")
    W = float(s.sum())
    p = X.shape[1]
    if sp.issparse(X):
        Xs = sp.csr_matrix(X, dtype=np.float64)
        mu = np.asarray(Xs.T @ s).ravel() / W if (centre and W > 0) else np.zeros(p)
        ybar = float(s @ y) / W if (centre and W > 0) else 0.0
        yc = y - ybar
        raw = np.asarray((Xs.T @ sp.diags(s) @ Xs).toarray())
        C = raw - W * np.outer(mu, mu)
        c = np.asarray(Xs.T @ (s * yc)).ravel() - mu * float(s @ yc)
    else:
        Xd = np.asarray(X, dtype=np.float64)
        mu = (s @ Xd) / W if (centre and W > 0) else np.zeros(p)
        ybar = float(s @ y) / W if (centre and W > 0) else 0.0
        Xc = Xd - mu if centre else Xd
        yc = y - ybar
        C = (Xc * s[:, None]).T @ Xc
        c = Xc.T @ (s * yc)
    return Moments(n, W, mu, ybar, C, c, float(s @ (yc * yc)))


def merge_moments(a: Moments, b: Moments) -> Moments:
    """The :class:`Moments` of the union of two disjoint sets of rows (exact pairwise update)."""
    W = a.W + b.W
    if a.W == 0 or b.W == 0:
        keep = b if a.W == 0 else a
        return Moments(a.n + b.n, W, keep.mu, keep.ybar, a.C + b.C, a.c + b.c, a.cyy + b.cyy)
    f = a.W * b.W / W
    d = b.mu - a.mu
    dy = b.ybar - a.ybar
    mu = a.mu + d * (b.W / W)
    ybar = a.ybar + dy * (b.W / W)
    return Moments(a.n + b.n, W, mu, ybar, a.C + b.C + f * np.outer(d, d), a.c + b.c + f * d * dy,
                   a.cyy + b.cyy + f * dy * dy)


class GramQuadratic(Quadratic):
    r"""The least-squares datafit :math:`\frac1{2n}\lVert y - Xw\rVert^2` known only through
    :math:`(Q, X^\top y, \lVert y\rVert^2, n)`: what coordinate descent on the Gram matrix reads.

    Parameters
    ----------
    Q : ndarray of shape (p, p)
        :math:`X^\top X`.
    Xty : ndarray of shape (p,)
        :math:`X^\top y`.
    yy : float
        :math:`\lVert y\rVert^2`.
    n : int
        Number of samples (the :math:`n` of :math:`1/(2n)`).
    """

    def __init__(self, Q: np.ndarray, Xty: np.ndarray, yy: float, n: int) -> None:
        self._Q = np.ascontiguousarray(Q, dtype=np.float64)
        self._Xty = np.asarray(Xty, dtype=np.float64).ravel()
        self._yy = float(yy)
        self._n = int(n)
        p = self._Xty.shape[0]
        self.X = np.zeros((0, p))  # no rows are held; the solver reads the Gram matrix only
        self.y = np.array([np.sqrt(max(self._yy, 0.0))])  # so that y @ y == ‖y‖²
        self.mu = np.zeros(p)
        self.v = np.ones(0)
        self.device = None
        self._t = None
        self._gram = (self._Q, self._Xty, self._yy)

    @classmethod
    def from_moments(cls, m: Moments, normalize_weights: bool = True) -> "GramQuadratic":
        """The centred (or raw) weighted problem of ``m``; weights rescaled to sum to ``n`` when
        ``normalize_weights`` (scikit-learn's ElasticNet), used as given otherwise (Ridge)."""
        f = m.n / m.W if normalize_weights else 1.0
        return cls(f * m.C, f * m.c, f * m.cyy, m.n)

    @property
    def n_samples(self) -> int:
        return self._n

    @property
    def n_features(self) -> int:
        return self._Xty.shape[0]

    def correlation(self, r: np.ndarray | None = None) -> np.ndarray:
        """:math:`X^\\top y` (only ``r=None`` is known without the rows)."""
        if r is not None:
            raise ValueError("a GramQuadratic datafit knows X^T y only")
        return self._Xty

    def _compute_col_norms2(self) -> np.ndarray:
        return np.diag(self._Q).copy()

    def gram(self):
        """``(Q, Xᵀy, ‖y‖²)``."""
        return self._gram


def heldout_sse(m: Moments, w: np.ndarray, b: float) -> float:
    r"""Weighted residual sum of squares :math:`\sum_i s_i(y_i - x_i^\top w - b)^2` over the rows of
    ``m``: :math:`c_{yy} - 2w^\top c + w^\top Cw + W(\bar y - \mu^\top w - b)^2`."""
    e = m.ybar - float(m.mu @ w) - b
    return float(m.cyy - 2.0 * (w @ m.c) + w @ (m.C @ w) + m.W * e * e)
