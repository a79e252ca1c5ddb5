r"""Ahead-of-time compilation of every Triton kernel variant, for GPUs this machine may not have.

::

    python -m proxgan.kernels.aot --arch 80,90 --out DIR [--subset ARCHS] [--jobs N] [--only TEXT]

Compiles, for each architecture (``80`` = A100, ``90`` = H100/H200), every variant that the
launchers can emit (each kernel module declares them in its ``aot_variants()``, see
:mod:`proxgan.kernels._variants`) through Triton's whole pipeline (TTIR, TTGIR, LLVM IR,
PTX, then ``ptxas`` to a cubin), with the options the launchers use. No GPU is needed. It
writes ``DIR/sm<arch>/<kernel>/<variant>.ptx`` and ``DIR/aot.csv``, one row per kernel x
variant x arch:

=====================  ===========================================================================
``ok``                 1 when the variant compiled; ``error`` holds the first line of the failure
``load_vector_bits``   widest global load in the PTX (128 for ``ld.global.v4.b32``)
``store_vector_bits``  widest global store
``vector_loads``       number of 128-bit global loads (stores: ``vector_stores``)
``registers``          registers per thread, ``spill_bytes`` the spill stores + loads (from ``ptxas -v``)
``shared_bytes``       shared memory the kernel allocates
``seconds``            wall time of the compilation
=====================  ===========================================================================

``--subset 80`` compiles, for sm_80, only a representative subset (every dtype and every
variant kind of each kernel at least once, see :func:`select`) while the other
architectures get the full set. The exit
status is 1 when any variant failed to compile, 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import io
import os
import pkgutil
import re
import sys
import time
from pathlib import Path

__all__ = ["discover", "compile_variant", "ptx_access_widths", "select", "main", "COLUMNS"]

COLUMNS = ["kernel", "variant", "arch", "ok", "load_vector_bits", "store_vector_bits", "vector_loads",
           "vector_stores", "registers", "spill_bytes", "shared_bytes", "seconds", "error"]

_ACCESS = re.compile(r"\b(ld|st)\.global((?:\.[\w:]+)*)")
_BITS = re.compile(r"\.[bfus](8|16|32|64)\b")
_VEC = re.compile(r"\.v(2|4|8)\b")


def discover() -> list:
    """All declared variants: ``aot_variants()`` of every module of :mod:`proxgan.kernels` that has one."""
    import proxgan.kernels as pkg

    variants = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "aot":
            continue
        mod = importlib.import_module(f"proxgan.kernels.{info.name}")
        declare = getattr(mod, "aot_variants", None)
        if declare is not None:
            variants.extend(declare())
    return variants


def select(variants: list, subset: bool) -> list:
    """All variants, or a representative subset that still covers every dtype and every variant kind.

    A variant's name is ``<dtype>-<kind>`` (``fp32-L1-amsgrad``: dtype ``fp32``, kind
    ``L1-amsgrad``). The subset keeps, for each kernel, every kind once, with the dtypes
    taken in turn (kind ``i`` in the kernel's ``i``-th dtype, cyclically): every penalty
    code, option and dtype a kernel has is compiled at least once, in about a quarter of the
    compilations. What the subset leaves out are combinations (a kind in its other dtypes),
    whose code paths differ from compiled ones only by the element type.

    Parameters
    ----------
    variants : list of Variant
        The declared variants, as :func:`discover` returns them (each has a ``module`` and a
        ``name`` whose text before the first ``-`` is its dtype).
    subset : bool
        False: return all of ``variants``; True: the covering subset described above, in
        the original order.

    Returns
    -------
    list of Variant
        The chosen variants (a new list).
    """
    if not subset:
        return list(variants)
    by_kernel: dict[str, dict[str, list[str]]] = {}  # kernel -> kind -> its dtypes, in order
    for v in variants:
        dtype, _, kind = v.name.partition("-")
        by_kernel.setdefault(v.module, {}).setdefault(kind, []).append(dtype)
    chosen = set()
    for module, kinds in by_kernel.items():
        dtypes = list(dict.fromkeys(d for ds in kinds.values() for d in ds))
        for i, (kind, available) in enumerate(kinds.items()):
            # the i-th dtype in turn, or the next one after it that has this kind
            dtype = next(d for d in dtypes[i % len(dtypes):] + dtypes if d in available)
            chosen.add((module, dtype, kind))
        for dtype in dtypes:  # fewer kinds than dtypes: the first kind in each dtype left over
            if not any(m == module and d == dtype for m, d, _ in chosen):
                chosen.add((module, dtype, next(k for k, ds in kinds.items() if dtype in ds)))
    return [v for v in variants if (v.module, *v.name.partition("-")[::2]) in chosen]


def ptx_access_widths(ptx: str) -> dict[str, int]:
    """Widest global load and store (bits) in a PTX text, and how many are 128-bit.

    Parameters
    ----------
    ptx : str
        The PTX assembly of one compiled kernel.

    Returns
    -------
    dict of str to int
        ``load_vector_bits`` and ``store_vector_bits`` (widest ``ld.global`` / ``st.global``
        access in bits, element width times vector length; 0 when there is none) and
        ``vector_loads`` and ``vector_stores`` (number of accesses of at least 128 bits).
    """
    out = {"load_vector_bits": 0, "store_vector_bits": 0, "vector_loads": 0, "vector_stores": 0}
    for kind, suffix in _ACCESS.findall(ptx):
        bits = _BITS.search(suffix)
        vec = _VEC.search(suffix)
        width = (int(bits.group(1)) if bits else 0) * (int(vec.group(1)) if vec else 1)
        which = "load" if kind == "ld" else "store"
        out[f"{which}_vector_bits"] = max(out[f"{which}_vector_bits"], width)
        if width >= 128:
            out[f"vector_{which}s"] += 1
    return out


def _ptxas_usage(log: str) -> tuple[int | None, int | None]:
    regs = re.search(r"Used (\d+) registers", log)
    spills = re.findall(r"(\d+) bytes spill (?:stores|loads)", log)
    return (int(regs.group(1)) if regs else None, sum(map(int, spills)) if spills else None)


def _constexprs(values: dict) -> dict:
    import triton.language as tl

    names = {"fp32": tl.float32, "fp64": tl.float64, "fp16": tl.float16, "bf16": tl.bfloat16}
    return {k: names.get(v, v) if isinstance(v, str) else v for k, v in values.items()}


def compile_variant(variant, arch: int, out_dir: Path | None = None) -> dict:
    """Compile one variant for ``sm_<arch>``; return its CSV row (and write its PTX under ``out_dir``).

    Parameters
    ----------
    variant : Variant
        One declared kernel variant (its kernel, signature and constexpr values).
    arch : int
        CUDA compute capability to compile for, e.g. ``80`` (A100) or ``90`` (H100/H200).
    out_dir : pathlib.Path or None, default None
        Folder under which the PTX is written as ``sm<arch>/<kernel>/<variant>.ptx``; None
        writes nothing.

    Returns
    -------
    dict
        The row of ``aot.csv`` (keys of :data:`COLUMNS`): ``ok`` is 1 on success, else 0 with
        the failure in ``error`` (a compilation error does not raise).
    """
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from ._lazy import COMPILE_OPTIONS

    row = {"kernel": variant.module, "variant": variant.name, "arch": arch, "ok": 0, "error": ""}
    fn = variant.kernel.compiled()
    signature = dict(variant.signature)
    for name in variant.constexprs:
        signature[name] = "constexpr"
    src = ASTSource(fn, signature, _constexprs(variant.constexprs))
    log = io.StringIO()
    start = time.perf_counter()
    try:
        triton.knobs.nvidia.dump_ptxas_log = True
        with contextlib.redirect_stdout(log):
            compiled = triton.compile(src, target=GPUTarget("cuda", arch, 32), options=dict(COMPILE_OPTIONS))
    except Exception as exc:  # a failure is a row of the report, not the end of the run
        row["seconds"] = round(time.perf_counter() - start, 3)
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
        row["error"] = " | ".join(dict.fromkeys([lines[0], lines[-1]]))[:400]
        return row
    row["seconds"] = round(time.perf_counter() - start, 3)
    ptx = compiled.asm["ptx"]
    row.update(ptx_access_widths(ptx))
    row["registers"], row["spill_bytes"] = _ptxas_usage(log.getvalue())
    row["shared_bytes"] = compiled.metadata.shared
    row["ok"] = 1
    if out_dir is not None:
        path = out_dir / f"sm{arch}" / variant.module / f"{variant.name}.ptx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ptx)
    return row


def _work(job: tuple[int, int, str]) -> dict:
    index, arch, out_dir = job
    return compile_variant(discover()[index], arch, Path(out_dir))


def _arch_list(text: str, what: str) -> list[int]:
    try:
        archs = [int(a) for a in text.split(",") if a.strip()]
    except ValueError:
        archs = []
    if not archs or any(a < 70 for a in archs):
        raise SystemExit(f"{what} must be comma-separated CUDA compute capabilities >= 70 such as 80,90; got {text!r}")
    return archs


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point of ``python -m proxgan.kernels.aot`` (see the module docstring).

    Parameters
    ----------
    argv : list of str or None, default None
        The command-line arguments, without the program name; None reads ``sys.argv``.

    Returns
    -------
    int
        The exit status: 0 when every variant compiled, 1 when any failed (bad arguments
        raise :class:`SystemExit`, status 2 or a message).
    """
    parser = argparse.ArgumentParser(prog="python -m proxgan.kernels.aot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="80,90", help="compute capabilities, e.g. 80,90")
    parser.add_argument("--out", required=True, help="output folder (PTX files and aot.csv)")
    parser.add_argument("--subset", default="", help="architectures that get a representative subset only")
    parser.add_argument("--only", default="", help="compile only the kernels whose name contains this text")
    parser.add_argument("--jobs", type=int, default=1, help="parallel compiler processes")
    args = parser.parse_args(argv)
    archs = _arch_list(args.arch, "--arch")
    subset = set(_arch_list(args.subset, "--subset")) if args.subset else set()
    if args.jobs < 1:
        raise SystemExit(f"--jobs must be >= 1, got {args.jobs}")
    if os.environ.get("TRITON_INTERPRET", "0") == "1":
        raise SystemExit("unset TRITON_INTERPRET: ahead-of-time compilation needs Triton's compiler, not its interpreter")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # a cache of our own: the seconds are compilations, not cache hits of an earlier run
    os.environ.setdefault("TRITON_CACHE_DIR", str(out / ".triton-cache"))
    variants = discover()
    jobs = []
    for arch in archs:
        chosen = {id(v) for v in select(variants, arch in subset)}
        jobs += [(i, arch, str(out)) for i, v in enumerate(variants)
                 if id(v) in chosen and args.only in v.module]
    start = time.perf_counter()
    if args.jobs == 1:
        rows = [_work(j) for j in jobs]
    else:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            rows = pool.map(_work, jobs, chunksize=4)
    with open(out / "aot.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    failed = [r for r in rows if not r["ok"]]
    print(f"compiled {len(rows) - len(failed)}/{len(rows)} variants for sm_{', sm_'.join(map(str, archs))} "
          f"in {time.perf_counter() - start:.1f} s -> {out / 'aot.csv'}")
    for r in failed:
        print(f"FAILED {r['kernel']} {r['variant']} sm_{r['arch']}: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
