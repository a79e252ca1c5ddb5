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
  ``torch.load(weights_only=True)``) and keep float32 state for half-precision parameters
  (:mod:`proxgan.optim._state_io`); the hyperparameter checks are in
  :mod:`proxgan.optim._hparams`.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch
from torch.optim import Optimizer

from proxgan import _dispatch
from proxgan._lowering import NO_PENALTY, SeparableProx, lower
from proxgan.penalties import Penalty

from . import _complex, _state_io
from ._hparams import _COMPLEX, _FLOATS, FlagConflict, check_flag, check_number, compute_dtype, hyper

__all__ = ["ProxOptimizer", "FlagConflict", "check_number", "check_flag", "compute_dtype", "hyper"]

_set_grad_enabled = torch._C._set_grad_enabled
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
        if penalty is not None:
            penalty.check()  # its parameters, again (a value written around their checks is refused here)
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

    # ------------------------------------------------------------------ state I/O (proxgan.optim._state_io)
    def state_dict(self) -> dict[str, Any]:
        """Like :meth:`torch.optim.Optimizer.state_dict`, with penalties stored as plain data.

        The result loads with ``torch.load(..., weights_only=True)`` and records the
        optimizer's class name under ``"proxgan_optimizer"``; ``param_names`` are kept.
        """
        return _state_io.save(self, super().state_dict())

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Like :meth:`torch.optim.Optimizer.load_state_dict`, checked before anything changes.

        * A state_dict of the matching ``torch.optim`` optimizer (e.g. ``Adam`` into
          :class:`ProxAdam`) loads: its moments and step counts are taken, and the group
          keys only proxgan has (``penalty``, ``prox``) keep their configured values.
        * One of another kind (an Adam state into :class:`ProxSGD`) raises ``ValueError``
          naming both optimizers.
        * State tensors must have their parameter's shape; half-precision parameters keep
          float32 state (torch would cast it to the parameter dtype).
        * It works repeatedly, after ``copy.deepcopy`` and after pickling; saved
          ``param_names`` replace the current ones.

        Parameters
        ----------
        state_dict : dict
            As returned by :meth:`state_dict` (or by the matching torch.optim optimizer).
        """
        _state_io.load(self, state_dict, super().load_state_dict)
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
