r"""The Huber datafit :math:`\phi(y, z) = H_\epsilon(y - z)`.

.. math::

    H_\epsilon(r) = \begin{cases} \tfrac12 r^2 & |r| \le \epsilon \\
    \epsilon|r| - \tfrac12\epsilon^2 & |r| > \epsilon \end{cases},\qquad
    \partial_z\phi = -\operatorname{clip}(r, -\epsilon, \epsilon),\qquad 0 \le \partial_z^2\phi \le 1 .

Least squares near zero, absolute loss in the tails (robust to outliers); its gradient is
1-Lipschitz. (scikit-learn's ``HuberRegressor`` also estimates a scale :math:`\sigma`:
:class:`proxgan.linear_model.HuberRegressor` does that on top of this datafit.)
"""
from __future__ import annotations

import numbers

import numpy as np

from proxgan.datafits._glm import HUBER, GLMDatafit

__all__ = ["Huber"]


class Huber(GLMDatafit):
    r"""Huber loss :math:`f(w) = \frac1S\sum_i s_i H_\epsilon(y_i - x_i^\top w - b)` (module docstring).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    epsilon : float
        Threshold :math:`\epsilon > 0` between the quadratic and the linear part (``inf``: least
        squares, :math:`\tfrac12(y - z)^2`).
    sample_weight : array-like of shape (n_samples,), optional
    intercept : bool
        Append a free intercept as the last coefficient.
    device : str or torch.device
    """

    KIND = HUBER

    def __init__(self, X, y, epsilon: float = 1.35, *, sample_weight=None, intercept: bool = False,
                 device="cpu") -> None:
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 < epsilon <= np.inf:
            raise ValueError(f"epsilon must be a number > 0 (inf: least squares), got {epsilon!r}")
        super().__init__(X, y, sample_weight=sample_weight, intercept=intercept, device=device)
        self.epsilon = float(epsilon)

    def params(self) -> tuple[float, float]:
        """``(epsilon, 0)``."""
        return self.epsilon, 0.0

    def _phi(self, y, z):
        import torch

        r = (y - z).abs()
        e = self.epsilon
        return torch.where(r <= e, 0.5 * r * r, e * r - 0.5 * e * e)

    def _dphi(self, y, z):
        return -(y - z).clamp(-self.epsilon, self.epsilon)

    @staticmethod
    def loss_np(y, z, a=1.35, m=0.0, order=2):
        r"""NumPy :math:`(\phi, \phi', \phi'')` at ``z`` with :math:`\epsilon` = ``a`` (up to ``order``)."""
        r = y - z
        ar = np.abs(r)
        inside = ar <= a
        out = (np.where(inside, 0.5 * r * r, a * ar - 0.5 * a * a), -np.clip(r, -a, a), inside.astype(np.float64))
        return out[: order + 1]
