"""``make gpu-check``: the pieces that do not need a GPU, and the dry run (CI runs it)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import gpu_bench as gb  # noqa: E402
import gpu_check as gc  # noqa: E402


@pytest.mark.parametrize("total, kind", [(22e6, "cnn"), (1e8, "transformer"), (1e9, "transformer")])
def test_size_mixes_reach_their_totals(total, kind):
    sizes = gb.size_mix(int(total), kind)
    assert total <= sum(sizes) < 1.15 * total
    assert min(sizes) < 5000 < max(sizes)  # vectors (biases, norms) beside matrices


def test_lasso_gap_is_zero_at_the_solution_and_positive_elsewhere():
    from sklearn.linear_model import Lasso

    X, y, alpha, p0 = gb._lasso_problem(200, 80)
    m = Lasso(alpha=alpha, tol=1e-14, max_iter=100_000).fit(X, y)
    assert abs(gb._gap(X, y, m.coef_, alpha)) <= 1e-9 * p0
    assert gb._gap(X, y, np.zeros(80), alpha) > 0.1 * p0
    assert gb._gap(X, y, m.coef_ * 0.9, alpha) > 1e-6 * p0


def test_report_names_the_machine(tmp_path):
    machine = {"card": "NVIDIA H100", "memory_GiB": 80, "capability": "9.0", "driver": "550.1", "cuda": "12.4",
               "torch": "2.13.0", "triton": "3.9.0", "python": "3.12", "cpus": 16, "date_utc": "2026-11-29 20:00"}
    gc._write_report(tmp_path, machine, "installed", {"tests": {"ok": False, "seconds": 3.0, "error": "boom"}},
                     {"compile": [{"kernel": "soft_threshold", "first_call_s": 0.9, "second_call_ms": 0.1}]})
    text = (tmp_path / "report.md").read_text()
    for word in ("NVIDIA H100", "driver 550.1", "torch 2.13.0", "triton 3.9.0", "| tests | NO | 3.0 | boom |",
                 "| soft_threshold | 0.9 | 0.1 |"):
        assert word in text


@pytest.mark.slow
def test_make_gpu_check_dry_run():
    run = subprocess.run(["make", "gpu-check", "DRY_RUN=1", f"GPU_PY={sys.executable}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "all imports resolve" in run.stdout
    for step, _ in gc.PLAN:
        assert step in run.stdout
    n = int(run.stdout.split(" gpu tests collected")[0].split()[-1])
    assert n >= 100
