"""``make gpu-check``: everything a GPU machine should prove, in one run, offline.

::

    python bench/gpu_check.py [--out results/gpu] [--dry-run]

For a bare CUDA machine with torch, triton, numba, scikit-learn, scipy, pytest, hypothesis,
matplotlib and tqdm installed and no network. proxgan is made importable first: already
installed, else ``pip install --no-deps --no-build-isolation -e .``, else the checkout on
``PYTHONPATH`` (every kernel lives in ``proxgan/kernels/``). Then, in order:

1. ahead-of-time compile of every kernel variant for this card (fills Triton's cache);
2. the ``gpu``-marked tests (``tests/gpu``) with compiled kernels;
3. the optimizer-step benchmark (22M CNN mix, 100M and 1B transformer mixes in float32,
   100M in bfloat16): ProxAdam(L1)/ProxSGD(L1) fused against ``torch.optim`` fused and a copy;
4. soft-threshold bandwidth (22M, 100M, 1B float32);
5. first-call (compile) time of each kernel, in a fresh Triton cache;
6. GPU Lasso (FISTA) against skglm (or scikit-learn) on the CPU, time to gap <= 1e-6 P(0).

Benchmarks still to run once ``--budget-s`` seconds have passed are skipped (and reported).

It writes ``OUT/report.md`` (card, driver, torch, triton) and one CSV per measurement.
``--dry-run`` lists the plan and checks that every import resolves, on any machine. The exit
status is 0 when every step passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ["torch", "triton", "numba", "sklearn", "scipy", "numpy", "pytest", "hypothesis", "matplotlib", "tqdm"]
OPTIONAL = {"skglm": "the CPU Lasso baseline falls back to scikit-learn"}
PROXGAN = ["proxgan", "proxgan.kernels", "proxgan.kernels.aot", "proxgan.optim", "proxgan.linear_model",
           "proxgan.cli"]

# (step, what it runs); sizes of the benchmarks
OPTIM_CASES = [(22_000_000, "cnn", "float32"), (100_000_000, "transformer", "float32"),
               (1_000_000_000, "transformer", "float32"), (100_000_000, "transformer", "bfloat16")]
SOFT_SIZES = [22_000_000, 100_000_000, 1_000_000_000]
LASSO_CASES = [(10_000, 10_000), (100_000, 1_000)]
PLAN = [
    ("aot", "python -m proxgan.kernels.aot --arch <this card> --out OUT/aot --jobs <cpus>"),
    ("tests", "TRITON_INTERPRET=0 python -m pytest -m gpu tests/gpu"),
    ("optim-step", "ProxAdam(L1)/ProxSGD(L1) fused vs Adam/SGD(fused=True) and a copy: "
                   + ", ".join(f"{n / 1e6:g}M {k} {d}" for n, k, d in OPTIM_CASES)),
    ("soft-threshold", "in-place soft-threshold vs copy: " + ", ".join(f"{n / 1e6:g}M" for n in SOFT_SIZES)),
    ("compile", "first call of each kernel in a fresh Triton cache"),
    ("lasso", "Lasso(device='cuda') vs CPU, gap <= 1e-6 P(0): " + ", ".join(f"n={n} p={p}" for n, p in LASSO_CASES)),
]

def _importable(env: dict) -> bool:
    code = "import proxgan.kernels.aot, proxgan.optim"
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=tempfile.gettempdir(),
                          capture_output=True).returncode == 0


def make_importable(allow_install: bool) -> tuple[dict, str]:
    """An environment in which ``import proxgan`` works for this checkout, and how it was obtained."""
    env = dict(os.environ)
    if _importable(env):
        return env, "installed"
    if allow_install:
        run = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e",
                              str(ROOT)], capture_output=True, text=True)
        if run.returncode == 0 and _importable(env):
            return env, "pip install --no-deps --no-build-isolation -e ."
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    if _importable(env):
        return env, "PYTHONPATH=<checkout>"
    raise SystemExit("proxgan is not importable: neither installed, nor installable offline, nor from PYTHONPATH")


def dry_run(env: dict, how: str, out: Path) -> int:
    """Print the plan; check that every module the run needs resolves. 0 when all do."""
    print(f"gpu-check (dry run): proxgan importable via {how}; would write {out}/report.md and CSVs")
    for i, (step, what) in enumerate(PLAN, 1):
        print(f"  {i}. {step:<15} {what}")
    missing = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
    for m, why in OPTIONAL.items():
        if importlib.util.find_spec(m) is None:
            print(f"  note: {m} not installed: {why}")
    check = "; ".join(f"import {m}" for m in PROXGAN) + "; import sys; sys.path.insert(0, 'bench'); import gpu_bench"
    run = subprocess.run([sys.executable, "-c", check], env=env, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        missing.append("proxgan / bench modules: " + (run.stderr.strip().splitlines() or ["?"])[-1])
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only", "-m", "gpu", "tests/gpu",
                            "-p", "no:cacheprovider"], env=env, cwd=ROOT, capture_output=True, text=True)
    n_tests = sum(1 for ln in tests.stdout.splitlines() if "::" in ln)
    if tests.returncode != 0 or n_tests == 0:
        missing.append("tests/gpu does not collect: " + tests.stdout[-500:])
    print(f"  {n_tests} gpu tests collected")
    if missing:
        print("MISSING: " + "; ".join(missing))
        return 1
    print("all imports resolve")
    return 0


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def _table(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _machine() -> dict:
    import torch
    import triton

    props = torch.cuda.get_device_properties(0)
    try:
        driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        driver = "unknown (nvidia-smi not found)"
    return {"card": props.name, "memory_GiB": round(props.total_memory / 2 ** 30, 1),
            "capability": f"{props.major}.{props.minor}", "driver": driver, "cuda": torch.version.cuda,
            "torch": torch.__version__, "triton": triton.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")}


def _step(name: str, results: dict, fn) -> None:
    start = time.perf_counter()
    print(f"== {name}", flush=True)
    try:
        results[name] = {"ok": bool(fn())}
    except Exception as exc:  # one failing step must not hide the others
        results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        print(f"   FAILED: {results[name]['error']}", flush=True)
    results[name]["seconds"] = round(time.perf_counter() - start, 1)


def run_all(env: dict, how: str, out: Path, budget_s: float) -> int:
    import torch

    t0 = time.perf_counter()

    if not torch.cuda.is_available():
        print("no CUDA GPU: torch.cuda.is_available() is False; use --dry-run on a machine without one")
        return 1
    env = {**env, "TRITON_INTERPRET": "0", "TRITON_DEFAULT_FP_FUSION": "0"}
    os.environ.update(TRITON_INTERPRET="0", TRITON_DEFAULT_FP_FUSION="0")
    if how.startswith("PYTHONPATH"):  # the checkout, for this process too
        sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import gpu_bench as gb

    out.mkdir(parents=True, exist_ok=True)
    machine = _machine()
    major, minor = machine["capability"].split(".")
    results: dict = {}
    tables: dict[str, list[dict]] = {}

    def sub(cmd, log, timeout):
        with open(out / log, "w") as f:
            return subprocess.run(cmd, env=env, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                  timeout=timeout).returncode == 0

    _step("aot", results, lambda: sub([sys.executable, "-m", "proxgan.kernels.aot", "--arch", f"{major}{minor}",
                                       "--out", str(out / "aot"), "--jobs", str(os.cpu_count() or 1)], "aot.log",
                                      150))
    _step("tests", results, lambda: sub([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests/gpu",
                                         "-p", "no:cacheprovider", "-rs"], "tests.log", 300))
    _write_report(out, machine, how, results, tables, echo=False)

    def optim():
        rows = []
        for n, kind, dt in OPTIM_CASES:
            rows += gb.bench_optim_step(n, kind, getattr(torch, dt))
            print(f"   {n / 1e6:g}M {dt} done", flush=True)
        tables["optim_step"] = rows
        return True

    def soft():
        tables["soft_threshold"] = [r for n in SOFT_SIZES for r in gb.bench_soft_threshold(n)]
        return True

    def lasso():
        tables["lasso"] = [r for n, p in LASSO_CASES for r in gb.bench_lasso(n, p)]
        return True

    def compile_times():
        code = ("import sys, json; sys.path.insert(0, 'bench'); import gpu_bench as gb; "
                "print(json.dumps(gb.bench_compile()))")
        cache = tempfile.mkdtemp(prefix="triton-fresh-")
        run = subprocess.run([sys.executable, "-c", code], env={**env, "TRITON_CACHE_DIR": cache}, cwd=ROOT,
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(run.stderr[-500:])
        tables["compile"] = json.loads(run.stdout.strip().splitlines()[-1])
        return True

    for name, fn in [("optim-step", optim), ("soft-threshold", soft), ("compile", compile_times), ("lasso", lasso)]:
        if time.perf_counter() - t0 > budget_s:
            results[name] = {"ok": False, "seconds": 0.0, "error": f"skipped: past the {budget_s:.0f} s budget"}
            continue
        _step(name, results, fn)
        for table, rows in tables.items():  # after every step: a killed run still leaves its results
            _write_csv(out / f"{table}.csv", rows)
        _write_report(out, machine, how, results, tables, echo=False)
    _write_report(out, machine, how, results, tables)
    return 0 if all(r["ok"] for r in results.values()) else 1


def _write_report(out: Path, machine: dict, how: str, results: dict, tables: dict, echo: bool = True) -> None:
    lines = [f"# GPU check ({machine['date_utc']} UTC)", "",
             f"{machine['card']} ({machine['memory_GiB']} GiB, compute capability {machine['capability']}), "
             f"driver {machine['driver']}, CUDA {machine['cuda']}, torch {machine['torch']}, "
             f"triton {machine['triton']}, Python {machine['python']}, {machine['cpus']} CPUs. "
             f"proxgan via {how}. Made by `make gpu-check` (bench/gpu_check.py); timing rules in bench/gpu_bench.py.",
             "", "| step | ok | seconds | note |", "|---|---|---|---|"]
    lines += [f"| {k} | {'yes' if v['ok'] else 'NO'} | {v['seconds']} | {v.get('error', '')} |"
              for k, v in results.items()]
    cols = {"optim_step": ["params", "mix", "dtype", "contender", "bytes_per_param", "median_ms", "GB_per_s",
                           "share_of_copy", "time_vs_torch"],
            "soft_threshold": ["elements", "contender", "median_ms", "GB_per_s", "share_of_copy"],
            "lasso": ["n", "p", "solver", "seconds", "gap_over_P0", "n_iter", "speedup_vs_cpu"],
            "compile": ["kernel", "first_call_s", "second_call_ms"]}
    for name, rows in tables.items():
        lines += ["", f"## {name.replace('_', ' ')}", "", _table(rows, cols[name])]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    if echo:
        print((out / "report.md").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GPU tests and benchmarks of proxgan (make gpu-check)")
    parser.add_argument("--out", default=str(ROOT / "results" / "gpu"), help="output folder")
    parser.add_argument("--dry-run", action="store_true", help="list the plan and check the imports only")
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="skip the remaining benchmarks once this many seconds have passed (default: 420)")
    args = parser.parse_args(argv)
    env, how = make_importable(allow_install=not args.dry_run)
    if args.dry_run:
        return dry_run(env, how, Path(args.out))
    return run_all(env, how, Path(args.out), args.budget_s)


if __name__ == "__main__":
    sys.exit(main())
