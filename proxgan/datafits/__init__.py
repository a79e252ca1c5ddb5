r"""Datafits :math:`f(w)` of full-batch linear problems.

* :class:`Quadratic`, :class:`Logistic` (:mod:`proxgan.datafits._smooth`): least squares and
  the logistic loss;
* :class:`Huber`, :class:`Poisson`, :class:`Gamma`, :class:`Quantile`
  (:mod:`proxgan.datafits._glm` and one module each): robust, count, positive and quantile
  regression, :math:`f(w) = \frac{1}{S}\sum_i s_i\,\phi(y_i, x_i^\top w + b)` with sample
  weights :math:`s_i` (:math:`S = \sum_i s_i`) and an optional free intercept :math:`b`.

Examples
--------
>>> import numpy as np, torch
>>> from proxgan.datafits import Quadratic
>>> f = Quadratic(np.eye(2), np.array([1.0, 2.0]))
>>> float(f.value(torch.zeros(2, dtype=torch.float64)))
1.25
"""
from proxgan.datafits._smooth import Datafit, Logistic, Quadratic
from proxgan.datafits._glm import GLMDatafit
from proxgan.datafits._huber import Huber
from proxgan.datafits._poisson import Gamma, Poisson
from proxgan.datafits._quantile import Quantile

__all__ = ["Datafit", "Quadratic", "Logistic", "GLMDatafit", "Huber", "Poisson", "Gamma", "Quantile"]
