r"""Fused proximal Adam step: moments, bias correction, prox and the parameter write in one pass.

For one tensor, with :math:`t` the step number, :math:`\hat v = v/(1-\beta_2^t)` and
:math:`D = \sqrt{\hat v} + \epsilon`, the kernel computes in a single read of
``(p, g, m, v)`` and a single write of ``(p, m, v)``:

.. math::

    m &\leftarrow m + (1-\beta_1)(g - m), \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2, \\
    u &= p - \frac{\text{lr}}{1-\beta_1^t}\,\frac{m}{D}, \\
    p &\leftarrow \arg\min_y \tfrac12\,\lVert y - u\rVert^2_{\operatorname{diag}(1/s)} + g(y),
        \qquad s = \text{lr}/D \ (\text{preconditioned, ProxGen}) \ \text{or}\ s = \text{lr}\ (\text{scalar}).

(``maximize`` negates ``g``; weight decay is added to ``g`` or, decoupled, multiplies
``p`` by ``1 - lr·wd`` first; ``amsgrad`` uses the running maximum of ``v``.) The penalty
is given as a code of :mod:`proxgan.kernels.fused_penalty`. Half-precision parameters are
computed in float32 with float32 moments; float64 in float64.

Three layers: ``_fused_prox_adam_kernel`` (Triton, a multi-tensor launch: one kernel for
all the tensors of a group), ``fused_prox_adam`` / ``fused_prox_adam_multi`` (its
launchers, one tensor or a list) and ``fused_prox_adam_ref`` (plain PyTorch, the
specification).
``adam_step_scalars`` computes the per-step scalars that every path shares.
"""
from __future__ import annotations

import math

import torch

from ._common import compute_dtype
from ._hp import ADAM_HP, index, vector
from ._lazy import check_launchable, jit
from ._prox_triton import apply_weights, prox_tile, weight_column
from ._tile import load_tile, store_tile, tile_ptr
from .fused_penalty import Code, check_weights, pointer_table, prox_code_ref, scalar_tensor, step_variants, tile_table

__all__ = ["fused_prox_adam", "fused_prox_adam_multi", "fused_prox_adam_ref", "adam_step_scalars", "aot_variants"]

tl = None  # the real triton.language is put here at the first launch (see _lazy.py)
triton = None

BLOCK = 1024

# positions in the hyperparameter vector (its order: proxgan.kernels._hp.ADAM_HP); tl.constexpr at the first compile
H_LR, H_OMB1, H_B2, H_OMB2, H_EPS, H_WD, H_DECAY, H_SS, H_BC2S, H_A, H_B, H_SIGN, H_PRECOND = (
    index(ADAM_HP, k) for k in ("lr", "omb1", "b2", "omb2", "eps", "wd", "decay", "ss", "bc2s", "a", "b", "sign",
                                "precond"))
__constexpr__ = ("H_LR", "H_OMB1", "H_B2", "H_OMB2", "H_EPS", "H_WD", "H_DECAY", "H_SS", "H_BC2S", "H_A", "H_B",
                 "H_SIGN", "H_PRECOND")


def adam_step_scalars(lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                      decoupled: bool, step: int | torch.Tensor) -> dict[str, float]:
    """The per-step scalars of the Adam update (step counted from 1), shared by every path.

    ``step`` may be a 0-d tensor (then ``ss`` and ``bc2s`` are tensors): the form a
    compiled step uses, so that the step count is data rather than a constant of the graph.

    ``wd`` is the coupled weight decay added to the gradient, ``decay`` the decoupled
    factor applied to the parameter, ``ss = lr / (1 - beta1**step)`` and
    ``bc2s = sqrt(1 - beta2**step)``.

    Parameters
    ----------
    lr : float
        Learning rate.
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    eps : float
        The denominator's epsilon (returned as ``eps``).
    weight_decay : float
        Weight decay factor.
    decoupled : bool
        True: decoupled (AdamW) decay, ``decay = 1 - lr * weight_decay`` and ``wd = 0``;
        False: ``wd = weight_decay`` and ``decay = 1``.
    step : int or torch.Tensor
        The step number, counted from 1; a 0-d tensor gives tensor ``ss`` and ``bc2s``.

    Returns
    -------
    dict of str to float
        ``lr``, ``omb1 = 1 - beta1``, ``b2 = beta2``, ``omb2 = 1 - beta2``, ``eps``, ``wd``,
        ``decay``, ``ss`` and ``bc2s``.
    """
    coupled = weight_decay if not decoupled else 0.0
    decay = 1.0 - lr * weight_decay if decoupled else 1.0
    return {
        "lr": lr, "omb1": 1.0 - beta1, "b2": beta2, "omb2": 1.0 - beta2, "eps": eps,
        "wd": coupled, "decay": decay, "ss": lr / (1.0 - beta1 ** step),
        "bc2s": (1.0 - beta2 ** step).sqrt() if isinstance(step, torch.Tensor) else math.sqrt(1.0 - beta2 ** step),
    }


@jit(do_not_specialize=["T"], do_not_specialize_on_alignment=["ptrs", "sizes", "tile_tensor", "tile_block", "hp_ptr"])
def _fused_prox_adam_kernel(ptrs, sizes, tile_tensor, tile_block, T, hp_ptr,
                            P_TY: tl.constexpr, S_TY: tl.constexpr, PENALTY: tl.constexpr,
                            AMSGRAD: tl.constexpr, IS_F64: tl.constexpr, BLOCK: tl.constexpr):
    # multi-tensor launch: this program does block `blk` of tensor `t` (see fused_penalty.py).
    # Full tiles of tensors that all start 16-byte aligned take the 128-bit body (_tile.py).
    pid = tl.program_id(0)
    t = tl.load(tile_tensor + pid)
    start = tl.load(tile_block + pid).to(tl.int64) * BLOCK
    rem = tl.load(sizes + t) - start
    pa = tl.load(ptrs + t)
    ga = tl.load(ptrs + T + t)
    ma = tl.load(ptrs + 2 * T + t)
    va = tl.load(ptrs + 3 * T + t)
    wa = tl.load(ptrs + 4 * T + t)
    xa = weight_column(ptrs, T, t, 5, pa, PENALTY)  # weighted L1 only: its weights
    if (((pa | ga | ma | va | wa | xa) & 15) == 0) & (rem >= BLOCK):  # all 16-byte aligned, full tile
        _prox_adam_tile(pa, ga, ma, va, wa, xa, start, rem, hp_ptr, P_TY, S_TY, PENALTY, AMSGRAD, IS_F64, BLOCK,
                        False)
    else:
        _prox_adam_tile(pa, ga, ma, va, wa, xa, start, rem, hp_ptr, P_TY, S_TY, PENALTY, AMSGRAD, IS_F64, BLOCK,
                        True)


@jit
def _prox_adam_tile(pa, ga, ma, va, wa, xa, start, rem, hp_ptr, P_TY: tl.constexpr, S_TY: tl.constexpr,
                    PENALTY: tl.constexpr, AMSGRAD: tl.constexpr, IS_F64: tl.constexpr, BLOCK: tl.constexpr,
                    MASKED: tl.constexpr):
    p_ptr = tile_ptr(pa.to(tl.pointer_type(P_TY)), start, not MASKED)
    g_ptr = tile_ptr(ga.to(tl.pointer_type(P_TY)), start, not MASKED)
    m_ptr = tile_ptr(ma.to(tl.pointer_type(S_TY)), start, not MASKED)
    v_ptr = tile_ptr(va.to(tl.pointer_type(S_TY)), start, not MASKED)
    # scalars live in a small tensor of the compute dtype (float64 stays float64); the flags
    # are numbers too (one compiled kernel serves maximize, AdamW, coupled decay, precond)
    lr = tl.load(hp_ptr + H_LR)
    omb1 = tl.load(hp_ptr + H_OMB1)
    b2 = tl.load(hp_ptr + H_B2)
    omb2 = tl.load(hp_ptr + H_OMB2)
    eps = tl.load(hp_ptr + H_EPS)
    wd = tl.load(hp_ptr + H_WD)
    decay = tl.load(hp_ptr + H_DECAY)
    ss = tl.load(hp_ptr + H_SS)
    bc2s = tl.load(hp_ptr + H_BC2S)
    pa_ = tl.load(hp_ptr + H_A)
    pb = tl.load(hp_ptr + H_B)
    sign = tl.load(hp_ptr + H_SIGN)
    precond = tl.load(hp_ptr + H_PRECOND)
    p = load_tile(p_ptr, rem, BLOCK, MASKED).to(lr.dtype)
    g = load_tile(g_ptr, rem, BLOCK, MASKED).to(lr.dtype)
    m = load_tile(m_ptr, rem, BLOCK, MASKED).to(lr.dtype)
    v = load_tile(v_ptr, rem, BLOCK, MASKED).to(lr.dtype)
    g = g * sign  # -1 with maximize: exact
    p = p * decay  # 1 - lr*wd with AdamW, else 1: exact
    g = tl.where(wd != 0.0, g + wd * p, g)
    m = m + omb1 * (g - m)
    v = b2 * v + omb2 * (g * g)
    store_tile(m_ptr, m, rem, BLOCK, MASKED)
    store_tile(v_ptr, v, rem, BLOCK, MASKED)
    if AMSGRAD:
        w_ptr = tile_ptr(wa.to(tl.pointer_type(S_TY)), start, not MASKED)
        v = tl.maximum(load_tile(w_ptr, rem, BLOCK, MASKED).to(lr.dtype), v)
        store_tile(w_ptr, v, rem, BLOCK, MASKED)
    lrv = tl.zeros_like(p) + lr
    if IS_F64:  # float64 sqrt and division are IEEE-rounded; the *_rn forms are float32 only
        den = tl.sqrt(v) / bc2s + eps
        u = p - ss * (m / den)
        s = tl.where(precond != 0.0, lrv / den, lrv)
    else:
        den = tl.div_rn(tl.sqrt_rn(v), bc2s) + eps
        u = p - ss * tl.div_rn(m, den)
        s = tl.where(precond != 0.0, tl.div_rn(lrv, den), lrv)
    s = apply_weights(s, xa, start, rem, S_TY, PENALTY, BLOCK, MASKED)
    y = prox_tile(u, s, pa_, pb, PENALTY, IS_F64)
    store_tile(p_ptr, y, rem, BLOCK, MASKED)


def _check_state(p: torch.Tensor, name: str, t: torch.Tensor, dtype: torch.dtype) -> None:
    if t.shape != p.shape or t.device != p.device or not t.is_contiguous() or t.dtype != dtype:
        raise ValueError(f"{name} must be a contiguous {dtype} tensor of shape {tuple(p.shape)} on {p.device}, "
                         f"got {t.dtype} {tuple(t.shape)} on {t.device} (contiguous={t.is_contiguous()})")


def fused_prox_adam(p: torch.Tensor, grad: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor,
                    max_exp_avg_sq: torch.Tensor | None, *, lr: float, beta1: float, beta2: float, eps: float,
                    weight_decay: float, decoupled: bool, maximize: bool, step: int, preconditioned: bool,
                    code: int, a: float, b: float, weights: torch.Tensor | None = None) -> None:
    """One fused proximal Adam step on ``p`` in place, with the Triton kernel.

    ``p`` must be contiguous, CUDA (or CPU under ``TRITON_INTERPRET=1``); ``grad`` of the
    same shape and dtype (copied if not contiguous); the moments contiguous, in the
    compute dtype (float32 for half parameters). ``max_exp_avg_sq`` is given for AMSGrad.
    ``code, a, b`` describe the penalty (``proxgan._lowering.lower(penalty).kernel_args()``).
    Scalars are assumed validated by the caller (the optimizer). See
    :func:`fused_prox_adam_multi` for many tensors in one launch.

    Parameters
    ----------
    p : torch.Tensor
        The parameter, updated in place.
    grad : torch.Tensor
        Its gradient, same shape, dtype and device as ``p``.
    exp_avg : torch.Tensor
        First moment estimate ``m`` (shape of ``p``, compute dtype), updated in place.
    exp_avg_sq : torch.Tensor
        Second moment estimate ``v`` (shape of ``p``, compute dtype), updated in place.
    max_exp_avg_sq : torch.Tensor or None
        Running maximum of ``v`` for AMSGrad (shape of ``p``, compute dtype), updated in
        place; None without AMSGrad.
    lr : float
        Learning rate (> 0).
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    eps : float
        Added to the bias-corrected square root of the second moment (the denominator
        :math:`D`).
    weight_decay : float
        Weight decay factor (>= 0).
    decoupled : bool
        True: decoupled (AdamW) weight decay, the parameter is multiplied by
        ``1 - lr * weight_decay`` first; False: ``weight_decay * p`` is added to the gradient.
    maximize : bool
        Maximize the objective: the gradient is negated.
    step : int
        The step number, counted from 1 (after this step's increment), for the bias
        corrections.
    preconditioned : bool
        True: the prox step is per coordinate, ``lr / D`` (ProxGen); False: the scalar ``lr``.
    code : int
        The penalty's :class:`~proxgan.kernels.fused_penalty.Code`.
    a, b : float
        The penalty's scalar vector for ``code`` (see :mod:`proxgan.kernels.fused_penalty`).
    weights : torch.Tensor, optional
        For ``code`` ``L1W`` (required there): the weights of a weighted L1, contiguous, of
        the shape of ``p``, in the compute dtype.
    """
    fused_prox_adam_multi([p], [grad], [exp_avg], [exp_avg_sq], None if max_exp_avg_sq is None else [max_exp_avg_sq],
                          lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
                          maximize=maximize, step=step, preconditioned=preconditioned, code=code, a=a, b=b,
                          weights=None if weights is None else [weights])


def fused_prox_adam_multi(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
                          exp_avg_sqs: list[torch.Tensor], max_exp_avg_sqs: list[torch.Tensor] | None, *,
                          lr: float, beta1: float, beta2: float, eps: float, weight_decay: float, decoupled: bool,
                          maximize: bool, step: int, preconditioned: bool, code: int, a: float, b: float,
                          weights: list[torch.Tensor] | None = None) -> None:
    """:func:`fused_prox_adam` on many tensors (same dtype and device, same step count) in one launch.

    Parameters
    ----------
    params : list of torch.Tensor
        The parameters (contiguous, one dtype and device), updated in place.
    grads : list of torch.Tensor
        Their gradients, each of the shape, dtype and device of its parameter.
    exp_avgs : list of torch.Tensor
        First moment estimates (contiguous, compute dtype), updated in place.
    exp_avg_sqs : list of torch.Tensor
        Second moment estimates (contiguous, compute dtype), updated in place.
    max_exp_avg_sqs : list of torch.Tensor or None
        Running maxima of the second moments for AMSGrad (contiguous, compute dtype),
        updated in place; None without AMSGrad.
    lr : float
        Learning rate (> 0).
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    eps : float
        Added to the bias-corrected square root of the second moment (the denominator
        :math:`D`).
    weight_decay : float
        Weight decay factor (>= 0).
    decoupled : bool
        True: decoupled (AdamW) weight decay, the parameter is multiplied by
        ``1 - lr * weight_decay`` first; False: ``weight_decay * p`` is added to the gradient.
    maximize : bool
        Maximize the objective: the gradient is negated.
    step : int
        The step number, counted from 1 (after this step's increment), for the bias
        corrections.
    preconditioned : bool
        True: the prox step is per coordinate, ``lr / D`` (ProxGen); False: the scalar ``lr``.
    code : int
        The penalty's :class:`~proxgan.kernels.fused_penalty.Code`.
    a, b : float
        The penalty's scalar vector for ``code`` (see :mod:`proxgan.kernels.fused_penalty`).
    weights : list of torch.Tensor, optional
        For ``code`` ``L1W`` (required there): one weight tensor per parameter, contiguous,
        of its shape, in the compute dtype.

    Raises
    ------
    ValueError
        If the parameters differ in dtype or device, a parameter is not contiguous, or a
        gradient or state does not match its parameter.
    """
    if not params:
        return
    dtype, device = params[0].dtype, params[0].device
    cd = compute_dtype(dtype)
    amsgrad = max_exp_avg_sqs is not None
    gs = []
    for i, p in enumerate(params):
        if p.dtype != dtype or p.device != device:
            raise ValueError("a multi-tensor launch needs parameters of one dtype and device")
        if not p.is_contiguous():
            raise ValueError("fused_prox_adam needs a contiguous parameter")
        g = grads[i]
        if g.shape != p.shape or g.dtype != p.dtype or g.device != p.device:
            raise ValueError("grad must match p in shape, dtype and device")
        gs.append(g.contiguous())
        _check_state(p, "exp_avg", exp_avgs[i], cd)
        _check_state(p, "exp_avg_sq", exp_avg_sqs[i], cd)
        if amsgrad:
            _check_state(p, "max_exp_avg_sq", max_exp_avg_sqs[i], cd)
    check_weights(code, params, weights, cd)
    keep = [i for i, p in enumerate(params) if p.numel()]
    if not keep:
        return
    check_launchable(params[0])
    import triton.language as tlang

    sc = adam_step_scalars(lr, beta1, beta2, eps, weight_decay, decoupled, step)
    sc.update(a=a, b=b, sign=-1.0 if maximize else 1.0, precond=1.0 if preconditioned else 0.0)
    hp = scalar_tensor(vector(ADAM_HP, sc), cd, device)
    sel = [[params[i] for i in keep], [gs[i] for i in keep], [exp_avgs[i] for i in keep],
           [exp_avg_sqs[i] for i in keep], [(max_exp_avg_sqs if amsgrad else exp_avg_sqs)[i] for i in keep]]
    if code == Code.L1W:
        sel.append([weights[i] for i in keep])
    ptrs = pointer_table(sel, device)
    tile_tensor, tile_block = tile_table(tuple(params[i].numel() for i in keep), BLOCK, device)
    tys = {torch.float64: tlang.float64, torch.float32: tlang.float32, torch.float16: tlang.float16,
           torch.bfloat16: tlang.bfloat16}
    _fused_prox_adam_kernel[(tile_tensor.numel(),)](
        ptrs, torch.tensor([params[i].numel() for i in keep], dtype=torch.int64).to(device), tile_tensor,
        tile_block, len(keep), hp, P_TY=tys[dtype], S_TY=tys[cd], PENALTY=int(code), AMSGRAD=amsgrad,
        IS_F64=cd == torch.float64, BLOCK=BLOCK)


def aot_variants() -> list:
    """Every compiled form of ``_fused_prox_adam_kernel`` that :func:`fused_prox_adam_multi` can launch:
    per parameter dtype, penalty code and AMSGrad (the other options are numbers)."""
    return step_variants("fused_prox_adam", _fused_prox_adam_kernel, "AMSGRAD", BLOCK)


def fused_prox_adam_ref(p: torch.Tensor, grad: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor,
                        max_exp_avg_sq: torch.Tensor | None, *, lr: float, beta1: float, beta2: float, eps: float,
                        weight_decay: float, decoupled: bool, maximize: bool, step: int, preconditioned: bool,
                        code: int, a: float, b: float, weights: torch.Tensor | None = None) -> None:
    """The specification of :func:`fused_prox_adam` in plain PyTorch (same arguments, in place).

    Its parameters are those of :func:`fused_prox_adam`.
    """
    cd = compute_dtype(p.dtype)
    sc = adam_step_scalars(lr, beta1, beta2, eps, weight_decay, decoupled, step)
    x = p.detach().to(cd)
    g = grad.to(cd)
    if maximize:
        g = -g
    if sc["decay"] != 1.0:
        x = x * sc["decay"]
    if sc["wd"] != 0.0:
        g = g + sc["wd"] * x
    m = exp_avg + sc["omb1"] * (g - exp_avg)
    v = sc["b2"] * exp_avg_sq + sc["omb2"] * (g * g)
    exp_avg.copy_(m)
    exp_avg_sq.copy_(v)
    if max_exp_avg_sq is not None:
        v = torch.maximum(max_exp_avg_sq, v)
        max_exp_avg_sq.copy_(v)
    den = torch.sqrt(v) / sc["bc2s"] + eps
    u = x - sc["ss"] * (m / den)
    s = lr / den if preconditioned else lr
    p.detach().copy_(prox_code_ref(u, s, code, a, b, weights))


# the reference documents the parameter list of the kernel it specifies, written once
_PARAMETERS = fused_prox_adam.__doc__[fused_prox_adam.__doc__.index("\n    Parameters\n"):]
fused_prox_adam_ref.__doc__ = fused_prox_adam_ref.__doc__.rstrip() + "\n" + _PARAMETERS
