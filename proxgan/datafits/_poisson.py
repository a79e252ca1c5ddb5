r"""Log-link datafits of count and positive data (scikit-learn's half deviances, up to constants).

* Poisson: :math:`\phi(y, z) = e^z - yz` (:math:`y \ge 0`), :math:`\phi' = e^z - y`, :math:`\phi'' = e^z`;
* Gamma: :math:`\phi(y, z) = z + y e^{-z}` (:math:`y > 0`), :math:`\phi' = 1 - ye^{-z}`,
  :math:`\phi'' = ye^{-z}`.

The prediction is :math:`e^z`. Both are convex in :math:`z` but have no global Lipschitz
constant: coordinate descent takes Newton steps on each coordinate with a backtracking
line search, FISTA backtracks from the curvature at its starting point.
"""
from __future__ import annotations

import numpy as np

from proxgan.datafits._glm import GAMMA, POISSON, GLMDatafit

__all__ = ["Poisson", "Gamma"]


class Poisson(GLMDatafit):
    r"""Poisson deviance with log link, :math:`f(w) = \frac1S\sum_i s_i(e^{z_i} - y_i z_i)` (module docstring).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Counts (any numbers ``>= 0``).
    sample_weight : array-like of shape (n_samples,), optional
    intercept : bool
        Append a free intercept as the last coefficient.
    device : str or torch.device
    """

    KIND = POISSON

    def __init__(self, X, y, *, sample_weight=None, intercept: bool = False, device="cpu") -> None:
        super().__init__(X, y, sample_weight=sample_weight, intercept=intercept, device=device)

    @staticmethod
    def check_target(y) -> None:
        """Raise ``ValueError`` unless every ``y`` is ``>= 0``."""
        if np.any(np.asarray(y) < 0):
            raise ValueError("Some value(s) of y are out of the valid range of the loss: the Poisson datafit needs y >= 0")

    def _phi(self, y, z):
        return z.exp() - y * z

    def _dphi(self, y, z):
        return z.exp() - y

    @staticmethod
    def loss_np(y, z, a=0.0, m=0.0, order=2):
        r"""NumPy :math:`(\phi, \phi', \phi'')` at ``z`` (the last ones only up to ``order``)."""
        e = np.exp(z)
        return (e - y * z, e - y, e)[: order + 1]


class Gamma(GLMDatafit):
    r"""Gamma deviance with log link, :math:`f(w) = \frac1S\sum_i s_i(z_i + y_i e^{-z_i})` (module docstring).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Positive numbers.
    sample_weight : array-like of shape (n_samples,), optional
    intercept : bool
        Append a free intercept as the last coefficient.
    device : str or torch.device
    """

    KIND = GAMMA

    def __init__(self, X, y, *, sample_weight=None, intercept: bool = False, device="cpu") -> None:
        super().__init__(X, y, sample_weight=sample_weight, intercept=intercept, device=device)

    @staticmethod
    def check_target(y) -> None:
        """Raise ``ValueError`` unless every ``y`` is ``> 0``."""
        if np.any(np.asarray(y) <= 0):
            raise ValueError("Some value(s) of y are out of the valid range of the loss: the Gamma datafit needs y > 0")

    def _phi(self, y, z):
        return z + y * (-z).exp()

    def _dphi(self, y, z):
        return 1.0 - y * (-z).exp()

    @staticmethod
    def loss_np(y, z, a=0.0, m=0.0, order=2):
        r"""NumPy :math:`(\phi, \phi', \phi'')` at ``z`` (the last ones only up to ``order``)."""
        e = y * np.exp(-z)
        return (z + e, 1.0 - e, e)[: order + 1]

    def _curvature_bound(self) -> float:
        return float(self.y.max())
