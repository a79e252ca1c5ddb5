"""The non-separable penalties: SLOPE, SparseGroupL1, weighted GroupL1, NuclearNorm, TV1D.

Each prox against a brute-force solve on awkward inputs, prox optimality through
subdiff_distance, parameter validation, the optimizer paths (multi-tensor; fused=True
refused; ProxAdam with the scalar step), FISTA to an optimality tolerance, and the
low-rank compaction.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from _infos import PENALTY_INFOS
from proxgan.datafits import Quadratic
from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import L1, SLOPE, TV1D, GroupL1, NuclearNorm, SparseGroupL1
from proxgan.penalties._sorted import pav_ref, slope_prox_ref
from proxgan.penalties._tv import tv1d_prox_ref
from proxgan.penalties._lowrank import nuclear_prox_ref
from proxgan.solvers import fista

D = torch.float64


def t(v):
    return torch.tensor(v, dtype=D)


# ---------------------------------------------------------------- SLOPE

def dual_ball(n: int, lams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The dual ball of SLOPE as ``A w <= b``: every signed subset sum,
    sum_{i in S} sigma_i w_i <= lam_1 + ... + lam_|S|."""
    rows, rhs = [], []
    for k in range(1, n + 1):
        for subset in itertools.combinations(range(n), k):
            for signs in itertools.product((-1.0, 1.0), repeat=k):
                a = np.zeros(n)
                a[list(subset)] = signs
                rows.append(a)
                rhs.append(lams[:k].sum())
    return np.array(rows), np.array(rhs)


def slope_prox_dual_qp(v: np.ndarray, lams: np.ndarray) -> np.ndarray:
    """Brute force (n <= 4): prox(v) = v - P_C(v), C the dual ball written out as every
    signed subset sum: sum_{i in S} sigma_i w_i <= lam_1 + ... + lam_|S|, solved by SLSQP."""
    A, b = dual_ball(v.size, lams)
    res = minimize(lambda w: 0.5 * ((w - v) ** 2).sum(), np.zeros(v.size), jac=lambda w: w - v, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda w: b - A @ w, "jac": lambda w: -A}],
                   options={"ftol": 1e-15, "maxiter": 500})
    return v - res.x


SLOPE_CASES = [  # (x, lams, step): ties, zeros, equal weights, thresholds exactly at the boundary
    ([3.0, -3.0, 1.0, 0.0], [2.0, 1.5, 1.0, 0.5], 1.0),
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], 1.0),             # equal weights, at the threshold: all zero
    ([2.0, -0.5, 0.25, 1.0], [1.0, 1.0, 1.0, 1.0], 0.5),  # equal weights: soft threshold at 0.5
    ([0.0, 0.0], [1.0, 0.0], 1.0),
    ([5.0, 4.0, -3.0], [3.0, 2.0, 0.0], 1.0),             # a zero weight
    ([0.3, -0.2, 0.1, 0.05], [0.4, 0.3, 0.2, 0.1], 2.0),  # everything pooled to zero
    ([2.5], [1.0], 2.5),                                    # exactly at the boundary: 0
]


@pytest.mark.parametrize("x,lams,step", SLOPE_CASES)
def test_slope_prox_matches_the_dual_qp_and_the_ref(x, lams, step):
    pen = SLOPE(lams)
    y = pen.prox(t(x), step)
    brute = slope_prox_dual_qp(np.array(x), step * np.array(lams))
    np.testing.assert_allclose(y.numpy(), brute, atol=1e-7)
    torch.testing.assert_close(y, slope_prox_ref(t(x), pen.lams, step), atol=1e-12, rtol=0)
    assert pen.subdiff_distance(y, (y - t(x)) / step).item() < 1e-10 if step > 0 else True


def test_pav_loop_matches_its_ref_on_ties_and_random():
    from proxgan.kernels._pav_cpu import pav_nonincreasing_clip

    gen = np.random.default_rng(0)
    for z in [np.array([1.0, 1.0, 1.0]), np.array([-1.0, 2.0, -1.0, 2.0]), np.array([0.0]),
              gen.standard_normal(40), np.round(gen.standard_normal(30), 1)]:
        out = np.empty_like(z)
        pav_nonincreasing_clip(z, out)
        np.testing.assert_allclose(out, pav_ref(z), atol=1e-10)


def test_slope_with_equal_weights_is_l1_and_its_distance_matches():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(7, 5, dtype=D, generator=gen)
    x[0, :3] = 0.0
    x[1, 1] = x[1, 0]  # a tie
    g = torch.randn(7, 5, dtype=D, generator=gen)
    pen, l1 = SLOPE([0.3] * 35), L1(0.3)
    torch.testing.assert_close(pen.prox(x, 0.7), l1.prox(x, 0.7), atol=1e-14, rtol=0)
    torch.testing.assert_close(pen.value(x), l1.value(x))
    assert pen.subdiff_distance(x, g).item() == pytest.approx(float(l1.subdiff_distance(x, g).norm()), rel=1e-12)


def test_slope_prox_optimality_and_a_wrong_gradient_is_seen():
    gen = torch.Generator().manual_seed(2)
    x = torch.round(torch.randn(50, dtype=D, generator=gen), decimals=1)  # many ties
    lams = torch.linspace(1.0, 0.1, 60, dtype=D)
    pen = SLOPE(lams)
    y = pen.prox(x, 0.5)
    assert (y == 0).any() and (y != 0).any()
    v = (y - x) / 0.5
    assert pen.subdiff_distance(y, v).item() < 1e-10
    assert pen.subdiff_distance(y, v + 0.1).item() > 0.05


def slope_distance_qp(x: np.ndarray, v: np.ndarray, lams: np.ndarray) -> float:
    """Brute force (n <= 4): the subdifferential is the face {w in C : <w, x> = J(x)} of the
    dual ball C (signed subset sums, as above); project v on it by SLSQP."""
    n = x.size
    A, b = dual_ball(n, lams)
    jx = float(np.sort(np.abs(x))[::-1] @ lams[:n])
    cons = [{"type": "ineq", "fun": lambda w: b - A @ w, "jac": lambda w: -A}]
    if jx > 0:  # at x = 0 the face is the whole ball
        cons.append({"type": "eq", "fun": lambda w: np.array([w @ x - jx]), "jac": lambda w: x[None]})
    res = minimize(lambda w: 0.5 * ((w - v) ** 2).sum(), np.zeros(n), jac=lambda w: w - v, method="SLSQP",
                   constraints=cons, options={"ftol": 1e-15, "maxiter": 500})
    assert res.success, res.message
    return float(np.sqrt(((res.x - v) ** 2).sum()))


@pytest.mark.parametrize("x,v", [
    ([1.0, 1.0, 0.0], [0.5, 3.0, 0.2]),     # a tied cluster, v unsorted, a zero
    ([1.0, -1.0, 2.0], [0.5, -3.0, 1.0]),   # a tie across signs
    ([0.0, 0.0, 0.0], [2.5, -0.3, 1.0]),    # all zero: the ball
    ([2.0, 0.0, 0.0, -1.0], [3.0, 1.8, -0.1, -0.5]),
    ([3.0, 3.0, 3.0], [2.0, 1.5, 1.0]),     # inside the subdifferential: 0
])
def test_slope_distance_matches_the_face_projection(x, v):
    lams = np.array([2.0, 1.5, 1.0, 0.5])
    got = SLOPE(lams).subdiff_distance(t(x), -t(v)).item()
    assert got == pytest.approx(slope_distance_qp(np.array(x), np.array(v), lams), abs=1e-6)


# ---------------------------------------------------------------- TV1D

TV_CASES = [
    [2.0], [1.0, -1.0], [0.0, 0.0], [1.0, 1.0, 1.0, 1.0],
    [0.0, 1.0, 0.0, 1.0, 0.0], [3.0, 0.0, 0.0, 3.0], [0.0, 2.0],  # 0, 2 at lam = 1: exactly merged
    [5.0, -5.0, 5.0, -5.0, 4.0, 4.0, 1.0, 0.0],
]


@pytest.mark.parametrize("x", TV_CASES)
def test_tv1d_prox_matches_the_dual_bvls_and_a_direct_solve(x):
    pen = TV1D(1.0)
    y = pen.prox(t(x), 1.0)
    torch.testing.assert_close(y, tv1d_prox_ref(t(x), 1.0), atol=1e-9, rtol=0)
    xs = np.array(x)
    obj = lambda v: 0.5 * ((v - xs) ** 2).sum() + np.abs(np.diff(v)).sum()  # noqa: E731
    brute = minimize(obj, xs, method="Powell", options={"xtol": 1e-10, "ftol": 1e-14, "maxiter": 20000})
    assert obj(y.numpy()) <= brute.fun + 1e-9
    assert pen.subdiff_distance(y, y - t(x)).max().item() < 1e-10


def test_tv1d_distance_sees_the_sign_of_a_jump():
    pen, lam = TV1D(0.5), 0.5
    x = t([0.0, 1.0])  # a jump up: u = +lam, the subdifferential is the single point (-lam, lam)
    assert pen.subdiff_distance(x, -t([-lam, lam])).item() == pytest.approx(0.0, abs=1e-15)
    assert pen.subdiff_distance(x, -t([lam, -lam])).item() == pytest.approx(2 * 2 ** 0.5 * lam)
    flat = t([1.0, 1.0])  # no jump: any u in [-lam, lam]
    assert pen.subdiff_distance(flat, -t([0.2, -0.2])).item() == pytest.approx(0.0, abs=1e-15)
    assert pen.subdiff_distance(flat, -t([0.7, -0.7])).item() == pytest.approx(0.2 * 2 ** 0.5)


def test_tv1d_rows_random_and_in_place():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(4, 3, 25, dtype=D, generator=gen).cumsum(-1)
    pen = TV1D(0.4)
    y = pen.prox(x, 2.0)
    torch.testing.assert_close(y, tv1d_prox_ref(x, 0.8), atol=1e-9, rtol=0)
    assert pen.subdiff_distance(y, (y - x) / 2.0).max().item() < 1e-9
    assert pen.subdiff_distance(y, (y - x) / 2.0 + 0.3).max().item() > 0.1
    z = x.clone().float()
    pen.prox(z, 2.0, out=z)
    torch.testing.assert_close(z, y.float(), atol=1e-5, rtol=1e-5)
    assert TV1D(0.0).prox(x, 1.0).equal(x)


# ---------------------------------------------------------------- NuclearNorm

def _rank_deficient(m, n, r, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(m, r, dtype=D, generator=gen) @ torch.randn(r, n, dtype=D, generator=gen)


@pytest.mark.parametrize("m,n,r", [(6, 4, 2), (3, 7, 1), (5, 5, 5), (4, 3, 0)])
def test_nuclear_prox_matches_ref_and_is_optimal(m, n, r):
    x = _rank_deficient(m, n, r, seed=m * n)
    pen = NuclearNorm(0.5)
    s = torch.linalg.svdvals(x)
    step = float(s[-1]) / 0.5 if r == min(m, n) else 1.0  # the smallest singular value exactly at the threshold
    y = pen.prox(x, step)
    torch.testing.assert_close(y, nuclear_prox_ref(x, 0.5 * step), atol=1e-12, rtol=0)
    assert torch.linalg.matrix_rank(y) <= max(r - (1 if r == min(m, n) else 0), 0)
    assert pen.subdiff_distance(y, (y - x) / step).item() < 1e-9


def test_nuclear_prox_against_a_direct_minimisation():
    x = t([[2.0, 1.0], [1.0, 0.5]]) + t([[0.0, 0.0], [0.0, 0.3]])
    pen = NuclearNorm(0.7)
    y = pen.prox(x, 1.0)
    xs = x.numpy()
    obj = lambda v: 0.5 * ((v.reshape(2, 2) - xs) ** 2).sum() + 0.7 * np.linalg.svd(v.reshape(2, 2), compute_uv=False).sum()  # noqa: E731,E501
    brute = minimize(obj, xs.ravel(), method="Powell", options={"xtol": 1e-10, "ftol": 1e-15, "maxiter": 20000})
    assert obj(y.numpy().ravel()) <= brute.fun + 1e-9


def test_nuclear_distance_on_a_rank_deficient_point():
    q1, _ = torch.linalg.qr(torch.randn(3, 3, dtype=D, generator=torch.Generator().manual_seed(4)))
    q2, _ = torch.linalg.qr(torch.randn(3, 3, dtype=D, generator=torch.Generator().manual_seed(5)))
    lam = 0.3
    x = 2.0 * torch.outer(q1[:, 0], q2[:, 0])  # rank 1
    pieces = [torch.outer(q1[:, i], q2[:, i]) for i in range(3)]
    # -grad = lam u1 v1' + Z, Z orthogonal to u1 and v1 with singular values 2 lam and lam / 2
    w = lam * pieces[0] + 2 * lam * pieces[1] + 0.5 * lam * pieces[2]
    assert NuclearNorm(lam).subdiff_distance(x, -w).item() == pytest.approx(lam, rel=1e-10)
    w2 = w + 0.1 * pieces[0]  # and off the tangent value by 0.1
    assert NuclearNorm(lam).subdiff_distance(x, -w2).item() == pytest.approx((lam ** 2 + 0.01) ** 0.5, rel=1e-10)


def test_nuclear_distance_on_a_full_rank_point_is_the_frobenius_gap():
    x = _rank_deficient(4, 3, 3, seed=5)
    g = torch.randn(4, 3, dtype=D, generator=torch.Generator().manual_seed(6))
    u, _, vh = torch.linalg.svd(x, full_matrices=False)
    want = torch.linalg.norm(-g - 0.3 * u @ vh)
    assert NuclearNorm(0.3).subdiff_distance(x, g).item() == pytest.approx(want.item(), rel=1e-10)


# ---------------------------------------------------------------- SparseGroupL1 and weighted GroupL1

def _metric_objective(pen, x, s):
    def f(v):
        v = torch.from_numpy(v).reshape(x.shape)
        return float(((v - x) ** 2 / (2 * s)).sum() + pen.value(v))
    return f


@pytest.mark.parametrize("step_kind", ["scalar", "per-coordinate"])
def test_sparse_group_prox_is_optimal_and_beats_a_direct_minimisation(step_kind):
    x = t([[2.0, -0.1, 0.5], [0.3, -0.2, 0.1], [0.0, 0.0, 0.0], [1.0, 1.0, -1.0]])
    gen = torch.Generator().manual_seed(7)
    s = 0.8 if step_kind == "scalar" else 0.2 + torch.rand(4, 3, dtype=D, generator=gen)
    pen = SparseGroupL1(0.6, 0.4, dim=0, weights=[1.0, 2.0, 1.0, 0.0])
    y = pen.prox(x, s)
    assert (y[1] == 0).all() and (y[2] == 0).all() and y[0, 1] == 0 and (y[3] != 0).all()
    assert pen.subdiff_distance(y, (y - x) / s).max().item() < 1e-9
    f = _metric_objective(pen, x, s)
    brute = minimize(f, x.numpy().ravel(), method="Powell", options={"xtol": 1e-10, "ftol": 1e-15, "maxiter": 40000})
    assert f(y.numpy().ravel()) <= brute.fun + 1e-9


def test_sparse_group_limits_are_l1_and_group_l1():
    x = torch.randn(5, 4, dtype=D, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(SparseGroupL1(0.5, 1.0).prox(x, 0.9), L1(0.5).prox(x, 0.9))
    torch.testing.assert_close(SparseGroupL1(0.5, 0.0).prox(x, 0.9), GroupL1(0.5).prox(x, 0.9))


def test_weighted_group_l1_scalar_and_metric_steps():
    x = torch.randn(4, 6, dtype=D, generator=torch.Generator().manual_seed(9))
    w = [1.0, 0.0, 3.0, 0.5]
    pen = GroupL1(0.4, weights=w)
    y = pen.prox(x, 1.0)
    for g, wg in enumerate(w):  # each group alone: unweighted GroupL1 at lam * w_g
        torch.testing.assert_close(y[g], GroupL1(0.4 * wg).prox(x[g:g + 1], 1.0)[0])
    assert torch.equal(y[1], x[1])  # zero weight: untouched
    s = 0.1 + torch.rand(4, 6, dtype=D, generator=torch.Generator().manual_seed(10))
    ym = pen.prox(x, s)
    assert pen.subdiff_distance(ym, (ym - x) / s).max().item() < 1e-9
    torch.testing.assert_close(GroupL1(0.4, weights=[1.0] * 4).prox(x, s), GroupL1(0.4).prox(x, s))
    empty = torch.zeros(4, 0, dtype=D)  # empty groups
    assert pen.prox(empty, 1.0).shape == (4, 0) and pen.value(empty).item() == 0.0
    with pytest.raises(ValueError, match="3 groups"):
        GroupL1(0.1, weights=[1.0, 1.0]).prox(torch.zeros(3, 2), 1.0)


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("make,attr,bad", [
    (lambda: SLOPE([2.0, 1.0]), "lams", [1.0, 2.0]),
    (lambda: SLOPE([2.0, 1.0]), "lams", [1.0, -1.0]),
    (lambda: SLOPE([2.0, 1.0]), "lams", [float("nan")]),
    (lambda: TV1D(0.1), "lam", -1.0),
    (lambda: NuclearNorm(0.1), "lam", float("inf")),
    (lambda: SparseGroupL1(0.1, 0.5), "l1_ratio", 1.5),
    (lambda: SparseGroupL1(0.1, 0.5), "weights", [1.0, -2.0]),
    (lambda: GroupL1(0.1), "weights", [[1.0]]),
])
def test_bad_parameters_raise_on_build_and_on_assignment(make, attr, bad):
    pen = make()
    before = repr(pen)
    with pytest.raises((ValueError, TypeError)):
        setattr(pen, attr, bad)
    assert repr(pen) == before
    kwargs = {attr: bad}
    with pytest.raises((ValueError, TypeError)):
        if type(pen) is SparseGroupL1:
            SparseGroupL1(**{"lam": 0.1, "l1_ratio": 0.5, **kwargs})
        elif type(pen) is GroupL1:
            GroupL1(0.1, **kwargs)
        else:
            type(pen)(bad)


def test_scalar_step_only_penalties_refuse_a_varying_step():
    x = torch.randn(3, 4, dtype=D)
    for pen in (SLOPE(torch.ones(12)), TV1D(0.1), NuclearNorm(0.1)):
        with pytest.raises(ValueError, match="scalar step"):
            pen.prox(x, torch.rand(3, 4, dtype=D) + 0.1)
        torch.testing.assert_close(pen.prox(x, torch.full((3, 4), 0.5, dtype=D)), pen.prox(x, 0.5))
        torch.testing.assert_close(pen.prox(x, torch.tensor(0.5, dtype=D)), pen.prox(x, 0.5))
    with pytest.raises(ValueError, match="2-D"):
        NuclearNorm(0.1).prox(torch.zeros(4), 1.0)
    with pytest.raises(ValueError, match="at least one weight per entry"):
        SLOPE([1.0, 1.0]).prox(torch.zeros(3), 1.0)


# ---------------------------------------------------------------- optimizers and solvers

# the PenaltyInfo rows of the non-separable penalties, and a weighted GroupL1
NONSEP = {info.name: info.build for info in PENALTY_INFOS if info.name in ("slope", "sparsegroup", "nuclear", "tv1d")}
NONSEP["group-weighted"] = lambda: GroupL1(0.3, weights=[1.0, 0.5, 2.0, 0.0])


def _run(opt_cls, pen, steps=4, **kw):
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(4, 8, dtype=D, generator=gen))
    opt = opt_cls([p], lr=0.1, penalty=pen, **kw)
    for _ in range(steps):
        p.grad = torch.randn(4, 8, dtype=D, generator=gen)
        opt.step()
    return p.detach()


@pytest.mark.parametrize("name", list(NONSEP))
def test_optimizer_paths_agree_and_fused_true_is_refused(name):
    from proxgan._lowering import lower

    assert lower(NONSEP[name]()) is None
    for cls, kw in ((ProxSGD, dict(momentum=0.9)), (ProxAdam, dict(prox="scalar"))):
        ref = _run(cls, NONSEP[name](), foreach=False, fused=False, **kw)
        torch.testing.assert_close(_run(cls, NONSEP[name](), **kw), ref, atol=1e-13, rtol=1e-12)  # fused=None
        torch.testing.assert_close(_run(cls, NONSEP[name](), foreach=True, **kw), ref, atol=1e-13, rtol=1e-12)
        with pytest.raises(ValueError, match="fused=True supports"):
            cls([torch.nn.Parameter(torch.zeros(4, 8, dtype=D))], lr=0.1, penalty=NONSEP[name](), fused=True, **kw)
    # ProxAdam with one step value: x_{k+1} = prox_{lr g}(adam update) exactly
    pen = NONSEP[name]()
    p = torch.nn.Parameter(torch.randn(4, 8, dtype=D))
    x0 = p.detach().clone()
    g = torch.randn(4, 8, dtype=D)
    opt = ProxAdam([p], lr=0.1, penalty=pen, prox="scalar")
    p.grad = g.clone()
    opt.step()
    torch.testing.assert_close(p.detach(), pen.prox(x0 - 0.1 * g / (g.abs() + 1e-8), 0.1), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("name", ["slope", "nuclear", "tv1d"])
def test_prox_adam_preconditioned_is_refused_when_built_and_at_a_step(name):
    p = torch.nn.Parameter(torch.ones(4, 8, dtype=D))
    with pytest.raises(ValueError, match="prox='scalar'"):
        ProxAdam([p], lr=0.1, penalty=NONSEP[name]())
    opt = ProxAdam([p], lr=0.1, penalty=NONSEP[name](), prox="scalar")
    opt.param_groups[0]["prox"] = "preconditioned"  # switched after construction
    p.grad = torch.ones_like(p)
    with pytest.raises(ValueError, match="prox='scalar'"):
        opt.step()
    assert torch.equal(p.detach(), torch.ones(4, 8, dtype=D)) and not opt.state[p]


def test_sparse_group_runs_with_the_preconditioned_prox():
    pen = SparseGroupL1(0.3, 0.5, weights=[1.0, 0.5, 2.0, 0.0])
    ref = _run(ProxAdam, pen, foreach=False, fused=False)
    torch.testing.assert_close(_run(ProxAdam, pen), ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("name", ["slope", "sparsegroup", "tv1d"])
def test_fista_reaches_the_optimality_tolerance(name):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((30, 12))
    w_true = np.repeat([1.5, 0.0, -1.0], 4)
    y = X @ w_true + 0.1 * rng.standard_normal(30)
    pen = {"slope": SLOPE(np.linspace(3.0, 1.0, 12)), "sparsegroup": SparseGroupL1(2.0, 0.5), "tv1d": TV1D(2.0)}[name]
    res = fista.solve(Quadratic(X, y), pen, tol=1e-7, max_iter=20000)
    assert res.converged and res.crit <= 1e-7
    w = torch.from_numpy(res.coef)
    assert pen.optimality(w, Quadratic(X, y).grad(w)) <= 1e-7
    if name == "tv1d":  # piecewise constant
        assert len(np.unique(np.round(res.coef, 8))) < 12


def test_proximal_gradient_on_a_matrix_problem_with_the_nuclear_norm():
    gen = torch.Generator().manual_seed(12)
    target = _rank_deficient(6, 5, 2, seed=13) + 0.05 * torch.randn(6, 5, dtype=D, generator=gen)
    pen = NuclearNorm(0.5)
    w = torch.nn.Parameter(torch.zeros(6, 5, dtype=D))
    opt = ProxSGD([w], lr=0.5, penalty=pen)  # lr < 1/L = 1: proximal gradient (ISTA)
    for _ in range(200):
        w.grad = w.detach() - target
        opt.step()
    assert pen.optimality(w.detach(), w.detach() - target) < 1e-10
    assert torch.linalg.matrix_rank(w.detach()) == 2


# ---------------------------------------------------------------- low-rank compaction

def test_compact_factorises_a_low_rank_linear_layer():
    from torch import nn

    from proxgan.prune import compact, count_params

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(), nn.Linear(12, 3)).eval()
    with torch.no_grad():
        w = model[0].weight
        lam = float(torch.linalg.svdvals(w.double())[3])  # keeps the 3 singular values above the 4th
        w.copy_(NuclearNorm(lam).prox(w, 1.0))
    small = compact(model, low_rank=True)
    first = small[0]
    assert isinstance(first, nn.Sequential)
    assert first[0].weight.shape == (3, 20) and first[1].weight.shape == (16, 3) and first[0].bias is None
    assert isinstance(small[2], nn.Linear) and isinstance(small[4], nn.Linear)
    assert count_params(small) < count_params(model)
    x = torch.randn(8, 20)
    torch.testing.assert_close(small(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(NONSEP))
def test_optimizer_state_dict_round_trip_with_weights_only(name):
    import io

    pen = NONSEP[name]()
    p = torch.nn.Parameter(torch.randn(4, 8, dtype=D))
    opt = ProxSGD([p], lr=0.1, penalty=pen)
    p.grad = torch.randn(4, 8, dtype=D)
    opt.step()
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    other = ProxSGD([torch.nn.Parameter(p.detach().clone())], lr=0.1)
    other.load_state_dict(torch.load(buf, weights_only=True))
    assert other.param_groups[0]["penalty"] == pen
