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
from itertools import chain
from typing import Any, Iterable

import torch
from torch.optim import Optimizer

from proxgan import _dispatch
from proxgan import penalties as _penalties
from proxgan._lowering import NO_PENALTY, SeparableProx, lower
from proxgan.penalties import Penalty

from . import _complex

__all__ = ["ProxOptimizer", "FlagConflict", "check_number", "check_flag", "compute_dtype", "hyper"]

_set_grad_enabled = torch._C._set_grad_enabled
_LOW = (torch.float16, torch.bfloat16)
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_COMPLEX = (torch.complex64, torch.complex128)


def compute_dtype(p: torch.Tensor) -> torch.dtype:
    """float64 for float64 parameters, float32 otherwise (half parameters keep float32 state);
    a complex parameter keeps its own dtype (its state is complex, as in torch.optim)."""
    if p.dtype in _COMPLEX:
        return p.dtype
    return torch.float64 if p.dtype == torch.float64 else torch.float32


def check_number(value: Any, name: str, lo: float = 0.0, hi: float = math.inf, hi_open: bool = False,
                 label: str | None = None) -> Any:
    """Return ``value`` as a float, checking it is a finite number in ``[lo, hi]`` (or ``[lo, hi)``).

    A one-element float tensor (a scheduled ``lr``) is read with ``.item()``; while
    ``torch.compile`` traces it is returned unchecked, since reading it would break the
    graph (eager steps and construction check it). A tensor of another size is refused
    with torch.optim's message (``"Tensor lr must be 1-element"``). ``label`` is the
    start of torch.optim's message for the same error (``"Invalid learning rate"``): the
    message then reads ``"Invalid learning rate: -1; lr must be a finite number >= 0, got -1.0"``.
    """
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        raise ValueError(f"Tensor {name} must be 1-element, got a tensor of shape {tuple(value.shape)}")
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        if _dispatch.compiling():
            return value
        value = value.item()
    interval = f"[{lo:g}, {hi:g}{')' if hi_open else ']'}"
    what = f"a finite number >= {lo:g}" if hi == math.inf else f"a number in {interval}"
    prefix = f"{label}: {value}; " if label else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{prefix}{name} must be {what}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < lo or number > hi or (hi_open and number == hi):
        raise ValueError(f"{prefix}{name} must be {what}, got {number!r}")
    return number


def hyper(value: Any) -> Any:
    """A float hyperparameter for a kernel: ``float(value)``, except that a one-element
    tensor stays a tensor while ``torch.compile`` traces (so that a scheduler filling it in
    place needs no recompilation, torch.optim's convention for a tensor ``lr``)."""
    if isinstance(value, torch.Tensor) and _dispatch.compiling():
        return value
    return float(value)


def check_flag(value: Any, name: str, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a bool (or ``None`` when ``allow_none``)."""
    if not (isinstance(value, bool) or (allow_none and value is None)):
        allowed = "True, False or None" if allow_none else "True or False"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


class FlagConflict(ValueError, RuntimeError):
    """Incompatible implementation flags (``fused`` with ``foreach`` or ``differentiable``,
    ``capturable`` off CUDA). torch.optim raises ``RuntimeError`` for these and proxgan
    used to raise ``ValueError``: this error is both."""


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


_VALUES = (float, int, bool, str, tuple, type(None))


def _fingerprint(group: dict[str, Any]) -> list:
    """What a group's checks depend on; a step re-checks the group only when this changes.

    Plain values are kept, one-element tensors (a tensor ``lr`` that a scheduler fills in
    place) by value, anything else (the params list, the penalty) by identity, plus the
    penalty's type and fields and the number of parameters. A list, built without
    generators: it is made at every step.
    """
    fp = [v if type(v) in _VALUES else _identity(v) for v in group.values()]
    pen = group["penalty"]
    if pen is not None:
        fp.append(type(pen))
        fp += [v if type(v) in _VALUES else id(v) for v in vars(pen).values()]
    fp.append(len(group["params"]))
    return fp


def _identity(v: Any) -> Any:
    """How :func:`_fingerprint` sees a value that is not a plain one."""
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return (id(v), v.item())
    return id(v)


def _guess_optimizer(sd: dict[str, Any]) -> str:
    """A name for the optimizer that wrote a state_dict, for error messages."""
    name = sd.get("proxgan_optimizer")
    if name:
        return str(name)
    keys = set().union(*(g.keys() for g in sd.get("param_groups", [{}])))
    if "betas" in keys:
        return "an Adam-type optimizer (torch.optim.Adam/AdamW)"
    if "momentum" in keys:
        return "an SGD-type optimizer (torch.optim.SGD)"
    return "another optimizer"


class ProxOptimizer(Optimizer):
    """Base class of :class:`ProxSGD` and :class:`ProxAdam` (not used directly).

    Subclasses define ``_check_hparams(group)``, ``_init_state(p, state, group)`` and
    ``_run(group, params, grads, states, impl, lowering, memo)`` where ``impl`` is the path
    chosen by :func:`proxgan._dispatch.step_impl` (``"triton"``, ``"fused"`` (CPU),
    ``"foreach"`` or ``"reference"``), ``lowering`` the group's
    :func:`proxgan._lowering.lower` and ``memo`` a dict for values derived from the group
    alone, emptied whenever the group changes (see :meth:`_validate`; its keys: kernel
    mode names here, ``"sgd"`` in ProxSGD, ``("plan", dtype)`` in
    :mod:`proxgan.optim._cpu_step`). They also name their state tensors in
    ``_state_keys`` (required ones) and ``_optional_state_keys``, and the group keys that
    only proxgan has in ``_own_keys`` (a state_dict of a torch.optim optimizer lacks them:
    loading it keeps the configured values).
    """

    _state_keys: tuple[str, ...] = ()
    _optional_state_keys: tuple[str, ...] = ()
    _own_keys: tuple[str, ...] = ("penalty",)
    #: group keys that older or foreign state_dicts may lack; the configured value is kept
    _defaulted_keys: tuple[str, ...] = ("maximize", "foreach", "fused", "differentiable")
    #: whether the fused CPU step takes GradScaler's scale in its own pass (``group["_grad_scale"]``)
    _folds_grad_scale: bool = False
    #: proxgan optimizers whose state_dicts load into this one (besides its own)
    _loads_from: tuple[str, ...] = ()

    @property
    def _step_supports_amp_scaling(self) -> bool:
        """GradScaler's fused protocol (:meth:`step`), taken by groups with ``fused=True`` as in torch.optim."""
        return any(g.get("fused") for g in self.param_groups)

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self._checked: dict[int, tuple[list, Any]] = {}
        super().__init__(params, defaults)

    # ------------------------------------------------------------------ validation
    def _check_hparams(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_group(self, group: dict[str, Any], params: Iterable[torch.Tensor] | None = None,
                     at_step: bool = False) -> None:
        """Hyperparameters, penalty and implementation flags of one group; raises before any write.

        A ``fused=True`` group with parameters on the ``meta`` device is accepted at
        construction and refused at ``step()`` (as torch.optim does, so that deferred
        initialisation with ``module.to_empty()`` works); so is ``capturable=True`` off CUDA.
        """
        self._check_hparams(group)
        check_flag(group["maximize"], "maximize")
        check_flag(group["foreach"], "foreach", allow_none=True)
        check_flag(group["fused"], "fused", allow_none=True)
        check_flag(group.get("differentiable", False), "differentiable")
        check_flag(group.get("capturable", False), "capturable")
        if group["foreach"] and group["fused"]:
            raise FlagConflict("`fused` and `foreach` cannot be `True` together (foreach=True and fused=True cannot "
                               "both be set)")
        if group["fused"] and group.get("differentiable", False):
            raise FlagConflict("`fused` does not support `differentiable`: use fused=None with differentiable=True "
                               "(the for-loop reference runs under autograd)")
        penalty = group["penalty"]
        if penalty is not None and not isinstance(penalty, Penalty):
            raise TypeError(f"penalty must be a proxgan.penalties.Penalty or None, got {type(penalty).__name__}")
        params = group["params"] if params is None else params
        for p in params:
            if p.dtype in _COMPLEX:
                _complex.check_penalty(penalty, type(self).__name__)
            elif p.dtype not in _FLOATS:
                raise ValueError(f"{type(self).__name__} needs floating-point or complex parameters, got {p.dtype}")
            elif penalty is not None:
                penalty._check_x(p)
        # (while torch.compile traces, Dynamo sets every group's capturable itself and handles CUDA graphs)
        if at_step and group.get("capturable", False) and not _dispatch.compiling():
            off = sorted({p.device.type for p in params if not p.is_cuda})
            if off:
                raise FlagConflict(f"If capturable=True, params and state_steps must be on supported devices: "
                                   f"['cuda']; got parameters on {', '.join(off)}")
        if group["fused"]:
            lowering = lower(penalty)
            for p in params:
                if p.is_meta:
                    if at_step:
                        raise FlagConflict("`fused=True` requires all the params to be floating point Tensors of "
                                           "supported devices: ['cpu', 'cuda'] but a parameter is on the meta device "
                                           "(materialise it first, e.g. module.to_empty(device='cpu'))")
                    continue
                # a complex parameter steps as its real view, without the penalty (applied after)
                reason = _dispatch.fused_unavailable_reason(_real(p), NO_PENALTY if p.dtype in _COMPLEX else lowering)
                if reason is not None:
                    raise ValueError(f"{reason} (penalty {penalty!r})")

    def _validate(self, group: dict[str, Any], compiling: bool) -> tuple[SeparableProx | None, dict]:
        """:meth:`_check_group` at a step, skipped while the group is unchanged since its last
        check. Returns the penalty's lowering and a memo kept with the check: what the paths
        derive from the group alone (implementation per kind of parameter, kernel constants)
        is computed once and forgotten whenever the group changes. ``compiling``: whether
        ``torch.compile`` traces (then everything is checked, and the memo is new)."""
        if compiling:
            self._check_group(group, at_step=True)
            return lower(group["penalty"]), {}
        checked = getattr(self, "_checked", None)
        if checked is None:
            checked = self._checked = {}
        fp = _fingerprint(group)
        hit = checked.get(id(group))
        if hit is None or hit[0] != fp:
            self._check_group(group, at_step=True)
            hit = checked[id(group)] = (fp, lower(group["penalty"]), {})
        return hit[1], hit[2]

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
             states: list[dict[str, Any]], impl: str, lowering: SeparableProx | None, memo: dict) -> None:
        raise NotImplementedError  # pragma: no cover

    def step(self, closure: Any = None) -> Any:
        """Perform one optimization step (smooth step, then the prox of each group's penalty).

        Every group is checked before anything is written: a rejected step (bad
        hyperparameters, a sparse gradient) leaves parameters and state untouched.

        Under ``torch.amp.GradScaler`` with ``fused=True`` (torch.optim's fused protocol,
        ``_step_supports_amp_scaling``) the scaler sets ``self.grad_scale`` and
        ``self.found_inf`` instead of unscaling the gradients itself: a step whose
        ``found_inf`` is nonzero changes nothing (parameters, state and step counts stay as
        they were), otherwise the gradients are divided by ``grad_scale`` in the step
        (and, as in torch, left unscaled in ``.grad``).

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
        grad_scale, found_inf = getattr(self, "grad_scale", None), getattr(self, "found_inf", None)
        if found_inf is not None and bool(found_inf != 0):  # an inf/NaN step: nothing changes
            return loss
        if _dispatch.compiling():
            with torch.no_grad():
                self._step(True, grad_scale)
            return loss
        grad_mode = torch.is_grad_enabled()  # as torch.no_grad(), without its per-call context objects
        _set_grad_enabled(bool(self.defaults.get("differentiable", False)))  # as torch.optim
        try:
            self._step(False, grad_scale)
        finally:
            _set_grad_enabled(grad_mode)
        return loss

    def _step(self, compiling: bool, grad_scale: Any = None) -> None:
        work = []
        strided = torch.strided
        for group in self.param_groups:  # check everything before writing anything
            lowering, memo = self._validate(group, compiling)
            params, grads = [], []
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if g.layout is not strided:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients (got a {g.layout} "
                                       "gradient); use a dense gradient, e.g. nn.Embedding(sparse=False)")
                params.append(p)
                grads.append(g)
            work.append((group, lowering, memo, params, grads))
        self._apply(work, self.state, compiling, grad_scale)

    def _apply(self, work: list, state_of: Any, compiling: bool, grad_scale: Any = None) -> None:
        """Step every ``(group, lowering, memo, params, grads)`` of ``work`` (checked already),
        with the states of ``state_of`` (``self.state``, or the functional API's states):
        the one place where the implementation of each parameter is chosen and run."""
        scale = None if grad_scale is None else float(grad_scale)  # GradScaler's fused protocol (see step)
        fold = scale is not None and not compiling and self._folds_grad_scale
        mode = _dispatch.kernels_mode()
        for group, lowering, memo, params, grads in work:
            if not params:
                continue
            plan: dict[str, tuple[list, list, list]] = {}
            # step_impl reads only these properties of a parameter (and the group, the mode)
            impls = memo.get(mode)
            if impls is None:
                impls = memo[mode] = {}
            pending, cplx = [], []
            by_ref = group.get("differentiable", False) or (group.get("capturable", False) and not compiling)
            for p, g in zip(params, grads):
                state = state_of.get(p)
                if state is None:
                    state = {}
                    pending.append((p, state))  # stored once the step has put something in it
                if not state:
                    self._init_state(p, state, group)
                if p.dtype in _COMPLEX:
                    cplx.append((p, g, state))
                    continue
                key = (type(p), p.dtype, p.is_cpu, p.is_cuda, p.layout, p.is_contiguous())
                impl = impls.get(key)
                if impl is None:
                    impl = impls[key] = "reference" if by_ref else _dispatch.step_impl(
                        p, foreach=group["foreach"], fused=group["fused"], lowering=lowering)
                entry = plan.get(impl)
                if entry is None:
                    entry = plan[impl] = ([], [], [])
                entry[0].append(p)
                entry[1].append(g)
                entry[2].append(state)
            for impl, (ps, gs, sts) in plan.items():
                if scale is not None and fold and impl == "fused":  # divided by the scale in the kernel's pass
                    self._run({**group, "_grad_scale": scale}, ps, gs, sts, impl, lowering, memo)
                    continue
                if scale is not None:  # unscaled in place, as torch's fused steps leave .grad
                    torch._foreach_div_(gs, scale)
                if impl == "triton" and compiling:
                    _run_outside_graph(self, group, ps, gs, sts, impl, lowering, memo)
                else:
                    self._run(group, ps, gs, sts, impl, lowering, memo)
            if cplx:
                if scale is not None:
                    torch._foreach_div_([g for _, g, _ in cplx], scale)
                self._step_complex(group, cplx, memo, by_ref)
            for p, state in pending:
                if state:
                    state_of[p] = state

    def _step_complex(self, group: dict[str, Any], items: list, memo: dict, by_ref: bool) -> None:
        """Complex parameters: the smooth step on real views (as torch.optim, which treats the
        real and imaginary parts as two coordinates), then the complex prox
        (:mod:`proxgan.optim._complex`) at the steps of :meth:`_prox_steps`."""
        smooth = {**group, "penalty": None}
        cmemo = memo.setdefault("complex", {})
        views = [(p, torch.view_as_real(p.detach() if not by_ref else p), torch.view_as_real(g), state,
                  _complex.real_state(state)) for p, g, state in items]
        plan: dict[str, list] = {}
        for item in views:
            impl = "reference" if by_ref else _dispatch.step_impl(item[1], foreach=group["foreach"],
                                                                  fused=group["fused"], lowering=NO_PENALTY)
            plan.setdefault(impl, []).append(item)
        for impl, its in plan.items():
            self._run(smooth, [v[1] for v in its], [v[2] for v in its], [v[4] for v in its], impl, NO_PENALTY, cmemo)
        penalty = group["penalty"]
        for p, xr, _, state, rstate in views:
            _complex.store_state(state, rstate)
            if penalty is not None:
                _complex.prox_(penalty, xr, self._prox_steps(group, xr, rstate))

    def _prox_steps(self, group: dict[str, Any], x: torch.Tensor, state: dict[str, Any]) -> Any:
        """The prox step of a parameter after its smooth step (a number or a tensor like ``x``)."""
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ state I/O
    def state_dict(self) -> dict[str, Any]:
        """Like :meth:`torch.optim.Optimizer.state_dict`, with penalties stored as plain data.

        The result loads with ``torch.load(..., weights_only=True)`` and records the
        optimizer's class name under ``"proxgan_optimizer"``.
        """
        sd = super().state_dict()
        sd["param_groups"] = [{**g, "penalty": _penalty_to_data(g.get("penalty"))} for g in sd["param_groups"]]
        sd["proxgan_optimizer"] = type(self).__name__
        return sd

    def _map_groups(self, state_dict: dict[str, Any]) -> list[dict[str, Any]]:
        """The saved groups in this optimizer's terms, or a ValueError naming both optimizers."""
        me = type(self).__name__
        saved_name = state_dict.get("proxgan_optimizer")
        if saved_name is not None and saved_name != me and saved_name not in self._loads_from:
            raise ValueError(f"this state_dict was saved by {saved_name}, not {me}: load it into a {saved_name}")
        if len(state_dict["param_groups"]) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        groups = []
        for saved, cur in zip(state_dict["param_groups"], self.param_groups):
            missing = [k for k in self.defaults if k not in saved]
            core = [k for k in missing if k not in self._own_keys + self._defaulted_keys]
            if core:
                raise ValueError(f"cannot load a state_dict of {_guess_optimizer(state_dict)} into {me}: its parameter "
                                 f"groups lack {', '.join(core)}")
            group = {k: v for k, v in saved.items() if k in self.defaults or k in ("params", "param_names")}
            group.update({k: cur[k] for k in missing})
            group["penalty"] = _penalty_from_data(group["penalty"])
            groups.append(group)
        allowed = set(self._state_keys + self._optional_state_keys + ("step",))
        for pid, st in state_dict["state"].items():
            extra = [k for k in st if k not in allowed]
            absent = [k for k in self._state_keys if k not in st]
            if extra or absent:
                what = f"state {', '.join(extra)}" if extra else f"no {', '.join(absent)}"
                raise ValueError(f"cannot load a state_dict of {_guess_optimizer(state_dict)} into {me}: parameter "
                                 f"{pid} has {what} ({me} keeps {', '.join(self._state_keys) or 'momentum_buffer'})")
        return groups

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Like :meth:`torch.optim.Optimizer.load_state_dict`, checked before anything changes.

        * A state_dict of the matching ``torch.optim`` optimizer (e.g. ``Adam`` into
          :class:`ProxAdam`) loads: its moments and step counts are taken, and the group
          keys only proxgan has (``penalty``, ``prox``) keep their configured values.
        * One of another kind (an Adam state into :class:`ProxSGD`) raises ``ValueError``
          naming both optimizers.
        * State tensors must have their parameter's shape; half-precision parameters keep
          float32 state (torch would cast it to the parameter dtype).
        """
        groups = self._map_groups(state_dict)
        for saved, cur in zip(groups, self.param_groups):
            if len(saved["params"]) != len(cur["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
            self._check_group({**cur, **saved, "params": cur["params"]})
        ids = chain.from_iterable(g["params"] for g in groups)
        params = chain.from_iterable(g["params"] for g in self.param_groups)
        pairs = [(pid, p) for pid, p in zip(ids, params) if pid in state_dict["state"]]
        for pid, p in pairs:
            for k, v in state_dict["state"][pid].items():
                if k != "step" and isinstance(v, torch.Tensor) and v.shape != p.shape:
                    raise ValueError(f"state {k!r} of parameter {pid} has shape {tuple(v.shape)}, but the parameter "
                                     f"has shape {tuple(p.shape)}")
        super().load_state_dict({"state": state_dict["state"], "param_groups": groups})
        for pid, p in pairs:
            st = self.state[p]
            if "step" in st and not isinstance(st["step"], torch.Tensor):  # older proxgan checkpoints: an int
                st["step"] = torch.tensor(float(st["step"]))
            elif "step" in st:
                st["step"] = st["step"].detach().to(device="cpu", dtype=torch.float32)
            if p.dtype in _LOW:
                for k, v in state_dict["state"][pid].items():
                    if k != "step" and isinstance(v, torch.Tensor) and v.is_floating_point():
                        st[k] = v.to(device=p.device, dtype=torch.float32)
            for k, v in list(st.items()):
                if k != "step" and isinstance(v, torch.Tensor) and not v.is_contiguous():
                    st[k] = v.contiguous()
        self._checked = {}


def _real(p: torch.Tensor) -> torch.Tensor:
    """The real view of a complex tensor (last dimension 2: real, imaginary), else the tensor."""
    return torch.view_as_real(p) if p.dtype in _COMPLEX else p


def _run_outside_graph(opt: ProxOptimizer, *args: Any) -> None:
    """A fused Triton step called while ``torch.compile`` traces: it runs eagerly (a graph
    break). The fused CPU step needs no break: it is an operator (:mod:`proxgan.optim._cpu_step`).

    (``torch.compiler.disable`` is applied here rather than as a decorator: at import time
    it would import Dynamo, and with it Triton.)
    """
    torch.compiler.disable(opt._run)(*args)
