r"""Single-pass CPU steps for ProxAdam and ProxSGD: one numba call per group and dtype.

Each kernel reads ``p, g`` and the optimizer state once and writes ``p`` and the state
once: the smooth step, the bias correction and the prox (a penalty code of
:mod:`proxgan.kernels.fused_penalty`, from :func:`proxgan._lowering.lower`) happen in
registers, element by element.

**One launch for all tensors.** Like the Triton kernels, a call takes a table of
``data_ptr()`` values (one row per tensor) and a table of tiles; tiles run in a
``prange`` loop (two threads on a two-core machine) or, for small models, serially. This
keeps the per-step cost of a model with many small tensors to one call. ProxAdam's step
counters (0-d float32 tensors, as in ``torch.optim``) are incremented inside the kernel,
which also computes each tensor's bias correction.

**One source for every penalty.** The kernels take the penalty code as a
``numba.literally`` argument: numba compiles one specialisation per code actually used, into
which :func:`proxgan.kernels._prox_cpu.prox_kernel` puts only that code's prox function (of
:data:`proxgan.kernels._prox_cpu.BRANCHES`), so the element loops vectorise where the prox
allows (the loop variants, e.g. with or without weight decay, are whole loops chosen outside
them). There is no hand copy per penalty, and only the specialisations a program uses are
compiled (a few seconds each, then loaded from the on-disk cache). ProxAdam's preconditioned prox goes
through :func:`proxgan.kernels._prox_cpu.prox_kernel_pre` with ``lr`` and the preconditioner
``D`` (no division ``lr/D`` for the codes of ``PRECOND``, which have a form of their own at that
step). A new penalty code is one
function and one entry of ``BRANCHES`` (and a branch of the run-time switch
:func:`~proxgan.kernels._prox_cpu.prox_scalar` that coordinate descent uses). After the first call the launchers call
the compiled specialisation directly (:func:`_call`), which skips the literal re-dispatch
(about 10 µs).

**Rare cases out of the element loop.** A float32 form of :data:`~proxgan.kernels._prox_cpu.PRECOND`
whose code has an entry in :data:`~proxgan.kernels._prox_cpu.RARE` (MCP's hard threshold, SCAD's non-convex case and log-sum's,
at steps ``lr/D`` of tiny second moments) would pay for its rare case in every lane of the vector loop. The
common loop of such a code (:func:`_adam_split`) runs chunk by chunk (:data:`RARE_CHUNK` entries): the element
loop computes the common form only, writes ``u`` where ``D`` is in the rare case and or-reduces that
predicate; a chunk that met it takes a second pass (:func:`_adam_rare`). ``D`` is a non-decreasing function
of the stored ``v`` in float32, so its rare case is ``v`` below a threshold found once per tile
(:func:`_rare_threshold`, a bisection on the bits of ``v``): the second pass compares 64 entries of ``v`` at a
time with it (:func:`_below_any`, then :func:`_below_mask` in a block that holds one) and gives the few
entries it flags the one-pass form, ``D`` recomputed from ``v`` as the step computed it (:func:`_adam_den`);
no root or division for the others. A chunk with rare
entries in many of its blocks is fixed in vector code, and the chunks after it run the one-pass form until
one has few, so that a tensor of tiny second moments costs about what the one-pass loop costs. The same
functions compute each entry: the values are the one-pass loop's, bit for bit. The other variants (weight
decay, maximize, AMSGrad, N:M) keep the one-pass loop.

**N:M sparsity in the same pass.** With ``nm = (n, m)`` a tile runs chunk by chunk (about
:data:`NM_CHUNK` entries, whole blocks): the smooth step writes ``u`` into ``p`` and a
*score* per entry into a scratch array (:func:`_nm_score`: :math:`u^2 D` under ProxAdam's
preconditioned prox, which orders a block as the metric's :math:`u^2/s` with
:math:`s = \mathrm{lr}/D` does; :math:`|u|` for a scalar step); then, while the chunk is in
L1, :func:`_nm_drop` zeroes in every block of ``m`` entries along dimension 1 the entries
that ``n`` or more entries of the block beat (a larger score, or an equal one at a lower
index): the projection of :mod:`proxgan.kernels.nm_project`. Scores are ``>= +0`` and
never NaN (a NaN scores ``inf``: it is kept, as the reference's sort keeps it), so their
bits, read as integers, order as the scores do. A block is done by code generated for
each ``(n, m)``, never by hand copies:

* :func:`_block_fn`: straight-line numba code for one block at any stride (the
  ``m(m-1)/2`` pairs compared once); it does the tails, and every block off x86-64;
* :func:`_lanes` (x86-64, contiguous blocks: linear weights): an LLVM loop over vectors of
  8 float32 or 4 float64 lanes holding whole blocks (``m`` divides the lanes); each entry
  meets its block partners by in-register rotations, ranks are counted in integers and
  the kept entries are selected by a bitwise and. It is written as IR because the loop
  vectoriser instead gathers each block position across blocks with lane-crossing
  permutes (about 3× slower), and turns the and into a masked store (slow on AMD cores;
  an empty inline ``asm`` hides the mask from that rewrite);
* :func:`_rows` (x86-64, blocks strided by ``k``, the kernel size of a convolution
  weight): the ``m`` rows of 8 (or 4) neighbouring blocks are ``m`` vector loads,
  compared pairwise with no shuffle.

These helpers live in this module on purpose: numba's on-disk cache of the kernels is
invalidated by changes to this file only, not to the modules it calls. The one exception is
the prox switch shared with Triton's twin and coordinate descent
(:func:`proxgan.kernels._prox_cpu.prox_scalar`), whose source hash is in the kernels' cache key.

Why numba rather than ``torch.compile``: the step is memory-bound; a numba loop whose
arithmetic stays in the parameter dtype vectorises and matches the bandwidth of
``torch.optim.Adam(fused=True)``; it compiles once, is cached on disk (``cache=True``)
so later processes only load it, and needs no C++ compiler at run time. The kernels are
exact IEEE arithmetic (``fastmath=False``), so in float64 they equal the for-loop
reference to rounding; ``error_model="numpy"`` makes a division by zero give inf/nan as
IEEE says instead of raising, which removes a branch per element and lets the loops
vectorise. Every scalar is passed already converted to the array dtype (a
Python float would promote float32 arithmetic to float64). This module is imported at
the first fused CPU step (``import proxgan`` does not import numba); the optimizers reach
its launchers only through :mod:`proxgan.optim._cpu_step` (a direct call in eager mode, an
operator of the graph under ``torch.compile``).
"""
from __future__ import annotations

import math
import platform
from typing import Sequence

import numpy as np
import torch
from llvmlite import ir
from numba import carray, literally, njit, prange, typeof, types
from numba.core import cgutils
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic, overload

from proxgan.kernels._hp import ADAM_CPU, ADAM_HP, SGD_CPU, SGD_HP, index, vector
from proxgan.kernels._prox_cpu import (has_rare, prox_kernel, prox_kernel_common, prox_kernel_pre, prox_rare,
                                      source_stamp)
from proxgan.kernels._prox_f32 import as_float
from proxgan.kernels.fused_penalty import Code, check_weights


__all__ = ["adam_step", "sgd_plan", "sgd_step", "TILE"]

#: elements per tile of the parallel loop; groups below SERIAL elements run serially, and so
#: does every group while torch is limited to one thread (``torch.set_num_threads(1)``)
TILE = 1 << 16
SERIAL = 1 << 15
_L1W = int(Code.L1W)  # the one code whose kernels read a weight column


@intrinsic
def _voidptr(typingctx, addr):
    """An integer address as a ``void*`` (to view memory with ``numba.carray``)."""
    sig = types.voidptr(addr)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen


@njit(inline="always")
def _view(addr, n, like):
    return carray(_voidptr(addr), (n,), like.dtype)


@njit(inline="always")
def _tile(k, ptrs, sizes, tiles, like, col):
    """Tile ``k``'s tensor index and its slice of column ``col`` of the flat pointer table
    (columns x tensors), as a view indexed from 0 (so that the element loop vectorises)."""
    T = sizes.shape[0]
    t = tiles[k, 0]
    return t, _view(ptrs[col * T + t] + tiles[k, 1] * like.itemsize, tiles[k, 2], like)


def _weights(k, ptrs, sizes, tiles, like, col, code, p):  # pragma: no cover - compiled code calls the overload
    """Tile ``k``'s slice of the weight column ``col`` for the literal ``code`` ``L1W``; for any
    other code ``p`` itself, never read (the table then has no such column)."""
    raise NotImplementedError("compiled code only")


@overload(_weights, prefer_literal=True, inline="always")
def _weights_impl(k, ptrs, sizes, tiles, like, col, code, p):
    if not isinstance(code, types.IntegerLiteral):
        return None
    if code.literal_value == _L1W:
        return lambda k, ptrs, sizes, tiles, like, col, code, p: _tile(k, ptrs, sizes, tiles, like, col)[1]
    return lambda k, ptrs, sizes, tiles, like, col, code, p: p


def _wstep(s, w, i, code):  # pragma: no cover - compiled code calls the overload below
    """The prox step of element ``i``: ``s * w[i]`` for the literal code ``L1W`` (weighted L1: the
    ``L1`` prox at that step thresholds at ``s a w[i]``), ``s`` for every other code (no load)."""
    raise NotImplementedError("compiled code only")


@overload(_wstep, prefer_literal=True, inline="always")
def _wstep_impl(s, w, i, code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    if code.literal_value == _L1W:
        return lambda s, w, i, code: s * w[i]
    return lambda s, w, i, code: s


def _prox_precond(u, lr, den, w, i, code, a, b, one, zero):  # pragma: no cover - compiled code calls the overload
    """The prox of element ``i`` at ProxAdam's preconditioned step ``lr / den``: for the literal code
    ``L1W`` the ``L1`` prox at ``(lr / den) w[i]``; for every other code
    :func:`~proxgan.kernels._prox_cpu.prox_kernel_pre`, which gives the codes with a form of their own at
    ``lr / den`` (:data:`~proxgan.kernels._prox_cpu.PRECOND`: MCP, SCAD, ℓ1/2, ℓ2/3, log-sum) that form,
    without dividing for the step."""
    raise NotImplementedError("compiled code only")


@overload(_prox_precond, prefer_literal=True, inline="always")
def _prox_precond_impl(u, lr, den, w, i, code, a, b, one, zero):
    if not isinstance(code, types.IntegerLiteral):
        return None
    if code.literal_value == _L1W:
        return lambda u, lr, den, w, i, code, a, b, one, zero: prox_kernel(u, lr / den * w[i], code, a, b, one, zero)
    return lambda u, lr, den, w, i, code, a, b, one, zero: prox_kernel_pre(u, lr, den, code, a, b, one, zero)


#: entries per chunk of the N:M steps (rounded to whole super-blocks): a chunk's scores stay in L1
NM_CHUNK = 1024


# ----------------------------------------------------------------------------- N:M blocks
_X86 = platform.machine().lower() in ("x86_64", "amd64")


@njit(inline="always")
def _nm_score(u, den, precond, inf):
    r"""The score of entry ``u``: :math:`u^2 D` (``precond``), else :math:`|u|`; a NaN scores ``inf``.

    :math:`u^2 D` orders a block as the metric's :math:`u^2/s` with :math:`s = \mathrm{lr}/D`
    does, and at ``lr = 0`` it is the limit of that order as ``lr`` goes to 0 (the per-entry
    steps of the unfused path are then all 0, and it keeps the first ``n`` non-zeros of a block).
    """
    q = u * u * den if precond else abs(u)
    return q if q < inf else inf


def _block_source(n: int, m: int) -> str:
    """Python source of the projection of one block, entries ``at, at+k, ..., at+(m-1)k``.

    Pair ``i < j``: ``j`` beats ``i`` on a strictly larger score, else ``i`` beats ``j`` (ties
    go to the lower index). Ranks are counted in the float dtype of ``p`` (no int/float
    conversions in the loop), and an entry beaten ``n`` times or more becomes 0.
    """
    body = [f"    s{i} = sc[at + {i} * k]" for i in range(m)]
    body += [f"    r{i} = zero" for i in range(m)]
    for i in range(m):
        for j in range(i + 1, m):
            body += [f"    c = one if s{j} > s{i} else zero", f"    r{i} += c", f"    r{j} += one - c"]
    for i in range(m):
        body += [f"    x = p[at + {i} * k]", f"    p[at + {i} * k] = x if r{i} < nf else zero"]
    return "def _block(p, sc, at, k, nf, zero, one):\n" + "\n".join(body) + "\n"


_BLOCKS: dict[tuple[int, int], object] = {}


def _block_fn(n: int, m: int):
    """The compiled (inlined) block projection of :func:`_block_source` for ``(n, m)``."""
    fn = _BLOCKS.get((n, m))
    if fn is None:
        scope: dict = {}
        exec(compile(_block_source(n, m), f"<proxgan N:M block {n}:{m}>", "exec"), scope)  # noqa: S102
        fn = _BLOCKS[(n, m)] = njit(inline="always")(scope["_block"])
    return fn


def _lanes_for(bits: int, m: int) -> int:
    """Lanes per vector of :func:`_lanes` for blocks of ``m`` entries of ``bits``-bit floats: one
    256-bit register (8 float32 or 4 float64); 0 where it does not apply (not x86-64, or ``m``
    does not divide the lanes)."""
    lanes = 256 // bits
    return lanes if _X86 and lanes % m == 0 else 0


@intrinsic
def _lanes(typingctx, p, sc, count, n, m):
    """Project the contiguous blocks of ``p[:count]`` by ``sc``, ``W`` lanes at a time; returns how
    many entries it did (a multiple of ``W``; the caller does the rest)."""
    if not (isinstance(n, types.IntegerLiteral) and isinstance(m, types.IntegerLiteral)):
        return None
    N, M = n.literal_value, m.literal_value
    bits = p.dtype.bitwidth
    W = _lanes_for(bits, M)
    if not W:
        return None
    sig = types.intp(p, sc, count, n, m)

    def codegen(context, builder, signature, args):
        pa = context.make_array(signature.args[0])(context, builder, args[0])
        sa = context.make_array(signature.args[1])(context, builder, args[1])
        kty = ir.VectorType(ir.IntType(bits), W)
        i32s = ir.VectorType(ir.IntType(32), W)
        count = args[2]
        nvec = builder.sdiv(count, ir.Constant(count.type, W))
        align = bits // 8
        with cgutils.for_range(builder, nvec) as loop:
            off = builder.mul(loop.index, ir.Constant(loop.index.type, W))
            key = builder.load(builder.bitcast(builder.gep(sa.data, [off]), kty.as_pointer()), align=align)
            ranks = ir.Constant(kty, None)
            for d in range(1, M):  # partner (l + d) mod m of lane l, within its block
                rot = ir.Constant(i32s, [(l // M) * M + (l % M + d) % M for l in range(W)])
                partner = builder.shuffle_vector(key, key, rot)
                lower = ir.Constant(kty, [int(l % M + d >= M) for l in range(W)])  # the partner's index is lower
                beats = builder.icmp_signed(">", builder.add(partner, lower), key)  # > , or >= at a lower index
                ranks = builder.sub(ranks, builder.sext(beats, kty))
            _keep_where(builder, pa.data, off, ranks, N, kty, align)
        return builder.mul(nvec, ir.Constant(count.type, W))

    return sig, codegen


def _keep_where(builder, data, off, ranks, n, kty, align):
    """``p[off:off+W] &= (ranks < n)`` as a bitwise and on the bits (zero where beaten ``n`` times).

    The empty ``asm`` hides that the mask is a comparison: otherwise LLVM turns the and
    into a masked store, which is slow on AMD cores.
    """
    mask = builder.sext(builder.icmp_signed("<", ranks, ir.Constant(kty, [n] * kty.count)), kty)
    mask = builder.asm(ir.FunctionType(kty, [kty]), "", "=x,0", [mask], False)
    pp = builder.bitcast(builder.gep(data, [off]), kty.as_pointer())
    builder.store(builder.and_(builder.load(pp, align=align), mask), pp, align=align)


@intrinsic
def _rows(typingctx, p, sc, at, k, n, m):
    """Project the blocks of the super-block at ``at`` (``m`` rows of ``k`` entries, block ``r`` =
    column ``r``) for the columns ``r < k - k % W``, ``W`` columns at a time; returns ``k - k % W``."""
    if not (isinstance(n, types.IntegerLiteral) and isinstance(m, types.IntegerLiteral)):
        return None
    N, M = n.literal_value, m.literal_value
    bits = p.dtype.bitwidth
    W = 256 // bits
    if not _X86:
        return None
    sig = types.intp(p, sc, at, k, n, m)

    def codegen(context, builder, signature, args):
        pa = context.make_array(signature.args[0])(context, builder, args[0])
        sa = context.make_array(signature.args[1])(context, builder, args[1])
        kty = ir.VectorType(ir.IntType(bits), W)
        at, k = args[2], args[3]
        k = builder.sext(k, at.type) if k.type.width < at.type.width else k
        nvec = builder.sdiv(k, ir.Constant(k.type, W))
        align = bits // 8
        with cgutils.for_range(builder, nvec) as loop:
            col = builder.add(at, builder.mul(loop.index, ir.Constant(loop.index.type, W)))
            offs = [builder.add(col, builder.mul(k, ir.Constant(k.type, i))) for i in range(M)]
            keys = [builder.load(builder.bitcast(builder.gep(sa.data, [o]), kty.as_pointer()), align=align)
                    for o in offs]
            ranks = [ir.Constant(kty, None) for _ in range(M)]
            for i in range(M):
                for j in range(i + 1, M):  # j beats i on a larger key, else i beats j (ties: lower index)
                    ranks[i] = builder.sub(ranks[i], builder.sext(builder.icmp_signed(">", keys[j], keys[i]), kty))
                    ranks[j] = builder.sub(ranks[j], builder.sext(builder.icmp_signed(">=", keys[i], keys[j]), kty))
            for i in range(M):
                _keep_where(builder, pa.data, offs[i], ranks[i], N, kty, align)
        return builder.mul(nvec, ir.Constant(k.type, W))

    return sig, codegen


def _nm_drop(p, sc, count, k, n, m):  # pragma: no cover - compiled code calls the overload below
    """Zero the entries of ``p[:count]`` outside the ``n`` best of their block, by the scores ``sc``.

    ``count`` is a whole number of super-blocks of ``m*k`` contiguous entries, each holding
    the ``k`` blocks ``(r, r+k, ..., r+(m-1)k)``; ``n`` and ``m`` are literal integers.
    """
    raise NotImplementedError("_nm_drop runs in compiled code only")


@overload(_nm_drop, prefer_literal=True, inline="always")
def _nm_drop_impl(p, sc, count, k, n, m):
    if not (isinstance(n, types.IntegerLiteral) and isinstance(m, types.IntegerLiteral)):
        return None
    mm = m.literal_value
    if mm == 0:  # no N:M: the branch that calls this is never taken
        return lambda p, sc, count, k, n, m: None
    block = _block_fn(n.literal_value, mm)
    vector = _lanes_for(p.dtype.bitwidth, mm) > 0
    rows = _X86

    def impl(p, sc, count, k, n, m):
        zero = p.dtype.type(0.0)
        one = p.dtype.type(1.0)
        nf = p.dtype.type(n)
        if k == 1:
            done = _lanes(p, sc, count, n, m) if vector else 0
            for b in range(done // mm, count // mm):
                block(p, sc, b * mm, 1, nf, zero, one)
        else:
            sb = mm * k
            for b in range(count // sb):
                done = _rows(p, sc, b * sb, k, n, m) if rows else 0
                for r in range(done, k):
                    block(p, sc, b * sb + r, k, nf, zero, one)

    return impl


# ----------------------------------------------------------------------------- Adam
# positions in the kernels' vector ``c`` (proxgan.kernels._hp): ADAM_HP[:ADAM_CPU], then 1 and 0
_A_LR, _A_OMB1, _A_B2, _A_OMB2, _A_EPS, _A_WD, _A_DECAY, _A_A, _A_B, _A_SIGN = (
    index(ADAM_HP, k) for k in ("lr", "omb1", "b2", "omb2", "eps", "wd", "decay", "a", "b", "sign"))
_A_ONE, _A_ZERO = ADAM_CPU, ADAM_CPU + 1


@njit(inline="always")
def _adam_den(vi, bc2s, eps):
    """Adam's denominator :math:`\\sqrt{v_i}/\\sqrt{1-\\beta_2^t} + \\varepsilon` (torch's rounding): the
    preconditioner ``D`` of the prox, recomputed bit for bit from the stored ``v`` by :func:`_adam_rare`."""
    return np.sqrt(vi) / bc2s + eps


@njit(inline="always")
def _adam_elem(i, p, g, m, v, vmax, w, c, ss, bc2s, amsgrad, precond, code, general):
    lr, omb1, b2, omb2, eps = c[_A_LR], c[_A_OMB1], c[_A_B2], c[_A_OMB2], c[_A_EPS]
    wd, decay, a, b, sign, one, zero = c[_A_WD], c[_A_DECAY], c[_A_A], c[_A_B], c[_A_SIGN], c[_A_ONE], c[_A_ZERO]
    gi = g[i]
    pi = p[i]
    if general:  # maximize / weight decay (the common loop leaves these flops out)
        gi = sign * gi
        pi = pi * decay
        gi = gi + wd * pi
    mi = m[i] + omb1 * (gi - m[i])
    vi = b2 * v[i] + omb2 * (gi * gi)
    m[i] = mi
    v[i] = vi
    if amsgrad:
        vi = vmax[i] if vmax[i] > vi else vi
        vmax[i] = vi
    den = _adam_den(vi, bc2s, eps)
    u = pi - ss * (mi / den)
    if precond:
        y = _prox_precond(u, lr, den, w, i, code, a, b, one, zero)
    else:
        y = prox_kernel(u, _wstep(lr, w, i, code), code, a, b, one, zero)
    p[i] = y
    return y, den


@njit(inline="always")
def _adam_elem_split(i, p, g, m, v, c, ss, bc2s, code, common):
    """The common loop's step of element ``i`` for a code with a rare case (:data:`~proxgan.kernels.
    _prox_cpu.RARE`; preconditioned prox, no AMSGrad, maximize or weight decay): with ``common`` its
    common form (``u`` where the case is rare), else the one-pass prox; returns whether it is rare."""
    lr, a, b, one, zero = c[_A_LR], c[_A_A], c[_A_B], c[_A_ONE], c[_A_ZERO]
    y, den = _adam_elem(i, p, g, m, v, v, p, c, ss, bc2s, False, False, 0, False)  # code 0: u itself
    if common:
        p[i] = prox_kernel_common(y, lr, den, code, a, b, one, zero)
    else:
        p[i] = prox_kernel_pre(y, lr, den, code, a, b, one, zero)
    return prox_rare(y, lr, den, code, a, b)


@njit(inline="always")
def _adam_chunk(n, p, g, m, v, c, ss, bc2s, code, common):
    """:func:`_adam_elem_split` over ``n`` entries; whether any of them is in the rare case."""
    rare = False
    for i in range(n):
        rare |= _adam_elem_split(i, p, g, m, v, c, ss, bc2s, code, common)
    return rare


_INF_BITS = 0x7F800000  # the bits of float32 +inf: the largest of the non-negative float32 numbers
_NAN32 = np.float32(np.nan)


@njit(inline="always")
def _rare_threshold(c, bc2s, code):
    """The least float32 ``v >= 0`` (``inf`` included) whose ``D`` (:func:`_adam_den`) is not in the rare case
    of ``code``, NaN if there is none: for every float32 ``v``, ``D`` is rare iff ``not v >=`` it.

    ``D`` is a non-decreasing function of ``v >= 0`` in float32 (a root, a division by ``bc2s > 0`` and an
    addition, each rounded correctly: each keeps the order), and the rare case holds on an initial range
    of ``D`` (:data:`~proxgan.kernels._prox_cpu.RARE`), so the rare ``v`` are those below a bit pattern, found
    by bisection on the bits of non-negative float32 numbers (which order as the numbers do): 31
    evaluations of ``D`` computed as the step computes it. ``-0`` has ``D(+0)`` (``sqrt(-0) = -0``), and a
    negative or NaN ``v`` gives a NaN ``D``, which is rare: ``not v >=`` the threshold holds for them."""
    lr, eps, a, b = c[_A_LR], c[_A_EPS], c[_A_A], c[_A_B]
    lo, hi = 0, _INF_BITS + 1  # the answer's bits are in [lo, hi]; hi: none
    while lo < hi:
        mid = (lo + hi) // 2
        den = _adam_den(as_float(np.int32(mid)), bc2s, eps)
        if prox_rare(eps, lr, den, code, a, b):  # (eps: any float32, for the dtype)
            lo = mid + 1
        else:
            hi = mid
    return as_float(np.int32(lo)) if lo <= _INF_BITS else _NAN32


#: entries per block of :func:`_adam_rare`'s scan: a block's ``v`` are compared with the threshold in
#: vector code into the bits of one int64 (:func:`_below_mask`: 64, no more), and only the set bits of a
#: block that holds a rare entry are visited
RARE_BLOCK = 64


@njit(inline="always")
def _adam_fixed(u, vi, c, bc2s, vt, code):
    """Entry ``u`` of the second pass (as the common form left it) with second moment ``vi``: where ``D`` is
    rare (``not vi >= vt``, :func:`_rare_threshold`), the one-pass prox of ``u`` at ``D`` recomputed from
    ``vi`` as the step computed it; else ``u``."""
    lr, eps, a, b, one, zero = c[_A_LR], c[_A_EPS], c[_A_A], c[_A_B], c[_A_ONE], c[_A_ZERO]
    den = _adam_den(vi, bc2s, eps)
    # (prox_rare holds wherever vi < vt: the check only keeps a wrong vt from giving an entry a second prox)
    fix = (not vi >= vt) and prox_rare(u, lr, den, code, a, b)
    return prox_kernel_pre(u, lr, den, code, a, b, one, zero) if fix else u


@intrinsic
def _below_mask(typingctx, v, at, vt):
    """The bits ``not v[at + j] >= vt`` (``v[at + j] < vt`` or NaN) for ``j < 64`` (:data:`RARE_BLOCK`), as an
    int64: one comparison of 64 lanes (LLVM splits it into vector registers) whose mask is the result, no
    branch and no reduction per lane; the caller checks that ``v[at:at + 64]`` exists."""
    if not (isinstance(v, types.Array) and v.dtype == vt and isinstance(vt, types.Float)):
        return None
    sig = types.int64(v, at, vt)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        fty = context.get_value_type(signature.args[2])
        vty = ir.VectorType(fty, RARE_BLOCK)
        x = builder.load(builder.bitcast(builder.gep(arr.data, [args[1]]), vty.as_pointer()),
                         align=signature.args[2].bitwidth // 8)
        return builder.bitcast(builder.fcmp_unordered("<", x, _splat(builder, args[2], RARE_BLOCK)), ir.IntType(64))

    return sig, codegen


def _splat(builder, x, lanes):
    """``x`` in each of ``lanes`` lanes."""
    vty = ir.VectorType(x.type, lanes)
    one = builder.insert_element(ir.Constant(vty, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(one, ir.Constant(vty, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes))


@intrinsic
def _below_any(typingctx, v, at, vt):
    """Whether some ``v[at + j]``, ``j < 64`` (:data:`RARE_BLOCK`), is below ``vt >= 0`` or has its sign bit set,
    compared on the bits as integers, which order non-negative floats as their values and put a NaN above
    ``inf``: the least of the 64 as a tree of integer minima (two operations per cycle, where
    :func:`_below_mask`'s comparisons and mask moves take one port), compared with ``vt``'s bits once. A NaN
    never hides an entry below ``vt`` (a float minimum would: ``min(NaN, x)`` is ``x``), and is not reported
    itself (its ``D`` is NaN, where the common form and the one-pass form both give ``u``)."""
    if not (isinstance(v, types.Array) and v.dtype == vt and isinstance(vt, types.Float)):
        return None
    sig = types.boolean(v, at, vt)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        ity = ir.IntType(signature.args[2].bitwidth)
        x = builder.load(builder.bitcast(builder.gep(arr.data, [args[1]]), ir.VectorType(ity, RARE_BLOCK).as_pointer()),
                         align=ity.width // 8)
        lanes = RARE_BLOCK
        while lanes > 16:
            lanes //= 2
            undef = ir.Constant(x.type, ir.Undefined)
            lo = builder.shuffle_vector(x, undef, ir.Constant(ir.VectorType(ir.IntType(32), lanes), list(range(lanes))))
            hi = builder.shuffle_vector(x, undef, ir.Constant(ir.VectorType(ir.IntType(32), lanes),
                                                              list(range(lanes, 2 * lanes))))
            x = builder.select(builder.icmp_signed("<", lo, hi), lo, hi)
        below = builder.icmp_signed("<", x, _splat(builder, builder.bitcast(args[2], ity), lanes))
        below = builder.bitcast(below, ir.IntType(lanes))
        return builder.icmp_unsigned("!=", below, ir.Constant(ir.IntType(lanes), 0))

    return sig, codegen


@njit(inline="always")
def _adam_rare(n, p, v, c, bc2s, code, vt, fix):
    """The second pass of a chunk: how many of its blocks (:data:`RARE_BLOCK` entries, and the tail) hold an
    entry whose ``D`` is in the rare case, found without computing ``D`` (``not v >= vt``, ``vt`` of
    :func:`_rare_threshold`, 64 entries at a time: :func:`_below_any`); with ``fix``, also the one-pass prox
    of ``p[i]`` (``u``, as the common form left it) at those entries (:func:`_adam_fixed`): one by one, by the
    bits of :func:`_below_mask` from the first to the last block that holds one, or, where more than one
    block in :data:`RARE_DENSE` holds one, at every entry in vector code. Other entries are unchanged."""
    nb = n // RARE_BLOCK
    full = nb * RARE_BLOCK
    blocks = 0
    first, last = nb, -1  # the blocks that hold one: first to last
    for k in range(nb):
        hit = _below_any(v, k * RARE_BLOCK, vt)
        blocks += hit  # (no branch: selects)
        first = k if hit and first == nb else first
        last = k if hit else last
    tail = False
    for i in range(full, n):
        tail |= not v[i] >= vt
    blocks += tail
    if fix and _dense(blocks, n):
        for i in range(n):
            p[i] = _adam_fixed(p[i], v[i], c, bc2s, vt, code)
    elif fix:
        for k in range(first, last + 1):
            mask = _below_mask(v, k * RARE_BLOCK, vt)
            while mask != 0:
                i = k * RARE_BLOCK + trailing_zeros(mask)
                p[i] = _adam_fixed(p[i], v[i], c, bc2s, vt, code)
                mask &= mask - 1
        for i in range(full, n if tail else full):
            p[i] = _adam_fixed(p[i], v[i], c, bc2s, vt, code)
    return blocks


#: entries per chunk of the loop of a code with a rare case: a chunk with rare entries takes a second
#: pass (:func:`_adam_rare`); where more than one of its blocks in :data:`RARE_DENSE` held one, the next
#: chunk runs the one-pass form (rare entries that come together: tiny second moments of a whole tensor)
RARE_CHUNK = 2048
RARE_DENSE = 8


@njit(inline="always")
def _dense(blocks, n):
    """Whether ``blocks`` of the :data:`RARE_BLOCK`-entry blocks of a chunk of ``n`` entries (its tail counts
    as one) holding a rare entry are many: more than one in :data:`RARE_DENSE`."""
    return blocks * RARE_DENSE > n // RARE_BLOCK + 1


@njit(inline="always")
def _adam_split(n, p, g, m, v, c, ss, bc2s, code):
    """The common loop (variant 0) of a code with a rare case, chunk by chunk. A chunk runs the common form
    and, where it met the rare case, :func:`_adam_rare`; after a chunk with rare entries in more than one
    block in :data:`RARE_DENSE`, chunks run the one-pass form until one has fewer. Every entry gets the
    one-pass value, bit for bit."""
    onepass = False
    vt = c[_A_ZERO]
    known = False  # the threshold is found at the first chunk that needs it
    for lo in range(0, n, RARE_CHUNK):
        hi = min(lo + RARE_CHUNK, n)
        pc, vc = p[lo:hi], v[lo:hi]
        gc, mc = g[lo:hi], m[lo:hi]
        # (two loops, each with its form as a constant: one loop with a run-time flag held both forms)
        rare = (_adam_chunk(hi - lo, pc, gc, mc, vc, c, ss, bc2s, code, False) if onepass else
                _adam_chunk(hi - lo, pc, gc, mc, vc, c, ss, bc2s, code, True))
        if rare:
            if not known:
                vt = _rare_threshold(c, bc2s, code)
                known = True
            blocks = _adam_rare(hi - lo, pc, vc, c, bc2s, code, vt, not onepass)  # the common form left u
            onepass = _dense(blocks, hi - lo)
        else:
            onepass = False


@njit(inline="always")
def _adam_elem_nm(i, p, g, m, v, vmax, w, c, ss, bc2s, amsgrad, precond, general, sc, inf):
    """The step without prox, and the N:M score of its result in ``sc[i]``."""
    y, den = _adam_elem(i, p, g, m, v, vmax, w, c, ss, bc2s, amsgrad, precond, 0, general)
    sc[i] = _nm_score(y, den, precond, inf)


@njit(inline="always")
def _adam_loop(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code):
    if variant == 0:  # preconditioned prox, no AMSGrad, maximize or weight decay
        for i in range(n):
            _adam_elem(i, p, g, m, v, vmax, w, c, ss, bc2s, False, True, code, False)
    elif variant == 1:
        for i in range(n):
            _adam_elem(i, p, g, m, v, vmax, w, c, ss, bc2s, False, precond, code, True)
    else:
        for i in range(n):
            _adam_elem(i, p, g, m, v, vmax, w, c, ss, bc2s, True, precond, code, True)


@njit(inline="always")
def _adam_loop_nm(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, sc, inf):
    if variant == 0:
        for i in range(n):
            _adam_elem_nm(i, p, g, m, v, vmax, w, c, ss, bc2s, False, True, False, sc, inf)
    elif variant == 1:
        for i in range(n):
            _adam_elem_nm(i, p, g, m, v, vmax, w, c, ss, bc2s, False, precond, True, sc, inf)
    else:
        for i in range(n):
            _adam_elem_nm(i, p, g, m, v, vmax, w, c, ss, bc2s, True, precond, True, sc, inf)


@njit(inline="always")
def _adam_tile(k, ptrs, sizes, tiles, ks, bias, like, c, variant, precond, code, nmn, nmm):
    t, p = _tile(k, ptrs, sizes, tiles, like, 0)  # columns: p, g, m, v, vmax
    g = _tile(k, ptrs, sizes, tiles, like, 1)[1]
    m = _tile(k, ptrs, sizes, tiles, like, 2)[1]
    v = _tile(k, ptrs, sizes, tiles, like, 3)[1]
    vmax = _tile(k, ptrs, sizes, tiles, like, 4)[1]
    w = _weights(k, ptrs, sizes, tiles, like, 5, code, p)
    n = p.size
    ss = like.dtype.type(bias[t, 0])
    bc2s = like.dtype.type(bias[t, 1])
    _adam_body(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code, ks[t], like, nmn, nmm)


def _adam_body(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code, kk, like, nmn, nmm):  # pragma: no cover
    """A tile's loops: element-wise, or with N:M chunk by chunk (chosen at compile time, below)."""
    raise NotImplementedError("compiled code only")


@overload(_adam_body, prefer_literal=True)
def _adam_body_impl(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code, kk, like, nmn, nmm):
    # only the chosen implementation is typed and compiled: kernels without N:M carry none of its code
    if not (isinstance(nmm, types.IntegerLiteral) and isinstance(code, types.IntegerLiteral)):
        return None
    if nmm.literal_value == 0 and has_rare(code.literal_value, like.dtype):
        def split(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code, kk, like, nmn, nmm):
            if variant == 0:
                _adam_split(n, p, g, m, v, c, ss, bc2s, code)
            else:
                _adam_loop(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code)
        return split
    if nmm.literal_value == 0:
        def plain(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code, kk, like, nmn, nmm):
            _adam_loop(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code)
        return plain

    def chunked(n, p, g, m, v, vmax, w, c, ss, bc2s, variant, precond, code, kk, like, nmn, nmm):
        # chunk by chunk: the step and its scores, then the N:M projection of the chunk
        ch = max(1, NM_CHUNK // (nmm * kk)) * nmm * kk
        sc = np.empty(ch, like.dtype)
        inf = like.dtype.type(np.inf)
        for lo in range(0, n, ch):
            hi = min(lo + ch, n)
            _adam_loop_nm(hi - lo, p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vmax[lo:hi], w, c, ss, bc2s, variant,
                          precond, sc, inf)
            _nm_drop(p[lo:hi], sc, hi - lo, kk, nmn, nmm)
    return chunked


@njit(inline="always")
def _adam_bias(step_ptrs, hp64):
    """Increment every tensor's step counter and return its ``(lr/(1-β1^t), sqrt(1-β2^t))``."""
    lr, beta1, beta2 = hp64[0], hp64[1], hp64[2]
    bias = np.empty((step_ptrs.shape[0], 2))
    for t in range(step_ptrs.shape[0]):
        st = carray(_voidptr(step_ptrs[t]), (1,), np.float32)
        st[0] += np.float32(1.0)
        step = np.float64(st[0])
        bias[t, 0] = lr / (1.0 - beta1 ** step)
        bias[t, 1] = np.sqrt(1.0 - beta2 ** step)
    return bias


# ----------------------------------------------------------------------------- SGD
# positions in the kernels' vector (proxgan.kernels._hp): SGD_HP[:SGD_CPU], then 1 and 0
_S_LR, _S_OMD, _S_WD, _S_MU, _S_A, _S_B, _S_SIGN = (
    index(SGD_HP, k) for k in ("lr", "omd", "wd", "mu", "a", "b", "sign"))
_S_ONE, _S_ZERO = SGD_CPU, SGD_CPU + 1


@njit(inline="always")
def _sgd_elem(i, p, g, buf, w, c, mub, omd, mode, code, general):
    lr, wd, mu, a, b = c[_S_LR], c[_S_WD], c[_S_MU], c[_S_A], c[_S_B]
    sign, one, zero = c[_S_SIGN], c[_S_ONE], c[_S_ZERO]
    gi = g[i]
    pi = p[i]
    if general:  # maximize / weight decay
        gi = sign * gi
        gi = gi + wd * pi
    if mode == 1:
        bi = mub * buf[i] + omd * gi
        buf[i] = bi
        gi = bi
    elif mode == 2:
        bi = mub * buf[i] + omd * gi
        buf[i] = bi
        gi = gi + mu * bi
    p[i] = prox_kernel(pi - lr * gi, _wstep(lr, w, i, code), code, a, b, one, zero)


@njit(inline="always")
def _sgd_loop(n, p, g, buf, w, c, mub, omd, mode, general, code):
    if mode == 0:
        if general:
            for i in range(n):
                _sgd_elem(i, p, g, buf, w, c, mub, omd, 0, code, True)
        else:
            for i in range(n):
                _sgd_elem(i, p, g, buf, w, c, mub, omd, 0, code, False)
    elif mode == 1:
        if general:
            for i in range(n):
                _sgd_elem(i, p, g, buf, w, c, mub, omd, 1, code, True)
        else:
            for i in range(n):
                _sgd_elem(i, p, g, buf, w, c, mub, omd, 1, code, False)
    else:
        for i in range(n):
            _sgd_elem(i, p, g, buf, w, c, mub, omd, 2, code, True)


@njit(inline="always")
def _sgd_tile(k, ptrs, sizes, tiles, ks, firsts, like, c, mode, general, code, nmn, nmm):
    t, p = _tile(k, ptrs, sizes, tiles, like, 0)  # columns: p, g, buf
    g = _tile(k, ptrs, sizes, tiles, like, 1)[1]
    buf = _tile(k, ptrs, sizes, tiles, like, 2)[1]
    w = _weights(k, ptrs, sizes, tiles, like, 3, code, p)
    n = p.size
    one = like.dtype.type(1.0)
    zero = like.dtype.type(0.0)
    # the first momentum step sets the (zero-filled) buffer to the gradient: 0·0 + 1·g
    mub = zero if firsts[t] else c[_S_MU]
    omd = one if firsts[t] else c[_S_OMD]
    _sgd_body(n, p, g, buf, w, c, mub, omd, mode, general, code, ks[t], like, nmn, nmm)


def _sgd_body(n, p, g, buf, w, c, mub, omd, mode, general, code, kk, like, nmn, nmm):  # pragma: no cover
    """A tile's loops: element-wise, or with N:M chunk by chunk (chosen at compile time, below)."""
    raise NotImplementedError("compiled code only")


@overload(_sgd_body, prefer_literal=True)
def _sgd_body_impl(n, p, g, buf, w, c, mub, omd, mode, general, code, kk, like, nmn, nmm):
    if not isinstance(nmm, types.IntegerLiteral):
        return None
    if nmm.literal_value == 0:
        def plain(n, p, g, buf, w, c, mub, omd, mode, general, code, kk, like, nmn, nmm):
            _sgd_loop(n, p, g, buf, w, c, mub, omd, mode, general, code)
        return plain

    def chunked(n, p, g, buf, w, c, mub, omd, mode, general, code, kk, like, nmn, nmm):
        # chunk by chunk: the step, then the N:M projection by |u| (SGD's step is a scalar)
        ch = max(1, NM_CHUNK // (nmm * kk)) * nmm * kk
        sc = np.empty(ch, like.dtype)
        inf = like.dtype.type(np.inf)
        one = like.dtype.type(1.0)
        for lo in range(0, n, ch):
            hi = min(lo + ch, n)
            pc = p[lo:hi]
            _sgd_loop(hi - lo, pc, g[lo:hi], buf[lo:hi], w, c, mub, omd, mode, general, 0)
            for i in range(hi - lo):
                sc[i] = _nm_score(pc[i], one, False, inf)
            _nm_drop(pc, sc, hi - lo, kk, nmn, nmm)
    return chunked


def _make_kernels(stamp: str) -> tuple:
    """The four entry kernels. The hash ``stamp`` of the prox switch's source
    (:mod:`proxgan.kernels._prox_cpu`, compiled into them) is in their closure, hence in
    numba's cache key: editing the switch recompiles them."""

    @njit(parallel=True, cache=True, fastmath=False, error_model="numpy")
    def _adam_parallel(ptrs, step_ptrs, sizes, tiles, ks, hp64, precond, variant, carr, code, nmn, nmm):
        literally(code)
        literally(nmn)
        literally(nmm)
        if len(stamp) == 0:  # never: the stamp is only here to be in the cache key
            return
        bias = _adam_bias(step_ptrs, hp64)
        c = (carr[0], carr[1], carr[2], carr[3], carr[4], carr[5], carr[6], carr[7], carr[8], carr[9], carr[10],
             carr[11])
        for k in prange(tiles.shape[0]):
            _adam_tile(k, ptrs, sizes, tiles, ks, bias, carr, c, variant, precond, code, nmn, nmm)

    @njit(cache=True, fastmath=False, error_model="numpy")
    def _adam_serial(ptrs, step_ptrs, sizes, tiles, ks, hp64, precond, variant, carr, code, nmn, nmm):
        literally(code)
        literally(nmn)
        literally(nmm)
        if len(stamp) == 0:  # never: the stamp is only here to be in the cache key
            return
        bias = _adam_bias(step_ptrs, hp64)
        c = (carr[0], carr[1], carr[2], carr[3], carr[4], carr[5], carr[6], carr[7], carr[8], carr[9], carr[10],
             carr[11])
        for k in range(tiles.shape[0]):
            _adam_tile(k, ptrs, sizes, tiles, ks, bias, carr, c, variant, precond, code, nmn, nmm)

    @njit(parallel=True, cache=True, fastmath=False, error_model="numpy")
    def _sgd_parallel(ptrs, sizes, tiles, ks, firsts, mode, general, carr, code, nmn, nmm):
        literally(code)
        literally(nmn)
        literally(nmm)
        if len(stamp) == 0:  # never: the stamp is only here to be in the cache key
            return
        c = (carr[0], carr[1], carr[2], carr[3], carr[4], carr[5], carr[6], carr[7], carr[8])
        for k in prange(tiles.shape[0]):
            _sgd_tile(k, ptrs, sizes, tiles, ks, firsts, carr, c, mode, general, code, nmn, nmm)

    @njit(cache=True, fastmath=False, error_model="numpy")
    def _sgd_serial(ptrs, sizes, tiles, ks, firsts, mode, general, carr, code, nmn, nmm):
        literally(code)
        literally(nmn)
        literally(nmm)
        if len(stamp) == 0:  # never: the stamp is only here to be in the cache key
            return
        c = (carr[0], carr[1], carr[2], carr[3], carr[4], carr[5], carr[6], carr[7], carr[8])
        for k in range(tiles.shape[0]):
            _sgd_tile(k, ptrs, sizes, tiles, ks, firsts, carr, c, mode, general, code, nmn, nmm)

    return _adam_parallel, _adam_serial, _sgd_parallel, _sgd_serial


_adam_parallel, _adam_serial, _sgd_parallel, _sgd_serial = _make_kernels(source_stamp())


# ----------------------------------------------------------------------------- launchers
_LAYOUTS: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = {}


def _layout(params: Sequence[torch.Tensor], nm: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``(sizes, tiles, ks, serial)`` of a call, cached per shapes and N:M pattern.

    Tile ``t`` is ``(tensor, first element, length)``: about :data:`TILE` elements, and with
    N:M a whole number of super-blocks of ``m*k`` entries, where ``ks[i] = prod(shape[2:])``
    is the stride of a block along dimension 1 of tensor ``i`` (0 without N:M).
    """
    key = (tuple([p.shape for p in params] if nm[1] else [p.numel() for p in params]), nm)
    hit = _LAYOUTS.get(key)
    if hit is None:
        sizes = [math.prod(s) for s in key[0]] if nm[1] else list(key[0])
        ks = [math.prod(s[2:]) for s in key[0]] if nm[1] else [0] * len(sizes)
        tiles = []
        for t, n in enumerate(sizes):
            step = max(1, TILE // (nm[1] * ks[t])) * nm[1] * ks[t] if nm[1] else TILE
            tiles += [(t, lo, min(step, n - lo)) for lo in range(0, n, step)]
        if len(_LAYOUTS) >= 256:
            _LAYOUTS.clear()
        hit = _LAYOUTS[key] = (np.array(sizes, dtype=np.int64), np.array(tiles, dtype=np.int64).reshape(-1, 3),
                               np.array(ks, dtype=np.int64), sum(sizes) < SERIAL)
    return hit


_NP = {torch.float32: np.float32, torch.float64: np.float64}
_ENTRY: dict[tuple, object] = {}
_CONST: dict[tuple, np.ndarray] = {}


def _const(values: tuple, dtype) -> np.ndarray:
    """A small read-only array of ``values`` (hyperparameters, flags), made once per distinct value."""
    key = (values, dtype)
    arr = _CONST.get(key)
    if arr is None:
        if len(_CONST) >= 256:
            _CONST.clear()
        arr = _CONST[key] = np.array(values, dtype=dtype)
        arr.flags.writeable = False
    return arr


def _weight_column(code: int, params: Sequence[torch.Tensor], weights: Sequence[torch.Tensor] | None) -> tuple:
    """The pointer table's weight column: ``(weights,)`` for code ``L1W``, else ``()`` (no column).
    The kernel reads it without bounds checks: :func:`~proxgan.kernels.fused_penalty.check_weights` first."""
    check_weights(code, list(params), None if weights is None else list(weights), params[0].dtype)
    return (weights,) if code == _L1W else ()


def _call(kernel, n_literal: int, *args) -> None:
    """Run ``kernel(*args)`` whose last ``n_literal`` arguments are ``numba.literally`` ones.

    The specialisation for those values is compiled (or loaded from the on-disk cache)
    once, by its exact signature, and then called through its entry point: this skips
    numba's literal re-dispatch, which would first type the kernel with plain integers.
    """
    literals = args[-n_literal:]
    key = (kernel, args[-n_literal - 1].dtype) + tuple(literals)  # the argument before them is ``carr``
    entry = _ENTRY.get(key)
    if entry is None:
        sig = tuple(typeof(a) for a in args[:-n_literal]) + tuple(types.literal(v) for v in literals)
        kernel.compile(sig)
        entry = _ENTRY[key] = kernel.overloads[sig].entry_point
    entry(*args)


def adam_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], exp_avgs: Sequence[torch.Tensor],
              exp_avg_sqs: Sequence[torch.Tensor], max_exp_avg_sqs: Sequence[torch.Tensor] | None,
              steps: Sequence[torch.Tensor], *, lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, decoupled: bool, maximize: bool, preconditioned: bool,
              code: int, a: float, b: float, nm: tuple[int, int] = (0, 0), grad_scale: float = 1.0,
              weights: Sequence[torch.Tensor] | None = None) -> None:
    """Fused proximal Adam on CPU tensors of one dtype (math: :mod:`proxgan.kernels.fused_prox_adam`).

    Every tensor must be contiguous, non-empty, of the parameters' shape and dtype
    (float32 or float64); ``steps`` are 0-d float32 counters, incremented here.
    Everything is updated in place. ``nm = (n, m)`` (with ``code`` 0) projects each
    parameter on N:M sparsity along dimension 1 (:mod:`proxgan.kernels.nm_project`, by
    :math:`u^2/s`, or :math:`|u|` when not ``preconditioned``) in the same pass; the caller
    has checked ``shape[1] % m == 0``. ``weights`` (code ``L1W`` only, required there): one
    contiguous tensor per parameter, of its shape and dtype, the weights of a weighted L1.
    """
    dtype = _NP[params[0].dtype]
    amsgrad = max_exp_avg_sqs is not None
    vmax = max_exp_avg_sqs if amsgrad else exp_avg_sqs
    cols = (params, grads, exp_avgs, exp_avg_sqs, vmax) + _weight_column(code, params, weights)
    ptrs = np.array([t.data_ptr() for col in cols for t in col], dtype=np.int64)
    step_ptrs = np.array([s.data_ptr() for s in steps], dtype=np.int64)
    sizes, tiles, ks, serial = _layout(params, nm)
    wd = 0.0 if decoupled else weight_decay
    decay = 1.0 - lr * weight_decay if decoupled else 1.0
    sign = (-1.0 if maximize else 1.0) / grad_scale  # GradScaler's scale (ProxOptimizer.step) rides on the sign
    values = dict(lr=lr, omb1=1.0 - beta1, b2=beta2, omb2=1.0 - beta2, eps=eps, wd=wd, decay=decay, a=a, b=b,
                  sign=sign)
    carr = _const(vector(ADAM_HP, values, ADAM_CPU) + (1.0, 0.0), dtype)
    hp64 = _const((lr, beta1, beta2), np.float64)
    common = not amsgrad and preconditioned and sign == 1.0 and wd == 0.0 and decay == 1.0
    variant = 0 if common else (2 if amsgrad else 1)
    kernel = _adam_serial if serial or torch.get_num_threads() == 1 else _adam_parallel
    _call(kernel, 3, ptrs, step_ptrs, sizes, tiles, ks, hp64, preconditioned, variant, carr, code, nm[0], nm[1])


def sgd_plan(dtype: torch.dtype, *, lr: float, momentum: float, dampening: float, nesterov: bool,
             weight_decay: float, maximize: bool, code: int, a: float, b: float,
             nm: tuple[int, int] = (0, 0)) -> tuple:
    """The constants of :func:`sgd_step` for one dtype and set of hyperparameters (made once
    per group and kept while the group is unchanged)."""
    values = dict(lr=lr, omd=1.0 - dampening, wd=weight_decay, mu=momentum, a=a, b=b, sign=-1.0 if maximize else 1.0)
    carr = _const(vector(SGD_HP, values, SGD_CPU) + (1.0, 0.0), _NP[dtype])
    mode = 0 if momentum == 0 else (2 if nesterov else 1)
    return (carr, mode, maximize or weight_decay != 0.0, code, nm[0], nm[1])


def sgd_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor],
             momentum_buffers: Sequence[torch.Tensor], firsts: Sequence[bool] | None, plan: tuple,
             weights: Sequence[torch.Tensor] | None = None) -> None:
    """Fused proximal SGD on CPU tensors of one dtype (math: :mod:`proxgan.kernels.fused_prox_sgd`).

    ``plan`` is :func:`sgd_plan` of the hyperparameters. Every tensor must be contiguous,
    non-empty, of the parameters' shape and dtype; without momentum ``momentum_buffers``
    may be the parameters themselves (never read). With momentum, a first step
    (``firsts[i]``; ``None``: no first step) expects a zero-filled buffer and sets it to the
    gradient (``0·0 + 1·g``), as torch.optim.SGD does. ``nm = (n, m)`` in the plan (with
    ``code`` 0) projects on N:M sparsity by :math:`|u|` in the same pass (see :func:`adam_step`);
    ``weights`` are those of code ``L1W`` (see :func:`adam_step`).
    """
    carr, mode, general, code, nmn, nmm = plan
    cols = (params, grads, momentum_buffers) + _weight_column(code, params, weights)
    ptrs = np.array([t.data_ptr() for col in cols for t in col], dtype=np.int64)
    sizes, tiles, ks, serial = _layout(params, (nmn, nmm))
    kernel = _sgd_serial if serial or torch.get_num_threads() == 1 else _sgd_parallel
    flags = _const((False,) * len(params) if firsts is None else tuple(firsts), np.bool_)
    _call(kernel, 3, ptrs, sizes, tiles, ks, flags, mode, general, carr, code, nmn, nmm)
