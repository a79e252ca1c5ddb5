"""Problems L1–L5 of bench/PROTOCOL.md and the independent Lasso duality gap.

The generators live in the library (:mod:`proxgan.reproduce.problems`, shared with
``proxgan reproduce lasso-benchopt`` and ``glmnet-table1``); this module re-exports them
for the bench scripts.
"""
from proxgan.reproduce.problems import PROBLEMS, alpha_max, glmnet_data, lasso_gap, make_problem

__all__ = ["PROBLEMS", "make_problem", "lasso_gap", "alpha_max", "glmnet_data"]
