r"""ProxAdam: Adam followed by the prox of a penalty, in the metric of Adam's preconditioner."""
from __future__ import annotations

from typing import Any, Iterable

import torch

from proxgan import _dispatch
from proxgan._lowering import SeparableProx
from proxgan.kernels.fused_penalty import L1 as _CODE_L1
from proxgan.kernels.fused_penalty import Code as _Code
from proxgan.kernels.fused_prox_adam import adam_step_scalars, fused_prox_adam_multi
from proxgan.penalties import Penalty

from . import _cpu_step
from ._base import ProxOptimizer, check_flag, check_number, compute_dtype, hyper

__all__ = ["ProxAdam", "adam_run", "prox_steps"]


class ProxAdam(ProxOptimizer):
    r"""Adam with a proximal step: exact zeros from L1/L0/group penalties, at no extra pass.

    With gradient :math:`g_t` (plus coupled weight decay), Adam's moments
    :math:`m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t`, :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2`,
    :math:`\hat m = m_t/(1-\beta_1^t)`, :math:`\hat v = v_t/(1-\beta_2^t)` and the diagonal
    preconditioner :math:`D = \sqrt{\hat v} + \epsilon`, one step is

    .. math::

        u = p - \text{lr}\,\hat m / D, \qquad
        p \leftarrow \arg\min_y \ \tfrac{1}{2}\sum_i \frac{(y_i - u_i)^2}{s_i} + g(y).

    * ``prox="preconditioned"`` (default, ProxGen: Yun, Lozano & Yang, NeurIPS 2021):
      :math:`s_i = \text{lr}/D_i`, i.e. the argmin of
      :math:`\langle \hat m, y\rangle + \frac{1}{2\,\text{lr}}\lVert y-p\rVert_D^2 + g(y)`. L1
      soft-thresholds at :math:`\text{lr}\,\lambda/D_i`; L0 keeps entries with
      :math:`|u_i| > \sqrt{2\lambda\,\text{lr}/D_i}`; L2, ElasticNet, Box and NonNegative use
      their closed forms; GroupL1 (no closed form under a diagonal metric) is solved per
      group by a safeguarded Newton root-find to relative accuracy 1e-12
      (:mod:`proxgan._group_prox`). A zero weight stays exactly zero while
      :math:`|\hat m_i| \le \lambda`: the threshold scales with the step.
    * ``prox="scalar"``: :math:`s_i = \text{lr}`, the argmin of
      :math:`\tfrac12\lVert y-u\rVert^2 + \text{lr}\,g(y)` (TensorFlow's proximal Adagrad
      convention). The threshold ignores the preconditioner.

    The signature is :class:`torch.optim.Adam`'s (same positional order and defaults),
    followed by the keyword-only ``penalty`` and ``prox``; with ``penalty=None`` the step is
    Adam's.

    Parameters
    ----------
    params : iterable
        Parameters, named parameters (``model.named_parameters()``) or parameter groups
        (dicts); a group may set its own ``"penalty"``. :func:`proxgan.optim.param_groups`
        builds groups that leave biases and norm scales unpenalised. Complex parameters
        step as their real view (as in torch.optim) and take the penalties None, L1 (its
        prox shrinks the modulus) and L2 (:mod:`proxgan.optim._complex`).
    lr : float or Tensor
        Learning rate, finite and >= 0 (a one-element tensor is allowed, except with
        ``foreach=True`` and ``capturable=False``, as in torch).
    betas : (float, float) or (Tensor, Tensor)
        :math:`\beta_1, \beta_2` in [0, 1).
    eps : float
        :math:`\epsilon \ge 0` added to :math:`\sqrt{\hat v}`.
    weight_decay : float
        Added to the gradient as ``wd * p`` (Adam), or with ``decoupled_weight_decay=True``
        applied as ``p *= 1 - lr * wd`` before the step (AdamW).
    amsgrad : bool
        Use the running maximum of :math:`v` (AMSGrad).
    foreach : bool or None
        ``True``: the multi-tensor path (``torch._foreach_*``); ``False`` (with ``fused``
        not ``True``): the readable for-loop reference. See ``fused``.
    maximize : bool
        Maximise the objective (the gradient is negated).
    capturable : bool
        Keep the step counts on the parameters' (CUDA) device and compute the bias
        corrections there, with no host synchronisation, so that the step can be captured
        in a CUDA graph. The step then runs the for-loop reference. Refused at ``step()``
        for parameters off CUDA, as in torch.
    differentiable : bool
        Run the for-loop reference under autograd, so that the updated parameters are
        differentiable functions of the inputs (for meta-learning). The prox is
        differentiable almost everywhere; at a threshold (:math:`|u_i| = \text{lr}\,\lambda/D_i`
        for L1) the derivative taken is the one of ``x - clamp(x, -t, t)``, i.e. the value
        from the zero side (0 for the soft threshold). Not with ``fused=True``.
    fused : bool or None
        Implementation, with torch.optim's meanings (decided per parameter by
        :func:`proxgan._dispatch.step_impl`): ``fused=True`` makes one pass over memory per
        tensor (moments, bias correction, prox and the parameter write in one loop; one
        numba call per group on CPU for float32/float64, one Triton launch on CUDA); it is
        an error at construction when a parameter or the penalty cannot take it (at
        ``step()`` for parameters on the ``meta`` device, which are materialised later).
        It also takes GradScaler's fused protocol (see :meth:`step`). The default (both
        ``fused`` and ``foreach`` ``None``) fuses every parameter it can (dense contiguous
        tensors, a penalty that lowers to kernel numbers: None, unweighted L1, L2,
        ElasticNet, L0, Box, NonNegative) and uses the multi-tensor path for the rest
        (bfloat16 on CPU, GroupL1, weighted L1); while ``torch.compile`` traces, the
        default is the for-loop reference.
    decoupled_weight_decay : bool
        Apply ``weight_decay`` as AdamW does (see :class:`proxgan.optim.ProxAdamW`).
    penalty : Penalty or None
        Default penalty of the groups.
    prox : {"preconditioned", "scalar"}
        The metric of the prox (see above).

    Notes
    -----
    ``state["step"]`` is a 0-d float32 CPU tensor, as in :class:`torch.optim.Adam`, so a
    ``torch.optim.Adam`` state_dict loads into ProxAdam (the configured penalty and
    ``prox`` are kept). Half-precision parameters keep float32 moments and are computed in float32. Sparse
    gradients are refused; parameters without ``.grad`` are skipped (their step count
    does not advance). Non-finite gradients are not checked for (that would cost a pass);
    use ``torch.amp.GradScaler``, which skips such steps.

    Examples
    --------
    >>> import torch
    >>> from proxgan.optim import ProxAdam, param_groups
    >>> from proxgan.penalties import L1
    >>> model = torch.nn.Linear(20, 1)
    >>> opt = ProxAdam(param_groups(model, L1(1e-2)), lr=1e-2)
    """

    def __init__(self, params: Iterable[Any], lr: float | torch.Tensor = 1e-3,
                 betas: tuple[float | torch.Tensor, float | torch.Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False, penalty: Penalty | None = None,
                 prox: str = "preconditioned") -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay, penalty=penalty, prox=prox)
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        lr, betas, tensor_ok = group["lr"], group["betas"], group.get("capturable", False) or not group["foreach"]
        if isinstance(lr, torch.Tensor) and not tensor_ok:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        check_number(lr, "lr", label="Invalid learning rate")
        check_number(group["eps"], "eps", label="Invalid epsilon value")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")
        for i in (0, 1):
            check_number(betas[i], f"betas[{i}]", 0.0, 1.0, hi_open=True, label=f"Invalid beta parameter at index {i}")
        check_number(group["weight_decay"], "weight_decay", label="Invalid weight_decay value")
        if isinstance(betas[0], torch.Tensor) != isinstance(betas[1], torch.Tensor):
            raise ValueError(f"betas must be either both floats or both Tensors, got {betas!r}")
        for i in (0, 1):
            if isinstance(betas[i], torch.Tensor) and not tensor_ok:
                raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True")
        check_flag(group["decoupled_weight_decay"], "decoupled_weight_decay")
        check_flag(group["amsgrad"], "amsgrad")
        if group["prox"] not in ("preconditioned", "scalar"):
            raise ValueError(f"prox must be 'preconditioned' or 'scalar', got {group['prox']!r}")
        pen = group.get("penalty")
        if group["prox"] == "preconditioned" and pen is not None and not getattr(pen, "diagonal_prox", True):
            raise ValueError(f"{type(pen).__name__} has no closed-form prox under Adam's diagonal metric: "
                             "use ProxAdam(..., prox='scalar')")

    _folds_grad_scale = True  # the fused CPU step divides by GradScaler's scale in its pass
    _state_keys = ("exp_avg", "exp_avg_sq")
    _optional_state_keys = ("max_exp_avg_sq",)
    _own_keys = ("penalty", "prox")
    _defaulted_keys = ("maximize", "foreach", "fused", "decoupled_weight_decay", "differentiable", "capturable")

    def _init_state(self, p: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        cd = compute_dtype(p)
        fmt = torch.contiguous_format
        # float32 on the CPU, as torch.optim's Adam; on the parameter's device when capturable
        state["step"] = torch.tensor(0.0, device=p.device if group.get("capturable", False) else None)
        state["exp_avg"] = torch.zeros_like(p, dtype=cd, memory_format=fmt)
        state["exp_avg_sq"] = torch.zeros_like(p, dtype=cd, memory_format=fmt)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, dtype=cd, memory_format=fmt)

    def _run(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
             states: list[dict[str, Any]], impl: str, lowering: SeparableProx | None, memo: dict) -> None:
        adam_run(group, params, grads, states, impl, lowering, memo)

    def _prox_steps(self, group: dict[str, Any], x: torch.Tensor, state: dict[str, Any]) -> Any:
        return prox_steps(group, state)


def prox_steps(group: dict[str, Any], state: dict[str, Any]) -> Any:
    """The prox step of a parameter after its Adam step: ``lr / D`` (``D = sqrt(v / bc2) + eps``,
    ``v`` the AMSGrad maximum when on) with ``prox="preconditioned"``, else ``lr``.

    Parameters
    ----------
    group : dict
        The parameter group (``lr``, ``betas``, ``eps``, ``amsgrad``, ``prox``).
    state : dict
        The parameter's state after its Adam step: ``step``, ``exp_avg_sq`` and, with
        AMSGrad, ``max_exp_avg_sq``.

    Returns
    -------
    float or torch.Tensor
        ``lr`` (a float) for the scalar prox, else a tensor of the parameter's shape.
    """
    lr = float(group["lr"])
    if group["prox"] != "preconditioned":
        return lr
    v = state["max_exp_avg_sq"] if group["amsgrad"] else state["exp_avg_sq"]
    bc2 = 1.0 - float(group["betas"][1]) ** float(state["step"])
    return lr / (torch.sqrt(v / bc2) + float(group["eps"]))


def adam_run(group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
             states: list[dict[str, Any]], impl: str, lowering: SeparableProx | None, memo: dict) -> None:
    """One ProxAdam step of ``params`` (one group, one implementation ``impl`` chosen by
    :func:`proxgan._dispatch.step_impl`): what :class:`ProxAdam` and
    :func:`proxgan.optim.functional.prox_adam` both run.

    Parameters
    ----------
    group : dict
        The parameter group: its hyperparameters (``lr``, ``betas``, ``eps``, ``weight_decay``, ``amsgrad``, ``prox``, ``penalty``, ...)
        as the optimizer stores them, already checked.
    params : list of torch.Tensor
        The group's parameters to step (those with a gradient), updated in place.
    grads : list of torch.Tensor
        Their gradients, in the same order.
    states : list of dict
        The optimizer state of each parameter (its ``step`` count and buffers), updated in
        place.
    impl : str
        The implementation: ``"triton"``, ``"fused"`` (CPU), ``"foreach"`` or
        ``"reference"`` (see :class:`~proxgan.optim._base.ProxOptimizer`).
    lowering : SeparableProx or None
        The group penalty's lowering (:func:`proxgan._lowering.lower`): its penalty code
        and scalars for the fused paths.
    memo : dict
        Values derived from the group alone, cached between steps and emptied when the
        group changes.
    """
    if group["amsgrad"]:
        for st in states:
            if "max_exp_avg_sq" not in st:  # amsgrad switched on after the first step
                st["max_exp_avg_sq"] = st["exp_avg_sq"].clone()
    if impl == "fused":  # the kernel increments the step counters itself
        _adam_fused_cpu(group, params, grads, states, lowering, memo)
        return
    if impl == "reference":
        for p, g, st in zip(params, grads, states):
            st["step"] += 1
            _adam_reference(group, p, g, st, _scalars(group, st["step"]))
        return
    torch._foreach_add_([st["step"] for st in states], 1.0)
    # bucket by step count: parameters that missed steps have their own bias correction
    buckets: dict[int, list[int]] = {}
    for i, st in enumerate(states):
        buckets.setdefault(int(st["step"]), []).append(i)
    for t, idx in buckets.items():
        ps, gs, sts = [params[i] for i in idx], [grads[i] for i in idx], [states[i] for i in idx]
        if impl == "triton":
            _adam_triton(group, ps, gs, sts, t, lowering, memo)
        else:
            _adam_foreach(group, ps, gs, sts, _scalars(group, t), lowering)


def _scalars(group: dict[str, Any], step: int | torch.Tensor) -> dict[str, Any]:
    """The step's scalars; ``step`` a tensor while ``torch.compile`` traces (no recompilation per step)."""
    lr = hyper(group["lr"])  # a tensor lr stays one while tracing (a scheduler fills it in place)
    if not (_dispatch.compiling() or group.get("capturable", False)):  # capturable: no host synchronisation
        step = int(step)
    else:  # bias corrections in float64, as the eager paths compute them in Python floats
        step = step.to(torch.float64)
        if isinstance(lr, torch.Tensor):
            lr = lr.to(torch.float64)
    return adam_step_scalars(lr, float(group["betas"][0]), float(group["betas"][1]),
                             float(group["eps"]), float(group["weight_decay"]), group["decoupled_weight_decay"], step)


def _adam_reference(group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any],
                    sc: dict[str, float]) -> None:
    """The readable specification: one parameter, plain tensor expressions."""
    cd = compute_dtype(p)
    x = (p if group.get("differentiable", False) else p.detach()).to(cd)  # differentiable: under autograd
    g = grad.to(cd)
    if group["maximize"]:
        g = -g
    if isinstance(sc["decay"], torch.Tensor) or sc["decay"] != 1.0:  # a tensor: decoupled decay of a tensor lr
        x = x * sc["decay"]
    if sc["wd"] != 0.0:
        g = g + sc["wd"] * x
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.copy_(m + sc["omb1"] * (g - m))
    v.copy_(sc["b2"] * v + sc["omb2"] * (g * g))
    if group["amsgrad"]:
        vmax = state["max_exp_avg_sq"]  # (read from a copy under autograd: it is written next)
        vmax.copy_(torch.maximum(vmax.clone() if group.get("differentiable", False) else vmax, v))
        v = state["max_exp_avg_sq"]
    den = torch.sqrt(v) / sc["bc2s"] + sc["eps"]
    u = x - sc["ss"] * (m / den)
    penalty = group["penalty"]
    if penalty is not None:
        step = sc["lr"] / den if group["prox"] == "preconditioned" else sc["lr"]
        u = penalty._prox(u, step, None)
    (p if group.get("differentiable", False) else p.detach()).copy_(u)


def _adam_foreach(group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
                  states: list[dict[str, Any]], sc: dict[str, float], lowering: SeparableProx | None) -> None:
    """Multi-tensor path: the reference's arithmetic with ``torch._foreach_*`` ops (``lerp``,
    ``addcmul``, ``addcdiv`` as torch's own Adam; equal to the reference up to rounding)."""
    low = [p.dtype != compute_dtype(p) for p in params]
    xs = [p.detach().float() if lo else p.detach() for p, lo in zip(params, low)]
    gs = [g.float() if lo else g for g, lo in zip(grads, low)]
    ms = [st["exp_avg"] for st in states]
    vs = [st["exp_avg_sq"] for st in states]
    if group["maximize"]:
        gs = torch._foreach_neg(gs)
    if sc["decay"] != 1.0:
        torch._foreach_mul_(xs, sc["decay"])
    if sc["wd"] != 0.0:
        gs = torch._foreach_add(gs, xs, alpha=sc["wd"])
    torch._foreach_lerp_(ms, gs, sc["omb1"])  # m + (1-b1)(g-m)
    torch._foreach_mul_(vs, sc["b2"])
    torch._foreach_addcmul_(vs, gs, gs, sc["omb2"])
    if group["amsgrad"]:
        vmax = [st["max_exp_avg_sq"] for st in states]
        torch._foreach_maximum_(vmax, vs)
        vs = vmax
    den = torch._foreach_sqrt(vs)
    torch._foreach_div_(den, sc["bc2s"])
    torch._foreach_add_(den, sc["eps"])
    torch._foreach_addcdiv_(xs, ms, den, value=-sc["ss"])
    penalty = group["penalty"]
    if penalty is not None:
        precond = group["prox"] == "preconditioned"
        if precond:  # the steps lr / D, in den's memory
            torch._foreach_reciprocal_(den)
            torch._foreach_mul_(den, sc["lr"])
            steps = den
        if lowering is not None and lowering.scalar and lowering.code == _CODE_L1:  # x - clamp(x, -t, t)
            if precond:
                thr = steps
                torch._foreach_mul_(thr, lowering.a)
                clamped = torch._foreach_maximum(xs, torch._foreach_neg(thr))
                torch._foreach_minimum_(clamped, thr)
            else:
                t = sc["lr"] * lowering.a
                clamped = torch._foreach_clamp_min(xs, -t)
                torch._foreach_clamp_max_(clamped, t)
            torch._foreach_sub_(xs, clamped)
        else:
            for i, x in enumerate(xs):
                penalty._prox(x, steps[i] if precond else sc["lr"], x)
    for p, x, lo in zip(params, xs, low):
        if lo:
            p.detach().copy_(x)


def _adam_fused_cpu(group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
                    states: list[dict[str, Any]], lowering: SeparableProx, memo: dict) -> None:
    """One pass over memory with the numba kernel: one call per dtype (DTensors: local shards)."""
    code, a, b = lowering.kernel_args()
    amsgrad = group["amsgrad"]
    loc = _dispatch.local
    by_dtype: dict[torch.dtype, list[int]] = {}
    for i, p in enumerate(params):
        if p.numel():
            by_dtype.setdefault(p.dtype, []).append(i)
    for idx in by_dtype.values():
        sts = [states[i] for i in idx]
        ps = [loc(params[i]) for i in idx]
        weights = lowering.kernel_weights(ps, ps[0].dtype, memo) if code == _Code.L1W else None
        _cpu_step.adam_step(ps, [loc(grads[i]) for i in idx],
                             [loc(st["exp_avg"]) for st in sts], [loc(st["exp_avg_sq"]) for st in sts],
                             [loc(st["max_exp_avg_sq"]) for st in sts] if amsgrad else None,
                             [st["step"] for st in sts], lr=hyper(group["lr"]), beta1=hyper(group["betas"][0]),
                             beta2=hyper(group["betas"][1]), eps=hyper(group["eps"]),
                             weight_decay=hyper(group["weight_decay"]), decoupled=group["decoupled_weight_decay"],
                             maximize=group["maximize"], preconditioned=group["prox"] == "preconditioned",
                             code=code, a=a, b=b, nm=lowering.block_args(), grad_scale=group.get("_grad_scale", 1.0),
                             weights=weights)
    for i, p in enumerate(params):  # empty tensors: nothing to compute, the step still counts
        if not p.numel():
            states[i]["step"] += 1


def _adam_triton(group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
                 states: list[dict[str, Any]], t: int, lowering: SeparableProx, memo: dict) -> None:
    """One pass over memory: a multi-tensor Triton launch per dtype (DTensors: local shards)."""
    code, a, b = lowering.kernel_args()
    amsgrad = group["amsgrad"]
    loc = _dispatch.local
    by_dtype: dict[torch.dtype, list[int]] = {}
    for i, p in enumerate(params):
        by_dtype.setdefault(p.dtype, []).append(i)
    for idx in by_dtype.values():
        sts = [states[i] for i in idx]
        ps = [loc(params[i]).detach() for i in idx]
        weights = lowering.kernel_weights(ps, compute_dtype(ps[0]), memo) if code == _Code.L1W else None
        fused_prox_adam_multi(ps, [loc(grads[i]) for i in idx],
                              [loc(st["exp_avg"]) for st in sts], [loc(st["exp_avg_sq"]) for st in sts],
                              [loc(st["max_exp_avg_sq"]) for st in sts] if amsgrad else None, lr=float(group["lr"]),
                              beta1=float(group["betas"][0]), beta2=float(group["betas"][1]), eps=float(group["eps"]),
                              weight_decay=float(group["weight_decay"]), decoupled=group["decoupled_weight_decay"],
                              maximize=group["maximize"], step=t, preconditioned=group["prox"] == "preconditioned",
                              code=code, a=a, b=b, weights=weights)
