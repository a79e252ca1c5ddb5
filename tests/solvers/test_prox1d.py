"""The compiled per-coordinate prox (numba) against its readable twin, ``penalty.prox``."""
import math

import numpy as np
import pytest
import torch

from proxgan import penalties as P
from proxgan.solvers._prox1d import penalty_params, prox1d, prox1d_vec

AWKWARD = torch.tensor([-1e300, -3.0, -1.0000001, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 0.25, 0.9999999, 1.0,
                        2.0, 7.5, 1e300], dtype=torch.float64)
STEPS = [0.0, 1e-12, 0.5, 1.0, 3.0, 1e6]


def _numba(penalty, x, step, positive=False):
    code, par = penalty_params(penalty, x.numel(), positive)
    return prox1d_vec(x.numpy(), np.full(x.numel(), step), code, par)


@pytest.mark.parametrize("penalty", [P.L1(0.0), P.L1(1.0), P.L1(0.3), P.L2(2.0), P.L2(0.0), P.ElasticNet(1.0, 0.3),
                                     P.ElasticNet(0.7, 1.0), P.ElasticNet(0.7, 0.0), P.Box(-0.5, 2.0),
                                     P.Box(0.1, 0.1), P.NonNegative(), P.Box(-math.inf, -0.2), P.L0(0.3), P.L0(0.0)],
                         ids=repr)
@pytest.mark.parametrize("step", STEPS)
def test_prox1d_matches_penalty_prox(penalty, step):
    ref = penalty.prox(AWKWARD, step).numpy()
    got = _numba(penalty, AWKWARD, step)
    np.testing.assert_allclose(got, ref, rtol=1e-15, atol=0)
    assert np.array_equal(got == 0, ref == 0)  # exact zeros in the same places


def test_weighted_l1_matches():
    w = torch.linspace(0, 3, AWKWARD.numel(), dtype=torch.float64)
    pen = P.L1(0.4, weights=w)
    for step in STEPS:
        np.testing.assert_allclose(_numba(pen, AWKWARD, step), pen.prox(AWKWARD, step).numpy(), rtol=1e-15)


@pytest.mark.parametrize("penalty", [P.L1(0.5), P.ElasticNet(0.5, 0.4), P.L2(1.0), P.L0(0.2)], ids=repr)
def test_positive_is_prox_then_projection(penalty):
    ref = P.NonNegative().prox(penalty.prox(AWKWARD, 0.7), 0.7).numpy()
    np.testing.assert_array_equal(_numba(penalty, AWKWARD, 0.7, positive=True), ref)


def test_prox1d_is_the_argmin():
    # brute force on a fine grid: the closed form is the minimiser of the 1-D problem
    grid = np.linspace(-3, 3, 600001)
    for x, s, l1, l2, lo, hi in [(1.3, 0.7, 0.5, 0.2, -math.inf, math.inf), (-2.0, 1.0, 0.3, 0.0, -1.0, 0.5),
                                 (0.4, 2.0, 0.1, 1.0, 0.2, 1.0), (-0.1, 1.0, 0.05, 0.0, 0.0, math.inf)]:
        g = grid[(grid >= lo) & (grid <= hi)]
        obj = (g - x) ** 2 / (2 * s) + l1 * np.abs(g) + 0.5 * l2 * g ** 2
        code, par = penalty_params(P.ElasticNet(l1 + l2, l1 / (l1 + l2)), 1)
        par[2], par[3] = lo, hi
        assert abs(prox1d(x, s, code, par, 0) - g[np.argmin(obj)]) <= 2e-5


@pytest.mark.parametrize("penalty", [P.GroupL1(1.0), P.NM(2, 4)], ids=repr)
def test_unsupported_penalties_raise(penalty):
    with pytest.raises(TypeError, match="needs a separable penalty"):
        penalty_params(penalty, 3)


def test_positive_conflicting_box():
    with pytest.raises(ValueError, match="positive=True conflicts"):
        penalty_params(P.Box(-2.0, -1.0), 3, positive=True)

