"""scikit-learn's estimator checks on every estimator."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from proxgan.linear_model import ElasticNet, ElasticNetCV, Lasso, LassoCV, LogisticRegression, Ridge

_RIDGE_DIRECT = {
    # scikit-learn lists its own Ridge the same way: the direct solvers do not iterate (n_iter_ is None)
    "check_non_transformer_estimators_n_iter": "direct solvers: n_iter_ is None (as scikit-learn's Ridge)",
}


def _expected_failed(est):
    if isinstance(est, Ridge) and est.solver not in ("cd", "fista", "ista"):
        return _RIDGE_DIRECT
    return {}


@parametrize_with_checks(
    [Lasso(), ElasticNet(), Ridge(), LogisticRegression(), LogisticRegression(l1_ratio=1.0, solver="saga"),
     LogisticRegression(l1_ratio=0.5, solver="saga"), Lasso(solver="fista"), Ridge(solver="fista"),
     LassoCV(alphas=5), ElasticNetCV(alphas=5)],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
