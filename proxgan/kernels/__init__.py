"""Triton kernels of proxgan, each with a plain-PyTorch ``*_ref`` twin.

Importing this package never imports Triton: kernels are compiled at their first launch.
``soft_threshold``, ``group_soft_threshold`` and ``hard_threshold`` are the Triton
launchers (CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1``); the ``*_ref``
functions are the specifications; the ``*_torch`` functions are the fast PyTorch paths
that :mod:`proxgan.penalties` uses when Triton does not apply (the choice is made in
:mod:`proxgan._dispatch`). Kernels take plain numbers and tensors, never penalties.
Each kernel module lists its compiled forms in ``aot_variants()``; ``python -m
proxgan.kernels.aot`` compiles them all for chosen GPU architectures without a GPU.
"""
from ._lazy import TritonUnavailableError, triton_available
from .fused_prox_adam import adam_step_scalars, fused_prox_adam, fused_prox_adam_multi, fused_prox_adam_ref
from .fused_prox_sgd import fused_prox_sgd, fused_prox_sgd_multi, fused_prox_sgd_ref
from .group_soft_threshold import group_soft_threshold, group_soft_threshold_ref, group_soft_threshold_torch
from .hard_threshold import hard_threshold, hard_threshold_ref, hard_threshold_torch
from .soft_threshold import soft_threshold, soft_threshold_ref, soft_threshold_torch

__all__ = [
    "TritonUnavailableError",
    "adam_step_scalars",
    "fused_prox_adam",
    "fused_prox_adam_multi",
    "fused_prox_adam_ref",
    "fused_prox_sgd",
    "fused_prox_sgd_multi",
    "fused_prox_sgd_ref",
    "group_soft_threshold",
    "group_soft_threshold_ref",
    "group_soft_threshold_torch",
    "hard_threshold",
    "hard_threshold_ref",
    "hard_threshold_torch",
    "soft_threshold",
    "soft_threshold_ref",
    "soft_threshold_torch",
    "triton_available",
]
