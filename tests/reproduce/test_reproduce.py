"""Smoke tests: every ``proxgan reproduce NAME --quick`` writes its files, and they make sense."""
import csv

import numpy as np
import pytest

from proxgan.cli import main
from proxgan.reproduce import REPRODUCTIONS, reproduce


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _check_files(paths):
    assert paths["md"].read_text().startswith("# ")
    assert "Machine:" in paths["md"].read_text()
    if "png" in paths:
        assert paths["png"].stat().st_size > 5000  # a real figure, not an empty canvas


def test_fista_is_faster_than_ista(tmp_path):
    paths = reproduce("fista", tmp_path, quick=True, progress=False)
    _check_files(paths)
    curves = np.loadtxt(paths["curves"], delimiter=",", skiprows=1)
    ista, fista, restart = curves[-1, 1], curves[-1, 2], curves[-1, 3]
    assert fista < ista and restart < ista
    assert np.all(np.diff(curves[:, 1]) <= 1e-12 * max(curves[0, 1], 1))  # ISTA decreases monotonically
    rows = _rows(paths["csv0"])
    slope = {r["method"]: float(r["slope of log-log fit (k ≥ 10)"]) for r in rows}
    assert slope["FISTA"] < slope["ISTA"] < 0


def test_glmnet_table_every_cell_filled_or_marked(tmp_path):
    paths = reproduce("glmnet-table1", tmp_path, quick=True, progress=False)
    _check_files(paths)
    wide = _rows(paths["csv0"])
    assert {r["contender"] for r in wide} >= {"proxgan cd", "proxgan fista", "proxgan ista", "scikit-learn"}
    for r in wide:
        for k, v in r.items():
            if k.startswith("ρ="):
                assert v not in ("", "n/a"), (r["contender"], k)
    long = _rows(paths["csv1"])
    cd = [r for r in long if r["contender"] == "proxgan cd"]
    assert cd and all(float(r["worst gap / P(0)"]) <= 2e-5 * 1.01 for r in cd)


def test_lasso_benchopt_reaches_tolerance(tmp_path):
    paths = reproduce("lasso-benchopt", tmp_path, quick=True, progress=False)
    _check_files(paths)
    ttt = _rows(paths["csv1"])
    cd = [r for r in ttt if r["contender"] == "proxgan cd"]
    assert len(cd) == 5
    assert all(r["ε=1e-06"] != "not reached" for r in cd)
    runs = _rows(paths["csv2"])
    assert all(float(r["seconds"]) > 0 and float(r["gap / P(0)"]) >= 0 for r in runs)


def test_kernels_table(tmp_path):
    paths = reproduce("kernels", tmp_path, quick=True, progress=False)
    _check_files(paths)
    rows = _rows(paths["csv0"])
    assert {r["mode"] for r in rows} == {"out-of-place", "in-place"}
    assert all(float(r["median ms"]) > 0 for r in rows)
    firsts = [r for r in rows if r["contender"].startswith("proxgan")]
    assert all(float(r["time / proxgan"]) == 1.0 for r in firsts)
    steps = _rows(paths["csv1"])
    assert {"ProxAdam(L1) fused", "Adam(fused=True)", "ProxSGD(mom=0.9, L1) fused"} <= {r["contender"] for r in steps}
    ratios = {r["ratio"]: float(r["value"]) for r in _rows(paths["csv2"])}
    assert all(v > 0 for v in ratios.values()) and "ProxAdam(L1) fused / Adam(fused=True)" in ratios


def test_cli_reproduce(tmp_path, capsys):
    assert main(["reproduce", "fista", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    assert "fista.md" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["reproduce", "no-such-table"])
    with pytest.raises(ValueError, match="unknown reproduction"):
        reproduce("no-such-table")
    assert set(REPRODUCTIONS) >= {"glmnet-table1", "lasso-benchopt", "fista", "kernels"}


def test_proxgen_table(tmp_path):
    paths = reproduce("proxgen", tmp_path, quick=True, progress=False)
    _check_files(paths)
    rows = {r["method"]: r for r in _rows(paths["csv0"])}
    assert float(rows["Adam (no penalty)"]["zero weights (%)"]) == 0.0
    assert float(rows["Adam + ℓ1 subgradient in the loss"]["zero weights (%)"]) < 1  # the subgradient oscillates
    assert float(rows["ProxAdam ℓ1 (ProxGen)"]["zero weights (%)"]) > 0.0  # the prox makes exact zeros
    assert all(0.0 <= float(r["test accuracy (%)"]) <= 100.0 for r in rows.values())
    with pytest.raises(ValueError, match="does not take"):
        reproduce("fista", tmp_path, quick=True, data="digits")


def test_sparse_gan_table(tmp_path):
    paths = reproduce("sparse-gan", tmp_path, quick=True, progress=False)
    _check_files(paths)
    rows = {r["setting"]: r for r in _rows(paths["csv0"])}
    assert set(rows) == {"no penalty", "L1 on G", "L1 on D", "L1 on G and D"}
    assert float(rows["no penalty"]["G zero weights (%)"]) == 0 == float(rows["no penalty"]["D zero weights (%)"])
    assert float(rows["L1 on D"]["G zero weights (%)"]) == 0  # the penalty lands where it is asked to
    assert float(rows["L1 on G"]["D zero weights (%)"]) == 0
    assert all(np.isfinite(float(r["Fréchet distance"])) and float(r["Fréchet distance"]) >= 0 for r in rows.values())
