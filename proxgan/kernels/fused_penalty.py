r"""What every kernel that applies a separable prox shares: the penalty codes, the scalar
vector of each code, and the tables of a multi-tensor launch.

A fused step applies the prox of a *separable* penalty element by element, so a kernel only
needs a :class:`Code` and two numbers ``(a, b)``: the *scalar vector* of that code, in the
order that :data:`SCALARS` defines once, here. With ``u`` the point before the prox and ``s``
the (scalar or per-coordinate) step, each code computes
:math:`\arg\min_y \tfrac12 (y-u)^2 + s\,g(y)`:

==========  ==========================  ==========================  ===========================================
code        penalty                     ``(a, b)``                  prox
==========  ==========================  ==========================  ===========================================
``NONE``    none                        ``(0, 0)``                  ``u``
``L1``      ``L1(lam)``                 ``(lam, 0)``                ``u - clamp(u, -s a, s a)`` (soft threshold)
``L2``      ``L2(lam)``                 ``(lam, 0)``                ``u / (1 + s a)``
``ENET``    ``ElasticNet(lam, rho)``    ``(lam rho, lam(1-rho))``   ``soft(u, s a) / (1 + s b)``
``L0``      ``L0(lam)``                 ``(2 lam, 0)``              ``u if |u| > sqrt(a s) else 0``
``BOX``     ``Box(lo, hi)``             ``(lo, hi)``                ``clamp(u, lo, hi)``
``MCP``     ``MCP(lam, gamma)``         ``(lam, gamma)``            firm threshold (see :func:`prox_code_ref`)
``SCAD``    ``SCAD(lam, gamma)``        ``(lam, gamma)``            the best of its three pieces' minimisers
``LOGSUM``  ``LogSum(lam, eps)``        ``(lam, eps)``              root of a quadratic, or 0
``LQ12``    ``Lq(lam, 1/2)``            ``(lam, 0)``                half thresholding (Xu et al. 2012)
``LQ23``    ``Lq(lam, 2/3)``            ``(lam, 0)``                2/3 thresholding (Cao et al. 2013)
``L1W``     ``L1(lam, weights=w)``      ``(lam, 0)``                ``u - clamp(u, -s a w, s a w)``, ``w`` per element
==========  ==========================  ==========================  ===========================================

``L1W`` is the one code whose kernels read a table beyond the scalars: one weight per
element of each parameter (an extra pointer column of the launch), which scales the step
before the ``L1`` prox. Only the ``L1W`` specialisation reads it, so the unweighted kernels
do the same work as before.

The five codes from ``MCP`` to ``LQ23`` are non-convex: each prox returns a global minimiser of the 1-D problem
(zero at a tie), for every step, including steps at which the 1-D problem is not convex.

The switch from a code to its prox exists three times, once per language, each keyed by
these names: :func:`prox_code_ref` (PyTorch, the specification),
:func:`proxgan.kernels._prox_cpu.prox_scalar` (numba: the fused CPU steps and coordinate
descent) and :func:`proxgan.kernels._prox_triton.prox_tile` (a Triton device function that
every Triton step calls). A new code is one member of :class:`Code`, one row of
:data:`SCALARS` and one branch in each of the three.

Penalties reach these codes only through their ``lowering()``
(:func:`proxgan._lowering.lower`): this package never imports :mod:`proxgan.penalties`.
Penalties without a code (GroupL1, user subclasses that
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
           "scalar_tensor", "pointer_table", "tile_table", "step_variants", "check_weights"]


class Code(enum.IntEnum):
    """The separable prox a kernel applies (see the module docstring)."""

    NONE = 0
    L1 = 1
    L2 = 2
    ENET = 3
    L0 = 4
    BOX = 5
    MCP = 6
    SCAD = 7
    LOGSUM = 8
    LQ12 = 9
    LQ23 = 10
    L1W = 11


#: The scalar vector ``(a, b)`` of each code, by name and in order (unused slots are 0).
SCALARS: dict[Code, tuple[str, ...]] = {
    Code.NONE: (),
    Code.L1: ("lam",),
    Code.L2: ("lam",),
    Code.ENET: ("l1", "l2"),
    Code.L0: ("two_lam",),
    Code.BOX: ("lo", "hi"),
    Code.MCP: ("lam", "gamma"),
    Code.SCAD: ("lam", "gamma"),
    Code.LOGSUM: ("lam", "eps"),
    Code.LQ12: ("lam",),
    Code.LQ23: ("lam",),
    Code.L1W: ("lam",),
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


def check_weights(code: int, params: list[torch.Tensor], weights: list[torch.Tensor] | None,
                  dtype: torch.dtype) -> None:
    """Check the weight tensors of a launch: required for ``L1W`` (one per parameter, contiguous,
    of its shape and device, in ``dtype``), ignored for the other codes.

    Parameters
    ----------
    code : int
        The launch's :class:`Code`.
    params : list of torch.Tensor
        The parameters of the launch.
    weights : list of torch.Tensor or None
        The weights of a weighted L1.
    dtype : torch.dtype
        The dtype the kernel reads them in (its compute dtype).

    Raises
    ------
    ValueError
        If ``code`` is ``L1W`` and ``weights`` do not match.
    """
    if code != Code.L1W:
        return
    if weights is None or len(weights) != len(params):
        raise ValueError("the weighted L1 step (code L1W) needs one weight tensor per parameter")
    for p, w in zip(params, weights):
        if w.shape != p.shape or w.dtype != dtype or not w.is_contiguous() or w.device != p.device:
            raise ValueError(f"weights must be contiguous {dtype} tensors of their parameter's shape and device, "
                             f"got {w.dtype} {tuple(w.shape)} on {w.device} for a parameter of shape {tuple(p.shape)}")


def prox_code_ref(u: torch.Tensor, s: float | torch.Tensor, code: int, a: float, b: float,
                  w: torch.Tensor | None = None) -> torch.Tensor:
    """Plain-PyTorch prox of penalty ``code`` at step ``s`` (the kernels' specification).

    Parameters
    ----------
    u : torch.Tensor
        The point before the prox.
    s : float or torch.Tensor
        The step: a scalar, or a per-coordinate tensor broadcastable to ``u``.
    code : int
        A :class:`Code`.
    a, b : float
        The scalar vector of ``code`` (see the table of the module docstring; ``(lo, hi)``
        for ``BOX``, where infinite bounds are not applied).
    w : torch.Tensor, optional
        The per-element weights of ``L1W`` (broadcastable to ``u``; required for that code,
        ignored by the others): the threshold is :math:`s a w`.

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
    if code == Code.L1W:
        if w is None:
            raise ValueError("code L1W needs the weights w")
        t = torch.as_tensor(s * a, dtype=u.dtype, device=u.device) * w.to(u.dtype)
        t = t.expand(u.shape)
        return u - torch.minimum(torch.maximum(u, -t), t)
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
    if code in _NONCONVEX:  # on |u|, then the sign back; a zero step leaves u as it is
        s = torch.as_tensor(s, dtype=u.dtype, device=u.device).expand(u.shape)
        return torch.where(s > 0, torch.sign(u) * _NONCONVEX[code](u.abs(), s, a, b), u)
    raise ValueError(f"unknown penalty code {code!r}")


def _obj(y, x, s, g):
    return (y - x) ** 2 / (2 * s) + g


def _mcp_value(y, lam, gamma):
    return torch.where(y <= gamma * lam, lam * y - y * y / (2 * gamma), torch.full_like(y, 0.5 * gamma * lam * lam))


def _mcp(x, s, lam, gamma):
    r"""MCP on :math:`x \ge 0`: for :math:`s < \gamma` the firm threshold (0 up to :math:`s\lambda`,
    :math:`(x - s\lambda)/(1 - s/\gamma)` up to :math:`\gamma\lambda`, then :math:`x`); for
    :math:`s \ge \gamma` the 1-D problem is concave on :math:`[0, \gamma\lambda]`: a hard threshold at
    :math:`\lambda\sqrt{s\gamma}`."""
    firm = torch.where(x <= s * lam, torch.zeros_like(x),
                       torch.where(x <= gamma * lam, (x - s * lam) / (1 - s / gamma), x))
    hard = torch.where(x > lam * torch.sqrt(s * gamma), x, torch.zeros_like(x))
    return torch.where(s < gamma, firm, hard)


def _scad_value(y, lam, gamma):
    mid = (2 * gamma * lam * y - y * y - lam * lam) / (2 * (gamma - 1))
    return torch.where(y <= lam, lam * y, torch.where(y <= gamma * lam, mid, torch.full_like(y, lam * lam * (gamma + 1) / 2)))


def _scad(x, s, lam, gamma):
    r"""SCAD on :math:`x \ge 0`: the best of the minimisers on :math:`[0, \lambda]` (soft threshold,
    clipped), on :math:`[\lambda, \gamma\lambda]` (its stationary point, clipped, when
    :math:`s < \gamma - 1`; else that piece is concave and its ends are the other pieces') and on
    :math:`[\gamma\lambda, \infty)`; ties go to the smaller value."""
    y1 = torch.clamp(x - s * lam, min=0.0).clamp(max=lam)
    y2 = torch.clamp(((gamma - 1) * x - s * gamma * lam) / (gamma - 1 - s), min=lam, max=gamma * lam)
    y3 = torch.clamp(x, min=gamma * lam)
    h1, h2, h3 = (_obj(y, x, s, _scad_value(y, lam, gamma)) for y in (y1, y2, y3))
    h2 = torch.where(s < gamma - 1, h2, torch.full_like(h2, math.inf))
    y = torch.where(h2 < h1, y2, y1)
    h = torch.minimum(h1, h2)
    return torch.where(h3 < h, y3, y)


def _logsum(x, s, lam, eps):
    r"""LogSum on :math:`x \ge 0`: the larger root :math:`y` of :math:`y^2 + (\epsilon - x)y + s\lambda - x\epsilon`
    (the local minimiser), kept where it is real, positive and beats :math:`y = 0`."""
    d = (x + eps) ** 2 - 4 * s * lam
    y = 0.5 * ((x - eps) + torch.sqrt(torch.clamp(d, min=0.0)))
    ok = (d >= 0) & (y > 0)
    y = torch.where(ok, y, torch.zeros_like(y))
    better = _obj(y, x, s, lam * torch.log1p(y / eps)) < x * x / (2 * s)
    return torch.where(ok & better, y, torch.zeros_like(y))


def _lq12(x, s, lam, _b):
    r""":math:`\lambda|y|^{1/2}` on :math:`x \ge 0`: half thresholding with :math:`\mu = 2s\lambda`: 0 up to
    :math:`\tfrac{54^{1/3}}{4}\mu^{2/3}`, then :math:`\tfrac23 x (1 + \cos(\tfrac{2\pi}3 - \tfrac23\varphi))`,
    :math:`\varphi = \arccos(\tfrac{\mu}{8}(x/3)^{-3/2})`."""
    mu = 2 * s * lam
    thr = (54 ** (1 / 3) / 4) * mu ** (2 / 3)
    keep = (x > thr) & (mu > 0)
    xs = torch.where(keep, x, torch.ones_like(x))
    phi = torch.acos(torch.clamp((mu / 8) * (xs / 3) ** -1.5, max=1.0))
    y = (2 / 3) * xs * (1 + torch.cos(2 * math.pi / 3 - 2 * phi / 3))
    return torch.where(keep, y, torch.where(mu > 0, torch.zeros_like(x), x))


def _lq23(x, s, lam, _b):
    r""":math:`\lambda|y|^{2/3}` on :math:`x \ge 0`, with :math:`\mu = 2s\lambda`: 0 up to
    :math:`\tfrac23(3\mu^3)^{1/4}`, then :math:`((A + \sqrt{2x/A - A^2})/2)^3` with
    :math:`A = \tfrac{2}{\sqrt3}\mu^{1/4}\cosh(\varphi/3)^{1/2}`, :math:`\varphi = \operatorname{arccosh}(27x^2/(16\mu^{3/2}))`."""
    mu = 2 * s * lam
    thr = (2 / 3) * (3 * mu ** 3) ** 0.25
    keep = (x > thr) & (mu > 0)
    xs = torch.where(keep, x, torch.ones_like(x))
    ms = torch.where(keep, mu, torch.ones_like(mu))
    phi = torch.acosh(torch.clamp(27 * xs * xs / (16 * ms ** 1.5), min=1.0))
    A = (2 / math.sqrt(3)) * ms ** 0.25 * torch.sqrt(torch.cosh(phi / 3))
    y = ((A + torch.sqrt(torch.clamp(2 * xs / A - A * A, min=0.0))) / 2) ** 3
    return torch.where(keep, y, torch.where(mu > 0, torch.zeros_like(x), x))


_NONCONVEX = {Code.MCP: _mcp, Code.SCAD: _scad, Code.LOGSUM: _logsum, Code.LQ12: _lq12, Code.LQ23: _lq23}


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
