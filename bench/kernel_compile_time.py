"""Cold compile time of the fused CPU kernels, one specialisation per penalty code.

Each measurement is a fresh Python process with an empty numba cache that compiles one
kernel entry (``_sgd_serial`` / ``_adam_serial`` / ``_adam_parallel`` of
:mod:`proxgan.optim._fused_cpu`) for one dtype and penalty code, and reports the CPU seconds of
``compile`` alone (imports excluded). CPU time, not wall time, so a loaded machine still gives
comparable figures. With two or more ``--tree`` folders (checkouts of proxgan, e.g. one made by
``git archive REV proxgan | tar -x -C DIR``) the same specialisations are compiled from each,
alternating, and the ratios to the first tree are printed.

Run: ``.venv/bin/python bench/kernel_compile_time.py [--tree DIR ...] [--codes L1 MCP LQ12]``
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

_CHILD = r'''
import sys, time
import numpy as np
from numba import types, typeof
import proxgan.optim._fused_cpu as F
from proxgan.kernels.fused_penalty import Code
kname, dt, code, tree = sys.argv[1], sys.argv[2], int(Code[sys.argv[3]]), sys.argv[4]
assert F.__file__.startswith(tree), (F.__file__, tree)
dtype = np.float32 if dt == "float32" else np.float64
i64 = lambda *shape: np.zeros(shape, np.int64)
if "sgd" in kname:
    args = (i64(3), i64(1), i64(1, 3), i64(1), np.zeros(1, np.bool_), 0, False, np.zeros(9, dtype))
else:
    args = (i64(5), i64(1), i64(1), i64(1, 3), i64(1), np.zeros(3), True, 0, np.zeros(12, dtype))
sig = tuple(typeof(a) for a in args) + (types.literal(code), types.literal(0), types.literal(0))
t0 = time.process_time()
getattr(F, kname).compile(sig)
print(time.process_time() - t0)
'''


def compile_seconds(tree: str, kernel: str, dtype: str, code: str) -> float:
    """CPU seconds to compile one specialisation from the proxgan package in ``tree`` (cold cache)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=os.pathsep.join([tree, os.environ.get("PYTHONPATH", "")]))
        # run in the empty cache folder: ``python -c`` puts the working directory first on sys.path
        out = subprocess.run([sys.executable, "-c", _CHILD, kernel, dtype, code, os.path.abspath(tree)], env=env,
                             cwd=cache, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", help="folder holding a proxgan package (default: this checkout)")
    ap.add_argument("--codes", nargs="+", default=["L1", "MCP", "LQ12"], help="penalty codes (Code names)")
    ap.add_argument("--kernels", nargs="+", default=["_sgd_serial", "_adam_serial", "_adam_parallel"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = ap.parse_args()
    trees = args.tree or [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    print(f"cold compile CPU seconds, {args.dtype}, one fresh process and empty numba cache each\n")
    head = "| kernel | code | " + " | ".join(f"tree {i}" for i in range(len(trees)))
    head += "".join(f" | tree {i} / tree 0" for i in range(1, len(trees)))
    print(head + " |\n" + "|---" * (2 + 2 * len(trees) - 1) + "|")
    for kernel in args.kernels:
        for code in args.codes:
            secs = [compile_seconds(t, kernel, args.dtype, code) for t in trees]
            row = f"| {kernel} | {code} | " + " | ".join(f"{s:.1f}" for s in secs)
            row += "".join(f" | {s / secs[0]:.2f}" for s in secs[1:])
            print(row + " |", flush=True)
    for i, t in enumerate(trees):
        print(f"\ntree {i}: {t}", end="")
    print()


if __name__ == "__main__":
    main()
