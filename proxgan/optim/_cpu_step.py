r"""The fused CPU steps as seen by the optimizers: a direct call in eager mode, a PyTorch
operator while ``torch.compile`` traces.

The numba kernels of :mod:`proxgan.optim._fused_cpu` take raw ``data_ptr()`` tables, which
Dynamo cannot trace. So each step is also registered as an operator of the ``proxgan``
namespace (``torch.ops.proxgan.fused_adam_cpu_`` and ``torch.ops.proxgan.fused_sgd_cpu_``)
that mutates its tensor lists in place, as ``torch._foreach_add_`` does. A compiled step
then holds the whole fused step as one node of its graph: no graph break, no copy of the
mutated tensors, and at run time the same single numba call as eager (Inductor calls the
operator; the kernel itself is not recompiled). In eager mode the optimizers call the
launchers directly, which skips the dispatcher's few microseconds.

This module decides which of the two is called (:func:`adam_step`, :func:`sgd_step`);
nothing else calls the numba launchers. Importing it registers the operators and does not
import numba (the kernels module is imported at the first step).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from proxgan import _dispatch
from proxgan.kernels._hp import ADAM_INPUTS, SGD_INPUTS

__all__ = ["adam_step", "sgd_step"]

_LIB = torch.library.Library("proxgan", "DEF")  # the fused steps as operators, for torch.compile
_LIB.define("fused_adam_cpu_(Tensor(a!)[] params, Tensor[] grads, Tensor(b!)[] exp_avgs, Tensor(c!)[] exp_avg_sqs, "
            "Tensor(d!)[] max_exp_avg_sqs, Tensor(e!)[] steps, Tensor hp, bool decoupled, bool maximize, "
            "bool preconditioned, int code, int nmn, int nmm, Tensor[] weights) -> ()")
_LIB.define("fused_sgd_cpu_(Tensor(a!)[] params, Tensor[] grads, Tensor(b!)[] momentum_buffers, bool[] firsts, "
            "Tensor hp, bool nesterov, bool maximize, int code, int nmn, int nmm, Tensor[] weights) -> ()")
# the float hyperparameters, in the order of the operators' ``hp`` tensor (float64, made in the graph,
# so that a tensor ``lr`` filled in place by a scheduler needs no recompilation): proxgan.kernels._hp
_ADAM_HP, _SGD_HP = ADAM_INPUTS, SGD_INPUTS

_KERNELS: Any = None


def _kernels() -> Any:
    """:mod:`proxgan.optim._fused_cpu`, imported at the first fused CPU step (it imports numba)."""
    global _KERNELS
    if _KERNELS is None:
        from . import _fused_cpu

        _KERNELS = _fused_cpu
    return _KERNELS


def _adam_impl(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, hp, decoupled, maximize,
               preconditioned, code, nmn, nmm, weights) -> None:
    _kernels().adam_step(params, [g.contiguous() for g in grads], exp_avgs, exp_avg_sqs, max_exp_avg_sqs or None,
                         steps, decoupled=decoupled, maximize=maximize, preconditioned=preconditioned, code=code,
                         nm=(nmn, nmm), weights=weights or None, **dict(zip(_ADAM_HP, hp.tolist())))


def _sgd_impl(params, grads, momentum_buffers, firsts, hp, nesterov, maximize, code, nmn, nmm, weights) -> None:
    fc = _kernels()
    plan = fc.sgd_plan(params[0].dtype, nesterov=nesterov, maximize=maximize, code=code, nm=(nmn, nmm),
                       **dict(zip(_SGD_HP, hp.tolist())))
    fc.sgd_step(params, [g.contiguous() for g in grads], momentum_buffers or params, firsts or None, plan,
                weights or None)


def _hp_tensor(hp: dict[str, Any], names: tuple[str, ...]) -> torch.Tensor:
    """The float hyperparameters (numbers or one-element tensors) as one float64 tensor, in the graph."""
    return torch.stack([torch.as_tensor(hp[k], dtype=torch.float64).reshape(()) for k in names])


def _nothing(*args: Any) -> None:
    """What the operators return while tracing (they only write their arguments)."""
    return None


_LIB.impl("fused_adam_cpu_", _adam_impl, "CPU")
_LIB.impl("fused_sgd_cpu_", _sgd_impl, "CPU")
torch.library.register_fake("proxgan::fused_adam_cpu_", _nothing, lib=_LIB)
torch.library.register_fake("proxgan::fused_sgd_cpu_", _nothing, lib=_LIB)


def adam_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], exp_avgs: Sequence[torch.Tensor],
              exp_avg_sqs: Sequence[torch.Tensor], max_exp_avg_sqs: Sequence[torch.Tensor] | None,
              steps: Sequence[torch.Tensor], **hp: Any) -> None:
    """The fused ProxAdam step on CPU tensors of one dtype (arguments: :func:`proxgan.optim._fused_cpu.adam_step`;
    ``grads`` need not be contiguous). While tracing, the float hyperparameters may be
    one-element tensors (:func:`proxgan.optim._base.hyper`)."""
    if _dispatch.compiling():
        nmn, nmm = hp.get("nm", (0, 0))
        torch.ops.proxgan.fused_adam_cpu_(list(params), list(grads), list(exp_avgs), list(exp_avg_sqs),
                                          list(max_exp_avg_sqs or []), list(steps), _hp_tensor(hp, _ADAM_HP),
                                          hp["decoupled"], hp["maximize"], hp["preconditioned"], hp["code"], nmn, nmm,
                                          list(hp.get("weights") or []))
        return
    _kernels().adam_step(params, [g.contiguous() for g in grads], exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                         **hp)


def sgd_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor],
             momentum_buffers: Sequence[torch.Tensor] | None, firsts: Sequence[bool] | None, memo: dict,
             nm: tuple[int, int], hp: dict[str, Any], weights: Sequence[torch.Tensor] | None = None) -> None:
    """The fused ProxSGD step on CPU tensors of one dtype (:func:`proxgan.optim._fused_cpu.sgd_step`).

    ``momentum_buffers`` is ``None`` without momentum, ``firsts`` ``None`` when no buffer
    starts; ``hp`` the keyword hyperparameters of :func:`proxgan.optim._fused_cpu.sgd_plan`,
    whose result is kept in ``memo`` (the group's, see
    :meth:`proxgan.optim._base.ProxOptimizer._validate`) per dtype (while tracing, float
    hyperparameters may be one-element tensors). ``grads`` need not be contiguous. ``weights``:
    those of a weighted L1 (code ``L1W``), one contiguous tensor per parameter.
    """
    if _dispatch.compiling():
        torch.ops.proxgan.fused_sgd_cpu_(list(params), list(grads), list(momentum_buffers or []), list(firsts or []),
                                         _hp_tensor(hp, _SGD_HP), hp["nesterov"], hp["maximize"], hp["code"], nm[0],
                                         nm[1], list(weights or []))
        return
    fc = _kernels()
    key = ("plan", params[0].dtype)
    plan = memo.get(key)
    if plan is None:
        plan = memo[key] = fc.sgd_plan(key[1], nm=nm, **hp)
    fc.sgd_step(params, [g.contiguous() for g in grads], params if momentum_buffers is None else momentum_buffers,
                firsts, plan, weights)
