r"""Shared machinery of the proximal optimizers: validation, penalty per group, dispatch, state I/O.

A proximal optimizer takes the smooth step of its base algorithm and then the prox of the
group's penalty, :math:`\arg\min_y \tfrac12\lVert y-u\rVert^2_{\operatorname{diag}(1/s)} + g(y)`.
This module holds what ProxSGD and ProxAdam share:

* hyperparameter checks with clear messages, run when a group is added **and** at every
  step before anything is written (a rejected step leaves parameters and state untouched);
* the choice of implementation per parameter: ``fused`` (one pass over memory: numba on
  CPU, Triton on CUDA), ``foreach`` (multi-tensor ``torch._foreach_*``) or the for-loop
  reference;
* ``state_dict`` / ``load_state_dict`` that store penalties as plain data (loadable with
  ``torch.load(weights_only=True)``) and keep float32 state for half-precision parameters.
"""
from __future__ import annotations

import math
import numbers
import os
from itertools import chain
from typing import Any, Iterable

import torch
from torch.optim import Optimizer

from proxgan import kernels as _k
from proxgan import penalties as _penalties
from proxgan.kernels.fused_penalty import penalty_code
from proxgan.penalties import Penalty

__all__ = ["ProxOptimizer", "check_number", "check_flag", "compute_dtype"]

_LOW = (torch.float16, torch.bfloat16)
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def compute_dtype(p: torch.Tensor) -> torch.dtype:
    """float64 for float64 parameters, float32 otherwise (half parameters keep float32 state)."""
    return torch.float64 if p.dtype == torch.float64 else torch.float32


def check_number(value: Any, name: str, lo: float = 0.0, hi: float = math.inf, hi_open: bool = False) -> float:
    """Return ``value`` as a float, checking it is a finite number in ``[lo, hi]`` (or ``[lo, hi)``)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        value = value.item()
    interval = f"[{lo:g}, {hi:g}{')' if hi_open else ']'}"
    what = f"a finite number >= {lo:g}" if hi == math.inf else f"a number in {interval}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < lo or value > hi or (hi_open and value == hi):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return value


def check_flag(value: Any, name: str, allow_none: bool = False) -> None:
    if not (isinstance(value, bool) or (allow_none and value is None)):
        allowed = "True, False or None" if allow_none else "True or False"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def _penalty_to_data(penalty: Any) -> Any:
    """A proxgan penalty as plain data (class name + fields); other objects unchanged."""
    if isinstance(penalty, Penalty) and getattr(_penalties, type(penalty).__name__, None) is type(penalty):
        return {"__penalty__": type(penalty).__name__, "fields": dict(penalty.__dict__)}
    return penalty


def _penalty_from_data(data: Any) -> Any:
    if isinstance(data, dict) and "__penalty__" in data:
        cls = getattr(_penalties, str(data["__penalty__"]), None)
        if not (isinstance(cls, type) and issubclass(cls, Penalty)):
            raise ValueError(f"unknown penalty {data['__penalty__']!r} in the optimizer state")
        obj = cls.__new__(cls)
        obj.__dict__.update(data["fields"])
        return obj
    return data


def _kernels_mode() -> str:
    """``PROXGAN_KERNELS`` (auto | triton | torch), read once per step (see proxgan.kernels.use_triton)."""
    return os.environ.get("PROXGAN_KERNELS", "auto")


def _fused_kind(p: torch.Tensor, mode: str | None = None) -> str | None:
    """``"triton"`` or ``"cpu"`` when a fused kernel takes ``p``, else ``None``."""
    if p.layout != torch.strided or not p.is_contiguous():
        return None
    mode = _kernels_mode() if mode is None else mode
    if mode != "torch" and (p.is_cuda or mode == "triton") and _k.triton_available():
        return "triton"
    if p.device.type == "cpu" and p.dtype in (torch.float32, torch.float64):
        return "cpu"
    return None


class ProxOptimizer(Optimizer):
    """Base class of :class:`ProxSGD` and :class:`ProxAdam` (not used directly).

    Subclasses define ``_check_hparams(group)``, ``_init_state(p, state, group)`` and
    ``_run(group, params, grads, states, impl)`` where ``impl`` is ``"triton"``,
    ``"fused"`` (the CPU kernels), ``"foreach"`` or ``"reference"``.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        super().__init__(params, defaults)

    # ------------------------------------------------------------------ validation
    def _check_hparams(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_group(self, group: dict[str, Any], params: Iterable[torch.Tensor] | None = None) -> None:
        """Hyperparameters, penalty and implementation flags of one group; raises before any write."""
        self._check_hparams(group)
        check_flag(group["maximize"], "maximize")
        check_flag(group["foreach"], "foreach", allow_none=True)
        check_flag(group["fused"], "fused", allow_none=True)
        if group["foreach"] and group["fused"]:
            raise ValueError("foreach=True and fused=True cannot both be set")
        penalty = group["penalty"]
        if penalty is not None and not isinstance(penalty, Penalty):
            raise TypeError(f"penalty must be a proxgan.penalties.Penalty or None, got {type(penalty).__name__}")
        for p in group["params"] if params is None else params:
            if p.dtype not in _FLOATS:
                raise ValueError(f"{type(self).__name__} needs floating-point parameters, got {p.dtype}")
            if penalty is not None:
                penalty._check_x(p)
        if group["fused"]:
            if penalty_code(penalty) is None:
                raise ValueError(
                    f"fused=True supports the penalties None, L1 (without weights), L2, ElasticNet, L0, Box and "
                    f"NonNegative; got {penalty!r}: use fused=None (multi-tensor path for this group)")
            for p in group["params"] if params is None else params:
                if _fused_kind(p) is None:
                    raise ValueError(
                        "fused=True needs contiguous float32/float64 CPU parameters or CUDA parameters with "
                        f"Triton installed; got a {p.dtype} parameter on {p.device}: use fused=None")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        n = len(self.param_groups)
        super().add_param_group(param_group)
        try:
            self._check_group(self.param_groups[-1])
        except Exception:
            del self.param_groups[n:]
            raise

    # ------------------------------------------------------------------ the step
    def _init_state(self, p: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover

    def _run(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
             states: list[dict[str, Any]], impl: str) -> None:
        raise NotImplementedError  # pragma: no cover

    def _implementations(self, group: dict[str, Any], params: list[torch.Tensor]) -> dict[str, list[int]]:
        """Indices of ``params`` per implementation: ``"triton"`` and ``"fused"`` (CPU) are the
        fused kernels, then ``"foreach"`` and ``"reference"``. ``fused=None`` fuses every
        parameter it can and sends the rest to the multi-tensor path."""
        out: dict[str, list[int]] = {"triton": [], "fused": [], "foreach": [], "reference": []}
        fusable_penalty = group["fused"] is not False and penalty_code(group["penalty"]) is not None
        mode = _kernels_mode()
        for i, p in enumerate(params):
            kind = _fused_kind(p, mode) if fusable_penalty else None
            if kind == "triton":
                out["triton"].append(i)
            elif kind == "cpu":
                out["fused"].append(i)
            elif group["foreach"] is False:
                out["reference"].append(i)
            else:
                out["foreach"].append(i)
        return out

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """Perform one optimization step (smooth step, then the prox of each group's penalty).

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss; it is called with gradients enabled.

        Returns
        -------
        The closure's loss, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        name = type(self).__name__
        plan = []
        for group in self.param_groups:  # check everything before writing anything
            self._check_group(group, params=())
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                if p.grad.is_sparse or p.grad.layout != torch.strided:
                    raise RuntimeError(f"{name} does not support sparse gradients (got a {p.grad.layout} "
                                       "gradient); use a dense gradient, e.g. nn.Embedding(sparse=False)")
                if group["penalty"] is not None:
                    group["penalty"]._check_x(p)
            plan.append((group, params))
        for group, params in plan:
            if not params:
                continue
            states = []
            for p in params:
                state = self.state[p]
                if not state:
                    self._init_state(p, state, group)
                states.append(state)
            for impl, idx in self._implementations(group, params).items():
                if idx:
                    sel = [params[i] for i in idx]
                    self._run(group, sel, [p.grad for p in sel], [states[i] for i in idx], impl)
        return loss

    # ------------------------------------------------------------------ state I/O
    def state_dict(self) -> dict[str, Any]:
        """Like :meth:`torch.optim.Optimizer.state_dict`, with penalties stored as plain data.

        The result loads with ``torch.load(..., weights_only=True)``.
        """
        sd = super().state_dict()
        sd["param_groups"] = [{**g, "penalty": _penalty_to_data(g.get("penalty"))} for g in sd["param_groups"]]
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Like :meth:`torch.optim.Optimizer.load_state_dict`; the groups are checked first, and
        half-precision parameters keep float32 state (torch would cast it to the parameter dtype)."""
        sd = dict(state_dict)
        sd["param_groups"] = [{**g, "penalty": _penalty_from_data(g.get("penalty"))}
                              for g in state_dict["param_groups"]]
        if len(sd["param_groups"]) == len(self.param_groups):
            for saved, cur in zip(sd["param_groups"], self.param_groups):
                if len(saved["params"]) == len(cur["params"]):
                    self._check_group({**cur, **saved, "params": cur["params"]})
        super().load_state_dict(sd)
        saved_ids = chain.from_iterable(g["params"] for g in sd["param_groups"])
        params = chain.from_iterable(g["params"] for g in self.param_groups)
        for pid, p in zip(saved_ids, params):
            if p.dtype in _LOW and pid in sd["state"]:
                for k, v in sd["state"][pid].items():
                    if isinstance(v, torch.Tensor) and v.is_floating_point():
                        self.state[p][k] = v.to(device=p.device, dtype=torch.float32)
