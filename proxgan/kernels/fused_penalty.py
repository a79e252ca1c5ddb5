r"""What every kernel that applies a separable prox shares: the penalty codes, the scalar
vector of each code, and the tables of a multi-tensor launch.

A fused step applies the prox of a *separable* penalty element by element, so a kernel only
needs a :class:`Code` and two numbers ``(a, b)``: the *scalar vector* of that code, in the
order that :data:`SCALARS` defines once, here. With ``u`` the point before the prox and ``s``
the (scalar or per-coordinate) step, each code computes
:math:`\arg\min_y \tfrac12 (y-u)^2 + s\,g(y)`:

=========  ==========================  =======================  ===========================================
code       penalty                     ``(a, b)``               prox
=========  ==========================  =======================  ===========================================
``NONE``   none                        ``(0, 0)``               ``u``
``L1``     ``L1(lam)``                 ``(lam, 0)``             ``u - clamp(u, -s a, s a)`` (soft threshold)
``L2``     ``L2(lam)``                 ``(lam, 0)``             ``u / (1 + s a)``
``ENET``   ``ElasticNet(lam, rho)``    ``(lam rho, lam(1-rho))``  ``soft(u, s a) / (1 + s b)``
``L0``     ``L0(lam)``                 ``(2 lam, 0)``           ``u if |u| > sqrt(a s) else 0``
``BOX``    ``Box(lo, hi)``             ``(lo, hi)``             ``clamp(u, lo, hi)``
=========  ==========================  =======================  ===========================================

The switch from a code to its prox exists three times, once per language, each keyed by
these names: :func:`prox_code_ref` (PyTorch, the specification),
:func:`proxgan.kernels._prox_cpu.prox_scalar` (numba: the fused CPU steps and coordinate
descent) and :func:`proxgan.kernels._prox_triton.prox_tile` (a Triton device function that
every Triton step calls). A new code is one member of :class:`Code`, one row of
:data:`SCALARS` and one branch in each of the three.

Penalties reach these codes only through their ``lowering()``
(:func:`proxgan._lowering.lower`): this package never imports :mod:`proxgan.penalties`.
Penalties without a code (weighted L1 on the fused path, GroupL1, user subclasses that
override ``prox``) use the optimizers' multi-tensor path, which calls ``penalty.prox``.

A multi-tensor launch covers all tensors of a group with one kernel: program ``i`` handles
block ``tile_block[i]`` of tensor ``tile_tensor[i]``, whose addresses it reads from a table
of ``data_ptr()`` values (:func:`pointer_table`, :func:`tile_table`).
"""
from __future__ import annotations

import enum
import math

from proxgan._torch import torch

__all__ = ["Code", "SCALARS", "N_SCALARS", "NONE", "L1", "L2", "ENET", "L0", "BOX", "PENALTY_NAMES", "prox_code_ref",
           "scalar_tensor", "pointer_table", "tile_table", "step_variants"]


class Code(enum.IntEnum):
    """The separable prox a kernel applies (see the module docstring)."""

    NONE = 0
    L1 = 1
    L2 = 2
    ENET = 3
    L0 = 4
    BOX = 5


#: The scalar vector ``(a, b)`` of each code, by name and in order (unused slots are 0).
SCALARS: dict[Code, tuple[str, ...]] = {
    Code.NONE: (),
    Code.L1: ("lam",),
    Code.L2: ("lam",),
    Code.ENET: ("l1", "l2"),
    Code.L0: ("two_lam",),
    Code.BOX: ("lo", "hi"),
}

#: length of the scalar vector every kernel takes
N_SCALARS = 2

NONE, L1, L2, ENET, L0, BOX = Code.NONE, Code.L1, Code.L2, Code.ENET, Code.L0, Code.BOX

#: Short name of each code (kernel variant names, reports).
PENALTY_NAMES = {code: ("none" if code == Code.NONE else code.name) for code in Code}


_SCALARS: dict[tuple, torch.Tensor] = {}


def scalar_tensor(values: tuple[float, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The kernels' hyperparameter vector as a tensor, made once per distinct value.

    A fused step launches one kernel per tensor with the same scalars: this keeps it to one
    host-to-device copy per step and group. The cache holds the last 64 vectors.

    Parameters
    ----------
    values : tuple of float
        The scalars, e.g. a code's ``(a, b)`` or a step's hyperparameters (hashable: it is
        part of the cache key).
    dtype : torch.dtype
        dtype of the tensor (the kernel's compute dtype).
    device : torch.device
        Device the tensor lives on.

    Returns
    -------
    torch.Tensor
        A 1-D tensor of ``values``; the same cached tensor for the same arguments, so it
        must not be modified in place.
    """
    key = (values, dtype, device)
    t = _SCALARS.get(key)
    if t is None:
        if len(_SCALARS) >= 64:
            _SCALARS.clear()
        t = _SCALARS[key] = torch.tensor(values, dtype=dtype, device=device)
    return t


def pointer_table(columns: list[list[torch.Tensor]], device: torch.device) -> torch.Tensor:
    """int64 table of ``data_ptr()``: row ``k`` lists the tensors of ``columns[k]`` (flattened, row-major).

    Parameters
    ----------
    columns : list of list of torch.Tensor
        One list per role (parameters, gradients, each state), all of the same length: the
        tensors of a multi-tensor launch.
    device : torch.device
        Device the table is copied to (the kernel's).

    Returns
    -------
    torch.Tensor
        1-D int64 tensor of the addresses, ``columns[0]`` first, to be read by the kernel as
        a ``len(columns)`` x ``len(columns[0])`` row-major table.
    """
    return torch.tensor([t.data_ptr() for col in columns for t in col], dtype=torch.int64).to(device)


_TILES: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def tile_table(sizes: tuple[int, ...], block: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tile_tensor, tile_block)`` int32 tables of a multi-tensor launch, cached per sizes.

    Parameters
    ----------
    sizes : tuple of int
        Number of elements of each tensor of the launch.
    block : int
        Elements per program (the kernel's ``BLOCK``); tensor ``i`` gets
        ``ceil(sizes[i] / block)`` programs.
    device : torch.device
        Device the tables are copied to.

    Returns
    -------
    tile_tensor, tile_block : torch.Tensor
        1-D int32 tensors, one entry per program: the index of the tensor it handles and
        the index of its block within that tensor (cached: do not modify them).
    """
    key = (sizes, block, device)
    hit = _TILES.get(key)
    if hit is None:
        tt: list[int] = []
        tb: list[int] = []
        for i, n in enumerate(sizes):
            nb = (n + block - 1) // block
            tt += [i] * nb
            tb += range(nb)
        if len(_TILES) >= 64:
            _TILES.clear()
        hit = _TILES[key] = (torch.tensor(tt, dtype=torch.int32).to(device),
                             torch.tensor(tb, dtype=torch.int32).to(device))
    return hit


def prox_code_ref(u: torch.Tensor, s: float | torch.Tensor, code: int, a: float, b: float) -> torch.Tensor:
    """Plain-PyTorch prox of penalty ``code`` at step ``s`` (the kernels' specification).

    Parameters
    ----------
    u : torch.Tensor
        The point before the prox.
    s : float or torch.Tensor
        The step: a scalar, or a per-coordinate tensor broadcastable to ``u``.
    code : int
        A :class:`Code` (``NONE``, ``L1``, ``L2``, ``ENET``, ``L0`` or ``BOX``).
    a, b : float
        The scalar vector of ``code`` (see the table of the module docstring; ``(lo, hi)``
        for ``BOX``, where infinite bounds are not applied).

    Returns
    -------
    torch.Tensor
        The prox of ``s * g`` at ``u``, elementwise (same shape as ``u``); ``u`` itself for
        ``NONE``.

    Raises
    ------
    ValueError
        If ``code`` is not a known penalty code.
    """
    if code == NONE:
        return u
    if code == L1:
        t = s * a
        if not isinstance(t, torch.Tensor):
            t = torch.full_like(u, t)
        return u - torch.minimum(torch.maximum(u, -t), t)
    if code == L2:
        return u / (1 + s * a)
    if code == ENET:
        t = s * a
        if not isinstance(t, torch.Tensor):
            t = torch.full_like(u, t)
        return (u - torch.minimum(torch.maximum(u, -t), t)) / (1 + s * b)
    if code == L0:
        t = torch.sqrt(a * s) if isinstance(s, torch.Tensor) else math.sqrt(a * s)
        return torch.where(u.abs() > t, u, torch.zeros_like(u))
    if code == BOX:
        return torch.clamp(u, None if a == -math.inf else a, None if b == math.inf else b)
    raise ValueError(f"unknown penalty code {code!r}")


def step_variants(module: str, kernel, flag: str, block: int) -> list:
    """AOT variants of a multi-tensor step kernel: per parameter dtype, penalty code and the
    constexpr ``flag`` (``"AMSGRAD"``, ``"MOMENTUM"``: the options that change the memory traffic).

    Parameters
    ----------
    module : str
        Name of the kernel module the variants belong to (the ``kernel`` column of the AOT
        report).
    kernel
        The lazily compiled Triton step kernel (its ``compiled()`` gives the JIT function).
    flag : str
        Name of the kernel's boolean constexpr that is compiled both off and on, e.g.
        ``"AMSGRAD"`` or ``"MOMENTUM"``.
    block : int
        The kernel's ``BLOCK`` constexpr (elements per program).

    Returns
    -------
    list of Variant
        One variant per floating parameter dtype, penalty code and value of ``flag``.
    """
    from ._common import compute_dtype
    from ._variants import FLOAT_DTYPES, Variant, triton_type

    out = []
    for dtype in FLOAT_DTYPES:
        pt, st = triton_type(dtype), triton_type(compute_dtype(dtype))
        sig = {"ptrs": "*i64", "sizes": "*i64", "tile_tensor": "*i32", "tile_block": "*i32", "T": "i32",
               "hp_ptr": "*" + st}
        for code, pname in PENALTY_NAMES.items():
            for on in (False, True):
                out.append(Variant(module, kernel, f"{pt}-{pname}" + (f"-{flag.lower()}" if on else ""), sig,
                                   {"P_TY": pt, "S_TY": st, "PENALTY": int(code), flag: on,
                                    "IS_F64": dtype == torch.float64, "BLOCK": block}))
    return out
