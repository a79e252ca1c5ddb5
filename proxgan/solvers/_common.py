"""Shared pieces of the solvers: the result record and a bounded/partly-free penalty wrapper."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from proxgan._torch import torch

from proxgan import penalties as _pen

__all__ = ["SolverResult", "Composite", "torch_enet_gap", "enet_gap_criterion"]


@dataclass
class SolverResult:
    """Result of a solver run.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
    crit : float
        Duality gap or optimality violation reached (see ``criterion``).
    criterion : {"gap", "optimality"}
    n_iter : int
        Iterations (outer working-set iterations for coordinate descent and proximal Newton).
    converged : bool
    """

    coef: np.ndarray
    crit: float
    criterion: str
    n_iter: int
    converged: bool


class Composite(_pen.Penalty):
    r"""``penalty`` on the first coordinates, optionally intersected with :math:`x \ge lo`,
    and no penalty on the last ``n_free`` coordinates (an intercept).

    For a separable penalty :math:`g`, ``prox`` solves
    :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + s\,g(y_{:p}) + \iota_{y_{:p}\ge lo}`: the prox of
    :math:`g` followed by the projection (exact coordinate by coordinate: the minimiser
    of a convex function of one variable over a half-line is the projection of the free
    minimiser). Both steps call the penalties' own prox.

    Parameters
    ----------
    penalty : Penalty
        The penalty :math:`g` of the first ``p = n - n_free`` coordinates (separable when
        ``lo`` is given).
    lo : float or None, default None
        Lower bound of the first coordinates (:math:`y_{:p} \ge lo`, e.g. 0 for a positive
        fit); None: no bound.
    n_free : int, default 0
        Number of trailing coordinates left unpenalised and unbounded (e.g. 1 for an
        intercept).

    Raises
    ------
    ValueError
        If ``lo`` is given with a non-separable penalty.
    """

    def __init__(self, penalty: _pen.Penalty, lo: float | None = None, n_free: int = 0) -> None:
        if lo is not None and not penalty.separable:
            raise ValueError("a bound can only be combined with a separable penalty")
        self.penalty = penalty
        self.box = None if lo is None else _pen.Box(lo, math.inf)
        self.n_free = int(n_free)

    def check(self) -> None:
        """Check the wrapped penalty's parameters again."""
        self.penalty.check()

    def _split(self, x):
        k = x.shape[0] - self.n_free
        return x[:k], x[k:]

    def value(self, x: torch.Tensor) -> torch.Tensor:
        a, _ = self._split(x)
        v = self.penalty.value(a)
        return v + self.box.value(a) if self.box is not None else v

    def _prox(self, x, step, out):
        a, b = self._split(x)
        sa = step if not isinstance(step, torch.Tensor) or step.dim() == 0 else step[: a.shape[0]]
        ya = self.penalty._prox(a, sa, None)
        if self.box is not None:
            ya = self.box._prox(ya, sa, None)
        y = torch.cat([ya, b])
        return y if out is None else out.copy_(y)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Fixed-point violation :math:`|x - \\operatorname{prox}_g(x - \\nabla f)|` per coordinate."""
        return (x - self._prox(x - grad, 1.0, None)).abs()


def torch_enet_gap(datafit, w: torch.Tensor, l1: torch.Tensor, l2: torch.Tensor, positive: bool) -> float:
    """Duality gap of ``Quadratic + Σ l1_j|w_j| + ½ l2_j w_j²`` computed in torch on the datafit's device.

    The twin of :func:`proxgan.solvers._cd_kernels.gap_from_scalars` (same formulas), so that
    FISTA/ISTA on a GPU check their certificate without copying to the CPU.
    """
    y = datafit._torch()[2]
    n = datafit.n_samples
    r = y - datafit.matvec(w)
    G = datafit.rmatvec(r)
    rn2 = float(r @ r)
    ry = float(r @ y)
    wl1 = float((l1 * w.abs()).sum())
    wl2 = float((l2 * w * w).sum())
    if not bool((l1 > 0).any()):
        pen = l2 > 0
        ridge = float((0.5 * l2[pen] * (w[pen] - G[pen] / (n * l2[pen])) ** 2).sum()) if bool(pen.any()) else 0.0
        free = float((G[~pen] ** 2 + (G[~pen] * w[~pen]).abs()).sum()) / n
        return ridge + free
    a = G / n - l2 * w
    if not positive:
        a = a.abs()
    m = l1 > 0
    ratio = (a[m] / l1[m]).max()
    scale = 1.0 / max(float(ratio), 1.0)
    primal = 0.5 * rn2 / n + wl1 + 0.5 * wl2
    dual = -0.5 * scale * scale * (rn2 / n + wl2) + scale * ry / n
    return primal - dual


def enet_gap_criterion(datafit, penalty: _pen.Penalty, positive: bool = False):
    """The duality gap of ``Quadratic + penalty`` (L1 / L2 / ElasticNet, optionally ``w >= 0``) as a
    stopping criterion ``w -> gap`` for :func:`proxgan.solvers.fista.solve` and
    :func:`proxgan.solvers.ista.solve`, evaluated on the datafit's device (:func:`torch_enet_gap`).

    Parameters
    ----------
    datafit : Quadratic
        The quadratic datafit (``0.5 * ||y - X w||^2 / n_samples``) the solver minimises.
    penalty : Penalty
        An L1, L2 or ElasticNet penalty (possibly wrapped in :class:`Composite`).
    positive : bool, default False
        Whether the coefficients are constrained to ``w >= 0``.

    Returns
    -------
    callable
        ``gap(w) -> float``: the duality gap at the coefficient tensor ``w`` (on the
        datafit's device).

    Raises
    ------
    ValueError
        If ``penalty`` is not an L1, L2 or ElasticNet penalty.
    """
    from proxgan.solvers._prox1d import enet_rows, penalty_params

    rows = enet_rows(*penalty_params(penalty, datafit.n_features, positive))
    if rows is None:
        raise ValueError(f"the duality gap needs an L1/L2/ElasticNet penalty, got {type(penalty).__name__}")
    l1, l2 = rows
    l1_t = torch.as_tensor(l1, device=datafit.device)
    l2_t = torch.as_tensor(l2, device=datafit.device)

    def gap(w: torch.Tensor) -> float:  # on the datafit's device: no copy to the CPU at every check
        return torch_enet_gap(datafit, w, l1_t, l2_t, positive)

    return gap
