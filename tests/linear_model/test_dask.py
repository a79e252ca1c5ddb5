"""Dask input to the linear models, on a real LocalCluster (2 worker processes on 127.0.0.1).

Every fit is compared with the in-memory fit of the same data: the least-squares estimators to
1e-10 (same Gram coordinate descent from the same Gram matrix), logistic regression to the
solvers' tolerance. One cluster serves the whole module; the worker-loss test runs last.
"""
import os
import signal
import subprocess
import sys
import threading
import time

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from distributed import Client, LocalCluster
from sklearn.model_selection import KFold

from proxgan.linear_model import (ElasticNet, ElasticNetCV, Lasso, LassoCV, LogisticRegression, Ridge, enet_path,
                                  lasso_path)
from proxgan.linear_model._dask import EXTRA_MESSAGE, fold_of_chunks
from proxgan.linear_model._dask_gram import Moments, chunk_moments, merge_moments

N, P, CH = 400, 12, 40


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, P)) + 0.7
    X[:, 3] *= 5.0
    y = X[:, :4] @ np.array([1.0, -2.0, 0.5, 0.3]) + 0.5 * rng.standard_normal(N) + 3.0
    sw = rng.uniform(0.2, 2.0, N)
    yc = (X[:, 0] - X[:, 1] + 0.7 * rng.standard_normal(N) > 0).astype(int)
    return X, y, sw, yc


@pytest.fixture(scope="module")
def labels3(data):
    rng = np.random.default_rng(2)
    return np.argmax(data[0][:, :3] + 0.8 * rng.standard_normal((N, 3)), axis=1)


def _d(a, chunks=CH):
    return da.from_array(a, chunks=(chunks,) + a.shape[1:])


def test_moments_merge_matches_direct():
    """The chunked, merged moments equal the moments of all rows at once (zero-weight and 1-row chunks)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((23, 4)) * 3 + 10
    y = rng.standard_normal(23) + 5
    s = rng.uniform(0, 2, 23)
    s[5:9] = 0.0
    cuts = [0, 1, 5, 9, 17, 23]
    for centre in (True, False):
        parts = [chunk_moments(X[a:b], y[a:b], s[a:b], a, centre) for a, b in zip(cuts[:-1], cuts[1:])]
        m = parts[0]
        for q in parts[1:]:
            m = merge_moments(m, q)
        W = s.sum()
        mu = s @ X / W if centre else np.zeros(4)
        yb = s @ y / W if centre else 0.0
        Xc, yc = X - mu, y - yb
        ref = Moments(23, W, mu, yb, (Xc * s[:, None]).T @ Xc, Xc.T @ (s * yc), float(s @ yc ** 2))
        for a, b in zip(m, ref):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-10)


def test_fold_of_chunks_is_kfold_when_edges_meet():
    chunks = (40,) * 10
    folds = fold_of_chunks(chunks, 5)
    for k, (_, te) in enumerate(KFold(5).split(np.zeros(400))):
        assert np.array_equal(np.repeat(folds, 40)[te], np.full(len(te), k))
    with pytest.raises(ValueError, match="at least as many row chunks"):
        fold_of_chunks((200, 200), 5)


@pytest.mark.parametrize("est", [Lasso(alpha=0.05), ElasticNet(alpha=0.05, l1_ratio=0.6),
                                 Lasso(alpha=0.02, fit_intercept=False, positive=True), Ridge(alpha=3.0)],
                         ids=["lasso", "enet", "lasso-noint-pos", "ridge"])
def test_fit_equals_in_memory(client, data, est):
    X, y, sw, _ = data
    ref = est.set_params(**({"precompute": True} if "precompute" in est.get_params() else {})).fit(X, y, sw)
    c0, b0 = ref.coef_.copy(), ref.intercept_
    got = type(est)(**est.get_params()).fit(_d(X), _d(y), _d(sw))
    np.testing.assert_allclose(got.coef_, c0, rtol=0, atol=1e-10)
    assert abs(got.intercept_ - b0) <= 1e-10
    assert got.n_passes_ == 1
    if not isinstance(est, Ridge):
        assert np.array_equal(got.coef_ == 0, c0 == 0) and np.any(c0 == 0)


def test_path_and_cv_equal_in_memory(client, data):
    X, y, sw, _ = data
    a0, c0, g0 = lasso_path(X, y, alphas=30)
    a1, c1, g1 = lasso_path(_d(X), _d(y), alphas=30)
    np.testing.assert_allclose(a1, a0, rtol=1e-12)
    np.testing.assert_allclose(c1, c0, atol=1e-10)
    e0 = enet_path(X, y, l1_ratio=0.3, alphas=10)[1]
    np.testing.assert_allclose(enet_path(_d(X), _d(y), l1_ratio=0.3, alphas=10)[1], e0, atol=1e-10)
    for cv_est in (LassoCV(alphas=25, cv=5), ElasticNetCV(l1_ratio=[0.3, 0.9], alphas=15, cv=5)):
        ref = type(cv_est)(**cv_est.get_params()).fit(X, y, sample_weight=sw)
        got = cv_est.fit(_d(X), _d(y), sample_weight=_d(sw))
        assert got.n_passes_ == 1  # every fold's Gram matrix, and the refit's, from one pass
        assert got.l1_ratio_ == ref.l1_ratio_
        np.testing.assert_allclose(got.alphas_, ref.alphas_, rtol=1e-12)
        assert np.argmin(np.abs(np.ravel(ref.alphas_) - got.alpha_)) == np.argmin(np.abs(np.ravel(ref.alphas_) - ref.alpha_))
        np.testing.assert_allclose(got.mse_path_, ref.mse_path_, rtol=1e-9)
        np.testing.assert_allclose(got.coef_, ref.coef_, atol=1e-10)
        assert abs(got.intercept_ - ref.intercept_) <= 1e-10


def _sparse_chunks(X):
    Xs = sp.random(X.shape[0], X.shape[1], density=0.3, random_state=3, format="csr") * 2.0
    Xd = _d(Xs.toarray()).map_blocks(sp.csr_matrix, dtype=np.float64, meta=sp.csr_matrix((0, 0)))
    return Xs, Xd


def test_sparse_chunks(client, data):
    _, y, sw, yc = data
    Xs, Xd = _sparse_chunks(data[0])
    assert sp.issparse(Xd.blocks[0].compute())
    got = Lasso(alpha=0.01).fit(Xd, _d(y), _d(sw))
    ref = Lasso(alpha=0.01, precompute=True).fit(Xs.toarray(), y, sw)
    np.testing.assert_allclose(got.coef_, ref.coef_, atol=1e-10)
    tight = Lasso(alpha=0.01, tol=1e-12).fit(Xs, y, sw)  # in-memory sparse CD (implicit centring)
    np.testing.assert_allclose(got.coef_, tight.coef_, atol=1e-5)
    lg = LogisticRegression(l1_ratio=1.0, C=0.5, solver="saga", tol=1e-9).fit(Xd, _d(yc))
    lr = LogisticRegression(l1_ratio=1.0, C=0.5, solver="saga", tol=1e-9, max_iter=1000).fit(Xs, yc)
    np.testing.assert_allclose(lg.coef_, lr.coef_, atol=1e-6)


L1, L2, EN = dict(l1_ratio=1.0, C=0.1, solver="saga"), dict(l1_ratio=0.0, C=1.0), dict(l1_ratio=0.5, C=0.3, solver="saga")


# the in-memory multinomial elastic net (FISTA) needs ~20k iterations for 1e-10: left out for time
@pytest.mark.parametrize("classes, kw", [(2, L1), (2, L2), (2, EN), (3, L1), (3, L2)],
                         ids=["binary-l1", "binary-l2", "binary-enet", "multinomial-l1", "multinomial-l2"])
def test_logistic_equals_in_memory(client, data, labels3, kw, classes):
    X, _, sw, yc = data
    yc = yc if classes == 2 else labels3
    ref = LogisticRegression(tol=1e-10, max_iter=20000, **kw).fit(X, yc, sample_weight=sw)
    got = LogisticRegression(tol=1e-10, **kw).fit(_d(X), _d(yc), sample_weight=_d(sw))
    assert got.coef_.shape == ref.coef_.shape == (1 if classes == 2 else 3, P)
    np.testing.assert_allclose(got.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(got.intercept_, ref.intercept_, atol=1e-6)
    assert got.n_passes_ <= 15, got.n_passes_  # a Newton method: few passes
    if kw["l1_ratio"] == 1.0:
        assert np.array_equal(got.coef_ == 0, ref.coef_ == 0) and np.any(ref.coef_ == 0)


def test_predict_is_lazy(client, data, labels3):
    X, y, _, yc = data
    m = Lasso(alpha=0.05).fit(_d(X), _d(y))
    p = m.predict(_d(X))
    assert isinstance(p, da.Array) and p.chunks == ((CH,) * (N // CH),)
    np.testing.assert_allclose(p.compute(), m.predict(X), atol=1e-12)
    s = m.score(_d(X), _d(y))
    assert isinstance(s, da.Array) and abs(float(s.compute()) - m.score(X, y)) < 1e-12
    c = LogisticRegression(l1_ratio=1.0, C=0.2, solver="saga").fit(_d(X), _d(yc))
    for name in ("decision_function", "predict", "predict_proba"):
        lazy = getattr(c, name)(_d(X))
        assert isinstance(lazy, da.Array)
        np.testing.assert_allclose(lazy.compute(), getattr(c, name)(X), atol=1e-12)
    acc = c.score(_d(X), _d(yc))
    assert isinstance(acc, da.Array) and float(acc.compute()) == c.score(X, yc)
    c3 = LogisticRegression(l1_ratio=1.0, C=0.2, solver="saga").fit(_d(X), _d(labels3))
    for name in ("decision_function", "predict", "predict_proba"):
        np.testing.assert_allclose(getattr(c3, name)(_d(X)).compute(), getattr(c3, name)(X), atol=1e-12)


def test_dataframe_unknown_chunks(client, data):
    X, y, _, _ = data
    ddf = dd.from_pandas(pd.DataFrame(X, columns=[f"f{i}" for i in range(P)]), npartitions=4)
    ys = dd.from_pandas(pd.Series(y), npartitions=4)
    est = Lasso(alpha=0.05)
    with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
        est.fit(ddf, ys)
    assert not hasattr(est, "coef_")
    with dask.config.set({"proxgan.compute-chunk-sizes": True}):
        est.fit(ddf, ys)
    np.testing.assert_allclose(est.coef_, Lasso(alpha=0.05, precompute=True).fit(X, y).coef_, atol=1e-10)


def test_bad_input_refused_before_work(client, data):
    X, y, _, _ = data
    est = Lasso(alpha=0.05).fit(_d(X), _d(y))
    before = est.coef_.copy()
    Xn = X.copy()
    Xn[123, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity in the row chunk starting at row 120"):
        est.fit(_d(Xn), _d(y))
    with pytest.raises(ValueError, match="split along its columns"):
        est.fit(da.from_array(X, chunks=(CH, 5)), _d(y))
    with pytest.raises(ValueError, match="chunked alike"):
        est.fit(_d(X), _d(y, 50))
    with pytest.raises(ValueError, match="NaN or infinity"):
        LogisticRegression().fit(_d(Xn), _d((y > 3).astype(int)))
    np.testing.assert_array_equal(est.coef_, before)  # a rejected fit changes nothing


@pytest.mark.parametrize("name", ["HuberRegressor", "PoissonRegressor", "GammaRegressor", "QuantileRegressor"])
def test_estimators_without_a_distributed_solver_refuse_dask_input(name):
    """They would gather X on the client: refused before any chunk is computed."""
    import proxgan.linear_model as plm

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((N, P)), rng.uniform(1.0, 2.0, N)
    computed = []
    Xd = _d(X).map_blocks(lambda b: computed.append(1) or b, dtype=X.dtype, meta=np.empty((0, 0)))
    est = getattr(plm, name)()
    with pytest.raises(TypeError, match=f"{name} does not take dask input yet"):
        est.fit(Xd, _d(y))
    assert not computed and not hasattr(est, "coef_")
    est.fit(X, y)
    with pytest.raises(TypeError, match="does not take dask input"):
        est.predict(Xd)
    assert not computed


def test_without_dask_names_the_extra(monkeypatch):
    fake = type("Array", (), {"__module__": "dask.array.core"})()
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"proxgan\[dask\]") as e:
        Lasso().fit(fake, np.zeros(3))
    assert str(e.value) == EXTRA_MESSAGE


def test_import_does_not_import_dask():
    code = "import sys, proxgan.linear_model; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def _slow(block):
    time.sleep(0.25)
    return block


def test_worker_loss_mid_fit(client, data):
    """Kill a worker process while a pass runs: dask recomputes its chunks, the fit is unchanged."""
    X, y, sw, _ = data
    ref = Lasso(alpha=0.03).fit(_d(X), _d(y), _d(sw))
    slow = _d(X).map_blocks(_slow, dtype=X.dtype)
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("m", Lasso(alpha=0.03).fit(slow, _d(y), _d(sw))))
    pids = client.run(os.getpid)
    th.start()
    t0 = time.perf_counter()
    while not any(client.processing().values()) and time.perf_counter() - t0 < 60:
        time.sleep(0.05)
    time.sleep(0.2)
    assert th.is_alive()  # the pass is under way
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    th.join(timeout=120)
    assert not th.is_alive() and "m" in out
    np.testing.assert_array_equal(out["m"].coef_, ref.coef_)
    assert out["m"].intercept_ == ref.intercept_
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != set(pids.values())  # a worker process was replaced
