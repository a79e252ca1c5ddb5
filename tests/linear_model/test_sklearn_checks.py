"""scikit-learn's estimator checks on every estimator."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from proxgan.linear_model import ElasticNet, ElasticNetCV, Lasso, LassoCV, LogisticRegression, Ridge
from proxgan.linear_model import (GammaRegressor, GeneralizedLinearEstimator, HuberRegressor, PoissonRegressor,
                                  QuantileRegressor)
from proxgan.linear_model import MCPRegression, SCADRegression, SparseLogisticRegression
from proxgan.penalties import L1, MCP

_RIDGE_DIRECT = {
    # scikit-learn lists its own Ridge the same way: the direct solvers do not iterate (n_iter_ is None)
    "check_non_transformer_estimators_n_iter": "direct solvers: n_iter_ is None (as scikit-learn's Ridge)",
}


_HUBER_SW = {
    # The check has 15 samples and 30 features: the data are interpolated, the scale runs to its
    # lower bound (1e-12) and the objective is flat there to ~1e-6, below tol; the weighted and the
    # repeated fit stop at different points of that plateau (objectives equal to 7e-10 absolute).
    "check_sample_weight_equivalence_on_dense_data": "p > n: scale at its bound, flat objective",
    "check_sample_weight_equivalence_on_sparse_data": "p > n: scale at its bound, flat objective",
}


_CV_SW = {
    # The check's data have 15 distinct rows and 30 features, and LassoCV picks alpha = 1.2e-4
    # (ElasticNetCV alike): the Lasso objective is nearly flat there. Both fits stop as documented,
    # at a duality gap <= tol (1.3e-5 here), and points that close to the optimum differ by 3e-4 in
    # prediction; the check asks for 1e-7. They agree at tol=1e-12. scikit-learn's CD passes
    # because it runs far past its tol; ours passed while its inner solves checked their scores at
    # other epochs (before max_iter came to count outer iterations): luck, not a guarantee.
    "check_sample_weight_equivalence_on_dense_data": "flat objective: fits stopped at gap <= tol differ by 3e-4",
    "check_sample_weight_equivalence_on_sparse_data": "flat objective: fits stopped at gap <= tol differ by 3e-4",
}


def _expected_failed(est):
    if isinstance(est, (LassoCV, ElasticNetCV)):
        return _CV_SW
    if isinstance(est, HuberRegressor):
        return _HUBER_SW
    if isinstance(est, Ridge) and est.solver not in ("cd", "fista", "ista"):
        return _RIDGE_DIRECT
    return {}


@parametrize_with_checks(
    [Lasso(), ElasticNet(), Ridge(), LogisticRegression(), LogisticRegression(l1_ratio=1.0, solver="saga"),
     LogisticRegression(l1_ratio=0.5, solver="saga"), Lasso(solver="fista"), Ridge(solver="fista"),
     LassoCV(alphas=5), ElasticNetCV(alphas=5),
     QuantileRegressor(), PoissonRegressor(), PoissonRegressor(l1_ratio=0.5, solver="cd"), GammaRegressor(),
     HuberRegressor(), GeneralizedLinearEstimator(penalty=L1(0.01), tol=1e-10),
     MCPRegression(), SCADRegression(), MCPRegression(0.05, tol=1e-10), SparseLogisticRegression(),
     SparseLogisticRegression(0.1, MCP(1.0, 10.0), tol=1e-10)],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
