r"""The quantile (pinball) datafit and its smoothing.

.. math::

    \rho_\tau(r) = \max(\tau r, (\tau - 1) r),\qquad \phi(y, z) = \rho_\tau(y - z),

whose minimiser over a constant is the :math:`\tau`-quantile. :math:`\rho_\tau` is not
differentiable at 0. With ``smoothing`` :math:`\mu > 0` the datafit is its Moreau envelope

.. math::

    \rho_{\tau,\mu}(r) = \min_v \rho_\tau(v) + \frac{(r - v)^2}{2\mu} =
    \begin{cases} \tau r - \tfrac12\tau^2\mu & r > \tau\mu \\
    \tfrac{r^2}{2\mu} & (\tau - 1)\mu \le r \le \tau\mu \\
    (\tau - 1) r - \tfrac12(\tau - 1)^2\mu & r < (\tau - 1)\mu \end{cases},

with :math:`\rho_{\tau,\mu} \le \rho_\tau \le \rho_{\tau,\mu} + \tfrac12\max(\tau, 1-\tau)^2\mu`
and :math:`-\partial_z\rho_{\tau,\mu} = \operatorname{clip}(r/\mu, \tau - 1, \tau)`, a feasible
dual variable of the pinball problem. :func:`proxgan.solvers._quantile.solve` solves a sequence
of smoothed problems (:math:`\mu \to 0`) and stops only on a duality gap of the *exact*
pinball problem (module docstring there); ``value`` with ``smoothing=0`` is the exact loss.
"""
from __future__ import annotations

import copy
import numbers

import numpy as np

from proxgan.datafits._glm import QUANTILE, GLMDatafit

__all__ = ["Quantile"]


class Quantile(GLMDatafit):
    r"""Pinball loss :math:`f(w) = \frac1S\sum_i s_i\rho_\tau(y_i - x_i^\top w - b)`, or its smoothing (module docstring).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    quantile : float
        :math:`\tau \in (0, 1)`.
    smoothing : float
        :math:`\mu \ge 0`; 0 is the exact pinball loss (no gradient: ISTA/FISTA and coordinate
        descent need :math:`\mu > 0`).
    sample_weight : array-like of shape (n_samples,), optional
    intercept : bool
        Append a free intercept as the last coefficient.
    device : str or torch.device
    """

    KIND = QUANTILE

    def __init__(self, X, y, quantile: float = 0.5, *, smoothing: float = 0.0, sample_weight=None,
                 intercept: bool = False, device="cpu") -> None:
        if isinstance(quantile, bool) or not isinstance(quantile, numbers.Real) or not 0 < quantile < 1:
            raise ValueError(f"quantile must be a number in (0, 1), got {quantile!r}")
        if isinstance(smoothing, bool) or not isinstance(smoothing, numbers.Real) or not 0 <= smoothing < float("inf"):
            raise ValueError(f"smoothing must be a finite number >= 0, got {smoothing!r}")
        super().__init__(X, y, sample_weight=sample_weight, intercept=intercept, device=device)
        self.quantile = float(quantile)
        self.smoothing = float(smoothing)

    def params(self) -> tuple[float, float]:
        """``(quantile, smoothing)``."""
        return self.quantile, self.smoothing

    def smoothed(self, smoothing: float) -> "Quantile":
        """The same datafit (arrays shared) with another ``smoothing``."""
        if isinstance(smoothing, bool) or not isinstance(smoothing, numbers.Real) or not 0 <= smoothing < float("inf"):
            raise ValueError(f"smoothing must be a finite number >= 0, got {smoothing!r}")
        out = copy.copy(self)
        out.smoothing = float(smoothing)
        return out

    def _phi(self, y, z):
        import torch

        r = y - z
        t, mu = self.quantile, self.smoothing
        if mu == 0.0:
            return torch.maximum(t * r, (t - 1) * r)
        return torch.where(r > t * mu, t * r - 0.5 * t * t * mu,
                           torch.where(r < (t - 1) * mu, (t - 1) * r - 0.5 * (t - 1) ** 2 * mu, 0.5 * r * r / mu))

    def _dphi(self, y, z):
        if self.smoothing == 0.0:
            raise ValueError("the pinball loss has no gradient: use smoothing > 0, or proxgan.solvers._quantile.solve")
        t = self.quantile
        return -((y - z) / self.smoothing).clamp(t - 1, t)

    @staticmethod
    def loss_np(y, z, a=0.5, m=0.0, order=2):
        r"""NumPy :math:`(\phi, \phi', \phi'')` at ``z`` with :math:`\tau` = ``a``, :math:`\mu` = ``m``
        (exact pinball for ``m = 0``: then only ``order=0``)."""
        r = y - z
        if m == 0.0:
            if order > 0:
                raise ValueError("the pinball loss has no gradient: use smoothing > 0")
            return (np.maximum(a * r, (a - 1.0) * r),)
        hi, lo = a * m, (a - 1.0) * m
        val = np.where(r > hi, a * r - 0.5 * a * hi, np.where(r < lo, (a - 1.0) * r - 0.5 * (a - 1.0) * lo,
                                                               0.5 * r * r / m))
        out = (val, -np.clip(r / m, a - 1.0, a), ((r >= lo) & (r <= hi)) / m)
        return out[: order + 1]

    def _curvature_bound(self) -> float:
        return 1.0 / self.smoothing if self.smoothing > 0 else float("inf")
