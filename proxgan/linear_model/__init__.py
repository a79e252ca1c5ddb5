"""scikit-learn-compatible linear models solved by proxgan's solvers.

Each estimator connects a datafit (:mod:`proxgan.datafits`), a penalty
(:mod:`proxgan.penalties`) and a solver (:mod:`proxgan.solvers`): ``solver="cd"``
(numba coordinate descent, CPU), ``"fista"`` / ``"ista"`` (torch, CPU or CUDA), or
``"auto"``.
"""
from proxgan.linear_model._coordinate_descent import ElasticNet, Lasso
from proxgan.linear_model._path import enet_path, lasso_path
from proxgan.linear_model._cv import ElasticNetCV, LassoCV
from proxgan.linear_model._logistic import LogisticRegression
from proxgan.linear_model._ridge import Ridge

__all__ = ["ElasticNet", "ElasticNetCV", "Lasso", "LassoCV", "LogisticRegression", "Ridge", "enet_path",
           "lasso_path"]
from proxgan.linear_model._glm import GammaRegressor, GeneralizedLinearEstimator, PoissonRegressor
from proxgan.linear_model._huber import HuberRegressor
from proxgan.linear_model._quantile import QuantileRegressor

__all__ += ["GammaRegressor", "GeneralizedLinearEstimator", "HuberRegressor", "PoissonRegressor",
            "QuantileRegressor"]
from proxgan.linear_model._nonconvex import MCPRegression, SCADRegression, SparseLogisticRegression

__all__ += ["MCPRegression", "SCADRegression", "SparseLogisticRegression"]
