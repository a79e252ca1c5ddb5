"""The Lasso's soft-threshold path of the quadratic CD hooks against the generic prox switch.

For an L1 code (plain or weighted) the epochs and the scores take :func:`soft1d`, which skips the
switch over every penalty code; the generic path (:func:`prox1d`, reached here through ElasticNet
with a zero ridge part, whose prox divides by exactly 1) is its readable twin. Both must give the
same bits: the same coefficients, residual and scores.
"""
import math

import numpy as np
import pytest
import scipy.sparse as sp

from proxgan.kernels.fused_penalty import Code
from proxgan.solvers import _cd_kernels as K
from proxgan.solvers._prox1d import prox1d

AWKWARD = np.array([-1e300, -3.0, -1.0000001, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 0.25, 0.9999999, 1.0, 2.0,
                    1e300, math.inf, -math.inf, math.nan])
STEPS = [0.0, 1e-12, 0.5, 1.0, 3.0, 1e6]
BOUNDS = [(-math.inf, math.inf), (0.0, math.inf), (-0.5, 2.0)]


def _same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.tobytes() == b.tobytes() or (np.array_equal(a, b, equal_nan=True)
                                          and np.array_equal(np.signbit(a), np.signbit(b)))


@pytest.mark.parametrize("code", [int(Code.L1), int(Code.L1W)])
def test_soft1d_is_prox1d(code):
    assert K.is_soft(code) and not K.is_soft(int(Code.ENET)) and not K.is_soft(int(Code.MCP))
    for a in (0.0, 0.3, 1.0, 1e300):
        for lo, hi in BOUNDS:
            P = np.array([[a], [0.0], [lo], [hi]])
            for step in STEPS:
                got = [K.soft1d(x, step, a, lo, hi) for x in AWKWARD]
                ref = [prox1d(x, step, code, P, 0) for x in AWKWARD]
                assert _same_bits(got, ref), (a, lo, hi, step)


def _problem(sparse, positive):
    rng = np.random.default_rng(3)
    n, p = 12, 9
    X = rng.standard_normal((n, p))
    X[:, 4] = 0.0  # a zero column: its coordinate only takes its bounds
    X[rng.random((n, p)) < 0.3] = 0.0
    y = rng.standard_normal(n)
    lam = 0.05 * np.abs(X.T @ y).max() / n * np.linspace(0.5, 1.5, p)  # per-coordinate (weighted L1)
    L1 = np.array([lam, np.zeros(p), np.full(p, 0.0 if positive else -math.inf), np.full(p, math.inf)])
    EN = L1.copy()  # ElasticNet with b = 0: the generic switch, same soft threshold
    if sparse:
        Xs = sp.csc_matrix(X)
        parts = (np.empty((0, 0), order="F"), Xs.data, Xs.indices, Xs.indptr, True)
    else:
        parts = (np.asfortranarray(X), np.empty(0), np.empty(0, np.int32), np.empty(0, np.int32), False)
    mu = X.mean(0)  # implicit centring, as a sparse design with an intercept
    v = np.ones(n)
    c = X.T @ v
    return parts, mu, v, c, ((X - mu) ** 2).sum(0), y, L1, EN


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("positive", [False, True])
def test_soft_epochs_and_scores_match_generic(sparse, positive):
    parts, mu, v, c, norms2, y, PL1, PEN = _problem(sparse, positive)
    p = PL1.shape[1]
    active = np.ones(p, dtype=np.bool_)
    active[7] = False  # a screened coordinate: never updated, score 0
    ws = np.array([0, 2, 3, 4, 5, 7, 8])
    out = {}
    for name, code, P in (("soft", int(Code.L1W), PL1), ("generic", int(Code.ENET), PEN)):
        w = np.zeros(p)
        w[1] = 0.3  # outside ws: keeps its value
        r_raw = y - (parts[0] if not sparse else sp.csc_matrix((parts[1], parts[2], parts[3]))) @ w
        s = float(mu @ w)
        for _ in range(4):
            s = K._epoch(*parts, mu, c, norms2, r_raw, s, w, ws, code, P, active)
        sc, G = np.empty(p), np.zeros(p)
        K._scores(*parts, c, norms2, r_raw, s, w, np.arange(p), code, P, sc, G, active)
        sc2, G2, Ga = np.empty(p), np.zeros(p), np.zeros(p)
        K._full_scores(*parts, mu, v, c, norms2, r_raw, s, w, code, P, sc2, G2, active, True, r_raw * 0.5, Ga)
        out[name] = (w, r_raw, s, sc, G, sc2, G2, Ga)
    for got, ref in zip(out["soft"], out["generic"]):
        assert _same_bits(got, ref)
    w, _, _, sc = out["soft"][:4]
    assert np.count_nonzero(w[ws]) >= 2 and w[1] == 0.3 and w[7] == 0.0 and sc[7] == 0.0
    assert np.any(sc > 0)  # four epochs do not reach the minimiser: the scores are compared where nonzero
    if positive:
        assert np.all(w >= 0)
