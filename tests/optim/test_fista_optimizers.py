"""proxgan.optim.ISTA / FISTA: same minimiser as the CD solver, closure rules, restart, state."""
import numpy as np
import pytest
import torch

from proxgan.datafits import Quadratic
from proxgan.optim import FISTA, ISTA
from proxgan.penalties import L1, ElasticNet, GroupL1
from proxgan.solvers import cd


def problem(seed=0, n=60, p=15):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, p, generator=g, dtype=torch.float64)
    y = X[:, :3] @ torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64) + 0.1 * torch.randn(n, generator=g,
                                                                                               dtype=torch.float64)
    return X, y


def run(Opt, X, y, penalty, n_steps, **kw):
    w = torch.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)
    opt = Opt([w], penalty=penalty, **kw)
    losses = []

    def closure():
        opt.zero_grad()
        loss = 0.5 * ((X @ w - y) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(n_steps):
        opt.step(closure)
        losses.append(float(closure().detach()) + float(penalty.value(w.detach())))
    return w.detach(), losses, opt


@pytest.mark.parametrize("Opt,steps", [(FISTA, 150), (ISTA, 600)])
@pytest.mark.parametrize("penalty", [L1(0.05), ElasticNet(0.1, 0.5)], ids=["l1", "enet"])
def test_reaches_the_cd_solution(Opt, steps, penalty):
    X, y = problem()
    ref = cd.solve(Quadratic(X.numpy(), y.numpy()), penalty, tol=1e-14).coef
    w, _, _ = run(Opt, X, y, penalty, steps, lr=10.0)
    np.testing.assert_allclose(w.numpy(), ref, atol=1e-7)
    assert np.array_equal(w.numpy() == 0, ref == 0)  # exact zeros in the parameters


def test_ista_is_monotone_and_fista_is_faster():
    X, y = problem()
    X = X + 2.0 * X[:, :1]  # correlated columns: an ill-conditioned problem
    _, li, _ = run(ISTA, X, y, L1(0.01), 40, lr=10.0)
    _, lf, _ = run(FISTA, X, y, L1(0.01), 40, lr=10.0)
    assert all(b <= a + 1e-12 for a, b in zip(li, li[1:]))
    best = min(li + lf) - 1e-12
    assert lf[-1] - best < li[-1] - best


def test_restart_helps():
    X, y = problem(n=200, p=20)
    _, a, _ = run(FISTA, X, y, L1(0.001), 150, lr=10.0, restart=True)
    _, b, _ = run(FISTA, X, y, L1(0.001), 150, lr=10.0, restart=False)
    assert a[-1] <= b[-1]


def test_backtracking_shrinks_the_step():
    X, y = problem()
    _, _, opt = run(ISTA, X, y, L1(0.05), 3, lr=100.0)
    s = opt.state[opt.param_groups[0]["params"][0]]["step_size"]
    L = float(torch.linalg.matrix_norm(X, 2) ** 2) / X.shape[0]
    # halved from 100 until sufficient decrease, which holds for every s <= 1/L: so s >= 1/(2L)
    assert 0.4999 / L <= s < 100.0


@pytest.mark.parametrize("Opt", [FISTA, ISTA])
def test_missing_closure_is_a_clear_error(Opt):
    w = torch.zeros(3, requires_grad=True)
    opt = Opt([w], penalty=L1(0.1))
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()


def test_ista_without_backtracking_uses_grad():
    w = torch.tensor([1.0, -0.05, 0.3], requires_grad=True)
    opt = ISTA([w], lr=0.5, penalty=L1(0.2), backtracking=False)
    w.grad = torch.tensor([0.2, 0.0, -0.4])
    opt.step()
    expected = L1(0.2).prox(torch.tensor([1.0, -0.05, 0.3]) - 0.5 * torch.tensor([0.2, 0.0, -0.4]), 0.5)
    torch.testing.assert_close(w.detach(), expected)


@pytest.mark.parametrize("kw,msg", [(dict(lr=0.0), "lr must be"), (dict(lr=float("nan")), "lr must be"),
                                    (dict(shrink=1.0), "shrink must be"), (dict(backtracking=1), "backtracking")])
def test_bad_hyperparameters(kw, msg):
    with pytest.raises(ValueError, match=msg):
        FISTA([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(TypeError, match="penalty must be"):
        ISTA([torch.zeros(2, requires_grad=True)], penalty="l1")


def test_groups_with_different_penalties_and_state_dict_roundtrip():
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 4)
    X = torch.randn(30, 6)
    Y = torch.randn(30, 4)
    groups = [{"params": [model.weight], "penalty": GroupL1(0.3)}, {"params": [model.bias], "penalty": None}]
    opt = FISTA(groups, lr=1.0)

    def closure():
        opt.zero_grad()
        loss = ((model(X) - Y) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(50):
        opt.step(closure)
    assert (model.weight.abs().sum(1) == 0).any()  # whole output rows zeroed by the group prox
    assert (model.bias != 0).all()
    sd = opt.state_dict()
    opt2 = FISTA([{"params": [model.weight], "penalty": GroupL1(0.3)}, {"params": [model.bias]}], lr=1.0)
    opt2.load_state_dict(sd)
    assert opt2.state[model.weight]["t"] == opt.state[model.weight]["t"]
