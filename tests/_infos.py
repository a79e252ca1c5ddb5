"""The one PenaltyInfo table and the one OptimizerInfo table of the tests.

Every test module that loops over penalties, optimizers or implementations reads them
(``from _infos import ...``; pytest puts ``tests/`` on the path through its conftest).
A new penalty is one :class:`PenaltyInfo` row here; the matrices pick it up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import MCP, SCAD, L0, L1, L2, Box, ElasticNet, GroupL1, LogSum, Lq, NonNegative, Penalty
from proxgan.penalties import SLOPE, TV1D, NuclearNorm, SparseGroupL1

__all__ = ["PenaltyInfo", "OptimizerInfo", "PENALTY_INFOS", "OPTIMIZER_INFOS", "IMPLS", "penalties_for",
           "penalty_flag_cases"]


@dataclass(frozen=True)
class PenaltyInfo:
    """A penalty as the test matrices see it.

    ``make(lam)`` builds it; ``lams[kind]`` is a strength at which some, not all, weights of
    the optimizer tests reach zero within a few steps (``kind``: ``"sgd"`` or ``"adam"``,
    ``"default"`` otherwise). ``fused``: a fused kernel takes it; ``cd``: coordinate descent
    takes it; ``convex``: solvers certify it with a duality gap or optimality, not only stationarity;
    ``matrix``: the shared optimizer matrices (every tensor shape, both ProxAdam metrics) take it;
    False for the penalties ``tests/test_penalties_nonseparable.py`` covers instead (SLOPE, TV1D,
    NuclearNorm take a scalar step only; SparseGroupL1's metric prox is a root-find whose
    paths agree to 1e-10, not to rounding), which :func:`penalties_for` leaves out unless
    asked for ``matrix=False``.
    ``all_flags``: the optimizer matrices run it with every flag variant (else the plain one only:
    each variant is a numba specialisation compiled cold in CI, about 10 s each on two cores).
    """

    name: str
    make: Callable[[float], Penalty | None]
    lams: dict[str, float] = field(default_factory=lambda: {"default": 0.4})
    fused: bool = True
    cd: bool = True
    convex: bool = True
    matrix: bool = True
    all_flags: bool = True

    def build(self, kind: str = "default") -> Penalty | None:
        """The penalty at the strength for ``kind``."""
        return self.make(self.lams.get(kind, self.lams["default"]))


PENALTY_INFOS: list[PenaltyInfo] = [
    PenaltyInfo("none", lambda lam: None, cd=False),
    PenaltyInfo("l1", L1, {"default": 0.4, "fused": 0.3}),
    # weighted L1 (fused code L1W); one weight broadcast to every shape of the matrices, whose tensors differ in shape
    PenaltyInfo("l1w", lambda lam: L1(lam, weights=torch.tensor([1.5], dtype=torch.float64)),
                {"default": 0.3, "fused": 0.2}, all_flags=False),
    PenaltyInfo("l2", L2, {"default": 0.5, "fused": 0.2}),
    PenaltyInfo("enet", lambda lam: ElasticNet(lam, 0.6), {"default": 0.4, "fused": 0.3}),
    PenaltyInfo("l0", L0, {"default": 0.02, "adam": 2e-4, "fused": 1e-3}, convex=False),
    PenaltyInfo("box", lambda lam: Box(-0.3, 0.6), {"default": 0.0}),
    PenaltyInfo("nonneg", lambda lam: NonNegative(), {"default": 0.0}),
    PenaltyInfo("group", lambda lam: GroupL1(lam), {"default": 0.5}, fused=False, cd=False),
    PenaltyInfo("mcp", lambda lam: MCP(lam, 3.0), {"default": 0.4, "fused": 0.3}, convex=False),
    PenaltyInfo("scad", lambda lam: SCAD(lam, 3.7), {"default": 0.4, "fused": 0.3}, convex=False, all_flags=False),
    PenaltyInfo("lhalf", lambda lam: Lq(lam, 0.5), {"default": 0.05, "adam": 0.03, "fused": 0.01}, convex=False,
                all_flags=False),
    PenaltyInfo("l23", lambda lam: Lq(lam, 2 / 3), {"default": 0.05, "adam": 0.03, "fused": 0.01}, convex=False,
                all_flags=False),
    PenaltyInfo("logsum", lambda lam: LogSum(lam, 0.1), {"default": 0.05, "adam": 0.03, "fused": 0.01},
                convex=False, all_flags=False),
    PenaltyInfo("slope", lambda lam: SLOPE([2 * lam, 1.5 * lam, lam] + [lam / 2] * 61), {"default": 0.3},
                fused=False, cd=False, matrix=False),
    PenaltyInfo("sparsegroup", lambda lam: SparseGroupL1(lam, 0.5), {"default": 0.5}, fused=False, cd=False,
                matrix=False),
    PenaltyInfo("nuclear", NuclearNorm, {"default": 0.3}, fused=False, cd=False, matrix=False),
    PenaltyInfo("tv1d", TV1D, {"default": 0.1}, fused=False, cd=False, matrix=False),
]


def penalties_for(kind: str = "default", **where: bool) -> dict[str, Penalty | None]:
    """``{name: penalty}`` at ``kind``'s strengths, for the rows whose flags equal ``where``
    (e.g. ``penalties_for("adam", fused=True)``); rows with ``matrix=False`` only when asked."""
    where = {"matrix": True, **where}
    return {info.name: info.build(kind) for info in PENALTY_INFOS
            if all(getattr(info, k) == v for k, v in where.items())}


def penalty_flag_cases(optimizer: str) -> list[tuple[str, str]]:
    """``(penalty name, flag variant)`` pairs of an optimizer's path-agreement matrix."""
    flags = list(OPTIMIZER_INFOS[optimizer].flags)
    return [(info.name, f) for info in PENALTY_INFOS if info.matrix for f in flags if info.all_flags or f == flags[0]]


@dataclass(frozen=True)
class OptimizerInfo:
    """An optimizer as the test matrices see it: ``cls(params, lr=lr, penalty=..., **flags[v], **IMPLS[i])``
    for each flag variant ``v``; ``kind`` picks the penalties' strengths (:class:`PenaltyInfo`)."""

    name: str
    cls: type
    lr: float
    kind: str
    flags: dict[str, dict[str, Any]]

    def build(self, params, penalty=None, flags: str = "plain", impl: str = "fused", **kw):
        """The optimizer with flag variant ``flags`` and implementation ``impl`` (:data:`IMPLS`)."""
        opts = {"lr": self.lr, **self.flags[flags], **IMPLS[impl], **kw}
        return self.cls(params, penalty=penalty, **opts)


OPTIMIZER_INFOS: dict[str, OptimizerInfo] = {
    "sgd": OptimizerInfo("sgd", ProxSGD, 0.05, "sgd", {
        "plain": dict(),
        "momentum-damp-wd": dict(momentum=0.9, dampening=0.2, weight_decay=0.1),
        "nesterov-max": dict(momentum=0.8, nesterov=True, maximize=True),
    }),
    "adam": OptimizerInfo("adam", ProxAdam, 0.05, "adam", {
        "plain": dict(),
        "amsgrad-wd-max": dict(amsgrad=True, weight_decay=0.1, maximize=True),
        "adamw": dict(weight_decay=0.2, decoupled_weight_decay=True, betas=(0.5, 0.9)),
    }),
}

#: the implementations of a step (``fused``: the default, fused where a kernel takes the group, else
#: multi-tensor)
IMPLS: dict[str, dict[str, Any]] = {"reference": dict(foreach=False, fused=False),
                                    "foreach": dict(foreach=True, fused=False),
                                    "fused": dict()}
