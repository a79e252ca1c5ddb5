"""Ahead-of-time compilation of the kernel variants for sm_80 and sm_90 (no GPU needed).

The compiler runs in a subprocess: this process has TRITON_INTERPRET=1 (tests/conftest.py),
under which Triton hands out interpreted functions instead of compilable ones.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

pytest.importorskip("triton")

from proxgan.kernels import aot  # noqa: E402


def test_ptx_access_widths_reads_vector_and_scalar_accesses():
    ptx = """
    @%p1 ld.global.v4.b32 { %r1, %r2, %r3, %r4 }, [ %rd1 + 0 ];
    ld.global.b32 %r5, [ %rd2 + 0 ];
    ld.global.L1::evict_last.v2.b64 { %rd3, %rd4 }, [ %rd5 + 0 ];
    st.global.v2.b16 [ %rd6 + 0 ], { %rs1, %rs2 };
    ld.shared.v4.b32 { %r6, %r7, %r8, %r9 }, [ %r10 ];
    """
    w = aot.ptx_access_widths(ptx)
    assert w == {"load_vector_bits": 128, "store_vector_bits": 32, "vector_loads": 2, "vector_stores": 0}


def test_every_kernel_module_declares_its_variants():
    variants = aot.discover()
    kernels = {v.module for v in variants}
    assert {"soft_threshold", "hard_threshold", "group_soft_threshold", "fused_prox_adam", "fused_prox_sgd",
            "nm_project"} <= kernels
    names = [(v.module, v.name) for v in variants]
    assert len(names) == len(set(names)), "variant names must be unique within a kernel"
    # the subset keeps every (kernel, dtype) and every (kernel, kind), each kind once
    sub = aot.select(variants, subset=True)
    for part in (0, 2):
        assert {(v.module, v.name.partition("-")[part]) for v in sub} == \
            {(v.module, v.name.partition("-")[part]) for v in variants}
    kinds = [(v.module, v.name.partition("-")[2]) for v in sub]
    dtypes = {m: {v.name.partition("-")[0] for v in variants if v.module == m} for m, _ in kinds}
    assert len(sub) == sum(max(len(set(k for m2, k in kinds if m2 == m)), len(dtypes[m])) for m in dtypes)
    assert len(sub) < len(variants) / 3


def test_bad_arch_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="compute capabilities >= 70"):
        aot.main(["--arch", "sm90", "--out", str(tmp_path)])


#: what the suite compiles per architecture: the covering subset of every kernel for sm_90 (H100/H200,
#: the lent GPUs), and of the fused ProxAdam kernel (every penalty code, the most code) for sm_80 (A100)
PLAN = {90: "", 80: "fused_prox_adam"}


@pytest.mark.slow
def test_aot_compiles_every_variant_with_128_bit_access(tmp_path):
    """The covering subset of :func:`proxgan.kernels.aot.select` (every penalty code, option
    and dtype of a kernel at least once) for the kernels of :data:`PLAN` and each architecture,
    with 128-bit global access wherever a variant declares it. The whole set (288 variants per
    architecture) is ``python -m proxgan.kernels.aot --arch 80,90 --out DIR``; it takes
    minutes, so the suite compiles the subset, and for sm_80 that of the fused ProxAdam kernel only
    (the compiler's lowering differs between the architectures, the kernels' source does not)."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    variants = aot.discover()
    for arch, only in PLAN.items():
        out = tmp_path / f"arch{arch}"
        run = subprocess.run([sys.executable, "-m", "proxgan.kernels.aot", "--arch", str(arch), "--subset", str(arch),
                              "--only", only, "--out", str(out), "--jobs", "2"], env=env, capture_output=True,
                             text=True, timeout=1500)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        with open(out / "aot.csv") as f:
            rows = list(csv.DictReader(f))
        by_key = {(r["kernel"], r["variant"], int(r["arch"])): r for r in rows}
        wanted = [v for v in aot.select(variants, subset=True) if only in v.module]
        assert wanted
        for v in wanted:
            r = by_key[(v.module, v.name, arch)]
            assert r["ok"] == "1", r
            assert (out / f"sm{arch}" / v.module / f"{v.name}.ptx").exists()
            assert int(r["registers"]) > 0 and r["shared_bytes"] != ""
            if v.vector:
                assert int(r["load_vector_bits"]) == 128 and int(r["store_vector_bits"]) == 128, r
                assert int(r["vector_loads"]) >= 1 and int(r["vector_stores"]) >= 1, r
        assert len(rows) == len(wanted)
