"""``proxgan reproduce nonconvex --quick``: the files, sane numbers, and the classic result on an easy case."""
import csv

import numpy as np
import pytest

from proxgan.penalties import L0, L1
from proxgan.reproduce import reproduce
from proxgan.reproduce.nonconvex import PENALTIES, lambda_max, support_f1


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _mean(cell):
    return float(cell.split(" ± ")[0])


def test_nonconvex_quick_table(tmp_path, bars):
    paths = reproduce("nonconvex", tmp_path, quick=True, progress=True)
    bars.assert_one_full("nonconvex")
    assert "(smoke run, not the published table)" in paths["md"].read_text().splitlines()[0]
    assert "Machine:" in paths["md"].read_text()
    if "png" in paths:
        assert paths["png"].stat().st_size > 5000
    table = {r["penalty"]: r for r in _rows(paths["csv0"])}
    assert set(table) == set(PENALTIES)
    for r in table.values():
        for col in ("best F1 on the path", "F1 at min validation MSE"):
            assert 0.0 <= _mean(r[col]) <= 1.0
        assert _mean(r["‖β̂−β‖₂ at best F1"]) >= 0 and _mean(r["support size at best F1"]) >= 1
    fits = _rows(paths["paths"])
    assert {r["penalty"] for r in fits} == set(PENALTIES)
    assert all(0.0 <= float(r["F1"]) <= 1.0 and 0 < float(r["λ/λ_max"]) <= 1.0 for r in fits)
    first = [r for r in fits if float(r["λ/λ_max"]) == 1.0]
    assert len(first) == len(PENALTIES) and all(int(r["support size"]) == 0 for r in first)  # λ_max: all zero
    # The quick setting (n=60, p=120, s=4, SNR 10) is easy: on each of seeds 0-9, MCP's best F1 is at least
    # the Lasso's, and at the λ of least validation error the Lasso over-selects where MCP does not.
    l1, mcp = table["L1 (Lasso)"], table["MCP (γ=3)"]
    assert _mean(mcp["best F1 on the path"]) >= _mean(l1["best F1 on the path"])
    assert _mean(mcp["F1 at min validation MSE"]) > _mean(l1["F1 at min validation MSE"])
    assert _mean(l1["support size at min validation MSE"]) > 2 * 4 > _mean(mcp["support size at min validation MSE"])


def test_lambda_max_and_f1():
    rng = np.random.default_rng(0)
    c, L = rng.uniform(0.1, 2.0, 30), rng.uniform(0.5, 1.5, 30)
    assert lambda_max(L1, c, L) == pytest.approx(c.max(), rel=2e-6)  # soft threshold: c_j/L_j <= λ/L_j
    assert lambda_max(L0, c, L) == pytest.approx(np.max(c * c / (2 * L)), rel=2e-6)  # hard: c_j/L_j <= √(2λ/L_j)
    beta = np.array([0.0, 1.0, -2.0, 0.0])
    assert support_f1(np.array([0.0, 0.5, 0.0, 0.1]), beta) == pytest.approx(0.5)
    assert support_f1(beta * 3, beta) == 1.0 and support_f1(np.zeros(4), beta) == 0.0
