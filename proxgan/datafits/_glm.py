r"""Per-sample datafits :math:`f(w) = \frac1S\sum_i s_i\,\phi(y_i, z_i)`, :math:`z = Xw + b`.

:class:`GLMDatafit` is the common part of :class:`~proxgan.datafits.Huber`,
:class:`~proxgan.datafits.Poisson`, :class:`~proxgan.datafits.Gamma` and
:class:`~proxgan.datafits.Quantile`: the sample weights :math:`s_i \ge 0` (default ones,
:math:`S = \sum_i s_i`, so that the unweighted datafit is a mean), an optional free intercept
:math:`b` (``intercept=True``: the coefficient vector has ``p + 1`` entries, the intercept last,
and :attr:`n_features` counts it) and the torch ``value``/``grad`` of ISTA/FISTA. A subclass
gives :math:`\phi` and :math:`\partial\phi/\partial z` as torch functions (``_phi``, ``_dphi``),
its ``KIND`` (the number the compiled coordinate descent of :mod:`proxgan.solvers._cd_glm`
switches on, where :math:`\phi`, :math:`\phi'` and :math:`\phi''` are written once more in numba),
``params()`` (the two numbers that kernel reads), ``loss_np`` (the three, vectorised in NumPy, for
the full-batch L-BFGS, Newton and proximal Newton solvers) and ``check_target`` (the domain of ``y``).
"""
from __future__ import annotations

import numpy as np

from proxgan.datafits._smooth import Datafit

__all__ = ["GLMDatafit", "HUBER", "POISSON", "GAMMA", "QUANTILE"]

#: the numbers :mod:`proxgan.solvers._cd_glm` switches on (``KIND`` of each datafit)
HUBER, POISSON, GAMMA, QUANTILE = 0, 1, 2, 3


class GLMDatafit(Datafit):
    r"""Common part of the per-sample datafits (module docstring).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights with a positive sum (default ones).
    intercept : bool
        Append a free intercept as the last coefficient.
    device : str or torch.device
        Where ISTA/FISTA evaluate ``value``/``grad``.
    """

    KIND = -1

    def __init__(self, X, y, *, sample_weight=None, intercept: bool = False, device="cpu") -> None:
        super().__init__(X, y, device=device)
        n = self.n_samples
        sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).ravel()
        if sw.shape[0] != n or np.any(sw < 0) or not np.all(np.isfinite(sw)) or not sw.sum() > 0:
            raise ValueError(f"sample_weight must hold {n} finite numbers >= 0 with a positive sum")
        if not np.all(np.isfinite(self.y)):
            raise ValueError("y must hold finite numbers")
        self.check_target(self.y)
        self.sw = sw
        self.intercept = bool(intercept)

    @property
    def n_features(self) -> int:
        """Number of coefficients (the intercept included when ``intercept=True``)."""
        return self.X.shape[1] + int(self.intercept)

    @staticmethod
    def check_target(y) -> None:
        """Raise ``ValueError`` if a target is outside the datafit's domain (subclasses; any finite ``y`` here).

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
        """

    def params(self) -> tuple[float, float]:
        """The two numbers of :math:`\\phi` read by the compiled kernel (subclasses)."""
        return 0.0, 0.0

    # --- NumPy side (certificates, estimators) ---------------------------------------
    def scores(self, w: np.ndarray) -> np.ndarray:
        """:math:`z = Xw + b` in NumPy."""
        w = np.asarray(w, dtype=np.float64)
        p = self.X.shape[1]
        z = np.asarray(self.X @ w[:p], dtype=np.float64).ravel()
        return z + w[p] if self.intercept else z

    def value_np(self, w: np.ndarray) -> float:
        """:math:`f(w)` in NumPy (float64)."""
        return float(self.sw @ self.loss_np(self.y, self.scores(w), *self.params(), order=0)[0]) / float(self.sw.sum())

    @staticmethod
    def loss_np(y, z, a=0.0, m=0.0, order=2):  # pragma: no cover - abstract
        r"""NumPy :math:`(\phi, \partial_z\phi, \partial_z^2\phi)` at ``z`` (up to ``order``), with the
        numbers ``a, m`` of :meth:`params`: the twin of the compiled and torch versions, used by the
        full-batch L-BFGS and Newton solvers (:mod:`proxgan.solvers._glm_smooth`)."""
        raise NotImplementedError

    # --- torch side (ISTA/FISTA) -------------------------------------------------------
    def _swt(self):
        import torch

        if getattr(self, "_sw_t", None) is None or self._sw_t.device != self.device:
            self._sw_t = torch.from_numpy(self.sw / self.sw.sum()).to(self.device)
        return self._sw_t

    def matvec(self, w):
        """:math:`Xw + b`."""
        p = self.X.shape[1]
        out = super().matvec(w[:p])
        return out + w[p] if self.intercept else out

    def rmatvec(self, r):
        """:math:`(X^\\top r, \\sum_i r_i)` (the last entry only with an intercept)."""
        import torch

        out = super().rmatvec(r)
        return torch.cat([out, r.sum().reshape(1)]) if self.intercept else out

    def value(self, w):
        """:math:`f(w) = \\frac1S\\sum_i s_i\\,\\phi(y_i, z_i)`."""
        return (self._swt() * self._phi(self._torch()[2], self.matvec(w))).sum()

    def grad(self, w):
        """:math:`\\nabla f(w) = \\frac1S X^\\top(s\\odot\\phi'(y, z))` (and its sum for the intercept)."""
        return self.rmatvec(self._swt() * self._dphi(self._torch()[2], self.matvec(w)))

    def _curvature_bound(self) -> float:
        """An upper bound of :math:`\\phi''` near the starting point (subclasses)."""
        return 1.0

    def lipschitz(self) -> float:
        """A starting estimate of the gradient's Lipschitz constant, :math:`\\max_i (s_i/S)\\,\\phi''\\,
        \\lVert [X, 1]\\rVert_2^2` (FISTA backtracks from it: exact for Huber and Quantile, local for
        the log-link datafits)."""
        return float(self.sw.max() / self.sw.sum()) * self._curvature_bound() * self._spectral_norm2()

    def _phi(self, y, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _dphi(self, y, z):  # pragma: no cover - abstract
        raise NotImplementedError
