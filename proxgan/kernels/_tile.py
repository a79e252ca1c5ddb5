r"""Device helpers for streaming kernels: a 128-bit body and a scalar tail.

A streaming kernel (threshold, fused optimizer step) handles one tile of ``BLOCK``
consecutive elements per program. The GPU moves data fastest with 128-bit accesses
(``ld.global.v4.b32``: four float32, eight bfloat16), which the compiler only emits when it
can prove that every thread's addresses are 16-byte aligned and that the mask is constant
over each group of four (or eight) lanes. Neither holds for a pointer read from a
multi-tensor table, nor for a mask ``offs < n`` with an arbitrary ``n``.

So each kernel branches once per tile, on values it knows at run time:

- *body*: the tile is full and every tensor it touches starts 16-byte aligned. The pointers
  are rebuilt inside the branch and marked ``tl.multiple_of(ptr, 16)``; loads and stores are
  unmasked. This is where all but at most one tile of each tensor go.
- *tail*: anything else (the last, partial tile, or a misaligned view): masked scalar
  accesses, correct for any address and size.

The hint is attached to a pointer created in the body branch only (:func:`tile_ptr`), so the
tail never inherits the alignment assumption. Helpers are inlined by Triton; under the
interpreter (``TRITON_INTERPRET=1``) the hints are no-ops and both branches run as plain code.
"""
from __future__ import annotations

from ._lazy import jit

__all__ = ["tile_ptr", "load_tile", "store_tile"]

tl = None  # the real triton.language is put here at the first launch (see _lazy.py)
triton = None

@jit
def tile_ptr(base, start, ALIGNED: tl.constexpr):
    """``base + start``, marked 16-byte aligned when ``ALIGNED`` (the caller has checked it)."""
    ptr = base + start
    if ALIGNED:
        ptr = tl.multiple_of(ptr, 16)
    return ptr


@jit
def load_tile(ptr, rem, BLOCK: tl.constexpr, MASKED: tl.constexpr):
    """The ``BLOCK`` elements at ``ptr``; when ``MASKED``, only the first ``rem`` (others read 0)."""
    offs = tl.arange(0, BLOCK)
    if MASKED:
        x = tl.load(ptr + offs, mask=offs < rem, other=0.0)
    else:
        x = tl.load(ptr + offs)
    return x


@jit
def store_tile(ptr, value, rem, BLOCK: tl.constexpr, MASKED: tl.constexpr):
    """Write ``value`` (cast to ``ptr``'s type) to the ``BLOCK`` elements at ``ptr`` (first ``rem`` when ``MASKED``)."""
    offs = tl.arange(0, BLOCK)
    if MASKED:
        tl.store(ptr + offs, value.to(ptr.dtype.element_ty), mask=offs < rem)
    else:
        tl.store(ptr + offs, value.to(ptr.dtype.element_ty))
