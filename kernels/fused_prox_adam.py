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
from ._lazy import check_launchable, jit
from .fused_penalty import pointer_table, prox_code_ref, scalar_tensor, tile_table

__all__ = ["fused_prox_adam", "fused_prox_adam_multi", "fused_prox_adam_ref", "adam_step_scalars"]

tl = None  # the real triton.language is put here at the first launch (see _lazy.py)
triton = None

BLOCK = 1024

# order of the hyperparameter vector read by the kernel
_HP = ("lr", "omb1", "b2", "omb2", "eps", "wd", "decay", "ss", "bc2s", "a", "b")


def adam_step_scalars(lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                      decoupled: bool, step: int | torch.Tensor) -> dict[str, float]:
    """The per-step scalars of the Adam update (step counted from 1), shared by every path.

    ``step`` may be a 0-d tensor (then ``ss`` and ``bc2s`` are tensors): the form a
    compiled step uses, so that the step count is data rather than a constant of the graph.

    ``wd`` is the coupled weight decay added to the gradient, ``decay`` the decoupled
    factor applied to the parameter, ``ss = lr / (1 - beta1**step)`` and
    ``bc2s = sqrt(1 - beta2**step)``.
    """
    coupled = weight_decay if not decoupled else 0.0
    decay = 1.0 - lr * weight_decay if decoupled else 1.0
    return {
        "lr": lr, "omb1": 1.0 - beta1, "b2": beta2, "omb2": 1.0 - beta2, "eps": eps,
        "wd": coupled, "decay": decay, "ss": lr / (1.0 - beta1 ** step),
        "bc2s": (1.0 - beta2 ** step).sqrt() if isinstance(step, torch.Tensor) else math.sqrt(1.0 - beta2 ** step),
    }


@jit
def _fused_prox_adam_kernel(ptrs, sizes, tile_tensor, tile_block, T, hp_ptr,
                            P_TY: tl.constexpr, S_TY: tl.constexpr,
                            PENALTY: tl.constexpr, AMSGRAD: tl.constexpr, PRECOND: tl.constexpr,
                            MAXIMIZE: tl.constexpr, HAS_WD: tl.constexpr, HAS_DECAY: tl.constexpr,
                            IS_F64: tl.constexpr, BLOCK: tl.constexpr):
    # multi-tensor launch: this program does block `blk` of tensor `t` (see fused_penalty.py)
    pid = tl.program_id(0)
    t = tl.load(tile_tensor + pid)
    blk = tl.load(tile_block + pid)
    n = tl.load(sizes + t)
    p_ptr = tl.load(ptrs + t).to(tl.pointer_type(P_TY))
    g_ptr = tl.load(ptrs + T + t).to(tl.pointer_type(P_TY))
    m_ptr = tl.load(ptrs + 2 * T + t).to(tl.pointer_type(S_TY))
    v_ptr = tl.load(ptrs + 3 * T + t).to(tl.pointer_type(S_TY))
    vmax_ptr = tl.load(ptrs + 4 * T + t).to(tl.pointer_type(S_TY))
    offs = blk.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    # scalars live in a small tensor of the compute dtype (float64 stays float64)
    lr = tl.load(hp_ptr + 0)
    omb1 = tl.load(hp_ptr + 1)
    b2 = tl.load(hp_ptr + 2)
    omb2 = tl.load(hp_ptr + 3)
    eps = tl.load(hp_ptr + 4)
    wd = tl.load(hp_ptr + 5)
    decay = tl.load(hp_ptr + 6)
    ss = tl.load(hp_ptr + 7)
    bc2s = tl.load(hp_ptr + 8)
    pa = tl.load(hp_ptr + 9)
    pb = tl.load(hp_ptr + 10)
    p = tl.load(p_ptr + offs, mask=mask, other=0.0).to(lr.dtype)
    g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(lr.dtype)
    m = tl.load(m_ptr + offs, mask=mask, other=0.0).to(lr.dtype)
    v = tl.load(v_ptr + offs, mask=mask, other=0.0).to(lr.dtype)
    if MAXIMIZE:
        g = -g
    if HAS_DECAY:
        p = p * decay
    if HAS_WD:
        g = g + wd * p
    m = m + omb1 * (g - m)
    v = b2 * v + omb2 * (g * g)
    tl.store(m_ptr + offs, m.to(S_TY), mask=mask)
    tl.store(v_ptr + offs, v.to(S_TY), mask=mask)
    if AMSGRAD:
        v = tl.maximum(tl.load(vmax_ptr + offs, mask=mask, other=0.0).to(lr.dtype), v)
        tl.store(vmax_ptr + offs, v.to(S_TY), mask=mask)
    lrv = tl.zeros_like(p) + lr
    if IS_F64:  # float64 sqrt and division are IEEE-rounded; the *_rn forms are float32 only
        den = tl.sqrt(v) / bc2s + eps
        u = p - ss * (m / den)
        s = lrv / den if PRECOND else lrv
    else:
        den = tl.div_rn(tl.sqrt_rn(v), bc2s) + eps
        u = p - ss * tl.div_rn(m, den)
        s = tl.div_rn(lrv, den) if PRECOND else lrv
    if PENALTY == 1:  # L1: soft threshold at s*a
        t = s * pa
        y = u - tl.minimum(tl.maximum(u, -t), t)
    elif PENALTY == 2:  # L2
        y = u / (1.0 + s * pa) if IS_F64 else tl.div_rn(u, 1.0 + s * pa)
    elif PENALTY == 3:  # elastic net
        t = s * pa
        y = u - tl.minimum(tl.maximum(u, -t), t)
        y = y / (1.0 + s * pb) if IS_F64 else tl.div_rn(y, 1.0 + s * pb)
    elif PENALTY == 4:  # L0: hard threshold at sqrt(a*s)
        thr = tl.sqrt(pa * s) if IS_F64 else tl.sqrt_rn(pa * s)
        y = tl.where(tl.abs(u) > thr, u, 0.0)
    elif PENALTY == 5:  # box
        y = tl.minimum(tl.maximum(u, pa), pb)
    else:
        y = u
    tl.store(p_ptr + offs, y.to(P_TY), mask=mask)


def _check_state(p: torch.Tensor, name: str, t: torch.Tensor, dtype: torch.dtype) -> None:
    if t.shape != p.shape or t.device != p.device or not t.is_contiguous() or t.dtype != dtype:
        raise ValueError(f"{name} must be a contiguous {dtype} tensor of shape {tuple(p.shape)} on {p.device}, "
                         f"got {t.dtype} {tuple(t.shape)} on {t.device} (contiguous={t.is_contiguous()})")


def fused_prox_adam(p: torch.Tensor, grad: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor,
                    max_exp_avg_sq: torch.Tensor | None, *, lr: float, beta1: float, beta2: float, eps: float,
                    weight_decay: float, decoupled: bool, maximize: bool, step: int, preconditioned: bool,
                    code: int, a: float, b: float) -> None:
    """One fused proximal Adam step on ``p`` in place, with the Triton kernel.

    ``p`` must be contiguous, CUDA (or CPU under ``TRITON_INTERPRET=1``); ``grad`` of the
    same shape and dtype (copied if not contiguous); the moments contiguous, in the
    compute dtype (float32 for half parameters). ``max_exp_avg_sq`` is given for AMSGrad.
    ``code, a, b`` describe the penalty (``proxgan._lowering.lower(penalty).kernel_args()``).
    Scalars are assumed validated by the caller (the optimizer). See
    :func:`fused_prox_adam_multi` for many tensors in one launch.
    """
    fused_prox_adam_multi([p], [grad], [exp_avg], [exp_avg_sq], None if max_exp_avg_sq is None else [max_exp_avg_sq],
                          lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
                          maximize=maximize, step=step, preconditioned=preconditioned, code=code, a=a, b=b)


def fused_prox_adam_multi(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
                          exp_avg_sqs: list[torch.Tensor], max_exp_avg_sqs: list[torch.Tensor] | None, *,
                          lr: float, beta1: float, beta2: float, eps: float, weight_decay: float, decoupled: bool,
                          maximize: bool, step: int, preconditioned: bool, code: int, a: float, b: float) -> None:
    """:func:`fused_prox_adam` on many tensors (same dtype and device, same step count) in one launch."""
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
    keep = [i for i, p in enumerate(params) if p.numel()]
    if not keep:
        return
    check_launchable(params[0])
    import triton.language as tlang

    sc = adam_step_scalars(lr, beta1, beta2, eps, weight_decay, decoupled, step)
    sc.update(a=a, b=b)
    hp = scalar_tensor(tuple(float(sc[k]) for k in _HP), cd, device)
    sel = [[params[i] for i in keep], [gs[i] for i in keep], [exp_avgs[i] for i in keep],
           [exp_avg_sqs[i] for i in keep], [(max_exp_avg_sqs if amsgrad else exp_avg_sqs)[i] for i in keep]]
    ptrs = pointer_table(sel, device)
    tile_tensor, tile_block = tile_table(tuple(params[i].numel() for i in keep), BLOCK, device)
    tys = {torch.float64: tlang.float64, torch.float32: tlang.float32, torch.float16: tlang.float16,
           torch.bfloat16: tlang.bfloat16}
    _fused_prox_adam_kernel[(tile_tensor.numel(),)](
        ptrs, torch.tensor([params[i].numel() for i in keep], dtype=torch.int64).to(device), tile_tensor,
        tile_block, len(keep), hp, P_TY=tys[dtype], S_TY=tys[cd], PENALTY=code, AMSGRAD=amsgrad,
        PRECOND=preconditioned, MAXIMIZE=maximize, HAS_WD=sc["wd"] != 0.0, HAS_DECAY=sc["decay"] != 1.0,
        IS_F64=cd == torch.float64, BLOCK=BLOCK)


def fused_prox_adam_ref(p: torch.Tensor, grad: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor,
                        max_exp_avg_sq: torch.Tensor | None, *, lr: float, beta1: float, beta2: float, eps: float,
                        weight_decay: float, decoupled: bool, maximize: bool, step: int, preconditioned: bool,
                        code: int, a: float, b: float) -> None:
    """The specification of :func:`fused_prox_adam` in plain PyTorch (same arguments, in place)."""
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
    p.detach().copy_(prox_code_ref(u, s, code, a, b))
